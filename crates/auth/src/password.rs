//! Password hashing for Stratus accounts: argon2id with the `argon2` crate's defaults
//! (OWASP: m = 19 MiB, t = 2, p = 1), stored as a PHC string.
//!
//! Invariants: passwords are limited to [`MAX_PASSWORD_BYTES`] (hashing cost must not be
//! attacker-controlled) and new ones must have at least [`MIN_PASSWORD_CHARS`] characters;
//! verification of a malformed stored hash fails closed.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use crate::error::{AuthError, Result};

/// Fewest characters a new password may have.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest password accepted, in bytes.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Checks a new password against the policy.
pub fn check_policy(password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AuthError::WeakPassword(
            "it must have at least 8 characters",
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AuthError::WeakPassword("it is longer than 1024 bytes"));
    }
    Ok(())
}

/// Hashes a new password (policy-checked) into a PHC string (`$argon2id$v=19$...`).
pub fn hash_password(password: &str) -> Result<String> {
    check_policy(password)?;
    let hash = Argon2::default()
        .hash_password(password.as_bytes())
        .map_err(|e| AuthError::Internal(format!("argon2: {e}")))?;
    Ok(hash.to_string())
}

/// Whether `password` matches the stored PHC `hash` (false for malformed hashes and
/// over-long passwords).
pub fn verify_password(password: &str, hash: &str) -> bool {
    if password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    Argon2::default()
        .verify_password(password.as_bytes(), hash)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let h = hash_password("correct horse").expect("hash");
        assert!(h.starts_with("$argon2id$v=19$"), "{h}");
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("correct horsE", &h));
        assert!(!verify_password("correct horse", "not a phc string"));
        let h2 = hash_password("correct horse").expect("hash");
        assert_ne!(h, h2, "salts differ");
        assert_eq!(
            hash_password("short").expect_err("weak").reason(),
            "weak_password"
        );
        assert!(!verify_password(&"x".repeat(MAX_PASSWORD_BYTES + 1), &h));
    }
}
