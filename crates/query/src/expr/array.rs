//! Array operators: `$arrayElemAt $first $last $size $filter $map $reduce $in $slice
//! $concatArrays $indexOfArray $isArray $reverseArray $range $zip $sortArray`.
//!
//! Most return null when the array argument is null or missing and fail with MongoDB's code
//! when it is another non-array. `$filter`, `$map` and `$reduce` bind variables (`as`, default
//! `this`; `$$value`/`$$this` for `$reduce`) for the duration of each element's evaluation.

use std::cmp::Ordering;

use bson::{Bson, Document};

use super::num::Num;
use super::operators::{
    Call, check_array_len, check_var_name, fixed, named, named_slots, present, show, type_name,
    type_name_opt, with_vars,
};
use super::{EvalContext, ParseOptions};
use crate::compare::{compare, values_equal};
use crate::error::{QueryError, Result};

/// Parses an array operator; `Ok(None)` when `name` is not one.
pub(crate) fn parse(
    name: &str,
    arg: &Bson,
    opts: &ParseOptions,
    depth: usize,
) -> Result<Option<Call>> {
    let any = usize::MAX;
    let call = match name {
        "$arrayElemAt" => fixed("$arrayElemAt", arg, opts, depth, 2, 2, eval_elem_at)?,
        "$first" => fixed("$first", arg, opts, depth, 1, 1, eval_first_last)?,
        "$last" => fixed("$last", arg, opts, depth, 1, 1, eval_first_last)?,
        "$size" => fixed("$size", arg, opts, depth, 1, 1, eval_size)?,
        "$isArray" => fixed("$isArray", arg, opts, depth, 1, 1, eval_is_array)?,
        "$reverseArray" => fixed("$reverseArray", arg, opts, depth, 1, 1, eval_reverse)?,
        "$in" => fixed("$in", arg, opts, depth, 2, 2, eval_in)?,
        "$slice" => fixed("$slice", arg, opts, depth, 2, 3, eval_slice)?,
        "$concatArrays" => fixed("$concatArrays", arg, opts, depth, 0, any, eval_concat)?,
        "$indexOfArray" => fixed("$indexOfArray", arg, opts, depth, 2, 4, eval_index_of)?,
        "$range" => fixed("$range", arg, opts, depth, 2, 3, eval_range)?,
        "$filter" => binding(
            "$filter",
            arg,
            opts,
            depth,
            &["input", "cond", "limit"],
            eval_filter,
        )?,
        "$map" => binding("$map", arg, opts, depth, &["input", "in"], eval_map)?,
        "$reduce" => {
            let fields: &[&str] = &["input", "initialValue", "in"];
            named("$reduce", arg, opts, depth, fields, fields, eval_reduce)?
        }
        "$zip" => named(
            "$zip",
            arg,
            opts,
            depth,
            &["inputs", "useLongestLength", "defaults"],
            &["inputs"],
            eval_zip,
        )?,
        "$sortArray" => {
            let Bson::Document(d) = arg else {
                return Err(QueryError::location(
                    2942500,
                    format!(
                        "$sortArray requires an object as an argument, found: {}",
                        type_name(arg)
                    ),
                ));
            };
            let mut call = named(
                "$sortArray",
                arg,
                opts,
                depth,
                &["input", "sortBy"],
                &["input", "sortBy"],
                eval_sort,
            )?;
            // sortBy is a constant specification, not an expression: keep it as a literal.
            let spec = d.get("sortBy").cloned().unwrap_or(Bson::Null);
            check_sort_spec(&spec)?;
            call.args[1] = Some(super::Expr::Literal(spec));
            call
        }
        _ => return Ok(None),
    };
    Ok(Some(call))
}

/// Parses `$filter`/`$map`: named arguments plus the `as` variable name (default `this`),
/// stored in `names[0]`.
fn binding(
    name: &'static str,
    arg: &Bson,
    opts: &ParseOptions,
    depth: usize,
    fields: &[&str],
    func: super::operators::OpFn,
) -> Result<Call> {
    let Bson::Document(d) = arg else {
        return Err(QueryError::location(
            28646,
            format!("{name} only supports an object as its argument"),
        ));
    };
    let mut rest = d.clone();
    let var = match rest.remove("as") {
        None => "this".to_string(),
        Some(Bson::String(s)) => s,
        Some(other) => {
            return Err(QueryError::location(
                16866,
                format!("{name}: 'as' must be a string, found {}", type_name(&other)),
            ));
        }
    };
    check_var_name(&var)?;
    let required: &[&str] = if name == "$filter" {
        &["input", "cond"]
    } else {
        &["input", "in"]
    };
    let args = named_slots(name, &rest, opts, depth, fields, required)?;
    Ok(Call {
        name,
        args,
        names: vec![var],
        func,
    })
}

/// Evaluates slot `i` as an array: `Ok(None)` for null/missing, error `code` with `msg`
/// followed by the type name otherwise.
fn array_arg(
    c: &Call,
    i: usize,
    ctx: &mut EvalContext<'_>,
    code: u32,
    msg: &str,
) -> Result<Option<Vec<Bson>>> {
    match present(c.eval_arg(i, ctx)?) {
        None => Ok(None),
        Some(Bson::Array(a)) => Ok(Some(a)),
        Some(v) => Err(QueryError::location(
            code,
            format!("{msg}{}", type_name(&v)),
        )),
    }
}

/// An integral argument (an int, long, or a double/decimal with an integral value) that fits
/// in 32 bits, as MongoDB requires for indexes.
fn int_arg(v: Option<&Bson>, code: u32, what: &str) -> Result<i64> {
    v.and_then(Num::of)
        .and_then(Num::exact_i64)
        .filter(|i| i32::try_from(*i).is_ok())
        .ok_or_else(|| {
            QueryError::location(
                code,
                format!(
                    "{what} must be a 32-bit integral value, found: {}",
                    v.map_or_else(|| "missing".to_string(), show)
                ),
            )
        })
}

fn eval_elem_at(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let arr = c.eval_arg(0, ctx)?;
    let idx = c.eval_arg(1, ctx)?;
    let (Some(arr), Some(idx)) = (present(arr), present(idx)) else {
        return Ok(Some(Bson::Null));
    };
    let Bson::Array(arr) = arr else {
        return Err(QueryError::location(
            28689,
            format!(
                "$arrayElemAt's first argument must be an array, but is {}",
                type_name(&arr)
            ),
        ));
    };
    let i = int_arg(Some(&idx), 28691, "$arrayElemAt's second argument")?;
    Ok(elem_at(&arr, i))
}

/// Element `i` of `arr`, counting from the end when negative; `None` when out of range.
fn elem_at(arr: &[Bson], i: i64) -> Option<Bson> {
    let len = i64::try_from(arr.len()).ok()?;
    let i = if i < 0 { len + i } else { i };
    usize::try_from(i).ok().and_then(|i| arr.get(i).cloned())
}

fn eval_first_last(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    match c.eval_arg(0, ctx)? {
        None => Ok(None),
        Some(Bson::Null | Bson::Undefined) => Ok(Some(Bson::Null)),
        Some(Bson::Array(a)) => Ok(if c.name == "$first" {
            a.first()
        } else {
            a.last()
        }
        .cloned()),
        Some(v) => Err(QueryError::location(
            28689,
            format!(
                "{}'s argument must be an array, but is {}",
                c.name,
                type_name(&v)
            ),
        )),
    }
}

fn eval_size(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    match c.eval_arg(0, ctx)? {
        Some(Bson::Array(a)) => Ok(Some(
            Num::narrow(i64::try_from(a.len()).unwrap_or(i64::MAX)).to_bson(),
        )),
        v => Err(QueryError::location(
            17124,
            format!(
                "The argument to $size must be an array. Type of argument was: {}",
                type_name_opt(v.as_ref())
            ),
        )),
    }
}

fn eval_is_array(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    Ok(Some(Bson::Boolean(matches!(
        c.eval_arg(0, ctx)?,
        Some(Bson::Array(_))
    ))))
}

fn eval_reverse(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let msg = "The argument to $reverseArray must be an array, but was of type: ";
    Ok(Some(match array_arg(c, 0, ctx, 34435, msg)? {
        None => Bson::Null,
        Some(mut a) => {
            a.reverse();
            Bson::Array(a)
        }
    }))
}

fn eval_in(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let x = c.eval_arg(0, ctx)?;
    match c.eval_arg(1, ctx)? {
        Some(Bson::Array(a)) => {
            let x = x.unwrap_or(Bson::Undefined);
            Ok(Some(Bson::Boolean(a.iter().any(|e| values_equal(e, &x)))))
        }
        v => Err(QueryError::location(
            40081,
            format!(
                "$in requires an array as a second argument, found: {}",
                type_name_opt(v.as_ref())
            ),
        )),
    }
}

fn eval_slice(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let msg = "First argument to $slice must be an array, but is of type: ";
    let arr = array_arg(c, 0, ctx, 28724, msg)?;
    let mut nums = Vec::new();
    for i in 1..c.len() {
        match present(c.eval_arg(i, ctx)?) {
            None => return Ok(Some(Bson::Null)),
            Some(v) => nums.push(v),
        }
    }
    let Some(arr) = arr else {
        return Ok(Some(Bson::Null));
    };
    let len = i64::try_from(arr.len()).unwrap_or(i64::MAX);
    let (start, count) = if nums.len() == 1 {
        let n = int_arg(nums.first(), 28725, "Second argument to $slice")?;
        if n >= 0 {
            (0, n)
        } else {
            ((len + n).max(0), -n)
        }
    } else {
        let pos = int_arg(nums.first(), 28725, "Second argument to $slice")?;
        let n = int_arg(nums.get(1), 28727, "Third argument to $slice")?;
        if n <= 0 {
            return Err(QueryError::location(
                28729,
                format!("Third argument to $slice must be positive: {n}"),
            ));
        }
        let start = if pos < 0 {
            (len + pos).max(0)
        } else {
            pos.min(len)
        };
        (start, n)
    };
    let start = usize::try_from(start).unwrap_or(0);
    let count = usize::try_from(count).unwrap_or(0);
    Ok(Some(Bson::Array(
        arr.into_iter().skip(start).take(count).collect(),
    )))
}

fn eval_concat(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let mut out = Vec::new();
    for i in 0..c.len() {
        match array_arg(c, i, ctx, 28664, "$concatArrays only supports arrays, not ")? {
            None => return Ok(Some(Bson::Null)),
            Some(a) => {
                check_array_len("$concatArrays", out.len() + a.len())?;
                out.extend(a);
            }
        }
    }
    Ok(Some(Bson::Array(out)))
}

fn eval_index_of(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let msg = "$indexOfArray requires an array as a first argument, found: ";
    let arr = array_arg(c, 0, ctx, 40090, msg)?;
    let needle = c.eval_arg(1, ctx)?.unwrap_or(Bson::Undefined);
    let Some(arr) = arr else {
        return Ok(Some(Bson::Null));
    };
    let mut bounds = [0usize, arr.len()];
    for slot in [2usize, 3] {
        if !c.has(slot) {
            continue;
        }
        let v = c.eval_arg(slot, ctx)?;
        let i = int_arg(v.as_ref(), 40096, "$indexOfArray index")?;
        if i < 0 {
            return Err(QueryError::location(
                40097,
                format!("$indexOfArray requires a nonnegative index, found: {i}"),
            ));
        }
        bounds[slot - 2] = usize::try_from(i).unwrap_or(usize::MAX);
    }
    let end = bounds[1].min(arr.len());
    let found = (bounds[0]..end)
        .find(|&i| values_equal(&arr[i], &needle))
        .map_or(-1, |i| i64::try_from(i).unwrap_or(-1));
    Ok(Some(Num::narrow(found).to_bson()))
}

fn eval_range(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let mut vals = [0i64, 0, 1];
    let what = ["starting value", "ending value", "step value"];
    let codes = [34443u32, 34445, 34447];
    for i in 0..c.len() {
        let v = c.eval_arg(i, ctx)?;
        let Some(n) = v.as_ref().and_then(Num::of) else {
            return Err(QueryError::location(
                codes[i],
                format!(
                    "$range requires a numeric {}, found value of type: {}",
                    what[i],
                    type_name_opt(v.as_ref())
                ),
            ));
        };
        vals[i] = n.exact_i64().filter(|x| i32::try_from(*x).is_ok()).ok_or_else(|| {
            QueryError::location(
                codes[i] + 1,
                format!("$range requires a {} that can be represented as a 32-bit integer, found value: {}", what[i], n.f64()),
            )
        })?;
    }
    let [start, end, step] = vals;
    if step == 0 {
        return Err(QueryError::location(
            34449,
            "$range requires a non-zero step value",
        ));
    }
    let count = if (step > 0 && start < end) || (step < 0 && start > end) {
        ((end - start).abs() + step.abs() - 1) / step.abs()
    } else {
        0
    };
    check_array_len("$range", usize::try_from(count).unwrap_or(usize::MAX))?;
    Ok(Some(Bson::Array(
        (0..count)
            .map(|k| Num::narrow(start + k * step).to_bson())
            .collect(),
    )))
}

fn eval_filter(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let msg = "input to $filter must be an array not ";
    let Some(input) = array_arg(c, 0, ctx, 28651, msg)? else {
        return Ok(Some(Bson::Null));
    };
    let limit = if c.has(2) {
        match present(c.eval_arg(2, ctx)?) {
            None => None,
            Some(v) => {
                let n = int_arg(Some(&v), 327391, "$filter: limit")?;
                if n <= 0 {
                    return Err(QueryError::location(
                        327392,
                        format!("$filter: limit must be greater than 0: {n}"),
                    ));
                }
                usize::try_from(n).ok()
            }
        }
    } else {
        None
    };
    let var = c.names[0].clone();
    let mut out = Vec::new();
    for x in input {
        if limit.is_some_and(|l| out.len() >= l) {
            break;
        }
        let keep = with_vars(ctx, [(var.clone(), x.clone())], |ctx| c.eval_arg(1, ctx))?;
        if super::operators::truthy(keep.as_ref()) {
            out.push(x);
        }
    }
    Ok(Some(Bson::Array(out)))
}

fn eval_map(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let msg = "input to $map must be an array not ";
    let Some(input) = array_arg(c, 0, ctx, 16883, msg)? else {
        return Ok(Some(Bson::Null));
    };
    let var = c.names[0].clone();
    let mut out = Vec::with_capacity(input.len());
    for x in input {
        let v = with_vars(ctx, [(var.clone(), x)], |ctx| c.eval_arg(1, ctx))?;
        out.push(v.unwrap_or(Bson::Null));
    }
    Ok(Some(Bson::Array(out)))
}

fn eval_reduce(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let msg = "$reduce requires that 'input' be an array, found: ";
    let Some(input) = array_arg(c, 0, ctx, 40080, msg)? else {
        return Ok(Some(Bson::Null));
    };
    let mut acc = c.eval_arg(1, ctx)?.unwrap_or(Bson::Null);
    for x in input {
        let bindings = [("value".to_string(), acc), ("this".to_string(), x)];
        acc = with_vars(ctx, bindings, |ctx| c.eval_arg(2, ctx))?.unwrap_or(Bson::Null);
    }
    Ok(Some(acc))
}

fn eval_zip(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let inputs = match c.eval_arg(0, ctx)? {
        Some(Bson::Array(a)) => a,
        v => {
            return Err(QueryError::location(
                34460,
                format!(
                    "inputs must be an array of expressions, found {}",
                    type_name_opt(v.as_ref())
                ),
            ));
        }
    };
    let longest = match c.eval_arg(1, ctx)? {
        None => false,
        Some(Bson::Boolean(b)) => b,
        Some(v) => {
            return Err(QueryError::location(
                34463,
                format!("useLongestLength must be a bool, found {}", type_name(&v)),
            ));
        }
    };
    let mut arrays = Vec::with_capacity(inputs.len());
    for v in inputs {
        match v {
            Bson::Null | Bson::Undefined => return Ok(Some(Bson::Null)),
            Bson::Array(a) => arrays.push(a),
            other => {
                return Err(QueryError::location(
                    34468,
                    format!(
                        "$zip found a non-array expression in input: {}",
                        show(&other)
                    ),
                ));
            }
        }
    }
    let defaults = match c.eval_arg(2, ctx)? {
        None => None,
        Some(Bson::Array(d)) => {
            if !longest {
                return Err(QueryError::location(
                    34466,
                    "cannot specify defaults unless useLongestLength is true",
                ));
            }
            if d.len() != arrays.len() {
                return Err(QueryError::location(
                    34467,
                    "defaults and inputs must have the same length",
                ));
            }
            Some(d)
        }
        Some(v) => {
            return Err(QueryError::location(
                34462,
                format!(
                    "defaults must be an array of expressions, found {}",
                    type_name(&v)
                ),
            ));
        }
    };
    let n = if longest {
        arrays.iter().map(Vec::len).max().unwrap_or(0)
    } else {
        arrays.iter().map(Vec::len).min().unwrap_or(0)
    };
    let out = (0..n)
        .map(|i| {
            Bson::Array(
                arrays
                    .iter()
                    .enumerate()
                    .map(|(k, a)| {
                        a.get(i).cloned().unwrap_or_else(|| {
                            defaults
                                .as_ref()
                                .and_then(|d| d.get(k).cloned())
                                .unwrap_or(Bson::Null)
                        })
                    })
                    .collect(),
            )
        })
        .collect();
    Ok(Some(Bson::Array(out)))
}

/// Validates a `$sortArray` `sortBy`: 1, -1, or a document of field: ±1.
fn check_sort_spec(spec: &Bson) -> Result<()> {
    let ok_dir = |v: &Bson| matches!(Num::of(v).map(Num::f64), Some(x) if x == 1.0 || x == -1.0);
    let ok = match spec {
        Bson::Document(d) => !d.is_empty() && d.values().all(ok_dir),
        v => ok_dir(v),
    };
    if ok {
        Ok(())
    } else {
        Err(QueryError::location(
            2942502,
            format!(
                "$sortArray: sortBy must be 1, -1 or a sort pattern, found {}",
                show(spec)
            ),
        ))
    }
}

fn eval_sort(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let mut arr = match present(c.eval_arg(0, ctx)?) {
        None => return Ok(Some(Bson::Null)),
        Some(Bson::Array(a)) => a,
        Some(v) => {
            return Err(QueryError::location(
                2942504,
                format!(
                    "The input argument to $sortArray must be an array, but was of type: {}",
                    type_name(&v)
                ),
            ));
        }
    };
    let spec = match c.args.get(1) {
        Some(Some(super::Expr::Literal(spec))) => spec.clone(),
        _ => Bson::Int32(1),
    };
    match spec {
        Bson::Document(d) => {
            let keys: Vec<(Vec<String>, bool)> = d
                .iter()
                .map(|(k, v)| {
                    let desc = Num::of(v).is_some_and(|n| n.f64() < 0.0);
                    (k.split('.').map(str::to_string).collect(), desc)
                })
                .collect();
            arr.sort_by(|a, b| {
                for (path, desc) in &keys {
                    let o = compare(&sort_key(a, path), &sort_key(b, path));
                    let o = if *desc { o.reverse() } else { o };
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                Ordering::Equal
            });
        }
        dir => {
            let desc = Num::of(&dir).is_some_and(|n| n.f64() < 0.0);
            arr.sort_by(|a, b| if desc { compare(b, a) } else { compare(a, b) });
        }
    }
    Ok(Some(Bson::Array(arr)))
}

/// The value sorted on for `path` (missing sorts as null; non-documents have no fields).
fn sort_key(v: &Bson, path: &[String]) -> Bson {
    match v {
        Bson::Document(_) => super::path::get_path(v, path).unwrap_or(Bson::Null),
        _ => Bson::Null,
    }
}

/// A `{k, v}` pair document (`$objectToArray` output).
pub(crate) fn kv(k: &str, v: Bson) -> Bson {
    let mut d = Document::new();
    d.insert("k", k);
    d.insert("v", v);
    Bson::Document(d)
}
