//! Typed access to command fields with MongoDB's error codes for wrong types
//! (TypeMismatch 14 naming the field, e.g. "BSON field 'find.limit' is the wrong type").

use bson::{Bson, Document};

use crate::wire::error::CommandError;

/// MongoDB's name of a BSON type (for messages).
pub(crate) fn type_name(v: &Bson) -> &'static str {
    match v {
        Bson::Double(_) => "double",
        Bson::String(_) => "string",
        Bson::Document(_) => "object",
        Bson::Array(_) => "array",
        Bson::Binary(_) => "binData",
        Bson::ObjectId(_) => "objectId",
        Bson::Boolean(_) => "bool",
        Bson::DateTime(_) => "date",
        Bson::Null => "null",
        Bson::RegularExpression(_) => "regex",
        Bson::Int32(_) => "int",
        Bson::Int64(_) => "long",
        Bson::Timestamp(_) => "timestamp",
        Bson::Decimal128(_) => "decimal",
        _ => "other",
    }
}

fn wrong_type(cmd: &str, field: &str, expected: &str, v: &Bson) -> CommandError {
    CommandError::type_mismatch(format!(
        "BSON field '{cmd}.{field}' is the wrong type '{}', expected type '{expected}'",
        type_name(v)
    ))
}

/// An optional document field (`null` counts as absent).
pub(crate) fn opt_doc(
    body: &Document,
    cmd: &str,
    field: &str,
) -> Result<Option<Document>, CommandError> {
    match body.get(field) {
        None | Some(Bson::Null) => Ok(None),
        Some(Bson::Document(d)) => Ok(Some(d.clone())),
        Some(v) => Err(wrong_type(cmd, field, "object", v)),
    }
}

/// An optional integer field (int, long or integral double).
pub(crate) fn opt_i64(
    body: &Document,
    cmd: &str,
    field: &str,
) -> Result<Option<i64>, CommandError> {
    match body.get(field) {
        None | Some(Bson::Null) => Ok(None),
        Some(Bson::Int32(i)) => Ok(Some(i64::from(*i))),
        Some(Bson::Int64(i)) => Ok(Some(*i)),
        Some(Bson::Double(f)) if f.fract() == 0.0 && f.is_finite() => Ok(Some(*f as i64)),
        Some(v) => Err(wrong_type(cmd, field, "long", v)),
    }
}

/// An optional non-negative integer field.
pub(crate) fn opt_u64(
    body: &Document,
    cmd: &str,
    field: &str,
) -> Result<Option<u64>, CommandError> {
    match opt_i64(body, cmd, field)? {
        None => Ok(None),
        Some(n) if n >= 0 => Ok(Some(n as u64)),
        Some(n) => Err(CommandError::bad_value(format!(
            "BSON field '{cmd}.{field}' value must be >= 0, actual value '{n}'"
        ))),
    }
}

/// An optional boolean field (numbers count as booleans, as MongoDB accepts).
pub(crate) fn opt_bool(
    body: &Document,
    cmd: &str,
    field: &str,
) -> Result<Option<bool>, CommandError> {
    match body.get(field) {
        None | Some(Bson::Null) => Ok(None),
        Some(Bson::Boolean(b)) => Ok(Some(*b)),
        Some(Bson::Int32(i)) => Ok(Some(*i != 0)),
        Some(Bson::Int64(i)) => Ok(Some(*i != 0)),
        Some(Bson::Double(f)) => Ok(Some(*f != 0.0)),
        Some(v) => Err(wrong_type(cmd, field, "bool", v)),
    }
}

/// A required array field.
pub(crate) fn req_array<'a>(
    body: &'a Document,
    cmd: &str,
    field: &str,
) -> Result<&'a Vec<Bson>, CommandError> {
    match body.get(field) {
        Some(Bson::Array(a)) => Ok(a),
        None => Err(CommandError::missing_field(cmd, field)),
        Some(v) => Err(wrong_type(cmd, field, "array", v)),
    }
}

/// An optional string field.
pub(crate) fn opt_str<'a>(
    body: &'a Document,
    cmd: &str,
    field: &str,
) -> Result<Option<&'a str>, CommandError> {
    match body.get(field) {
        None | Some(Bson::Null) => Ok(None),
        Some(Bson::String(s)) => Ok(Some(s)),
        Some(v) => Err(wrong_type(cmd, field, "string", v)),
    }
}

/// The elements of an array that must all be documents.
pub(crate) fn docs_of(
    items: &[Bson],
    cmd: &str,
    field: &str,
) -> Result<Vec<Document>, CommandError> {
    items
        .iter()
        .map(|b| match b {
            Bson::Document(d) => Ok(d.clone()),
            v => Err(wrong_type(cmd, &format!("{field}.0"), "object", v)),
        })
        .collect()
}

/// `cursor.batchSize` of an aggregate/listX command (`None` when absent).
pub(crate) fn cursor_batch_size(body: &Document, cmd: &str) -> Result<Option<u64>, CommandError> {
    match opt_doc(body, cmd, "cursor")? {
        Some(c) => opt_u64(&c, cmd, "batchSize"),
        None => Ok(None),
    }
}

/// Refuses options Stratus cannot honour instead of silently ignoring them (which would
/// return wrong results): a non-simple `collation` (at the top level and per statement) and,
/// where the store has no support for it, `let`.
pub(crate) fn refuse_unsupported(
    body: &Document,
    cmd: &str,
    allow_let: bool,
) -> Result<(), CommandError> {
    if let Some(c) = body.get("collation") {
        let simple = matches!(c, Bson::Document(d) if d.get_str("locale").ok() == Some("simple"));
        if !simple {
            return Err(CommandError::not_supported(format!(
                "{cmd}: collation other than {{locale: \"simple\"}} is not supported by Stratus"
            )));
        }
    }
    if !allow_let && body.get("let").is_some() {
        return Err(CommandError::not_supported(format!(
            "{cmd}: the 'let' option is not supported by Stratus for this command"
        )));
    }
    Ok(())
}
