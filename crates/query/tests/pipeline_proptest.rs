//! Property tests: parsing arbitrary stage documents never panics (it returns a pipeline or a
//! coded error), and running whatever parses over arbitrary small documents never panics.

use bson::{Bson, Document};
use proptest::prelude::*;
use stratus_query::pipeline::{MemoryCollections, Pipeline, PipelineOptions};

const STAGES: &[&str] = &[
    "$match",
    "$project",
    "$addFields",
    "$set",
    "$unset",
    "$group",
    "$sort",
    "$limit",
    "$skip",
    "$count",
    "$unwind",
    "$lookup",
    "$graphLookup",
    "$facet",
    "$replaceRoot",
    "$replaceWith",
    "$sortByCount",
    "$sample",
    "$bucket",
    "$bucketAuto",
    "$unionWith",
    "$out",
    "$merge",
    "$documents",
    "$redact",
    "$bogus",
];

const KEYS: &[&str] = &[
    "_id",
    "a",
    "buckets",
    "startWith",
    "connectFromField",
    "connectToField",
    "maxDepth",
    "granularity",
    "b.c",
    "$sum",
    "$push",
    "path",
    "from",
    "as",
    "localField",
    "foreignField",
    "pipeline",
    "let",
    "size",
    "groupBy",
    "boundaries",
    "default",
    "output",
    "newRoot",
    "into",
    "on",
    "whenMatched",
    "whenNotMatched",
    "coll",
    "includeArrayIndex",
    "preserveNullAndEmptyArrays",
    "",
    "$a",
    "$$x",
];

fn leaf() -> impl Strategy<Value = Bson> {
    prop_oneof![
        Just(Bson::Null),
        any::<bool>().prop_map(Bson::Boolean),
        (-3i32..5).prop_map(Bson::Int32),
        prop_oneof![Just(-1.5f64), Just(0.0), Just(2.0), Just(f64::NAN)].prop_map(Bson::Double),
        prop::sample::select(vec![
            "$a", "$b.c", "$$ROOT", "$$x", "a", "", "$", "$$KEEP", "replace", "fail", "$a..b"
        ])
        .prop_map(|s| Bson::String(s.to_string())),
    ]
}

fn value() -> impl Strategy<Value = Bson> {
    leaf().prop_recursive(4, 40, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Bson::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner.clone()), 0..4).prop_map(
                |kv| {
                    let mut d = Document::new();
                    for (k, v) in kv {
                        d.insert(k.to_string(), v);
                    }
                    Bson::Document(d)
                }
            ),
            // Nested stages, so sub-pipelines get exercised too.
            (prop::sample::select(STAGES), inner).prop_map(|(s, v)| {
                let mut d = Document::new();
                d.insert(s.to_string(), v);
                Bson::Array(vec![Bson::Document(d)])
            }),
        ]
    })
}

fn stage() -> impl Strategy<Value = Bson> {
    prop_oneof![
        (prop::sample::select(STAGES), value()).prop_map(|(s, v)| {
            let mut d = Document::new();
            d.insert(s.to_string(), v);
            Bson::Document(d)
        }),
        value(),
    ]
}

fn input_doc() -> impl Strategy<Value = Document> {
    prop::collection::vec(
        (prop::sample::select(vec!["_id", "a", "b", "k"]), value()),
        0..4,
    )
    .prop_map(|kv| {
        let mut d = Document::new();
        for (k, v) in kv {
            d.insert(k.to_string(), v);
        }
        d
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parse_and_run_never_panic(
        stages in prop::collection::vec(stage(), 0..4),
        docs in prop::collection::vec(input_doc(), 0..4),
    ) {
        let opts = PipelineOptions { seed: Some(1), ..PipelineOptions::default() };
        if let Ok(p) = Pipeline::parse(&stages, &opts) {
            let env = MemoryCollections::new();
            env.insert_collection("db", "a", docs.clone());
            let _ = p.run(docs.into_iter(), &env, "db");
        }
    }
}
