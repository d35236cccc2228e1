//! Property tests: parsing and applying arbitrary updates to arbitrary documents never panics,
//! and successful results keep their promises (`_id` unchanged, "not modified" means
//! identical, the input document untouched).

use bson::{Bson, Document};
use proptest::prelude::*;
use stratus_query::update::{ApplyContext, Update, UpdateOptions};

/// Field-name components paths are built from, including positional and invalid ones.
const COMPONENTS: &[&str] = &[
    "a",
    "b",
    "c",
    "_id",
    "0",
    "1",
    "2",
    "10",
    "$",
    "$[]",
    "$[i]",
    "$[j]",
    "",
    "$x",
    "$each",
    "$slice",
    "$position",
    "$sort",
    "$type",
    "$gt",
    "i",
];

/// Operators, including unknown ones.
const OPERATORS: &[&str] = &[
    "$set",
    "$unset",
    "$inc",
    "$mul",
    "$min",
    "$max",
    "$rename",
    "$currentDate",
    "$setOnInsert",
    "$push",
    "$addToSet",
    "$pop",
    "$pull",
    "$pullAll",
    "$bit",
    "$foo",
];

fn leaf() -> impl Strategy<Value = Bson> {
    prop_oneof![
        Just(Bson::Null),
        any::<bool>().prop_map(Bson::Boolean),
        any::<i32>().prop_map(Bson::Int32),
        any::<i64>().prop_map(Bson::Int64),
        prop_oneof![Just(i64::MAX), Just(i64::MIN), Just(-1_i64)].prop_map(Bson::Int64),
        any::<f64>().prop_map(Bson::Double),
        prop::sample::select(COMPONENTS).prop_map(|s| Bson::String(s.to_string())),
        (-3_i32..4).prop_map(Bson::Int32),
    ]
}

fn value() -> impl Strategy<Value = Bson> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Bson::Array),
            prop::collection::vec((prop::sample::select(COMPONENTS), inner), 0..4).prop_map(
                |fields| {
                    let mut d = Document::new();
                    for (k, v) in fields {
                        d.insert(k.to_string(), v);
                    }
                    Bson::Document(d)
                }
            ),
        ]
    })
}

fn path() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(COMPONENTS), 1..4).prop_map(|p| p.join("."))
}

fn document() -> impl Strategy<Value = Document> {
    (
        prop::option::of(leaf()),
        prop::collection::vec((prop::sample::select(&COMPONENTS[..7]), value()), 0..5),
    )
        .prop_map(|(id, fields)| {
            let mut d = Document::new();
            if let Some(id) = id {
                d.insert("_id", id);
            }
            for (k, v) in fields {
                d.insert(k.to_string(), v);
            }
            d
        })
}

fn update() -> impl Strategy<Value = Bson> {
    prop_oneof![
        4 => prop::collection::vec(
            (
                prop::sample::select(OPERATORS),
                prop::collection::vec((path(), value()), 0..3),
            ),
            0..3,
        )
        .prop_map(|ops| {
            let mut u = Document::new();
            for (op, fields) in ops {
                let mut f = Document::new();
                for (p, v) in fields {
                    f.insert(p, v);
                }
                u.insert(op, f);
            }
            Bson::Document(u)
        }),
        1 => value(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn parse_and_apply_never_panic(
        doc in document(),
        u in update(),
        positional in prop::option::of(0_usize..4),
        is_insert in any::<bool>(),
        with_filters in any::<bool>(),
        filter_value in value(),
    ) {
        let mut f = Document::new();
        f.insert("i", filter_value);
        let filters = [f];
        let opts = UpdateOptions {
            array_filters: with_filters.then_some(&filters[..]),
            ..UpdateOptions::default()
        };
        let ctx = ApplyContext { positional, is_insert, now: bson::DateTime::from_millis(0) };
        if let Ok(parsed) = Update::parse(&u, &opts) {
            let before = doc.clone();
            if let Ok(out) = parsed.apply(&doc, &ctx) {
                prop_assert_eq!(&doc, &before);
                if let Some(id) = doc.get("_id") {
                    let new_id = out.document.get("_id");
                    prop_assert!(new_id.is_some_and(|n| stratus_query::compare::values_equal(n, id)));
                }
                if !out.modified {
                    let a = Bson::Document(out.document).into_canonical_extjson().to_string();
                    let b = Bson::Document(doc.clone()).into_canonical_extjson().to_string();
                    prop_assert_eq!(a, b);
                }
            }
            if let Ok(inserted) = parsed.upsert_document(&doc, &ctx)
                && inserted.contains_key("_id") {
                    prop_assert_eq!(inserted.keys().next().map(String::as_str), Some("_id"));
                }
        }
    }
}
