//! Strict parsing of a compact JWS (`header.payload.signature`).
//!
//! Invariants: every part is unpadded base64url with canonical trailing bits (anything else is
//! `malformed`); the header is a JSON object with a string `alg`; `alg: none` (any case) is
//! refused before any key is looked at; a `crit` member is refused (no extension is
//! understood, RFC 7515 §4.1.11). The payload is returned as bytes: JWT claim parsing is the
//! caller's business ([`crate::claims`]).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};

use crate::error::{AuthError, Result};

/// Longest token accepted, in bytes (headers of common proxies allow 8–16 KiB).
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Longest `kid` accepted, in bytes.
pub const MAX_KID_BYTES: usize = 256;

/// The parts of a compact JWS after strict decoding.
#[derive(Debug, Clone)]
pub struct CompactJws<'a> {
    /// The algorithm named by the (not yet trusted) header.
    pub alg: Algorithm,
    /// The key id named by the header, if any.
    pub kid: Option<String>,
    /// The whole decoded header.
    pub header: Map<String, Value>,
    /// The decoded payload bytes.
    pub payload: Vec<u8>,
    /// `BASE64URL(header) '.' BASE64URL(payload)`: the bytes the signature covers.
    pub signing_input: &'a str,
    /// The signature part, still base64url (validated).
    pub signature_b64: &'a str,
}

/// Decodes unpadded base64url strictly.
pub(crate) fn b64(part: &str, what: &'static str) -> Result<Vec<u8>> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| AuthError::malformed(what))
}

/// Parses `token` as a compact JWS, refusing oversize input, bad encodings, `alg: none`,
/// unknown algorithms and `crit`.
pub fn parse_compact(token: &str) -> Result<CompactJws<'_>> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(AuthError::TokenTooLarge {
            max: MAX_TOKEN_BYTES,
        });
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError::malformed("expected three dot-separated parts"));
    };
    if h.is_empty() {
        return Err(AuthError::malformed("the header is empty"));
    }
    let header_bytes = b64(h, "the header is not base64url")?;
    let header: Map<String, Value> = serde_json::from_slice(&header_bytes)
        .map_err(|_| AuthError::malformed("the header is not a JSON object"))?;
    let alg_name = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or(AuthError::malformed("the header has no string 'alg'"))?;
    if alg_name.eq_ignore_ascii_case("none") {
        return Err(AuthError::AlgorithmNotAllowed);
    }
    let alg: Algorithm = alg_name
        .parse()
        .map_err(|_| AuthError::AlgorithmNotAllowed)?;
    if header.contains_key("crit") {
        return Err(AuthError::UnsupportedCrit);
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(k)) if k.len() <= MAX_KID_BYTES => Some(k.clone()),
        Some(_) => return Err(AuthError::malformed("'kid' is not a short string")),
    };
    let payload = b64(p, "the payload is not base64url")?;
    if s.is_empty() {
        return Err(AuthError::BadSignature);
    }
    // Validate the signature encoding now so that a bad encoding is `malformed`, not a
    // failed verification.
    b64(s, "the signature is not base64url")?;
    let signing_input = &token[..h.len() + 1 + p.len()];
    Ok(CompactJws {
        alg,
        kid,
        header,
        payload,
        signing_input,
        signature_b64: s,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    #[test]
    fn refusals() {
        let p = enc("{}");
        let cases: Vec<(String, &str)> = vec![
            (
                format!("{}.{p}.AAAA", enc(r#"{"alg":"none"}"#)),
                "algorithm_not_allowed",
            ),
            (
                format!("{}.{p}.", enc(r#"{"alg":"NoNe"}"#)),
                "algorithm_not_allowed",
            ),
            (
                format!("{}.{p}.AAAA", enc(r#"{"alg":"HS1"}"#)),
                "algorithm_not_allowed",
            ),
            (
                format!(
                    "{}.{p}.AAAA",
                    enc(r#"{"alg":"RS256","crit":["exp"],"exp":1}"#)
                ),
                "unsupported_crit",
            ),
            (format!("{}.{p}.AAAA", enc(r#"{"typ":"JWT"}"#)), "malformed"),
            (format!("{}.{p}.AAAA", enc("[1]")), "malformed"),
            (
                format!("{}=.{p}.AAAA", enc(r#"{"alg":"RS256"}"#)),
                "malformed",
            ),
            (
                format!("{}.{p}.AA+A", enc(r#"{"alg":"RS256"}"#)),
                "malformed",
            ),
            (format!("{}.{p}", enc(r#"{"alg":"RS256"}"#)), "malformed"),
            (
                format!("{}.{p}.AAAA.AAAA", enc(r#"{"alg":"RS256"}"#)),
                "malformed",
            ),
            (
                format!("{}.{p}.", enc(r#"{"alg":"RS256"}"#)),
                "bad_signature",
            ),
            (
                format!("{}.{p}.AAAA", enc(r#"{"alg":"RS256","kid":7}"#)),
                "malformed",
            ),
            ("x".repeat(MAX_TOKEN_BYTES + 1), "token_too_large"),
        ];
        for (token, reason) in cases {
            let err = parse_compact(&token).expect_err(&token);
            assert_eq!(err.reason(), reason, "{token}");
        }
    }

    #[test]
    fn non_canonical_trailing_bits_are_malformed() {
        // "AB" decodes to one byte only if the unused low bits are zero ("AA" / "AQ" ...).
        let t = format!("{}.AB.AAAA", enc(r#"{"alg":"HS256"}"#));
        assert_eq!(parse_compact(&t).expect_err("bits").reason(), "malformed");
    }

    #[test]
    fn parses_parts() {
        let h = enc(r#"{"alg":"ES256","kid":"k1"}"#);
        let t = format!("{h}.{}.AAAA", enc(r#"{"a":1}"#));
        let j = parse_compact(&t).expect("valid");
        assert_eq!(j.alg, Algorithm::ES256);
        assert_eq!(j.kid.as_deref(), Some("k1"));
        assert_eq!(j.payload, br#"{"a":1}"#);
        assert_eq!(j.signature_b64, "AAAA");
        assert!(t.starts_with(j.signing_input));
    }
}
