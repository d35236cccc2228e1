//! Wycheproof vectors (C2SP/wycheproof, Apache-2.0), read at run time from
//! `$STRATUS_CONFORMANCE_DIR/wycheproof/` (default `../shared/conformance/` beside the repo).
//! Nothing is copied into the repository; without the data each test prints why it skipped.
//!
//! Deviations from Wycheproof's expectations are listed by test id with the reason; the test
//! checks that each listed deviation still happens, so the list cannot go stale.

use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};
use stratus_auth::jose::{KeySet, VerifyingKey, verify_compact};

fn dir() -> Option<PathBuf> {
    let base = std::env::var_os("STRATUS_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance")
        });
    let d = base.join("wycheproof");
    d.is_dir().then_some(d)
}

fn load(name: &str) -> Option<Value> {
    let Some(d) = dir() else {
        println!(
            "SKIP wycheproof {name}: conformance data not found (set STRATUS_CONFORMANCE_DIR to the folder holding wycheproof/)"
        );
        return None;
    };
    let text = std::fs::read_to_string(d.join(name)).ok().or_else(|| {
        println!("SKIP wycheproof {name}: file missing in {}", d.display());
        None
    })?;
    Some(serde_json::from_str(&text).expect("wycheproof JSON parses"))
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

fn b64(b: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(b)
}

/// The public part of a JWK: a verifier is given public keys, the files hold private ones.
fn public(jwk: &Value) -> Value {
    let mut j = jwk.clone();
    if let Some(m) = j.as_object_mut() {
        for k in ["d", "p", "q", "dp", "dq", "qi", "oth"] {
            m.remove(k);
        }
    }
    j
}

fn key_set(private: &Value) -> Option<KeySet> {
    let doc = match private.get("keys") {
        Some(Value::Array(keys)) => json!({"keys": keys.iter().map(public).collect::<Vec<_>>()}),
        _ => json!({"keys": [public(private)]}),
    };
    KeySet::from_jwks(&doc, true).ok()
}

struct Tally {
    file: &'static str,
    agreed: usize,
    deviations: Vec<(u64, &'static str)>,
    failures: Vec<String>,
}

impl Tally {
    fn new(file: &'static str) -> Self {
        Tally {
            file,
            agreed: 0,
            deviations: vec![],
            failures: vec![],
        }
    }

    fn record(
        &mut self,
        tc: u64,
        comment: &str,
        expected: &str,
        accepted: bool,
        known: &[(u64, &'static str)],
    ) {
        let agrees = match expected {
            "valid" => accepted,
            "invalid" => !accepted,
            _ => true, // "acceptable": either outcome is fine
        };
        match (agrees, known.iter().find(|(id, _)| *id == tc)) {
            (true, None) => self.agreed += 1,
            (false, Some((_, why))) => self.deviations.push((tc, why)),
            (true, Some(_)) => self.failures.push(format!(
                "tc {tc} ({comment}): listed as a deviation but now agrees"
            )),
            (false, None) => self.failures.push(format!(
                "tc {tc} ({comment}): expected {expected}, accepted={accepted}"
            )),
        }
    }

    fn finish(self) {
        println!(
            "wycheproof {}: {} agree, {} documented deviations {:?}",
            self.file,
            self.agreed,
            self.deviations.len(),
            self.deviations
        );
        assert!(
            self.failures.is_empty(),
            "{}:\n{}",
            self.file,
            self.failures.join("\n")
        );
        assert!(self.agreed > 0, "{}: no vector ran", self.file);
    }
}

/// Wycheproof says valid, we refuse: ES512 (P-521) is not among Stratus's algorithms.
const ES512: &str = "ES512/P-521 is not supported (refused, fail closed)";
/// Wycheproof says valid, we refuse: we reject any non-base64url character instead of
/// skipping it (RFC 7515 §2 / RFC 4648 §3.3 allow rejecting).
const STRICT_B64: &str = "non-base64url character rejected (stricter than required)";

/// Wycheproof says valid, we refuse: the JWK declares `"alg": "PS256"` and the token uses
/// PS384; a key is bound to its declared algorithm (RFC 7517 §4.4), never the token's.
const KEY_ALG: &str = "token alg differs from the JWK's declared alg (key-bound algorithm)";
/// Wycheproof says invalid, we accept: the vector's JWS is byte-for-byte the one of tc 357,
/// which Wycheproof itself marks valid (the padding the comment describes is not in the data).
const SAME_AS_357: &str = "identical input to tc 357 (valid); no padding present in the vector";

#[test]
fn json_web_signature_vectors() {
    let Some(doc) = load("json_web_signature_test.json") else {
        return;
    };
    let known = [
        (346, KEY_ALG),
        (347, ES512),
        (350, KEY_ALG),
        (351, ES512),
        (367, SAME_AS_357),
        (370, SAME_AS_357),
        (372, STRICT_B64),
        (373, STRICT_B64),
    ];
    let mut tally = Tally::new("json_web_signature_test.json");
    for group in doc["testGroups"].as_array().expect("groups") {
        let keys = key_set(&group["private"]);
        for t in group["tests"].as_array().expect("tests") {
            let accepted = match (&keys, t["jws"].as_str()) {
                (Some(keys), Some(jws)) => verify_compact(jws, keys, None).is_ok(),
                _ => false, // JSON serialization or unusable key: refused
            };
            tally.record(
                t["tcId"].as_u64().expect("id"),
                t["comment"].as_str().unwrap_or(""),
                t["result"].as_str().expect("result"),
                accepted,
                &known,
            );
        }
    }
    tally.finish();
}

#[test]
fn json_web_key_vectors() {
    let Some(doc) = load("json_web_key_test.json") else {
        return;
    };
    let known = [(
        7,
        "ROCA-weak RSA moduli are not fingerprinted (the provider's key generation is trusted)",
    )];
    let mut tally = Tally::new("json_web_key_test.json");
    for group in doc["testGroups"].as_array().expect("groups") {
        let keys = key_set(&group["private"]);
        for t in group["tests"].as_array().expect("tests") {
            let accepted = match (&keys, t["jws"].as_str()) {
                (Some(keys), Some(jws)) => verify_compact(jws, keys, None).is_ok(),
                _ => false,
            };
            tally.record(
                t["tcId"].as_u64().expect("id"),
                t["comment"].as_str().unwrap_or(""),
                t["result"].as_str().expect("result"),
                accepted,
                &known,
            );
        }
    }
    tally.finish();
}

/// Strict DER `SEQUENCE { INTEGER r, INTEGER s }` → JWS `r || s` (32 bytes each); `None`
/// for anything that is not minimal DER with two non-negative integers of ≤ 32 bytes.
fn der_to_jose(sig: &[u8]) -> Option<Vec<u8>> {
    let (&tag, rest) = sig.split_first()?;
    let (&len, body) = rest.split_first()?;
    if tag != 0x30 || len >= 0x80 || usize::from(len) != body.len() {
        return None;
    }
    let mut out = Vec::with_capacity(64);
    let mut cur = body;
    for _ in 0..2 {
        let (&t, r) = cur.split_first()?;
        let (&l, r) = r.split_first()?;
        let l = usize::from(l);
        if t != 0x02 || l == 0 || l >= 0x80 || r.len() < l {
            return None;
        }
        let (int, r) = r.split_at(l);
        if int[0] & 0x80 != 0 || (int[0] == 0 && l > 1 && int[1] & 0x80 == 0) {
            return None;
        }
        let int = if int[0] == 0 && l > 1 { &int[1..] } else { int };
        if int.len() > 32 {
            return None;
        }
        out.extend(std::iter::repeat_n(0u8, 32 - int.len()));
        out.extend_from_slice(int);
        cur = r;
    }
    cur.is_empty().then_some(out)
}

#[test]
fn ecdsa_p256_sha256_vectors() {
    let Some(doc) = load("ecdsa_secp256r1_sha256_test.json") else {
        return;
    };
    let mut tally = Tally::new("ecdsa_secp256r1_sha256_test.json");
    for group in doc["testGroups"].as_array().expect("groups") {
        let pt = hex(group["publicKey"]["uncompressed"].as_str().expect("point"));
        let jwk = json!({"kty": "EC", "crv": "P-256", "x": b64(&pt[1..33]), "y": b64(&pt[33..65])});
        let key = jwk
            .as_object()
            .and_then(|o| VerifyingKey::from_jwk(o, false).ok());
        for t in group["tests"].as_array().expect("tests") {
            let msg = hex(t["msg"].as_str().expect("msg"));
            let accepted = match (&key, der_to_jose(&hex(t["sig"].as_str().expect("sig")))) {
                (Some(k), Some(raw)) => k.verify(&msg, &b64(&raw), Algorithm::ES256).is_ok(),
                _ => false,
            };
            tally.record(
                t["tcId"].as_u64().expect("id"),
                t["comment"].as_str().unwrap_or(""),
                t["result"].as_str().expect("result"),
                accepted,
                &[],
            );
        }
    }
    tally.finish();
}

#[test]
fn ed25519_vectors() {
    let Some(doc) = load("ed25519_test.json") else {
        return;
    };
    let mut tally = Tally::new("ed25519_test.json");
    for group in doc["testGroups"].as_array().expect("groups") {
        let key = group["publicKeyJwk"]
            .as_object()
            .and_then(|o| VerifyingKey::from_jwk(o, false).ok());
        for t in group["tests"].as_array().expect("tests") {
            let msg = hex(t["msg"].as_str().expect("msg"));
            let sig = hex(t["sig"].as_str().expect("sig"));
            let accepted = key
                .as_ref()
                .is_some_and(|k| k.verify(&msg, &b64(&sig), Algorithm::EdDSA).is_ok());
            tally.record(
                t["tcId"].as_u64().expect("id"),
                t["comment"].as_str().unwrap_or(""),
                t["result"].as_str().expect("result"),
                accepted,
                &[],
            );
        }
    }
    tally.finish();
}

#[test]
fn rsa_pkcs1_2048_sha256_vectors() {
    let Some(doc) = load("rsa_signature_2048_sha256_test.json") else {
        return;
    };
    let mut tally = Tally::new("rsa_signature_2048_sha256_test.json");
    for group in doc["testGroups"].as_array().expect("groups") {
        let key = group["keyJwk"]
            .as_object()
            .and_then(|o| VerifyingKey::from_jwk(o, false).ok());
        for t in group["tests"].as_array().expect("tests") {
            let msg = hex(t["msg"].as_str().expect("msg"));
            let sig = hex(t["sig"].as_str().expect("sig"));
            let accepted = key
                .as_ref()
                .is_some_and(|k| k.verify(&msg, &b64(&sig), Algorithm::RS256).is_ok());
            tally.record(
                t["tcId"].as_u64().expect("id"),
                t["comment"].as_str().unwrap_or(""),
                t["result"].as_str().expect("result"),
                accepted,
                &[],
            );
        }
    }
    tally.finish();
}

#[test]
fn hmac_sha256_vectors() {
    let Some(doc) = load("hmac_sha256_test.json") else {
        return;
    };
    let mut tally = Tally::new("hmac_sha256_test.json");
    let mut skipped = 0;
    for group in doc["testGroups"].as_array().expect("groups") {
        let (key_bits, tag_bits) = (
            group["keySize"].as_u64().expect("k"),
            group["tagSize"].as_u64().expect("t"),
        );
        for t in group["tests"].as_array().expect("tests") {
            let key = hex(t["key"].as_str().expect("key"));
            let built = VerifyingKey::hmac(&key, &[Algorithm::HS256]);
            if key_bits < 256 {
                // RFC 7518 §3.2: an HS256 key must be at least 256 bits; we refuse the key.
                assert!(built.is_err(), "short HMAC key accepted (tc {})", t["tcId"]);
                skipped += 1;
                continue;
            }
            if tag_bits != 256 {
                // JWS carries the full MAC; truncated tags are not a JWS case.
                skipped += 1;
                continue;
            }
            let msg = hex(t["msg"].as_str().expect("msg"));
            let tag = hex(t["tag"].as_str().expect("tag"));
            let accepted =
                built.is_ok_and(|k| k.verify(&msg, &b64(&tag), Algorithm::HS256).is_ok());
            tally.record(
                t["tcId"].as_u64().expect("id"),
                t["comment"].as_str().unwrap_or(""),
                t["result"].as_str().expect("result"),
                accepted,
                &[],
            );
        }
    }
    println!(
        "wycheproof hmac_sha256_test.json: {skipped} vectors not applicable to JWS (short keys refused, truncated tags)"
    );
    tally.finish();
}
