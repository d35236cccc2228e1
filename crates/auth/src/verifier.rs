//! Verification of user-API bearer tokens against an environment's providers.
//!
//! Invariants: the unverified payload is only used to route a token to candidate providers
//! (HMAC providers for `HS*` tokens, key-based providers otherwise, and only providers whose
//! configured issuer equals the token's `iss`); a token is accepted only after the signature
//! AND every claim rule of one provider pass; the first provider that accepts wins, otherwise
//! the first candidate's error is reported.

use std::sync::Arc;

use jsonwebtoken::Algorithm;
use serde_json::Value;

use crate::claims::{self, Claims};
use crate::clock::Clock;
use crate::error::{AuthError, Result};
use crate::jose::{CompactJws, KeySet, parse_compact};
use crate::jwks::JwksCache;
use crate::provider::{KeySource, MAX_PROVIDERS, Provider};

/// Name of the raw token inside `$.tokenData`.
pub const RAW_TOKEN_FIELD: &str = "rawToken";

/// A token that passed verification.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    /// Name of the provider that accepted it.
    pub provider: String,
    /// The verified claims.
    pub claims: Claims,
    /// The token as presented.
    pub raw: String,
}

impl VerifiedToken {
    /// The value of `$.tokenData`: every claim plus `rawToken` (a claim named `rawToken` is
    /// shadowed by the raw token).
    pub fn token_data(&self) -> Value {
        let mut m = self.claims.clone();
        m.insert(RAW_TOKEN_FIELD.to_string(), Value::String(self.raw.clone()));
        Value::Object(m)
    }
}

/// Which providers an API accepts.
#[derive(Debug, Clone, Copy)]
pub enum ProviderSelection<'a> {
    /// `"auth": true`: any configured provider.
    Any,
    /// `"auth": {"providers": [...]}`.
    Named(&'a [String]),
}

/// Extracts the token from an `Authorization` header value (`Bearer <token>`, scheme
/// case-insensitive).
pub fn bearer_token(header: &str) -> Result<&str> {
    let (scheme, token) = header
        .trim()
        .split_once(' ')
        .ok_or(AuthError::MissingToken)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::MissingToken);
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(AuthError::MissingToken);
    }
    Ok(token)
}

/// The verifier of one environment: its providers plus the shared JWKS cache.
#[derive(Debug, Clone)]
pub struct Authenticator {
    providers: Vec<Provider>,
    jwks: Arc<JwksCache>,
    clock: Arc<dyn Clock>,
}

fn is_hmac(alg: Algorithm) -> bool {
    matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

impl Authenticator {
    /// An authenticator over `providers` (names must be unique, at most [`MAX_PROVIDERS`]).
    pub fn new(
        providers: Vec<Provider>,
        jwks: Arc<JwksCache>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        if providers.len() > MAX_PROVIDERS {
            return Err(AuthError::InvalidConfig(format!(
                "at most {MAX_PROVIDERS} providers per environment"
            )));
        }
        for (i, p) in providers.iter().enumerate() {
            if providers[..i].iter().any(|q| q.name == p.name) {
                return Err(AuthError::InvalidConfig(format!(
                    "provider name '{}' is used twice",
                    p.name
                )));
            }
        }
        Ok(Authenticator {
            providers,
            jwks,
            clock,
        })
    }

    /// The configured providers.
    pub fn providers(&self) -> &[Provider] {
        &self.providers
    }

    /// Verifies `token` for an API accepting `selection`.
    pub async fn verify(
        &self,
        token: &str,
        selection: ProviderSelection<'_>,
    ) -> Result<VerifiedToken> {
        let jws = parse_compact(token)?;
        let unverified_iss = serde_json::from_slice::<Claims>(&jws.payload)
            .ok()
            .and_then(|c| c.get("iss").and_then(Value::as_str).map(str::to_string));
        let selected = self.providers.iter().filter(|p| match selection {
            ProviderSelection::Any => true,
            ProviderSelection::Named(names) => names.contains(&p.name),
        });
        let mut same_family = 0usize;
        let mut candidates = Vec::new();
        for p in selected {
            if p.is_symmetric() != is_hmac(jws.alg) {
                continue;
            }
            same_family += 1;
            let issuer_ok = match (&p.rules.issuer, &unverified_iss) {
                (Some(want), Some(got)) => want == got,
                _ => true,
            };
            if issuer_ok {
                candidates.push(p);
            }
        }
        if candidates.is_empty() {
            return Err(if same_family > 0 {
                AuthError::BadIssuer
            } else if self.providers.is_empty() {
                AuthError::UnknownProvider
            } else {
                AuthError::AlgorithmNotAllowed
            });
        }
        let mut first_err = None;
        for p in candidates {
            match self.verify_with(p, &jws).await {
                Ok(claims) => {
                    return Ok(VerifiedToken {
                        provider: p.name.clone(),
                        claims,
                        raw: token.to_string(),
                    });
                }
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        Err(first_err.unwrap_or(AuthError::UnknownProvider))
    }

    async fn key_set(&self, p: &Provider, kid: Option<&str>) -> Result<Arc<KeySet>> {
        match &p.keys {
            KeySource::Static(set) => Ok(Arc::clone(set)),
            KeySource::Jwks(uri) => self.jwks.key_set(uri, kid).await,
            KeySource::Discovery(issuer) => {
                let uri = self.jwks.discover(issuer).await?;
                self.jwks.key_set(&uri, kid).await
            }
        }
    }

    async fn verify_with(&self, p: &Provider, jws: &CompactJws<'_>) -> Result<Claims> {
        if !p.algorithms.contains(&jws.alg) {
            return Err(AuthError::AlgorithmNotAllowed);
        }
        let set = self.key_set(p, jws.kid.as_deref()).await?;
        // A shared secret has no kid: an HMAC provider's single key verifies any kid.
        let key = set
            .find(jws.kid.as_deref())
            .or_else(|| {
                if p.is_symmetric() {
                    set.find(None)
                } else {
                    None
                }
            })
            .ok_or(AuthError::UnknownKey)?;
        let alg = key.choose_algorithm(jws.alg, Some(&p.algorithms))?;
        key.verify(jws.signing_input.as_bytes(), jws.signature_b64, alg)?;
        let claims = claims::parse_claims(&jws.payload)?;
        claims::validate(&claims, &p.rules, self.clock.now_secs())?;
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_header() {
        assert_eq!(bearer_token("Bearer abc").ok(), Some("abc"));
        assert_eq!(bearer_token("bearer   abc ").ok(), Some("abc"));
        assert!(bearer_token("Basic abc").is_err());
        assert!(bearer_token("Bearer ").is_err());
        assert!(bearer_token("abc").is_err());
    }
}
