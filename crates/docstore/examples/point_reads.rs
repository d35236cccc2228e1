//! Profiling driver for point reads on a data set larger than the page cache (row (b) of
//! `benches/store_vs_sqlite` with the default cache): loads documents of the bench's shape
//! once into the store file given as the first argument (kept for later runs), reopens it with
//! the given cache, then reads random `_id`s with `find_one_raw` for a few seconds and prints
//! the rate. Run under `perf record` to see where a cache miss goes.
//!
//! Run: `cargo build --release -p stratus-docstore --example point_reads`, then
//! `target/release/examples/point_reads <file> [docs=1000000] [cache_mb=64] [mmap=1] [secs=10]`.

use std::time::{Duration, Instant};

use bson::{Document, doc};
use stratus_docstore::index::IndexSpec;
use stratus_docstore::{Store, StoreOptions};

type BoxError = Box<dyn std::error::Error>;

// Like the `stratus` binary and the bench.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn make_doc(i: usize, state: &mut u64) -> Document {
    let r = xorshift(state);
    let id = i as i64;
    doc! {
        "_id": id,
        "cat": format!("c{}", i / 10),
        "g": id % 16,
        "n": (r % 1_000_000) as i64,
        "name": format!("user-{i}"),
        "score": (r % 10_000) as f64 / 100.0,
        "tags": ["alpha", "beta"],
    }
}

fn arg<T: std::str::FromStr>(n: usize, default: T) -> T {
    std::env::args()
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

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
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut i = 0;
        while i < docs {
            let end = (i + 10_000).min(docs);
            let batch: Vec<_> = (i..end).map(|k| make_doc(k, &mut state)).collect();
            store.insert_many("bench", "docs", batch, true)?;
            i = end;
        }
        store.create_index("bench", "docs", IndexSpec::new(doc! {"cat": 1})?)?;
    }
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let start = Instant::now();
    let mut reads = 0u64;
    let mut found = 0u64;
    while start.elapsed() < Duration::from_secs(secs) {
        for _ in 0..1000 {
            let id = (xorshift(&mut state) % docs as u64) as i64;
            if store
                .find_one_raw("bench", "docs", doc! {"_id": id})?
                .is_some()
            {
                found += 1;
            }
            reads += 1;
        }
    }
    let rate = reads as f64 / start.elapsed().as_secs_f64();
    println!("mmap {mmap} cache {cache_mb} MiB: {reads} reads, {found} found, {rate:.0}/s");
    Ok(())
}
