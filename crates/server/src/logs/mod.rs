//! Request logs (the product feature, not the server's diagnostic log): one entry per runtime
//! request of a user API, appended to per-environment segment files under
//! `<data-dir>/logs/` ([`segment`]), queryable with filters and paging ([`search`]), kept by
//! a size/age retention policy that deletes whole segments. User-facing description:
//! `docs/request-logs.md`.
//!
//! Invariants:
//! - [`RequestLogs::record`] never blocks: it hands the record to a bounded queue
//!   ([`LogConfig::queue_capacity`]) and drops it (counted in [`RequestLogs::dropped`]) when
//!   the queue is full;
//! - one background std thread ([`writer`]) is the only writer of the segment files; it needs
//!   no async runtime;
//! - every record is scrubbed ([`scrub`]) before it is stored: credentials in headers, query
//!   parameters, bearer values and JWT-looking strings never reach a segment file.

mod backup;
mod catalog;
pub mod entry;
pub mod error;
pub mod query;
pub mod scrub;
mod search;
pub mod segment;
mod summary;
pub mod writer;

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use entry::env_dir_name;
pub use error::LogError;
pub use query::{DEFAULT_LIMIT, LogPage, LogQuery, MAX_LIMIT, MAX_OFFSET};

use catalog::{Catalog, OpenReport};
use writer::{Msg, Shared, Writer};

/// Name of the request-log directory inside a data directory (and inside a backup).
pub const LOGS_DIR: &str = "logs";

/// Default capacity of the queue between requests and the writer (config
/// `logs.queue_capacity`).
pub const QUEUE_CAPACITY: usize = 8_192;

/// Default most records per write transaction.
pub const BATCH_MAX: usize = 500;

/// Default age after which entries are deleted: 7 days (config `logs.max_age_secs`).
pub const MAX_AGE: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Default most entries kept per project environment; the oldest go first (config
/// `logs.max_entries_per_env`).
pub const MAX_ENTRIES_PER_ENV: u64 = 100_000;

/// Default time between two retention passes.
pub const RETENTION_INTERVAL: Duration = Duration::from_secs(60);

/// Default size at which a segment file is closed and the next one started (config
/// `logs.segment_bytes`).
pub const SEGMENT_BYTES: u64 = 4 * 1024 * 1024;

/// Smallest accepted `logs.segment_bytes`.
pub const MIN_SEGMENT_BYTES: u64 = 64 * 1024;

/// Largest accepted `logs.segment_bytes` (a query holds one segment in memory at a time).
pub const MAX_SEGMENT_BYTES: u64 = 256 * 1024 * 1024;

/// Default longest time written entries wait for an fsync: a crash loses at most this much
/// of the request logs (never user data).
pub const SYNC_INTERVAL: Duration = Duration::from_secs(1);

/// One request's log entry, as the HTTP layer hands it over (scrubbed by the writer).
#[derive(Debug, Clone, PartialEq)]
pub struct LogRecord {
    /// When the request arrived.
    pub time: bson::DateTime,
    /// The request id (the `x-request-id` response header).
    pub request_id: String,
    /// Project slug.
    pub project: String,
    /// Environment name.
    pub env: String,
    /// The API's name, if the request matched one.
    pub api: Option<String>,
    /// HTTP method.
    pub method: String,
    /// Request path with its query string.
    pub path: String,
    /// Response status.
    pub status: u16,
    /// Time to respond, in microseconds.
    pub duration_us: u64,
    /// Node trace from the flow engine (already redacted by the flow engine).
    pub trace: LogTrace,
    /// Values of debug nodes: `{"label", "value"}`.
    pub debug: Vec<serde_json::Value>,
    /// Cause of a 4xx/5xx, e.g. `flow_timeout: …`.
    pub error: Option<String>,
    /// Request headers (sensitive values are redacted before storage).
    pub request_headers: Vec<(String, String)>,
}

/// The node trace of a log record: the flow engine's [`Trace`](stratus_flow::trace::Trace)
/// as it came out of the run (serialised only by the log writer, off the request path), or
/// any JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum LogTrace {
    /// A flow run's trace.
    Flow(stratus_flow::trace::Trace),
    /// Arbitrary JSON (requests that ran no flow log `[]`).
    Json(serde_json::Value),
}

impl Default for LogTrace {
    fn default() -> Self {
        LogTrace::Json(serde_json::Value::Array(Vec::new()))
    }
}

impl From<serde_json::Value> for LogTrace {
    fn from(v: serde_json::Value) -> Self {
        LogTrace::Json(v)
    }
}

/// Initial JSON buffer per trace entry (an estimate; the buffer grows when needed).
const TRACE_BYTES_PER_ENTRY: usize = 160;

impl LogTrace {
    /// The JSON text of the trace.
    pub fn to_json_text(&self) -> String {
        match self {
            LogTrace::Flow(t) => {
                // Sized for a typical entry up front: growing the buffer step by step was a
                // tenth of the log writer's time.
                let mut out = Vec::with_capacity(TRACE_BYTES_PER_ENTRY * (t.entries.len() + 1));
                match serde_json::to_writer(&mut out, t) {
                    Ok(()) => String::from_utf8(out).unwrap_or_else(|_| "null".into()),
                    Err(_) => "null".into(),
                }
            }
            LogTrace::Json(v) => v.to_string(),
        }
    }
}

/// Settings of the request logs; [`Default`] uses the named constants of this module.
#[derive(Debug, Clone, PartialEq)]
pub struct LogConfig {
    /// Capacity of the queue between requests and the writer.
    pub queue_capacity: usize,
    /// Most records stored per write transaction.
    pub batch_max: usize,
    /// Entries older than this are deleted.
    pub max_age: Duration,
    /// Most entries kept per project environment (oldest deleted first).
    pub max_entries_per_env: u64,
    /// Time between two retention passes (a pass also runs when the writer starts).
    pub retention_interval: Duration,
    /// Size at which a segment file is closed and the next one started.
    pub segment_bytes: u64,
    /// Longest time written entries wait for an fsync.
    pub sync_interval: Duration,
}

/// Largest accepted `logs.queue_capacity` (each queued entry holds a whole request's trace).
pub const MAX_QUEUE_CAPACITY: usize = 1_000_000;

/// Largest accepted batch size (one write transaction).
pub const MAX_BATCH: usize = 10_000;

/// Smallest accepted `logs.max_age_secs`.
pub const MIN_MAX_AGE: Duration = Duration::from_secs(60);

impl LogConfig {
    /// Checks the settings; an error names the config key (`logs.queue_capacity`, …) and the
    /// accepted range.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let err = |key: &str, msg: String| Err((format!("logs.{key}"), msg));
        if !(1..=MAX_QUEUE_CAPACITY).contains(&self.queue_capacity) {
            return err(
                "queue_capacity",
                format!("must be from 1 to {MAX_QUEUE_CAPACITY}"),
            );
        }
        if !(1..=MAX_BATCH).contains(&self.batch_max) {
            return err("batch_max", format!("must be from 1 to {MAX_BATCH}"));
        }
        if self.max_age < MIN_MAX_AGE {
            return err(
                "max_age_secs",
                format!("must be at least {}", MIN_MAX_AGE.as_secs()),
            );
        }
        if self.max_entries_per_env == 0 {
            return err("max_entries_per_env", "must be at least 1".into());
        }
        if self.retention_interval.is_zero() {
            return err("retention_interval", "must not be zero".into());
        }
        if !(MIN_SEGMENT_BYTES..=MAX_SEGMENT_BYTES).contains(&self.segment_bytes) {
            return err(
                "segment_bytes",
                format!("must be from {MIN_SEGMENT_BYTES} to {MAX_SEGMENT_BYTES}"),
            );
        }
        Ok(())
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            queue_capacity: QUEUE_CAPACITY,
            batch_max: BATCH_MAX,
            max_age: MAX_AGE,
            max_entries_per_env: MAX_ENTRIES_PER_ENV,
            retention_interval: RETENTION_INTERVAL,
            segment_bytes: SEGMENT_BYTES,
            sync_interval: SYNC_INTERVAL,
        }
    }
}

/// Handle to the request logs: cheap to clone, `Send + Sync`.
#[derive(Clone)]
pub struct RequestLogs {
    inner: Arc<Inner>,
}

struct Inner {
    catalog: Arc<Catalog>,
    config: LogConfig,
    tx: SyncSender<Msg>,
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for RequestLogs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestLogs")
            .field("queue_depth", &self.queue_depth())
            .field("written", &self.written())
            .field("dropped", &self.dropped())
            .finish()
    }
}

/// While alive, the writer takes nothing off the queue ([`RequestLogs::pause`]).
#[derive(Debug)]
#[must_use = "the writer resumes when the guard is dropped"]
pub struct WriterPause {
    shared: Arc<Shared>,
}

impl Drop for WriterPause {
    fn drop(&mut self) {
        self.shared.set_paused(false);
    }
}

impl RequestLogs {
    /// Opens the request logs kept in directory `dir` (created if missing; the server uses
    /// `<data-dir>/`[`LOGS_DIR`]) and starts the writer thread. Existing segments are scanned,
    /// sealed ones with an intact summary excepted, and sealed ones scanned get a summary for
    /// the next start (a torn tail left by a crash is cut when the writer next appends); what could not be
    /// used is returned for the server's diagnostic log. Should the thread fail to start,
    /// every record is dropped and counted. Out-of-range settings are clamped (a capacity or
    /// batch of 0 counts as 1); check them first with [`LogConfig::validate`].
    pub fn open(dir: &Path, config: LogConfig) -> Result<(RequestLogs, Vec<String>), LogError> {
        let (catalog, report) = Catalog::open(dir)?;
        for meta in &report.unsummarized {
            // Best effort: without a summary the next start scans the segment again.
            let _ = summary::write(meta);
        }
        let catalog = Arc::new(catalog);
        let (tx, rx) = sync_channel(config.queue_capacity.max(1));
        let shared = Arc::new(Shared::default());
        shared.running.store(true, Ordering::SeqCst);
        let writer = Writer::new(catalog.clone(), config.clone(), shared.clone(), rx);
        let thread = std::thread::Builder::new()
            .name("stratus-request-logs".into())
            .spawn(move || writer.run());
        let thread = match thread {
            Ok(t) => Some(t),
            Err(_) => {
                shared.running.store(false, Ordering::SeqCst);
                None
            }
        };
        let logs = RequestLogs {
            inner: Arc::new(Inner {
                catalog,
                config,
                tx,
                shared,
                thread: Mutex::new(thread),
            }),
        };
        Ok((logs, open_warnings(&report)))
    }

    /// Queues `rec` for writing; never blocks. When the queue is full (or the writer has
    /// stopped) the record is dropped and counted in [`RequestLogs::dropped`].
    pub fn record(&self, rec: LogRecord) {
        match self.inner.tx.try_send(Msg::Record(Box::new(rec))) {
            Ok(()) => {
                self.inner.shared.enqueued.fetch_add(1, Ordering::SeqCst);
            }
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.inner.shared.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Records queued and not yet finished by the writer.
    pub fn queue_depth(&self) -> usize {
        let s = &self.inner.shared;
        let pending = s
            .enqueued
            .load(Ordering::SeqCst)
            .saturating_sub(s.processed());
        usize::try_from(pending).unwrap_or(usize::MAX)
    }

    /// Records dropped because the queue was full or the writer had stopped.
    pub fn dropped(&self) -> u64 {
        self.inner.shared.dropped.load(Ordering::Relaxed)
    }

    /// Records stored.
    pub fn written(&self) -> u64 {
        self.inner.shared.written.load(Ordering::Relaxed)
    }

    /// Records the store refused (I/O errors, invalid project/env names, oversized entries).
    pub fn failed(&self) -> u64 {
        self.inner.shared.failed.load(Ordering::Relaxed)
    }

    /// Completed retention passes (one runs at start, then every `retention_interval`).
    pub fn retention_passes(&self) -> u64 {
        self.inner.shared.retention_passes.load(Ordering::SeqCst)
    }

    /// Entries deleted by retention since start.
    pub fn retention_deleted(&self) -> u64 {
        self.inner.shared.retention_deleted.load(Ordering::Relaxed)
    }

    /// Pauses the writer until the returned guard is dropped (tests and maintenance): records
    /// keep queuing and are dropped once the queue is full.
    pub fn pause(&self) -> WriterPause {
        self.inner.shared.set_paused(true);
        WriterPause {
            shared: self.inner.shared.clone(),
        }
    }

    /// Waits until every record queued before the call is written (or failed); false when
    /// `timeout` passed first or the writer has stopped.
    pub fn flush(&self, timeout: Duration) -> bool {
        let target = self.inner.shared.enqueued.load(Ordering::SeqCst);
        self.inner.shared.wait_processed(target, timeout)
    }

    /// Flushes (within `timeout`), then stops the writer thread and waits for it. Records
    /// arriving afterwards are dropped. Calling it again does nothing.
    pub fn shutdown(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        self.flush(timeout);
        let handle = self
            .inner
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(handle) = handle else {
            return;
        };
        self.inner.shared.set_paused(false);
        // The queue may be full: retry the stop message until the deadline.
        loop {
            match self.inner.tx.try_send(Msg::Stop) {
                Ok(()) => break,
                Err(TrySendError::Disconnected(_)) => break,
                Err(TrySendError::Full(_)) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(TrySendError::Full(_)) => return, // gave up; the thread ends with the handles
            }
        }
        // The writer ends after its current batch; a panic in it has nothing left to report.
        if handle.join().is_err() {
            self.inner.shared.running.store(false, Ordering::SeqCst);
        }
    }

    /// Entries stored in every environment (retention included).
    pub fn entries(&self) -> u64 {
        self.inner.catalog.total_entries()
    }

    /// Bytes of the segment files of every environment.
    pub fn disk_bytes(&self) -> u64 {
        self.inner.catalog.total_bytes()
    }

    /// One page of the entries of `project`/`env` matching `q`, newest first, with the total
    /// number of matches. Synchronous (call it from a blocking task).
    pub fn query(&self, project: &str, env: &str, q: &LogQuery) -> Result<LogPage, LogError> {
        q.validate().map_err(LogError::InvalidQuery)?;
        let dir = env_dir_name(project, env)?;
        let config = &self.inner.config;
        let max_age_ms = i64::try_from(config.max_age.as_millis()).unwrap_or(i64::MAX);
        let vis = search::Visibility {
            cutoff_ms: bson::DateTime::now()
                .timestamp_millis()
                .saturating_sub(max_age_ms),
            max_entries: config.max_entries_per_env,
        };
        search::run(&self.inner.catalog, &dir, q, vis)
    }

    /// Copies every environment's segments, as written so far, into `out` (a new directory
    /// laid out like the live one; each copy is fsync'd). Runs while the server logs. Returns
    /// the number of entries copied.
    pub fn backup_to(&self, out: &Path) -> Result<u64, LogError> {
        Ok(backup::copy(&self.inner.catalog, out)?)
    }
}

/// Copies the request logs of directory `dir` (not in use by a running server) into `out`;
/// returns the number of entries copied. A missing `dir` copies nothing.
pub fn backup_dir(dir: &Path, out: &Path) -> Result<u64, LogError> {
    if !dir.is_dir() {
        return Ok(0);
    }
    let (catalog, _) = Catalog::open(dir)?;
    Ok(backup::copy(&catalog, out)?)
}

fn open_warnings(report: &OpenReport) -> Vec<String> {
    let mut out = Vec::new();
    for p in &report.torn_tails {
        out.push(format!(
            "request-log segment {} ends with an incomplete entry (crash while writing); it is cut off",
            p.display()
        ));
    }
    for p in &report.unreadable {
        out.push(format!(
            "request-log segment {} is not readable by this version; it is left untouched and not shown",
            p.display()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_validation_names_the_key() {
        assert_eq!(LogConfig::default().validate(), Ok(()));
        let cases = [
            (
                LogConfig {
                    queue_capacity: 0,
                    ..LogConfig::default()
                },
                "logs.queue_capacity",
            ),
            (
                LogConfig {
                    queue_capacity: MAX_QUEUE_CAPACITY + 1,
                    ..LogConfig::default()
                },
                "logs.queue_capacity",
            ),
            (
                LogConfig {
                    batch_max: 0,
                    ..LogConfig::default()
                },
                "logs.batch_max",
            ),
            (
                LogConfig {
                    max_age: Duration::from_secs(59),
                    ..LogConfig::default()
                },
                "logs.max_age_secs",
            ),
            (
                LogConfig {
                    max_entries_per_env: 0,
                    ..LogConfig::default()
                },
                "logs.max_entries_per_env",
            ),
            (
                LogConfig {
                    retention_interval: Duration::ZERO,
                    ..LogConfig::default()
                },
                "logs.retention_interval",
            ),
            (
                LogConfig {
                    segment_bytes: MIN_SEGMENT_BYTES - 1,
                    ..LogConfig::default()
                },
                "logs.segment_bytes",
            ),
            (
                LogConfig {
                    segment_bytes: MAX_SEGMENT_BYTES + 1,
                    ..LogConfig::default()
                },
                "logs.segment_bytes",
            ),
        ];
        for (config, key) in cases {
            let got = config.validate().err().map(|(k, _)| k);
            assert_eq!(got.as_deref(), Some(key));
        }
    }
}
