//! `$group`: groups documents by the value of the `_id` expression and computes accumulators
//! (`expr::accumulator`) per group.
//!
//! Group keys compare with MongoDB's value equality (`1`, `1.0` and `1L` are one group; a
//! missing key is null). Output order is the order in which groups were first seen (MongoDB
//! leaves it unspecified). Memory is bounded by [`crate::limits::Limits::max_group_memory`]:
//! the sizes of the group keys plus the sizes of the values fed to accumulators that keep
//! them (`$push`, `$addToSet`, `$mergeObjects`) are counted, and exceeding the bound fails with code 292 (MongoDB's
//! `QueryExceededMemoryLimitNoDiskUseAllowed`), since there is no spilling to disk.

use std::collections::BTreeMap;

use bson::{Bson, Document};

use super::util::{OrdBson, approx_size, eval_on, type_name};
use super::{ParseCtx, RunCtx};
use crate::error::{QueryError, Result};
use crate::expr::accumulator::{AccumulatorOp, AccumulatorSpec, AccumulatorState};
use crate::expr::{EvalContext, Expr};

/// Fixed per-group overhead counted against the memory bound, in bytes.
const GROUP_OVERHEAD_BYTES: usize = 64;

/// Whether an accumulator keeps (a share of) every value it is fed, so its state grows with
/// the input; the others hold a fixed-size summary.
fn retains_values(op: AccumulatorOp) -> bool {
    matches!(
        op,
        AccumulatorOp::Push | AccumulatorOp::AddToSet | AccumulatorOp::MergeObjects
    )
}

/// The `_id` of `$group`: one expression, or an object literal whose fields are evaluated
/// separately with *missing* turned into null (`{_id: {a: "$a"}}` groups a document without
/// `a` under `{a: null}`, as MongoDB does).
#[derive(Debug, Clone)]
enum GroupId {
    Single(Expr),
    Fields(Vec<(String, Expr)>),
}

impl GroupId {
    fn parse(spec: &Bson, pc: &ParseCtx) -> Result<GroupId> {
        match spec {
            Bson::Document(d) if d.keys().next().is_some_and(|k| !k.starts_with('$')) => {
                let mut fields = Vec::with_capacity(d.len());
                for (k, v) in d {
                    if k.starts_with('$') {
                        return Err(QueryError::location(
                            16410,
                            format!("FieldPath field names may not start with '$'. Given: {k}"),
                        ));
                    }
                    fields.push((k.clone(), Expr::parse(v, &pc.expr_opts())?));
                }
                Ok(GroupId::Fields(fields))
            }
            other => Ok(GroupId::Single(Expr::parse(other, &pc.expr_opts())?)),
        }
    }

    fn eval(&self, doc: &Bson, rc: &RunCtx<'_>) -> Result<Bson> {
        match self {
            GroupId::Single(e) => Ok(eval_on(e, doc, rc)?.unwrap_or(Bson::Null)),
            GroupId::Fields(fields) => {
                let mut d = Document::new();
                for (k, e) in fields {
                    d.insert(k.clone(), eval_on(e, doc, rc)?.unwrap_or(Bson::Null));
                }
                Ok(Bson::Document(d))
            }
        }
    }
}

/// A parsed `$group` stage.
#[derive(Debug, Clone)]
pub struct GroupStage {
    id: GroupId,
    accumulators: Vec<(String, AccumulatorSpec)>,
}

impl GroupStage {
    /// Adds the top-level input fields the grouping reads; `false` when it may read the whole
    /// document (see [`Expr::collect_top_level_fields`]).
    pub(crate) fn collect_input_fields(
        &self,
        out: &mut std::collections::BTreeSet<String>,
    ) -> bool {
        let id_ok = match &self.id {
            GroupId::Single(e) => e.collect_top_level_fields(out),
            GroupId::Fields(fields) => fields.iter().all(|(_, e)| e.collect_top_level_fields(out)),
        };
        id_ok
            && self.accumulators.iter().all(|(_, spec)| {
                for (path, _) in spec.sort_by.iter() {
                    if let Some(first) = path.first() {
                        out.insert(first.clone());
                    }
                }
                spec.arg.collect_top_level_fields(out)
                    && spec
                        .n
                        .as_ref()
                        .is_none_or(|n| n.collect_top_level_fields(out))
            })
    }
}

/// Parses `{field: {$acc: expr}, ...}` (the non-`_id` fields of `$group`, `$bucket.output`).
pub(crate) fn parse_accumulators<'a>(
    fields: impl Iterator<Item = (&'a String, &'a Bson)>,
    pc: &ParseCtx,
    stage: &str,
) -> Result<Vec<(String, AccumulatorSpec)>> {
    let mut out: Vec<(String, AccumulatorSpec)> = Vec::new();
    for (name, v) in fields {
        if name.is_empty() || name.starts_with('$') {
            return Err(QueryError::location(
                16410,
                format!("FieldPath field names may not start with '$' or be empty. Given: {name}"),
            ));
        }
        if name.contains('.') {
            return Err(QueryError::location(
                40235,
                format!("The field name '{name}' cannot contain '.'"),
            ));
        }
        if !matches!(v, Bson::Document(d) if !d.is_empty()) {
            return Err(QueryError::location(
                40234,
                format!(
                    "The field '{name}' must be an accumulator object, in {stage}, found {}",
                    type_name(v)
                ),
            ));
        }
        if out.iter().any(|(n, _)| n == name) {
            return Err(QueryError::location(
                16406,
                format!("duplicate field name specified in object literal: {name}"),
            ));
        }
        out.push((name.clone(), AccumulatorSpec::parse(v, &pc.expr_opts())?));
    }
    Ok(out)
}

impl GroupStage {
    /// Parses the `$group` argument (an object, 15947; `_id` required, 15955).
    pub(crate) fn parse(spec: &Bson, pc: &ParseCtx) -> Result<GroupStage> {
        let Bson::Document(d) = spec else {
            return Err(QueryError::location(
                15947,
                "a group's fields must be specified in an object",
            ));
        };
        // Fields are checked in order (as MongoDB does), the missing `_id` last.
        let mut id = None;
        let mut accumulators = Vec::new();
        for (k, v) in d {
            if k == "_id" {
                id = Some(GroupId::parse(v, pc)?);
            } else {
                accumulators.extend(parse_accumulators(std::iter::once((k, v)), pc, "$group")?);
            }
        }
        let Some(id) = id else {
            return Err(QueryError::location(
                15955,
                "a group specification must specify an _id",
            ));
        };
        Ok(GroupStage { id, accumulators })
    }

    /// Groups the input.
    pub(crate) fn apply(&self, docs: Vec<Document>, rc: &RunCtx<'_>) -> Result<Vec<Document>> {
        let mut g = self.grouper(rc);
        for d in docs {
            self.add(&mut g, d, rc)?;
        }
        g.finish()
    }

    /// The `_id` expression when it is a single expression (not an object of fields).
    pub(crate) fn single_id(&self) -> Option<&Expr> {
        match &self.id {
            GroupId::Single(e) => Some(e),
            GroupId::Fields(_) => None,
        }
    }

    /// The accumulators, in output order.
    pub(crate) fn accumulators(&self) -> &[(String, AccumulatorSpec)] {
        &self.accumulators
    }

    /// An empty grouping for this stage (feed it with [`GroupStage::add`]).
    pub(crate) fn grouper<'s, 'r>(&'s self, rc: &'s RunCtx<'r>) -> Grouper<'s, 'r> {
        Grouper::new(&self.accumulators, rc)
    }

    /// Adds one input document to `g`.
    pub(crate) fn add(&self, g: &mut Grouper<'_, '_>, d: Document, rc: &RunCtx<'_>) -> Result<()> {
        let b = Bson::Document(d);
        let key = self.id.eval(&b, rc)?;
        g.add(key, &b)
    }
}

/// Accumulates documents into groups (shared by `$group` and `$bucket`).
pub(crate) struct Grouper<'s, 'r> {
    accumulators: &'s [(String, AccumulatorSpec)],
    rc: &'s RunCtx<'r>,
    index: BTreeMap<OrdBson, usize>,
    groups: Vec<(Bson, Vec<AccumulatorState>)>,
    memory: usize,
}

impl<'s, 'r> Grouper<'s, 'r> {
    /// An empty grouping.
    pub(crate) fn new(accumulators: &'s [(String, AccumulatorSpec)], rc: &'s RunCtx<'r>) -> Self {
        Grouper {
            accumulators,
            rc,
            index: BTreeMap::new(),
            groups: Vec::new(),
            memory: 0,
        }
    }

    fn charge(&mut self, bytes: usize) -> Result<()> {
        self.memory = self.memory.saturating_add(bytes);
        if self.memory > self.rc.limits.max_group_memory {
            return Err(QueryError::location(
                292,
                format!(
                    "Exceeded memory limit for $group, but didn't allow external sort. The limit is {} bytes.",
                    self.rc.limits.max_group_memory
                ),
            ));
        }
        Ok(())
    }

    /// The position of the group of `key`, created (and charged) when new.
    pub(crate) fn group_of(&mut self, key: Bson) -> Result<usize> {
        let ok = OrdBson(key);
        Ok(match self.index.get(&ok) {
            Some(&i) => i,
            None => {
                self.charge(approx_size(&ok.0) + GROUP_OVERHEAD_BYTES)?;
                let states = self
                    .accumulators
                    .iter()
                    .map(|(_, s)| s.new_state())
                    .collect();
                self.groups.push((ok.0.clone(), states));
                self.index.insert(ok, self.groups.len() - 1);
                self.groups.len() - 1
            }
        })
    }

    /// Feeds the already evaluated argument `v` of accumulator `acc` (its position in the
    /// stage) into group `group` (from [`Grouper::group_of`]), charging what it retains.
    pub(crate) fn add_value(&mut self, group: usize, acc: usize, v: Option<Bson>) -> Result<()> {
        let (Some((_, spec)), Some(state)) = (
            self.accumulators.get(acc),
            self.groups.get_mut(group).and_then(|(_, s)| s.get_mut(acc)),
        ) else {
            return Err(QueryError::new(
                crate::error::MongoCode::InternalError,
                "$group: accumulator or group out of range",
            ));
        };
        let added = if retains_values(spec.op) {
            v.as_ref().map_or(0, approx_size)
        } else {
            0
        };
        state.add_value(v)?;
        self.charge(added)
    }

    /// Adds `doc` to the group of `key`.
    pub(crate) fn add(&mut self, key: Bson, doc: &Bson) -> Result<()> {
        let i = self.group_of(key)?;
        let mut ctx = EvalContext::at(doc, self.rc.now);
        ctx.vars = self.rc.vars.clone();
        let mut added = 0usize;
        for ((_, spec), state) in self.accumulators.iter().zip(&mut self.groups[i].1) {
            let v = spec.arg.eval(&mut ctx)?;
            if retains_values(spec.op) {
                added = added.saturating_add(v.as_ref().map_or(0, approx_size));
            }
            state.add_value(v)?;
        }
        self.charge(added)
    }

    /// The output documents `{_id: key, field: result, ...}` in first-seen order.
    pub(crate) fn finish(self) -> Result<Vec<Document>> {
        let mut out = Vec::with_capacity(self.groups.len());
        for (key, states) in self.groups {
            let mut d = Document::new();
            d.insert("_id", key);
            for ((name, _), state) in self.accumulators.iter().zip(states) {
                d.insert(name.clone(), state.finish());
            }
            out.push(d);
        }
        Ok(out)
    }

    /// Output documents sorted by `_id` (for `$bucket`).
    pub(crate) fn finish_sorted(self) -> Result<Vec<Document>> {
        let mut out = self.finish()?;
        out.sort_by(|a, b| {
            crate::compare::compare(
                a.get("_id").unwrap_or(&Bson::Null),
                b.get("_id").unwrap_or(&Bson::Null),
            )
        });
        Ok(out)
    }
}
