//! Bitwise query operators `$bitsAllSet`, `$bitsAllClear`, `$bitsAnySet`, `$bitsAnyClear`.
//!
//! The operand is a non-negative integral number (a bitmask), an array of bit positions, or
//! BinData (a little-endian bitmask); it is normalised to a list of bit positions at parse
//! time. Values match when they are integral numbers representable as a 64-bit integer
//! (negative numbers in two's complement, sign-extended beyond bit 63) or BinData (bits beyond
//! the data are clear); other types never match.

use bson::Bson;

use crate::compare::Number;
use crate::error::{QueryError, Result};

/// Largest bit position accepted in an operand array (positions address up to a 16 MiB value).
pub const MAX_BIT_POSITION: u64 = 16 * 1024 * 1024 * 8;

/// Which bitwise test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BitsOp {
    /// Every position is set.
    AllSet,
    /// Every position is clear.
    AllClear,
    /// Some position is set.
    AnySet,
    /// Some position is clear.
    AnyClear,
}

/// A parsed bitwise test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BitsTest {
    op: BitsOp,
    positions: Vec<u64>,
}

impl BitsTest {
    /// Parses the operand of `name`.
    pub(crate) fn parse(name: &str, op: BitsOp, arg: &Bson) -> Result<BitsTest> {
        let positions = match arg {
            Bson::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    let p = integral(item).ok_or_else(|| {
                        QueryError::bad_value(format!(
                            "bit positions must be an integer but got: {item} (operator {name})"
                        ))
                    })?;
                    let p = u64::try_from(p).map_err(|_| {
                        QueryError::bad_value(format!(
                            "bit positions must be >= 0 but got: {p} (operator {name})"
                        ))
                    })?;
                    if p > MAX_BIT_POSITION {
                        return Err(QueryError::bad_value(format!(
                            "bit position {p} exceeds the limit of {MAX_BIT_POSITION} (operator {name})"
                        )));
                    }
                    out.push(p);
                }
                out
            }
            Bson::Binary(b) => bytes_positions(&b.bytes),
            other if Number::of(other).is_some() => {
                let mask = integral(other).ok_or_else(|| {
                    QueryError::bad_value(format!(
                        "{name} must be representable as a 64-bit integer: {other}"
                    ))
                })?;
                if mask < 0 {
                    return Err(QueryError::bad_value(format!(
                        "{name} bitmask must be a non-negative number: {mask}"
                    )));
                }
                (0..63).filter(|b| mask & (1_i64 << b) != 0).collect()
            }
            other => {
                return Err(QueryError::bad_value(format!(
                    "{name} takes an Array, a number, or a BinData but received: {other}"
                )));
            }
        };
        Ok(BitsTest { op, positions })
    }

    /// Whether `v` passes.
    pub(crate) fn test(&self, v: &Bson) -> bool {
        let source = match v {
            Bson::Binary(b) => Bits::Bytes(&b.bytes),
            other => match integral(other) {
                Some(n) => Bits::Int(n),
                None => return false,
            },
        };
        let mut bits = self.positions.iter().map(|p| source.get(*p));
        match self.op {
            BitsOp::AllSet => bits.all(|b| b),
            BitsOp::AllClear => bits.all(|b| !b),
            BitsOp::AnySet => bits.any(|b| b),
            BitsOp::AnyClear => bits.any(|b| !b),
        }
    }
}

/// The bits of a matched value.
enum Bits<'a> {
    Bytes(&'a [u8]),
    Int(i64),
}

impl Bits<'_> {
    fn get(&self, p: u64) -> bool {
        match self {
            Bits::Bytes(bytes) => usize::try_from(p / 8)
                .ok()
                .and_then(|i| bytes.get(i))
                .is_some_and(|byte| byte & (1 << (p % 8)) != 0),
            // Two's complement, sign-extended beyond bit 63.
            Bits::Int(n) if p >= 64 => *n < 0,
            Bits::Int(n) => n & (1_i64 << p) != 0,
        }
    }
}

/// An integral number representable as `i64`.
fn integral(v: &Bson) -> Option<i64> {
    match Number::of(v)? {
        Number::Int(i) => Some(i),
        Number::Double(d) | Number::Decimal(d) => {
            // 2^63 is exactly representable; every integral double below it fits.
            let in_range = (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&d);
            (d.fract() == 0.0 && in_range).then_some(d as i64)
        }
    }
}

fn bytes_positions(bytes: &[u8]) -> Vec<u64> {
    let mut out = Vec::new();
    for (i, byte) in bytes.iter().enumerate() {
        for b in 0..8u64 {
            if byte & (1 << b) != 0 {
                out.push(i as u64 * 8 + b);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::bson;

    fn t(op: BitsOp, arg: Bson, v: Bson) -> bool {
        BitsTest::parse("$bits", op, &arg).expect("valid").test(&v)
    }

    #[test]
    fn numbers_and_positions() {
        // 54 = 0b110110
        assert!(t(BitsOp::AllSet, bson!(50), bson!(54))); // 0b110010
        assert!(t(BitsOp::AllSet, bson!([1, 5]), bson!(54)));
        assert!(!t(BitsOp::AllSet, bson!([0, 1]), bson!(54)));
        assert!(t(BitsOp::AllClear, bson!([0, 3]), bson!(54)));
        assert!(t(BitsOp::AnySet, bson!([0, 1]), bson!(54)));
        assert!(t(BitsOp::AnyClear, bson!([0, 1]), bson!(54)));
        assert!(!t(BitsOp::AnyClear, bson!([1, 2]), bson!(54)));
        assert!(t(BitsOp::AllSet, bson!([70]), bson!(-1)));
        assert!(!t(BitsOp::AllSet, bson!([1]), bson!(54.5)));
        assert!(!t(BitsOp::AllSet, bson!([1]), bson!("54")));
    }

    #[test]
    fn bindata() {
        let bin = Bson::Binary(bson::Binary {
            subtype: bson::spec::BinarySubtype::Generic,
            bytes: vec![0b0000_0110],
        });
        assert!(t(BitsOp::AllSet, bson!([1, 2]), bin.clone()));
        assert!(t(BitsOp::AllClear, bson!([0, 9]), bin.clone()));
        assert!(t(BitsOp::AllSet, bin, bson!(6)));
    }

    #[test]
    fn bad_operands() {
        for arg in [bson!(-1), bson!(1.5), bson!("x"), bson!([-1]), bson!([0.5])] {
            let e = BitsTest::parse("$bitsAllSet", BitsOp::AllSet, &arg).expect_err("invalid");
            assert_eq!(e.code.code(), 2);
        }
    }
}
