//! `$bucket`: groups documents into ranges `[boundaries[i], boundaries[i+1])` of the `groupBy`
//! value (MongoDB's comparison order, so values of another type fall outside every bucket),
//! with an optional `default` bucket, and outputs one document per non-empty bucket, sorted by
//! `_id` (the lower boundary or the default value). `output` holds accumulators; without it
//! each bucket gets `count`.

use std::cmp::Ordering;

use bson::{Bson, Document};

use super::group::{Grouper, parse_accumulators};
use super::util::{eval_on, is_path_or_operator, show, type_name};
use super::{ParseCtx, RunCtx};
use crate::compare::{compare, type_rank};
use crate::error::{QueryError, Result};
use crate::expr::Expr;
use crate::expr::accumulator::AccumulatorSpec;

/// A parsed `$bucket` stage.
#[derive(Debug, Clone)]
pub struct BucketStage {
    group_by: Expr,
    boundaries: Vec<Bson>,
    default: Option<Bson>,
    output: Vec<(String, AccumulatorSpec)>,
}

/// A constant (non-expression) value of `boundaries`/`default`, or `None`.
fn constant(v: &Bson) -> Option<Bson> {
    match v {
        Bson::String(s) if s.starts_with('$') => None,
        Bson::Document(d) => match d.keys().next() {
            Some(k) if k == "$literal" => d.get("$literal").cloned(),
            Some(k) if k.starts_with('$') => None,
            _ => Some(v.clone()),
        },
        other => Some(other.clone()),
    }
}

impl BucketStage {
    /// Parses the `$bucket` argument (MongoDB codes 40191–40202).
    pub(crate) fn parse(spec: &Bson, pc: &ParseCtx) -> Result<BucketStage> {
        let Bson::Document(d) = spec else {
            return Err(QueryError::location(
                40201,
                format!(
                    "Argument to $bucket stage must be an object, but found type: {}.",
                    type_name(spec)
                ),
            ));
        };
        let mut group_by = None;
        let mut boundaries: Vec<Bson> = Vec::new();
        let mut default = None;
        let mut output = None;
        for (k, v) in d {
            match k.as_str() {
                "groupBy" => {
                    if !is_path_or_operator(v) {
                        return Err(QueryError::location(
                            40202,
                            format!(
                                "The $bucket 'groupBy' field must be defined as a $-prefixed path or an expression, but found: {}.",
                                show(v)
                            ),
                        ));
                    }
                    group_by = Some(Expr::parse(v, &pc.expr_opts())?);
                }
                "boundaries" => {
                    let Bson::Array(items) = v else {
                        return Err(QueryError::location(
                            40200,
                            format!(
                                "The $bucket 'boundaries' field must be an array, but found type: {}.",
                                type_name(v)
                            ),
                        ));
                    };
                    boundaries.clear();
                    for b in items {
                        let Some(c) = constant(b) else {
                            return Err(QueryError::location(
                                40191,
                                format!(
                                    "The $bucket 'boundaries' field must be an array of constant values, but found value: {}.",
                                    show(b)
                                ),
                            ));
                        };
                        boundaries.push(c);
                    }
                    if boundaries.len() < 2 {
                        return Err(QueryError::location(
                            40192,
                            format!(
                                "The $bucket 'boundaries' field must have at least 2 values, but found {} value(s).",
                                boundaries.len()
                            ),
                        ));
                    }
                    for (i, w) in boundaries.windows(2).enumerate() {
                        if type_rank(&w[0]) != type_rank(&w[1]) {
                            return Err(QueryError::location(
                                40193,
                                format!(
                                    "All values in the the 'boundaries' option to $bucket must have the same type. Found conflicting types {} and {}.",
                                    type_name(&w[0]),
                                    type_name(&w[1])
                                ),
                            ));
                        }
                        if compare(&w[0], &w[1]) != Ordering::Less {
                            return Err(QueryError::location(
                                40194,
                                format!(
                                    "The 'boundaries' option to $bucket must be sorted, but elements {} and {} are not in ascending order ({} is not less than {}).",
                                    i,
                                    i + 1,
                                    show(&w[0]),
                                    show(&w[1])
                                ),
                            ));
                        }
                    }
                }
                "default" => {
                    let Some(c) = constant(v) else {
                        return Err(QueryError::location(
                            40195,
                            format!(
                                "The $bucket 'default' field must be a constant expression, but found: {}.",
                                show(v)
                            ),
                        ));
                    };
                    default = Some(c);
                }
                "output" => {
                    let Bson::Document(o) = v else {
                        return Err(QueryError::location(
                            40196,
                            format!(
                                "The $bucket 'output' field must be an object, but found type: {}.",
                                type_name(v)
                            ),
                        ));
                    };
                    output = Some(parse_accumulators(o.iter(), pc, "$bucket")?);
                }
                other => {
                    return Err(QueryError::location(
                        40197,
                        format!("Unrecognized option to $bucket: {other}."),
                    ));
                }
            }
        }
        let (Some(group_by), false) = (group_by, boundaries.is_empty()) else {
            return Err(QueryError::location(
                40198,
                "$bucket requires 'groupBy' and 'boundaries' to be specified.",
            ));
        };
        if let (Some(dv), Some(lo), Some(hi)) = (&default, boundaries.first(), boundaries.last())
            && type_rank(dv) == type_rank(lo)
            && compare(dv, lo) != Ordering::Less
            && compare(dv, hi) == Ordering::Less
        {
            return Err(QueryError::location(
                40199,
                "The $bucket 'default' field must be less than the lowest boundary or greater than or equal to the highest boundary.",
            ));
        }
        let output = output_or_count(output, pc)?;
        Ok(BucketStage {
            group_by,
            boundaries,
            default,
            output,
        })
    }

    /// The bucket (`_id`) of a value, or `None` when it falls outside with no default.
    fn bucket_of(&self, v: &Bson) -> Option<Bson> {
        for w in self.boundaries.windows(2) {
            if compare(v, &w[0]) != Ordering::Less && compare(v, &w[1]) == Ordering::Less {
                return Some(w[0].clone());
            }
        }
        self.default.clone()
    }

    /// Buckets the input.
    pub(crate) fn apply(&self, docs: Vec<Document>, rc: &RunCtx<'_>) -> Result<Vec<Document>> {
        let mut g = Grouper::new(&self.output, rc);
        for d in docs {
            let b = Bson::Document(d);
            let v = eval_on(&self.group_by, &b, rc)?.unwrap_or(Bson::Null);
            let Some(key) = self.bucket_of(&v) else {
                return Err(QueryError::location(
                    40066,
                    format!(
                        "$switch could not find a matching branch for an input, and no default was specified. ($bucket groupBy value {} is outside the boundaries)",
                        show(&v)
                    ),
                ));
            };
            g.add(key, &b)?;
        }
        g.finish_sorted()
    }
}

/// The `output` of `$bucket`/`$bucketAuto`, or MongoDB's default `{count: {$sum: 1}}`.
pub(crate) fn output_or_count(
    output: Option<Vec<(String, AccumulatorSpec)>>,
    pc: &ParseCtx,
) -> Result<Vec<(String, AccumulatorSpec)>> {
    match output {
        Some(o) => Ok(o),
        None => {
            let mut count = Document::new();
            count.insert("$sum", 1);
            Ok(vec![(
                "count".to_string(),
                AccumulatorSpec::parse(&Bson::Document(count), &pc.expr_opts())?,
            )])
        }
    }
}
