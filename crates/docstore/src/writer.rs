//! The single writer thread with group commit.
//!
//! Callers hand closures to [`Writer::submit`]; they queue on a bounded channel. The writer
//! thread takes the first queued job, drains whatever else is queued (up to
//! [`MAX_GROUP_SIZE`]), and runs them all in ONE storage write transaction committed with
//! immediate durability (one fsync). Only after the commit returns does it answer each caller,
//! so a caller is acknowledged only once its data is durable.
//!
//! Isolation inside a group: every job writes into its own [`Overlay`]; a job that fails is
//! discarded without touching the transaction, so it cannot poison the other jobs of its group.
//! Jobs of a group see the effects of the jobs before them (they are serialised). If the commit
//! itself fails, every job of the group gets the storage error and nothing of the group exists.
//!
//! Change events produced by a job get their sequence numbers only when the job succeeds, and
//! are written in the same transaction; followers are notified after the commit.
//!
//! When no write has been queued for [`SETTLE_AFTER`] after a commit, the thread calls
//! [`KvStore::settle`] once (engine housekeeping that keeps reads fast; see `kv_redb`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;

use crate::changefeed::{self, ChangeEvent, Notifier};
use crate::error::{DocstoreError, Result};
use crate::kv::{KvError, KvStore, KvWrite};
use crate::limits::{
    CHANGE_TRIM_CHUNK, MAX_CHANGE_TRIM_PER_COMMIT, MAX_GROUP_SIZE, SETTLE_AFTER,
    WRITE_QUEUE_CAPACITY,
};
use crate::overlay::Overlay;
use crate::pending::Pending;

/// What a write operation sees: its private write buffer and its pending change events.
pub struct WriteCtx<'a> {
    /// Reads see committed data, earlier jobs of the group and this job's own writes.
    pub kv: &'a mut dyn KvWrite,
    /// Change events to append if (and only if) the operation succeeds.
    pub events: Vec<ChangeEvent>,
    /// Pending per-collection `(count, size)` deltas, written once when the operation
    /// succeeds (one stats update per operation instead of one per document).
    pub stats: BTreeMap<u64, (i64, i64)>,
    /// Whether the store records change events (see `StoreOptions::change_feed`).
    changes: bool,
}

impl<'a> WriteCtx<'a> {
    /// A context writing into `kv`.
    pub fn new(kv: &'a mut dyn KvWrite) -> Self {
        WriteCtx {
            kv,
            events: Vec::new(),
            stats: BTreeMap::new(),
            changes: true,
        }
    }

    /// Records the change event `make` builds, unless the store keeps no change feed (then
    /// it is not even built).
    pub fn record(&mut self, make: impl FnOnce() -> ChangeEvent) {
        if self.changes {
            self.events.push(make());
        }
    }

    /// Records a change of `count` documents and `size` bytes in collection `id`.
    pub fn add_stats(&mut self, id: u64, count: i64, size: i64) {
        let e = self.stats.entry(id).or_insert((0, 0));
        e.0 += count;
        e.1 += size;
    }

    /// Writes the pending stats deltas into the buffer.
    fn flush_stats(&mut self) -> Result<()> {
        for (id, (count, size)) in std::mem::take(&mut self.stats) {
            crate::catalog::add_stats(self.kv, id, count, size)?;
        }
        Ok(())
    }
    /// Runs `f` atomically inside this operation: its writes and events are kept only when it
    /// returns `Ok` (used e.g. per document of an unordered `insert_many`).
    pub fn nested<R>(&mut self, f: impl FnOnce(&mut WriteCtx<'_>) -> Result<R>) -> Result<R> {
        let mut overlay = Overlay::new(&mut *self.kv);
        let mut child = WriteCtx::new(&mut overlay);
        child.changes = self.changes;
        let r = f(&mut child)?;
        let events = std::mem::take(&mut child.events);
        let stats = std::mem::take(&mut child.stats);
        overlay.apply()?;
        self.events.extend(events);
        for (id, (c, s)) in stats {
            self.add_stats(id, c, s);
        }
        Ok(r)
    }
}

/// Answer to a caller, called with the group's commit result.
type Completion = Box<dyn FnOnce(Result<()>) + Send>;
/// A queued operation: runs, says whether it succeeded, and returns how to answer its caller.
type Job = Box<dyn FnOnce(&mut WriteCtx<'_>) -> (bool, Completion) + Send>;

/// Counters of the writer (for tests and metrics).
#[derive(Debug, Default)]
pub struct WriterStats {
    /// Write transactions committed (= fsyncs on a durable engine).
    pub commits: AtomicU64,
    /// Operations executed (successful or not).
    pub operations: AtomicU64,
    /// Operations handed to the writer.
    pub submitted: AtomicU64,
    /// Times the engine settled after writes paused ([`KvStore::settle`], successful ones).
    pub settles: AtomicU64,
    /// Change events deleted by the feed's retention.
    pub trimmed_changes: AtomicU64,
}

/// A snapshot of [`WriterStats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterStatsSnapshot {
    /// Write transactions committed.
    pub commits: u64,
    /// Operations executed.
    pub operations: u64,
    /// Operations waiting for the writer (submitted, not yet executed).
    pub queued: u64,
    /// Times the engine settled after writes paused.
    pub settles: u64,
    /// Change events deleted by the feed's retention.
    pub trimmed_changes: u64,
}

/// Handle to the writer thread; dropping it stops the thread after the queue drains.
pub struct Writer {
    tx: Option<SyncSender<Job>>,
    thread: Option<JoinHandle<()>>,
    stats: Arc<WriterStats>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("stats", &self.stats)
            .finish()
    }
}

impl Writer {
    /// Starts the writer thread over `kv`; committed change sequence numbers go to `notifier`.
    /// `change_feed`: `None` — operations record no change events; `Some(n)` — they do, and
    /// the feed keeps the newest `n` (at least 1): once it holds [`CHANGE_TRIM_CHUNK`] more,
    /// the commit deletes the oldest (at most [`MAX_CHANGE_TRIM_PER_COMMIT`]) in the same
    /// transaction.
    pub fn start(
        kv: Arc<dyn KvStore>,
        notifier: Arc<Notifier>,
        change_feed: Option<u64>,
    ) -> Result<Writer> {
        let snap = kv.snapshot()?;
        let next_seq = changefeed::last_seq(snap.as_ref())? + 1;
        let oldest_seq = changefeed::first_seq(snap.as_ref())?.unwrap_or(next_seq);
        drop(snap);
        let (tx, rx) = sync_channel::<Job>(WRITE_QUEUE_CAPACITY);
        let stats = Arc::new(WriterStats::default());
        let thread_stats = stats.clone();
        let thread = std::thread::Builder::new()
            .name("docstore-writer".to_string())
            .spawn(move || {
                run(
                    kv.as_ref(),
                    &rx,
                    &notifier,
                    &thread_stats,
                    Feed {
                        next_seq,
                        oldest_seq,
                        retention: change_feed,
                    },
                )
            })
            .map_err(|e| DocstoreError::Storage(format!("cannot start writer thread: {e}")))?;
        Ok(Writer {
            tx: Some(tx),
            thread: Some(thread),
            stats,
        })
    }

    /// Runs `op` in the writer (atomically, in a group-committed transaction) and returns its
    /// result once the transaction is durable.
    pub fn submit<R, F>(&self, op: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut WriteCtx<'_>) -> Result<R> + Send + 'static,
    {
        let (reply_tx, reply_rx) = sync_channel::<Result<R>>(1);
        self.enqueue(op, true, move |out| {
            // The caller may have given up waiting; nothing to do then.
            if reply_tx.send(out).is_err() {
                // Dropped receiver: the result is simply not delivered.
            }
        })?;
        reply_rx.recv().map_err(|_| DocstoreError::WriterStopped)?
    }

    /// Like [`Writer::submit`], but returns at once: the [`Pending`] resolves once the
    /// transaction is durable, and no thread waits for it meanwhile. When the queue is full
    /// ([`WRITE_QUEUE_CAPACITY`]) it resolves with [`DocstoreError::WriterBusy`] instead of
    /// blocking the caller.
    pub fn submit_pending<R, F>(&self, op: F) -> Pending<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut WriteCtx<'_>) -> Result<R> + Send + 'static,
    {
        let (pending, completer) = Pending::new();
        let completer = std::sync::Mutex::new(Some(completer));
        let queued = self.enqueue(op, false, move |out| {
            if let Some(c) = completer
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take()
            {
                c.complete(out);
            }
        });
        match queued {
            Ok(()) => pending,
            Err(e) => Pending::ready(Err(e)),
        }
    }

    /// Queues `op`; `deliver` gets its result once the group is durable (or its error).
    /// With `wait_for_room`, a full queue blocks; without, it fails with `WriterBusy`.
    fn enqueue<R, F>(
        &self,
        op: F,
        wait_for_room: bool,
        deliver: impl FnOnce(Result<R>) + Send + 'static,
    ) -> Result<()>
    where
        R: Send + 'static,
        F: FnOnce(&mut WriteCtx<'_>) -> Result<R> + Send + 'static,
    {
        let job: Job = Box::new(move |ctx| {
            // A panicking operation (a bug) must not take the writer thread, and with it every
            // later write, down: its buffered writes are discarded like any failed operation.
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| op(ctx)))
                .unwrap_or_else(|_| {
                    Err(DocstoreError::Storage(
                        "a write operation panicked; it was rolled back".to_string(),
                    ))
                });
            let ok = r.is_ok();
            let completion: Completion = Box::new(move |commit: Result<()>| {
                deliver(match r {
                    Err(e) => Err(e),
                    Ok(v) => commit.map(|()| v),
                });
            });
            (ok, completion)
        });
        let tx = self.tx.as_ref().ok_or(DocstoreError::WriterStopped)?;
        match tx.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(job)) if wait_for_room => {
                tx.send(job).map_err(|_| DocstoreError::WriterStopped)?
            }
            Err(TrySendError::Full(_)) => return Err(DocstoreError::WriterBusy),
            Err(TrySendError::Disconnected(_)) => return Err(DocstoreError::WriterStopped),
        }
        self.stats.submitted.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Current counters.
    pub fn stats(&self) -> WriterStatsSnapshot {
        let operations = self.stats.operations.load(Ordering::Relaxed);
        WriterStatsSnapshot {
            commits: self.stats.commits.load(Ordering::Relaxed),
            settles: self.stats.settles.load(Ordering::Relaxed),
            trimmed_changes: self.stats.trimmed_changes.load(Ordering::Relaxed),
            operations,
            queued: self
                .stats
                .submitted
                .load(Ordering::Relaxed)
                .saturating_sub(operations),
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            // A panicking writer already failed its callers; nothing more to report here.
            if t.join().is_err() {
                // The thread panicked; its callers saw WriterStopped.
            }
        }
    }
}

/// The writer's view of the change feed: events `oldest_seq..next_seq` are stored (sequence
/// numbers are gap-free, trims take the oldest first).
struct Feed {
    next_seq: u64,
    oldest_seq: u64,
    /// `None`: no feed; `Some(n)`: keep the newest `n` events.
    retention: Option<u64>,
}

impl Feed {
    /// How many of the oldest events a commit that stored events up to `next_seq` deletes.
    fn to_trim(&self, next_seq: u64) -> u64 {
        let Some(keep) = self.retention else { return 0 };
        let held = next_seq.saturating_sub(self.oldest_seq);
        if held < keep.saturating_add(CHANGE_TRIM_CHUNK) {
            return 0;
        }
        (held - keep).min(MAX_CHANGE_TRIM_PER_COMMIT)
    }
}

fn run(kv: &dyn KvStore, rx: &Receiver<Job>, notifier: &Notifier, stats: &WriterStats, feed: Feed) {
    let mut feed = feed;
    let change_feed = feed.retention.is_some();
    // Whether a commit happened since the engine last settled.
    let mut unsettled = false;
    loop {
        let next = if unsettled {
            rx.recv_timeout(SETTLE_AFTER)
        } else {
            rx.recv().map_err(|_| RecvTimeoutError::Disconnected)
        };
        let first = match next {
            Ok(job) => job,
            Err(RecvTimeoutError::Timeout) => {
                unsettled = false;
                // Housekeeping only: a failure here loses nothing and the next write reports
                // any real storage trouble.
                if kv.settle().is_ok() {
                    stats.settles.fetch_add(1, Ordering::Relaxed);
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        };
        let mut jobs = vec![first];
        while jobs.len() < MAX_GROUP_SIZE {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let mut completions: Vec<Completion> = Vec::with_capacity(jobs.len());
        let mut seq = feed.next_seq;
        let group_start_seq = feed.next_seq;
        let mut trimmed = 0;
        let result = kv.write(&mut |txn| {
            seq = group_start_seq;
            trimmed = 0;
            for job in jobs.drain(..) {
                stats.operations.fetch_add(1, Ordering::Relaxed);
                let mut overlay = Overlay::new(&mut *txn);
                let mut ctx = WriteCtx::new(&mut overlay);
                ctx.changes = change_feed;
                let (ok, completion) = job(&mut ctx);
                let events = std::mem::take(&mut ctx.events);
                let flushed = if ok { ctx.flush_stats() } else { Ok(()) };
                completions.push(completion);
                if !ok {
                    continue;
                }
                flushed.map_err(|e| KvError::Engine(e.to_string()))?;
                overlay.apply()?;
                for mut e in events {
                    e.seq = seq;
                    seq += 1;
                    changefeed::append_owned(txn, e).map_err(|e| KvError::Engine(e.to_string()))?;
                }
            }
            trimmed = feed.to_trim(seq);
            for s in feed.oldest_seq..feed.oldest_seq + trimmed {
                txn.delete(changefeed::CHANGES_TABLE, &s.to_be_bytes())?;
            }
            Ok(())
        });
        match result {
            Ok(()) => {
                stats.commits.fetch_add(1, Ordering::Relaxed);
                stats.trimmed_changes.fetch_add(trimmed, Ordering::Relaxed);
                unsettled = true;
                feed.oldest_seq += trimmed;
                feed.next_seq = seq;
                if seq > group_start_seq {
                    notifier.publish(seq - 1);
                }
                for c in completions {
                    c(Ok(()));
                }
            }
            Err(e) => {
                let err = DocstoreError::from(e);
                for c in completions {
                    c(Err(err.clone()));
                }
                // Jobs that never ran (the engine failed before) still get an answer.
                for job in jobs.drain(..) {
                    drop(job);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::{KvResult, MemoryStore, Snapshot};

    /// A [`MemoryStore`] that counts [`KvStore::settle`] calls.
    #[derive(Default)]
    struct Settling {
        inner: MemoryStore,
        settles: AtomicU64,
    }

    impl KvStore for Settling {
        fn snapshot(&self) -> KvResult<Snapshot> {
            self.inner.snapshot()
        }
        fn write(&self, f: &mut dyn FnMut(&mut dyn KvWrite) -> KvResult<()>) -> KvResult<()> {
            self.inner.write(f)
        }
        fn settle(&self) -> KvResult<()> {
            self.settles.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    /// Waits (at most 10 s) until `kv` settled `n` times.
    fn wait_for_settles(kv: &Settling, n: u64) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while kv.settles.load(Ordering::SeqCst) < n && std::time::Instant::now() < deadline {
            std::thread::sleep(SETTLE_AFTER);
        }
    }

    #[test]
    fn the_engine_settles_once_after_writes_pause_and_never_while_idle() {
        let kv = Arc::new(Settling::default());
        let notifier = Arc::new(Notifier::new(0));
        let writer = Writer::start(kv.clone(), notifier, Some(u64::MAX)).expect("start");
        // Idle from the start: nothing was committed, so nothing to settle.
        std::thread::sleep(SETTLE_AFTER * 3);
        assert_eq!(kv.settles.load(Ordering::SeqCst), 0);
        for i in 0..5u32 {
            writer
                .submit(move |ctx| {
                    ctx.kv.put("t", &i.to_be_bytes(), b"v")?;
                    Ok(())
                })
                .expect("write");
        }
        // One settle per pause, however long the pause.
        wait_for_settles(&kv, 1);
        std::thread::sleep(SETTLE_AFTER * 3);
        assert_eq!(kv.settles.load(Ordering::SeqCst), 1);
        writer
            .submit(|ctx| {
                ctx.kv.put("t", b"again", b"v")?;
                Ok(())
            })
            .expect("write");
        wait_for_settles(&kv, 2);
        assert_eq!(kv.settles.load(Ordering::SeqCst), 2);
        let snap = kv.snapshot().expect("snap");
        assert!(snap.get("t", b"again").expect("get").is_some());
    }

    #[test]
    fn failing_job_does_not_poison_the_group_and_events_get_seqs() {
        let kv: Arc<dyn KvStore> = Arc::new(MemoryStore::new());
        let notifier = Arc::new(Notifier::new(0));
        let writer =
            Arc::new(Writer::start(kv.clone(), notifier.clone(), Some(u64::MAX)).expect("start"));
        let mut handles = Vec::new();
        for i in 0..40u32 {
            let w = writer.clone();
            handles.push(std::thread::spawn(move || {
                w.submit(move |ctx| {
                    ctx.kv.put("t", &i.to_be_bytes(), b"v")?;
                    ctx.events.push(ChangeEvent::namespace(
                        changefeed::ChangeOp::Drop,
                        "db",
                        &i.to_string(),
                        None,
                    ));
                    if i % 4 == 0 {
                        return Err(DocstoreError::bad_value("refused"));
                    }
                    Ok(i)
                })
            }));
        }
        let mut ok = 0;
        for h in handles {
            match h.join().expect("join") {
                Ok(_) => ok += 1,
                Err(e) => assert_eq!(e.mongo_code(), 2),
            }
        }
        assert_eq!(ok, 30);
        let snap = kv.snapshot().expect("snap");
        for i in 0..40u32 {
            let present = snap.get("t", &i.to_be_bytes()).expect("get").is_some();
            assert_eq!(present, i % 4 != 0, "key {i}");
        }
        let events = changefeed::changes_since(snap.as_ref(), 0, 1000).expect("changes");
        assert_eq!(events.len(), 30);
        assert!(
            events
                .iter()
                .enumerate()
                .all(|(i, e)| e.seq == i as u64 + 1)
        );
        assert_eq!(notifier.committed(), 30);
        let s = writer.stats();
        assert_eq!(s.operations, 40);
        assert!(s.commits >= 1 && s.commits <= 40);
    }

    #[test]
    fn a_panicking_operation_is_rolled_back_and_the_writer_survives() {
        let kv: Arc<dyn KvStore> = Arc::new(MemoryStore::new());
        let writer =
            Writer::start(kv.clone(), Arc::new(Notifier::new(0)), Some(u64::MAX)).expect("start");
        let r: Result<()> = writer.submit(|ctx| {
            ctx.kv.put("t", b"half", b"1")?;
            panic!("simulated bug");
        });
        assert!(matches!(r, Err(DocstoreError::Storage(_))));
        writer
            .submit(|ctx| Ok(ctx.kv.put("t", b"after", b"1")?))
            .expect("writer still works");
        let snap = kv.snapshot().expect("snap");
        assert!(snap.get("t", b"half").expect("g").is_none());
        assert!(snap.get("t", b"after").expect("g").is_some());
    }

    #[test]
    fn nested_failure_discards_only_the_nested_part() {
        let kv: Arc<dyn KvStore> = Arc::new(MemoryStore::new());
        let writer =
            Writer::start(kv.clone(), Arc::new(Notifier::new(0)), Some(u64::MAX)).expect("start");
        writer
            .submit(|ctx| {
                ctx.kv.put("t", b"outer", b"1")?;
                let r: Result<()> = ctx.nested(|c| {
                    c.kv.put("t", b"inner", b"1")?;
                    Err(DocstoreError::bad_value("no"))
                });
                assert!(r.is_err());
                ctx.nested(|c| Ok(c.kv.put("t", b"kept", b"1")?))?;
                Ok(())
            })
            .expect("submit");
        let snap = kv.snapshot().expect("snap");
        assert!(snap.get("t", b"outer").expect("g").is_some());
        assert!(snap.get("t", b"kept").expect("g").is_some());
        assert!(snap.get("t", b"inner").expect("g").is_none());
    }
}
