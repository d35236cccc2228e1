//! Stratus docstore vs SQLite, the same work in the same run (issue 2, "Performance").
//!
//! Run: `cargo bench -p stratus-docstore --bench store_vs_sqlite`
//! Environment: `STRATUS_BENCH_DOCS` (dataset size, default 1,000,000),
//! `STRATUS_BENCH_WRITES` (documents inserted by the 8 concurrent writers, default 2,000),
//! `STRATUS_BENCH_DIR` (where the database files go, default a temporary directory).
//!
//! SQLite: rusqlite with the bundled SQLite, WAL journal, `synchronous=FULL`, documents as JSON
//! text in `c(id INTEGER PRIMARY KEY, doc TEXT)` with an expression index on
//! `json_extract(doc, '$.cat')`. Both sides load the same generated dataset once per run.
//!
//! Workloads (documents per second, higher is better):
//! (a) durable inserts, one document per commit, from 8 concurrent writer threads;
//! (b) point reads by `_id`, handing the caller the stored form (Stratus raw BSON, SQLite JSON
//!     text), and (b′) the same decoded into a document (`bson::Document` /
//!     `serde_json::Value`);
//! (c) indexed equality query returning 10 documents (`{cat: "c…"}`), stored form and (c′)
//!     decoded;
//! (d) filtered scan of every document (`{n: {$lt: 10000}}`, about 1% match, unindexed);
//! (e) `$group` of every document by `g` summing `n`.
//!
//! Every read workload ((b)–(e)) runs twice on each engine and the second pass is the one
//! compared: the steady state of a server that has been reading for a while. The first pass,
//! right after the load (the engine's caches, memory map and page tables not yet warm), is
//! printed in a second table.
//!
//! The Stratus side lives in `stratus_side.rs` (included below); the output is a Markdown
//! table for `docs/benchmarks.md`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use bson::{Bson, Document, doc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rusqlite::{Connection, params};

/// The allocator the `stratus` binary ships with, so the engine is measured as users run it
/// (SQLite's C code allocates through its own calls either way).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod stratus_side;

/// Default number of documents in the read/scan dataset.
const DEFAULT_DOCS: usize = 1_000_000;
/// Default number of documents written by the concurrent writers.
const DEFAULT_WRITES: usize = 2_000;
/// Concurrent writer threads in workload (a).
const WRITERS: usize = 8;
/// Point reads in workload (b).
const POINT_READS: usize = 100_000;
/// Equality queries in workload (c).
const EQ_QUERIES: usize = 10_000;
/// Documents per `cat` value (so an equality query returns this many).
const DOCS_PER_CAT: usize = 10;
/// Distinct `g` values for the `$group` workload.
const GROUPS: i64 = 16;
/// `n` is uniform in `0..N_RANGE`; the scan selects `n < SCAN_LIMIT` (1%).
const N_RANGE: i64 = 1_000_000;
/// Upper bound of the filtered scan.
pub(crate) const SCAN_LIMIT: i64 = 10_000;
/// Fixed seed so both engines see the same data and the same query sequence.
const SEED: u64 = 0x5EED;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The `i`-th document of the dataset.
pub(crate) fn make_doc(i: usize, rng: &mut StdRng) -> Document {
    let id = i as i64;
    doc! {
        "_id": id,
        "cat": format!("c{}", i / DOCS_PER_CAT),
        "g": id % GROUPS,
        "n": rng.random_range(0..N_RANGE),
        "name": format!("user-{i}"),
        "score": rng.random_range(0.0..100.0f64),
        "tags": ["alpha", "beta"],
    }
}

/// The JSON text SQLite stores for a document.
fn to_json(d: &Document) -> String {
    Bson::Document(d.clone()).into_relaxed_extjson().to_string()
}

/// One workload's measured throughput.
#[derive(Clone, Copy)]
pub(crate) struct Measure {
    docs: usize,
    elapsed: Duration,
}

impl Measure {
    pub(crate) fn new(docs: usize, elapsed: Duration) -> Self {
        Measure { docs, elapsed }
    }
    fn per_sec(&self) -> f64 {
        self.docs as f64 / self.elapsed.as_secs_f64()
    }
}

/// Runs `work` (which answers the number of documents it handled) twice and measures both
/// passes: `(first, second)`.
pub(crate) fn twice<E>(
    mut work: impl FnMut() -> Result<usize, E>,
) -> Result<(Measure, Measure), E> {
    let start = Instant::now();
    let n = work()?;
    let first = Measure::new(n, start.elapsed());
    let start = Instant::now();
    let n = work()?;
    Ok((first, Measure::new(n, start.elapsed())))
}

/// Results of one engine over the five workloads (`None`: not measured).
#[derive(Default)]
pub(crate) struct Results {
    /// First passes of (b), (c), (d), (e), right after the load.
    pub(crate) cold: [Option<Measure>; 4],
    pub(crate) inserts: Option<Measure>,
    /// Stored form handed to the caller (Stratus raw BSON, SQLite JSON text).
    pub(crate) point_reads: Option<Measure>,
    /// Decoded into an in-memory document (Stratus `Document`, SQLite `serde_json::Value`).
    pub(crate) point_reads_decoded: Option<Measure>,
    pub(crate) eq_query: Option<Measure>,
    pub(crate) eq_query_decoded: Option<Measure>,
    pub(crate) scan: Option<Measure>,
    pub(crate) group: Option<Measure>,
    pub(crate) load: Option<Measure>,
}

fn sqlite_open(path: &Path) -> rusqlite::Result<Connection> {
    let c = Connection::open(path)?;
    c.pragma_update(None, "journal_mode", "WAL")?;
    c.pragma_update(None, "synchronous", "FULL")?;
    c.busy_timeout(Duration::from_secs(60))?;
    // The same page-cache budget as the store when one is given; SQLite's default otherwise.
    if let Some(mb) = std::env::var("STRATUS_BENCH_CACHE_MB")
        .ok()
        .and_then(|v| v.parse::<i64>().ok())
    {
        c.pragma_update(None, "cache_size", -mb * 1024)?;
    }
    c.execute_batch(
        "CREATE TABLE IF NOT EXISTS c (id INTEGER PRIMARY KEY, doc TEXT NOT NULL);
         CREATE INDEX IF NOT EXISTS c_cat ON c (json_extract(doc, '$.cat'));",
    )?;
    Ok(c)
}

fn sqlite_inserts(dir: &Path, writes: usize) -> rusqlite::Result<Measure> {
    let path = dir.join("sqlite-writes.db");
    drop(sqlite_open(&path)?);
    let per = writes / WRITERS;
    let barrier = Arc::new(Barrier::new(WRITERS + 1));
    let mut handles = Vec::new();
    for w in 0..WRITERS {
        let path = path.clone();
        let barrier = Arc::clone(&barrier);
        handles.push(std::thread::spawn(move || -> rusqlite::Result<()> {
            let c = sqlite_open(&path)?;
            let mut rng = StdRng::seed_from_u64(SEED + w as u64);
            let docs: Vec<(i64, String)> = (0..per)
                .map(|k| {
                    let i = w * per + k;
                    (i as i64, to_json(&make_doc(i, &mut rng)))
                })
                .collect();
            barrier.wait();
            let mut st = c.prepare("INSERT INTO c (id, doc) VALUES (?1, ?2)")?;
            for (id, json) in &docs {
                st.execute(params![id, json])?;
            }
            Ok(())
        }));
    }
    barrier.wait();
    let start = Instant::now();
    for h in handles {
        h.join().map_err(|_| rusqlite::Error::InvalidQuery)??;
    }
    Ok(Measure::new(per * WRITERS, start.elapsed()))
}

fn sqlite_dataset(dir: &Path, docs: usize, out: &mut Results) -> rusqlite::Result<()> {
    let path = dir.join("sqlite-data.db");
    let mut c = sqlite_open(&path)?;
    let mut rng = StdRng::seed_from_u64(SEED);
    let start = Instant::now();
    let tx = c.transaction()?;
    {
        let mut st = tx.prepare("INSERT INTO c (id, doc) VALUES (?1, ?2)")?;
        for i in 0..docs {
            let d = make_doc(i, &mut rng);
            st.execute(params![i as i64, to_json(&d)])?;
        }
    }
    tx.commit()?;
    out.load = Some(Measure::new(docs, start.elapsed()));

    let mut q = StdRng::seed_from_u64(SEED ^ 1);
    let ids: Vec<i64> = (0..POINT_READS)
        .map(|_| q.random_range(0..docs as i64))
        .collect();
    let (cold, warm) = twice(|| -> rusqlite::Result<usize> {
        let mut st = c.prepare_cached("SELECT doc FROM c WHERE id = ?1")?;
        for id in &ids {
            let doc: String = st.query_row(params![id], |r| r.get(0))?;
            assert!(!doc.is_empty());
        }
        Ok(ids.len())
    })?;
    out.cold[0] = Some(cold);
    out.point_reads = Some(warm);
    let start = Instant::now();
    {
        let mut st = c.prepare_cached("SELECT doc FROM c WHERE id = ?1")?;
        for id in &ids {
            let doc: String = st.query_row(params![id], |r| r.get(0))?;
            let parsed: serde_json::Value = serde_json::from_str(&doc).map_err(json_err)?;
            assert!(parsed.is_object());
        }
    }
    out.point_reads_decoded = Some(Measure::new(POINT_READS, start.elapsed()));

    let cats: Vec<String> = (0..EQ_QUERIES)
        .map(|_| format!("c{}", q.random_range(0..docs / DOCS_PER_CAT)))
        .collect();
    let (cold, warm) = twice(|| -> rusqlite::Result<usize> {
        let mut returned = 0;
        let mut st = c.prepare_cached("SELECT doc FROM c WHERE json_extract(doc, '$.cat') = ?1")?;
        for cat in &cats {
            let rows: Vec<String> = st
                .query_map(params![cat], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            assert_eq!(rows.len(), DOCS_PER_CAT);
            returned += rows.len();
        }
        Ok(returned)
    })?;
    out.cold[1] = Some(cold);
    out.eq_query = Some(warm);
    let start = Instant::now();
    let mut returned = 0;
    {
        let mut st = c.prepare_cached("SELECT doc FROM c WHERE json_extract(doc, '$.cat') = ?1")?;
        for cat in &cats {
            let rows: Vec<serde_json::Value> = st
                .query_map(params![cat], |r| {
                    let text: String = r.get(0)?;
                    serde_json::from_str(&text).map_err(json_err)
                })?
                .collect::<rusqlite::Result<_>>()?;
            assert_eq!(rows.len(), DOCS_PER_CAT);
            returned += rows.len();
        }
    }
    out.eq_query_decoded = Some(Measure::new(returned, start.elapsed()));

    let (cold, warm) = twice(|| -> rusqlite::Result<usize> {
        let matched: Vec<String> = c
            .prepare("SELECT doc FROM c WHERE json_extract(doc, '$.n') < ?1")?
            .query_map(params![SCAN_LIMIT], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        eprintln!("sqlite scan matched {}", matched.len());
        Ok(docs)
    })?;
    out.cold[2] = Some(cold);
    out.scan = Some(warm);

    let (cold, warm) = twice(|| -> rusqlite::Result<usize> {
        let groups: Vec<(i64, i64)> = c
            .prepare(
                "SELECT json_extract(doc, '$.g') AS g, sum(json_extract(doc, '$.n')) FROM c \
                 GROUP BY g",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        assert_eq!(groups.len() as i64, GROUPS.min(docs as i64));
        Ok(docs)
    })?;
    out.cold[3] = Some(cold);
    out.group = Some(warm);
    Ok(())
}

/// A JSON parse failure as a rusqlite error (the bench's SQLite functions return those).
fn json_err(e: serde_json::Error) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(e))
}

fn cell(m: Option<Measure>) -> String {
    m.map_or_else(|| "n/a".to_string(), |m| format!("{:.0}", m.per_sec()))
}

fn ratio(ours: Option<Measure>, theirs: Option<Measure>) -> String {
    match (ours, theirs) {
        (Some(o), Some(t)) => format!("{:.2}×", o.per_sec() / t.per_sec()),
        _ => "n/a".to_string(),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing useful either way.
    if std::env::args().any(|a| a == "--list") {
        return Ok(());
    }
    let docs = env_usize("STRATUS_BENCH_DOCS", DEFAULT_DOCS);
    let writes = env_usize("STRATUS_BENCH_WRITES", DEFAULT_WRITES);
    let tmp;
    let dir: PathBuf = match std::env::var("STRATUS_BENCH_DIR") {
        Ok(d) => PathBuf::from(d),
        Err(_) => {
            tmp = tempfile::tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    std::fs::create_dir_all(&dir)?;
    eprintln!("dataset {docs} documents, {writes} concurrent writes, files in {dir:?}");

    let mut sqlite = Results::default();
    eprintln!("sqlite: concurrent inserts");
    sqlite.inserts = Some(sqlite_inserts(&dir, writes)?);
    eprintln!("sqlite: dataset and reads");
    sqlite_dataset(&dir, docs, &mut sqlite)?;

    let ours = stratus_side::run(&dir, docs, writes)?;

    println!("| workload | Stratus docs/s | SQLite docs/s | Stratus / SQLite |");
    println!("|---|---:|---:|---:|");
    let rows = [
        (
            "(a) durable inserts, 8 concurrent writers",
            ours.inserts,
            sqlite.inserts,
        ),
        (
            "(b) point reads by `_id` (stored form: raw BSON / JSON text)",
            ours.point_reads,
            sqlite.point_reads,
        ),
        (
            "(b′) point reads by `_id`, decoded (`Document` / `serde_json::Value`)",
            ours.point_reads_decoded,
            sqlite.point_reads_decoded,
        ),
        (
            "(c) indexed equality query, 10 documents (stored form)",
            ours.eq_query,
            sqlite.eq_query,
        ),
        (
            "(c′) indexed equality query, 10 documents, decoded",
            ours.eq_query_decoded,
            sqlite.eq_query_decoded,
        ),
        ("(d) filtered scan (docs scanned/s)", ours.scan, sqlite.scan),
        ("(e) `$group` (docs grouped/s)", ours.group, sqlite.group),
        (
            "bulk load, one transaction (not a goal)",
            ours.load,
            sqlite.load,
        ),
    ];
    for (name, o, s) in rows {
        println!("| {name} | {} | {} | {} |", cell(o), cell(s), ratio(o, s));
    }
    println!();
    println!("First passes, right after the load:");
    println!();
    println!("| workload | Stratus docs/s | SQLite docs/s | Stratus / SQLite |");
    println!("|---|---:|---:|---:|");
    let names = [
        "(b) point reads",
        "(c) equality query",
        "(d) scan",
        "(e) `$group`",
    ];
    for (i, name) in names.iter().enumerate() {
        let (o, s) = (ours.cold[i], sqlite.cold[i]);
        println!(
            "| {name}, first pass | {} | {} | {} |",
            cell(o),
            cell(s),
            ratio(o, s)
        );
    }
    Ok(())
}
