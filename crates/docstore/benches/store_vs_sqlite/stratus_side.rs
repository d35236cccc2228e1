//! The Stratus side of the benchmark: the public [`Store`] API (group commit, the
//! index planner, `Filter` matching, the aggregation pipeline), same data and same query
//! sequence as the SQLite side. The engine is the store's default unless
//! `STRATUS_BENCH_ENGINE` (`redb` or `lmdb`) names one.

use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::Instant;

use bson::{Bson, doc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use stratus_docstore::index::IndexSpec;
use stratus_docstore::{AggregateOptions, Engine, FindOptions, Store, StoreOptions};

use crate::{
    DOCS_PER_CAT, EQ_QUERIES, GROUPS, Measure, POINT_READS, Results, SCAN_LIMIT, SEED, WRITERS,
    make_doc, twice,
};

/// Database and collection used by the benchmark.
const DB: &str = "bench";
const COLL: &str = "docs";
/// Documents per `insert_many` call (one transaction each) while loading the dataset.
const LOAD_BATCH: usize = 10_000;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn inserts(dir: &Path, writes: usize) -> Result<Measure, BoxError> {
    let store = Arc::new(Store::open(
        dir.join("stratus-writes.db"),
        StoreOptions {
            engine: engine(),
            ..StoreOptions::default()
        },
    )?);
    store.create_collection(DB, COLL)?;
    let per = writes / WRITERS;
    let barrier = Arc::new(Barrier::new(WRITERS + 1));
    let mut handles = Vec::new();
    for w in 0..WRITERS {
        let store = Arc::clone(&store);
        let barrier = Arc::clone(&barrier);
        handles.push(std::thread::spawn(move || -> Result<(), BoxError> {
            let mut rng = StdRng::seed_from_u64(SEED + w as u64);
            let docs: Vec<_> = (0..per).map(|k| make_doc(w * per + k, &mut rng)).collect();
            barrier.wait();
            for d in docs {
                store.insert_one(DB, COLL, d)?;
            }
            Ok(())
        }));
    }
    barrier.wait();
    let start = Instant::now();
    for h in handles {
        h.join().map_err(|_| "writer thread panicked")??;
    }
    Ok(Measure::new(per * WRITERS, start.elapsed()))
}

/// The engine of the store files: `STRATUS_BENCH_ENGINE` (`redb` or `lmdb`), else the
/// store's default.
fn engine() -> Engine {
    match std::env::var("STRATUS_BENCH_ENGINE").as_deref() {
        Ok("lmdb") => Engine::Lmdb,
        Ok("redb") => Engine::Redb,
        _ => Engine::default(),
    }
}

pub(crate) fn run(
    dir: &Path,
    docs: usize,
    writes: usize,
) -> Result<Results, Box<dyn std::error::Error>> {
    let mut out = Results::default();
    eprintln!("stratus: concurrent inserts");
    out.inserts = Some(inserts(dir, writes).map_err(|e| e.to_string())?);

    eprintln!("stratus: dataset and reads");
    // The engine's page cache (`STRATUS_BENCH_CACHE_MB`, default the store's default). SQLite
    // reads through the OS page cache, which holds its whole file on this machine.
    let mut options = match std::env::var("STRATUS_BENCH_CACHE_MB")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        Some(mb) => StoreOptions {
            cache_bytes: mb * 1024 * 1024,
            ..StoreOptions::default()
        },
        None => StoreOptions::default(),
    };
    if std::env::var("STRATUS_BENCH_MMAP").is_ok_and(|v| v == "0") {
        options.mmap_reads = false;
    }
    options.engine = engine();
    eprintln!("stratus: engine {:?}", options.engine);
    eprintln!("stratus: mmap reads {}", options.mmap_reads);
    eprintln!(
        "stratus: page cache {} MiB",
        options.cache_bytes / 1024 / 1024
    );
    let store = Store::open(dir.join("stratus-data.db"), options)?;
    store.create_index(DB, COLL, IndexSpec::new(doc! {"cat": 1})?)?;
    let mut rng = StdRng::seed_from_u64(SEED);
    let start = Instant::now();
    let mut i = 0;
    while i < docs {
        let end = (i + LOAD_BATCH).min(docs);
        let batch: Vec<_> = (i..end).map(|k| make_doc(k, &mut rng)).collect();
        let r = store.insert_many(DB, COLL, batch, true)?;
        assert!(r.write_errors.is_empty());
        i = end;
    }
    out.load = Some(Measure::new(docs, start.elapsed()));

    let mut q = StdRng::seed_from_u64(SEED ^ 1);
    let ids: Vec<i64> = (0..POINT_READS)
        .map(|_| q.random_range(0..docs as i64))
        .collect();
    let (cold, warm) = twice(|| -> Result<usize, Box<dyn std::error::Error>> {
        for id in &ids {
            let d = store.find_one_raw(DB, COLL, doc! {"_id": *id})?;
            assert!(d.is_some());
        }
        Ok(ids.len())
    })?;
    out.cold[0] = Some(cold);
    out.point_reads = Some(warm);
    let start = Instant::now();
    for id in &ids {
        let d = store.find_one(DB, COLL, doc! {"_id": *id})?;
        assert!(d.is_some());
    }
    out.point_reads_decoded = Some(Measure::new(POINT_READS, start.elapsed()));

    let cats: Vec<String> = (0..EQ_QUERIES)
        .map(|_| format!("c{}", q.random_range(0..docs / DOCS_PER_CAT)))
        .collect();
    let (cold, warm) = twice(|| -> Result<usize, Box<dyn std::error::Error>> {
        let mut returned = 0;
        for c in &cats {
            let found = store
                .find(DB, COLL, FindOptions::filter(doc! {"cat": c.as_str()}))?
                .next_batch_raw()?;
            assert_eq!(found.len(), DOCS_PER_CAT);
            returned += found.len();
        }
        Ok(returned)
    })?;
    out.cold[1] = Some(cold);
    out.eq_query = Some(warm);
    let start = Instant::now();
    let mut returned = 0;
    for c in &cats {
        let found = store
            .find(DB, COLL, FindOptions::filter(doc! {"cat": c.as_str()}))?
            .to_vec()?;
        assert_eq!(found.len(), DOCS_PER_CAT);
        returned += found.len();
    }
    out.eq_query_decoded = Some(Measure::new(returned, start.elapsed()));

    let (cold, warm) = twice(|| -> Result<usize, Box<dyn std::error::Error>> {
        let matched = store
            .find(
                DB,
                COLL,
                FindOptions::filter(doc! {"n": {"$lt": SCAN_LIMIT}}),
            )?
            .to_vec()?;
        eprintln!("stratus scan matched {}", matched.len());
        Ok(docs)
    })?;
    out.cold[2] = Some(cold);
    out.scan = Some(warm);

    let pipeline = vec![Bson::Document(
        doc! {"$group": {"_id": "$g", "total": {"$sum": "$n"}}},
    )];
    let (cold, warm) = twice(|| -> Result<usize, Box<dyn std::error::Error>> {
        let groups = store
            .aggregate(DB, COLL, &pipeline, AggregateOptions::default())?
            .to_vec()?;
        assert_eq!(groups.len() as i64, GROUPS.min(docs as i64));
        Ok(docs)
    })?;
    out.cold[3] = Some(cold);
    out.group = Some(warm);
    Ok(out)
}
