//! The HTTP side of the server: the error type shared by every endpoint ([`error`]).

pub mod error;

pub use error::{ApiError, FieldProblem};
