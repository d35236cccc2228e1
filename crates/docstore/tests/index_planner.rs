//! Planner tests: which access path and index are chosen for many filters, the explain shape,
//! and a differential property test proving that the candidates of every plan are a superset
//! of the documents a reference matcher selects (and are in order when the plan says the sort
//! is provided).

use std::cmp::Ordering;
use std::collections::BTreeSet;

use bson::{Bson, Document, bson, doc};
use proptest::prelude::*;
use stratus_docstore::index::{
    Access, IndexDef, IndexSpec, encode_id, execute, explain, insert_entries, is_multikey, plan,
};
use stratus_docstore::kv::{KvWrite, MemoryKv};
use stratus_query::compare::{compare, type_rank, values_equal};

const DOCS: &str = "docs";

fn def(key: Document) -> IndexDef {
    IndexDef::compile(&IndexSpec::new(key).expect("valid spec")).expect("compiles")
}

fn indexes() -> Vec<(String, IndexDef)> {
    let mut unique = IndexSpec::new(doc! {"email": 1}).expect("valid");
    unique.unique = true;
    let mut sparse = IndexSpec::new(doc! {"s": 1}).expect("valid");
    sparse.sparse = true;
    let specs = vec![
        def(doc! {"a": 1}),
        def(doc! {"a": 1, "b": 1}),
        def(doc! {"b": -1}),
        def(doc! {"c": 1, "d": -1}),
        def(doc! {"x.y": 1}),
        IndexDef::compile(&unique).expect("compiles"),
        IndexDef::compile(&sparse).expect("compiles"),
    ];
    specs
        .into_iter()
        .map(|mut d| {
            d.multikey = false;
            (format!("ix.{}", d.name()), d)
        })
        .collect()
}

fn chosen(filter: Document, sort: Option<Document>) -> (String, Option<String>, bool) {
    let p = plan(&filter, sort.as_ref(), &indexes());
    let kind = match &p.access {
        Access::CollScan => "COLLSCAN",
        Access::IdPoint { .. } => "IDPOINT",
        Access::IndexScan(_) => "IXSCAN",
    };
    (
        kind.to_string(),
        p.index_name().map(str::to_string),
        p.sort_provided,
    )
}

#[test]
fn plan_choices() {
    type Case = (
        Document,
        Option<Document>,
        &'static str,
        Option<&'static str>,
        bool,
    );
    let cases: Vec<Case> = vec![
        (doc! {}, None, "COLLSCAN", None, true),
        (doc! {"z": 1}, None, "COLLSCAN", None, true),
        (doc! {"_id": 5}, None, "IDPOINT", Some("_id_"), true),
        (
            doc! {"_id": {"$in": [1, 2]}, "a": 1},
            None,
            "IDPOINT",
            Some("_id_"),
            true,
        ),
        (doc! {"_id": {"$gt": 5}}, None, "IXSCAN", Some("_id_"), true),
        (doc! {"a": 1}, None, "IXSCAN", Some("a_1"), true),
        (doc! {"a": 1, "b": 2}, None, "IXSCAN", Some("a_1_b_1"), true),
        (
            doc! {"a": 1, "b": {"$gt": 2}},
            None,
            "IXSCAN",
            Some("a_1_b_1"),
            true,
        ),
        (doc! {"b": {"$gt": 2}}, None, "IXSCAN", Some("b_-1"), true),
        (
            doc! {"$and": [{"a": 1}, {"b": 2}]},
            None,
            "IXSCAN",
            Some("a_1_b_1"),
            true,
        ),
        (
            doc! {"a": {"$in": [1, 2, 3]}},
            None,
            "IXSCAN",
            Some("a_1"),
            true,
        ),
        (doc! {"a": {"$eq": 3}}, None, "IXSCAN", Some("a_1"), true),
        (doc! {"a": {"$ne": 3}}, None, "COLLSCAN", None, true),
        (
            doc! {"a": {"$regex": "^x"}},
            None,
            "IXSCAN",
            Some("a_1"),
            true,
        ),
        (
            doc! {"a": {"$regex": "^x", "$options": "i"}},
            None,
            "COLLSCAN",
            None,
            true,
        ),
        (doc! {"a": {"$regex": "x"}}, None, "COLLSCAN", None, true),
        (
            doc! {"a": {"$regex": "^x|^y"}},
            None,
            "COLLSCAN",
            None,
            true,
        ),
        (
            doc! {"$or": [{"a": 1}, {"b": 1}]},
            None,
            "COLLSCAN",
            None,
            true,
        ),
        (doc! {"x.y": "q"}, None, "IXSCAN", Some("x.y_1"), true),
        (doc! {"email": "a@b"}, None, "IXSCAN", Some("email_1"), true),
        (
            doc! {"c": 1, "d": {"$lt": 5}},
            None,
            "IXSCAN",
            Some("c_1_d_-1"),
            true,
        ),
        (doc! {"d": 1}, None, "COLLSCAN", None, true),
        // Sparse index: usable when the bounds exclude missing values only.
        (doc! {"s": 1}, None, "IXSCAN", Some("s_1"), true),
        (doc! {"s": null}, None, "COLLSCAN", None, true),
        (doc! {}, Some(doc! {"s": 1}), "COLLSCAN", None, false),
        // Sorts.
        (doc! {}, Some(doc! {"a": 1}), "IXSCAN", Some("a_1"), true),
        (doc! {}, Some(doc! {"a": -1}), "IXSCAN", Some("a_1"), true),
        (
            doc! {},
            Some(doc! {"_id": -1}),
            "IXSCAN",
            Some("_id_"),
            true,
        ),
        (
            doc! {"a": 1},
            Some(doc! {"b": 1}),
            "IXSCAN",
            Some("a_1_b_1"),
            true,
        ),
        (
            doc! {"a": 1},
            Some(doc! {"b": -1}),
            "IXSCAN",
            Some("a_1_b_1"),
            true,
        ),
        (
            doc! {"a": {"$in": [1, 2]}},
            Some(doc! {"b": 1}),
            "IXSCAN",
            Some("a_1"),
            false,
        ),
        (doc! {}, Some(doc! {"b": 1}), "IXSCAN", Some("b_-1"), true),
        (
            doc! {},
            Some(doc! {"c": 1, "d": -1}),
            "IXSCAN",
            Some("c_1_d_-1"),
            true,
        ),
        (
            doc! {},
            Some(doc! {"c": -1, "d": 1}),
            "IXSCAN",
            Some("c_1_d_-1"),
            true,
        ),
        (
            doc! {},
            Some(doc! {"c": 1, "d": 1}),
            "COLLSCAN",
            None,
            false,
        ),
        (doc! {"z": 1}, Some(doc! {"q": 1}), "COLLSCAN", None, false),
        (
            doc! {"b": {"$gt": 1}},
            Some(doc! {"a": 1}),
            "IXSCAN",
            Some("b_-1"),
            false,
        ),
    ];
    for (filter, sort, kind, index, sorted) in cases {
        let got = chosen(filter.clone(), sort.clone());
        assert_eq!(
            got,
            (kind.to_string(), index.map(str::to_string), sorted),
            "filter {filter} sort {sort:?}"
        );
    }
}

#[test]
fn multikey_ranges_use_one_bound_and_no_sort() {
    let mut d = def(doc! {"a": 1});
    d.multikey = false;
    let tight = plan(
        &doc! {"a": {"$gt": 3, "$lt": 5}},
        None,
        &[("ix".to_string(), d.clone())],
    );
    let e = explain(&tight);
    assert_eq!(
        e.get_document("inputStage")
            .and_then(|s| s.get_document("indexBounds"))
            .expect("bounds")
            .get_array("a")
            .expect("a"),
        &vec![Bson::String("(3, 5)".into())]
    );
    d.multikey = true;
    let loose = plan(
        &doc! {"a": {"$gt": 3, "$lt": 5}},
        Some(&doc! {"a": 1}),
        &[("ix".to_string(), d)],
    );
    let e = explain(&loose);
    assert_eq!(e.get_str("stage").ok(), Some("SORT"));
    let bounds = e
        .get_document("inputStage")
        .and_then(|s| s.get_document("inputStage"))
        .and_then(|s| s.get_document("indexBounds"))
        .expect("bounds");
    assert_eq!(
        bounds.get_array("a").expect("a"),
        &vec![Bson::String("(3, inf.0]".into())]
    );
}

#[test]
fn explain_shapes() {
    let ix = indexes();
    assert_eq!(
        explain(&plan(&doc! {"_id": 1}, None, &ix)),
        doc! {"stage": "IDHACK"}
    );
    assert_eq!(
        explain(&plan(&doc! {"z": 1}, None, &ix)),
        doc! {"stage": "COLLSCAN", "direction": "forward"}
    );
    let e = explain(&plan(
        &doc! {"c": {"$in": [2, 1]}, "d": {"$gte": 3}},
        None,
        &ix,
    ));
    assert_eq!(e.get_str("stage").ok(), Some("FETCH"));
    let scan = e.get_document("inputStage").expect("ixscan");
    assert_eq!(scan.get_str("stage").ok(), Some("IXSCAN"));
    assert_eq!(scan.get_str("indexName").ok(), Some("c_1_d_-1"));
    assert_eq!(scan.get_str("direction").ok(), Some("forward"));
    assert_eq!(
        scan.get_document("indexBounds").expect("bounds"),
        &doc! {"c": ["[1, 1]", "[2, 2]"], "d": ["[inf.0, 3]"]}
    );
    let e = explain(&plan(&doc! {"a": {"$regex": "^ab"}}, None, &ix));
    let scan = e.get_document("inputStage").expect("ixscan");
    assert_eq!(
        scan.get_document("indexBounds").expect("bounds"),
        &doc! {"a": ["[\"ab\", \"ac\")", "[/^ab/, /^ab/]"]}
    );
    let e = explain(&plan(&doc! {"a": null}, None, &ix));
    let scan = e.get_document("inputStage").expect("ixscan");
    assert_eq!(
        scan.get_document("indexBounds").expect("bounds"),
        &doc! {"a": ["[undefined, undefined]", "[null, null]"]}
    );
    let e = explain(&plan(&doc! {"a": {"$gt": "m"}}, Some(&doc! {"a": -1}), &ix));
    let scan = e.get_document("inputStage").expect("ixscan");
    assert_eq!(scan.get_str("direction").ok(), Some("backward"));
    assert_eq!(
        scan.get_document("indexBounds").expect("bounds"),
        &doc! {"a": ["(\"m\", {})"]}
    );
}

// ---------------------------------------------------------------------------------------
// Differential test.

/// Values reached by a dotted path with MongoDB's array rules; `missing` is set when some
/// branch of the path does not exist.
fn reach(v: &Bson, parts: &[&str], out: &mut Vec<Bson>, missing: &mut bool) {
    let Some((first, rest)) = parts.split_first() else {
        out.push(v.clone());
        if let Bson::Array(items) = v {
            out.extend(items.iter().cloned());
        }
        return;
    };
    match v {
        Bson::Document(d) => match d.get(*first) {
            Some(x) => reach(x, rest, out, missing),
            None => *missing = true,
        },
        Bson::Array(items) => {
            if items.is_empty() {
                *missing = true;
            }
            for e in items {
                match e {
                    Bson::Document(_) => reach(e, parts, out, missing),
                    _ => *missing = true,
                }
            }
        }
        _ => *missing = true,
    }
}

fn cond_matches(doc: &Document, path: &str, op: &str, arg: &Bson) -> bool {
    let parts: Vec<&str> = path.split('.').collect();
    let mut vals = Vec::new();
    let mut missing = false;
    reach(
        &Bson::Document(doc.clone()),
        &parts,
        &mut vals,
        &mut missing,
    );
    let eq = |a: &Bson| {
        (a.as_null().is_some() && (missing || vals.iter().any(|v| matches!(v, Bson::Null))))
            || vals.iter().any(|v| values_equal(v, a))
    };
    match op {
        "$eq" => eq(arg),
        "$in" => arg.as_array().is_some_and(|items| items.iter().any(eq)),
        _ => vals.iter().any(|v| {
            type_rank(v) == type_rank(arg)
                && match (op, compare(v, arg)) {
                    ("$gt", o) => o == Ordering::Greater,
                    ("$gte", o) => o != Ordering::Less,
                    ("$lt", o) => o == Ordering::Less,
                    ("$lte", o) => o != Ordering::Greater,
                    _ => false,
                }
        }),
    }
}

fn scalar() -> impl Strategy<Value = Bson> {
    prop_oneof![
        (0i32..5).prop_map(Bson::Int32),
        (0i64..5).prop_map(Bson::Int64),
        (0i32..10).prop_map(|i| Bson::Double(f64::from(i) / 2.0)),
        prop_oneof![Just("a"), Just("b"), Just("c")].prop_map(|s| Bson::String(s.into())),
        Just(Bson::Null),
        any::<bool>().prop_map(Bson::Boolean),
    ]
}

fn field_value() -> impl Strategy<Value = Option<Bson>> {
    prop_oneof![
        3 => scalar().prop_map(Some),
        1 => Just(None),
        1 => prop::collection::vec(scalar(), 0..4).prop_map(|v| Some(Bson::Array(v))),
    ]
}

fn document(id: i32) -> impl Strategy<Value = Document> {
    (
        field_value(),
        scalar(),
        field_value(),
        prop::collection::vec(scalar(), 0..3),
        any::<bool>(),
    )
        .prop_map(move |(a, b, c, ys, arr)| {
            let mut d = doc! {"_id": id};
            if let Some(a) = a {
                d.insert("a", a);
            }
            d.insert("b", b);
            if let Some(c) = c {
                // `c` scalar only: arrays in both `a` and `c` would be parallel in `{a:1, c:1}`.
                if !matches!(c, Bson::Array(_)) {
                    d.insert("c", c);
                }
            }
            let x: Bson = if arr {
                Bson::Array(ys.into_iter().map(|y| bson!({"y": y})).collect())
            } else {
                match ys.first() {
                    Some(y) => bson!({"y": y.clone()}),
                    None => bson!({}),
                }
            };
            d.insert("x", x);
            d
        })
}

fn condition() -> impl Strategy<Value = (String, String, Bson)> {
    (
        prop_oneof![
            3 => Just("a"),
            1 => Just("b"),
            1 => Just("c"),
            2 => Just("x.y"),
            1 => Just("_id")
        ],
        prop_oneof![
            Just("$eq"),
            Just("$in"),
            Just("$gt"),
            Just("$gte"),
            Just("$lt"),
            Just("$lte")
        ],
        prop_oneof![
            4 => scalar(),
            1 => prop::collection::vec(scalar(), 0..3).prop_map(Bson::Array),
        ],
        prop::collection::vec(scalar(), 0..3),
    )
        .prop_map(|(f, op, v, list)| {
            let arg = if op == "$in" { Bson::Array(list) } else { v };
            (f.to_string(), op.to_string(), arg)
        })
}

fn filter_doc(conds: &[(String, String, Bson)], wrap_and: bool) -> Document {
    let parts: Vec<Document> = conds
        .iter()
        .map(|(f, op, arg)| {
            if op == "$eq" && !matches!(arg, Bson::Document(_)) {
                doc! {f.clone(): arg.clone()}
            } else {
                doc! {f.clone(): {op.clone(): arg.clone()}}
            }
        })
        .collect();
    if wrap_and {
        doc! {"$and": parts}
    } else {
        let mut d = Document::new();
        for p in parts {
            for (k, v) in p {
                match d.get_mut(&k) {
                    Some(Bson::Document(existing)) if matches!(&v, Bson::Document(_)) => {
                        if let Bson::Document(ops) = v {
                            for (op, a) in ops {
                                existing.insert(op, a);
                            }
                        }
                    }
                    Some(_) => {}
                    None => {
                        d.insert(k, v);
                    }
                }
            }
        }
        d
    }
}

/// Sort key value of a field for documents without arrays on it (missing sorts as null).
fn sort_value(doc: &Document, field: &str) -> Bson {
    doc.get(field).cloned().unwrap_or(Bson::Null)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn candidates_are_a_superset_of_matches(
        docs in (0usize..30).prop_flat_map(|n| {
            (0..n as i32).map(document).collect::<Vec<_>>()
        }),
        conds in prop::collection::vec(condition(), 1..5),
        wrap_and in any::<bool>(),
        sort in prop_oneof![
            Just(None),
            Just(Some(doc! {"a": 1})),
            Just(Some(doc! {"b": -1})),
            Just(Some(doc! {"c": 1, "b": -1})),
            Just(Some(doc! {"_id": -1})),
        ],
        refresh_multikey in any::<bool>(),
    ) {
        let mut kv = MemoryKv::new();
        let defs = vec![
            def(doc! {"a": 1}),
            def(doc! {"b": -1}),
            def(doc! {"c": 1, "b": -1}),
            def(doc! {"a": 1, "c": 1}),
            def(doc! {"x.y": 1}),
        ];
        let tables: Vec<String> = defs.iter().map(|d| format!("ix.{}", d.name())).collect();
        for d in &docs {
            let pk = encode_id(d.get("_id").expect("has _id"));
            kv.put(DOCS, &pk, &d.to_vec().expect("serialises")).expect("put");
            for (def, table) in defs.iter().zip(&tables) {
                insert_entries(&mut kv, table, "db.c", def, d, &pk).expect("indexable");
            }
        }
        let mut indexes: Vec<(String, IndexDef)> = tables.into_iter().zip(defs).collect();
        if refresh_multikey {
            stratus_docstore::index::refresh_multikey(&kv, &mut indexes).expect("markers");
        }
        let filter = filter_doc(&conds, wrap_and);
        let p = plan(&filter, sort.as_ref(), &indexes);
        let got: Vec<Document> = execute(&p, &kv, DOCS)
            .expect("executes")
            .map(|r| {
                let (_, raw) = r.expect("candidate");
                Document::from_reader(raw.as_slice()).expect("bson")
            })
            .collect();
        let ids: Vec<i32> = got.iter().map(|d| d.get_i32("_id").expect("id")).collect();
        let unique: BTreeSet<i32> = ids.iter().copied().collect();
        prop_assert_eq!(unique.len(), ids.len(), "duplicate candidates for {}", filter);
        let real = stratus_query::filter::Filter::parse(&filter).expect("generated filters parse");
        for d in &docs {
            // Both the reference matcher above and the query crate's Filter must be covered.
            let matches = conds.iter().all(|(f, op, arg)| cond_matches(d, f, op, arg))
                || real.matches(d);
            let id = d.get_i32("_id").expect("id");
            if matches {
                prop_assert!(unique.contains(&id), "{} missed by {:?} for {}", d, p, filter);
            }
        }
        // An exact plan's candidates need no re-check: each one matches.
        if p.is_exact_for(&filter) {
            for d in &got {
                prop_assert!(real.matches(d), "{} is not a match of exact {:?} for {}", d, p, filter);
            }
        }
        if let (Some(sort), true) = (&sort, p.sort_provided) {
            for w in got.windows(2) {
                let mut ord = Ordering::Equal;
                for (field, dir) in sort {
                    let o = compare(&sort_value(&w[0], field), &sort_value(&w[1], field));
                    let o = if dir.as_i32() == Some(-1) { o.reverse() } else { o };
                    ord = ord.then(o);
                }
                prop_assert!(ord != Ordering::Greater, "order {} then {} ({:?})", w[0], w[1], p);
            }
        }
    }
}

/// Array equality, empty arrays, null-vs-missing and nested paths: the planner's special
/// cases, checked against the query crate's `Filter` on a fixed dataset.
#[test]
fn special_equalities_find_every_match() {
    let docs = vec![
        doc! {"_id": 1, "a": [1, 2], "x": {"y": 1}},
        doc! {"_id": 2, "a": [], "x": [{"y": null}]},
        doc! {"_id": 3, "a": [[1, 2], 3], "x": [{"z": 1}]},
        doc! {"_id": 4, "a": null, "x": 5},
        doc! {"_id": 5, "x": [1, {"y": 2}]},
        doc! {"_id": 6, "a": [null, 7], "x": {}},
        doc! {"_id": 7, "a": 1.0, "x": {"y": [1, 2]}},
        doc! {"_id": 8, "a": "abc", "x": {"y": "ab"}},
        doc! {"_id": 9, "a": ["zz", "abd"], "x": {"y": "a"}},
        doc! {"_id": 10, "a": Bson::RegularExpression(bson::Regex {
            pattern: "^ab".to_string().try_into().expect("no NUL"),
            options: String::new().try_into().expect("no NUL"),
        })},
        doc! {"_id": 11, "a": "ab\u{0}c", "x": {"y": "b"}},
        doc! {"_id": 12, "a": "b"},
        doc! {"_id": 13, "a": [{"0": 5}, 6]},
        doc! {"_id": 14, "a": [5, {"0": 6}]},
        doc! {"_id": 15, "x": [[{"y": 1}], {"y": [[3]]}]},
    ];
    let mut kv = MemoryKv::new();
    let mut defs = vec![
        def(doc! {"a": 1}),
        def(doc! {"x.y": -1}),
        def(doc! {"a.0": 1}),
    ];
    let tables: Vec<String> = defs.iter().map(|d| format!("ix.{}", d.name())).collect();
    for d in &docs {
        let pk = encode_id(d.get("_id").expect("has _id"));
        kv.put(DOCS, &pk, &d.to_vec().expect("serialises"))
            .expect("put");
        for (def, table) in defs.iter().zip(&tables) {
            insert_entries(&mut kv, table, "db.c", def, d, &pk).expect("indexable");
        }
    }
    for (def, table) in defs.iter_mut().zip(&tables) {
        def.multikey = is_multikey(&kv, table).expect("marker");
    }
    let indexes: Vec<(String, IndexDef)> = tables.into_iter().zip(defs).collect();
    let filters = [
        doc! {"a": [1, 2]},
        doc! {"a": []},
        doc! {"a": null},
        doc! {"a": {"$in": [[1, 2], 7]}},
        doc! {"a": {"$in": [[], null]}},
        doc! {"a": 1},
        doc! {"a": {"$gte": 1, "$lte": 2}},
        doc! {"x.y": null},
        doc! {"x.y": 2},
        doc! {"x.y": [1, 2]},
        doc! {"x.y": {"$gt": 0}},
        doc! {"a": 1, "x.y": {"$gte": 1}},
        doc! {"a": {"$gte": null}},
        doc! {"a": {"$regex": "^ab"}},
        doc! {"a": {"$regex": "^abc*"}},
        doc! {"a": {"$regex": "^ab\\u0000"}},
        doc! {"a": {"$regex": "^a.c", "$options": "s"}},
        doc! {"a": {"$regex": "^"}},
        doc! {"x.y": {"$regex": "^a"}},
        doc! {"x.y": 1},
        doc! {"x.y": [3]},
        doc! {"x.y": [[3]]},
        doc! {"a.0": 5},
        doc! {"a.0": 6},
        doc! {"a.0": {"$gt": 4}},
        doc! {"a": Bson::RegularExpression(bson::Regex {
            pattern: "^ab".to_string().try_into().expect("no NUL"),
            options: String::new().try_into().expect("no NUL"),
        })},
    ];
    for filter in filters {
        let real = stratus_query::filter::Filter::parse(&filter).expect("parses");
        let p = plan(&filter, None, &indexes);
        assert!(
            matches!(p.access, Access::IndexScan(_)),
            "{filter} should use an index: {p:?}"
        );
        let got: BTreeSet<i32> = execute(&p, &kv, DOCS)
            .expect("executes")
            .map(|r| {
                let (_, raw) = r.expect("candidate");
                let d = Document::from_reader(raw.as_slice()).expect("bson");
                d.get_i32("_id").expect("id")
            })
            .collect();
        for d in &docs {
            if real.matches(d) {
                let id = d.get_i32("_id").expect("id");
                assert!(got.contains(&id), "{filter}: {d} missed by {p:?}");
            }
        }
    }
}
