//! `$bucketAuto`: sorts documents by the `groupBy` value and splits them into at most
//! `buckets` groups of about equal size, never splitting equal values. Each output document
//! has `_id: {min, max}` where `max` is the next bucket's `min` (the last bucket's own
//! largest value), then the `output` accumulators (default `count`).
//!
//! Bucket sizing follows MongoDB: `round(n / buckets)` documents per bucket, extended while the
//! next value equals the bucket's last, with any remainder in the last bucket.
//! Known deviation: `granularity` (preferred number series) is not supported (BadValue).

use std::cmp::Ordering;

use bson::{Bson, Document};

use super::bucket::output_or_count;
use super::group::{Grouper, parse_accumulators};
use super::util::{eval_on, is_path_or_operator, show, type_name};
use super::{ParseCtx, RunCtx};
use crate::compare::{Number, compare};
use crate::error::{QueryError, Result};
use crate::expr::Expr;
use crate::expr::accumulator::AccumulatorSpec;

/// A parsed `$bucketAuto` stage.
#[derive(Debug, Clone)]
pub struct BucketAutoStage {
    group_by: Expr,
    buckets: usize,
    output: Vec<(String, AccumulatorSpec)>,
}

impl BucketAutoStage {
    /// Parses the `$bucketAuto` argument (MongoDB codes 40239–40246, 40261).
    pub(crate) fn parse(spec: &Bson, pc: &ParseCtx) -> Result<BucketAutoStage> {
        let Bson::Document(d) = spec else {
            return Err(QueryError::location(
                40240,
                format!(
                    "The argument to $bucketAuto must be an object, but found type: {}",
                    type_name(spec)
                ),
            ));
        };
        let mut group_by = None;
        let mut buckets = None;
        let mut output = None;
        for (k, v) in d {
            match k.as_str() {
                "groupBy" => {
                    if !is_path_or_operator(v) {
                        return Err(QueryError::location(
                            40239,
                            format!(
                                "The $bucketAuto 'groupBy' field must be defined as a $-prefixed path or an expression object, but found: {}",
                                show(v)
                            ),
                        ));
                    }
                    group_by = Some(Expr::parse(v, &pc.expr_opts())?);
                }
                "buckets" => {
                    let Some(n) = Number::of(v) else {
                        return Err(QueryError::location(
                            40241,
                            format!(
                                "The $bucketAuto 'buckets' field must be a numeric value, but found type: {}",
                                type_name(v)
                            ),
                        ));
                    };
                    let f = n.as_f64();
                    if f.fract() != 0.0 || f > f64::from(i32::MAX) || f.is_nan() {
                        return Err(QueryError::location(
                            40242,
                            format!(
                                "The $bucketAuto 'buckets' field must be representable as a 32-bit integer, but found {}",
                                show(v)
                            ),
                        ));
                    }
                    if f <= 0.0 {
                        return Err(QueryError::location(
                            40243,
                            format!(
                                "The $bucketAuto 'buckets' field must be greater than 0, but found: {}",
                                show(v)
                            ),
                        ));
                    }
                    buckets = Some(f as usize);
                }
                "output" => {
                    let Bson::Document(o) = v else {
                        return Err(QueryError::location(
                            40244,
                            format!(
                                "The $bucketAuto 'output' field must be an object, but found type: {}",
                                type_name(v)
                            ),
                        ));
                    };
                    output = Some(parse_accumulators(o.iter(), pc, "$bucketAuto")?);
                }
                "granularity" => {
                    if !matches!(v, Bson::String(_)) {
                        return Err(QueryError::location(
                            40261,
                            format!(
                                "The $bucketAuto 'granularity' field must be a string, but found type: {}",
                                type_name(v)
                            ),
                        ));
                    }
                    return Err(QueryError::bad_value(
                        "$bucketAuto 'granularity' is not supported",
                    ));
                }
                other => {
                    return Err(QueryError::location(
                        40245,
                        format!("Unrecognized option to $bucketAuto: {other}"),
                    ));
                }
            }
        }
        let (Some(group_by), Some(buckets)) = (group_by, buckets) else {
            return Err(QueryError::location(
                40246,
                "$bucketAuto requires 'groupBy' and 'buckets' to be specified",
            ));
        };
        let output = output_or_count(output, pc)?;
        Ok(BucketAutoStage {
            group_by,
            buckets,
            output,
        })
    }

    /// Buckets the input.
    pub(crate) fn apply(&self, docs: Vec<Document>, rc: &RunCtx<'_>) -> Result<Vec<Document>> {
        let mut rows: Vec<(Bson, Bson)> = Vec::with_capacity(docs.len());
        for d in docs {
            let b = Bson::Document(d);
            let v = eval_on(&self.group_by, &b, rc)?.unwrap_or(Bson::Null);
            rows.push((v, b));
        }
        rows.sort_by(|a, b| compare(&a.0, &b.0));
        let n = rows.len();
        if n == 0 {
            return Ok(Vec::new());
        }
        let per_bucket = ((n as f64 / self.buckets as f64).round() as usize).max(1);
        // Ranges [start, end) of `rows`, one per bucket.
        let mut ranges: Vec<(usize, usize)> = Vec::new();
        let mut i = 0;
        while i < n {
            let start = i;
            i = (i + per_bucket).min(n);
            while i < n && compare(&rows[i].0, &rows[i - 1].0) == Ordering::Equal {
                i += 1;
            }
            if ranges.len() + 1 == self.buckets {
                i = n;
            }
            ranges.push((start, i));
        }
        let mut out = Vec::with_capacity(ranges.len());
        for (bi, &(start, end)) in ranges.iter().enumerate() {
            let min = rows[start].0.clone();
            let max = match ranges.get(bi + 1) {
                Some(&(next, _)) => rows[next].0.clone(),
                None => rows[end - 1].0.clone(),
            };
            let mut g = Grouper::new(&self.output, rc);
            for (_, doc) in &rows[start..end] {
                g.add(Bson::Null, doc)?;
            }
            let mut id = Document::new();
            id.insert("min", min);
            id.insert("max", max);
            for mut d in g.finish()? {
                d.insert("_id", id.clone());
                out.push(d);
            }
        }
        Ok(out)
    }
}
