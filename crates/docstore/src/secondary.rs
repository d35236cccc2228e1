//! The bridge between document writes and the secondary indexes of `crate::index`.
//!
//! Every document write calls [`on_insert`] / [`on_remove`] with the collection's metadata so
//! all of its secondary indexes stay in step with the data inside the same atomic operation.
//! The index module (key encoding, entry extraction, unique checks) is developed on its own
//! branch; until it lands here, a collection cannot have secondary indexes (create_index
//! refuses), so these functions only have to handle the `_id`-only case — and they fail
//! loudly rather than silently skipping an index they cannot maintain.

use bson::Document;

use crate::catalog::CollectionMeta;
use crate::error::{DocstoreError, Result};
use crate::kv::{KvRead, KvWrite};
use crate::store::IntegrityReport;

fn unsupported(meta: &CollectionMeta) -> DocstoreError {
    DocstoreError::CannotCreateIndex {
        message: format!(
            "collection {} has secondary indexes but this build has no index module",
            meta.ns()
        ),
    }
}

/// Adds `doc`'s entries to every secondary index of the collection.
pub(crate) fn on_insert(
    _kv: &mut dyn KvWrite,
    meta: &CollectionMeta,
    _doc: &Document,
    _pk: &[u8],
) -> Result<()> {
    if meta.indexes.is_empty() {
        Ok(())
    } else {
        Err(unsupported(meta))
    }
}

/// Removes `doc`'s entries from every secondary index of the collection.
pub(crate) fn on_remove(
    _kv: &mut dyn KvWrite,
    meta: &CollectionMeta,
    _doc: &Document,
    _pk: &[u8],
) -> Result<()> {
    if meta.indexes.is_empty() {
        Ok(())
    } else {
        Err(unsupported(meta))
    }
}

/// Integrity: `doc` has all of its index entries.
pub(crate) fn check_document(
    _kv: &dyn KvRead,
    meta: &CollectionMeta,
    _doc: &Document,
    _pk: &[u8],
    report: &mut IntegrityReport,
) -> Result<()> {
    if !meta.indexes.is_empty() {
        report
            .problems
            .push(format!("{}: cannot verify secondary indexes", meta.ns()));
    }
    Ok(())
}

/// Integrity: every index entry points to an existing document with that key.
pub(crate) fn check_entries(
    _kv: &dyn KvRead,
    _meta: &CollectionMeta,
    _report: &mut IntegrityReport,
) -> Result<()> {
    Ok(())
}
