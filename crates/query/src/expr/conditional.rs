//! Conditional operators: `$cond` (array and `{if, then, else}` forms), `$ifNull` (two or more
//! arguments: the first non-nullish one, else the last) and `$switch`. All are lazy: only the
//! chosen branch is evaluated.

use bson::Bson;

use super::operators::{Call, arg_count_error, is_nullish, parse_list, truthy, type_name};
use super::{EvalContext, ParseOptions, parse_at_depth};
use crate::error::{QueryError, Result};

/// Parses a conditional operator; `Ok(None)` when `name` is not one.
pub(crate) fn parse(
    name: &str,
    arg: &Bson,
    opts: &ParseOptions,
    depth: usize,
) -> Result<Option<Call>> {
    let call = match name {
        "$cond" => parse_cond(arg, opts, depth)?,
        "$ifNull" => {
            let args = parse_list(arg, opts, depth)?;
            if args.len() < 2 {
                return Err(QueryError::location(
                    1257300,
                    format!("$ifNull needs at least two arguments, had: {}", args.len()),
                ));
            }
            Call::positional("$ifNull", args, eval_if_null)
        }
        "$switch" => parse_switch(arg, opts, depth)?,
        _ => return Ok(None),
    };
    Ok(Some(call))
}

fn parse_cond(arg: &Bson, opts: &ParseOptions, depth: usize) -> Result<Call> {
    let args = match arg {
        Bson::Document(d) => {
            let mut slots = [None, None, None];
            for (k, v) in d {
                let i = match k.as_str() {
                    "if" => 0,
                    "then" => 1,
                    "else" => 2,
                    _ => {
                        return Err(QueryError::location(
                            17083,
                            format!("Unrecognized parameter to $cond: {k}"),
                        ));
                    }
                };
                slots[i] = Some(parse_at_depth(v, opts, depth + 1)?);
            }
            for (i, n) in ["if", "then", "else"].iter().enumerate() {
                if slots[i].is_none() {
                    return Err(QueryError::location(
                        17080,
                        format!("Missing '{n}' parameter to $cond"),
                    ));
                }
            }
            slots.into_iter().flatten().collect()
        }
        other => {
            let args = parse_list(other, opts, depth)?;
            if args.len() != 3 {
                return Err(arg_count_error("$cond", 3, 3, args.len()));
            }
            args
        }
    };
    Ok(Call::positional("$cond", args, eval_cond))
}

fn eval_cond(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let branch = if truthy(c.eval_arg(0, ctx)?.as_ref()) {
        1
    } else {
        2
    };
    c.eval_arg(branch, ctx)
}

fn eval_if_null(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let last = c.len() - 1;
    for i in 0..last {
        let v = c.eval_arg(i, ctx)?;
        if !is_nullish(v.as_ref()) {
            return Ok(v);
        }
    }
    c.eval_arg(last, ctx)
}

/// `$switch` slots: `[default, case0, then0, case1, then1, …]`.
fn parse_switch(arg: &Bson, opts: &ParseOptions, depth: usize) -> Result<Call> {
    let Bson::Document(d) = arg else {
        return Err(QueryError::location(
            40060,
            format!(
                "$switch requires an object as an argument, found: {}",
                type_name(arg)
            ),
        ));
    };
    let mut default = None;
    let mut branches = Vec::new();
    for (k, v) in d {
        match k.as_str() {
            "branches" => {
                let Bson::Array(items) = v else {
                    return Err(QueryError::location(
                        40061,
                        format!(
                            "$switch expected an array for 'branches', found: {}",
                            type_name(v)
                        ),
                    ));
                };
                for b in items {
                    let Bson::Document(bd) = b else {
                        return Err(QueryError::location(
                            40062,
                            format!(
                                "$switch expected each branch to be an object, found: {}",
                                type_name(b)
                            ),
                        ));
                    };
                    let (mut case, mut then) = (None, None);
                    for (bk, bv) in bd {
                        let e = Some(parse_at_depth(bv, opts, depth + 2)?);
                        match bk.as_str() {
                            "case" => case = e,
                            "then" => then = e,
                            _ => {
                                return Err(QueryError::location(
                                    40063,
                                    format!("$switch found an unknown argument to a branch: {bk}"),
                                ));
                            }
                        }
                    }
                    if case.is_none() {
                        return Err(QueryError::location(
                            40064,
                            "$switch requires each branch have a 'case' expression",
                        ));
                    }
                    if then.is_none() {
                        return Err(QueryError::location(
                            40065,
                            "$switch requires each branch have a 'then' expression.",
                        ));
                    }
                    branches.push(case);
                    branches.push(then);
                }
            }
            "default" => default = Some(parse_at_depth(v, opts, depth + 1)?),
            _ => {
                return Err(QueryError::location(
                    40067,
                    format!("$switch found an unknown argument: {k}"),
                ));
            }
        }
    }
    if branches.is_empty() {
        return Err(QueryError::location(
            40068,
            "$switch requires at least one branch.",
        ));
    }
    let mut args = vec![default];
    args.extend(branches);
    Ok(Call {
        name: "$switch",
        args,
        names: Vec::new(),
        func: eval_switch,
    })
}

fn eval_switch(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let mut i = 1;
    while i + 1 < c.len() {
        if truthy(c.eval_arg(i, ctx)?.as_ref()) {
            return c.eval_arg(i + 1, ctx);
        }
        i += 2;
    }
    if c.has(0) {
        return c.eval_arg(0, ctx);
    }
    Err(QueryError::location(
        40066,
        "$switch could not find a matching branch for an input, and no default was specified.",
    ))
}
