//! Index maintenance: writing and removing a document's entries, unique checks, and building
//! an index over existing documents.
//!
//! Entry layout in an index table: key = encoded index key ++ primary key, value = primary
//! key. Non-unique duplicates therefore coexist, and a document's entries can be found again
//! from the document. The empty key is reserved for the multikey marker (see [`is_multikey`]);
//! no entry key is empty because every encoded component is at least one byte.
//!
//! Unique indexes: a key may not appear with two different primary keys (error 11000
//! DuplicateKey, message as MongoDB's "E11000 duplicate key error collection: db.coll index:
//! name_1 dup key: { name: "x" }"). Equal keys from one document (multikey) are one entry.

use std::ops::Bound;

use bson::{Bson, Document};
use stratus_query::error::{MongoCode, QueryError, Result};

use super::keycodec::prefix_successor;
use super::keys::{DocKeys, IndexDef};
use crate::kv::{KvError, KvRead, KvWrite};

/// Key of the marker entry recording that an index table is multikey.
pub const MULTIKEY_MARKER: &[u8] = b"";

/// Documents read per batch when building an index from a document table.
pub const BUILD_BATCH_DOCUMENTS: usize = 1024;

/// Maps a storage error into the query error type (InternalError, 1).
pub fn storage_error(e: KvError) -> QueryError {
    QueryError::new(MongoCode::InternalError, e.to_string())
}

/// Whether the index stored in `table` has ever indexed an array (its multikey marker).
pub fn is_multikey(kv: &dyn KvRead, table: &str) -> Result<bool> {
    Ok(kv
        .get(table, MULTIKEY_MARKER)
        .map_err(storage_error)?
        .is_some())
}

/// Sets [`IndexDef::multikey`] of every `(table, definition)` from its table's marker, so the
/// planner can intersect range bounds and use non-multikey indexes for sorting. One `get` per
/// index; call it on the read snapshot the query will run against.
pub fn refresh_multikey(kv: &dyn KvRead, indexes: &mut [(String, IndexDef)]) -> Result<()> {
    for (table, def) in indexes.iter_mut() {
        def.multikey = !def.is_id() && is_multikey(kv, table)?;
    }
    Ok(())
}

/// Formats a key value the way MongoDB's duplicate-key messages do (`"x"`, `1`, `null`).
fn shell_value(v: &Bson) -> String {
    match v {
        Bson::String(s) => format!("{s:?}"),
        Bson::ObjectId(o) => format!("ObjectId('{o}')"),
        Bson::Null => "null".to_string(),
        Bson::Undefined => "undefined".to_string(),
        Bson::Document(d) => {
            let fields: Vec<String> = d
                .iter()
                .map(|(k, v)| format!("{k}: {}", shell_value(v)))
                .collect();
            if fields.is_empty() {
                "{}".to_string()
            } else {
                format!("{{ {} }}", fields.join(", "))
            }
        }
        Bson::Array(items) => {
            let parts: Vec<String> = items.iter().map(shell_value).collect();
            format!("[ {} ]", parts.join(", "))
        }
        other => other.to_string(),
    }
}

/// The DuplicateKey (11000) error for `values` (one per key-pattern field) of index `def` in
/// namespace `ns` (`db.collection`).
pub fn duplicate_key_error(ns: &str, def: &IndexDef, values: &[Bson]) -> QueryError {
    let fields: Vec<String> = def
        .fields
        .iter()
        .zip(values)
        .map(|(f, v)| format!("{}: {}", f.path, shell_value(v)))
        .collect();
    QueryError::new(
        MongoCode::DuplicateKey,
        format!(
            "E11000 duplicate key error collection: {ns} index: {} dup key: {{ {} }}",
            def.name(),
            fields.join(", ")
        ),
    )
}

/// The primary key of an existing entry for index key `key` other than `pk`, if any.
fn other_owner(kv: &dyn KvRead, table: &str, key: &[u8], pk: &[u8]) -> Result<Option<Vec<u8>>> {
    let hi = prefix_successor(key);
    let hi_bound = match &hi {
        Some(h) => Bound::Excluded(h.as_slice()),
        None => Bound::Unbounded,
    };
    let it = kv
        .range(table, Bound::Included(key), hi_bound, false)
        .map_err(storage_error)?;
    for entry in it {
        let (_, owner) = entry.map_err(storage_error)?;
        if owner != pk {
            return Ok(Some(owner));
        }
    }
    Ok(None)
}

fn entry_key(key: &[u8], pk: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(key.len() + pk.len());
    k.extend_from_slice(key);
    k.extend_from_slice(pk);
    k
}

/// Writes the entries of `keys` for primary key `pk` (unique checks first, so a failing
/// document writes nothing).
fn write_keys(
    kv: &mut dyn KvWrite,
    table: &str,
    ns: &str,
    def: &IndexDef,
    keys: &DocKeys,
    pk: &[u8],
) -> Result<()> {
    if def.spec.unique {
        for (key, values) in &keys.keys {
            if other_owner(&*kv, table, key, pk)?.is_some() {
                return Err(duplicate_key_error(ns, def, values));
            }
        }
    }
    for key in keys.keys.keys() {
        kv.put(table, &entry_key(key, pk), pk)
            .map_err(storage_error)?;
    }
    if keys.multikey && !is_multikey(&*kv, table)? {
        kv.put(table, MULTIKEY_MARKER, b"").map_err(storage_error)?;
    }
    Ok(())
}

/// Adds the entries of `doc` (primary key `pk`) to the index `def` stored in `table`.
/// `ns` (`db.collection`) names the collection in DuplicateKey messages. Nothing is written
/// when the document violates a unique index. The `_id_` index has no entries (the document
/// table is that index), so this is a no-op for it.
pub fn insert_entries(
    kv: &mut dyn KvWrite,
    table: &str,
    ns: &str,
    def: &IndexDef,
    doc: &Document,
    pk: &[u8],
) -> Result<()> {
    if def.is_id() {
        return Ok(());
    }
    let keys = def.keys(doc)?;
    write_keys(kv, table, ns, def, &keys, pk)
}

/// Removes the entries of `doc` (primary key `pk`) from the index `def` stored in `table`.
pub fn remove_entries(
    kv: &mut dyn KvWrite,
    table: &str,
    def: &IndexDef,
    doc: &Document,
    pk: &[u8],
) -> Result<()> {
    if def.is_id() {
        return Ok(());
    }
    // A document that was indexed cannot fail key generation now; if it somehow does, there
    // is nothing it could have written.
    let Ok(keys) = def.keys(doc) else {
        return Ok(());
    };
    for key in keys.keys.keys() {
        kv.delete(table, &entry_key(key, pk))
            .map_err(storage_error)?;
    }
    Ok(())
}

/// Replaces the entries of `old` by those of `new` for the same primary key, touching only the
/// keys that changed. Fails (writing nothing) on a unique violation or when `new` cannot be
/// indexed (e.g. parallel arrays).
pub fn update_entries(
    kv: &mut dyn KvWrite,
    table: &str,
    ns: &str,
    def: &IndexDef,
    old: &Document,
    new: &Document,
    pk: &[u8],
) -> Result<()> {
    if def.is_id() {
        return Ok(());
    }
    let new_keys = def.keys(new)?;
    let old_keys = def.keys(old).unwrap_or_default();
    let added = DocKeys {
        keys: new_keys
            .keys
            .iter()
            .filter(|(k, _)| !old_keys.keys.contains_key(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        multikey: new_keys.multikey,
    };
    if def.spec.unique {
        for (key, values) in &added.keys {
            if other_owner(&*kv, table, key, pk)?.is_some() {
                return Err(duplicate_key_error(ns, def, values));
            }
        }
    }
    for key in old_keys.keys.keys() {
        if !new_keys.keys.contains_key(key) {
            kv.delete(table, &entry_key(key, pk))
                .map_err(storage_error)?;
        }
    }
    write_keys(kv, table, ns, def, &added, pk)
}

/// Builds index `def` into the (new, empty) `table` from `docs` (primary key, document).
/// On any error — a unique build finding a duplicate (DuplicateKey naming it), a document that
/// cannot be indexed, a storage error — the table is dropped, so nothing is left written.
pub fn build_index<I>(
    kv: &mut dyn KvWrite,
    table: &str,
    ns: &str,
    def: &IndexDef,
    docs: I,
) -> Result<()>
where
    I: IntoIterator<Item = Result<(Vec<u8>, Document)>>,
{
    let result = (|| {
        for item in docs {
            let (pk, doc) = item?;
            insert_entries(kv, table, ns, def, &doc, &pk)?;
        }
        Ok(())
    })();
    if result.is_err() {
        kv.drop_table(table).map_err(storage_error)?;
    }
    result
}

/// Parses a stored raw BSON document.
pub fn decode_document(bytes: &[u8]) -> Result<Document> {
    Document::from_reader(bytes).map_err(|e| {
        QueryError::new(
            MongoCode::InvalidBson,
            format!("stored document is not valid BSON: {e}"),
        )
    })
}

/// Builds index `def` into `table` from every document of `docs_table` (key = primary key,
/// value = raw BSON), reading in batches of [`BUILD_BATCH_DOCUMENTS`]. Same failure contract
/// as [`build_index`].
pub fn build_index_from_table(
    kv: &mut dyn KvWrite,
    table: &str,
    ns: &str,
    def: &IndexDef,
    docs_table: &str,
) -> Result<()> {
    let mut after: Option<Vec<u8>> = None;
    loop {
        let batch: Vec<(Vec<u8>, Vec<u8>)> = {
            let lo = match &after {
                Some(k) => Bound::Excluded(k.as_slice()),
                None => Bound::Unbounded,
            };
            let it = kv
                .range(docs_table, lo, Bound::Unbounded, false)
                .map_err(storage_error)?;
            it.take(BUILD_BATCH_DOCUMENTS)
                .collect::<std::result::Result<_, _>>()
                .map_err(storage_error)?
        };
        let Some((last, _)) = batch.last() else {
            return Ok(());
        };
        after = Some(last.clone());
        let docs = batch
            .into_iter()
            .map(|(pk, raw)| decode_document(&raw).map(|d| (pk, d)));
        build_index(kv, table, ns, def, docs)?;
    }
}
