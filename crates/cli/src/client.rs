//! A small blocking HTTP client for the admin API: the workspace's async reqwest (already
//! compiled for auth and flow) on a current-thread tokio runtime.
//!
//! Invariants: the bearer token is sent only in the `Authorization` header and never printed;
//! an error response is reported through its CONTRACT §3 `code` and `detail`; connection
//! failures are [`crate::failure::EXIT_UNREACHABLE`].

use std::time::Duration;

use serde_json::Value;

use crate::failure::Failure;

/// Timeout of one admin API request.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Prefix of the admin API.
pub(crate) const ADMIN_PREFIX: &str = "/admin/api/v1";

/// A parsed response.
#[derive(Debug)]
pub(crate) struct Response {
    /// HTTP status.
    pub(crate) status: u16,
    /// The JSON body (`Null` when empty or not JSON).
    pub(crate) body: Value,
}

impl Response {
    /// Whether the status is 2xx.
    pub(crate) fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// A failure describing an error response: `HTTP 409 duplicate_key: detail`.
    pub(crate) fn failure(&self, what: &str) -> Failure {
        Failure::failed(format!(
            "{what}: HTTP {} {}",
            self.status,
            describe_error(&self.body)
        ))
    }
}

/// `code: detail` of a CONTRACT §3 error body; validation problems one per line as
/// `loc: msg`.
pub(crate) fn describe_error(body: &Value) -> String {
    {
        let code = body.get("code").and_then(Value::as_str).unwrap_or("");
        let detail = match body.get("detail") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|p| {
                    let loc = p
                        .get("loc")
                        .and_then(Value::as_array)
                        .map(|l| {
                            l.iter()
                                .map(|x| match x {
                                    Value::String(s) => s.clone(),
                                    other => other.to_string(),
                                })
                                .collect::<Vec<_>>()
                                .join(".")
                        })
                        .unwrap_or_default();
                    let msg = p.get("msg").and_then(Value::as_str).unwrap_or("");
                    format!("\n  {loc}: {msg}")
                })
                .collect(),
            Some(other) => other.to_string(),
            None => String::new(),
        };
        format!("{code}: {detail}")
    }
}

/// Joins a base URL and an admin API path (`projects/p/definition`).
pub(crate) fn admin_url(base: &str, path: &str) -> String {
    format!(
        "{}{ADMIN_PREFIX}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

/// Sends one request; `body` is JSON when given.
pub(crate) fn send(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Result<Response, Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::failed(format!("cannot start the HTTP client: {e}")))?;
    runtime.block_on(send_async(method, url, token, body))
}

async fn send_async(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Result<Response, Failure> {
    let client = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(|e| Failure::failed(format!("cannot start the HTTP client: {e}")))?;
    let method = reqwest::Method::from_bytes(method.as_bytes())
        .map_err(|e| Failure::failed(format!("bad method: {e}")))?;
    let mut req = client.request(method, url);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let resp = req.send().await.map_err(|e| {
        // reqwest's error text names the URL, never headers.
        Failure::unreachable(format!("cannot reach {url}: {e}"))
    })?;
    let status = resp.status().as_u16();
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| Failure::unreachable(format!("reading the response of {url}: {e}")))?;
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Ok(Response { status, body })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn urls_and_error_messages() {
        assert_eq!(
            admin_url("http://h:1/", "/auth/login"),
            "http://h:1/admin/api/v1/auth/login"
        );
        let r = Response {
            status: 400,
            body: json!({"code": "validation_failed",
                "detail": [{"loc": ["body", "email"], "msg": "bad", "type": "t"}]}),
        };
        assert!(!r.ok());
        let m = r.failure("create").message;
        assert!(m.contains("HTTP 400 validation_failed"), "{m}");
        assert!(m.contains("body.email: bad"), "{m}");
        let r = Response {
            status: 409,
            body: json!({"code": "duplicate_key", "detail": "exists"}),
        };
        assert_eq!(r.failure("x").message, "x: HTTP 409 duplicate_key: exists");
    }

    #[test]
    fn unreachable_server_is_exit_3() {
        // Port 9 on loopback: nothing listens in the test environment → connection refused.
        let f = send("GET", "http://127.0.0.1:9/healthz", None, None).expect_err("refused");
        assert_eq!(f.code, crate::failure::EXIT_UNREACHABLE);
    }
}
