//! The JWKS cache: provider key sets fetched over HTTP, shared by every request.
//!
//! Invariants:
//! - one entry per JWKS URL; a fetched set is fresh for the server's `Cache-Control: max-age`
//!   clamped to [`JwksPolicy::min_ttl`, `max_ttl`] (`default_ttl` without a header);
//! - at most one fetch per URL is in flight (single flight): concurrent callers wait for it
//!   and share its result;
//! - fetch attempts for one URL, whatever their cause (expiry, unknown `kid`, earlier
//!   failure), start at most once per [`JwksPolicy::refresh_interval`], so a flood of tokens
//!   with bogus `kid`s costs the provider at most one request per interval;
//! - when the provider is down, the last good set is served for up to
//!   [`JwksPolicy::max_stale`] past its freshness; after that, verification fails closed
//!   (`provider_unavailable`);
//! - a successful fetch replaces the whole set, so rotated keys appear and retired keys
//!   disappear without a restart.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::Value;

use crate::clock::Clock;
use crate::error::{AuthError, Result};
use crate::jose::KeySet;
use crate::jwks::http::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT, FetchError, HttpFetcher,
};

/// Shortest time a fetched key set is considered fresh.
pub const DEFAULT_MIN_TTL: Duration = Duration::from_secs(60);
/// Longest time a fetched key set is considered fresh.
pub const DEFAULT_MAX_TTL: Duration = Duration::from_secs(24 * 3600);
/// Freshness when the server sends no `Cache-Control: max-age`.
pub const DEFAULT_TTL: Duration = Duration::from_secs(600);
/// Minimum time between two fetch attempts for one URL.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(30);
/// How long past freshness a set is still served while the provider cannot be reached.
pub const DEFAULT_MAX_STALE: Duration = Duration::from_secs(3600);

/// Tuning of the cache (all bounds are enforced by [`JwksCache::new`]).
#[derive(Debug, Clone)]
pub struct JwksPolicy {
    /// Lower clamp of the freshness lifetime.
    pub min_ttl: Duration,
    /// Upper clamp of the freshness lifetime.
    pub max_ttl: Duration,
    /// Freshness without a `max-age`.
    pub default_ttl: Duration,
    /// Minimum time between two fetch attempts for one URL.
    pub refresh_interval: Duration,
    /// Stale-serving window when the provider is down.
    pub max_stale: Duration,
    /// Connect timeout of a fetch.
    pub connect_timeout: Duration,
    /// Overall timeout of a fetch.
    pub request_timeout: Duration,
}

impl Default for JwksPolicy {
    fn default() -> Self {
        JwksPolicy {
            min_ttl: DEFAULT_MIN_TTL,
            max_ttl: DEFAULT_MAX_TTL,
            default_ttl: DEFAULT_TTL,
            refresh_interval: DEFAULT_REFRESH_INTERVAL,
            max_stale: DEFAULT_MAX_STALE,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[derive(Debug, Default)]
struct EntryState {
    keys: Option<Arc<KeySet>>,
    fresh_until_ms: u64,
    /// When the last fetch attempt finished, and whether it succeeded.
    last_attempt_ms: Option<u64>,
    last_attempt_ok: bool,
    /// Counts finished attempts; lets waiters see that someone else fetched.
    attempts: u64,
}

#[derive(Debug, Default)]
struct Entry {
    state: Mutex<EntryState>,
    in_flight: tokio::sync::Mutex<()>,
}

#[derive(Debug, Default)]
struct Discovered {
    jwks_uri: Option<String>,
    valid_until_ms: u64,
    last_attempt_ms: Option<u64>,
}

/// Statistics of one URL (tests, metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryStats {
    /// Fetch attempts finished so far.
    pub attempts: u64,
    /// Number of usable keys in the current set.
    pub keys: usize,
}

/// Shared cache of provider key sets (cheap to clone through `Arc`).
#[derive(Debug)]
pub struct JwksCache {
    policy: JwksPolicy,
    fetcher: HttpFetcher,
    clock: Arc<dyn Clock>,
    entries: Mutex<HashMap<String, Arc<Entry>>>,
    discovery: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Discovered>>>>,
}

impl JwksCache {
    /// A cache with `policy` (normalised: `min_ttl ≤ default_ttl ≤ max_ttl`,
    /// `refresh_interval ≤ min_ttl`).
    pub fn new(mut policy: JwksPolicy, clock: Arc<dyn Clock>) -> Result<Self> {
        if policy.max_ttl < policy.min_ttl {
            policy.max_ttl = policy.min_ttl;
        }
        policy.default_ttl = policy.default_ttl.clamp(policy.min_ttl, policy.max_ttl);
        policy.refresh_interval = policy.refresh_interval.min(policy.min_ttl);
        let fetcher = HttpFetcher::new(policy.connect_timeout, policy.request_timeout)
            .map_err(|e| AuthError::Internal(format!("HTTP client: {e}")))?;
        Ok(JwksCache {
            policy,
            fetcher,
            clock,
            entries: Mutex::new(HashMap::new()),
            discovery: Mutex::new(HashMap::new()),
        })
    }

    /// The effective policy.
    pub fn policy(&self) -> &JwksPolicy {
        &self.policy
    }

    fn entry(&self, url: &str) -> Arc<Entry> {
        let mut map = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(map.entry(url.to_string()).or_default())
    }

    /// Attempts and key count for `url` (`None` if never used).
    pub fn stats(&self, url: &str) -> Option<EntryStats> {
        let map = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(url).map(|e| {
            let st = e.state.lock().unwrap_or_else(PoisonError::into_inner);
            EntryStats {
                attempts: st.attempts,
                keys: st.keys.as_ref().map_or(0, |k| k.len()),
            }
        })
    }

    fn attempt_allowed(&self, st: &EntryState, now: u64) -> bool {
        st.last_attempt_ms
            .is_none_or(|t| now >= t.saturating_add(ms(self.policy.refresh_interval)))
    }

    /// The key set of `url` to verify a token naming `kid`: the cached set if fresh and it
    /// knows `kid`, otherwise (rate permitting) a freshly fetched one, otherwise a stale one
    /// within [`JwksPolicy::max_stale`]. The caller looks `kid` up in the result; a miss
    /// means `unknown_key`.
    pub async fn key_set(&self, url: &str, kid: Option<&str>) -> Result<Arc<KeySet>> {
        let entry = self.entry(url);
        let now = self.clock.now_ms();
        let (current, fresh, allowed, seen) = {
            let st = entry.state.lock().unwrap_or_else(PoisonError::into_inner);
            (
                st.keys.clone(),
                now < st.fresh_until_ms,
                self.attempt_allowed(&st, now),
                st.attempts,
            )
        };
        if let Some(keys) = &current
            && fresh
            && (keys.find(kid).is_some() || !allowed)
        {
            return Ok(Arc::clone(keys));
        }
        if allowed && let Ok(keys) = self.refresh(&entry, url, seen).await {
            return Ok(keys);
        }
        // The fetch failed or is not allowed yet: serve what we have while permitted.
        let st = entry.state.lock().unwrap_or_else(PoisonError::into_inner);
        let stale_limit = st.fresh_until_ms.saturating_add(ms(self.policy.max_stale));
        match &st.keys {
            Some(keys) if now < stale_limit => Ok(Arc::clone(keys)),
            Some(_) | None => Err(AuthError::ProviderUnavailable),
        }
    }

    /// Fetches `url` unless another caller did since we looked (`seen` attempts).
    async fn refresh(&self, entry: &Entry, url: &str, seen: u64) -> Result<Arc<KeySet>, ()> {
        let _flight = entry.in_flight.lock().await;
        {
            let st = entry.state.lock().unwrap_or_else(PoisonError::into_inner);
            if st.attempts != seen {
                // Someone fetched while we waited: share their outcome.
                return match (&st.keys, st.last_attempt_ok) {
                    (Some(keys), true) => Ok(Arc::clone(keys)),
                    _ => Err(()),
                };
            }
        }
        let outcome = self.fetch_set(url).await;
        let now = self.clock.now_ms();
        let mut st = entry.state.lock().unwrap_or_else(PoisonError::into_inner);
        st.attempts += 1;
        st.last_attempt_ms = Some(now);
        match outcome {
            Ok((keys, ttl)) => {
                let keys = Arc::new(keys);
                st.keys = Some(Arc::clone(&keys));
                st.fresh_until_ms = now.saturating_add(ms(ttl));
                st.last_attempt_ok = true;
                Ok(keys)
            }
            Err(_cause) => {
                st.last_attempt_ok = false;
                Err(())
            }
        }
    }

    async fn fetch_set(&self, url: &str) -> Result<(KeySet, Duration), FetchError> {
        let fetched = self.fetcher.get_json(url).await?;
        let keys = KeySet::from_jwks(&fetched.body, false).map_err(|_| FetchError::NotJson)?;
        let ttl = match fetched.max_age_secs {
            Some(secs) => Duration::from_secs(secs).clamp(self.policy.min_ttl, self.policy.max_ttl),
            None => self.policy.default_ttl,
        };
        Ok((keys, ttl))
    }

    /// Resolves an OpenID issuer to its `jwks_uri` through
    /// `{issuer}/.well-known/openid-configuration` (cached for `max_ttl`; the document's
    /// `issuer` must equal `issuer`, OpenID Connect Discovery §4.3).
    pub async fn discover(&self, issuer: &str) -> Result<String> {
        let slot = {
            let mut map = self
                .discovery
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            Arc::clone(map.entry(issuer.to_string()).or_default())
        };
        let mut d = slot.lock().await;
        let now = self.clock.now_ms();
        if let Some(uri) = &d.jwks_uri
            && now < d.valid_until_ms
        {
            return Ok(uri.clone());
        }
        let allowed = d
            .last_attempt_ms
            .is_none_or(|t| now >= t.saturating_add(ms(self.policy.refresh_interval)));
        if allowed {
            d.last_attempt_ms = Some(now);
            let url = format!(
                "{}/.well-known/openid-configuration",
                issuer.trim_end_matches('/')
            );
            if let Ok(fetched) = self.fetcher.get_json(&url).await
                && fetched.body.get("issuer").and_then(Value::as_str) == Some(issuer)
                && let Some(uri) = fetched.body.get("jwks_uri").and_then(Value::as_str)
                && crate::jwks::http::check_url(uri).is_ok()
            {
                d.jwks_uri = Some(uri.to_string());
                d.valid_until_ms = now.saturating_add(ms(self.policy.max_ttl));
                return Ok(uri.to_string());
            }
        }
        d.jwks_uri.clone().ok_or(AuthError::ProviderUnavailable)
    }
}
