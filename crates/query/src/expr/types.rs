//! Type operators: `$type $isNumber $convert $toString $toInt $toLong $toDouble $toDecimal
//! $toBool $toObjectId $toDate`.
//!
//! `$convert` follows MongoDB's conversion table: a null or missing input gives `onNull` (else
//! null); an unsupported or failed conversion gives `onError` if given, else error 241
//! (ConversionFailure). The `$toX` shorthands are `$convert` without `onError`/`onNull`.
//! Numeric conversions to int/long truncate toward zero and fail on overflow, NaN or infinity.

use bson::oid::ObjectId;
use bson::{Bson, Decimal128};

use super::num::{Num, dec_from_f64, dec_from_i64, f64_to_i64_exact};
use super::operators::{Call, fixed, named, present, show, type_name, type_name_opt};
use super::string::number_to_string;
use super::{EvalContext, ParseOptions};
use crate::error::{MongoCode, QueryError, Result};

/// Target types of `$convert`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Double,
    String,
    ObjectId,
    Bool,
    Date,
    Int,
    Long,
    Decimal,
}

impl Target {
    fn of(v: &Bson) -> Option<Target> {
        match v {
            Bson::String(s) => Some(match s.as_str() {
                "double" => Target::Double,
                "string" => Target::String,
                "objectId" => Target::ObjectId,
                "bool" => Target::Bool,
                "date" => Target::Date,
                "int" => Target::Int,
                "long" => Target::Long,
                "decimal" => Target::Decimal,
                _ => return None,
            }),
            other => Some(match Num::of(other)?.exact_i64()? {
                1 => Target::Double,
                2 => Target::String,
                7 => Target::ObjectId,
                8 => Target::Bool,
                9 => Target::Date,
                16 => Target::Int,
                18 => Target::Long,
                19 => Target::Decimal,
                _ => return None,
            }),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Target::Double => "double",
            Target::String => "string",
            Target::ObjectId => "objectId",
            Target::Bool => "bool",
            Target::Date => "date",
            Target::Int => "int",
            Target::Long => "long",
            Target::Decimal => "decimal",
        }
    }
}

/// Parses a type operator; `Ok(None)` when `name` is not one.
pub(crate) fn parse(
    name: &str,
    arg: &Bson,
    opts: &ParseOptions,
    depth: usize,
) -> Result<Option<Call>> {
    let call = match name {
        "$type" => fixed("$type", arg, opts, depth, 1, 1, eval_type)?,
        "$isNumber" => fixed("$isNumber", arg, opts, depth, 1, 1, eval_is_number)?,
        "$convert" => named(
            "$convert",
            arg,
            opts,
            depth,
            &["input", "to", "onError", "onNull"],
            &["input", "to"],
            eval_convert,
        )?,
        "$toString" | "$toInt" | "$toLong" | "$toDouble" | "$toDecimal" | "$toBool"
        | "$toObjectId" | "$toDate" => {
            let n: &'static str = match name {
                "$toString" => "$toString",
                "$toInt" => "$toInt",
                "$toLong" => "$toLong",
                "$toDouble" => "$toDouble",
                "$toDecimal" => "$toDecimal",
                "$toBool" => "$toBool",
                "$toObjectId" => "$toObjectId",
                _ => "$toDate",
            };
            fixed(n, arg, opts, depth, 1, 1, eval_to)?
        }
        _ => return Ok(None),
    };
    Ok(Some(call))
}

fn eval_type(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let v = c.eval_arg(0, ctx)?;
    Ok(Some(Bson::String(type_name_opt(v.as_ref()).to_string())))
}

fn eval_is_number(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let v = c.eval_arg(0, ctx)?;
    Ok(Some(Bson::Boolean(v.as_ref().and_then(Num::of).is_some())))
}

fn eval_to(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let target = match c.name {
        "$toString" => Target::String,
        "$toInt" => Target::Int,
        "$toLong" => Target::Long,
        "$toDouble" => Target::Double,
        "$toDecimal" => Target::Decimal,
        "$toBool" => Target::Bool,
        "$toObjectId" => Target::ObjectId,
        _ => Target::Date,
    };
    match present(c.eval_arg(0, ctx)?) {
        None => Ok(Some(Bson::Null)),
        Some(v) => convert(&v, target).map(Some),
    }
}

fn eval_convert(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let input = present(c.eval_arg(0, ctx)?);
    let to = match present(c.eval_arg(1, ctx)?) {
        None => return Ok(Some(Bson::Null)),
        Some(t) => Target::of(&t).ok_or_else(|| {
            QueryError::bad_value(format!(
                "$convert: unknown or unsupported target type: {}",
                show(&t)
            ))
        })?,
    };
    let Some(input) = input else {
        return if c.has(3) {
            c.eval_arg(3, ctx)
        } else {
            Ok(Some(Bson::Null))
        };
    };
    match convert(&input, to) {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.code == MongoCode::ConversionFailure && c.has(2) => c.eval_arg(2, ctx),
        Err(e) => Err(e),
    }
}

fn failure(msg: String) -> QueryError {
    QueryError::new(MongoCode::ConversionFailure, msg)
}

fn unsupported(v: &Bson, to: Target) -> QueryError {
    failure(format!(
        "Unsupported conversion from {} to {} in $convert with no onError value",
        type_name(v),
        to.name()
    ))
}

fn overflow(v: &Bson, to: Target) -> QueryError {
    failure(format!(
        "Conversion would overflow target type in $convert with no onError value: {} to {}",
        show(v),
        to.name()
    ))
}

/// Converts a non-null value to `to` (MongoDB's `$convert` table).
fn convert(v: &Bson, to: Target) -> Result<Bson> {
    let n = Num::of(v);
    match to {
        Target::Bool => match v {
            Bson::Boolean(b) => Ok(Bson::Boolean(*b)),
            _ => match n {
                Some(n) => Ok(Bson::Boolean(n.f64() != 0.0 || n.f64().is_nan())),
                None => match v {
                    Bson::String(_)
                    | Bson::ObjectId(_)
                    | Bson::DateTime(_)
                    | Bson::Timestamp(_)
                    | Bson::Document(_)
                    | Bson::Array(_)
                    | Bson::Binary(_)
                    | Bson::RegularExpression(_)
                    | Bson::JavaScriptCode(_)
                    | Bson::JavaScriptCodeWithScope(_)
                    | Bson::Symbol(_)
                    | Bson::DbPointer(_)
                    | Bson::MinKey
                    | Bson::MaxKey => Ok(Bson::Boolean(true)),
                    _ => Err(unsupported(v, to)),
                },
            },
        },
        Target::Int | Target::Long => {
            let i = match (v, n) {
                (Bson::Boolean(b), _) => i64::from(*b),
                (Bson::DateTime(d), _) if to == Target::Long => d.timestamp_millis(),
                (Bson::String(s), _) => parse_int(s).ok_or_else(|| {
                    failure(format!(
                        "Failed to parse number '{s}' in $convert with no onError value: Did not consume whole string."
                    ))
                })?,
                (_, Some(n)) => match n.int() {
                    Some(i) => i,
                    None => {
                        let d = n.f64();
                        if !d.is_finite() {
                            return Err(failure(format!(
                                "Attempt to convert NaN or infinity value to integer type in $convert with no onError value: {}",
                                show(v)
                            )));
                        }
                        f64_to_i64_exact(d.trunc()).ok_or_else(|| overflow(v, to))?
                    }
                },
                _ => return Err(unsupported(v, to)),
            };
            if to == Target::Int {
                i32::try_from(i)
                    .map(Bson::Int32)
                    .map_err(|_| overflow(v, to))
            } else {
                Ok(Bson::Int64(i))
            }
        }
        Target::Double => match (v, n) {
            (Bson::Boolean(b), _) => Ok(Bson::Double(if *b { 1.0 } else { 0.0 })),
            (Bson::DateTime(d), _) => Ok(Bson::Double(d.timestamp_millis() as f64)),
            (Bson::String(s), _) => parse_double(s).map(Bson::Double).ok_or_else(|| {
                failure(format!(
                    "Failed to parse number '{s}' in $convert with no onError value: Did not consume whole string."
                ))
            }),
            (_, Some(n)) => Ok(Bson::Double(n.f64())),
            _ => Err(unsupported(v, to)),
        },
        Target::Decimal => match (v, n) {
            (Bson::Boolean(b), _) => Ok(Bson::Decimal128(dec_from_i64(i64::from(*b)))),
            (Bson::DateTime(d), _) => Ok(Bson::Decimal128(dec_from_i64(d.timestamp_millis()))),
            (Bson::String(s), _) => s
                .trim()
                .parse::<Decimal128>()
                .ok()
                .filter(|_| !s.is_empty() && s.trim() == s)
                .map(Bson::Decimal128)
                .ok_or_else(|| {
                    failure(format!(
                        "Failed to parse number '{s}' in $convert with no onError value"
                    ))
                }),
            (Bson::Decimal128(d), _) => Ok(Bson::Decimal128(*d)),
            (_, Some(Num::Int(i))) => Ok(Bson::Decimal128(dec_from_i64(i64::from(i)))),
            (_, Some(Num::Long(i))) => Ok(Bson::Decimal128(dec_from_i64(i))),
            (_, Some(n)) => Ok(Bson::Decimal128(dec_from_f64(n.f64()))),
            _ => Err(unsupported(v, to)),
        },
        Target::String => match (v, n) {
            (Bson::String(s), _) => Ok(Bson::String(s.clone())),
            (Bson::Boolean(b), _) => Ok(Bson::String(b.to_string())),
            (Bson::ObjectId(o), _) => Ok(Bson::String(o.to_hex())),
            (Bson::DateTime(d), _) => Ok(Bson::String(super::date::format_iso(
                d.timestamp_millis(),
            ))),
            (Bson::Decimal128(d), _) => Ok(Bson::String(d.to_string())),
            (_, Some(n)) => Ok(Bson::String(number_to_string(n))),
            _ => Err(unsupported(v, to)),
        },
        Target::ObjectId => match v {
            Bson::ObjectId(o) => Ok(Bson::ObjectId(*o)),
            Bson::String(s) => ObjectId::parse_str(s).map(Bson::ObjectId).map_err(|_| {
                failure(format!(
                    "Failed to parse objectId '{s}' in $convert with no onError value: Invalid string length for parsing to OID, expected 24 but found {}",
                    s.len()
                ))
            }),
            _ => Err(unsupported(v, to)),
        },
        Target::Date => {
            let ms = match (v, n) {
                (Bson::DateTime(d), _) => d.timestamp_millis(),
                (Bson::Timestamp(t), _) => i64::from(t.time) * 1000,
                (Bson::ObjectId(o), _) => o.timestamp().timestamp_millis(),
                (Bson::String(s), _) => super::date_format::parse_iso(s, &super::zone::Zone::UTC).ok_or_else(|| {
                    failure(format!(
                        "Error parsing date string '{s}' in $convert with no onError value"
                    ))
                })?,
                (_, Some(Num::Long(i))) => i,
                (_, Some(n @ (Num::Double(_) | Num::Dec(_)))) => {
                    let d = n.f64();
                    f64_to_i64_exact(d.trunc()).ok_or_else(|| overflow(v, to))?
                }
                _ => return Err(unsupported(v, to)),
            };
            Ok(Bson::DateTime(bson::DateTime::from_millis(ms)))
        }
    }
}

/// A base-10 integer string (optional sign, digits only), as `$toInt`/`$toLong` accept.
fn parse_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A double string: decimal or exponent notation, `Infinity`, `-Infinity`, `NaN`.
fn parse_double(s: &str) -> Option<f64> {
    match s {
        "Infinity" | "inf" | "+Infinity" => return Some(f64::INFINITY),
        "-Infinity" | "-inf" => return Some(f64::NEG_INFINITY),
        "NaN" | "nan" => return Some(f64::NAN),
        _ => {}
    }
    let ok = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'));
    if ok { s.parse().ok() } else { None }
}
