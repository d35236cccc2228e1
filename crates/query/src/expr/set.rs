//! Set operators: `$setUnion $setIntersection $setDifference $setEquals $setIsSubset
//! $anyElementTrue $allElementsTrue`. Arrays are treated as sets (duplicates ignored, equality
//! by [`crate::compare::values_equal`]); results keep first-appearance order (MongoDB leaves
//! the order unspecified).

use bson::Bson;

use super::operators::{Call, fixed, present, truthy, type_name, type_name_opt};
use super::{EvalContext, ParseOptions};
use crate::compare::values_equal;
use crate::error::{QueryError, Result};

/// Parses a set operator; `Ok(None)` when `name` is not one.
pub(crate) fn parse(
    name: &str,
    arg: &Bson,
    opts: &ParseOptions,
    depth: usize,
) -> Result<Option<Call>> {
    let any = usize::MAX;
    let call = match name {
        "$setUnion" => fixed("$setUnion", arg, opts, depth, 0, any, eval_union_inter)?,
        "$setIntersection" => fixed(
            "$setIntersection",
            arg,
            opts,
            depth,
            0,
            any,
            eval_union_inter,
        )?,
        "$setDifference" => fixed("$setDifference", arg, opts, depth, 2, 2, eval_difference)?,
        "$setEquals" => fixed("$setEquals", arg, opts, depth, 2, any, eval_equals)?,
        "$setIsSubset" => fixed("$setIsSubset", arg, opts, depth, 2, 2, eval_subset)?,
        "$anyElementTrue" => fixed("$anyElementTrue", arg, opts, depth, 1, 1, eval_any_all)?,
        "$allElementsTrue" => fixed("$allElementsTrue", arg, opts, depth, 1, 1, eval_any_all)?,
        _ => return Ok(None),
    };
    Ok(Some(call))
}

fn dedup(items: impl IntoIterator<Item = Bson>) -> Vec<Bson> {
    let mut out: Vec<Bson> = Vec::new();
    for x in items {
        if !out.iter().any(|y| values_equal(y, &x)) {
            out.push(x);
        }
    }
    out
}

fn contains(set: &[Bson], x: &Bson) -> bool {
    set.iter().any(|y| values_equal(y, x))
}

fn eval_union_inter(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let code = if c.name == "$setUnion" { 17043 } else { 17047 };
    let mut acc: Option<Vec<Bson>> = None;
    let mut null = false;
    for i in 0..c.len() {
        match present(c.eval_arg(i, ctx)?) {
            None => null = true,
            Some(Bson::Array(a)) => {
                acc = Some(match acc {
                    None => dedup(a),
                    Some(prev) if c.name == "$setUnion" => dedup(prev.into_iter().chain(a)),
                    Some(prev) => prev.into_iter().filter(|x| contains(&a, x)).collect(),
                });
            }
            Some(v) => {
                return Err(QueryError::location(
                    code,
                    format!(
                        "All operands of {} must be arrays. One argument is of type: {}",
                        c.name,
                        type_name(&v)
                    ),
                ));
            }
        }
    }
    if null {
        return Ok(Some(Bson::Null));
    }
    Ok(Some(Bson::Array(acc.unwrap_or_default())))
}

fn eval_difference(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let a = present(c.eval_arg(0, ctx)?);
    let b = present(c.eval_arg(1, ctx)?);
    match (a, b) {
        (None, _) | (_, None) => Ok(Some(Bson::Null)),
        (Some(Bson::Array(a)), Some(Bson::Array(b))) => Ok(Some(Bson::Array(
            dedup(a).into_iter().filter(|x| !contains(&b, x)).collect(),
        ))),
        (Some(Bson::Array(_)), Some(v)) => Err(QueryError::location(
            17049,
            format!(
                "both operands of $setDifference must be arrays. Second argument is of type: {}",
                type_name(&v)
            ),
        )),
        (Some(v), _) => Err(QueryError::location(
            17048,
            format!(
                "both operands of $setDifference must be arrays. First argument is of type: {}",
                type_name(&v)
            ),
        )),
    }
}

fn eval_equals(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let mut sets = Vec::with_capacity(c.len());
    for i in 0..c.len() {
        match c.eval_arg(i, ctx)? {
            Some(Bson::Array(a)) => sets.push(dedup(a)),
            v => {
                return Err(QueryError::location(
                    17044,
                    format!(
                        "All operands of $setEquals must be arrays. One argument is of type: {}",
                        type_name_opt(v.as_ref())
                    ),
                ));
            }
        }
    }
    let first = &sets[0];
    let eq = sets[1..]
        .iter()
        .all(|s| s.len() == first.len() && s.iter().all(|x| contains(first, x)));
    Ok(Some(Bson::Boolean(eq)))
}

fn eval_subset(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let a = c.eval_arg(0, ctx)?;
    let b = c.eval_arg(1, ctx)?;
    let Some(Bson::Array(a)) = a else {
        return Err(QueryError::location(
            17046,
            format!(
                "both operands of $setIsSubset must be arrays. First argument is of type: {}",
                type_name_opt(a.as_ref())
            ),
        ));
    };
    let Some(Bson::Array(b)) = b else {
        return Err(QueryError::location(
            17042,
            format!(
                "both operands of $setIsSubset must be arrays. Second argument is of type: {}",
                type_name_opt(b.as_ref())
            ),
        ));
    };
    Ok(Some(Bson::Boolean(a.iter().all(|x| contains(&b, x)))))
}

fn eval_any_all(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let any = c.name == "$anyElementTrue";
    match c.eval_arg(0, ctx)? {
        Some(Bson::Array(a)) => {
            let r = if any {
                a.iter().any(|x| truthy(Some(x)))
            } else {
                a.iter().all(|x| truthy(Some(x)))
            };
            Ok(Some(Bson::Boolean(r)))
        }
        v => Err(QueryError::location(
            if any { 17041 } else { 17040 },
            format!(
                "{}'s argument must be an array, but is {}",
                c.name,
                type_name_opt(v.as_ref())
            ),
        )),
    }
}
