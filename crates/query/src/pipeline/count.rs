//! `$count`: one document `{<field>: n}` with the number of input documents (none when the
//! input is empty, as MongoDB's `$group`-based implementation does).

use bson::{Bson, Document};

use super::util::count_value;
use crate::error::{QueryError, Result};

/// Parses the `$count` argument: a non-empty string (40156) not starting with `$` (40158) and
/// without `.` (40160).
pub(crate) fn parse_count(spec: &Bson) -> Result<String> {
    let Bson::String(s) = spec else {
        return Err(QueryError::location(
            40156,
            "the count field must be a non-empty string",
        ));
    };
    if s.is_empty() {
        return Err(QueryError::location(
            40156,
            "the count field must be a non-empty string",
        ));
    }
    if s.starts_with('$') {
        return Err(QueryError::location(
            40158,
            "the count field cannot be a $-prefixed path",
        ));
    }
    if s.contains('.') {
        return Err(QueryError::location(
            40160,
            "the count field cannot contain '.'",
        ));
    }
    Ok(s.clone())
}

/// Counts the input.
pub(crate) fn apply_count(docs: Vec<Document>, field: &str) -> Vec<Document> {
    if docs.is_empty() {
        return Vec::new();
    }
    let mut d = Document::new();
    d.insert(field, count_value(docs.len()));
    vec![d]
}
