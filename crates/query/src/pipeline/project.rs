//! `$project`, `$addFields`/`$set` and `$unset`: one projection tree, three modes.
//!
//! A spec is parsed into a tree of field names (dotted paths and nested objects both nest):
//! each leaf includes, excludes or computes a field. Semantics follow MongoDB's aggregation
//! projections:
//! - *Inclusion* (`$project` with `1`/`true`/expressions): output keeps the included fields in
//!   the input's order, then computed fields are set in spec order. `_id` is included unless
//!   `_id: 0`. Through arrays, inclusion applies to each element; scalars inside arrays are
//!   dropped, a scalar where a sub-document was expected is dropped.
//! - *Exclusion* (`$project` with `0`/`false`, `$unset`): the listed fields are removed
//!   (through arrays element by element); everything else stays.
//! - *AddFields*: every leaf is an expression; the document is kept and fields are set in
//!   place (or appended); a value that evaluates to *missing* (`$$REMOVE`) removes the field.
//!   A computed field below a non-document value replaces it with a document.
//!
//! Mixing inclusion and exclusion fails (31253/31254), as do expressions in an exclusion
//! (31252), path collisions (31249/31250) and empty sub-projections (51270).

use bson::{Bson, Document};

use super::util::split_field_path;
use super::{ParseCtx, RunCtx};
use crate::error::{QueryError, Result};
use crate::expr::{EvalContext, Expr};

/// Which projection a stage performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Inclusion,
    Exclusion,
    AddFields,
}

/// A node of the projection tree.
#[derive(Debug, Clone)]
enum Node {
    Include,
    Exclude,
    Computed(Expr),
    Sub(Tree),
}

/// Children of one level, in spec order.
#[derive(Debug, Clone, Default)]
struct Tree {
    children: Vec<(String, Node)>,
}

impl Tree {
    fn get(&self, k: &str) -> Option<&Node> {
        self.children.iter().find(|(n, _)| n == k).map(|(_, v)| v)
    }

    fn has_computed(&self) -> bool {
        self.children.iter().any(|(_, n)| match n {
            Node::Computed(_) => true,
            Node::Sub(t) => t.has_computed(),
            Node::Include | Node::Exclude => false,
        })
    }

    /// Inserts `node` at `path`, reporting path collisions as MongoDB does.
    fn insert(&mut self, path: &[String], full: &str, node: Node) -> Result<()> {
        let Some((first, rest)) = path.split_first() else {
            return Ok(());
        };
        let idx = self.children.iter().position(|(n, _)| n == first);
        if rest.is_empty() {
            if idx.is_some() {
                return Err(QueryError::location(
                    31250,
                    format!("Invalid $project :: caused by :: Path collision at {full}"),
                ));
            }
            self.children.push((first.clone(), node));
            return Ok(());
        }
        let i = match idx {
            Some(i) => i,
            None => {
                self.children
                    .push((first.clone(), Node::Sub(Tree::default())));
                self.children.len() - 1
            }
        };
        match &mut self.children[i].1 {
            Node::Sub(t) => t.insert(rest, full, node),
            _ => Err(QueryError::location(
                31249,
                format!(
                    "Invalid $project :: caused by :: Path collision at {full} remaining portion {}",
                    rest.join(".")
                ),
            )),
        }
    }
}

/// A parsed `$project`, `$addFields`/`$set` or `$unset` stage.
#[derive(Debug, Clone)]
pub struct ProjectStage {
    name: &'static str,
    mode: Mode,
    tree: Tree,
}

/// What one leaf of a `$project` spec asks for.
enum Leaf {
    Include,
    Exclude,
    Computed(Expr),
    Nested(Document),
}

fn classify(v: &Bson, pc: &ParseCtx, add_fields: bool) -> Result<Leaf> {
    match v {
        Bson::Boolean(b) if !add_fields => Ok(if *b { Leaf::Include } else { Leaf::Exclude }),
        Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) | Bson::Decimal128(_) if !add_fields => {
            let zero = crate::compare::Number::of(v).is_some_and(|n| n.as_f64() == 0.0);
            Ok(if zero { Leaf::Exclude } else { Leaf::Include })
        }
        Bson::Document(d) => match d.keys().next() {
            Some(k) if k.starts_with('$') => Ok(Leaf::Computed(Expr::parse(v, &pc.expr_opts())?)),
            Some(_) => Ok(Leaf::Nested(d.clone())),
            None if add_fields => Ok(Leaf::Computed(Expr::parse(v, &pc.expr_opts())?)),
            None => Err(QueryError::location(
                51270,
                "Invalid $project :: caused by :: An empty sub-projection is not a valid value. Found empty object at path",
            )),
        },
        _ => Ok(Leaf::Computed(Expr::parse(v, &pc.expr_opts())?)),
    }
}

/// Parser state for the mode checks.
struct ModeTracker {
    mode: Option<Mode>,
    id_included: Option<bool>,
}

impl ModeTracker {
    fn see(&mut self, leaf_is: Mode, path: &str) -> Result<()> {
        match (self.mode, leaf_is) {
            (None, m) => {
                self.mode = Some(m);
                Ok(())
            }
            (Some(a), b) if a == b => Ok(()),
            (Some(Mode::Exclusion), _) => Err(QueryError::location(
                31253,
                format!(
                    "Invalid $project :: caused by :: Cannot do inclusion on field {path} in exclusion projection"
                ),
            )),
            _ => Err(QueryError::location(
                31254,
                format!(
                    "Invalid $project :: caused by :: Cannot do exclusion on field {path} in inclusion projection"
                ),
            )),
        }
    }
}

/// Splits and checks a projection key; a positional `$` component is refused (31324).
fn validate_key(k: &str) -> Result<Vec<String>> {
    if k.split('.').any(|c| c == "$") && k != "$" {
        return Err(QueryError::location(
            31324,
            "Invalid $project :: caused by :: Cannot use positional projection in aggregation projection",
        ));
    }
    split_field_path(k)
}

impl ProjectStage {
    /// The stage name as written.
    pub(crate) fn stage_name(&self) -> &'static str {
        self.name
    }

    /// Parses `$project`.
    pub(crate) fn parse_project(spec: &Bson, pc: &ParseCtx) -> Result<ProjectStage> {
        let Bson::Document(d) = spec else {
            return Err(QueryError::location(
                15969,
                "$project specification must be an object",
            ));
        };
        if d.is_empty() {
            return Err(QueryError::location(
                51272,
                "Invalid $project :: caused by :: projection specification must have at least one field",
            ));
        }
        let mut tracker = ModeTracker {
            mode: None,
            id_included: None,
        };
        let mut tree = Tree::default();
        parse_level(d, &[], pc, &mut tracker, &mut tree, true)?;
        let mode = match (tracker.mode, tracker.id_included) {
            (Some(m), _) => m,
            (None, Some(false)) => Mode::Exclusion,
            (None, _) => Mode::Inclusion,
        };
        if mode == Mode::Inclusion && tree.get("_id").is_none() {
            tree.children.insert(0, ("_id".to_string(), Node::Include));
        }
        if mode == Mode::Exclusion {
            // `_id: 1` in an exclusion projection is a no-op.
            tree.children
                .retain(|(k, n)| !(k == "_id" && matches!(n, Node::Include)));
        }
        Ok(ProjectStage {
            name: "$project",
            mode,
            tree,
        })
    }

    /// Parses `$addFields` / `$set` (`name` is the spelling used).
    pub(crate) fn parse_add_fields(name: &str, spec: &Bson, pc: &ParseCtx) -> Result<ProjectStage> {
        let stage_name = if name == "$set" { "$set" } else { "$addFields" };
        let Bson::Document(d) = spec else {
            return Err(QueryError::location(
                40272,
                format!(
                    "{stage_name} specification stage must be an object, got {}",
                    super::util::type_name(spec)
                ),
            ));
        };
        let mut tree = Tree::default();
        parse_add_fields_level(d, &[], pc, &mut tree)?;
        Ok(ProjectStage {
            name: stage_name,
            mode: Mode::AddFields,
            tree,
        })
    }

    /// Parses `$unset`: a field path or a non-empty array of them.
    pub(crate) fn parse_unset(spec: &Bson) -> Result<ProjectStage> {
        let paths: Vec<&str> = match spec {
            Bson::String(s) => vec![s.as_str()],
            Bson::Array(items) if items.is_empty() => {
                return Err(QueryError::location(
                    31119,
                    "$unset specification must be a string or an array with at least one field",
                ));
            }
            Bson::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    let Bson::String(s) = i else {
                        return Err(QueryError::location(
                            31120,
                            "$unset specification must be a string or an array containing only string values",
                        ));
                    };
                    out.push(s.as_str());
                }
                out
            }
            _ => {
                return Err(QueryError::location(
                    31002,
                    "$unset specification must be a string or an array",
                ));
            }
        };
        let mut tree = Tree::default();
        for p in paths {
            let parts = validate_key(p)?;
            tree.insert(&parts, p, Node::Exclude)?;
        }
        Ok(ProjectStage {
            name: "$unset",
            mode: Mode::Exclusion,
            tree,
        })
    }

    /// Applies the projection to one document.
    pub(crate) fn apply_one(&self, doc: Document, rc: &RunCtx<'_>) -> Result<Document> {
        match self.mode {
            Mode::Exclusion => {
                let mut doc = doc;
                exclude_doc(&self.tree, &mut doc);
                Ok(doc)
            }
            Mode::Inclusion => {
                let root = Bson::Document(doc);
                let Bson::Document(input) = &root else {
                    unreachable!("invariant: wrapped a document")
                };
                let mut out = include_doc(&self.tree, input);
                if self.tree.has_computed() {
                    let values = evaluate(&self.tree, &root, rc)?;
                    set_values(values, &mut out);
                    if matches!(self.tree.get("_id"), Some(Node::Computed(_))) {
                        out = id_first(out);
                    }
                }
                Ok(out)
            }
            Mode::AddFields => {
                // Every expression sees the input document, so all are evaluated before the
                // document (moved, not copied) is modified.
                let root = Bson::Document(doc);
                let values = evaluate(&self.tree, &root, rc)?;
                let Bson::Document(mut out) = root else {
                    unreachable!("invariant: wrapped a document")
                };
                set_values(values, &mut out);
                Ok(out)
            }
        }
    }
}

/// Parses one level of a `$project` spec (`prefix` is the path of this level).
fn parse_level(
    d: &Document,
    prefix: &[String],
    pc: &ParseCtx,
    tracker: &mut ModeTracker,
    tree: &mut Tree,
    top: bool,
) -> Result<()> {
    for (k, v) in d {
        let parts = validate_key(k)?;
        let mut full: Vec<String> = prefix.to_vec();
        full.extend(parts.iter().cloned());
        let full_str = full.join(".");
        let is_top_id = top && k == "_id";
        match classify(v, pc, false)? {
            Leaf::Include => {
                if is_top_id {
                    tracker.id_included = Some(true);
                } else {
                    tracker.see(Mode::Inclusion, &full_str)?;
                }
                tree.insert(&parts, &full_str, Node::Include)?;
            }
            Leaf::Exclude => {
                if is_top_id {
                    tracker.id_included = Some(false);
                } else {
                    tracker.see(Mode::Exclusion, &full_str)?;
                }
                tree.insert(&parts, &full_str, Node::Exclude)?;
            }
            Leaf::Computed(e) => {
                if tracker.mode == Some(Mode::Exclusion) {
                    return Err(QueryError::location(
                        31252,
                        format!(
                            "Invalid $project :: caused by :: Cannot use expression other than $meta in exclusion projection (field {full_str})"
                        ),
                    ));
                }
                tracker.see(Mode::Inclusion, &full_str)?;
                tree.insert(&parts, &full_str, Node::Computed(e))?;
            }
            Leaf::Nested(sub) => {
                let mut sub_tree = Tree::default();
                parse_level(&sub, &full, pc, tracker, &mut sub_tree, false)?;
                tree.insert(&parts, &full_str, Node::Sub(sub_tree))?;
            }
        }
    }
    Ok(())
}

/// Parses one level of an `$addFields` spec.
fn parse_add_fields_level(
    d: &Document,
    prefix: &[String],
    pc: &ParseCtx,
    tree: &mut Tree,
) -> Result<()> {
    for (k, v) in d {
        let parts = validate_key(k)?;
        let mut full: Vec<String> = prefix.to_vec();
        full.extend(parts.iter().cloned());
        let full_str = full.join(".");
        match classify(v, pc, true)? {
            Leaf::Nested(sub) => {
                let mut sub_tree = Tree::default();
                parse_add_fields_level(&sub, &full, pc, &mut sub_tree)?;
                tree.insert(&parts, &full_str, Node::Sub(sub_tree))?;
            }
            Leaf::Computed(e) => tree.insert(&parts, &full_str, Node::Computed(e))?,
            Leaf::Include | Leaf::Exclude => {
                unreachable!("invariant: classify never yields these for $addFields")
            }
        }
    }
    Ok(())
}

/// Inclusion phase: the included fields of `d`, in `d`'s order.
fn include_doc(tree: &Tree, d: &Document) -> Document {
    let mut out = Document::new();
    for (k, v) in d {
        match tree.get(k) {
            Some(Node::Include) => {
                out.insert(k.clone(), v.clone());
            }
            Some(Node::Sub(sub)) => {
                if let Some(pv) = include_value(sub, v) {
                    out.insert(k.clone(), pv);
                }
            }
            _ => {}
        }
    }
    out
}

fn include_value(sub: &Tree, v: &Bson) -> Option<Bson> {
    match v {
        Bson::Document(d) => Some(Bson::Document(include_doc(sub, d))),
        Bson::Array(items) => Some(Bson::Array(
            items.iter().filter_map(|i| include_value(sub, i)).collect(),
        )),
        _ => None,
    }
}

/// The values of a tree's computed fields, in spec order (`None` = *missing*).
enum Value {
    Leaf(Option<Bson>),
    Sub(Vec<(String, Value)>),
}

/// Evaluates every computed field of `tree` once, against the input document.
fn evaluate(tree: &Tree, root: &Bson, rc: &RunCtx<'_>) -> Result<Vec<(String, Value)>> {
    let mut ctx = EvalContext::at(root, rc.now);
    ctx.vars = rc.vars.clone();
    evaluate_in(tree, &mut ctx)
}

fn evaluate_in(tree: &Tree, ctx: &mut EvalContext<'_>) -> Result<Vec<(String, Value)>> {
    let mut out = Vec::new();
    for (k, node) in &tree.children {
        match node {
            Node::Computed(e) => out.push((k.clone(), Value::Leaf(e.eval(ctx)?))),
            Node::Sub(sub) if sub.has_computed() => {
                out.push((k.clone(), Value::Sub(evaluate_in(sub, ctx)?)));
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Expression phase: sets computed values on `out` (in place, or appended; *missing*
/// removes the field).
fn set_values(values: Vec<(String, Value)>, out: &mut Document) {
    set_values_ref(&values, out);
}

fn set_values_ref(values: &[(String, Value)], out: &mut Document) {
    for (k, v) in values {
        match v {
            Value::Leaf(Some(x)) => {
                out.insert(k.clone(), x.clone());
            }
            Value::Leaf(None) => {
                out.remove(k);
            }
            Value::Sub(sub) => {
                let cur = out.get_mut(k).map(|x| std::mem::replace(x, Bson::Null));
                out.insert(k.clone(), values_into(sub, cur));
            }
        }
    }
}

/// Applies sub-values to an existing value: into a document, into each element of an array,
/// or into a new document replacing anything else.
fn values_into(sub: &[(String, Value)], v: Option<Bson>) -> Bson {
    match v {
        Some(Bson::Document(mut d)) => {
            set_values_ref(sub, &mut d);
            Bson::Document(d)
        }
        Some(Bson::Array(items)) => Bson::Array(
            items
                .into_iter()
                .map(|i| values_into(sub, Some(i)))
                .collect(),
        ),
        _ => {
            let mut d = Document::new();
            set_values_ref(sub, &mut d);
            Bson::Document(d)
        }
    }
}

/// Exclusion: removes the excluded fields of `tree` from `d`.
fn exclude_doc(tree: &Tree, d: &mut Document) {
    for (k, node) in &tree.children {
        match node {
            Node::Exclude => {
                d.remove(k);
            }
            Node::Sub(sub) => {
                if let Some(v) = d.get_mut(k) {
                    exclude_value(sub, v);
                }
            }
            Node::Include | Node::Computed(_) => {}
        }
    }
}

fn exclude_value(sub: &Tree, v: &mut Bson) {
    match v {
        Bson::Document(d) => exclude_doc(sub, d),
        Bson::Array(items) => items.iter_mut().for_each(|i| exclude_value(sub, i)),
        _ => {}
    }
}

/// Moves `_id` to the front (a computed `_id` in `$project` comes first, as in MongoDB).
fn id_first(d: Document) -> Document {
    let Some(id) = d.get("_id").cloned() else {
        return d;
    };
    let mut out = Document::new();
    out.insert("_id", id);
    for (k, v) in d {
        if k != "_id" {
            out.insert(k, v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use bson::doc;

    use super::*;
    use crate::limits::Limits;
    use crate::pipeline::{MemoryCollections, Nesting};

    fn pc() -> ParseCtx {
        ParseCtx {
            limits: Limits::default(),
            depth: 0,
            nesting: Nesting::Top,
        }
    }

    fn run(stage: &ProjectStage, d: Document) -> Document {
        let env = MemoryCollections::new();
        let rc = RunCtx {
            env: &env,
            db: "db",
            vars: Vec::new(),
            now: bson::DateTime::from_millis(0),
            limits: Limits::default(),
            seed: None,
        };
        stage.apply_one(d, &rc).unwrap()
    }

    #[test]
    fn modes_are_detected() {
        let incl = ProjectStage::parse_project(&Bson::Document(doc! {"a": true}), &pc()).unwrap();
        assert_eq!(incl.mode, Mode::Inclusion);
        let excl = ProjectStage::parse_project(&Bson::Document(doc! {"_id": 0}), &pc()).unwrap();
        assert_eq!(excl.mode, Mode::Exclusion);
        let comp = ProjectStage::parse_project(&Bson::Document(doc! {"_id": 0, "x": "$a"}), &pc())
            .unwrap();
        assert_eq!(comp.mode, Mode::Inclusion);
    }

    #[test]
    fn dotted_and_nested_specs_build_the_same_tree() {
        let a =
            ProjectStage::parse_project(&Bson::Document(doc! {"a.b": 1, "a.c": 1}), &pc()).unwrap();
        let b = ProjectStage::parse_project(&Bson::Document(doc! {"a": {"b": 1, "c": 1}}), &pc())
            .unwrap();
        let d = doc! {"_id": 1, "a": {"c": 3, "b": 2, "z": 0}, "q": 1};
        assert_eq!(run(&a, d.clone()), run(&b, d));
    }

    #[test]
    fn unset_is_an_exclusion() {
        let u = ProjectStage::parse_unset(&Bson::String("a.b".into())).unwrap();
        assert_eq!(u.stage_name(), "$unset");
        assert_eq!(run(&u, doc! {"a": {"b": 1, "c": 2}}), doc! {"a": {"c": 2}});
    }
}
