//! `find` projections: inclusion/exclusion, `_id` rules, nested paths through documents and
//! arrays, `$slice`, `$elemMatch`, positional `$` (with the filter's match details), computed
//! fields, and MongoDB's error codes.

use bson::{Bson, Document, doc};
use stratus_query::filter::{Filter, MatchDetails};
use stratus_query::projection::Projection;

fn sample() -> Document {
    doc! {
        "_id": 1,
        "a": 1,
        "b": {"c": 2, "d": 3},
        "e": [{"f": 1, "g": 2}, {"f": 3}, 5],
        "h": [1, 2, 3, 4, 5],
        "s": "x",
    }
}

/// Field order matters (`Document`'s `==` ignores it), so compare the ordered rendering too.
fn assert_same(got: &Document, want: &Document, spec: &Document) {
    assert_eq!(got.to_string(), want.to_string(), "projection {spec}");
}

fn project(spec: Document) -> Document {
    Projection::parse(&spec)
        .unwrap_or_else(|e| panic!("{spec}: {e}"))
        .apply(&sample(), None)
        .unwrap_or_else(|e| panic!("{spec}: {e}"))
}

#[test]
fn inclusion_exclusion_and_id() {
    let cases: Vec<(Document, Document)> = vec![
        (doc! {"a": 1}, doc! {"_id": 1, "a": 1}),
        (doc! {"a": true}, doc! {"_id": 1, "a": 1}),
        (doc! {"a": 1.0, "_id": 0}, doc! {"a": 1}),
        (doc! {"_id": 0, "a": 1_i64}, doc! {"a": 1}),
        (doc! {"s": 1, "a": 1}, doc! {"_id": 1, "a": 1, "s": "x"}),
        (doc! {"_id": 1}, doc! {"_id": 1}),
        (doc! {"q": 1}, doc! {"_id": 1}),
        (
            doc! {"a": 0},
            doc! {"_id": 1, "b": {"c": 2, "d": 3}, "e": [{"f": 1, "g": 2}, {"f": 3}, 5], "h": [1, 2, 3, 4, 5], "s": "x"},
        ),
        (
            doc! {"a": false, "e": 0, "h": 0},
            doc! {"_id": 1, "b": {"c": 2, "d": 3}, "s": "x"},
        ),
        (
            doc! {"_id": 0},
            doc! {"a": 1, "b": {"c": 2, "d": 3}, "e": [{"f": 1, "g": 2}, {"f": 3}, 5], "h": [1, 2, 3, 4, 5], "s": "x"},
        ),
        (
            doc! {"_id": 0, "e": 0, "h": 0, "b": 0, "s": 0},
            doc! {"a": 1},
        ),
        (
            doc! {"_id": 1, "e": 0, "h": 0, "b": 0, "s": 0},
            doc! {"_id": 1, "a": 1},
        ),
        (doc! {"missing": 0}, sample()),
    ];
    for (spec, want) in cases {
        assert_same(&project(spec.clone()), &want, &spec);
    }
}

#[test]
fn nested_paths() {
    let cases: Vec<(Document, Document)> = vec![
        (doc! {"b.c": 1}, doc! {"_id": 1, "b": {"c": 2}}),
        (doc! {"b": {"c": 1}}, doc! {"_id": 1, "b": {"c": 2}}),
        (
            doc! {"b.c": 1, "b.d": 1},
            doc! {"_id": 1, "b": {"c": 2, "d": 3}},
        ),
        (
            doc! {"b": {"d": 1, "c": 1}},
            doc! {"_id": 1, "b": {"c": 2, "d": 3}},
        ),
        (doc! {"_id": 0, "b.c": 1}, doc! {"b": {"c": 2}}),
        (doc! {"b.zz": 1}, doc! {"_id": 1, "b": {}}),
        (doc! {"a.zz": 1}, doc! {"_id": 1}),
        (
            doc! {"b.c": 0},
            doc! {"_id": 1, "a": 1, "b": {"d": 3}, "e": [{"f": 1, "g": 2}, {"f": 3}, 5], "h": [1, 2, 3, 4, 5], "s": "x"},
        ),
        (doc! {"e.f": 1}, doc! {"_id": 1, "e": [{"f": 1}, {"f": 3}]}),
        (doc! {"e": {"g": 1}}, doc! {"_id": 1, "e": [{"g": 2}, {}]}),
        (
            doc! {"e.f": 0, "_id": 0, "a": 0, "b": 0, "h": 0, "s": 0},
            doc! {"e": [{"g": 2}, {}, 5]},
        ),
    ];
    for (spec, want) in cases {
        assert_same(&project(spec.clone()), &want, &spec);
    }
    // Nested arrays keep their shape under inclusion; scalars are dropped.
    let p = Projection::parse(&doc! {"x.y": 1}).expect("valid");
    let out = p
        .apply(
            &doc! {"_id": 0, "x": [[{"y": 1, "z": 2}, 3], {"y": 2}, 4]},
            None,
        )
        .expect("applies");
    assert_same(
        &out,
        &doc! {"_id": 0, "x": [[{"y": 1}], {"y": 2}]},
        &doc! {"x.y": 1},
    );
}

#[test]
fn slice_and_elem_match() {
    let all_but_h = |h: Bson| {
        doc! {"_id": 1, "a": 1, "b": {"c": 2, "d": 3}, "e": [{"f": 1, "g": 2}, {"f": 3}, 5], "h": h, "s": "x"}
    };
    let cases: Vec<(Document, Document)> = vec![
        (doc! {"h": {"$slice": 2}}, all_but_h(Bson::from(vec![1, 2]))),
        (
            doc! {"h": {"$slice": -2}},
            all_but_h(Bson::from(vec![4, 5])),
        ),
        (
            doc! {"h": {"$slice": [1, 2]}},
            all_but_h(Bson::from(vec![2, 3])),
        ),
        (
            doc! {"h": {"$slice": [-2, 1]}},
            all_but_h(Bson::from(vec![4])),
        ),
        (
            doc! {"h": {"$slice": [-9, 2]}},
            all_but_h(Bson::from(vec![1, 2])),
        ),
        (doc! {"h": {"$slice": 0}}, all_but_h(Bson::Array(vec![]))),
        (
            doc! {"h": {"$slice": 99}},
            all_but_h(Bson::from(vec![1, 2, 3, 4, 5])),
        ),
        (
            doc! {"a": 1, "h": {"$slice": 2}},
            doc! {"_id": 1, "a": 1, "h": [1, 2]},
        ),
        (
            doc! {"_id": 1, "h": {"$slice": 1}},
            doc! {"_id": 1, "h": [1]},
        ),
        (
            doc! {"a": 1, "s": {"$slice": 1}},
            doc! {"_id": 1, "a": 1, "s": "x"},
        ),
        (
            doc! {"e": {"$elemMatch": {"f": 3}}},
            doc! {"_id": 1, "e": [{"f": 3}]},
        ),
        (
            doc! {"e": {"$elemMatch": {"f": {"$gte": 1}}}},
            doc! {"_id": 1, "e": [{"f": 1, "g": 2}]},
        ),
        (doc! {"e": {"$elemMatch": {"f": 9}}}, doc! {"_id": 1}),
        (
            doc! {"h": {"$elemMatch": {"$gt": 3}}, "a": 1},
            doc! {"_id": 1, "a": 1, "h": [4]},
        ),
        (doc! {"a": {"$elemMatch": {"$gt": 0}}}, doc! {"_id": 1}),
    ];
    for (spec, want) in cases {
        assert_same(&project(spec.clone()), &want, &spec);
    }
}

#[test]
fn positional_uses_match_details() {
    let cases: Vec<(Document, Document, Document)> = vec![
        (
            doc! {"h": {"$gt": 3}},
            doc! {"h.$": 1},
            doc! {"_id": 1, "h": [4]},
        ),
        (
            doc! {"h": 2},
            doc! {"h.$": 1, "a": 1},
            doc! {"_id": 1, "a": 1, "h": [2]},
        ),
        (
            doc! {"e.f": 3},
            doc! {"e.$": 1},
            doc! {"_id": 1, "e": [{"f": 3}]},
        ),
        (
            doc! {"e": {"$elemMatch": {"g": 2}}},
            doc! {"e.$": true, "_id": 0},
            doc! {"e": [{"f": 1, "g": 2}]},
        ),
        (
            doc! {"a": 1, "h": 5},
            doc! {"h.$": 1},
            doc! {"_id": 1, "h": [5]},
        ),
    ];
    for (filter, spec, want) in cases {
        let details = Filter::parse(&filter)
            .expect("valid filter")
            .matches_with_details(&sample())
            .unwrap_or_else(|| panic!("{filter} matches the sample"));
        let p = Projection::parse(&spec).expect("valid projection");
        assert_same(
            &p.apply(&sample(), Some(&details)).expect("applies"),
            &want,
            &spec,
        );
    }
    let p = Projection::parse(&doc! {"h.$": 1}).expect("valid");
    let e = p.apply(&sample(), None).expect_err("no details");
    assert_eq!(e.code.code(), 51246);
    let e = p
        .apply(&sample(), Some(&MatchDetails::default()))
        .expect_err("no array position");
    assert_eq!(e.code.code(), 51246);
}

#[test]
fn computed_fields() {
    let cases: Vec<(Document, Document)> = vec![
        (doc! {"x": "$a"}, doc! {"_id": 1, "x": 1}),
        (doc! {"x": "$b.c"}, doc! {"_id": 1, "x": 2}),
        (doc! {"x": "$nope"}, doc! {"_id": 1}),
        (
            doc! {"x": {"$literal": 5}, "a": 1},
            doc! {"_id": 1, "a": 1, "x": 5},
        ),
        (doc! {"x": "hello"}, doc! {"_id": 1, "x": "hello"}),
        (doc! {"x": [1, "$a"]}, doc! {"_id": 1, "x": [1, 1]}),
        (doc! {"x": null}, doc! {"_id": 1, "x": null}),
        (doc! {"b.z": "$a"}, doc! {"_id": 1, "b": {"z": 1}}),
        (
            doc! {"b": {"c": 1, "z": "$s"}},
            doc! {"_id": 1, "b": {"c": 2, "z": "x"}},
        ),
        (doc! {"n.m": "$a"}, doc! {"_id": 1, "n": {"m": 1}}),
        (doc! {"a": "$s"}, doc! {"_id": 1, "a": "x"}),
        (doc! {"_id": "$s"}, doc! {"_id": "x"}),
        (doc! {"x": {"k": "$a"}}, doc! {"_id": 1, "x": {"k": 1}}),
        (doc! {"x": {"$add": ["$a", 1]}}, doc! {"_id": 1, "x": 2}),
        (doc! {"x": {"$size": "$h"}, "_id": 0}, doc! {"x": 5}),
        (
            doc! {"b.sum": {"$add": ["$b.c", "$b.d"]}},
            doc! {"_id": 1, "b": {"sum": 5}},
        ),
    ];
    for (spec, want) in cases {
        assert_same(&project(spec.clone()), &want, &spec);
    }
}

#[test]
fn identity() {
    let p = Projection::parse(&doc! {}).expect("empty is valid");
    assert!(p.is_identity());
    assert_eq!(p.apply(&sample(), None).expect("applies"), sample());
    assert!(
        !Projection::parse(&doc! {"a": 1})
            .expect("valid")
            .is_identity()
    );
    assert!(
        Projection::parse(&doc! {"a": 1})
            .expect("valid")
            .is_inclusion()
    );
    assert!(
        !Projection::parse(&doc! {"a": 0})
            .expect("valid")
            .is_inclusion()
    );
}

#[test]
fn errors() {
    let cases: Vec<(Document, i32, &str)> = vec![
        (
            doc! {"a": 1, "b": 0},
            31254,
            "Cannot do exclusion on field b in inclusion projection",
        ),
        (
            doc! {"a": 0, "b": 1},
            31253,
            "Cannot do inclusion on field b in exclusion projection",
        ),
        (
            doc! {"a": 0, "x": "$b"},
            31253,
            "Cannot do inclusion on field x",
        ),
        (
            doc! {"a": 1, "a.b": 1},
            31249,
            "Path collision at a.b remaining portion b",
        ),
        (doc! {"a.b": 1, "a": 1}, 31250, "Path collision at a"),
        (
            doc! {"a.b": 1, "a": {"b": 1}},
            31250,
            "Path collision at a.b",
        ),
        (doc! {"a": {}}, 51270, "empty sub-projection"),
        (doc! {"a": {"$meta": "textScore"}}, 2, "$meta"),
        (doc! {"a.b": {"$elemMatch": {"c": 1}}}, 2, "nested field"),
        (doc! {"a": {"$elemMatch": 1}}, 2, "object required"),
        (doc! {"a.$": 1, "b.$": 1}, 31276, "more than one positional"),
        (doc! {"a.$": 0}, 31395, "positional projection"),
        (doc! {"a": 0, "b.$": 1}, 31253, "Cannot do inclusion"),
        (doc! {"a": {"$slice": "x"}}, 28724, "$slice"),
        (
            doc! {"a": {"$slice": [1, 0]}},
            28724,
            "limit must be positive",
        ),
        (doc! {"a": {"$slice": [1]}}, 28724, "[skip, limit]"),
        (doc! {"$a": 1}, 16410, "may not start with '$'"),
        (doc! {"a..b": 1}, 40352, "empty"),
        (
            doc! {"a": {"$noSuchOp": 1}},
            31325,
            "Unrecognized expression",
        ),
    ];
    let mut failures = Vec::new();
    for (spec, code, msg) in cases {
        match Projection::parse(&spec) {
            Ok(_) => failures.push(format!("{spec}: parsed")),
            Err(e) if e.code.code() != code || !e.message.contains(msg) => failures.push(format!(
                "{spec}: got {} {:?}, want {code} {msg:?}",
                e.code.code(),
                e.message
            )),
            Err(_) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
