//! The bridge between document writes and the secondary indexes of [`crate::index`].
//!
//! Every document write calls [`on_insert`] / [`on_remove`] / [`on_replace`] with the
//! collection's metadata so all of its secondary indexes stay in step with the data inside the
//! same atomic operation (a unique violation fails the operation, which then leaves nothing
//! written). [`check_document`] and [`check_entries`] verify that indexes and data agree.

use std::ops::Bound;

use bson::Document;

use crate::catalog::CollectionMeta;
use crate::error::Result;
use crate::index::maintain::MULTIKEY_MARKER;
use crate::index::{insert_entries, remove_entries, update_entries};
use crate::kv::{KvRead, KvWrite};
use crate::store::IntegrityReport;

/// Adds `doc`'s entries to every secondary index of the collection.
pub(crate) fn on_insert(
    kv: &mut dyn KvWrite,
    meta: &CollectionMeta,
    doc: &Document,
    pk: &[u8],
) -> Result<()> {
    let ns = meta.ns();
    for (table, def) in &meta.defs {
        insert_entries(kv, table, &ns, def, doc, pk)?;
    }
    Ok(())
}

/// Removes `doc`'s entries from every secondary index of the collection.
pub(crate) fn on_remove(
    kv: &mut dyn KvWrite,
    meta: &CollectionMeta,
    doc: &Document,
    pk: &[u8],
) -> Result<()> {
    for (table, def) in &meta.defs {
        remove_entries(kv, table, def, doc, pk)?;
    }
    Ok(())
}

/// Moves the entries of `old` to those of `new` (same primary key) in every index.
pub(crate) fn on_replace(
    kv: &mut dyn KvWrite,
    meta: &CollectionMeta,
    old: &Document,
    new: &Document,
    pk: &[u8],
) -> Result<()> {
    let ns = meta.ns();
    for (table, def) in &meta.defs {
        update_entries(kv, table, &ns, def, old, new, pk)?;
    }
    Ok(())
}

fn entry_key(key: &[u8], pk: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(key.len() + pk.len());
    k.extend_from_slice(key);
    k.extend_from_slice(pk);
    k
}

/// Integrity: `doc` (stored under `pk`) has every entry it should have in every index.
pub(crate) fn check_document(
    kv: &dyn KvRead,
    meta: &CollectionMeta,
    doc: &Document,
    pk: &[u8],
    report: &mut IntegrityReport,
) -> Result<()> {
    for (table, def) in &meta.defs {
        let keys = match def.keys(doc) {
            Ok(k) => k,
            Err(e) => {
                report.problems.push(format!(
                    "{}: stored document cannot be indexed by {}: {e}",
                    meta.ns(),
                    def.name()
                ));
                continue;
            }
        };
        for key in keys.keys.keys() {
            match kv.get(table, &entry_key(key, pk))? {
                Some(v) if v == pk => {}
                _ => report.problems.push(format!(
                    "{}: index {} lacks an entry of document {:?}",
                    meta.ns(),
                    def.name(),
                    doc.get("_id")
                )),
            }
        }
    }
    Ok(())
}

/// Integrity: every index entry points to an existing document that produces that entry.
pub(crate) fn check_entries(
    kv: &dyn KvRead,
    meta: &CollectionMeta,
    report: &mut IntegrityReport,
) -> Result<()> {
    let docs_table = meta.docs_table();
    for (table, def) in &meta.defs {
        for pair in kv.range(table, Bound::Unbounded, Bound::Unbounded, false)? {
            let (k, pk) = pair?;
            if k == MULTIKEY_MARKER {
                continue;
            }
            report.index_entries += 1;
            let Some(raw) = kv.get(&docs_table, &pk)? else {
                report.problems.push(format!(
                    "{}: index {} has an entry for a missing document",
                    meta.ns(),
                    def.name()
                ));
                continue;
            };
            let doc = crate::crud::decode(&docs_table, &raw)?;
            let produces = def
                .keys(&doc)
                .map(|keys| keys.keys.keys().any(|key| entry_key(key, &pk) == k))
                .unwrap_or(false);
            if !produces {
                report.problems.push(format!(
                    "{}: index {} has a stale entry for document {:?}",
                    meta.ns(),
                    def.name(),
                    doc.get("_id")
                ));
            }
        }
    }
    Ok(())
}
