//! Property tests of the index key encoding: byte order equals MongoDB's BSON order for
//! generated values (mixed numeric types, nested documents and arrays, strings with NULs), the
//! encoding is prefix-free, and descending components reverse the order.

use std::cmp::Ordering;

use bson::{Binary, Bson, Document, oid::ObjectId, spec::BinarySubtype};
use proptest::prelude::*;
use stratus_docstore::index::keycodec::{Direction, encode, encode_component, encode_id};
use stratus_query::compare::compare;

/// Numbers chosen to collide across types and to hit the edges of the double/int64 scales.
fn number() -> impl Strategy<Value = Bson> {
    prop_oneof![
        (-3i32..3).prop_map(Bson::Int32),
        any::<i32>().prop_map(Bson::Int32),
        (-3i64..3).prop_map(Bson::Int64),
        any::<i64>().prop_map(Bson::Int64),
        prop_oneof![
            Just(i64::MAX),
            Just(i64::MIN),
            Just((1 << 53) + 1),
            Just(-(1 << 53) - 1)
        ]
        .prop_map(Bson::Int64),
        (-3i32..3).prop_map(|i| Bson::Double(f64::from(i))),
        (-6i32..6).prop_map(|i| Bson::Double(f64::from(i) / 4.0)),
        any::<f64>().prop_map(Bson::Double),
        prop_oneof![
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(-0.0),
            Just(9.223_372_036_854_776e18),
            Just(-9.223_372_036_854_776e18),
            Just(9_007_199_254_740_992.0)
        ]
        .prop_map(Bson::Double),
        prop_oneof![
            Just("1.0"),
            Just("-2.5"),
            Just("0"),
            Just("NaN"),
            Just("Infinity")
        ]
        .prop_map(|s| Bson::Decimal128(s.parse().expect("valid decimal literal"))),
    ]
}

fn string() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![Just('\0'), Just('a'), Just('b'), Just('\u{1}'), Just('é')],
        0..4,
    )
    .prop_map(|cs| cs.into_iter().collect())
}

fn scalar() -> impl Strategy<Value = Bson> {
    prop_oneof![
        Just(Bson::MinKey),
        Just(Bson::MaxKey),
        Just(Bson::Null),
        Just(Bson::Undefined),
        number(),
        number(),
        string().prop_map(Bson::String),
        string().prop_map(Bson::Symbol),
        any::<bool>().prop_map(Bson::Boolean),
        (-3i64..3).prop_map(|m| Bson::DateTime(bson::DateTime::from_millis(m))),
        any::<i64>().prop_map(|m| Bson::DateTime(bson::DateTime::from_millis(m))),
        (0u8..3).prop_map(|b| Bson::ObjectId(ObjectId::from_bytes([b; 12]))),
        (
            prop::collection::vec(0u8..3, 0..3),
            prop_oneof![Just(0u8), Just(4u8)]
        )
            .prop_map(|(bytes, st)| Bson::Binary(Binary {
                subtype: BinarySubtype::from(st),
                bytes
            })),
        (0u32..3, 0u32..3)
            .prop_map(|(time, increment)| Bson::Timestamp(bson::Timestamp { time, increment })),
        (string(), prop_oneof![Just(""), Just("i")]).prop_map(|(p, o)| Bson::RegularExpression(
            bson::Regex {
                pattern: p.replace('\0', "").try_into().expect("no NUL"),
                options: o.try_into().expect("no NUL"),
            }
        )),
        string().prop_map(Bson::JavaScriptCode),
    ]
}

fn value() -> impl Strategy<Value = Bson> {
    scalar().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Bson::Array),
            prop::collection::vec(
                (prop_oneof![Just("a"), Just("b"), Just("a\0")], inner),
                0..4
            )
            .prop_map(|fields| {
                let mut d = Document::new();
                for (k, v) in fields {
                    d.insert(k, v);
                }
                Bson::Document(d)
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn byte_order_is_bson_order(a in value(), b in value()) {
        let (ea, eb) = (encode(&a), encode(&b));
        prop_assert_eq!(ea.cmp(&eb), compare(&a, &b), "{:?} vs {:?}", a, b);
        prop_assert_eq!(&encode_id(&a), &ea);
        // Prefix-free: a proper prefix would make concatenated compound keys ambiguous.
        if ea != eb {
            prop_assert!(!eb.starts_with(&ea) && !ea.starts_with(&eb), "{:?} / {:?}", a, b);
        }
    }

    #[test]
    fn compound_keys_order_lexicographically(
        a1 in value(), a2 in value(), b1 in value(), b2 in value(), desc in any::<bool>()
    ) {
        let dir = if desc { Direction::Descending } else { Direction::Ascending };
        let key = |x: &Bson, y: &Bson| {
            let mut k = Vec::new();
            encode_component(x, Direction::Ascending, &mut k);
            encode_component(y, dir, &mut k);
            k
        };
        let second = if desc { compare(&b2, &a2) } else { compare(&a2, &b2) };
        let expected = compare(&a1, &b1).then(second);
        prop_assert_eq!(key(&a1, &a2).cmp(&key(&b1, &b2)), expected);
    }
}

#[test]
fn equal_numbers_of_different_types_encode_identically() {
    let one = [
        Bson::Int32(1),
        Bson::Int64(1),
        Bson::Double(1.0),
        Bson::Decimal128("1.00".parse().expect("valid decimal literal")),
    ];
    for v in &one {
        assert_eq!(encode(v), encode(&one[0]), "{v:?}");
        assert_eq!(compare(v, &one[0]), Ordering::Equal);
    }
}
