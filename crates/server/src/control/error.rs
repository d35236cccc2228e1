//! [`ControlError`], the one error type of the control plane, and its routing to the stable
//! error codes (CONTRACT §3) and to [`ApiError`].
//!
//! Invariants: every variant maps to a [`Code`] through an exhaustive `match` (a new variant
//! does not compile until routed); details never carry a password, token, key or secret value;
//! internal causes go to the log only (through [`ApiError::internal`]).

use stratus_auth::AuthError;
use stratus_docstore::DocstoreError;
use stratus_types::{Code, ErrorCode};

use crate::http::{ApiError, FieldProblem};

/// Every way a control-plane operation can fail.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// Authentication or authorisation failed (401/403/404/429, see [`AuthError`]).
    #[error("auth: {0}")]
    Auth(#[from] AuthError),
    /// The resource does not exist (or is not visible to the caller).
    #[error("not found: {0}")]
    NotFound(String),
    /// Input failed validation; one problem per field.
    #[error("invalid input")]
    Invalid(Vec<FieldProblem>),
    /// The resource already exists.
    #[error("already exists: {0}")]
    AlreadyExists(String),
    /// The operation is not allowed for this caller in this state (e.g. API keys have no
    /// account).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The deployer refused the definition; the list holds `{file?, path, code, message}`.
    #[error("deployment failed")]
    DeployFailed(Vec<serde_json::Value>),
    /// The document store failed.
    #[error("store: {0}")]
    Store(#[from] DocstoreError),
    /// Anything else internal (I/O, corrupt stored data); the message is for the log only.
    #[error("internal: {0}")]
    Internal(String),
}

impl ControlError {
    /// A `validation_failed` for one body field.
    pub fn field(field: &str, msg: impl Into<String>, kind: &str) -> Self {
        ControlError::Invalid(vec![FieldProblem {
            loc: vec!["body".into(), field.into()],
            msg: msg.into(),
            kind: kind.to_string(),
        }])
    }

    /// A `validation_failed` for one path parameter.
    pub fn path(param: &str, msg: impl Into<String>) -> Self {
        ControlError::Invalid(vec![FieldProblem {
            loc: vec!["path".into(), param.into()],
            msg: msg.into(),
            kind: "value_error".to_string(),
        }])
    }

    /// A `not_found` naming what is missing.
    pub fn not_found(what: impl Into<String>) -> Self {
        ControlError::NotFound(what.into())
    }

    /// An internal error with a cause for the log.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ControlError::Internal(cause.to_string())
    }
}

impl ErrorCode for ControlError {
    fn code(&self) -> Code {
        match self {
            ControlError::Auth(e) => e.code(),
            ControlError::NotFound(_) => Code::NotFound,
            ControlError::Invalid(_) | ControlError::DeployFailed(_) => Code::ValidationFailed,
            ControlError::AlreadyExists(_) => Code::AlreadyExists,
            ControlError::Forbidden(_) => Code::Forbidden,
            ControlError::Store(e) => match e.code() {
                Code::DuplicateKey => Code::DuplicateKey,
                Code::ValidationFailed
                | Code::InvalidJson
                | Code::BadQuery
                | Code::Unauthenticated
                | Code::Forbidden
                | Code::NotFound
                | Code::MethodNotAllowed
                | Code::AlreadyExists
                | Code::PayloadTooLarge
                | Code::UnsupportedMediaType
                | Code::RateLimited
                | Code::Internal
                | Code::Unavailable => Code::Internal,
            },
            ControlError::Internal(_) => Code::Internal,
        }
    }
}

impl From<ControlError> for ApiError {
    fn from(e: ControlError) -> ApiError {
        let code = e.code();
        match e {
            ControlError::Auth(a) => {
                let mut err = ApiError::new(code, a.detail());
                if let Some(challenge) = a.www_authenticate() {
                    err = err.with_header(axum::http::header::WWW_AUTHENTICATE, challenge);
                }
                if let AuthError::RateLimited { retry_after_secs } = a {
                    err = err.with_header(
                        axum::http::header::RETRY_AFTER,
                        retry_after_secs.to_string(),
                    );
                }
                if let AuthError::Internal(cause) = &a {
                    return ApiError::internal(cause);
                }
                err
            }
            ControlError::NotFound(what) => ApiError::not_found(what),
            ControlError::Invalid(problems) => ApiError::validation(problems),
            ControlError::AlreadyExists(what) => ApiError::new(code, what),
            ControlError::Forbidden(why) => ApiError::forbidden(why),
            ControlError::DeployFailed(errors) => {
                let mut err = ApiError::new(code, "");
                err.detail = serde_json::Value::Array(errors);
                err
            }
            ControlError::Store(s) if code == Code::DuplicateKey => {
                tracing::debug!(cause = %s, "duplicate key in the control plane");
                ApiError::new(code, "a resource with this name already exists")
            }
            ControlError::Store(s) => ApiError::internal(s),
            ControlError::Internal(cause) => ApiError::internal(cause),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_contract() {
        let cases: Vec<(ControlError, u16, &str)> = vec![
            (AuthError::MissingToken.into(), 401, "unauthenticated"),
            (AuthError::NotFound.into(), 404, "not_found"),
            (
                AuthError::Forbidden {
                    permission: "deploy",
                }
                .into(),
                403,
                "forbidden",
            ),
            (
                AuthError::RateLimited {
                    retry_after_secs: 9,
                }
                .into(),
                429,
                "rate_limited",
            ),
            (ControlError::not_found("project x"), 404, "not_found"),
            (
                ControlError::field("name", "bad", "value_error"),
                400,
                "validation_failed",
            ),
            (
                ControlError::AlreadyExists("x".into()),
                409,
                "already_exists",
            ),
            (ControlError::DeployFailed(vec![]), 400, "validation_failed"),
            (ControlError::internal("disk /x"), 500, "internal"),
        ];
        for (err, status, code) in cases {
            let api: ApiError = err.into();
            assert_eq!(api.status.as_u16(), status, "{api}");
            assert_eq!(api.code, code);
            assert!(!api.body().to_string().contains("/x"));
        }
        let api: ApiError = ControlError::from(AuthError::Expired).into();
        assert!(
            api.headers
                .iter()
                .any(|(n, v)| n == axum::http::header::WWW_AUTHENTICATE && v.starts_with("Bearer"))
        );
    }
}
