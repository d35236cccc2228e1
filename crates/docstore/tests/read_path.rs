//! The shared read path: snapshots shared between commits, memoised catalog entries, and raw
//! results. Every read must see every write acknowledged before it started, from any thread,
//! and raw results must be exactly the decoded results' bytes.

use std::sync::Arc;

use bson::{Document, RawDocumentBuf, doc};
use stratus_docstore::index::IndexSpec;
use stratus_docstore::{FindOptions, Store, StoreOptions};

fn redb_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path().join("s.redb"), StoreOptions::default()).expect("open");
    (dir, store)
}

#[test]
fn every_read_sees_the_writes_acknowledged_before_it() {
    let (_d, store) = redb_store();
    let store = Arc::new(store);
    // Readers hammer the shared snapshot while writers commit; after each acknowledged write
    // its own thread must read it back at once (by _id, raw, and through an index).
    store
        .create_index("db", "c", IndexSpec::new(doc! {"w": 1}).expect("spec"))
        .expect("index");
    let mut threads = Vec::new();
    for w in 0..4i64 {
        let store = Arc::clone(&store);
        threads.push(std::thread::spawn(move || {
            for i in 0..60i64 {
                let id = w * 1000 + i;
                store
                    .insert_one("db", "c", doc! {"_id": id, "w": w, "i": i})
                    .expect("insert");
                let got = store.find_one("db", "c", doc! {"_id": id}).expect("find");
                assert_eq!(got.and_then(|d| d.get_i64("i").ok()), Some(i), "{id}");
                let raw = store
                    .find_one_raw("db", "c", doc! {"_id": id})
                    .expect("raw");
                assert!(raw.is_some(), "raw {id}");
                let mine = store
                    .find("db", "c", FindOptions::filter(doc! {"w": w}))
                    .expect("find")
                    .to_vec()
                    .expect("read");
                assert_eq!(mine.len() as i64, i + 1, "writer {w} after {i}");
            }
        }));
    }
    for t in threads {
        t.join().expect("thread");
    }
    let n = store
        .count_documents("db", "c", &doc! {}, 0, 0)
        .expect("count");
    assert_eq!(n, 240);
}

#[test]
fn catalog_changes_are_seen_by_the_next_read() {
    let (_d, store) = redb_store();
    store
        .insert_one("db", "c", doc! {"_id": 1, "k": "a"})
        .expect("insert");
    // Memoised "no such index" must not survive the index build.
    let before = store
        .explain("db", "c", &doc! {"k": "a"}, None)
        .expect("explain");
    store
        .create_index("db", "c", IndexSpec::new(doc! {"k": 1}).expect("spec"))
        .expect("index");
    let after = store
        .explain("db", "c", &doc! {"k": "a"}, None)
        .expect("explain");
    assert_ne!(before, after, "the new index is planned at once");
    store.drop_collection("db", "c").expect("drop");
    assert!(
        store
            .find_one("db", "c", doc! {"_id": 1})
            .expect("find")
            .is_none()
    );
    store
        .insert_one("db", "c", doc! {"_id": 2})
        .expect("insert");
    assert!(
        store
            .find_one("db", "c", doc! {"_id": 2})
            .expect("find")
            .is_some()
    );
}

#[test]
fn raw_batches_equal_decoded_batches() {
    let (_d, store) = redb_store();
    let docs: Vec<Document> = (0..250)
        .map(|i| doc! {"_id": i, "g": i % 3, "s": format!("v{i}"), "a": [i, {"x": i}]})
        .collect();
    store.insert_many("db", "c", docs, true).expect("insert");
    store
        .create_index("db", "c", IndexSpec::new(doc! {"g": 1}).expect("spec"))
        .expect("index");
    let cases = [
        FindOptions::default(),
        FindOptions::filter(doc! {"g": 1}),
        FindOptions::filter(doc! {"_id": 7}),
        FindOptions {
            filter: doc! {"g": 2},
            sort: Some(doc! {"s": -1}),
            ..Default::default()
        },
        FindOptions {
            filter: doc! {"_id": {"$gte": 10}},
            projection: Some(doc! {"s": 1}),
            skip: 3,
            limit: 40,
            batch_size: Some(7),
            ..Default::default()
        },
    ];
    for opts in cases {
        let decoded = store
            .find("db", "c", opts.clone())
            .expect("find")
            .to_vec()
            .expect("read");
        let mut cursor = store.find("db", "c", opts.clone()).expect("find");
        let mut raw: Vec<RawDocumentBuf> = Vec::new();
        loop {
            let batch = cursor.next_batch_raw().expect("raw batch");
            if batch.is_empty() {
                break;
            }
            raw.extend(batch);
        }
        let raw_decoded: Vec<Document> = raw
            .iter()
            .map(|r| Document::try_from(r.as_ref()).expect("decodes"))
            .collect();
        assert!(!decoded.is_empty(), "{:?}", opts.filter);
        assert_eq!(raw_decoded, decoded, "{:?}", opts.filter);
    }
}
