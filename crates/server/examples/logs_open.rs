//! Start-up cost of the request logs (not a benchmark harness): fills a logs directory with
//! `n` entries over `envs` environments once (kept for later runs), then times
//! `RequestLogs::open` with the sealed segments' summaries in place and again after deleting
//! them (the open rewrites them, so the runs alternate: delete, open, open).
//!
//! Run: `cargo run --release -p stratus-server --example logs_open -- <dir> [n=400000] [envs=4]`.

use std::path::Path;
use std::time::{Duration, Instant};

use bson::DateTime;
use serde_json::json;
use stratus_server::logs::{LogConfig, LogRecord, RequestLogs};

type BoxError = Box<dyn std::error::Error>;

fn arg<T: std::str::FromStr>(n: usize, default: T) -> T {
    std::env::args()
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn config() -> LogConfig {
    LogConfig {
        max_age: Duration::from_secs(100 * 365 * 24 * 3600),
        max_entries_per_env: 10_000_000,
        queue_capacity: 20_000,
        ..LogConfig::default()
    }
}

fn record(env: usize, i: usize) -> LogRecord {
    LogRecord {
        time: DateTime::from_millis(1_700_000_000_000 + i as i64),
        request_id: format!("r{i}"),
        project: "shop".into(),
        env: format!("env{env}"),
        api: Some("listProducts".into()),
        method: "GET".into(),
        path: "/shop/env/api/products".into(),
        status: 200,
        duration_us: 1500,
        trace: json!([{"node": "found", "status": "ok"}]).into(),
        debug: vec![],
        error: None,
        request_headers: vec![("accept".into(), "application/json".into())],
    }
}

fn timed_open(dir: &Path) -> Result<(Duration, u64), BoxError> {
    let start = Instant::now();
    let (logs, _) = RequestLogs::open(dir, config())?;
    let took = start.elapsed();
    let entries = logs.entries();
    logs.shutdown(Duration::from_secs(10));
    Ok((took, entries))
}

fn remove_summaries(dir: &Path) -> Result<usize, BoxError> {
    let mut removed = 0;
    for env in std::fs::read_dir(dir)? {
        for f in std::fs::read_dir(env?.path())? {
            let p = f?.path();
            if p.extension().is_some_and(|x| x == "sum") {
                std::fs::remove_file(p)?;
                removed += 1;
            }
        }
    }
    Ok(removed)
}

fn main() -> Result<(), BoxError> {
    let dir: String = arg(1, "/tmp/stratus-logs-open".to_string());
    let n: usize = arg(2, 400_000);
    let envs: usize = arg(3, 4);
    let dir = Path::new(&dir);
    if !dir.exists() {
        let (logs, _) = RequestLogs::open(dir, config())?;
        for i in 0..n {
            logs.record(record(i % envs, i));
            if i % 10_000 == 9_999 && !logs.flush(Duration::from_secs(60)) {
                return Err("flush timed out".into());
            }
        }
        logs.shutdown(Duration::from_secs(60));
    }
    for round in 0..3 {
        let removed = remove_summaries(dir)?;
        let (scan, entries) = timed_open(dir)?;
        let (summarised, again) = timed_open(dir)?;
        println!(
            "round {round}: {entries} entries; without summaries ({removed} removed) {:.1} ms, with {:.1} ms ({again} entries)",
            scan.as_secs_f64() * 1e3,
            summarised.as_secs_f64() * 1e3
        );
    }
    Ok(())
}
