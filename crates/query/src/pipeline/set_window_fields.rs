//! `$setWindowFields`: adds fields computed over a window of neighbouring documents in the
//! same partition.
//!
//! Documents are grouped by `partitionBy` (missing = null), partitions are output in the
//! order of their key and documents inside a partition in `sortBy` order (stable), as MongoDB
//! does by sorting on both. Supported window functions: the `$group` accumulators (`$sum`,
//! `$avg`, `$min`, `$max`, `$push`, `$addToSet`, `$first`, `$last`, `$count`, `$stdDevPop`,
//! `$stdDevSamp`, `$mergeObjects`) over a `documents: [lower, upper]` window (bounds
//! `"unbounded"`, `"current"` or an integer offset; default: the whole partition), and the
//! positional functions `$documentNumber`, `$rank`, `$denseRank` (which need `sortBy`) and
//! `$shift: {output, by, default}`.
//!
//! Known deviations: `range` windows (with or without `unit`) and the other window functions
//! (`$derivative`, `$integral`, `$expMovingAvg`, `$covariance*`, `$locf`, `$linearFill`,
//! `$top*`/`$bottom*`, …) are refused with FailedToParse (9).

use std::cmp::Ordering;

use bson::{Bson, Document};

use super::util::{OrdBson, count_value, eval_on, set_nested, split_field_path, type_name};
use super::{ParseCtx, RunCtx};
use crate::compare::{Number, compare};
use crate::error::{QueryError, Result};
use crate::expr::Expr;
use crate::expr::accumulator::{AccumulatorOp, AccumulatorSpec};
use crate::sort::SortSpec;

/// One bound of a `documents` window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bound {
    Unbounded,
    Offset(i64),
}

/// A window function.
#[derive(Debug, Clone)]
enum Function {
    Accumulate {
        spec: AccumulatorSpec,
        lower: Bound,
        upper: Bound,
    },
    DocumentNumber,
    Rank,
    DenseRank,
    Shift {
        output: Expr,
        by: i64,
        default: Bson,
    },
}

/// A parsed `$setWindowFields` stage.
#[derive(Debug, Clone)]
pub struct SetWindowFieldsStage {
    partition_by: Option<Expr>,
    sort_by: Option<SortSpec>,
    outputs: Vec<(Vec<String>, Function)>,
}

fn parse_error(msg: impl Into<String>) -> QueryError {
    QueryError::failed_to_parse(msg)
}

fn parse_bound(v: &Bson) -> Result<Bound> {
    match v {
        Bson::String(s) if s == "unbounded" => Ok(Bound::Unbounded),
        Bson::String(s) if s == "current" => Ok(Bound::Offset(0)),
        other => match Number::of(other) {
            Some(Number::Int(i)) => Ok(Bound::Offset(i)),
            Some(n) if n.as_f64().fract() == 0.0 && n.as_f64().abs() < 9.0e15 => {
                Ok(Bound::Offset(n.as_f64() as i64))
            }
            _ => Err(parse_error(format!(
                "Window bounds must be 'unbounded', 'current', or an integer, found {}",
                type_name(other)
            ))),
        },
    }
}

/// Parses `window: {documents: [lower, upper]}`.
fn parse_window(v: &Bson) -> Result<(Bound, Bound)> {
    let Bson::Document(w) = v else {
        return Err(parse_error("'window' field must be an object"));
    };
    let mut bounds = (Bound::Unbounded, Bound::Unbounded);
    for (k, x) in w {
        match k.as_str() {
            "documents" => {
                let Bson::Array(items) = x else {
                    return Err(parse_error("Window bounds must be a 2-element array"));
                };
                let [lo, hi] = items.as_slice() else {
                    return Err(parse_error("Window bounds must be a 2-element array"));
                };
                let (lo, hi) = (parse_bound(lo)?, parse_bound(hi)?);
                let ordered = match (lo, hi) {
                    (Bound::Offset(a), Bound::Offset(b)) => a <= b,
                    (Bound::Unbounded, _) | (_, Bound::Unbounded) => true,
                };
                if !ordered {
                    return Err(parse_error(
                        "Lower bound must not exceed upper bound in a 'documents' window",
                    ));
                }
                bounds = (lo, hi);
            }
            "range" | "unit" => {
                return Err(parse_error(
                    "$setWindowFields: 'range' windows are not supported",
                ));
            }
            other => {
                return Err(parse_error(format!(
                    "'window' field that is not 'documents' or 'range': {other}"
                )));
            }
        }
    }
    Ok(bounds)
}

fn parse_function(field: &str, v: &Bson, pc: &ParseCtx) -> Result<Function> {
    let Bson::Document(d) = v else {
        return Err(parse_error(format!(
            "$setWindowFields output field '{field}' must be an object, found {}",
            type_name(v)
        )));
    };
    let mut window = None;
    let mut func: Option<(&String, &Bson)> = None;
    for (k, x) in d {
        if k == "window" {
            window = Some(parse_window(x)?);
        } else if func.is_some() {
            return Err(parse_error(format!(
                "Expected exactly one window function in '{field}', found a second: {k}"
            )));
        } else {
            func = Some((k, x));
        }
    }
    let Some((name, arg)) = func else {
        return Err(parse_error(format!(
            "Expected a window function in $setWindowFields output field '{field}'"
        )));
    };
    let positional = |f: Function| {
        if window.is_some() {
            return Err(parse_error(format!(
                "{name} does not accept a 'window' field"
            )));
        }
        if !matches!(arg, Bson::Document(a) if a.is_empty()) && name != "$shift" {
            return Err(parse_error(format!(
                "{name} must be specified with '{{}}' as the value"
            )));
        }
        Ok(f)
    };
    match name.as_str() {
        "$documentNumber" => positional(Function::DocumentNumber),
        "$rank" => positional(Function::Rank),
        "$denseRank" => positional(Function::DenseRank),
        "$shift" => {
            let Bson::Document(a) = arg else {
                return Err(parse_error("Argument to $shift must be an object"));
            };
            let mut output = None;
            let mut by = None;
            let mut default = Bson::Null;
            for (k, x) in a {
                match k.as_str() {
                    "output" => output = Some(Expr::parse(x, &pc.expr_opts())?),
                    "by" => match Number::of(x) {
                        Some(Number::Int(i)) => by = Some(i),
                        Some(n) if n.as_f64().fract() == 0.0 && n.as_f64().abs() < 9.0e15 => {
                            by = Some(n.as_f64() as i64);
                        }
                        _ => return Err(parse_error("'$shift:by' field must be an integer")),
                    },
                    "default" => default = x.clone(),
                    other => {
                        return Err(parse_error(format!("Unknown argument in $shift: {other}")));
                    }
                }
            }
            let (Some(output), Some(by)) = (output, by) else {
                return Err(parse_error("$shift requires 'output' and 'by'"));
            };
            positional(Function::Shift {
                output,
                by,
                default,
            })
        }
        _ => {
            if AccumulatorOp::from_name(name).is_none() {
                return Err(parse_error(format!("Unrecognized window function, {name}")));
            }
            let mut one = Document::new();
            one.insert(name.clone(), arg.clone());
            let spec = AccumulatorSpec::parse(&Bson::Document(one), &pc.expr_opts())?;
            let (lower, upper) = window.unwrap_or((Bound::Unbounded, Bound::Unbounded));
            Ok(Function::Accumulate { spec, lower, upper })
        }
    }
}

impl SetWindowFieldsStage {
    /// Parses the `$setWindowFields` argument.
    pub(crate) fn parse(spec: &Bson, pc: &ParseCtx) -> Result<SetWindowFieldsStage> {
        let Bson::Document(d) = spec else {
            return Err(parse_error(format!(
                "the $setWindowFields stage specification must be an object, found {}",
                type_name(spec)
            )));
        };
        let mut partition_by = None;
        let mut sort_by = None;
        let mut outputs = None;
        for (k, v) in d {
            match k.as_str() {
                "partitionBy" => partition_by = Some(Expr::parse(v, &pc.expr_opts())?),
                "sortBy" => {
                    let Bson::Document(s) = v else {
                        return Err(QueryError::type_mismatch(format!(
                            "BSON field '$setWindowFields.sortBy' is the wrong type '{}', expected type 'object'",
                            type_name(v)
                        )));
                    };
                    sort_by = Some(SortSpec::parse(s)?);
                }
                "output" => {
                    let Bson::Document(o) = v else {
                        return Err(QueryError::type_mismatch(format!(
                            "BSON field '$setWindowFields.output' is the wrong type '{}', expected type 'object'",
                            type_name(v)
                        )));
                    };
                    let mut list = Vec::with_capacity(o.len());
                    for (field, f) in o {
                        list.push((split_field_path(field)?, parse_function(field, f, pc)?));
                    }
                    outputs = Some(list);
                }
                other => {
                    return Err(QueryError::location(
                        40415,
                        format!("BSON field '$setWindowFields.{other}' is an unknown field."),
                    ));
                }
            }
        }
        let Some(outputs) = outputs else {
            return Err(QueryError::location(
                40414,
                "BSON field '$setWindowFields.output' is missing but a required field",
            ));
        };
        for (path, f) in &outputs {
            let needs_sort = matches!(
                f,
                Function::Rank
                    | Function::DenseRank
                    | Function::DocumentNumber
                    | Function::Shift { .. }
            ) || matches!(f, Function::Accumulate { lower, upper, .. }
                if *lower != Bound::Unbounded || *upper != Bound::Unbounded);
            if needs_sort && sort_by.is_none() {
                return Err(parse_error(format!(
                    "$setWindowFields output '{}' requires a sortBy",
                    path.join(".")
                )));
            }
            if matches!(f, Function::Rank | Function::DenseRank)
                && sort_by.as_ref().is_some_and(|s| s.keys().len() != 1)
            {
                return Err(parse_error(
                    "$rank and $denseRank must be specified with a single sortBy field",
                ));
            }
        }
        Ok(SetWindowFieldsStage {
            partition_by,
            sort_by,
            outputs,
        })
    }

    /// Computes the window fields.
    pub(crate) fn apply(&self, docs: Vec<Document>, rc: &RunCtx<'_>) -> Result<Vec<Document>> {
        // (partition key, sort key, document), sorted by partition then sort key (stable).
        let mut rows: Vec<(Bson, Vec<Bson>, Document)> = Vec::with_capacity(docs.len());
        for d in docs {
            let b = Bson::Document(d);
            let part = match &self.partition_by {
                Some(e) => eval_on(e, &b, rc)?.unwrap_or(Bson::Null),
                None => Bson::Null,
            };
            let Bson::Document(d) = b else {
                unreachable!("invariant: wrapped a document")
            };
            let key = self
                .sort_by
                .as_ref()
                .map(|s| s.sort_key(&d))
                .unwrap_or_default();
            rows.push((part, key, d));
        }
        rows.sort_by(|a, b| {
            compare(&a.0, &b.0).then_with(|| match &self.sort_by {
                Some(s) => s.compare_keys(&a.1, &b.1),
                None => Ordering::Equal,
            })
        });
        let mut out = Vec::with_capacity(rows.len());
        let mut start = 0;
        while start < rows.len() {
            let mut end = start + 1;
            while end < rows.len() && OrdBson(rows[end].0.clone()) == OrdBson(rows[start].0.clone())
            {
                end += 1;
            }
            out.extend(self.partition(&mut rows[start..end], rc)?);
            start = end;
        }
        Ok(out)
    }

    /// Computes the outputs of one partition.
    fn partition(
        &self,
        rows: &mut [(Bson, Vec<Bson>, Document)],
        rc: &RunCtx<'_>,
    ) -> Result<Vec<Document>> {
        let n = rows.len();
        let mut results: Vec<Vec<Bson>> = Vec::with_capacity(self.outputs.len());
        for (_, f) in &self.outputs {
            results.push(self.compute(f, rows, rc)?);
        }
        let mut out = Vec::with_capacity(n);
        for (i, row) in rows.iter_mut().enumerate() {
            let mut d = std::mem::take(&mut row.2);
            for ((path, _), vals) in self.outputs.iter().zip(&results) {
                set_nested(&mut d, path, vals[i].clone());
            }
            out.push(d);
        }
        Ok(out)
    }

    /// The values of one window function for every row of a partition.
    fn compute(
        &self,
        f: &Function,
        rows: &[(Bson, Vec<Bson>, Document)],
        rc: &RunCtx<'_>,
    ) -> Result<Vec<Bson>> {
        let n = rows.len();
        let as_i64 = |i: usize| i64::try_from(i).unwrap_or(i64::MAX);
        match f {
            Function::DocumentNumber => Ok((1..=n).map(count_value).collect()),
            Function::Rank | Function::DenseRank => {
                let dense = matches!(f, Function::DenseRank);
                let mut out = Vec::with_capacity(n);
                let (mut rank, mut distinct) = (0usize, 0usize);
                for i in 0..n {
                    let same = i > 0
                        && self
                            .sort_by
                            .as_ref()
                            .is_some_and(|s| s.compare_keys(&rows[i].1, &rows[i - 1].1).is_eq());
                    if !same {
                        rank = i + 1;
                        distinct += 1;
                    }
                    out.push(count_value(if dense { distinct } else { rank }));
                }
                Ok(out)
            }
            Function::Shift {
                output,
                by,
                default,
            } => {
                let mut out = Vec::with_capacity(n);
                for i in 0..n {
                    let j = as_i64(i).checked_add(*by);
                    let v = match j.and_then(|j| usize::try_from(j).ok()).filter(|j| *j < n) {
                        Some(j) => eval_on(output, &Bson::Document(rows[j].2.clone()), rc)?
                            .unwrap_or(Bson::Null),
                        None => default.clone(),
                    };
                    out.push(v);
                }
                Ok(out)
            }
            Function::Accumulate { spec, lower, upper } => {
                let mut vals = Vec::with_capacity(n);
                for row in rows {
                    vals.push(eval_on(&spec.arg, &Bson::Document(row.2.clone()), rc)?);
                }
                let mut out = Vec::with_capacity(n);
                if *lower == Bound::Unbounded && *upper == Bound::Unbounded {
                    let mut st = spec.new_state();
                    for v in &vals {
                        st.add_value(v.clone())?;
                    }
                    let r = st.finish();
                    out.resize(n, r);
                    return Ok(out);
                }
                for i in 0..n {
                    let lo = match lower {
                        Bound::Unbounded => 0,
                        Bound::Offset(o) => clamp(as_i64(i).saturating_add(*o), n),
                    };
                    let hi = match upper {
                        Bound::Unbounded => n,
                        Bound::Offset(o) => {
                            clamp(as_i64(i).saturating_add(*o).saturating_add(1), n)
                        }
                    };
                    let mut st = spec.new_state();
                    for v in vals.iter().take(hi).skip(lo) {
                        st.add_value(v.clone())?;
                    }
                    out.push(st.finish());
                }
                Ok(out)
            }
        }
    }
}

/// `i` clamped into `0..=n`.
fn clamp(i: i64, n: usize) -> usize {
    usize::try_from(i.max(0)).unwrap_or(usize::MAX).min(n)
}
