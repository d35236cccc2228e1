//! The background writer thread of the request logs: drains the bounded queue in batches,
//! appends each batch's entries to their environment's active segment file (one `write` per
//! environment per batch), rotates segments, syncs them at most every
//! [`LogConfig::sync_interval`](super::LogConfig) and applies the retention policy by
//! deleting whole segment files.
//!
//! Invariants: the thread is the only writer of the segment files and of the catalog; every
//! record taken off the queue is counted exactly once in `processed` (written, failed, or
//! dropped at shutdown), so [`Shared::wait_processed`] (flush) terminates; a segment's length
//! is published to the catalog only after its bytes are written; the active segment of an
//! environment is always its last one.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, Write};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bson::DateTime;

use super::catalog::{Catalog, SegmentMeta};
use super::entry::{entry_id, env_dir_name, to_raw};
use super::scrub::scrub_record;
use super::{LogConfig, LogRecord};
use super::{segment, summary};

/// How long the writer lets records gather after the first one of a batch arrives.
pub const BATCH_LINGER: Duration = Duration::from_millis(10);

/// An environment's log is split into at least this many segments before the count limit
/// is reached, so deleting the oldest segment never removes more than about 1/8 of the
/// allowed entries at once.
pub const SEGMENTS_PER_ENV: u64 = 8;

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
    /// Records that could not be stored (I/O error, invalid namespace, oversized entry).
    pub(crate) failed: AtomicU64,
    /// Completed retention passes over every environment.
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

/// The open segment an environment appends to.
struct Active {
    /// The segment's number.
    number: u64,
    file: File,
    /// Bytes and entries of the segment (as published to the catalog).
    len: u64,
    entries: u64,
    /// Whether bytes were written since the last sync.
    unsynced: bool,
}

/// One environment's part of a batch: framed records and, per record, its time and byte
/// range in `bytes`.
#[derive(Default)]
struct EnvBatch {
    bytes: Vec<u8>,
    records: Vec<(i64, Range<usize>)>,
}

/// The writer thread's state.
pub(crate) struct Writer {
    catalog: Arc<Catalog>,
    config: LogConfig,
    shared: Arc<Shared>,
    rx: Receiver<Msg>,
    /// Open segments by environment directory name.
    active: HashMap<String, Active>,
    /// This writer's instance number and next sequence number (parts of [`entry_id`]).
    instance: u32,
    seq: u64,
    last_sync: Instant,
}

impl Writer {
    pub(crate) fn new(
        catalog: Arc<Catalog>,
        config: LogConfig,
        shared: Arc<Shared>,
        rx: Receiver<Msg>,
    ) -> Writer {
        Writer {
            catalog,
            config,
            shared,
            rx,
            active: HashMap::new(),
            instance: rand::random(),
            seq: 0,
            last_sync: Instant::now(),
        }
    }

    /// The thread's body: runs until [`Msg::Stop`] or until every handle is gone.
    pub(crate) fn run(mut self) {
        let _running = RunningGuard(self.shared.clone());
        let batch_max = self.config.batch_max.max(1);
        let mut last_retention: Option<Instant> = None;
        let mut stop = false;
        // Whether the last batch was full: the queue is busy and the next batch needs no
        // time to gather.
        let mut busy = false;
        while !stop {
            self.shared.wait_while_paused();
            if last_retention.is_none_or(|t| t.elapsed() >= self.config.retention_interval) {
                last_retention = Some(Instant::now());
                self.retention_pass();
            }
            let since = last_retention.map_or(Duration::ZERO, |t| t.elapsed());
            let mut wait = self.config.retention_interval.saturating_sub(since);
            if self.has_unsynced() {
                wait = wait.min(
                    self.config
                        .sync_interval
                        .saturating_sub(self.last_sync.elapsed()),
                );
            }
            let mut batch: Vec<LogRecord> = Vec::new();
            match self.rx.recv_timeout(wait.max(Duration::from_millis(1))) {
                Ok(Msg::Record(r)) => batch.push(*r),
                Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => stop = true,
                Err(RecvTimeoutError::Timeout) => busy = false,
            }
            if !batch.is_empty() {
                // Let a batch gather: at a trickle this turns one wake-up and one write per
                // request into one per BATCH_LINGER (the request path never waits for it).
                // Under load the batches are full anyway and the writer must not sleep.
                if !stop && !busy {
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
                busy = batch.len() >= batch_max;
                let n = batch.len() as u64;
                self.write_batch(batch);
                self.shared.add_processed(n);
            }
            if self.last_sync.elapsed() >= self.config.sync_interval {
                self.sync_all();
            }
        }
        self.sync_all();
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

    fn has_unsynced(&self) -> bool {
        self.active.values().any(|a| a.unsynced)
    }

    /// Makes every written byte durable (a failed sync is retried at the next interval).
    fn sync_all(&mut self) {
        for a in self.active.values_mut() {
            if a.unsynced && a.file.sync_data().is_ok() {
                a.unsynced = false;
            }
        }
        self.last_sync = Instant::now();
    }

    /// Scrubs, encodes and appends a batch: one write per environment (more when a segment
    /// fills up).
    fn write_batch(&mut self, batch: Vec<LogRecord>) {
        let mut by_env: BTreeMap<String, EnvBatch> = BTreeMap::new();
        for mut rec in batch {
            let Ok(env) = env_dir_name(&rec.project, &rec.env) else {
                self.shared.failed.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            scrub_record(&mut rec);
            let id = entry_id(rec.time, self.instance, self.seq);
            self.seq += 1;
            let body = to_raw(&rec, &id);
            if body.as_bytes().len() > segment::MAX_RECORD_BYTES {
                self.shared.failed.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let b = by_env.entry(env).or_default();
            let start = b.bytes.len();
            segment::encode_record(body.as_bytes(), &mut b.bytes);
            b.records
                .push((rec.time.timestamp_millis(), start..b.bytes.len()));
        }
        for (env, b) in by_env {
            let n = b.records.len() as u64;
            match self.append(&env, &b) {
                Ok(()) => {
                    self.shared.written.fetch_add(n, Ordering::Relaxed);
                }
                Err(_) => {
                    // The segment may hold a partial write now; start a fresh one next time.
                    self.active.remove(&env);
                    self.shared.failed.fetch_add(n, Ordering::Relaxed);
                }
            }
            self.enforce_count(&env);
        }
    }

    /// Most entries of one segment.
    fn entries_per_segment(&self) -> u64 {
        (self.config.max_entries_per_env / SEGMENTS_PER_ENV).max(1)
    }

    /// Appends `b` to `env`'s active segment(s), rotating when a segment is full.
    fn append(&mut self, env: &str, b: &EnvBatch) -> io::Result<()> {
        let per_segment = self.entries_per_segment();
        let max_bytes = self.config.segment_bytes;
        let mut i = 0;
        while i < b.records.len() {
            self.ensure_active(env)?;
            let Some(active) = self.active.get_mut(env) else {
                return Err(io::Error::other("no active segment"));
            };
            let start = i;
            let (mut len, mut entries) = (active.len, active.entries);
            while let Some((_, range)) = b.records.get(i) {
                let rlen = range.len() as u64;
                let fits = len + rlen <= max_bytes && entries < per_segment;
                // An empty segment takes any one record, so an oversized entry still lands.
                if !fits && entries > 0 {
                    break;
                }
                len += rlen;
                entries += 1;
                i += 1;
            }
            if i > start {
                let bytes = &b.bytes[b.records[start].1.start..b.records[i - 1].1.end];
                active.file.write_all(bytes)?;
                active.unsynced = true;
                let mut end = active.len;
                self.catalog.update(env, |e| {
                    if let Some(seg) = e.segments.last_mut() {
                        for (time_ms, range) in &b.records[start..i] {
                            end += range.len() as u64;
                            seg.add(*time_ms, end);
                        }
                    }
                });
                active.len = len;
                active.entries = entries;
            }
            if i < b.records.len() {
                self.rotate(env)?;
            }
        }
        Ok(())
    }

    /// Opens `env`'s active segment if none is open: its last segment after a restart
    /// (truncated to its valid length), or a new one.
    fn ensure_active(&mut self, env: &str) -> io::Result<()> {
        if self.active.contains_key(env) {
            return Ok(());
        }
        let snap = self.catalog.snapshot(env);
        if let Some(last) = snap.segments.last()
            && last.number == snap.last_number
        {
            let file = segment::open_for_append(&last.path, last.len)?;
            self.active.insert(
                env.to_string(),
                Active {
                    number: last.number,
                    file,
                    len: last.len,
                    entries: last.entries,
                    unsynced: false,
                },
            );
            return Ok(());
        }
        self.create_segment(env, snap.last_number + 1)
    }

    /// Seals `env`'s active segment (synced) and starts the next one.
    fn rotate(&mut self, env: &str) -> io::Result<()> {
        if let Some(old) = self.active.remove(env) {
            old.file.sync_data()?;
            // Start-up reads the summary instead of the sealed segment; without one (a failed
            // write) it scans the segment, so a failure here costs nothing else.
            let sealed = self.catalog.update(env, |e| {
                e.segments.iter().find(|s| s.number == old.number).cloned()
            });
            if let Some(meta) = sealed {
                let _ = summary::write(&meta);
            }
        }
        let next = self.catalog.last_number(env) + 1;
        self.create_segment(env, next)
    }

    fn create_segment(&mut self, env: &str, number: u64) -> io::Result<()> {
        let dir = self.catalog.env_dir(env);
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(segment::file_name(number));
        // A summary left by an earlier segment of this number (its removal failed) must not
        // describe the new one.
        summary::remove(&path);
        let file = segment::create(&path)?;
        let meta = SegmentMeta::empty(number, path);
        let len = meta.len;
        self.catalog.update(env, |e| {
            e.last_number = e.last_number.max(number);
            e.segments.push(meta);
        });
        self.active.insert(
            env.to_string(),
            Active {
                number,
                file,
                len,
                entries: 0,
                unsynced: true,
            },
        );
        Ok(())
    }

    /// Deletes `env`'s oldest segments while the others alone hold at least
    /// `max_entries_per_env` entries (the active segment is never deleted here).
    fn enforce_count(&mut self, env: &str) {
        let max = self.config.max_entries_per_env;
        loop {
            let victim = self.catalog.update(env, |e| {
                let total = e.entries();
                match e.segments.first() {
                    Some(first) if e.segments.len() > 1 && total - first.entries >= max => {
                        Some(e.segments.remove(0))
                    }
                    _ => None,
                }
            });
            let Some(seg) = victim else {
                return;
            };
            self.delete(&seg);
        }
    }

    /// One retention pass: deletes every segment whose newest entry is older than the age
    /// limit (closing the active one if it is among them), then applies the count limit.
    fn retention_pass(&mut self) {
        let max_age_ms = i64::try_from(self.config.max_age.as_millis()).unwrap_or(i64::MAX);
        let cutoff = DateTime::now()
            .timestamp_millis()
            .saturating_sub(max_age_ms);
        for env in self.catalog.env_names() {
            let expired: Vec<SegmentMeta> = self.catalog.update(&env, |e| {
                let (old, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut e.segments)
                    .into_iter()
                    .partition(|s| s.entries > 0 && s.max_ms < cutoff);
                e.segments = keep;
                old
            });
            if let Some(active) = self.active.get(&env)
                && expired.iter().any(|s| s.number == active.number)
            {
                self.active.remove(&env);
            }
            for seg in &expired {
                self.delete(seg);
            }
            self.enforce_count(&env);
        }
        self.shared.retention_passes.fetch_add(1, Ordering::SeqCst);
    }

    /// Removes a segment file (already taken out of the catalog) and counts its entries.
    fn delete(&self, seg: &SegmentMeta) {
        summary::remove(&seg.path);
        match std::fs::remove_file(&seg.path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            // The file stays on disk but is no longer listed; it is found again (and deleted
            // by the next pass) after a restart.
            Err(_) => {}
        }
        self.shared
            .retention_deleted
            .fetch_add(seg.entries, Ordering::Relaxed);
    }
}
