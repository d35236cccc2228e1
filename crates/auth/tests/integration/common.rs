//! Shared test fixtures: keys minted at run time (RSA once per binary), token signing, and a
//! real HTTP JWKS server on a loopback port that counts requests.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};
use stratus_auth::clock::{Clock, ManualClock};
use stratus_auth::jwks::{JwksCache, JwksPolicy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub(crate) fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A signing key and its public JWK.
#[derive(Clone)]
pub(crate) struct TestKey {
    pub(crate) kid: String,
    pub(crate) alg: Algorithm,
    pub(crate) enc: EncodingKey,
    pub(crate) jwk: Value,
    /// Public key bytes (DER of the public key for RSA: what an attacker would use as an
    /// HMAC secret in a confusion attack).
    pub(crate) public_bytes: Vec<u8>,
}

fn rsa_private(slot: usize) -> &'static rsa::PrivateKey {
    static KEYS: [OnceLock<rsa::PrivateKey>; 2] = [OnceLock::new(), OnceLock::new()];
    KEYS[slot].get_or_init(|| {
        use rsa::Generate;
        rsa::PrivateKey::generate_from_rng(&mut rand::rng())
    })
}

/// An RSA key (slot 0 or 1: two distinct 2048-bit keys per test binary).
pub(crate) fn rsa_key(slot: usize, kid: &str, alg: Algorithm, jwk_alg: bool) -> TestKey {
    let private = rsa_private(slot);
    let public = private.to_public_key();
    let der = private.to_pkcs1_der().expect("pkcs1");
    let mut jwk = json!({"kty": "RSA", "kid": kid, "use": "sig",
        "n": b64(&public.n_bytes()), "e": b64(&public.e_bytes())});
    if jwk_alg {
        jwk["alg"] = json!(format!("{alg:?}"));
    }
    let public_bytes = {
        use rsa::pkcs1::EncodeRsaPublicKey;
        public
            .to_pkcs1_der()
            .expect("pkcs1 public")
            .as_bytes()
            .to_vec()
    };
    TestKey {
        kid: kid.into(),
        alg,
        enc: EncodingKey::from_rsa_der(der.as_bytes()),
        jwk,
        public_bytes,
    }
}

/// A fresh P-256 key.
pub(crate) fn ec256_key(kid: &str) -> TestKey {
    use p256::pkcs8::EncodePrivateKey;
    use rsa::Generate as _;
    let sk = p256::ecdsa::SigningKey::generate_from_rng(&mut rand::rng());
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

/// A fresh P-384 key.
pub(crate) fn ec384_key(kid: &str) -> TestKey {
    use p384::pkcs8::EncodePrivateKey;
    use rsa::Generate as _;
    let sk = p384::ecdsa::SigningKey::generate_from_rng(&mut rand::rng());
    let point = sk.verifying_key().to_sec1_point(false);
    let bytes = point.as_bytes().to_vec();
    TestKey {
        kid: kid.into(),
        alg: Algorithm::ES384,
        enc: EncodingKey::from_ec_der(sk.to_pkcs8_der().expect("pkcs8").as_bytes()),
        jwk: json!({"kty": "EC", "crv": "P-384", "kid": kid, "alg": "ES384",
            "x": b64(&bytes[1..49]), "y": b64(&bytes[49..97])}),
        public_bytes: bytes,
    }
}

/// A fresh Ed25519 key.
pub(crate) fn ed_key(kid: &str) -> TestKey {
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    let sk = ed25519_dalek::SigningKey::from_bytes(&rand::random::<[u8; 32]>());
    let x = sk.verifying_key().to_bytes().to_vec();
    TestKey {
        kid: kid.into(),
        alg: Algorithm::EdDSA,
        enc: EncodingKey::from_ed_der(sk.to_pkcs8_der().expect("pkcs8").as_bytes()),
        jwk: json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": b64(&x)}),
        public_bytes: x,
    }
}

pub(crate) fn jwks(keys: &[&TestKey]) -> Value {
    json!({"keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()})
}

/// Signs `claims` with `key`, header `{"alg", "kid", "typ": "JWT"}`.
pub(crate) fn sign(key: &TestKey, claims: &Value) -> String {
    sign_with_header(
        key,
        &json!({"alg": format!("{:?}", key.alg), "kid": key.kid, "typ": "JWT"}),
        claims,
    )
}

/// Signs with an arbitrary header (the signature uses `key.alg`).
pub(crate) fn sign_with_header(key: &TestKey, header: &Value, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let sig = jsonwebtoken::crypto::sign(input.as_bytes(), &key.enc, key.alg).expect("sign");
    format!("{input}.{sig}")
}

/// HMAC-signs with raw secret bytes (for HMAC providers and confusion attacks).
pub(crate) fn sign_hmac(secret: &[u8], alg: Algorithm, header: &Value, claims: &Value) -> String {
    let key = TestKey {
        kid: String::new(),
        alg,
        enc: EncodingKey::from_secret(secret).expect("non-empty secret"),
        jwk: Value::Null,
        public_bytes: vec![],
    };
    sign_with_header(&key, header, claims)
}

/// A clock at the current time and a cache using it with a test policy.
pub(crate) fn clock_and_cache(policy: JwksPolicy) -> (Arc<ManualClock>, Arc<JwksCache>) {
    let clock = Arc::new(ManualClock::at_system_now());
    let dyn_clock: Arc<dyn Clock> = clock.clone();
    let cache = Arc::new(JwksCache::new(policy, dyn_clock).expect("cache"));
    (clock, cache)
}

/// Standard claims valid for an hour from the clock's now.
pub(crate) fn claims_at(clock: &ManualClock, extra: Value) -> Value {
    let now = clock.now_secs();
    let mut c = json!({"sub": "user-1", "iat": now, "exp": now + 3600});
    if let (Some(m), Some(e)) = (c.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            m.insert(k.clone(), v.clone());
        }
    }
    c
}

#[derive(Default)]
struct ServerState {
    docs: HashMap<String, Value>,
    cache_control: Option<String>,
    down: bool,
    hits: HashMap<String, usize>,
}

/// A real HTTP server on 127.0.0.1 serving JSON documents by path.
#[derive(Clone)]
pub(crate) struct JwksServer {
    pub(crate) base: String,
    state: Arc<Mutex<ServerState>>,
}

impl JwksServer {
    pub(crate) async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let state = Arc::new(Mutex::new(ServerState::default()));
        let st = Arc::clone(&state);
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let st = Arc::clone(&st);
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 1024];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 * 1024 {
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let text = String::from_utf8_lossy(&buf);
                    let path = text.split_whitespace().nth(1).unwrap_or("/").to_string();
                    let (status, body, cc) = {
                        let mut s = st.lock().expect("state");
                        *s.hits.entry(path.clone()).or_default() += 1;
                        if s.down {
                            (503, "{}".to_string(), None)
                        } else {
                            match s.docs.get(&path) {
                                Some(doc) => (200, doc.to_string(), s.cache_control.clone()),
                                None => (404, "{}".to_string(), None),
                            }
                        }
                    };
                    let mut resp = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
                        body.len()
                    );
                    if let Some(cc) = cc {
                        resp.push_str(&format!("cache-control: {cc}\r\n"));
                    }
                    resp.push_str("\r\n");
                    resp.push_str(&body);
                    let _ = sock.write_all(resp.as_bytes()).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        JwksServer { base, state }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub(crate) fn set(&self, path: &str, doc: Value) {
        self.state
            .lock()
            .expect("state")
            .docs
            .insert(path.into(), doc);
    }

    pub(crate) fn set_cache_control(&self, cc: Option<&str>) {
        self.state.lock().expect("state").cache_control = cc.map(str::to_string);
    }

    pub(crate) fn set_down(&self, down: bool) {
        self.state.lock().expect("state").down = down;
    }

    pub(crate) fn hits(&self, path: &str) -> usize {
        self.state
            .lock()
            .expect("state")
            .hits
            .get(path)
            .copied()
            .unwrap_or(0)
    }
}
