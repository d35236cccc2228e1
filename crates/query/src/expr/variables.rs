//! Variable operators: `$let` (`{vars: {name: expr, …}, in: expr}`). The system variables
//! `$$ROOT $$CURRENT $$NOW $$REMOVE` are resolved by the expression core (`mod.rs`) and
//! `$literal` by the dispatcher. `vars` are evaluated in the outer scope, then bound for `in`.

use bson::Bson;

use super::operators::{Call, check_var_name, type_name, with_vars};
use super::{EvalContext, ParseOptions, parse_at_depth};
use crate::error::{QueryError, Result};

/// Parses `$let`; `Ok(None)` for other names.
pub(crate) fn parse(
    name: &str,
    arg: &Bson,
    opts: &ParseOptions,
    depth: usize,
) -> Result<Option<Call>> {
    if name != "$let" {
        return Ok(None);
    }
    let Bson::Document(d) = arg else {
        return Err(QueryError::location(
            16874,
            format!(
                "$let only supports an object as its argument, found {}",
                type_name(arg)
            ),
        ));
    };
    let mut names = Vec::new();
    let mut args = Vec::new();
    let mut body = None;
    for (k, v) in d {
        match k.as_str() {
            "vars" => {
                let Bson::Document(vars) = v else {
                    return Err(QueryError::location(
                        10065,
                        format!(
                            "invalid parameter: expected an object (vars), found {}",
                            type_name(v)
                        ),
                    ));
                };
                for (vn, ve) in vars {
                    check_var_name(vn)?;
                    names.push(vn.clone());
                    args.push(Some(parse_at_depth(ve, opts, depth + 2)?));
                }
            }
            "in" => body = Some(parse_at_depth(v, opts, depth + 1)?),
            _ => {
                return Err(QueryError::location(
                    16875,
                    format!("Unrecognized parameter to $let: {k}"),
                ));
            }
        }
    }
    if !d.contains_key("vars") {
        return Err(QueryError::location(
            16876,
            "Missing 'vars' parameter to $let",
        ));
    }
    let Some(body) = body else {
        return Err(QueryError::location(
            16877,
            "Missing 'in' parameter to $let",
        ));
    };
    args.push(Some(body));
    Ok(Some(Call {
        name: "$let",
        args,
        names,
        func: eval_let,
    }))
}

fn eval_let(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let n = c.names.len();
    let mut bindings = Vec::with_capacity(n);
    for (i, name) in c.names.iter().enumerate() {
        bindings.push((name.clone(), c.eval_arg(i, ctx)?.unwrap_or(Bson::Null)));
    }
    with_vars(ctx, bindings, |ctx| c.eval_arg(n, ctx))
}
