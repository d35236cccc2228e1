//! Errors of the flow engine: validation errors (with the JSON path of the offending input)
//! and run errors (with a stable snake_case code, an HTTP status and the failing node).
//!
//! Invariant: run-error messages never contain secret values — the executor redacts them
//! before an error leaves a run (see [`crate::exec`]).

use std::fmt;

use serde::Serialize;
use stratus_types::{Code, ErrorCode};

/// One problem found while validating or compiling a flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidationError {
    /// JSON path of the offending input, e.g. `[2].then[0].value` (empty for the flow itself).
    pub path: String,
    /// What is wrong, naming the field or node type.
    pub message: String,
}

impl ValidationError {
    /// An error at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ValidationError {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Stable machine codes of failed runs (part of the external contract: renaming one is a
/// breaking change).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunErrorCode {
    /// The flow finished without reaching an `httpResponse` node (500).
    FlowEndedWithoutResponse,
    /// A loop ran more iterations than allowed (500).
    LoopLimitExceeded,
    /// The run executed more nodes than the step budget allows (500).
    StepLimitExceeded,
    /// The run took longer than its wall-clock budget (504).
    FlowTimeout,
    /// The response body is larger than the response-size budget (500).
    ResponseTooLarge,
    /// Sub-flows nested deeper than allowed (500).
    SubflowDepthExceeded,
    /// A node failed while evaluating its inputs or doing its work (500).
    NodeFailed,
    /// A sub-flow argument was missing or had the wrong type (500: the calling flow is wrong).
    InvalidArgument,
    /// A unique index refused a write (409).
    DuplicateKey,
    /// The database refused the operation (400 for a bad query, 500 otherwise).
    DatabaseError,
    /// An outbound call was refused by the address policy (500).
    OutboundAddressRefused,
    /// An outbound call failed: connection error, timeout, too large a response (502).
    UpstreamFailed,
    /// The node kind needs a service this server was started without (500).
    ServiceUnavailable,
}

impl RunErrorCode {
    /// The snake_case name used in error bodies.
    pub fn name(self) -> &'static str {
        match self {
            RunErrorCode::FlowEndedWithoutResponse => "flow_ended_without_response",
            RunErrorCode::LoopLimitExceeded => "loop_limit_exceeded",
            RunErrorCode::StepLimitExceeded => "step_limit_exceeded",
            RunErrorCode::FlowTimeout => "flow_timeout",
            RunErrorCode::ResponseTooLarge => "response_too_large",
            RunErrorCode::SubflowDepthExceeded => "subflow_depth_exceeded",
            RunErrorCode::NodeFailed => "node_failed",
            RunErrorCode::InvalidArgument => "invalid_argument",
            RunErrorCode::DuplicateKey => "duplicate_key",
            RunErrorCode::DatabaseError => "database_error",
            RunErrorCode::OutboundAddressRefused => "outbound_address_refused",
            RunErrorCode::UpstreamFailed => "upstream_failed",
            RunErrorCode::ServiceUnavailable => "service_unavailable",
        }
    }

    /// The HTTP status a run failing with this code answers with.
    pub fn http_status(self) -> u16 {
        match self {
            RunErrorCode::DuplicateKey => 409,
            RunErrorCode::FlowTimeout => 504,
            RunErrorCode::UpstreamFailed => 502,
            RunErrorCode::FlowEndedWithoutResponse
            | RunErrorCode::LoopLimitExceeded
            | RunErrorCode::StepLimitExceeded
            | RunErrorCode::ResponseTooLarge
            | RunErrorCode::SubflowDepthExceeded
            | RunErrorCode::NodeFailed
            | RunErrorCode::InvalidArgument
            | RunErrorCode::DatabaseError
            | RunErrorCode::OutboundAddressRefused
            | RunErrorCode::ServiceUnavailable => 500,
        }
    }
}

/// A failed run (or a failed node inside a run).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}: {message}", code.name())]
pub struct RunError {
    /// Stable machine code.
    pub code: RunErrorCode,
    /// Human-readable cause (secrets redacted).
    pub message: String,
    /// Name of the node that failed, if any.
    pub node: Option<String>,
    /// Overrides the code's default HTTP status (e.g. 400 for a malformed user query).
    pub status: Option<u16>,
}

/// Result alias of this crate's run-time functions.
pub type Result<T, E = RunError> = std::result::Result<T, E>;

impl RunError {
    /// An error with the given code and message.
    pub fn new(code: RunErrorCode, message: impl Into<String>) -> Self {
        RunError {
            code,
            message: message.into(),
            node: None,
            status: None,
        }
    }

    /// A node failure (`node_failed`).
    pub fn node_failed(message: impl Into<String>) -> Self {
        Self::new(RunErrorCode::NodeFailed, message)
    }

    /// The HTTP status to answer with.
    pub fn http_status(&self) -> u16 {
        self.status.unwrap_or_else(|| self.code.http_status())
    }

    /// Attaches the failing node's name unless one is set already (the innermost wins).
    pub fn at_node(mut self, name: &str) -> Self {
        if self.node.is_none() {
            self.node = Some(name.to_string());
        }
        self
    }
}

impl From<stratus_query::QueryError> for RunError {
    fn from(e: stratus_query::QueryError) -> Self {
        RunError::node_failed(format!(
            "{} (code {} {})",
            e.message,
            e.code.code(),
            e.code.name()
        ))
    }
}

impl ErrorCode for RunError {
    fn code(&self) -> Code {
        match self.code {
            RunErrorCode::DuplicateKey => Code::DuplicateKey,
            RunErrorCode::DatabaseError if self.status == Some(400) => Code::BadQuery,
            RunErrorCode::FlowEndedWithoutResponse
            | RunErrorCode::LoopLimitExceeded
            | RunErrorCode::StepLimitExceeded
            | RunErrorCode::FlowTimeout
            | RunErrorCode::ResponseTooLarge
            | RunErrorCode::SubflowDepthExceeded
            | RunErrorCode::NodeFailed
            | RunErrorCode::InvalidArgument
            | RunErrorCode::DatabaseError
            | RunErrorCode::OutboundAddressRefused
            | RunErrorCode::UpstreamFailed
            | RunErrorCode::ServiceUnavailable => Code::Internal,
        }
    }
}
