//! The stable error-code table (CONTRACT §3).
//!
//! Every crate's error enum implements [`ErrorCode`] with an exhaustive `match`, so adding an
//! error variant does not compile until it is routed to one of these codes.

use serde::Serialize;

/// A stable, machine-readable error code with its HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    /// 400: the input failed validation; `detail` lists field errors.
    ValidationFailed,
    /// 400: the body is not valid JSON.
    InvalidJson,
    /// 400: a query, update or pipeline is malformed or not supported.
    BadQuery,
    /// 401: no or invalid credentials.
    Unauthenticated,
    /// 403: authenticated, but not allowed.
    Forbidden,
    /// 404: nothing there (or not visible to the caller).
    NotFound,
    /// 405: the path exists with another method.
    MethodNotAllowed,
    /// 409: a unique index refused the write.
    DuplicateKey,
    /// 409: the resource already exists.
    AlreadyExists,
    /// 413: the body or document is over a size limit.
    PayloadTooLarge,
    /// 415: the content type is not accepted.
    UnsupportedMediaType,
    /// 429: too many requests.
    RateLimited,
    /// 500: an internal error; details go to the log, never to the client.
    Internal,
    /// 503: the service is shutting down or not ready.
    Unavailable,
}

impl Code {
    /// The snake_case name used in error bodies.
    pub fn name(self) -> &'static str {
        match self {
            Code::ValidationFailed => "validation_failed",
            Code::InvalidJson => "invalid_json",
            Code::BadQuery => "bad_query",
            Code::Unauthenticated => "unauthenticated",
            Code::Forbidden => "forbidden",
            Code::NotFound => "not_found",
            Code::MethodNotAllowed => "method_not_allowed",
            Code::DuplicateKey => "duplicate_key",
            Code::AlreadyExists => "already_exists",
            Code::PayloadTooLarge => "payload_too_large",
            Code::UnsupportedMediaType => "unsupported_media_type",
            Code::RateLimited => "rate_limited",
            Code::Internal => "internal",
            Code::Unavailable => "unavailable",
        }
    }

    /// The HTTP status this code is answered with.
    pub fn http_status(self) -> u16 {
        match self {
            Code::ValidationFailed | Code::InvalidJson | Code::BadQuery => 400,
            Code::Unauthenticated => 401,
            Code::Forbidden => 403,
            Code::NotFound => 404,
            Code::MethodNotAllowed => 405,
            Code::DuplicateKey | Code::AlreadyExists => 409,
            Code::PayloadTooLarge => 413,
            Code::UnsupportedMediaType => 415,
            Code::RateLimited => 429,
            Code::Internal => 500,
            Code::Unavailable => 503,
        }
    }
}

/// Implemented by every crate's error type: which stable code the error answers with.
pub trait ErrorCode {
    /// The stable code of this error.
    fn code(&self) -> Code;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_names_match_name() {
        for c in [
            Code::ValidationFailed,
            Code::DuplicateKey,
            Code::Internal,
            Code::BadQuery,
        ] {
            let json = serde_json::to_value(c).expect("serializes");
            assert_eq!(json, serde_json::Value::String(c.name().to_string()));
        }
    }
}
