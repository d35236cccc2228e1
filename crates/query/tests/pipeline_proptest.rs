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
    "$setWindowFields",
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
    "sortBy",
    "partitionBy",
    "window",
    "documents",
    "$rank",
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

/// A small value for join keys: ints, null, arrays of them, or (as `None`) missing.
fn join_value() -> impl Strategy<Value = Option<Bson>> {
    let scalar = prop_oneof![
        (0i32..4).prop_map(Bson::Int32),
        Just(Bson::Null),
        Just(Bson::Double(1.0)),
    ];
    prop_oneof![
        Just(None),
        scalar.clone().prop_map(Some),
        prop::collection::vec(scalar, 0..3).prop_map(|v| Some(Bson::Array(v))),
    ]
}

fn keyed_docs(field: &'static str) -> impl Strategy<Value = Vec<Document>> {
    prop::collection::vec(join_value(), 0..8).prop_map(move |vals| {
        vals.into_iter()
            .enumerate()
            .map(|(i, v)| {
                let mut d = Document::new();
                d.insert("_id", i as i32);
                if let Some(v) = v {
                    d.insert(field, v);
                }
                d
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// The batched equality join gives, for every input document, exactly the foreign
    /// documents the query `{f: {$in: <local values, or null>}}` selects, in natural order.
    #[test]
    fn equality_lookup_matches_the_in_query(
        local in keyed_docs("l"),
        foreign in keyed_docs("f"),
    ) {
        let env = MemoryCollections::new();
        env.insert_collection("db", "f", foreign.clone());
        let stage = bson::doc! {"$lookup": {"from": "f", "localField": "l", "foreignField": "f", "as": "m"}};
        let p = Pipeline::parse(&[Bson::Document(stage)], &PipelineOptions::default()).unwrap();
        let out = p.run(local.clone().into_iter(), &env, "db").unwrap();
        prop_assert_eq!(out.len(), local.len());
        for (input, joined) in local.iter().zip(&out) {
            let values = match input.get("l") {
                None => vec![Bson::Null],
                Some(Bson::Array(a)) if a.is_empty() => vec![Bson::Null],
                Some(Bson::Array(a)) => a.clone(),
                Some(v) => vec![v.clone()],
            };
            let filter = bson::doc! {"f": {"$in": values}};
            let f = stratus_query::filter::Filter::parse(&filter).unwrap();
            let want: Vec<Bson> = foreign
                .iter()
                .filter(|d| f.matches(d))
                .cloned()
                .map(Bson::Document)
                .collect();
            prop_assert_eq!(joined.get("m"), Some(&Bson::Array(want)), "input {}", input);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// `$sort` + `$skip` + `$limit` (computed as a top-k selection) equals a full stable sort
    /// followed by skip and limit.
    #[test]
    fn sort_top_k_equals_full_sort(
        vals in prop::collection::vec((join_value(), 0i32..3), 0..30),
        skip in 0u64..5,
        limit in 1u64..12,
    ) {
        let docs: Vec<Document> = vals
            .into_iter()
            .enumerate()
            .map(|(i, (a, b))| {
                let mut d = Document::new();
                d.insert("_id", i as i32);
                if let Some(a) = a {
                    d.insert("a", a);
                }
                d.insert("b", b);
                d
            })
            .collect();
        let env = MemoryCollections::new();
        let sort = Bson::Document(bson::doc! {"$sort": {"a": 1, "b": -1}});
        let tail = [
            Bson::Document(bson::doc! {"$skip": skip as i64}),
            Bson::Document(bson::doc! {"$limit": limit as i64}),
        ];
        let fast: Vec<Bson> = std::iter::once(sort.clone()).chain(tail.iter().cloned()).collect();
        let full: Vec<Bson> = [sort, Bson::Document(bson::doc! {"$addFields": {}})]
            .into_iter()
            .chain(tail.iter().cloned())
            .collect();
        let run = |stages: &[Bson]| {
            Pipeline::parse(stages, &PipelineOptions::default())
                .unwrap()
                .run(docs.clone().into_iter(), &env, "db")
                .unwrap()
        };
        prop_assert_eq!(run(&fast), run(&full));
    }
}
