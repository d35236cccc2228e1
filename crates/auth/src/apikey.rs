//! API keys for the control plane: random, shown once, stored as SHA-256, found by prefix.
//!
//! Format: `stk_<prefix>_<secret>` where `prefix` is 8 random base64url characters (the
//! lookup handle, safe to show in lists) and `secret` 32 random bytes in base64url. Only the
//! SHA-256 of the whole key is kept; comparison is constant-time. Each key is scoped to one
//! project and one project role, can be revoked, and records when it was last used.
//! SHA-256 (not argon2) is right here: the key has 256 bits of entropy, so brute force is
//! hopeless and verification must be cheap on every request.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{AuthError, Result};
use crate::random;
use crate::roles::ProjectRole;

/// Prefix of every Stratus API key.
pub const KEY_PREFIX: &str = "stk_";
/// Length of the lookup prefix in characters.
pub const LOOKUP_PREFIX_CHARS: usize = 8;
/// Longest presented key considered (anything longer is not one of ours).
pub const MAX_KEY_CHARS: usize = 128;
/// Longest key name, in bytes.
pub const MAX_KEY_NAME_BYTES: usize = 100;

/// What is stored for a key (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyRecord {
    /// Lookup prefix (shown in lists to tell keys apart).
    pub prefix: String,
    /// Hex SHA-256 of the whole key.
    pub hash: String,
    /// The project the key acts in.
    pub project: String,
    /// The role it has there.
    pub role: ProjectRole,
    /// A human label.
    pub name: String,
    /// Creation time, seconds since the epoch.
    pub created_at: i64,
    /// Last successful use, seconds since the epoch.
    pub last_used_at: Option<i64>,
    /// Whether the key was revoked.
    pub revoked: bool,
}

/// A new key: `plaintext` must be shown to the user once and then dropped.
#[derive(Debug)]
pub struct NewApiKey {
    /// The key to hand to the user (shown once).
    pub plaintext: String,
    /// What to store.
    pub record: ApiKeyRecord,
}

fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Creates a key for `project` with `role`.
pub fn generate(project: &str, role: ProjectRole, name: &str, now: i64) -> Result<NewApiKey> {
    if name.len() > MAX_KEY_NAME_BYTES {
        return Err(AuthError::InvalidConfig(format!(
            "an API key name is at most {MAX_KEY_NAME_BYTES} bytes"
        )));
    }
    let prefix: String = URL_SAFE_NO_PAD
        .encode(random::bytes::<6>()?)
        .chars()
        .take(LOOKUP_PREFIX_CHARS)
        .collect();
    let secret = URL_SAFE_NO_PAD.encode(random::bytes::<32>()?);
    let plaintext = format!("{KEY_PREFIX}{prefix}_{secret}");
    let record = ApiKeyRecord {
        prefix,
        hash: sha256_hex(&plaintext),
        project: project.to_string(),
        role,
        name: name.to_string(),
        created_at: now,
        last_used_at: None,
        revoked: false,
    };
    Ok(NewApiKey { plaintext, record })
}

/// The lookup prefix of a presented key, if it has our shape.
pub fn lookup_prefix(presented: &str) -> Option<&str> {
    if presented.len() > MAX_KEY_CHARS {
        return None;
    }
    let rest = presented.strip_prefix(KEY_PREFIX)?;
    let prefix = rest.get(..LOOKUP_PREFIX_CHARS)?;
    (rest.as_bytes().get(LOOKUP_PREFIX_CHARS) == Some(&b'_')).then_some(prefix)
}

impl ApiKeyRecord {
    /// Whether `presented` is this (unrevoked) key; constant-time on the hash.
    pub fn matches(&self, presented: &str) -> bool {
        !self.revoked && bool::from(sha256_hex(presented).as_bytes().ct_eq(self.hash.as_bytes()))
    }
}

/// An in-memory key registry (tests and single-process servers; the server persists
/// [`ApiKeyRecord`]s the same way).
#[derive(Debug, Default)]
pub struct ApiKeyRegistry {
    by_prefix: Mutex<HashMap<String, ApiKeyRecord>>,
}

impl ApiKeyRegistry {
    /// Creates and stores a key; returns the plaintext (shown once) and the record.
    pub fn create(
        &self,
        project: &str,
        role: ProjectRole,
        name: &str,
        now: i64,
    ) -> Result<NewApiKey> {
        let new = generate(project, role, name, now)?;
        let mut map = self
            .by_prefix
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if map.contains_key(&new.record.prefix) {
            // 48 random bits collided: vanishingly rare, refuse rather than overwrite.
            return Err(AuthError::Internal("API key prefix collision".into()));
        }
        map.insert(new.record.prefix.clone(), new.record.clone());
        Ok(new)
    }

    /// Authenticates a presented key, recording `now` as its last use.
    pub fn authenticate(&self, presented: &str, now: i64) -> Result<ApiKeyRecord> {
        let prefix = lookup_prefix(presented).ok_or(AuthError::InvalidCredentials)?;
        let mut map = self
            .by_prefix
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let rec = map.get_mut(prefix).ok_or(AuthError::InvalidCredentials)?;
        if !rec.matches(presented) {
            return Err(AuthError::InvalidCredentials);
        }
        rec.last_used_at = Some(now);
        Ok(rec.clone())
    }

    /// Revokes the key with `prefix`; false if unknown.
    pub fn revoke(&self, prefix: &str) -> bool {
        let mut map = self
            .by_prefix
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        map.get_mut(prefix).map(|r| r.revoked = true).is_some()
    }

    /// The records of a project (no key material beyond the hash).
    pub fn list(&self, project: &str) -> Vec<ApiKeyRecord> {
        let map = self
            .by_prefix
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut v: Vec<_> = map
            .values()
            .filter(|r| r.project == project)
            .cloned()
            .collect();
        v.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then(a.prefix.cmp(&b.prefix))
        });
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle() {
        let reg = ApiKeyRegistry::default();
        let k = reg
            .create("p1", ProjectRole::Developer, "ci", 100)
            .expect("create");
        assert!(k.plaintext.starts_with("stk_"));
        assert!(!k.record.hash.contains(&k.plaintext));
        assert_eq!(lookup_prefix(&k.plaintext), Some(k.record.prefix.as_str()));
        let rec = reg.authenticate(&k.plaintext, 200).expect("valid");
        assert_eq!(
            (rec.project.as_str(), rec.role),
            ("p1", ProjectRole::Developer)
        );
        assert_eq!(reg.list("p1")[0].last_used_at, Some(200));
        let mut tampered = k.plaintext.clone();
        tampered.pop();
        tampered.push(if k.plaintext.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(
            reg.authenticate(&tampered, 300).expect_err("bad").reason(),
            "invalid_credentials"
        );
        assert!(reg.authenticate("stk_short", 300).is_err());
        assert!(reg.authenticate("Bearer whatever", 300).is_err());
        assert!(reg.revoke(&k.record.prefix));
        assert!(reg.authenticate(&k.plaintext, 400).is_err());
        assert!(reg.list("p2").is_empty());
    }
}
