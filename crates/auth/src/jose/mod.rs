//! JOSE primitives: strict compact-JWS parsing and JWK key sets.
//!
//! This layer knows nothing about providers or claims: it turns a token into trusted bytes
//! given a key set, refusing everything RFC 7515/7517 and the usual attacks allow.

pub mod compact;
pub mod jwk;

pub use compact::{CompactJws, MAX_KID_BYTES, MAX_TOKEN_BYTES, parse_compact};
pub use jwk::{KeyKind, KeySet, MAX_RSA_BITS, MIN_RSA_BITS, VerifyingKey};

use jsonwebtoken::Algorithm;

use crate::error::{AuthError, Result};

/// Verifies a compact JWS against a key set and returns the payload bytes: the key is chosen
/// by `kid`, the algorithm must be one the key allows and (if given) one of `allowed`.
/// No claim is looked at.
pub fn verify_compact(
    token: &str,
    keys: &KeySet,
    allowed: Option<&[Algorithm]>,
) -> Result<Vec<u8>> {
    let jws = parse_compact(token)?;
    let key = keys.find(jws.kid.as_deref()).ok_or(AuthError::UnknownKey)?;
    let alg = key.choose_algorithm(jws.alg, allowed)?;
    key.verify(jws.signing_input.as_bytes(), jws.signature_b64, alg)?;
    Ok(jws.payload)
}
