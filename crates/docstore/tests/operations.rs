//! Integration tests of the query-language operations of the store: sorted/projected finds,
//! update operators, upserts, find-and-modify and aggregation (with `$lookup` and `$out`).

use bson::{Bson, Document, bson, doc};
use stratus_docstore::index::IndexSpec;
use stratus_docstore::{
    AggregateOptions, FindAndModifyOptions, FindOptions, ReturnDocument, Store, UpdateOptions,
};

fn store_with(docs: Vec<Document>) -> Store {
    let store = Store::open_in_memory().expect("mem");
    store.insert_many("db", "c", docs, true).expect("insert");
    store
}

fn ids(docs: &[Document]) -> Vec<Bson> {
    docs.iter()
        .map(|d| d.get("_id").cloned().unwrap_or(Bson::Null))
        .collect()
}

fn people() -> Vec<Document> {
    vec![
        doc! {"_id": 1, "name": "ada", "age": 36, "tags": ["x", "y"]},
        doc! {"_id": 2, "name": "bob", "age": 25, "tags": ["y"]},
        doc! {"_id": 3, "name": "cy", "age": 41, "tags": []},
        doc! {"_id": 4, "name": "dee", "age": 25},
    ]
}

#[test]
fn find_sorts_skips_limits_and_projects() {
    let store = store_with(people());
    let out = store
        .find(
            "db",
            "c",
            FindOptions {
                sort: Some(doc! {"age": -1, "_id": 1}),
                projection: Some(doc! {"name": 1, "_id": 0}),
                skip: 1,
                limit: 2,
                ..Default::default()
            },
        )
        .expect("find")
        .to_vec()
        .expect("read");
    assert_eq!(out, vec![doc! {"name": "ada"}, doc! {"name": "bob"}]);
    // The same with an index providing the order.
    store
        .create_index(
            "db",
            "c",
            IndexSpec::parse(&doc! {"key": {"age": 1}}).expect("spec"),
        )
        .expect("index");
    let out = store
        .find(
            "db",
            "c",
            FindOptions {
                filter: doc! {"age": {"$gte": 25}},
                sort: Some(doc! {"age": 1}),
                limit: 3,
                ..Default::default()
            },
        )
        .expect("find")
        .to_vec()
        .expect("read");
    assert_eq!(out.len(), 3);
    assert_eq!(out[2].get_i32("age").expect("age"), 36);
    let err = store
        .find(
            "db",
            "c",
            FindOptions {
                projection: Some(doc! {"a": 1, "b": 0}),
                ..Default::default()
            },
        )
        .expect_err("mixed projection");
    assert_eq!(err.mongo_code(), 31254);
    let err = store
        .find(
            "db",
            "c",
            FindOptions {
                sort: Some(doc! {"a": 2}),
                ..Default::default()
            },
        )
        .expect_err("bad sort");
    assert_eq!(err.mongo_code(), 15975);
}

#[test]
fn update_operators_upserts_and_atomicity() {
    let store = store_with(people());
    let r = store
        .update_many(
            "db",
            "c",
            doc! {"age": 25},
            &bson!({"$inc": {"age": 1}, "$set": {"seen": true}}),
            UpdateOptions::default(),
        )
        .expect("update many");
    assert_eq!((r.matched, r.modified), (2, 2));
    assert_eq!(
        store
            .count_documents("db", "c", &doc! {"age": 26, "seen": true}, 0, 0)
            .expect("count"),
        2
    );
    // Positional `$` uses the filter's match position.
    store
        .update_one(
            "db",
            "c",
            doc! {"_id": 1, "tags": "y"},
            &bson!({"$set": {"tags.$": "Y"}}),
            UpdateOptions::default(),
        )
        .expect("positional");
    assert_eq!(
        store
            .find_one("db", "c", doc! {"_id": 1})
            .expect("find")
            .and_then(|d| d.get_array("tags").ok().cloned()),
        Some(vec![bson!("x"), bson!("Y")])
    );
    // No-op updates match but do not modify.
    let r = store
        .update_one(
            "db",
            "c",
            doc! {"_id": 3},
            &bson!({"$set": {"age": 41}}),
            UpdateOptions::default(),
        )
        .expect("noop");
    assert_eq!((r.matched, r.modified), (1, 0));
    // Upsert builds from the filter's equality fields.
    let r = store
        .update_one(
            "db",
            "c",
            doc! {"name": "eve"},
            &bson!({"$set": {"age": 30}}),
            UpdateOptions {
                upsert: true,
                ..Default::default()
            },
        )
        .expect("upsert");
    assert!(matches!(r.upserted_id, Some(Bson::ObjectId(_))));
    assert_eq!(
        store
            .count_documents("db", "c", &doc! {"name": "eve", "age": 30}, 0, 0)
            .expect("count"),
        1
    );
    // `_id` is immutable.
    let err = store
        .update_one(
            "db",
            "c",
            doc! {"_id": 2},
            &bson!({"$set": {"_id": 9}}),
            UpdateOptions::default(),
        )
        .expect_err("immutable");
    assert_eq!(err.mongo_code(), 66);
    // A multi-update that fails on one document changes none of them.
    store
        .create_index(
            "db",
            "c",
            IndexSpec::parse(&doc! {"key": {"u": 1}, "unique": true, "sparse": true})
                .expect("spec"),
        )
        .expect("index");
    let err = store
        .update_many(
            "db",
            "c",
            doc! {"age": 26},
            &bson!({"$set": {"u": 1}}),
            UpdateOptions::default(),
        )
        .expect_err("second document violates the unique index");
    assert_eq!(err.mongo_code(), 11000);
    assert_eq!(
        store
            .count_documents("db", "c", &doc! {"u": 1}, 0, 0)
            .expect("count"),
        0
    );
    let err = store
        .update_one(
            "db",
            "c",
            doc! {},
            &bson!({"$inc": {"name": 1}}),
            UpdateOptions::default(),
        )
        .expect_err("type mismatch");
    assert_eq!(err.mongo_code(), 14);
    let err = store
        .update_many(
            "db",
            "c",
            doc! {},
            &bson!({"name": "x"}),
            UpdateOptions::default(),
        )
        .expect_err("replacement in update_many");
    assert_eq!(err.mongo_code(), 9);
    // update_one with sort picks the first in sort order.
    store
        .update_one(
            "db",
            "c",
            doc! {"age": {"$exists": true}},
            &bson!({"$set": {"oldest": true}}),
            UpdateOptions {
                sort: Some(doc! {"age": -1}),
                ..Default::default()
            },
        )
        .expect("sorted update");
    assert_eq!(
        ids(&store
            .find("db", "c", FindOptions::filter(doc! {"oldest": true}))
            .expect("f")
            .to_vec()
            .expect("r")),
        vec![bson!(3)]
    );
    // Pipeline-style update.
    store
        .update_one(
            "db",
            "c",
            doc! {"_id": 4},
            &bson!([{"$set": {"twice": {"$multiply": ["$age", 2]}}}]),
            UpdateOptions::default(),
        )
        .expect("pipeline update");
    assert_eq!(
        store
            .find_one("db", "c", doc! {"_id": 4})
            .expect("f")
            .and_then(|d| d.get("twice").cloned()),
        Some(bson!(52))
    );
    let report = store.verify_integrity().expect("verify");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[test]
fn find_and_modify_family() {
    let store = store_with(people());
    let before = store
        .find_one_and_update(
            "db",
            "c",
            doc! {"age": 25},
            &bson!({"$inc": {"age": 10}}),
            FindAndModifyOptions {
                sort: Some(doc! {"_id": -1}),
                ..Default::default()
            },
        )
        .expect("fam");
    assert_eq!(before.and_then(|d| d.get("_id").cloned()), Some(bson!(4)));
    let after = store
        .find_one_and_update(
            "db",
            "c",
            doc! {"_id": 2},
            &bson!({"$set": {"x": 1}}),
            FindAndModifyOptions {
                return_document: ReturnDocument::After,
                projection: Some(doc! {"x": 1}),
                ..Default::default()
            },
        )
        .expect("after");
    assert_eq!(after, Some(doc! {"_id": 2, "x": 1}));
    let up = store
        .find_one_and_replace(
            "db",
            "c",
            doc! {"_id": 9},
            doc! {"name": "new"},
            FindAndModifyOptions {
                upsert: true,
                return_document: ReturnDocument::After,
                ..Default::default()
            },
        )
        .expect("upsert replace");
    assert_eq!(up, Some(doc! {"_id": 9, "name": "new"}));
    let none = store
        .find_one_and_replace(
            "db",
            "c",
            doc! {"_id": 10},
            doc! {"name": "n"},
            FindAndModifyOptions {
                upsert: true,
                ..Default::default()
            },
        )
        .expect("upsert before");
    assert_eq!(none, None);
    let deleted = store
        .find_one_and_delete(
            "db",
            "c",
            doc! {},
            FindAndModifyOptions {
                sort: Some(doc! {"age": -1}),
                ..Default::default()
            },
        )
        .expect("delete");
    assert_eq!(deleted.and_then(|d| d.get("_id").cloned()), Some(bson!(3)));
    assert_eq!(
        store
            .find_one_and_delete("db", "c", doc! {"_id": 77}, FindAndModifyOptions::default())
            .expect("none"),
        None
    );
    assert_eq!(store.estimated_count("db", "c").expect("count"), 5);
}

#[test]
fn aggregate_groups_looks_up_and_outputs() {
    let store = store_with(people());
    store
        .insert_many(
            "db",
            "orders",
            vec![
                doc! {"_id": 10, "who": 1, "amt": 5},
                doc! {"_id": 11, "who": 1, "amt": 7},
                doc! {"_id": 12, "who": 2, "amt": 1},
            ],
            true,
        )
        .expect("orders");
    let grouped = store
        .aggregate(
            "db",
            "c",
            &[
                bson!({"$match": {"age": {"$lt": 40}}}),
                bson!({"$group": {"_id": "$age", "n": {"$sum": 1}}}),
                bson!({"$sort": {"_id": 1}}),
            ],
            AggregateOptions::default(),
        )
        .expect("aggregate")
        .to_vec()
        .expect("read");
    assert_eq!(
        grouped,
        vec![doc! {"_id": 25, "n": 2}, doc! {"_id": 36, "n": 1}]
    );
    let joined = store
        .aggregate(
            "db",
            "c",
            &[
                bson!({"$match": {"_id": 1}}),
                bson!({"$lookup": {"from": "orders", "localField": "_id", "foreignField": "who", "as": "orders"}}),
                bson!({"$project": {"total": {"$sum": "$orders.amt"}}}),
            ],
            AggregateOptions::default(),
        )
        .expect("lookup")
        .to_vec()
        .expect("read");
    assert_eq!(joined, vec![doc! {"_id": 1, "total": 12}]);
    let out = store
        .aggregate(
            "db",
            "c",
            &[bson!({"$match": {"age": 25}}), bson!({"$out": "young"})],
            AggregateOptions::default(),
        )
        .expect("out")
        .to_vec()
        .expect("read");
    assert!(out.is_empty());
    assert_eq!(store.estimated_count("db", "young").expect("count"), 2);
    let err = store
        .aggregate(
            "db",
            "c",
            &[bson!({"$bogus": 1})],
            AggregateOptions::default(),
        )
        .expect_err("unknown stage");
    assert!(err.mongo_code() > 0);
    assert!(
        store
            .verify_integrity()
            .expect("verify")
            .problems
            .is_empty()
    );
}

#[test]
fn bulk_write_ordered_and_unordered() {
    use stratus_docstore::WriteModel;
    let store = store_with(people());
    let models = || {
        vec![
            WriteModel::InsertOne {
                document: doc! {"_id": 5, "name": "eve"},
            },
            WriteModel::InsertOne {
                document: doc! {"_id": 1},
            },
            WriteModel::UpdateMany {
                filter: doc! {"age": 25},
                update: bson!({"$set": {"young": true}}),
                options: UpdateOptions::default(),
            },
            WriteModel::ReplaceOne {
                filter: doc! {"_id": 42},
                replacement: doc! {"name": "up"},
                options: stratus_docstore::ReplaceOptions {
                    upsert: true,
                    ..Default::default()
                },
            },
            WriteModel::DeleteOne {
                filter: doc! {"_id": 3},
            },
        ]
    };
    let r = store
        .bulk_write("db", "c", models(), true)
        .expect("ordered");
    assert_eq!(
        (r.inserted_count, r.matched_count, r.deleted_count),
        (1, 0, 0)
    );
    assert_eq!(
        r.write_errors
            .iter()
            .map(|e| (e.index, e.code))
            .collect::<Vec<_>>(),
        vec![(1, 11000)]
    );
    let store = store_with(people());
    let r = store
        .bulk_write("db", "c", models(), false)
        .expect("unordered");
    assert_eq!(
        (
            r.inserted_count,
            r.matched_count,
            r.modified_count,
            r.deleted_count
        ),
        (1, 2, 2, 1)
    );
    assert_eq!(r.upserted_ids, vec![(3, bson!(42))]);
    assert_eq!(r.write_errors.len(), 1);
    assert_eq!(store.estimated_count("db", "c").expect("count"), 5);
    // A malformed model fails the whole call before anything is written.
    let err = store
        .bulk_write(
            "db",
            "c",
            vec![
                WriteModel::DeleteMany { filter: doc! {} },
                WriteModel::UpdateOne {
                    filter: doc! {},
                    update: bson!({"$bad": 1}),
                    options: UpdateOptions::default(),
                },
            ],
            true,
        )
        .expect_err("parse error");
    assert!(err.mongo_code() > 0);
    assert_eq!(store.estimated_count("db", "c").expect("count"), 5);
}

#[test]
fn sorted_find_with_limit_equals_full_sort_prefix() {
    let store = store_with(
        (0..500)
            .map(|i| doc! {"_id": i, "g": (i * 37) % 11, "h": (i * 13) % 7})
            .collect(),
    );
    let full = store
        .find(
            "db",
            "c",
            FindOptions {
                sort: Some(doc! {"g": -1, "h": 1}),
                ..Default::default()
            },
        )
        .expect("find")
        .to_vec()
        .expect("read");
    for (skip, limit) in [(0u64, 1i64), (3, 7), (40, 100), (490, 50)] {
        let part = store
            .find(
                "db",
                "c",
                FindOptions {
                    sort: Some(doc! {"g": -1, "h": 1}),
                    skip,
                    limit,
                    ..Default::default()
                },
            )
            .expect("find")
            .to_vec()
            .expect("read");
        let start = (skip as usize).min(full.len());
        let end = (start + limit as usize).min(full.len());
        assert_eq!(
            ids(&part),
            ids(&full[start..end]),
            "skip {skip} limit {limit}"
        );
    }
}

/// Groupings read only the fields they need from storage (`Pipeline::input_fields`); the
/// results must equal the same pipeline run over the whole documents.
#[test]
fn pruned_group_input_gives_the_same_results() {
    use stratus_query::pipeline::{Pipeline, PipelineOptions, env::MemoryCollections};
    let docs: Vec<Document> = (0..300i64)
        .map(|i| {
            doc! {"_id": i, "g": i % 7, "n": i * 3, "s": format!("k{}", i % 5),
            "nested": {"x": i % 4}, "arr": [i, i + 1], "pad": "unused field"}
        })
        .collect();
    let store = store_with(docs.clone());
    let pipelines = vec![
        vec![bson!({"$group": {"_id": "$g", "t": {"$sum": "$n"}, "c": {"$count": {}}}})],
        vec![
            bson!({"$match": {"s": {"$in": ["k1", "k3"]}, "nested.x": {"$gte": 1}}}),
            bson!({"$group": {"_id": {"g": "$g", "x": "$nested.x"}, "a": {"$push": "$arr"}}}),
            bson!({"$sort": {"_id.g": 1, "_id.x": 1}}),
        ],
        vec![
            bson!({"$match": {"n": {"$lt": 100}}}),
            bson!({"$count": "n"}),
        ],
        vec![
            bson!({"$group": {"_id": null, "top": {"$top": {"output": "$n", "sortBy": {"s": -1, "_id": 1}}}}}),
        ],
    ];
    for stages in pipelines {
        let got = store
            .aggregate("db", "c", &stages, AggregateOptions::default())
            .and_then(|c| c.to_vec())
            .expect("aggregate");
        let reference = Pipeline::parse(&stages, &PipelineOptions::default())
            .expect("parse")
            .run(
                docs.clone().into_iter(),
                &MemoryCollections::default(),
                "db",
            )
            .expect("reference run");
        let sorted = |mut v: Vec<Document>| {
            v.sort_by_key(|d| d.get("_id").map(|b| b.to_string()).unwrap_or_default());
            v
        };
        assert_eq!(sorted(got), sorted(reference), "{stages:?}");
    }
}
