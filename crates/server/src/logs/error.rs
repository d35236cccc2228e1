//! [`LogError`]: why a request-log query failed, each with a stable snake_case code.

/// An error of the request-log API.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The project or environment name cannot name a log directory (empty or too long).
    #[error("invalid log namespace {name:?}: {reason}")]
    InvalidNamespace {
        /// The offending `project/env`.
        name: String,
        /// Why it is refused.
        reason: String,
    },
    /// The query could not be built from its parameters (see [`crate::logs::LogQuery`]).
    #[error("invalid log query: {0}")]
    InvalidQuery(String),
    /// Reading or writing the segment files failed; the message is for the server log only.
    #[error("request-log file error: {0}")]
    Io(#[from] std::io::Error),
}

impl LogError {
    /// The stable machine code of this error (CONTRACT §3 style).
    pub fn code(&self) -> &'static str {
        match self {
            LogError::InvalidNamespace { .. } => "invalid_log_namespace",
            LogError::InvalidQuery(_) => "validation_failed",
            LogError::Io(_) => "internal",
        }
    }

    /// Whether the caller's input caused the error (4xx) rather than the server (5xx).
    pub fn is_client_error(&self) -> bool {
        match self {
            LogError::InvalidNamespace { .. } | LogError::InvalidQuery(_) => true,
            LogError::Io(_) => false,
        }
    }
}
