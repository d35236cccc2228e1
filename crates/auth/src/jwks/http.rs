//! Fetching JSON documents (JWKS, OpenID discovery) over HTTP(S) with hard limits.
//!
//! Invariants: HTTPS is required except for loopback hosts (local emulators and tests); no
//! redirect is followed; connect and overall timeouts bound every request; bodies larger
//! than [`MAX_DOCUMENT_BYTES`] are refused while streaming; only status 200 is accepted.

use std::time::Duration;

use serde_json::Value;

/// Largest JWKS or discovery document accepted, in bytes.
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024;
/// Default TCP/TLS connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Default timeout for a whole request, body included.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a fetch failed (for logs; clients only ever see `provider_unavailable`).
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The URL is not acceptable (scheme, host).
    #[error("refused URL: {0}")]
    Url(&'static str),
    /// Connection, TLS or timeout failure.
    #[error("transport: {0}")]
    Transport(String),
    /// The server answered with a non-200 status.
    #[error("status {0}")]
    Status(u16),
    /// The body is larger than [`MAX_DOCUMENT_BYTES`].
    #[error("document too large")]
    TooLarge,
    /// The body is not JSON.
    #[error("not JSON")]
    NotJson,
}

/// A fetched JSON document and the cache lifetime its server asked for.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The parsed body.
    pub body: Value,
    /// `Cache-Control: max-age` in seconds (`Some(0)` for `no-cache`/`no-store`).
    pub max_age_secs: Option<u64>,
}

/// Checks that `url` is `https://…`, or `http://` to a loopback host.
pub fn check_url(url: &str) -> Result<reqwest::Url, FetchError> {
    let parsed = reqwest::Url::parse(url).map_err(|_| FetchError::Url("not a valid URL"))?;
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" => {
            let host = parsed.host_str().unwrap_or_default();
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let loopback = host.eq_ignore_ascii_case("localhost")
                || host
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            if loopback {
                Ok(parsed)
            } else {
                Err(FetchError::Url(
                    "plain http is only allowed to loopback hosts",
                ))
            }
        }
        _ => Err(FetchError::Url("the scheme must be https")),
    }
}

/// Parses the `max-age` of a `Cache-Control` header value.
pub fn parse_max_age(cache_control: &str) -> Option<u64> {
    let mut max_age = None;
    for directive in cache_control.split(',') {
        let d = directive.trim();
        let lower = d.to_ascii_lowercase();
        if lower == "no-cache" || lower == "no-store" {
            return Some(0);
        }
        if let Some(v) = lower.strip_prefix("max-age=") {
            max_age = v.trim_matches('"').parse::<u64>().ok();
        }
    }
    max_age
}

/// An HTTP client for provider documents.
#[derive(Debug, Clone)]
pub struct HttpFetcher {
    client: reqwest::Client,
}

impl HttpFetcher {
    /// A client with the given timeouts.
    pub fn new(connect_timeout: Duration, request_timeout: Duration) -> Result<Self, FetchError> {
        let client = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .timeout(request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("stratus-auth/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| FetchError::Transport(e.to_string()))?;
        Ok(HttpFetcher { client })
    }

    /// GETs `url` and parses the body as JSON.
    pub async fn get_json(&self, url: &str) -> Result<Fetched, FetchError> {
        let url = check_url(url)?;
        let mut resp = self
            .client
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| FetchError::Transport(e.to_string()))?;
        if resp.status().as_u16() != 200 {
            return Err(FetchError::Status(resp.status().as_u16()));
        }
        if resp
            .content_length()
            .is_some_and(|n| n > MAX_DOCUMENT_BYTES as u64)
        {
            return Err(FetchError::TooLarge);
        }
        let max_age_secs = resp
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_max_age);
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| FetchError::Transport(e.to_string()))?
        {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(FetchError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        let body = serde_json::from_slice(&body).map_err(|_| FetchError::NotJson)?;
        Ok(Fetched { body, max_age_secs })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_policy() {
        assert!(check_url("https://idp.example/jwks").is_ok());
        assert!(check_url("http://127.0.0.1:9/jwks").is_ok());
        assert!(check_url("http://localhost:9/jwks").is_ok());
        assert!(check_url("http://[::1]:9/jwks").is_ok());
        assert!(check_url("http://idp.example/jwks").is_err());
        assert!(check_url("http://10.0.0.1/jwks").is_err());
        assert!(check_url("file:///etc/passwd").is_err());
        assert!(check_url("nonsense").is_err());
    }

    #[test]
    fn cache_control() {
        assert_eq!(parse_max_age("public, max-age=3600"), Some(3600));
        assert_eq!(parse_max_age("Max-Age=20, must-revalidate"), Some(20));
        assert_eq!(parse_max_age("no-store"), Some(0));
        assert_eq!(parse_max_age("private"), None);
        assert_eq!(parse_max_age("max-age=abc"), None);
    }
}
