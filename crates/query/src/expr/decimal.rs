//! Exact Decimal128 arithmetic for expressions: addition, subtraction, multiplication,
//! division and rounding, with IEEE 754-2008 decimal semantics (34 significant digits, round
//! half to even) so that `0.1 + 0.2` is exactly `0.3`, as in MongoDB.
//!
//! A [`Dec`] is a sign, a coefficient below 10^34 and a base-10 exponent. Intermediate results
//! use a 256-bit integer so products and aligned sums are exact before the final rounding.
//! Exponents beyond Decimal128's range overflow to infinity or underflow to zero; subnormal
//! rounding at the bottom of the exponent range is simplified (rounded to the minimum exponent).

use std::cmp::Ordering;

use bson::Decimal128;

/// Significant digits of a Decimal128.
pub const MAX_DIGITS: u32 = 34;
/// Largest Decimal128 exponent (of the coefficient's last digit).
const MAX_EXP: i32 = 6111;
/// Smallest Decimal128 exponent.
const MIN_EXP: i32 = -6176;
/// How far two exponents may differ before the smaller operand only acts as a rounding
/// "sticky" bit (10^34 · 10^40 still fits in 256 bits).
const MAX_ALIGN: i32 = 40;

/// A decimal value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Dec {
    /// `(-1)^neg · coef · 10^exp` with `coef < 10^34`.
    Finite {
        /// Negative sign (also for -0).
        neg: bool,
        /// Coefficient.
        coef: u128,
        /// Exponent.
        exp: i32,
    },
    /// ±Infinity.
    Inf {
        /// Negative infinity.
        neg: bool,
    },
    /// Not a number.
    NaN,
}

/// How [`Dec::round_to`] rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// Round half to even (`$round`).
    HalfEven,
    /// Toward zero (`$trunc`).
    Trunc,
    /// Toward -infinity (`$floor`).
    Floor,
    /// Toward +infinity (`$ceil`).
    Ceil,
}

fn pow10(k: u32) -> u128 {
    10u128.pow(k)
}

fn digits(mut x: u128) -> u32 {
    let mut n = 1;
    while x >= 10 {
        x /= 10;
        n += 1;
    }
    n
}

/// A 256-bit unsigned integer as four little-endian 64-bit limbs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct U256([u64; 4]);

impl U256 {
    fn from_u128(x: u128) -> U256 {
        U256([x as u64, (x >> 64) as u64, 0, 0])
    }
    fn to_u128(self) -> Option<u128> {
        if self.0[2] == 0 && self.0[3] == 0 {
            Some(u128::from(self.0[0]) | (u128::from(self.0[1]) << 64))
        } else {
            None
        }
    }
    fn is_zero(self) -> bool {
        self.0 == [0; 4]
    }
    fn mul_small(self, m: u64) -> Option<U256> {
        let mut out = [0u64; 4];
        let mut carry = 0u128;
        for (i, limb) in self.0.iter().enumerate() {
            let p = u128::from(*limb) * u128::from(m) + carry;
            out[i] = p as u64;
            carry = p >> 64;
        }
        (carry == 0).then_some(U256(out))
    }
    fn mul_pow10(self, k: u32) -> Option<U256> {
        (0..k).try_fold(self, |acc, _| acc.mul_small(10))
    }
    fn mul(a: u128, b: u128) -> U256 {
        let (a0, a1) = (a as u64, (a >> 64) as u64);
        let (b0, b1) = (b as u64, (b >> 64) as u64);
        let mut out = [0u64; 4];
        for (i, x) in [a0, a1].iter().enumerate() {
            let mut carry = 0u128;
            for (j, y) in [b0, b1].iter().enumerate() {
                let t = u128::from(*x) * u128::from(*y) + u128::from(out[i + j]) + carry;
                out[i + j] = t as u64;
                carry = t >> 64;
            }
            let mut k = i + 2;
            while carry != 0 && k < 4 {
                let t = u128::from(out[k]) + carry;
                out[k] = t as u64;
                carry = t >> 64;
                k += 1;
            }
        }
        U256(out)
    }
    fn add(self, o: U256) -> U256 {
        let mut out = [0u64; 4];
        let mut carry = 0u128;
        for (i, slot) in out.iter_mut().enumerate() {
            let t = u128::from(self.0[i]) + u128::from(o.0[i]) + carry;
            *slot = t as u64;
            carry = t >> 64;
        }
        U256(out)
    }
    /// `self - o`, requires `self >= o`.
    fn sub(self, o: U256) -> U256 {
        let mut out = [0u64; 4];
        let mut borrow = 0i128;
        for (i, slot) in out.iter_mut().enumerate() {
            let t = i128::from(self.0[i]) - i128::from(o.0[i]) - borrow;
            if t < 0 {
                *slot = (t + (1i128 << 64)) as u64;
                borrow = 1;
            } else {
                *slot = t as u64;
                borrow = 0;
            }
        }
        U256(out)
    }
    fn cmp(self, o: U256) -> Ordering {
        for i in (0..4).rev() {
            match self.0[i].cmp(&o.0[i]) {
                Ordering::Equal => {}
                x => return x,
            }
        }
        Ordering::Equal
    }
    fn divrem_small(self, d: u64) -> (U256, u64) {
        let mut out = [0u64; 4];
        let mut rem = 0u128;
        for i in (0..4).rev() {
            let cur = (rem << 64) | u128::from(self.0[i]);
            out[i] = (cur / u128::from(d)) as u64;
            rem = cur % u128::from(d);
        }
        (U256(out), rem as u64)
    }
    /// Long division by a divisor below 2^126 (bit by bit).
    fn divrem(self, d: u128) -> (U256, u128) {
        let mut q = [0u64; 4];
        let mut rem = 0u128;
        for bit in (0..256).rev() {
            rem = (rem << 1) | u128::from((self.0[bit / 64] >> (bit % 64)) & 1);
            if rem >= d {
                rem -= d;
                q[bit / 64] |= 1 << (bit % 64);
            }
        }
        (U256(q), rem)
    }
}

impl Dec {
    /// Zero with exponent 0.
    pub const ZERO: Dec = Dec::Finite {
        neg: false,
        coef: 0,
        exp: 0,
    };

    /// The value of a Decimal128.
    pub fn from_decimal128(d: &Decimal128) -> Dec {
        Dec::parse(&d.to_string()).unwrap_or(Dec::NaN)
    }

    /// Parses `[-]digits[.digits][E[+-]digits]`, `Infinity`, `NaN`.
    pub fn parse(s: &str) -> Option<Dec> {
        let (neg, body) = match s.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, s.strip_prefix('+').unwrap_or(s)),
        };
        match body.to_ascii_lowercase().as_str() {
            "infinity" | "inf" => return Some(Dec::Inf { neg }),
            "nan" => return Some(Dec::NaN),
            _ => {}
        }
        let (mant, e) = match body.find(['e', 'E']) {
            Some(i) => (&body[..i], body[i + 1..].parse::<i32>().ok()?),
            None => (body, 0),
        };
        let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        let all: String = format!("{int}{frac}");
        if !all.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let trimmed = all.trim_start_matches('0');
        let exp = e.checked_sub(i32::try_from(frac.len()).ok()?)?;
        if trimmed.len() > 38 {
            // Too many digits for u128: round through the 256-bit path.
            let keep = &trimmed[..38];
            let dropped = i32::try_from(trimmed.len() - 38).ok()?;
            let coef: u128 = keep.parse().ok()?;
            let sticky = trimmed[38..].bytes().any(|b| b != b'0');
            return Some(normalize(
                neg,
                U256::from_u128(coef),
                exp.saturating_add(dropped),
                sticky,
            ));
        }
        let coef: u128 = if trimmed.is_empty() {
            0
        } else {
            trimmed.parse().ok()?
        };
        Some(normalize(neg, U256::from_u128(coef), exp, false))
    }

    /// The exact value of an integer.
    pub fn from_i64(i: i64) -> Dec {
        Dec::Finite {
            neg: i < 0,
            coef: u128::from(i.unsigned_abs()),
            exp: 0,
        }
    }

    /// The shortest decimal that round-trips to `d`.
    pub fn from_f64(d: f64) -> Dec {
        if d.is_nan() {
            return Dec::NaN;
        }
        if d.is_infinite() {
            return Dec::Inf { neg: d < 0.0 };
        }
        Dec::parse(&format!("{d:e}")).unwrap_or(Dec::NaN)
    }

    /// The nearest double.
    pub fn to_f64(self) -> f64 {
        match self {
            Dec::NaN => f64::NAN,
            Dec::Inf { neg } => {
                if neg {
                    f64::NEG_INFINITY
                } else {
                    f64::INFINITY
                }
            }
            Dec::Finite { neg, coef, exp } => {
                let v: f64 = format!("{coef}e{exp}").parse().unwrap_or(f64::NAN);
                if neg { -v } else { v }
            }
        }
    }

    /// The Decimal128 encoding.
    pub fn to_decimal128(self) -> Decimal128 {
        let s = match self {
            Dec::NaN => "NaN".to_string(),
            Dec::Inf { neg } => if neg { "-Infinity" } else { "Infinity" }.to_string(),
            Dec::Finite { neg, coef, exp } => {
                format!("{}{coef}E{exp}", if neg { "-" } else { "" })
            }
        };
        s.parse().unwrap_or_else(|_| {
            "NaN"
                .parse()
                .expect("invariant: NaN is a valid Decimal128 literal")
        })
    }

    /// Whether the value is zero.
    pub fn is_zero(self) -> bool {
        matches!(self, Dec::Finite { coef: 0, .. })
    }

    /// `-self`.
    pub fn negated(self) -> Dec {
        match self {
            Dec::Finite { neg, coef, exp } => Dec::Finite {
                neg: !neg,
                coef,
                exp,
            },
            Dec::Inf { neg } => Dec::Inf { neg: !neg },
            Dec::NaN => Dec::NaN,
        }
    }

    /// `|self|`.
    pub fn abs(self) -> Dec {
        match self {
            Dec::Finite { coef, exp, .. } => Dec::Finite {
                neg: false,
                coef,
                exp,
            },
            Dec::Inf { .. } => Dec::Inf { neg: false },
            Dec::NaN => Dec::NaN,
        }
    }

    /// `self + o`.
    pub fn plus(self, o: Dec) -> Dec {
        match (self, o) {
            (Dec::NaN, _) | (_, Dec::NaN) => Dec::NaN,
            (Dec::Inf { neg: a }, Dec::Inf { neg: b }) => {
                if a == b {
                    Dec::Inf { neg: a }
                } else {
                    Dec::NaN
                }
            }
            (Dec::Inf { neg }, _) | (_, Dec::Inf { neg }) => Dec::Inf { neg },
            (
                Dec::Finite {
                    neg: an,
                    coef: ac,
                    exp: ae,
                },
                Dec::Finite {
                    neg: bn,
                    coef: bc,
                    exp: be,
                },
            ) => {
                // `hi` has the larger exponent; scale it down to the other's exponent.
                let ((hn, hc, he), (ln, lc, le)) = if ae >= be {
                    ((an, ac, ae), (bn, bc, be))
                } else {
                    ((bn, bc, be), (an, ac, ae))
                };
                if hc == 0 {
                    let neg = if lc == 0 { ln && hn } else { ln };
                    return normalize(neg, U256::from_u128(lc), le, false);
                }
                let (hi, lo, exp, sticky) = if he - le <= MAX_ALIGN {
                    let k = u32::try_from(he - le).unwrap_or(0);
                    let hi = U256::from_u128(hc)
                        .mul_pow10(k)
                        .expect("invariant: 10^34 * 10^40 fits in 256 bits");
                    (hi, U256::from_u128(lc), le, false)
                } else {
                    // The smaller operand is far below the last kept digit: keep its sign as
                    // one unit (a sticky bit) at the lowest place.
                    let k = u32::try_from(MAX_ALIGN).unwrap_or(0);
                    let hi = U256::from_u128(hc)
                        .mul_pow10(k)
                        .expect("invariant: 10^34 * 10^40 fits in 256 bits");
                    (
                        hi,
                        U256::from_u128(u128::from(lc != 0)),
                        he - MAX_ALIGN,
                        lc != 0,
                    )
                };
                if hn == ln {
                    normalize(hn, hi.add(lo), exp, sticky)
                } else {
                    match hi.cmp(lo) {
                        Ordering::Greater => normalize(hn, hi.sub(lo), exp, sticky),
                        Ordering::Less => normalize(ln, lo.sub(hi), exp, sticky),
                        Ordering::Equal => normalize(false, U256::from_u128(0), exp, false),
                    }
                }
            }
        }
    }

    /// `self - o`.
    pub fn minus(self, o: Dec) -> Dec {
        self.plus(o.negated())
    }

    /// `self * o`.
    pub fn times(self, o: Dec) -> Dec {
        match (self, o) {
            (Dec::NaN, _) | (_, Dec::NaN) => Dec::NaN,
            (Dec::Inf { neg: a }, b) | (b, Dec::Inf { neg: a }) => {
                if b.is_zero() {
                    Dec::NaN
                } else {
                    Dec::Inf {
                        neg: a != b.is_negative(),
                    }
                }
            }
            (
                Dec::Finite {
                    neg: an,
                    coef: ac,
                    exp: ae,
                },
                Dec::Finite {
                    neg: bn,
                    coef: bc,
                    exp: be,
                },
            ) => normalize(an != bn, U256::mul(ac, bc), ae + be, false),
        }
    }

    /// `self / o`; division by zero gives ±Infinity (callers refuse it first).
    pub fn quotient(self, o: Dec) -> Dec {
        match (self, o) {
            (Dec::NaN, _) | (_, Dec::NaN) => Dec::NaN,
            (Dec::Inf { .. }, Dec::Inf { .. }) => Dec::NaN,
            (Dec::Inf { neg }, b) => Dec::Inf {
                neg: neg != b.is_negative(),
            },
            (a, Dec::Inf { neg }) => Dec::Finite {
                neg: a.is_negative() != neg,
                coef: 0,
                exp: 0,
            },
            (
                Dec::Finite {
                    neg: an,
                    coef: ac,
                    exp: ae,
                },
                Dec::Finite {
                    neg: bn,
                    coef: bc,
                    exp: be,
                },
            ) => {
                let neg = an != bn;
                if bc == 0 {
                    return if ac == 0 { Dec::NaN } else { Dec::Inf { neg } };
                }
                let ideal = ae - be;
                if ac == 0 {
                    return normalize(neg, U256::from_u128(0), ideal, false);
                }
                // Scale the dividend so the quotient has more than 34 digits.
                let k = (MAX_DIGITS + 1 + digits(bc)).saturating_sub(digits(ac));
                let n = U256::from_u128(ac)
                    .mul_pow10(k)
                    .expect("invariant: fewer than 70 digits fit in 256 bits");
                let (mut q, rem) = n.divrem(bc);
                let mut exp = ideal - i32::try_from(k).unwrap_or(0);
                if rem == 0 {
                    // Exact: prefer the ideal exponent by removing trailing zeros.
                    while exp < ideal {
                        let (q2, r) = q.divrem_small(10);
                        if r != 0 {
                            break;
                        }
                        q = q2;
                        exp += 1;
                    }
                }
                normalize(neg, q, exp, rem != 0)
            }
        }
    }

    /// Whether the sign is negative.
    pub fn is_negative(self) -> bool {
        match self {
            Dec::Finite { neg, .. } | Dec::Inf { neg } => neg,
            Dec::NaN => false,
        }
    }

    /// Rounds to `places` decimal places (negative: tens, hundreds …) with `mode`.
    pub fn round_to(self, places: i32, mode: Rounding) -> Dec {
        let Dec::Finite { neg, coef, exp } = self else {
            return self;
        };
        if exp >= -places {
            return self;
        }
        let drop = -places - exp;
        if drop > 38 {
            let away = match mode {
                Rounding::Floor => neg && coef != 0,
                Rounding::Ceil => !neg && coef != 0,
                Rounding::HalfEven | Rounding::Trunc => false,
            };
            return Dec::Finite {
                neg,
                coef: u128::from(away),
                exp: -places,
            };
        }
        let unit = pow10(u32::try_from(drop).unwrap_or(0));
        let (q, r) = (coef / unit, coef % unit);
        let up = match mode {
            Rounding::Trunc => false,
            Rounding::Floor => neg && r != 0,
            Rounding::Ceil => !neg && r != 0,
            Rounding::HalfEven => {
                let half = unit / 2;
                r > half || (r == half && q % 2 == 1)
            }
        };
        normalize(neg, U256::from_u128(q + u128::from(up)), -places, false)
    }

    /// Compares two finite-or-infinite decimals by value (NaN compares equal to NaN and below
    /// everything else, as in MongoDB's order).
    pub fn cmp_value(self, o: Dec) -> Ordering {
        self.to_f64()
            .partial_cmp(&o.to_f64())
            .unwrap_or(Ordering::Equal)
    }
}

/// Rounds a 256-bit coefficient to 34 digits (half to even, `sticky` = nonzero digits were
/// already dropped below it) and clamps the exponent into Decimal128's range.
fn normalize(neg: bool, mut coef: U256, mut exp: i32, sticky: bool) -> Dec {
    let max = U256::from_u128(pow10(MAX_DIGITS) - 1);
    let mut round_digit = 0u64;
    let mut sticky = sticky;
    let mut dropped = false;
    while coef.cmp(max) == Ordering::Greater || exp < MIN_EXP {
        if coef.is_zero() {
            exp = MIN_EXP;
            break;
        }
        if dropped {
            sticky |= round_digit != 0;
        }
        let (q, r) = coef.divrem_small(10);
        coef = q;
        round_digit = r;
        dropped = true;
        exp = exp.saturating_add(1);
    }
    let mut c = coef.to_u128().unwrap_or(0);
    if dropped && (round_digit > 5 || (round_digit == 5 && (sticky || c % 2 == 1))) {
        c += 1;
        if c > pow10(MAX_DIGITS) - 1 {
            c /= 10;
            exp += 1;
        }
    }
    // Clamp large exponents by padding the coefficient with zeros when possible.
    while exp > MAX_EXP && c != 0 && c < pow10(MAX_DIGITS - 1) {
        c *= 10;
        exp -= 1;
    }
    if exp > MAX_EXP {
        if c == 0 {
            exp = MAX_EXP;
        } else {
            return Dec::Inf { neg };
        }
    }
    Dec::Finite { neg, coef: c, exp }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Dec {
        Dec::parse(s).expect("valid decimal")
    }
    fn show(x: Dec) -> String {
        x.to_decimal128().to_string()
    }

    #[test]
    fn exact_arithmetic() {
        assert_eq!(show(d("0.1").plus(d("0.2"))), "0.3");
        assert_eq!(show(d("1.10").plus(d("2.205"))), "3.305");
        assert_eq!(show(d("1").minus(d("1.00"))), "0.00");
        assert_eq!(show(d("0").minus(d("1000"))), "-1000");
        assert_eq!(show(d("-0").plus(d("-0"))), "-0");
        assert_eq!(show(d("1E+10").minus(d("5"))), "9999999995");
        assert_eq!(show(d("1.5").times(d("-2"))), "-3.0");
        assert_eq!(show(d("1").quotient(d("4"))), "0.25");
        assert_eq!(show(d("6").quotient(d("3"))), "2");
        assert_eq!(
            show(d("1").quotient(d("3"))),
            "0.3333333333333333333333333333333333"
        );
        assert_eq!(
            show(d("2").quotient(d("3"))),
            "0.6666666666666666666666666666666667"
        );
        assert_eq!(show(d("1E+6000").times(d("1E+6000"))), "Infinity");
        assert_eq!(
            show(d("9999999999999999999999999999999999").plus(d("1"))),
            "1.000000000000000000000000000000000E+34"
        );
        assert_eq!(
            show(d("1E+50").plus(d("1"))),
            "1.000000000000000000000000000000000E+50"
        );
        assert_eq!(show(Dec::from_f64(2.5)), "2.5");
        assert_eq!(show(d("1E2147483647")), "Infinity");
        assert_eq!(
            show(d("123456789012345678901234567890123456789E2147483600")),
            "Infinity"
        );
        assert_eq!(show(d("1E-2147483648")), "0E-6176");
        assert_eq!(
            show(d("1234567890123456789012345678901234567")),
            "1.234567890123456789012345678901235E+36"
        );
        assert_eq!(show(Dec::from_i64(-42)), "-42");
        assert_eq!(Dec::from_f64(0.1).to_f64(), 0.1);
    }

    #[test]
    fn rounding() {
        assert_eq!(show(d("2.5").round_to(0, Rounding::HalfEven)), "2");
        assert_eq!(show(d("3.5").round_to(0, Rounding::HalfEven)), "4");
        assert_eq!(show(d("1.25").round_to(1, Rounding::HalfEven)), "1.2");
        assert_eq!(show(d("-1.25").round_to(1, Rounding::Trunc)), "-1.2");
        assert_eq!(show(d("-1.25").round_to(0, Rounding::Floor)), "-2");
        assert_eq!(show(d("1.01").round_to(0, Rounding::Ceil)), "2");
        assert_eq!(show(d("1234").round_to(-2, Rounding::HalfEven)), "1.2E+3");
    }
}
