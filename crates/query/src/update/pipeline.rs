//! Pipeline-style updates: an array of `$addFields`/`$set`, `$project`/`$unset` and
//! `$replaceRoot`/`$replaceWith` stages whose expressions are [`crate::expr::Expr`]s.
//!
//! These five stages are implemented here, on the document being updated, so that updates
//! do not depend on the aggregation engine. Each stage sees the output of the previous one as
//! `$$ROOT`/`$$CURRENT`; `$$NOW` is the operation time. The final document is treated like a
//! replacement: the original `_id` is kept (first) and may not change (`ImmutableField` 66).
//! Any other stage is refused (`InvalidOptions` 72 "$match is not allowed to be used within
//! an update").
//!
//! Semantics of `$addFields`: a dotted or nested spec merges into existing subdocuments,
//! applies to every element of an array on the path, and replaces scalars; an expression that
//! evaluates to *missing* (`$$REMOVE`) removes the field. `$project` keeps `_id` unless
//! excluded, lists included fields in document order followed by computed fields.

use bson::{Bson, Document};

use super::render;
use super::replacement;
use crate::error::{MongoCode, QueryError, Result};
use crate::expr::{EvalContext, Expr, ParseOptions};
use crate::limits::Limits;

/// A parsed pipeline update.
#[derive(Debug, Clone)]
pub(crate) struct PipelineUpdate {
    stages: Vec<Stage>,
}

#[derive(Debug, Clone)]
enum Stage {
    /// `$addFields` / `$set`: (path, expression) in spec order.
    AddFields(Vec<(Vec<String>, Expr)>),
    /// `$project` in inclusion mode.
    Include(ProjTree),
    /// `$project` in exclusion mode, or `$unset`.
    Exclude(Vec<Vec<String>>),
    /// `$replaceRoot` / `$replaceWith`.
    ReplaceRoot(Expr),
}

/// An inclusion projection: per field, include it, compute it, or project inside it.
#[derive(Debug, Clone, Default)]
struct ProjTree {
    fields: Vec<(String, ProjNode)>,
    exclude_id: bool,
}

#[derive(Debug, Clone)]
enum ProjNode {
    Include,
    Computed(Expr),
    Nested(ProjTree),
}

impl PipelineUpdate {
    /// Parses the stages.
    pub(crate) fn parse(stages: &[Bson], limits: &Limits) -> Result<PipelineUpdate> {
        if stages.len() > limits.max_pipeline_length {
            return Err(QueryError::bad_value(format!(
                "Pipeline length must be no longer than {} stages",
                limits.max_pipeline_length
            )));
        }
        let opts = ParseOptions {
            limits: *limits,
            ..ParseOptions::default()
        };
        let mut out = Vec::with_capacity(stages.len());
        for s in stages {
            let Bson::Document(d) = s else {
                return Err(QueryError::type_mismatch(format!(
                    "Each element of the 'pipeline' array must be an object, but found {}",
                    render::type_name(s)
                )));
            };
            if d.len() != 1 {
                return Err(QueryError::location(
                    40323,
                    "A pipeline stage specification object must contain exactly one field.",
                ));
            }
            let (name, arg) = d.iter().next().expect("invariant: len is 1");
            out.push(parse_stage(name, arg, &opts)?);
        }
        Ok(PipelineUpdate { stages: out })
    }

    /// Runs the stages over `doc`; returns the result and whether it differs from `doc`
    /// (compared before the original `_id` is restored, as mongod does).
    pub(crate) fn apply(&self, doc: &Document, now: bson::DateTime) -> Result<(Document, bool)> {
        let mut cur = doc.clone();
        for s in &self.stages {
            cur = run_stage(s, cur, now)?;
        }
        replacement::apply_replacement(doc, &cur)
    }
}

fn parse_stage(name: &str, arg: &Bson, opts: &ParseOptions) -> Result<Stage> {
    match name {
        "$addFields" | "$set" => {
            let d = stage_doc(name, arg)?;
            let mut fields = Vec::new();
            flatten_add_fields(d, &mut Vec::new(), &mut fields, opts, 0)?;
            Ok(Stage::AddFields(fields))
        }
        "$unset" => {
            let names: Vec<&Bson> = match arg {
                Bson::String(_) => vec![arg],
                Bson::Array(a) if !a.is_empty() => a.iter().collect(),
                _ => {
                    return Err(QueryError::location(
                        31002,
                        "$unset specification must be a string or an array containing at least one field",
                    ));
                }
            };
            let mut paths = Vec::with_capacity(names.len());
            for n in names {
                let Bson::String(s) = n else {
                    return Err(QueryError::location(
                        31120,
                        "$unset specification must be a string or an array containing only string values",
                    ));
                };
                paths.push(field_path(s)?);
            }
            Ok(Stage::Exclude(paths))
        }
        "$project" => parse_project(stage_doc(name, arg)?, opts),
        "$replaceRoot" => {
            let d = stage_doc(name, arg)?;
            let Some(root) = d.get("newRoot") else {
                return Err(QueryError::location(
                    40231,
                    "no newRoot specified for the $replaceRoot stage",
                ));
            };
            if let Some(k) = d.keys().find(|k| *k != "newRoot") {
                return Err(QueryError::location(
                    40415,
                    format!("BSON field '$replaceRoot.{k}' is an unknown field."),
                ));
            }
            Ok(Stage::ReplaceRoot(Expr::parse(root, opts)?))
        }
        "$replaceWith" => Ok(Stage::ReplaceRoot(Expr::parse(arg, opts)?)),
        other => Err(QueryError::new(
            MongoCode::InvalidOptions,
            format!("{other} is not allowed to be used within an update"),
        )),
    }
}

fn stage_doc<'a>(name: &str, arg: &'a Bson) -> Result<&'a Document> {
    match arg {
        Bson::Document(d) => Ok(d),
        other => Err(QueryError::location(
            40272,
            format!(
                "{name} specification stage must be an object, got {}",
                render::type_name(other)
            ),
        )),
    }
}

fn field_path(s: &str) -> Result<Vec<String>> {
    if s.is_empty() || s.split('.').any(str::is_empty) {
        return Err(QueryError::location(
            40352,
            "FieldPath cannot be constructed with empty string",
        ));
    }
    if s.starts_with('$') {
        return Err(QueryError::location(
            16410,
            format!("FieldPath field names may not start with '$'. Given: {s}"),
        ));
    }
    Ok(s.split('.').map(str::to_string).collect())
}

/// Whether a spec value is a nested spec (a non-empty document with no operator key).
fn is_nested_spec(v: &Bson) -> Option<&Document> {
    match v {
        Bson::Document(d) if !d.is_empty() && !d.keys().any(|k| k.starts_with('$')) => Some(d),
        _ => None,
    }
}

fn flatten_add_fields(
    d: &Document,
    prefix: &mut Vec<String>,
    out: &mut Vec<(Vec<String>, Expr)>,
    opts: &ParseOptions,
    depth: usize,
) -> Result<()> {
    if depth > opts.limits.max_nesting_depth {
        return Err(QueryError::bad_value(
            "$addFields specification nests too deeply",
        ));
    }
    if d.is_empty() && prefix.is_empty() {
        return Err(QueryError::location(
            40177,
            "Invalid $addFields :: caused by :: specification must have at least one field",
        ));
    }
    for (k, v) in d {
        let parts = field_path(k)?;
        let n = parts.len();
        prefix.extend(parts);
        if let Some(nested) = is_nested_spec(v) {
            flatten_add_fields(nested, prefix, out, opts, depth + 1)?;
        } else {
            out.push((prefix.clone(), Expr::parse(v, opts)?));
        }
        prefix.truncate(prefix.len() - n);
    }
    Ok(())
}

fn parse_project(d: &Document, opts: &ParseOptions) -> Result<Stage> {
    if d.is_empty() {
        return Err(QueryError::location(
            51272,
            "Invalid $project :: caused by :: projection specification must have at least one field",
        ));
    }
    let exclusion = d
        .iter()
        .filter(|(k, _)| *k != "_id")
        .all(|(_, v)| is_false(v))
        && d.iter().any(|(_, v)| is_false(v));
    if exclusion {
        let mut paths = Vec::new();
        for (k, _) in d {
            paths.push(field_path(k)?);
        }
        return Ok(Stage::Exclude(paths));
    }
    let mut tree = ProjTree::default();
    build_tree(d, &mut tree, opts, 0)?;
    Ok(Stage::Include(tree))
}

fn is_false(v: &Bson) -> bool {
    match v {
        Bson::Boolean(b) => !b,
        Bson::Int32(0) | Bson::Int64(0) => true,
        Bson::Double(x) => *x == 0.0,
        _ => false,
    }
}

fn is_true(v: &Bson) -> bool {
    matches!(
        v,
        Bson::Boolean(true) | Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_)
    ) && !is_false(v)
}

fn build_tree(d: &Document, tree: &mut ProjTree, opts: &ParseOptions, depth: usize) -> Result<()> {
    if depth > opts.limits.max_nesting_depth {
        return Err(QueryError::bad_value(
            "$project specification nests too deeply",
        ));
    }
    for (k, v) in d {
        if depth == 0 && k == "_id" && is_false(v) {
            tree.exclude_id = true;
            continue;
        }
        if is_false(v) {
            return Err(QueryError::new(
                MongoCode::ProjectionMixed,
                format!(
                    "Invalid $project :: caused by :: Cannot do exclusion on field {k} in inclusion projection"
                ),
            ));
        }
        let parts = field_path(k)?;
        let node = if is_true(v) {
            ProjNode::Include
        } else if let Some(nested) = is_nested_spec(v) {
            let mut sub = ProjTree::default();
            build_tree(nested, &mut sub, opts, depth + 1)?;
            ProjNode::Nested(sub)
        } else {
            ProjNode::Computed(Expr::parse(v, opts)?)
        };
        insert_node(tree, &parts, node);
    }
    Ok(())
}

fn insert_node(tree: &mut ProjTree, parts: &[String], node: ProjNode) {
    let Some((first, rest)) = parts.split_first() else {
        return;
    };
    if rest.is_empty() {
        tree.fields.push((first.clone(), node));
        return;
    }
    let idx = match tree.fields.iter().position(|(k, _)| k == first) {
        Some(i) => i,
        None => {
            tree.fields
                .push((first.clone(), ProjNode::Nested(ProjTree::default())));
            tree.fields.len() - 1
        }
    };
    if let ProjNode::Nested(sub) = &mut tree.fields[idx].1 {
        insert_node(sub, rest, node);
    }
}

fn run_stage(s: &Stage, mut doc: Document, now: bson::DateTime) -> Result<Document> {
    // Expressions see the stage input as `$$ROOT`; the copy keeps `doc` free to change.
    let root = Bson::Document(doc.clone());
    let mut ctx = EvalContext::new(&root);
    ctx.now = now;
    match s {
        Stage::AddFields(fields) => {
            let mut values = Vec::with_capacity(fields.len());
            for (p, e) in fields {
                values.push((p, e.eval(&mut ctx)?));
            }
            for (p, v) in values {
                add_field(&mut doc, p, v);
            }
            Ok(doc)
        }
        Stage::Exclude(paths) => {
            for p in paths {
                remove_path(&mut doc, p);
            }
            Ok(doc)
        }
        Stage::Include(tree) => project(&doc, tree, &mut ctx, true),
        Stage::ReplaceRoot(e) => match e.eval(&mut ctx)? {
            Some(Bson::Document(d)) => Ok(d),
            other => {
                let v = other.unwrap_or(Bson::Null);
                Err(QueryError::location(
                    40228,
                    format!(
                        "'replacement document' must evaluate to an object, but resulting value was: {}. Type of resulting value: '{}'. Input document: {}",
                        render::value(&v),
                        render::type_name(&v),
                        render::document(&doc)
                    ),
                ))
            }
        },
    }
}

/// `$addFields` of one path: merges into documents, maps over arrays, replaces scalars.
fn add_field(doc: &mut Document, p: &[String], v: Option<Bson>) {
    let Some((first, rest)) = p.split_first() else {
        return;
    };
    if rest.is_empty() {
        match v {
            Some(v) => {
                doc.insert(first.clone(), v);
            }
            None => {
                doc.remove(first);
            }
        }
        return;
    }
    match doc.get_mut(first) {
        Some(Bson::Document(d)) => add_field(d, rest, v),
        Some(Bson::Array(items)) => {
            for item in items.iter_mut() {
                add_in_value(item, rest, v.clone());
            }
        }
        _ => {
            let mut d = Document::new();
            add_field(&mut d, rest, v);
            doc.insert(first.clone(), d);
        }
    }
}

fn add_in_value(item: &mut Bson, p: &[String], v: Option<Bson>) {
    match item {
        Bson::Document(d) => add_field(d, p, v),
        Bson::Array(items) => {
            for i in items.iter_mut() {
                add_in_value(i, p, v.clone());
            }
        }
        other => {
            let mut d = Document::new();
            add_field(&mut d, p, v);
            *other = Bson::Document(d);
        }
    }
}

/// Removes a path, through arrays of documents.
fn remove_path(doc: &mut Document, p: &[String]) {
    let Some((first, rest)) = p.split_first() else {
        return;
    };
    if rest.is_empty() {
        doc.remove(first);
        return;
    }
    match doc.get_mut(first) {
        Some(Bson::Document(d)) => remove_path(d, rest),
        Some(Bson::Array(items)) => {
            for item in items.iter_mut() {
                if let Bson::Document(d) = item {
                    remove_path(d, rest);
                }
            }
        }
        _ => {}
    }
}

/// Inclusion projection of `doc` (`top` for the document root, where `_id` is implicit).
fn project(
    doc: &Document,
    tree: &ProjTree,
    ctx: &mut EvalContext<'_>,
    top: bool,
) -> Result<Document> {
    let mut out = Document::new();
    if top
        && !tree.exclude_id
        && !tree.fields.iter().any(|(k, _)| k == "_id")
        && let Some(id) = doc.get("_id")
    {
        out.insert("_id", id.clone());
    }
    for (k, v) in doc {
        let Some((_, node)) = tree.fields.iter().find(|(f, _)| f == k) else {
            continue;
        };
        match node {
            ProjNode::Include => {
                out.insert(k.clone(), v.clone());
            }
            ProjNode::Nested(sub) => {
                if let Some(x) = project_value(v, sub, ctx)? {
                    out.insert(k.clone(), x);
                }
            }
            ProjNode::Computed(_) => {}
        }
    }
    for (k, node) in &tree.fields {
        match node {
            ProjNode::Computed(e) => {
                if let Some(x) = e.eval(ctx)? {
                    out.insert(k.clone(), x);
                }
            }
            ProjNode::Nested(sub) if !doc.contains_key(k) && has_computed(sub) => {
                let x = project(&Document::new(), sub, ctx, false)?;
                out.insert(k.clone(), x);
            }
            _ => {}
        }
    }
    Ok(out)
}

fn has_computed(tree: &ProjTree) -> bool {
    tree.fields.iter().any(|(_, n)| match n {
        ProjNode::Computed(_) => true,
        ProjNode::Nested(s) => has_computed(s),
        ProjNode::Include => false,
    })
}

fn project_value(v: &Bson, tree: &ProjTree, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
    match v {
        Bson::Document(d) => Ok(Some(Bson::Document(project(d, tree, ctx, false)?))),
        Bson::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for i in items {
                if let Some(x) = project_value(i, tree, ctx)? {
                    out.push(x);
                }
            }
            Ok(Some(Bson::Array(out)))
        }
        _ if has_computed(tree) => Ok(Some(Bson::Document(project(
            &Document::new(),
            tree,
            ctx,
            false,
        )?))),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::{bson, doc};

    fn run(stages: Bson, d: Document) -> Result<Document> {
        let Bson::Array(s) = stages else {
            panic!("stages must be an array")
        };
        PipelineUpdate::parse(&s, &Limits::default())?
            .apply(&d, bson::DateTime::from_millis(0))
            .map(|(doc, _)| doc)
    }

    #[test]
    fn add_fields_merges_and_maps() {
        let out = run(
            bson!([{"$set": {"a": {"c": 2}, "x.y": 1, "l.k": 0}}]),
            doc! {"_id": 1, "a": {"b": 1}, "l": [{"k": 1}, 5]},
        )
        .expect("runs");
        assert_eq!(
            out,
            doc! {"_id": 1, "a": {"b": 1, "c": 2}, "l": [{"k": 0}, {"k": 0}], "x": {"y": 1}}
        );
    }

    #[test]
    fn project_unset_and_replace() {
        let out = run(
            bson!([{"$project": {"a.b": 1, "c": 1}}]),
            doc! {"_id": 1, "c": 3, "a": [{"b": 1, "z": 2}, 7], "d": 4},
        )
        .expect("runs");
        assert_eq!(out, doc! {"_id": 1, "c": 3, "a": [{"b": 1}]});
        let out = run(
            bson!([{"$unset": ["a", "b.c"]}]),
            doc! {"_id": 1, "a": 1, "b": {"c": 1, "d": 2}},
        )
        .expect("runs");
        assert_eq!(out, doc! {"_id": 1, "b": {"d": 2}});
        let out = run(
            bson!([{"$replaceWith": "$t"}]),
            doc! {"_id": 1, "t": {"u": 1}},
        )
        .expect("runs");
        assert_eq!(out, doc! {"_id": 1, "u": 1});
        let e = run(bson!([{"$replaceWith": {"_id": 2}}]), doc! {"_id": 1}).expect_err("id");
        assert_eq!(e.code, MongoCode::ImmutableField);
        let e = run(bson!([{"$match": {}}]), doc! {"_id": 1}).expect_err("stage");
        assert_eq!(e.code, MongoCode::InvalidOptions);
    }
}
