//! `$percentile` and `$median` (MongoDB 7.0+): as `$group` accumulators
//! (`{input, p, method}` / `{input, method}`) and as expressions over an array or values.
//!
//! Non-numeric inputs are ignored; with no numbers the result is null. `p` must be a constant
//! array of numbers in [0, 1] (MongoDB also allows an expression). Methods: `"approximate"`
//! and `"discrete"` return the nearest-rank input value (rank ⌈p·n⌉; MongoDB's approximate
//! t-digest converges to it and is exact on small inputs), `"continuous"` interpolates
//! linearly between neighbours. Results are doubles.

use bson::Bson;

use super::num::Num;
use super::operators::{Call, show, type_name};
use super::{EvalContext, Expr, ParseOptions, parse_at_depth};
use crate::error::{QueryError, Result};

/// The constant part of a `$percentile`/`$median` specification.
#[derive(Debug, Clone, PartialEq)]
pub struct Percentile {
    /// The requested percentiles, each in [0, 1].
    pub ps: Vec<f64>,
    /// Linear interpolation (`"continuous"`) rather than nearest rank.
    pub continuous: bool,
    /// `$median`: a single double rather than an array.
    pub single: bool,
}

impl Percentile {
    /// The percentiles of `values` (any order); null when empty.
    pub fn compute(&self, mut values: Vec<f64>) -> Bson {
        values.retain(|v| !v.is_nan());
        if values.is_empty() {
            return Bson::Null;
        }
        values.sort_by(f64::total_cmp);
        let n = values.len();
        let at = |p: f64| -> f64 {
            if self.continuous {
                let pos = p * (n - 1) as f64;
                let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
                let (a, b) = (values[lo.min(n - 1)], values[hi.min(n - 1)]);
                a + (pos - lo as f64) * (b - a)
            } else {
                let rank = ((p * n as f64).ceil() as usize).clamp(1, n);
                values[rank - 1]
            }
        };
        if self.single {
            Bson::Double(at(self.ps.first().copied().unwrap_or(0.5)))
        } else {
            Bson::Array(self.ps.iter().map(|p| Bson::Double(at(*p))).collect())
        }
    }
}

/// Parses `{input, p, method}` (`$percentile`) or `{input, method}` (`$median`): the input
/// expression and the constant specification.
pub(crate) fn parse_spec(
    name: &str,
    arg: &Bson,
    opts: &ParseOptions,
    depth: usize,
) -> Result<(Expr, Percentile)> {
    let Bson::Document(d) = arg else {
        return Err(QueryError::location(
            7436200,
            format!(
                "specification for {name} must be an object, found {}",
                type_name(arg)
            ),
        ));
    };
    let single = name == "$median";
    let (mut input, mut ps, mut method) = (None, None, None);
    for (k, v) in d {
        match k.as_str() {
            "input" => input = Some(parse_at_depth(v, opts, depth + 1)?),
            "p" if !single => ps = Some(parse_ps(v)?),
            "method" => method = Some(v),
            _ => {
                return Err(QueryError::location(
                    7436201,
                    format!("{name} found an unknown argument: {k}"),
                ));
            }
        }
    }
    let Some(input) = input else {
        return Err(QueryError::location(
            7436202,
            format!("{name} requires 'input'"),
        ));
    };
    let continuous = match method {
        Some(Bson::String(m)) if m == "approximate" || m == "discrete" => false,
        Some(Bson::String(m)) if m == "continuous" => true,
        Some(other) => {
            return Err(QueryError::location(
                7436104,
                format!(
                    "{name} 'method' must be \"approximate\", \"discrete\" or \"continuous\", found {}",
                    show(other)
                ),
            ));
        }
        None => {
            return Err(QueryError::location(
                7436203,
                format!("{name} requires 'method'"),
            ));
        }
    };
    let ps = if single {
        vec![0.5]
    } else {
        ps.ok_or_else(|| QueryError::location(7436204, format!("{name} requires 'p'")))?
    };
    Ok((
        input,
        Percentile {
            ps,
            continuous,
            single,
        },
    ))
}

fn parse_ps(v: &Bson) -> Result<Vec<f64>> {
    let bad = || {
        QueryError::location(
            7750301,
            format!(
                "$percentile 'p' must be a non-empty array of numbers from [0.0, 1.0], found {}",
                show(v)
            ),
        )
    };
    let Bson::Array(items) = v else {
        return Err(bad());
    };
    if items.is_empty() {
        return Err(bad());
    }
    items
        .iter()
        .map(|x| match Num::of(x).map(Num::f64) {
            Some(p) if (0.0..=1.0).contains(&p) => Ok(p),
            _ => Err(bad()),
        })
        .collect()
}

/// Parses `$percentile`/`$median` used as expressions; `Ok(None)` for other names.
pub(crate) fn parse_expression(
    name: &str,
    arg: &Bson,
    opts: &ParseOptions,
    depth: usize,
) -> Result<Option<Call>> {
    let name: &'static str = match name {
        "$percentile" => "$percentile",
        "$median" => "$median",
        _ => return Ok(None),
    };
    let (input, spec) = parse_spec(name, arg, opts, depth)?;
    // The constant spec travels as literal arguments: [input, ps, continuous].
    let ps = Bson::Array(spec.ps.iter().map(|p| Bson::Double(*p)).collect());
    Ok(Some(Call::positional(
        name,
        vec![
            input,
            Expr::Literal(ps),
            Expr::Literal(Bson::Boolean(spec.continuous)),
        ],
        eval_expression,
    )))
}

fn eval_expression(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let values: Vec<f64> = match c.eval_arg(0, ctx)? {
        Some(Bson::Array(items)) => items.iter().filter_map(Num::of).map(Num::f64).collect(),
        Some(v) => Num::of(&v).map(Num::f64).into_iter().collect(),
        None => Vec::new(),
    };
    let ps = match c.eval_arg(1, ctx)? {
        Some(Bson::Array(ps)) => ps.iter().filter_map(Num::of).map(Num::f64).collect(),
        _ => vec![0.5],
    };
    let continuous = matches!(c.eval_arg(2, ctx)?, Some(Bson::Boolean(true)));
    let spec = Percentile {
        ps,
        continuous,
        single: c.name == "$median",
    };
    Ok(Some(spec.compute(values)))
}
