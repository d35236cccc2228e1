//! The change feed keeps a bounded window (`StoreOptions::change_retention`): older events
//! are deleted by the writer as new ones arrive, on both disk engines, across a reopen, and a
//! follower behind the window gets ChangeHistoryLost (286) while the newest events stay
//! readable in order.

use bson::{Document, doc};
use stratus_docstore::limits::{CHANGE_TRIM_CHUNK, MAX_CHANGE_TRIM_PER_COMMIT};
use stratus_docstore::{DocstoreError, Engine, Store, StoreOptions};

fn open(path: &std::path::Path, engine: Engine, retention: u64) -> Store {
    Store::open(
        path,
        StoreOptions {
            engine,
            change_retention: retention,
            ..StoreOptions::default()
        },
    )
    .expect("open")
}

fn docs(from: i64, n: i64) -> Vec<Document> {
    (from..from + n).map(|i| doc! {"_id": i, "v": i}).collect()
}

/// Events the feed holds now: (oldest kept seq, count), reading the whole window.
fn window(store: &Store) -> (u64, u64) {
    let last = store.last_change_seq();
    let mut after = 0;
    // The oldest kept event: a read from the start is refused naming it, once trimmed.
    match store.changes_since(0, 1) {
        Ok(_) => {}
        Err(DocstoreError::ChangeHistoryLost { oldest, .. }) => after = oldest - 1,
        Err(e) => panic!("{e}"),
    }
    let mut count = 0;
    let mut expect = after + 1;
    loop {
        let batch = store
            .changes_since(after, 10_000)
            .expect("within the window");
        if batch.is_empty() {
            break;
        }
        for e in &batch {
            assert_eq!(e.seq, expect, "events are gap-free and in order");
            expect += 1;
        }
        count += batch.len() as u64;
        after = batch.last().expect("non-empty").seq;
    }
    assert_eq!(after, last);
    (last - count + 1, count)
}

#[test]
fn the_feed_keeps_a_bounded_window_on_both_engines_and_across_a_reopen() {
    for engine in [Engine::Redb, Engine::Lmdb] {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("s.db");
        let keep = 100;
        let store = open(&path, engine, keep);
        // Under the retention plus one trim chunk nothing is deleted.
        store
            .insert_many(
                "db",
                "c",
                docs(0, (keep + CHANGE_TRIM_CHUNK - 1) as i64),
                true,
            )
            .expect("insert");
        assert_eq!(window(&store).1, keep + CHANGE_TRIM_CHUNK - 1, "{engine:?}");
        assert_eq!(store.writer_stats().trimmed_changes, 0);
        // One more commit crosses the chunk: the oldest go, the newest `keep` stay.
        store
            .insert_one("db", "c", doc! {"_id": -1})
            .expect("insert");
        let (oldest, count) = window(&store);
        assert_eq!(count, keep, "{engine:?}");
        assert_eq!(oldest, store.last_change_seq() - keep + 1);
        // A follower from before the window is told so; the documents are all there.
        assert_eq!(
            store.changes_since(0, 10).expect_err("lost").mongo_code(),
            286
        );
        assert_eq!(
            store.estimated_count("db", "c").expect("count"),
            keep + CHANGE_TRIM_CHUNK
        );
        // Steady writes keep the window between keep and keep + one chunk.
        for i in 0..3 {
            store
                .insert_many("db", "c", docs(10_000 + i * 700, 700), true)
                .expect("insert");
            let (_, count) = window(&store);
            assert!((keep..keep + CHANGE_TRIM_CHUNK).contains(&count), "{count}");
        }
        let last = store.last_change_seq();
        drop(store);
        // Reopened with a larger retention: the numbering continues, nothing more is lost.
        let store = open(&path, engine, 1_000_000);
        let (_, before) = window(&store);
        store
            .insert_one("db", "c", doc! {"_id": -2})
            .expect("insert");
        assert_eq!(store.last_change_seq(), last + 1);
        assert_eq!(window(&store).1, before + 1);
        assert!(
            store
                .verify_integrity()
                .expect("verify")
                .problems
                .is_empty()
        );
    }
}

#[test]
fn a_lowered_retention_works_off_a_large_backlog_over_several_commits() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("s.db");
    let store = open(&path, Engine::Redb, 1_000_000);
    let backlog = 2 * MAX_CHANGE_TRIM_PER_COMMIT + 500;
    store
        .insert_many("db", "c", docs(0, backlog as i64), true)
        .expect("insert");
    drop(store);
    let keep = 10;
    let store = open(&path, Engine::Redb, keep);
    // Each commit deletes at most MAX_CHANGE_TRIM_PER_COMMIT events.
    store
        .insert_one("db", "c", doc! {"_id": -1})
        .expect("insert");
    assert_eq!(
        store.writer_stats().trimmed_changes,
        MAX_CHANGE_TRIM_PER_COMMIT
    );
    assert_eq!(window(&store).1, backlog + 1 - MAX_CHANGE_TRIM_PER_COMMIT);
    store
        .insert_one("db", "c", doc! {"_id": -2})
        .expect("insert");
    assert_eq!(
        store.writer_stats().trimmed_changes,
        2 * MAX_CHANGE_TRIM_PER_COMMIT
    );
    // What is left is under one trim chunk over the retention, so it stays until more come.
    let (_, count) = window(&store);
    assert!((keep..keep + CHANGE_TRIM_CHUNK).contains(&count), "{count}");
    // Stores without a change feed record nothing and trim nothing.
    drop(store);
    let store = Store::open(
        &path,
        StoreOptions {
            change_feed: false,
            ..StoreOptions::default()
        },
    )
    .expect("open");
    let last = store.last_change_seq();
    store
        .insert_one("db", "c", doc! {"_id": -4})
        .expect("insert");
    assert_eq!(store.last_change_seq(), last);
    assert_eq!(store.writer_stats().trimmed_changes, 0);
}
