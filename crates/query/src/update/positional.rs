//! Positional update paths: `$` (the array index the query matched), `$[]` (every element)
//! and `$[<id>]` (the elements matching the array filter `<id>` from `arrayFilters`).
//!
//! An [`UpdatePath`] is expanded against the document *before* any modification into the
//! list of [`ConcretePath`]s it touches. Array filters are matched against each element
//! wrapped as `{<id>: element}`, so `{"i.grade": {$gte: 85}}` and `{i: {$gt: 1}}` both work
//! for document and scalar elements.
//!
//! Invariant: every `$[<id>]` in a parsed update names an array filter and every array filter
//! is used by some path (checked at parse time, as MongoDB does).

use std::collections::HashMap;

use bson::{Bson, Document};

use super::path::{self, Component, ConcretePath, UpdatePath};
use super::render;
use crate::error::{QueryError, Result};
use crate::filter::Filter;
use crate::limits::Limits;

/// Parsed `arrayFilters`: identifier → filter.
pub(crate) type ArrayFilters = HashMap<String, Filter>;

/// Logical operators whose operands are filters that carry the identifier.
const LOGICAL: &[&str] = &["$and", "$or", "$nor"];

/// Parses `arrayFilters`, checking each has exactly one identifier and identifiers are unique.
pub(crate) fn parse_array_filters(filters: &[Document], limits: &Limits) -> Result<ArrayFilters> {
    let mut out = ArrayFilters::new();
    for f in filters {
        let mut ids = Vec::new();
        collect_identifiers(f, &mut ids, 0)?;
        let Some(id) = ids.first().cloned() else {
            return Err(QueryError::failed_to_parse(
                "Cannot use an expression without a top-level field name in arrayFilters",
            ));
        };
        if let Some(other) = ids.iter().find(|x| **x != id) {
            return Err(QueryError::failed_to_parse(format!(
                "Error parsing array filter :: caused by :: Expected a single top-level field name, found '{id}' and '{other}'"
            )));
        }
        if !valid_identifier(&id) {
            return Err(QueryError::bad_value(format!(
                "Error parsing array filter :: caused by :: The top-level field name must be an alphanumeric string beginning with a lowercase letter, found '{id}'"
            )));
        }
        if out.contains_key(&id) {
            return Err(QueryError::failed_to_parse(format!(
                "Found multiple array filters with the same top-level field name {id}"
            )));
        }
        let filter = Filter::parse_with_depth(f, limits.max_nesting_depth).map_err(|e| {
            QueryError::new(
                e.code,
                format!("Error parsing array filter :: caused by :: {}", e.message),
            )
        })?;
        out.insert(id, filter);
    }
    Ok(out)
}

/// Depth bound for walking `$and`/`$or` inside one array filter.
const MAX_FILTER_WALK_DEPTH: usize = 100;

fn collect_identifiers(f: &Document, ids: &mut Vec<String>, depth: usize) -> Result<()> {
    if depth > MAX_FILTER_WALK_DEPTH {
        return Err(QueryError::bad_value(
            "array filter nesting exceeds the limit",
        ));
    }
    for (k, v) in f {
        if LOGICAL.contains(&k.as_str()) {
            if let Bson::Array(items) = v {
                for item in items {
                    if let Bson::Document(d) = item {
                        collect_identifiers(d, ids, depth + 1)?;
                    }
                }
            }
        } else if !k.starts_with('$') {
            let id = k.split('.').next().unwrap_or_default().to_string();
            ids.push(id);
        }
    }
    Ok(())
}

/// `[a-z][a-zA-Z0-9]*`.
fn valid_identifier(id: &str) -> bool {
    let mut chars = id.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_alphanumeric())
}

/// Everything expansion needs besides the document.
pub(crate) struct ExpandCtx<'a> {
    /// The index the query matched for `$`.
    pub(crate) positional: Option<usize>,
    /// Parsed array filters.
    pub(crate) filters: &'a ArrayFilters,
}

/// The concrete paths `p` touches in `doc`.
pub(crate) fn expand(
    doc: &Document,
    p: &UpdatePath,
    ctx: &ExpandCtx<'_>,
) -> Result<Vec<ConcretePath>> {
    if let Some(c) = p.concrete() {
        return Ok(vec![c]);
    }
    let mut out = Vec::new();
    let mut prefix = Vec::with_capacity(p.parts.len());
    // Paths never start with a positional component (checked by `UpdatePath::parse`).
    let Some((Component::Field(first), rest)) = p.parts.split_first() else {
        return Ok(out);
    };
    prefix.push(first.clone());
    walk(doc.get(first), rest, &mut prefix, p, ctx, &mut out)?;
    Ok(out)
}

fn walk(
    cur: Option<&Bson>,
    parts: &[Component],
    prefix: &mut Vec<String>,
    p: &UpdatePath,
    ctx: &ExpandCtx<'_>,
    out: &mut Vec<ConcretePath>,
) -> Result<()> {
    let Some((first, rest)) = parts.split_first() else {
        out.push(prefix.clone());
        return Ok(());
    };
    match first {
        Component::Field(f) => {
            let next = cur.and_then(|v| path::child(v, f));
            prefix.push(f.clone());
            let r = walk(next, rest, prefix, p, ctx, out);
            prefix.pop();
            r
        }
        Component::Positional => {
            let Some(i) = ctx.positional else {
                return Err(QueryError::bad_value(
                    "The positional operator did not find the match needed from the query.",
                ));
            };
            let key = i.to_string();
            let next = cur.and_then(|v| path::child(v, &key));
            prefix.push(key);
            let r = walk(next, rest, prefix, p, ctx, out);
            prefix.pop();
            r
        }
        Component::AllElements | Component::Filtered(_) => {
            let filter = match first {
                Component::Filtered(id) => Some((
                    id.as_str(),
                    ctx.filters.get(id).ok_or_else(|| {
                        QueryError::bad_value(format!(
                            "No array filter found for identifier '{id}' in path '{}'",
                            p.dotted
                        ))
                    })?,
                )),
                _ => None,
            };
            let items = match cur {
                Some(Bson::Array(items)) => items,
                Some(other) => {
                    let name = prefix.last().map(String::as_str).unwrap_or_default();
                    return Err(QueryError::bad_value(format!(
                        "Cannot apply array updates to non-array element {}",
                        render::element(name, other)
                    )));
                }
                None => {
                    return Err(QueryError::bad_value(format!(
                        "The path '{}' must exist in the document in order to apply array updates.",
                        prefix.join(".")
                    )));
                }
            };
            for (i, item) in items.iter().enumerate() {
                if let Some((id, f)) = filter {
                    let mut wrapped = Document::new();
                    wrapped.insert(id, item.clone());
                    if !f.matches(&wrapped) {
                        continue;
                    }
                }
                prefix.push(i.to_string());
                let r = walk(Some(item), rest, prefix, p, ctx, out);
                prefix.pop();
                r?;
            }
            Ok(())
        }
    }
}

/// The `$[<id>]` identifiers a path uses.
pub(crate) fn identifiers(p: &UpdatePath) -> impl Iterator<Item = &str> {
    p.parts.iter().filter_map(|c| match c {
        Component::Filtered(id) => Some(id.as_str()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    #[test]
    fn all_elements_expand_in_order() {
        let d = doc! {"a": [{"b": [1, 2]}, {"b": [3]}]};
        let p = UpdatePath::parse("a.$[].b.$[]", &Limits::default()).expect("path");
        let filters = ArrayFilters::new();
        let ctx = ExpandCtx {
            positional: None,
            filters: &filters,
        };
        let got = expand(&d, &p, &ctx).expect("expands");
        let want: Vec<Vec<String>> = ["a.0.b.0", "a.0.b.1", "a.1.b.0"]
            .iter()
            .map(|s| s.split('.').map(str::to_string).collect())
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn positional_needs_a_match_and_arrays_must_exist() {
        let d = doc! {"a": 1};
        let filters = ArrayFilters::new();
        let ctx = ExpandCtx {
            positional: None,
            filters: &filters,
        };
        let p = UpdatePath::parse("a.$", &Limits::default()).expect("path");
        let e = expand(&d, &p, &ctx).expect_err("no match");
        assert_eq!(
            e.message,
            "The positional operator did not find the match needed from the query."
        );
        let p = UpdatePath::parse("a.$[]", &Limits::default()).expect("path");
        let e = expand(&d, &p, &ctx).expect_err("not array");
        assert_eq!(
            e.message,
            "Cannot apply array updates to non-array element a: 1"
        );
        let p = UpdatePath::parse("x.y.$[]", &Limits::default()).expect("path");
        let e = expand(&d, &p, &ctx).expect_err("missing");
        assert_eq!(
            e.message,
            "The path 'x.y' must exist in the document in order to apply array updates."
        );
    }

    #[test]
    fn identifiers_are_validated() {
        assert!(valid_identifier("i"));
        assert!(valid_identifier("elem2"));
        assert!(!valid_identifier("I"));
        assert!(!valid_identifier("1a"));
        assert!(!valid_identifier("a_b"));
    }
}
