//! The exact single-index equality path of `find` (`{field: value}` on a single-field index,
//! read without a plan) against the general path: the same query with a hint takes the
//! general planner and executor, and must give the same documents in the same order, for
//! every skip, limit, batch size and projection, on plain and multikey indexes, ascending and
//! descending, and for results above the small-result limit (kept as keys). A reference
//! matcher checks both. Index changes between two identical queries must change the path.

use bson::{Bson, Document, doc, oid::ObjectId};
use stratus_docstore::index::IndexSpec;
use stratus_docstore::{FindOptions, Store};
use stratus_query::filter::Filter;

mod common;
use common::disk_stores;

/// Documents with `cat` values of every exact type, numbers of other types that compare
/// equal, arrays (multikey), duplicates inside arrays, missing and null fields; `big` holds
/// one value for 150 documents (above the small-result limit).
fn documents(oid: ObjectId) -> Vec<Document> {
    let cats: Vec<Bson> = vec![
        Bson::String("a".into()),
        Bson::String("b".into()),
        Bson::Int32(7),
        Bson::Int64(7),
        Bson::Double(7.0),
        Bson::Boolean(true),
        Bson::ObjectId(oid),
        Bson::Array(vec![Bson::String("a".into()), Bson::String("a".into())]),
        Bson::Array(vec![Bson::String("b".into()), Bson::Int32(7)]),
        Bson::Null,
        Bson::String("7".into()),
    ];
    let mut out = Vec::new();
    for i in 0..400i32 {
        let mut d = doc! {"_id": i, "n": i % 13, "big": if i % 3 == 0 { "x" } else { "y" }};
        if i % 17 != 5 {
            d.insert("cat", cats[(i as usize * 7) % cats.len()].clone());
        }
        out.push(d);
    }
    out
}

fn ids(docs: &[Document]) -> Vec<Bson> {
    docs.iter()
        .map(|d| d.get("_id").cloned().unwrap_or(Bson::Null))
        .collect()
}

fn read_all(store: &Store, options: FindOptions, raw: bool) -> Vec<Document> {
    let mut cursor = store.find("db", "c", options).expect("find");
    let mut out = Vec::new();
    loop {
        let batch: Vec<Document> = if raw {
            cursor
                .next_batch_raw()
                .expect("batch")
                .iter()
                .map(|r| Document::try_from(r.as_ref()).expect("decode"))
                .collect()
        } else {
            cursor.next_batch().expect("batch")
        };
        if batch.is_empty() {
            return out;
        }
        out.extend(batch);
    }
}

#[test]
fn exact_equality_equals_the_general_path() {
    let oid = ObjectId::new();
    for (_d, store) in disk_stores() {
        let docs = documents(oid);
        store
            .insert_many("db", "c", docs.clone(), true)
            .expect("insert");
        for key in [doc! {"cat": 1}, doc! {"big": -1}] {
            store
                .create_index("db", "c", IndexSpec::new(key).expect("spec"))
                .expect("index");
        }
        let filters = vec![
            (doc! {"cat": "a"}, "cat_1"),
            (doc! {"cat": "b"}, "cat_1"),
            (doc! {"cat": 7}, "cat_1"),
            (doc! {"cat": true}, "cat_1"),
            (doc! {"cat": oid}, "cat_1"),
            (doc! {"cat": "7"}, "cat_1"),
            (doc! {"cat": "none"}, "cat_1"),
            (doc! {"big": "x"}, "big_-1"),
            (doc! {"big": "y"}, "big_-1"),
        ];
        let mut checked = 0;
        for (filter, index) in &filters {
            let reference: Vec<Document> = {
                let f = Filter::parse(filter).expect("filter");
                docs.iter().filter(|d| f.matches(d)).cloned().collect()
            };
            for skip in [0u64, 1, 3, 120] {
                for limit in [0i64, 1, 2, -2, 5, 110, 0] {
                    for batch_size in [None, Some(1), Some(4)] {
                        for projection in [None, Some(doc! {"n": 1})] {
                            let options = FindOptions {
                                filter: filter.clone(),
                                skip,
                                limit,
                                batch_size,
                                projection: projection.clone(),
                                ..Default::default()
                            };
                            let hinted = FindOptions {
                                hint: Some(Bson::String((*index).to_string())),
                                ..options.clone()
                            };
                            for raw in [false, true] {
                                let fast = read_all(&store, options.clone(), raw);
                                let general = read_all(&store, hinted.clone(), raw);
                                assert_eq!(fast, general, "{filter} skip {skip} limit {limit}");
                                let mut expected: Vec<Document> =
                                    reference.iter().skip(skip as usize).cloned().collect();
                                if limit != 0 {
                                    expected.truncate(limit.unsigned_abs() as usize);
                                }
                                assert_eq!(
                                    ids(&fast),
                                    ids(&expected),
                                    "{filter} skip {skip} limit {limit}"
                                );
                                checked += 1;
                            }
                        }
                    }
                }
            }
        }
        assert!(checked > 1000, "{checked}");
    }
}

#[test]
fn index_changes_between_identical_queries_change_the_path() {
    for (_d, store) in disk_stores() {
        let docs: Vec<Document> = (0..50i32)
            .map(|i| doc! {"_id": i, "cat": format!("c{}", i % 5)})
            .collect();
        store.insert_many("db", "c", docs, true).expect("insert");
        let query = || {
            ids(&store
                .find("db", "c", FindOptions::filter(doc! {"cat": "c2"}))
                .expect("find")
                .to_vec()
                .expect("read"))
        };
        let expected: Vec<Bson> = (0..50i32).filter(|i| i % 5 == 2).map(Bson::Int32).collect();
        let explain = |store: &Store| {
            store
                .explain("db", "c", &doc! {"cat": "c2"}, None)
                .expect("explain")
        };
        assert_eq!(query(), expected);
        assert!(explain(&store).to_string().contains("COLLSCAN"));
        store
            .create_index("db", "c", IndexSpec::new(doc! {"cat": -1}).expect("spec"))
            .expect("index");
        assert_eq!(query(), expected);
        assert!(explain(&store).to_string().contains("cat_-1"));
        // A new document is seen through the index at once.
        store
            .insert_one("db", "c", doc! {"_id": 100, "cat": "c2"})
            .expect("insert");
        let mut with_new = expected;
        with_new.push(Bson::Int32(100));
        assert_eq!(query(), with_new);
        // A unique compound index led by the field wins the planner's choice: the query is no
        // longer exact (general path, re-checked) and must still answer the same.
        let mut unique = IndexSpec::new(doc! {"cat": 1, "_id": 1}).expect("spec");
        unique.unique = true;
        store.create_index("db", "c", unique).expect("index");
        assert!(explain(&store).to_string().contains("cat_1__id_1"));
        assert_eq!(query(), with_new);
        store.drop_index("db", "c", "cat_1__id_1").expect("drop");
        store.drop_index("db", "c", "cat_-1").expect("drop");
        assert!(explain(&store).to_string().contains("COLLSCAN"));
        assert_eq!(query(), with_new);
    }
}
