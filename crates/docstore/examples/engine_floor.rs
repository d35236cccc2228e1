//! Measures how much of a point read (row (b) of `benches/store_vs_sqlite`) is the engine's:
//! on a store file of the bench's shape (made by `examples/point_reads`, or loaded here when
//! missing), it reads the same random `_id`s three ways, alternating rounds, and prints each
//! rate:
//! - `store`: `Store::find_one_raw({_id})`, what the bench measures;
//! - `kv`: the storage layer alone, `KvStore::snapshot()` + `get(table, primary_key)` (the
//!   engine plus the snapshot cache), through the same redb file and the same page cache;
//! - `kv-shared`: the same `get` on one snapshot taken once (no per-read snapshot lookup).
//!
//! Then the same for row (c), the equality query `{cat: "c…"}` returning 10 documents:
//! `Store::find(..).next_batch_raw()` against the storage layer's part of it, one range scan
//! of the `cat` index's entries for the value and the documents behind them read through one
//! getter (what `crud::find_exact` does), printed as documents/s.
//!
//! The `kv` rates bound what any work above the engine can reach: a store read can be no
//! faster than the engine's lookup of the same key.
//!
//! Run: `cargo build --release -p stratus-docstore --example engine_floor`, then
//! `target/release/examples/engine_floor <file> [docs=1000000] [cache_mb=64] [mmap=1] [secs=5]
//! [engine=redb|lmdb]` (the engine of a new file; an existing file keeps its own).

use std::time::{Duration, Instant};

use std::ops::Bound;

use bson::{Bson, doc};
use stratus_docstore::index::keycodec::encode_component;
use stratus_docstore::index::{Direction, IndexSpec};
use stratus_docstore::kv::{KvRead, KvStore};
use stratus_docstore::kv_lmdb::LmdbStore;
use stratus_docstore::kv_redb::RedbStore;
use stratus_docstore::{Engine, FindOptions, Store, StoreOptions};

mod common;
use common::{BoxError, COLL, DB, DOCS_PER_CAT, arg, next};

// Like the `stratus` binary and the bench.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), BoxError> {
    let path: String = arg(1, "/tmp/point_reads.redb".to_string());
    let docs: usize = arg(2, 1_000_000);
    let cache_mb: usize = arg(3, 64);
    let mmap: u8 = arg(4, 1);
    let secs: u64 = arg(5, 5);
    let engine = match arg(6, "redb".to_string()).as_str() {
        "lmdb" => Engine::Lmdb,
        _ => Engine::Redb,
    };
    let options = StoreOptions {
        cache_bytes: cache_mb * 1024 * 1024,
        mmap_reads: mmap == 1,
        engine,
        // `STRATUS_FLOOR_FEED=0`: a store without a change feed (what the feed's entries,
        // stored beside the documents, cost the reads).
        change_feed: std::env::var("STRATUS_FLOOR_FEED").map_or(true, |v| v != "0"),
        ..StoreOptions::default()
    };
    {
        let store = Store::open(&path, options.clone())?;
        let have = store
            .collection_stats(DB, COLL)
            .map(|s| s.count)
            .unwrap_or(0);
        if have == 0 {
            common::load(&store, docs)?;
            store.create_index(DB, COLL, IndexSpec::new(doc! {"cat": 1})?)?;
        }
    }
    // The only collection's tables: `c<id>` and `c<id>.ix.cat_1` (`catalog`).
    let open_kv = || -> Result<Box<dyn KvStore>, BoxError> {
        Ok(match Engine::of_file(path.as_ref()) {
            Some(Engine::Lmdb) => Box::new(LmdbStore::open(
                path.as_ref(),
                options.max_size_bytes,
                None,
            )?),
            _ => Box::new(RedbStore::open_with(
                path.as_ref(),
                options.cache_bytes,
                options.mmap_reads,
            )?),
        })
    };
    let names = open_kv()?.snapshot()?.table_names()?;
    let table = names
        .iter()
        .find(|n| n.len() > 1 && n.starts_with('c') && n[1..].bytes().all(|b| b.is_ascii_digit()))
        .ok_or("no documents table")?
        .clone();
    let index = format!("{table}.ix.cat_1");
    if !names.contains(&index) {
        return Err(format!("no index table {index}").into());
    }
    for round in 0..2 {
        let store = Store::open(&path, options.clone())?;
        let rate = run(secs, docs, |id| {
            Ok(store.find_one_raw(DB, COLL, doc! {"_id": id})?.is_some())
        })?;
        println!("round {round} store     {rate:>9.0} reads/s");
        drop(store);
        let kv = open_kv()?;
        let rate = run(secs, docs, |id| {
            let key = stratus_docstore::keys::primary_key(&Bson::Int64(id))?;
            Ok(kv.snapshot()?.get(&table, &key)?.is_some())
        })?;
        println!("round {round} kv        {rate:>9.0} reads/s");
        let snap = kv.snapshot()?;
        let rate = run(secs, docs, |id| {
            let key = stratus_docstore::keys::primary_key(&Bson::Int64(id))?;
            Ok(snap.get(&table, &key)?.is_some())
        })?;
        println!("round {round} kv-shared {rate:>9.0} reads/s");
    }
    let cats = docs / DOCS_PER_CAT;
    for round in 0..2 {
        let store = Store::open(&path, options.clone())?;
        let rate = run(secs, cats, |c| {
            let found = store
                .find(DB, COLL, FindOptions::filter(doc! {"cat": format!("c{c}")}))?
                .next_batch_raw()?;
            Ok(found.len() == DOCS_PER_CAT)
        })? * DOCS_PER_CAT as f64;
        println!("round {round} eq store  {rate:>9.0} docs/s");
        drop(store);
        let kv = open_kv()?;
        let rate = run(secs, cats, |c| {
            Ok(equality(kv.snapshot()?.as_ref(), &table, &index, c)? == DOCS_PER_CAT)
        })? * DOCS_PER_CAT as f64;
        println!("round {round} eq kv     {rate:>9.0} docs/s");
    }
    Ok(())
}

/// The storage layer's part of `{cat: "c<c>"}`: the index entries of the value in one range
/// scan, each entry's document read through one getter; the number of documents read.
fn equality(snap: &dyn KvRead, table: &str, index: &str, c: i64) -> Result<usize, BoxError> {
    let mut lo = Vec::with_capacity(16);
    encode_component(
        &Bson::String(format!("c{c}")),
        Direction::Ascending,
        &mut lo,
    );
    let mut hi = lo.clone();
    // The value's entries are `lo ‖ pk`; the encoding never ends in 0xff.
    if let Some(last) = hi.last_mut() {
        *last += 1;
    }
    let mut docs = snap.getter(table)?;
    let mut raws = Vec::with_capacity(DOCS_PER_CAT);
    let mut failed = None;
    snap.scan(
        index,
        Bound::Included(&lo),
        Bound::Excluded(&hi),
        false,
        &mut |_key, pk| match docs.get(pk) {
            Ok(Some(raw)) => {
                raws.push(raw);
                true
            }
            Ok(None) => false,
            Err(e) => {
                failed = Some(e);
                false
            }
        },
    )?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    Ok(raws.len())
}

/// Reads random ids with `read` for `secs` seconds (after a one-second warm-up); reads/s.
fn run(
    secs: u64,
    docs: usize,
    mut read: impl FnMut(i64) -> Result<bool, BoxError>,
) -> Result<f64, BoxError> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let warm = Instant::now();
    while warm.elapsed() < Duration::from_secs(1) {
        let id = (next(&mut state) % docs as u64) as i64;
        read(id)?;
    }
    let start = Instant::now();
    let mut reads = 0u64;
    while start.elapsed() < Duration::from_secs(secs) {
        for _ in 0..1000 {
            let id = (next(&mut state) % docs as u64) as i64;
            if !read(id)? {
                return Err(format!("_id {id} not found").into());
            }
            reads += 1;
        }
    }
    Ok(reads as f64 / start.elapsed().as_secs_f64())
}
