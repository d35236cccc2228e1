//! Request logs (the product feature, not the server's diagnostic log): one entry per runtime
//! request of a user API, stored in a separate document store (`logs.redb`), queryable with
//! filters and paging, kept by a size/age retention policy. User-facing description:
//! `docs/request-logs.md`.
//!
//! Invariants:
//! - [`RequestLogs::record`] never blocks: it hands the record to a bounded queue
//!   ([`LogConfig::queue_capacity`]) and drops it (counted in [`RequestLogs::dropped`]) when
//!   the queue is full;
//! - one background std thread ([`writer`]) is the only writer of the log store; it needs no
//!   async runtime;
//! - every record is scrubbed ([`scrub`]) before it is stored: credentials in headers, query
//!   parameters, bearer values and JWT-looking strings never reach the store file.

pub mod entry;
pub mod error;
pub mod query;
pub mod scrub;
pub mod writer;

use std::sync::atomic::Ordering;
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use stratus_docstore::{FindOptions, Store};

pub use entry::{LOG_DB, collection_name};
pub use error::LogError;
pub use query::{DEFAULT_LIMIT, LogPage, LogQuery, MAX_LIMIT, MAX_OFFSET};

use entry::{newest_first, to_json};
use writer::{Msg, Shared, Writer};

/// Default capacity of the queue between requests and the writer (config
/// `logs.queue_capacity`).
pub const QUEUE_CAPACITY: usize = 1_000;

/// Default most records per write transaction.
pub const BATCH_MAX: usize = 500;

/// Default age after which entries are deleted: 7 days (config `logs.max_age_secs`).
pub const MAX_AGE: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Default most entries kept per project environment; the oldest go first (config
/// `logs.max_entries_per_env`).
pub const MAX_ENTRIES_PER_ENV: u64 = 100_000;

/// Default time between two retention passes.
pub const RETENTION_INTERVAL: Duration = Duration::from_secs(60);

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

impl LogTrace {
    /// The JSON text of the trace.
    pub fn to_json_text(&self) -> String {
        match self {
            LogTrace::Flow(t) => serde_json::to_string(t).unwrap_or_else(|_| "null".into()),
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
        }
    }
}

/// Handle to the request logs: cheap to clone, `Send + Sync`.
#[derive(Clone)]
pub struct RequestLogs {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
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
    /// Starts the writer thread over `store` (its own file, e.g. `<data-dir>/logs.redb`).
    /// Should the thread fail to start, every record is dropped and counted. Out-of-range
    /// settings are clamped (a capacity or batch of 0 counts as 1); check them first with
    /// [`LogConfig::validate`].
    pub fn start(store: Store, config: LogConfig) -> RequestLogs {
        let (tx, rx) = sync_channel(config.queue_capacity.max(1));
        let shared = Arc::new(Shared::default());
        shared.running.store(true, Ordering::SeqCst);
        let writer = Writer::new(store.clone(), config, shared.clone(), rx);
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
        RequestLogs {
            inner: Arc::new(Inner {
                store,
                tx,
                shared,
                thread: Mutex::new(thread),
            }),
        }
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

    /// One page of the entries of `project`/`env` matching `q`, newest first, with the total
    /// number of matches. Synchronous (call it from a blocking task).
    pub fn query(&self, project: &str, env: &str, q: &LogQuery) -> Result<LogPage, LogError> {
        q.validate().map_err(LogError::InvalidQuery)?;
        let coll = collection_name(project, env)?;
        let filter = q.to_filter();
        let store = &self.inner.store;
        let total = store.count_documents(LOG_DB, &coll, &filter, 0, 0)?;
        let options = FindOptions {
            filter,
            sort: Some(newest_first()),
            skip: q.offset,
            limit: i64::try_from(q.limit).unwrap_or(i64::MAX),
            ..Default::default()
        };
        let mut data = Vec::new();
        for doc in store.find(LOG_DB, &coll, options)? {
            data.push(to_json(&doc?));
        }
        Ok(LogPage { data, total })
    }
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
        ];
        for (config, key) in cases {
            let got = config.validate().err().map(|(k, _)| k);
            assert_eq!(got.as_deref(), Some(key));
        }
    }
}
