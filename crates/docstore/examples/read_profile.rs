//! Callgrind driver for the read rows of `benches/store_vs_sqlite` (not a benchmark): loads
//! documents of the bench's shape, with the bench's `{cat: 1}` index, into a store whose pages
//! all fit in the cache, then runs point reads `find_one_raw({_id})` (b) in `measure_point`
//! and indexed equality queries `find({cat}).next_batch_raw()` returning 10 documents (c) in
//! `measure_eq`, and the same query through the general planner and executor,
//! `find({cat: {$in: [c]}})` (not a plain equality: planned in full, candidates re-checked), in
//! `measure_general`, [`CALLS`] of each with varied keys, so that
//! `valgrind --tool=callgrind --toggle-collect='*measure_eq*' target/release/examples/read_profile`
//! counts only those queries (divide by [`CALLS`] for instructions per query; the count
//! includes building the filter documents, as the bench's loop does). Like the bench it uses
//! mimalloc as the global allocator.
//! Run: `cargo build --release -p stratus-docstore --example read_profile`; the document count
//! is the first argument (default 50,000).

use bson::doc;
use stratus_docstore::index::IndexSpec;
use stratus_docstore::{FindOptions, Store, StoreOptions};

mod common;
use common::{BoxError, COLL, DB, DOCS_PER_CAT, next};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Queries per measured function.
const CALLS: usize = 1_000;
/// The measured point reads (called once unmeasured to warm up, through [`point_reads`]).
#[inline(never)]
fn measure_point(store: &Store, ids: &[i64]) -> Result<usize, BoxError> {
    point_reads(store, ids)
}

/// The measured equality queries (see [`measure_point`]).
#[inline(never)]
fn measure_eq(store: &Store, cats: &[String]) -> Result<usize, BoxError> {
    eq_queries(store, cats)
}

/// The measured `$in` queries (see [`measure_point`]).
#[inline(never)]
fn measure_general(store: &Store, cats: &[String]) -> Result<usize, BoxError> {
    in_queries(store, cats)
}

fn in_queries(store: &Store, cats: &[String]) -> Result<usize, BoxError> {
    let mut returned = 0;
    for c in cats {
        returned += store
            .find(
                DB,
                COLL,
                FindOptions::filter(doc! {"cat": {"$in": [c.as_str()]}}),
            )?
            .next_batch_raw()?
            .len();
    }
    Ok(returned)
}

fn point_reads(store: &Store, ids: &[i64]) -> Result<usize, BoxError> {
    let mut found = 0;
    for id in ids {
        if store.find_one_raw(DB, COLL, doc! {"_id": *id})?.is_some() {
            found += 1;
        }
    }
    Ok(found)
}

fn eq_queries(store: &Store, cats: &[String]) -> Result<usize, BoxError> {
    let mut returned = 0;
    for c in cats {
        returned += store
            .find(DB, COLL, FindOptions::filter(doc! {"cat": c.as_str()}))?
            .next_batch_raw()?
            .len();
    }
    Ok(returned)
}

fn main() -> Result<(), BoxError> {
    let docs: usize = common::arg(1, 50_000);
    let dir = tempfile::tempdir()?;
    let store = Store::open(
        dir.path().join("r.redb"),
        StoreOptions {
            cache_bytes: 256 * 1024 * 1024,
            ..StoreOptions::default()
        },
    )?;
    store.create_index(DB, COLL, IndexSpec::new(doc! {"cat": 1})?)?;
    let mut state = common::load(&store, docs)?;
    let ids: Vec<i64> = (0..CALLS)
        .map(|_| (next(&mut state) % docs as u64) as i64)
        .collect();
    let cats: Vec<String> = (0..CALLS)
        .map(|_| format!("c{}", next(&mut state) % (docs / DOCS_PER_CAT) as u64))
        .collect();
    // Each kind is warmed up once (not measured), then measured, before the next kind runs,
    // so a change to one path does not change the allocator's state the others start from.
    point_reads(&store, &ids)?;
    let found = measure_point(&store, &ids)?;
    eq_queries(&store, &cats)?;
    let returned = measure_eq(&store, &cats)?;
    in_queries(&store, &cats)?;
    let general = measure_general(&store, &cats)?;
    println!(
        "docs {docs}: {found} of {CALLS} point reads found, {returned} documents from {CALLS} equality queries"
    );
    if found != CALLS || returned != CALLS * DOCS_PER_CAT || general != returned {
        return Err("unexpected result counts".into());
    }
    Ok(())
}
