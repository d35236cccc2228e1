//! The base document of an upsert: the equality predicates of the filter.
//!
//! `{a: 1, "b.c": 2, $and: [{d: 3}], e: {$eq: 4}, f: {$gt: 0}}` yields
//! `{a: 1, b: {c: 2}, d: 3, e: 4}`. Equalities come from plain values, `{$eq: v}`, a one-value
//! `{$in: [v]}`, `$and` clauses and a one-clause `$or`; other operators, regexes and `$nor`
//! contribute nothing. Paths are created in component-wise lexicographic order (as MongoDB
//! 5.0+ applies them) with `_id` first. Two equalities on the same path, or on a path and its
//! prefix, are refused (`NotSingleValueField` 54).

use bson::{Bson, Document};

use super::path;
use crate::error::{MongoCode, QueryError, Result};
use crate::limits::Limits;

/// Collects the filter's equality predicates into a document.
pub(crate) fn equality_document(filter: &Document, limits: &Limits) -> Result<Document> {
    let mut eqs: Vec<(Vec<String>, Bson)> = Vec::new();
    collect(filter, &mut eqs, 0, limits)?;
    eqs.sort_by(|a, b| {
        let ida = a.0.first().map(String::as_str) == Some("_id");
        let idb = b.0.first().map(String::as_str) == Some("_id");
        idb.cmp(&ida).then_with(|| path::compare_paths(&a.0, &b.0))
    });
    for w in eqs.windows(2) {
        if w[0].0 == w[1].0 {
            return Err(QueryError::new(
                MongoCode::NotSingleValueField,
                format!(
                    "cannot infer query fields to set, path '{}' is matched twice",
                    w[0].0.join(".")
                ),
            ));
        }
        if path::is_prefix(&w[0].0, &w[1].0) {
            return Err(QueryError::new(
                MongoCode::NotSingleValueField,
                format!(
                    "cannot infer query fields to set, both paths '{}' and '{}' are matched",
                    w[1].0.join("."),
                    w[0].0.join(".")
                ),
            ));
        }
    }
    let mut out = Document::new();
    for (p, v) in eqs {
        path::set(&mut out, &p, v)?;
    }
    Ok(out)
}

fn collect(
    filter: &Document,
    out: &mut Vec<(Vec<String>, Bson)>,
    depth: usize,
    limits: &Limits,
) -> Result<()> {
    if depth > limits.max_nesting_depth {
        return Err(QueryError::bad_value(format!(
            "filter nesting exceeds the limit of {} levels",
            limits.max_nesting_depth
        )));
    }
    for (k, v) in filter {
        match k.as_str() {
            "$and" => {
                if let Bson::Array(items) = v {
                    for item in items {
                        if let Bson::Document(d) = item {
                            collect(d, out, depth + 1, limits)?;
                        }
                    }
                }
            }
            "$or" => {
                if let Bson::Array(items) = v
                    && let [Bson::Document(d)] = items.as_slice()
                {
                    collect(d, out, depth + 1, limits)?;
                }
            }
            _ if k.starts_with('$') => {}
            _ => {
                if let Some(value) = equality_value(v) {
                    let p: Vec<String> = k.split('.').map(str::to_string).collect();
                    if p.iter().any(String::is_empty) || p.len() > limits.max_nesting_depth {
                        continue;
                    }
                    out.push((p, value));
                }
            }
        }
    }
    Ok(())
}

/// The value a field predicate fixes, if it is an equality.
fn equality_value(v: &Bson) -> Option<Bson> {
    match v {
        Bson::RegularExpression(_) => None,
        Bson::Document(d) if d.keys().next().is_some_and(|k| k.starts_with('$')) => {
            if let Some(eq) = d.get("$eq") {
                return match eq {
                    Bson::RegularExpression(_) => None,
                    other => Some(other.clone()),
                };
            }
            match d.get("$in") {
                Some(Bson::Array(items)) if items.len() == 1 => match &items[0] {
                    Bson::RegularExpression(_) => None,
                    other => Some(other.clone()),
                },
                _ => None,
            }
        }
        other => Some(other.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    #[test]
    fn equalities_become_fields() {
        let f =
            doc! {"b.c": 2, "a": 1, "$and": [{"d": 3}], "e": {"$eq": 4}, "f": {"$gt": 0}, "_id": 7};
        let d = equality_document(&f, &Limits::default()).expect("ok");
        assert_eq!(d, doc! {"_id": 7, "a": 1, "b": {"c": 2}, "d": 3, "e": 4});
        assert_eq!(d.keys().next().map(String::as_str), Some("_id"));
        let e = equality_document(&doc! {"a": 1, "$and": [{"a": 2}]}, &Limits::default())
            .expect_err("twice");
        assert_eq!(e.code, MongoCode::NotSingleValueField);
        let e =
            equality_document(&doc! {"a": 1, "a.b": 2}, &Limits::default()).expect_err("prefix");
        assert_eq!(e.code, MongoCode::NotSingleValueField);
    }
}
