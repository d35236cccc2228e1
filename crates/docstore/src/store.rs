//! The [`Store`]: the public face of the document store.
//!
//! A `Store` is a cheap `Clone` handle (`Arc`) that is `Send + Sync`. Reads take an MVCC
//! snapshot of the storage engine and never block or get blocked by writes. Every write
//! operation is one closure run by the single writer thread ([`crate::writer`]): it is atomic
//! (all or nothing), group-committed with other callers' writes, and acknowledged only once
//! durable. Catalog operations live here; document operations are in [`crate::crud`].

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bson::{Bson, Document};

use crate::catalog::{self, CollectionMeta};
use crate::changefeed::{self, ChangeEvent, ChangeOp, Notifier};
use crate::error::{DocstoreError, Result};
use crate::format;
use crate::keys::primary_key;
use crate::kv::{KvRead, KvStore, MemoryStore, Snapshot};
use crate::kv_lmdb::LmdbStore;
use crate::kv_redb::RedbStore;
use crate::limits::MAX_CHANGES_PER_CALL;
use crate::writer::{WriteCtx, Writer, WriterStatsSnapshot};

/// Default page-cache budget of a store file, bytes (redb's own default is 1 GiB, which makes
/// a small server's memory grow far beyond its working set).
pub const DEFAULT_CACHE_BYTES: usize = 64 * 1024 * 1024;

/// Options of [`Store::open`].
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Page-cache budget of the engine, bytes (default [`DEFAULT_CACHE_BYTES`]).
    pub cache_bytes: usize,
    /// `None` (default): every acknowledged write is durable. `Some(d)`: at most one fsync
    /// per `d`; a crash can lose up to `d` of acknowledged writes (for data that may be lost,
    /// never for user data).
    pub sync_interval: Option<std::time::Duration>,
    /// `true` (default): every write records change events ([`Store::changes_since`],
    /// [`Store::subscribe`]). `false`: no change feed (nothing is recorded and followers see
    /// no events) — for stores nobody follows, where recording every document a second time
    /// is pure cost.
    pub change_feed: bool,
    /// How many of the newest change events the feed keeps (default
    /// [`crate::limits::DEFAULT_CHANGE_RETENTION`]; at least 1). Older events are deleted by
    /// the writer as new ones are recorded, so the feed's disk use is bounded; a follower whose
    /// token is older than the oldest kept event gets [`DocstoreError::ChangeHistoryLost`].
    pub change_retention: u64,
    /// `true` (default): pages missing from the page cache are copied out of a read-only
    /// memory map of the database file instead of one `pread` each
    /// ([`crate::mapped_file`]); writes, fsync and locking are unchanged. Turn off on file
    /// systems where another program may truncate the file while it is open.
    pub mmap_reads: bool,
    /// The engine of a new store file (default [`Engine::Redb`]). An existing file is opened
    /// with the engine that wrote it, whatever this says.
    pub engine: Engine,
    /// LMDB only: the largest the store file may grow, bytes (default
    /// [`crate::kv_lmdb::DEFAULT_MAP_BYTES`]; LMDB maps this much address space up front).
    pub max_size_bytes: usize,
}

/// The storage engine under a store file ([`StoreOptions::engine`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Engine {
    /// redb (`kv_redb`), the default: pure Rust, its own page cache
    /// ([`StoreOptions::cache_bytes`]), memory bounded by it, no key-length limit.
    #[default]
    Redb,
    /// LMDB (`kv_lmdb`): reads straight out of a shared memory map of the file; faster, but
    /// its resident set grows with the pages of the file it touches (see
    /// `docs/storage-engines.md`).
    Lmdb,
}

impl Engine {
    /// The engine of the existing store file at `path`, or `None` when there is no file (or
    /// an empty one) to go by.
    pub fn of_file(path: &Path) -> Option<Engine> {
        let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        if len == 0 {
            None
        } else if crate::kv_lmdb::is_lmdb_file(path) {
            Some(Engine::Lmdb)
        } else {
            Some(Engine::Redb)
        }
    }
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            cache_bytes: DEFAULT_CACHE_BYTES,
            sync_interval: None,
            change_feed: true,
            change_retention: crate::limits::DEFAULT_CHANGE_RETENTION,
            mmap_reads: true,
            engine: Engine::default(),
            max_size_bytes: crate::kv_lmdb::DEFAULT_MAP_BYTES,
        }
    }
}

/// A database as listed by [`Store::list_databases`].
#[derive(Debug, Clone, PartialEq)]
pub struct DatabaseInfo {
    /// Database name.
    pub name: String,
    /// Total BSON size of its documents (a logical size, not file pages).
    pub size_on_disk: u64,
    /// Whether it holds no documents.
    pub empty: bool,
}

/// A collection as listed by [`Store::list_collections`].
#[derive(Debug, Clone, PartialEq)]
pub struct CollectionInfo {
    /// Collection name.
    pub name: String,
    /// Its internal numeric id.
    pub id: u64,
}

/// Statistics of one collection ([`Store::collection_stats`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CollectionStats {
    /// Number of documents.
    pub count: u64,
    /// Total BSON size of the documents.
    pub size: u64,
    /// `size / count` (0 when empty).
    pub avg_obj_size: u64,
    /// Number of indexes including `_id_`.
    pub index_count: u64,
}

/// Result of [`Store::verify_integrity`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IntegrityReport {
    /// Collections checked.
    pub collections: u64,
    /// Documents checked.
    pub documents: u64,
    /// Index entries checked.
    pub index_entries: u64,
    /// Everything found wrong (empty when the store is consistent).
    pub problems: Vec<String>,
}

pub(crate) struct Inner {
    pub(crate) kv: Arc<dyn KvStore>,
    /// The disk engine under `kv` (`None`: in memory, or an engine given by the caller).
    pub(crate) engine: Option<Engine>,
    /// LMDB's map size of the store file (what a backup copy is given too).
    pub(crate) max_size_bytes: usize,
    pub(crate) writer: Writer,
    pub(crate) notifier: Arc<Notifier>,
}

/// Handle to an open document store.
#[derive(Clone)]
pub struct Store {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("writer", &self.inner.writer)
            .finish()
    }
}

impl Store {
    /// Opens (creating when absent) the store file at `path`; fails with
    /// [`DocstoreError::UnsupportedFormat`] if it was written by an unknown format version.
    pub fn open(path: impl AsRef<Path>, options: StoreOptions) -> Result<Store> {
        let path = path.as_ref();
        let engine = Engine::of_file(path).unwrap_or(options.engine);
        let kv: Arc<dyn KvStore> = match engine {
            Engine::Redb => {
                let mut engine =
                    RedbStore::open_with(path, options.cache_bytes, options.mmap_reads)?;
                if let Some(d) = options.sync_interval {
                    engine = engine.with_sync_interval(d);
                }
                Arc::new(engine)
            }
            Engine::Lmdb => Arc::new(LmdbStore::open(
                path,
                options.max_size_bytes,
                options.sync_interval,
            )?),
        };
        let feed = options
            .change_feed
            .then_some(options.change_retention.max(1));
        Self::start(kv, feed, Some(engine), options.max_size_bytes)
    }

    /// A store kept in memory only (tests, scratch work).
    pub fn open_in_memory() -> Result<Store> {
        Self::with_engine(Arc::new(MemoryStore::new()))
    }

    /// A store over any engine implementing [`KvStore`].
    pub fn with_engine(kv: Arc<dyn KvStore>) -> Result<Store> {
        Self::start(
            kv,
            Some(crate::limits::DEFAULT_CHANGE_RETENTION),
            None,
            crate::kv_lmdb::DEFAULT_MAP_BYTES,
        )
    }

    /// `change_feed`: `None` records no change events, `Some(n)` keeps the newest `n`.
    fn start(
        kv: Arc<dyn KvStore>,
        change_feed: Option<u64>,
        engine: Option<Engine>,
        max_size_bytes: usize,
    ) -> Result<Store> {
        format::check_or_init(kv.as_ref())?;
        let seq = changefeed::last_seq(kv.snapshot()?.as_ref())?;
        let notifier = Arc::new(Notifier::new(seq));
        let writer = Writer::start(kv.clone(), notifier.clone(), change_feed)?;
        Ok(Store {
            inner: Arc::new(Inner {
                kv,
                engine,
                max_size_bytes,
                writer,
                notifier,
            }),
        })
    }

    /// The disk engine of a store opened with [`Store::open`] (`None` for in-memory stores
    /// and engines given to [`Store::with_engine`]).
    pub fn engine(&self) -> Option<Engine> {
        self.inner.engine
    }

    /// A consistent read snapshot of everything committed so far.
    pub fn snapshot(&self) -> Result<Snapshot> {
        Ok(self.inner.kv.snapshot()?)
    }

    /// Runs a write operation in the writer (atomic, durable when it returns).
    pub(crate) fn write<R, F>(&self, op: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut WriteCtx<'_>) -> Result<R> + Send + 'static,
    {
        self.inner.writer.submit(op)
    }

    /// Group-commit counters: `commits` < `operations` shows writes sharing fsyncs.
    pub fn writer_stats(&self) -> WriterStatsSnapshot {
        self.inner.writer.stats()
    }

    /// Creates `db.coll`; `NamespaceExists` (48) if it exists.
    pub fn create_collection(&self, db: &str, coll: &str) -> Result<()> {
        let (db, coll) = (db.to_string(), coll.to_string());
        self.write(move |ctx| catalog::create(ctx.kv, &db, &coll).map(|_| ()))
    }

    /// Drops `db.coll` with its documents and indexes; returns whether it existed.
    pub fn drop_collection(&self, db: &str, coll: &str) -> Result<bool> {
        let (db, coll) = (db.to_string(), coll.to_string());
        self.write(move |ctx| {
            let Some(meta) = catalog::get(ctx.kv, &db, &coll)? else {
                return Ok(false);
            };
            drop_collection_in(ctx, &meta)?;
            Ok(true)
        })
    }

    /// Renames `db.from` to `db.to`. With `drop_target`, an existing target is dropped first;
    /// otherwise an existing target is `NamespaceExists`.
    pub fn rename_collection(
        &self,
        db: &str,
        from: &str,
        to: &str,
        drop_target: bool,
    ) -> Result<()> {
        let (db, from, to) = (db.to_string(), from.to_string(), to.to_string());
        self.write(move |ctx| {
            catalog::validate_coll_name(&db, &to)?;
            let mut meta = catalog::require(ctx.kv, &db, &from)?;
            if from == to {
                return Err(DocstoreError::NamespaceExists {
                    ns: format!("{db}.{to}"),
                });
            }
            if let Some(target) = catalog::get(ctx.kv, &db, &to)? {
                if !drop_target {
                    return Err(DocstoreError::NamespaceExists {
                        ns: format!("{db}.{to}"),
                    });
                }
                drop_collection_in(ctx, &target)?;
            }
            catalog::remove(ctx.kv, &db, &from)?;
            meta.name = to.clone();
            catalog::put(ctx.kv, &meta)?;
            ctx.record(|| {
                ChangeEvent::namespace(ChangeOp::Rename, &db, &from, Some((db.clone(), to.clone())))
            });
            Ok(())
        })
    }

    /// Drops every collection of `db`.
    pub fn drop_database(&self, db: &str) -> Result<()> {
        let db = db.to_string();
        self.write(move |ctx| {
            let colls = catalog::list(ctx.kv, Some(&db))?;
            for meta in &colls {
                drop_collection_in(ctx, meta)?;
            }
            if !colls.is_empty() {
                ctx.record(|| ChangeEvent::namespace(ChangeOp::DropDatabase, &db, "", None));
            }
            Ok(())
        })
    }

    /// Databases with at least one collection, by name.
    pub fn list_databases(&self) -> Result<Vec<DatabaseInfo>> {
        let snap = self.snapshot()?;
        let mut out: Vec<DatabaseInfo> = Vec::new();
        for meta in catalog::list(snap.as_ref(), None)? {
            let (count, size) = catalog::stats(snap.as_ref(), meta.id)?;
            match out.last_mut() {
                Some(last) if last.name == meta.db => {
                    last.size_on_disk += size.max(0) as u64;
                    last.empty &= count == 0;
                }
                _ => out.push(DatabaseInfo {
                    name: meta.db.clone(),
                    size_on_disk: size.max(0) as u64,
                    empty: count == 0,
                }),
            }
        }
        Ok(out)
    }

    /// Collections of `db`, by name.
    pub fn list_collections(&self, db: &str) -> Result<Vec<CollectionInfo>> {
        let snap = self.snapshot()?;
        Ok(catalog::list(snap.as_ref(), Some(db))?
            .into_iter()
            .map(|m| CollectionInfo {
                name: m.name,
                id: m.id,
            })
            .collect())
    }

    /// Count, size and index count of `db.coll`; `NamespaceNotFound` if absent.
    pub fn collection_stats(&self, db: &str, coll: &str) -> Result<CollectionStats> {
        let snap = self.snapshot()?;
        let meta = catalog::require(snap.as_ref(), db, coll)?;
        let (count, size) = catalog::stats(snap.as_ref(), meta.id)?;
        let (count, size) = (count.max(0) as u64, size.max(0) as u64);
        Ok(CollectionStats {
            count,
            size,
            avg_obj_size: size.checked_div(count).unwrap_or(0),
            index_count: 1 + meta.indexes.len() as u64,
        })
    }

    /// Up to `limit` (at most [`MAX_CHANGES_PER_CALL`]) change events after `token` (a `seq`;
    /// 0 = from the beginning), in commit order.
    pub fn changes_since(&self, token: u64, limit: usize) -> Result<Vec<ChangeEvent>> {
        let snap = self.snapshot()?;
        changefeed::changes_since(snap.as_ref(), token, limit.min(MAX_CHANGES_PER_CALL))
    }

    /// Deletes change events up to and including `upto` (once every follower has consumed
    /// them); returns how many were deleted.
    pub fn trim_changes(&self, upto: u64) -> Result<u64> {
        self.write(move |ctx| changefeed::trim(ctx.kv, upto))
    }

    /// A follower of the change feed starting after `token`.
    pub fn subscribe(&self, token: u64) -> ChangeSubscription {
        ChangeSubscription {
            store: self.clone(),
            token,
        }
    }

    /// The sequence number of the last committed change event.
    pub fn last_change_seq(&self) -> u64 {
        self.inner.notifier.committed()
    }

    /// Checks every collection: each stored document decodes, has an `_id` matching its key,
    /// counts/sizes agree with the stats, and every index agrees with the data (each document
    /// has its entries and each entry points to a document).
    pub fn verify_integrity(&self) -> Result<IntegrityReport> {
        let snap = self.snapshot()?;
        let mut report = IntegrityReport::default();
        for meta in catalog::list(snap.as_ref(), None)? {
            report.collections += 1;
            check_collection(snap.as_ref(), &meta, &mut report)?;
        }
        Ok(report)
    }
}

/// A follower of the change feed ([`Store::subscribe`]).
#[derive(Debug, Clone)]
pub struct ChangeSubscription {
    store: Store,
    token: u64,
}

impl ChangeSubscription {
    /// The resume token: the `seq` of the last event returned.
    pub fn token(&self) -> u64 {
        self.token
    }

    /// The next events after the token, waiting up to `timeout` for a commit when there are
    /// none yet (then returns an empty batch).
    pub fn next_batch(&mut self, timeout: Duration) -> Result<Vec<ChangeEvent>> {
        let mut events = self.store.changes_since(self.token, MAX_CHANGES_PER_CALL)?;
        if events.is_empty() {
            self.store.inner.notifier.wait_past(self.token, timeout);
            events = self.store.changes_since(self.token, MAX_CHANGES_PER_CALL)?;
        }
        if let Some(last) = events.last() {
            self.token = last.seq;
        }
        Ok(events)
    }
}

/// Drops a collection's tables, stats and catalog entry inside a write operation.
pub(crate) fn drop_collection_in(ctx: &mut WriteCtx<'_>, meta: &CollectionMeta) -> Result<()> {
    ctx.kv.drop_table(&meta.docs_table())?;
    for spec in &meta.indexes {
        if let Ok(name) = spec.get_str("name") {
            ctx.kv.drop_table(&meta.index_table(name))?;
        }
    }
    catalog::remove_stats(ctx.kv, meta.id)?;
    ctx.stats.remove(&meta.id);
    catalog::remove(ctx.kv, &meta.db, &meta.name)?;
    ctx.record(|| ChangeEvent::namespace(ChangeOp::Drop, &meta.db, &meta.name, None));
    Ok(())
}

fn check_collection(
    kv: &dyn KvRead,
    meta: &CollectionMeta,
    report: &mut IntegrityReport,
) -> Result<()> {
    use std::ops::Bound;
    let ns = meta.ns();
    let mut count = 0i64;
    let mut size = 0i64;
    for pair in kv.range(
        &meta.docs_table(),
        Bound::Unbounded,
        Bound::Unbounded,
        false,
    )? {
        let (key, raw) = pair?;
        report.documents += 1;
        count += 1;
        size += raw.len() as i64;
        let doc = match Document::from_reader(raw.as_slice()) {
            Ok(d) => d,
            Err(e) => {
                report
                    .problems
                    .push(format!("{ns}: undecodable document: {e}"));
                continue;
            }
        };
        match doc.get("_id") {
            None => report.problems.push(format!("{ns}: document without _id")),
            Some(id) => {
                if primary_key(id)? != key {
                    report
                        .problems
                        .push(format!("{ns}: document {id} is stored under a foreign key"));
                }
            }
        }
        crate::secondary::check_document(kv, meta, &doc, &key, report)?;
    }
    crate::secondary::check_entries(kv, meta, report)?;
    let (c, s) = catalog::stats(kv, meta.id)?;
    if (c, s) != (count, size) {
        report.problems.push(format!(
            "{ns}: stats say {c} documents / {s} bytes, data has {count} / {size}"
        ));
    }
    Ok(())
}

/// The value shown for a duplicate key in MongoDB's E11000 message: `{ _id: 1 }`.
pub(crate) fn dup_key_display(fields: &[(&str, &Bson)]) -> String {
    let inner: Vec<String> = fields.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    format!("{{ {} }}", inner.join(", "))
}
