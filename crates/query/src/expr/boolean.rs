//! Boolean operators: `$and $or $not`. `$and`/`$or` short-circuit; truthiness is MongoDB's
//! (false, null, undefined, missing and numeric zero are false; everything else is true).

use bson::Bson;

use super::operators::{Call, fixed, truthy};
use super::{EvalContext, ParseOptions};
use crate::error::Result;

/// Parses a boolean operator; `Ok(None)` when `name` is not one.
pub(crate) fn parse(
    name: &str,
    arg: &Bson,
    opts: &ParseOptions,
    depth: usize,
) -> Result<Option<Call>> {
    let call = match name {
        "$and" => fixed("$and", arg, opts, depth, 0, usize::MAX, eval_and_or)?,
        "$or" => fixed("$or", arg, opts, depth, 0, usize::MAX, eval_and_or)?,
        "$not" => fixed("$not", arg, opts, depth, 1, 1, eval_not)?,
        _ => return Ok(None),
    };
    Ok(Some(call))
}

fn eval_and_or(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    // `$and` stops at the first false, `$or` at the first true.
    let stop_at = c.name == "$or";
    for i in 0..c.len() {
        if truthy(c.eval_arg(i, ctx)?.as_ref()) == stop_at {
            return Ok(Some(Bson::Boolean(stop_at)));
        }
    }
    Ok(Some(Bson::Boolean(!stop_at)))
}

fn eval_not(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    Ok(Some(Bson::Boolean(!truthy(c.eval_arg(0, ctx)?.as_ref()))))
}
