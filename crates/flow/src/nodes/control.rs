//! Control nodes: `httpResponse`, `ifElse`, `ifElseV2`, `switchCase` (their execution is in
//! [`crate::exec`], which owns the recursion into branches).
//!
//! - `httpResponse`: `status` (default 200, an integer 100–599), `body`, `headers` (object of
//!   strings). Ends the request; nothing may follow it on the same branch.
//! - `ifElse`: `condition`, `then` (required, non-empty), `else`; output `condition`.
//! - `ifElseV2`: `branches: [{condition, steps}]` (first true wins), `else`; outputs
//!   `condition` (whether a branch matched) and `branch` (its index, -1 for `else`).
//! - `switchCase`: `value`, `valueType` (`auto` default: no cast; `string`, `int`, `number`,
//!   `boolean`: both sides cast before comparing, a failed cast never matches), `cases:
//!   [{value, steps}]` (first match wins), `default`; outputs `condition` and `matched`.
//!
//! In this structured spec every branching node continues with the next node of its sequence
//! when the chosen branch ends without responding.

use bson::Bson;
use serde_json::Value;
use stratus_query::compare::{Number, values_equal};

use super::Op;
use crate::compile::{Block, Compiler, Fields};
use crate::cond::Cond;
use crate::value::Tmpl;

/// Lowest accepted `httpResponse` status.
pub const MIN_STATUS: i64 = 100;
/// Highest accepted `httpResponse` status.
pub const MAX_STATUS: i64 = 599;

/// `httpResponse`
#[derive(Debug)]
pub(crate) struct Respond {
    pub(crate) status: Option<Tmpl>,
    pub(crate) body: Option<Tmpl>,
    pub(crate) headers: Option<Tmpl>,
}

pub(crate) fn compile_respond(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    let status = c.opt_value(f, "status");
    if let Some(b) = status.as_ref().and_then(Tmpl::literal)
        && !status_ok(b)
    {
        c.error(
            &f.at("status"),
            format!("must be an integer from {MIN_STATUS} to {MAX_STATUS}"),
        );
    }
    let body = c.opt_value(f, "body");
    let headers = c.opt_value(f, "headers");
    if let Some(h) = headers.as_ref().and_then(Tmpl::literal) {
        let ok =
            matches!(h, Bson::Document(d) if d.iter().all(|(_, v)| matches!(v, Bson::String(_))));
        if !ok {
            c.error(&f.at("headers"), "must be an object of strings");
        }
    }
    Op::Respond(Respond {
        status,
        body,
        headers,
    })
}

/// Whether `b` is an acceptable status code.
pub(crate) fn status_ok(b: &Bson) -> bool {
    status_of(b).is_some()
}

/// The status code `b` denotes, if acceptable.
pub(crate) fn status_of(b: &Bson) -> Option<u16> {
    let n = match Number::of(b)? {
        Number::Int(i) => i,
        Number::Double(d) | Number::Decimal(d) if d.fract() == 0.0 => d as i64,
        _ => return None,
    };
    if (MIN_STATUS..=MAX_STATUS).contains(&n) {
        u16::try_from(n).ok()
    } else {
        None
    }
}

/// `ifElse`
#[derive(Debug)]
pub(crate) struct IfElse {
    pub(crate) condition: Cond,
    pub(crate) then: Block,
    pub(crate) els: Option<Block>,
}

pub(crate) fn compile_if_else(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    let condition = c.condition(f, "condition");
    let mut m = c.branch_start();
    m.enter(c);
    let then = c.steps(f, "then", true);
    m.leave(c, then.terminates);
    let els = fallback_block(c, f, &mut m, "else");
    m.finish(c);
    Op::IfElse(IfElse {
        condition,
        then,
        els,
    })
}

/// `ifElseV2`
#[derive(Debug)]
pub(crate) struct IfElseV2 {
    pub(crate) branches: Vec<(Cond, Block)>,
    pub(crate) els: Option<Block>,
}

/// The `steps` of one branch object at `ip` (an error when missing).
fn branch_steps(c: &mut Compiler<'_>, o: &serde_json::Map<String, Value>, ip: &str) -> Block {
    match o.get("steps") {
        Some(v) => c.block(v, &format!("{ip}.steps"), true),
        None => {
            c.error(ip, "missing field `steps`");
            Block::default()
        }
    }
}

/// The optional block taken when no branch matched (`else` / `default`), compiled as one more
/// branch of `m`.
fn fallback_block(
    c: &mut Compiler<'_>,
    f: &mut Fields<'_>,
    m: &mut crate::compile::BranchMerge,
    key: &'static str,
) -> Option<Block> {
    m.enter(c);
    let block = if f.map.get(key).is_some_and(|v| !v.is_null()) {
        Some(c.steps(f, key, false))
    } else {
        f.get(key);
        None
    };
    m.leave(c, block.as_ref().is_some_and(|b| b.terminates));
    block
}

/// The non-empty array of branch objects in field `key` of a `kind` node (an error naming the
/// expected `shape` otherwise), after declaring the node's outputs.
fn branch_list(
    c: &mut Compiler<'_>,
    f: &mut Fields<'_>,
    key: &'static str,
    kind: &str,
    shape: &str,
) -> Vec<Value> {
    let items = match f.get(key) {
        Some(Value::Array(items)) if !items.is_empty() => items.clone(),
        Some(_) => {
            c.error(&f.at(key), format!("must be a non-empty array of {shape}"));
            Vec::new()
        }
        None => {
            c.error(&f.path, format!("missing field `{key}` ({kind})"));
            Vec::new()
        }
    };
    c.declare(
        &f.name,
        super::kind_info(kind).map(|k| k.outputs).unwrap_or(&[]),
    );
    items
}

pub(crate) fn compile_if_else_v2(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    let mut branches = Vec::new();
    let bp = f.at("branches");
    let items = branch_list(c, f, "branches", "ifElseV2", "{condition, steps}");
    let mut m = c.branch_start();
    for (i, item) in items.iter().enumerate() {
        let ip = format!("{bp}[{i}]");
        m.enter(c);
        let Value::Object(o) = item else {
            c.error(&ip, "must be an object {condition, steps}");
            continue;
        };
        for k in o.keys() {
            if k != "condition" && k != "steps" {
                c.error(
                    &format!("{ip}.{k}"),
                    format!("unknown field {k:?} of an ifElseV2 branch"),
                );
            }
        }
        let cond = match o.get("condition") {
            Some(v) => c.condition_value(v, &format!("{ip}.condition")),
            None => {
                c.error(&ip, "missing field `condition`");
                Cond::Const(false)
            }
        };
        let block = branch_steps(c, o, &ip);
        m.leave(c, block.terminates);
        branches.push((cond, block));
    }
    let els = fallback_block(c, f, &mut m, "else");
    m.finish(c);
    Op::IfElseV2(IfElseV2 { branches, els })
}

/// How `switchCase` casts values before comparing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SwitchType {
    Auto,
    String,
    Int,
    Number,
    Boolean,
}

/// `switchCase`
#[derive(Debug)]
pub(crate) struct Switch {
    pub(crate) value: Tmpl,
    pub(crate) value_type: SwitchType,
    pub(crate) cases: Vec<(Tmpl, Block)>,
    pub(crate) default: Option<Block>,
}

pub(crate) fn compile_switch(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    let value = c.req_value(f, "value");
    let value_type = match c.choice(
        f,
        "valueType",
        &[
            "auto", "string", "int", "integer", "number", "float", "boolean",
        ],
    ) {
        "string" => SwitchType::String,
        "int" | "integer" => SwitchType::Int,
        "number" | "float" => SwitchType::Number,
        "boolean" => SwitchType::Boolean,
        _ => SwitchType::Auto,
    };
    let cp = f.at("cases");
    let items = branch_list(c, f, "cases", "switchCase", "{value, steps}");
    let mut m = c.branch_start();
    let mut cases = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let ip = format!("{cp}[{i}]");
        m.enter(c);
        let Value::Object(o) = item else {
            c.error(&ip, "must be an object {value, steps}");
            continue;
        };
        for k in o.keys() {
            if k != "value" && k != "steps" {
                c.error(
                    &format!("{ip}.{k}"),
                    format!("unknown field {k:?} of a switchCase case"),
                );
            }
        }
        let v = match o.get("value") {
            Some(v) => crate::value::compile(c, v, &format!("{ip}.value"), crate::value::Mode::Cql),
            None => {
                c.error(&ip, "missing field `value`");
                Tmpl::Lit(Bson::Null)
            }
        };
        let block = branch_steps(c, o, &ip);
        m.leave(c, block.terminates);
        cases.push((v, block));
    }
    let default = fallback_block(c, f, &mut m, "default");
    m.finish(c);
    Op::Switch(Switch {
        value,
        value_type,
        cases,
        default,
    })
}

/// Casts a switch operand; `None` = the cast failed (never matches).
pub(crate) fn cast(v: &Bson, t: SwitchType) -> Option<Bson> {
    match t {
        SwitchType::Auto => Some(v.clone()),
        SwitchType::String => Some(Bson::String(match v {
            Bson::String(s) => s.clone(),
            Bson::Null => return None,
            other => crate::nodes::strings::display(other),
        })),
        SwitchType::Int => match v {
            Bson::String(s) => s.trim().parse::<i64>().ok().map(Bson::Int64),
            other => match Number::of(other)? {
                Number::Int(i) => Some(Bson::Int64(i)),
                Number::Double(d) | Number::Decimal(d) if d.fract() == 0.0 && d.is_finite() => {
                    Some(Bson::Int64(d as i64))
                }
                _ => None,
            },
        },
        SwitchType::Number => match v {
            Bson::String(s) => s.trim().parse::<f64>().ok().map(Bson::Double),
            other => Number::of(other).map(|n| Bson::Double(n.as_f64())),
        },
        SwitchType::Boolean => match v {
            Bson::Boolean(b) => Some(Bson::Boolean(*b)),
            Bson::String(s) if s.eq_ignore_ascii_case("true") => Some(Bson::Boolean(true)),
            Bson::String(s) if s.eq_ignore_ascii_case("false") => Some(Bson::Boolean(false)),
            _ => None,
        },
    }
}

/// Whether switch value `v` matches case value `case` under `t`.
pub(crate) fn case_matches(v: &Bson, case: &Bson, t: SwitchType) -> bool {
    match (cast(v, t), cast(case, t)) {
        (Some(a), Some(b)) => values_equal(&a, &b),
        _ => false,
    }
}
