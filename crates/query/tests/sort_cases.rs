//! Sort specifications: MongoDB's order over mixed types, the array rule (ascending by the
//! smallest element, descending by the largest), missing as null, `[]` before null, compound
//! keys, parse errors, and a property test that precomputed keys order like `compare`.

use std::cmp::Ordering;

use bson::{Bson, Document, doc};
use proptest::prelude::*;
use stratus_query::sort::SortSpec;

fn sorted_ids(spec: Document, docs: &[Document]) -> Vec<i32> {
    let s = SortSpec::parse(&spec).expect("valid sort");
    let mut v = docs.to_vec();
    v.sort_by(|a, b| s.compare(a, b));
    let by_compare: Vec<i32> = v.iter().map(|d| d.get_i32("_id").expect("_id")).collect();
    // The precomputed-key path must give the same order.
    let mut keyed: Vec<(Vec<Bson>, &Document)> = docs.iter().map(|d| (s.sort_key(d), d)).collect();
    keyed.sort_by(|a, b| s.compare_keys(&a.0, &b.0));
    let by_keys: Vec<i32> = keyed
        .iter()
        .map(|(_, d)| d.get_i32("_id").expect("_id"))
        .collect();
    assert_eq!(
        by_compare, by_keys,
        "sort_key order differs from compare for {spec}"
    );
    by_compare
}

fn mixed() -> Vec<Document> {
    vec![
        doc! {"_id": 1, "a": 3},
        doc! {"_id": 2, "a": [1, 10]},
        doc! {"_id": 3},
        doc! {"_id": 4, "a": null},
        doc! {"_id": 5, "a": []},
        doc! {"_id": 6, "a": "s"},
        doc! {"_id": 7, "a": {"b": 1}},
        doc! {"_id": 8, "a": [5]},
        doc! {"_id": 9, "a": 2.5},
        doc! {"_id": 10, "a": [{"b": 0}, {"b": 7}]},
        doc! {"_id": 11, "a": Bson::MinKey},
        doc! {"_id": 12, "a": true},
        doc! {"_id": 13, "a": Bson::MaxKey},
        doc! {"_id": 14, "a": 3_i64},
    ]
}

#[test]
fn mixed_types_ascending_and_descending() {
    assert_eq!(
        sorted_ids(doc! {"a": 1}, &mixed()),
        vec![11, 5, 3, 4, 2, 9, 1, 14, 8, 6, 10, 7, 12, 13]
    );
    assert_eq!(
        sorted_ids(doc! {"a": -1}, &mixed()),
        vec![13, 12, 10, 7, 6, 2, 8, 1, 14, 9, 3, 4, 5, 11]
    );
    // Directions may be any numeric type.
    assert_eq!(
        sorted_ids(doc! {"a": 1.0}, &mixed()),
        sorted_ids(doc! {"a": 1_i64}, &mixed())
    );
    assert_eq!(
        sorted_ids(doc! {"a": -1.0}, &mixed()),
        sorted_ids(doc! {"a": -1}, &mixed())
    );
}

#[test]
fn dotted_paths_through_arrays() {
    let docs = vec![
        doc! {"_id": 1, "a": {"b": 5}},
        doc! {"_id": 2, "a": [{"b": 9}, {"b": 1}]},
        doc! {"_id": 3, "a": [{"b": 4}, {"c": 0}]},
        doc! {"_id": 4, "a": {"b": [3, 8]}},
        doc! {"_id": 5, "a": 7},
        doc! {"_id": 6},
    ];
    // Ascending: 2→1, 3→null (the element without b), 4→3, 1→5, 5/6→null.
    assert_eq!(sorted_ids(doc! {"a.b": 1}, &docs), vec![3, 5, 6, 2, 4, 1]);
    // Descending: 2→9, 4→8, 1→5, 3→4, then the nulls.
    assert_eq!(sorted_ids(doc! {"a.b": -1}, &docs), vec![2, 4, 1, 3, 5, 6]);
    // A positional component picks one element.
    assert_eq!(sorted_ids(doc! {"a.0.b": 1}, &docs), vec![1, 4, 5, 6, 3, 2]);
}

#[test]
fn compound_keys_and_ties() {
    let docs = vec![
        doc! {"_id": 1, "b": 1, "c": 1},
        doc! {"_id": 2, "b": 1, "c": 2},
        doc! {"_id": 3, "b": 0, "c": 5},
        doc! {"_id": 4, "b": 1.0, "c": 2},
    ];
    assert_eq!(sorted_ids(doc! {"b": 1, "c": -1}, &docs), vec![3, 2, 4, 1]);
    assert_eq!(sorted_ids(doc! {"c": 1, "b": 1}, &docs), vec![1, 2, 4, 3]);
    assert_eq!(sorted_ids(doc! {}, &docs), vec![1, 2, 3, 4]);
    let s = SortSpec::parse(&doc! {"b": 1, "c": -1}).expect("valid");
    assert_eq!(
        s.keys(),
        &[("b".to_string(), true), ("c".to_string(), false)]
    );
    assert_eq!(s.compare(&docs[1], &docs[3]), Ordering::Equal);
}

#[test]
fn parse_errors() {
    let cases: Vec<(Document, i32)> = vec![
        (doc! {"a": 2}, 15975),
        (doc! {"a": 0}, 15975),
        (doc! {"a": "asc"}, 15975),
        (doc! {"a": {"$meta": "textScore"}}, 15975),
        (doc! {"a": true}, 15975),
        (doc! {"": 1}, 40352),
        (doc! {"a..b": 1}, 40352),
        (doc! {"$a": 1}, 16410),
    ];
    for (spec, code) in cases {
        let e = SortSpec::parse(&spec).expect_err("invalid sort");
        assert_eq!(e.code.code(), code, "{spec}: {}", e.message);
    }
    let e = SortSpec::parse(&doc! {"x": 2}).expect_err("invalid");
    assert!(
        e.message
            .contains("$sort key ordering must be 1 (for ascending) or -1 (for descending)")
    );
}

fn value() -> impl Strategy<Value = Bson> {
    let leaf = prop_oneof![
        (-3i32..4).prop_map(Bson::Int32),
        Just(Bson::Double(f64::NAN)),
        Just(Bson::Null),
        prop_oneof![Just("a"), Just("b")].prop_map(|s| Bson::String(s.into())),
        any::<bool>().prop_map(Bson::Boolean),
    ];
    leaf.prop_recursive(2, 10, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Bson::Array),
            prop::collection::vec(
                (
                    prop_oneof![Just("a"), Just("b")].prop_map(String::from),
                    inner
                ),
                0..2
            )
            .prop_map(|kv| Bson::Document(kv.into_iter().collect())),
        ]
    })
}

fn document() -> impl Strategy<Value = Document> {
    prop::collection::vec(
        (
            prop_oneof![Just("a"), Just("b")].prop_map(String::from),
            value(),
        ),
        0..3,
    )
    .prop_map(|kv| kv.into_iter().collect())
}

proptest! {
    #[test]
    fn compare_is_a_total_order_consistent_with_keys(
        x in document(), y in document(), z in document(),
        spec in prop_oneof![
            Just(doc! {"a": 1}), Just(doc! {"a": -1}), Just(doc! {"a.b": 1, "b": -1}),
            Just(doc! {"b.a": -1}), Just(doc! {"a.0": 1})
        ],
    ) {
        let s = SortSpec::parse(&spec).expect("valid");
        prop_assert_eq!(s.compare(&x, &y), s.compare(&y, &x).reverse());
        prop_assert_eq!(s.compare(&x, &y), s.compare_keys(&s.sort_key(&x), &s.sort_key(&y)));
        if s.compare(&x, &y) != Ordering::Greater && s.compare(&y, &z) != Ordering::Greater {
            prop_assert_ne!(s.compare(&x, &z), Ordering::Greater);
        }
    }
}
