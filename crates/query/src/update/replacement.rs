//! Replacement-style updates: the whole document is replaced, keeping `_id`.
//!
//! A replacement has no `$`-prefixed top-level field (`DollarPrefixedFieldName` 52 otherwise;
//! nested `$`-prefixed and dotted fields are allowed, as in MongoDB 5.0+). The result keeps the
//! original `_id` as its first field; a replacement that carries a different `_id` is refused
//! with `ImmutableField` 66 and MongoDB's message "After applying the update, the (immutable)
//! field '_id' was found to have been altered to _id: 2".

use bson::{Bson, Document};

use super::render;
use crate::compare::values_equal;
use crate::error::{MongoCode, QueryError, Result};

/// Checks a replacement document.
pub(crate) fn parse_replacement(doc: &Document) -> Result<Document> {
    for k in doc.keys() {
        if k.starts_with('$') {
            return Err(QueryError::new(
                MongoCode::DollarPrefixedFieldName,
                format!(
                    "The dollar ($) prefixed field '{k}' in '{k}' is not allowed in the context of an update's replacement document. Consider using an aggregation pipeline with $replaceWith."
                ),
            ));
        }
    }
    Ok(doc.clone())
}

/// The replacement applied to `original`: `_id` first, from the original when it has one.
pub(crate) fn apply_replacement(original: &Document, replacement: &Document) -> Result<Document> {
    with_original_id(original, replacement.clone())
}

/// Puts the original `_id` first in `new`, refusing a changed `_id` (shared with pipeline
/// updates, whose result is also a replacement).
pub(crate) fn with_original_id(original: &Document, mut new: Document) -> Result<Document> {
    let id = match (original.get("_id"), new.remove("_id")) {
        (Some(old), Some(new_id)) => {
            if !values_equal(old, &new_id) {
                return Err(QueryError::new(
                    MongoCode::ImmutableField,
                    format!(
                        "After applying the update, the (immutable) field '_id' was found to have been altered to {}",
                        render::element("_id", &new_id)
                    ),
                ));
            }
            Some(old.clone())
        }
        (Some(old), None) => Some(old.clone()),
        (None, new_id) => new_id,
    };
    Ok(id_first(id, new))
}

/// `new` with `_id` (if any) as its first field.
pub(crate) fn id_first(id: Option<Bson>, rest: Document) -> Document {
    match id {
        None => rest,
        Some(id) => {
            let mut out = Document::new();
            out.insert("_id", id);
            for (k, v) in rest {
                if k != "_id" {
                    out.insert(k, v);
                }
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    #[test]
    fn keeps_id_first() {
        let out = apply_replacement(&doc! {"_id": 1, "a": 1}, &doc! {"b": 2}).expect("ok");
        assert_eq!(out, doc! {"_id": 1, "b": 2});
        assert_eq!(out.keys().next().map(String::as_str), Some("_id"));
        let out = apply_replacement(&doc! {"_id": 1}, &doc! {"b": 2, "_id": 1}).expect("ok");
        assert_eq!(out.keys().next().map(String::as_str), Some("_id"));
        let e = apply_replacement(&doc! {"_id": 1}, &doc! {"_id": 2}).expect_err("changed");
        assert_eq!(e.code, MongoCode::ImmutableField);
        assert!(parse_replacement(&doc! {"a": 1, "$set": {}}).is_err());
        assert!(parse_replacement(&doc! {"a": {"$b": 1}, "c.d": 1}).is_ok());
    }
}
