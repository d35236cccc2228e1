//! Secondary indexes: the order-preserving key encoding, index specifications, key extraction,
//! index maintenance, the query planner, plan execution and explain output.
//!
//! - [`keycodec`]: BSON values to bytes whose byte order is MongoDB's BSON order; `encode_id`
//!   is the primary-key encoding of the document table.
//! - [`spec`]: `createIndexes` specifications, validation, names, conflicts.
//! - [`keys`]: compiled [`IndexDef`]s and key extraction (dotted paths, multikey, sparse,
//!   partial).
//! - [`maintain`]: index entries (`key ++ pk → pk`), unique checks, index builds.
//! - [`bounds`], [`planner`]: index bounds from filters and the choice of an access path
//!   (`eq_plan`: the planner's shortcut for `{field: value}`).
//! - [`exec`]: candidates `(pk, raw doc)` of a plan; [`explain`]: MongoDB-shaped explain.
//!
//! Errors are [`stratus_query::error::QueryError`]s with MongoDB's codes; storage failures map
//! to InternalError (1).

pub mod bounds;
mod eq_plan;
pub mod exec;
pub mod explain;
pub mod keycodec;
pub mod keys;
pub mod maintain;
pub mod planner;
pub mod spec;

pub use eq_plan::{ExactEquality, exact_equality};
pub use exec::{Candidates, execute, execute_expecting};
pub use explain::explain;
pub use keycodec::{Direction, encode_id};
pub use keys::{DocKeys, IndexDef};
pub use maintain::{
    build_index, build_index_from_table, insert_entries, is_multikey, refresh_multikey,
    remove_entries, update_entries,
};
pub use planner::{Access, IndexScan, Plan, plan};
pub use spec::IndexSpec;
