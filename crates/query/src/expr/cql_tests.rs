//! Tests of the CQL operators: every example of the reference (§5.6, §18) and the numeric
//! and date rules of docs/cql.md.

use bson::doc;

use super::*;
use crate::expr::{Dialect, ExternalResolver};

struct Vars(bson::Document);
impl ExternalResolver for Vars {
    fn resolve(&self, path: &[String]) -> Option<Bson> {
        let mut cur = Bson::Document(self.0.clone());
        for p in path {
            cur = match cur {
                Bson::Document(d) => d.get(p)?.clone(),
                _ => return None,
            };
        }
        Some(cur)
    }
}

fn cql() -> ParseOptions {
    ParseOptions {
        dialect: Dialect::Cql,
        ..Default::default()
    }
}

fn check(cond: Bson, vars: bson::Document) -> bool {
    let c = parse_condition(&cond, &cql()).expect("parses");
    let r = Vars(doc! {"variables": vars, "request": {"queryParams": {}}});
    let null = Bson::Null;
    let mut ctx = EvalContext::new(&null);
    ctx.external = Some(&r);
    c.eval(&mut ctx).expect("evaluates")
}

#[test]
fn reference_examples() {
    // Reference §18.1.
    assert!(check(
        Bson::Document(doc! {"$.variables.name": {"$eq": "Shrey"}}),
        doc! {"name": "Shrey"}
    ));
    let compound = Bson::Document(doc! {"$or": [
        {"$.variables.name": {"$eq": "Shrey"}},
        {"$and": [{"$.variables.age": {"$gt": 25}}, {"$.variables.marks": {"$gte": 80}}]}
    ]});
    assert!(check(
        compound.clone(),
        doc! {"name": "X", "age": 30, "marks": 80}
    ));
    assert!(!check(compound, doc! {"name": "X", "age": 30, "marks": 79}));
    assert!(!check(
        Bson::Document(doc! {"$.request.queryParams.name": {"$neq": null}}),
        doc! {}
    ));
    assert!(check(
        Bson::Document(doc! {"$.variables.n": {"$ne": null}}),
        doc! {"n": 1}
    ));
}

#[test]
fn aggregation_form_and_aliases() {
    let v = doc! {"country": "US", "age": 10};
    assert!(!check(
        Bson::Document(doc! {"$eq": ["$.variables.country", "India"]}),
        v.clone()
    ));
    assert!(check(
        Bson::Document(doc! {"$.variables.age": {"$ge": 10}}),
        v.clone()
    ));
    assert!(check(
        Bson::Document(doc! {"$.variables.age": {"$le": 10, "$gt": 9}}),
        v.clone()
    ));
    assert!(check(
        Bson::Document(doc! {"$not": {"$.variables.age": {"$lt": 10}}}),
        v.clone()
    ));
    assert!(check(Bson::Document(doc! {"$.variables.age": 10.0}), v));
}

#[test]
fn type_bracketing() {
    let v = doc! {"s": "5", "n": 5, "z": null};
    assert!(!check(
        Bson::Document(doc! {"$.variables.s": {"$gt": 1}}),
        v.clone()
    ));
    assert!(!check(
        Bson::Document(doc! {"$.variables.z": {"$lt": 1}}),
        v.clone()
    ));
    assert!(check(
        Bson::Document(doc! {"$.variables.z": {"$gte": null}}),
        v.clone()
    ));
    assert!(check(
        Bson::Document(doc! {"$.variables.s": {"$lt": "6"}}),
        v.clone()
    ));
    assert!(!check(
        Bson::Document(doc! {"$.variables.s": {"$eq": 5}}),
        v.clone()
    ));
    assert!(check(
        Bson::Document(doc! {"$.variables.missing": {"$eq": null}}),
        v
    ));
}

#[test]
fn truthy_paths_and_errors() {
    assert!(check(
        Bson::String("$.variables.t".into()),
        doc! {"t": true}
    ));
    assert!(!check(Bson::String("$.variables.t".into()), doc! {"t": 0}));
    assert!(!check(Bson::String("$.variables.none".into()), doc! {}));
    for bad in [
        Bson::Document(doc! {}),
        Bson::Int32(1),
        Bson::Document(doc! {"$.x": {"$foo": 1}}),
        Bson::Document(doc! {"$gt": [1]}),
        Bson::Document(doc! {"bare": {"$eq": 1}}),
        Bson::Document(doc! {"$and": 1}),
    ] {
        assert!(parse_condition(&bad, &cql()).is_err(), "{bad}");
    }
}

fn eval_expr(e: Bson, vars: bson::Document) -> Bson {
    let x = Expr::parse(&e, &cql()).unwrap_or_else(|err| panic!("{e}: {err}"));
    let r = Vars(doc! {"variables": vars, "request": {"queryParams": {}}});
    let null = Bson::Null;
    let mut ctx = EvalContext::new(&null);
    ctx.external = Some(&r);
    x.eval(&mut ctx)
        .unwrap_or_else(|err| panic!("{e}: {err}"))
        .unwrap_or(Bson::Null)
}

fn j(v: serde_json::Value) -> Bson {
    Bson::try_from(v).expect("json")
}

#[test]
fn reference_section_18_vectors() {
    use serde_json::json;
    let cases: Vec<(serde_json::Value, bson::Document, Bson)> = vec![
        (json!({"$add": [1, 2, 3]}), doc! {}, Bson::Int32(6)),
        (
            json!({"$add": [{"$add": [1, 2]}, 3, 4]}),
            doc! {},
            Bson::Int32(10),
        ),
        (
            json!({"$add": ["$.variables.temp", 3]}),
            doc! {"temp": 5},
            Bson::Int32(8),
        ),
        (json!({"$abs": -5}), doc! {}, Bson::Int32(5)),
        (
            json!({"$abs": {"$subtract": [1, 2]}}),
            doc! {},
            Bson::Int32(1),
        ),
        (json!({"$avg": [1, 2, 3, 4, 5]}), doc! {}, Bson::Double(3.0)),
        (
            json!({"$avg": [1, 2, {"$add": [1, 2]}, {"$pow": [2, 2]}, 5]}),
            doc! {},
            Bson::Double(3.0),
        ),
        (
            json!({"$avg": "$.variables.temp"}),
            doc! {"temp": [2, 4, 8, 2]},
            Bson::Double(4.0),
        ),
        (json!({"$ceil": 3.2}), doc! {}, Bson::Double(4.0)),
        (
            json!({"$ceil": "$.variables.temp"}),
            doc! {"temp": -8.2},
            Bson::Double(-8.0),
        ),
        (json!({"$floor": 3.2}), doc! {}, Bson::Double(3.0)),
        (
            json!({"$floor": "$.variables.temp"}),
            doc! {"temp": -8.2},
            Bson::Double(-9.0),
        ),
        (json!({"$divide": [10, 2]}), doc! {}, Bson::Double(5.0)),
        (
            json!({"$divide": [{"$add": [1, 2]}, 4]}),
            doc! {},
            Bson::Double(0.75),
        ),
        (json!({"$pow": [2, 2]}), doc! {}, Bson::Int32(4)),
        (
            json!({"$pow": [{"$add": [1, 2]}, 2]}),
            doc! {},
            Bson::Int32(9),
        ),
        (
            json!({"$pow": ["$.variables.temp", 3]}),
            doc! {"temp": 5},
            Bson::Int32(125),
        ),
        (json!({"$mod": [5, 2]}), doc! {}, Bson::Int32(1)),
        (
            json!({"$mod": [{"$add": [1, 2]}, {"$pow": [2, 2]}]}),
            doc! {},
            Bson::Int32(3),
        ),
        (
            json!({"$mod": "$.variables.temp"}),
            doc! {"temp": [5, 4]},
            Bson::Int32(1),
        ),
        (json!({"$min": [1, 5, 3, 6, 2]}), doc! {}, Bson::Int32(1)),
        (
            json!({"$min": "$.variables.temp"}),
            doc! {"temp": [5, 4, 3, 2, 1]},
            Bson::Int32(1),
        ),
        (
            json!({"$max": "$.variables.temp"}),
            doc! {"temp": [5, 4, 3, 2, 1]},
            Bson::Int32(5),
        ),
        (
            json!({"$cond": [{"$eq": ["$.variables.country", "India"]}, 10, 20]}),
            doc! {"country": "US"},
            Bson::Int32(20),
        ),
        (
            json!({"$ifNull": ["$.variables.country", "US", "India"]}),
            doc! {"country": null},
            Bson::String("US".into()),
        ),
        (
            json!({"$ifNull": ["$.variables.country", "US", "India"]}),
            doc! {"country": "FR"},
            Bson::String("India".into()),
        ),
        (
            json!({"$ifNull": ["$.variables.country", "US"]}),
            doc! {"country": "FR"},
            Bson::String("FR".into()),
        ),
        (
            json!({"$addDate": {"startDate": 1709796918, "unit": "DAY", "amount": 1}}),
            doc! {},
            Bson::Int64(1709883318),
        ),
        (
            json!({"$addDate": {"startDate": 1709796918000_i64, "unit": "DAY", "amount": 1}}),
            doc! {},
            Bson::Int64(1709883318000),
        ),
        (
            json!({"$addDate": {"startDate": {"$date": "2024-03-20T00:00:00Z"}, "unit": "WEEK", "amount": 1}}),
            doc! {},
            j(json!({"$date": "2024-03-27T00:00:00Z"})),
        ),
        (
            json!({"$addDate": {"startDate": 1709796918, "unit": "WEEKS", "amount": -1}}),
            doc! {},
            Bson::Int64(1709796918 - 604800),
        ),
        (
            json!({"$buildDateTime": {"type": "EPOCH_SECOND", "args": [2024, 4, 22, 0, 0, 0]}}),
            doc! {},
            Bson::Int64(1713744000),
        ),
        (
            json!({"$buildDateTime": {"type": "EPOCH_MILLISECOND", "args": [2024, 4, 22, 0, 0, 1]}}),
            doc! {},
            Bson::Int64(1713744001000),
        ),
        (
            json!({"$buildDateTime": {"type": "ISO_DATETIME", "args": [2024, 2, 29, 12, 30, 0]}}),
            doc! {},
            j(json!({"$date": "2024-02-29T12:30:00Z"})),
        ),
        (
            json!({"$add": [1, 2, {"$multiply": [1, 2]}, {"$subtract": [10, 5]}]}),
            doc! {},
            Bson::Int32(10),
        ),
        (
            json!({"$multiply": ["$.variables.base_price", {"$cond": [{"$.variables.loyalty_points": {"$gt": 1000}}, 0.9, 1]}]}),
            doc! {"base_price": 100, "loyalty_points": 1500},
            Bson::Double(90.0),
        ),
        (
            json!({"$buildMap": [
                {"condition": {"$.variables.name": {"$neq": null}}, "key": "name", "value": "$.variables.name"},
                {"condition": {"$.variables.jobTitle": {"$neq": null}}, "key": "jobTitle", "value": "$.variables.jobTitle"},
                {"condition": {"$.variables.age": {"$ge": 10}}, "key": "age", "value": "$.variables.age"}
            ]}),
            doc! {"name": "A", "jobTitle": "B", "age": 5},
            Bson::Document(doc! {"name": "A", "jobTitle": "B"}),
        ),
        (json!({"$getYear": 1713744000}), doc! {}, Bson::Int32(2024)),
        (
            json!({"$getMonth": 1713744000000_i64}),
            doc! {},
            Bson::Int32(4),
        ),
        (
            json!({"$getDay": "2024-04-22T13:14:15Z"}),
            doc! {},
            Bson::Int32(22),
        ),
        (
            json!({"$getHour": "2024-04-22T13:14:15Z"}),
            doc! {},
            Bson::Int32(13),
        ),
        (
            json!({"$getMinute": "2024-04-22T13:14:15Z"}),
            doc! {},
            Bson::Int32(14),
        ),
        (
            json!({"$getSecond": {"$date": "2024-04-22T13:14:15Z"}}),
            doc! {},
            Bson::Int32(15),
        ),
        (json!({"$neq": [1, 2]}), doc! {}, Bson::Boolean(true)),
        (
            json!({"$arrayElemAt": ["$.variables.a", -1]}),
            doc! {"a": [1, 2, 3]},
            Bson::Int32(3),
        ),
        (json!({"$sqrt": 16}), doc! {}, Bson::Double(4.0)),
        (
            json!({"$cond": {"if": "$.variables.t", "then": "y", "else": "n"}}),
            doc! {"t": true},
            Bson::String("y".into()),
        ),
    ];
    for (e, vars, want) in cases {
        let got = eval_expr(j(e.clone()), vars);
        assert!(
            crate::compare::values_equal(&got, &want)
                && crate::compare::type_rank(&got) == crate::compare::type_rank(&want),
            "{e}: got {got}, want {want}"
        );
    }
}

#[test]
fn numeric_policy_documented_in_cql_md() {
    use serde_json::json;
    // docs/cql.md "Numeric policy": what the shared operators do in the CQL dialect.
    let cases: Vec<(serde_json::Value, Bson)> = vec![
        (json!({"$add": [2147483647, 1]}), Bson::Int64(2147483648)),
        (json!({"$add": [1, null]}), Bson::Null),
        (json!({"$add": [1, 2.5]}), Bson::Double(3.5)),
        (json!({"$mod": [-5, 3]}), Bson::Int32(-2)),
        (json!({"$pow": [2, 3]}), Bson::Int32(8)),
        (json!({"$avg": []}), Bson::Null),
        (json!({"$avg": [1, "x", 3]}), Bson::Double(2.0)),
        (json!({"$arrayElemAt": [[1, 2], 5]}), Bson::Null),
        (json!({"$ceil": 3.2}), Bson::Double(4.0)),
    ];
    for (e, want) in cases {
        let got = eval_expr(j(e.clone()), doc! {});
        assert!(
            crate::compare::values_equal(&got, &want)
                && std::mem::discriminant(&got) == std::mem::discriminant(&want),
            "{e}: got {got:?}, want {want:?}"
        );
    }
    let null = Bson::Null;
    for bad in [
        json!({"$divide": [1, 0]}),
        json!({"$mod": [1, 0]}),
        json!({"$add": [1, "x"]}),
    ] {
        let x = Expr::parse(&j(bad.clone()), &cql()).expect("parses");
        let mut ctx = EvalContext::new(&null);
        assert!(x.eval(&mut ctx).is_err(), "{bad}");
    }
}

#[test]
fn cql_operator_errors() {
    use serde_json::json;
    for bad in [
        json!({"$addDate": {"startDate": 1, "unit": "DAY"}}),
        json!({"$addDate": [1, "DAY", 1]}),
        json!({"$buildMap": [{"condition": true, "key": 1, "value": 2}]}),
        json!({"$cond": [true, 1]}),
        json!({"$getYear": [1, 2]}),
        json!({"$neq": 1}),
    ] {
        assert!(Expr::parse(&j(bad.clone()), &cql()).is_err(), "{bad}");
    }
    let null = Bson::Null;
    for bad in [
        json!({"$addDate": {"startDate": "x", "unit": "DAY", "amount": 1}}),
        json!({"$addDate": {"startDate": 1, "unit": "YEAR", "amount": 1}}),
        json!({"$buildDateTime": {"type": "EPOCH_SECOND", "args": [2024, 2, 30, 0, 0, 0]}}),
        json!({"$buildDateTime": {"type": "NOPE", "args": [2024, 2, 3, 0, 0, 0]}}),
        json!({"$getYear": true}),
    ] {
        let x = Expr::parse(&j(bad.clone()), &cql()).expect("parses");
        let mut ctx = EvalContext::new(&null);
        assert!(x.eval(&mut ctx).is_err(), "{bad}");
    }
}

#[test]
fn civil_round_trip() {
    for days in [-800_000_i64, -1, 0, 1, 19_000, 2_932_896] {
        let (y, m, d) = civil_from_days(days);
        assert_eq!(days_from_civil(y, m, d), days);
    }
    assert_eq!(civil_from_days(19_835), (2024, 4, 22));
}
