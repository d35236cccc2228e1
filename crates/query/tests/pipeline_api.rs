//! The pipeline's API for its callers: planner helpers (`leading_match`, `stages`,
//! `output_collection`, `foreign_collections`), pipeline-style updates (`parse_update`,
//! `run_on_document`), limits (pipeline length, `$group` memory, sub-pipeline nesting) and
//! `$sample`'s randomness.

use bson::{Bson, Document, bson, doc};
use stratus_query::MongoCode;
use stratus_query::limits::Limits;
use stratus_query::pipeline::{
    CollectionSource, MemoryCollections, MergeWrite, Pipeline, PipelineOptions,
};

fn parse(stages: Vec<Document>) -> stratus_query::Result<Pipeline> {
    let stages: Vec<Bson> = stages.into_iter().map(Bson::Document).collect();
    Pipeline::parse(&stages, &PipelineOptions::default())
}

fn code(r: stratus_query::Result<impl std::fmt::Debug>) -> i32 {
    r.expect_err("must fail").code.code()
}

#[test]
fn leading_match_is_exposed_for_the_planner() {
    let p = parse(vec![doc! {"$match": {"a": 1}}, doc! {"$limit": 1}]).unwrap();
    assert_eq!(p.leading_match(), Some(&doc! {"a": 1}));
    assert_eq!(p.stages().len(), 2);
    assert_eq!(p.stages()[0].name(), "$match");
    assert_eq!(p.stages()[1].name(), "$limit");

    let p = parse(vec![doc! {"$limit": 1}, doc! {"$match": {"a": 1}}]).unwrap();
    assert_eq!(p.leading_match(), None);
}

#[test]
fn leading_match_with_variables_is_not_exposed() {
    let p = parse(vec![doc! {"$match": {"$expr": {"$eq": ["$a", "$$x"]}}}]);
    // Until `$expr` is supported by the filter this parse may fail; when it parses, the filter
    // must not be offered to the planner since only the pipeline can resolve `$$x`.
    if let Ok(p) = p {
        assert_eq!(p.leading_match(), None);
    }
}

#[test]
fn output_and_foreign_collections() {
    let p = parse(vec![
        doc! {"$lookup": {"from": "a", "localField": "x", "foreignField": "y", "as": "z"}},
        doc! {"$facet": {"f": [{"$unionWith": {"coll": "b", "pipeline": [
        {"$lookup": {"from": {"db": "other", "coll": "c"}, "pipeline": [], "as": "q"}}]}}]}},
        doc! {"$unionWith": "a"},
        doc! {"$merge": {"into": {"db": "out", "coll": "t"}}},
    ])
    .unwrap();
    assert_eq!(
        p.foreign_collections("db"),
        vec![
            ("db".to_string(), "a".to_string()),
            ("db".to_string(), "b".to_string()),
            ("other".to_string(), "c".to_string()),
        ]
    );
    assert_eq!(
        p.output_collection("db"),
        Some(("out".to_string(), "t".to_string()))
    );
    let p = parse(vec![doc! {"$out": "t"}]).unwrap();
    assert_eq!(
        p.output_collection("db"),
        Some(("db".to_string(), "t".to_string()))
    );
    assert!(p.stages()[0].is_write());
}

#[test]
fn update_pipeline_runs_on_one_document() {
    let stages: Vec<Bson> = vec![
        Bson::Document(doc! {"$set": {"b": "$a", "c.d": 1}}),
        Bson::Document(doc! {"$unset": "a"}),
        Bson::Document(doc! {"$project": {"x": 0}}),
        Bson::Document(doc! {"$replaceWith": {"_id": "$_id", "inner": "$$ROOT"}}),
    ];
    let p = Pipeline::parse_update(&stages, &PipelineOptions::default()).unwrap();
    let out = p
        .run_on_document(doc! {"_id": 1, "a": 5, "x": 9}, &[])
        .unwrap();
    assert_eq!(
        out,
        doc! {"_id": 1, "inner": {"_id": 1, "b": 5, "c": {"d": 1}}}
    );
}

#[test]
fn update_pipeline_sees_extra_and_let_variables() {
    let opts = PipelineOptions {
        let_vars: doc! {"k": 3},
        ..PipelineOptions::default()
    };
    let p = Pipeline::parse_update(
        &[Bson::Document(doc! {"$set": {"k": "$$k", "n": "$$new.v"}})],
        &opts,
    )
    .unwrap();
    let out = p
        .run_on_document(
            doc! {"_id": 1},
            &[("new".to_string(), Bson::Document(doc! {"v": 7}))],
        )
        .unwrap();
    assert_eq!(out, doc! {"_id": 1, "k": 3, "n": 7});
}

#[test]
fn update_pipeline_refuses_other_stages() {
    for s in [
        doc! {"$group": {"_id": null}},
        doc! {"$limit": 1},
        doc! {"$out": "x"},
        doc! {"$sort": {"a": 1}},
    ] {
        let r = Pipeline::parse_update(&[Bson::Document(s.clone())], &PipelineOptions::default());
        assert_eq!(code(r), MongoCode::InvalidOptions.code(), "{s}");
    }
}

#[test]
fn pipeline_length_limit() {
    let opts = PipelineOptions {
        limits: Limits {
            max_pipeline_length: 3,
            ..Limits::default()
        },
        ..PipelineOptions::default()
    };
    let four: Vec<Bson> = (0..4).map(|_| Bson::Document(doc! {"$skip": 0})).collect();
    let err = Pipeline::parse(&four, &opts).unwrap_err();
    assert_eq!(err.code.code(), 7749501);
    assert!(err.message.contains("3 stages"), "{}", err.message);
    assert!(Pipeline::parse(&four[..3], &opts).is_ok());
    // The default is MongoDB's 1000.
    let many: Vec<Bson> = (0..1001)
        .map(|_| Bson::Document(doc! {"$skip": 0}))
        .collect();
    assert_eq!(
        code(Pipeline::parse(&many, &PipelineOptions::default())),
        7749501
    );
}

#[test]
fn deeply_nested_sub_pipelines_are_refused_not_overflowed() {
    let mut stage = doc! {"$limit": 1};
    for _ in 0..300 {
        stage = doc! {"$lookup": {"from": "x", "pipeline": [stage], "as": "y"}};
    }
    let r = Pipeline::parse(&[Bson::Document(stage)], &PipelineOptions::default());
    assert_eq!(code(r), 2);
}

#[test]
fn group_memory_is_bounded() {
    let opts = PipelineOptions {
        limits: Limits {
            max_group_memory: 10_000,
            ..Limits::default()
        },
        ..PipelineOptions::default()
    };
    let p = Pipeline::parse(
        &[Bson::Document(
            doc! {"$group": {"_id": "$k", "all": {"$push": "$$ROOT"}}},
        )],
        &opts,
    )
    .unwrap();
    let env = MemoryCollections::new();
    let docs = (0..1000).map(|i| doc! {"k": i, "pad": "x".repeat(100)});
    let err = p.run(docs, &env, "db").unwrap_err();
    assert_eq!(err.code.code(), 292);
    assert!(
        err.message.contains("Exceeded memory limit for $group"),
        "{}",
        err.message
    );
    // Under the bound the same pipeline works.
    let ok = p.run((0..3).map(|i| doc! {"k": i}), &env, "db").unwrap();
    assert_eq!(ok.len(), 3);
}

#[test]
fn sample_is_random_but_seedable() {
    let input: Vec<Document> = (0..50).map(|i| doc! {"_id": i}).collect();
    let env = MemoryCollections::new();
    let run = |seed: Option<u64>| {
        let opts = PipelineOptions {
            seed,
            ..PipelineOptions::default()
        };
        Pipeline::parse(&[Bson::Document(doc! {"$sample": {"size": 5}})], &opts)
            .unwrap()
            .run(input.clone().into_iter(), &env, "db")
            .unwrap()
    };
    let a = run(Some(1));
    assert_eq!(a, run(Some(1)), "same seed, same sample");
    assert_eq!(a.len(), 5);
    let mut ids: Vec<i32> = a.iter().map(|d| d.get_i32("_id").unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 5, "no document twice");
    // Unseeded runs differ at least once in 20 tries (probability of a false failure is
    // negligible: 20 identical 5-of-50 ordered samples).
    let first = run(None);
    assert!((0..20).any(|_| run(None) != first));
}

#[test]
fn memory_collections_merge_is_atomic() {
    let env = MemoryCollections::new();
    env.insert_collection("db", "c", vec![doc! {"_id": 1}]);
    let r = env.apply_merge(
        "db",
        "c",
        vec![
            MergeWrite::Insert(doc! {"_id": 2}),
            MergeWrite::Insert(doc! {"_id": 1}),
        ],
    );
    assert_eq!(r.unwrap_err().code, MongoCode::DuplicateKey);
    assert_eq!(env.documents("db", "c"), vec![doc! {"_id": 1}]);
}

#[test]
fn out_generates_missing_ids() {
    let env = MemoryCollections::new();
    let p = parse(vec![
        doc! {"$project": {"_id": 0, "a": 1}},
        doc! {"$out": "t"},
    ])
    .unwrap();
    let out = p
        .run(
            vec![doc! {"_id": 1, "a": 1}, doc! {"_id": 2, "a": 2}].into_iter(),
            &env,
            "db",
        )
        .unwrap();
    assert!(out.is_empty());
    let t = env.documents("db", "t");
    assert_eq!(t.len(), 2);
    assert!(
        t.iter()
            .all(|d| matches!(d.get("_id"), Some(Bson::ObjectId(_))))
    );
    assert_eq!(t[0].keys().next().map(String::as_str), Some("_id"));
}

#[test]
fn external_first_stage_is_kept_aside() {
    let opts = PipelineOptions {
        external_stages: vec!["$search".to_string()],
        ..PipelineOptions::default()
    };
    let stages = vec![
        Bson::Document(doc! {"$search": {"text": {"query": "x", "path": "a"}}}),
        Bson::Document(doc! {"$match": {"a": 1}}),
        Bson::Document(doc! {"$project": {"_id": 0}}),
    ];
    let p = Pipeline::parse(&stages, &opts).unwrap();
    let (name, spec) = p.leading_external().unwrap();
    assert_eq!(name, "$search");
    assert_eq!(
        spec,
        &Bson::Document(doc! {"text": {"query": "x", "path": "a"}})
    );
    assert_eq!(p.leading_match(), None, "the input is the search output");
    assert_eq!(p.stages().len(), 2);
    let env = MemoryCollections::new();
    let out = p
        .run(
            vec![doc! {"_id": 1, "a": 1}, doc! {"_id": 2, "a": 2}].into_iter(),
            &env,
            "db",
        )
        .unwrap();
    assert_eq!(out, vec![doc! {"a": 1}]);

    // Elsewhere it is refused; without the option it is an unknown stage.
    let late = vec![stages[1].clone(), stages[0].clone()];
    assert_eq!(code(Pipeline::parse(&late, &opts)), 40602);
    assert_eq!(code(parse(vec![doc! {"$search": {}}])), 40324);
}

#[test]
fn lookup_result_is_bounded_by_the_document_size_limit() {
    let opts = PipelineOptions {
        limits: Limits {
            max_document_size: 1000,
            ..Limits::default()
        },
        ..PipelineOptions::default()
    };
    let env = MemoryCollections::new();
    env.insert_collection(
        "db",
        "big",
        (0..50)
            .map(|i| doc! {"_id": i, "k": 1, "pad": "y".repeat(50)})
            .collect(),
    );
    let p = Pipeline::parse(
        &[Bson::Document(
            doc! {"$lookup": {"from": "big", "localField": "k", "foreignField": "k", "as": "all"}},
        )],
        &opts,
    )
    .unwrap();
    let err = p
        .run(vec![doc! {"k": 1}].into_iter(), &env, "db")
        .unwrap_err();
    assert_eq!(err.code.code(), 4568);
    let ok = p.run(vec![doc! {"k": 2}].into_iter(), &env, "db").unwrap();
    assert_eq!(ok, vec![doc! {"k": 2, "all": []}]);
}

#[test]
fn leading_per_document_stages_stop_reading_at_the_limit() {
    use std::cell::Cell;
    let pulled = Cell::new(0usize);
    let input = (0..1000).map(|i| {
        pulled.set(pulled.get() + 1);
        doc! {"_id": i, "even": i % 2 == 0}
    });
    let p = parse(vec![
        doc! {"$match": {"even": true}},
        doc! {"$project": {"even": 0}},
        doc! {"$skip": 1},
        doc! {"$limit": 2},
        doc! {"$sort": {"_id": -1}},
    ])
    .unwrap();
    let env = MemoryCollections::new();
    let out = p.run(input, &env, "db").unwrap();
    assert_eq!(out, vec![doc! {"_id": 4}, doc! {"_id": 2}]);
    assert_eq!(pulled.get(), 5, "input read only up to the fifth document");
}

#[test]
fn streamed_skip_and_limit_compose_like_materialised_ones() {
    let env = MemoryCollections::new();
    let input = || (1..=6).map(|i| doc! {"_id": i});
    let cases: Vec<(Vec<Document>, Vec<i32>)> = vec![
        (
            vec![doc! {"$skip": 1}, doc! {"$limit": 3}, doc! {"$skip": 1}],
            vec![3, 4],
        ),
        (
            vec![doc! {"$limit": 3}, doc! {"$skip": 1}, doc! {"$limit": 1}],
            vec![2],
        ),
        (vec![doc! {"$limit": 10}, doc! {"$skip": 5}], vec![6]),
        (vec![doc! {"$skip": 10}], vec![]),
        (vec![doc! {"$unwind": "$x"}, doc! {"$limit": 2}], vec![]),
    ];
    for (stages, want) in cases {
        let p = parse(stages.clone()).unwrap();
        let got: Vec<i32> = p
            .run(input(), &env, "db")
            .unwrap()
            .iter()
            .map(|d| d.get_i32("_id").unwrap())
            .collect();
        assert_eq!(got, want, "{stages:?}");
    }
}

#[test]
fn pipelines_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Pipeline>();
    assert_send_sync::<MemoryCollections>();
}

/// Counts `find` calls of an inner source.
struct CountingSource {
    inner: MemoryCollections,
    finds: std::cell::Cell<usize>,
}

impl CollectionSource for CountingSource {
    fn find(
        &self,
        db: &str,
        coll: &str,
        filter: &Document,
    ) -> stratus_query::Result<Vec<Document>> {
        self.finds.set(self.finds.get() + 1);
        self.inner.find(db, coll, filter)
    }
    fn replace_collection(
        &self,
        db: &str,
        coll: &str,
        docs: Vec<Document>,
    ) -> stratus_query::Result<()> {
        self.inner.replace_collection(db, coll, docs)
    }
    fn apply_merge(
        &self,
        db: &str,
        coll: &str,
        writes: Vec<MergeWrite>,
    ) -> stratus_query::Result<()> {
        self.inner.apply_merge(db, coll, writes)
    }
}

#[test]
fn equality_lookup_fetches_once_per_batch() {
    use stratus_query::pipeline::LOOKUP_BATCH_SIZE;
    let env = CountingSource {
        inner: MemoryCollections::new(),
        finds: std::cell::Cell::new(0),
    };
    env.inner.insert_collection(
        "db",
        "f",
        (0..10).map(|i| doc! {"_id": i, "k": i}).collect(),
    );
    let p = parse(vec![
        doc! {"$lookup": {"from": "f", "localField": "k", "foreignField": "k", "as": "m"}},
    ])
    .unwrap();
    let n = 2 * LOOKUP_BATCH_SIZE + 1;
    let input = (0..n).map(|i| doc! {"k": (i % 20) as i32});
    let out = p.run(input, &env, "db").unwrap();
    assert_eq!(out.len(), n);
    assert_eq!(env.finds.get(), 3);
    assert_eq!(out[3].get_array("m").unwrap().len(), 1);
    assert_eq!(out[15].get_array("m").unwrap().len(), 0);

    // An uncorrelated pipeline runs once for the whole stage.
    env.finds.set(0);
    let p = parse(vec![
        doc! {"$lookup": {"from": "f", "pipeline": [{"$match": {"k": 1}}], "as": "m"}},
    ])
    .unwrap();
    p.run((0..50).map(|i| doc! {"_id": i}), &env, "db").unwrap();
    assert_eq!(env.finds.get(), 1);
}

#[test]
fn input_errors_stop_the_run() {
    let env = MemoryCollections::new();
    let p = parse(vec![doc! {"$match": {}}, doc! {"$sort": {"_id": 1}}]).unwrap();
    let input = vec![
        Ok(doc! {"_id": 2}),
        Err(stratus_query::QueryError::new(
            MongoCode::InternalError,
            "disk",
        )),
        Ok(doc! {"_id": 1}),
    ];
    let err = p.try_run(input.into_iter(), &env, "db").unwrap_err();
    assert_eq!(err.code, MongoCode::InternalError);
    let p = parse(vec![doc! {"$group": {"_id": null}}]).unwrap();
    let input = vec![Err(stratus_query::QueryError::new(
        MongoCode::InternalError,
        "disk",
    ))];
    assert!(p.try_run(input.into_iter(), &env, "db").is_err());
    let ok = p
        .try_run(vec![Ok(doc! {"a": 1})].into_iter(), &env, "db")
        .unwrap();
    assert_eq!(ok, vec![doc! {"_id": null}]);
}

/// `input_fields` lets the store decode only what a grouping reads; it must list every field
/// the stages can see, and give up (`None`) whenever the whole document may be read.
#[test]
fn input_fields_of_grouping_pipelines() {
    use std::collections::BTreeSet;
    let fields = |stages: Vec<Bson>| {
        Pipeline::parse(&stages, &PipelineOptions::default())
            .expect("valid pipeline")
            .input_fields()
    };
    let set = |names: &[&str]| Some(names.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>());
    assert_eq!(
        fields(vec![bson!({"$group": {"_id": "$g", "t": {"$sum": "$n"}}})]),
        set(&["g", "n"])
    );
    assert_eq!(
        fields(vec![
            bson!({"$match": {"a.b": 1, "$or": [{"c": {"$gt": 1}}, {"d": null}]}}),
            bson!({"$sort": {"e.f": 1}}),
            bson!({"$limit": 5}),
            bson!({"$group": {"_id": {"x": "$x.y"}, "m": {"$max": {"$add": ["$p", "$$NOW"]}}}}),
        ]),
        set(&["a", "c", "d", "e", "p", "x"])
    );
    assert_eq!(fields(vec![bson!({"$count": "n"})]), set(&[]));
    assert_eq!(
        fields(vec![
            bson!({"$group": {"_id": null, "t": {"$top": {"output": "$o", "sortBy": {"s": 1}}}}})
        ]),
        set(&["o", "s"])
    );
    // Anything that may read the whole document, or passes documents through, gives up.
    for stages in [
        vec![bson!({"$group": {"_id": "$g", "all": {"$push": "$$ROOT"}}})],
        vec![bson!({"$group": {"_id": {"$getField": "g"}}})],
        vec![
            bson!({"$match": {"$expr": {"$gt": ["$a", 1]}}}),
            bson!({"$count": "n"}),
        ],
        vec![
            bson!({"$project": {"a": 1}}),
            bson!({"$group": {"_id": "$a"}}),
        ],
        vec![bson!({"$match": {"a": 1}})],
        vec![bson!({"$sort": {"a": 1}})],
    ] {
        assert_eq!(fields(stages.clone()), None, "{stages:?}");
    }
}
