//! The LMDB engine ([`LmdbStore`]): the [`KvStore`] over one LMDB environment in one file,
//! through `heed`.
//!
//! LMDB is a copy-on-write B+tree read straight out of a shared memory map: a read copies
//! nothing until the caller takes the value, and there is no user-space page cache in between
//! (the OS page cache is the only one). That makes point reads and index walks several times
//! cheaper than redb's, whose every page access goes through its own cache (measured in
//! `docs/benchmarks.md`, "Choosing the engine").
//!
//! Layout: all tables live in one LMDB database, `data`, under keys prefixed with the table's
//! 4-byte big-endian id, so a table's keys stay contiguous and in byte order; the `tables`
//! database maps each table name to its id (and [`NEXT_ID_KEY`] to the next id to hand out).
//! A table is created by its first `put` and dropped by deleting its key range and its name;
//! ids are never reused. Two LMDB databases, opened once when the store opens, keep LMDB's
//! per-transaction database bookkeeping constant however many collections exist.
//!
//! Invariants:
//! - Every commit is durable (LMDB's default: data pages, then the meta page, each synced)
//!   unless relaxed durability was asked for (`sync_interval` of [`LmdbStore::open`]: the
//!   environment runs with `MDB_NOSYNC` and is synced at most once per interval and on
//!   close).
//! - A read snapshot is one LMDB read-only transaction. LMDB lets such a transaction move
//!   between threads (`MDB_NOTLS`) but not be used by two at once, so each snapshot keeps it
//!   behind a re-entrant lock: uncontended in practice, because snapshots are cached per
//!   thread stripe ([`SNAPSHOT_STRIPES`]), and re-entrant because a getter or scan may read
//!   the same snapshot again from inside its callback.
//! - One process, one store: LMDB itself lets several processes share an environment, but the
//!   store above it keeps per-process state (the writer, the change feed's sequence, the
//!   snapshot caches), so the store file is also held under an exclusive `flock` for as long
//!   as the store is open, and a second open (from another process, or again in this one)
//!   fails like redb's does.
//! - Snapshots are dropped from the caches after every commit, before the commit is
//!   acknowledged (read-your-writes), so no cached snapshot pins old pages for long.
#![expect(
    unsafe_code,
    reason = "opening LMDB's memory-mapped environment (house style: docstore only)"
)]

use std::cell::RefCell;
use std::ops::Bound;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use heed::types::Bytes;
use heed::{Database, Env, EnvFlags, EnvOpenOptions, RoTxn, WithoutTls};
use parking_lot::ReentrantMutex;

use crate::kv::{KvError, KvResult, KvStore, KvWrite, Snapshot, empty_range};
use crate::memo::{FxHashMap, Memo, SnapshotCache};

mod snapshot;
mod write;
use snapshot::{LmdbSnapshot, SnapInner};
use write::LmdbWrite;

/// Default largest size of an LMDB store file, bytes (LMDB maps the whole range up front; the
/// file itself only grows as data is written). `[store] max_size_mib` overrides it.
pub const DEFAULT_MAP_BYTES: usize = 256 << 30;

/// Read snapshots an environment allows open at once (LMDB's reader table, 64 bytes a slot in
/// the lock file). Snapshots live while reads run and while cursors (the wire protocol's,
/// until they are exhausted, killed or time out) hold them; past the limit new reads fail
/// with a storage error until some close.
pub const MAX_READERS: u32 = 32_768;

/// Snapshot caches per store: a thread reads through the cache of its stripe, so threads
/// rarely share (and so rarely wait on) one read transaction.
pub const SNAPSHOT_STRIPES: usize = 8;

/// Pairs a [`KvRead::range`] over a snapshot reads per lock (the iterator copies them out and
/// releases the snapshot between chunks).
const RANGE_CHUNK: usize = 256;

/// Name of the LMDB database holding every table's pairs.
const DATA_DB: &str = "data";
/// Name of the LMDB database mapping table names to ids.
const TABLES_DB: &str = "tables";
/// Key of the next table id in [`TABLES_DB`] (table names are never empty and never start
/// with a NUL; LMDB allows no empty key).
const NEXT_ID_KEY: &[u8] = b"\0next-id";

type Db = Database<Bytes, Bytes>;
/// A table id as stored: 4 bytes, big-endian.
type TableId = [u8; 4];

fn engine(e: heed::Error) -> KvError {
    match e {
        heed::Error::Mdb(heed::MdbError::MapFull) => KvError::Engine(
            "the store file reached its largest size (store.max_size_mib); raise it and restart"
                .into(),
        ),
        heed::Error::Mdb(heed::MdbError::ReadersFull) => KvError::Engine(format!(
            "{MAX_READERS} read snapshots are open (open cursors hold them); close cursors or \
             retry"
        )),
        e => KvError::Engine(format!("lmdb: {e}")),
    }
}

/// The [`KvStore`] over an LMDB environment (see the module docs).
pub struct LmdbStore {
    env: Env<WithoutTls>,
    /// LMDB's largest key, bytes (the 4-byte table prefix included).
    max_key: usize,
    data: Db,
    tables: Db,
    stripes: Box<[SnapshotCache<LmdbSnapshot>]>,
    /// Relaxed durability: the sync interval and when the environment was last synced.
    relaxed: Option<(std::time::Duration, std::sync::Mutex<std::time::Instant>)>,
    /// The store file, held under an exclusive `flock` while the store is open (see the
    /// module docs); released when dropped, or by the kernel when the process dies.
    _owner: std::fs::File,
}

impl std::fmt::Debug for LmdbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LmdbStore").finish_non_exhaustive()
    }
}

impl LmdbStore {
    /// Opens (creating when absent) the LMDB store file at `path` (LMDB keeps its lock table
    /// beside it in `<path>-lock`), mapping at most `map_bytes`. `sync_interval`: relaxed
    /// durability (see the module docs), `None` for durable commits.
    pub fn open(
        path: &Path,
        map_bytes: usize,
        sync_interval: Option<std::time::Duration>,
    ) -> KvResult<LmdbStore> {
        let owner = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| KvError::Engine(format!("opening {}: {e}", path.display())))?;
        match owner.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(KvError::Engine(format!(
                    "{} is already open (by another process, or elsewhere in this one)",
                    path.display()
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(KvError::Engine(format!("locking {}: {e}", path.display())));
            }
        }
        let mut options = EnvOpenOptions::new().read_txn_without_tls();
        options
            .map_size(map_bytes)
            .max_dbs(2)
            .max_readers(MAX_READERS);
        // NO_READ_AHEAD: LMDB advises the kernel that access is random (`MADV_RANDOM`): no
        // read-ahead, and no mapping of the 16 neighbours of every page touched
        // ("fault-around"), which would count pages never read in the resident set.
        let mut flags = EnvFlags::NO_SUB_DIR | EnvFlags::NO_READ_AHEAD;
        if sync_interval.is_some() {
            flags |= EnvFlags::NO_SYNC;
        }
        // SAFETY: `flags` are valid LMDB flags; NO_SYNC only weakens durability, which the
        // relaxed mode asks for and bounds by syncing at least once per interval and on close.
        unsafe { options.flags(flags) };
        // SAFETY: LMDB's memory map is only unsound if the file is changed behind LMDB's back
        // (truncated or written by something that ignores its lock file). The store file is
        // ours: only LMDB opens it, through this environment (heed hands out the same
        // environment if the path is opened twice in one process), and other processes go
        // through LMDB's lock file.
        let env = unsafe { options.open(path) }.map_err(engine)?;
        // Reader slots of processes that died (kill -9) are freed now, not when LMDB next
        // runs short of them.
        env.clear_stale_readers().map_err(engine)?;
        let mut w = env.write_txn().map_err(engine)?;
        let data = env
            .create_database::<Bytes, Bytes>(&mut w, Some(DATA_DB))
            .map_err(engine)?;
        let tables = env
            .create_database::<Bytes, Bytes>(&mut w, Some(TABLES_DB))
            .map_err(engine)?;
        w.commit().map_err(engine)?;
        Ok(LmdbStore {
            max_key: env.max_key_size(),
            env,
            data,
            tables,
            stripes: (0..SNAPSHOT_STRIPES)
                .map(|_| SnapshotCache::default())
                .collect(),
            relaxed: sync_interval.map(|d| (d, std::sync::Mutex::new(std::time::Instant::now()))),
            _owner: owner,
        })
    }

    fn invalidate(&self) {
        for s in self.stripes.iter() {
            s.invalidate();
        }
    }

    fn take_snapshot(&self) -> KvResult<LmdbSnapshot> {
        let txn = self.env.clone().static_read_txn().map_err(engine)?;
        Ok(LmdbSnapshot {
            inner: ReentrantMutex::new(SnapInner {
                txn,
                max_key: self.max_key,
                data: self.data,
                tables: self.tables,
                ids: RefCell::new(FxHashMap::default()),
            }),
            memo: Memo::default(),
        })
    }
}

/// This thread's snapshot stripe.
fn stripe() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static STRIPE: usize = NEXT.fetch_add(1, Ordering::Relaxed) % SNAPSHOT_STRIPES;
    }
    STRIPE.with(|s| *s)
}

impl KvStore for LmdbStore {
    fn snapshot(&self) -> KvResult<Snapshot> {
        let snap = self.stripes[stripe()].get(|| self.take_snapshot())?;
        Ok(snap)
    }

    fn write(&self, f: &mut dyn FnMut(&mut dyn KvWrite) -> KvResult<()>) -> KvResult<()> {
        let txn = self.env.write_txn().map_err(engine)?;
        let mut w = LmdbWrite {
            txn,
            max_key: self.max_key,
            data: self.data,
            tables: self.tables,
            ids: RefCell::new(FxHashMap::default()),
        };
        match f(&mut w) {
            Ok(()) => {
                let committed = w.txn.commit().map_err(engine);
                // Before the caller is acknowledged: later readers must see this commit.
                self.invalidate();
                committed?;
                if let Some((interval, last)) = &self.relaxed {
                    let mut last = last
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    if last.elapsed() >= *interval {
                        self.env.force_sync().map_err(engine)?;
                        *last = std::time::Instant::now();
                    }
                }
                Ok(())
            }
            Err(e) => {
                w.txn.abort();
                Err(e)
            }
        }
    }
}

impl Drop for LmdbStore {
    fn drop(&mut self) {
        self.invalidate();
        if self.relaxed.is_some() {
            // Nothing more can be done about a failure while closing; the data up to the last
            // sync is intact either way.
            let _ = self.env.force_sync();
        }
    }
}

/// The key of `key` in table `id`.
fn prefixed(id: &TableId, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(4 + key.len());
    k.extend_from_slice(id);
    k.extend_from_slice(key);
    k
}

/// The first key after every key of table `id` (`None`: the last possible id).
fn after_table(id: &TableId) -> Option<TableId> {
    u32::from_be_bytes(*id).checked_add(1).map(u32::to_be_bytes)
}

/// `(lo, hi)` of a table's range as bounds over the prefixed keys, with bounds longer than
/// `max_key` (which LMDB refuses) replaced by equivalent ones: no stored key is longer than
/// `max_key`, so every stored key above a long `lo` is above its `max_key`-byte prefix `p` (and
/// `p` itself, a proper prefix, is below it), and every stored key below a long `hi` is at
/// most `p`.
fn prefixed_bounds(
    id: &TableId,
    lo: Bound<&[u8]>,
    hi: Bound<&[u8]>,
    max_key: usize,
) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    // The `max_key`-byte prefix of a bound LMDB could not take.
    let cut = |k: &[u8]| {
        let mut p = prefixed(id, k);
        p.truncate(max_key);
        p
    };
    let lo = match lo {
        Bound::Included(k) | Bound::Excluded(k) if 4 + k.len() > max_key => Bound::Excluded(cut(k)),
        Bound::Included(k) => Bound::Included(prefixed(id, k)),
        Bound::Excluded(k) => Bound::Excluded(prefixed(id, k)),
        Bound::Unbounded => Bound::Included(id.to_vec()),
    };
    let hi = match hi {
        Bound::Included(k) | Bound::Excluded(k) if 4 + k.len() > max_key => Bound::Included(cut(k)),
        Bound::Included(k) => Bound::Included(prefixed(id, k)),
        Bound::Excluded(k) => Bound::Excluded(prefixed(id, k)),
        Bound::Unbounded => match after_table(id) {
            Some(next) => Bound::Excluded(next.to_vec()),
            None => Bound::Unbounded,
        },
    };
    (lo, hi)
}

/// Feeds the pairs of `(lo, hi)` in `db` (prefix `4` bytes stripped) to `f` until it
/// answers `false`.
fn walk(
    txn: &RoTxn<'_, WithoutTls>,
    db: Db,
    lo: Bound<&[u8]>,
    hi: Bound<&[u8]>,
    reverse: bool,
    f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
) -> KvResult<()> {
    walk_full(txn, db, lo, hi, reverse, &mut |k, v| f(&k[4..], v))
}

/// Feeds the pairs of `(lo, hi)` in `db`, keys with their table prefix, to `f` until it
/// answers `false`.
fn walk_full(
    txn: &RoTxn<'_, WithoutTls>,
    db: Db,
    lo: Bound<&[u8]>,
    hi: Bound<&[u8]>,
    reverse: bool,
    f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
) -> KvResult<()> {
    if empty_range(lo, hi) {
        return Ok(());
    }
    let range = (lo, hi);
    if reverse {
        for item in db.rev_range(txn, &range).map_err(engine)? {
            let (k, v) = item.map_err(engine)?;
            if !f(k, v) {
                break;
            }
        }
    } else {
        for item in db.range(txn, &range).map_err(engine)? {
            let (k, v) = item.map_err(engine)?;
            if !f(k, v) {
                break;
            }
        }
    }
    Ok(())
}

/// The id of table `name` in `txn`, if it exists.
fn lookup_id(txn: &RoTxn<'_, WithoutTls>, tables: Db, name: &str) -> KvResult<Option<TableId>> {
    match tables.get(txn, name.as_bytes()).map_err(engine)? {
        Some(v) => Ok(Some(v.try_into().map_err(|_| {
            KvError::Engine(format!("lmdb: table id of {name} is not 4 bytes"))
        })?)),
        None => Ok(None),
    }
}

/// The id of `name`, from `ids` (the transaction's memo of earlier look-ups, absent tables
/// included) or else read from `tables` once and remembered.
fn cached_id(
    ids: &RefCell<FxHashMap<String, Option<TableId>>>,
    txn: &RoTxn<'_, WithoutTls>,
    tables: Db,
    name: &str,
) -> KvResult<Option<TableId>> {
    if let Some(id) = ids.borrow().get(name) {
        return Ok(*id);
    }
    let id = lookup_id(txn, tables, name)?;
    ids.borrow_mut().insert(name.to_string(), id);
    Ok(id)
}

/// The value under the (prefixed) `key` of `db`.
fn get_prefixed(txn: &RoTxn<'_, WithoutTls>, db: Db, key: &[u8]) -> KvResult<Option<Vec<u8>>> {
    Ok(db.get(txn, key).map_err(engine)?.map(<[u8]>::to_vec))
}

/// The value under `key` in table `id` of `db`; `None` too for a key longer than any stored
/// one (`4 + key.len() > max_key`), which LMDB would refuse to look up.
fn lookup(
    txn: &RoTxn<'_, WithoutTls>,
    db: Db,
    id: &TableId,
    key: &[u8],
    max_key: usize,
) -> KvResult<Option<Vec<u8>>> {
    if 4 + key.len() > max_key {
        return Ok(None);
    }
    get_prefixed(txn, db, &prefixed(id, key))
}

/// The names of the tables of `txn`.
fn names(txn: &RoTxn<'_, WithoutTls>, tables: Db) -> KvResult<Vec<String>> {
    let mut out = Vec::new();
    for item in tables.iter(txn).map_err(engine)? {
        let (k, _) = item.map_err(engine)?;
        if k != NEXT_ID_KEY {
            out.push(String::from_utf8_lossy(k).into_owned());
        }
    }
    Ok(out)
}

/// LMDB's lock file of the store file at `path` (`<path>-lock`): its table of readers, a
/// scratch file LMDB rebuilds when missing (never backed up).
pub fn lock_path(path: &Path) -> std::path::PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push("-lock");
    std::path::PathBuf::from(s)
}

/// Whether the file at `path` is an LMDB environment (its first meta page carries LMDB's
/// magic number), for choosing the engine of an existing store file.
pub fn is_lmdb_file(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 20];
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    if f.read_exact(&mut head).is_err() {
        return false;
    }
    // Page header (16 bytes), then `MDB_meta`, which starts with the magic `0xBEEFC0DE`.
    u32::from_ne_bytes([head[16], head[17], head[18], head[19]]) == 0xBEEF_C0DE
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::KvIter;
    use std::sync::Arc;

    fn open(dir: &Path) -> LmdbStore {
        LmdbStore::open(&dir.join("db.mdb"), 1 << 30, None).expect("open")
    }

    fn keys(it: KvIter<'_>) -> Vec<Vec<u8>> {
        it.map(|r| r.expect("pair").0).collect()
    }

    #[test]
    fn tables_are_separate_ordered_and_dropped_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = open(dir.path());
        store
            .write(&mut |w| {
                for k in [b"b".as_slice(), b"a", b"c", b"\0"] {
                    w.put("t", k, b"1")?;
                }
                w.put("u", b"a", b"2")?;
                w.put("t2", b"a", b"3")?;
                Ok(())
            })
            .expect("write");
        let snap = store.snapshot().expect("snap");
        assert_eq!(
            keys(
                snap.range("t", Bound::Unbounded, Bound::Unbounded, false)
                    .expect("r")
            ),
            vec![b"\0".to_vec(), b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]
        );
        assert_eq!(
            keys(
                snap.range("t", Bound::Excluded(b"a"), Bound::Included(b"c"), true)
                    .expect("r")
            ),
            vec![b"c".to_vec(), b"b".to_vec()]
        );
        assert_eq!(snap.get("u", b"a").expect("get"), Some(b"2".to_vec()));
        assert_eq!(snap.get("missing", b"a").expect("get"), None);
        let mut names = snap.table_names().expect("names");
        names.sort();
        assert_eq!(names, vec!["t", "t2", "u"]);
        store
            .write(&mut |w| {
                w.drop_table("t")?;
                assert_eq!(w.get("t", b"a")?, None);
                w.put("t", b"z", b"new")?;
                Ok(())
            })
            .expect("drop");
        let after = store.snapshot().expect("snap");
        assert_eq!(
            keys(
                after
                    .range("t", Bound::Unbounded, Bound::Unbounded, false)
                    .expect("r")
            ),
            vec![b"z".to_vec()]
        );
        assert_eq!(after.get("t2", b"a").expect("get"), Some(b"3".to_vec()));
        // The old snapshot still sees the table as it was.
        assert_eq!(snap.get("t", b"b").expect("get"), Some(b"1".to_vec()));
    }

    #[test]
    fn failed_writes_vanish_and_snapshots_are_isolated() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = open(dir.path());
        store.write(&mut |w| w.put("t", b"k", b"1")).expect("w");
        let before = store.snapshot().expect("snap");
        let failed = store.write(&mut |w| {
            w.put("t", b"k", b"2")?;
            w.put("new", b"k", b"x")?;
            Err(KvError::Engine("no".into()))
        });
        assert!(failed.is_err());
        store.write(&mut |w| w.put("t", b"k", b"3")).expect("w");
        let after = store.snapshot().expect("snap");
        assert_eq!(before.get("t", b"k").expect("g"), Some(b"1".to_vec()));
        assert_eq!(after.get("t", b"k").expect("g"), Some(b"3".to_vec()));
        assert_eq!(after.get("new", b"k").expect("g"), None);
    }

    #[test]
    fn long_ranges_cross_chunks_and_getters_walk_and_jump() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = open(dir.path());
        let n = RANGE_CHUNK * 3 + 7;
        store
            .write(&mut |w| {
                for i in 0..n as u32 {
                    w.put("t", &i.to_be_bytes(), &(i * 2).to_be_bytes())?;
                }
                w.put("u", b"x", b"y")
            })
            .expect("w");
        let snap = store.snapshot().expect("snap");
        let all = keys(
            snap.range("t", Bound::Unbounded, Bound::Unbounded, false)
                .expect("r"),
        );
        assert_eq!(all.len(), n);
        assert!(all.windows(2).all(|w| w[0] < w[1]));
        let rev = keys(
            snap.range("t", Bound::Unbounded, Bound::Unbounded, true)
                .expect("r"),
        );
        assert_eq!(rev.len(), n);
        assert_eq!(rev.first(), all.last());
        let mut g = snap.getter("t").expect("getter");
        // Ascending near keys (walk), far jumps, backwards, missing, past the end.
        for i in [
            3u32,
            4,
            6,
            7,
            500,
            900,
            2,
            n as u32 - 1,
            n as u32 + 5,
            10,
            11,
        ] {
            let want = (i < n as u32).then(|| (i * 2).to_be_bytes().to_vec());
            assert_eq!(g.get(&i.to_be_bytes()).expect("get"), want, "key {i}");
        }
        // The same snapshot is readable from inside a getter's life (re-entrant lock).
        assert_eq!(snap.get("u", b"x").expect("get"), Some(b"y".to_vec()));
        drop(g);
        let mut seen = 0;
        snap.scan(
            "t",
            Bound::Unbounded,
            Bound::Unbounded,
            false,
            &mut |_, _| {
                seen += 1;
                // Nested read of the same snapshot from the scan's callback.
                snap.get("u", b"x").expect("nested").is_some()
            },
        )
        .expect("scan");
        assert_eq!(seen, n);
    }

    #[test]
    fn keys_over_the_limit_are_refused_and_bounds_over_it_still_work() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = open(dir.path());
        let max = store.max_key - 4;
        let at_limit = vec![b'k'; max];
        store
            .write(&mut |w| w.put("t", &at_limit, b"max"))
            .expect("at the limit");
        let long = vec![b'k'; max + 1];
        let refused = store.write(&mut |w| {
            w.put("t", b"short", b"1")?;
            w.put("t", &long, b"2")
        });
        assert!(
            matches!(refused, Err(KvError::KeyTooLong { len, max: m, .. }) if len == max + 5 && m == max + 4),
            "{refused:?}"
        );
        store
            .write(&mut |w| {
                assert!(!w.delete("t", &long)?);
                assert_eq!(w.get("t", &long)?, None);
                w.write_batch("t", &mut [(long.as_slice(), None)].into_iter())
            })
            .expect("deletes of impossible keys are no-ops");
        let snap = store.snapshot().expect("snap");
        assert_eq!(
            snap.get("t", b"short").expect("get"),
            None,
            "the refused write left nothing"
        );
        assert_eq!(snap.get("t", &long).expect("get"), None);
        // `long` sorts just above `at_limit` (its prefix): bounds at `long` split there.
        let above = keys(
            snap.range("t", Bound::Included(&long), Bound::Unbounded, false)
                .expect("r"),
        );
        assert!(above.is_empty());
        let below = keys(
            snap.range("t", Bound::Unbounded, Bound::Excluded(&long), false)
                .expect("r"),
        );
        assert_eq!(below, vec![at_limit]);
        let mut g = snap.getter("t").expect("getter");
        assert_eq!(g.get(&long).expect("get"), None);
    }

    #[test]
    fn a_store_file_is_open_once_at_a_time() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = open(dir.path());
        let second = LmdbStore::open(&dir.path().join("db.mdb"), 1 << 30, None);
        assert!(
            matches!(&second, Err(KvError::Engine(m)) if m.contains("already open")),
            "{:?}",
            second.err()
        );
        drop(first);
        let again = open(dir.path());
        again.write(&mut |w| w.put("t", b"k", b"v")).expect("write");
    }

    #[test]
    fn snapshots_cross_threads_and_commits_survive_reopening() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = Arc::new(open(dir.path()));
            store.write(&mut |w| w.put("t", b"k", b"v")).expect("w");
            let snap = store.snapshot().expect("snap");
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    let snap = snap.clone();
                    std::thread::spawn(move || {
                        for _ in 0..1000 {
                            assert_eq!(snap.get("t", b"k").expect("g"), Some(b"v".to_vec()));
                        }
                    })
                })
                .collect();
            for h in handles {
                h.join().expect("thread");
            }
        }
        assert!(is_lmdb_file(&dir.path().join("db.mdb")));
        let store = open(dir.path());
        assert_eq!(
            store.snapshot().expect("s").get("t", b"k").expect("g"),
            Some(b"v".to_vec())
        );
    }
}
