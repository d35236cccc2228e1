//! The operator library under the CQL dialect: `$.` references come from the caller's
//! [`ExternalResolver`], `"$a"` is a plain string, and every operator works unchanged.

use bson::{Bson, doc};
use stratus_query::expr::{Dialect, EvalContext, Expr, ExternalResolver, ParseOptions};

use super::support::ejson;

/// Resolves `$.path` against a fixed document.
struct Flow(Bson);

impl ExternalResolver for Flow {
    fn resolve(&self, path: &[String]) -> Option<Bson> {
        stratus_query::expr::path::get_path(&self.0, path)
    }
}

fn cql(expr: &str) -> Result<Option<Bson>, i32> {
    let opts = ParseOptions {
        dialect: Dialect::Cql,
        ..ParseOptions::default()
    };
    let e = Expr::parse(&ejson(expr), &opts).map_err(|e| e.code.code())?;
    let flow = Flow(Bson::Document(doc! {
        "variables": {"a": 2, "name": "Ada", "items": [1, 2, 3], "when": bson::DateTime::from_millis(0)},
    }));
    let empty = Bson::Document(doc! {});
    let mut ctx = EvalContext::new(&empty);
    ctx.external = Some(&flow);
    e.eval(&mut ctx).map_err(|e| e.code.code())
}

#[test]
fn operators_work_in_the_cql_dialect() {
    let cases: &[(&str, Result<Option<Bson>, i32>)] = &[
        (
            r#"{"$add": ["$.variables.a", 1]}"#,
            Ok(Some(Bson::Int32(3))),
        ),
        (
            r#"{"$concat": ["Hello ", "$.variables.name"]}"#,
            Ok(Some(Bson::String("Hello Ada".into()))),
        ),
        (
            r#"{"$concat": ["$a", "$.variables.name"]}"#,
            Ok(Some(Bson::String("$aAda".into()))),
        ),
        (
            r#"{"$size": "$.variables.items"}"#,
            Ok(Some(Bson::Int32(3))),
        ),
        (r#"{"$sum": "$.variables.items"}"#, Ok(Some(Bson::Int32(6)))),
        (
            r#"{"$add": ["$.variables.missing", 1]}"#,
            Ok(Some(Bson::Null)),
        ),
        (
            r#"{"$cond": [{"$gt": ["$.variables.a", 1]}, "big", "small"]}"#,
            Ok(Some(Bson::String("big".into()))),
        ),
        (
            r#"{"$year": "$.variables.when"}"#,
            Ok(Some(Bson::Int32(1970))),
        ),
        (r#"{"$add": ["$.variables.name", 1]}"#, Err(16554)),
        (r#"{"$nope": 1}"#, Err(31325)),
    ];
    for (expr, expected) in cases {
        assert_eq!(&cql(expr), expected, "{expr}");
    }
}

/// `{"$abs": {"$abs": … 1 …}}` nested `depth` times.
fn nested_abs(depth: usize) -> Bson {
    let mut e = Bson::Int32(-1);
    for _ in 0..depth {
        e = Bson::Document(doc! {"$abs": e});
    }
    e
}

#[test]
fn nesting_beyond_the_limit_is_refused() {
    let limit = stratus_query::limits::MAX_NESTING_DEPTH;
    let opts = ParseOptions::default();
    let ok = Expr::parse(&nested_abs(limit / 2), &opts).expect("within the limit");
    let empty = Bson::Document(doc! {});
    let mut ctx = EvalContext::new(&empty);
    assert_eq!(ok.eval(&mut ctx), Ok(Some(Bson::Int32(1))));
    let err = Expr::parse(&nested_abs(limit + 5), &opts).expect_err("beyond the limit");
    assert_eq!(err.code.code(), 2, "{err}");
}
