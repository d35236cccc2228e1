//! Secrets encrypted at rest with a master key: XChaCha20-Poly1305 (RustCrypto).
//!
//! Sealed format: `[version = 1][24-byte random nonce][ciphertext + 16-byte tag]`. The
//! caller's `context` (e.g. `project/env/secret`) is authenticated as associated data, so a
//! sealed value copied to another place does not open. The 192-bit nonce makes random
//! nonces safe for any number of messages.
//!
//! The master key comes from [`MASTER_KEY_ENV`] (base64, 32 bytes) or from a key file that is
//! created with mode 0600 on first start. The key never appears in `Debug` output.

use std::fs;
use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::error::{AuthError, Result};
use crate::random;

/// Environment variable holding the base64 master key.
pub const MASTER_KEY_ENV: &str = "STRATUS_MASTER_KEY";
/// Master key length in bytes.
pub const MASTER_KEY_BYTES: usize = 32;
/// Largest plaintext sealed at once.
pub const MAX_SECRET_BYTES: usize = 64 * 1024;

const VERSION: u8 = 1;
const NONCE_BYTES: usize = 24;

/// Encrypts and decrypts secrets with the master key.
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(<redacted>)")
    }
}

impl SecretBox {
    /// A box over a 32-byte key.
    pub fn from_key(key: &[u8; MASTER_KEY_BYTES]) -> Self {
        let cipher = XChaCha20Poly1305::new(&(*key).into());
        SecretBox { cipher }
    }

    /// A box over a base64 key (the env var form).
    pub fn from_base64(text: &str) -> Result<Self> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| AuthError::InvalidConfig("the master key is not base64".into()))?;
        let key: [u8; MASTER_KEY_BYTES] = bytes.try_into().map_err(|_| {
            AuthError::InvalidConfig(format!("the master key must be {MASTER_KEY_BYTES} bytes"))
        })?;
        Ok(Self::from_key(&key))
    }

    /// The key from [`MASTER_KEY_ENV`] if set, else from `key_file` (created with mode 0600
    /// and a fresh random key if it does not exist).
    pub fn load(key_file: &Path) -> Result<Self> {
        match std::env::var(MASTER_KEY_ENV) {
            Ok(v) if !v.trim().is_empty() => Self::from_base64(&v),
            Ok(_) | Err(_) => Self::load_or_create_file(key_file),
        }
    }

    /// The key stored (base64) in `path`, generated on first use with mode 0600.
    pub fn load_or_create_file(path: &Path) -> Result<Self> {
        match fs::read_to_string(path) {
            Ok(text) => Self::from_base64(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = random::bytes::<MASTER_KEY_BYTES>()?;
                let mut opts = fs::OpenOptions::new();
                opts.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    opts.mode(0o600);
                }
                let io = |e: std::io::Error| AuthError::Internal(format!("master key file: {e}"));
                let mut f = opts.open(path).map_err(io)?;
                f.write_all(STANDARD.encode(key).as_bytes()).map_err(io)?;
                f.sync_all().map_err(io)?;
                Ok(Self::from_key(&key))
            }
            Err(e) => Err(AuthError::Internal(format!("master key file: {e}"))),
        }
    }

    /// Encrypts `plaintext`, binding it to `context`.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Result<Vec<u8>> {
        if plaintext.len() > MAX_SECRET_BYTES {
            return Err(AuthError::InvalidConfig(format!(
                "a secret is at most {MAX_SECRET_BYTES} bytes"
            )));
        }
        let nonce_bytes = random::bytes::<NONCE_BYTES>()?;
        let nonce = XNonce::from(nonce_bytes);
        let ct = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| AuthError::Internal("encryption failed".into()))?;
        let mut out = Vec::with_capacity(1 + NONCE_BYTES + ct.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Decrypts a value sealed for `context`; `secret_undecryptable` if the key, context or
    /// bytes do not match.
    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>> {
        let (&version, rest) = sealed.split_first().ok_or(AuthError::SecretUndecryptable)?;
        if version != VERSION || rest.len() < NONCE_BYTES + 16 {
            return Err(AuthError::SecretUndecryptable);
        }
        let (nonce, ct) = rest.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce
            .try_into()
            .map_err(|_| AuthError::SecretUndecryptable)?;
        self.cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ct,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| AuthError::SecretUndecryptable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_and_tamper() {
        let b = SecretBox::from_key(&[9u8; 32]);
        let s = b.seal("p/dev/auth", b"hunter2").expect("seal");
        assert_eq!(b.open("p/dev/auth", &s).expect("open"), b"hunter2");
        assert_ne!(
            b.seal("p/dev/auth", b"hunter2").expect("seal"),
            s,
            "fresh nonce"
        );
        assert!(!s.windows(7).any(|w| w == b"hunter2"));
        assert!(b.open("p/prod/auth", &s).is_err(), "context bound");
        let mut t = s.clone();
        let last = t.len() - 1;
        t[last] ^= 1;
        assert_eq!(
            b.open("p/dev/auth", &t).expect_err("tag").reason(),
            "secret_undecryptable"
        );
        assert!(
            SecretBox::from_key(&[8u8; 32])
                .open("p/dev/auth", &s)
                .is_err()
        );
        assert!(b.open("x", &[]).is_err());
        assert!(format!("{b:?}").contains("redacted"));
    }

    #[test]
    fn key_file_created_0600_and_reused() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("master.key");
        let a = SecretBox::load_or_create_file(&path).expect("create");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let sealed = a.seal("c", b"v").expect("seal");
        let b = SecretBox::load_or_create_file(&path).expect("reload");
        assert_eq!(b.open("c", &sealed).expect("same key"), b"v");
        assert!(SecretBox::from_base64("c2hvcnQ=").is_err());
    }
}
