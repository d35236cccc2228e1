//! `$group` over raw stored documents: the group key and the accumulator arguments are read
//! from the BSON bytes, without decoding the document.
//!
//! Applies when the pipeline starts with `$match` stages without variables followed by a
//! `$group` whose `_id` is a single field path or constant and whose accumulators take a field
//! path or constant (no `n`/`sortBy`) — `{$group: {_id: "$g", total: {$sum: "$n"}}}`. The
//! `$match` stages use [`crate::filter::Filter::matches_raw`]. A field path `$a.b.c` reads the
//! top-level field `a` from the bytes and only that value is decoded (then
//! [`crate::expr::path::get_path`] walks the rest, as the general path does).
//!
//! Group lookups for common scalar keys (integers, doubles, strings, null/missing) go through
//! a hash cache keyed by the value itself: two keys with the same cache entry are equal under
//! MongoDB's comparison, so the cache maps a key to the group the general ordered index would
//! give; a key not in the cache is built and looked up in that index, then remembered.
//!
//! Invariant: for any input, the result (documents, order, errors other than malformed
//! storage) is the one of running the same stages over the decoded documents (checked by a
//! property test in `raw_group_tests`). Stored documents have unique field names (they are
//! encoded from `Document`s), so reading the first occurrence of a field is reading the only one.

use std::collections::HashMap;

use bson::raw::{RawBsonRef, RawDocument};
use bson::{Bson, Document};

use super::group::{GroupStage, Grouper};
use super::{RunCtx, Stage, run_stages};
use crate::error::{MongoCode, QueryError, Result};
use crate::expr::Expr;
use crate::filter::Filter;

/// Top-level fields read with one walk over a document; more go key by key.
const MAX_WALKED_FIELDS: usize = 8;

/// Where a value of the raw plan comes from.
#[derive(Debug)]
enum Source<'p> {
    /// A constant.
    Literal(&'p Bson),
    /// A field path: the top-level field (its position in [`RawGroupPlan::fields`]) and the
    /// path below it.
    Path(usize, &'p [String]),
}

impl<'p> Source<'p> {
    /// The source of `e`, registering its top-level field in `fields`.
    fn of(e: &'p Expr, fields: &mut Vec<&'p str>) -> Option<Source<'p>> {
        match e {
            Expr::Literal(b) => Some(Source::Literal(b)),
            Expr::FieldPath(p) => {
                let (first, rest) = p.split_first()?;
                let slot = match fields.iter().position(|f| *f == first.as_str()) {
                    Some(i) => i,
                    None => {
                        fields.push(first);
                        fields.len() - 1
                    }
                };
                Some(Source::Path(slot, rest))
            }
            _ => None,
        }
    }

    /// The value (`None` = missing) given the document's top-level `fields`, exactly as
    /// evaluating the expression on the decoded document gives it.
    fn eval(&self, fields: &[Option<RawBsonRef<'_>>]) -> Result<Option<Bson>> {
        match self {
            Source::Literal(b) => Ok(Some((*b).clone())),
            Source::Path(slot, rest) => {
                let Some(v) = fields.get(*slot).copied().flatten() else {
                    return Ok(None);
                };
                let v = to_bson(v)?;
                Ok(if rest.is_empty() {
                    Some(v)
                } else {
                    crate::expr::path::get_path(&v, rest)
                })
            }
        }
    }
}

/// The owned value of `v`; scalars are built directly (the general conversion goes through
/// `RawBson`).
fn to_bson(v: RawBsonRef<'_>) -> Result<Bson> {
    Ok(match v {
        RawBsonRef::Int32(v) => Bson::Int32(v),
        RawBsonRef::Int64(v) => Bson::Int64(v),
        RawBsonRef::Double(v) => Bson::Double(v),
        RawBsonRef::Boolean(v) => Bson::Boolean(v),
        RawBsonRef::Null => Bson::Null,
        other => Bson::try_from(other).map_err(|e| corrupt(&e.to_string()))?,
    })
}

fn corrupt(detail: &str) -> QueryError {
    QueryError::new(
        MongoCode::InternalError,
        format!("malformed stored document: {detail}"),
    )
}

/// A pipeline prefix that runs on raw documents: its `$match` filters and its `$group`.
pub(crate) struct RawGroupPlan<'p> {
    filters: Vec<&'p Filter>,
    group: &'p GroupStage,
    /// The distinct top-level fields the key and the arguments read.
    fields: Vec<&'p str>,
    key: Source<'p>,
    args: Vec<Source<'p>>,
    /// The stages after the `$group`.
    rest: &'p [Stage],
}

impl<'p> RawGroupPlan<'p> {
    /// The plan for `stages`, when they qualify (see the module documentation).
    pub(crate) fn of(stages: &'p [Stage]) -> Option<RawGroupPlan<'p>> {
        let mut filters = Vec::new();
        for (i, stage) in stages.iter().enumerate() {
            match stage {
                Stage::Match(m) if !m.uses_variables() => filters.push(m.compiled()),
                Stage::Group(g) => {
                    let mut fields = Vec::new();
                    let key = Source::of(g.single_id()?, &mut fields)?;
                    let mut args = Vec::with_capacity(g.accumulators().len());
                    for (_, spec) in g.accumulators() {
                        if spec.n.is_some() || !spec.sort_by.is_empty() {
                            return None;
                        }
                        args.push(Source::of(&spec.arg, &mut fields)?);
                    }
                    return Some(RawGroupPlan {
                        filters,
                        group: g,
                        fields,
                        key,
                        args,
                        rest: &stages[i + 1..],
                    });
                }
                _ => return None,
            }
        }
        None
    }

    /// Runs the plan over the documents `scan` hands to the sink it is given (stopping at the
    /// first error of either), then the remaining stages.
    pub(crate) fn run_scan(
        &self,
        scan: impl FnOnce(&mut dyn FnMut(&RawDocument) -> Result<()>) -> Result<()>,
        rc: &RunCtx<'_>,
    ) -> Result<Vec<Document>> {
        let mut grouper = self.group.grouper(rc);
        let mut cache = KeyCache::default();
        scan(&mut |doc| self.add(doc, &mut grouper, &mut cache))?;
        run_stages(self.rest, grouper.finish()?, rc)
    }

    /// Filters and groups one document.
    fn add(
        &self,
        doc: &RawDocument,
        grouper: &mut Grouper<'_, '_>,
        cache: &mut KeyCache,
    ) -> Result<()> {
        if !self.filters.iter().all(|f| f.matches_raw(doc)) {
            return Ok(());
        }
        let mut walked = [None; MAX_WALKED_FIELDS];
        let many: Vec<Option<RawBsonRef<'_>>>;
        let values: &[Option<RawBsonRef<'_>>] = if self.fields.len() <= MAX_WALKED_FIELDS {
            let walked = &mut walked[..self.fields.len()];
            crate::raw::raw_get_many(doc, &self.fields, walked);
            walked
        } else {
            many = self
                .fields
                .iter()
                .map(|f| crate::raw::raw_get(doc, f))
                .collect();
            &many
        };
        let group = self.group_of(values, grouper, cache)?;
        for (acc, arg) in self.args.iter().enumerate() {
            grouper.add_value(group, acc, arg.eval(values)?)?;
        }
        Ok(())
    }

    /// The group of the document with top-level `values`: through the cache for common
    /// scalar keys, else the grouper's index.
    fn group_of(
        &self,
        values: &[Option<RawBsonRef<'_>>],
        grouper: &mut Grouper<'_, '_>,
        cache: &mut KeyCache,
    ) -> Result<usize> {
        if let Source::Path(slot, []) = self.key {
            let raw = values.get(slot).copied().flatten();
            if let Some(i) = cache.get(raw) {
                return Ok(i);
            }
            let key = raw.map(to_bson).transpose()?.unwrap_or(Bson::Null);
            let i = grouper.group_of(key)?;
            cache.insert(raw, i);
            return Ok(i);
        }
        let key = self.key.eval(values)?.unwrap_or(Bson::Null);
        grouper.group_of(key)
    }
}

/// Keys kept in a list scanned linearly before a hash map takes the rest: a few groups (the
/// common case) are found faster by comparing than by hashing.
const LINEAR_KEYS: usize = 32;

/// Group positions by key: the first [`LINEAR_KEYS`] in a list, the rest hashed.
struct KeyIndex<K> {
    list: Vec<(K, usize)>,
    map: HashMap<K, usize>,
}

impl<K> Default for KeyIndex<K> {
    fn default() -> Self {
        KeyIndex {
            list: Vec::new(),
            map: HashMap::new(),
        }
    }
}

impl<K: std::hash::Hash + Eq> KeyIndex<K> {
    fn get<Q>(&self, key: &Q) -> Option<usize>
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        if let Some((_, i)) = self.list.iter().find(|(k, _)| k.borrow() == key) {
            return Some(*i);
        }
        if self.map.is_empty() {
            return None;
        }
        self.map.get(key).copied()
    }

    fn insert(&mut self, key: K, group: usize) {
        if self.list.len() < LINEAR_KEYS {
            self.list.push((key, group));
        } else {
            self.map.insert(key, group);
        }
    }
}

/// Group positions of the scalar keys seen so far (see the module documentation).
#[derive(Default)]
struct KeyCache {
    ints: KeyIndex<i64>,
    doubles: KeyIndex<u64>,
    strings: KeyIndex<String>,
    null: Option<usize>,
}

impl KeyCache {
    fn get(&self, key: Option<RawBsonRef<'_>>) -> Option<usize> {
        match key {
            None | Some(RawBsonRef::Null) => self.null,
            Some(RawBsonRef::Int32(v)) => self.ints.get(&i64::from(v)),
            Some(RawBsonRef::Int64(v)) => self.ints.get(&v),
            Some(RawBsonRef::Double(v)) => self.doubles.get(&v.to_bits()),
            Some(RawBsonRef::String(s)) => self.strings.get(s),
            Some(_) => None,
        }
    }

    /// Remembers `group` for `key` (called once per key, after a [`KeyCache::get`] miss).
    fn insert(&mut self, key: Option<RawBsonRef<'_>>, group: usize) {
        match key {
            None | Some(RawBsonRef::Null) => self.null = Some(group),
            Some(RawBsonRef::Int32(v)) => self.ints.insert(i64::from(v), group),
            Some(RawBsonRef::Int64(v)) => self.ints.insert(v, group),
            Some(RawBsonRef::Double(v)) => self.doubles.insert(v.to_bits(), group),
            Some(RawBsonRef::String(s)) => self.strings.insert(s.to_string(), group),
            Some(_) => {}
        }
    }
}
