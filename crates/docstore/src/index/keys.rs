//! Compiled index definitions and index key extraction from documents.
//!
//! Key generation follows MongoDB's rules:
//! - a dotted path descends through embedded documents; a missing field gives `null`;
//! - an array on the path makes the index multikey: one key per element (an element that is
//!   not a document, where the path continues, gives `null`); an empty array at the end of
//!   the path gives `undefined`; a numeric path component selects an array position;
//! - a compound key is the cartesian product of its fields' values, and at most one array
//!   may be involved — two fields traversing different arrays is error 171
//!   (CannotIndexParallelArrays) "cannot index parallel arrays [b] [a]";
//! - sparse indexes skip documents lacking every key field; partial indexes skip documents
//!   not matching their filter.
//!
//! Invariant: the keys of one document are deduplicated by their encoding, so values equal
//! under MongoDB's order (`1`, `1.0`) give a single entry.

use std::collections::{BTreeMap, BTreeSet};

use bson::{Bson, Document};
use stratus_query::error::{MongoCode, QueryError, Result};
use stratus_query::filter::Filter;

use super::keycodec::{Direction, encode_component};
use super::spec::IndexSpec;

/// The most index keys one document may produce for one index (cartesian products of
/// multikey fields are bounded by this).
pub const MAX_KEYS_PER_DOCUMENT: usize = 100_000;

/// Operators a partial filter expression may use (MongoDB's list).
const PARTIAL_FILTER_OPERATORS: &[&str] = &[
    "$eq", "$exists", "$gt", "$gte", "$lt", "$lte", "$type", "$in",
];

/// One field of a compiled key pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyField {
    /// The dotted path as written in the key pattern.
    pub path: String,
    /// The path split at dots.
    pub parts: Vec<String>,
    /// Ascending or descending.
    pub direction: Direction,
}

/// An index ready for key extraction, maintenance and planning.
#[derive(Debug, Clone)]
pub struct IndexDef {
    /// The specification it was compiled from.
    pub spec: IndexSpec,
    /// The key pattern's fields, in order.
    pub fields: Vec<KeyField>,
    /// Whether some document produced several keys (an array on an indexed path). The planner
    /// only intersects range bounds and uses the index for sorting when this is false. It is
    /// `true` after [`IndexDef::compile`] (always safe); the owner sets it from storage with
    /// [`super::maintain::is_multikey`].
    pub multikey: bool,
    partial: Option<Filter>,
}

/// The keys a document produces for one index.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DocKeys {
    /// Encoded index key (without the primary key) → the key's component values.
    pub keys: BTreeMap<Vec<u8>, Vec<Bson>>,
    /// Whether an array was traversed (the document makes the index multikey).
    pub multikey: bool,
}

impl IndexDef {
    /// Compiles a specification (validating its partial filter).
    pub fn compile(spec: &IndexSpec) -> Result<IndexDef> {
        let fields = spec
            .key
            .iter()
            .map(|(path, dir)| KeyField {
                path: path.clone(),
                parts: path.split('.').map(str::to_string).collect(),
                direction: if stratus_query::compare::Number::of(dir)
                    .is_some_and(|n| n.as_f64() < 0.0)
                {
                    Direction::Descending
                } else {
                    Direction::Ascending
                },
            })
            .collect();
        let partial = match &spec.partial_filter {
            Some(p) => {
                validate_partial_filter(p, true)?;
                Some(Filter::parse(p)?)
            }
            None => None,
        };
        Ok(IndexDef {
            spec: spec.clone(),
            fields,
            multikey: true,
            partial,
        })
    }

    /// The index name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// Whether this is the `_id_` index (stored as the document table itself).
    pub fn is_id(&self) -> bool {
        self.spec.is_id()
    }

    /// Whether a document belongs in the index (partial filter) at all.
    pub fn covers(&self, doc: &Document) -> bool {
        self.partial.as_ref().is_none_or(|f| f.matches(doc))
    }

    /// The keys of `doc`: empty when a sparse or partial index leaves it out.
    pub fn keys(&self, doc: &Document) -> Result<DocKeys> {
        if !self.covers(doc) {
            return Ok(DocKeys::default());
        }
        let mut per_field: Vec<Vec<(Vec<u8>, Bson)>> = Vec::with_capacity(self.fields.len());
        let mut arrays: Vec<BTreeSet<String>> = Vec::with_capacity(self.fields.len());
        let mut any_found = false;
        for f in &self.fields {
            let mut values = Vec::new();
            let mut field_arrays = BTreeSet::new();
            let mut found = false;
            let root = Walk {
                out: &mut values,
                arrays: &mut field_arrays,
                found: &mut found,
            };
            root.collect_document(doc, &f.parts, 0);
            any_found |= found;
            let mut seen = BTreeMap::new();
            for v in values {
                let mut enc = Vec::new();
                encode_component(&v, f.direction, &mut enc);
                seen.entry(enc).or_insert(v);
            }
            per_field.push(seen.into_iter().collect());
            arrays.push(field_arrays);
        }
        if self.spec.sparse && !any_found {
            return Ok(DocKeys::default());
        }
        check_parallel_arrays(&arrays)?;
        let multikey = arrays.iter().any(|a| !a.is_empty());
        let mut keys: BTreeMap<Vec<u8>, Vec<Bson>> = BTreeMap::new();
        keys.insert(Vec::new(), Vec::new());
        for field_values in &per_field {
            let total = keys.len().saturating_mul(field_values.len());
            if total > MAX_KEYS_PER_DOCUMENT {
                return Err(QueryError::new(
                    MongoCode::CannotCreateIndex,
                    format!(
                        "index {} would need {total} keys for one document; the limit is \
                         {MAX_KEYS_PER_DOCUMENT}",
                        self.spec.name
                    ),
                ));
            }
            let mut next = BTreeMap::new();
            for (k, vals) in &keys {
                for (enc, v) in field_values {
                    let mut nk = k.clone();
                    nk.extend_from_slice(enc);
                    let mut nv = vals.clone();
                    nv.push(v.clone());
                    next.insert(nk, nv);
                }
            }
            keys = next;
        }
        Ok(DocKeys { keys, multikey })
    }
}

/// Walks one key path through a document, collecting the values it reaches.
struct Walk<'a> {
    out: &'a mut Vec<Bson>,
    arrays: &'a mut BTreeSet<String>,
    found: &'a mut bool,
}

impl Walk<'_> {
    fn collect_document(self, doc: &Document, parts: &[String], depth: usize) {
        let Some(part) = parts.get(depth) else {
            return;
        };
        match doc.get(part) {
            Some(v) => self.collect_value(v, parts, depth + 1),
            None => self.out.push(Bson::Null),
        }
    }

    /// `v` is the value at `parts[..depth]`.
    fn collect_value(self, v: &Bson, parts: &[String], depth: usize) {
        if depth == parts.len() {
            *self.found = true;
            match v {
                Bson::Array(items) => {
                    self.arrays.insert(parts[..depth].join("."));
                    if items.is_empty() {
                        self.out.push(Bson::Undefined);
                    } else {
                        self.out.extend(items.iter().cloned());
                    }
                }
                other => self.out.push(other.clone()),
            }
            return;
        }
        match v {
            Bson::Document(d) => self.collect_document(d, parts, depth),
            Bson::Array(items) => {
                let part = &parts[depth];
                if let Ok(i) = part.parse::<usize>()
                    && part.bytes().all(|b| b.is_ascii_digit())
                {
                    // A numeric component is a position, but a query on `a.0` also looks at
                    // a field named "0" of document elements; index both so the index stays a
                    // superset of what such a query matches.
                    let Walk { out, arrays, found } = self;
                    let named: Vec<&Document> = items
                        .iter()
                        .filter_map(|e| match e {
                            Bson::Document(d) if d.contains_key(part) => Some(d),
                            _ => None,
                        })
                        .collect();
                    if !named.is_empty() {
                        arrays.insert(parts[..depth].join("."));
                    }
                    for d in named {
                        let w = Walk {
                            out: &mut *out,
                            arrays: &mut *arrays,
                            found: &mut *found,
                        };
                        w.collect_document(d, parts, depth);
                    }
                    let w = Walk { out, arrays, found };
                    match items.get(i) {
                        Some(e) => w.collect_value(e, parts, depth + 1),
                        None => w.out.push(Bson::Null),
                    }
                    return;
                }
                self.arrays.insert(parts[..depth].join("."));
                if items.is_empty() {
                    self.out.push(Bson::Null);
                }
                let Walk { out, arrays, found } = self;
                for e in items {
                    let w = Walk {
                        out: &mut *out,
                        arrays: &mut *arrays,
                        found: &mut *found,
                    };
                    match e {
                        Bson::Document(d) => w.collect_document(d, parts, depth),
                        _ => w.out.push(Bson::Null),
                    }
                }
            }
            _ => self.out.push(Bson::Null),
        }
    }
}

/// Error 171 when two key fields traverse arrays the other does not share.
fn check_parallel_arrays(arrays: &[BTreeSet<String>]) -> Result<()> {
    for (i, a) in arrays.iter().enumerate() {
        for b in &arrays[i + 1..] {
            let only_a = a.iter().find(|p| !b.contains(*p));
            let only_b = b.iter().find(|p| !a.contains(*p));
            if let (Some(pa), Some(pb)) = (only_a, only_b) {
                let leaf = |p: &str| p.rsplit('.').next().unwrap_or(p).to_string();
                return Err(QueryError::new(
                    MongoCode::CannotIndexParallelArrays,
                    format!("cannot index parallel arrays [{}] [{}]", leaf(pb), leaf(pa)),
                ));
            }
        }
    }
    Ok(())
}

/// Checks that a partial filter uses only what MongoDB allows in one (error 67 otherwise).
fn validate_partial_filter(filter: &Document, top: bool) -> Result<()> {
    for (k, v) in filter {
        if k == "$and" || (top && k == "$or") {
            let Bson::Array(items) = v else {
                return Err(QueryError::bad_value(format!("{k} must be an array")));
            };
            for item in items {
                let Bson::Document(d) = item else {
                    return Err(QueryError::bad_value(format!(
                        "{k} argument's entries must be objects"
                    )));
                };
                validate_partial_filter(d, false)?;
            }
            continue;
        }
        if k.starts_with('$') {
            return Err(QueryError::new(
                MongoCode::CannotCreateIndex,
                format!("Error in specification: unsupported expression in partial index: {k}"),
            ));
        }
        if let Bson::Document(ops) = v
            && ops.keys().next().is_some_and(|op| op.starts_with('$'))
        {
            for op in ops.keys() {
                if !PARTIAL_FILTER_OPERATORS.contains(&op.as_str()) {
                    return Err(QueryError::new(
                        MongoCode::CannotCreateIndex,
                        format!(
                            "Error in specification: unsupported expression in partial index: \
                             {k} {op}"
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use bson::doc;

    use super::*;

    fn def(key: Document) -> IndexDef {
        IndexDef::compile(&IndexSpec::new(key).expect("valid spec")).expect("compiles")
    }

    fn values(d: &IndexDef, doc: &Document) -> Vec<Vec<Bson>> {
        d.keys(doc)
            .expect("keys")
            .keys
            .into_values()
            .collect::<Vec<_>>()
    }

    #[test]
    fn dotted_missing_and_multikey() {
        let d = def(doc! {"a.b": 1});
        assert_eq!(
            values(&d, &doc! {"a": {"b": 5}}),
            vec![vec![Bson::Int32(5)]]
        );
        assert_eq!(values(&d, &doc! {"x": 1}), vec![vec![Bson::Null]]);
        let k = d
            .keys(&doc! {"a": [{"b": 2}, {"b": 1}, {"b": 2.0}, {"c": 1}]})
            .expect("keys");
        assert!(k.multikey);
        assert_eq!(
            k.keys.into_values().collect::<Vec<_>>(),
            vec![vec![Bson::Null], vec![Bson::Int32(1)], vec![Bson::Int32(2)]]
        );
        let empty = def(doc! {"a": 1});
        assert_eq!(values(&empty, &doc! {"a": []}), vec![vec![Bson::Undefined]]);
    }

    #[test]
    fn parallel_arrays_are_rejected() {
        let d = def(doc! {"a": 1, "b": 1});
        let err = d
            .keys(&doc! {"a": [1, 2], "b": [1, 2]})
            .expect_err("parallel");
        assert_eq!(err.code.code(), 171);
        assert_eq!(err.message, "cannot index parallel arrays [b] [a]");
        assert_eq!(values(&d, &doc! {"a": [1, 2], "b": 3}).len(), 2);
        let shared = def(doc! {"a.b": 1, "a.c": 1});
        let k = shared
            .keys(&doc! {"a": [{"b": 1, "c": 2}, {"b": 3, "c": 4}]})
            .expect("one shared array is fine");
        assert_eq!(k.keys.len(), 4, "cartesian product over the shared array");
    }
}
