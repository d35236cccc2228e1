//! CQL-only operators, aliases and conditions (Stratus flows; reference §8.2–§8.3), layered on
//! the shared operator library. Consulted first when parsing in [`super::Dialect::Cql`].
//!
//! Conditions ([`Condition`]) are CQL's boolean language, used by flow nodes (`ifElse`,
//! `whileLoop` …) and by the CQL operators that take one (`$cond`, `$buildMap`). Two shapes
//! are accepted (reference §8.2.8): the *building-conditions* form
//! `{"$.variables.age": {"$gte": 18}}` and the *aggregation* form `{"$gte": [a, b]}`, combined
//! with `$and` / `$or` (and `$not`). Operators: `$eq`, `$neq` (alias `$ne`), `$gt`, `$gte`
//! (alias `$ge`), `$lt`, `$lte` (alias `$le`).
//!
//! Comparison semantics (documented in `docs/cql.md`): equality is MongoDB's
//! ([`crate::compare::values_equal`]: `1 == 1.0`, deep equality of documents and arrays, a
//! missing value is `null`); the ordering operators compare only values of the same type
//! bracket (numbers with numbers, strings with strings, dates with dates …) in MongoDB's order
//! and are `false` for mismatched types — MongoDB's query-language type bracketing.

use std::cmp::Ordering;

use bson::Bson;

use super::operators::Call;
use super::{EvalContext, Expr, Operator, ParseOptions, parse_at_depth};
use crate::compare::{compare, type_rank, values_equal};
use crate::error::{QueryError, Result};

/// Operators whose CQL form may take a single `$.` path resolving to the argument array
/// (`{"$mod": "$.variables.pair"}`, reference §8.2.14).
const SPREAD_OPERATORS: &[&str] = &[
    "$add",
    "$subtract",
    "$multiply",
    "$divide",
    "$mod",
    "$pow",
    "$arrayElemAt",
    "$avg",
    "$min",
    "$max",
    "$sum",
];

/// Parses a CQL-specific operator; `Ok(None)` means "not CQL-specific, use the shared one".
///
/// CQL-only: `$addDate`, `$buildDateTime`, `$buildMap`, `$getYear` … `$getSecond`, `$neq`
/// (and the aliases `$ge`, `$le`); CQL forms of shared names: `$cond` (its condition may be a
/// CQL condition), `$ifNull` with three arguments (`[x, ifNull, otherwise]`), the comparison
/// operators (CQL type bracketing), and a single `$.` path as the whole argument list of the
/// arithmetic operators.
pub fn parse_cql_operator(
    name: &str,
    arg: &Bson,
    opts: &ParseOptions,
    depth: usize,
) -> Result<Option<Operator>> {
    let call = match name {
        "$cond" => parse_cond(arg, opts, depth)?,
        "$ifNull" => match arg {
            Bson::Array(items) if items.len() == 3 => {
                Call::positional("$ifNull", parse_each(items, opts, depth)?, eval_if_null3)
            }
            _ => return Ok(None),
        },
        "$buildMap" => parse_build_map(arg, opts, depth)?,
        "$addDate" => {
            let [start, unit, amount] = named(
                arg,
                "$addDate",
                &["startDate", "unit", "amount"],
                opts,
                depth,
            )?;
            Call::positional("$addDate", vec![start, unit, amount], eval_add_date)
        }
        "$buildDateTime" => {
            let [ty, args] = named(arg, "$buildDateTime", &["type", "args"], opts, depth)?;
            Call::positional("$buildDateTime", vec![ty, args], eval_build_date_time)
        }
        "$getYear" | "$getMonth" | "$getDay" | "$getHour" | "$getMinute" | "$getSecond" => {
            let items = match arg {
                Bson::Array(items) if items.len() == 1 => items.clone(),
                Bson::Array(items) => {
                    return Err(super::operators::arg_count_error(name, 1, 1, items.len()));
                }
                other => vec![other.clone()],
            };
            let mut c = Call::positional(
                "$getDatePart",
                parse_each(&items, opts, depth)?,
                eval_date_part,
            );
            c.names = vec![name.to_string()];
            c
        }
        _ => {
            if let Some(op) = CmpOp::from_name(name) {
                let Bson::Array(items) = arg else {
                    return Err(QueryError::failed_to_parse(format!(
                        "{name} in an expression takes two operands: {{\"{name}\": [a, b]}}"
                    )));
                };
                if items.len() != 2 {
                    return Err(super::operators::arg_count_error(name, 2, 2, items.len()));
                }
                return Ok(Some(Operator::Call(compare_call(
                    op,
                    parse_at_depth(&items[0], opts, depth + 1)?,
                    parse_at_depth(&items[1], opts, depth + 1)?,
                ))));
            }
            match (SPREAD_OPERATORS.iter().find(|o| **o == name), arg) {
                (Some(op), Bson::String(s)) if s.starts_with("$.") => {
                    let mut c = Call::positional(
                        "$spread",
                        vec![parse_at_depth(arg, opts, depth + 1)?],
                        eval_spread,
                    );
                    c.names = vec![(*op).to_string()];
                    c
                }
                _ => return Ok(None),
            }
        }
    };
    Ok(Some(Operator::Call(call)))
}

fn parse_each(items: &[Bson], opts: &ParseOptions, depth: usize) -> Result<Vec<Expr>> {
    items
        .iter()
        .map(|i| parse_at_depth(i, opts, depth + 1))
        .collect()
}

/// Parses an object of required named arguments into expressions in `keys` order.
fn named<const N: usize>(
    arg: &Bson,
    op: &str,
    keys: &[&str; N],
    opts: &ParseOptions,
    depth: usize,
) -> Result<[Expr; N]> {
    let Bson::Document(d) = arg else {
        return Err(QueryError::failed_to_parse(format!(
            "{op} takes an object with {}",
            keys.join(", ")
        )));
    };
    for k in d.keys() {
        if !keys.contains(&k.as_str()) {
            return Err(QueryError::failed_to_parse(format!(
                "{op}: unknown argument {k:?}"
            )));
        }
    }
    let mut out = Vec::with_capacity(N);
    for k in keys {
        let v = d
            .get(*k)
            .ok_or_else(|| QueryError::failed_to_parse(format!("{op}: missing argument {k:?}")))?;
        out.push(parse_at_depth(v, opts, depth + 1)?);
    }
    out.try_into()
        .map_err(|_| QueryError::new(crate::error::MongoCode::InternalError, "argument count"))
}

fn parse_cond(arg: &Bson, opts: &ParseOptions, depth: usize) -> Result<Call> {
    let (c, a, b) = match arg {
        Bson::Array(items) if items.len() == 3 => (&items[0], &items[1], &items[2]),
        Bson::Array(items) => {
            return Err(super::operators::arg_count_error(
                "$cond",
                3,
                3,
                items.len(),
            ));
        }
        Bson::Document(d) => {
            let get = |k: &str| {
                d.get(k).ok_or_else(|| {
                    QueryError::location(17080, format!("Missing '{k}' parameter to $cond"))
                })
            };
            (get("if")?, get("then")?, get("else")?)
        }
        _ => {
            return Err(QueryError::failed_to_parse(
                "$cond takes [condition, then, else] or {if, then, else}",
            ));
        }
    };
    Ok(Call::positional(
        "$cond",
        vec![
            condition_expr(parse_condition_at(c, opts, depth + 1)?),
            parse_at_depth(a, opts, depth + 1)?,
            parse_at_depth(b, opts, depth + 1)?,
        ],
        eval_cond,
    ))
}

fn parse_build_map(arg: &Bson, opts: &ParseOptions, depth: usize) -> Result<Call> {
    let Bson::Array(entries) = arg else {
        return Err(QueryError::failed_to_parse(
            "$buildMap takes an array of {condition, key, value}",
        ));
    };
    let mut args = Vec::with_capacity(entries.len() * 2);
    let mut keys = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let Bson::Document(d) = e else {
            return Err(QueryError::failed_to_parse(format!(
                "$buildMap entry {i} must be an object {{condition, key, value}}"
            )));
        };
        let cond = d.get("condition").ok_or_else(|| {
            QueryError::failed_to_parse(format!("$buildMap entry {i}: missing \"condition\""))
        })?;
        let Some(Bson::String(key)) = d.get("key") else {
            return Err(QueryError::failed_to_parse(format!(
                "$buildMap entry {i}: \"key\" must be a string"
            )));
        };
        let value = d.get("value").ok_or_else(|| {
            QueryError::failed_to_parse(format!("$buildMap entry {i}: missing \"value\""))
        })?;
        if let Some(k) = d
            .keys()
            .find(|k| !matches!(k.as_str(), "condition" | "key" | "value"))
        {
            return Err(QueryError::failed_to_parse(format!(
                "$buildMap entry {i}: unknown field {k:?}"
            )));
        }
        args.push(Some(condition_expr(parse_condition_at(
            cond,
            opts,
            depth + 1,
        )?)));
        args.push(Some(parse_at_depth(value, opts, depth + 1)?));
        keys.push(key.clone());
    }
    Ok(Call {
        name: "$buildMap",
        args,
        names: keys,
        func: eval_build_map,
    })
}

/// A condition as an expression (so operators can hold one).
pub fn condition_expr(c: Condition) -> Expr {
    match c {
        Condition::Const(b) => Expr::Literal(Bson::Boolean(b)),
        Condition::And(cs) => call(
            "$and",
            cs.into_iter().map(condition_expr).collect(),
            eval_and,
        ),
        Condition::Or(cs) => call("$or", cs.into_iter().map(condition_expr).collect(), eval_or),
        Condition::Not(c) => call("$not", vec![condition_expr(*c)], eval_not),
        Condition::Compare { op, left, right } => {
            Expr::Operator(Box::new(Operator::Call(compare_call(op, left, right))))
        }
        Condition::Truthy(e) => call("$truthy", vec![e], eval_truthy),
    }
}

fn call(name: &'static str, args: Vec<Expr>, func: super::operators::OpFn) -> Expr {
    Expr::Operator(Box::new(Operator::Call(Call::positional(name, args, func))))
}

fn compare_call(op: CmpOp, left: Expr, right: Expr) -> Call {
    let name = match op {
        CmpOp::Eq => "$eq",
        CmpOp::Ne => "$neq",
        CmpOp::Gt => "$gt",
        CmpOp::Gte => "$gte",
        CmpOp::Lt => "$lt",
        CmpOp::Lte => "$lte",
    };
    Call::positional(name, vec![left, right], eval_compare)
}

fn eval_compare(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let op = CmpOp::from_name(c.name).unwrap_or(CmpOp::Eq);
    let a = c.eval_arg(0, ctx)?;
    let b = c.eval_arg(1, ctx)?;
    Ok(Some(Bson::Boolean(op.apply(a.as_ref(), b.as_ref()))))
}

fn eval_and(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    for i in 0..c.len() {
        if !is_truthy(c.eval_arg(i, ctx)?.as_ref()) {
            return Ok(Some(Bson::Boolean(false)));
        }
    }
    Ok(Some(Bson::Boolean(true)))
}

fn eval_or(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    for i in 0..c.len() {
        if is_truthy(c.eval_arg(i, ctx)?.as_ref()) {
            return Ok(Some(Bson::Boolean(true)));
        }
    }
    Ok(Some(Bson::Boolean(false)))
}

fn eval_not(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    Ok(Some(Bson::Boolean(!is_truthy(
        c.eval_arg(0, ctx)?.as_ref(),
    ))))
}

fn eval_truthy(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    Ok(Some(Bson::Boolean(is_truthy(c.eval_arg(0, ctx)?.as_ref()))))
}

fn eval_cond(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    if is_truthy(c.eval_arg(0, ctx)?.as_ref()) {
        c.eval_arg(1, ctx)
    } else {
        c.eval_arg(2, ctx)
    }
}

fn eval_if_null3(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    match c.eval_arg(0, ctx)? {
        None | Some(Bson::Null) | Some(Bson::Undefined) => c.eval_arg(1, ctx),
        Some(_) => c.eval_arg(2, ctx),
    }
}

fn eval_build_map(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let mut out = bson::Document::new();
    for (i, key) in c.names.iter().enumerate() {
        if is_truthy(c.eval_arg(2 * i, ctx)?.as_ref()) {
            out.insert(key.clone(), c.eval_arg_or_null(2 * i + 1, ctx)?);
        }
    }
    Ok(Some(Bson::Document(out)))
}

fn eval_spread(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let op = c.names.first().map(String::as_str).unwrap_or("$add");
    let v = c.eval_arg_or_null(0, ctx)?;
    let items = match v {
        Bson::Array(items) => items,
        other => vec![other],
    };
    // Re-dispatch to the shared operator with the values as literal arguments.
    let lits: Vec<Bson> = items
        .into_iter()
        .map(|x| {
            let mut d = bson::Document::new();
            d.insert("$literal", x);
            Bson::Document(d)
        })
        .collect();
    let opts = ParseOptions {
        dialect: super::Dialect::Mql,
        ..Default::default()
    };
    let arg = if matches!(op, "$avg" | "$min" | "$max" | "$sum") {
        let mut d = bson::Document::new();
        d.insert(
            "$literal",
            Bson::Array(
                lits.iter()
                    .filter_map(|l| l.as_document().and_then(|d| d.get("$literal")).cloned())
                    .collect(),
            ),
        );
        Bson::Document(d)
    } else {
        Bson::Array(lits)
    };
    super::operators::parse_operator(op, &arg, &opts, 0)?.eval(ctx)
}

// ---- dates -----------------------------------------------------------------------------------

/// Epoch values at or above this magnitude are milliseconds, below it seconds (10^11 s is the
/// year 5138; 10^11 ms is 1973-03-03).
pub const EPOCH_MILLIS_THRESHOLD: i64 = 100_000_000_000;

/// How a date-like value was given (the result of `$addDate` keeps the input's form).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DateForm {
    Date,
    EpochSeconds,
    EpochMillis,
    Iso,
}

/// Interprets a date-like value: a BSON date, an integer epoch (seconds or milliseconds by
/// magnitude, see [`EPOCH_MILLIS_THRESHOLD`]), an integral double epoch, or an ISO-8601 string.
fn date_like(v: &Bson, op: &str) -> Result<(i64, DateForm)> {
    let epoch = |n: i64| {
        if n.unsigned_abs() >= EPOCH_MILLIS_THRESHOLD as u64 {
            Ok((n, DateForm::EpochMillis))
        } else {
            n.checked_mul(1000)
                .map(|ms| (ms, DateForm::EpochSeconds))
                .ok_or_else(|| QueryError::bad_value(format!("{op}: epoch out of range")))
        }
    };
    match v {
        Bson::DateTime(d) => Ok((d.timestamp_millis(), DateForm::Date)),
        Bson::Int32(i) => epoch(i64::from(*i)),
        Bson::Int64(i) => epoch(*i),
        Bson::Double(d) if d.fract() == 0.0 && d.abs() < 9.0e15 => epoch(*d as i64),
        Bson::String(s) => bson::DateTime::parse_rfc3339_str(s)
            .map(|d| (d.timestamp_millis(), DateForm::Iso))
            .map_err(|_| QueryError::bad_value(format!("{op}: {s:?} is not an ISO-8601 date"))),
        other => Err(QueryError::type_mismatch(format!(
            "{op} needs a date, an epoch number or an ISO-8601 string, got {}",
            other.clone().into_relaxed_extjson()
        ))),
    }
}

fn from_millis(ms: i64, form: DateForm) -> Bson {
    match form {
        DateForm::Date | DateForm::Iso => Bson::DateTime(bson::DateTime::from_millis(ms)),
        DateForm::EpochSeconds => Bson::Int64(ms.div_euclid(1000)),
        DateForm::EpochMillis => Bson::Int64(ms),
    }
}

fn integer(v: &Bson, what: &str) -> Result<i64> {
    match crate::compare::Number::of(v) {
        Some(crate::compare::Number::Int(i)) => Ok(i),
        Some(n) if n.as_f64().fract() == 0.0 && n.as_f64().abs() < 9.0e15 => Ok(n.as_f64() as i64),
        _ => Err(QueryError::type_mismatch(format!(
            "{what} must be an integer, got {}",
            v.clone().into_relaxed_extjson()
        ))),
    }
}

fn eval_add_date(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let start = c.eval_arg_or_null(0, ctx)?;
    if matches!(start, Bson::Null) {
        return Ok(Some(Bson::Null));
    }
    let (ms, form) = date_like(&start, "$addDate")?;
    let unit = match c.eval_arg_or_null(1, ctx)? {
        Bson::String(u) => u.to_ascii_uppercase(),
        other => {
            return Err(QueryError::type_mismatch(format!(
                "$addDate unit must be a string, got {}",
                other.into_relaxed_extjson()
            )));
        }
    };
    let unit_ms: i64 = match unit.as_str() {
        "SECOND" | "SECONDS" => 1_000,
        "MINUTE" | "MINUTES" => 60_000,
        "HOUR" | "HOURS" => 3_600_000,
        "DAY" | "DAYS" => 86_400_000,
        "WEEK" | "WEEKS" => 604_800_000,
        other => {
            return Err(QueryError::bad_value(format!(
                "$addDate: unknown unit {other:?} (SECOND, MINUTE, HOUR, DAY, WEEK and their plurals)"
            )));
        }
    };
    let amount = integer(&c.eval_arg_or_null(2, ctx)?, "$addDate amount")?;
    let out = amount
        .checked_mul(unit_ms)
        .and_then(|d| ms.checked_add(d))
        .ok_or_else(|| QueryError::new(crate::error::MongoCode::Overflow, "$addDate overflows"))?;
    Ok(Some(from_millis(out, form)))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `(year, month, day)` of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn eval_build_date_time(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let ty = match c.eval_arg_or_null(0, ctx)? {
        Bson::String(t) => t.to_ascii_uppercase(),
        other => {
            return Err(QueryError::type_mismatch(format!(
                "$buildDateTime type must be a string, got {}",
                other.into_relaxed_extjson()
            )));
        }
    };
    let Bson::Array(parts) = c.eval_arg_or_null(1, ctx)? else {
        return Err(QueryError::type_mismatch(
            "$buildDateTime args must be an array [year, month, day, hour, minute, second]",
        ));
    };
    if parts.len() != 6 {
        return Err(QueryError::bad_value(format!(
            "$buildDateTime args must have 6 numbers (year, month, day, hour, minute, second), got {}",
            parts.len()
        )));
    }
    let mut n = [0i64; 6];
    for (i, p) in parts.iter().enumerate() {
        n[i] = integer(p, "$buildDateTime args")?;
    }
    let [y, mo, d, h, mi, s] = n;
    let valid = (1..=12).contains(&mo)
        && (1..=31).contains(&d)
        && (0..=23).contains(&h)
        && (0..=59).contains(&mi)
        && (0..=59).contains(&s)
        && (-9999..=9999).contains(&y)
        && civil_from_days(days_from_civil(y, mo, d)) == (y, mo, d);
    if !valid {
        return Err(QueryError::bad_value(format!(
            "$buildDateTime: {y}-{mo}-{d} {h}:{mi}:{s} is not a valid date and time"
        )));
    }
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s;
    Ok(Some(match ty.as_str() {
        "EPOCH_SECOND" => Bson::Int64(secs),
        "EPOCH_MILLISECOND" => Bson::Int64(secs * 1000),
        "ISO_DATETIME" => Bson::DateTime(bson::DateTime::from_millis(secs * 1000)),
        other => {
            return Err(QueryError::bad_value(format!(
                "$buildDateTime: unknown type {other:?} (ISO_DATETIME, EPOCH_SECOND, EPOCH_MILLISECOND)"
            )));
        }
    }))
}

fn eval_date_part(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let op = c.names.first().map(String::as_str).unwrap_or("$getYear");
    let v = c.eval_arg_or_null(0, ctx)?;
    if matches!(v, Bson::Null) {
        return Ok(Some(Bson::Null));
    }
    let (ms, _) = date_like(&v, op)?;
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000) / 1000;
    let (y, m, d) = civil_from_days(days);
    let part = match op {
        "$getYear" => y,
        "$getMonth" => m,
        "$getDay" => d,
        "$getHour" => in_day / 3600,
        "$getMinute" => in_day % 3600 / 60,
        _ => in_day % 60,
    };
    Ok(Some(Bson::Int32(i32::try_from(part).unwrap_or(i32::MAX))))
}

/// A comparison operator of CQL conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `$eq`
    Eq,
    /// `$neq` / `$ne`
    Ne,
    /// `$gt`
    Gt,
    /// `$gte` / `$ge`
    Gte,
    /// `$lt`
    Lt,
    /// `$lte` / `$le`
    Lte,
}

impl CmpOp {
    /// The operator for a name, with CQL's aliases.
    pub fn from_name(name: &str) -> Option<CmpOp> {
        Some(match name {
            "$eq" => CmpOp::Eq,
            "$neq" | "$ne" => CmpOp::Ne,
            "$gt" => CmpOp::Gt,
            "$gte" | "$ge" => CmpOp::Gte,
            "$lt" => CmpOp::Lt,
            "$lte" | "$le" => CmpOp::Lte,
            _ => return None,
        })
    }

    /// Applies the operator to two values (`None` = missing = null).
    pub fn apply(self, a: Option<&Bson>, b: Option<&Bson>) -> bool {
        let a = a.unwrap_or(&Bson::Null);
        let b = b.unwrap_or(&Bson::Null);
        match self {
            CmpOp::Eq => values_equal(a, b),
            CmpOp::Ne => !values_equal(a, b),
            CmpOp::Gt | CmpOp::Gte | CmpOp::Lt | CmpOp::Lte => {
                if type_rank(a) != type_rank(b) {
                    return false;
                }
                let ord = compare(a, b);
                match self {
                    CmpOp::Gt => ord == Ordering::Greater,
                    CmpOp::Gte => ord != Ordering::Less,
                    CmpOp::Lt => ord == Ordering::Less,
                    _ => ord != Ordering::Greater,
                }
            }
        }
    }
}

/// A parsed CQL condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// A constant (`true` / `false` literal).
    Const(bool),
    /// All must hold (short-circuit; `[]` is true).
    And(Vec<Condition>),
    /// One must hold (short-circuit; `[]` is false).
    Or(Vec<Condition>),
    /// Negation.
    Not(Box<Condition>),
    /// `left <op> right`.
    Compare {
        /// The operator.
        op: CmpOp,
        /// Left operand.
        left: Expr,
        /// Right operand.
        right: Expr,
    },
    /// The truthiness of a value (a `$.` path or an expression): everything except `false`,
    /// `null`, missing and numeric zero is true (MongoDB's `$cond` rule).
    Truthy(Expr),
}

/// Whether a value counts as true (MongoDB's rule for `$cond`, `$and` …).
pub fn is_truthy(v: Option<&Bson>) -> bool {
    match v {
        None | Some(Bson::Null) | Some(Bson::Undefined) | Some(Bson::Boolean(false)) => false,
        Some(Bson::Int32(0)) | Some(Bson::Int64(0)) => false,
        Some(Bson::Double(d)) => *d != 0.0,
        Some(Bson::Decimal128(d)) => crate::compare::decimal_to_f64(d) != 0.0,
        Some(_) => true,
    }
}

/// Parses a condition (depth 0).
pub fn parse_condition(v: &Bson, opts: &ParseOptions) -> Result<Condition> {
    parse_condition_at(v, opts, 0)
}

/// Parses a condition at a nesting depth (for operators that embed conditions).
pub fn parse_condition_at(v: &Bson, opts: &ParseOptions, depth: usize) -> Result<Condition> {
    if depth > opts.limits.max_nesting_depth {
        return Err(QueryError::bad_value(format!(
            "condition nesting exceeds the limit of {} levels",
            opts.limits.max_nesting_depth
        )));
    }
    match v {
        Bson::Boolean(b) => Ok(Condition::Const(*b)),
        Bson::String(s) if s.starts_with("$.") => {
            Ok(Condition::Truthy(parse_at_depth(v, opts, depth + 1)?))
        }
        Bson::Document(d) if !d.is_empty() => {
            let mut parts = Vec::with_capacity(d.len());
            for (k, body) in d {
                parts.push(parse_condition_entry(k, body, opts, depth + 1)?);
            }
            Ok(if parts.len() == 1 {
                parts.pop().expect("invariant: one part")
            } else {
                Condition::And(parts)
            })
        }
        Bson::Document(_) => Err(QueryError::failed_to_parse(
            "a condition must not be an empty object",
        )),
        other => Err(QueryError::failed_to_parse(format!(
            "a condition must be an object, a `$.` path or a boolean, got {}",
            other.clone().into_relaxed_extjson()
        ))),
    }
}

fn parse_condition_entry(
    key: &str,
    body: &Bson,
    opts: &ParseOptions,
    depth: usize,
) -> Result<Condition> {
    match key {
        "$and" | "$or" => {
            let Bson::Array(items) = body else {
                return Err(QueryError::failed_to_parse(format!(
                    "{key} takes an array of conditions"
                )));
            };
            let subs = items
                .iter()
                .map(|c| parse_condition_at(c, opts, depth + 1))
                .collect::<Result<Vec<_>>>()?;
            Ok(if key == "$and" {
                Condition::And(subs)
            } else {
                Condition::Or(subs)
            })
        }
        "$not" => {
            let inner = match body {
                Bson::Array(items) if items.len() == 1 => &items[0],
                other => other,
            };
            Ok(Condition::Not(Box::new(parse_condition_at(
                inner,
                opts,
                depth + 1,
            )?)))
        }
        _ if key.starts_with("$.") => {
            let left = parse_at_depth(&Bson::String(key.to_string()), opts, depth + 1)?;
            let Bson::Document(ops) = body else {
                // `{"$.x": 5}` is shorthand for `{"$.x": {"$eq": 5}}`.
                return Ok(Condition::Compare {
                    op: CmpOp::Eq,
                    left,
                    right: parse_at_depth(body, opts, depth + 1)?,
                });
            };
            if ops.is_empty() {
                return Err(QueryError::failed_to_parse(format!(
                    "condition on {key} has no operator"
                )));
            }
            let mut parts = Vec::with_capacity(ops.len());
            for (op_name, rhs) in ops {
                let op = CmpOp::from_name(op_name).ok_or_else(|| {
                    QueryError::bad_value(format!(
                        "unknown condition operator: {op_name} (expected $eq, $neq, $gt, $gte, $lt or $lte)"
                    ))
                })?;
                parts.push(Condition::Compare {
                    op,
                    left: left.clone(),
                    right: parse_at_depth(rhs, opts, depth + 1)?,
                });
            }
            Ok(if parts.len() == 1 {
                parts.pop().expect("invariant: one part")
            } else {
                Condition::And(parts)
            })
        }
        _ => {
            if let Some(op) = CmpOp::from_name(key) {
                // Aggregation form: {"$gt": [a, b]}.
                return match body {
                    Bson::Array(items) if items.len() == 2 => Ok(Condition::Compare {
                        op,
                        left: parse_at_depth(&items[0], opts, depth + 1)?,
                        right: parse_at_depth(&items[1], opts, depth + 1)?,
                    }),
                    _ => Err(QueryError::failed_to_parse(format!(
                        "{key} in a condition takes a `$.` path key ({{\"$.x\": {{\"{key}\": v}}}}) or exactly two operands ({{\"{key}\": [a, b]}})"
                    ))),
                };
            }
            if key.starts_with('$') {
                // Another expression operator whose value is used as a boolean.
                let mut d = bson::Document::new();
                d.insert(key, body.clone());
                return Ok(Condition::Truthy(parse_at_depth(
                    &Bson::Document(d),
                    opts,
                    depth + 1,
                )?));
            }
            Err(QueryError::failed_to_parse(format!(
                "condition key {key:?} must be a `$.` path, $and, $or, $not or a comparison operator"
            )))
        }
    }
}

impl Condition {
    /// Evaluates the condition.
    pub fn eval(&self, ctx: &mut EvalContext<'_>) -> Result<bool> {
        match self {
            Condition::Const(b) => Ok(*b),
            Condition::And(cs) => {
                for c in cs {
                    if !c.eval(ctx)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Condition::Or(cs) => {
                for c in cs {
                    if c.eval(ctx)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Condition::Not(c) => Ok(!c.eval(ctx)?),
            Condition::Compare { op, left, right } => {
                let a = left.eval(ctx)?;
                let b = right.eval(ctx)?;
                Ok(op.apply(a.as_ref(), b.as_ref()))
            }
            Condition::Truthy(e) => Ok(is_truthy(e.eval(ctx)?.as_ref())),
        }
    }
}

#[cfg(test)]
#[path = "cql_tests.rs"]
mod tests;
