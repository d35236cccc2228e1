//! `delete_one` / `delete_many`: remove matching documents atomically (all or nothing), with
//! their index entries, stats and change events.

use bson::Document;

use crate::catalog;
use crate::crud::{matching_docs, remove_doc, validate_filter};
use crate::error::Result;
use crate::store::Store;
use crate::writer::WriteCtx;

impl Store {
    /// Deletes the first document matching `filter`; returns how many were deleted (0 or 1).
    pub fn delete_one(&self, db: &str, coll: &str, filter: Document) -> Result<u64> {
        self.delete(db, coll, filter, Some(1))
    }

    /// Deletes every document matching `filter`; returns how many were deleted.
    pub fn delete_many(&self, db: &str, coll: &str, filter: Document) -> Result<u64> {
        self.delete(db, coll, filter, None)
    }

    fn delete(&self, db: &str, coll: &str, filter: Document, limit: Option<usize>) -> Result<u64> {
        // Parse errors surface even for a missing collection.
        validate_filter(&filter)?;
        let (db, coll) = (db.to_string(), coll.to_string());
        self.write(move |ctx| delete_in(ctx, &db, &coll, &filter, limit))
    }
}

/// Deletes up to `limit` documents matching `filter` inside a write operation.
pub(crate) fn delete_in(
    ctx: &mut WriteCtx<'_>,
    db: &str,
    coll: &str,
    filter: &Document,
    limit: Option<usize>,
) -> Result<u64> {
    let Some(meta) = catalog::get(ctx.kv, db, coll)? else {
        return Ok(0);
    };
    let victims = matching_docs(ctx.kv, &meta, filter, limit)?;
    for (pk, size, doc) in &victims {
        remove_doc(ctx, &meta, doc, pk, *size)?;
    }
    Ok(victims.len() as u64)
}
