//! `pbkdf2HmacHash`: PBKDF2 with HMAC-SHA-1, -SHA-256 or -SHA-512 (RustCrypto, pure Rust),
//! run on the blocking pool.
//!
//! Fields: `password` (string, UTF-8 bytes), `salt` (string), `saltEncoding` (`utf8` default,
//! `hex`, `base64`), `iterations` (default [`DEFAULT_ITERATIONS`], 1 to [`MAX_ITERATIONS`]),
//! `algorithm` (`sha256` default, `sha1`, `sha512`), `keyLength` (bytes, default
//! [`DEFAULT_KEY_LENGTH`], 1 to [`MAX_KEY_LENGTH`]), `encoding` (`hex` default, `base64`),
//! optional `variable`. Output `result`: the encoded derived key. Compare hashes with an
//! `ifElse` `$eq` on the recomputed value.

use base64::Engine as _;
use bson::{Bson, DateTime};

use super::Op;
use super::json::type_error;
use crate::compile::{Compiler, Fields};
use crate::context::Frame;
use crate::error::{Result, RunError};
use crate::value::Tmpl;

/// Default iteration count.
pub const DEFAULT_ITERATIONS: i64 = 100_000;
/// Largest accepted iteration count (bounds CPU per node).
pub const MAX_ITERATIONS: i64 = 10_000_000;
/// Default derived-key length in bytes.
pub const DEFAULT_KEY_LENGTH: i64 = 32;
/// Largest derived-key length in bytes.
pub const MAX_KEY_LENGTH: i64 = 1024;

/// Hash function of the HMAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// HMAC-SHA-1.
    Sha1,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-512.
    Sha512,
}

/// Derives `len` bytes with PBKDF2-HMAC.
pub fn derive(
    alg: Algorithm,
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    len: usize,
) -> Vec<u8> {
    let mut out = vec![0u8; len];
    match alg {
        Algorithm::Sha1 => pbkdf2::pbkdf2_hmac::<sha1::Sha1>(password, salt, iterations, &mut out),
        Algorithm::Sha256 => {
            pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, iterations, &mut out)
        }
        Algorithm::Sha512 => {
            pbkdf2::pbkdf2_hmac::<sha2::Sha512>(password, salt, iterations, &mut out)
        }
    }
    out
}

/// `pbkdf2HmacHash`
#[derive(Debug)]
pub(crate) struct Pbkdf2 {
    password: Tmpl,
    salt: Tmpl,
    iterations: Option<Tmpl>,
    alg: Algorithm,
    key_len: usize,
    base64_out: bool,
    salt_encoding: &'static str,
    pub(crate) target: Option<usize>,
}

pub(crate) fn compile(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    let password = c.req_value(f, "password");
    let salt = c.req_value(f, "salt");
    let salt_encoding = c.choice(f, "saltEncoding", &["utf8", "hex", "base64"]);
    let iterations = c.opt_value(f, "iterations");
    if let Some(b) = iterations.as_ref().and_then(Tmpl::literal)
        && iterations_of(b).is_err()
    {
        c.error(
            &f.at("iterations"),
            format!("must be an integer from 1 to {MAX_ITERATIONS}"),
        );
    }
    let alg = match c.choice(f, "algorithm", &["sha256", "sha1", "sha512"]) {
        "sha1" => Algorithm::Sha1,
        "sha512" => Algorithm::Sha512,
        _ => Algorithm::Sha256,
    };
    let key_len = c
        .int(f, "keyLength", 1, MAX_KEY_LENGTH)
        .unwrap_or(DEFAULT_KEY_LENGTH);
    let base64_out = c.choice(f, "encoding", &["hex", "base64"]) == "base64";
    let target = c.target_var(f);
    Op::Pbkdf2(Pbkdf2 {
        password,
        salt,
        iterations,
        alg,
        key_len: usize::try_from(key_len).unwrap_or(32),
        base64_out,
        salt_encoding,
        target,
    })
}

fn iterations_of(b: &Bson) -> Result<u32> {
    match stratus_query::compare::Number::of(b) {
        Some(n)
            if n.as_f64().fract() == 0.0
                && n.as_f64() >= 1.0
                && n.as_f64() <= MAX_ITERATIONS as f64 =>
        {
            Ok(n.as_f64() as u32)
        }
        _ => Err(RunError::node_failed(format!(
            "`iterations` must be an integer from 1 to {MAX_ITERATIONS}"
        ))),
    }
}

/// Evaluated inputs of one derivation.
#[derive(Debug)]
pub(crate) struct Job {
    alg: Algorithm,
    password: Vec<u8>,
    salt: Vec<u8>,
    iterations: u32,
    key_len: usize,
    base64_out: bool,
}

impl Pbkdf2 {
    /// Evaluates the inputs.
    pub(crate) fn prepare(&self, f: &Frame, now: DateTime) -> Result<Job> {
        let password = match self.password.eval(f, now)? {
            Bson::String(s) => s.into_bytes(),
            other => return Err(type_error("password", "a string", &other)),
        };
        let salt_text = match self.salt.eval(f, now)? {
            Bson::String(s) => s,
            other => return Err(type_error("salt", "a string", &other)),
        };
        let salt = match self.salt_encoding {
            "hex" => decode_hex(&salt_text)
                .ok_or_else(|| RunError::node_failed("`salt` is not valid hex"))?,
            "base64" => base64::engine::general_purpose::STANDARD
                .decode(salt_text.as_bytes())
                .map_err(|_| RunError::node_failed("`salt` is not valid base64"))?,
            _ => salt_text.into_bytes(),
        };
        let iterations = match &self.iterations {
            Some(t) => iterations_of(&t.eval(f, now)?)?,
            None => DEFAULT_ITERATIONS as u32,
        };
        Ok(Job {
            alg: self.alg,
            password,
            salt,
            iterations,
            key_len: self.key_len,
            base64_out: self.base64_out,
        })
    }
}

impl Job {
    /// Runs the derivation and encodes the key.
    pub(crate) fn run(self) -> Bson {
        let key = derive(
            self.alg,
            &self.password,
            &self.salt,
            self.iterations,
            self.key_len,
        );
        Bson::String(if self.base64_out {
            base64::engine::general_purpose::STANDARD.encode(key)
        } else {
            encode_hex(&key)
        })
    }
}

/// Lower-case hex.
pub fn encode_hex(b: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        s.push(char::from(D[usize::from(x >> 4)]));
        s.push(char::from(D[usize::from(x & 15)]));
    }
    s
}

/// Decodes hex (either case); `None` if malformed.
pub fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6070_sha1() {
        // RFC 6070 test vectors 1 and 2.
        assert_eq!(
            encode_hex(&derive(Algorithm::Sha1, b"password", b"salt", 1, 20)),
            "0c60c80f961f0e71f3a9b524af6012062fe037a6"
        );
        assert_eq!(
            encode_hex(&derive(Algorithm::Sha1, b"password", b"salt", 2, 20)),
            "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957"
        );
    }

    #[test]
    fn hex_round_trip() {
        assert_eq!(decode_hex("00ff10"), Some(vec![0, 255, 16]));
        assert_eq!(decode_hex("0"), None);
        assert_eq!(decode_hex("zz"), None);
        assert_eq!(encode_hex(&[0, 255, 16]), "00ff10");
    }
}
