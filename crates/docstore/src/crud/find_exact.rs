//! `find` for a `{field: value}` filter that one single-field index answers exactly
//! ([`crate::index::exact_equality`]): the most common indexed query, read without building a
//! plan or an iterator stack. The value's index entries are read in one range scan; the
//! documents behind them through one getter, from inside the scan, without copying the
//! primary keys.
//!
//! Same results, order and cursor behaviour as the general path (`find`'s plan through
//! `collect_ordered`), which a differential test checks: every entry of the range matches, so
//! `skip` passes over entries without reading their documents, and `limit` stops the scan.
//! Results of at most [`SMALL_RESULT_LIMIT`] documents are handed out from the bytes read;
//! a larger result keeps only its primary keys (read in a second scan of the same snapshot)
//! and reads the documents batch by batch.

use std::ops::Bound;

use stratus_query::{MongoCode, QueryError};

use crate::crud::find::{SMALL_RESULT_LIMIT, first_capacity};
use crate::cursor::Cursor;
use crate::error::{DocstoreError, Result};
use crate::index::ExactEquality;
use crate::kv::Snapshot;

/// The cursor of an exact single-index equality (see the module docs) over `docs_table`.
pub(crate) fn find_exact(
    snapshot: Snapshot,
    docs_table: &str,
    probe: &ExactEquality<'_>,
    skip: u64,
    limit: Option<u64>,
    batch_size: Option<usize>,
) -> Result<Cursor> {
    if limit == Some(0) {
        return Ok(Cursor::from_raw(
            docs_table.to_string(),
            Vec::new(),
            batch_size,
        ));
    }
    let hi = match &probe.hi {
        Some(h) => Bound::Excluded(h.as_slice()),
        None => Bound::Unbounded,
    };
    let lo = Bound::Included(probe.lo.as_slice());
    let wanted = limit.unwrap_or(u64::MAX);
    let mut raws: Vec<Vec<u8>> = Vec::with_capacity(first_capacity(limit));
    let mut failed: Option<DocstoreError> = None;
    let mut overflow = false;
    {
        let mut docs = snapshot.getter(docs_table)?;
        let mut skipper = Skipper(skip);
        let mut taken = 0u64;
        snapshot.scan(probe.table, lo, hi, false, &mut |key, pk| {
            if skipper.passes_over(key) {
                return true;
            }
            if taken as usize >= SMALL_RESULT_LIMIT as usize {
                overflow = true;
                return false;
            }
            match docs.get(pk) {
                Ok(Some(raw)) => raws.push(raw),
                Ok(None) => {
                    failed = Some(missing_document(probe.table, docs_table));
                    return false;
                }
                Err(e) => {
                    failed = Some(e.into());
                    return false;
                }
            }
            taken += 1;
            taken < wanted
        })?;
    }
    if let Some(e) = failed {
        return Err(e);
    }
    if !overflow {
        return Ok(Cursor::from_raw(docs_table.to_string(), raws, batch_size));
    }
    // More than SMALL_RESULT_LIMIT results: keep the keys, read the documents per batch.
    drop(raws);
    let mut pks: Vec<Vec<u8>> = Vec::new();
    let mut skipper = Skipper(skip);
    snapshot.scan(probe.table, lo, hi, false, &mut |key, pk| {
        if skipper.passes_over(key) {
            return true;
        }
        pks.push(pk.to_vec());
        (pks.len() as u64) < wanted
    })?;
    Ok(Cursor::keys(
        snapshot,
        docs_table.to_string(),
        pks,
        batch_size,
    ))
}

/// Counts down `skip` over the index range's entries.
struct Skipper(u64);

impl Skipper {
    /// Whether the scan passes over the entry with index key `key`: the multikey marker (the
    /// empty key, not an entry), or one of the first `skip` entries.
    fn passes_over(&mut self, key: &[u8]) -> bool {
        if key.is_empty() {
            return true;
        }
        if self.0 > 0 {
            self.0 -= 1;
            return true;
        }
        false
    }
}

/// The error of an index entry whose document is missing (the index disagrees with the data;
/// the same error as the general path's).
fn missing_document(index_table: &str, docs_table: &str) -> DocstoreError {
    QueryError::new(
        MongoCode::InternalError,
        format!("index table {index_table} has an entry for a document missing from {docs_table}"),
    )
    .into()
}
