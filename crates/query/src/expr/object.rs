//! Object operators: `$getField $setField $unsetField $objectToArray $arrayToObject $bsonSize
//! $binarySize`
//! (`$mergeObjects` lives with the accumulators, which share its folding).
//!
//! `field` of `$getField`/`$setField`/`$unsetField` must be a constant string (MongoDB's rule,
//! which is what lets them address fields whose names contain `.` or start with `$`).

use bson::{Bson, Document};

use super::operators::{Call, fixed, named_slots, present, show, type_name};
use super::{EvalContext, Expr, ParseOptions};
use crate::error::{QueryError, Result};

/// Parses an object operator; `Ok(None)` when `name` is not one.
pub(crate) fn parse(
    name: &str,
    arg: &Bson,
    opts: &ParseOptions,
    depth: usize,
) -> Result<Option<Call>> {
    let call = match name {
        "$objectToArray" => fixed("$objectToArray", arg, opts, depth, 1, 1, eval_to_array)?,
        "$arrayToObject" => fixed("$arrayToObject", arg, opts, depth, 1, 1, eval_to_object)?,
        "$getField" => field_op("$getField", arg, opts, depth, &["field", "input"], eval_get)?,
        "$setField" => field_op(
            "$setField",
            arg,
            opts,
            depth,
            &["field", "input", "value"],
            eval_set,
        )?,
        "$bsonSize" => fixed("$bsonSize", arg, opts, depth, 1, 1, eval_size)?,
        "$binarySize" => fixed("$binarySize", arg, opts, depth, 1, 1, eval_size)?,
        "$unsetField" => field_op(
            "$unsetField",
            arg,
            opts,
            depth,
            &["field", "input"],
            eval_set,
        )?,
        _ => return Ok(None),
    };
    Ok(Some(call))
}

/// Parses a field operator; the constant field name goes to `names[0]`, `args` holds
/// `[input, value]` (input defaults to `$$CURRENT`).
fn field_op(
    name: &'static str,
    arg: &Bson,
    opts: &ParseOptions,
    depth: usize,
    fields: &[&str],
    func: super::operators::OpFn,
) -> Result<Call> {
    let d = match arg {
        Bson::Document(d) if name == "$getField" && !d.contains_key("field") => {
            // `{$getField: {$literal: "a.b"}}`-style shorthand is an expression for the field.
            let mut x = Document::new();
            x.insert("field", arg.clone());
            x
        }
        Bson::Document(d) => d.clone(),
        Bson::String(_) if name == "$getField" => {
            let mut x = Document::new();
            x.insert("field", arg.clone());
            x
        }
        other => {
            return Err(QueryError::location(
                4161100,
                format!(
                    "{name} only supports an object as its argument, found {}",
                    type_name(other)
                ),
            ));
        }
    };
    let required: &[&str] = if name == "$setField" {
        &["field", "input", "value"]
    } else if name == "$unsetField" {
        &["field", "input"]
    } else {
        &["field"]
    };
    let mut slots = named_slots(name, &d, opts, depth, fields, required)?;
    let field = match slots.first() {
        Some(Some(Expr::Literal(Bson::String(s)))) => s.clone(),
        Some(Some(Expr::Operator(op)))
            if matches!(**op, super::Operator::Literal(Bson::String(_))) =>
        {
            match &**op {
                super::Operator::Literal(Bson::String(s)) => s.clone(),
                _ => String::new(),
            }
        }
        _ => {
            return Err(QueryError::location(
                5654602,
                format!(
                    "{name} requires 'field' to evaluate to a constant string, found {}",
                    d.get("field").map_or_else(|| "nothing".to_string(), show)
                ),
            ));
        }
    };
    slots.remove(0);
    Ok(Call {
        name,
        args: slots,
        names: vec![field],
        func,
    })
}

fn eval_input(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    if c.has(0) {
        c.eval_arg(0, ctx)
    } else {
        Ok(Some(ctx.current.clone()))
    }
}

fn eval_get(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    match present(eval_input(c, ctx)?) {
        None => Ok(Some(Bson::Null)),
        Some(Bson::Document(d)) => Ok(d.get(&c.names[0]).cloned()),
        Some(v) => Err(QueryError::location(
            3041705,
            format!(
                "$getField requires 'input' to evaluate to type Object, but got {}",
                type_name(&v)
            ),
        )),
    }
}

fn eval_set(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let input = present(c.eval_arg(0, ctx)?);
    let value = if c.name == "$setField" {
        c.eval_arg(1, ctx)?
    } else {
        None
    };
    match input {
        None => Ok(Some(Bson::Null)),
        Some(Bson::Document(mut d)) => {
            match value {
                Some(v) => {
                    d.insert(c.names[0].clone(), v);
                }
                None => {
                    d.remove(&c.names[0]);
                }
            }
            Ok(Some(Bson::Document(d)))
        }
        Some(v) => Err(QueryError::location(
            4161105,
            format!(
                "{} requires 'input' to evaluate to type Object, but got {}",
                c.name,
                type_name(&v)
            ),
        )),
    }
}

fn eval_to_array(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    match present(c.eval_arg(0, ctx)?) {
        None => Ok(Some(Bson::Null)),
        Some(Bson::Document(d)) => Ok(Some(Bson::Array(
            d.into_iter()
                .map(|(k, v)| super::array::kv(&k, v))
                .collect(),
        ))),
        Some(v) => Err(QueryError::location(
            40390,
            format!(
                "$objectToArray requires a document input, found: {}",
                type_name(&v)
            ),
        )),
    }
}

fn eval_to_object(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let items = match present(c.eval_arg(0, ctx)?) {
        None => return Ok(Some(Bson::Null)),
        Some(Bson::Array(a)) => a,
        Some(v) => {
            return Err(QueryError::location(
                40386,
                format!(
                    "$arrayToObject requires an array input, found: {}",
                    type_name(&v)
                ),
            ));
        }
    };
    let mut out = Document::new();
    let pairs_form = matches!(items.first(), Some(Bson::Array(_)));
    for item in items {
        let (k, v) = match (item, pairs_form) {
            (Bson::Array(mut p), true) => {
                if p.len() != 2 {
                    return Err(QueryError::location(
                        40397,
                        format!(
                            "$arrayToObject requires an array of size 2 arrays,found array of size: {}",
                            p.len()
                        ),
                    ));
                }
                let v = p.pop().unwrap_or(Bson::Null);
                match p.pop() {
                    Some(Bson::String(k)) => (k, v),
                    other => {
                        return Err(QueryError::location(
                            40395,
                            format!(
                                "$arrayToObject requires an array of key-value pairs, where the key must be of type string. Found key type: {}",
                                other.as_ref().map_or("missing", type_name)
                            ),
                        ));
                    }
                }
            }
            (Bson::Document(mut d), false) => {
                if d.len() != 2 {
                    return Err(QueryError::location(
                        40392,
                        format!(
                            "$arrayToObject requires an object keys of 'k' and 'v'. Found incorrect number of keys:{}",
                            d.len()
                        ),
                    ));
                }
                let (Some(k), Some(v)) = (d.remove("k"), d.remove("v")) else {
                    return Err(QueryError::location(
                        40393,
                        "$arrayToObject requires an object with keys 'k' and 'v'.",
                    ));
                };
                let Bson::String(k) = k else {
                    return Err(QueryError::location(
                        40394,
                        format!(
                            "$arrayToObject requires an object with keys 'k' and 'v', where the value of 'k' must be of type string. Found type: {}",
                            type_name(&k)
                        ),
                    ));
                };
                (k, v)
            }
            (other, _) => {
                return Err(QueryError::location(
                    40391,
                    format!(
                        "$arrayToObject requires a consistent input format. Elements must all be arrays or all be objects. Found: {}",
                        type_name(&other)
                    ),
                ));
            }
        };
        if k.contains('\0') {
            return Err(QueryError::location(
                4940400,
                "Key field cannot contain an embedded null byte",
            ));
        }
        out.insert(k, v);
    }
    Ok(Some(Bson::Document(out)))
}

/// `$bsonSize` (encoded size of a document) and `$binarySize` (bytes of a string or binData).
fn eval_size(c: &Call, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    let n = match (c.name, present(c.eval_arg(0, ctx)?)) {
        (_, None) => return Ok(Some(Bson::Null)),
        ("$bsonSize", Some(Bson::Document(d))) => d
            .to_vec()
            .map_err(|e| QueryError::new(crate::error::MongoCode::InvalidBson, e.to_string()))?
            .len(),
        ("$bsonSize", Some(v)) => {
            return Err(QueryError::location(
                31393,
                format!(
                    "$bsonSize requires a document input, found: {}",
                    type_name(&v)
                ),
            ));
        }
        (_, Some(Bson::String(s))) => s.len(),
        (_, Some(Bson::Binary(b))) => b.bytes.len(),
        (_, Some(v)) => {
            return Err(QueryError::location(
                51276,
                format!(
                    "$binarySize requires a string or BinData argument, found: {}",
                    type_name(&v)
                ),
            ));
        }
    };
    Ok(Some(
        super::num::Num::narrow(i64::try_from(n).unwrap_or(i64::MAX)).to_bson(),
    ))
}
