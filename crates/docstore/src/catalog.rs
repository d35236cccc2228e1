//! The catalog: which databases and collections exist, their numeric ids and index metadata,
//! and the names of the tables that hold their data.
//!
//! Layout (all tables of the key-value layer):
//! - `catalog`: key `db \0 collection` → BSON `{db, name, id, indexes: [spec…]}`. A database
//!   exists exactly while it has at least one collection (as in MongoDB).
//! - `coll_stats`: key `id` (u64 BE) → `count` (i64 BE) ‖ `size` (i64 BE), kept up to date by
//!   every write so counts and sizes need no scan.
//! - `c{id}`: the collection's documents, primary key → raw BSON.
//! - `c{id}.ix.{index name}`: one table per secondary index (owned by the index module).
//! - `meta`: `next_collection_id` (u64 BE) and the format version.
//!
//! Collections are addressed through their id, so renaming is a catalog-only change and ids
//! are never reused (a dropped collection's stale tables can never be mistaken for a new one).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use bson::{Bson, Document, doc};

use crate::error::{DocstoreError, Result};
use crate::format::META_TABLE;
use crate::index::{IndexDef, IndexSpec};
use crate::kv::{KvRead, KvWrite};
use crate::limits::{MAX_DATABASE_NAME_LEN, MAX_NAMESPACE_LEN};

/// Table of collection metadata.
pub const CATALOG_TABLE: &str = "catalog";
/// Table of per-collection document counts and sizes.
pub const STATS_TABLE: &str = "coll_stats";
/// Key of the next collection id in the `meta` table.
const NEXT_ID_KEY: &[u8] = b"next_collection_id";
/// Name of the always-present primary index.
pub const ID_INDEX_NAME: &str = crate::index::spec::ID_INDEX_NAME;

/// Metadata of one collection.
#[derive(Debug, Clone)]
pub struct CollectionMeta {
    /// Database name.
    pub db: String,
    /// Collection name.
    pub name: String,
    /// Numeric id (names its tables).
    pub id: u64,
    /// Secondary index specs in `listIndexes` form (`{v, key, name, unique?, …}`); `_id_` is
    /// implicit and not stored here.
    pub indexes: Vec<Document>,
    /// The compiled secondary indexes with their table names (derived from `indexes`).
    pub defs: Vec<(String, IndexDef)>,
    /// The table holding the documents ([`docs_table`] of `id`, derived once so the read path
    /// does not format it per operation).
    pub docs: String,
}

impl PartialEq for CollectionMeta {
    fn eq(&self, other: &Self) -> bool {
        (&self.db, &self.name, self.id, &self.indexes)
            == (&other.db, &other.name, other.id, &other.indexes)
    }
}

impl CollectionMeta {
    /// Replaces the index specs and recompiles [`CollectionMeta::defs`].
    pub fn set_indexes(&mut self, indexes: Vec<Document>) -> Result<()> {
        let mut defs = Vec::with_capacity(indexes.len());
        for d in &indexes {
            let spec = IndexSpec::parse(d)?;
            let table = index_table(self.id, &spec.name);
            defs.push((table, IndexDef::compile(&spec)?));
        }
        self.indexes = indexes;
        self.defs = defs;
        Ok(())
    }

    /// The specs of all indexes, `_id_` first.
    pub fn specs(&self) -> Vec<IndexSpec> {
        let mut out = vec![IndexSpec::id_index()];
        out.extend(self.defs.iter().map(|(_, d)| d.spec.clone()));
        out
    }

    /// `db.collection`.
    pub fn ns(&self) -> String {
        format!("{}.{}", self.db, self.name)
    }

    /// The table holding the documents.
    pub fn docs_table(&self) -> String {
        self.docs.clone()
    }

    /// The table holding the entries of index `name`.
    pub fn index_table(&self, name: &str) -> String {
        index_table(self.id, name)
    }

    fn to_doc(&self) -> Document {
        doc! {
            "db": &self.db,
            "name": &self.name,
            "id": self.id as i64,
            "indexes": self.indexes.iter().cloned().map(Bson::Document).collect::<Vec<_>>(),
        }
    }

    fn from_doc(d: &Document) -> Result<CollectionMeta> {
        let corrupt = |detail: &str| DocstoreError::Corrupt {
            table: CATALOG_TABLE.to_string(),
            detail: detail.to_string(),
        };
        let indexes = match d.get("indexes") {
            Some(Bson::Array(a)) => a
                .iter()
                .map(|b| match b {
                    Bson::Document(d) => Ok(d.clone()),
                    _ => Err(corrupt("index spec is not a document")),
                })
                .collect::<Result<Vec<_>>>()?,
            _ => return Err(corrupt("missing indexes")),
        };
        let mut meta = CollectionMeta {
            db: d
                .get_str("db")
                .map_err(|_| corrupt("missing db"))?
                .to_string(),
            name: d
                .get_str("name")
                .map_err(|_| corrupt("missing name"))?
                .to_string(),
            id: d.get_i64("id").map_err(|_| corrupt("missing id"))? as u64,
            indexes: Vec::new(),
            defs: Vec::new(),
            docs: String::new(),
        };
        meta.docs = docs_table(meta.id);
        meta.set_indexes(indexes)
            .map_err(|e| corrupt(&format!("stored index spec is invalid: {e}")))?;
        Ok(meta)
    }
}

/// The table name of collection `id`'s documents.
pub fn docs_table(id: u64) -> String {
    format!("c{id}")
}

/// The table name of index `name` of collection `id`.
pub fn index_table(id: u64, name: &str) -> String {
    format!("c{id}.ix.{name}")
}

fn catalog_key(db: &str, coll: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(db.len() + coll.len() + 1);
    k.extend_from_slice(db.as_bytes());
    k.push(0);
    k.extend_from_slice(coll.as_bytes());
    k
}

/// Checks a database name against MongoDB's rules.
pub fn validate_db_name(db: &str) -> Result<()> {
    let bad = |reason: &str| {
        Err(DocstoreError::InvalidNamespace {
            name: db.to_string(),
            reason: reason.to_string(),
        })
    };
    if db.is_empty() {
        return bad("database name cannot be empty");
    }
    if db.len() >= MAX_DATABASE_NAME_LEN {
        return bad("database name is too long");
    }
    if let Some(c) = db.chars().find(|c| "/\\. \"$\0".contains(*c)) {
        return bad(&format!("database name cannot contain {c:?}"));
    }
    Ok(())
}

/// Checks a collection name (and the resulting namespace) against MongoDB's rules.
pub fn validate_coll_name(db: &str, coll: &str) -> Result<()> {
    validate_db_name(db)?;
    let bad = |reason: &str| {
        Err(DocstoreError::InvalidNamespace {
            name: format!("{db}.{coll}"),
            reason: reason.to_string(),
        })
    };
    if coll.is_empty() {
        return bad("collection name cannot be empty");
    }
    if coll.contains('$') || coll.contains('\0') {
        return bad("collection names must not contain '$' or null characters");
    }
    if coll.starts_with('.') {
        return bad("collection names must not start with '.'");
    }
    if coll.starts_with("system.") {
        return bad("collection names must not start with 'system.'");
    }
    if db.len() + 1 + coll.len() > MAX_NAMESPACE_LEN {
        return bad("fully qualified namespace is too long");
    }
    Ok(())
}

/// Decoded catalog entries by their exact stored bytes, so the hot write path does not parse
/// and compile index specs on every operation. Keyed by content, it can never be stale.
static META_CACHE: LazyLock<Mutex<HashMap<Vec<u8>, CollectionMeta>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// Entries kept in [`META_CACHE`] before it is cleared.
pub const META_CACHE_CAPACITY: usize = 1024;

fn decode_meta(raw: &[u8]) -> Result<CollectionMeta> {
    if let Ok(cache) = META_CACHE.lock()
        && let Some(m) = cache.get(raw)
    {
        return Ok(m.clone());
    }
    let meta = CollectionMeta::from_doc(&Document::from_reader(raw)?)?;
    if let Ok(mut cache) = META_CACHE.lock() {
        if cache.len() >= META_CACHE_CAPACITY {
            cache.clear();
        }
        cache.insert(raw.to_vec(), meta.clone());
    }
    Ok(meta)
}

/// The metadata of `db.coll`, if it exists.
pub fn get(kv: &dyn KvRead, db: &str, coll: &str) -> Result<Option<CollectionMeta>> {
    match kv.get(CATALOG_TABLE, &catalog_key(db, coll))? {
        None => Ok(None),
        Some(raw) => Ok(Some(decode_meta(&raw)?)),
    }
}

/// Memo keys of [`get_shared`] up to this length are built on the stack.
const MEMO_KEY_STACK_BYTES: usize = 128;

/// The metadata of `db.coll` as a shared value: memoised on `kv` when it is a snapshot (see
/// [`KvRead::memo`]), so reads between two commits decode it once. Its indexes' multikey
/// flags are the snapshot's (a shared entry is only ever planned against its own snapshot).
pub fn get_shared(kv: &dyn KvRead, db: &str, coll: &str) -> Result<Option<Arc<CollectionMeta>>> {
    let Some(memo) = kv.memo() else {
        return Ok(get(kv, db, coll)?.map(Arc::new));
    };
    // The memo key is the catalog key behind a prefix, built on the stack when it fits
    // (namespaces are short; a lookup allocates nothing).
    const PREFIX: &[u8] = b"catalog\0";
    let len = PREFIX.len() + db.len() + coll.len() + 1;
    let mut stack = [0u8; MEMO_KEY_STACK_BYTES];
    let mut heap = Vec::new();
    let memo_key: &mut [u8] = if len <= MEMO_KEY_STACK_BYTES {
        &mut stack[..len]
    } else {
        heap.resize(len, 0);
        &mut heap
    };
    let mut at = 0;
    for part in [PREFIX, db.as_bytes(), b"\0", coll.as_bytes()] {
        memo_key[at..at + part.len()].copy_from_slice(part);
        at += part.len();
    }
    let memo_key: &[u8] = memo_key;
    let key = &memo_key[PREFIX.len()..];
    debug_assert_eq!(key, catalog_key(db, coll).as_slice());
    let value = memo.get_or_try_insert(memo_key, || -> Result<crate::memo::MemoValue> {
        let meta: Option<Arc<CollectionMeta>> = match kv.get(CATALOG_TABLE, key)? {
            None => None,
            Some(raw) => {
                let mut meta = decode_meta(&raw)?;
                // The snapshot never changes, so its multikey markers hold for every query
                // planned on it: non-multikey indexes get exact range intersections, sorts
                // and scans without de-duplication.
                crate::index::refresh_multikey(kv, &mut meta.defs)?;
                Some(Arc::new(meta))
            }
        };
        Ok(Arc::new(meta))
    })?;
    Ok(value
        .downcast_ref::<Option<Arc<CollectionMeta>>>()
        .cloned()
        .flatten())
}

/// Like [`get`], but a missing collection is `NamespaceNotFound`.
pub fn require(kv: &dyn KvRead, db: &str, coll: &str) -> Result<CollectionMeta> {
    get(kv, db, coll)?.ok_or_else(|| DocstoreError::NamespaceNotFound {
        ns: format!("{db}.{coll}"),
    })
}

/// Stores `meta` (insert or overwrite).
pub fn put(kv: &mut dyn KvWrite, meta: &CollectionMeta) -> Result<()> {
    kv.put(
        CATALOG_TABLE,
        &catalog_key(&meta.db, &meta.name),
        &meta.to_doc().to_vec()?,
    )?;
    Ok(())
}

/// Removes the catalog entry of `db.coll` (not its tables).
pub fn remove(kv: &mut dyn KvWrite, db: &str, coll: &str) -> Result<bool> {
    Ok(kv.delete(CATALOG_TABLE, &catalog_key(db, coll))?)
}

/// All collections, optionally only those of `db`, ordered by database then name.
pub fn list(kv: &dyn KvRead, db: Option<&str>) -> Result<Vec<CollectionMeta>> {
    use std::ops::Bound;
    let (lo, hi) = match db {
        Some(db) => {
            let mut lo = db.as_bytes().to_vec();
            lo.push(0);
            let mut hi = db.as_bytes().to_vec();
            hi.push(1);
            (lo, hi)
        }
        None => (Vec::new(), Vec::new()),
    };
    let it = if db.is_some() {
        kv.range(
            CATALOG_TABLE,
            Bound::Included(&lo),
            Bound::Excluded(&hi),
            false,
        )?
    } else {
        kv.range(CATALOG_TABLE, Bound::Unbounded, Bound::Unbounded, false)?
    };
    let mut out = Vec::new();
    for pair in it {
        let (_, v) = pair?;
        out.push(decode_meta(&v)?);
    }
    Ok(out)
}

/// Creates `db.coll` with a fresh id; `NamespaceExists` if it exists.
pub fn create(kv: &mut dyn KvWrite, db: &str, coll: &str) -> Result<CollectionMeta> {
    validate_coll_name(db, coll)?;
    if get(kv, db, coll)?.is_some() {
        return Err(DocstoreError::NamespaceExists {
            ns: format!("{db}.{coll}"),
        });
    }
    let id =
        match kv.get(META_TABLE, NEXT_ID_KEY)? {
            Some(raw) => u64::from_be_bytes(raw.as_slice().try_into().map_err(|_| {
                DocstoreError::Corrupt {
                    table: META_TABLE.to_string(),
                    detail: "next_collection_id is not 8 bytes".to_string(),
                }
            })?),
            None => 1,
        };
    kv.put(META_TABLE, NEXT_ID_KEY, &(id + 1).to_be_bytes())?;
    let meta = CollectionMeta {
        db: db.to_string(),
        name: coll.to_string(),
        id,
        indexes: Vec::new(),
        defs: Vec::new(),
        docs: docs_table(id),
    };
    put(kv, &meta)?;
    Ok(meta)
}

/// The collection, created implicitly when absent (MongoDB creates on first write).
pub fn get_or_create(kv: &mut dyn KvWrite, db: &str, coll: &str) -> Result<CollectionMeta> {
    match get(kv, db, coll)? {
        Some(m) => Ok(m),
        None => create(kv, db, coll),
    }
}

/// Document count and total BSON size of collection `id`.
pub fn stats(kv: &dyn KvRead, id: u64) -> Result<(i64, i64)> {
    match kv.get(STATS_TABLE, &id.to_be_bytes())? {
        None => Ok((0, 0)),
        Some(raw) if raw.len() == 16 => {
            let mut a = [0u8; 8];
            let mut b = [0u8; 8];
            a.copy_from_slice(&raw[..8]);
            b.copy_from_slice(&raw[8..]);
            Ok((i64::from_be_bytes(a), i64::from_be_bytes(b)))
        }
        Some(_) => Err(DocstoreError::Corrupt {
            table: STATS_TABLE.to_string(),
            detail: format!("stats of collection {id} are not 16 bytes"),
        }),
    }
}

/// Adds `count` documents and `size` bytes (either may be negative) to collection `id`.
pub fn add_stats(kv: &mut dyn KvWrite, id: u64, count: i64, size: i64) -> Result<()> {
    if count == 0 && size == 0 {
        return Ok(());
    }
    let (c, s) = stats(kv, id)?;
    let mut raw = Vec::with_capacity(16);
    raw.extend_from_slice(&(c + count).to_be_bytes());
    raw.extend_from_slice(&(s + size).to_be_bytes());
    kv.put(STATS_TABLE, &id.to_be_bytes(), &raw)?;
    Ok(())
}

/// Removes the stats record of collection `id`.
pub fn remove_stats(kv: &mut dyn KvWrite, id: u64) -> Result<()> {
    kv.delete(STATS_TABLE, &id.to_be_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::MemoryKv;

    #[test]
    fn create_list_and_ids_are_never_reused() {
        let mut kv = MemoryKv::new();
        let a = create(&mut kv, "db", "a").expect("a");
        let b = create(&mut kv, "db", "b").expect("b");
        create(&mut kv, "other", "x").expect("x");
        assert_ne!(a.id, b.id);
        assert!(matches!(
            create(&mut kv, "db", "a"),
            Err(DocstoreError::NamespaceExists { .. })
        ));
        let names: Vec<_> = list(&kv, Some("db"))
            .expect("list")
            .into_iter()
            .map(|m| m.name)
            .collect();
        assert_eq!(names, vec!["a", "b"]);
        assert_eq!(list(&kv, None).expect("all").len(), 3);
        remove(&mut kv, "db", "a").expect("rm");
        let again = create(&mut kv, "db", "a").expect("again");
        assert!(again.id > b.id);
        assert_eq!(require(&kv, "db", "a").expect("req"), again);
    }

    #[test]
    fn names_are_validated() {
        for bad in ["", "a.b", "a b", "a$", "a/b"] {
            assert!(validate_db_name(bad).is_err(), "{bad:?}");
        }
        for bad in ["", "a$b", "system.x", ".a"] {
            assert!(validate_coll_name("db", bad).is_err(), "{bad:?}");
        }
        validate_coll_name("db", "a.b").expect("dots allowed in collection names");
        let long = "x".repeat(300);
        assert!(validate_coll_name("db", &long).is_err());
    }

    #[test]
    fn stats_accumulate() {
        let mut kv = MemoryKv::new();
        add_stats(&mut kv, 3, 2, 100).expect("add");
        add_stats(&mut kv, 3, -1, -40).expect("add");
        assert_eq!(stats(&kv, 3).expect("stats"), (1, 60));
        assert_eq!(stats(&kv, 4).expect("stats"), (0, 0));
    }
}
