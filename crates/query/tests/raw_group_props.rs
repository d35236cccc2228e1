//! Property test: `$group` over raw stored documents ([`Pipeline::try_run_raw`], which reads
//! the group key and accumulator arguments from the BSON bytes) gives exactly what running the
//! same pipeline over the decoded documents ([`Pipeline::try_run`]) gives — documents, order
//! and errors — on generated documents with missing fields, nulls, arrays, nested documents,
//! int/long/double/decimal mixes, string and number keys and dotted paths.

use bson::{Bson, Decimal128, Document, RawDocumentBuf, doc};
use proptest::prelude::*;
use stratus_query::pipeline::{MemoryCollections, Pipeline, PipelineOptions};

fn dec(s: &str) -> Bson {
    Bson::Decimal128(s.parse::<Decimal128>().expect("decimal literal"))
}

fn scalar() -> impl Strategy<Value = Bson> {
    prop_oneof![
        (-1i32..4).prop_map(Bson::Int32),
        (-1i64..4).prop_map(Bson::Int64),
        Just(Bson::Int64(i64::MAX)),
        Just(Bson::Int32(i32::MIN)),
        prop_oneof![
            Just(1.0f64),
            Just(2.0),
            Just(3.5),
            Just(-0.0),
            Just(0.0),
            Just(2.5),
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(1e300),
        ]
        .prop_map(Bson::Double),
        prop_oneof![Just("1"), Just("2.50"), Just("2"), Just("-0"), Just("NaN")].prop_map(dec),
        prop_oneof![Just("a"), Just("b"), Just("1"), Just("")].prop_map(|s| Bson::String(s.into())),
        Just(Bson::Null),
        Just(Bson::Undefined),
        any::<bool>().prop_map(Bson::Boolean),
    ]
}

fn value() -> impl Strategy<Value = Bson> {
    scalar().prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Bson::Array),
            prop::collection::vec((prop_oneof![Just("b"), Just("c")], inner), 0..3).prop_map(
                |kv| {
                    let mut d = Document::new();
                    for (k, v) in kv {
                        d.insert(k, v);
                    }
                    Bson::Document(d)
                }
            ),
        ]
    })
}

fn field(weight_present: u32) -> impl Strategy<Value = Option<Bson>> {
    prop_oneof![
        weight_present => value().prop_map(Some),
        weight_present => scalar().prop_map(Some),
        2 => Just(None),
    ]
}

fn document() -> impl Strategy<Value = Document> {
    (
        field(4),
        field(4),
        field(3),
        field(2),
        field(1),
        any::<bool>(),
    )
        .prop_map(|(g, n, a, s, x, reversed)| {
            let mut fields = vec![("g", g), ("n", n), ("a", a), ("s", s), ("x", x)];
            if reversed {
                fields.reverse();
            }
            let mut d = Document::new();
            for (k, v) in fields {
                if let Some(v) = v {
                    d.insert(k, v);
                }
            }
            d
        })
}

fn arg() -> impl Strategy<Value = Bson> {
    prop_oneof![
        Just(Bson::String("$n".into())),
        Just(Bson::String("$g".into())),
        Just(Bson::String("$a.b".into())),
        Just(Bson::String("$a.b.c".into())),
        Just(Bson::String("$missing".into())),
        Just(Bson::Int32(1)),
        Just(Bson::Double(0.5)),
        Just(Bson::Null),
    ]
}

fn group_stage() -> impl Strategy<Value = Document> {
    let key = prop_oneof![
        Just(Bson::String("$g".into())),
        Just(Bson::String("$n".into())),
        Just(Bson::String("$s".into())),
        Just(Bson::String("$a".into())),
        Just(Bson::String("$a.b".into())),
        Just(Bson::String("$missing".into())),
        Just(Bson::Null),
        Just(Bson::Int32(7)),
    ];
    let op = prop_oneof![
        Just("$sum"),
        Just("$avg"),
        Just("$min"),
        Just("$max"),
        Just("$first"),
        Just("$last"),
        Just("$push"),
        Just("$addToSet"),
        Just("$stdDevPop"),
    ];
    (key, prop::collection::vec((op, arg()), 1..4)).prop_map(|(key, accs)| {
        let mut g = doc! {"_id": key};
        for (i, (op, a)) in accs.into_iter().enumerate() {
            let mut spec = Document::new();
            spec.insert(op, a);
            g.insert(format!("f{i}"), spec);
        }
        g
    })
}

fn pipeline() -> impl Strategy<Value = Vec<Bson>> {
    let matcher = prop_oneof![
        Just(None),
        Just(Some(doc! {"n": {"$gt": 0}})),
        Just(Some(doc! {"g": {"$exists": true}})),
        Just(Some(doc! {"a.b": {"$in": [1, "a", null]}})),
    ];
    let after = prop_oneof![
        Just(None),
        Just(Some(doc! {"$sort": {"_id": 1}})),
        Just(Some(doc! {"$match": {"f0": {"$ne": null}}})),
    ];
    (matcher, group_stage(), after).prop_map(|(m, g, a)| {
        let mut out = Vec::new();
        if let Some(m) = m {
            out.push(Bson::Document(doc! {"$match": m}));
        }
        out.push(Bson::Document(doc! {"$group": g}));
        if let Some(a) = a {
            out.push(Bson::Document(a));
        }
        out
    })
}

/// Both paths over `docs`; a debug rendering compares NaN equal to NaN.
fn both(stages: &[Bson], docs: &[Document]) -> (String, String) {
    let p = Pipeline::parse(stages, &PipelineOptions::default()).expect("pipeline parses");
    assert!(p.runs_on_raw(), "the raw path applies to {stages:?}");
    run_both(&p, docs)
}

/// The decoded run and the raw-input run of `p` over `docs`, as debug renderings.
fn run_both(p: &Pipeline, docs: &[Document]) -> (String, String) {
    let env = MemoryCollections::default();
    let general = p.try_run(docs.iter().cloned().map(Ok), &env, "db");
    let raw = p.try_run_raw(
        docs.iter()
            .map(|d| Ok(RawDocumentBuf::try_from(d).expect("encodes"))),
        &env,
        "db",
    );
    (format!("{general:?}"), format!("{raw:?}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]
    #[test]
    fn raw_group_agrees_with_decoded_group(
        stages in pipeline(),
        docs in prop::collection::vec(document(), 0..12),
    ) {
        let (general, raw) = both(&stages, &docs);
        prop_assert_eq!(general, raw, "pipeline {:?}", stages);
    }
}

#[test]
fn the_bench_group_and_its_edge_cases_agree() {
    let stages = vec![Bson::Document(
        doc! {"$group": {"_id": "$g", "total": {"$sum": "$n"}, "c": {"$count": {}}}},
    )];
    let docs: Vec<Document> = (0..200i64)
        .map(|i| match i % 7 {
            0 => doc! {"_id": i, "g": i % 5, "n": i},
            1 => doc! {"_id": i, "g": (i % 5) as f64, "n": i as f64 + 0.5},
            2 => doc! {"_id": i, "g": (i % 5) as i32, "n": (i as i32)},
            3 => doc! {"_id": i, "n": dec("1.25")},
            4 => doc! {"_id": i, "g": null, "n": "not a number"},
            5 => doc! {"_id": i, "g": format!("k{}", i % 3), "n": [1, 2]},
            _ => doc! {"_id": i, "g": {"$numberLong": "1"}, "n": i64::MAX},
        })
        .collect();
    let (general, raw) = both(&stages, &docs);
    assert_eq!(general, raw);
    // And the documents really were grouped (not, say, two empty results).
    assert!(general.contains("total"), "{general}");
}

#[test]
fn pipelines_the_raw_path_does_not_take() {
    for stages in [
        vec![doc! {"$group": {"_id": {"a": "$a"}, "n": {"$sum": 1}}}],
        vec![doc! {"$group": {"_id": "$$ROOT", "n": {"$sum": 1}}}],
        vec![doc! {"$group": {"_id": "$g", "n": {"$sum": {"$add": ["$n", 1]}}}}],
        vec![
            doc! {"$group": {"_id": "$g", "t": {"$topN": {"n": 2, "sortBy": {"n": 1}, "output": "$n"}}}},
        ],
        vec![doc! {"$project": {"g": 1}}, doc! {"$group": {"_id": "$g"}}],
        vec![
            doc! {"$match": {"$expr": {"$eq": ["$g", "$$v"]}}},
            doc! {"$group": {"_id": "$g"}},
        ],
    ] {
        let stages: Vec<Bson> = stages.into_iter().map(Bson::Document).collect();
        let opts = PipelineOptions {
            let_vars: doc! {"v": 1},
            ..Default::default()
        };
        let p = Pipeline::parse(&stages, &opts).expect("parses");
        assert!(!p.runs_on_raw(), "{stages:?}");
        // The fallback decodes and still gives the general result.
        let docs = [doc! {"g": 1, "n": 2, "a": 3}, doc! {"g": 1, "n": 5}];
        let (general, raw) = run_both(&p, &docs);
        assert_eq!(general, raw);
    }
}

/// Many distinct keys (past the cache's linear list into its hash map), repeated in mixed
/// numeric types, and more accumulator fields than one walk reads.
#[test]
fn many_groups_and_many_fields_agree() {
    let docs: Vec<Document> = (0..600i64)
        .map(|i| {
            let k = i % 97;
            let g = match i % 5 {
                0 => Bson::Int64(k),
                1 => Bson::Int32(k as i32),
                2 => Bson::Double(k as f64),
                3 => Bson::String(format!("s{k}")),
                _ => Bson::Double(k as f64 + 0.5),
            };
            let mut d = doc! {"g": g, "n": i};
            for f in 0..10 {
                d.insert(format!("f{f}"), i * f);
            }
            d
        })
        .collect();
    let mut group = doc! {"_id": "$g"};
    for f in 0..10 {
        group.insert(format!("t{f}"), doc! {"$sum": format!("$f{f}")});
    }
    group.insert("n", doc! {"$max": "$n"});
    for stages in [
        vec![Bson::Document(
            doc! {"$group": {"_id": "$g", "c": {"$sum": 1}, "m": {"$avg": "$n"}}},
        )],
        vec![Bson::Document(doc! {"$group": group})],
    ] {
        let (general, raw) = both(&stages, &docs);
        assert_eq!(general, raw);
        assert!(general.matches("_id").count() > 200, "{general}");
    }
}
