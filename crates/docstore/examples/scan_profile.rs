//! Callgrind driver for the scan rows of `benches/store_vs_sqlite` (not a benchmark): loads
//! documents of the bench's shape into a store whose pages all fit in the cache, then runs the
//! filtered scan `find({n: {$lt: 10000}})` (d) and `$group` by `g` summing `n` (e) once each,
//! in the functions `measure_scan` and `measure_group`, so that
//! `valgrind --tool=callgrind --toggle-collect='*measure_scan*' target/release/examples/scan_profile`
//! counts only that operation (divide by the document count for instructions per document).
//! Run: `cargo build --release -p stratus-docstore --example scan_profile`; the document count
//! is the first argument (default 50,000).

use bson::{Bson, Document, doc};
use stratus_docstore::{AggregateOptions, FindOptions, Store, StoreOptions};

/// Groups of the `$group` row, as in the bench.
const GROUPS: i64 = 16;
/// Range of `n`, as in the bench.
const N_RANGE: i64 = 1_000_000;
/// The filtered scan's bound, as in the bench.
const SCAN_LIMIT: i64 = 10_000;

type BoxError = Box<dyn std::error::Error>;

fn make_doc(i: usize, state: &mut u64) -> Document {
    // xorshift: deterministic, no dependency
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    let id = i as i64;
    doc! {
        "_id": id,
        "cat": format!("c{}", i / 10),
        "g": id % GROUPS,
        "n": (*state % N_RANGE as u64) as i64,
        "name": format!("user-{i}"),
        "score": (*state % 10_000) as f64 / 100.0,
        "tags": ["alpha", "beta"],
    }
}

#[inline(never)]
fn measure_scan(store: &Store) -> Result<usize, BoxError> {
    let found = store
        .find(
            "bench",
            "docs",
            FindOptions::filter(doc! {"n": {"$lt": SCAN_LIMIT}}),
        )?
        .to_vec()?;
    Ok(found.len())
}

#[inline(never)]
fn measure_group(store: &Store) -> Result<Vec<Document>, BoxError> {
    let pipeline = vec![Bson::Document(
        doc! {"$group": {"_id": "$g", "total": {"$sum": "$n"}}},
    )];
    Ok(store
        .aggregate("bench", "docs", &pipeline, AggregateOptions::default())?
        .to_vec()?)
}

fn main() -> Result<(), BoxError> {
    let docs: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(50_000);
    let dir = tempfile::tempdir()?;
    let store = Store::open(
        dir.path().join("p.redb"),
        StoreOptions {
            cache_bytes: 256 * 1024 * 1024,
            ..StoreOptions::default()
        },
    )?;
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut i = 0;
    while i < docs {
        let end = (i + 10_000).min(docs);
        let batch: Vec<_> = (i..end).map(|k| make_doc(k, &mut state)).collect();
        store.insert_many("bench", "docs", batch, true)?;
        i = end;
    }
    // Warm the cache once, then measure.
    measure_scan(&store)?;
    let matched = measure_scan(&store)?;
    let groups = measure_group(&store)?;
    let total: i64 = groups
        .iter()
        .filter_map(|g| g.get("total").and_then(Bson::as_i64))
        .sum();
    println!(
        "docs {docs}: scan matched {matched}; {} groups, total {total}",
        groups.len()
    );
    Ok(())
}
