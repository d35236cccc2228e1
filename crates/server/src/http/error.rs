//! The HTTP error of every Stratus endpoint (CONTRACT §3): a status, a stable snake_case `code`
//! and a `detail` (a sentence, or a list of field errors for validation).
//!
//! Invariant: a 500 body never carries the cause; [`ApiError::internal`] logs the cause with
//! `tracing` and answers a generic sentence (the response's `x-request-id` ties the two).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};
use stratus_types::error::Code;

/// One field error of a `validation_failed` response.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldProblem {
    /// Where: `["body", "age"]`, `["params", "limit"]`, `["path", "id"]`; array indexes are
    /// numbers.
    pub loc: Vec<Value>,
    /// What is wrong, for people.
    pub msg: String,
    /// Kind: `type_error`, `value_error`, `missing`, `extra_forbidden`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// An error answered over HTTP.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine code.
    pub code: String,
    /// A sentence or a list of field problems.
    pub detail: Value,
    /// Extra response headers (e.g. `WWW-Authenticate`, `Allow`).
    pub headers: Vec<(header::HeaderName, String)>,
}

impl ApiError {
    /// An error with one of the standard codes and a sentence.
    pub fn new(code: Code, detail: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::from_u16(code.http_status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code: code.name().to_string(),
            detail: Value::String(detail.into()),
            headers: Vec::new(),
        }
    }

    /// An error with a custom code (flows, sub-systems) and status.
    pub fn custom(status: StatusCode, code: impl Into<String>, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            code: code.into(),
            detail: Value::String(detail.into()),
            headers: Vec::new(),
        }
    }

    /// 400 `validation_failed` with field problems.
    pub fn validation(problems: Vec<FieldProblem>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: Code::ValidationFailed.name().to_string(),
            detail: serde_json::to_value(problems).unwrap_or(Value::Null),
            headers: Vec::new(),
        }
    }

    /// 400 `validation_failed` for one field.
    pub fn field(loc: &[&str], msg: impl Into<String>, kind: &str) -> ApiError {
        ApiError::validation(vec![FieldProblem {
            loc: loc
                .iter()
                .map(|s| Value::String((*s).to_string()))
                .collect(),
            msg: msg.into(),
            kind: kind.to_string(),
        }])
    }

    /// 404 `not_found`.
    pub fn not_found(detail: impl Into<String>) -> ApiError {
        ApiError::new(Code::NotFound, detail)
    }

    /// 401 `unauthenticated` with `WWW-Authenticate: Bearer` (RFC 6750 `invalid_token` when a
    /// token was presented).
    pub fn unauthenticated(detail: impl Into<String>, token_presented: bool) -> ApiError {
        let challenge = if token_presented {
            "Bearer error=\"invalid_token\"".to_string()
        } else {
            "Bearer".to_string()
        };
        ApiError::new(Code::Unauthenticated, detail)
            .with_header(header::WWW_AUTHENTICATE, challenge)
    }

    /// 413 `payload_too_large` for a request body over its limit, sent with `Connection: close`.
    ///
    /// The rest of the body stays unread, so the server cannot keep the connection; saying so
    /// stops a keep-alive client from reusing it for its next request (which would fail
    /// mid-flight when the server drops the socket).
    pub fn body_too_large(detail: impl Into<String>) -> ApiError {
        ApiError::new(Code::PayloadTooLarge, detail).with_header(header::CONNECTION, "close")
    }

    /// 403 `forbidden`.
    pub fn forbidden(detail: impl Into<String>) -> ApiError {
        ApiError::new(Code::Forbidden, detail)
    }

    /// 500 `internal`: logs `cause` (which may be sensitive) and answers a generic sentence.
    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        tracing::error!(cause = %cause, "internal error");
        ApiError::new(
            Code::Internal,
            "internal error; the server log has the cause (see the x-request-id header)",
        )
    }

    /// Adds a response header.
    pub fn with_header(mut self, name: header::HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        json!({"code": self.code, "detail": self.detail})
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = self.body();
        let mut resp = (self.status, axum::Json(body)).into_response();
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                resp.headers_mut().append(name, v);
            }
        }
        resp
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_body_has_the_contract_shape() {
        let e = ApiError::field(&["body", "age"], "expected an integer", "type_error");
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            e.body(),
            json!({"code": "validation_failed",
                   "detail": [{"loc": ["body", "age"], "msg": "expected an integer", "type": "type_error"}]})
        );
    }

    #[test]
    fn internal_hides_the_cause() {
        let e = ApiError::internal("disk /secret/path failed");
        assert_eq!(e.status.as_u16(), 500);
        assert!(!e.body().to_string().contains("/secret/path"));
    }

    #[test]
    fn unauthenticated_carries_a_bearer_challenge() {
        let e = ApiError::unauthenticated("token expired", true);
        assert_eq!(e.status.as_u16(), 401);
        assert!(
            e.headers
                .iter()
                .any(|(n, v)| n == header::WWW_AUTHENTICATE && v.contains("invalid_token"))
        );
    }
}
