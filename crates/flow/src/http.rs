//! Outbound HTTP for `apiCall`: a shared reqwest client (rustls) with an address policy,
//! limited redirects, per-call timeouts and a response-size cap.
//!
//! Address policy (SSRF guard): unless [`HttpConfig::allow_private_networks`] is set, calls
//! to loopback, private (RFC 1918, IPv6 unique-local), link-local (incl. cloud metadata
//! 169.254.169.254), carrier-grade NAT, unspecified, broadcast and multicast addresses are
//! refused. Host names are resolved by the client's own resolver, which checks *every*
//! resolved address (so a name that resolves to a private address is refused, and the
//! address checked is the address connected to); literal IPs are checked before the call and
//! on every redirect.

use std::error::Error as StdError;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect;

/// Default `timeoutMs` of an `apiCall`.
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;
/// Largest accepted `timeoutMs`.
pub const MAX_TIMEOUT_MS: u64 = 60_000;
/// Redirects followed at most (then the call fails).
pub const MAX_REDIRECTS: usize = 5;
/// Largest response body read (bytes); a larger one fails the call.
pub const MAX_RESPONSE_BYTES: usize = 5 * 1024 * 1024;

/// Outbound HTTP configuration (server config `http.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpConfig {
    /// Allow loopback/private/link-local destinations (off by default).
    pub allow_private_networks: bool,
    /// See [`DEFAULT_TIMEOUT_MS`].
    pub default_timeout_ms: u64,
    /// See [`MAX_TIMEOUT_MS`].
    pub max_timeout_ms: u64,
    /// See [`MAX_REDIRECTS`].
    pub max_redirects: usize,
    /// See [`MAX_RESPONSE_BYTES`].
    pub max_response_bytes: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            allow_private_networks: false,
            default_timeout_ms: DEFAULT_TIMEOUT_MS,
            max_timeout_ms: MAX_TIMEOUT_MS,
            max_redirects: MAX_REDIRECTS,
            max_response_bytes: MAX_RESPONSE_BYTES,
        }
    }
}

/// A refused destination (found in the error chain of a failed call).
#[derive(Debug, Clone, thiserror::Error)]
#[error("outbound address {0} is not allowed (private, loopback, link-local or reserved)")]
pub struct AddressRefused(pub IpAddr);

/// Whether the policy refuses `ip` when private networks are not allowed.
pub fn is_restricted(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => restricted_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return restricted_v4(v4);
            }
            let seg0 = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg0 & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (seg0 & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (seg0 & 0xffc0) == 0xfec0 // site-local (deprecated)
                || (seg0 == 0x64 && v6.segments()[1] == 0xff9b) // NAT64 64:ff9b::/96
        }
    }
}

fn restricted_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || o[0] == 0
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // CGNAT 100.64/10
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
        || o[0] >= 240 // reserved
}

/// A resolver that refuses restricted addresses.
#[derive(Debug, Clone, Copy)]
struct PolicyResolver;

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|e| Box::new(e) as Box<dyn StdError + Send + Sync>)?
                .collect();
            if let Some(bad) = addrs.iter().find(|a| is_restricted(a.ip())) {
                return Err(Box::new(AddressRefused(bad.ip())) as Box<dyn StdError + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// The shared outbound client (cheap to clone).
#[derive(Clone, Debug)]
pub struct HttpClient {
    pub(crate) client: reqwest::Client,
    pub(crate) config: HttpConfig,
}

impl HttpClient {
    /// Builds a client for `config`.
    pub fn new(config: HttpConfig) -> Result<Self, String> {
        let allow = config.allow_private_networks;
        let max = config.max_redirects;
        let policy = redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= max {
                return attempt.error(format!("more than {max} redirects"));
            }
            if !allow
                && let Some(ip) = literal_ip(attempt.url())
                && is_restricted(ip)
            {
                return attempt.error(AddressRefused(ip));
            }
            attempt.follow()
        });
        let mut b = reqwest::Client::builder()
            .redirect(policy)
            .user_agent(concat!("stratus-flow/", env!("CARGO_PKG_VERSION")));
        if !allow {
            b = b.dns_resolver(Arc::new(PolicyResolver));
        }
        let client = b
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(HttpClient { client, config })
    }

    /// The configuration.
    pub fn config(&self) -> &HttpConfig {
        &self.config
    }
}

/// The IP of a URL whose host is a literal address.
pub(crate) fn literal_ip(url: &reqwest::Url) -> Option<IpAddr> {
    let h = url.host_str()?;
    h.trim_start_matches('[').trim_end_matches(']').parse().ok()
}

/// The refused address in an error's source chain, if the policy caused it.
pub(crate) fn refused_in(e: &(dyn StdError + 'static)) -> Option<IpAddr> {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<AddressRefused>() {
            return Some(r.0);
        }
        cur = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restricted_ranges() {
        for s in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "255.255.255.255",
            "100.64.0.1",
            "224.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_restricted(s.parse().expect("ip")), "{s} must be refused");
        }
        for s in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(
                !is_restricted(s.parse().expect("ip")),
                "{s} must be allowed"
            );
        }
    }
}
