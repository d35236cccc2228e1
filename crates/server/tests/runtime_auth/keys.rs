//! Keys minted at run time and token signing for the user-API authentication tests and the
//! `auth_overhead` bench (copied in spirit from `crates/auth/tests/integration/common.rs`;
//! test crates do not import each other). RSA keys are generated once per binary and slot;
//! EC keys are fresh on every call. No key material is ever stored in the repository.

#![allow(dead_code, unreachable_pub)]

use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};

/// Unpadded base64url.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A signing key and its public JWK.
#[derive(Clone)]
pub struct TestKey {
    /// The `kid` of the key.
    pub kid: String,
    /// The algorithm tokens are signed with.
    pub alg: Algorithm,
    enc: EncodingKey,
    /// The public JWK (what the JWKS server publishes).
    pub jwk: Value,
    /// Public key bytes (PKCS#1 DER for RSA: what an attacker would use as an HMAC secret in
    /// an HS/RS confusion attack).
    pub public_bytes: Vec<u8>,
}

fn rsa_private(slot: usize) -> &'static rsa::PrivateKey {
    static KEYS: [OnceLock<rsa::PrivateKey>; 3] =
        [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    KEYS[slot].get_or_init(|| {
        use rsa::Generate;
        rsa::PrivateKey::generate_from_rng(&mut rand10::rng())
    })
}

/// An RS256 key (slot 0..3: distinct 2048-bit keys per binary).
pub fn rsa_key(slot: usize, kid: &str) -> TestKey {
    use rsa::pkcs1::EncodeRsaPublicKey;
    let private = rsa_private(slot);
    let public = private.to_public_key();
    let der = private.to_pkcs1_der().expect("pkcs1");
    let jwk = json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
        "n": b64(&public.n_bytes()), "e": b64(&public.e_bytes())});
    TestKey {
        kid: kid.into(),
        alg: Algorithm::RS256,
        enc: EncodingKey::from_rsa_der(der.as_bytes()),
        jwk,
        public_bytes: public
            .to_pkcs1_der()
            .expect("pkcs1 public")
            .as_bytes()
            .to_vec(),
    }
}

/// A fresh P-256 (ES256) key.
pub fn ec256_key(kid: &str) -> TestKey {
    use p256::pkcs8::EncodePrivateKey;
    use rsa::Generate as _;
    let sk = p256::ecdsa::SigningKey::generate_from_rng(&mut rand10::rng());
    let point = sk.verifying_key().to_sec1_point(false);
    let bytes = point.as_bytes().to_vec();
    TestKey {
        kid: kid.into(),
        alg: Algorithm::ES256,
        enc: EncodingKey::from_ec_der(sk.to_pkcs8_der().expect("pkcs8").as_bytes()),
        jwk: json!({"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig",
            "x": b64(&bytes[1..33]), "y": b64(&bytes[33..65])}),
        public_bytes: bytes,
    }
}

/// `{"keys": [...]}` of the given keys' public JWKs.
pub fn jwks(keys: &[&TestKey]) -> Value {
    json!({"keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()})
}

/// Signs `claims` with `key`, header `{"alg", "kid", "typ": "JWT"}`.
pub fn sign(key: &TestKey, claims: &Value) -> String {
    sign_with_header(
        key,
        &json!({"alg": format!("{:?}", key.alg), "kid": key.kid, "typ": "JWT"}),
        claims,
    )
}

/// Signs with an arbitrary header (the signature uses `key.alg`).
pub fn sign_with_header(key: &TestKey, header: &Value, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let sig = jsonwebtoken::crypto::sign(input.as_bytes(), &key.enc, key.alg).expect("sign");
    format!("{input}.{sig}")
}

/// HMAC-signs with raw secret bytes (HMAC providers and confusion attacks).
pub fn sign_hmac(secret: &[u8], alg: Algorithm, header: &Value, claims: &Value) -> String {
    let key = TestKey {
        kid: String::new(),
        alg,
        enc: EncodingKey::from_secret(secret).expect("non-empty secret"),
        jwk: Value::Null,
        public_bytes: vec![],
    };
    sign_with_header(&key, header, claims)
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// `{"sub", "iat", "exp": now + 1 h}` merged with `extra` (whose members win).
pub fn claims(extra: Value) -> Value {
    let now = now();
    let mut c = json!({"sub": "user-1", "iat": now, "exp": now + 3600});
    if let (Some(m), Some(e)) = (c.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            m.insert(k.clone(), v.clone());
        }
    }
    c
}

/// A random secret of `n` bytes, as unpadded base64url text (what is stored as the
/// environment secret; the provider uses the text's bytes as the HMAC key).
pub fn random_secret(n: usize) -> String {
    use rand10::RngExt as _;
    let bytes: Vec<u8> = (0..n).map(|_| rand10::rng().random()).collect();
    b64(&bytes)
}
