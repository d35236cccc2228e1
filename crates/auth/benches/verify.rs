//! Verification cost with cached keys: RS256 and ES256, the signature alone and the whole
//! `Authenticator::verify` (parse, provider routing, kid lookup, signature, claims), without
//! and with the remembered-token fast path.
//! Run: `cargo bench -p stratus-auth --bench verify`.

use std::hint::black_box;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};
use stratus_auth::claims::ClaimRules;
use stratus_auth::clock::{Clock, SystemClock};
use stratus_auth::jose::KeySet;
use stratus_auth::jwks::{JwksCache, JwksPolicy};
use stratus_auth::provider::{KeySource, Provider};
use stratus_auth::{Authenticator, ProviderSelection};

fn b64(b: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(b)
}

fn setup(alg: Algorithm) -> (Authenticator, KeySet, String) {
    use rsa::Generate;
    let (enc, jwk) = match alg {
        Algorithm::RS256 => {
            let sk = rsa::PrivateKey::generate_from_rng(&mut rand::rng());
            let pk = sk.to_public_key();
            (
                EncodingKey::from_rsa_der(sk.to_pkcs1_der().expect("der").as_bytes()),
                json!({"kty": "RSA", "kid": "k", "alg": "RS256", "n": b64(&pk.n_bytes()), "e": b64(&pk.e_bytes())}),
            )
        }
        _ => {
            use p256::pkcs8::EncodePrivateKey;
            let sk = p256::ecdsa::SigningKey::generate_from_rng(&mut rand::rng());
            let pt = sk.verifying_key().to_sec1_point(false);
            let b = pt.as_bytes();
            (
                EncodingKey::from_ec_der(sk.to_pkcs8_der().expect("der").as_bytes()),
                json!({"kty": "EC", "kid": "k", "crv": "P-256", "x": b64(&b[1..33]), "y": b64(&b[33..65])}),
            )
        }
    };
    let keys = KeySet::from_jwks(&json!({"keys": [jwk]}), false).expect("keys");
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let now = clock.now_secs();
    let claims: Value =
        json!({"iss": "https://idp", "aud": "api", "sub": "u", "iat": now, "exp": now + 3600});
    let mut header = Header::new(alg);
    header.kid = Some("k".into());
    let token = jsonwebtoken::encode(&header, &claims, &enc).expect("sign");
    let provider = Provider {
        name: "idp".into(),
        keys: KeySource::Static(Arc::new(keys.clone())),
        algorithms: vec![alg],
        rules: ClaimRules {
            issuer: Some("https://idp".into()),
            audiences: vec!["api".into()],
            ..ClaimRules::default()
        },
    };
    let cache = Arc::new(JwksCache::new(JwksPolicy::default(), Arc::clone(&clock)).expect("cache"));
    let auth = Authenticator::new(vec![provider], cache, clock).expect("auth");
    (auth, keys, token)
}

/// Reference point: the raw RustCrypto verification with a key parsed once (what a cache of
/// pre-parsed keys would cost), to size the per-call key rebuild inside `jsonwebtoken`.
fn bench_preparsed(c: &mut Criterion) {
    use p256::ecdsa::signature::Verifier;
    use rsa::Generate;
    use sha2::Digest;
    let msg = b"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0";
    let sk = rsa::PrivateKey::generate_from_rng(&mut rand::rng());
    let pk = sk.to_public_key();
    let enc = EncodingKey::from_rsa_der(sk.to_pkcs1_der().expect("der").as_bytes());
    let sig = URL_SAFE_NO_PAD
        .decode(jsonwebtoken::crypto::sign(msg, &enc, Algorithm::RS256).expect("sign"))
        .expect("b64");
    c.bench_function("rs256_rustcrypto_preparsed_key", |b| {
        b.iter(|| {
            let digest = sha2::Sha256::digest(black_box(msg));
            pk.verify(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &digest, &sig)
                .expect("ok")
        })
    });
    use p256::pkcs8::EncodePrivateKey;
    let esk = p256::ecdsa::SigningKey::generate_from_rng(&mut rand::rng());
    let evk = *esk.verifying_key();
    let eenc = EncodingKey::from_ec_der(esk.to_pkcs8_der().expect("der").as_bytes());
    let esig = URL_SAFE_NO_PAD
        .decode(jsonwebtoken::crypto::sign(msg, &eenc, Algorithm::ES256).expect("sign"))
        .expect("b64");
    let esig = p256::ecdsa::Signature::from_slice(&esig).expect("sig");
    c.bench_function("es256_rustcrypto_preparsed_key", |b| {
        b.iter(|| evk.verify(black_box(msg), &esig).expect("ok"))
    });
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    for (name, alg) in [("rs256", Algorithm::RS256), ("es256", Algorithm::ES256)] {
        let (auth, keys, token) = setup(alg);
        rt.block_on(auth.verify(&token, ProviderSelection::Any))
            .expect("valid token");
        c.bench_function(&format!("{name}_signature_only"), |b| {
            b.iter(|| {
                stratus_auth::jose::verify_compact(black_box(&token), &keys, None).expect("ok")
            })
        });
        c.bench_function(&format!("{name}_authenticator_verify_remembered"), |b| {
            b.iter(|| {
                rt.block_on(auth.verify(black_box(&token), ProviderSelection::Any))
                    .expect("ok")
            })
        });
        let uncached = auth.clone().with_verified_ttl(std::time::Duration::ZERO);
        c.bench_function(&format!("{name}_authenticator_verify_uncached"), |b| {
            b.iter(|| {
                rt.block_on(uncached.verify(black_box(&token), ProviderSelection::Any))
                    .expect("ok")
            })
        });
    }
}

criterion_group!(benches, bench, bench_preparsed);
criterion_main!(benches);
