//! Validation and static analysis of flow specs.
//!
//! [`validate`] reports every problem at once, each with its JSON path (`[2].then[0].value`):
//! unknown node type, node type not available in this build, missing/unknown/ill-typed field,
//! invalid/duplicate/reserved node name, node after an `httpResponse` on the same branch,
//! reference to a node or variable that cannot have run yet on that path (or to an output the
//! node does not have), empty branch where one is required, invalid CQL expression or
//! condition, unknown sub-flow or argument, and sub-flow recursion without a bound.
//! Validation is the compiler run without keeping its output ([`crate::compile`]).
//!
//! [`available_paths`] lists the `$.` paths readable at a position (the console's
//! autocomplete) using the same scope analysis.

use serde_json::Value;

use crate::compile::{Compiler, REQUEST_KEYS, Scope};
use crate::error::ValidationError;
use crate::spec::{NoSubflows, SubflowLookup, SubflowSpec};

/// Validates an API flow.
pub fn validate(flow: &Value, subflows: &dyn SubflowLookup) -> Result<(), Vec<ValidationError>> {
    Compiler::new(subflows, Vec::new())
        .flow(flow, &[])
        .map(|_| ())
}

/// Validates a sub-flow (its arguments are in scope as variables).
pub fn validate_subflow(
    spec: &SubflowSpec,
    subflows: &dyn SubflowLookup,
) -> Result<(), Vec<ValidationError>> {
    let mut errors = argument_errors(spec);
    if let Err(e) =
        Compiler::new(subflows, vec![spec.name.clone()]).flow(&spec.flow, &spec.arguments)
    {
        errors.extend(e);
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Errors in a sub-flow's argument declarations.
pub(crate) fn argument_errors(spec: &SubflowSpec) -> Vec<ValidationError> {
    let mut errors = Vec::new();
    for (i, a) in spec.arguments.iter().enumerate() {
        if !crate::spec::is_valid_name(&a.name) {
            errors.push(ValidationError::new(
                format!("arguments[{i}].name"),
                format!(
                    "invalid argument name {:?}: must match ^[A-Za-z_][A-Za-z0-9_]*$",
                    a.name
                ),
            ));
        }
        if spec.arguments[..i].iter().any(|b| b.name == a.name) {
            errors.push(ValidationError::new(
                format!("arguments[{i}].name"),
                format!("duplicate argument {:?}", a.name),
            ));
        }
        if let Some(d) = &a.default {
            match crate::value::json_to_bson(d) {
                Ok(b) => {
                    if let Err(e) = crate::nodes::subflow::coerce(a, b) {
                        errors.push(ValidationError::new(format!("arguments[{i}].default"), e));
                    }
                }
                Err(e) => errors.push(ValidationError::new(format!("arguments[{i}].default"), e)),
            }
        }
    }
    errors
}

/// The `$.` paths readable by the node at `position` (a JSON path such as `[2].then[0]`; a
/// position one past the end of a node array means "a node appended there"). Node outputs
/// and variables are those that may have been written on the way there.
pub fn available_paths(flow: &Value, position: &str) -> Vec<String> {
    available_paths_with(flow, position, &[], &NoSubflows)
}

/// [`available_paths`] inside a sub-flow (its arguments are variables).
pub fn available_paths_in_subflow(spec: &SubflowSpec, position: &str) -> Vec<String> {
    available_paths_with(&spec.flow, position, &spec.arguments, &NoSubflows)
}

fn available_paths_with(
    flow: &Value,
    position: &str,
    arguments: &[crate::spec::ArgumentSpec],
    subflows: &dyn SubflowLookup,
) -> Vec<String> {
    let flow = with_placeholder(flow, position);
    let mut c = Compiler::new(subflows, Vec::new());
    c.capture(position);
    let scope = capture_scope(c, &flow, arguments);
    let Some(scope) = scope else {
        return Vec::new();
    };
    let mut out: Vec<String> = REQUEST_KEYS
        .iter()
        .map(|k| format!("$.request.{k}"))
        .collect();
    out.push("$.tokenData".to_string());
    out.push("$.secrets".to_string());
    for v in &scope.vars {
        out.push(format!("$.variables.{v}"));
    }
    for (name, outputs) in &scope.nodes {
        for o in outputs.iter() {
            out.push(format!("$.{name}.{o}"));
        }
    }
    out
}

fn capture_scope(
    mut c: Compiler<'_>,
    flow: &Value,
    arguments: &[crate::spec::ArgumentSpec],
) -> Option<Scope> {
    for a in arguments {
        c.layout.var_slot(&a.name);
        c.scope.vars.insert(a.name.clone());
    }
    c.prescan_flow(flow);
    let _ = c.block(flow, "", false);
    c.finish().1
}

/// Parses `[2].then[0]` into segments.
enum Seg {
    Index(usize),
    Key(String),
}

fn parse_position(p: &str) -> Option<Vec<Seg>> {
    let mut out = Vec::new();
    let mut rest = p;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            out.push(Seg::Index(r[..end].parse().ok()?));
            rest = &r[end + 1..];
        } else if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            out.push(Seg::Key(r[..end].to_string()));
            rest = &r[end..];
        } else {
            return None;
        }
    }
    Some(out)
}

/// `flow` with a placeholder node at `position` when it points one past the end of an array.
fn with_placeholder(flow: &Value, position: &str) -> Value {
    let mut flow = flow.clone();
    let Some(segs) = parse_position(position) else {
        return flow;
    };
    let mut cur = &mut flow;
    for (i, s) in segs.iter().enumerate() {
        let last = i + 1 == segs.len();
        match (s, cur) {
            (Seg::Index(n), Value::Array(items)) => {
                if last && *n == items.len() {
                    items.push(
                        serde_json::json!({"type": "debug", "name": "__position__", "value": null}),
                    );
                    return flow;
                }
                match items.get_mut(*n) {
                    Some(x) => cur = x,
                    None => return flow,
                }
            }
            (Seg::Key(k), Value::Object(m)) => match m.get_mut(k) {
                Some(x) => cur = x,
                None => return flow,
            },
            _ => return flow,
        }
    }
    flow
}
