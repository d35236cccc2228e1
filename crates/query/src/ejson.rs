//! MongoDB Extended JSON (canonical and relaxed) at the edges of the system.
//!
//! Raw MongoDB inputs written by users (filters, updates, pipelines) are Extended JSON:
//! `{"$oid": "…"}`, `{"$date": …}`, `{"$numberLong": "…"}` and so on. Both the canonical and the
//! relaxed form are accepted on input; output is relaxed by default (what the Atlas Data API
//! answered) or canonical on request. Conformance: the BSON corpus of MongoDB's specifications
//! (`tests/bson_corpus.rs`).

use bson::{Bson, Document};

use crate::error::{QueryError, Result};

/// Which Extended JSON flavour to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Relaxed: plain JSON numbers where lossless, ISO-8601 dates.
    #[default]
    Relaxed,
    /// Canonical: every type tagged (`{"$numberInt": "1"}`).
    Canonical,
}

/// Parses a JSON value holding Extended JSON into BSON.
///
/// Stricter than the `bson` crate alone, as the Extended JSON spec requires: field names may
/// not contain NUL, `$date` takes a string or `{"$numberLong": …}` (not a bare number), and
/// `$numberDecimal` strings must follow the decimal grammar exactly.
pub fn from_json(v: serde_json::Value) -> Result<Bson> {
    validate_input(&v)?;
    Bson::try_from(v)
        .map_err(|e| QueryError::failed_to_parse(format!("invalid Extended JSON: {e}")))
}

fn validate_input(v: &serde_json::Value) -> Result<()> {
    match v {
        serde_json::Value::Object(m) => {
            for (k, val) in m {
                if k.contains('\0') {
                    return Err(QueryError::failed_to_parse(
                        "field names may not contain NUL",
                    ));
                }
                match (k.as_str(), val) {
                    ("$date", serde_json::Value::Number(_)) if m.len() == 1 => {
                        return Err(QueryError::failed_to_parse(
                            "$date takes an ISO-8601 string or {\"$numberLong\": \"…\"}",
                        ));
                    }
                    ("$numberDecimal", serde_json::Value::String(s)) if m.len() == 1 => {
                        parse_decimal128(s)?;
                    }
                    _ => validate_input(val)?,
                }
            }
            Ok(())
        }
        serde_json::Value::Array(items) => items.iter().try_for_each(validate_input),
        _ => Ok(()),
    }
}

/// Parses a Decimal128 from its string form, following the grammar of the BSON Decimal128
/// specification exactly (`[sign] (digits [. digits] | . digits) [(e|E) [sign] digits]`,
/// `Inf`, `Infinity`, `NaN`, case-insensitive for the words).
pub fn parse_decimal128(s: &str) -> Result<bson::Decimal128> {
    let bad = || QueryError::failed_to_parse(format!("invalid decimal128 string `{s}`"));
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let word = body.to_ascii_lowercase();
    let is_word = matches!(word.as_str(), "inf" | "infinity" | "nan");
    if !is_word {
        let (mantissa, exponent) = match body.find(['e', 'E']) {
            Some(i) => (&body[..i], Some(&body[i + 1..])),
            None => (body, None),
        };
        let (int, frac) = match mantissa.split_once('.') {
            Some((a, b)) => (a, Some(b)),
            None => (mantissa, None),
        };
        let digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
        let has_digits = !int.is_empty() || frac.is_some_and(|f| !f.is_empty());
        if !has_digits || !digits(int) || !frac.is_none_or(digits) {
            return Err(bad());
        }
        if let Some(e) = exponent {
            let e = e.strip_prefix(['+', '-']).unwrap_or(e);
            if e.is_empty() || !digits(e) {
                return Err(bad());
            }
        }
    }
    s.parse::<bson::Decimal128>().map_err(|_| bad())
}

/// Parses Extended JSON text into a document; anything but a JSON object is refused.
pub fn parse_document(text: &str) -> Result<Document> {
    let v: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| QueryError::failed_to_parse(format!("invalid JSON: {e}")))?;
    match from_json(v)? {
        Bson::Document(d) => Ok(d),
        other => Err(QueryError::type_mismatch(format!(
            "expected a JSON object, found {}",
            crate::ejson::type_name(&other)
        ))),
    }
}

/// The largest date relaxed Extended JSON prints as an ISO-8601 string (9999-12-31T23:59:59.999Z);
/// dates outside 1970..=9999 print as `{"$numberLong": …}` in both modes.
const MAX_ISO_DATE_MILLIS: i64 = 253_402_300_799_999;

/// Prints a value as Extended JSON.
pub fn to_json(v: &Bson, mode: Mode) -> serde_json::Value {
    use serde_json::{Map, Value, json};
    match v {
        Bson::Document(d) => Value::Object(
            d.iter()
                .map(|(k, x)| (k.clone(), to_json(x, mode)))
                .collect::<Map<_, _>>(),
        ),
        Bson::Array(items) => Value::Array(items.iter().map(|x| to_json(x, mode)).collect()),
        Bson::Double(d) if mode == Mode::Canonical || !d.is_finite() => {
            json!({"$numberDouble": format_double(*d)})
        }
        Bson::DateTime(dt)
            if mode == Mode::Relaxed
                && !(0..=MAX_ISO_DATE_MILLIS).contains(&dt.timestamp_millis()) =>
        {
            json!({"$date": {"$numberLong": dt.timestamp_millis().to_string()}})
        }
        other => match mode {
            Mode::Relaxed => other.clone().into_relaxed_extjson(),
            Mode::Canonical => other.clone().into_canonical_extjson(),
        },
    }
}

/// MongoDB's string form of a double: shortest round-trip digits, `.0` on integral values,
/// exponent notation (`1.2345678921232E+18`) from 1e16 up and below 1e-4.
pub fn format_double(d: f64) -> String {
    if d.is_nan() {
        return "NaN".into();
    }
    if d.is_infinite() {
        return if d > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    let a = d.abs();
    if a != 0.0 && !(1e-4..1e16).contains(&a) {
        // Rust's `{:e}` gives the shortest round-trip mantissa, e.g. `1.2345678921232e18`.
        let s = format!("{d:e}");
        let (mant, exp) = s.split_once('e').unwrap_or((s.as_str(), "0"));
        let mant = if mant.contains('.') {
            mant.to_string()
        } else {
            format!("{mant}.0")
        };
        let exp = exp
            .strip_prefix('-')
            .map_or_else(|| format!("+{exp}"), |e| format!("-{e}"));
        return format!("{mant}E{exp}");
    }
    let s = format!("{d}");
    if s.contains('.') { s } else { format!("{s}.0") }
}

/// Prints a document as Extended JSON.
pub fn document_to_json(d: &Document, mode: Mode) -> serde_json::Value {
    to_json(&Bson::Document(d.clone()), mode)
}

/// MongoDB's `$type` name of a value ("double", "string", "objectId", …).
pub fn type_name(v: &Bson) -> &'static str {
    match v {
        Bson::Double(_) => "double",
        Bson::String(_) => "string",
        Bson::Document(_) => "object",
        Bson::Array(_) => "array",
        Bson::Binary(_) => "binData",
        Bson::Undefined => "undefined",
        Bson::ObjectId(_) => "objectId",
        Bson::Boolean(_) => "bool",
        Bson::DateTime(_) => "date",
        Bson::Null => "null",
        Bson::RegularExpression(_) => "regex",
        Bson::DbPointer(_) => "dbPointer",
        Bson::JavaScriptCode(_) => "javascript",
        Bson::Symbol(_) => "symbol",
        Bson::JavaScriptCodeWithScope(_) => "javascriptWithScope",
        Bson::Int32(_) => "int",
        Bson::Timestamp(_) => "timestamp",
        Bson::Int64(_) => "long",
        Bson::Decimal128(_) => "decimal",
        Bson::MinKey => "minKey",
        Bson::MaxKey => "maxKey",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_print_like_mongodb() {
        assert_eq!(format_double(1.0), "1.0");
        assert_eq!(format_double(-0.0), "-0.0");
        assert_eq!(format_double(1.2345678921232e18), "1.2345678921232E+18");
        assert_eq!(format_double(1e-7), "1.0E-7");
        assert_eq!(format_double(0.5), "0.5");
    }

    #[test]
    fn decimal_grammar_is_strict() {
        for ok in [
            "1",
            "-1.5",
            ".5",
            "5.",
            "1E+3",
            "-Infinity",
            "nan",
            "inf",
            "0.000001e-10",
        ] {
            assert!(parse_decimal128(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "E3", "1e", "++1", "1.2.3", "..1", "1e1.5", "Infi"] {
            assert!(parse_decimal128(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parses_both_flavours() {
        let d = parse_document(
            r#"{"a": {"$numberLong": "5"}, "b": {"$oid": "0123456789abcdef01234567"}, "c": 1.5}"#,
        )
        .expect("valid ejson");
        assert_eq!(d.get("a"), Some(&Bson::Int64(5)));
        assert!(matches!(d.get("b"), Some(Bson::ObjectId(_))));
        assert_eq!(d.get("c"), Some(&Bson::Double(1.5)));
        assert!(parse_document("[1]").is_err());
        assert!(parse_document("{").is_err());
        let back = document_to_json(&d, Mode::Canonical);
        assert_eq!(back["a"], serde_json::json!({"$numberLong": "5"}));
    }
}
