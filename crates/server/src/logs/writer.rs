//! The background writer thread of the request logs: drains the bounded queue in batches
//! (one `insert_many` — one durable commit — per environment per batch) and applies the
//! retention policy in small chunks between batches.
//!
//! The log store is opened without a change feed (`StoreOptions::change_feed = false`):
//! nothing follows it. Log files written before that still hold change events; the writer
//! trims them ([`TRIM_CHANGES_EVERY`]) so retention can shrink such files too.
//!
//! Invariants: the thread is the only writer of the log store; every record taken off the
//! queue is counted exactly once in `processed` (written, failed, or dropped at shutdown), so
//! [`Shared::wait_processed`] (flush) terminates; a retention step deletes at most
//! [`RETENTION_CHUNK`] entries so queued records wait at most one chunk.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bson::{Bson, DateTime, Document, doc};
use stratus_docstore::index::spec::IndexSpec;
use stratus_docstore::{FindOptions, Store, changefeed};

use super::entry::{LOG_DB, collection_name, entry_id, oldest_first, time_prefix, to_document};
use super::scrub::scrub_record;
use super::{LogConfig, LogRecord};

/// How long the writer lets records gather after the first one of a batch arrives.
pub const BATCH_LINGER: Duration = Duration::from_millis(10);

/// Most entries one retention step deletes (one write transaction of the log store).
pub const RETENTION_CHUNK: usize = 2_000;

/// The document store records every write in its change feed; the log store has no
/// followers, so the writer trims the feed once this many events have accumulated.
pub const TRIM_CHANGES_EVERY: u64 = 2_000;

/// Most change-feed events one trim deletes (one write transaction).
pub const TRIM_CHANGES_CHUNK: u64 = 10_000;

/// A message of the queue.
pub(crate) enum Msg {
    /// One request's entry.
    Record(Box<LogRecord>),
    /// Stop after what was queued before.
    Stop,
}

/// State shared by the handles and the writer thread.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// Records accepted by the queue.
    pub(crate) enqueued: AtomicU64,
    /// Records refused because the queue was full or the writer stopped.
    pub(crate) dropped: AtomicU64,
    /// Records stored.
    pub(crate) written: AtomicU64,
    /// Records the store refused (I/O error, invalid namespace, oversized document).
    pub(crate) failed: AtomicU64,
    /// Completed retention passes over every log collection.
    pub(crate) retention_passes: AtomicU64,
    /// Entries deleted by retention.
    pub(crate) retention_deleted: AtomicU64,
    /// Set while the writer thread runs.
    pub(crate) running: AtomicBool,
    /// Records taken off the queue and finished (written, failed or dropped), with its condvar.
    processed: Mutex<u64>,
    processed_cond: Condvar,
    /// Whether the writer is paused (test and maintenance hook), with its condvar.
    paused: Mutex<bool>,
    paused_cond: Condvar,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded values are plain counters/flags: a panic elsewhere cannot break them.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// Records finished so far.
    pub(crate) fn processed(&self) -> u64 {
        *lock(&self.processed)
    }

    fn add_processed(&self, n: u64) {
        // n == 0 only wakes the waiters (the writer stopped).
        *lock(&self.processed) += n;
        self.processed_cond.notify_all();
    }

    /// Waits until `target` records are finished; false on timeout or when the writer stopped
    /// short of it.
    pub(crate) fn wait_processed(&self, target: u64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut done = lock(&self.processed);
        while *done < target {
            let now = Instant::now();
            if now >= deadline || !self.running.load(Ordering::SeqCst) {
                return false;
            }
            // Wake up regularly to notice a writer that died.
            let wait = (deadline - now).min(Duration::from_millis(50));
            done = self
                .processed_cond
                .wait_timeout(done, wait)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }

    pub(crate) fn set_paused(&self, paused: bool) {
        *lock(&self.paused) = paused;
        self.paused_cond.notify_all();
    }

    fn wait_while_paused(&self) {
        let mut paused = lock(&self.paused);
        while *paused {
            paused = self
                .paused_cond
                .wait(paused)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// Marks the writer stopped when its thread ends, even by a panic, so `flush` returns at once.
struct RunningGuard(Arc<Shared>);

impl Drop for RunningGuard {
    fn drop(&mut self) {
        self.0.running.store(false, Ordering::SeqCst);
        self.0.add_processed(0);
    }
}

/// The writer thread's state.
pub(crate) struct Writer {
    pub(crate) store: Store,
    pub(crate) config: LogConfig,
    pub(crate) shared: Arc<Shared>,
    pub(crate) rx: Receiver<Msg>,
    /// Collections whose indexes exist.
    indexed: HashSet<String>,
    /// This writer's instance number and next sequence number (parts of [`entry_id`]).
    instance: u32,
    seq: u64,
    /// Collections left in the current retention pass (`None`: no pass under way).
    retention_todo: Option<Vec<String>>,
    /// Change-feed events up to this sequence number are trimmed (or being ignored).
    trimmed_to: u64,
}

impl Writer {
    pub(crate) fn new(
        store: Store,
        config: LogConfig,
        shared: Arc<Shared>,
        rx: Receiver<Msg>,
    ) -> Writer {
        Writer {
            store,
            config,
            shared,
            rx,
            indexed: HashSet::new(),
            instance: rand::random(),
            seq: 0,
            retention_todo: None,
            trimmed_to: 0,
        }
    }

    /// The thread's body: runs until [`Msg::Stop`] or until every handle is gone.
    pub(crate) fn run(mut self) {
        let _running = RunningGuard(self.shared.clone());
        let batch_max = self.config.batch_max.max(1);
        let mut last_retention: Option<Instant> = None;
        let mut stop = false;
        while !stop {
            self.shared.wait_while_paused();
            if last_retention.is_none_or(|t| t.elapsed() >= self.config.retention_interval)
                && self.retention_todo.is_none()
            {
                last_retention = Some(Instant::now());
                self.retention_todo = Some(self.log_collections());
            }
            let mut batch: Vec<LogRecord> = Vec::new();
            let first = if self.retention_todo.is_some() || self.trim_due() {
                self.rx.try_recv().map_err(|e| match e {
                    TryRecvError::Empty => RecvTimeoutError::Timeout,
                    TryRecvError::Disconnected => RecvTimeoutError::Disconnected,
                })
            } else {
                let since = last_retention.map_or(Duration::ZERO, |t| t.elapsed());
                let wait = self.config.retention_interval.saturating_sub(since);
                self.rx.recv_timeout(wait.max(Duration::from_millis(1)))
            };
            match first {
                Ok(Msg::Record(r)) => batch.push(*r),
                Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => stop = true,
                Err(RecvTimeoutError::Timeout) => {}
            }
            if !batch.is_empty() {
                // Let a batch gather: under load this turns one wake-up and one commit per
                // request into one per BATCH_LINGER (the request path never waits for it).
                if !stop {
                    std::thread::sleep(BATCH_LINGER);
                }
                // A pause set while we waited holds this batch too.
                self.shared.wait_while_paused();
                while !stop && batch.len() < batch_max {
                    match self.rx.try_recv() {
                        Ok(Msg::Record(r)) => batch.push(*r),
                        Ok(Msg::Stop) | Err(TryRecvError::Disconnected) => stop = true,
                        Err(TryRecvError::Empty) => break,
                    }
                }
                let n = batch.len() as u64;
                self.write_batch(batch);
                self.shared.add_processed(n);
            }
            if !stop {
                self.retention_step();
            }
            if self.trim_due() {
                self.trim_step();
            }
        }
        // Records queued after the stop request are not written.
        let mut late = 0;
        while let Ok(msg) = self.rx.try_recv() {
            if matches!(msg, Msg::Record(_)) {
                late += 1;
            }
        }
        self.shared.dropped.fetch_add(late, Ordering::Relaxed);
        self.shared.add_processed(late);
    }

    /// Scrubs and stores a batch: one `insert_many` per environment.
    fn write_batch(&mut self, batch: Vec<LogRecord>) {
        let mut by_coll: BTreeMap<String, Vec<Document>> = BTreeMap::new();
        for mut rec in batch {
            let Ok(coll) = collection_name(&rec.project, &rec.env) else {
                self.shared.failed.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            scrub_record(&mut rec);
            let id = entry_id(rec.time, self.instance, self.seq);
            self.seq += 1;
            by_coll.entry(coll).or_default().push(to_document(&rec, id));
        }
        for (coll, docs) in by_coll {
            let n = docs.len() as u64;
            if !self.indexed.contains(&coll) {
                if self.ensure_indexes(&coll).is_err() {
                    self.shared.failed.fetch_add(n, Ordering::Relaxed);
                    continue;
                }
                self.indexed.insert(coll.clone());
            }
            match self.store.insert_many(LOG_DB, &coll, docs, false) {
                Ok(res) => {
                    let ok = res.inserted_ids.len() as u64;
                    self.shared.written.fetch_add(ok, Ordering::Relaxed);
                    self.shared.failed.fetch_add(n - ok, Ordering::Relaxed);
                }
                Err(_) => {
                    self.shared.failed.fetch_add(n, Ordering::Relaxed);
                }
            }
        }
    }

    fn ensure_indexes(&self, coll: &str) -> stratus_docstore::Result<()> {
        let spec = IndexSpec::new(doc! {"requestId": 1})?;
        self.store.create_index(LOG_DB, coll, spec)?;
        Ok(())
    }

    /// Whether enough change-feed events accumulated to trim them.
    fn trim_due(&self) -> bool {
        self.store.last_change_seq() >= self.trimmed_to.saturating_add(TRIM_CHANGES_EVERY)
    }

    /// Deletes up to [`TRIM_CHANGES_CHUNK`] of the oldest change-feed events (the store
    /// always keeps the newest one).
    fn trim_step(&mut self) {
        let last = self.store.last_change_seq();
        let first = self
            .store
            .snapshot()
            .and_then(|snap| changefeed::first_seq(snap.as_ref()));
        let upto = match first {
            Ok(Some(first)) => last.min(first.saturating_add(TRIM_CHANGES_CHUNK - 1)),
            Ok(None) => last,
            // Do not retry in a loop; the next TRIM_CHANGES_EVERY events try again.
            Err(_) => last,
        };
        if upto > self.trimmed_to && self.store.trim_changes(upto).is_err() {
            self.trimmed_to = last;
            return;
        }
        self.trimmed_to = upto;
    }

    fn log_collections(&self) -> Vec<String> {
        match self.store.list_collections(LOG_DB) {
            Ok(list) => list.into_iter().map(|c| c.name).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Ids of the oldest entries of `coll` matching `filter`, at most `limit`.
    fn oldest_ids(
        &self,
        coll: &str,
        filter: Document,
        limit: usize,
    ) -> stratus_docstore::Result<Vec<Bson>> {
        let options = FindOptions {
            filter,
            sort: Some(oldest_first()),
            limit: i64::try_from(limit).unwrap_or(i64::MAX),
            projection: Some(doc! {"_id": 1}),
            ..Default::default()
        };
        let docs = self.store.find(LOG_DB, coll, options)?.to_vec()?;
        Ok(docs
            .into_iter()
            .filter_map(|mut d| d.remove("_id"))
            .collect())
    }

    fn delete_ids(&self, coll: &str, ids: Vec<Bson>) -> stratus_docstore::Result<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let n = self
            .store
            .delete_many(LOG_DB, coll, doc! {"_id": {"$in": ids}})?;
        self.shared
            .retention_deleted
            .fetch_add(n, Ordering::Relaxed);
        Ok(n)
    }

    /// One bounded step of the retention pass: deletes up to [`RETENTION_CHUNK`] entries of
    /// the next collection; moves on when that collection is within the policy.
    fn retention_step(&mut self) {
        let Some(todo) = self.retention_todo.as_mut() else {
            return;
        };
        let Some(coll) = todo.last().cloned() else {
            self.retention_todo = None;
            self.shared.retention_passes.fetch_add(1, Ordering::SeqCst);
            return;
        };
        match self.retention_chunk(&coll) {
            Ok(true) => {} // more to delete in this collection
            Ok(false) | Err(_) => {
                if let Some(todo) = self.retention_todo.as_mut() {
                    todo.pop();
                }
            }
        }
    }

    /// Deletes one chunk from `coll`; true when the chunk was full (more may remain).
    fn retention_chunk(&self, coll: &str) -> stratus_docstore::Result<bool> {
        let max_age_ms = i64::try_from(self.config.max_age.as_millis()).unwrap_or(i64::MAX);
        let cutoff = DateTime::from_millis(
            DateTime::now()
                .timestamp_millis()
                .saturating_sub(max_age_ms),
        );
        let filter = doc! {"_id": {"$lt": time_prefix(cutoff)}};
        let ids = self.oldest_ids(coll, filter, RETENTION_CHUNK)?;
        let full = ids.len() == RETENTION_CHUNK;
        self.delete_ids(coll, ids)?;
        if full {
            return Ok(true);
        }
        let count = self.store.estimated_count(LOG_DB, coll)?;
        let excess = count.saturating_sub(self.config.max_entries_per_env);
        if excess == 0 {
            return Ok(false);
        }
        let n = usize::try_from(excess)
            .unwrap_or(usize::MAX)
            .min(RETENTION_CHUNK);
        let ids = self.oldest_ids(coll, Document::new(), n)?;
        self.delete_ids(coll, ids)?;
        Ok(excess > n as u64)
    }
}
