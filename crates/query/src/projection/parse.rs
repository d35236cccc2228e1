//! Parsing a projection document into the [`ProjNode`] tree: mode detection, `_id` rules, path
//! collisions and the special operators (`$slice`, `$elemMatch`, positional `.$`).

use bson::{Bson, Document, doc};

use super::{ProjNode, Projection};
use crate::compare::Number;
use crate::error::{MongoCode, QueryError, Result};
use crate::expr::{Expr, ParseOptions};
use crate::filter::Filter;
use crate::limits::MAX_NESTING_DEPTH;

struct State {
    tree: Vec<(String, ProjNode)>,
    /// `Some(true)` inclusion, `Some(false)` exclusion, `None` undecided.
    mode: Option<bool>,
    id_included: bool,
    positional: bool,
}

pub(super) fn parse(spec: &Document) -> Result<Projection> {
    if spec.is_empty() {
        return Ok(Projection {
            tree: Vec::new(),
            inclusion: false,
            identity: true,
        });
    }
    let mut st = State {
        tree: Vec::new(),
        mode: None,
        id_included: false,
        positional: false,
    };
    walk(&mut st, spec, "", 0)?;
    let inclusion = st.mode.unwrap_or(st.id_included);
    if inclusion && !st.tree.iter().any(|(k, _)| k == "_id") {
        st.tree.insert(0, ("_id".to_string(), ProjNode::Include));
    }
    Ok(Projection {
        tree: st.tree,
        inclusion,
        identity: false,
    })
}

fn walk(st: &mut State, spec: &Document, prefix: &str, depth: usize) -> Result<()> {
    if depth > MAX_NESTING_DEPTH {
        return Err(QueryError::bad_value(format!(
            "projection nesting exceeds the limit of {MAX_NESTING_DEPTH} levels"
        )));
    }
    for (k, v) in spec {
        let full = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        if let Some(base) = full.strip_suffix(".$") {
            parse_positional(st, base, v)?;
            continue;
        }
        check_path(&full)?;
        let is_id = full == "_id";
        let node = match v {
            Bson::Boolean(_)
            | Bson::Int32(_)
            | Bson::Int64(_)
            | Bson::Double(_)
            | Bson::Decimal128(_) => {
                let include = truthy_number(v);
                if !is_id {
                    set_mode(st, include, &full)?;
                } else if include {
                    st.id_included = true;
                }
                if include {
                    ProjNode::Include
                } else {
                    ProjNode::Exclude
                }
            }
            Bson::Document(d) => match d.keys().next().map(String::as_str) {
                None => {
                    return Err(QueryError::location(
                        51270,
                        format!(
                            "An empty sub-projection is not a valid value. Found empty object at path {full}"
                        ),
                    ));
                }
                Some("$slice") => parse_slice(d, &full)?,
                Some("$elemMatch") => {
                    if full.contains('.') {
                        return Err(QueryError::bad_value(format!(
                            "Cannot use $elemMatch projection on a nested field ({full})."
                        )));
                    }
                    if d.len() != 1 {
                        return Err(QueryError::bad_value(format!(
                            "$elemMatch projection of {full} must be the only key of its object"
                        )));
                    }
                    set_mode(st, true, &full)?;
                    let arg = d.get("$elemMatch").cloned().unwrap_or(Bson::Null);
                    if !matches!(arg, Bson::Document(_)) {
                        return Err(QueryError::bad_value(format!(
                            "elemMatch: Invalid argument, object required (field {full})"
                        )));
                    }
                    let filter = Filter::parse(&doc! {full.clone(): {"$elemMatch": arg}})?;
                    ProjNode::ElemMatch(Box::new(filter))
                }
                Some("$meta") => {
                    return Err(QueryError::bad_value(format!(
                        "$meta projections are not supported by Stratus (field {full})"
                    )));
                }
                Some(op) if op.starts_with('$') => {
                    set_mode(st, true, &full)?;
                    ProjNode::Computed(Expr::parse(v, &ParseOptions::default())?)
                }
                Some(_) => {
                    walk(st, d, &full, depth + 1)?;
                    continue;
                }
            },
            other => {
                set_mode(st, true, &full)?;
                ProjNode::Computed(Expr::parse(other, &ParseOptions::default())?)
            }
        };
        insert(&mut st.tree, &split(&full), node, &full)?;
    }
    Ok(())
}

fn split(path: &str) -> Vec<String> {
    path.split('.').map(str::to_string).collect()
}

fn check_path(full: &str) -> Result<()> {
    for part in full.split('.') {
        if part.is_empty() {
            return Err(QueryError::location(
                40352,
                format!("FieldPath field names may not be empty strings (projection of {full:?})"),
            ));
        }
        if part.starts_with('$') {
            return Err(QueryError::location(
                16410,
                format!("FieldPath field names may not start with '$'. Given: {full}"),
            ));
        }
    }
    Ok(())
}

fn truthy_number(v: &Bson) -> bool {
    match v {
        Bson::Boolean(b) => *b,
        other => Number::of(other).is_some_and(|n| n.as_f64() != 0.0),
    }
}

fn set_mode(st: &mut State, include: bool, path: &str) -> Result<()> {
    match st.mode {
        None => {
            st.mode = Some(include);
            Ok(())
        }
        Some(m) if m == include => Ok(()),
        Some(true) => Err(QueryError::new(
            MongoCode::ProjectionMixed,
            format!("Cannot do exclusion on field {path} in inclusion projection"),
        )),
        Some(false) => Err(QueryError::location(
            31253,
            format!("Cannot do inclusion on field {path} in exclusion projection"),
        )),
    }
}

fn parse_positional(st: &mut State, base: &str, v: &Bson) -> Result<()> {
    let included = matches!(
        v,
        Bson::Boolean(_) | Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) | Bson::Decimal128(_)
    ) && truthy_number(v);
    if !included {
        return Err(QueryError::location(
            31395,
            format!(
                "positional projection cannot be used with exclusion or expressions ({base}.$)"
            ),
        ));
    }
    if st.positional {
        return Err(QueryError::location(
            31276,
            "Cannot specify more than one positional projection per query.",
        ));
    }
    check_path(base)?;
    st.positional = true;
    set_mode(st, true, &format!("{base}.$"))?;
    insert(&mut st.tree, &split(base), ProjNode::Positional, base)
}

fn parse_slice(d: &Document, full: &str) -> Result<ProjNode> {
    if d.len() != 1 {
        return Err(QueryError::bad_value(format!(
            "$slice projection of {full} must be the only key of its object"
        )));
    }
    let arg = d.get("$slice").unwrap_or(&Bson::Null);
    let int = |v: &Bson| -> Result<i64> {
        match Number::of(v) {
            Some(Number::Int(i)) => Ok(i),
            Some(Number::Double(f) | Number::Decimal(f)) if f.is_finite() => Ok(f.trunc() as i64),
            _ => Err(QueryError::location(
                28724,
                format!("$slice only supports numbers and [skip, limit] arrays (field {full})"),
            )),
        }
    };
    match arg {
        Bson::Array(items) => {
            if items.len() != 2 {
                return Err(QueryError::location(
                    28724,
                    format!("$slice array argument of {full} must be [skip, limit]"),
                ));
            }
            let skip = int(&items[0])?;
            let limit = int(&items[1])?;
            if limit <= 0 {
                return Err(QueryError::location(
                    28724,
                    format!("$slice limit must be positive (field {full})"),
                ));
            }
            Ok(ProjNode::Slice {
                skip,
                limit: Some(limit),
            })
        }
        other => {
            let n = int(other)?;
            Ok(if n >= 0 {
                ProjNode::Slice {
                    skip: 0,
                    limit: Some(n),
                }
            } else {
                ProjNode::Slice {
                    skip: n,
                    limit: None,
                }
            })
        }
    }
}

/// Adds `node` at `parts` in the tree; refuses a path that runs into or through another one.
fn insert(
    tree: &mut Vec<(String, ProjNode)>,
    parts: &[String],
    node: ProjNode,
    full: &str,
) -> Result<()> {
    let Some((head, rest)) = parts.split_first() else {
        return Ok(());
    };
    let pos = tree.iter().position(|(k, _)| k == head);
    if rest.is_empty() {
        if pos.is_some() {
            return Err(QueryError::location(
                31250,
                format!("Path collision at {full}"),
            ));
        }
        tree.push((head.clone(), node));
        return Ok(());
    }
    let idx = match pos {
        Some(i) => i,
        None => {
            tree.push((head.clone(), ProjNode::Sub(Vec::new())));
            tree.len() - 1
        }
    };
    match &mut tree[idx].1 {
        ProjNode::Sub(children) => insert(children, rest, node, full),
        _ => Err(QueryError::location(
            31249,
            format!(
                "Path collision at {full} remaining portion {}",
                rest.join(".")
            ),
        )),
    }
}
