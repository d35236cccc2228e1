//! Rendering of values inside error messages, in the shape MongoDB's server prints them
//! (`{a: 1}`, `{ b: "x" }`, `[ 1, 2 ]`), plus BSON type names as MongoDB spells them.
//!
//! Invariant: rendering never fails and is bounded: long values are cut at
//! [`MAX_RENDERED_CHARS`] characters so an error message stays small.

use bson::{Bson, Document};

/// Longest rendering of a value inside an error message, in characters.
pub(crate) const MAX_RENDERED_CHARS: usize = 1024;

/// MongoDB's name of the BSON type of `v` (`"string"`, `"int"`, `"object"`, …).
pub(crate) fn type_name(v: &Bson) -> &'static str {
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

/// A value as MongoDB prints it in messages: `1`, `"x"`, `{ a: 1 }`, `[ 1, 2 ]`.
pub(crate) fn value(v: &Bson) -> String {
    let mut out = String::new();
    write_value(v, &mut out);
    truncate(out)
}

/// One element as MongoDB prints it: `a: 1`.
pub(crate) fn element(name: &str, v: &Bson) -> String {
    truncate(format!("{name}: {}", value(v)))
}

/// `{_id: <value>}` of a document, or `{}` when it has no `_id` (used by messages that name
/// the document being updated).
pub(crate) fn id_of(d: &Document) -> String {
    match d.get("_id") {
        Some(id) => format!("{{{}}}", element("_id", id)),
        None => "{}".to_string(),
    }
}

/// `{_id: <value>}`, or `{no id}` when the document has none (messages of `$push` and of
/// arithmetic overflow).
pub(crate) fn id_or_no_id(d: &Document) -> String {
    match d.get("_id") {
        Some(id) => format!("{{{}}}", element("_id", id)),
        None => "{no id}".to_string(),
    }
}

fn truncate(mut s: String) -> String {
    if s.len() > MAX_RENDERED_CHARS {
        let mut cut = MAX_RENDERED_CHARS;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("...");
    }
    s
}

fn write_value(v: &Bson, out: &mut String) {
    if out.len() > MAX_RENDERED_CHARS {
        return;
    }
    match v {
        Bson::Double(d) => {
            if d.is_finite() && d.fract() == 0.0 && d.abs() < 1e16 {
                out.push_str(&format!("{d:.1}"));
            } else {
                out.push_str(&d.to_string());
            }
        }
        Bson::String(s) | Bson::Symbol(s) => {
            out.push('"');
            out.push_str(s);
            out.push('"');
        }
        Bson::Document(d) => {
            if d.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push_str("{ ");
            for (i, (k, x)) in d.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push_str(": ");
                write_value(x, out);
            }
            out.push_str(" }");
        }
        Bson::Array(a) => {
            if a.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push_str("[ ");
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(x, out);
            }
            out.push_str(" ]");
        }
        Bson::Int32(i) => out.push_str(&i.to_string()),
        Bson::Int64(i) => out.push_str(&i.to_string()),
        Bson::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Bson::Null => out.push_str("null"),
        Bson::Undefined => out.push_str("undefined"),
        Bson::ObjectId(o) => out.push_str(&format!("ObjectId('{o}')")),
        Bson::DateTime(d) => out.push_str(&format!("new Date({})", d.timestamp_millis())),
        Bson::Timestamp(t) => out.push_str(&format!("Timestamp({}, {})", t.time, t.increment)),
        Bson::Decimal128(d) => out.push_str(&format!("NumberDecimal(\"{d}\")")),
        Bson::RegularExpression(r) => out.push_str(&format!("/{}/{}", r.pattern, r.options)),
        Bson::MinKey => out.push_str("MinKey"),
        Bson::MaxKey => out.push_str("MaxKey"),
        other => out.push_str(&other.clone().into_relaxed_extjson().to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::{bson, doc};

    #[test]
    fn renders_like_the_server() {
        assert_eq!(value(&bson!(1)), "1");
        assert_eq!(value(&bson!(1.0)), "1.0");
        assert_eq!(value(&bson!(1.5)), "1.5");
        assert_eq!(value(&bson!("x")), "\"x\"");
        assert_eq!(
            value(&bson!({"a": 1, "b": [1, 2]})),
            "{ a: 1, b: [ 1, 2 ] }"
        );
        assert_eq!(element("a", &bson!([])), "a: []");
        assert_eq!(id_of(&doc! {"_id": "k"}), "{_id: \"k\"}");
        assert_eq!(id_of(&doc! {}), "{}");
        assert_eq!(type_name(&bson!(1_i64)), "long");
    }

    #[test]
    fn long_values_are_cut() {
        let long = Bson::String("x".repeat(5000));
        assert!(value(&long).len() <= MAX_RENDERED_CHARS + 3);
    }
}
