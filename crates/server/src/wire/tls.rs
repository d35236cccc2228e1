//! Optional TLS for the wire server (rustls with the ring provider): build a [`TlsConfig`]
//! from a PEM certificate chain and private key and pass it to [`crate::wire::WireState::with_tls`];
//! every accepted connection then starts with a TLS handshake (plain connections fail it and
//! are closed). Invariant: the handshake is bounded by [`TLS_HANDSHAKE_TIMEOUT`].

use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// A TLS handshake must finish within this time or the connection is closed.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The certificate PEM held no certificate or could not be parsed.
    #[error("invalid certificate PEM: {0}")]
    Certificate(String),
    /// The key PEM held no private key or could not be parsed.
    #[error("invalid private key PEM: {0}")]
    Key(String),
    /// rustls refused the pair (e.g. key does not match the certificate).
    #[error("TLS configuration refused: {0}")]
    Config(String),
}

/// A server TLS configuration.
#[derive(Clone)]
pub struct TlsConfig {
    pub(crate) acceptor: tokio_rustls::TlsAcceptor,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig").finish_non_exhaustive()
    }
}

impl TlsConfig {
    /// From a PEM certificate chain (leaf first) and a PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub fn from_pem(cert_chain_pem: &[u8], key_pem: &[u8]) -> Result<TlsConfig, TlsError> {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_chain_pem)
            .collect::<Result<_, _>>()
            .map_err(|e| TlsError::Certificate(e.to_string()))?;
        if certs.is_empty() {
            return Err(TlsError::Certificate("no CERTIFICATE block".into()));
        }
        let key =
            PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| TlsError::Key(e.to_string()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| TlsError::Config(e.to_string()))?;
        Ok(TlsConfig {
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_pem_is_an_error() {
        assert!(matches!(
            TlsConfig::from_pem(b"", b""),
            Err(TlsError::Certificate(_))
        ));
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let pem = cert.cert.pem();
        assert!(matches!(
            TlsConfig::from_pem(pem.as_bytes(), b"junk"),
            Err(TlsError::Key(_))
        ));
        let other = rcgen::generate_simple_self_signed(vec!["x".into()]).unwrap();
        assert!(
            TlsConfig::from_pem(pem.as_bytes(), other.key_pair.serialize_pem().as_bytes()).is_err()
        );
        assert!(
            TlsConfig::from_pem(pem.as_bytes(), cert.key_pair.serialize_pem().as_bytes()).is_ok()
        );
    }
}
