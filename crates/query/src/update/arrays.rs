//! Array operators: `$push` (with `$each`, `$position`, `$sort`, `$slice`), `$addToSet`
//! (with `$each`), `$pop`, `$pull` (value or condition), `$pullAll`.
//!
//! `$push` and `$addToSet` create the array when the field is missing and refuse non-array
//! fields; `$pop`, `$pull` and `$pullAll` are no-ops on missing fields. `$push` applies its
//! modifiers in MongoDB's order: insert at `$position`, then `$sort`, then `$slice`.
//! `$pull` conditions are filters: an operator condition (`{$gte: 6}`, a regex) is matched
//! against each element itself; a field condition (`{score: 8}`, `{$or: …}`) matches only
//! document elements, as a query on them.

use std::cmp::Ordering;

use bson::{Bson, Document};

use super::apply::LeafCtx;
use super::path;
use super::render;
use crate::compare::{Number, compare, values_equal};
use crate::error::{MongoCode, QueryError, Result};
use crate::filter::Filter;

/// Field name under which `$pull` wraps an element to match an operator condition.
const PULL_WRAP_FIELD: &str = "v";

/// How `$push` sorts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PushSort {
    /// Whole elements, ascending (`1`) or descending (`-1`).
    Whole(bool),
    /// By subfields: `(dotted path, ascending)` in order.
    Fields(Vec<(Vec<String>, bool)>),
}

/// A parsed `$push` value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PushSpec {
    /// Values to insert.
    pub(crate) each: Vec<Bson>,
    /// `$position`.
    pub(crate) position: Option<i64>,
    /// `$slice`.
    pub(crate) slice: Option<i64>,
    /// `$sort`.
    pub(crate) sort: Option<PushSort>,
}

/// A `$pull` condition.
#[derive(Debug, Clone)]
pub(crate) enum PullCond {
    /// Remove elements equal to the value.
    Equals(Bson),
    /// Remove elements `e` for which `{v: e}` matches the filter `{v: <condition>}`.
    Value(Box<Filter>),
    /// Remove document elements matching the filter.
    Document(Box<Filter>),
}

/// Parses a `$push` value.
pub(crate) fn parse_push(v: &Bson) -> Result<PushSpec> {
    let Bson::Document(d) = v else {
        return Ok(plain_push(v));
    };
    if !d.contains_key("$each") {
        return Ok(plain_push(v));
    }
    let mut spec = PushSpec {
        each: Vec::new(),
        position: None,
        slice: None,
        sort: None,
    };
    for (k, x) in d {
        match k.as_str() {
            "$each" => match x {
                Bson::Array(a) => spec.each = a.clone(),
                other => {
                    return Err(QueryError::bad_value(format!(
                        "The argument to $each in $push must be an array but it was of type: {}",
                        render::type_name(other)
                    )));
                }
            },
            "$slice" => {
                spec.slice = Some(integral(x).ok_or_else(|| {
                    QueryError::bad_value(format!(
                        "The value for $slice must be an integer value but was given type: {}",
                        render::type_name(x)
                    ))
                })?);
            }
            "$position" => {
                spec.position = Some(integral(x).ok_or_else(|| {
                    QueryError::bad_value(format!(
                        "The value for $position must be an integer value, not of type: {}",
                        render::type_name(x)
                    ))
                })?);
            }
            "$sort" => spec.sort = Some(parse_sort(x)?),
            _ => {
                return Err(QueryError::bad_value(format!(
                    "Unrecognized clause in $push: {k}"
                )));
            }
        }
    }
    Ok(spec)
}

fn plain_push(v: &Bson) -> PushSpec {
    PushSpec {
        each: vec![v.clone()],
        position: None,
        slice: None,
        sort: None,
    }
}

/// An integer value of any numeric type with no fractional part.
fn integral(v: &Bson) -> Option<i64> {
    match Number::of(v)? {
        Number::Int(i) => Some(i),
        Number::Double(d) | Number::Decimal(d) => {
            (d.fract() == 0.0 && d.abs() < 9.0e18).then_some(d as i64)
        }
    }
}

fn direction(v: &Bson) -> Option<bool> {
    match integral(v)? {
        1 => Some(true),
        -1 => Some(false),
        _ => None,
    }
}

fn parse_sort(v: &Bson) -> Result<PushSort> {
    const INVALID: &str = "The $sort is invalid: use 1/-1 to sort the whole element, or {field:1/-1} to sort embedded fields";
    match v {
        Bson::Document(d) => {
            if d.is_empty() {
                return Err(QueryError::bad_value(
                    "The $sort pattern is empty when it should be a set of fields.",
                ));
            }
            let mut keys = Vec::with_capacity(d.len());
            for (k, x) in d {
                let dir = direction(x).ok_or_else(|| {
                    QueryError::bad_value("The $sort element value must be either 1 or -1")
                })?;
                if k.is_empty() {
                    return Err(QueryError::bad_value("The $sort field cannot be empty"));
                }
                if k.split('.').any(str::is_empty) {
                    return Err(QueryError::bad_value(format!(
                        "The $sort field is a dotted field but has an empty part: {k}"
                    )));
                }
                keys.push((k.split('.').map(str::to_string).collect(), dir));
            }
            Ok(PushSort::Fields(keys))
        }
        other => direction(other)
            .map(PushSort::Whole)
            .ok_or_else(|| QueryError::bad_value(INVALID)),
    }
}

/// Parses an `$addToSet` value into the values to add.
pub(crate) fn parse_add_to_set(v: &Bson) -> Result<Vec<Bson>> {
    let Bson::Document(d) = v else {
        return Ok(vec![v.clone()]);
    };
    let Some((first, each)) = d.iter().next() else {
        return Ok(vec![v.clone()]);
    };
    if first != "$each" {
        return Ok(vec![v.clone()]);
    }
    let Bson::Array(items) = each else {
        return Err(QueryError::type_mismatch(format!(
            "The argument to $each in $addToSet must be an array but it was of type {}",
            render::type_name(each)
        )));
    };
    if d.len() > 1 {
        return Err(QueryError::bad_value(format!(
            "Found unexpected fields after $each in $addToSet: {}",
            render::value(v)
        )));
    }
    Ok(items.clone())
}

/// Parses a `$pop` value: `true` for the first element (`-1`), `false` for the last (`1`).
pub(crate) fn parse_pop(field: &str, v: &Bson) -> Result<bool> {
    let Some(n) = Number::of(v) else {
        return Err(QueryError::failed_to_parse(format!(
            "Expected a number in: {}",
            render::element(field, v)
        )));
    };
    let x = n.as_f64();
    if x == 1.0 {
        Ok(false)
    } else if x == -1.0 {
        Ok(true)
    } else {
        Err(QueryError::failed_to_parse(format!(
            "$pop expects 1 or -1, found: {}",
            render::value(v)
        )))
    }
}

/// Top-level keys that make a `$pull` condition a query on document elements even though
/// they start with `$` (they do not accept a path).
const NON_PATH_OPERATORS: &[&str] = &[
    "$and",
    "$or",
    "$nor",
    "$expr",
    "$where",
    "$text",
    "$comment",
    "$jsonSchema",
    "$alwaysTrue",
    "$alwaysFalse",
];

/// Parses a `$pull` value; conditions nest at most `max_depth` levels.
pub(crate) fn parse_pull(v: &Bson, max_depth: usize) -> Result<PullCond> {
    match v {
        Bson::Document(d) => {
            let first = d.keys().next().map(String::as_str).unwrap_or_default();
            if first.starts_with('$') && !NON_PATH_OPERATORS.contains(&first) {
                let mut wrapped = Document::new();
                wrapped.insert(PULL_WRAP_FIELD, v.clone());
                Ok(PullCond::Value(Box::new(Filter::parse_with_depth(
                    &wrapped, max_depth,
                )?)))
            } else {
                Ok(PullCond::Document(Box::new(Filter::parse_with_depth(
                    d, max_depth,
                )?)))
            }
        }
        Bson::RegularExpression(_) => {
            let mut wrapped = Document::new();
            wrapped.insert(PULL_WRAP_FIELD, v.clone());
            Ok(PullCond::Value(Box::new(Filter::parse_with_depth(
                &wrapped, max_depth,
            )?)))
        }
        other => Ok(PullCond::Equals(other.clone())),
    }
}

/// Parses a `$pullAll` value.
pub(crate) fn parse_pull_all(v: &Bson) -> Result<Vec<Bson>> {
    match v {
        Bson::Array(a) => Ok(a.clone()),
        other => Err(QueryError::bad_value(format!(
            "$pullAll requires an array argument but was given a {}",
            render::type_name(other)
        ))),
    }
}

fn must_be_array(p: &[String], v: &Bson, lc: &LeafCtx<'_>) -> QueryError {
    QueryError::bad_value(format!(
        "The field '{}' must be an array but is of type {} in document {}",
        p.join("."),
        render::type_name(v),
        render::id_or_no_id(lc.original)
    ))
}

/// `$push` at a concrete path.
pub(crate) fn apply_push(
    doc: &mut Document,
    p: &[String],
    spec: &PushSpec,
    lc: &LeafCtx<'_>,
) -> Result<()> {
    let mut arr = match path::get(doc, p) {
        None => Vec::new(),
        Some(Bson::Array(a)) => a.clone(),
        Some(other) => return Err(must_be_array(p, other, lc)),
    };
    let len = arr.len() as i64;
    let at = match spec.position {
        None => arr.len(),
        Some(pos) if pos >= 0 => pos.min(len) as usize,
        Some(pos) => (len + pos).max(0) as usize,
    };
    arr.splice(at..at, spec.each.iter().cloned());
    if let Some(sort) = &spec.sort {
        sort_array(&mut arr, sort);
    }
    if let Some(n) = spec.slice {
        let len = arr.len() as i64;
        if n >= 0 {
            arr.truncate(n.min(len) as usize);
        } else {
            let keep = n.checked_neg().unwrap_or(i64::MAX).min(len) as usize;
            arr.drain(..arr.len() - keep);
        }
    }
    super::fields::apply_set(doc, p, &Bson::Array(arr))
}

fn sort_array(arr: &mut [Bson], sort: &PushSort) {
    match sort {
        PushSort::Whole(asc) => arr.sort_by(|a, b| {
            let o = compare(a, b);
            if *asc { o } else { o.reverse() }
        }),
        PushSort::Fields(keys) => arr.sort_by(|a, b| {
            for (k, asc) in keys {
                let o = compare(&sort_key(a, k), &sort_key(b, k));
                let o = if *asc { o } else { o.reverse() };
                if o != Ordering::Equal {
                    return o;
                }
            }
            Ordering::Equal
        }),
    }
}

fn sort_key(v: &Bson, key: &[String]) -> Bson {
    let mut cur = v;
    for k in key {
        match cur {
            Bson::Document(d) => match d.get(k) {
                Some(x) => cur = x,
                None => return Bson::Null,
            },
            _ => return Bson::Null,
        }
    }
    cur.clone()
}

/// `$addToSet` at a concrete path.
pub(crate) fn apply_add_to_set(doc: &mut Document, p: &[String], values: &[Bson]) -> Result<()> {
    let mut arr = match path::get(doc, p) {
        None => Vec::new(),
        Some(Bson::Array(a)) => a.clone(),
        Some(other) => {
            return Err(QueryError::bad_value(format!(
                "Cannot apply $addToSet to non-array field. Field named '{}' has non-array type {}",
                p.last().map(String::as_str).unwrap_or_default(),
                render::type_name(other)
            )));
        }
    };
    let before = arr.len();
    for v in values {
        if !arr.iter().any(|x| values_equal(x, v)) {
            arr.push(v.clone());
        }
    }
    if before == arr.len() && path::get(doc, p).is_some() {
        return Ok(());
    }
    path::set(doc, p, Bson::Array(arr))
}

/// `$pop` at a concrete path.
pub(crate) fn apply_pop(doc: &mut Document, p: &[String], first: bool) -> Result<()> {
    if path::get(doc, p).is_none() {
        // Missing is a no-op, but a scalar blocking the path is an error (as on mongod).
        return match path::blocking_element(doc, p) {
            Some((taken, name, value)) => Err(QueryError::new(
                MongoCode::PathNotViable,
                format!(
                    "Cannot use the part ({}) of ({}) to traverse the element ({{{}}})",
                    p[taken],
                    p.join("."),
                    render::element(name, value)
                ),
            )),
            None => Ok(()),
        };
    }
    match path::get_mut(doc, p) {
        None => Ok(()),
        Some(Bson::Array(a)) => {
            if !a.is_empty() {
                if first {
                    a.remove(0);
                } else {
                    a.pop();
                }
            }
            Ok(())
        }
        Some(other) => Err(QueryError::new(
            MongoCode::TypeMismatch,
            format!(
                "Path '{}' contains an element of non-array type '{}'",
                p.join("."),
                render::type_name(other)
            ),
        )),
    }
}

/// `$pull` at a concrete path.
pub(crate) fn apply_pull(doc: &mut Document, p: &[String], cond: &PullCond) -> Result<()> {
    remove_where(doc, p, |e| match cond {
        PullCond::Equals(v) => values_equal(e, v),
        PullCond::Value(f) => {
            let mut wrapped = Document::new();
            wrapped.insert(PULL_WRAP_FIELD, e.clone());
            f.matches(&wrapped)
        }
        PullCond::Document(f) => match e {
            Bson::Document(d) => f.matches(d),
            _ => false,
        },
    })
}

/// `$pullAll` at a concrete path.
pub(crate) fn apply_pull_all(doc: &mut Document, p: &[String], values: &[Bson]) -> Result<()> {
    remove_where(doc, p, |e| values.iter().any(|v| values_equal(e, v)))
}

fn remove_where(doc: &mut Document, p: &[String], pred: impl Fn(&Bson) -> bool) -> Result<()> {
    match path::get_mut(doc, p) {
        None => Ok(()),
        Some(Bson::Array(a)) => {
            a.retain(|e| !pred(e));
            Ok(())
        }
        Some(_) => Err(QueryError::bad_value(
            "Cannot apply $pull to a non-array value",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::bson;

    #[test]
    fn push_modifiers_parse() {
        let s = parse_push(&bson!({"$each": [3, 1], "$sort": 1, "$slice": -1})).expect("parses");
        assert_eq!(s.each, vec![bson!(3), bson!(1)]);
        assert_eq!(s.sort, Some(PushSort::Whole(true)));
        assert_eq!(s.slice, Some(-1));
        let s = parse_push(&bson!({"b": 1})).expect("plain document");
        assert_eq!(s.each, vec![bson!({"b": 1})]);
        assert!(parse_push(&bson!({"$each": 1})).is_err());
        assert!(parse_push(&bson!({"$each": [], "$slice": 1.5})).is_err());
        assert!(parse_push(&bson!({"$each": [], "$sort": 2})).is_err());
        assert!(parse_push(&bson!({"$each": [], "$foo": 2})).is_err());
    }

    #[test]
    fn pop_values() {
        assert_eq!(parse_pop("a", &bson!(1)).ok(), Some(false));
        assert_eq!(parse_pop("a", &bson!(-1.0)).ok(), Some(true));
        assert_eq!(
            parse_pop("a", &bson!(2)).map_err(|e| e.code),
            Err(MongoCode::FailedToParse)
        );
    }
}
