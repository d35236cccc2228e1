//! Query filters (`{"a.b": {"$gt": 1}, "$or": [...]}`): parsing into a typed tree and matching
//! documents with MongoDB's semantics (dotted paths through arrays, any-element matching,
//! null-vs-missing, BSON comparison order).

use bson::Document;

use crate::error::{QueryError, Result};

/// A parsed filter.
#[derive(Debug, Clone)]
pub struct Filter {
    _private: (),
}

/// Extra facts a successful match reports (for the positional `$` update/projection operator).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MatchDetails {
    /// The array index of the element that satisfied the query on the first array on the
    /// matched path, if any.
    pub elem_match_index: Option<usize>,
}

impl Filter {
    /// Parses a filter document.
    pub fn parse(_filter: &Document) -> Result<Filter> {
        Err(QueryError::failed_to_parse(
            "filters are not implemented yet",
        ))
    }

    /// Whether `doc` matches.
    pub fn matches(&self, _doc: &Document) -> bool {
        false
    }
}
