//! Validation of JWT claims (RFC 7519 §4.1) after the signature has been verified.
//!
//! Invariants: time claims are JSON numbers (seconds since the epoch, fractions allowed);
//! `exp` is required unless the rules say otherwise; every comparison allows
//! `leeway_secs` of clock skew; the checks run in a fixed order (exp, nbf, iat, iss,
//! audience, token_use, required claims) so that the reported reason is deterministic.

use serde_json::{Map, Value};

use crate::error::{AuthError, Result};

/// Default clock-skew allowance for `exp`, `nbf` and `iat`, in seconds.
pub const DEFAULT_LEEWAY_SECS: u64 = 60;
/// Largest leeway a configuration may ask for, in seconds.
pub const MAX_LEEWAY_SECS: u64 = 600;

/// Verified claims of a token.
pub type Claims = Map<String, Value>;

/// Which claim carries the audience.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudienceClaim {
    /// The standard `aud` (string or array of strings).
    Aud,
    /// Cognito access tokens: `client_id` (a string).
    ClientId,
}

/// What a token's claims must satisfy.
#[derive(Debug, Clone)]
pub struct ClaimRules {
    /// Expected `iss`, compared exactly. `None`: not checked.
    pub issuer: Option<String>,
    /// Accepted audiences; empty: not checked.
    pub audiences: Vec<String>,
    /// Where the audience is read from.
    pub audience_claim: AudienceClaim,
    /// Expected Cognito `token_use` (`id` / `access`). `None`: not checked.
    pub token_use: Option<String>,
    /// Claims that must be present (any JSON type except null).
    pub required: Vec<String>,
    /// Clock-skew allowance in seconds.
    pub leeway_secs: u64,
    /// Whether a token without `exp` is refused.
    pub require_exp: bool,
}

impl Default for ClaimRules {
    fn default() -> Self {
        ClaimRules {
            issuer: None,
            audiences: Vec::new(),
            audience_claim: AudienceClaim::Aud,
            token_use: None,
            required: Vec::new(),
            leeway_secs: DEFAULT_LEEWAY_SECS,
            require_exp: true,
        }
    }
}

/// Parses a JWT payload as a JSON object of claims.
pub fn parse_claims(payload: &[u8]) -> Result<Claims> {
    serde_json::from_slice(payload)
        .map_err(|_| AuthError::malformed("the payload is not a JSON object"))
}

fn numeric_date(claims: &Claims, name: &'static str) -> Result<Option<f64>> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_f64()
            .filter(|f| f.is_finite())
            .map(Some)
            .ok_or(AuthError::malformed(
                "a time claim (exp, nbf or iat) is not a number",
            )),
    }
}

/// Checks `claims` against `rules` at time `now` (seconds since the epoch).
pub fn validate(claims: &Claims, rules: &ClaimRules, now: i64) -> Result<()> {
    let now = now as f64;
    let leeway = rules.leeway_secs.min(MAX_LEEWAY_SECS) as f64;
    match numeric_date(claims, "exp")? {
        Some(exp) if now >= exp + leeway => return Err(AuthError::Expired),
        Some(_) => {}
        None if rules.require_exp => return Err(AuthError::missing_claim("exp")),
        None => {}
    }
    if let Some(nbf) = numeric_date(claims, "nbf")?
        && now + leeway < nbf
    {
        return Err(AuthError::NotYetValid);
    }
    if let Some(iat) = numeric_date(claims, "iat")?
        && now + leeway < iat
    {
        return Err(AuthError::NotYetValid);
    }
    if let Some(iss) = &rules.issuer
        && claims.get("iss").and_then(Value::as_str) != Some(iss.as_str())
    {
        return Err(AuthError::BadIssuer);
    }
    if !rules.audiences.is_empty() {
        let accepted = |s: &str| rules.audiences.iter().any(|a| a == s);
        let ok = match rules.audience_claim {
            AudienceClaim::Aud => match claims.get("aud") {
                Some(Value::String(s)) => accepted(s),
                Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).any(accepted),
                Some(_) | None => false,
            },
            AudienceClaim::ClientId => claims
                .get("client_id")
                .and_then(Value::as_str)
                .is_some_and(accepted),
        };
        if !ok {
            return Err(AuthError::BadAudience);
        }
    }
    if let Some(token_use) = &rules.token_use
        && claims.get("token_use").and_then(Value::as_str) != Some(token_use.as_str())
    {
        return Err(AuthError::BadTokenUse);
    }
    for name in &rules.required {
        if claims.get(name).is_none_or(Value::is_null) {
            return Err(AuthError::missing_claim(name.clone()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn c(v: Value) -> Claims {
        v.as_object().cloned().expect("object")
    }

    #[test]
    fn time_claims_with_leeway() {
        let r = ClaimRules::default();
        let now = 1_000_000;
        let table: Vec<(Value, Option<&str>)> = vec![
            (json!({"exp": now + 10}), None),
            (json!({"exp": now - 59}), None),
            (json!({"exp": now - 60}), Some("expired")),
            (json!({"exp": now - 3600}), Some("expired")),
            (json!({"exp": (now + 10) as f64 + 0.5}), None),
            (json!({}), Some("missing_claim")),
            (json!({"exp": "soon"}), Some("malformed")),
            (json!({"exp": now + 10, "nbf": now + 59}), None),
            (
                json!({"exp": now + 10, "nbf": now + 61}),
                Some("not_yet_valid"),
            ),
            (
                json!({"exp": now + 10, "iat": now + 120}),
                Some("not_yet_valid"),
            ),
            (json!({"exp": now + 10, "iat": now - 10}), None),
        ];
        for (claims, want) in table {
            let got = validate(&c(claims.clone()), &r, now)
                .err()
                .map(|e| e.reason());
            assert_eq!(got, want, "{claims}");
        }
        let no_exp = ClaimRules {
            require_exp: false,
            ..ClaimRules::default()
        };
        assert!(validate(&c(json!({})), &no_exp, now).is_ok());
    }

    #[test]
    fn issuer_audience_token_use_required() {
        let now = 10;
        let r = ClaimRules {
            issuer: Some("https://idp".into()),
            audiences: vec!["api".into(), "other".into()],
            token_use: Some("id".into()),
            required: vec!["sub".into()],
            ..ClaimRules::default()
        };
        let base =
            json!({"exp": 100, "iss": "https://idp", "aud": "api", "token_use": "id", "sub": "u"});
        assert!(validate(&c(base.clone()), &r, now).is_ok());
        let table: Vec<(&str, Value, Option<&str>)> = vec![
            ("iss", json!("https://idp/"), Some("bad_issuer")),
            ("iss", json!(null), Some("bad_issuer")),
            ("aud", json!(["x", "other"]), None),
            ("aud", json!(["x", "y"]), Some("bad_audience")),
            ("aud", json!(7), Some("bad_audience")),
            ("token_use", json!("access"), Some("bad_token_use")),
            ("sub", json!(null), Some("missing_claim")),
        ];
        for (k, v, want) in table {
            let mut m = c(base.clone());
            m.insert(k.into(), v.clone());
            let got = validate(&m, &r, now).err().map(|e| e.reason());
            assert_eq!(got, want, "{k}={v}");
        }
        let access = ClaimRules {
            audience_claim: AudienceClaim::ClientId,
            token_use: Some("access".into()),
            required: vec![],
            ..r
        };
        let ok =
            json!({"exp": 100, "iss": "https://idp", "client_id": "api", "token_use": "access"});
        assert!(validate(&c(ok), &access, now).is_ok());
        let with_aud_only =
            json!({"exp": 100, "iss": "https://idp", "aud": "api", "token_use": "access"});
        assert_eq!(
            validate(&c(with_aud_only), &access, now)
                .err()
                .map(|e| e.reason()),
            Some("bad_audience")
        );
    }
}
