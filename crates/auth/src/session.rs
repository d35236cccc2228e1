//! Control-plane login tokens: a short-lived access token and a longer-lived refresh token,
//! both HS256 JWTs signed with the server's session key.
//!
//! Invariants:
//! - an access token is accepted only if its signature, `iss`, `typ`, expiry, account
//!   generation and session id all check out; a refresh token is never accepted as an access
//!   token and vice versa (`typ`);
//! - password change or "log out everywhere" bumps the account's generation, killing every
//!   token issued before; logout revokes one session id;
//! - refreshing rotates: the old session id is revoked, so a replayed refresh token fails;
//! - the revocation list only keeps entries until the tokens they name would have expired.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::claims::{self, ClaimRules};
use crate::clock::Clock;
use crate::error::{AuthError, Result};
use crate::jose::{self, KeySet, VerifyingKey};
use crate::random;

/// Lifetime of an access token.
pub const ACCESS_TOKEN_TTL: Duration = Duration::from_secs(15 * 60);
/// Lifetime of a refresh token.
pub const REFRESH_TOKEN_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// The `iss` of Stratus login tokens.
pub const SESSION_ISSUER: &str = "stratus";
/// Clock skew tolerated on session tokens (same server, so small).
pub const SESSION_LEEWAY_SECS: u64 = 5;
/// Length of the session signing key in bytes.
pub const SESSION_KEY_BYTES: usize = 32;

const TYP_ACCESS: &str = "access";
const TYP_REFRESH: &str = "refresh";

/// A freshly issued token pair (give both to the client; store neither).
#[derive(Debug, Clone)]
pub struct TokenPair {
    /// Bearer token for `/admin/api/v1/…`.
    pub access_token: String,
    /// Token to obtain a new pair.
    pub refresh_token: String,
    /// Session id (what logout revokes).
    pub session_id: String,
    /// Access token expiry, seconds since the epoch.
    pub access_expires_at: i64,
    /// Refresh token expiry, seconds since the epoch.
    pub refresh_expires_at: i64,
}

/// Who an accepted access token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The account id (`sub`).
    pub account_id: String,
    /// The session id (`sid`).
    pub session_id: String,
}

/// Server-side session state the issuer consults (persisted by the server).
pub trait SessionState: Send + Sync {
    /// The account's current token generation, `None` if the account does not exist.
    fn generation(&self, account_id: &str) -> Option<u64>;
    /// Whether a session id was revoked.
    fn is_revoked(&self, session_id: &str) -> bool;
    /// Revokes a session id until `until` (seconds since the epoch).
    fn revoke(&self, session_id: &str, until: i64);
}

/// In-memory [`SessionState`] (tests, single-process servers).
#[derive(Debug, Default)]
pub struct MemorySessions {
    generations: Mutex<HashMap<String, u64>>,
    revoked: Mutex<HashMap<String, i64>>,
}

impl MemorySessions {
    /// Registers an account at generation 0 (no-op if present).
    pub fn add_account(&self, account_id: &str) {
        let mut g = self
            .generations
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        g.entry(account_id.to_string()).or_insert(0);
    }

    /// Invalidates every token of the account (password change, log out everywhere).
    pub fn bump_generation(&self, account_id: &str) {
        let mut g = self
            .generations
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *g.entry(account_id.to_string()).or_insert(0) += 1;
    }

    /// Drops revocation entries whose tokens have expired anyway.
    pub fn prune(&self, now: i64) {
        let mut r = self.revoked.lock().unwrap_or_else(PoisonError::into_inner);
        r.retain(|_, until| *until > now);
    }

    /// Number of revocation entries kept.
    pub fn revoked_len(&self) -> usize {
        self.revoked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl SessionState for MemorySessions {
    fn generation(&self, account_id: &str) -> Option<u64> {
        let g = self
            .generations
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        g.get(account_id).copied()
    }

    fn is_revoked(&self, session_id: &str) -> bool {
        let r = self.revoked.lock().unwrap_or_else(PoisonError::into_inner);
        r.contains_key(session_id)
    }

    fn revoke(&self, session_id: &str, until: i64) {
        let mut r = self.revoked.lock().unwrap_or_else(PoisonError::into_inner);
        r.insert(session_id.to_string(), until);
    }
}

/// Issues and checks login tokens.
pub struct SessionIssuer {
    encoding: EncodingKey,
    keys: KeySet,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for SessionIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionIssuer").finish_non_exhaustive()
    }
}

fn new_id() -> Result<String> {
    Ok(URL_SAFE_NO_PAD.encode(random::bytes::<16>()?))
}

fn ttl_secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

impl SessionIssuer {
    /// An issuer signing with `key` (at least [`SESSION_KEY_BYTES`] bytes).
    pub fn new(key: &[u8], clock: Arc<dyn Clock>) -> Result<Self> {
        if key.len() < SESSION_KEY_BYTES {
            return Err(AuthError::InvalidConfig(format!(
                "the session key must be at least {SESSION_KEY_BYTES} bytes"
            )));
        }
        let verifying = VerifyingKey::hmac(key, &[Algorithm::HS256])?;
        Ok(SessionIssuer {
            encoding: EncodingKey::from_secret(key)
                .map_err(|_| AuthError::InvalidConfig("empty session key".into()))?,
            keys: KeySet::from_keys(vec![verifying]),
            clock,
        })
    }

    fn sign(&self, claims: &Value) -> Result<String> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| AuthError::Internal(format!("signing: {e}")))
    }

    /// Issues a new pair for `account_id` at its current `generation`.
    pub fn issue(&self, account_id: &str, generation: u64) -> Result<TokenPair> {
        let now = self.clock.now_secs();
        let session_id = new_id()?;
        let access_exp = now.saturating_add(ttl_secs(ACCESS_TOKEN_TTL));
        let refresh_exp = now.saturating_add(ttl_secs(REFRESH_TOKEN_TTL));
        let access = json!({"iss": SESSION_ISSUER, "typ": TYP_ACCESS, "sub": account_id,
            "sid": session_id, "gen": generation, "iat": now, "exp": access_exp});
        let refresh = json!({"iss": SESSION_ISSUER, "typ": TYP_REFRESH, "sub": account_id,
            "sid": session_id, "gen": generation, "iat": now, "exp": refresh_exp,
            "jti": new_id()?});
        Ok(TokenPair {
            access_token: self.sign(&access)?,
            refresh_token: self.sign(&refresh)?,
            session_id,
            access_expires_at: access_exp,
            refresh_expires_at: refresh_exp,
        })
    }

    fn check(&self, token: &str, typ: &str, state: &dyn SessionState) -> Result<(Session, i64)> {
        let payload = jose::verify_compact(token, &self.keys, Some(&[Algorithm::HS256]))?;
        let claims = claims::parse_claims(&payload)?;
        let rules = ClaimRules {
            issuer: Some(SESSION_ISSUER.to_string()),
            required: vec!["sub".into(), "sid".into(), "gen".into(), "typ".into()],
            leeway_secs: SESSION_LEEWAY_SECS,
            ..ClaimRules::default()
        };
        claims::validate(&claims, &rules, self.clock.now_secs())?;
        if claims.get("typ").and_then(Value::as_str) != Some(typ) {
            return Err(AuthError::BadTokenUse);
        }
        let text = |k: &'static str| {
            claims
                .get(k)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or(AuthError::missing_claim(k))
        };
        let account_id = text("sub")?;
        let session_id = text("sid")?;
        let generation = claims.get("gen").and_then(Value::as_u64);
        let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
        match state.generation(&account_id) {
            Some(current) if generation == Some(current) => {}
            Some(_) | None => return Err(AuthError::Revoked),
        }
        if state.is_revoked(&session_id) {
            return Err(AuthError::Revoked);
        }
        Ok((
            Session {
                account_id,
                session_id,
            },
            exp,
        ))
    }

    /// Checks an access token.
    pub fn verify_access(&self, token: &str, state: &dyn SessionState) -> Result<Session> {
        self.check(token, TYP_ACCESS, state).map(|(s, _)| s)
    }

    /// Exchanges a refresh token for a new pair, revoking the old session (rotation).
    pub fn refresh(&self, refresh_token: &str, state: &dyn SessionState) -> Result<TokenPair> {
        let (session, exp) = self.check(refresh_token, TYP_REFRESH, state)?;
        let generation = state
            .generation(&session.account_id)
            .ok_or(AuthError::Revoked)?;
        state.revoke(&session.session_id, exp);
        self.issue(&session.account_id, generation)
    }

    /// Logs a session out: both of its tokens stop working.
    pub fn logout(&self, session: &Session, state: &dyn SessionState) {
        let until = self
            .clock
            .now_secs()
            .saturating_add(ttl_secs(REFRESH_TOKEN_TTL));
        state.revoke(&session.session_id, until);
    }
}

/// A new random session key.
pub fn generate_session_key() -> Result<[u8; SESSION_KEY_BYTES]> {
    random::bytes::<SESSION_KEY_BYTES>()
}
