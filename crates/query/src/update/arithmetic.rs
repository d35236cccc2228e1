//! Arithmetic and comparison operators: `$inc`, `$mul`, `$min`, `$max`, `$bit`.
//!
//! Numeric type rules follow MongoDB's `SafeNum`:
//! - int32 ∘ int32 yields int32, or int64 when the result does not fit in 32 bits;
//! - any int64 operand (and no double/decimal) yields int64; an int64 overflow is an error
//!   (`BadValue` "Failed to apply $inc operations to current value ((NumberLong)…) for
//!   document {_id: …}"), never a silent wrap or a switch to double;
//! - any double operand (and no decimal) yields a double;
//! - any Decimal128 operand yields a Decimal128.
//!
//! Known deviation: Decimal128 arithmetic goes through the nearest `f64` (as
//! [`crate::compare`] does), so results keep at most ~16 significant digits.
//!
//! A missing field is created: `$inc` sets the increment itself, `$mul` sets a zero of the
//! multiplier's type. `$min`/`$max` compare with MongoDB's BSON order and replace the value
//! only when the new one is strictly smaller/greater.

use bson::{Bson, Decimal128, Document};

use super::apply::LeafCtx;
use super::path;
use super::render;
use crate::compare::{Number, compare, decimal_to_f64};
use crate::error::{QueryError, Result};

/// `$inc` or `$mul`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArithKind {
    /// `$inc`.
    Inc,
    /// `$mul`.
    Mul,
}

impl ArithKind {
    fn name(self) -> &'static str {
        match self {
            ArithKind::Inc => "$inc",
            ArithKind::Mul => "$mul",
        }
    }
}

/// A bitwise operation of `$bit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BitOp {
    /// `and`.
    And,
    /// `or`.
    Or,
    /// `xor`.
    Xor,
}

/// Checks the operand of `$inc`/`$mul` is a number.
pub(crate) fn parse_arith(kind: ArithKind, field: &str, v: &Bson) -> Result<Bson> {
    if Number::of(v).is_none() {
        let verb = match kind {
            ArithKind::Inc => "increment",
            ArithKind::Mul => "multiply",
        };
        return Err(QueryError::type_mismatch(format!(
            "Cannot {verb} with non-numeric argument: {{{}}}",
            render::element(field, v)
        )));
    }
    Ok(v.clone())
}

/// Parses `$bit: {field: {and|or|xor: <int>}}`.
pub(crate) fn parse_bit(v: &Bson) -> Result<Vec<(BitOp, Bson)>> {
    let Bson::Document(d) = v else {
        return Err(QueryError::bad_value(format!(
            "The $bit modifier is not compatible with a {}. You must pass in an embedded document: {{$bit: {{field: {{and/or/xor: #}}}}",
            render::type_name(v)
        )));
    };
    if d.is_empty() {
        return Err(QueryError::bad_value(
            "You must pass in at least one bitwise operation. The format is: {$bit: {field: {and/or/xor: #}}",
        ));
    }
    let mut ops = Vec::with_capacity(d.len());
    for (k, x) in d {
        let op = match k.as_str() {
            "and" => BitOp::And,
            "or" => BitOp::Or,
            "xor" => BitOp::Xor,
            _ => {
                return Err(QueryError::bad_value(format!(
                    "The $bit modifier only supports 'and', 'or', and 'xor', not '{k}' which is an unknown operator: {{{}}}",
                    render::element(k, x)
                )));
            }
        };
        if !matches!(x, Bson::Int32(_) | Bson::Int64(_)) {
            return Err(QueryError::bad_value(format!(
                "The $bit modifier field must be an Integer(32/64 bit); a '{}' is not supported here: {{{}}}",
                render::type_name(x),
                render::element(k, x)
            )));
        }
        ops.push((op, x.clone()));
    }
    Ok(ops)
}

/// `$inc`/`$mul` at a concrete path.
pub(crate) fn apply_arith(
    doc: &mut Document,
    p: &[String],
    kind: ArithKind,
    operand: &Bson,
    lc: &LeafCtx<'_>,
) -> Result<()> {
    let new = match path::get(doc, p) {
        None => match kind {
            ArithKind::Inc => operand.clone(),
            ArithKind::Mul => zero_like(operand),
        },
        Some(cur) => {
            if Number::of(cur).is_none() {
                return Err(QueryError::type_mismatch(format!(
                    "Cannot apply {} to a value of non-numeric type. {} has the field '{}' of non-numeric type {}",
                    kind.name(),
                    render::id_of(lc.original),
                    p.last().map(String::as_str).unwrap_or_default(),
                    render::type_name(cur)
                )));
            }
            match arith(kind, cur, operand) {
                Some(v) => v,
                None => {
                    return Err(QueryError::bad_value(format!(
                        "Failed to apply {} operations to current value ({}) for document {}",
                        kind.name(),
                        debug_number(cur),
                        render::id_or_no_id(lc.original)
                    )));
                }
            }
        }
    };
    super::fields::apply_set(doc, p, &new)
}

/// `$min` (`is_min`) or `$max` at a concrete path.
pub(crate) fn apply_min_max(
    doc: &mut Document,
    p: &[String],
    is_min: bool,
    value: &Bson,
) -> Result<()> {
    let replace = match path::get(doc, p) {
        None => true,
        Some(cur) => {
            let o = compare(value, cur);
            if is_min { o.is_lt() } else { o.is_gt() }
        }
    };
    if replace {
        path::set(doc, p, value.clone())
    } else {
        Ok(())
    }
}

/// `$bit` at a concrete path.
pub(crate) fn apply_bit(
    doc: &mut Document,
    p: &[String],
    ops: &[(BitOp, Bson)],
    lc: &LeafCtx<'_>,
) -> Result<()> {
    let mut cur = match path::get(doc, p) {
        None => Bson::Int32(0),
        Some(v @ (Bson::Int32(_) | Bson::Int64(_))) => v.clone(),
        Some(other) => {
            return Err(QueryError::bad_value(format!(
                "Cannot apply $bit to a value of non-integral type.{} has the field {} of non-integer type {}",
                lc.original
                    .get("_id")
                    .map(|id| render::element("_id", id))
                    .unwrap_or_default(),
                p.last().map(String::as_str).unwrap_or_default(),
                render::type_name(other)
            )));
        }
    };
    for (op, operand) in ops {
        cur = bit(*op, &cur, operand);
    }
    super::fields::apply_set(doc, p, &cur)
}

fn bit(op: BitOp, a: &Bson, b: &Bson) -> Bson {
    let f = |x: i64, y: i64| match op {
        BitOp::And => x & y,
        BitOp::Or => x | y,
        BitOp::Xor => x ^ y,
    };
    match (a, b) {
        (Bson::Int32(x), Bson::Int32(y)) => Bson::Int32(f(i64::from(*x), i64::from(*y)) as i32),
        _ => {
            let x = Number::of(a).map_or(0, int_of);
            let y = Number::of(b).map_or(0, int_of);
            Bson::Int64(f(x, y))
        }
    }
}

fn int_of(n: Number) -> i64 {
    match n {
        Number::Int(i) => i,
        Number::Double(d) | Number::Decimal(d) => d as i64,
    }
}

/// A zero of the same numeric type as `v`.
fn zero_like(v: &Bson) -> Bson {
    match v {
        Bson::Int64(_) => Bson::Int64(0),
        Bson::Double(_) => Bson::Double(0.0),
        Bson::Decimal128(_) => Bson::Decimal128(decimal_from_f64(0.0)),
        _ => Bson::Int32(0),
    }
}

/// `cur ∘ operand` with MongoDB's type promotion; `None` on int64 overflow.
pub(crate) fn arith(kind: ArithKind, cur: &Bson, operand: &Bson) -> Option<Bson> {
    let fop = |x: f64, y: f64| match kind {
        ArithKind::Inc => x + y,
        ArithKind::Mul => x * y,
    };
    let iop = |x: i64, y: i64| match kind {
        ArithKind::Inc => x.checked_add(y),
        ArithKind::Mul => x.checked_mul(y),
    };
    match (cur, operand) {
        (Bson::Decimal128(_), _) | (_, Bson::Decimal128(_)) => {
            let x = Number::of(cur)?.as_f64();
            let y = Number::of(operand)?.as_f64();
            Some(Bson::Decimal128(decimal_from_f64(fop(x, y))))
        }
        (Bson::Double(_), _) | (_, Bson::Double(_)) => {
            let x = Number::of(cur)?.as_f64();
            let y = Number::of(operand)?.as_f64();
            Some(Bson::Double(fop(x, y)))
        }
        (Bson::Int32(x), Bson::Int32(y)) => {
            let r = iop(i64::from(*x), i64::from(*y))?;
            Some(match i32::try_from(r) {
                Ok(small) => Bson::Int32(small),
                Err(_) => Bson::Int64(r),
            })
        }
        _ => {
            let Number::Int(x) = Number::of(cur)? else {
                return None;
            };
            let Number::Int(y) = Number::of(operand)? else {
                return None;
            };
            iop(x, y).map(Bson::Int64)
        }
    }
}

/// A Decimal128 holding the nearest value of `d` (see the module docs' known deviation).
pub(crate) fn decimal_from_f64(d: f64) -> Decimal128 {
    let s = if d.is_nan() {
        "NaN".to_string()
    } else if d.is_infinite() {
        if d > 0.0 { "Infinity" } else { "-Infinity" }.to_string()
    } else {
        format!("{d:e}")
    };
    s.parse::<Decimal128>()
        .or_else(|_| "NaN".parse::<Decimal128>())
        .unwrap_or_else(|_| Decimal128::from_bytes([0; 16]))
}

fn debug_number(v: &Bson) -> String {
    match v {
        Bson::Int32(i) => format!("(NumberInt){i}"),
        Bson::Int64(i) => format!("(NumberLong){i}"),
        Bson::Double(d) => format!("(NumberDouble){d}"),
        Bson::Decimal128(d) => format!("(NumberDecimal){}", decimal_to_f64(d)),
        other => render::value(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promotion_rules() {
        let inc = |a: Bson, b: Bson| arith(ArithKind::Inc, &a, &b);
        assert_eq!(inc(Bson::Int32(1), Bson::Int32(2)), Some(Bson::Int32(3)));
        assert_eq!(
            inc(Bson::Int32(i32::MAX), Bson::Int32(1)),
            Some(Bson::Int64(i64::from(i32::MAX) + 1))
        );
        assert_eq!(inc(Bson::Int64(1), Bson::Int32(2)), Some(Bson::Int64(3)));
        assert_eq!(inc(Bson::Int64(i64::MAX), Bson::Int32(1)), None);
        assert_eq!(
            inc(Bson::Int32(1), Bson::Double(0.5)),
            Some(Bson::Double(1.5))
        );
        let mul = |a: Bson, b: Bson| arith(ArithKind::Mul, &a, &b);
        assert_eq!(
            mul(Bson::Int32(65536), Bson::Int32(65536)),
            Some(Bson::Int64(4_294_967_296))
        );
        assert_eq!(mul(Bson::Int64(i64::MAX), Bson::Int64(2)), None);
        let d = inc(Bson::Decimal128(decimal_from_f64(1.5)), Bson::Int32(1));
        match d {
            Some(Bson::Decimal128(x)) => assert_eq!(decimal_to_f64(&x), 2.5),
            other => panic!("expected decimal, got {other:?}"),
        }
    }

    #[test]
    fn decimal_conversion_round_trips_common_values() {
        for v in [0.0, 1.0, -2.5, 1e300, 1e-300, 123456.789] {
            assert_eq!(decimal_to_f64(&decimal_from_f64(v)), v);
        }
        assert!(decimal_to_f64(&decimal_from_f64(f64::NAN)).is_nan());
    }
}
