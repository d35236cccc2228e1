//! Integration tests of the request logs on real (temp-dir) segment files: writing and
//! querying, every filter and paging, ordering, the never-blocking queue, flush, retention by
//! age and by count (files deleted, disk given back), persistence across reopen, recovery
//! from a torn tail, scrubbing (query output and raw file bytes) and a multi-thread stress
//! run.

use std::path::Path;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use bson::DateTime;
use serde_json::{Value, json};
use stratus_server::logs::{LogConfig, LogQuery, LogRecord, RequestLogs};

const WAIT: Duration = Duration::from_secs(20);
/// A fixed "now" for records whose age does not matter (2026-01-01T00:00:00Z).
const T0: i64 = 1_767_225_600_000;
const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZGEifQ.c2lnbmF0dXJlLXNlY3JldA";

/// Queue large enough for the bursts these tests send while the writer is paused.
const TEST_QUEUE: usize = 20_000;

/// The default configuration, except that no entry is old enough for age retention (the
/// fixtures use fixed dates in the past) and the queue holds the tests' bursts.
fn keep_all() -> LogConfig {
    LogConfig {
        max_age: Duration::from_secs(100 * 365 * 24 * 3600),
        queue_capacity: TEST_QUEUE,
        ..LogConfig::default()
    }
}

fn start(dir: &Path, config: LogConfig) -> RequestLogs {
    let (logs, warnings) = RequestLogs::open(&dir.join("logs"), config).expect("open logs");
    assert_eq!(warnings, Vec::<String>::new());
    logs
}

/// Every byte of every file under `dir/logs`, concatenated.
fn raw_files(dir: &Path) -> Vec<u8> {
    fn walk(p: &Path, out: &mut Vec<u8>) {
        for e in std::fs::read_dir(p).expect("read dir") {
            let path = e.expect("entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.extend(std::fs::read(&path).expect("read file"));
            }
        }
    }
    let mut out = Vec::new();
    walk(&dir.join("logs"), &mut out);
    out
}

/// The segment files of environment `env` of project `shop`.
fn segments(dir: &Path, env: &str) -> Vec<std::path::PathBuf> {
    let name = stratus_server::logs::env_dir_name("shop", env).expect("name");
    stratus_server::logs::segment::list(&dir.join("logs").join(name))
        .expect("list")
        .into_iter()
        .map(|(_, p)| p)
        .collect()
}

fn rec(env: &str, id: &str, ms: i64) -> LogRecord {
    LogRecord {
        time: DateTime::from_millis(ms),
        request_id: id.to_string(),
        project: "shop".into(),
        env: env.into(),
        api: Some("listProducts".into()),
        method: "GET".into(),
        path: "/shop/development/api/products".into(),
        status: 200,
        duration_us: 1500,
        trace: json!([{"node": "found", "status": "ok"}]).into(),
        debug: vec![],
        error: None,
        request_headers: vec![("accept".into(), "application/json".into())],
    }
}

fn ids(logs: &RequestLogs, env: &str, q: &LogQuery) -> (Vec<String>, u64) {
    let page = logs.query("shop", env, q).expect("query");
    let ids = page
        .data
        .iter()
        .map(|v| v["requestId"].as_str().unwrap_or("?").to_string())
        .collect();
    (ids, page.total)
}

fn params(pairs: &[(&str, &str)]) -> LogQuery {
    let p: Vec<(String, String)> = pairs
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    LogQuery::from_query_params(&p).expect("valid params")
}

/// Query parameters and the request ids expected, in order.
type Case<'a> = (Vec<(&'a str, &'a str)>, Vec<&'a str>);

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn records_are_written_and_returned_newest_first_with_all_fields() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = start(dir.path(), keep_all());
    for i in 0..5 {
        logs.record(rec("development", &format!("r{i}"), T0 + i * 1000));
    }
    assert!(logs.flush(WAIT));
    assert_eq!((logs.written(), logs.dropped(), logs.failed()), (5, 0, 0));
    assert_eq!(logs.queue_depth(), 0);
    let page = logs
        .query("shop", "development", &LogQuery::default())
        .expect("query");
    assert_eq!(page.total, 5);
    let got: Vec<&str> = page
        .data
        .iter()
        .filter_map(|v| v["requestId"].as_str())
        .collect();
    assert_eq!(got, ["r4", "r3", "r2", "r1", "r0"]);
    assert_eq!(
        page.data[4],
        json!({
            "time": "2026-01-01T00:00:00Z",
            "requestId": "r0", "project": "shop", "env": "development",
            "api": "listProducts", "method": "GET", "path": "/shop/development/api/products",
            "status": 200, "durationUs": 1500, "error": null,
            "requestHeaders": {"accept": "application/json"},
            "debug": [], "trace": [{"node": "found", "status": "ok"}]
        })
    );
    // Other environments and projects are separate.
    assert_eq!(ids(&logs, "production", &LogQuery::default()), (vec![], 0));
    let other = logs
        .query("other", "development", &LogQuery::default())
        .expect("query");
    assert_eq!(other.total, 0);
    logs.shutdown(WAIT);
}

#[test]
fn equal_times_list_in_reverse_insertion_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = start(dir.path(), keep_all());
    for i in 0..30 {
        logs.record(rec("development", &format!("r{i:02}"), T0));
    }
    assert!(logs.flush(WAIT));
    let (got, total) = ids(&logs, "development", &params(&[("limit", "100")]));
    let want: Vec<String> = (0..30).rev().map(|i| format!("r{i:02}")).collect();
    assert_eq!((got, total), (want, 30));
}

/// (id, api, status, seconds after T0, error, debug value).
type Row = (
    &'static str,
    Option<&'static str>,
    u16,
    i64,
    Option<&'static str>,
    Option<Value>,
);

/// The fixture of the filter table: (id, api, status, seconds after T0, error, debug value).
fn filter_fixture(logs: &RequestLogs) {
    let rows: [Row; 8] = [
        ("a1", Some("listProducts"), 200, 0, None, None),
        (
            "a2",
            Some("listProducts"),
            201,
            10,
            None,
            Some(json!("Cart total 42")),
        ),
        (
            "a3",
            Some("getProduct"),
            404,
            20,
            Some("not_found: no product x"),
            None,
        ),
        (
            "a4",
            Some("getProduct"),
            500,
            30,
            Some("flow_timeout: node slow"),
            None,
        ),
        (
            "a5",
            None,
            404,
            40,
            Some("not_found: no API matches GET /nope"),
            None,
        ),
        (
            "a6",
            Some("createOrder"),
            302,
            50,
            None,
            Some(json!({"deep": ["TIMEOUT soon"]})),
        ),
        (
            "a7",
            Some("createOrder"),
            422,
            60,
            Some("validation_failed"),
            None,
        ),
        ("a8", Some("createOrder"), 503, 70, None, Some(json!(7))),
    ];
    for (id, api, status, secs, error, debug) in rows {
        let mut r = rec("development", id, T0 + secs * 1000);
        r.api = api.map(str::to_string);
        r.status = status;
        r.error = error.map(str::to_string);
        if api.is_none() {
            r.path = "/shop/development/api/nope".into();
        }
        if let Some(d) = debug {
            r.debug = vec![json!({"label": "dbg", "value": d})];
        }
        logs.record(r);
    }
    assert!(logs.flush(WAIT));
}

#[test]
fn every_filter_selects_exactly_the_matching_entries() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = start(dir.path(), keep_all());
    filter_fixture(&logs);
    let iso = |secs: i64| {
        DateTime::from_millis(T0 + secs * 1000)
            .try_to_rfc3339_string()
            .expect("iso")
    };
    let (t20, t50) = (iso(20), iso(50));
    let cases: Vec<Case> = vec![
        (vec![], vec!["a8", "a7", "a6", "a5", "a4", "a3", "a2", "a1"]),
        (vec![("api", "getProduct")], vec!["a4", "a3"]),
        (vec![("api", "createOrder")], vec!["a8", "a7", "a6"]),
        (vec![("api", "nothing")], vec![]),
        (vec![("status", "404")], vec!["a5", "a3"]),
        (vec![("status", "200")], vec!["a1"]),
        (vec![("status", "2xx")], vec!["a2", "a1"]),
        (vec![("status", "3xx")], vec!["a6"]),
        (vec![("status", "4xx")], vec!["a7", "a5", "a3"]),
        (vec![("status", "5XX")], vec!["a8", "a4"]),
        (vec![("status", "1xx")], vec![]),
        (
            vec![("from", t20.as_str())],
            vec!["a8", "a7", "a6", "a5", "a4", "a3"],
        ),
        (vec![("to", t20.as_str())], vec!["a2", "a1"]),
        (
            vec![("from", t20.as_str()), ("to", t50.as_str())],
            vec!["a5", "a4", "a3"],
        ),
        (vec![("q", "timeout")], vec!["a6", "a4"]),
        (vec![("q", "NOT_FOUND")], vec!["a5", "a3"]),
        (vec![("q", "/api/nope")], vec!["a5"]),
        (vec![("q", "cart total")], vec!["a2"]),
        (vec![("q", "a7")], vec!["a7"]),
        (vec![("q", "createorder")], vec!["a8", "a7", "a6"]),
        (vec![("q", ".*")], vec![]),
        (vec![("requestId", "a3")], vec!["a3"]),
        (vec![("requestId", "a")], vec![]),
        (vec![("api", "getProduct"), ("status", "5xx")], vec!["a4"]),
        (
            vec![
                ("status", "4xx"),
                ("q", "not_found"),
                ("from", t20.as_str()),
            ],
            vec!["a5", "a3"],
        ),
    ];
    for (input, want) in cases {
        let (got, total) = ids(&logs, "development", &params(&input));
        assert_eq!(got, want, "filter {input:?}");
        assert_eq!(total, want.len() as u64, "total of {input:?}");
    }
}

#[test]
fn paging_walks_all_matches_with_a_stable_total() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = start(dir.path(), keep_all());
    for i in 0..23 {
        let mut r = rec("development", &format!("p{i:02}"), T0 + i * 10);
        r.status = if i % 2 == 0 { 200 } else { 500 };
        logs.record(r);
    }
    assert!(logs.flush(WAIT));
    let mut seen = Vec::new();
    for (offset, want_len) in [("0", 10), ("10", 10), ("20", 3), ("30", 0)] {
        let (got, total) = ids(
            &logs,
            "development",
            &params(&[("limit", "10"), ("offset", offset)]),
        );
        assert_eq!((got.len(), total), (want_len, 23), "offset {offset}");
        seen.extend(got);
    }
    let want: Vec<String> = (0..23).rev().map(|i| format!("p{i:02}")).collect();
    assert_eq!(seen, want);
    // Paging combines with a filter: 11 odd entries have status 500.
    let (got, total) = ids(
        &logs,
        "development",
        &params(&[("status", "500"), ("limit", "5"), ("offset", "10")]),
    );
    assert_eq!((got, total), (vec!["p01".to_string()], 11));
}

#[test]
fn record_never_blocks_when_the_queue_is_full_and_counts_drops() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = LogConfig {
        queue_capacity: 4,
        ..keep_all()
    };
    let logs = start(dir.path(), config);
    let pause = logs.pause();
    let (done_tx, done_rx) = mpsc::channel();
    let producer = logs.clone();
    thread::spawn(move || {
        for i in 0..50 {
            producer.record(rec("development", &format!("q{i}"), T0 + i));
        }
        let _ = done_tx.send(());
    });
    assert!(
        done_rx.recv_timeout(Duration::from_secs(5)).is_ok(),
        "record() blocked on a full queue"
    );
    // The queue holds 4; the paused writer may hold one more it had already taken.
    assert!(logs.dropped() >= 45, "dropped {}", logs.dropped());
    assert!(
        logs.queue_depth() <= 5 && logs.queue_depth() >= 4,
        "depth {}",
        logs.queue_depth()
    );
    assert_eq!(logs.written(), 0, "nothing is written while paused");
    assert!(
        !logs.flush(Duration::from_millis(100)),
        "flush cannot finish while paused"
    );
    drop(pause);
    assert!(logs.flush(WAIT));
    assert_eq!(logs.written() + logs.dropped(), 50);
    assert_eq!(logs.queue_depth(), 0);
    let page = logs
        .query("shop", "development", &LogQuery::default())
        .expect("query");
    assert_eq!(page.total, logs.written());
}

#[test]
fn flush_waits_for_everything_queued_and_shutdown_stops_the_writer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = LogConfig {
        batch_max: 7,
        ..keep_all()
    };
    let logs = start(dir.path(), config);
    for i in 0..100 {
        logs.record(rec("development", &format!("f{i}"), T0 + i));
    }
    assert!(logs.flush(WAIT));
    assert_eq!(
        logs.written(),
        100,
        "flush returned before every record was written"
    );
    logs.shutdown(WAIT);
    logs.shutdown(WAIT); // idempotent
    logs.record(rec("development", "late", T0));
    assert_eq!(logs.dropped(), 1, "records after shutdown are dropped");
    assert_eq!(logs.queue_depth(), 0);
    let page = logs
        .query("shop", "development", &LogQuery::default())
        .expect("query");
    assert_eq!(page.total, 100);
}

#[test]
fn retention_deletes_entries_older_than_max_age() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = LogConfig {
        max_age: Duration::from_secs(3600),
        retention_interval: Duration::from_millis(20),
        ..LogConfig::default()
    };
    let logs = start(dir.path(), config);
    let now = DateTime::now().timestamp_millis();
    for i in 0..6 {
        logs.record(rec(
            "development",
            &format!("old{i}"),
            now - 3 * 3600 * 1000 + i,
        ));
        logs.record(rec(
            "production",
            &format!("old{i}"),
            now - 2 * 3600 * 1000 + i,
        ));
        logs.record(rec("development", &format!("new{i}"), now - 60_000 + i));
    }
    assert!(logs.flush(WAIT));
    let passes = logs.retention_passes();
    wait_until("two retention passes", || {
        logs.retention_passes() >= passes + 2
    });
    let (got, total) = ids(&logs, "development", &LogQuery::default());
    assert_eq!(total, 6);
    assert!(got.iter().all(|id| id.starts_with("new")), "{got:?}");
    assert_eq!(ids(&logs, "production", &LogQuery::default()).1, 0);
    // Production's segment held only expired entries: its file is gone. Development's one
    // segment still holds live entries: it stays, and its expired entries stay hidden.
    assert_eq!(logs.retention_deleted(), 6);
    assert_eq!(
        segments(dir.path(), "production"),
        Vec::<std::path::PathBuf>::new()
    );
    assert_eq!(segments(dir.path(), "development").len(), 1);
}

#[test]
fn retention_trims_each_environment_to_max_entries_oldest_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = LogConfig {
        max_entries_per_env: 10,
        retention_interval: Duration::from_millis(20),
        ..LogConfig::default()
    };
    let logs = start(dir.path(), config);
    let now = DateTime::now().timestamp_millis();
    for i in 0..25 {
        logs.record(rec(
            "development",
            &format!("d{i:02}"),
            now - 100_000 + i * 100,
        ));
    }
    for i in 0..4 {
        logs.record(rec("production", &format!("p{i}"), now - 100_000 + i));
    }
    assert!(logs.flush(WAIT));
    let passes = logs.retention_passes();
    wait_until("two retention passes", || {
        logs.retention_passes() >= passes + 2
    });
    let (got, total) = ids(&logs, "development", &params(&[("limit", "100")]));
    let want: Vec<String> = (15..25).rev().map(|i| format!("d{i:02}")).collect();
    assert_eq!((got, total), (want, 10));
    assert_eq!(ids(&logs, "production", &LogQuery::default()).1, 4);
}

#[test]
fn retention_deletes_whole_segments_and_gives_the_disk_back() {
    let over = 2_300usize;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = LogConfig {
        max_entries_per_env: 100,
        retention_interval: Duration::from_millis(20),
        queue_capacity: TEST_QUEUE,
        ..LogConfig::default()
    };
    let per_segment = 100 / stratus_server::logs::writer::SEGMENTS_PER_ENV;
    let logs = start(dir.path(), config);
    let pause = logs.pause(); // the whole excess arrives at once
    let now = DateTime::now().timestamp_millis();
    for i in 0..over + 100 {
        logs.record(rec(
            "development",
            &format!("c{i:05}"),
            now - 1_000_000 + i as i64,
        ));
    }
    drop(pause);
    assert!(logs.flush(WAIT));
    assert_eq!(logs.dropped(), 0);
    // Exactly the newest 100 are visible, oldest last.
    let (got, total) = ids(&logs, "development", &params(&[("limit", "1")]));
    assert_eq!(total, 100);
    assert_eq!(got, vec![format!("c{:05}", over + 99)]);
    let (oldest, _) = ids(
        &logs,
        "development",
        &params(&[("limit", "1"), ("offset", "99")]),
    );
    assert_eq!(oldest, vec![format!("c{over:05}")]);
    // On disk: at most one segment's worth beyond the limit; everything else deleted.
    let kept = logs.entries();
    assert!((100..100 + per_segment).contains(&kept), "kept {kept}");
    assert_eq!(logs.retention_deleted() + kept, (over + 100) as u64);
    let files = segments(dir.path(), "development").len() as u64;
    assert!(files <= 100 / per_segment + 1, "{files} segment files");
    // The summaries of deleted segments went with them.
    for sum in summaries(dir.path(), "development") {
        assert!(
            sum.with_extension("seg").exists(),
            "orphan {}",
            sum.display()
        );
    }
}

#[test]
fn segments_rotate_at_the_size_limit_and_queries_span_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = LogConfig {
        segment_bytes: stratus_server::logs::MIN_SEGMENT_BYTES,
        ..keep_all()
    };
    let logs = start(dir.path(), config);
    let n = 2_000i64;
    for i in 0..n {
        let mut r = rec("development", &format!("s{i:04}"), T0 + i * 1000);
        r.status = if i % 10 == 0 { 500 } else { 200 };
        logs.record(r);
    }
    assert!(logs.flush(WAIT));
    let files = segments(dir.path(), "development");
    assert!(files.len() >= 5, "only {} segments", files.len());
    for f in &files {
        let len = std::fs::metadata(f).expect("meta").len();
        assert!(len <= stratus_server::logs::MIN_SEGMENT_BYTES, "{len}");
    }
    // A time range inside the middle segments, with another filter and paging.
    let from = DateTime::from_millis(T0 + 500 * 1000)
        .try_to_rfc3339_string()
        .expect("iso");
    let to = DateTime::from_millis(T0 + 1500 * 1000)
        .try_to_rfc3339_string()
        .expect("iso");
    let window = params(&[
        ("from", &from),
        ("to", &to),
        ("status", "5xx"),
        ("limit", "3"),
    ]);
    let (got, total) = ids(&logs, "development", &window);
    assert_eq!(total, 100);
    assert_eq!(got, ["s1490", "s1480", "s1470"]);
    assert_eq!(
        ids(&logs, "development", &params(&[("requestId", "s0007")])),
        (vec!["s0007".to_string()], 1)
    );
    assert_eq!(ids(&logs, "development", &LogQuery::default()).1, n as u64);
    // Every sealed segment has a summary beside it, the active one none.
    let sealed = summaries(dir.path(), "development");
    assert_eq!(sealed.len(), files.len() - 1);
    for f in &files[..files.len() - 1] {
        assert!(sealed.contains(&f.with_extension("sum")), "{}", f.display());
    }
    // Reopened from the summaries (sealed segments unread), the same answers.
    logs.shutdown(WAIT);
    drop(logs);
    let logs = start(dir.path(), keep_all());
    assert_eq!(logs.entries(), n as u64);
    let (again, total) = ids(&logs, "development", &window);
    assert_eq!((again, total), (got, 100));
    assert_eq!(ids(&logs, "development", &LogQuery::default()).1, n as u64);
    // A backup carries the summaries of its sealed segments.
    let out = dir.path().join("backup");
    assert_eq!(logs.backup_to(&out).expect("backup"), n as u64);
    let name = stratus_server::logs::env_dir_name("shop", "development").expect("name");
    let copied = std::fs::read_dir(out.join(&name))
        .expect("backup dir")
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "sum"))
        .count();
    assert_eq!(copied, files.len() - 1);
    // Segments without summaries (written before summaries existed) get them at the next
    // start.
    logs.shutdown(WAIT);
    drop(logs);
    for sum in summaries(dir.path(), "development") {
        std::fs::remove_file(sum).expect("remove summary");
    }
    let logs = start(dir.path(), keep_all());
    assert_eq!(summaries(dir.path(), "development").len(), files.len() - 1);
    assert_eq!(ids(&logs, "development", &LogQuery::default()).1, n as u64);
}

/// The summary files (`*.sum`) of environment `env`'s directory.
fn summaries(dir: &Path, env: &str) -> Vec<std::path::PathBuf> {
    let name = stratus_server::logs::env_dir_name("shop", env).expect("name");
    let mut out: Vec<_> = std::fs::read_dir(dir.join("logs").join(name))
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "sum"))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[test]
fn entries_persist_across_reopening_the_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let logs = start(dir.path(), keep_all());
        for i in 0..12 {
            logs.record(rec("development", &format!("k{i:02}"), T0 + i));
        }
        logs.shutdown(WAIT);
        assert_eq!(logs.written(), 12);
    }
    let logs = start(dir.path(), keep_all());
    let (got, total) = ids(&logs, "development", &params(&[("limit", "3")]));
    assert_eq!(
        (got, total),
        (vec!["k11".into(), "k10".into(), "k09".into()], 12)
    );
    // Writing continues into the same collection.
    logs.record(rec("development", "k12", T0 + 12));
    assert!(logs.flush(WAIT));
    assert_eq!(
        ids(&logs, "development", &params(&[("requestId", "k12")])).1,
        1
    );
    assert_eq!(ids(&logs, "development", &LogQuery::default()).1, 13);
}

#[test]
fn secrets_never_reach_query_output_or_the_store_file() {
    const SECRET: &str = "sk_live_SUPERSECRET_4242";
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let logs = start(dir.path(), keep_all());
        let mut r = rec("development", "s1", T0);
        r.request_headers = vec![
            ("Authorization".into(), format!("Bearer {SECRET}")),
            ("Cookie".into(), format!("session={SECRET}")),
            ("X-Api-Key".into(), SECRET.into()),
            ("x-trace".into(), JWT.into()),
        ];
        r.path = format!("/shop/development/api/me?access_token={SECRET}&page=2");
        r.debug = vec![
            json!({"label": "token", "value": JWT}),
            json!({"label": "nested", "value": {"t": [format!("jwt={JWT}")]}}),
        ];
        r.trace = json!([{"node": "auth", "input": {"header": format!("Bearer {JWT}")}}]).into();
        r.error = Some(format!("unauthenticated: token {JWT} expired"));
        logs.record(r);
        assert!(logs.flush(WAIT));
        let page = logs
            .query("shop", "development", &LogQuery::default())
            .expect("query");
        let text = serde_json::to_string(&page.data).expect("json");
        assert!(!text.contains(SECRET), "{text}");
        assert!(!text.contains("eyJ"), "{text}");
        let v = &page.data[0];
        assert_eq!(v["requestHeaders"]["authorization"], "[redacted]");
        assert_eq!(v["requestHeaders"]["cookie"], "[redacted]");
        assert_eq!(v["requestHeaders"]["x-api-key"], "[redacted]");
        assert_eq!(v["requestHeaders"]["x-trace"], "[redacted-token]");
        assert_eq!(
            v["path"],
            "/shop/development/api/me?access_token=[redacted]&page=2"
        );
        assert_eq!(v["debug"][0]["value"], "[redacted-token]");
        assert_eq!(
            v["error"],
            "unauthenticated: token [redacted-token] expired"
        );
        // The text filter cannot find the secret either.
        assert_eq!(
            ids(&logs, "development", &params(&[("q", "eyJhbGci")])).1,
            0
        );
        logs.shutdown(WAIT);
    }
    let raw = raw_files(dir.path());
    let contains = |needle: &[u8]| raw.windows(needle.len()).any(|w| w == needle);
    assert!(contains(b"[redacted-token]"), "the entry is in the file");
    assert!(!contains(SECRET.as_bytes()), "secret in the raw store file");
    assert!(
        !contains(b"eyJhbGciOiJIUzI1NiJ9"),
        "JWT in the raw store file"
    );
}

#[test]
fn tokens_in_a_flow_trace_never_reach_the_store() {
    use stratus_flow::trace::{Trace, TraceEntry};
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let logs = start(dir.path(), keep_all());
        let mut r = rec("development", "t1", T0);
        let entry = |name: &str, error: Option<String>, label: Option<&str>, value| TraceEntry {
            name: name.into(),
            kind: "debug",
            depth: 0,
            duration_us: 3,
            error,
            label: label.map(str::to_string),
            value,
        };
        r.trace = stratus_server::logs::LogTrace::Flow(Trace {
            entries: vec![
                entry(
                    &format!("node {JWT}"),
                    Some(format!("bad token {JWT}")),
                    None,
                    None,
                ),
                entry(
                    "dbg",
                    None,
                    Some(&format!("label {JWT}")),
                    Some(json!({"deep": [format!("Bearer {JWT}")], "n": 5})),
                ),
            ],
            dropped: 0,
            node_executions: 2,
            duration_us: 9,
        });
        logs.record(r);
        assert!(logs.flush(WAIT));
        let page = logs
            .query("shop", "development", &LogQuery::default())
            .expect("query");
        let trace = &page.data[0]["trace"];
        assert_eq!(trace["entries"][0]["error"], "bad token [redacted-token]");
        assert_eq!(trace["entries"][0]["name"], "node [redacted-token]");
        assert_eq!(trace["entries"][1]["label"], "label [redacted-token]");
        assert_eq!(
            trace["entries"][1]["value"]["deep"][0],
            "Bearer [redacted-token]"
        );
        assert_eq!(trace["entries"][1]["value"]["n"], 5);
        assert_eq!(
            trace["nodeExecutions"]
                .as_u64()
                .or(trace["node_executions"].as_u64()),
            Some(2)
        );
        logs.shutdown(WAIT);
    }
    let raw = raw_files(dir.path());
    assert!(
        !raw.windows(20).any(|w| w == b"eyJhbGciOiJIUzI1NiJ9"),
        "JWT in the raw store file"
    );
}

#[test]
fn concurrent_producers_lose_nothing_when_the_queue_has_room() {
    const THREADS: usize = 4;
    const PER_THREAD: usize = 250;
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = start(dir.path(), keep_all());
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let logs = logs.clone();
            thread::spawn(move || {
                for i in 0..PER_THREAD {
                    let env = if i % 2 == 0 {
                        "development"
                    } else {
                        "production"
                    };
                    logs.record(rec(env, &format!("t{t}-{i}"), T0 + i as i64));
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("producer thread");
    }
    assert!(logs.flush(WAIT));
    let n = (THREADS * PER_THREAD) as u64;
    assert_eq!((logs.written(), logs.dropped(), logs.failed()), (n, 0, 0));
    let dev = ids(&logs, "development", &LogQuery::default()).1;
    let prod = ids(&logs, "production", &LogQuery::default()).1;
    assert_eq!((dev, prod), (n / 2, n / 2));
    for t in 0..THREADS {
        let id = format!("t{t}-{}", PER_THREAD - 1);
        assert_eq!(
            ids(&logs, "production", &params(&[("requestId", &id)])).1,
            1
        );
    }
}

#[test]
fn bad_queries_are_client_errors_with_stable_codes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = start(dir.path(), keep_all());
    let bad_limit = LogQuery {
        limit: 0,
        ..LogQuery::default()
    };
    let e = logs
        .query("shop", "development", &bad_limit)
        .expect_err("limit 0");
    assert_eq!((e.code(), e.is_client_error()), ("validation_failed", true));
    let e = logs
        .query("", "development", &LogQuery::default())
        .expect_err("empty project");
    assert_eq!(
        (e.code(), e.is_client_error()),
        ("invalid_log_namespace", true)
    );
    // Records of an invalid namespace are counted as failed, not written.
    logs.record(rec("", "x", T0));
    assert!(logs.flush(WAIT));
    assert_eq!((logs.written(), logs.failed()), (0, 1));
}

#[test]
fn a_torn_tail_left_by_a_crash_is_cut_and_logging_continues() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let logs = start(dir.path(), keep_all());
        for i in 0..10 {
            logs.record(rec("development", &format!("a{i}"), T0 + i));
        }
        logs.shutdown(WAIT);
    }
    let files = segments(dir.path(), "development");
    let last = files.last().expect("a segment");
    let good_len = std::fs::metadata(last).expect("meta").len();
    // A crash in the middle of an append: a header promising more bytes than follow.
    let mut torn = std::fs::read(last).expect("read");
    torn.extend_from_slice(&[200, 0, 0, 0, 1, 2, 3, 4, b'p', b'a', b'r']);
    std::fs::write(last, &torn).expect("write");

    let (logs, warnings) = RequestLogs::open(&dir.path().join("logs"), keep_all()).expect("reopen");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("incomplete entry"), "{warnings:?}");
    assert_eq!(ids(&logs, "development", &LogQuery::default()).1, 10);
    logs.record(rec("development", "b0", T0 + 100));
    assert!(logs.flush(WAIT));
    let (got, total) = ids(&logs, "development", &params(&[("limit", "2")]));
    assert_eq!((got, total), (vec!["b0".into(), "a9".into()], 11));
    logs.shutdown(WAIT);
    let len = std::fs::metadata(last).expect("meta").len();
    assert!(len > good_len, "appended after the cut");
    // The garbage is gone: reopening finds nothing to cut.
    let (reopened, warnings) =
        RequestLogs::open(&dir.path().join("logs"), keep_all()).expect("reopen");
    assert_eq!(warnings, Vec::<String>::new());
    assert_eq!(ids(&reopened, "development", &LogQuery::default()).1, 11);
}

#[test]
fn files_of_another_format_version_are_left_alone() {
    const FUTURE: &[u8] = b"STRLOG\x00\x07 from a later version";
    let dir = tempfile::tempdir().expect("tempdir");
    let env_dir = dir
        .path()
        .join("logs")
        .join(stratus_server::logs::env_dir_name("shop", "development").expect("name"));
    std::fs::create_dir_all(&env_dir).expect("mkdir");
    let future = env_dir.join(stratus_server::logs::segment::file_name(5));
    std::fs::write(&future, FUTURE).expect("write");
    let (logs, warnings) = RequestLogs::open(&dir.path().join("logs"), keep_all()).expect("open");
    assert!(
        warnings.iter().any(|w| w.contains("not readable")),
        "{warnings:?}"
    );
    logs.record(rec("development", "n1", T0));
    assert!(logs.flush(WAIT));
    assert_eq!(ids(&logs, "development", &LogQuery::default()).1, 1);
    logs.shutdown(WAIT);
    assert_eq!(std::fs::read(&future).expect("read"), FUTURE, "untouched");
    assert_eq!(
        segments(dir.path(), "development").len(),
        2,
        "a new segment after it"
    );
}

#[test]
fn expired_entries_are_hidden_before_retention_deletes_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = LogConfig {
        max_age: Duration::from_secs(3600),
        retention_interval: Duration::from_secs(3600),
        ..LogConfig::default()
    };
    let logs = start(dir.path(), config);
    let now = DateTime::now().timestamp_millis();
    logs.record(rec("development", "old", now - 2 * 3600 * 1000));
    logs.record(rec("development", "new", now));
    assert!(logs.flush(WAIT));
    assert_eq!(logs.entries(), 2, "both still on disk");
    assert_eq!(
        ids(&logs, "development", &LogQuery::default()),
        (vec!["new".to_string()], 1)
    );
}
