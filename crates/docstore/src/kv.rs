//! The small ordered key-value interface the document store is built on.
//!
//! Everything above this module (collections, indexes, the change feed, the catalog) sees the
//! storage engine only through [`KvRead`] and [`KvWrite`]: named tables of byte keys and byte
//! values, ordered by unsigned byte-wise comparison of keys. The default engine is redb
//! (`kv_redb`); [`MemoryKv`] is an in-memory implementation for tests.
//!
//! Contract:
//! - A table springs into existence on its first `put`; reading a table that does not exist
//!   behaves like reading an empty one.
//! - A read view ([`KvRead`]) is a consistent snapshot: writes committed after it was taken are
//!   invisible to it.
//! - A write transaction ([`KvWrite`]) sees its own uncommitted writes; nothing it did is
//!   visible to anyone else until it commits, and all of it becomes visible at once.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, Mutex};

/// Errors of the key-value layer.
#[derive(Debug, thiserror::Error)]
pub enum KvError {
    /// The storage engine failed (I/O, corruption, …); the message is for the log.
    #[error("storage engine error: {0}")]
    Engine(String),
    /// A key is longer than the engine can store (LMDB: [`crate::kv_lmdb`]'s key limit); the
    /// write is refused and nothing of it is kept.
    #[error("key of {len} bytes in table {table} is longer than the engine's limit of {max}")]
    KeyTooLong {
        /// The table written to.
        table: String,
        /// The key's length (table prefix included).
        len: usize,
        /// The engine's limit.
        max: usize,
    },
}

/// Result alias of the key-value layer.
pub type KvResult<T> = std::result::Result<T, KvError>;

/// One key-value pair, owned.
pub type KvPair = (Vec<u8>, Vec<u8>);

/// A boxed iterator over key-value pairs of a range.
pub type KvIter<'a> = Box<dyn Iterator<Item = KvResult<KvPair>> + 'a>;

/// Read access to a consistent snapshot of the tables.
pub trait KvRead {
    /// The value under `key` in `table`, or `None`.
    fn get(&self, table: &str, key: &[u8]) -> KvResult<Option<Vec<u8>>>;

    /// The pairs of `table` with keys in `(lo, hi)`, in ascending key order, or descending
    /// when `reverse` is true.
    fn range<'a>(
        &'a self,
        table: &str,
        lo: Bound<&[u8]>,
        hi: Bound<&[u8]>,
        reverse: bool,
    ) -> KvResult<KvIter<'a>>;

    /// Names of the tables that exist in this view (used by backups, which copy every
    /// table). Engines that cannot list tables answer an error.
    fn table_names(&self) -> KvResult<Vec<String>> {
        Err(KvError::Engine(
            "this storage view cannot list its tables".into(),
        ))
    }

    /// Values derived from this view, when it is an immutable snapshot that can keep them
    /// (write transactions and engines without a memo answer `None`).
    fn memo(&self) -> Option<&crate::memo::Memo> {
        None
    }

    /// A reader of many keys of `table`, for callers that look up a series of keys (the
    /// documents behind an index range, a list of `_id`s). Same answers as [`KvRead::get`];
    /// engines override it to open the table once and, when the keys come in ascending order,
    /// to walk forward from the previous key instead of descending from the root each time.
    fn getter<'a>(&'a self, table: &str) -> KvResult<Box<dyn KvGetter + 'a>> {
        Ok(Box::new(PlainGetter {
            kv: self,
            table: table.to_string(),
        }))
    }

    /// Calls `f` with every pair of `table` with keys in `(lo, hi)` (ascending, or descending
    /// when `reverse`) until it returns `false`, without copying keys and values. Same
    /// semantics as [`KvRead::range`]; engines override it to avoid the copies.
    fn scan(
        &self,
        table: &str,
        lo: Bound<&[u8]>,
        hi: Bound<&[u8]>,
        reverse: bool,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> KvResult<()> {
        for pair in self.range(table, lo, hi, reverse)? {
            let (k, v) = pair?;
            if !f(&k, &v) {
                break;
            }
        }
        Ok(())
    }
}

/// Looks up keys of one table of a read view ([`KvRead::getter`]).
pub trait KvGetter {
    /// The value under `key`, or `None` (same answer as [`KvRead::get`] on the view).
    fn get(&mut self, key: &[u8]) -> KvResult<Option<Vec<u8>>>;
}

/// The default [`KvGetter`]: one [`KvRead::get`] per key.
struct PlainGetter<'a, K: ?Sized> {
    kv: &'a K,
    table: String,
}

impl<K: KvRead + ?Sized> KvGetter for PlainGetter<'_, K> {
    fn get(&mut self, key: &[u8]) -> KvResult<Option<Vec<u8>>> {
        self.kv.get(&self.table, key)
    }
}

/// A write transaction: reads see its own writes.
pub trait KvWrite: KvRead {
    /// Inserts or overwrites `key` in `table`.
    fn put(&mut self, table: &str, key: &[u8], value: &[u8]) -> KvResult<()>;

    /// Removes `key` from `table`; returns whether it was present.
    fn delete(&mut self, table: &str, key: &[u8]) -> KvResult<bool>;

    /// Removes a whole table (no error if it does not exist).
    fn drop_table(&mut self, table: &str) -> KvResult<()>;

    /// Applies many writes to one table: `Some(value)` puts, `None` deletes. Same effect as
    /// calling [`KvWrite::put`] / [`KvWrite::delete`] in order; engines override it to open
    /// the table once.
    fn write_batch(
        &mut self,
        table: &str,
        batch: &mut dyn Iterator<Item = BatchEntry<'_>>,
    ) -> KvResult<()> {
        for (k, v) in batch {
            match v {
                Some(v) => self.put(table, k, v)?,
                None => {
                    self.delete(table, k)?;
                }
            }
        }
        Ok(())
    }
}

/// One write of [`KvWrite::write_batch`]: a key and its new value (`None` = delete).
pub type BatchEntry<'a> = (&'a [u8], Option<&'a [u8]>);

/// A shareable read snapshot.
pub type Snapshot = Arc<dyn KvRead + Send + Sync>;

/// A storage engine that hands out read snapshots and runs write transactions.
///
/// Contract: [`KvStore::snapshot`] never blocks on a running write; [`KvStore::write`] runs
/// `f` in one transaction and commits it (durably, when the engine is durable) only if `f`
/// returns `Ok`; on `Err` nothing of it is kept. Only one write runs at a time.
pub trait KvStore: Send + Sync {
    /// A consistent snapshot of everything committed so far.
    fn snapshot(&self) -> KvResult<Snapshot>;

    /// Runs `f` in one write transaction and commits it when `f` succeeds.
    fn write(&self, f: &mut dyn FnMut(&mut dyn KvWrite) -> KvResult<()>) -> KvResult<()>;

    /// Called by the writer thread once writes have paused ([`crate::limits::SETTLE_AFTER`]):
    /// lets the engine finish housekeeping its commits left pending. Changes no data. Default:
    /// nothing to do.
    fn settle(&self) -> KvResult<()> {
        Ok(())
    }
}

/// A [`KvStore`] over [`MemoryKv`]: snapshots share the committed map (copy on write).
#[derive(Debug, Default)]
pub struct MemoryStore {
    committed: Mutex<Arc<MemoryKv>>,
}

impl MemoryStore {
    /// An empty in-memory store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl KvStore for MemoryStore {
    fn snapshot(&self) -> KvResult<Snapshot> {
        let guard = self
            .committed
            .lock()
            .map_err(|_| KvError::Engine("memory store lock poisoned".into()))?;
        Ok(guard.clone())
    }

    fn write(&self, f: &mut dyn FnMut(&mut dyn KvWrite) -> KvResult<()>) -> KvResult<()> {
        let mut guard = self
            .committed
            .lock()
            .map_err(|_| KvError::Engine("memory store lock poisoned".into()))?;
        let mut next: MemoryKv = (**guard).clone();
        f(&mut next)?;
        *guard = Arc::new(next);
        Ok(())
    }
}

/// In-memory tables, for tests and as the reference semantics of the trait.
#[derive(Debug, Default, Clone)]
pub struct MemoryKv {
    tables: BTreeMap<String, BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl MemoryKv {
    /// Empty storage.
    pub fn new() -> Self {
        Self::default()
    }
}

/// `b` with its key copied (for iterators that outlive the caller's key).
pub(crate) fn owned_bound(b: Bound<&[u8]>) -> Bound<Vec<u8>> {
    b.map(<[u8]>::to_vec)
}

/// `b`'s key borrowed.
pub(crate) fn bound_slice(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    b.as_ref().map(Vec::as_slice)
}

/// Whether `(lo, hi)` holds no key: an inverted range, which the engines' iterators would
/// refuse (BTreeMap, redb) or start anyway (LMDB), is simply empty.
pub(crate) fn empty_range(lo: Bound<&[u8]>, hi: Bound<&[u8]>) -> bool {
    match (lo, hi) {
        (Bound::Included(l), Bound::Included(h)) => l > h,
        (Bound::Included(l) | Bound::Excluded(l), Bound::Included(h) | Bound::Excluded(h)) => {
            l >= h
        }
        _ => false,
    }
}

impl KvRead for MemoryKv {
    fn table_names(&self) -> KvResult<Vec<String>> {
        Ok(self.tables.keys().cloned().collect())
    }

    fn get(&self, table: &str, key: &[u8]) -> KvResult<Option<Vec<u8>>> {
        Ok(self.tables.get(table).and_then(|t| t.get(key)).cloned())
    }

    fn range<'a>(
        &'a self,
        table: &str,
        lo: Bound<&[u8]>,
        hi: Bound<&[u8]>,
        reverse: bool,
    ) -> KvResult<KvIter<'a>> {
        let Some(t) = self.tables.get(table) else {
            return Ok(Box::new(std::iter::empty()));
        };
        // BTreeMap::range panics on inverted bounds.
        if empty_range(lo, hi) {
            return Ok(Box::new(std::iter::empty()));
        }
        let r = t.range((owned_bound(lo), owned_bound(hi)));
        let it: KvIter<'a> = if reverse {
            Box::new(r.rev().map(|(k, v)| Ok((k.clone(), v.clone()))))
        } else {
            Box::new(r.map(|(k, v)| Ok((k.clone(), v.clone()))))
        };
        Ok(it)
    }
}

impl KvWrite for MemoryKv {
    fn put(&mut self, table: &str, key: &[u8], value: &[u8]) -> KvResult<()> {
        self.tables
            .entry(table.to_string())
            .or_default()
            .insert(key.to_vec(), value.to_vec());
        Ok(())
    }

    fn delete(&mut self, table: &str, key: &[u8]) -> KvResult<bool> {
        Ok(self
            .tables
            .get_mut(table)
            .is_some_and(|t| t.remove(key).is_some()))
    }

    fn drop_table(&mut self, table: &str) -> KvResult<()> {
        self.tables.remove(table);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_kv_ranges_and_deletes() {
        let mut kv = MemoryKv::new();
        for k in [b"a".as_slice(), b"b", b"c", b"d"] {
            kv.put("t", k, k).expect("put");
        }
        let keys: Vec<Vec<u8>> = kv
            .range("t", Bound::Included(b"b"), Bound::Excluded(b"d"), false)
            .expect("range")
            .map(|r| r.expect("pair").0)
            .collect();
        assert_eq!(keys, vec![b"b".to_vec(), b"c".to_vec()]);
        let rev: Vec<Vec<u8>> = kv
            .range("t", Bound::Unbounded, Bound::Unbounded, true)
            .expect("range")
            .map(|r| r.expect("pair").0)
            .collect();
        assert_eq!(rev.first(), Some(&b"d".to_vec()));
        assert!(kv.delete("t", b"a").expect("delete"));
        assert!(!kv.delete("t", b"a").expect("delete"));
        assert_eq!(kv.get("missing", b"a").expect("get"), None);
        let empty = kv
            .range("t", Bound::Included(b"z"), Bound::Included(b"a"), false)
            .expect("r");
        assert_eq!(empty.count(), 0);
    }

    #[test]
    fn memory_store_snapshots_are_isolated_and_failed_writes_vanish() {
        let store = MemoryStore::new();
        store
            .write(&mut |kv| kv.put("t", b"a", b"1"))
            .expect("write");
        let snap = store.snapshot().expect("snap");
        store
            .write(&mut |kv| kv.put("t", b"b", b"2"))
            .expect("write");
        assert_eq!(snap.get("t", b"b").expect("get"), None);
        let failed = store.write(&mut |kv| {
            kv.put("t", b"c", b"3")?;
            Err(KvError::Engine("boom".into()))
        });
        assert!(failed.is_err());
        let now = store.snapshot().expect("snap");
        assert_eq!(now.get("t", b"b").expect("get"), Some(b"2".to_vec()));
        assert_eq!(now.get("t", b"c").expect("get"), None);
    }
}
