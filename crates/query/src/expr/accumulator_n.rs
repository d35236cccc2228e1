//! The "N" accumulators: `$firstN $lastN $maxN $minN` (`{input, n}`) and `$top $bottom $topN
//! $bottomN` (`{sortBy, output[, n]}`), plus the array-expression forms of `$firstN $lastN
//! $maxN $minN` (`{n, input: <array>}`).
//!
//! States are bounded by `n`: values are kept in order and the list is cut back to `n` after
//! each insertion. `$maxN`/`$minN` skip null and missing values; `$firstN`/`$lastN` keep them as
//! null. `$top`/`$bottom` return one value (null when the group is empty), the `N` forms arrays.
//! `n` must evaluate to a positive integer; in `$group` it is evaluated against the first
//! document of the group.

use std::cmp::Ordering;
use std::collections::VecDeque;

use bson::Bson;

use super::accumulator::AccumulatorOp;
use super::num::Num;
use super::operators::{Call, named, present, show, type_name};
use super::{EvalContext, Expr, ParseOptions, parse_at_depth, path};
use crate::compare::compare;
use crate::error::{QueryError, Result};

/// A `sortBy` specification: field paths and whether each sorts descending.
pub type SortSpec = Vec<(Vec<String>, bool)>;

/// The parsed pieces of an N accumulator: `(value expression, n expression, sort spec)`.
pub(crate) type NParts = (Expr, Option<Expr>, SortSpec);

/// Parses the argument of an N accumulator in `$group`.
pub(crate) fn parse_spec(op: AccumulatorOp, arg: &Bson, opts: &ParseOptions) -> Result<NParts> {
    let name = op.name();
    let Bson::Document(d) = arg else {
        return Err(QueryError::location(
            5787801,
            format!(
                "specification for {name} must be an object, found {}",
                type_name(arg)
            ),
        ));
    };
    let sorted = matches!(
        op,
        AccumulatorOp::Top | AccumulatorOp::Bottom | AccumulatorOp::TopN | AccumulatorOp::BottomN
    );
    let wants_n = !matches!(op, AccumulatorOp::Top | AccumulatorOp::Bottom);
    let value_field = if sorted { "output" } else { "input" };
    let (mut value, mut n, mut sort_by) = (None, None, None);
    for (k, v) in d {
        match k.as_str() {
            "n" if wants_n => n = Some(parse_at_depth(v, opts, 2)?),
            "sortBy" if sorted => sort_by = Some(parse_sort(name, v)?),
            f if f == value_field => value = Some(parse_at_depth(v, opts, 2)?),
            _ => {
                return Err(QueryError::location(
                    5787901,
                    format!("Unknown argument for {name}: {k}"),
                ));
            }
        }
    }
    let Some(value) = value else {
        return Err(QueryError::location(
            5787907,
            format!("{name} requires an '{value_field}' field"),
        ));
    };
    if wants_n && n.is_none() {
        return Err(QueryError::location(
            5787906,
            format!("{name} requires an 'n' field"),
        ));
    }
    if sorted && sort_by.is_none() {
        return Err(QueryError::location(
            5788005,
            format!("{name} requires a 'sortBy' field"),
        ));
    }
    Ok((value, n, sort_by.unwrap_or_default()))
}

fn parse_sort(name: &str, v: &Bson) -> Result<SortSpec> {
    let bad = || {
        QueryError::location(
            5788604,
            format!(
                "{name}: 'sortBy' must be an object of field: 1 or -1, found {}",
                show(v)
            ),
        )
    };
    let Bson::Document(d) = v else {
        return Err(bad());
    };
    if d.is_empty() {
        return Err(bad());
    }
    d.iter()
        .map(|(k, dir)| match Num::of(dir).map(Num::f64) {
            Some(x) if x == 1.0 || x == -1.0 => {
                Ok((k.split('.').map(str::to_string).collect(), x < 0.0))
            }
            _ => Err(bad()),
        })
        .collect()
}

/// Checks `n`: a positive integral number.
pub(crate) fn check_n(name: &str, v: Option<&Bson>) -> Result<usize> {
    let n = v.and_then(Num::of).and_then(Num::exact_i64);
    match n {
        Some(n) if n > 0 => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
        Some(n) => Err(QueryError::location(
            5787908,
            format!("'n' for {name} must be greater than 0, found {n}"),
        )),
        None => Err(QueryError::location(
            5787902,
            format!(
                "Value for 'n' for {name} must be an integer, found {}",
                v.map_or_else(|| "missing".to_string(), show)
            ),
        )),
    }
}

/// The running state of an N accumulator.
#[derive(Debug, Clone)]
pub(crate) struct NState {
    op: AccumulatorOp,
    /// Resolved `n` (1 for `$top`/`$bottom`); `None` until the first value.
    pub(crate) n: Option<usize>,
    /// Sort keys and values, in result order.
    items: VecDeque<(Vec<Bson>, Bson)>,
}

impl NState {
    pub(crate) fn new(op: AccumulatorOp) -> NState {
        let n = matches!(op, AccumulatorOp::Top | AccumulatorOp::Bottom).then_some(1);
        NState {
            op,
            n,
            items: VecDeque::new(),
        }
    }

    /// Folds in one value (with its sort keys for `$top`/`$bottom`).
    pub(crate) fn add(&mut self, keys: Vec<Bson>, v: Option<Bson>, sort: &SortSpec) {
        let n = self.n.unwrap_or(1);
        match self.op {
            AccumulatorOp::FirstN => {
                if self.items.len() < n {
                    self.items.push_back((keys, v.unwrap_or(Bson::Null)));
                }
            }
            AccumulatorOp::LastN => {
                self.items.push_back((keys, v.unwrap_or(Bson::Null)));
                if self.items.len() > n {
                    self.items.pop_front();
                }
            }
            AccumulatorOp::MaxN | AccumulatorOp::MinN => {
                let Some(v) = present(v) else { return };
                let desc = self.op == AccumulatorOp::MaxN;
                let pos = self.items.partition_point(|(_, x)| {
                    let o = compare(x, &v);
                    if desc {
                        o != Ordering::Less
                    } else {
                        o != Ordering::Greater
                    }
                });
                self.items.insert(pos, (keys, v));
                self.items.truncate(n);
            }
            _ => {
                let v = v.unwrap_or(Bson::Null);
                let pos = self
                    .items
                    .partition_point(|(k, _)| compare_keys(k, &keys, sort) != Ordering::Greater);
                self.items.insert(pos, (keys, v));
                if matches!(self.op, AccumulatorOp::Top | AccumulatorOp::TopN) {
                    self.items.truncate(n);
                } else if self.items.len() > n {
                    self.items.pop_front();
                }
            }
        }
    }

    pub(crate) fn finish(self) -> Bson {
        let single = matches!(self.op, AccumulatorOp::Top | AccumulatorOp::Bottom);
        let mut values = self.items.into_iter().map(|(_, v)| v);
        if single {
            values.next().unwrap_or(Bson::Null)
        } else {
            Bson::Array(values.collect())
        }
    }
}

/// The sort keys of the document `doc` (missing fields sort as null).
pub(crate) fn sort_keys(doc: &Bson, sort: &SortSpec) -> Vec<Bson> {
    sort.iter()
        .map(|(p, _)| path::get_path(doc, p).unwrap_or(Bson::Null))
        .collect()
}

fn compare_keys(a: &[Bson], b: &[Bson], sort: &SortSpec) -> Ordering {
    for ((x, y), (_, desc)) in a.iter().zip(b).zip(sort) {
        let o = compare(x, y);
        let o = if *desc { o.reverse() } else { o };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// Parses `$firstN $lastN $maxN $minN` used as array expressions; `Ok(None)` otherwise.
pub(crate) fn parse_expression(
    name: &str,
    arg: &Bson,
    opts: &ParseOptions,
    depth: usize,
) -> Result<Option<Call>> {
    let name: &'static str = match name {
        "$firstN" => "$firstN",
        "$lastN" => "$lastN",
        "$maxN" => "$maxN",
        "$minN" => "$minN",
        _ => return Ok(None),
    };
    let f: &[&str] = &["n", "input"];
    Ok(Some(named(name, arg, opts, depth, f, f, eval_expression)?))
}

fn eval_expression(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let op = AccumulatorOp::from_name(c.name).expect("invariant: parsed as an N accumulator");
    let n = check_n(c.name, c.eval_arg(0, ctx)?.as_ref())?;
    let items = match present(c.eval_arg(1, ctx)?) {
        None => return Ok(Some(Bson::Null)),
        Some(Bson::Array(a)) => a,
        Some(v) => {
            return Err(QueryError::location(
                5788200,
                format!(
                    "Input to {} must be an array, found {}",
                    c.name,
                    type_name(&v)
                ),
            ));
        }
    };
    let mut state = NState::new(op);
    state.n = Some(n);
    let none = SortSpec::new();
    for x in items {
        state.add(Vec::new(), Some(x), &none);
    }
    Ok(Some(state.finish()))
}
