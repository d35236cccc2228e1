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

use bson::raw::{RawBsonRef, RawDocument, RawDocumentBuf};
use bson::{Bson, Document};

use super::group::{GroupStage, Grouper};
use super::{RunCtx, Stage, run_stages};
use crate::error::{MongoCode, QueryError, Result};
use crate::expr::Expr;
use crate::filter::Filter;

/// Where a value of the raw plan comes from.
#[derive(Debug)]
enum Source<'p> {
    /// A constant.
    Literal(&'p Bson),
    /// A field path: the top-level field and the path below it.
    Path(&'p str, &'p [String]),
}

impl<'p> Source<'p> {
    fn of(e: &'p Expr) -> Option<Source<'p>> {
        match e {
            Expr::Literal(b) => Some(Source::Literal(b)),
            Expr::FieldPath(p) => {
                let (first, rest) = p.split_first()?;
                Some(Source::Path(first, rest))
            }
            _ => None,
        }
    }

    /// The value for `doc` (`None` = missing), exactly as evaluating the expression on the
    /// decoded document gives it.
    fn eval(&self, doc: &RawDocument) -> Result<Option<Bson>> {
        match self {
            Source::Literal(b) => Ok(Some((*b).clone())),
            Source::Path(first, rest) => {
                let Some(v) = crate::raw::raw_get(doc, first) else {
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

fn to_bson(v: RawBsonRef<'_>) -> Result<Bson> {
    Bson::try_from(v).map_err(|e| corrupt(&e.to_string()))
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
                    let key = Source::of(g.single_id()?)?;
                    let mut args = Vec::with_capacity(g.accumulators().len());
                    for (_, spec) in g.accumulators() {
                        if spec.n.is_some() || !spec.sort_by.is_empty() {
                            return None;
                        }
                        args.push(Source::of(&spec.arg)?);
                    }
                    return Some(RawGroupPlan {
                        filters,
                        group: g,
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

    /// Runs the plan over `input`, then the remaining stages; the first input error ends the
    /// run with that error.
    pub(crate) fn run(
        &self,
        input: impl Iterator<Item = Result<RawDocumentBuf>>,
        rc: &RunCtx<'_>,
    ) -> Result<Vec<Document>> {
        let mut grouper = self.group.grouper(rc);
        let mut cache = KeyCache::default();
        'input: for doc in input {
            let doc = doc?;
            for f in &self.filters {
                if !f.matches_raw(&doc) {
                    continue 'input;
                }
            }
            let group = self.group_of(&doc, &mut grouper, &mut cache)?;
            for (acc, arg) in self.args.iter().enumerate() {
                grouper.add_value(group, acc, arg.eval(&doc)?)?;
            }
        }
        run_stages(self.rest, grouper.finish()?, rc)
    }

    /// The group of `doc`: through the cache for common scalar keys, else the grouper's index.
    fn group_of(
        &self,
        doc: &RawDocument,
        grouper: &mut Grouper<'_, '_>,
        cache: &mut KeyCache,
    ) -> Result<usize> {
        if let Source::Path(first, []) = self.key {
            let raw = crate::raw::raw_get(doc, first);
            if let Some(i) = cache.get(raw) {
                return Ok(i);
            }
            let key = raw.map(to_bson).transpose()?.unwrap_or(Bson::Null);
            let i = grouper.group_of(key)?;
            cache.insert(raw, i);
            return Ok(i);
        }
        let key = self.key.eval(doc)?.unwrap_or(Bson::Null);
        grouper.group_of(key)
    }
}

/// Group positions of the scalar keys seen so far (see the module documentation).
#[derive(Default)]
struct KeyCache {
    ints: HashMap<i64, usize>,
    doubles: HashMap<u64, usize>,
    strings: HashMap<String, usize>,
    null: Option<usize>,
}

impl KeyCache {
    fn get(&self, key: Option<RawBsonRef<'_>>) -> Option<usize> {
        match key {
            None | Some(RawBsonRef::Null) => self.null,
            Some(RawBsonRef::Int32(v)) => self.ints.get(&i64::from(v)).copied(),
            Some(RawBsonRef::Int64(v)) => self.ints.get(&v).copied(),
            Some(RawBsonRef::Double(v)) => self.doubles.get(&v.to_bits()).copied(),
            Some(RawBsonRef::String(s)) => self.strings.get(s).copied(),
            Some(_) => None,
        }
    }

    fn insert(&mut self, key: Option<RawBsonRef<'_>>, group: usize) {
        match key {
            None | Some(RawBsonRef::Null) => self.null = Some(group),
            Some(RawBsonRef::Int32(v)) => {
                self.ints.insert(i64::from(v), group);
            }
            Some(RawBsonRef::Int64(v)) => {
                self.ints.insert(v, group);
            }
            Some(RawBsonRef::Double(v)) => {
                self.doubles.insert(v.to_bits(), group);
            }
            Some(RawBsonRef::String(s)) => {
                self.strings.insert(s.to_string(), group);
            }
            Some(_) => {}
        }
    }
}
