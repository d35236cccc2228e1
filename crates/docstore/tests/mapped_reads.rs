//! The memory-mapped read path under a shrinking file: readers run point reads and scans
//! without pause while the writer deletes every document (redb gives the freed tail of the
//! file back, so the file shrinks under the map), inserts them again, and repeats. A read
//! that touched the map past the end of the file would kill the test with `SIGBUS`; a stale
//! read would return a document that should not exist or the wrong version of one; the file
//! grows again in the next round, so a page of the map that outlived the cut would show.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use bson::{Document, doc};
use stratus_docstore::{Engine, FindOptions, Store, StoreOptions};

const DOCS: i64 = 4_000;
const ROUNDS: i64 = 3;

fn document(id: i64, round: i64) -> Document {
    doc! {"_id": id, "round": round, "pad": "x".repeat(2_000)}
}

fn file_len(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

#[test]
fn readers_never_fault_or_see_stale_data_while_the_file_shrinks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("m.redb");
    let store = Store::open(
        &path,
        StoreOptions {
            // A small cache, so most reads go through the map.
            cache_bytes: 1024 * 1024,
            // No change feed, which would keep every deleted document and the file's tail.
            change_feed: false,
            // The map under test is redb's (LMDB files never shrink).
            engine: Engine::Redb,
            ..StoreOptions::default()
        },
    )
    .expect("open");
    // The round every document currently belongs to (-1: deleted), as the writer published it
    // before and after each step; readers check each document they see against the range.
    let round = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU64::new(0));
    let readers: Vec<_> = (0..2)
        .map(|t| {
            let (store, stop, reads, round) =
                (store.clone(), stop.clone(), reads.clone(), round.clone());
            std::thread::spawn(move || {
                let mut k = t as i64;
                while !stop.load(Ordering::SeqCst) {
                    let before = round.load(Ordering::SeqCst) as i64;
                    k = (k * 7_919 + 13) % DOCS;
                    let found = store
                        .find_one_raw("db", "c", doc! {"_id": k})
                        .expect("point read");
                    let after = round.load(Ordering::SeqCst) as i64;
                    if let Some(raw) = found {
                        let r = raw.get_i64("round").expect("round field");
                        assert!(
                            (before / 2..=after / 2).contains(&r),
                            "document {k} of round {r} read between phases {before} and {after}"
                        );
                    }
                    if k % 97 == 0 {
                        let n = store
                            .find("db", "c", FindOptions::filter(doc! {"_id": {"$lt": 50}}))
                            .expect("scan")
                            .to_vec()
                            .expect("scan results")
                            .len();
                        assert!(n <= 50, "{n} documents below _id 50");
                    }
                    reads.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let mut shrinks = 0;
    for r in 0..ROUNDS {
        // Phase 2r: inserting round r.
        round.store((2 * r) as u64, Ordering::SeqCst);
        for chunk in (0..DOCS).collect::<Vec<_>>().chunks(500) {
            let docs = chunk.iter().map(|&i| document(i, r)).collect();
            store.insert_many("db", "c", docs, true).expect("insert");
        }
        let full = file_len(&path);
        // Phase 2r+1: deleting round r, in batches (each a commit that may shrink the file).
        round.store((2 * r + 1) as u64, Ordering::SeqCst);
        for lo in (0..DOCS).step_by(250) {
            store
                .delete_many("db", "c", doc! {"_id": {"$gte": lo, "$lt": lo + 250}})
                .expect("delete");
        }
        // Let the writer settle (its empty commit may give the tail back too).
        std::thread::sleep(stratus_docstore::limits::SETTLE_AFTER * 4);
        eprintln!(
            "round {r}: file {full} bytes full, {} emptied",
            file_len(&path)
        );
        if file_len(&path) < full {
            shrinks += 1;
        }
        let left = store
            .count_documents("db", "c", &Document::new(), 0, 0)
            .expect("count");
        assert_eq!(left, 0);
    }
    stop.store(true, Ordering::SeqCst);
    for r in readers {
        r.join().expect("reader thread");
    }
    assert!(
        shrinks > 0,
        "the file never shrank, so the test did not exercise a shrink"
    );
    let reads = reads.load(Ordering::Relaxed);
    eprintln!("{reads} reads during {ROUNDS} rounds, {shrinks} of which shrank the file");
    assert!(reads > 0);
}
