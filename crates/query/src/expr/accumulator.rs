//! Accumulators of `$group` (`$sum $avg $min $max $push $addToSet $first $last $count
//! $stdDevPop $stdDevSamp $mergeObjects`) and the same names used as expressions in `$project`
//! (`{$sum: "$arr"}`, `{$max: [1, "$b"]}`).
//!
//! Rules (MongoDB's): `$sum`/`$avg`/`$stdDev*` ignore non-numeric values; `$min`/`$max` ignore
//! null and missing; `$push`/`$addToSet` skip missing values; `$first`/`$last` keep null for
//! missing; `$sum` of nothing is 0, the others of nothing are null. Integer sums keep the
//! narrowest type and widen on overflow like `$add`.
//!
//! As expressions: with one argument that is an array, the operator folds the array's
//! elements; with one non-array argument, that single value; with several arguments, their
//! values. `$first`/`$last` as expressions are array operators (see `array.rs`).

use std::collections::HashSet;
use std::sync::Arc;

use bson::{Bson, Document};

use super::accumulator_n::{self, NState, SortSpec};
use super::arithmetic::NumFold;
use super::decimal::Dec;
use super::num::{Num, NumKind};
use super::operators::{Call, parse_list, type_name};
use super::percentile::{self, Percentile};
use super::{EvalContext, Expr, ParseOptions, parse_at_depth};
use crate::compare::{Number, compare, type_rank};
use crate::error::{QueryError, Result};

/// Which accumulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccumulatorOp {
    /// `$sum`.
    Sum,
    /// `$avg`.
    Avg,
    /// `$min`.
    Min,
    /// `$max`.
    Max,
    /// `$push`.
    Push,
    /// `$addToSet`.
    AddToSet,
    /// `$first`.
    First,
    /// `$last`.
    Last,
    /// `$count` (`{$count: {}}`, the number of documents).
    Count,
    /// `$stdDevPop`.
    StdDevPop,
    /// `$stdDevSamp`.
    StdDevSamp,
    /// `$mergeObjects`.
    MergeObjects,
    /// `$firstN` (`{input, n}`).
    FirstN,
    /// `$lastN` (`{input, n}`).
    LastN,
    /// `$maxN` (`{input, n}`).
    MaxN,
    /// `$minN` (`{input, n}`).
    MinN,
    /// `$top` (`{sortBy, output}`).
    Top,
    /// `$bottom` (`{sortBy, output}`).
    Bottom,
    /// `$topN` (`{n, sortBy, output}`).
    TopN,
    /// `$bottomN` (`{n, sortBy, output}`).
    BottomN,
    /// `$percentile` (`{input, p, method}`).
    Percentile,
    /// `$median` (`{input, method}`).
    Median,
}

impl AccumulatorOp {
    /// The accumulator of a name such as `"$sum"`.
    pub fn from_name(name: &str) -> Option<AccumulatorOp> {
        Some(match name {
            "$sum" => AccumulatorOp::Sum,
            "$avg" => AccumulatorOp::Avg,
            "$min" => AccumulatorOp::Min,
            "$max" => AccumulatorOp::Max,
            "$push" => AccumulatorOp::Push,
            "$addToSet" => AccumulatorOp::AddToSet,
            "$first" => AccumulatorOp::First,
            "$last" => AccumulatorOp::Last,
            "$count" => AccumulatorOp::Count,
            "$stdDevPop" => AccumulatorOp::StdDevPop,
            "$stdDevSamp" => AccumulatorOp::StdDevSamp,
            "$mergeObjects" => AccumulatorOp::MergeObjects,
            "$firstN" => AccumulatorOp::FirstN,
            "$lastN" => AccumulatorOp::LastN,
            "$maxN" => AccumulatorOp::MaxN,
            "$minN" => AccumulatorOp::MinN,
            "$top" => AccumulatorOp::Top,
            "$bottom" => AccumulatorOp::Bottom,
            "$topN" => AccumulatorOp::TopN,
            "$bottomN" => AccumulatorOp::BottomN,
            "$percentile" => AccumulatorOp::Percentile,
            "$median" => AccumulatorOp::Median,
            _ => return None,
        })
    }

    /// The operator name with its `$`.
    pub fn name(self) -> &'static str {
        match self {
            AccumulatorOp::Sum => "$sum",
            AccumulatorOp::Avg => "$avg",
            AccumulatorOp::Min => "$min",
            AccumulatorOp::Max => "$max",
            AccumulatorOp::Push => "$push",
            AccumulatorOp::AddToSet => "$addToSet",
            AccumulatorOp::First => "$first",
            AccumulatorOp::Last => "$last",
            AccumulatorOp::Count => "$count",
            AccumulatorOp::StdDevPop => "$stdDevPop",
            AccumulatorOp::StdDevSamp => "$stdDevSamp",
            AccumulatorOp::MergeObjects => "$mergeObjects",
            AccumulatorOp::FirstN => "$firstN",
            AccumulatorOp::LastN => "$lastN",
            AccumulatorOp::MaxN => "$maxN",
            AccumulatorOp::MinN => "$minN",
            AccumulatorOp::Top => "$top",
            AccumulatorOp::Bottom => "$bottom",
            AccumulatorOp::TopN => "$topN",
            AccumulatorOp::BottomN => "$bottomN",
            AccumulatorOp::Percentile => "$percentile",
            AccumulatorOp::Median => "$median",
        }
    }

    /// Whether the state keeps a share of every input value (`$push`, `$addToSet`,
    /// `$mergeObjects`, `$percentile`, `$median`), so its memory grows with the group; the
    /// others hold a fixed-size summary (the N accumulators at most `n` values).
    pub fn grows_with_input(self) -> bool {
        matches!(
            self,
            AccumulatorOp::Push
                | AccumulatorOp::AddToSet
                | AccumulatorOp::MergeObjects
                | AccumulatorOp::Percentile
                | AccumulatorOp::Median
        )
    }

    /// Whether this is one of the N accumulators (`$firstN` … `$bottomN`, `$top`, `$bottom`).
    pub fn is_n(self) -> bool {
        matches!(
            self,
            AccumulatorOp::FirstN
                | AccumulatorOp::LastN
                | AccumulatorOp::MaxN
                | AccumulatorOp::MinN
                | AccumulatorOp::Top
                | AccumulatorOp::Bottom
                | AccumulatorOp::TopN
                | AccumulatorOp::BottomN
        )
    }
}

/// A parsed accumulator such as `{"$sum": "$qty"}`.
#[derive(Debug, Clone, PartialEq)]
pub struct AccumulatorSpec {
    /// The accumulator.
    pub op: AccumulatorOp,
    /// Its argument expression (evaluated once per input document; `input`/`output` of the
    /// N accumulators).
    pub arg: Arc<Expr>,
    /// `n` of the N accumulators (evaluated against the group's first document).
    pub n: Option<Arc<Expr>>,
    /// `sortBy` of `$top`/`$bottom`/`$topN`/`$bottomN` (empty otherwise).
    pub sort_by: Arc<SortSpec>,
    /// `p` and `method` of `$percentile`/`$median`.
    pub percentile: Option<Arc<Percentile>>,
}

impl AccumulatorSpec {
    /// Parses `{"$op": <expr>}`.
    pub fn parse(v: &Bson, opts: &ParseOptions) -> Result<AccumulatorSpec> {
        let d = match v {
            Bson::Document(d) if d.len() == 1 => d,
            other => {
                return Err(QueryError::location(
                    40238,
                    format!(
                        "an accumulator must be an object with exactly one field, found: {}",
                        super::operators::show(other)
                    ),
                ));
            }
        };
        let (name, arg) = d.iter().next().expect("invariant: len is 1");
        let op = AccumulatorOp::from_name(name).ok_or_else(|| {
            QueryError::location(15952, format!("unknown group operator '{name}'"))
        })?;
        if op.is_n() {
            let (arg, n, sort_by) = accumulator_n::parse_spec(op, arg, opts)?;
            return Ok(AccumulatorSpec {
                op,
                arg: Arc::new(arg),
                n: n.map(Arc::new),
                sort_by: Arc::new(sort_by),
                percentile: None,
            });
        }
        if matches!(op, AccumulatorOp::Percentile | AccumulatorOp::Median) {
            let (arg, spec) = percentile::parse_spec(name, arg, opts, 1)?;
            return Ok(AccumulatorSpec {
                op,
                arg: Arc::new(arg),
                n: None,
                sort_by: Arc::new(SortSpec::new()),
                percentile: Some(Arc::new(spec)),
            });
        }
        let arg = match op {
            AccumulatorOp::Count => {
                if !matches!(arg, Bson::Document(a) if a.is_empty()) {
                    return Err(QueryError::location(
                        40237,
                        "$count takes no arguments, i.e. $count:{}",
                    ));
                }
                Expr::Literal(Bson::Int32(1))
            }
            _ => {
                if matches!(arg, Bson::Array(_)) {
                    return Err(QueryError::location(
                        40237,
                        format!("The {name} accumulator is a unary operator"),
                    ));
                }
                parse_at_depth(arg, opts, 1)?
            }
        };
        Ok(AccumulatorSpec {
            op,
            arg: Arc::new(arg),
            n: None,
            sort_by: Arc::new(SortSpec::new()),
            percentile: None,
        })
    }

    /// A fresh state for one group.
    pub fn new_state(&self) -> AccumulatorState {
        AccumulatorState {
            op: self.op,
            arg: Arc::clone(&self.arg),
            n: self.n.clone(),
            sort_by: Arc::clone(&self.sort_by),
            percentile: self.percentile.clone(),
            acc: Acc::new(self.op),
        }
    }
}

/// The running state of one accumulator for one group.
#[derive(Debug, Clone)]
pub struct AccumulatorState {
    op: AccumulatorOp,
    arg: Arc<Expr>,
    n: Option<Arc<Expr>>,
    sort_by: Arc<SortSpec>,
    percentile: Option<Arc<Percentile>>,
    acc: Acc,
}

impl AccumulatorState {
    /// Evaluates the argument against `ctx` and folds the value in.
    pub fn add(&mut self, ctx: &mut EvalContext<'_>) -> Result<()> {
        let v = self.arg.eval(ctx)?;
        if let Acc::N(state) = &mut self.acc {
            if state.n.is_none()
                && let Some(n) = &self.n
            {
                state.n = Some(accumulator_n::check_n(
                    self.op.name(),
                    n.eval(ctx)?.as_ref(),
                )?);
            }
            let keys = accumulator_n::sort_keys(ctx.current, &self.sort_by);
            state.add(keys, v, &self.sort_by);
            return Ok(());
        }
        self.add_value(v)
    }

    /// Folds in an already evaluated value (`None` = missing). For the N accumulators `n`
    /// must then be a constant, and `$top`/`$bottom` see every value with null sort keys.
    pub fn add_value(&mut self, v: Option<Bson>) -> Result<()> {
        if let Acc::N(state) = &mut self.acc {
            if state.n.is_none() {
                let n = match self.n.as_deref() {
                    Some(Expr::Literal(b)) => Some(b),
                    _ => None,
                };
                state.n = Some(accumulator_n::check_n(self.op.name(), n)?);
            }
            let keys = vec![Bson::Null; self.sort_by.len()];
            state.add(keys, v, &self.sort_by);
            return Ok(());
        }
        self.acc.add(self.op, v)
    }

    /// The accumulated result.
    pub fn finish(self) -> Bson {
        match (self.acc, &self.percentile) {
            (Acc::Values(values), Some(spec)) => spec.compute(values),
            (acc, _) => acc.finish(self.op),
        }
    }
}

/// Per-operator running state.
#[derive(Debug, Clone)]
enum Acc {
    Sum(NumFold),
    Avg {
        sum: NumFold,
        count: u64,
    },
    Extreme(Option<Bson>),
    List(Vec<Bson>),
    /// `$addToSet`: the distinct values in arrival order and their [`equality_key`]s.
    Set(Vec<Bson>, HashSet<String>),
    Edge(Option<Bson>),
    /// Welford's online variance.
    StdDev {
        n: u64,
        mean: f64,
        m2: f64,
    },
    Merge(Document),
    /// The N accumulators.
    N(NState),
    /// `$percentile`/`$median`: every numeric input.
    Values(Vec<f64>),
}

impl Acc {
    fn new(op: AccumulatorOp) -> Acc {
        match op {
            AccumulatorOp::Sum | AccumulatorOp::Count => Acc::Sum(NumFold::compensated_sum()),
            AccumulatorOp::Avg => Acc::Avg {
                sum: NumFold::compensated_sum(),
                count: 0,
            },
            AccumulatorOp::Min | AccumulatorOp::Max => Acc::Extreme(None),
            AccumulatorOp::Push => Acc::List(Vec::new()),
            AccumulatorOp::AddToSet => Acc::Set(Vec::new(), HashSet::new()),
            AccumulatorOp::First | AccumulatorOp::Last => Acc::Edge(None),
            AccumulatorOp::StdDevPop | AccumulatorOp::StdDevSamp => Acc::StdDev {
                n: 0,
                mean: 0.0,
                m2: 0.0,
            },
            AccumulatorOp::MergeObjects => Acc::Merge(Document::new()),
            AccumulatorOp::Percentile | AccumulatorOp::Median => Acc::Values(Vec::new()),
            _ => Acc::N(NState::new(op)),
        }
    }

    fn add(&mut self, op: AccumulatorOp, v: Option<Bson>) -> Result<()> {
        match self {
            Acc::Sum(fold) => {
                if let Some(n) = v.as_ref().and_then(Num::of) {
                    fold.push(n);
                }
            }
            Acc::Avg { sum, count } => {
                if let Some(n) = v.as_ref().and_then(Num::of) {
                    sum.push(n);
                    *count += 1;
                }
            }
            Acc::Extreme(best) => {
                let Some(v) = v else { return Ok(()) };
                if matches!(v, Bson::Null | Bson::Undefined) {
                    return Ok(());
                }
                let better = match best {
                    None => true,
                    Some(b) => {
                        let o = compare(&v, b);
                        if op == AccumulatorOp::Min {
                            o.is_lt()
                        } else {
                            o.is_gt()
                        }
                    }
                };
                if better {
                    *best = Some(v);
                }
            }
            Acc::List(items) => {
                if let Some(v) = v {
                    items.push(v);
                }
            }
            Acc::Set(items, seen) => {
                if let Some(v) = v
                    && seen.insert(equality_key(&v))
                {
                    items.push(v);
                }
            }
            Acc::Edge(slot) => {
                let v = v.unwrap_or(Bson::Null);
                if op == AccumulatorOp::Last || slot.is_none() {
                    *slot = Some(v);
                }
            }
            Acc::StdDev { n, mean, m2 } => {
                if let Some(x) = v.as_ref().and_then(Num::of) {
                    let x = x.f64();
                    *n += 1;
                    let delta = x - *mean;
                    *mean += delta / *n as f64;
                    *m2 += delta * (x - *mean);
                }
            }
            Acc::Merge(out) => merge_into(out, v, 0)?,
            // Fed through `AccumulatorState`, which knows the sort keys.
            Acc::N(state) => state.add(Vec::new(), v, &SortSpec::new()),
            Acc::Values(values) => {
                if let Some(n) = v.as_ref().and_then(Num::of) {
                    values.push(n.f64());
                }
            }
        }
        Ok(())
    }

    fn finish(self, op: AccumulatorOp) -> Bson {
        match self {
            Acc::Sum(fold) => fold.result().to_bson(),
            Acc::Avg { sum, count } => {
                if count == 0 {
                    return Bson::Null;
                }
                let total = sum.result();
                if total.kind() == NumKind::Dec {
                    let n = i64::try_from(count).unwrap_or(i64::MAX);
                    return Num::Dec(total.dec().quotient(Dec::from_i64(n))).to_bson();
                }
                Bson::Double(total.f64() / count as f64)
            }
            Acc::Extreme(best) | Acc::Edge(best) => best.unwrap_or(Bson::Null),
            Acc::List(items) | Acc::Set(items, _) => Bson::Array(items),
            Acc::StdDev { n, m2, .. } => {
                let denom = if op == AccumulatorOp::StdDevSamp {
                    n.saturating_sub(1)
                } else {
                    n
                };
                if denom == 0 {
                    Bson::Null
                } else {
                    Bson::Double((m2 / denom as f64).sqrt())
                }
            }
            Acc::Merge(d) => Bson::Document(d),
            Acc::N(state) => state.finish(),
            // Finished by `AccumulatorState::finish`, which has the specification.
            Acc::Values(values) => Percentile {
                ps: vec![0.5],
                continuous: false,
                single: op == AccumulatorOp::Median,
            }
            .compute(values),
        }
    }
}

/// A string equal for two values exactly when [`crate::compare::values_equal`] holds: numbers
/// of every type map to their value (integral values as integers, NaNs to one key), strings
/// and symbols share a key, documents and arrays recurse.
pub fn equality_key(v: &Bson) -> String {
    let mut out = String::new();
    write_key(v, &mut out);
    out
}

fn write_key(v: &Bson, out: &mut String) {
    match v {
        Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) | Bson::Decimal128(_) => {
            let key = match Number::of(v) {
                Some(Number::Int(i)) => format!("n{i};"),
                Some(Number::Double(d) | Number::Decimal(d)) => {
                    match super::num::f64_to_i64_exact(d) {
                        Some(i) => format!("n{i};"),
                        None if d.is_nan() => "nNaN;".to_string(),
                        None => format!("f{:x};", d.to_bits()),
                    }
                }
                None => "n?;".to_string(),
            };
            out.push_str(&key);
        }
        Bson::String(s) | Bson::Symbol(s) => out.push_str(&format!("s{}:{s};", s.len())),
        Bson::Document(d) => {
            out.push_str(&format!("o{}{{", d.len()));
            for (k, x) in d {
                out.push_str(&format!("{}:{k}=", k.len()));
                write_key(x, out);
            }
            out.push('}');
        }
        Bson::Array(items) => {
            out.push_str(&format!("a{}[", items.len()));
            for x in items {
                write_key(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&format!(
            "t{}:{};",
            type_rank(other),
            other.clone().into_canonical_extjson()
        )),
    }
}

/// `$mergeObjects` step: null and missing are skipped, documents merged (later fields win),
/// anything else is error 40400.
pub(crate) fn merge_into(out: &mut Document, v: Option<Bson>, index: usize) -> Result<()> {
    match v {
        None | Some(Bson::Null | Bson::Undefined) => Ok(()),
        Some(Bson::Document(d)) => {
            for (k, x) in d {
                out.insert(k, x);
            }
            Ok(())
        }
        Some(other) => Err(QueryError::location(
            40400,
            format!(
                "$mergeObjects requires object inputs, but input {index} is of type {}",
                type_name(&other)
            ),
        )),
    }
}

/// Parses `$sum $avg $min $max $stdDevPop $stdDevSamp $mergeObjects` used as expressions;
/// `Ok(None)` for other names.
pub(crate) fn parse_expression(
    name: &str,
    arg: &Bson,
    opts: &ParseOptions,
    depth: usize,
) -> Result<Option<Call>> {
    let name: &'static str = match name {
        "$sum" => "$sum",
        "$avg" => "$avg",
        "$min" => "$min",
        "$max" => "$max",
        "$stdDevPop" => "$stdDevPop",
        "$stdDevSamp" => "$stdDevSamp",
        "$mergeObjects" => "$mergeObjects",
        _ => return Ok(None),
    };
    let args = parse_list(arg, opts, depth)?;
    Ok(Some(Call::positional(name, args, eval_expression)))
}

fn eval_expression(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let op = AccumulatorOp::from_name(c.name).expect("invariant: parsed as an accumulator name");
    let mut acc = Acc::new(op);
    if op == AccumulatorOp::MergeObjects {
        for i in 0..c.len() {
            let v = c.eval_arg(i, ctx)?;
            if let Acc::Merge(out) = &mut acc {
                merge_into(out, v, i)?;
            }
        }
        return Ok(Some(acc.finish(op)));
    }
    if c.len() == 1 {
        match c.eval_arg(0, ctx)? {
            Some(Bson::Array(items)) => {
                for x in items {
                    acc.add(op, Some(x))?;
                }
            }
            v => acc.add(op, v)?,
        }
    } else {
        for i in 0..c.len() {
            let v = c.eval_arg(i, ctx)?;
            acc.add(op, v)?;
        }
    }
    Ok(Some(acc.finish(op)))
}
