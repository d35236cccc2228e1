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

mod common;
use common::{BoxError, COLL, DB};

/// The filtered scan's bound, as in the bench.
const SCAN_LIMIT: i64 = 10_000;

#[inline(never)]
fn measure_scan(store: &Store) -> Result<usize, BoxError> {
    let found = store
        .find(
            DB,
            COLL,
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
        .aggregate(DB, COLL, &pipeline, AggregateOptions::default())?
        .to_vec()?)
}

fn main() -> Result<(), BoxError> {
    let docs: usize = common::arg(1, 50_000);
    let dir = tempfile::tempdir()?;
    let store = Store::open(
        dir.path().join("p.redb"),
        StoreOptions {
            cache_bytes: 256 * 1024 * 1024,
            ..StoreOptions::default()
        },
    )?;
    common::load(&store, docs)?;
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
