//! Profiling driver for point reads on a data set larger than the page cache (row (b) of
//! `benches/store_vs_sqlite` with the default cache): loads documents of the bench's shape
//! once into the store file given as the first argument (kept for later runs), reopens it with
//! the given cache, then reads random `_id`s with `find_one_raw` for a few seconds and prints
//! the rate. Run under `perf record` to see where a cache miss goes.
//!
//! Run: `cargo build --release -p stratus-docstore --example point_reads`, then
//! `target/release/examples/point_reads <file> [docs=1000000] [cache_mb=64] [mmap=1] [secs=10]`.

use std::time::{Duration, Instant};

use bson::doc;
use stratus_docstore::index::IndexSpec;
use stratus_docstore::{Store, StoreOptions};

mod common;
use common::{BoxError, COLL, DB, arg, next};

// Like the `stratus` binary and the bench.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), BoxError> {
    let path: String = arg(1, "/tmp/point_reads.redb".to_string());
    let docs: usize = arg(2, 1_000_000);
    let cache_mb: usize = arg(3, 64);
    let mmap: u8 = arg(4, 1);
    let secs: u64 = arg(5, 10);
    let fresh = !std::path::Path::new(&path).exists();
    let store = Store::open(
        &path,
        StoreOptions {
            cache_bytes: cache_mb * 1024 * 1024,
            mmap_reads: mmap == 1,
            ..StoreOptions::default()
        },
    )?;
    if fresh {
        common::load(&store, docs)?;
        store.create_index(DB, COLL, IndexSpec::new(doc! {"cat": 1})?)?;
    }
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let start = Instant::now();
    let mut reads = 0u64;
    let mut found = 0u64;
    while start.elapsed() < Duration::from_secs(secs) {
        for _ in 0..1000 {
            let id = (next(&mut state) % docs as u64) as i64;
            if store.find_one_raw(DB, COLL, doc! {"_id": id})?.is_some() {
                found += 1;
            }
            reads += 1;
        }
    }
    let rate = reads as f64 / start.elapsed().as_secs_f64();
    println!("mmap {mmap} cache {cache_mb} MiB: {reads} reads, {found} found, {rate:.0}/s");
    Ok(())
}
