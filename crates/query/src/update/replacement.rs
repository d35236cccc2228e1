//! Replacement-style updates: the whole document is replaced, keeping `_id`.
//!
//! A replacement has no `$`-prefixed top-level field (`DollarPrefixedFieldName` 52 otherwise;
//! nested `$`-prefixed and dotted fields are allowed, as in MongoDB 5.0+). As in mongod's
//! replacement executor: a replacement without `_id` keeps the original `_id` (first, since
//! every other field is replaced); a replacement with `_id` is stored as given, field order
//! included, but its `_id` must equal the original (`ImmutableField` 66, "After applying the
//! update, the (immutable) field '_id' was found to have been altered to _id: 2"). The
//! document counts as modified unless the replacement is bit-identical to the original
//! (so replacing `{_id: 1, a: 1}` with `{a: 1}` is a modification, as on mongod).

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
/// Returns the new document and whether it counts as modified.
pub(crate) fn apply_replacement(
    original: &Document,
    replacement: &Document,
) -> Result<(Document, bool)> {
    let modified = !super::apply::identical_docs(original, replacement);
    Ok((with_original_id(original, replacement.clone())?, modified))
}

/// Puts the original `_id` first in `new`, refusing a changed `_id` (shared with pipeline
/// updates, whose result is also a replacement).
pub(crate) fn with_original_id(original: &Document, new: Document) -> Result<Document> {
    match (original.get("_id"), new.get("_id")) {
        (Some(old), Some(new_id)) => {
            if !values_equal(old, new_id) {
                return Err(QueryError::new(
                    MongoCode::ImmutableField,
                    format!(
                        "After applying the update, the (immutable) field '_id' was found to have been altered to {}",
                        render::element("_id", new_id)
                    ),
                ));
            }
            Ok(new)
        }
        (Some(old), None) => Ok(id_first(Some(old.clone()), new)),
        (None, _) => Ok(new),
    }
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
        let (out, modified) =
            apply_replacement(&doc! {"_id": 1, "a": 1}, &doc! {"b": 2}).expect("ok");
        assert_eq!(out, doc! {"_id": 1, "b": 2});
        assert!(modified);
        assert_eq!(out.keys().next().map(String::as_str), Some("_id"));
        let (out, _) = apply_replacement(&doc! {"_id": 1}, &doc! {"b": 2, "_id": 1}).expect("ok");
        assert_eq!(out.keys().next().map(String::as_str), Some("b"));
        let (_, modified) =
            apply_replacement(&doc! {"_id": 1, "a": 1}, &doc! {"_id": 1, "a": 1}).expect("ok");
        assert!(!modified);
        let e = apply_replacement(&doc! {"_id": 1}, &doc! {"_id": 2}).expect_err("changed");
        assert_eq!(e.code, MongoCode::ImmutableField);
        assert!(parse_replacement(&doc! {"a": 1, "$set": {}}).is_err());
        assert!(parse_replacement(&doc! {"a": {"$b": 1}, "c.d": 1}).is_ok());
    }
}
