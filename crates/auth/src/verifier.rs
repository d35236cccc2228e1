//! Verification of user-API bearer tokens against an environment's providers.
//!
//! Invariants: the unverified payload is only used to route a token to candidate providers
//! (HMAC providers for `HS*` tokens, key-based providers otherwise, and only providers whose
//! configured issuer equals the token's `iss`); a token is accepted only after the signature
//! AND every claim rule of one provider pass; the first provider that accepts wins, otherwise
//! the first candidate's error is reported.
//!
//! Verified tokens are remembered (keyed by the SHA-256 of the token) for at most
//! [`DEFAULT_VERIFIED_TTL`] and never past their own expiry, so a client that reuses its token
//! pays for the signature once; the claim rules (expiry included) are re-checked on every
//! use. A key withdrawn from the provider's JWKS therefore stops working for tokens already
//! seen within that TTL. At most [`MAX_VERIFIED_ENTRIES`] tokens are remembered.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use jsonwebtoken::Algorithm;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::claims::{self, Claims};
use crate::clock::Clock;
use crate::error::{AuthError, Result};
use crate::jose::{CompactJws, KeySet, MAX_TOKEN_BYTES, parse_compact};
use crate::jwks::JwksCache;
use crate::provider::{KeySource, MAX_PROVIDERS, Provider};

/// How long a verified token is remembered by default (0 disables remembering).
pub const DEFAULT_VERIFIED_TTL: Duration = Duration::from_secs(60);
/// Most verified tokens remembered by one authenticator.
pub const MAX_VERIFIED_ENTRIES: usize = 10_000;

#[derive(Debug)]
struct Remembered {
    provider: usize,
    claims: Claims,
    until_ms: u64,
}

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
    verified_ttl: Duration,
    verified: Arc<Mutex<HashMap<[u8; 32], Remembered>>>,
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
            verified_ttl: DEFAULT_VERIFIED_TTL,
            verified: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    /// Sets how long verified tokens are remembered (`Duration::ZERO` disables it).
    pub fn with_verified_ttl(mut self, ttl: Duration) -> Self {
        self.verified_ttl = ttl;
        self
    }

    fn selected(p: &Provider, selection: ProviderSelection<'_>) -> bool {
        match selection {
            ProviderSelection::Any => true,
            ProviderSelection::Named(names) => names.contains(&p.name),
        }
    }

    fn remembered(&self, digest: &[u8; 32], now_ms: u64) -> Option<(usize, Claims)> {
        let map = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(digest)
            .filter(|r| now_ms < r.until_ms)
            .map(|r| (r.provider, r.claims.clone()))
    }

    fn remember(&self, digest: [u8; 32], provider: usize, claims: &Claims, now_ms: u64) {
        let ttl_ms = u64::try_from(self.verified_ttl.as_millis()).unwrap_or(u64::MAX);
        let exp_ms = claims
            .get("exp")
            .and_then(Value::as_f64)
            .filter(|e| e.is_finite() && *e > 0.0)
            .map_or(u64::MAX, |e| (e * 1000.0) as u64);
        let until_ms = now_ms.saturating_add(ttl_ms).min(exp_ms);
        let mut map = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= MAX_VERIFIED_ENTRIES {
            map.retain(|_, r| now_ms < r.until_ms);
            if map.len() >= MAX_VERIFIED_ENTRIES {
                map.clear();
            }
        }
        map.insert(
            digest,
            Remembered {
                provider,
                claims: claims.clone(),
                until_ms,
            },
        );
    }

    /// Number of verified tokens currently remembered.
    pub fn remembered_tokens(&self) -> usize {
        self.verified
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
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
        let digest: Option<[u8; 32]> = (!self.verified_ttl.is_zero()
            && token.len() <= MAX_TOKEN_BYTES)
            .then(|| Sha256::digest(token.as_bytes()).into());
        if let Some(d) = &digest
            && let Some((idx, claims)) = self.remembered(d, self.clock.now_ms())
            && let Some(p) = self.providers.get(idx)
            && Self::selected(p, selection)
        {
            claims::validate(&claims, &p.rules, self.clock.now_secs())?;
            return Ok(VerifiedToken {
                provider: p.name.clone(),
                claims,
                raw: token.to_string(),
            });
        }
        let jws = parse_compact(token)?;
        let unverified_iss = serde_json::from_slice::<Claims>(&jws.payload)
            .ok()
            .and_then(|c| c.get("iss").and_then(Value::as_str).map(str::to_string));
        let selected = self
            .providers
            .iter()
            .enumerate()
            .filter(|(_, p)| Self::selected(p, selection));
        let mut same_family = 0usize;
        let mut candidates = Vec::new();
        for (idx, p) in selected {
            if p.is_symmetric() != is_hmac(jws.alg) {
                continue;
            }
            same_family += 1;
            let issuer_ok = match (&p.rules.issuer, &unverified_iss) {
                (Some(want), Some(got)) => want == got,
                _ => true,
            };
            if issuer_ok {
                candidates.push((idx, p));
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
        for (idx, p) in candidates {
            match self.verify_with(p, &jws).await {
                Ok(claims) => {
                    if let Some(d) = digest {
                        self.remember(d, idx, &claims, self.clock.now_ms());
                    }
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
