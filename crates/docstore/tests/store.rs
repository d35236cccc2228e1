//! Integration tests of the `Store` API: catalog, CRUD, cursors, snapshots, group commit and
//! the change feed, on both disk engines (redb, the default, and LMDB) and the in-memory
//! engine.

use std::time::Duration;

use bson::{Bson, Document, doc};
use stratus_docstore::index::IndexSpec;
use stratus_docstore::{ChangeOp, DocstoreError, Engine, FindOptions, Store, StoreOptions};

mod common;
use common::{disk_store, disk_stores};

#[test]
fn lmdb_refuses_keys_over_its_limit_clearly_and_keeps_nothing_of_the_write() {
    let (_dir, store) = disk_store(Engine::Lmdb);
    store
        .create_index("db", "c", IndexSpec::new(doc! {"title": 1}).expect("spec"))
        .expect("index");
    let long = "x".repeat(4000);
    for doc in [
        doc! {"_id": 1, "title": &long},
        doc! {"_id": &long, "title": "t"},
    ] {
        let err = store.insert_one("db", "c", doc).expect_err("too long");
        assert!(matches!(err, DocstoreError::KeyTooLong { .. }), "{err:?}");
        assert_eq!(err.code_name(), "KeyTooLong");
        assert_eq!(err.mongo_code(), 17280);
        assert!(err.to_string().contains("key too large"), "{err}");
    }
    assert!(all(&store, "db", "c").is_empty());
    // Queries with values that long work (nothing can match), and shorter values are fine.
    let found = store
        .find("db", "c", FindOptions::filter(doc! {"title": &long}))
        .expect("find")
        .to_vec()
        .expect("read");
    assert!(found.is_empty());
    let ok = "y".repeat(1500);
    store
        .insert_one("db", "c", doc! {"_id": 2, "title": &ok})
        .expect("a 1500-byte indexed value fits");
    let found = store
        .find(
            "db",
            "c",
            FindOptions::filter(doc! {"title": {"$gte": &long}}),
        )
        .expect("find")
        .to_vec()
        .expect("read");
    assert_eq!(found.len(), 1, "y… sorts above x…");
}

fn all(store: &Store, db: &str, coll: &str) -> Vec<Document> {
    store
        .find(db, coll, FindOptions::default())
        .expect("find")
        .to_vec()
        .expect("read")
}

#[test]
fn insert_generates_object_id_first_and_finds_by_id() {
    for (_d, store) in disk_stores() {
        let id = store.insert_one("db", "c", doc! {"a": 1}).expect("insert");
        assert!(matches!(id, Bson::ObjectId(_)));
        let docs = all(&store, "db", "c");
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].keys().next().map(String::as_str), Some("_id"));
        assert_eq!(docs[0].get("a"), Some(&Bson::Int32(1)));
        let found = store
            .find_one("db", "c", doc! {"_id": id})
            .expect("find_one");
        assert_eq!(found.as_ref(), docs.first());
        assert_eq!(
            store.find_one("db", "c", doc! {"_id": 99}).expect("miss"),
            None
        );
        assert!(all(&store, "db", "missing").is_empty());
    }
}

#[test]
fn duplicate_id_is_e11000_and_leaves_nothing() {
    for (_d, store) in disk_stores() {
        store
            .insert_one("db", "coll", doc! {"_id": 1, "v": "a"})
            .expect("first");
        let err = store
            .insert_one("db", "coll", doc! {"_id": 1, "v": "b"})
            .expect_err("duplicate");
        assert_eq!(err.mongo_code(), 11000);
        assert_eq!(err.code_name(), "DuplicateKey");
        assert_eq!(
            err.to_string(),
            "E11000 duplicate key error collection: db.coll index: _id_ dup key: { _id: 1 }"
        );
        assert_eq!(all(&store, "db", "coll"), vec![doc! {"_id": 1, "v": "a"}]);
    }
}

#[test]
fn insert_many_ordered_stops_unordered_continues() {
    for (_d, store) in disk_stores() {
        let docs = vec![doc! {"_id": 1}, doc! {"_id": 1}, doc! {"_id": 2}];
        let r = store
            .insert_many("db", "o", docs.clone(), true)
            .expect("ordered");
        assert_eq!(r.inserted_ids, vec![(0, Bson::Int32(1))]);
        assert_eq!(r.write_errors.len(), 1);
        assert_eq!(
            (r.write_errors[0].index, r.write_errors[0].code),
            (1, 11000)
        );
        assert_eq!(all(&store, "db", "o").len(), 1);

        let r = store
            .insert_many("db", "u", docs, false)
            .expect("unordered");
        assert_eq!(
            r.inserted_ids,
            vec![(0, Bson::Int32(1)), (2, Bson::Int32(2))]
        );
        assert_eq!(r.write_errors.len(), 1);
        assert_eq!(all(&store, "db", "u").len(), 2);
        assert_eq!(store.collection_stats("db", "u").expect("stats").count, 2);
    }
}

#[test]
fn oversized_and_invalid_ids_are_refused() {
    let store = Store::open_in_memory().expect("mem");
    let big = "x".repeat(stratus_docstore::limits::MAX_DOCUMENT_SIZE);
    let err = store
        .insert_one("db", "c", doc! {"big": big})
        .expect_err("too large");
    assert_eq!(err.mongo_code(), 10334);
    assert_eq!(err.code_name(), "BSONObjectTooLarge");
    let err = store
        .insert_one("db", "c", doc! {"_id": [1, 2]})
        .expect_err("array id");
    assert_eq!(err.mongo_code(), 2);
    let err = store
        .insert_one("db", "a$b", doc! {})
        .expect_err("bad name");
    assert_eq!(err.mongo_code(), 73);
    assert!(all(&store, "db", "c").is_empty());
}

#[test]
fn catalog_create_drop_rename_list_stats() {
    for (_d, store) in disk_stores() {
        store.create_collection("db", "a").expect("create");
        assert_eq!(
            store
                .create_collection("db", "a")
                .expect_err("exists")
                .mongo_code(),
            48
        );
        store
            .insert_many(
                "db",
                "b",
                vec![doc! {"_id": 1, "x": "hello"}, doc! {"_id": 2}],
                true,
            )
            .expect("insert");
        store
            .insert_one("other", "z", doc! {"_id": 1})
            .expect("insert");
        let names: Vec<String> = store
            .list_collections("db")
            .expect("list")
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(names, vec!["a", "b"]);
        let dbs: Vec<String> = store
            .list_databases()
            .expect("dbs")
            .into_iter()
            .map(|d| d.name)
            .collect();
        assert_eq!(dbs, vec!["db", "other"]);
        let stats = store.collection_stats("db", "b").expect("stats");
        assert_eq!(stats.count, 2);
        assert_eq!(stats.index_count, 1);
        let expected_size: u64 = all(&store, "db", "b")
            .iter()
            .map(|d| d.to_vec().expect("enc").len() as u64)
            .sum();
        assert_eq!(stats.size, expected_size);
        assert_eq!(stats.avg_obj_size, expected_size / 2);
        assert_eq!(
            store
                .collection_stats("db", "nope")
                .expect_err("missing")
                .mongo_code(),
            26
        );

        // Rename onto an existing target needs drop_target.
        assert_eq!(
            store
                .rename_collection("db", "b", "a", false)
                .expect_err("target")
                .mongo_code(),
            48
        );
        store
            .rename_collection("db", "b", "a", true)
            .expect("rename");
        assert_eq!(all(&store, "db", "a").len(), 2);
        assert!(all(&store, "db", "b").is_empty());
        assert_eq!(
            store
                .rename_collection("db", "nope", "x", false)
                .expect_err("missing")
                .mongo_code(),
            26
        );

        assert!(store.drop_collection("db", "a").expect("drop"));
        assert!(!store.drop_collection("db", "a").expect("drop again"));
        store.drop_database("other").expect("drop db");
        assert!(store.list_databases().expect("dbs").is_empty());
        // Re-created collections start empty (ids are never reused).
        store.create_collection("db", "a").expect("recreate");
        assert!(all(&store, "db", "a").is_empty());
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
fn delete_and_replace_by_id() {
    for (_d, store) in disk_stores() {
        store
            .insert_many(
                "db",
                "c",
                (0..5).map(|i| doc! {"_id": i, "v": i}).collect(),
                true,
            )
            .expect("insert");
        assert_eq!(
            store.delete_one("db", "c", doc! {"_id": 3}).expect("del"),
            1
        );
        assert_eq!(
            store.delete_one("db", "c", doc! {"_id": 3}).expect("del"),
            0
        );
        let r = store
            .replace_one("db", "c", doc! {"_id": 1}, doc! {"w": "new"}, false)
            .expect("replace");
        assert_eq!((r.matched, r.modified, r.upserted_id), (1, 1, None));
        assert_eq!(
            store.find_one("db", "c", doc! {"_id": 1}).expect("f"),
            Some(doc! {"_id": 1, "w": "new"})
        );
        let same = store
            .replace_one("db", "c", doc! {"_id": 1}, doc! {"w": "new"}, false)
            .expect("same");
        assert_eq!((same.matched, same.modified), (1, 0));
        let err = store
            .replace_one("db", "c", doc! {"_id": 1}, doc! {"_id": 2, "w": 1}, false)
            .expect_err("immutable");
        assert_eq!(err.mongo_code(), 66);
        let err = store
            .replace_one("db", "c", doc! {"_id": 1}, doc! {"$set": {"w": 1}}, false)
            .expect_err("operators");
        assert_eq!(err.mongo_code(), 52);
        let up = store
            .replace_one("db", "c", doc! {"_id": 42}, doc! {"u": true}, true)
            .expect("upsert");
        assert_eq!((up.matched, up.upserted_id), (0, Some(Bson::Int32(42))));
        assert_eq!(store.delete_many("db", "c", doc! {}).expect("all"), 5);
        assert!(all(&store, "db", "c").is_empty());
        assert_eq!(store.collection_stats("db", "c").expect("stats").count, 0);
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
fn cursor_batches_and_snapshot_isolation() {
    for (_d, store) in disk_stores() {
        store
            .insert_many("db", "c", (0..250).map(|i| doc! {"_id": i}).collect(), true)
            .expect("insert");
        let mut cursor = store
            .find(
                "db",
                "c",
                FindOptions {
                    batch_size: Some(100),
                    ..Default::default()
                },
            )
            .expect("find");
        // Writes after the cursor opened are invisible to it.
        store
            .insert_one("db", "c", doc! {"_id": 1000})
            .expect("insert");
        store
            .delete_one("db", "c", doc! {"_id": 0})
            .expect("delete");
        let sizes: Vec<usize> = std::iter::from_fn(|| {
            let b = cursor.next_batch().expect("batch");
            (!b.is_empty()).then_some(b.len())
        })
        .collect();
        assert_eq!(sizes, vec![100, 100, 50]);
        assert!(cursor.is_exhausted());
        // skip + limit over a lazy scan.
        let some = store
            .find(
                "db",
                "c",
                FindOptions {
                    skip: 10,
                    limit: 5,
                    batch_size: Some(2),
                    ..Default::default()
                },
            )
            .expect("find")
            .to_vec()
            .expect("read");
        assert_eq!(some.len(), 5);
        assert_eq!(all(&store, "db", "c").len(), 250);
    }
}

#[test]
fn group_commit_shares_fsyncs_across_threads() {
    for (_d, store) in disk_stores() {
        let before = store.writer_stats();
        let threads = 16;
        let per_thread = 25;
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let s = store.clone();
                std::thread::spawn(move || {
                    for i in 0..per_thread {
                        s.insert_one("db", "c", doc! {"t": t as i64, "i": i as i64})
                            .expect("insert");
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().expect("join");
        }
        let after = store.writer_stats();
        let ops = after.operations - before.operations;
        let commits = after.commits - before.commits;
        assert_eq!(ops, (threads * per_thread) as u64);
        println!("group commit: {ops} writes in {commits} commits");
        assert!(
            commits < ops,
            "{commits} commits for {ops} writes: no grouping"
        );
        assert_eq!(all(&store, "db", "c").len(), threads * per_thread);
    }
}

#[test]
fn change_feed_is_ordered_resumable_and_wakes_followers() {
    for (_d, store) in disk_stores() {
        let mut sub = store.subscribe(0);
        let follower = std::thread::spawn(move || {
            let mut seen = Vec::new();
            while seen.len() < 4 {
                let batch = sub.next_batch(Duration::from_secs(10)).expect("batch");
                assert!(!batch.is_empty(), "follower timed out");
                seen.extend(batch);
            }
            seen
        });
        store
            .insert_one("db", "c", doc! {"_id": 1, "a": 1})
            .expect("insert");
        store
            .replace_one("db", "c", doc! {"_id": 1}, doc! {"a": 2}, false)
            .expect("replace");
        store
            .delete_one("db", "c", doc! {"_id": 1})
            .expect("delete");
        store.drop_collection("db", "c").expect("drop");
        let seen = follower.join().expect("follower");
        let ops: Vec<ChangeOp> = seen.iter().map(|e| e.op).collect();
        assert_eq!(
            ops,
            vec![
                ChangeOp::Insert,
                ChangeOp::Replace,
                ChangeOp::Delete,
                ChangeOp::Drop
            ]
        );
        assert!(seen.windows(2).all(|w| w[1].seq == w[0].seq + 1));
        assert_eq!(seen[1].full_document, Some(doc! {"_id": 1, "a": 2}));
        assert_eq!(seen[2].document_key, Some(doc! {"_id": 1}));
        // Resume from a token.
        let rest = store.changes_since(seen[1].seq, 100).expect("since");
        assert_eq!(
            rest.iter().map(|e| e.seq).collect::<Vec<_>>(),
            vec![seen[2].seq, seen[3].seq]
        );
        assert_eq!(store.last_change_seq(), seen[3].seq);
        // A failed write leaves no event.
        store
            .insert_one("db", "d", doc! {"_id": 1})
            .expect("insert");
        store
            .insert_one("db", "d", doc! {"_id": 1})
            .expect_err("dup");
        let tail = store.changes_since(seen[3].seq, 100).expect("since");
        assert_eq!(tail.len(), 1);
    }
}

#[test]
fn reopen_keeps_data_and_feed_position() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("s.redb");
    {
        let store = Store::open(&path, StoreOptions::default()).expect("open");
        store
            .insert_one("db", "c", doc! {"_id": "x"})
            .expect("insert");
    }
    let store = Store::open(&path, StoreOptions::default()).expect("reopen");
    assert_eq!(all(&store, "db", "c"), vec![doc! {"_id": "x"}]);
    assert_eq!(store.last_change_seq(), 1);
    store
        .insert_one("db", "c", doc! {"_id": "y"})
        .expect("insert");
    assert_eq!(store.changes_since(1, 10).expect("since")[0].seq, 2);
}

#[test]
fn filters_select_documents_for_find_count_delete_distinct() {
    for (_d, store) in disk_stores() {
        store
        .insert_many(
            "db",
            "c",
            (0..20)
                .map(|i| doc! {"_id": i, "n": i, "tag": if i % 2 == 0 { "even" } else { "odd" }, "arr": [i, i + 100]})
                .collect(),
            true,
        )
        .expect("insert");
        let evens = store
            .find(
                "db",
                "c",
                FindOptions::filter(doc! {"tag": "even", "n": {"$gte": 10}}),
            )
            .expect("find")
            .to_vec()
            .expect("read");
        assert_eq!(
            evens
                .iter()
                .map(|d| d.get_i32("n").expect("n"))
                .collect::<Vec<_>>(),
            vec![10, 12, 14, 16, 18]
        );
        assert_eq!(
            store
                .count_documents("db", "c", &doc! {"arr": 105}, 0, 0)
                .expect("count"),
            1
        );
        assert_eq!(
            store
                .distinct("db", "c", "tag", &doc! {"n": {"$lt": 3}})
                .expect("distinct"),
            vec![Bson::String("even".into()), Bson::String("odd".into())]
        );
        assert_eq!(
            store
                .delete_many("db", "c", doc! {"tag": "odd"})
                .expect("delete"),
            10
        );
        assert_eq!(
            store
                .delete_one("db", "c", doc! {"n": {"$in": [4, 6]}})
                .expect("delete"),
            1
        );
        assert_eq!(store.estimated_count("db", "c").expect("count"), 9);
        let err = store
            .find("db", "c", FindOptions::filter(doc! {"n": {"$foo": 1}}))
            .expect_err("bad operator");
        assert_eq!(err.mongo_code(), 2);
        assert!(
            store
                .verify_integrity()
                .expect("verify")
                .problems
                .is_empty()
        );
    }
}

fn index(spec: Document) -> stratus_docstore::index::IndexSpec {
    stratus_docstore::index::IndexSpec::parse(&spec).expect("spec")
}

#[test]
fn secondary_unique_index_is_built_enforced_maintained_and_dropped() {
    for (_d, store) in disk_stores() {
        store
            .insert_many(
                "db",
                "c",
                vec![
                    doc! {"_id": 1, "email": "a"},
                    doc! {"_id": 2, "email": "a"},
                    doc! {"_id": 3, "email": "b"},
                ],
                true,
            )
            .expect("insert");
        // A unique build over duplicates fails and leaves no index behind.
        let err = store
            .create_index("db", "c", index(doc! {"key": {"email": 1}, "unique": true}))
            .expect_err("duplicates");
        assert_eq!(err.mongo_code(), 11000);
        assert!(
            err.to_string().contains("dup key: { email: \"a\" }"),
            "{err}"
        );
        assert_eq!(store.list_indexes("db", "c").expect("list").len(), 1);
        store
            .delete_one("db", "c", doc! {"_id": 2})
            .expect("delete");
        let name = store
            .create_index("db", "c", index(doc! {"key": {"email": 1}, "unique": true}))
            .expect("create");
        assert_eq!(name, "email_1");
        // Creating the same index again is a no-op; a conflicting one is refused.
        store
            .create_index("db", "c", index(doc! {"key": {"email": 1}, "unique": true}))
            .expect("again");
        assert_eq!(
            store
                .create_index(
                    "db",
                    "c",
                    index(doc! {"key": {"email": 1}, "name": "email_1", "unique": false})
                )
                .expect_err("conflict")
                .mongo_code(),
            85
        );
        let names: Vec<String> = store
            .list_indexes("db", "c")
            .expect("list")
            .iter()
            .map(|d| d.get_str("name").expect("name").to_string())
            .collect();
        assert_eq!(names, vec!["_id_", "email_1"]);
        assert_eq!(
            store
                .collection_stats("db", "c")
                .expect("stats")
                .index_count,
            2
        );

        // Inserting a duplicate fails with nothing written (document nor entries).
        let err = store
            .insert_one("db", "c", doc! {"_id": 9, "email": "b"})
            .expect_err("dup");
        assert_eq!(err.mongo_code(), 11000);
        assert_eq!(
            store.find_one("db", "c", doc! {"_id": 9}).expect("find"),
            None
        );
        // Unordered insert_many: the violating document alone fails.
        let r = store
            .insert_many(
                "db",
                "c",
                vec![
                    doc! {"_id": 10, "email": "c"},
                    doc! {"_id": 11, "email": "c"},
                    doc! {"_id": 12, "email": "d"},
                ],
                false,
            )
            .expect("insert many");
        assert_eq!(
            r.write_errors
                .iter()
                .map(|e| (e.index, e.code))
                .collect::<Vec<_>>(),
            vec![(1, 11000)]
        );

        // Replacing moves the entries: the old key becomes free, the new one taken.
        store
            .replace_one("db", "c", doc! {"_id": 3}, doc! {"email": "z"}, false)
            .expect("replace");
        store
            .insert_one("db", "c", doc! {"_id": 20, "email": "b"})
            .expect("b is free again");
        let err = store
            .replace_one("db", "c", doc! {"_id": 1}, doc! {"email": "z"}, false)
            .expect_err("z taken");
        assert_eq!(err.mongo_code(), 11000);
        assert_eq!(
            store.find_one("db", "c", doc! {"_id": 1}).expect("find"),
            Some(doc! {"_id": 1, "email": "a"})
        );

        // Queries on the indexed field use the index and see the right documents.
        let explain = store
            .explain("db", "c", &doc! {"email": "z"}, None)
            .expect("explain");
        assert!(format!("{explain}").contains("email_1"), "{explain}");
        let found = store
            .find(
                "db",
                "c",
                FindOptions::filter(doc! {"email": {"$in": ["z", "b"]}}),
            )
            .expect("find")
            .to_vec()
            .expect("read");
        let mut ids: Vec<i32> = found
            .iter()
            .map(|d| d.get_i32("_id").expect("id"))
            .collect();
        ids.sort_unstable();
        assert_eq!(ids, vec![3, 20]);
        let report = store.verify_integrity().expect("verify");
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        assert_eq!(report.index_entries, report.documents);

        assert_eq!(
            store
                .drop_index("db", "c", "_id_")
                .expect_err("id")
                .mongo_code(),
            72
        );
        assert_eq!(
            store
                .drop_index("db", "c", "nope")
                .expect_err("missing")
                .mongo_code(),
            27
        );
        store.drop_index("db", "c", "email_1").expect("drop");
        store
            .insert_one("db", "c", doc! {"_id": 30, "email": "z"})
            .expect("no longer unique");
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
fn multi_document_delete_maintains_every_index_atomically() {
    let store = Store::open_in_memory().expect("mem");
    store
        .create_index("db", "c", index(doc! {"key": {"tags": 1}}))
        .expect("multikey index");
    store
        .create_index("db", "c", index(doc! {"key": {"n": -1, "s": 1}}))
        .expect("compound");
    store
        .insert_many(
            "db",
            "c",
            (0..30)
                .map(|i| doc! {"_id": i, "n": i % 7, "s": format!("s{i}"), "tags": [i % 3, "t"]})
                .collect(),
            true,
        )
        .expect("insert");
    assert_eq!(
        store
            .count_documents("db", "c", &doc! {"tags": 2}, 0, 0)
            .expect("count"),
        10
    );
    assert_eq!(
        store
            .delete_many("db", "c", doc! {"tags": 0})
            .expect("delete"),
        10
    );
    assert_eq!(
        store
            .count_documents("db", "c", &doc! {"tags": "t"}, 0, 0)
            .expect("count"),
        20
    );
    let report = store.verify_integrity().expect("verify");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.documents, 20);
    store
        .rename_collection("db", "c", "d", false)
        .expect("rename");
    assert_eq!(store.list_indexes("db", "d").expect("list").len(), 3);
    assert_eq!(
        store
            .count_documents("db", "d", &doc! {"n": 3}, 0, 0)
            .expect("count"),
        2
    );
    assert!(
        store
            .verify_integrity()
            .expect("verify")
            .problems
            .is_empty()
    );
}

#[test]
fn id_is_stored_first_and_hints_must_name_an_index() {
    let store = Store::open_in_memory().expect("mem");
    store
        .insert_one("db", "c", doc! {"a": 1, "_id": 5, "b": 2})
        .expect("insert");
    let stored = store
        .find_one("db", "c", doc! {"_id": 5})
        .expect("find")
        .expect("present");
    assert_eq!(stored.keys().collect::<Vec<_>>(), vec!["_id", "a", "b"]);
    // 5 and 5.0 are the same _id for MongoDB.
    assert_eq!(
        store
            .insert_one("db", "c", doc! {"_id": 5.0})
            .expect_err("dup")
            .mongo_code(),
        11000
    );
    let ok = store.find(
        "db",
        "c",
        FindOptions {
            hint: Some(Bson::String("_id_".into())),
            ..Default::default()
        },
    );
    assert!(ok.is_ok());
    let err = store
        .find(
            "db",
            "c",
            FindOptions {
                hint: Some(Bson::String("nope".into())),
                ..Default::default()
            },
        )
        .expect_err("unknown hint");
    assert_eq!(err.mongo_code(), 2);
}

#[test]
fn failing_writes_in_a_commit_group_do_not_poison_the_others() {
    for (_d, store) in disk_stores() {
        store
            .insert_one("db", "c", doc! {"_id": "taken"})
            .expect("seed");
        let start_seq = store.last_change_seq();
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let s = store.clone();
                std::thread::spawn(move || {
                    let mut ok = 0;
                    for i in 0..20 {
                        // Every other write is a duplicate that must fail alone.
                        let id = if i % 2 == 0 {
                            format!("t{t}-{i}")
                        } else {
                            "taken".to_string()
                        };
                        match s.insert_one("db", "c", doc! {"_id": id}) {
                            Ok(_) => ok += 1,
                            Err(e) => assert_eq!(e.mongo_code(), 11000),
                        }
                    }
                    ok
                })
            })
            .collect();
        let ok: usize = handles.into_iter().map(|h| h.join().expect("join")).sum();
        assert_eq!(ok, 80);
        assert_eq!(store.estimated_count("db", "c").expect("count"), 81);
        let events = store.changes_since(start_seq, 1000).expect("since");
        assert_eq!(events.len(), 80);
        assert!(events.windows(2).all(|w| w[1].seq == w[0].seq + 1));
        // Trimming consumed history: old tokens are refused, new ones keep working.
        let last = store.last_change_seq();
        assert_eq!(store.trim_changes(last - 10).expect("trim"), last - 10);
        assert_eq!(
            store.changes_since(last - 10, 100).expect("since").len(),
            10
        );
        assert_eq!(
            store
                .changes_since(0, 10)
                .expect_err("trimmed")
                .mongo_code(),
            286
        );
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
fn index_plan_cursors_batch_lazily_from_their_snapshot() {
    for (_d, store) in disk_stores() {
        store
            .create_index("db", "c", index(doc! {"key": {"k": 1}}))
            .expect("index");
        store
            .insert_many(
                "db",
                "c",
                (0..300).map(|i| doc! {"_id": i, "k": 1000 - i}).collect(),
                true,
            )
            .expect("insert");
        let explain = store
            .explain("db", "c", &doc! {"k": {"$gte": 800}}, None)
            .expect("explain");
        assert!(format!("{explain}").contains("k_1"), "{explain}");
        let mut cursor = store
            .find(
                "db",
                "c",
                FindOptions {
                    filter: doc! {"k": {"$gte": 800}},
                    skip: 1,
                    batch_size: Some(50),
                    ..Default::default()
                },
            )
            .expect("find");
        // Deleting after the cursor opened does not change what it returns.
        store
            .delete_many("db", "c", doc! {"k": {"$gte": 900}})
            .expect("delete");
        let mut sizes = Vec::new();
        let mut ks = Vec::new();
        loop {
            let batch = cursor.next_batch().expect("batch");
            if batch.is_empty() {
                break;
            }
            sizes.push(batch.len());
            ks.extend(batch.iter().map(|d| d.get_i32("k").expect("k")));
        }
        assert_eq!(sizes, vec![50, 50, 50, 50]);
        assert!(ks.windows(2).all(|w| w[0] < w[1]), "index order");
        assert_eq!(ks.first(), Some(&801));
        assert_eq!(
            store
                .count_documents("db", "c", &doc! {"k": {"$gte": 800}}, 0, 0)
                .expect("count"),
            100
        );
    }
}

#[test]
fn a_store_without_change_feed_records_no_events() {
    for (_d, normal) in disk_stores() {
        let dir = tempfile::tempdir().expect("tempdir");
        let quiet = Store::open(
            dir.path().join("quiet.db"),
            StoreOptions {
                change_feed: false,
                engine: normal.engine().expect("a disk store"),
                ..StoreOptions::default()
            },
        )
        .expect("open");
        for store in [&quiet, &normal] {
            store
                .insert_one("db", "c", doc! {"_id": 1})
                .expect("insert");
            store
                .insert_many("db", "c", vec![doc! {"_id": 2}, doc! {"_id": 3}], true)
                .expect("insert many");
            store.drop_collection("db", "other").expect("drop");
        }
        assert!(quiet.changes_since(0, 100).expect("changes").is_empty());
        assert_eq!(quiet.last_change_seq(), 0);
        assert_eq!(normal.changes_since(0, 100).expect("changes").len(), 3);
        // The data itself is there either way.
        assert_eq!(all(&quiet, "db", "c").len(), 3);
    }
}
