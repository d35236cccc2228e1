//! Rough throughput probe of the store (not a benchmark; see `benches/` for those):
//! durable inserts from 8 threads, a bulk insert, a point-read loop and a filtered scan.
//! Run: `cargo run --release -p stratus-docstore --example throughput`.

use std::time::Instant;

use bson::doc;
use stratus_docstore::{FindOptions, Store, StoreOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path().join("t.redb"), StoreOptions::default())?;
    let threads = 8;
    let per = 500;
    let t0 = Instant::now();
    let hs: Vec<_> = (0..threads)
        .map(|t| {
            let s = store.clone();
            std::thread::spawn(move || -> stratus_docstore::Result<()> {
                for i in 0..per {
                    s.insert_one(
                        "db",
                        "c",
                        doc! {"_id": t * 1_000_000 + i, "v": i, "s": "payload"},
                    )?;
                }
                Ok(())
            })
        })
        .collect();
    for h in hs {
        h.join().map_err(|_| "writer thread panicked")??;
    }
    let n = threads * per;
    let el = t0.elapsed();
    let st = store.writer_stats();
    println!(
        "durable insert_one x{threads} threads: {n} docs in {el:?} = {:.0} docs/s ({} commits)",
        n as f64 / el.as_secs_f64(),
        st.commits
    );
    let bulk: Vec<_> = (0..100_000)
        .map(|i| doc! {"_id": 10_000_000 + i, "v": i % 1000, "s": "payload"})
        .collect();
    let t0 = Instant::now();
    store.insert_many("db", "c", bulk, true)?;
    println!("insert_many 100k: {:?}", t0.elapsed());
    let t0 = Instant::now();
    for i in 0..10_000 {
        store.find_one("db", "c", doc! {"_id": 10_000_000 + i})?;
    }
    println!("10k point reads: {:?}", t0.elapsed());
    let t0 = Instant::now();
    let hits = store
        .find("db", "c", FindOptions::filter(doc! {"v": {"$lt": 10}}))?
        .to_vec()?
        .len();
    println!(
        "filtered scan of {} docs -> {hits}: {:?}",
        store.estimated_count("db", "c")?,
        t0.elapsed()
    );
    Ok(())
}
