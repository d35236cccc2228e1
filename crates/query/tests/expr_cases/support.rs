//! Table-driven expression tests: each case is one line
//! `<expression> [@ <document>] => <expected>` where the expression, document and expected
//! value are (Extended) JSON, `<expected>` may be `missing` (the expression yields no value)
//! or `!<code>` (parsing or evaluation fails with that MongoDB error code). The document
//! defaults to `{}`. Lines starting with `#` and blank lines are ignored.
//!
//! Results are compared as canonical Extended JSON, so the BSON type must match too
//! (`3` int32 differs from `3.0` double and from `{"$numberLong": "3"}`).

use bson::Bson;
use stratus_query::expr::{EvalContext, Expr, ParseOptions};

/// The fixed `$$NOW` of table tests: 2021-01-01T00:00:00Z.
pub(crate) const NOW_MS: i64 = 1_609_459_200_000;

/// Parses one (Extended) JSON value.
pub(crate) fn ejson(s: &str) -> Bson {
    let v: serde_json::Value =
        serde_json::from_str(s).unwrap_or_else(|e| panic!("bad JSON {s:?}: {e}"));
    Bson::try_from(v).unwrap_or_else(|e| panic!("bad EJSON {s:?}: {e}"))
}

/// The outcome of evaluating `expr` against `doc`: `Ok(None)` = missing.
pub(crate) fn run(expr: &Bson, doc: &Bson) -> Result<Option<Bson>, i32> {
    let e = Expr::parse(expr, &ParseOptions::default()).map_err(|e| e.code.code())?;
    let mut ctx = EvalContext::new(doc);
    ctx.now = bson::DateTime::from_millis(NOW_MS);
    e.eval(&mut ctx).map_err(|e| e.code.code())
}

fn canon(v: &Bson) -> String {
    v.clone().into_canonical_extjson().to_string()
}

/// Runs every case of a table; panics listing all failures.
pub(crate) fn check_table(table: &str) -> usize {
    let mut failures = Vec::new();
    let mut n = 0;
    for (lineno, line) in table.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        n += 1;
        let (lhs, expected) = line
            .rsplit_once(" => ")
            .unwrap_or_else(|| panic!("line {}: no ' => ' in {line}", lineno + 1));
        let (expr, doc) = match lhs.split_once(" @ ") {
            Some((e, d)) => (e, d),
            None => (lhs, "{}"),
        };
        let got = run(&ejson(expr), &ejson(doc));
        let expected = expected.trim();
        let ok = match (&got, expected) {
            (Err(code), exp) if exp.starts_with('!') => exp[1..].parse::<i32>().ok() == Some(*code),
            (Ok(None), "missing") => true,
            (Ok(Some(v)), exp) if !exp.starts_with('!') && exp != "missing" => {
                canon(v) == canon(&ejson(exp))
            }
            _ => false,
        };
        if !ok {
            let shown = match &got {
                Ok(Some(v)) => canon(v),
                Ok(None) => "missing".to_string(),
                Err(c) => format!("!{c}"),
            };
            failures.push(format!("line {}: {line}\n      got {shown}", lineno + 1));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {n} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    n
}
