//! The redb backend of the key-value layer.
//!
//! Every logical table is a redb table of `&[u8] -> &[u8]` with the same name. Read snapshots
//! are redb read transactions (MVCC: they never block the writer and never see later commits).
//! Writes run in one redb write transaction committed with [`redb::Durability::Immediate`], so
//! a successful [`KvStore::write`] has been fsynced.
//!
//! Readers share one snapshot between two commits ([`SnapshotCache`]); each snapshot opens a
//! table once and keeps the handle.
//!
//! Invariant: iterators over a write transaction read in chunks of [`WRITE_SCAN_CHUNK`] pairs
//! and reopen the table between chunks, because a redb `Table` borrows the transaction and
//! cannot be returned from a `&self` method.

use std::cell::RefCell;
use std::collections::HashSet;
use std::ops::Bound;
use std::path::Path;
use std::sync::{Arc, RwLock};

use redb::{ReadableDatabase, ReadableTable, TableDefinition, TableError, TableHandle};

use crate::kv::{
    KvError, KvGetter, KvIter, KvPair, KvRead, KvResult, KvStore, KvWrite, Snapshot, bound_slice,
    empty_range, owned_bound,
};
use crate::kv_walk::{WalkState, Walker};
use crate::memo::{FxHashMap, Memo, SnapshotCache};

/// Number of pairs read per table reopening when iterating inside a write transaction.
pub const WRITE_SCAN_CHUNK: usize = 256;

fn engine<E: std::fmt::Display>(e: E) -> KvError {
    KvError::Engine(e.to_string())
}

/// One item of a redb range iterator.
type RangeItem<'a> = Result<
    (
        redb::AccessGuard<'a, &'static [u8]>,
        redb::AccessGuard<'a, &'static [u8]>,
    ),
    redb::StorageError,
>;

fn def(name: &str) -> TableDefinition<'_, &'static [u8], &'static [u8]> {
    TableDefinition::new(name)
}

/// A redb database file.
pub struct RedbStore {
    db: redb::Database,
    /// The snapshot shared by readers until the next commit.
    snapshots: SnapshotCache<RedbSnapshot>,
    /// `Some`: relaxed durability (at most one fsync per interval; see
    /// [`RedbStore::with_sync_interval`]).
    relaxed: Option<Relaxed>,
}

/// State of relaxed durability.
struct Relaxed {
    interval: std::time::Duration,
    /// When the last durable commit happened.
    last_sync: std::sync::Mutex<std::time::Instant>,
    /// Whether a non-durable commit happened since.
    dirty: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbStore").finish_non_exhaustive()
    }
}

impl RedbStore {
    /// Opens the database file at `path`, creating it when absent.
    pub fn open(path: &Path) -> KvResult<RedbStore> {
        Self::open_with_cache(path, crate::store::DEFAULT_CACHE_BYTES)
    }

    /// Opens the database file at `path` with a page cache of `cache_bytes`; pages missing
    /// from the cache are read through a memory map ([`crate::mapped_file`]).
    pub fn open_with_cache(path: &Path, cache_bytes: usize) -> KvResult<RedbStore> {
        Self::open_with(path, cache_bytes, true)
    }

    /// Opens the database file at `path` with a page cache of `cache_bytes`. `mmap_reads`:
    /// pages missing from the cache are copied from a memory map of the file
    /// ([`crate::mapped_file`]) rather than read with one system call each (ignored where
    /// memory maps are not supported: non-unix systems).
    pub fn open_with(path: &Path, cache_bytes: usize, mmap_reads: bool) -> KvResult<RedbStore> {
        let mut builder = redb::Builder::new();
        builder.set_cache_size(cache_bytes);
        #[cfg(unix)]
        let db = if mmap_reads {
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(path)
                .map_err(engine)?;
            let backend = crate::mapped_file::MappedFile::new(file).map_err(engine)?;
            builder.create_with_backend(backend).map_err(engine)?
        } else {
            builder.create(path).map_err(engine)?
        };
        #[cfg(not(unix))]
        let db = {
            let _ = mmap_reads;
            builder.create(path).map_err(engine)?
        };
        Ok(RedbStore {
            db,
            snapshots: SnapshotCache::default(),
            relaxed: None,
        })
    }

    /// Relaxed durability: commits are made durable (fsync) at most once per `interval`; the
    /// ones in between are not, so a crash can lose up to `interval` of acknowledged writes.
    /// For data that may be lost (caches, logs), never for user data. A clean close makes
    /// everything durable.
    pub fn with_sync_interval(mut self, interval: std::time::Duration) -> Self {
        self.relaxed = Some(Relaxed {
            interval,
            last_sync: std::sync::Mutex::new(std::time::Instant::now()),
            dirty: std::sync::atomic::AtomicBool::new(false),
        });
        self
    }

    /// The durability of the next commit.
    fn next_durability(&self) -> redb::Durability {
        let Some(r) = &self.relaxed else {
            return redb::Durability::Immediate;
        };
        let mut last = r
            .last_sync
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.elapsed() >= r.interval {
            *last = std::time::Instant::now();
            r.dirty.store(false, std::sync::atomic::Ordering::Relaxed);
            redb::Durability::Immediate
        } else {
            r.dirty.store(true, std::sync::atomic::Ordering::Relaxed);
            redb::Durability::None
        }
    }

    /// Names of all tables in the committed state.
    pub fn table_names(&self) -> KvResult<Vec<String>> {
        let txn = self.db.begin_read().map_err(engine)?;
        let names = txn
            .list_tables()
            .map_err(engine)?
            .map(|h| h.name().to_string())
            .collect();
        Ok(names)
    }
}

/// An opened read-only table of a snapshot.
type ReadTable = redb::ReadOnlyTable<&'static [u8], &'static [u8]>;

/// A read snapshot: one redb read transaction, with the tables it opened so far (a snapshot
/// never changes, so a table handle stays valid for its whole life) and its [`Memo`].
struct RedbSnapshot {
    txn: redb::ReadTransaction,
    /// Opened tables by name; `None` = the table does not exist in this snapshot.
    tables: RwLock<FxHashMap<String, Option<Arc<ReadTable>>>>,
    memo: Memo,
}

impl RedbSnapshot {
    fn new(txn: redb::ReadTransaction) -> Self {
        RedbSnapshot {
            txn,
            tables: RwLock::new(FxHashMap::default()),
            memo: Memo::default(),
        }
    }

    /// The table `name`, opened once per snapshot.
    fn table(&self, name: &str) -> KvResult<Option<Arc<ReadTable>>> {
        if let Some(t) = self
            .tables
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(name)
        {
            return Ok(t.clone());
        }
        let opened = match self.txn.open_table(def(name)) {
            Ok(t) => Some(Arc::new(t)),
            Err(TableError::TableDoesNotExist(_)) => None,
            Err(e) => return Err(engine(e)),
        };
        self.tables
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(name.to_string(), opened.clone());
        Ok(opened)
    }
}

impl KvRead for RedbSnapshot {
    fn table_names(&self) -> KvResult<Vec<String>> {
        let names = self
            .txn
            .list_tables()
            .map_err(engine)?
            .map(|h| h.name().to_string())
            .collect();
        Ok(names)
    }

    fn memo(&self) -> Option<&Memo> {
        Some(&self.memo)
    }

    fn get(&self, table: &str, key: &[u8]) -> KvResult<Option<Vec<u8>>> {
        let Some(t) = self.table(table)? else {
            return Ok(None);
        };
        Ok(t.get(key).map_err(engine)?.map(|g| g.value().to_vec()))
    }

    fn getter<'a>(&'a self, table: &str) -> KvResult<Box<dyn KvGetter + 'a>> {
        Ok(Box::new(RedbGetter {
            table: self.table(table)?,
            walk: WalkState::default(),
        }))
    }

    fn scan(
        &self,
        table: &str,
        lo: Bound<&[u8]>,
        hi: Bound<&[u8]>,
        reverse: bool,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> KvResult<()> {
        if empty_range(lo, hi) {
            return Ok(());
        }
        let Some(t) = self.table(table)? else {
            return Ok(());
        };
        let r = t.range::<&[u8]>((lo, hi)).map_err(engine)?;
        walk(r, reverse, |item| {
            let (k, v) = item.map_err(engine)?;
            Ok(f(k.value(), v.value()))
        })
    }

    fn range<'a>(
        &'a self,
        table: &str,
        lo: Bound<&[u8]>,
        hi: Bound<&[u8]>,
        reverse: bool,
    ) -> KvResult<KvIter<'a>> {
        if empty_range(lo, hi) {
            return Ok(Box::new(std::iter::empty()));
        }
        let Some(t) = self.table(table)? else {
            return Ok(Box::new(std::iter::empty()));
        };
        let r = t.range::<&[u8]>((lo, hi)).map_err(engine)?;
        let map = |item: RangeItem<'_>| {
            item.map(|(k, v)| (k.value().to_vec(), v.value().to_vec()))
                .map_err(engine)
        };
        if reverse {
            Ok(Box::new(r.rev().map(map)))
        } else {
            Ok(Box::new(r.map(map)))
        }
    }
}

/// A forward walk over a table: the range iterator and the entry it is positioned on.
struct Walk {
    range: redb::Range<'static, &'static [u8], &'static [u8]>,
    /// The last entry the range yielded. Every entry with a smaller key has been passed; the
    /// range yields the entries after it.
    at: (
        redb::AccessGuard<'static, &'static [u8]>,
        redb::AccessGuard<'static, &'static [u8]>,
    ),
}

impl Walker for Walk {
    fn key(&self) -> &[u8] {
        self.at.0.value()
    }

    fn value(&self) -> &[u8] {
        self.at.1.value()
    }

    fn advance(&mut self) -> KvResult<bool> {
        match self.range.next() {
            Some(item) => {
                self.at = item.map_err(engine)?;
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

/// The [`KvGetter`] of a snapshot: keeps the table open and walks forward over ascending keys
/// ([`crate::kv_walk`]).
struct RedbGetter {
    table: Option<Arc<ReadTable>>,
    walk: WalkState<Walk>,
}

/// Starts a walk at the first entry of `t` with a key `>= key`; `None` when there is none.
fn start_walk(t: &ReadTable, key: &[u8]) -> KvResult<Option<Walk>> {
    let mut range = t
        .range::<&[u8]>((Bound::Included(key), Bound::Unbounded))
        .map_err(engine)?;
    Ok(match range.next() {
        Some(item) => Some(Walk {
            at: item.map_err(engine)?,
            range,
        }),
        None => None,
    })
}

impl KvGetter for RedbGetter {
    fn get(&mut self, key: &[u8]) -> KvResult<Option<Vec<u8>>> {
        let Some(t) = &self.table else {
            return Ok(None);
        };
        self.walk.get(
            key,
            |k| Ok(t.get(k).map_err(engine)?.map(|g| g.value().to_vec())),
            |k| start_walk(t, k),
        )
    }
}

/// Feeds the items of `r` (backwards when `reverse`) to `f` until it answers `false`.
fn walk<'a>(
    r: redb::Range<'a, &'static [u8], &'static [u8]>,
    reverse: bool,
    mut f: impl FnMut(RangeItem<'a>) -> KvResult<bool>,
) -> KvResult<()> {
    if reverse {
        for item in r.rev() {
            if !f(item)? {
                break;
            }
        }
    } else {
        for item in r {
            if !f(item)? {
                break;
            }
        }
    }
    Ok(())
}

/// A write transaction.
struct RedbWrite {
    txn: redb::WriteTransaction,
    /// Names of the tables that exist in this transaction (loaded on first need).
    tables: RefCell<Option<HashSet<String>>>,
}

impl RedbWrite {
    fn read_chunk(
        &self,
        table: &str,
        lo: Bound<&[u8]>,
        hi: Bound<&[u8]>,
        reverse: bool,
    ) -> KvResult<Vec<KvPair>> {
        if empty_range(lo, hi) || !self.table_exists(table)? {
            return Ok(Vec::new());
        }
        let t = self.txn.open_table(def(table)).map_err(engine)?;
        let r = t.range::<&[u8]>((lo, hi)).map_err(engine)?;
        let mut out = Vec::new();
        walk(r, reverse, |item| {
            let (k, v) = item.map_err(engine)?;
            out.push((k.value().to_vec(), v.value().to_vec()));
            Ok(out.len() < WRITE_SCAN_CHUNK)
        })?;
        Ok(out)
    }

    fn table_exists(&self, table: &str) -> KvResult<bool> {
        // Opening a missing table inside a write transaction would create it; reads must not.
        let mut cache = self.tables.borrow_mut();
        if cache.is_none() {
            let names = self
                .txn
                .list_tables()
                .map_err(engine)?
                .map(|h| h.name().to_string())
                .collect();
            *cache = Some(names);
        }
        Ok(cache.as_ref().is_some_and(|c| c.contains(table)))
    }

    fn note_table(&self, table: &str, exists: bool) {
        if let Some(c) = self.tables.borrow_mut().as_mut() {
            if exists {
                c.insert(table.to_string());
            } else {
                c.remove(table);
            }
        }
    }
}

impl KvRead for RedbWrite {
    fn get(&self, table: &str, key: &[u8]) -> KvResult<Option<Vec<u8>>> {
        if !self.table_exists(table)? {
            return Ok(None);
        }
        let t = self.txn.open_table(def(table)).map_err(engine)?;
        Ok(t.get(key).map_err(engine)?.map(|g| g.value().to_vec()))
    }

    fn range<'a>(
        &'a self,
        table: &str,
        lo: Bound<&[u8]>,
        hi: Bound<&[u8]>,
        reverse: bool,
    ) -> KvResult<KvIter<'a>> {
        Ok(Box::new(ChunkedRange {
            txn: self,
            table: table.to_string(),
            lo: owned_bound(lo),
            hi: owned_bound(hi),
            reverse,
            buf: std::collections::VecDeque::new(),
            done: false,
        }))
    }
}

/// Lazy range over a write transaction, refilled chunk by chunk.
struct ChunkedRange<'a> {
    txn: &'a RedbWrite,
    table: String,
    lo: Bound<Vec<u8>>,
    hi: Bound<Vec<u8>>,
    reverse: bool,
    buf: std::collections::VecDeque<KvPair>,
    done: bool,
}

impl Iterator for ChunkedRange<'_> {
    type Item = KvResult<KvPair>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.buf.is_empty() && !self.done {
            match self.txn.read_chunk(
                &self.table,
                bound_slice(&self.lo),
                bound_slice(&self.hi),
                self.reverse,
            ) {
                Ok(chunk) => {
                    if chunk.len() < WRITE_SCAN_CHUNK {
                        self.done = true;
                    }
                    if let Some((last, _)) = chunk.last() {
                        if self.reverse {
                            self.hi = Bound::Excluded(last.clone());
                        } else {
                            self.lo = Bound::Excluded(last.clone());
                        }
                    }
                    self.buf.extend(chunk);
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        self.buf.pop_front().map(Ok)
    }
}

impl KvWrite for RedbWrite {
    fn put(&mut self, table: &str, key: &[u8], value: &[u8]) -> KvResult<()> {
        let mut t = self.txn.open_table(def(table)).map_err(engine)?;
        t.insert(key, value).map_err(engine)?;
        drop(t);
        self.note_table(table, true);
        Ok(())
    }

    fn delete(&mut self, table: &str, key: &[u8]) -> KvResult<bool> {
        if !self.table_exists(table)? {
            return Ok(false);
        }
        let mut t = self.txn.open_table(def(table)).map_err(engine)?;
        let removed = t.remove(key).map_err(engine)?.is_some();
        Ok(removed)
    }

    fn write_batch(
        &mut self,
        table: &str,
        batch: &mut dyn Iterator<Item = crate::kv::BatchEntry<'_>>,
    ) -> KvResult<()> {
        let mut t = self.txn.open_table(def(table)).map_err(engine)?;
        for (k, v) in batch {
            match v {
                Some(v) => {
                    t.insert(k, v).map_err(engine)?;
                }
                None => {
                    t.remove(k).map_err(engine)?;
                }
            }
        }
        drop(t);
        self.note_table(table, true);
        Ok(())
    }

    fn drop_table(&mut self, table: &str) -> KvResult<()> {
        self.txn.delete_table(def(table)).map_err(engine)?;
        self.note_table(table, false);
        Ok(())
    }
}

impl Drop for RedbStore {
    fn drop(&mut self) {
        // Release the shared snapshot before closing.
        self.snapshots.invalidate();
        // Relaxed durability: make the last non-durable commits durable on a clean close.
        if let Some(r) = &self.relaxed
            && r.dirty.load(std::sync::atomic::Ordering::Relaxed)
            && let Ok(mut txn) = self.db.begin_write()
            && txn.set_durability(redb::Durability::Immediate).is_ok()
        {
            // Nothing more can be done about a failure while closing; the data up to the last
            // durable commit is intact either way.
            let _ = txn.commit();
        }
    }
}

impl KvStore for RedbStore {
    fn snapshot(&self) -> KvResult<Snapshot> {
        let snap = self
            .snapshots
            .get(|| Ok(RedbSnapshot::new(self.db.begin_read().map_err(engine)?)))?;
        Ok(snap)
    }

    fn write(&self, f: &mut dyn FnMut(&mut dyn KvWrite) -> KvResult<()>) -> KvResult<()> {
        let mut txn = self.db.begin_write().map_err(engine)?;
        txn.set_durability(self.next_durability()).map_err(engine)?;
        let mut w = RedbWrite {
            txn,
            tables: RefCell::new(None),
        };
        match f(&mut w) {
            Ok(()) => {
                let committed = w.txn.commit().map_err(engine);
                // Before the caller is acknowledged: later readers must see this commit.
                self.snapshots.invalidate();
                committed
            }
            Err(e) => {
                w.txn.abort().map_err(engine)?;
                Err(e)
            }
        }
    }

    /// One empty durable commit. redb follows a durable commit that freed pages with a
    /// non-durable "epilogue" commit whose pages stay in its write buffer; while any are
    /// there, every page-cache miss also sweeps all of redb's write-buffer stripes (131) and
    /// takes one of their locks, which more than doubles the cost of a read that misses the
    /// cache. A durable commit writes the buffer out and clears that state. Under relaxed
    /// durability nothing is done (its non-durable commits keep the buffer filled anyway).
    fn settle(&self) -> KvResult<()> {
        if self.relaxed.is_some() {
            return Ok(());
        }
        let mut txn = self.db.begin_write().map_err(engine)?;
        txn.set_durability(redb::Durability::Immediate)
            .map_err(engine)?;
        txn.commit().map_err(engine)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(it: KvIter<'_>) -> Vec<Vec<u8>> {
        it.map(|r| r.expect("pair").0).collect()
    }

    #[test]
    fn settle_changes_no_data_and_keeps_open_snapshots_valid() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = RedbStore::open(&dir.path().join("db.redb")).expect("open");
        for round in 0..3u32 {
            store
                .write(&mut |w| {
                    for i in 0..500u32 {
                        w.put("t", &i.to_be_bytes(), &round.to_be_bytes())?;
                    }
                    Ok(())
                })
                .expect("write");
        }
        let before = store.snapshot().expect("snapshot");
        store.settle().expect("settle");
        store.settle().expect("settle twice");
        let after = store.snapshot().expect("snapshot");
        for snap in [&before, &after] {
            let all: Vec<_> = snap
                .range("t", Bound::Unbounded, Bound::Unbounded, false)
                .expect("range")
                .map(|r| r.expect("pair"))
                .collect();
            assert_eq!(all.len(), 500);
            assert!(all.iter().all(|(_, v)| v == &2u32.to_be_bytes()));
        }
    }

    #[test]
    fn write_read_range_and_snapshot_isolation() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = RedbStore::open(&dir.path().join("db.redb")).expect("open");
        let n = WRITE_SCAN_CHUNK as u32 * 2 + 7;
        store
            .write(&mut |kv| {
                for i in 0..n {
                    kv.put("t", &i.to_be_bytes(), b"v")?;
                }
                // Chunked iteration inside the write transaction sees every pair, in order.
                let all = keys(kv.range("t", Bound::Unbounded, Bound::Unbounded, false)?);
                assert_eq!(all.len(), n as usize);
                assert!(all.windows(2).all(|w| w[0] < w[1]));
                let rev = keys(kv.range("t", Bound::Unbounded, Bound::Unbounded, true)?);
                assert_eq!(rev.first(), Some(&(n - 1).to_be_bytes().to_vec()));
                assert_eq!(rev.len(), n as usize);
                assert_eq!(kv.get("missing", b"x")?, None);
                assert!(!kv.delete("missing", b"x")?);
                Ok(())
            })
            .expect("write");
        let snap = store.snapshot().expect("snap");
        store
            .write(&mut |kv| {
                kv.delete("t", &0u32.to_be_bytes())?;
                kv.drop_table("never-existed")
            })
            .expect("write");
        assert!(snap.get("t", &0u32.to_be_bytes()).expect("get").is_some());
        let now = store.snapshot().expect("snap");
        assert!(now.get("t", &0u32.to_be_bytes()).expect("get").is_none());
        let some = keys(
            now.range(
                "t",
                Bound::Included(&1u32.to_be_bytes()),
                Bound::Excluded(&4u32.to_be_bytes()),
                false,
            )
            .expect("range"),
        );
        assert_eq!(some.len(), 3);
        let inverted_range = now
            .range("t", Bound::Included(b"z"), Bound::Included(b"a"), false)
            .expect("range");
        assert_eq!(inverted_range.count(), 0);
        assert!(
            !store
                .table_names()
                .expect("names")
                .contains(&"missing".to_string())
        );
    }

    /// The getter answers exactly like `get` for every access pattern: ascending runs of
    /// neighbours, small and large gaps, missing keys, keys behind the walk, repeats, keys past
    /// the end followed by smaller ones, and the switch to plain lookups after far jumps.
    #[test]
    fn getter_answers_like_get() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = RedbStore::open(&dir.path().join("db.redb")).expect("open");
        // Even keys 0..2000 only (odd keys are missing), 4-byte big-endian.
        store
            .write(&mut |kv| {
                for i in (0u32..2000).step_by(2) {
                    kv.put("t", &i.to_be_bytes(), &(i * 3).to_be_bytes())?;
                }
                Ok(())
            })
            .expect("write");
        let snap = store.snapshot().expect("snap");
        let runs: Vec<(&str, Vec<u32>)> = vec![
            ("neighbours", (100..140).step_by(2).collect()),
            ("with missing", (100..140).collect()),
            ("small gaps", vec![0, 2, 6, 8, 14, 16, 18, 24]),
            ("far jumps", vec![0, 1000, 1002, 1500, 10, 12, 14, 1998]),
            ("scattered", vec![4, 900, 30, 1700, 200, 1200, 60, 1998, 2]),
            ("descending", (0..60).rev().collect()),
            ("repeats", vec![10, 10, 11, 11, 12, 12, 10]),
            ("past the end", vec![1996, 1998, 1999, 5000, 1998, 4, 6]),
            ("single", vec![42]),
            ("empty", vec![]),
        ];
        let mut rng = 0x2545_f491u32;
        let mut random: Vec<u32> = Vec::new();
        for _ in 0..3000 {
            rng ^= rng << 13;
            rng ^= rng >> 17;
            rng ^= rng << 5;
            // Mostly short forward hops from the previous key, sometimes anywhere.
            let prev = random.last().copied().unwrap_or(0);
            random.push(match rng % 8 {
                0 => rng % 2100,
                1 => prev.saturating_sub(rng % 5),
                _ => prev + rng % 7,
            });
        }
        let mut all = runs;
        all.push(("random walk", random));
        for (name, keys) in &all {
            let mut getter = snap.getter("t").expect("getter");
            for k in keys {
                let key = k.to_be_bytes();
                assert_eq!(
                    getter.get(&key).expect("getter get"),
                    snap.get("t", &key).expect("get"),
                    "{name}: key {k}"
                );
            }
        }
        let mut missing = snap.getter("no such table").expect("getter");
        assert_eq!(missing.get(b"x").expect("get"), None);
    }

    #[test]
    fn relaxed_durability_keeps_everything_on_a_clean_close() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db.redb");
        {
            let store = RedbStore::open(&path)
                .expect("open")
                .with_sync_interval(std::time::Duration::from_secs(3600));
            // The interval counts from open, so all of these commits are non-durable; they are
            // visible at once and survive a clean close (the close also fsyncs them, which
            // only a power cut could tell apart — not checked here).
            for i in 0u32..20 {
                store
                    .write(&mut |kv| kv.put("t", &i.to_be_bytes(), b"v"))
                    .expect("write");
            }
            assert!(
                store
                    .relaxed
                    .as_ref()
                    .is_some_and(|r| r.dirty.load(std::sync::atomic::Ordering::Relaxed))
            );
            let snap = store.snapshot().expect("snapshot");
            assert_eq!(
                snap.get("t", &19u32.to_be_bytes()).expect("get"),
                Some(b"v".to_vec())
            );
        }
        let store = RedbStore::open(&path).expect("reopen");
        let snap = store.snapshot().expect("snapshot");
        for i in 0u32..20 {
            assert_eq!(
                snap.get("t", &i.to_be_bytes()).expect("get"),
                Some(b"v".to_vec()),
                "key {i}"
            );
        }
    }

    #[test]
    fn failed_write_is_rolled_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = RedbStore::open(&dir.path().join("db.redb")).expect("open");
        let r = store.write(&mut |kv| {
            kv.put("t", b"a", b"1")?;
            Err(KvError::Engine("boom".into()))
        });
        assert!(r.is_err());
        assert_eq!(
            store.snapshot().expect("s").get("t", b"a").expect("g"),
            None
        );
    }
}
