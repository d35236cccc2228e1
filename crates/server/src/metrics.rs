//! Prometheus metrics of the server, exposed at `/metrics` in the text exposition format.
//!
//! Hand-rolled on atomics (no registry crate): per API a request counter by status class and a
//! latency histogram; flow node errors by code; gauges read at scrape time (request-log queue,
//! store writer queue, deployed environments). Labels are escaped; the set of label values is
//! bounded by the deployed APIs (unmatched paths count under `api=""`).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

/// Upper bounds (seconds) of the latency histogram buckets.
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// Counters of one API (or of unmatched requests of an environment).
#[derive(Debug, Default)]
pub struct ApiMetrics {
    by_class: [AtomicU64; 5],
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl ApiMetrics {
    /// Records one request.
    pub fn observe(&self, status: u16, elapsed: Duration) {
        let class = usize::from((status / 100).clamp(1, 5)) - 1;
        self.by_class[class].fetch_add(1, Ordering::Relaxed);
        let secs = elapsed.as_secs_f64();
        for (i, b) in LATENCY_BUCKETS.iter().enumerate() {
            if secs <= *b {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(
            u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }
}

type Key = (String, String, String); // project, env, api

/// All metrics of the process.
#[derive(Debug, Default)]
pub struct Metrics {
    apis: RwLock<HashMap<Key, Arc<ApiMetrics>>>,
    node_errors: RwLock<HashMap<String, Arc<AtomicU64>>>,
}

/// Gauges sampled at scrape time.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gauges {
    /// Entries waiting in the request-log queue.
    pub log_queue_depth: u64,
    /// Request-log entries dropped because the queue was full.
    pub log_dropped: u64,
    /// Request-log entries stored (all environments, retention included).
    pub log_entries: u64,
    /// Bytes of the request-log segment files.
    pub log_disk_bytes: u64,
    /// Write operations waiting for the store's writer.
    pub store_queue_depth: u64,
    /// Write transactions the store committed (one fsync each).
    pub store_commits: u64,
    /// Write operations the store executed (`operations / commits` = group-commit batch).
    pub store_operations: u64,
    /// Empty commits the store made after writes paused (`docstore::limits::SETTLE_AFTER`).
    pub store_settles: u64,
    /// Deployed environments.
    pub environments: u64,
    /// Requests in flight.
    pub in_flight: u64,
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    /// The counters of `project`/`env`/`api` (created on first use).
    pub fn api(&self, project: &str, env: &str, api: &str) -> Arc<ApiMetrics> {
        let key = (project.to_string(), env.to_string(), api.to_string());
        if let Some(m) = self
            .apis
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return m.clone();
        }
        self.apis
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(key)
            .or_default()
            .clone()
    }

    /// Counts a flow failure with `code`.
    pub fn node_error(&self, code: &str) {
        if let Some(c) = self
            .node_errors
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(code)
        {
            c.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.node_errors
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(code.to_string())
            .or_default()
            .fetch_add(1, Ordering::Relaxed);
    }

    /// The text exposition.
    pub fn render(&self, g: Gauges) -> String {
        let mut out = String::new();
        let apis = self.apis.read().unwrap_or_else(PoisonError::into_inner);
        let mut keys: Vec<&Key> = apis.keys().collect();
        keys.sort();
        out.push_str("# HELP stratus_requests_total Runtime requests by API and status class.\n");
        out.push_str("# TYPE stratus_requests_total counter\n");
        for k in &keys {
            let m = &apis[*k];
            for (i, c) in m.by_class.iter().enumerate() {
                let n = c.load(Ordering::Relaxed);
                if n > 0 {
                    let _ = writeln!(
                        out,
                        "stratus_requests_total{{project=\"{}\",env=\"{}\",api=\"{}\",status=\"{}xx\"}} {n}",
                        escape(&k.0),
                        escape(&k.1),
                        escape(&k.2),
                        i + 1
                    );
                }
            }
        }
        out.push_str("# HELP stratus_request_duration_seconds Runtime request latency.\n");
        out.push_str("# TYPE stratus_request_duration_seconds histogram\n");
        for k in &keys {
            let m = &apis[*k];
            let labels = format!(
                "project=\"{}\",env=\"{}\",api=\"{}\"",
                escape(&k.0),
                escape(&k.1),
                escape(&k.2)
            );
            for (i, b) in LATENCY_BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "stratus_request_duration_seconds_bucket{{{labels},le=\"{b}\"}} {}",
                    m.buckets[i].load(Ordering::Relaxed)
                );
            }
            let count = m.count.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "stratus_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {count}"
            );
            let _ = writeln!(
                out,
                "stratus_request_duration_seconds_sum{{{labels}}} {}",
                m.sum_us.load(Ordering::Relaxed) as f64 / 1e6
            );
            let _ = writeln!(
                out,
                "stratus_request_duration_seconds_count{{{labels}}} {count}"
            );
        }
        drop(apis);
        out.push_str("# HELP stratus_flow_errors_total Failed flow runs by error code.\n");
        out.push_str("# TYPE stratus_flow_errors_total counter\n");
        let errs = self
            .node_errors
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let mut codes: Vec<&String> = errs.keys().collect();
        codes.sort();
        for c in codes {
            let _ = writeln!(
                out,
                "stratus_flow_errors_total{{code=\"{}\"}} {}",
                escape(c),
                errs[c].load(Ordering::Relaxed)
            );
        }
        drop(errs);
        for (name, help, v) in [
            (
                "stratus_request_log_queue_depth",
                "Request-log entries waiting to be written.",
                g.log_queue_depth,
            ),
            (
                "stratus_request_log_dropped_total",
                "Request-log entries dropped (queue full).",
                g.log_dropped,
            ),
            (
                "stratus_request_log_entries",
                "Request-log entries stored (all environments).",
                g.log_entries,
            ),
            (
                "stratus_request_log_disk_bytes",
                "Bytes of the request-log segment files.",
                g.log_disk_bytes,
            ),
            (
                "stratus_store_writer_queue_depth",
                "Writes waiting for the store writer.",
                g.store_queue_depth,
            ),
            (
                "stratus_store_commits_total",
                "Store write transactions committed (one fsync each).",
                g.store_commits,
            ),
            (
                "stratus_store_write_operations_total",
                "Store write operations executed (group commit shares commits among them).",
                g.store_operations,
            ),
            (
                "stratus_store_settles_total",
                "Empty store commits after writes paused (they keep reads that miss the cache fast).",
                g.store_settles,
            ),
            (
                "stratus_environments",
                "Deployed project environments.",
                g.environments,
            ),
            (
                "stratus_requests_in_flight",
                "Runtime requests being served.",
                g.in_flight,
            ),
        ] {
            let kind = if name.ends_with("_total") {
                "counter"
            } else {
                "gauge"
            };
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}"
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histograms_and_gauges() {
        let m = Metrics::default();
        let a = m.api("shop", "development", "list \"x\"");
        a.observe(200, Duration::from_micros(700));
        a.observe(404, Duration::from_millis(30));
        m.node_error("flow_timeout");
        let text = m.render(Gauges {
            log_queue_depth: 3,
            log_entries: 12,
            log_disk_bytes: 4096,
            store_commits: 4,
            store_operations: 9,
            store_settles: 2,
            ..Gauges::default()
        });
        assert!(
            text.contains(
                "# TYPE stratus_store_commits_total counter\nstratus_store_commits_total 4"
            )
        );
        assert!(text.contains("stratus_store_write_operations_total 9"));
        assert!(text.contains("stratus_store_settles_total 2"));
        assert!(text.contains(r#"stratus_requests_total{project="shop",env="development",api="list \"x\"",status="2xx"} 1"#));
        assert!(text.contains(r#"status="4xx"} 1"#));
        assert!(text.contains(r#"le="0.001"} 1"#));
        assert!(text.contains(r#"le="0.05"} 2"#));
        assert!(text.contains(r#"le="+Inf"} 2"#));
        assert!(text.contains("stratus_flow_errors_total{code=\"flow_timeout\"} 1"));
        assert!(text.contains("stratus_request_log_queue_depth 3"));
        assert!(
            text.contains(
                "# TYPE stratus_request_log_entries gauge\nstratus_request_log_entries 12"
            )
        );
        assert!(text.contains("stratus_request_log_disk_bytes 4096"));
    }
}
