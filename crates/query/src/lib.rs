//! The MongoDB query language, pure and synchronous.
//!
//! - [`filter`]: query filters and matching.
//! - [`update`]: update operators, replacements, pipeline updates.
//! - [`projection`], [`sort`]: shaping and ordering of `find` results.
//! - [`expr`]: aggregation expressions (shared with the flow language CQL).
//! - [`pipeline`]: aggregation stages.
//! - [`compare`]: MongoDB's total order over BSON values.
//!
//! Values are [`bson::Bson`]; documents keep their key order. Errors carry MongoDB's codes
//! ([`error::MongoCode`]). Limits are named constants in [`limits`].

pub mod compare;
pub mod ejson;
pub mod error;
pub mod expr;
pub mod filter;
pub mod limits;
pub mod pipeline;
pub mod projection;
pub mod raw;
pub mod sort;
pub mod update;

pub use error::{MongoCode, QueryError, Result};
