//! Property tests of filters:
//! - `matches_raw` agrees with `matches` (and `matches_with_details`) on generated documents
//!   and filters;
//! - logical identities hold (`$not`, `$nor`, `$in` of one value vs `$eq`);
//! - parsing arbitrary operator-heavy documents never panics, and matching with whatever
//!   parses never panics.

use bson::{Bson, Document, RawDocumentBuf, doc};
use proptest::prelude::*;
use stratus_query::filter::Filter;

fn scalar() -> impl Strategy<Value = Bson> {
    prop_oneof![
        (-3i32..4).prop_map(Bson::Int32),
        (-3i64..4).prop_map(Bson::Int64),
        prop_oneof![Just(0.5), Just(1.0), Just(-2.5), Just(f64::NAN)].prop_map(Bson::Double),
        prop_oneof![Just("a"), Just("b"), Just("ab"), Just("")]
            .prop_map(|s| Bson::String(s.into())),
        Just(Bson::Null),
        any::<bool>().prop_map(Bson::Boolean),
        Just(Bson::MinKey),
        Just(Bson::MaxKey),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![Just("a"), Just("b"), Just("c"), Just("0"), Just("1")].prop_map(String::from)
}

fn value() -> impl Strategy<Value = Bson> {
    scalar().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Bson::Array),
            prop::collection::vec((key(), inner), 0..3)
                .prop_map(|kv| Bson::Document(kv.into_iter().collect())),
        ]
    })
}

fn document() -> impl Strategy<Value = Document> {
    prop::collection::vec((key(), value()), 0..4).prop_map(|kv| kv.into_iter().collect())
}

fn path() -> impl Strategy<Value = String> {
    prop::collection::vec(key(), 1..4).prop_map(|p| p.join("."))
}

/// One operator document (or literal) for a field.
fn field_condition() -> impl Strategy<Value = Bson> {
    let cmp = prop_oneof![
        Just("$eq"),
        Just("$ne"),
        Just("$gt"),
        Just("$gte"),
        Just("$lt"),
        Just("$lte")
    ];
    let leaf = prop_oneof![
        value(),
        (cmp, value()).prop_map(|(op, v)| Bson::Document(doc! {op: v})),
        prop::collection::vec(value(), 0..3).prop_map(|v| Bson::Document(doc! {"$in": v})),
        prop::collection::vec(value(), 0..3).prop_map(|v| Bson::Document(doc! {"$nin": v})),
        prop::collection::vec(value(), 0..3).prop_map(|v| Bson::Document(doc! {"$all": v})),
        any::<bool>().prop_map(|b| Bson::Document(doc! {"$exists": b})),
        prop_oneof![
            Just("number"),
            Just("array"),
            Just("string"),
            Just("null"),
            Just("object")
        ]
        .prop_map(|t| Bson::Document(doc! {"$type": t})),
        (0i32..4).prop_map(|n| Bson::Document(doc! {"$size": n})),
        (1i32..4, 0i32..3).prop_map(|(d, r)| Bson::Document(doc! {"$mod": [d, r]})),
        prop_oneof![Just("^a"), Just("b$"), Just("a|b")]
            .prop_map(|r| Bson::Document(doc! {"$regex": r})),
    ];
    leaf.prop_recursive(2, 8, 2, |inner| {
        prop_oneof![
            inner
                .clone()
                .prop_filter_map("operator doc for $not", |c| match c {
                    Bson::Document(d) if d.keys().all(|k| k.starts_with('$')) && !d.is_empty() => {
                        Some(Bson::Document(doc! {"$not": d}))
                    }
                    _ => None,
                }),
            inner.prop_filter_map("operator doc for $elemMatch", |c| match c {
                Bson::Document(d) if d.keys().all(|k| k.starts_with('$')) && !d.is_empty() => {
                    Some(Bson::Document(doc! {"$elemMatch": d}))
                }
                _ => None,
            }),
        ]
    })
}

fn filter() -> impl Strategy<Value = Document> {
    let simple = (path(), field_condition()).prop_map(|(p, c)| doc! {p: c});
    simple.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..3).prop_map(|v| doc! {"$and": v}),
            prop::collection::vec(inner.clone(), 1..3).prop_map(|v| doc! {"$or": v}),
            prop::collection::vec(inner.clone(), 1..3).prop_map(|v| doc! {"$nor": v}),
            (path(), inner).prop_map(|(p, f)| doc! {p: {"$elemMatch": f}}),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn raw_matching_agrees_with_owned(f in filter(), docs in prop::collection::vec(document(), 1..6)) {
        let Ok(parsed) = Filter::parse(&f) else { return Ok(()); };
        for d in &docs {
            let raw = RawDocumentBuf::try_from(d).expect("encodable");
            let owned = parsed.matches(d);
            prop_assert_eq!(owned, parsed.matches_raw(&raw), "filter {} doc {}", f, d);
            prop_assert_eq!(owned, parsed.matches_with_details(d).is_some());
        }
    }

    #[test]
    fn negations_are_complements(p in path(), c in field_condition(), d in document()) {
        let Ok(pos) = Filter::parse(&doc! {p.clone(): c.clone()}) else { return Ok(()); };
        let nor = Filter::parse(&doc! {"$nor": [{p.clone(): c.clone()}]}).expect("same filter under $nor");
        prop_assert_eq!(pos.matches(&d), !nor.matches(&d));
        if let Bson::Document(ops) = &c
            && !ops.is_empty()
            && ops.keys().all(|k| k.starts_with('$'))
        {
            let not = Filter::parse(&doc! {p: {"$not": ops.clone()}}).expect("$not of valid ops");
            prop_assert_eq!(pos.matches(&d), !not.matches(&d));
        }
    }

    #[test]
    fn in_of_one_value_is_eq(p in path(), v in value(), d in document()) {
        let eq = Filter::parse(&doc! {p.clone(): {"$eq": v.clone()}}).expect("eq parses");
        let inn = Filter::parse(&doc! {p: {"$in": [v]}}).expect("in parses");
        prop_assert_eq!(eq.matches(&d), inn.matches(&d));
    }
}

/// Arbitrary JSON-ish trees whose keys are mostly operator names (valid or not).
fn junk() -> impl Strategy<Value = Bson> {
    let keys = prop_oneof![
        Just("a"),
        Just("a.b"),
        Just("a.0"),
        Just("$and"),
        Just("$or"),
        Just("$nor"),
        Just("$not"),
        Just("$in"),
        Just("$nin"),
        Just("$all"),
        Just("$elemMatch"),
        Just("$size"),
        Just("$type"),
        Just("$mod"),
        Just("$regex"),
        Just("$options"),
        Just("$exists"),
        Just("$eq"),
        Just("$gt"),
        Just("$expr"),
        Just("$bitsAllSet"),
        Just("$bitsAnyClear"),
        Just("$literal"),
        Just("$comment"),
        Just("$alwaysTrue"),
        Just("$foo"),
        Just(""),
        Just("$"),
        Just("$ref"),
        Just("$id"),
    ]
    .prop_map(String::from);
    let leaf = prop_oneof![
        scalar(),
        prop_oneof![
            Just("("),
            Just("[a-"),
            Just("i"),
            Just("z"),
            Just("number"),
            Just("$a")
        ]
        .prop_map(|s| Bson::String(s.into())),
        (-5.0f64..5.0).prop_map(Bson::Double),
        Just(Bson::RegularExpression(bson::Regex {
            pattern: "a(".to_string().try_into().expect("cstring"),
            options: "".to_string().try_into().expect("cstring"),
        })),
    ];
    leaf.prop_recursive(5, 40, 4, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Bson::Array),
            prop::collection::vec((keys.clone(), inner), 0..4)
                .prop_map(|kv| Bson::Document(kv.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn parsing_junk_never_panics(j in junk(), d in document()) {
        if let Bson::Document(f) = j
            && let Ok(parsed) = Filter::parse(&f)
        {
            let raw = RawDocumentBuf::try_from(&d).expect("encodable");
            prop_assert_eq!(parsed.matches(&d), parsed.matches_raw(&raw));
        }
    }
}

/// Scalars that collide often in comparisons: integers of both widths around each other and
/// at the extremes, and the doubles/decimals/others next to them.
fn number_like() -> impl Strategy<Value = Bson> {
    prop_oneof![
        4 => (-2i32..3).prop_map(Bson::Int32),
        4 => (-2i64..3).prop_map(Bson::Int64),
        1 => prop_oneof![Just(i64::MAX), Just(i64::MIN), Just(i64::from(i32::MAX) + 1)]
            .prop_map(Bson::Int64),
        1 => prop_oneof![Just(i32::MAX), Just(i32::MIN)].prop_map(Bson::Int32),
        2 => prop_oneof![Just(1.0), Just(-0.5), Just(f64::NAN), Just(9.223372036854776e18)]
            .prop_map(Bson::Double),
        1 => Just(Bson::Decimal128("1".parse().expect("decimal"))),
        1 => Just(Bson::Null),
        1 => Just(Bson::String("1".into())),
        1 => prop::collection::vec((-2i64..3).prop_map(Bson::Int64), 0..3).prop_map(Bson::Array),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    /// The raw matcher's integer comparison shortcut (`{a: {$lt: 10}}` on integer fields)
    /// agrees with the owned matcher, also for mixed widths, doubles, NaN, arrays and missing
    /// fields.
    #[test]
    fn raw_numeric_comparisons_agree_with_owned(
        op in prop_oneof![Just("$lt"), Just("$lte"), Just("$gt"), Just("$gte")],
        bound in number_like(),
        value in prop::option::of(number_like()),
        nested in any::<bool>(),
    ) {
        let (path, d) = match (&value, nested) {
            (Some(v), false) => ("a", doc! {"x": 1, "a": v.clone()}),
            (Some(v), true) => ("o.a", doc! {"o": {"a": v.clone()}}),
            (None, _) => ("a", doc! {"x": 1}),
        };
        let f = doc! {path: {op: bound}};
        let parsed = Filter::parse(&f).expect("comparison parses");
        let raw = RawDocumentBuf::try_from(&d).expect("encodable");
        prop_assert_eq!(parsed.matches(&d), parsed.matches_raw(&raw), "filter {} doc {}", f, d);
    }
}
