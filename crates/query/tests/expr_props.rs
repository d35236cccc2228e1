//! Property tests of the expression engine:
//! (a) parsing and evaluating arbitrary expression trees (every operator name, random
//!     argument shapes, both dialects) never panics;
//! (b) `$add`, `$multiply` and `$subtract` on random int32/int64/double inputs agree with a
//!     straightforward reference implementation, result type included.

use bson::{Bson, Document, doc};
use proptest::prelude::*;
use stratus_query::compare::values_equal;
use stratus_query::expr::accumulator::equality_key;
use stratus_query::expr::{Dialect, EvalContext, Expr, ParseOptions};

const OPERATORS: &[&str] = &[
    "$abs",
    "$add",
    "$subtract",
    "$multiply",
    "$divide",
    "$mod",
    "$pow",
    "$sqrt",
    "$exp",
    "$ln",
    "$log",
    "$log10",
    "$ceil",
    "$floor",
    "$round",
    "$trunc",
    "$eq",
    "$ne",
    "$gt",
    "$gte",
    "$lt",
    "$lte",
    "$cmp",
    "$and",
    "$or",
    "$not",
    "$cond",
    "$ifNull",
    "$switch",
    "$concat",
    "$substr",
    "$substrBytes",
    "$substrCP",
    "$toLower",
    "$toUpper",
    "$trim",
    "$ltrim",
    "$rtrim",
    "$split",
    "$strLenCP",
    "$strLenBytes",
    "$strcasecmp",
    "$indexOfCP",
    "$indexOfBytes",
    "$regexMatch",
    "$regexFind",
    "$regexFindAll",
    "$replaceOne",
    "$replaceAll",
    "$arrayElemAt",
    "$first",
    "$last",
    "$size",
    "$filter",
    "$map",
    "$reduce",
    "$in",
    "$slice",
    "$concatArrays",
    "$indexOfArray",
    "$isArray",
    "$reverseArray",
    "$range",
    "$zip",
    "$sortArray",
    "$arrayToObject",
    "$objectToArray",
    "$setUnion",
    "$setIntersection",
    "$setDifference",
    "$setEquals",
    "$setIsSubset",
    "$anyElementTrue",
    "$allElementsTrue",
    "$year",
    "$month",
    "$dayOfMonth",
    "$dayOfWeek",
    "$dayOfYear",
    "$hour",
    "$minute",
    "$second",
    "$millisecond",
    "$week",
    "$isoWeek",
    "$isoWeekYear",
    "$isoDayOfWeek",
    "$dateAdd",
    "$dateSubtract",
    "$dateDiff",
    "$dateToString",
    "$dateFromString",
    "$dateToParts",
    "$dateFromParts",
    "$toDate",
    "$type",
    "$convert",
    "$toString",
    "$toInt",
    "$toLong",
    "$toDouble",
    "$toDecimal",
    "$toBool",
    "$toObjectId",
    "$isNumber",
    "$let",
    "$literal",
    "$mergeObjects",
    "$getField",
    "$setField",
    "$unsetField",
    "$sum",
    "$avg",
    "$min",
    "$max",
    "$stdDevPop",
    "$stdDevSamp",
    "$rand",
    "$firstN",
    "$lastN",
    "$maxN",
    "$minN",
    "$median",
    "$percentile",
    "$bsonSize",
    "$binarySize",
    "$dateTrunc",
    "$tsSecond",
    "$tsIncrement",
    "$foo",
];

/// Named-argument keys the operators use, so random documents hit the real parsers.
const KEYS: &[&str] = &[
    "input",
    "as",
    "cond",
    "in",
    "limit",
    "initialValue",
    "vars",
    "if",
    "then",
    "else",
    "branches",
    "case",
    "default",
    "date",
    "timezone",
    "format",
    "onNull",
    "onError",
    "to",
    "unit",
    "amount",
    "startDate",
    "endDate",
    "startOfWeek",
    "dateString",
    "year",
    "month",
    "day",
    "hour",
    "isoWeekYear",
    "regex",
    "options",
    "find",
    "replacement",
    "chars",
    "field",
    "value",
    "inputs",
    "useLongestLength",
    "defaults",
    "sortBy",
    "iso8601",
    "n",
    "output",
    "p",
    "method",
    "binSize",
    "a",
    "x",
];

fn leaf() -> impl Strategy<Value = Bson> {
    prop_oneof![
        Just(Bson::Null),
        any::<bool>().prop_map(Bson::Boolean),
        any::<i32>().prop_map(Bson::Int32),
        (-3i32..40).prop_map(Bson::Int32),
        any::<i64>().prop_map(Bson::Int64),
        any::<f64>().prop_map(Bson::Double),
        Just(Bson::Double(f64::NAN)),
        any::<i64>().prop_map(|ms| Bson::DateTime(bson::DateTime::from_millis(ms))),
        (-1_000_000_000_000i64..5_000_000_000_000)
            .prop_map(|ms| Bson::DateTime(bson::DateTime::from_millis(ms))),
        prop::sample::select(vec![
            "",
            "a",
            "abc",
            "$a",
            "$a.b",
            "$arr",
            "$$ROOT",
            "$$CURRENT",
            "$$this",
            "$$value",
            "$$NOW",
            "$$REMOVE",
            "$missing",
            "%Y-%m-%d",
            "%",
            "UTC",
            "+05:30",
            "day",
            "month",
            "int",
            "string",
            "date",
            "decimal",
            "2021-01-05",
            "é寿",
            "(",
            ".*",
            "$.x",
            "week",
        ])
        .prop_map(|s| Bson::String(s.to_string())),
        Just(Bson::Decimal128("1.5".parse().expect("decimal literal"))),
    ]
}

fn tree() -> impl Strategy<Value = Bson> {
    leaf().prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Bson::Array),
            (prop::sample::select(OPERATORS), inner.clone())
                .prop_map(|(op, arg)| Bson::Document(doc! { op: arg })),
            (
                prop::sample::select(OPERATORS),
                prop::collection::vec((prop::sample::select(KEYS), inner.clone()), 0..5)
            )
                .prop_map(|(op, fields)| {
                    let mut d = Document::new();
                    for (k, v) in fields {
                        d.insert(k, v);
                    }
                    Bson::Document(doc! { op: d })
                }),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..4).prop_map(|fields| {
                let mut d = Document::new();
                for (k, v) in fields {
                    d.insert(k, v);
                }
                Bson::Document(d)
            }),
        ]
    })
}

fn sample_doc() -> Bson {
    Bson::Document(doc! {
        "a": {"b": 1, "c": [1, 2]},
        "arr": [1, "x", {"b": 2}, [3], null],
        "s": "hello",
        "d": bson::DateTime::from_millis(1_609_459_200_000_i64),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10000))]

    #[test]
    fn arbitrary_expressions_never_panic(expr in tree(), cql in any::<bool>()) {
        let opts = ParseOptions {
            dialect: if cql { Dialect::Cql } else { Dialect::Mql },
            ..ParseOptions::default()
        };
        if let Ok(e) = Expr::parse(&expr, &opts) {
            let doc = sample_doc();
            let mut ctx = EvalContext::new(&doc);
            // Either outcome is fine; the property is the absence of panics.
            let outcome = e.eval(&mut ctx);
            prop_assert!(outcome.is_ok() || outcome.is_err());
        }
    }
}

/// A numeric input of the arithmetic property.
#[derive(Debug, Clone, Copy)]
enum N {
    I(i32),
    L(i64),
    D(f64),
}

impl N {
    fn bson(self) -> Bson {
        match self {
            N::I(i) => Bson::Int32(i),
            N::L(i) => Bson::Int64(i),
            N::D(d) => Bson::Double(d),
        }
    }
    fn int(self) -> Option<i128> {
        match self {
            N::I(i) => Some(i128::from(i)),
            N::L(i) => Some(i128::from(i)),
            N::D(_) => None,
        }
    }
    fn f(self) -> f64 {
        match self {
            N::I(i) => f64::from(i),
            N::L(i) => i as f64,
            N::D(d) => d,
        }
    }
    /// 0 = int, 1 = long, 2 = double.
    fn rank(self) -> u8 {
        match self {
            N::I(_) => 0,
            N::L(_) => 1,
            N::D(_) => 2,
        }
    }
}

fn num() -> impl Strategy<Value = N> {
    prop_oneof![
        any::<i32>().prop_map(N::I),
        (-100i32..100).prop_map(N::I),
        any::<i64>().prop_map(N::L),
        (-100i64..100).prop_map(N::L),
        (-1e6f64..1e6).prop_map(N::D),
        any::<f64>().prop_map(N::D),
    ]
}

/// The reference (MongoDB's rule): integer inputs fold left to right in exact arithmetic; if
/// every partial result fits in int64 the result is int32 when all inputs are int32 and the
/// total fits, else int64; as soon as a partial result leaves the int64 range, or any input is
/// a double, the result is the double fold of the inputs (left to right).
fn reference(op: &str, xs: &[N]) -> Bson {
    let identity = if op == "$multiply" { 1 } else { 0 };
    let rank = xs.iter().map(|x| x.rank()).max().unwrap_or(0);
    let float = || {
        let mut it = xs.iter().map(|x| x.f());
        match op {
            "$subtract" => {
                let a = it.next().unwrap_or(0.0);
                it.fold(a, |acc, x| acc - x)
            }
            "$multiply" => it.fold(1.0, |acc, x| acc * x),
            _ => it.fold(0.0, |acc, x| acc + x),
        }
    };
    let double = || {
        let f = float();
        Bson::Double(if f.is_nan() { f64::NAN } else { f })
    };
    if rank == 2 {
        return double();
    }
    let mut exact: Option<i128> = None;
    for x in xs {
        let v = x.int().expect("integers only here");
        let next = match (exact, op) {
            (None, _) => v,
            (Some(a), "$subtract") => a - v,
            (Some(a), "$multiply") => a.checked_mul(v).unwrap_or(i128::MAX),
            (Some(a), _) => a + v,
        };
        if i64::try_from(next).is_err() {
            return double();
        }
        exact = Some(next);
    }
    let exact = exact.unwrap_or(identity);
    match (rank, i32::try_from(exact), i64::try_from(exact)) {
        (0, Ok(v), _) => Bson::Int32(v),
        (_, _, Ok(v)) => Bson::Int64(v),
        _ => double(),
    }
}

fn canon(v: &Bson) -> String {
    v.clone().into_canonical_extjson().to_string()
}

fn run(op: &str, xs: &[N]) -> Bson {
    let args: Vec<Bson> = xs.iter().map(|x| x.bson()).collect();
    let expr = Bson::Document(doc! { op: args });
    let e = Expr::parse(&expr, &ParseOptions::default()).expect("valid arithmetic expression");
    let doc = Bson::Document(Document::new());
    let mut ctx = EvalContext::new(&doc);
    e.eval(&mut ctx)
        .expect("numeric arithmetic never fails")
        .expect("a value")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn add_matches_reference(xs in prop::collection::vec(num(), 0..5)) {
        prop_assert_eq!(canon(&run("$add", &xs)), canon(&reference("$add", &xs)), "{:?}", xs);
    }

    #[test]
    fn multiply_matches_reference(xs in prop::collection::vec(num(), 0..5)) {
        prop_assert_eq!(
            canon(&run("$multiply", &xs)),
            canon(&reference("$multiply", &xs)),
            "{:?}", xs
        );
    }

    #[test]
    fn subtract_matches_reference(a in num(), b in num()) {
        let xs = [a, b];
        prop_assert_eq!(
            canon(&run("$subtract", &xs)),
            canon(&reference("$subtract", &xs)),
            "{:?}", xs
        );
    }
}

/// A Decimal128 `coef × 10^exp`.
fn decimal(coef: i64, exp: i32) -> Bson {
    Bson::Decimal128(
        format!("{coef}E{exp}")
            .parse()
            .expect("valid decimal literal"),
    )
}

fn eval_literal(expr: Bson) -> Bson {
    let e = Expr::parse(&expr, &ParseOptions::default()).expect("valid expression");
    let doc = Bson::Document(Document::new());
    let mut ctx = EvalContext::new(&doc);
    e.eval(&mut ctx).expect("no error").expect("a value")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Decimal `$add`/`$subtract`/`$multiply` are exact (coefficient and exponent, i.e. the
    /// IEEE cohort) whenever the exact result has at most 34 digits. Like MongoDB, `$add`
    /// folds from a decimal zero with exponent 0, so its result exponent is at most 0.
    #[test]
    fn decimal_arithmetic_is_exact(
        ca in -1_000_000_000_000_000i64..1_000_000_000_000_000,
        cb in -1_000_000_000_000_000i64..1_000_000_000_000_000,
        ea in -6i32..6,
        eb in -6i32..6,
    ) {
        let (a, b) = (decimal(ca, ea), decimal(cb, eb));
        let m = ea.min(eb);
        let scale = |c: i64, e: i32| i128::from(c) * 10i128.pow(u32::try_from(e - m).unwrap_or(0));
        let (sa, sb) = (scale(ca, ea), scale(cb, eb));
        let expect = |v: i128, e: i32| -> Bson {
            Bson::Decimal128(format!("{v}E{e}").parse().expect("valid decimal literal"))
        };
        let add = eval_literal(Bson::Document(doc! {"$add": [a.clone(), b.clone()]}));
        let k = u32::try_from(m - m.min(0)).unwrap_or(0);
        prop_assert_eq!(
            canon(&add),
            canon(&expect((sa + sb) * 10i128.pow(k), m.min(0)))
        );
        let sub = eval_literal(Bson::Document(doc! {"$subtract": [a.clone(), b.clone()]}));
        prop_assert_eq!(canon(&sub), canon(&expect(sa - sb, m)));
        let mul = eval_literal(Bson::Document(doc! {"$multiply": [a, b]}));
        prop_assert_eq!(
            canon(&mul),
            canon(&expect(i128::from(ca) * i128::from(cb), ea + eb))
        );
    }
}

fn small_value() -> impl Strategy<Value = Bson> {
    let scalar = prop_oneof![
        (-3i32..3).prop_map(Bson::Int32),
        (-3i64..3).prop_map(Bson::Int64),
        prop::sample::select(vec![-1.0, -0.0, 0.0, 0.5, 1.0, 2.0, f64::NAN]).prop_map(Bson::Double),
        prop::sample::select(vec!["0", "1", "1.0", "-0", "0.5"])
            .prop_map(|s| Bson::Decimal128(s.parse().expect("decimal literal"))),
        prop::sample::select(vec!["", "a", "1"]).prop_map(|s| Bson::String(s.to_string())),
        Just(Bson::Null),
        any::<bool>().prop_map(Bson::Boolean),
    ];
    scalar.prop_recursive(2, 8, 2, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Bson::Array),
            prop::collection::vec((prop::sample::select(vec!["a", "b"]), inner), 0..2).prop_map(
                |fields| {
                    let mut d = Document::new();
                    for (k, v) in fields {
                        d.insert(k, v);
                    }
                    Bson::Document(d)
                }
            ),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// `$addToSet`'s hashing key agrees with MongoDB equality.
    #[test]
    fn equality_key_matches_values_equal(a in small_value(), b in small_value()) {
        prop_assert_eq!(
            equality_key(&a) == equality_key(&b),
            values_equal(&a, &b),
            "{:?} vs {:?}", a, b
        );
    }
}
