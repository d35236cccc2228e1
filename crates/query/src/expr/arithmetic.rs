//! Arithmetic operators: `$abs $add $subtract $multiply $divide $mod $pow $sqrt $exp $ln $log
//! $log10 $ceil $floor $round $trunc $rand`.
//!
//! Rules (MongoDB's): a null, undefined or missing argument makes the result null; any other
//! non-number is an error naming the operator and the type; integer results keep the narrowest
//! integer type of the inputs and widen on overflow (int32 → int64 → double); `$add` accepts
//! one date (the result is a date), `$subtract` accepts date − date (milliseconds) and
//! date − number (a date).

use bson::Bson;

use super::decimal::{Dec, Rounding};
use super::num::{self, Num, NumKind, f64_to_i64_exact};
use super::operators::{Call, fixed, is_nullish, type_name, type_name_opt};
use super::{EvalContext, ParseOptions};
use crate::error::{MongoCode, QueryError, Result};

/// Parses an arithmetic operator; `Ok(None)` when `name` is not one.
pub(crate) fn parse(
    name: &str,
    arg: &Bson,
    opts: &ParseOptions,
    depth: usize,
) -> Result<Option<Call>> {
    let any = usize::MAX;
    let call = match name {
        "$add" => fixed("$add", arg, opts, depth, 0, any, eval_add)?,
        "$multiply" => fixed("$multiply", arg, opts, depth, 0, any, eval_multiply)?,
        "$subtract" => fixed("$subtract", arg, opts, depth, 2, 2, eval_subtract)?,
        "$divide" => fixed("$divide", arg, opts, depth, 2, 2, eval_divide)?,
        "$mod" => fixed("$mod", arg, opts, depth, 2, 2, eval_mod)?,
        "$pow" => fixed("$pow", arg, opts, depth, 2, 2, eval_pow)?,
        "$log" => fixed("$log", arg, opts, depth, 2, 2, eval_log)?,
        "$abs" => fixed("$abs", arg, opts, depth, 1, 1, eval_unary)?,
        "$ceil" => fixed("$ceil", arg, opts, depth, 1, 1, eval_unary)?,
        "$floor" => fixed("$floor", arg, opts, depth, 1, 1, eval_unary)?,
        "$sqrt" => fixed("$sqrt", arg, opts, depth, 1, 1, eval_unary)?,
        "$exp" => fixed("$exp", arg, opts, depth, 1, 1, eval_unary)?,
        "$ln" => fixed("$ln", arg, opts, depth, 1, 1, eval_unary)?,
        "$log10" => fixed("$log10", arg, opts, depth, 1, 1, eval_unary)?,
        "$round" => fixed("$round", arg, opts, depth, 1, 2, eval_round)?,
        "$trunc" => fixed("$trunc", arg, opts, depth, 1, 2, eval_round)?,
        "$rand" => {
            if !matches!(arg, Bson::Document(d) if d.is_empty()) {
                return Err(QueryError::location(
                    3040501,
                    "$rand does not currently accept arguments",
                ));
            }
            Call::positional("$rand", Vec::new(), eval_rand)
        }
        _ => return Ok(None),
    };
    Ok(Some(call))
}

/// Running sum/product with MongoDB's widening: the widest input type decides the result type,
/// an integer overflow switches to double.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NumFold {
    kind: NumKind,
    /// Exact integer result while no overflow happened.
    int: Option<i64>,
    /// The same fold in double arithmetic.
    float: f64,
    /// Neumaier compensation term of `float` (compensated sums only).
    compensation: f64,
    /// Whether `float` uses compensated summation (the `$sum`/`$avg` accumulators do, as
    /// MongoDB's do, so ten 0.1s sum to exactly 1).
    compensated: bool,
    /// The exact decimal fold, from the first Decimal128 input on.
    dec: Option<Dec>,
    product: bool,
}

impl NumFold {
    /// A sum starting at int32 0.
    pub(crate) fn sum() -> Self {
        NumFold {
            kind: NumKind::Int,
            int: Some(0),
            float: 0.0,
            compensation: 0.0,
            compensated: false,
            dec: None,
            product: false,
        }
    }

    /// A sum with compensated (Neumaier) double summation, for the accumulators.
    pub(crate) fn compensated_sum() -> Self {
        NumFold {
            compensated: true,
            ..NumFold::sum()
        }
    }

    /// A product starting at int32 1.
    pub(crate) fn product() -> Self {
        NumFold {
            kind: NumKind::Int,
            int: Some(1),
            float: 1.0,
            compensation: 0.0,
            compensated: false,
            dec: None,
            product: true,
        }
    }

    /// Folds in one number.
    pub(crate) fn push(&mut self, n: Num) {
        if n.kind() == NumKind::Dec || self.dec.is_some() {
            // Decimal arithmetic starts from the exact value folded so far.
            let base = self.dec.unwrap_or_else(|| self.result().dec());
            self.dec = Some(if self.product {
                base.times(n.dec())
            } else {
                base.plus(n.dec())
            });
        }
        self.kind = self.kind.max(n.kind());
        self.int = match (self.int, n.int()) {
            (Some(acc), Some(x)) if self.product => acc.checked_mul(x),
            (Some(acc), Some(x)) => acc.checked_add(x),
            _ => None,
        };
        if self.product {
            self.float *= n.f64();
        } else {
            let x = n.f64();
            let t = self.float + x;
            if self.compensated && t.is_finite() {
                self.compensation += if self.float.abs() >= x.abs() {
                    (self.float - t) + x
                } else {
                    (x - t) + self.float
                };
            }
            self.float = t;
        }
    }

    /// The result.
    pub(crate) fn result(&self) -> Num {
        match (self.kind, self.int) {
            (NumKind::Int, Some(i)) => Num::narrow(i),
            (NumKind::Long, Some(i)) => Num::Long(i),
            (NumKind::Int | NumKind::Long | NumKind::Double, _) => {
                if self.compensated && self.float.is_finite() {
                    Num::Double(self.float + self.compensation)
                } else {
                    Num::Double(self.float)
                }
            }
            (NumKind::Dec, _) => Num::Dec(self.dec.unwrap_or(Dec::ZERO)),
        }
    }
}

/// `$rand`: a double uniformly drawn from [0, 1).
fn eval_rand(_c: &Call, _ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    Ok(Some(Bson::Double(rand::random::<f64>())))
}

fn null() -> Result<Option<Bson>> {
    Ok(Some(Bson::Null))
}

fn eval_add(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let mut fold = NumFold::sum();
    let mut date: Option<i64> = None;
    for i in 0..c.len() {
        let v = c.eval_arg(i, ctx)?;
        match v {
            None | Some(Bson::Null | Bson::Undefined) => return null(),
            Some(Bson::DateTime(d)) => {
                if date.is_some() {
                    return Err(QueryError::location(
                        16612,
                        "only one date allowed in an $add expression",
                    ));
                }
                date = Some(d.timestamp_millis());
            }
            Some(other) => match Num::of(&other) {
                Some(n) => fold.push(n),
                None => {
                    return Err(QueryError::location(
                        16554,
                        format!(
                            "$add only supports numeric or date types, not {}",
                            type_name(&other)
                        ),
                    ));
                }
            },
        }
    }
    let total = fold.result();
    match date {
        Some(ms) => Ok(Some(Bson::DateTime(date_plus(ms, total, "$add")?))),
        None => Ok(Some(total.to_bson())),
    }
}

/// `ms + n` as a date; a fractional `n` is rounded to the nearest millisecond.
pub(crate) fn date_plus(ms: i64, n: Num, op: &str) -> Result<bson::DateTime> {
    let delta = match n.int() {
        Some(i) => Some(i),
        None => {
            let r = n.f64().round();
            f64_to_i64_exact(r)
        }
    };
    delta
        .and_then(|d| ms.checked_add(d))
        .map(bson::DateTime::from_millis)
        .ok_or_else(|| QueryError::new(MongoCode::Overflow, format!("date overflow in {op}")))
}

fn eval_multiply(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let mut fold = NumFold::product();
    for i in 0..c.len() {
        let v = c.eval_arg(i, ctx)?;
        if is_nullish(v.as_ref()) {
            return null();
        }
        let v = v.unwrap_or(Bson::Null);
        match Num::of(&v) {
            Some(n) => fold.push(n),
            None => {
                return Err(QueryError::location(
                    16555,
                    format!(
                        "$multiply only supports numeric types, not {}",
                        type_name(&v)
                    ),
                ));
            }
        }
    }
    Ok(Some(fold.result().to_bson()))
}

fn eval_subtract(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let a = c.eval_arg(0, ctx)?;
    let b = c.eval_arg(1, ctx)?;
    if is_nullish(a.as_ref()) || is_nullish(b.as_ref()) {
        return null();
    }
    let (a, b) = (a.unwrap_or(Bson::Null), b.unwrap_or(Bson::Null));
    match (&a, &b) {
        (Bson::DateTime(x), Bson::DateTime(y)) => x
            .timestamp_millis()
            .checked_sub(y.timestamp_millis())
            .map(|d| Some(Bson::Int64(d)))
            .ok_or_else(|| QueryError::new(MongoCode::Overflow, "date overflow in $subtract")),
        (Bson::DateTime(x), other) if Num::of(other).is_some() => {
            let n = Num::of(other).expect("invariant: checked numeric");
            let neg = num::sub(Num::Int(0), n);
            Ok(Some(Bson::DateTime(date_plus(
                x.timestamp_millis(),
                neg,
                "$subtract",
            )?)))
        }
        _ => match (Num::of(&a), Num::of(&b)) {
            (Some(x), Some(y)) => Ok(Some(num::sub(x, y).to_bson())),
            _ => Err(QueryError::location(
                16556,
                format!("can't $subtract {} from {}", type_name(&b), type_name(&a)),
            )),
        },
    }
}

/// Evaluates both arguments of a binary numeric operator: `Ok(None)` when either is nullish,
/// an error `code` "<op> only supports numeric types, not <a> and <b>" when not numbers.
fn two_numbers(c: &Call, ctx: &mut EvalContext<'_>, code: u32) -> Result<Option<(Num, Num)>> {
    let a = c.eval_arg(0, ctx)?;
    let b = c.eval_arg(1, ctx)?;
    if is_nullish(a.as_ref()) || is_nullish(b.as_ref()) {
        return Ok(None);
    }
    match (a.as_ref().and_then(Num::of), b.as_ref().and_then(Num::of)) {
        (Some(x), Some(y)) => Ok(Some((x, y))),
        _ => Err(QueryError::location(
            code,
            format!(
                "{} only supports numeric types, not {} and {}",
                c.name,
                type_name_opt(a.as_ref()),
                type_name_opt(b.as_ref())
            ),
        )),
    }
}

fn eval_divide(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let Some((a, b)) = two_numbers(c, ctx, 16609)? else {
        return null();
    };
    if b.is_zero() {
        return Err(QueryError::bad_value("can't $divide by zero"));
    }
    if a.kind().max(b.kind()) == NumKind::Dec {
        return Ok(Some(Num::Dec(a.dec().quotient(b.dec())).to_bson()));
    }
    Ok(Some(Bson::Double(a.f64() / b.f64())))
}

fn eval_mod(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let Some((a, b)) = two_numbers(c, ctx, 16611)? else {
        return null();
    };
    if b.is_zero() {
        return Err(QueryError::location(16610, "can't $mod by zero"));
    }
    let kind = a.kind().max(b.kind());
    let r = match (a.int(), b.int()) {
        (Some(x), Some(y)) => {
            // i64::MIN % -1 overflows in Rust; mathematically it is 0.
            let m = x.checked_rem(y).unwrap_or(0);
            if kind == NumKind::Int {
                Num::narrow(m)
            } else {
                Num::Long(m)
            }
        }
        _ if kind == NumKind::Dec => {
            let (x, y) = (a.dec(), b.dec());
            Num::Dec(x.minus(y.times(x.quotient(y).round_to(0, Rounding::Trunc))))
        }
        _ => Num::Double(a.f64() % b.f64()),
    };
    Ok(Some(r.to_bson()))
}

fn eval_pow(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let a = c.eval_arg(0, ctx)?;
    let b = c.eval_arg(1, ctx)?;
    if is_nullish(a.as_ref()) || is_nullish(b.as_ref()) {
        return null();
    }
    let base = a.as_ref().and_then(Num::of).ok_or_else(|| {
        QueryError::location(
            28762,
            format!(
                "$pow's base must be numeric, not {}",
                type_name_opt(a.as_ref())
            ),
        )
    })?;
    let exp = b.as_ref().and_then(Num::of).ok_or_else(|| {
        QueryError::location(
            28763,
            format!(
                "$pow's exponent must be numeric, not {}",
                type_name_opt(b.as_ref())
            ),
        )
    })?;
    if base.is_zero() && exp.f64() < 0.0 {
        return Err(QueryError::location(
            28764,
            "$pow cannot take a base of 0 and a negative exponent",
        ));
    }
    let kind = base.kind().max(exp.kind());
    if let (Some(x), Some(e)) = (base.int(), exp.int()) {
        if e < 0 {
            // Only ±1 stay integral under a negative exponent.
            let r = match x {
                1 => Some(1),
                -1 => Some(if e % 2 == 0 { 1 } else { -1 }),
                _ => None,
            };
            if let Some(r) = r {
                return Ok(Some(int_of_kind(kind, r).to_bson()));
            }
            return Ok(Some(Bson::Double((x as f64).powf(e as f64))));
        }
        if let Some(r) = u32::try_from(e).ok().and_then(|e| x.checked_pow(e)) {
            return Ok(Some(int_of_kind(kind, r).to_bson()));
        }
        return Ok(Some(Bson::Double((x as f64).powf(e as f64))));
    }
    Ok(Some(Num::float(kind, base.f64().powf(exp.f64())).to_bson()))
}

/// An integer result: int32 if the inputs were int32 and it fits, else int64.
fn int_of_kind(kind: NumKind, r: i64) -> Num {
    if kind == NumKind::Int {
        Num::narrow(r)
    } else {
        Num::Long(r)
    }
}

fn eval_log(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let a = c.eval_arg(0, ctx)?;
    let b = c.eval_arg(1, ctx)?;
    if is_nullish(a.as_ref()) || is_nullish(b.as_ref()) {
        return null();
    }
    let x = a.as_ref().and_then(Num::of).ok_or_else(|| {
        QueryError::location(
            28756,
            format!(
                "$log's argument must be numeric, not {}",
                type_name_opt(a.as_ref())
            ),
        )
    })?;
    let base = b.as_ref().and_then(Num::of).ok_or_else(|| {
        QueryError::location(
            28757,
            format!(
                "$log's base must be numeric, not {}",
                type_name_opt(b.as_ref())
            ),
        )
    })?;
    if x.f64().is_nan() || x.f64() <= 0.0 {
        return Err(QueryError::location(
            28758,
            format!(
                "$log's argument must be a positive number, but is {}",
                x.f64()
            ),
        ));
    }
    if base.f64().is_nan() || base.f64() <= 0.0 || base.f64() == 1.0 {
        return Err(QueryError::location(
            28759,
            format!(
                "$log's base must be a positive number not equal to 1, but is {}",
                base.f64()
            ),
        ));
    }
    let kind = if x.kind().max(base.kind()) == NumKind::Dec {
        NumKind::Dec
    } else {
        NumKind::Double
    };
    Ok(Some(
        Num::float(kind, x.f64().ln() / base.f64().ln()).to_bson(),
    ))
}

fn eval_unary(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let v = c.eval_arg(0, ctx)?;
    if is_nullish(v.as_ref()) {
        return null();
    }
    let v = v.unwrap_or(Bson::Null);
    let Some(n) = Num::of(&v) else {
        return Err(QueryError::location(
            28765,
            format!(
                "{} only supports numeric types, not {}",
                c.name,
                type_name(&v)
            ),
        ));
    };
    let float_kind = if n.kind() == NumKind::Dec {
        NumKind::Dec
    } else {
        NumKind::Double
    };
    let x = n.f64();
    let r =
        match c.name {
            "$abs" => match n {
                Num::Int(i) => Num::narrow(i64::from(i).abs()),
                Num::Long(i) => Num::Long(i.checked_abs().ok_or_else(|| {
                    QueryError::location(28680, "can't take $abs of long long min")
                })?),
                Num::Double(d) => Num::Double(d.abs()),
                Num::Dec(d) => Num::Dec(d.abs()),
            },
            "$ceil" | "$floor" => match n {
                Num::Int(_) | Num::Long(_) => n,
                Num::Double(d) => Num::Double(if c.name == "$ceil" {
                    d.ceil()
                } else {
                    d.floor()
                }),
                Num::Dec(d) => Num::Dec(d.round_to(
                    0,
                    if c.name == "$ceil" {
                        Rounding::Ceil
                    } else {
                        Rounding::Floor
                    },
                )),
            },
            "$sqrt" => {
                if x < 0.0 {
                    return Err(QueryError::location(
                        28714,
                        "$sqrt's argument must be greater than or equal to 0",
                    ));
                }
                Num::float(float_kind, x.sqrt())
            }
            "$exp" => Num::float(float_kind, x.exp()),
            "$ln" | "$log10" => {
                if x <= 0.0 {
                    let code = if c.name == "$ln" { 28766 } else { 28761 };
                    return Err(QueryError::location(
                        code,
                        format!(
                            "{}'s argument must be a positive number, but is {}",
                            c.name, x
                        ),
                    ));
                }
                Num::float(float_kind, if c.name == "$ln" { x.ln() } else { x.log10() })
            }
            other => return Err(super::operators::unrecognized(other)),
        };
    Ok(Some(r.to_bson()))
}

/// `$round`/`$trunc` precision bounds (MongoDB's).
const MIN_PLACE: i64 = -20;
/// See [`MIN_PLACE`].
const MAX_PLACE: i64 = 100;

fn eval_round(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let v = c.eval_arg(0, ctx)?;
    let place = if c.has(1) {
        let p = c.eval_arg(1, ctx)?;
        if is_nullish(p.as_ref()) {
            return null();
        }
        let p = p.unwrap_or(Bson::Null);
        let Some(pi) = Num::of(&p).and_then(Num::exact_i64) else {
            return Err(QueryError::location(
                16621,
                format!(
                    "{} requires \"place\" argument to be an integral value, found {}",
                    c.name,
                    super::operators::show(&p)
                ),
            ));
        };
        if !(MIN_PLACE..=MAX_PLACE).contains(&pi) {
            return Err(QueryError::location(
                16621,
                format!(
                    "cannot apply {} with precision value {pi} value must be in [{MIN_PLACE}, {MAX_PLACE}]",
                    c.name
                ),
            ));
        }
        pi
    } else {
        0
    };
    if is_nullish(v.as_ref()) {
        return null();
    }
    let v = v.unwrap_or(Bson::Null);
    let Some(n) = Num::of(&v) else {
        return Err(QueryError::location(
            51081,
            format!(
                "{} only supports numeric types, not {}",
                c.name,
                type_name(&v)
            ),
        ));
    };
    let half_even = c.name == "$round";
    let r = match n {
        Num::Int(_) | Num::Long(_) => {
            let i = n.int().expect("invariant: integer");
            let r = round_int(i, place, half_even);
            match (n, r) {
                (Num::Int(_), Some(r)) => Num::narrow(r),
                (_, Some(r)) => Num::Long(r),
                (_, None) => Num::Double(round_f64(i as f64, place, half_even)),
            }
        }
        Num::Double(d) => Num::Double(round_f64(d, place, half_even)),
        Num::Dec(d) => Num::Dec(d.round_to(
            i32::try_from(place).unwrap_or(0),
            if half_even {
                Rounding::HalfEven
            } else {
                Rounding::Trunc
            },
        )),
    };
    Ok(Some(r.to_bson()))
}

/// Rounds an integer to `10^-place` (only negative places change it); `None` on overflow.
fn round_int(i: i64, place: i64, half_even: bool) -> Option<i64> {
    if place >= 0 {
        return Some(i);
    }
    let unit = 10i128.checked_pow(u32::try_from(-place).ok()?)?;
    let x = i128::from(i);
    let (q, r) = (x / unit, x % unit);
    let q = if half_even {
        let twice = r.abs() * 2;
        if twice > unit || (twice == unit && q % 2 != 0) {
            q + x.signum()
        } else {
            q
        }
    } else {
        q
    };
    i64::try_from(q * unit).ok()
}

/// Rounds (half to even) or truncates `d` to `place` decimal places, working on its 15
/// significant decimal digits as MongoDB does (so `$round: [2.675, 2]` is 2.68).
fn round_f64(d: f64, place: i64, half_even: bool) -> f64 {
    if !d.is_finite() || d == 0.0 {
        return d;
    }
    let s = format!("{:.14e}", d.abs());
    let Some((mant, exp)) = s.split_once('e') else {
        return d;
    };
    let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    let (Ok(digits), Ok(exp)) = (digits.parse::<i128>(), exp.parse::<i64>()) else {
        return d;
    };
    // value = digits * 10^(exp - 14)
    let scale = exp - 14;
    if scale >= -place {
        return d;
    }
    let drop = -place - scale;
    let q = if drop > 16 {
        0
    } else {
        let unit = 10i128.pow(u32::try_from(drop).unwrap_or(0));
        let (q, r) = (digits / unit, digits % unit);
        let twice = r * 2;
        if half_even && (twice > unit || (twice == unit && q % 2 != 0)) {
            q + 1
        } else {
            q
        }
    };
    let out: f64 = format!("{q}e{}", -place).parse().unwrap_or(d);
    if d < 0.0 { -out } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_helpers() {
        assert_eq!(round_f64(10.5, 0, true), 10.0);
        assert_eq!(round_f64(11.5, 0, true), 12.0);
        assert_eq!(round_f64(-11.5, 0, true), -12.0);
        assert_eq!(round_f64(5.359, 2, true), 5.36);
        assert_eq!(round_f64(5.359, 2, false), 5.35);
        assert_eq!(round_f64(19.25, -1, true), 20.0);
        assert_eq!(round_f64(0.0001, 2, true), 0.0);
        assert_eq!(round_int(1234, -2, true), Some(1200));
        assert_eq!(round_int(1250, -2, true), Some(1200));
        assert_eq!(round_int(1350, -2, true), Some(1400));
        assert_eq!(round_int(-1299, -2, false), Some(-1200));
    }
}
