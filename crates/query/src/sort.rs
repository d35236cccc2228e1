//! Sort specifications (`{a: 1, "b.c": -1}`) and document comparison with MongoDB's rules for
//! arrays (ascending sorts by the smallest element, descending by the largest).
//!
//! The sort key of a document for one path is computed like an index key: every value reached
//! along the dotted path (array elements expanded, one level at the leaf; documents inside
//! arrays descended), with a missing field as `null` and an empty array as `undefined` (so `[]`
//! sorts before `null`, as in MongoDB). Ascending order uses the smallest of these values,
//! descending the largest, compared in BSON order ([`crate::compare::compare`]).
//!
//! Invariant: [`SortSpec::compare`] equals comparing [`SortSpec::sort_key`]s with
//! [`SortSpec::compare_keys`]; callers sorting many documents should precompute the keys.

use std::cmp::Ordering;

use bson::{Bson, Document};

use crate::compare::{Number, compare};
use crate::error::{QueryError, Result};

/// A parsed sort specification.
#[derive(Debug, Clone, PartialEq)]
pub struct SortSpec {
    keys: Vec<(String, bool)>,
    paths: Vec<Vec<String>>,
}

static NULL: Bson = Bson::Null;
static UNDEFINED: Bson = Bson::Undefined;

impl SortSpec {
    /// Parses `{path: 1 | -1, ...}`. Directions may be any numeric type equal to 1 or -1.
    ///
    /// Errors: `Location15975` for any other direction (including `{$meta: ...}`, which is not
    /// supported), `Location40352` for an empty path component, `Location16410` for a path
    /// component starting with `$`.
    pub fn parse(spec: &Document) -> Result<SortSpec> {
        let mut keys = Vec::with_capacity(spec.len());
        let mut paths = Vec::with_capacity(spec.len());
        for (k, v) in spec {
            let ascending = match Number::of(v).map(Number::as_f64) {
                Some(1.0) => true,
                Some(-1.0) => false,
                _ => {
                    return Err(QueryError::location(
                        15975,
                        format!(
                            "$sort key ordering must be 1 (for ascending) or -1 (for descending) (field {k})"
                        ),
                    ));
                }
            };
            let parts: Vec<String> = k.split('.').map(str::to_string).collect();
            if parts.iter().any(String::is_empty) {
                return Err(QueryError::location(
                    40352,
                    format!("FieldPath field names may not be empty strings (sort key {k:?})"),
                ));
            }
            if parts.iter().any(|p| p.starts_with('$')) {
                return Err(QueryError::location(
                    16410,
                    format!("FieldPath field names may not start with '$'. Given: {k}"),
                ));
            }
            keys.push((k.clone(), ascending));
            paths.push(parts);
        }
        Ok(SortSpec { keys, paths })
    }

    /// The sort keys in priority order: dotted path and whether ascending.
    pub fn keys(&self) -> &[(String, bool)] {
        &self.keys
    }

    /// Whether the specification has no keys (every document compares equal).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Compares two documents in this sort order (`Less` = `a` comes first).
    pub fn compare(&self, a: &Document, b: &Document) -> Ordering {
        for (path, (_, asc)) in self.paths.iter().zip(&self.keys) {
            let ka = key_for(a, path, *asc);
            let kb = key_for(b, path, *asc);
            let o = compare(ka, kb);
            let o = if *asc { o } else { o.reverse() };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    }

    /// The document's sort key: one value per sort path (the smallest candidate for ascending
    /// paths, the largest for descending ones).
    pub fn sort_key(&self, doc: &Document) -> Vec<Bson> {
        self.paths
            .iter()
            .zip(&self.keys)
            .map(|(path, (_, asc))| key_for(doc, path, *asc).clone())
            .collect()
    }

    /// Compares two keys produced by [`SortSpec::sort_key`].
    pub fn compare_keys(&self, a: &[Bson], b: &[Bson]) -> Ordering {
        for ((x, y), (_, asc)) in a.iter().zip(b).zip(&self.keys) {
            let o = compare(x, y);
            let o = if *asc { o } else { o.reverse() };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    }
}

/// The sort key of `doc` for one path.
fn key_for<'a>(doc: &'a Document, path: &[String], ascending: bool) -> &'a Bson {
    let mut best = Best {
        value: None,
        ascending,
    };
    match path.split_first() {
        Some((head, _)) => match doc.get(head) {
            Some(v) => collect(v, path, 1, &mut best),
            None => best.offer(&NULL),
        },
        None => best.offer(&NULL),
    }
    best.value.unwrap_or(&NULL)
}

/// The smallest (ascending) or largest (descending) candidate seen so far; no allocation.
struct Best<'a> {
    value: Option<&'a Bson>,
    ascending: bool,
}

impl<'a> Best<'a> {
    fn offer(&mut self, v: &'a Bson) {
        let better = match self.value {
            None => true,
            Some(cur) => {
                let o = compare(v, cur);
                if self.ascending {
                    o == Ordering::Less
                } else {
                    o == Ordering::Greater
                }
            }
        };
        if better {
            self.value = Some(v);
        }
    }
}

/// Offers the candidates below `v`, which was reached at component `at - 1`.
fn collect<'a>(v: &'a Bson, path: &[String], at: usize, best: &mut Best<'a>) {
    let Some(part) = path.get(at) else {
        match v {
            Bson::Array(items) if items.is_empty() => best.offer(&UNDEFINED),
            Bson::Array(items) => items.iter().for_each(|e| best.offer(e)),
            other => best.offer(other),
        }
        return;
    };
    match v {
        Bson::Document(d) => match d.get(part) {
            Some(x) => collect(x, path, at + 1, best),
            None => best.offer(&NULL),
        },
        Bson::Array(items) => {
            if let Some(i) = positional(part)
                && let Some(e) = items.get(i)
            {
                collect(e, path, at + 1, best);
                return;
            }
            if items.is_empty() {
                best.offer(&UNDEFINED);
            }
            for e in items {
                match e {
                    Bson::Document(_) => collect(e, path, at, best),
                    _ => best.offer(&NULL),
                }
            }
        }
        _ => best.offer(&NULL),
    }
}

fn positional(p: &str) -> Option<usize> {
    if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) || (p.len() > 1 && p.starts_with('0'))
    {
        return None;
    }
    p.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    #[test]
    fn arrays_use_min_or_max() {
        let asc = SortSpec::parse(&doc! {"a": 1}).expect("valid");
        let desc = SortSpec::parse(&doc! {"a": -1}).expect("valid");
        let x = doc! {"a": [1, 10]};
        let y = doc! {"a": 5};
        assert_eq!(asc.compare(&x, &y), Ordering::Less);
        assert_eq!(desc.compare(&x, &y), Ordering::Less);
        assert_eq!(asc.sort_key(&x), vec![Bson::Int32(1)]);
        assert_eq!(desc.sort_key(&x), vec![Bson::Int32(10)]);
    }

    #[test]
    fn empty_array_before_null() {
        let asc = SortSpec::parse(&doc! {"a": 1}).expect("valid");
        assert_eq!(asc.compare(&doc! {"a": []}, &doc! {}), Ordering::Less);
        assert_eq!(asc.compare(&doc! {"a": null}, &doc! {}), Ordering::Equal);
    }
}
