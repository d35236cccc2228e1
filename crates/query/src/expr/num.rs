//! Numeric values of expressions with MongoDB's type promotion (int32 → int64 → double →
//! decimal) and checked integer arithmetic (an int32 overflow widens to int64, an int64 overflow
//! to double).
//!
//! Decimal128 operands use exact decimal arithmetic (`decimal.rs`) for `+ - * /` and rounding;
//! transcendental functions (`$sqrt`, `$ln`, `$pow` …) on decimals go through `f64` (a
//! documented deviation: ~16 significant digits), and a double mixed with a decimal enters
//! as its shortest round-trip decimal digits.

use bson::{Bson, Decimal128};

use super::decimal::Dec;

/// A numeric expression value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    /// int32.
    Int(i32),
    /// int64.
    Long(i64),
    /// double.
    Double(f64),
    /// Decimal128.
    Dec(Dec),
}

/// The widest type among the operands decides the result type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NumKind {
    /// int32.
    Int,
    /// int64.
    Long,
    /// double.
    Double,
    /// Decimal128.
    Dec,
}

impl Num {
    /// The number in `v`, if it is numeric.
    pub fn of(v: &Bson) -> Option<Num> {
        match v {
            Bson::Int32(i) => Some(Num::Int(*i)),
            Bson::Int64(i) => Some(Num::Long(*i)),
            Bson::Double(d) => Some(Num::Double(*d)),
            Bson::Decimal128(d) => Some(Num::Dec(Dec::from_decimal128(d))),
            _ => None,
        }
    }

    /// The type of the number.
    pub fn kind(self) -> NumKind {
        match self {
            Num::Int(_) => NumKind::Int,
            Num::Long(_) => NumKind::Long,
            Num::Double(_) => NumKind::Double,
            Num::Dec(_) => NumKind::Dec,
        }
    }

    /// As a double (lossy above 2^53).
    pub fn f64(self) -> f64 {
        match self {
            Num::Int(i) => f64::from(i),
            Num::Long(i) => i as f64,
            Num::Double(d) => d,
            Num::Dec(d) => d.to_f64(),
        }
    }

    /// As a decimal (exact for integers and decimals).
    pub fn dec(self) -> Dec {
        match self {
            Num::Int(i) => Dec::from_i64(i64::from(i)),
            Num::Long(i) => Dec::from_i64(i),
            Num::Double(d) => Dec::from_f64(d),
            Num::Dec(d) => d,
        }
    }

    /// As an integer if the type is int32 or int64.
    pub fn int(self) -> Option<i64> {
        match self {
            Num::Int(i) => Some(i64::from(i)),
            Num::Long(i) => Some(i),
            Num::Double(_) | Num::Dec(_) => None,
        }
    }

    /// The number as an integer if it has an exact integral value representable as i64.
    pub fn exact_i64(self) -> Option<i64> {
        match self {
            Num::Int(i) => Some(i64::from(i)),
            Num::Long(i) => Some(i),
            Num::Double(d) => f64_to_i64_exact(d),
            Num::Dec(d) => f64_to_i64_exact(d.to_f64()),
        }
    }

    /// Whether the value is zero.
    pub fn is_zero(self) -> bool {
        match self {
            Num::Dec(d) => d.is_zero(),
            _ => self.f64() == 0.0,
        }
    }

    /// The BSON value.
    pub fn to_bson(self) -> Bson {
        match self {
            Num::Int(i) => Bson::Int32(i),
            Num::Long(i) => Bson::Int64(i),
            // One NaN: the sign of a NaN is not observable in MongoDB.
            Num::Double(d) if d.is_nan() => Bson::Double(f64::NAN),
            Num::Double(d) => Bson::Double(d),
            Num::Dec(d) => Bson::Decimal128(d.to_decimal128()),
        }
    }

    /// An integer of the narrowest type that holds it (int32, else int64).
    pub fn narrow(i: i64) -> Num {
        match i32::try_from(i) {
            Ok(x) => Num::Int(x),
            Err(_) => Num::Long(i),
        }
    }

    /// A float result of kind `k` (double unless `k` is decimal).
    pub fn float(k: NumKind, d: f64) -> Num {
        if k == NumKind::Dec {
            Num::Dec(Dec::from_f64(d))
        } else {
            Num::Double(d)
        }
    }
}

/// `i` if `d` is integral and inside the i64 range.
pub fn f64_to_i64_exact(d: f64) -> Option<i64> {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if d.is_finite() && d.fract() == 0.0 && (-TWO_63..TWO_63).contains(&d) {
        Some(d as i64)
    } else {
        None
    }
}

/// A Decimal128 holding the shortest round-trip digits of `d`.
pub fn dec_from_f64(d: f64) -> Decimal128 {
    let s = if d.is_nan() {
        "NaN".to_string()
    } else if d.is_infinite() {
        if d > 0.0 { "Infinity" } else { "-Infinity" }.to_string()
    } else if d == d.trunc() && d.abs() < 1e15 {
        // Integral values print without an exponent ("3" rather than "3E+0").
        format!("{d:.0}")
    } else {
        format!("{d:e}")
    };
    s.parse().unwrap_or_else(|_| {
        "NaN"
            .parse()
            .expect("invariant: NaN is a valid Decimal128 literal")
    })
}

/// A Decimal128 from an i64 (exact).
pub fn dec_from_i64(i: i64) -> Decimal128 {
    i.to_string()
        .parse()
        .expect("invariant: an i64 prints as a valid Decimal128 literal")
}

/// Binary operation with promotion: integers use the checked op (int32 overflow widens to
/// int64, int64 overflow to double), floats use `float_op`.
pub fn binary(
    a: Num,
    b: Num,
    int_op: fn(i64, i64) -> Option<i64>,
    float_op: fn(f64, f64) -> f64,
    dec_op: fn(Dec, Dec) -> Dec,
) -> Num {
    let kind = a.kind().max(b.kind());
    match kind {
        NumKind::Int | NumKind::Long => {
            let (x, y) = (
                a.int().expect("invariant: integer kind"),
                b.int().expect("invariant: integer kind"),
            );
            match int_op(x, y) {
                Some(r) if kind == NumKind::Int => Num::narrow(r),
                Some(r) => Num::Long(r),
                None => Num::Double(float_op(a.f64(), b.f64())),
            }
        }
        NumKind::Double => Num::Double(float_op(a.f64(), b.f64())),
        NumKind::Dec => Num::Dec(dec_op(a.dec(), b.dec())),
    }
}

/// `a + b` with promotion.
pub fn add(a: Num, b: Num) -> Num {
    binary(a, b, i64::checked_add, |x, y| x + y, Dec::plus)
}

/// `a - b` with promotion.
pub fn sub(a: Num, b: Num) -> Num {
    binary(a, b, i64::checked_sub, |x, y| x - y, Dec::minus)
}

/// `a * b` with promotion.
pub fn mul(a: Num, b: Num) -> Num {
    binary(a, b, i64::checked_mul, |x, y| x * y, Dec::times)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promotion_and_overflow() {
        assert_eq!(add(Num::Int(1), Num::Int(2)), Num::Int(3));
        assert_eq!(add(Num::Int(i32::MAX), Num::Int(1)), Num::Long(1 << 31));
        assert_eq!(add(Num::Long(1), Num::Int(2)), Num::Long(3));
        assert_eq!(
            add(Num::Long(i64::MAX), Num::Int(1)),
            Num::Double(9_223_372_036_854_775_808.0)
        );
        assert_eq!(mul(Num::Int(2), Num::Double(1.5)), Num::Double(3.0));
        assert_eq!(
            sub(Num::Dec(Dec::from_f64(2.5)), Num::Int(1)).to_bson(),
            Bson::Decimal128("1.5".parse().expect("decimal"))
        );
    }

    #[test]
    fn decimal_from_double_keeps_short_digits() {
        assert_eq!(dec_from_f64(2.5).to_string(), "2.5");
        assert_eq!(dec_from_f64(3.0).to_string(), "3");
        assert_eq!(dec_from_f64(1e300).to_string(), "1E+300");
        assert_eq!(dec_from_f64(f64::NAN).to_string(), "NaN");
        assert_eq!(dec_from_f64(-0.125).to_string(), "-0.125");
        assert_eq!(dec_from_i64(-42).to_string(), "-42");
    }
}
