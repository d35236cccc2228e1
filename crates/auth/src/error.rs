//! The crate's one error type, [`AuthError`], and its routing to the stable error codes.
//!
//! Invariants:
//! - every variant has a stable snake_case [`AuthError::reason`] (documented in `docs/auth.md`)
//!   and maps to a [`Code`] through an exhaustive `match`, so a new variant does not compile
//!   until it is routed;
//! - [`AuthError::detail`] is a sentence safe to show a client: it never contains key
//!   material, a token, a secret, or attacker-controlled text from the token (a `kid`, an
//!   `alg`, a claim value).

use stratus_types::{Code, ErrorCode};

/// Result alias of this crate.
pub type Result<T, E = AuthError> = std::result::Result<T, E>;

/// Every way authentication, authorisation or secret handling can fail.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No credentials were presented where some are required.
    #[error("missing_token")]
    MissingToken,
    /// The token is longer than [`crate::jose::MAX_TOKEN_BYTES`].
    #[error("token_too_large")]
    TokenTooLarge {
        /// The limit in bytes.
        max: usize,
    },
    /// The token is not a well-formed compact JWS/JWT; `what` names the broken part.
    #[error("malformed: {what}")]
    Malformed {
        /// Which part is broken (a fixed phrase chosen by this crate, never token text).
        what: &'static str,
    },
    /// The token's algorithm is refused (`none`, unknown, not allowed by the provider, or not
    /// the algorithm of the key it names).
    #[error("algorithm_not_allowed")]
    AlgorithmNotAllowed,
    /// The token header lists `crit` extensions (none is understood).
    #[error("unsupported_crit")]
    UnsupportedCrit,
    /// No key of the provider matches the token's `kid`, even after a refresh.
    #[error("unknown_key")]
    UnknownKey,
    /// The signature does not verify.
    #[error("bad_signature")]
    BadSignature,
    /// `exp` is in the past (beyond the leeway).
    #[error("expired")]
    Expired,
    /// `nbf` or `iat` is in the future (beyond the leeway).
    #[error("not_yet_valid")]
    NotYetValid,
    /// `iss` is missing or not the provider's issuer.
    #[error("bad_issuer")]
    BadIssuer,
    /// `aud` (or Cognito's `client_id`) is missing or not an accepted audience.
    #[error("bad_audience")]
    BadAudience,
    /// Cognito `token_use` is missing or not the configured one.
    #[error("bad_token_use")]
    BadTokenUse,
    /// A claim the provider requires is absent or has the wrong JSON type.
    #[error("missing_claim: {claim}")]
    MissingClaim {
        /// The claim name (from configuration, never from the token).
        claim: String,
    },
    /// The provider's keys could not be obtained (fetch failed and no usable cached copy).
    #[error("provider_unavailable")]
    ProviderUnavailable,
    /// The token names no provider that is configured for this API.
    #[error("unknown_provider")]
    UnknownProvider,
    /// A control-plane token was revoked (logout, password change, refresh reuse).
    #[error("revoked")]
    Revoked,
    /// Wrong email/password or API key.
    #[error("invalid_credentials")]
    InvalidCredentials,
    /// Too many attempts; retry after the given number of seconds.
    #[error("rate_limited")]
    RateLimited {
        /// Seconds until an attempt is allowed again.
        retry_after_secs: u64,
    },
    /// Authenticated but the role does not grant the permission.
    #[error("forbidden: {permission}")]
    Forbidden {
        /// The permission that was checked.
        permission: &'static str,
    },
    /// The caller has no role in the resource's project: answered as if it did not exist.
    #[error("not_found")]
    NotFound,
    /// A provider or security configuration is invalid (deploy-time error).
    #[error("invalid_config: {0}")]
    InvalidConfig(String),
    /// A new password does not meet the policy.
    #[error("weak_password: {0}")]
    WeakPassword(&'static str),
    /// Sealed secret data could not be opened (wrong master key, corruption, tampering).
    #[error("secret_undecryptable")]
    SecretUndecryptable,
    /// An internal failure (I/O, randomness); the message is for the log only.
    #[error("internal: {0}")]
    Internal(String),
}

impl AuthError {
    /// Shorthand for [`AuthError::Malformed`].
    pub fn malformed(what: &'static str) -> Self {
        AuthError::Malformed { what }
    }

    /// Shorthand for [`AuthError::MissingClaim`].
    pub fn missing_claim(claim: impl Into<String>) -> Self {
        AuthError::MissingClaim {
            claim: claim.into(),
        }
    }

    /// The stable snake_case reason (part of the documented contract).
    pub fn reason(&self) -> &'static str {
        match self {
            AuthError::MissingToken => "missing_token",
            AuthError::TokenTooLarge { .. } => "token_too_large",
            AuthError::Malformed { .. } => "malformed",
            AuthError::AlgorithmNotAllowed => "algorithm_not_allowed",
            AuthError::UnsupportedCrit => "unsupported_crit",
            AuthError::UnknownKey => "unknown_key",
            AuthError::BadSignature => "bad_signature",
            AuthError::Expired => "expired",
            AuthError::NotYetValid => "not_yet_valid",
            AuthError::BadIssuer => "bad_issuer",
            AuthError::BadAudience => "bad_audience",
            AuthError::BadTokenUse => "bad_token_use",
            AuthError::MissingClaim { .. } => "missing_claim",
            AuthError::ProviderUnavailable => "provider_unavailable",
            AuthError::UnknownProvider => "unknown_provider",
            AuthError::Revoked => "revoked",
            AuthError::InvalidCredentials => "invalid_credentials",
            AuthError::RateLimited { .. } => "rate_limited",
            AuthError::Forbidden { .. } => "forbidden",
            AuthError::NotFound => "not_found",
            AuthError::InvalidConfig(_) => "invalid_config",
            AuthError::WeakPassword(_) => "weak_password",
            AuthError::SecretUndecryptable => "secret_undecryptable",
            AuthError::Internal(_) => "internal",
        }
    }

    /// A client-safe sentence saying what was wrong (the `detail` of the error body).
    pub fn detail(&self) -> String {
        match self {
            AuthError::MissingToken => "no bearer token was presented".to_string(),
            AuthError::TokenTooLarge { max } => {
                format!("the token is longer than the {max}-byte limit")
            }
            AuthError::Malformed { what } => format!("the token is malformed: {what}"),
            AuthError::AlgorithmNotAllowed => {
                "the token's signing algorithm is not allowed for this key or provider".to_string()
            }
            AuthError::UnsupportedCrit => {
                "the token header lists critical extensions that are not supported".to_string()
            }
            AuthError::UnknownKey => {
                "the token was signed with a key the identity provider does not publish".to_string()
            }
            AuthError::BadSignature => "the token signature is invalid".to_string(),
            AuthError::Expired => "the token has expired".to_string(),
            AuthError::NotYetValid => "the token is not valid yet".to_string(),
            AuthError::BadIssuer => "the token was issued by an unexpected issuer".to_string(),
            AuthError::BadAudience => "the token is not intended for this API".to_string(),
            AuthError::BadTokenUse => "the token is not of the accepted kind".to_string(),
            AuthError::MissingClaim { claim } => {
                format!("the token lacks the required claim '{claim}'")
            }
            AuthError::ProviderUnavailable => {
                "the identity provider's signing keys are unavailable".to_string()
            }
            AuthError::UnknownProvider => {
                "the token matches no identity provider configured for this API".to_string()
            }
            AuthError::Revoked => "the token has been revoked".to_string(),
            AuthError::InvalidCredentials => "invalid credentials".to_string(),
            AuthError::RateLimited { retry_after_secs } => {
                format!("too many attempts; retry in {retry_after_secs} s")
            }
            AuthError::Forbidden { permission } => {
                format!("your role does not allow '{permission}'")
            }
            AuthError::NotFound => "not found".to_string(),
            AuthError::InvalidConfig(msg) => format!("invalid authentication settings: {msg}"),
            AuthError::WeakPassword(why) => format!("the password is too weak: {why}"),
            AuthError::SecretUndecryptable | AuthError::Internal(_) => "internal error".to_string(),
        }
    }

    /// The `WWW-Authenticate` header value for a 401 answer (RFC 6750 §3): plain `Bearer` when
    /// no credentials were sent, `Bearer error="invalid_token", error_description="…"`
    /// otherwise; `None` for errors that are not 401.
    pub fn www_authenticate(&self) -> Option<String> {
        if self.code() != Code::Unauthenticated {
            return None;
        }
        if !self.is_invalid_token() {
            return Some("Bearer".to_string());
        }
        // RFC 6750 error_description: printable ASCII except '"' and '\'.
        let description: String = self
            .detail()
            .chars()
            .map(|c| match c {
                '"' | '\\' => '\'',
                c if c.is_ascii_graphic() || c == ' ' => c,
                _ => '?',
            })
            .collect();
        Some(format!(
            "Bearer error=\"invalid_token\", error_description=\"{description}\""
        ))
    }

    /// Whether the HTTP answer carries `WWW-Authenticate: Bearer error="invalid_token"`.
    pub fn is_invalid_token(&self) -> bool {
        self.code() == Code::Unauthenticated && !matches!(self, AuthError::MissingToken)
    }
}

impl ErrorCode for AuthError {
    fn code(&self) -> Code {
        match self {
            AuthError::MissingToken
            | AuthError::TokenTooLarge { .. }
            | AuthError::Malformed { .. }
            | AuthError::AlgorithmNotAllowed
            | AuthError::UnsupportedCrit
            | AuthError::UnknownKey
            | AuthError::BadSignature
            | AuthError::Expired
            | AuthError::NotYetValid
            | AuthError::BadIssuer
            | AuthError::BadAudience
            | AuthError::BadTokenUse
            | AuthError::MissingClaim { .. }
            | AuthError::ProviderUnavailable
            | AuthError::UnknownProvider
            | AuthError::Revoked
            | AuthError::InvalidCredentials => Code::Unauthenticated,
            AuthError::RateLimited { .. } => Code::RateLimited,
            AuthError::Forbidden { .. } => Code::Forbidden,
            AuthError::NotFound => Code::NotFound,
            AuthError::InvalidConfig(_) | AuthError::WeakPassword(_) => Code::ValidationFailed,
            AuthError::SecretUndecryptable | AuthError::Internal(_) => Code::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_failures_are_401_and_details_do_not_echo_input() {
        let all = [
            AuthError::Expired,
            AuthError::BadAudience,
            AuthError::UnknownKey,
            AuthError::malformed("header is not base64url"),
            AuthError::ProviderUnavailable,
        ];
        for e in all {
            assert_eq!(e.code().http_status(), 401, "{e:?}");
            assert!(e.is_invalid_token());
            assert!(!e.detail().is_empty());
        }
        assert_eq!(AuthError::NotFound.code().http_status(), 404);
        assert_eq!(
            AuthError::Forbidden { permission: "x" }
                .code()
                .http_status(),
            403
        );
        assert_eq!(
            AuthError::RateLimited {
                retry_after_secs: 3
            }
            .code()
            .http_status(),
            429
        );
        assert_eq!(
            AuthError::Internal("disk".into()).detail(),
            "internal error"
        );
        assert!(!AuthError::MissingToken.is_invalid_token());
        assert_eq!(
            AuthError::MissingToken.www_authenticate().as_deref(),
            Some("Bearer")
        );
        assert_eq!(
            AuthError::Expired.www_authenticate().as_deref(),
            Some(r#"Bearer error="invalid_token", error_description="the token has expired""#)
        );
        let odd = AuthError::missing_claim("a\"b\u{e9}");
        assert_eq!(
            odd.www_authenticate().as_deref(),
            Some(
                r#"Bearer error="invalid_token", error_description="the token lacks the required claim 'a'b?'""#
            )
        );
        assert_eq!(AuthError::NotFound.www_authenticate(), None);
    }
}
