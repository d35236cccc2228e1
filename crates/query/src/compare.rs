//! MongoDB's total order over BSON values ("BSON comparison order").
//!
//! Values of different types compare by their canonical type rank (MinKey < null < numbers <
//! strings < objects < arrays < binary < ObjectId < bool < date < timestamp < regex < … <
//! MaxKey); numbers of all four numeric types compare by value (`1 == 1.0 == 1L`); documents and
//! arrays compare element by element (type rank, then field name, then value); NaN equals NaN
//! and sorts below every other number. Strings compare by bytes (the "simple" collation).
//!
//! Invariant: [`compare`] is a total order consistent with [`values_equal`], and the index key
//! encoding of `docstore` sorts byte-wise exactly as [`compare`] does.
//!
//! Known deviation: Decimal128 values are compared through their nearest `f64`, so two decimals
//! that differ beyond the 16th significant digit compare equal.

use std::cmp::Ordering;

use bson::{Bson, Document, spec::BinarySubtype};

/// Canonical type rank of a value in MongoDB's comparison order. Numbers share one rank, as do
/// string and symbol; `Undefined` sorts just below null.
pub fn type_rank(v: &Bson) -> u8 {
    match v {
        Bson::MinKey => 0,
        Bson::Undefined => 1,
        Bson::Null => 2,
        Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) | Bson::Decimal128(_) => 3,
        Bson::String(_) | Bson::Symbol(_) => 4,
        Bson::Document(_) => 5,
        Bson::Array(_) => 6,
        Bson::Binary(_) => 7,
        Bson::ObjectId(_) => 8,
        Bson::Boolean(_) => 9,
        Bson::DateTime(_) => 10,
        Bson::Timestamp(_) => 11,
        Bson::RegularExpression(_) => 12,
        Bson::DbPointer(_) => 13,
        Bson::JavaScriptCode(_) => 14,
        Bson::JavaScriptCodeWithScope(_) => 15,
        Bson::MaxKey => 16,
    }
}

/// A numeric value of any BSON numeric type, for cross-type comparison and arithmetic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    /// Int32 or Int64.
    Int(i64),
    /// Double.
    Double(f64),
    /// Decimal128, approximated as the nearest double (see the module docs).
    Decimal(f64),
}

impl Number {
    /// The numeric value of `v`, if it is a number.
    pub fn of(v: &Bson) -> Option<Number> {
        match v {
            Bson::Int32(i) => Some(Number::Int(i64::from(*i))),
            Bson::Int64(i) => Some(Number::Int(*i)),
            Bson::Double(d) => Some(Number::Double(*d)),
            Bson::Decimal128(d) => Some(Number::Decimal(decimal_to_f64(d))),
            _ => None,
        }
    }

    /// The value as a double (lossy for large integers).
    pub fn as_f64(self) -> f64 {
        match self {
            Number::Int(i) => i as f64,
            Number::Double(d) | Number::Decimal(d) => d,
        }
    }
}

/// The nearest `f64` of a Decimal128 (NaN for NaN, ±inf for infinities).
pub fn decimal_to_f64(d: &bson::Decimal128) -> f64 {
    let s = d.to_string();
    match s.as_str() {
        "NaN" | "-NaN" => f64::NAN,
        "Infinity" => f64::INFINITY,
        "-Infinity" => f64::NEG_INFINITY,
        _ => s.parse::<f64>().unwrap_or(f64::NAN),
    }
}

/// Compares two numbers by value; NaN equals NaN and is below every other number.
pub fn compare_numbers(a: Number, b: Number) -> Ordering {
    match (a, b) {
        (Number::Int(x), Number::Int(y)) => x.cmp(&y),
        (Number::Int(x), Number::Double(y) | Number::Decimal(y)) => compare_int_double(x, y),
        (Number::Double(x) | Number::Decimal(x), Number::Int(y)) => {
            compare_int_double(y, x).reverse()
        }
        (Number::Double(x) | Number::Decimal(x), Number::Double(y) | Number::Decimal(y)) => {
            compare_doubles(x, y)
        }
    }
}

fn compare_doubles(x: f64, y: f64) -> Ordering {
    match (x.is_nan(), y.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
    }
}

/// Exact comparison of an integer with a double (no rounding of the integer).
fn compare_int_double(i: i64, d: f64) -> Ordering {
    if d.is_nan() {
        return Ordering::Greater;
    }
    // 2^63 as f64 is exact; every i64 is below it.
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if d >= TWO_63 {
        return Ordering::Less;
    }
    if d < -TWO_63 {
        return Ordering::Greater;
    }
    let t = d.trunc();
    // `t` lies in [-2^63, 2^63), so the cast is exact.
    let ti = t as i64;
    match i.cmp(&ti) {
        Ordering::Equal => {
            let frac = d - t;
            if frac > 0.0 {
                Ordering::Less
            } else if frac < 0.0 {
                Ordering::Greater
            } else {
                Ordering::Equal
            }
        }
        o => o,
    }
}

/// MongoDB's total order over BSON values.
pub fn compare(a: &Bson, b: &Bson) -> Ordering {
    let (ra, rb) = (type_rank(a), type_rank(b));
    if ra != rb {
        return ra.cmp(&rb);
    }
    match (a, b) {
        (Bson::String(x) | Bson::Symbol(x), Bson::String(y) | Bson::Symbol(y)) => x.cmp(y),
        (Bson::Document(x), Bson::Document(y)) => compare_documents(x, y),
        (Bson::Array(x), Bson::Array(y)) => compare_arrays(x, y),
        (Bson::Binary(x), Bson::Binary(y)) => x
            .bytes
            .len()
            .cmp(&y.bytes.len())
            .then_with(|| subtype_byte(x.subtype).cmp(&subtype_byte(y.subtype)))
            .then_with(|| x.bytes.cmp(&y.bytes)),
        (Bson::ObjectId(x), Bson::ObjectId(y)) => x.bytes().cmp(&y.bytes()),
        (Bson::Boolean(x), Bson::Boolean(y)) => x.cmp(y),
        (Bson::DateTime(x), Bson::DateTime(y)) => x.timestamp_millis().cmp(&y.timestamp_millis()),
        (Bson::Timestamp(x), Bson::Timestamp(y)) => x
            .time
            .cmp(&y.time)
            .then_with(|| x.increment.cmp(&y.increment)),
        (Bson::RegularExpression(x), Bson::RegularExpression(y)) => x
            .pattern
            .cmp(&y.pattern)
            .then_with(|| x.options.cmp(&y.options)),
        (Bson::DbPointer(_), Bson::DbPointer(_)) => {
            // The bson crate keeps DbPointer fields private; compare their EJSON forms.
            a.clone()
                .into_canonical_extjson()
                .to_string()
                .cmp(&b.clone().into_canonical_extjson().to_string())
        }
        (Bson::JavaScriptCode(x), Bson::JavaScriptCode(y)) => x.cmp(y),
        (Bson::JavaScriptCodeWithScope(x), Bson::JavaScriptCodeWithScope(y)) => x
            .code
            .cmp(&y.code)
            .then_with(|| compare_documents(&x.scope, &y.scope)),
        _ => match (Number::of(a), Number::of(b)) {
            (Some(x), Some(y)) => compare_numbers(x, y),
            // Same rank and not numbers: MinKey, MaxKey, Null, Undefined.
            _ => Ordering::Equal,
        },
    }
}

fn subtype_byte(s: BinarySubtype) -> u8 {
    u8::from(s)
}

/// Compares two documents element by element: type rank, then field name, then value; a
/// document that is a prefix of the other is smaller.
pub fn compare_documents(x: &Document, y: &Document) -> Ordering {
    let mut ix = x.iter();
    let mut iy = y.iter();
    loop {
        match (ix.next(), iy.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some((kx, vx)), Some((ky, vy))) => {
                let o = type_rank(vx)
                    .cmp(&type_rank(vy))
                    .then_with(|| kx.cmp(ky))
                    .then_with(|| compare(vx, vy));
                if o != Ordering::Equal {
                    return o;
                }
            }
        }
    }
}

/// Compares two arrays element by element; a prefix is smaller.
pub fn compare_arrays(x: &[Bson], y: &[Bson]) -> Ordering {
    for (a, b) in x.iter().zip(y.iter()) {
        let o = compare(a, b);
        if o != Ordering::Equal {
            return o;
        }
    }
    x.len().cmp(&y.len())
}

/// Equality under MongoDB's rules (numbers by value, documents by ordered fields).
pub fn values_equal(a: &Bson, b: &Bson) -> bool {
    compare(a, b) == Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::{bson, oid::ObjectId};

    #[test]
    fn type_order_across_types() {
        let ordered = [
            Bson::MinKey,
            Bson::Null,
            bson!(-5),
            bson!(1.5),
            bson!("a"),
            bson!({"a": 1}),
            bson!([1]),
            Bson::Binary(bson::Binary {
                subtype: BinarySubtype::Generic,
                bytes: vec![1],
            }),
            Bson::ObjectId(ObjectId::new()),
            bson!(false),
            Bson::DateTime(bson::DateTime::from_millis(0)),
            Bson::MaxKey,
        ];
        for w in ordered.windows(2) {
            assert_eq!(
                compare(&w[0], &w[1]),
                Ordering::Less,
                "{:?} < {:?}",
                w[0],
                w[1]
            );
            assert_eq!(compare(&w[1], &w[0]), Ordering::Greater);
        }
    }

    #[test]
    fn numbers_compare_by_value_across_types() {
        assert!(values_equal(&Bson::Int32(1), &Bson::Double(1.0)));
        assert!(values_equal(&Bson::Int64(1), &Bson::Int32(1)));
        let dec: bson::Decimal128 = "1.0".parse().expect("decimal");
        assert!(values_equal(&Bson::Decimal128(dec), &Bson::Int32(1)));
        assert_eq!(
            compare(&Bson::Int64(i64::MAX), &Bson::Double(9.3e18)),
            Ordering::Less
        );
        assert_eq!(compare(&Bson::Int64(3), &Bson::Double(3.5)), Ordering::Less);
        assert_eq!(
            compare(&Bson::Int64(-3), &Bson::Double(-3.5)),
            Ordering::Greater
        );
        assert_eq!(
            compare(&Bson::Double(f64::NAN), &Bson::Int32(i32::MIN)),
            Ordering::Less
        );
        assert!(values_equal(
            &Bson::Double(f64::NAN),
            &Bson::Double(f64::NAN)
        ));
    }

    #[test]
    fn documents_compare_field_by_field() {
        assert_eq!(
            compare(&bson!({"a": 1}), &bson!({"a": 1, "b": 0})),
            Ordering::Less
        );
        assert_eq!(compare(&bson!({"a": 2}), &bson!({"b": 1})), Ordering::Less);
        assert!(values_equal(&bson!({"a": 1}), &bson!({"a": 1.0})));
        assert!(!values_equal(
            &bson!({"a": 1, "b": 2}),
            &bson!({"b": 2, "a": 1})
        ));
        assert_eq!(compare(&bson!([1, 2]), &bson!([1, 3])), Ordering::Less);
        assert_eq!(compare(&bson!([1]), &bson!([1, 0])), Ordering::Less);
    }
}
