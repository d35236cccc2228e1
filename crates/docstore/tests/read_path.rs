//! The shared read path: snapshots shared between commits, memoised catalog entries, and raw
//! results. Every read must see every write acknowledged before it started, from any thread,
//! and raw results must be exactly the decoded results' bytes.

use std::sync::Arc;

use bson::{Document, RawDocumentBuf, doc};
use stratus_docstore::index::IndexSpec;
use stratus_docstore::{FindOptions, Store};

mod common;
use common::disk_stores;

#[test]
fn every_read_sees_the_writes_acknowledged_before_it() {
    for (_d, store) in disk_stores() {
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
}

#[test]
fn catalog_changes_are_seen_by_the_next_read() {
    for (_d, store) in disk_stores() {
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
}

#[test]
fn raw_batches_equal_decoded_batches() {
    for (_d, store) in disk_stores() {
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
}

/// The ids of `find(filter)`, in result order (duplicates kept, so double reads show).
fn ids(store: &Store, filter: Document) -> Vec<i32> {
    store
        .find("db", "c", FindOptions::filter(filter))
        .expect("find")
        .to_vec()
        .expect("read")
        .iter()
        .map(|d| d.get_i32("_id").expect("_id"))
        .collect()
}

#[test]
fn multikey_flags_follow_the_snapshot() {
    // Reads plan with the multikey flags of their snapshot: a non-multikey index intersects
    // range bounds and scans without de-duplication; once an array is indexed, the next read
    // must see the index as multikey (the memoised catalog entry of an older snapshot must not
    // leak into it).
    for (_d, store) in disk_stores() {
        store
            .create_index("db", "c", IndexSpec::new(doc! {"t": 1}).expect("spec"))
            .expect("index");
        store
            .insert_many(
                "db",
                "c",
                vec![doc! {"_id": 1, "t": "a5"}, doc! {"_id": 2, "t": "c"}],
                true,
            )
            .expect("insert");
        let range = doc! {"t": {"$gt": "a", "$lt": "b"}};
        assert_eq!(ids(&store, range.clone()), vec![1]);
        // Explain shows the plan find uses: one intersected interval, not multikey.
        let scan = |store: &Store| {
            let plan = store.explain("db", "c", &range, None).expect("explain");
            let ix = plan.get_document("inputStage").expect("ixscan").clone();
            (
                ix.get_bool("isMultiKey").expect("isMultiKey"),
                ix.get_document("indexBounds")
                    .and_then(|b| b.get_array("t"))
                    .expect("bounds")
                    .len(),
            )
        };
        assert_eq!(scan(&store), (false, 1));
        assert_eq!(ids(&store, doc! {"t": {"$gte": "0"}}), vec![1, 2]);
        // "z" > "a" and "0" < "b": different elements satisfy the two bounds.
        store
            .insert_one("db", "c", doc! {"_id": 3, "t": ["0", "z"]})
            .expect("insert");
        assert!(scan(&store).0, "multikey after the array");
        let cases: Vec<(Document, Vec<i32>)> = vec![
            (range, vec![1, 3]),
            (doc! {"t": {"$gte": "0"}}, vec![3, 1, 2]),
            (doc! {"t": {"$in": ["0", "z"]}}, vec![3]),
            (doc! {"t": "z"}, vec![3]),
            (doc! {"t": "c"}, vec![2]),
        ];
        for (filter, want) in cases {
            let mut got = ids(&store, filter.clone());
            let mut want = want;
            got.sort_unstable();
            want.sort_unstable();
            assert_eq!(got, want, "{filter}");
        }
    }
}

#[test]
fn index_results_read_through_one_walk_equal_a_scan() {
    // The documents behind an index range are read by walking the document table forward
    // (neighbouring keys) or by descending (far keys, keys behind); every pattern must return
    // exactly the documents a collection scan filtered the same way returns.
    for (_d, store) in disk_stores() {
        store
            .create_index("db", "c", IndexSpec::new(doc! {"k": 1}).expect("spec"))
            .expect("index");
        // k = i / 7 for runs of neighbours; `s` spreads documents of one value over the table.
        let docs: Vec<Document> = (0..3000)
            .map(|i| doc! {"_id": i, "k": i / 7, "s": (i * 7919) % 13, "r": 3000 - i})
            .collect();
        store.insert_many("db", "c", docs, true).expect("insert");
        store
            .create_index("db", "c", IndexSpec::new(doc! {"s": 1}).expect("spec"))
            .expect("index");
        store
            .create_index("db", "c", IndexSpec::new(doc! {"r": -1}).expect("spec"))
            .expect("index");
        // Some holes in the table.
        store
            .delete_many("db", "c", doc! {"_id": {"$in": [8, 9, 10, 700, 701, 2999]}})
            .expect("delete");
        let filters = [
            doc! {"k": 1},
            doc! {"k": {"$in": [1, 100, 2, 428]}},
            doc! {"k": {"$gte": 90, "$lt": 120}},
            doc! {"s": 5},
            doc! {"s": {"$in": [0, 12]}},
            doc! {"r": {"$gt": 100, "$lte": 260}},
            doc! {"_id": {"$in": [5, 6, 7, 8, 9, 11, 2000, 2998, 2999, 4000]}},
            doc! {"_id": {"$gte": 690, "$lt": 720}},
        ];
        let all = store
            .find("db", "c", FindOptions::default())
            .expect("find")
            .to_vec()
            .expect("read");
        assert_eq!(all.len(), 2994);
        for filter in filters {
            let f = stratus_query::filter::Filter::parse(&filter).expect("filter");
            let mut expected: Vec<Document> =
                all.iter().filter(|d| f.matches(d)).cloned().collect();
            let mut got = store
                .find("db", "c", FindOptions::filter(filter.clone()))
                .expect("find")
                .to_vec()
                .expect("read");
            assert!(!got.is_empty(), "{filter}");
            let key = |d: &Document| d.get_i32("_id").expect("_id");
            expected.sort_by_key(key);
            got.sort_by_key(key);
            assert_eq!(got, expected, "{filter}");
        }
        // Long ranges read in growing chunks, forwards and backwards (a sort the index provides),
        // with and without a limit that stops the scan early.
        for (sort, limit) in [
            (doc! {"k": 1}, 0),
            (doc! {"k": -1}, 0),
            (doc! {"k": -1}, 45),
            (doc! {"k": 1}, 200),
        ] {
            let filter = doc! {"k": {"$gte": 10, "$lt": 300}};
            let f = stratus_query::filter::Filter::parse(&filter).expect("filter");
            let want: Vec<&Document> = all.iter().filter(|d| f.matches(d)).collect();
            let got = store
                .find(
                    "db",
                    "c",
                    FindOptions {
                        filter,
                        sort: Some(sort.clone()),
                        limit,
                        ..Default::default()
                    },
                )
                .expect("find")
                .to_vec()
                .expect("read");
            let ks: Vec<i32> = got.iter().map(|d| d.get_i32("k").expect("k")).collect();
            let descending = sort.get_i32("k").ok() == Some(-1);
            assert!(
                ks.windows(2).all(|w| if descending {
                    w[0] >= w[1]
                } else {
                    w[0] <= w[1]
                }),
                "{sort} order"
            );
            if limit == 0 {
                let mut got_ids: Vec<i32> =
                    got.iter().map(|d| d.get_i32("_id").expect("id")).collect();
                let mut want_ids: Vec<i32> =
                    want.iter().map(|d| d.get_i32("_id").expect("id")).collect();
                got_ids.sort_unstable();
                want_ids.sort_unstable();
                assert_eq!(got_ids, want_ids, "{sort}");
            } else {
                assert_eq!(got.len(), limit as usize, "{sort} limit");
                let edge = if descending { 299 } else { 10 };
                assert_eq!(ks.first(), Some(&edge), "{sort} limit");
            }
        }
    }
}

#[test]
fn limited_index_queries_are_prefixes_of_the_unlimited_ones() {
    // A limit sizes the first read of an index range (one entry for `limit: 1`); candidates
    // the filter rejects make the scan read on in growing chunks. Every limited result must be
    // the prefix of the unlimited one, in the same (index) order.
    for (_d, store) in disk_stores() {
        store
            .create_index("db", "c", IndexSpec::new(doc! {"k": 1}).expect("spec"))
            .expect("index");
        let docs: Vec<Document> = (0..600)
            .map(|i| doc! {"_id": i, "k": i % 5, "m": i % 7})
            .collect();
        store.insert_many("db", "c", docs, true).expect("insert");
        let filters = [
            doc! {"k": 2},
            doc! {"k": 2, "m": 3},
            doc! {"k": {"$in": [1, 3]}, "m": {"$gt": 4}},
            doc! {"k": {"$gte": 3}, "m": 0},
        ];
        let run = |filter: &Document, skip: u64, limit: i64| {
            store
                .find(
                    "db",
                    "c",
                    FindOptions {
                        filter: filter.clone(),
                        sort: Some(doc! {"k": 1}),
                        skip,
                        limit,
                        ..Default::default()
                    },
                )
                .expect("find")
                .to_vec()
                .expect("read")
        };
        let every = run(&doc! {}, 0, 0);
        for filter in &filters {
            let all = run(filter, 0, 0);
            assert!(all.len() > 10, "{filter}");
            // The unlimited result is the filtered collection in index order (k, then _id).
            let f = stratus_query::filter::Filter::parse(filter).expect("filter");
            let mut oracle: Vec<Document> =
                every.iter().filter(|d| f.matches(d)).cloned().collect();
            oracle.sort_by_key(|d| (d.get_i32("k").expect("k"), d.get_i32("_id").expect("id")));
            assert_eq!(all, oracle, "{filter}");
            for (skip, limit) in [(0, 1), (0, 2), (0, 3), (0, 17), (1, 1), (5, 3), (0, 40)] {
                let got = run(filter, skip, limit);
                let start = (skip as usize).min(all.len());
                let end = (start + limit as usize).min(all.len());
                assert_eq!(
                    got,
                    all[start..end].to_vec(),
                    "{filter} skip {skip} limit {limit}"
                );
            }
        }
    }
}

#[test]
fn id_lookups_agree_with_the_general_filter() {
    // `{_id: v}` is answered by one key lookup (for plain integer, string and ObjectId values
    // without re-reading the stored `_id`); it must find exactly what `{_id: {$eq: v}}` finds
    // through the planner and the full filter, for equal values of other types too.
    use bson::{Bson, Decimal128, oid::ObjectId};
    for (_d, store) in disk_stores() {
        let oid = ObjectId::parse_str("650000000000000000000001").expect("oid");
        let big = (1i64 << 53) + 1;
        let dec = |s: &str| Bson::Decimal128(s.parse::<Decimal128>().expect("decimal"));
        let stored = [
            Bson::Int32(1),
            Bson::Int64(big),
            Bson::Double(2.5),
            Bson::String("a".into()),
            Bson::Symbol("sym".into()),
            Bson::ObjectId(oid),
            dec("7"),
            Bson::Boolean(true),
        ];
        for (i, id) in stored.iter().enumerate() {
            store
                .insert_one("db", "c", doc! {"_id": id.clone(), "i": i as i32})
                .expect("insert");
        }
        let queries = vec![
            Bson::Int32(1),
            Bson::Int64(1),
            Bson::Double(1.0),
            dec("1"),
            Bson::Int64(big),
            Bson::Int64(big - 1),
            Bson::Double(big as f64),
            Bson::Double(2.5),
            Bson::Int32(2),
            Bson::String("a".into()),
            Bson::Symbol("a".into()),
            Bson::String("sym".into()),
            Bson::String("b".into()),
            Bson::ObjectId(oid),
            Bson::ObjectId(ObjectId::parse_str("650000000000000000000002").expect("oid")),
            Bson::Int32(7),
            Bson::Int64(7),
            dec("7.0"),
            Bson::Boolean(true),
            Bson::Boolean(false),
            Bson::Int32(99),
        ];
        let mut found = 0;
        for q in queries {
            let general = store
                .find(
                    "db",
                    "c",
                    FindOptions::filter(doc! {"_id": {"$eq": q.clone()}}),
                )
                .expect("find")
                .to_vec()
                .expect("read");
            let one = store
                .find_one("db", "c", doc! {"_id": q.clone()})
                .expect("one");
            let raw = store
                .find_one_raw("db", "c", doc! {"_id": q.clone()})
                .expect("raw")
                .map(|r| Document::try_from(r.as_ref()).expect("decodes"));
            let listed = store
                .find("db", "c", FindOptions::filter(doc! {"_id": q.clone()}))
                .expect("find")
                .to_vec()
                .expect("read");
            assert!(general.len() <= 1, "{q:?}");
            assert_eq!(one.as_ref(), general.first(), "find_one {q:?}");
            assert_eq!(raw.as_ref(), general.first(), "find_one_raw {q:?}");
            assert_eq!(listed, general, "find {q:?}");
            found += general.len();
        }
        // 1 (four ways), big, 2.5, "a" (twice), "sym", the ObjectId, 7 (three ways), true.
        assert_eq!(found, 14);
    }
}

#[test]
fn a_limited_index_query_reads_no_candidate_past_its_limit() {
    // An index entry whose document is gone is an InternalError when the scan reaches it;
    // a query whose limit is reached before it must not read it (nor any other candidate
    // after the last one returned).
    use std::sync::Arc;
    use stratus_docstore::kv::{KvStore, MemoryStore};
    let kv = Arc::new(MemoryStore::new());
    let store = Store::with_engine(kv.clone()).expect("store");
    store
        .create_index("db", "c", IndexSpec::new(doc! {"k": 1}).expect("spec"))
        .expect("index");
    let docs: Vec<Document> = (1..=4).map(|i| doc! {"_id": i, "k": "x"}).collect();
    store.insert_many("db", "c", docs, true).expect("insert");
    let table =
        stratus_docstore::catalog::docs_table(store.list_collections("db").expect("list")[0].id);
    let gone = stratus_docstore::index::encode_id(&bson::Bson::Int32(3));
    kv.write(&mut |w| w.delete(&table, &gone).map(|_| ()))
        .expect("remove a document behind the index's back");
    let limited = |limit: i64, skip: u64| {
        store
            .find(
                "db",
                "c",
                FindOptions {
                    filter: doc! {"k": "x"},
                    limit,
                    skip,
                    ..Default::default()
                },
            )
            .and_then(|c| c.to_vec())
            .map(|d| {
                d.iter()
                    .map(|d| d.get_i32("_id").expect("id"))
                    .collect::<Vec<_>>()
            })
    };
    assert_eq!(limited(2, 0).expect("limit 2"), vec![1, 2]);
    assert_eq!(limited(1, 1).expect("skip 1, limit 1"), vec![2]);
    assert_eq!(limited(-1, 0).expect("limit -1"), vec![1]);
    assert!(limited(3, 0).is_err(), "the dangling entry is reached");
    assert!(limited(0, 0).is_err(), "no limit reaches it too");
}

/// `aggregate` with a `$group` that reads the stored bytes in place (`Pipeline::runs_on_raw`)
/// returns what the same pipeline returns over the decoded documents, for mixed value types,
/// missing fields, nested documents and arrays, with and without a leading `$match`.
#[test]
fn raw_group_through_the_store_matches_the_decoded_pipeline() {
    use bson::{Bson, Decimal128};
    use stratus_docstore::AggregateOptions;
    use stratus_query::pipeline::{MemoryCollections, Pipeline, PipelineOptions};

    for (_d, store) in disk_stores() {
        let dec: Decimal128 = "2.5".parse().expect("decimal");
        let docs: Vec<Document> = (0..400i64)
            .map(|i| {
                let mut d = doc! {"_id": i};
                match i % 9 {
                    0 => {}
                    1 => {
                        d.insert("g", Bson::Null);
                    }
                    2 => {
                        d.insert("g", (i % 4) as f64);
                    }
                    3 => {
                        d.insert("g", format!("k{}", i % 3));
                    }
                    4 => {
                        d.insert("g", vec![Bson::Int64(1), Bson::Int64(2)]);
                    }
                    5 => {
                        d.insert("g", doc! {"b": i % 2});
                    }
                    _ => {
                        d.insert("g", i % 4);
                    }
                }
                match i % 5 {
                    0 => {}
                    1 => {
                        d.insert("n", Bson::Decimal128(dec));
                    }
                    2 => {
                        d.insert("n", i as f64 / 3.0);
                    }
                    3 => {
                        d.insert("n", "text");
                    }
                    _ => {
                        d.insert("n", i as i32);
                    }
                }
                d.insert("a", doc! {"b": i % 3, "c": [1, 2]});
                d
            })
            .collect();
        store.insert_many("db", "c", docs, true).expect("insert");
        let all = store
            .find("db", "c", FindOptions::default())
            .expect("find")
            .to_vec()
            .expect("read");
        let pipelines = [
            vec![doc! {"$group": {"_id": "$g", "t": {"$sum": "$n"}, "c": {"$count": {}}}}],
            vec![
                doc! {"$match": {"n": {"$exists": true}}},
                doc! {"$group": {"_id": "$a.b", "m": {"$max": "$n"}, "p": {"$push": "$g"}}},
                doc! {"$sort": {"_id": 1}},
            ],
            vec![doc! {"$group": {"_id": null, "avg": {"$avg": "$n"}, "f": {"$first": "$a.c"}}}],
        ];
        for stages in pipelines {
            let stages: Vec<Bson> = stages.into_iter().map(Bson::Document).collect();
            let p = Pipeline::parse(&stages, &PipelineOptions::default()).expect("parse");
            assert!(p.runs_on_raw(), "{stages:?}");
            let want = p
                .run(all.iter().cloned(), &MemoryCollections::default(), "db")
                .expect("decoded run");
            let got = store
                .aggregate("db", "c", &stages, AggregateOptions::default())
                .expect("aggregate")
                .to_vec()
                .expect("read");
            assert_eq!(format!("{got:?}"), format!("{want:?}"), "{stages:?}");
            assert!(!got.is_empty());
        }
    }
}
