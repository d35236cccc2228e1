//! Field operators: `$set`, `$unset`, `$setOnInsert`, `$rename`, `$currentDate`.
//!
//! `$set` creates missing paths (documents all the way down) and is a no-op when the value is
//! already bit-identical; `$unset` deletes a field (or sets an array element to null) and is
//! a no-op on missing or non-viable paths; `$setOnInsert` acts like `$set` only when the
//! update inserts (upsert); `$rename` moves a value and refuses array elements on either path;
//! `$currentDate` sets the operation time as a date or a timestamp.

use bson::{Bson, Document, Timestamp};

use super::apply::LeafCtx;
use super::path::{self, ConcretePath, UpdatePath};
use super::render;
use crate::error::{MongoCode, QueryError, Result};
use crate::limits::Limits;

/// The BSON type `$currentDate` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DateKind {
    /// A UTC datetime.
    Date,
    /// A BSON timestamp (seconds, increment).
    Timestamp,
}

/// Parses the value of one `$currentDate` field: `true`/`false` or `{$type: "date"|"timestamp"}`
/// (mongod's messages, including its literal example in the `$type` error).
pub(crate) fn parse_current_date(v: &Bson) -> Result<DateKind> {
    const TYPE_REQUIRED: &str = "The '$type' string field is required to be 'date' or 'timestamp': {$currentDate: {field : {$type: 'date'}}}";
    match v {
        Bson::Boolean(_) => Ok(DateKind::Date),
        Bson::Document(d) => {
            let mut kind = None;
            for (k, x) in d {
                if k != "$type" {
                    return Err(QueryError::bad_value(format!(
                        "Unrecognized $currentDate option: {k}"
                    )));
                }
                match x {
                    Bson::String(s) if s == "date" => kind = Some(DateKind::Date),
                    Bson::String(s) if s == "timestamp" => kind = Some(DateKind::Timestamp),
                    _ => {}
                }
            }
            kind.ok_or_else(|| QueryError::bad_value(TYPE_REQUIRED))
        }
        _ => Err(QueryError::bad_value(format!(
            "{} is not valid type for $currentDate. Please use a boolean ('true') or a $type expression ({{$type: 'timestamp/date'}}).",
            render::type_name(v)
        ))),
    }
}

/// Parses the target of `$rename: {from: "to"}` and checks both paths.
pub(crate) fn parse_rename(
    from: &UpdatePath,
    to: &Bson,
    limits: &Limits,
) -> Result<(UpdatePath, ConcretePath)> {
    let Bson::String(to_s) = to else {
        return Err(QueryError::bad_value(format!(
            "The 'to' field for $rename must be a string: {}",
            render::element(&from.dotted, to)
        )));
    };
    if from.is_dynamic() {
        return Err(QueryError::bad_value(format!(
            "The source field for $rename may not be dynamic: {}",
            from.dotted
        )));
    }
    let to_path = UpdatePath::parse(to_s, limits)?;
    super::parse::check_top_level_name(&to_path)?;
    if to_path.is_dynamic() {
        return Err(QueryError::bad_value(format!(
            "The destination field for $rename may not be dynamic: {to_s}"
        )));
    }
    let from_c = from.concrete().expect("invariant: checked not dynamic");
    let to_c = to_path.concrete().expect("invariant: checked not dynamic");
    if from_c == to_c {
        return Err(QueryError::bad_value(format!(
            "The source and target field for $rename must differ: {}",
            render::element(&from.dotted, to)
        )));
    }
    if path::is_prefix(&from_c, &to_c) || path::is_prefix(&to_c, &from_c) {
        return Err(QueryError::bad_value(format!(
            "The source and target field for $rename must not be on the same path: {}",
            render::element(&from.dotted, to)
        )));
    }
    Ok((to_path, from_c))
}

/// `$set` (and `$setOnInsert` when inserting).
pub(crate) fn apply_set(doc: &mut Document, p: &[String], value: &Bson) -> Result<()> {
    if let Some(cur) = path::get(doc, p)
        && super::apply::identical(cur, value)
    {
        return Ok(());
    }
    path::set(doc, p, value.clone())
}

/// `$unset`.
pub(crate) fn apply_unset(doc: &mut Document, p: &[String]) {
    path::unset(doc, p);
}

/// `$rename` from `from` to `to` (both concrete).
pub(crate) fn apply_rename(
    doc: &mut Document,
    from: &[String],
    to: &[String],
    lc: &LeafCtx<'_>,
) -> Result<()> {
    path::check_traversable(doc, from)?;
    if path::get(doc, from).is_none() {
        return Ok(());
    }
    let id = match lc.original.get("_id") {
        Some(id) => render::element("_id", id),
        None => "no id".to_string(),
    };
    if let Some(arr) = path::array_on_path(doc, from) {
        return Err(QueryError::bad_value(format!(
            "The source field cannot be an array element, '{}' in doc with {id} has an array field called '{arr}'",
            from.join("."),
        )));
    }
    if let Some(arr) = path::array_on_path(doc, to) {
        return Err(QueryError::bad_value(format!(
            "The destination field cannot be an array element, '{}' in doc with {id} has an array field called '{arr}'",
            to.join("."),
        )));
    }
    if from.first().map(String::as_str) == Some("_id") && lc.original.contains_key("_id") {
        return Err(QueryError::new(
            MongoCode::ImmutableField,
            format!(
                "Unsetting the path '{}' using $rename would modify the immutable field '_id'",
                from.join(".")
            ),
        ));
    }
    path::check_viable(doc, to)?;
    let value = path::get(doc, from)
        .cloned()
        .expect("invariant: checked present above");
    path::unset(doc, from);
    path::set(doc, to, value)
}

/// `$currentDate`.
pub(crate) fn apply_current_date(
    doc: &mut Document,
    p: &[String],
    kind: DateKind,
    lc: &LeafCtx<'_>,
) -> Result<()> {
    let v = match kind {
        DateKind::Date => Bson::DateTime(lc.now),
        DateKind::Timestamp => Bson::Timestamp(Timestamp {
            time: u32::try_from(lc.now.timestamp_millis().div_euclid(1000)).unwrap_or(0),
            increment: 1,
        }),
    };
    path::set(doc, p, v)
}
