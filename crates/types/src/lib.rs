//! Shared vocabulary of Stratus: the stable error-code table every crate maps its errors onto.
//!
//! This crate is a leaf: no I/O, no async runtime, no HTTP framework. Anything here is part of
//! the external contract (CONTRACT §3) — renaming a code is a breaking change.

pub mod error;

pub use error::{Code, ErrorCode};
