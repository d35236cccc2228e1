//! Named limits of the query language. Each is a default that callers may override through
//! [`Limits`]; documents and pipelines beyond them are refused with a clear error.

/// Maximum BSON document size (MongoDB's 16 MiB).
pub const MAX_DOCUMENT_SIZE: usize = 16 * 1024 * 1024;
/// Maximum nesting depth of a filter, update, projection or expression.
pub const MAX_NESTING_DEPTH: usize = 100;
/// Maximum number of stages in an aggregation pipeline (MongoDB: 1000).
pub const MAX_PIPELINE_LENGTH: usize = 1000;
/// Maximum number of elements `$push`/`$addToSet` accumulators may collect per group, in bytes
/// of BSON (MongoDB caps group memory at 100 MiB without `allowDiskUse`).
pub const MAX_GROUP_MEMORY: usize = 100 * 1024 * 1024;

/// Limits in force for one parse or evaluation; defaults are the constants above.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// See [`MAX_DOCUMENT_SIZE`].
    pub max_document_size: usize,
    /// See [`MAX_NESTING_DEPTH`].
    pub max_nesting_depth: usize,
    /// See [`MAX_PIPELINE_LENGTH`].
    pub max_pipeline_length: usize,
    /// See [`MAX_GROUP_MEMORY`].
    pub max_group_memory: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_document_size: MAX_DOCUMENT_SIZE,
            max_nesting_depth: MAX_NESTING_DEPTH,
            max_pipeline_length: MAX_PIPELINE_LENGTH,
            max_group_memory: MAX_GROUP_MEMORY,
        }
    }
}
