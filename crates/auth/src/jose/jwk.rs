//! JSON Web Keys (RFC 7517) turned into verification keys, and key sets with `kid` lookup.
//!
//! Invariants:
//! - a key carries the set of algorithms IT allows, derived from the JWK (`alg`, `kty`,
//!   `crv`); a token's `alg` only selects within that set, so an HMAC token can never be
//!   checked against an RSA/EC key (HS/RS confusion) and an EC key only verifies its curve's
//!   algorithm;
//! - key material is parsed once into RustCrypto verifying keys when the set loads;
//! - unusable keys are skipped, not fatal, because real provider sets also publish encryption
//!   keys: `use` other than `sig`, `key_ops` that only name non-signature operations, unknown
//!   `kty`/`crv`/`alg`, RSA moduli outside [`MIN_RSA_BITS`, `MAX_RSA_BITS`], bad exponents,
//!   EC points not on the curve, HMAC secrets shorter than the hash, and (in provider sets)
//!   any symmetric key or any JWK carrying private members;
//! - a `kid` shared by two entries of a set is ambiguous: no key with it is ever selected.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use jsonwebtoken::Algorithm;
use p256::ecdsa::signature::Verifier;
use rsa::{BoxedUint, Pkcs1v15Sign, Pss};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::error::{AuthError, Result};
use crate::jose::compact::b64;

/// Smallest RSA modulus accepted, in bits (NIST SP 800-131A).
pub const MIN_RSA_BITS: usize = 2048;
/// Largest RSA modulus accepted, in bits (the `rsa` crate's own verification limit).
pub const MAX_RSA_BITS: usize = 4096;
/// Most keys kept from one key set (provider sets hold a handful).
pub const MAX_KEYS_PER_SET: usize = 64;

const RSA_ALGS: [Algorithm; 6] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
];
const NON_SIGNATURE_OPS: [&str; 6] = [
    "encrypt",
    "decrypt",
    "wrapKey",
    "unwrapKey",
    "deriveKey",
    "deriveBits",
];
const PRIVATE_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "oth"];

/// Which kind of key material: decides which provider types may use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// A shared HMAC secret.
    Symmetric,
    /// A public key (RSA, EC, Ed25519).
    Asymmetric,
}

/// Key material parsed once, when the key set loads (verification never re-parses).
#[derive(Clone)]
enum Material {
    Hmac(Vec<u8>),
    Rsa(rsa::PublicKey),
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    Ed25519(ed25519_dalek::VerifyingKey),
}

/// A key ready to verify signatures, with the algorithms it allows.
#[derive(Clone)]
pub struct VerifyingKey {
    kid: Option<String>,
    algorithms: Vec<Algorithm>,
    kind: KeyKind,
    key: Material,
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material (a symmetric key is a secret).
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .field("algorithms", &self.algorithms)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Minimum HMAC key length in bytes for an algorithm (the hash output size, RFC 7518 §3.2).
pub fn min_hmac_key_len(alg: Algorithm) -> usize {
    match alg {
        Algorithm::HS384 => 48,
        Algorithm::HS512 => 64,
        _ => 32,
    }
}

fn is_hmac(alg: Algorithm) -> bool {
    matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

impl VerifyingKey {
    /// An HMAC key from a resolved secret, allowing the given HS algorithms. Every algorithm
    /// must be HMAC and the secret at least as long as the largest hash output required.
    pub fn hmac(secret: &[u8], algorithms: &[Algorithm]) -> Result<Self> {
        if algorithms.is_empty() {
            return Err(AuthError::InvalidConfig(
                "an hmac provider needs at least one algorithm".into(),
            ));
        }
        for &alg in algorithms {
            if !is_hmac(alg) {
                return Err(AuthError::InvalidConfig(format!(
                    "{alg:?} is not an HMAC algorithm"
                )));
            }
            if secret.len() < min_hmac_key_len(alg) {
                return Err(AuthError::InvalidConfig(format!(
                    "the {alg:?} secret must be at least {} bytes",
                    min_hmac_key_len(alg)
                )));
            }
        }
        Ok(VerifyingKey {
            kid: None,
            algorithms: algorithms.to_vec(),
            kind: KeyKind::Symmetric,
            key: Material::Hmac(secret.to_vec()),
        })
    }

    /// Parses one JWK. `allow_symmetric` admits `oct` keys (never for provider sets).
    /// Returns `Err(reason)` for keys that must be skipped.
    pub fn from_jwk(jwk: &Map<String, Value>, allow_symmetric: bool) -> Result<Self, &'static str> {
        if let Some(u) = jwk.get("use")
            && u.as_str() != Some("sig")
        {
            return Err("'use' is not 'sig'");
        }
        if let Some(ops) = jwk.get("key_ops") {
            let ops = ops.as_array().ok_or("'key_ops' is not an array")?;
            let signature_capable = ops.iter().any(|op| {
                op.as_str()
                    .is_some_and(|op| !NON_SIGNATURE_OPS.contains(&op))
            });
            if !signature_capable {
                return Err("'key_ops' allows no signature verification");
            }
        }
        let kid = match jwk.get("kid") {
            None => None,
            Some(Value::String(k)) => Some(k.clone()),
            Some(_) => return Err("'kid' is not a string"),
        };
        let declared = match jwk.get("alg") {
            None => None,
            Some(Value::String(a)) => {
                Some(a.parse::<Algorithm>().map_err(|_| "unsupported 'alg'")?)
            }
            Some(_) => return Err("'alg' is not a string"),
        };
        let kty = jwk.get("kty").and_then(Value::as_str).ok_or("no 'kty'")?;
        let has_private = PRIVATE_MEMBERS.iter().any(|m| jwk.contains_key(*m));
        let field = |name: &'static str| -> Result<Vec<u8>, &'static str> {
            let s = jwk
                .get(name)
                .and_then(Value::as_str)
                .ok_or("a key member is missing")?;
            b64(s, "key member").map_err(|_| "a key member is not base64url")
        };
        let (algorithms, kind, key) = match kty {
            "RSA" => {
                if has_private {
                    return Err("private key material in a verification key");
                }
                let n = field("n")?;
                let e = field("e")?;
                let n = strip_leading_zeros(&n);
                let e = strip_leading_zeros(&e);
                let bits = bit_len(n);
                if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
                    return Err("RSA modulus size out of bounds");
                }
                // e must be odd, at least 3, and fit in 64 bits (common values: 65537, 3).
                if e.is_empty() || e.len() > 8 || e.last().is_some_and(|b| b & 1 == 0) {
                    return Err("bad RSA public exponent");
                }
                if e.len() == 1 && e[0] < 3 {
                    return Err("bad RSA public exponent");
                }
                let algs = match declared {
                    None => RSA_ALGS.to_vec(),
                    Some(a) if RSA_ALGS.contains(&a) => vec![a],
                    Some(_) => return Err("'alg' does not match an RSA key"),
                };
                let key = rsa::PublicKey::new(
                    BoxedUint::from_be_slice_vartime(n),
                    BoxedUint::from_be_slice_vartime(e),
                )
                .map_err(|_| "invalid RSA public key")?;
                (algs, KeyKind::Asymmetric, Material::Rsa(key))
            }
            "EC" => {
                if has_private {
                    return Err("private key material in a verification key");
                }
                let crv = jwk.get("crv").and_then(Value::as_str).ok_or("no 'crv'")?;
                let (alg, len) = match crv {
                    "P-256" => (Algorithm::ES256, 32),
                    "P-384" => (Algorithm::ES384, 48),
                    _ => return Err("unsupported curve"),
                };
                if declared.is_some_and(|d| d != alg) {
                    return Err("'alg' does not match the curve");
                }
                let x = field("x")?;
                let y = field("y")?;
                if x.len() != len || y.len() != len {
                    return Err("EC coordinates have the wrong length");
                }
                let mut sec1 = Vec::with_capacity(1 + 2 * len);
                sec1.push(0x04);
                sec1.extend_from_slice(&x);
                sec1.extend_from_slice(&y);
                let material = match alg {
                    Algorithm::ES256 => {
                        p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).map(Material::P256)
                    }
                    _ => p384::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).map(Material::P384),
                }
                .map_err(|_| "EC point is not on the curve")?;
                (vec![alg], KeyKind::Asymmetric, material)
            }
            "OKP" => {
                if has_private {
                    return Err("private key material in a verification key");
                }
                if jwk.get("crv").and_then(Value::as_str) != Some("Ed25519") {
                    return Err("unsupported curve");
                }
                if declared.is_some_and(|d| d != Algorithm::EdDSA) {
                    return Err("'alg' does not match the curve");
                }
                let x: [u8; 32] = field("x")?
                    .as_slice()
                    .try_into()
                    .map_err(|_| "Ed25519 key has the wrong length")?;
                let key = ed25519_dalek::VerifyingKey::from_bytes(&x)
                    .map_err(|_| "Ed25519 point is invalid")?;
                (
                    vec![Algorithm::EdDSA],
                    KeyKind::Asymmetric,
                    Material::Ed25519(key),
                )
            }
            "oct" => {
                if !allow_symmetric {
                    return Err("symmetric key in a public key set");
                }
                let k = field("k")?;
                let algs: Vec<Algorithm> = match declared {
                    Some(a) if is_hmac(a) => vec![a],
                    Some(_) => return Err("'alg' is not an HMAC algorithm"),
                    None => [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512]
                        .into_iter()
                        .filter(|a| k.len() >= min_hmac_key_len(*a))
                        .collect(),
                };
                if algs.is_empty() || algs.iter().any(|a| k.len() < min_hmac_key_len(*a)) {
                    return Err("HMAC key shorter than the hash output");
                }
                (algs, KeyKind::Symmetric, Material::Hmac(k))
            }
            _ => return Err("unsupported 'kty'"),
        };
        Ok(VerifyingKey {
            kid,
            algorithms,
            kind,
            key,
        })
    }

    /// The key id, if the JWK had one.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The algorithms this key verifies.
    pub fn algorithms(&self) -> &[Algorithm] {
        &self.algorithms
    }

    /// Symmetric or asymmetric.
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// Chooses the algorithm for a token: the token's `alg` must be one the key allows AND one
    /// the provider allows (`None`: any the key allows).
    pub fn choose_algorithm(
        &self,
        token_alg: Algorithm,
        provider_allowed: Option<&[Algorithm]>,
    ) -> Result<Algorithm> {
        let by_key = self.algorithms.contains(&token_alg);
        let by_provider = provider_allowed.is_none_or(|list| list.contains(&token_alg));
        if by_key && by_provider {
            Ok(token_alg)
        } else {
            Err(AuthError::AlgorithmNotAllowed)
        }
    }

    /// Verifies `signature_b64` over `signing_input` with algorithm `alg` (already chosen by
    /// [`VerifyingKey::choose_algorithm`]).
    pub fn verify(&self, signing_input: &[u8], signature_b64: &str, alg: Algorithm) -> Result<()> {
        if !self.algorithms.contains(&alg) {
            return Err(AuthError::AlgorithmNotAllowed);
        }
        let sig = URL_SAFE_NO_PAD
            .decode(signature_b64)
            .map_err(|_| AuthError::malformed("the signature is not base64url"))?;
        if self.check(signing_input, &sig, alg) {
            Ok(())
        } else {
            Err(AuthError::BadSignature)
        }
    }

    fn check(&self, msg: &[u8], sig: &[u8], alg: Algorithm) -> bool {
        fn mac<M: Mac + KeyInit>(key: &[u8], msg: &[u8], sig: &[u8]) -> bool {
            <M as KeyInit>::new_from_slice(key)
                .map(|m| m.chain_update(msg).verify_slice(sig).is_ok())
                .unwrap_or(false)
        }
        match (&self.key, alg) {
            (Material::Hmac(k), Algorithm::HS256) => mac::<Hmac<Sha256>>(k, msg, sig),
            (Material::Hmac(k), Algorithm::HS384) => mac::<Hmac<Sha384>>(k, msg, sig),
            (Material::Hmac(k), Algorithm::HS512) => mac::<Hmac<Sha512>>(k, msg, sig),
            (Material::Rsa(pk), Algorithm::RS256) => pk
                .verify(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(msg), sig)
                .is_ok(),
            (Material::Rsa(pk), Algorithm::RS384) => pk
                .verify(Pkcs1v15Sign::new::<Sha384>(), &Sha384::digest(msg), sig)
                .is_ok(),
            (Material::Rsa(pk), Algorithm::RS512) => pk
                .verify(Pkcs1v15Sign::new::<Sha512>(), &Sha512::digest(msg), sig)
                .is_ok(),
            (Material::Rsa(pk), Algorithm::PS256) => pk
                .verify(Pss::<Sha256>::new(), &Sha256::digest(msg), sig)
                .is_ok(),
            (Material::Rsa(pk), Algorithm::PS384) => pk
                .verify(Pss::<Sha384>::new(), &Sha384::digest(msg), sig)
                .is_ok(),
            (Material::Rsa(pk), Algorithm::PS512) => pk
                .verify(Pss::<Sha512>::new(), &Sha512::digest(msg), sig)
                .is_ok(),
            (Material::P256(vk), Algorithm::ES256) => {
                p256::ecdsa::Signature::from_slice(sig).is_ok_and(|s| vk.verify(msg, &s).is_ok())
            }
            (Material::P384(vk), Algorithm::ES384) => {
                p384::ecdsa::Signature::from_slice(sig).is_ok_and(|s| vk.verify(msg, &s).is_ok())
            }
            (Material::Ed25519(vk), Algorithm::EdDSA) => {
                ed25519_dalek::Signature::from_slice(sig).is_ok_and(|s| vk.verify(msg, &s).is_ok())
            }
            _ => false,
        }
    }
}

fn strip_leading_zeros(b: &[u8]) -> &[u8] {
    let first = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    &b[first..]
}

fn bit_len(n: &[u8]) -> usize {
    match n.first() {
        None => 0,
        Some(&top) => (n.len() - 1) * 8 + (8 - top.leading_zeros() as usize),
    }
}

/// A parsed key set (JWKS) with `kid` lookup.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: Vec<VerifyingKey>,
    ambiguous: Vec<String>,
    skipped: usize,
}

impl KeySet {
    /// A set holding exactly these keys.
    pub fn from_keys(keys: Vec<VerifyingKey>) -> Self {
        let mut set = KeySet::default();
        for k in keys {
            set.push(k);
        }
        set
    }

    fn push(&mut self, key: VerifyingKey) {
        if let Some(kid) = key.kid()
            && self.keys.iter().any(|k| k.kid() == Some(kid))
        {
            self.keys.retain(|k| k.kid() != Some(kid));
            self.ambiguous.push(kid.to_string());
            return;
        }
        if let Some(kid) = key.kid()
            && self.ambiguous.iter().any(|a| a == kid)
        {
            return;
        }
        self.keys.push(key);
    }

    /// Parses a JWKS document (`{"keys": [...]}`). Unusable keys are skipped (counted in
    /// [`KeySet::skipped`]); the document itself must be well formed. With
    /// `allow_symmetric`, a set mixing symmetric and asymmetric keys is refused as ambiguous.
    pub fn from_jwks(doc: &Value, allow_symmetric: bool) -> Result<Self> {
        let keys = doc
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| AuthError::InvalidConfig("the key set has no 'keys' array".into()))?;
        let mut set = KeySet::default();
        let entries: Vec<&Value> = keys.iter().take(MAX_KEYS_PER_SET).collect();
        // A kid on two entries is ambiguous even if one of them is unusable (RFC 7517 §4.5).
        let mut seen: Vec<&str> = Vec::new();
        for kid in entries
            .iter()
            .filter_map(|j| j.get("kid").and_then(Value::as_str))
        {
            if seen.contains(&kid) {
                if !set.ambiguous.iter().any(|a| a == kid) {
                    set.ambiguous.push(kid.to_string());
                }
            } else {
                seen.push(kid);
            }
        }
        for jwk in entries {
            match jwk
                .as_object()
                .map(|o| VerifyingKey::from_jwk(o, allow_symmetric))
            {
                Some(Ok(k)) => set.push(k),
                Some(Err(_)) | None => set.skipped += 1,
            }
        }
        let sym = set.keys.iter().any(|k| k.kind == KeyKind::Symmetric);
        let asym = set.keys.iter().any(|k| k.kind == KeyKind::Asymmetric);
        if sym && asym {
            return Err(AuthError::InvalidConfig(
                "the key set mixes symmetric and asymmetric keys".into(),
            ));
        }
        Ok(set)
    }

    /// The key a token names. Without a `kid`, the only key of the set (if exactly one).
    pub fn find(&self, kid: Option<&str>) -> Option<&VerifyingKey> {
        match kid {
            Some(kid) => self.keys.iter().find(|k| k.kid() == Some(kid)),
            None if self.keys.len() == 1 => self.keys.first(),
            None => None,
        }
    }

    /// Number of usable keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is usable.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Number of JWKs skipped as unusable.
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// The usable keys.
    pub fn keys(&self) -> &[VerifyingKey] {
        &self.keys
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    // RFC 7515 A.2 / A.3 public keys.
    const N: &str = "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";
    const X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
    const Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";

    fn key(v: Value, sym: bool) -> Result<VerifyingKey, &'static str> {
        VerifyingKey::from_jwk(v.as_object().expect("object"), sym)
    }

    #[test]
    fn algorithm_is_bound_to_the_key() {
        let rs = key(
            json!({"kty": "RSA", "n": N, "e": "AQAB", "alg": "RS256"}),
            false,
        )
        .expect("rsa");
        assert!(rs.choose_algorithm(Algorithm::RS256, None).is_ok());
        for alg in [
            Algorithm::RS384,
            Algorithm::PS256,
            Algorithm::HS256,
            Algorithm::ES256,
        ] {
            assert!(rs.choose_algorithm(alg, None).is_err(), "{alg:?}");
        }
        assert!(
            rs.choose_algorithm(Algorithm::RS256, Some(&[Algorithm::PS256]))
                .is_err(),
            "provider list applies too"
        );
        let any_rsa = key(json!({"kty": "RSA", "n": N, "e": "AQAB"}), false).expect("rsa");
        assert!(any_rsa.choose_algorithm(Algorithm::PS512, None).is_ok());
        assert!(any_rsa.choose_algorithm(Algorithm::HS512, None).is_err());
        let ec = key(json!({"kty": "EC", "crv": "P-256", "x": X, "y": Y}), false).expect("ec");
        assert_eq!(ec.algorithms(), &[Algorithm::ES256]);
        assert!(ec.choose_algorithm(Algorithm::ES384, None).is_err());
        assert!(ec.verify(b"x.y", "AAAA", Algorithm::HS256).is_err());
    }

    #[test]
    fn unusable_keys_are_refused() {
        let cases = [
            (
                json!({"kty": "RSA", "n": N, "e": "AQAB", "use": "enc"}),
                false,
            ),
            (
                json!({"kty": "RSA", "n": N, "e": "AQAB", "key_ops": ["encrypt"]}),
                false,
            ),
            (json!({"kty": "RSA", "n": N, "e": "AQ"}), false),
            (json!({"kty": "RSA", "n": N, "e": "AQAA"}), false),
            (json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"}), false),
            (
                json!({"kty": "RSA", "n": N, "e": "AQAB", "d": "AQAB"}),
                false,
            ),
            (
                json!({"kty": "RSA", "n": N, "e": "AQAB", "alg": "ES256"}),
                false,
            ),
            (json!({"kty": "EC", "crv": "P-256", "x": X, "y": X}), false),
            (json!({"kty": "EC", "crv": "P-384", "x": X, "y": Y}), false),
            (json!({"kty": "EC", "crv": "P-521", "x": X, "y": Y}), false),
            (
                json!({"kty": "EC", "crv": "P-256", "x": X, "y": Y, "alg": "ES384"}),
                false,
            ),
            (json!({"kty": "oct", "k": "AAAA"}), true),
            (json!({"kty": "oct", "k": X}), false),
            (json!({"kty": "oct", "k": X, "alg": "HS512"}), true),
            (json!({"kty": "OKP", "crv": "X25519", "x": X}), false),
            (json!({"kty": "XYZ"}), false),
        ];
        for (jwk, sym) in cases {
            assert!(key(jwk.clone(), sym).is_err(), "{jwk}");
        }
        assert!(key(json!({"kty": "oct", "k": X}), true).is_ok());
        assert!(
            key(
                json!({"kty": "RSA", "n": N, "e": "AQAB", "key_ops": ["verify"]}),
                false
            )
            .is_ok()
        );
    }

    #[test]
    fn key_set_rules() {
        let rs = json!({"kty": "RSA", "kid": "a", "n": N, "e": "AQAB"});
        let ec = json!({"kty": "EC", "kid": "a", "crv": "P-256", "x": X, "y": Y});
        let set = KeySet::from_jwks(&json!({"keys": [rs, ec]}), false).expect("set");
        assert!(set.find(Some("a")).is_none(), "duplicate kid is ambiguous");
        let ec_b = json!({"kty": "EC", "kid": "b", "crv": "P-256", "x": X, "y": Y});
        let bad = json!({"kty": "EC", "kid": "c", "crv": "P-999"});
        let set = KeySet::from_jwks(&json!({"keys": [ec_b, bad]}), false).expect("set");
        assert_eq!((set.len(), set.skipped()), (1, 1));
        assert!(set.find(None).is_some(), "single key without kid");
        assert!(KeySet::from_jwks(&json!({"no": "keys"}), false).is_err());
        let mixed = json!({"keys": [
            {"kty": "oct", "kid": "s", "k": X},
            {"kty": "EC", "kid": "e", "crv": "P-256", "x": X, "y": Y}
        ]});
        assert!(
            KeySet::from_jwks(&mixed, true).is_err(),
            "mixed set is ambiguous"
        );
        assert_eq!(
            KeySet::from_jwks(&mixed, false).expect("public only").len(),
            1
        );
    }
}
