//! Secondary indexes: the order-preserving key encoding, index specifications, key extraction,
//! index maintenance, the query planner and its explain output.
//!
//! - [`keycodec`]: BSON values to bytes whose byte order is MongoDB's BSON order; `encode_id`
//!   is the primary-key encoding of the document table.

pub mod keycodec;

pub use keycodec::{Direction, encode_id};
