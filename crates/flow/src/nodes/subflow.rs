//! `executeSubflow`: runs a sub-flow in an isolated context and exposes its returned value as
//! `$.<name>.result`.
//!
//! Fields: `subflow` (the sub-flow's name), `arguments` (object: argument name → CQL value),
//! `maxDepth` (optional bound on the recursion depth through this node; required on at least
//! one `executeSubflow` node of every recursive cycle).
//!
//! Isolation: the sub-flow sees only its arguments (as `$.variables.<argument>`) and the
//! environment's secrets; no request, token data, variables or node outputs of the caller.
//! Arguments are checked against the sub-flow's declaration: unknown names and missing
//! required arguments are validation errors; omitted optional ones take their `default` (or
//! `null`); values are type-checked at run time (a 24-hex string is accepted for `objectId`,
//! an ISO-8601 string for `datetime`, an integral double for `int`), failing with
//! `invalid_argument`. The sub-flow returns the `body` of the `httpResponse` it reaches
//! (`null` if it reaches none); its status and headers are ignored.

use std::collections::HashSet;

use bson::Bson;
use serde_json::Value;

use super::Op;
use crate::compile::{Compiler, Fields};
use crate::spec::{ArgType, ArgumentSpec, SubflowLookup};
use crate::value::{Mode, Tmpl, compile as compile_value};

/// `executeSubflow`
#[derive(Debug)]
pub(crate) struct ExecSubflow {
    pub(crate) subflow: String,
    pub(crate) args: Vec<(String, Tmpl)>,
    pub(crate) max_depth: Option<usize>,
}

pub(crate) fn compile(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    let name = c.string(f, "subflow", true).unwrap_or_default();
    let max_depth = c
        .int(f, "maxDepth", 1, crate::budgets::MAX_SUBFLOW_DEPTH as i64)
        .and_then(|d| usize::try_from(d).ok());
    let ap = f.at("arguments");
    let mut args = Vec::new();
    match f.get("arguments") {
        Some(Value::Object(m)) => {
            for (k, v) in m {
                args.push((
                    k.clone(),
                    compile_value(c, v, &format!("{ap}.{k}"), Mode::Cql),
                ));
            }
        }
        Some(_) => c.error(&ap, "must be an object of argument name → value"),
        None => {}
    }
    if name.is_empty() {
        return Op::Invalid;
    }
    let declared: Option<Vec<ArgumentSpec>> =
        c.subflows.subflow(&name).map(|s| s.arguments.clone());
    match declared {
        None => c.error(&f.at("subflow"), format!("unknown sub-flow {name:?}")),
        Some(decl) => {
            for (k, t) in &args {
                match decl.iter().find(|a| &a.name == k) {
                    None => c.error(
                        &format!("{ap}.{k}"),
                        format!("sub-flow {name:?} has no argument {k:?}"),
                    ),
                    Some(a) => {
                        if let Some(b) = t.literal()
                            && let Err(e) = coerce(a, b.clone())
                        {
                            c.error(&format!("{ap}.{k}"), e);
                        }
                    }
                }
            }
            for a in decl.iter().filter(|a| a.required) {
                if !args.iter().any(|(k, _)| k == &a.name) {
                    c.error(
                        &ap,
                        format!(
                            "missing required argument {:?} of sub-flow {name:?}",
                            a.name
                        ),
                    );
                }
            }
            if max_depth.is_none()
                && let Some(cycle) = unbounded_cycle(c.subflows, &name, &c.chain)
            {
                c.error(
                        &f.path,
                        format!(
                            "sub-flow recursion without a bound: {} (set `maxDepth` on an executeSubflow node of the cycle)",
                            cycle.join(" → ")
                        ),
                    );
            }
        }
    }
    Op::Subflow(ExecSubflow {
        subflow: name,
        args,
        max_depth,
    })
}

/// `(callee, bounded)` of every `executeSubflow` node in a flow.
fn calls(flow: &Value, out: &mut Vec<(String, bool)>) {
    match flow {
        Value::Array(items) => items.iter().for_each(|x| calls(x, out)),
        Value::Object(m) => {
            if m.get("type").and_then(Value::as_str) == Some("executeSubflow")
                && let Some(s) = m.get("subflow").and_then(Value::as_str)
            {
                out.push((
                    s.to_string(),
                    m.get("maxDepth").is_some_and(|d| !d.is_null()),
                ));
            }
            m.values().for_each(|x| calls(x, out));
        }
        _ => {}
    }
}

/// A cycle of unbounded calls reachable from `start` (`chain` = the sub-flows whose bodies
/// contain the call being checked, outermost first), as names.
fn unbounded_cycle(
    lookup: &dyn SubflowLookup,
    start: &str,
    chain: &[String],
) -> Option<Vec<String>> {
    fn dfs(
        lookup: &dyn SubflowLookup,
        node: &str,
        path: &mut Vec<String>,
        done: &mut HashSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(pos) = path.iter().position(|p| p == node) {
            let mut cyc = path[pos..].to_vec();
            cyc.push(node.to_string());
            return Some(cyc);
        }
        if done.contains(node) {
            return None;
        }
        let spec = lookup.subflow(node)?;
        let mut out = Vec::new();
        calls(&spec.flow, &mut out);
        path.push(node.to_string());
        for (callee, bounded) in out {
            if !bounded && let Some(c) = dfs(lookup, &callee, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut path: Vec<String> = chain.to_vec();
    dfs(lookup, start, &mut path, &mut HashSet::new())
}

/// Checks (and converts) an argument value against its declaration.
pub(crate) fn coerce(a: &ArgumentSpec, v: Bson) -> Result<Bson, String> {
    let bad = |what: &str| format!("argument {:?} must be {what}", a.name);
    if matches!(v, Bson::Null) {
        return if a.required {
            Err(bad("set (it is required)"))
        } else {
            Ok(v)
        };
    }
    match a.ty {
        ArgType::Any => Ok(v),
        ArgType::String => match v {
            Bson::String(_) => Ok(v),
            _ => Err(bad("a string")),
        },
        ArgType::Int => match v {
            Bson::Int32(_) | Bson::Int64(_) => Ok(v),
            Bson::Double(d) if d.fract() == 0.0 && d.abs() < 9.0e15 => Ok(Bson::Int64(d as i64)),
            _ => Err(bad("an integer")),
        },
        ArgType::Number => match v {
            Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) | Bson::Decimal128(_) => Ok(v),
            _ => Err(bad("a number")),
        },
        ArgType::Boolean => match v {
            Bson::Boolean(_) => Ok(v),
            _ => Err(bad("a boolean")),
        },
        ArgType::Datetime => match v {
            Bson::DateTime(_) => Ok(v),
            Bson::String(s) => bson::DateTime::parse_rfc3339_str(&s)
                .map(Bson::DateTime)
                .map_err(|_| bad("a date or an ISO-8601 string")),
            _ => Err(bad("a date")),
        },
        ArgType::ObjectId => match v {
            Bson::ObjectId(_) => Ok(v),
            Bson::String(s) => bson::oid::ObjectId::parse_str(&s)
                .map(Bson::ObjectId)
                .map_err(|_| bad("an ObjectId or a 24-hex string")),
            _ => Err(bad("an ObjectId")),
        },
        ArgType::Object => match v {
            Bson::Document(_) => Ok(v),
            _ => Err(bad("an object")),
        },
        ArgType::Array => match v {
            Bson::Array(_) => Ok(v),
            _ => Err(bad("an array")),
        },
    }
}
