//! A fast top-level field lookup on raw BSON.
//!
//! `RawDocument::get` decodes every element it passes (key UTF-8 validation, a typed value)
//! until it finds the key. Filters and `$group` look up one or two fields of every stored
//! document of a scan, so [`raw_get`] walks the elements by their sizes alone and compares key
//! bytes, building a value only for the element it returns; [`raw_get_many`] does the same for
//! several keys in one walk.
//!
//! Invariant: [`raw_get`] returns exactly what `doc.get(key).ok().flatten()` returns, and
//! [`raw_get_many`] exactly `raw_get` of each key (checked by property tests); anything they do
//! not handle themselves — unusual element types, arrays, malformed bytes — is answered by
//! `RawDocument::get`.

use bson::oid::ObjectId;
use bson::raw::{RawBsonRef, RawDocument};

/// The value of the top-level field `key` of `doc` (the first one when repeated), if any.
pub fn raw_get<'a>(doc: &'a RawDocument, key: &str) -> Option<RawBsonRef<'a>> {
    match find(doc.as_bytes(), key.as_bytes()) {
        Lookup::Found(t, v) => {
            if let Some(v) = value_at(t, v) {
                return Some(v);
            }
        }
        Lookup::Absent => return None,
        Lookup::Unknown => {}
    }
    // An element this module leaves to the bson crate.
    doc.get(key).ok().flatten()
}

/// The values of the top-level fields `keys` of `doc` into `out` (same positions; `None` =
/// absent), in one walk over the elements; exactly `raw_get` of each key. `out` must be at
/// least as long as `keys`.
pub fn raw_get_many<'a>(doc: &'a RawDocument, keys: &[&str], out: &mut [Option<RawBsonRef<'a>>]) {
    for slot in out.iter_mut() {
        *slot = None;
    }
    if walk_many(doc.as_bytes(), keys, out).is_none() {
        for (k, slot) in keys.iter().zip(out.iter_mut()) {
            *slot = raw_get(doc, k);
        }
    }
}

/// [`raw_get_many`]'s walk: `None` when it met an element type this module does not size,
/// malformed bytes or a value [`value_at`] does not build (the caller then asks
/// [`raw_get`] key by key).
fn walk_many<'a>(b: &'a [u8], keys: &[&str], out: &mut [Option<RawBsonRef<'a>>]) -> Option<()> {
    let mut missing = keys.len();
    if missing == 0 {
        return Some(());
    }
    let end = b.len().checked_sub(1)?;
    let mut i = 4;
    while i < end {
        let (t, k0, klen, v0, vlen) = element_at(b, i, end)?;
        for (w, slot) in keys.iter().zip(out.iter_mut()) {
            if slot.is_none() && same_key(w.as_bytes(), b, k0, klen) {
                *slot = Some(value_at(t, &b[v0..v0 + vlen])?);
                missing -= 1;
            }
        }
        if missing == 0 {
            return Some(());
        }
        i = v0 + vlen;
    }
    (i == end).then_some(())
}

/// Whether the key of `klen` bytes at `k0` in `b` is `w` (a byte loop: keys are short, and
/// a `memcmp` call costs more than comparing them).
#[inline]
fn same_key(w: &[u8], b: &[u8], k0: usize, klen: usize) -> bool {
    w.len() == klen
        && b.get(k0..k0 + klen)
            .is_some_and(|k| w.iter().zip(k).all(|(x, y)| x == y))
}

/// The element starting at `i` (before `end`, the document's final NUL): its type, key
/// start, key length, value start and value length; `None` for an element type this module
/// does not size, or malformed bytes.
#[inline]
fn element_at(b: &[u8], i: usize, end: usize) -> Option<(u8, usize, usize, usize, usize)> {
    let t = *b.get(i)?;
    let k0 = i + 1;
    let mut j = k0;
    while j < end && b[j] != 0 {
        j += 1;
    }
    if j >= end {
        return None;
    }
    let v0 = j + 1;
    let vlen = match t {
        0x01 | 0x09 | 0x11 | 0x12 => 8,
        0x10 => 4,
        0x08 => 1,
        _ => value_len(t, b, v0)?,
    };
    if v0 + vlen > end {
        return None;
    }
    Some((t, k0, j - k0, v0, vlen))
}

/// What [`find`] saw.
enum Lookup<'a> {
    /// The element's type and value bytes.
    Found(u8, &'a [u8]),
    /// The walk reached the end without meeting the key.
    Absent,
    /// An element type this module does not size, or malformed bytes, before the key.
    Unknown,
}

/// Walks the elements of `b` by their sizes looking for the key `key`.
fn find<'a>(b: &'a [u8], key: &[u8]) -> Lookup<'a> {
    let Some(end) = b.len().checked_sub(1) else {
        return Lookup::Unknown;
    };
    let mut i = 4;
    while i < end {
        let Some((t, k0, klen, v0, vlen)) = element_at(b, i, end) else {
            return Lookup::Unknown;
        };
        if same_key(key, b, k0, klen) {
            return Lookup::Found(t, &b[v0..v0 + vlen]);
        }
        i = v0 + vlen;
    }
    if i == end {
        Lookup::Absent
    } else {
        Lookup::Unknown
    }
}

/// The top-level fields of `doc` named in `wanted`, in stored order (repeated keys included,
/// like an element iteration would give them). `None`: the document has an element this
/// module leaves to the bson crate; iterate it with `RawDocument::iter` instead.
pub fn select<'a, S: AsRef<str>>(
    doc: &'a RawDocument,
    wanted: &[S],
) -> Option<Vec<(&'a str, RawBsonRef<'a>)>> {
    let mut out = Vec::with_capacity(wanted.len());
    let mut ok = true;
    elements(doc.as_bytes(), |t, k, v| {
        if !wanted.iter().any(|w| w.as_ref().as_bytes() == k) {
            return true;
        }
        match (std::str::from_utf8(k), value_at(t, v)) {
            (Ok(key), Some(value)) => {
                out.push((key, value));
                true
            }
            _ => {
                ok = false;
                false
            }
        }
    })?;
    ok.then_some(out)
}

fn le_i32(b: &[u8], at: usize) -> Option<i32> {
    let s = b.get(at..at + 4)?;
    Some(i32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn le_u64(b: &[u8], at: usize) -> Option<[u8; 8]> {
    let s = b.get(at..at + 8)?;
    let mut out = [0u8; 8];
    out.copy_from_slice(s);
    Some(out)
}

/// Byte length of a value of element type `t` starting at `at`, or `None` for types this
/// module leaves to the bson crate (and for malformed sizes).
fn value_len(t: u8, b: &[u8], at: usize) -> Option<usize> {
    let len_prefixed = |extra: usize| {
        let n = usize::try_from(le_i32(b, at)?).ok()?;
        Some(4 + n + extra)
    };
    match t {
        0x01 | 0x09 | 0x11 | 0x12 => Some(8),
        0x02 | 0x0D | 0x0E => len_prefixed(0),
        0x03 | 0x04 => usize::try_from(le_i32(b, at)?).ok(),
        0x05 => len_prefixed(1),
        0x06 | 0x0A | 0x7F | 0xFF => Some(0),
        0x07 => Some(12),
        0x08 => Some(1),
        0x10 => Some(4),
        0x13 => Some(16),
        _ => None,
    }
}

/// Walks the elements of the raw document `b` by their sizes, calling `visit(type, key bytes,
/// value bytes)` until it returns `false`. `Some(())` when the walk ended normally (at the end
/// or stopped by `visit`); `None` at an element type this module does not size, or malformed
/// bytes.
fn elements<'a>(b: &'a [u8], mut visit: impl FnMut(u8, &'a [u8], &'a [u8]) -> bool) -> Option<()> {
    let end = b.len().checked_sub(1)?;
    let mut i = 4;
    while i < end {
        let t = b[i];
        let k0 = i + 1;
        let nul = b[k0..end].iter().position(|&c| c == 0)?;
        let v0 = k0 + nul + 1;
        let vlen = value_len(t, b, v0)?;
        if v0 + vlen > end {
            return None;
        }
        if !visit(t, &b[k0..k0 + nul], &b[v0..v0 + vlen]) {
            return Some(());
        }
        i = v0 + vlen;
    }
    (i == end).then_some(())
}

/// The value of the common element types; `None` = let the bson crate build it.
fn value_at(t: u8, v: &[u8]) -> Option<RawBsonRef<'_>> {
    Some(match t {
        0x01 => RawBsonRef::Double(f64::from_le_bytes(le_u64(v, 0)?)),
        0x02 => {
            // 4-byte length (including the NUL), the bytes, the NUL.
            let s = v.get(4..v.len().checked_sub(1)?)?;
            if v.last() != Some(&0) {
                return None;
            }
            RawBsonRef::String(std::str::from_utf8(s).ok()?)
        }
        0x03 => RawBsonRef::Document(RawDocument::from_bytes(v).ok()?),
        0x07 => {
            let mut id = [0u8; 12];
            id.copy_from_slice(v.get(..12)?);
            RawBsonRef::ObjectId(ObjectId::from_bytes(id))
        }
        0x08 => match v.first()? {
            0 => RawBsonRef::Boolean(false),
            1 => RawBsonRef::Boolean(true),
            _ => return None,
        },
        0x09 => RawBsonRef::DateTime(bson::DateTime::from_millis(i64::from_le_bytes(le_u64(
            v, 0,
        )?))),
        0x0A => RawBsonRef::Null,
        0x10 => RawBsonRef::Int32(le_i32(v, 0)?),
        0x12 => RawBsonRef::Int64(i64::from_le_bytes(le_u64(v, 0)?)),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::{Bson, Document, doc};
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = Bson> {
        let leaf = prop_oneof![
            any::<f64>().prop_map(Bson::Double),
            "[a-zé\\x00-\\x7f]{0,6}".prop_map(Bson::String),
            any::<i32>().prop_map(Bson::Int32),
            any::<i64>().prop_map(Bson::Int64),
            any::<bool>().prop_map(Bson::Boolean),
            Just(Bson::Null),
            Just(Bson::Undefined),
            Just(Bson::MinKey),
            Just(Bson::MaxKey),
            any::<[u8; 12]>().prop_map(|b| Bson::ObjectId(ObjectId::from_bytes(b))),
            any::<i64>().prop_map(|m| Bson::DateTime(bson::DateTime::from_millis(m))),
            any::<(u32, u32)>()
                .prop_map(|(time, increment)| Bson::Timestamp(bson::Timestamp { time, increment })),
            prop::collection::vec(any::<u8>(), 0..5).prop_map(|bytes| Bson::Binary(bson::Binary {
                subtype: bson::spec::BinarySubtype::Generic,
                bytes
            })),
            Just(Bson::Decimal128(bson::Decimal128::from_bytes([3; 16]))),
            Just(Bson::JavaScriptCode("x()".into())),
        ];
        leaf.prop_recursive(2, 12, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Bson::Array),
                prop::collection::vec(("[abk]{1,2}", inner), 0..3)
                    .prop_map(|kv| Bson::Document(kv.into_iter().collect())),
            ]
        })
    }

    /// The document of `fields` (a repeated key keeps its last value) and its BSON.
    fn encoded(fields: Vec<(String, Bson)>) -> (Document, bson::RawDocumentBuf) {
        let mut d = Document::new();
        for (k, v) in fields {
            d.insert(k, v);
        }
        let raw = bson::RawDocumentBuf::try_from(&d).expect("encodes");
        (d, raw)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(600))]
        #[test]
        fn agrees_with_the_bson_crate(
            fields in prop::collection::vec(("[abké]{1,2}", value()), 0..6),
            key in "[abké]{1,2}|[a-z]{3}",
        ) {
            let (d, raw) = encoded(fields);
            let want = raw.get(&key).ok().flatten();
            prop_assert_eq!(raw_get(&raw, &key), want, "{} in {}", key, d);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        #[test]
        fn select_agrees_with_iterating(
            fields in prop::collection::vec(("[abké]{1,2}", value()), 0..6),
            wanted in prop::collection::vec("[abké]{1,2}", 0..3),
        ) {
            let (_, raw) = encoded(fields);
            if let Some(got) = select(&raw, &wanted) {
                let want: Vec<(&str, RawBsonRef<'_>)> = raw
                    .iter()
                    .map(|e| e.expect("element"))
                    .filter(|(k, _)| wanted.iter().any(|w| w.as_str() == k.as_str()))
                    .map(|(k, v)| (k.as_str(), v))
                    .collect();
                prop_assert_eq!(got, want);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(600))]
        #[test]
        fn get_many_agrees_with_get(
            fields in prop::collection::vec(("[abké]{1,2}", value()), 0..6),
            keys in prop::collection::vec("[abké]{1,2}|[a-z]{3}", 0..4),
        ) {
            let (d, raw) = encoded(fields);
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            let mut out = vec![Some(RawBsonRef::Null); keys.len() + 1];
            raw_get_many(&raw, &keys, &mut out);
            for (k, got) in keys.iter().zip(&out) {
                prop_assert_eq!(*got, raw.get(k).ok().flatten(), "{} in {}", k, d);
            }
        }
    }

    #[test]
    fn finds_typical_fields_and_misses_absent_ones() {
        let d = doc! {"_id": 1i64, "cat": "c1", "g": 3, "n": 5.5, "o": {"x": 1}, "a": [1]};
        let raw = bson::RawDocumentBuf::try_from(&d).expect("encodes");
        assert_eq!(raw_get(&raw, "g"), Some(RawBsonRef::Int32(3)));
        assert_eq!(raw_get(&raw, "cat"), Some(RawBsonRef::String("c1")));
        assert_eq!(raw_get(&raw, "n"), Some(RawBsonRef::Double(5.5)));
        assert!(matches!(raw_get(&raw, "o"), Some(RawBsonRef::Document(_))));
        assert!(matches!(raw_get(&raw, "a"), Some(RawBsonRef::Array(_))));
        assert_eq!(raw_get(&raw, "zz"), None);
        assert_eq!(raw_get(&raw, ""), None);
        assert_eq!(
            select(&raw, &["n", "g", "zz"]),
            Some(vec![
                ("g", RawBsonRef::Int32(3)),
                ("n", RawBsonRef::Double(5.5))
            ])
        );
    }
}
