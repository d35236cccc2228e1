//! Order-preserving, self-delimiting byte encoding of BSON values (index keys and `_id`s).
//!
//! Invariants (proved by the property tests below and in `tests/index_keycodec.rs`):
//! - For all values `a`, `b`: `encode(a).cmp(&encode(b)) == compare(a, b)` where `compare` is
//!   MongoDB's BSON order ([`stratus_query::compare::compare`]). In particular values that
//!   compare equal (`1`, `1.0`, `1L`, `Decimal128("1.0")`) encode to identical bytes.
//! - The encoding is prefix-free: no encoded value is a proper prefix of another. Hence a
//!   compound key is simply the concatenation of its components, and the entries whose first
//!   components equal a given prefix form one contiguous key range.
//! - A descending component is the ascending encoding with every byte inverted (`!b`). Inverting
//!   a prefix-free set reverses its order and keeps it prefix-free.
//! - Every encoding starts with a type tag; tags are grouped by [`type_rank`] so that all values
//!   of one rank lie between [`rank_first_tag`] and [`rank_last_tag`] (used for the
//!   type-bracketed bounds of range queries). No tag is `0x00` or `0xFF`, so no encoded
//!   component (ascending or descending) is empty or starts with `0x00`/`0xFF`.
//!
//! Layout per type (after the tag byte):
//! - numbers (Int32/Int64/Double/Decimal128): NaN has its own tag (below all numbers); other
//!   numbers are 8 bytes of the sortable form of `f`, the largest double `<=` the value,
//!   followed by a 2-byte big-endian `value - f` (non-zero only for 64-bit integers that a
//!   double cannot represent). Decimal128 uses its nearest double, exactly as `compare` does.
//! - strings, symbols, JavaScript code, regex parts, field names: bytes with `0x00` escaped as
//!   `0x00 0xFF`, terminated by `0x00 0x01`.
//! - documents: per element `type_rank + 1`, escaped field name, encoded value; then `0x00`.
//! - arrays: encoded elements, then `0x00`.
//! - binary: 4-byte big-endian length, subtype byte, bytes.
//! - ObjectId: its 12 bytes; bool: one byte; date: sign-flipped big-endian i64 milliseconds;
//!   timestamp: big-endian `time` then `increment`.
//!
//! Decoding is never needed: index entries carry the primary key as their value.

use bson::{Bson, Document};
use stratus_query::compare::{Number, type_rank};

/// Tag of MinKey.
const TAG_MINKEY: u8 = 0x05;
/// Tag of Undefined (the key of an empty array in a multikey index).
const TAG_UNDEFINED: u8 = 0x08;
/// Tag of null (also the key of a missing field).
const TAG_NULL: u8 = 0x0A;
/// Tag of a NaN number (sorts below every other number).
const TAG_NAN: u8 = 0x10;
/// Tag of every other number.
const TAG_NUMBER: u8 = 0x11;
/// Tag of strings and symbols.
const TAG_STRING: u8 = 0x18;
/// Tag of embedded documents.
const TAG_DOCUMENT: u8 = 0x20;
/// Tag of arrays.
const TAG_ARRAY: u8 = 0x28;
/// Tag of binary data.
const TAG_BINARY: u8 = 0x30;
/// Tag of ObjectIds.
const TAG_OBJECTID: u8 = 0x38;
/// Tag of booleans.
const TAG_BOOL: u8 = 0x40;
/// Tag of dates.
const TAG_DATE: u8 = 0x48;
/// Tag of timestamps.
const TAG_TIMESTAMP: u8 = 0x50;
/// Tag of regular expressions.
const TAG_REGEX: u8 = 0x58;
/// Tag of DBPointers.
const TAG_DBPOINTER: u8 = 0x60;
/// Tag of JavaScript code.
const TAG_CODE: u8 = 0x68;
/// Tag of JavaScript code with scope.
const TAG_CODE_WITH_SCOPE: u8 = 0x70;
/// Tag of MaxKey.
const TAG_MAXKEY: u8 = 0x78;

/// Escape byte following an embedded `0x00` in a string.
const ESCAPED_ZERO: u8 = 0xFF;
/// Byte following `0x00` that terminates a string.
const STRING_END: u8 = 0x01;
/// End marker of documents and arrays (below every tag and every element rank byte).
const CONTAINER_END: u8 = 0x00;

/// Sort direction of one index key component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Ascending (`1` in a key pattern).
    Ascending,
    /// Descending (`-1` in a key pattern): the encoding's bytes are inverted.
    Descending,
}

/// The ascending encoding of `v`.
pub fn encode(v: &Bson) -> Vec<u8> {
    let mut out = Vec::with_capacity(16);
    encode_into(v, &mut out);
    out
}

/// The primary-key encoding of an `_id` value: the key of a document in its collection's
/// document table. `encode_id(a) == encode_id(b)` exactly when `_id`s `a` and `b` are equal
/// under MongoDB's rules, and the table's byte order is the `_id` order.
pub fn encode_id(id: &Bson) -> Vec<u8> {
    encode(id)
}

/// Appends the encoding of `v` in direction `dir` to `out` (one component of a compound key).
pub fn encode_component(v: &Bson, dir: Direction, out: &mut Vec<u8>) {
    let start = out.len();
    encode_into(v, out);
    if dir == Direction::Descending {
        invert(&mut out[start..]);
    }
}

/// Inverts every byte (turns an ascending encoding into a descending one and back).
pub fn invert(bytes: &mut [u8]) {
    for b in bytes {
        *b = !*b;
    }
}

/// The first tag byte used by values of type rank `rank` (see [`type_rank`]).
pub fn rank_first_tag(rank: u8) -> u8 {
    match rank {
        0 => TAG_MINKEY,
        1 => TAG_UNDEFINED,
        2 => TAG_NULL,
        3 => TAG_NAN,
        4 => TAG_STRING,
        5 => TAG_DOCUMENT,
        6 => TAG_ARRAY,
        7 => TAG_BINARY,
        8 => TAG_OBJECTID,
        9 => TAG_BOOL,
        10 => TAG_DATE,
        11 => TAG_TIMESTAMP,
        12 => TAG_REGEX,
        13 => TAG_DBPOINTER,
        14 => TAG_CODE,
        15 => TAG_CODE_WITH_SCOPE,
        _ => TAG_MAXKEY,
    }
}

/// The last tag byte used by values of type rank `rank`.
pub fn rank_last_tag(rank: u8) -> u8 {
    match rank {
        3 => TAG_NUMBER,
        r => rank_first_tag(r),
    }
}

fn encode_into(v: &Bson, out: &mut Vec<u8>) {
    match v {
        Bson::MinKey => out.push(TAG_MINKEY),
        Bson::Undefined => out.push(TAG_UNDEFINED),
        Bson::Null => out.push(TAG_NULL),
        Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) | Bson::Decimal128(_) => {
            match Number::of(v) {
                Some(n) => encode_number(n, out),
                None => out.push(TAG_NAN),
            }
        }
        Bson::String(s) | Bson::Symbol(s) => {
            out.push(TAG_STRING);
            encode_str(s.as_bytes(), out);
        }
        Bson::Document(d) => {
            out.push(TAG_DOCUMENT);
            encode_document_body(d, out);
        }
        Bson::Array(a) => {
            out.push(TAG_ARRAY);
            for e in a {
                encode_into(e, out);
            }
            out.push(CONTAINER_END);
        }
        Bson::Binary(b) => {
            out.push(TAG_BINARY);
            // A BSON binary is < 16 MiB, so its length fits in u32.
            let len = u32::try_from(b.bytes.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&len.to_be_bytes());
            out.push(u8::from(b.subtype));
            out.extend_from_slice(&b.bytes);
        }
        Bson::ObjectId(o) => {
            out.push(TAG_OBJECTID);
            out.extend_from_slice(&o.bytes());
        }
        Bson::Boolean(b) => {
            out.push(TAG_BOOL);
            out.push(u8::from(*b));
        }
        Bson::DateTime(d) => {
            out.push(TAG_DATE);
            out.extend_from_slice(&sortable_i64(d.timestamp_millis()));
        }
        Bson::Timestamp(t) => {
            out.push(TAG_TIMESTAMP);
            out.extend_from_slice(&t.time.to_be_bytes());
            out.extend_from_slice(&t.increment.to_be_bytes());
        }
        Bson::RegularExpression(r) => {
            out.push(TAG_REGEX);
            encode_str(r.pattern.as_str().as_bytes(), out);
            encode_str(r.options.as_str().as_bytes(), out);
        }
        Bson::DbPointer(_) => {
            // `compare` orders DBPointers by their canonical Extended JSON text.
            out.push(TAG_DBPOINTER);
            let text = v.clone().into_canonical_extjson().to_string();
            encode_str(text.as_bytes(), out);
        }
        Bson::JavaScriptCode(c) => {
            out.push(TAG_CODE);
            encode_str(c.as_bytes(), out);
        }
        Bson::JavaScriptCodeWithScope(c) => {
            out.push(TAG_CODE_WITH_SCOPE);
            encode_str(c.code.as_bytes(), out);
            encode_document_body(&c.scope, out);
        }
        Bson::MaxKey => out.push(TAG_MAXKEY),
    }
}

fn encode_document_body(d: &Document, out: &mut Vec<u8>) {
    for (k, v) in d {
        // Rank + 1 keeps every element marker above CONTAINER_END.
        out.push(type_rank(v) + 1);
        encode_str(k.as_bytes(), out);
        encode_into(v, out);
    }
    out.push(CONTAINER_END);
}

fn encode_str(s: &[u8], out: &mut Vec<u8>) {
    for &b in s {
        out.push(b);
        if b == 0 {
            out.push(ESCAPED_ZERO);
        }
    }
    out.push(0);
    out.push(STRING_END);
}

/// Big-endian bytes of `i` with the sign bit flipped, so unsigned byte order is numeric order.
fn sortable_i64(i: i64) -> [u8; 8] {
    ((i as u64) ^ (1 << 63)).to_be_bytes()
}

/// Bytes of a non-NaN double whose unsigned byte order is numeric order (`-0.0 == 0.0`).
fn sortable_f64(d: f64) -> [u8; 8] {
    let d = if d == 0.0 { 0.0 } else { d };
    let bits = d.to_bits();
    let s = if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    };
    s.to_be_bytes()
}

/// 2^63 as a double (exact).
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;

fn encode_number(n: Number, out: &mut Vec<u8>) {
    let (floor, delta): (f64, u16) = match n {
        Number::Double(d) | Number::Decimal(d) => {
            if d.is_nan() {
                out.push(TAG_NAN);
                return;
            }
            (d, 0)
        }
        Number::Int(i) => {
            let mut f = i as f64;
            // `i as f64` rounds to nearest; step down to the largest double <= i. Doubles in
            // [-2^63, 2^63) convert to i64 exactly.
            if f >= TWO_POW_63 || (f as i64) > i {
                f = f.next_down();
            }
            // The gap between doubles below 2^63 is at most 2^10, so the delta fits in u16.
            let gap = i128::from(i) - i128::from(f as i64);
            (f, u16::try_from(gap).unwrap_or(u16::MAX))
        }
    };
    out.push(TAG_NUMBER);
    out.extend_from_slice(&sortable_f64(floor));
    out.extend_from_slice(&delta.to_be_bytes());
}

/// The smallest byte string greater than every string that starts with `prefix`, or `None`
/// when there is none (`prefix` is empty or all `0xFF`).
pub fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut s = prefix.to_vec();
    while let Some(last) = s.pop() {
        if last < 0xFF {
            s.push(last + 1);
            return Some(s);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::cmp::Ordering;

    use bson::{bson, oid::ObjectId};
    use stratus_query::compare::compare;

    use super::*;

    fn check(a: &Bson, b: &Bson) {
        assert_eq!(
            encode(a).cmp(&encode(b)),
            compare(a, b),
            "{a:?} vs {b:?}: {:?} vs {:?}",
            encode(a),
            encode(b)
        );
    }

    #[test]
    fn numbers_of_all_types_share_one_scale() {
        let dec: bson::Decimal128 = "1.0".parse().expect("decimal");
        assert_eq!(encode(&Bson::Int32(1)), encode(&Bson::Double(1.0)));
        assert_eq!(encode(&Bson::Int64(1)), encode(&Bson::Double(1.0)));
        assert_eq!(encode(&Bson::Decimal128(dec)), encode(&Bson::Int32(1)));
        assert_eq!(encode(&Bson::Double(-0.0)), encode(&Bson::Int32(0)));
        let cases = [
            Bson::Double(f64::NAN),
            Bson::Double(f64::NEG_INFINITY),
            Bson::Double(-9.3e18),
            Bson::Int64(i64::MIN),
            Bson::Int64(-(1 << 53) - 1),
            Bson::Double(-3.5),
            Bson::Int32(-3),
            Bson::Double(-1e-300),
            Bson::Int32(0),
            Bson::Double(5e-324),
            Bson::Double(3.5),
            Bson::Int64((1 << 53) + 1),
            Bson::Double(9_007_199_254_740_994.0),
            Bson::Int64(i64::MAX - 1),
            Bson::Int64(i64::MAX),
            Bson::Double(TWO_POW_63),
            Bson::Double(f64::INFINITY),
        ];
        for a in &cases {
            for b in &cases {
                check(a, b);
            }
        }
        for w in cases.windows(2) {
            assert_eq!(compare(&w[0], &w[1]), Ordering::Less, "{w:?}");
        }
    }

    #[test]
    fn strings_with_nul_and_prefixes() {
        let cases = [
            bson!(""),
            bson!("\u{0}"),
            bson!("\u{0}\u{0}"),
            bson!("\u{0}a"),
            bson!("a"),
            bson!("a\u{0}"),
            bson!("a\u{1}"),
            bson!("ab"),
            bson!("\u{ff}"),
        ];
        for a in &cases {
            for b in &cases {
                check(a, b);
            }
        }
    }

    #[test]
    fn containers_and_type_brackets() {
        let cases = [
            Bson::MinKey,
            Bson::Undefined,
            Bson::Null,
            bson!(1),
            bson!("x"),
            bson!({}),
            bson!({"a": 1}),
            bson!({"a": 1, "b": 0}),
            bson!({"a": "s"}),
            bson!({"b": 0}),
            bson!([]),
            bson!([1]),
            bson!([1, 2]),
            bson!([[]]),
            Bson::ObjectId(ObjectId::from_bytes([1; 12])),
            bson!(false),
            bson!(true),
            Bson::DateTime(bson::DateTime::from_millis(-5)),
            Bson::DateTime(bson::DateTime::from_millis(5)),
            Bson::MaxKey,
        ];
        for a in &cases {
            for b in &cases {
                check(a, b);
            }
        }
    }

    #[test]
    fn descending_inverts_order() {
        let (a, b) = (bson!(1), bson!("a"));
        let mut ea = Vec::new();
        let mut eb = Vec::new();
        encode_component(&a, Direction::Descending, &mut ea);
        encode_component(&b, Direction::Descending, &mut eb);
        assert_eq!(ea.cmp(&eb), Ordering::Greater);
    }

    #[test]
    fn prefix_successor_carries() {
        assert_eq!(prefix_successor(&[1, 0xFF]), Some(vec![2]));
        assert_eq!(prefix_successor(&[0xFF, 0xFF]), None);
        assert_eq!(prefix_successor(&[]), None);
    }
}
