//! Comparison operators: `$eq $ne $gt $gte $lt $lte $cmp`, in MongoDB's BSON order
//! ([`crate::compare::compare`]). A missing operand compares like `undefined`: equal to another
//! missing value and below null (so `{$eq: ["$absent", null]}` is false, as in MongoDB).

use std::cmp::Ordering;

use bson::Bson;

use super::operators::{Call, fixed};
use super::{EvalContext, ParseOptions};
use crate::compare::compare;
use crate::error::Result;

/// Parses a comparison operator; `Ok(None)` when `name` is not one.
pub(crate) fn parse(
    name: &str,
    arg: &Bson,
    opts: &ParseOptions,
    depth: usize,
) -> Result<Option<Call>> {
    let name: &'static str = match name {
        "$eq" => "$eq",
        "$ne" => "$ne",
        "$gt" => "$gt",
        "$gte" => "$gte",
        "$lt" => "$lt",
        "$lte" => "$lte",
        "$cmp" => "$cmp",
        _ => return Ok(None),
    };
    Ok(Some(fixed(name, arg, opts, depth, 2, 2, eval_compare)?))
}

/// Compares two expression results, treating missing as `undefined`.
pub(crate) fn compare_opt(a: Option<&Bson>, b: Option<&Bson>) -> Ordering {
    let u = Bson::Undefined;
    compare(a.unwrap_or(&u), b.unwrap_or(&u))
}

fn eval_compare(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let a = c.eval_arg(0, ctx)?;
    let b = c.eval_arg(1, ctx)?;
    let o = compare_opt(a.as_ref(), b.as_ref());
    let r = match c.name {
        "$eq" => o == Ordering::Equal,
        "$ne" => o != Ordering::Equal,
        "$gt" => o == Ordering::Greater,
        "$gte" => o != Ordering::Less,
        "$lt" => o == Ordering::Less,
        "$lte" => o != Ordering::Greater,
        _ => {
            return Ok(Some(Bson::Int32(match o {
                Ordering::Less => -1,
                Ordering::Equal => 0,
                Ordering::Greater => 1,
            })));
        }
    };
    Ok(Some(Bson::Boolean(r)))
}
