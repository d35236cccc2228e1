//! The compiler: checks a flow spec and turns it into its executable form in one walk.
//!
//! Every error is collected with its JSON path (nothing stops at the first one). The walk
//! keeps the *scope* — which node outputs and variables may have been written on the path to
//! the current position — so references to nodes or variables that cannot have run yet are
//! reported, and [`crate::validate::available_paths`] reuses the same walk.
//!
//! Scope rules: after a branching node, the scope is the union of the scopes at the end of
//! its branches that do not always respond (a value set on one branch *may* exist after it;
//! a missing value is `null`). Inside a loop body, everything the body writes is in scope from
//! its start (it may come from the previous iteration). A branching node's own outputs
//! (`condition`, `matched` …) are readable inside its branches.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use serde_json::{Map, Value};
use stratus_query::expr::cql;

use crate::cond::Cond;
use crate::context::{Layout, Ref, Root};
use crate::error::ValidationError;
use crate::nodes::{self, Op};
use crate::spec::{ArgumentSpec, RESERVED_NAMES, SubflowLookup, is_valid_name};
use crate::value::{self, Mode, Tmpl};

/// Second-level keys of `$.request`.
pub(crate) const REQUEST_KEYS: &[&str] = &[
    "body",
    "queryParams",
    "pathParams",
    "headers",
    "method",
    "path",
];

/// A compiled node.
#[derive(Debug)]
pub(crate) struct CNode {
    pub(crate) name: Arc<str>,
    pub(crate) kind: &'static str,
    pub(crate) slot: usize,
    pub(crate) op: Op,
    /// Whether the node (or one nested in it) awaits; the others run synchronously.
    pub(crate) io: bool,
}

/// A compiled sequence of nodes.
#[derive(Debug, Default)]
pub(crate) struct Block {
    pub(crate) nodes: Vec<CNode>,
    /// Every path through the block reaches an `httpResponse`.
    pub(crate) terminates: bool,
}

/// A flow ready to run: compile once, run many times (it is `Send + Sync`; share it in an
/// `Arc`).
#[derive(Debug)]
pub struct CompiledFlow {
    pub(crate) block: Block,
    pub(crate) layout: Arc<Layout>,
    /// Slots of the sub-flow's arguments (empty for API flows).
    pub(crate) arguments: Vec<(ArgumentSpec, usize)>,
    /// Number of nodes in the spec.
    pub(crate) node_count: usize,
    /// Whether any node awaits (database, HTTP, PBKDF2, sub-flow); a flow without such nodes
    /// never yields, so the per-node deadline check alone enforces the wall-clock budget.
    pub(crate) has_io: bool,
    /// Trace entries of the latest run: the capacity the next run's trace starts with.
    pub(crate) trace_hint: AtomicUsize,
}

impl CompiledFlow {
    /// Number of nodes in the flow (all levels).
    pub fn node_count(&self) -> usize {
        self.node_count
    }
}

/// Which outputs and variables may exist at a position.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Scope {
    pub(crate) nodes: BTreeMap<String, &'static [&'static str]>,
    pub(crate) vars: BTreeSet<String>,
}

impl Scope {
    fn union(&mut self, other: &Scope) {
        for (k, v) in &other.nodes {
            self.nodes.insert(k.clone(), v);
        }
        self.vars.extend(other.vars.iter().cloned());
    }
}

/// The fields of one node object, with the ones read so far (the rest are unknown fields).
pub(crate) struct Fields<'m> {
    pub(crate) map: &'m Map<String, Value>,
    pub(crate) path: String,
    used: Vec<&'static str>,
    pub(crate) kind: &'static str,
    pub(crate) name: Arc<str>,
}

impl<'m> Fields<'m> {
    /// Field `name` (marked as known).
    pub(crate) fn get(&mut self, name: &'static str) -> Option<&'m Value> {
        self.used.push(name);
        self.map.get(name).filter(|v| !v.is_null())
    }

    /// JSON path of field `name`.
    pub(crate) fn at(&self, name: &str) -> String {
        format!("{}.{name}", self.path)
    }
}

/// The compilation state (see the module docs).
pub(crate) struct Compiler<'a> {
    pub(crate) layout: Layout,
    errors: Vec<ValidationError>,
    pub(crate) scope: Scope,
    all_names: HashSet<String>,
    seen_names: HashSet<String>,
    /// `(path, name, type)` of every node, in document order.
    prescan: Vec<(String, String, String)>,
    pub(crate) subflows: &'a dyn SubflowLookup,
    /// Sub-flows being compiled, outermost first (recursion detection).
    pub(crate) chain: Vec<String>,
    capture_at: Option<String>,
    pub(crate) captured: Option<Scope>,
    pending_vars: Vec<String>,
}

impl<'a> Compiler<'a> {
    pub(crate) fn new(subflows: &'a dyn SubflowLookup, chain: Vec<String>) -> Self {
        Compiler {
            layout: Layout::default(),
            errors: Vec::new(),
            scope: Scope::default(),
            all_names: HashSet::new(),
            seen_names: HashSet::new(),
            prescan: Vec::new(),
            subflows,
            chain,
            capture_at: None,
            captured: None,
            pending_vars: Vec::new(),
        }
    }

    /// Records the scope when the walk reaches the node at `path`.
    pub(crate) fn capture(&mut self, path: &str) {
        self.capture_at = Some(path.to_string());
    }

    /// Records an error.
    pub(crate) fn error(&mut self, path: &str, message: impl Into<String>) {
        self.errors.push(ValidationError::new(path, message));
    }

    /// Compiles a whole flow (an API flow, or a sub-flow with `arguments`).
    pub(crate) fn flow(
        mut self,
        flow: &Value,
        arguments: &[ArgumentSpec],
    ) -> Result<CompiledFlow, Vec<ValidationError>> {
        let counter = self.prescan_flow(flow);
        let mut args = Vec::new();
        for a in arguments {
            let slot = self.layout.var_slot(&a.name);
            self.scope.vars.insert(a.name.clone());
            args.push((a.clone(), slot));
        }
        let block = self.block(flow, "", true);
        let has_io = block_has_io(&block);
        if self.errors.is_empty() {
            Ok(CompiledFlow {
                block,
                layout: Arc::new(self.layout),
                arguments: args,
                node_count: counter,
                has_io,
                trace_hint: AtomicUsize::new(counter),
            })
        } else {
            Err(self.errors)
        }
    }

    /// Records every node's path, name and type (before the walk); returns the node count.
    pub(crate) fn prescan_flow(&mut self, flow: &Value) -> usize {
        let mut counter = 0;
        collect_kinds(flow, "", &mut self.prescan, &mut counter);
        self.all_names = self.prescan.iter().map(|(_, n, _)| n.clone()).collect();
        counter
    }

    /// The errors found so far and the captured scope (for [`crate::validate`]).
    pub(crate) fn finish(self) -> (Vec<ValidationError>, Option<Scope>) {
        (self.errors, self.captured)
    }

    /// Compiles a sequence of nodes at `path` (`""` for the top level).
    pub(crate) fn block(&mut self, v: &Value, path: &str, required: bool) -> Block {
        let Value::Array(items) = v else {
            self.error(path, "expected an array of nodes");
            return Block::default();
        };
        if items.is_empty() && required {
            self.error(path, "must contain at least one node");
        }
        let mut out = Block::default();
        let mut reported = false;
        for (i, item) in items.iter().enumerate() {
            let p = format!("{path}[{i}]");
            if out.terminates {
                if !reported {
                    self.error(
                        &p,
                        "unreachable node: it comes after an httpResponse on the same branch",
                    );
                    reported = true;
                }
                // Still checked for its own errors, never run.
                let _ = self.node(item, &p);
                continue;
            }
            if let Some(n) = self.node(item, &p) {
                if node_terminates(&n) {
                    out.terminates = true;
                }
                out.nodes.push(n);
            }
        }
        out
    }

    fn node(&mut self, v: &Value, path: &str) -> Option<CNode> {
        let default_name = self
            .prescan
            .iter()
            .find(|(p, _, _)| p == path)
            .map(|(_, n, _)| n.clone())
            .unwrap_or_else(|| format!("node_{}", self.prescan.len() + 1));
        if self.capture_at.as_deref() == Some(path) {
            self.captured = Some(self.scope.clone());
        }
        let Value::Object(map) = v else {
            self.error(path, "a node must be an object with a `type`");
            return None;
        };
        let kind_name = match map.get("type") {
            Some(Value::String(s)) => s.as_str(),
            Some(_) => {
                self.error(&format!("{path}.type"), "must be a string");
                return None;
            }
            None => {
                self.error(path, "missing field `type`");
                return None;
            }
        };
        let name: String = match map.get("name") {
            None | Some(Value::Null) => default_name,
            Some(Value::String(s)) => {
                let np = format!("{path}.name");
                if !is_valid_name(s) {
                    self.error(
                        &np,
                        format!("invalid node name {s:?}: must match ^[A-Za-z_][A-Za-z0-9_]*$"),
                    );
                } else if RESERVED_NAMES.contains(&s.as_str()) {
                    self.error(&np, format!("node name {s:?} is reserved"));
                }
                s.clone()
            }
            Some(_) => {
                self.error(&format!("{path}.name"), "must be a string");
                default_name
            }
        };
        if !self.seen_names.insert(name.clone()) {
            self.error(
                &format!("{path}.name"),
                format!("duplicate node name {name:?}"),
            );
        }
        let Some(info) = nodes::kind_info(kind_name) else {
            self.error(
                &format!("{path}.type"),
                format!("unknown node type {kind_name:?}"),
            );
            return None;
        };
        if !info.available {
            self.error(
                &format!("{path}.type"),
                format!("node type {kind_name} is not available in this build"),
            );
            return None;
        }
        let slot = self.layout.node_slot(&name);
        let name: Arc<str> = Arc::from(name.as_str());
        let mut fields = Fields {
            map,
            path: path.to_string(),
            used: vec!["type", "name"],
            kind: info.name,
            name: name.clone(),
        };
        let saved_pending = std::mem::take(&mut self.pending_vars);
        let op = (info.compile)(self, &mut fields);
        for k in map.keys() {
            if !fields.used.contains(&k.as_str()) {
                self.error(
                    &format!("{path}.{k}"),
                    format!("unknown field {k:?} for node type {}", info.name),
                );
            }
        }
        self.declare(&name, info.outputs);
        for v in std::mem::replace(&mut self.pending_vars, saved_pending) {
            self.scope.vars.insert(v);
        }
        let io = nodes::has_io(&op);
        Some(CNode {
            name,
            kind: info.name,
            slot,
            op,
            io,
        })
    }

    /// Puts node `name` with `outputs` in scope.
    pub(crate) fn declare(&mut self, name: &str, outputs: &'static [&'static str]) {
        self.scope.nodes.insert(name.to_string(), outputs);
    }

    /// Notes that the current node writes variable `name` (in scope after the node) and
    /// returns its slot.
    pub(crate) fn writes_var(&mut self, name: &str) -> usize {
        self.pending_vars.push(name.to_string());
        self.layout.var_slot(name)
    }

    /// Starts compiling the branches of a branching node (see [`BranchMerge`]).
    pub(crate) fn branch_start(&self) -> BranchMerge {
        BranchMerge {
            before: self.scope.clone(),
            merged: self.scope.clone(),
        }
    }

    /// Compiles a loop body: everything it writes is in scope from its start.
    pub(crate) fn loop_body(&mut self, v: &Value, path: &str) -> Block {
        let prefix = format!("{path}[");
        let inner: Vec<(String, &'static [&'static str])> = self
            .prescan
            .iter()
            .filter(|(p, _, _)| p.starts_with(&prefix))
            .filter_map(|(_, name, kind)| nodes::kind_info(kind).map(|i| (name.clone(), i.outputs)))
            .collect();
        for (name, outputs) in inner {
            self.scope.nodes.insert(name, outputs);
        }
        let mut vars = HashSet::new();
        collect_vars(v, &mut vars);
        for var in vars {
            self.layout.var_slot(&var);
            self.scope.vars.insert(var);
        }
        self.block(v, path, true)
    }

    /// Checks and compiles a `$.` reference found at `path`.
    pub(crate) fn reference(&mut self, s: &str, path: &str) -> Option<Ref> {
        let rest = &s[2..];
        let segs: Vec<String> = rest.split('.').map(str::to_string).collect();
        if rest.is_empty() || segs.iter().any(String::is_empty) {
            self.error(path, format!("invalid reference {s:?}: empty path segment"));
            return None;
        }
        let first = segs[0].as_str();
        let tail = segs[1..].to_vec();
        let root = match first {
            "request" => {
                if let Some(k) = tail.first()
                    && !REQUEST_KEYS.contains(&k.as_str())
                {
                    self.error(
                        path,
                        format!(
                            "invalid reference {s:?}: $.request has {}",
                            REQUEST_KEYS.join(", ")
                        ),
                    );
                    return None;
                }
                return Some(Ref {
                    root: Root::Request,
                    rest: tail,
                });
            }
            "tokenData" => {
                return Some(Ref {
                    root: Root::TokenData,
                    rest: tail,
                });
            }
            "secrets" => {
                return Some(Ref {
                    root: Root::Secrets,
                    rest: tail,
                });
            }
            "variables" | "variable" => {
                let Some((name, below)) = tail.split_first() else {
                    return Some(Ref {
                        root: Root::AllVariables,
                        rest: Vec::new(),
                    });
                };
                if !self.scope.vars.contains(name) {
                    self.error(
                        path,
                        format!("reference {s:?}: variable {name:?} is not set before this point"),
                    );
                }
                return Some(Ref {
                    root: Root::Var(self.layout.var_slot(name)),
                    rest: below.to_vec(),
                });
            }
            node => node,
        };
        match self.scope.nodes.get(root) {
            Some(outputs) => {
                if let Some(out) = tail.first()
                    && !outputs.contains(&out.as_str())
                {
                    let known = if outputs.is_empty() {
                        "it has no outputs".to_string()
                    } else {
                        format!("its outputs are {}", outputs.join(", "))
                    };
                    self.error(
                        path,
                        format!("reference {s:?}: node {root:?} has no output {out:?} ({known})"),
                    );
                }
            }
            None if self.all_names.contains(root) => {
                self.error(
                    path,
                    format!("reference {s:?}: node {root:?} cannot have run before this point"),
                );
            }
            None => {
                self.error(path, format!("reference {s:?}: no node named {root:?}"));
            }
        }
        let slot = self.layout.node_slot(root);
        self.layout.mark_read(slot);
        Some(Ref {
            root: Root::Node(slot),
            rest: tail,
        })
    }

    /// Checks every reference in `v` (string values and condition keys).
    pub(crate) fn check_refs(&mut self, v: &Value, path: &str) {
        match v {
            Value::String(s) if s.starts_with("$.") => {
                let _ = self.reference(s, path);
            }
            Value::Array(items) => {
                for (i, x) in items.iter().enumerate() {
                    self.check_refs(x, &format!("{path}[{i}]"));
                }
            }
            Value::Object(m) => {
                for (k, x) in m {
                    let p = format!("{path}.{k}");
                    if k.starts_with("$.") {
                        let _ = self.reference(k, &p);
                    }
                    self.check_refs(x, &p);
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {}
        }
    }

    // ---- field readers -------------------------------------------------------------------

    /// A required CQL value.
    pub(crate) fn req_value(&mut self, f: &mut Fields<'_>, name: &'static str) -> Tmpl {
        match f.get(name) {
            Some(v) => value::compile(self, v, &f.at(name), Mode::Cql),
            None => {
                self.error(&f.path, format!("missing field `{name}` ({})", f.kind));
                Tmpl::Lit(bson::Bson::Null)
            }
        }
    }

    /// Compiles `v` like a CQL value without recording errors: for a second form of an input
    /// whose first form reports them.
    pub(crate) fn quiet_value(&mut self, v: &Value, path: &str) -> Tmpl {
        let n = self.errors.len();
        let t = value::compile(self, v, path, Mode::Cql);
        self.errors.truncate(n);
        t
    }

    /// An optional CQL value.
    pub(crate) fn opt_value(&mut self, f: &mut Fields<'_>, name: &'static str) -> Option<Tmpl> {
        let v = f.get(name)?;
        Some(value::compile(self, v, &f.at(name), Mode::Cql))
    }

    /// A raw MongoDB input (path substitution only).
    pub(crate) fn mongo(
        &mut self,
        f: &mut Fields<'_>,
        name: &'static str,
        required: bool,
    ) -> Option<Tmpl> {
        match f.get(name) {
            Some(v) => Some(value::compile(self, v, &f.at(name), Mode::Mongo)),
            None => {
                if required {
                    self.error(&f.path, format!("missing field `{name}` ({})", f.kind));
                }
                None
            }
        }
    }

    /// A required CQL expression (an operator object, a reference or a literal number).
    pub(crate) fn expression(&mut self, f: &mut Fields<'_>, name: &'static str) -> Tmpl {
        let Some(v) = f.get(name) else {
            self.error(&f.path, format!("missing field `{name}` ({})", f.kind));
            return Tmpl::Lit(bson::Bson::Null);
        };
        let p = f.at(name);
        match v {
            Value::Object(m)
                if m.len() == 1 && m.keys().all(|k| k.starts_with('$') && !k.starts_with("$.")) =>
            {
                value::compile_expression(self, v, &p, true).unwrap_or(Tmpl::Lit(bson::Bson::Null))
            }
            _ => value::compile(self, v, &p, Mode::Cql),
        }
    }

    /// Compiles a `$.` reference without recording errors (for a reference whose errors were
    /// reported when its JSON was checked).
    pub(crate) fn quiet_reference(&mut self, s: &str, path: &str) -> Option<Ref> {
        let n = self.errors.len();
        let r = self.reference(s, path);
        self.errors.truncate(n);
        r
    }

    /// A required condition.
    pub(crate) fn condition(&mut self, f: &mut Fields<'_>, name: &'static str) -> Cond {
        match f.get(name) {
            Some(v) => {
                let p = f.at(name);
                self.condition_value(v, &p)
            }
            None => {
                self.error(&f.path, format!("missing field `{name}` ({})", f.kind));
                Cond::Const(false)
            }
        }
    }

    /// Compiles a condition value found at `path`.
    pub(crate) fn condition_value(&mut self, v: &Value, path: &str) -> Cond {
        self.check_refs(v, path);
        let b = match value::json_to_bson(v) {
            Ok(b) => b,
            Err(e) => {
                self.error(path, e);
                return Cond::Const(false);
            }
        };
        match cql::parse_condition(&b, &value::cql_options()) {
            Ok(c) => Cond::compile(self, c, path),
            Err(e) => {
                self.error(path, format!("invalid condition: {}", e.message));
                Cond::Const(false)
            }
        }
    }

    /// A literal string.
    pub(crate) fn string(
        &mut self,
        f: &mut Fields<'_>,
        name: &'static str,
        required: bool,
    ) -> Option<String> {
        match f.get(name) {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(_) => {
                self.error(&f.at(name), "must be a non-empty string");
                None
            }
            None => {
                if required {
                    self.error(&f.path, format!("missing field `{name}` ({})", f.kind));
                }
                None
            }
        }
    }

    /// A literal identifier (variable name).
    pub(crate) fn ident(
        &mut self,
        f: &mut Fields<'_>,
        name: &'static str,
        required: bool,
    ) -> Option<String> {
        let s = self.string(f, name, required)?;
        if !is_valid_name(&s) {
            self.error(
                &f.at(name),
                format!("invalid variable name {s:?}: must match ^[A-Za-z_][A-Za-z0-9_]*$"),
            );
            return None;
        }
        Some(s)
    }

    /// The variable a node modifies in place: required and already set.
    pub(crate) fn in_place_var(&mut self, f: &mut Fields<'_>, name: &'static str) -> usize {
        match self.ident(f, name, true) {
            Some(v) => {
                if !self.scope.vars.contains(&v) {
                    self.error(
                        &f.at(name),
                        format!("variable {v:?} is not set before this point"),
                    );
                }
                self.writes_var(&v)
            }
            None => usize::MAX,
        }
    }

    /// The optional `variable` a node stores its result in.
    pub(crate) fn target_var(&mut self, f: &mut Fields<'_>) -> Option<usize> {
        let v = self.ident(f, "variable", false)?;
        Some(self.writes_var(&v))
    }

    /// A literal integer within `[min, max]`.
    pub(crate) fn int(
        &mut self,
        f: &mut Fields<'_>,
        name: &'static str,
        min: i64,
        max: i64,
    ) -> Option<i64> {
        let v = f.get(name)?;
        match v.as_i64() {
            Some(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                self.error(
                    &f.at(name),
                    format!("must be an integer from {min} to {max}"),
                );
                None
            }
        }
    }

    /// A literal string out of `allowed` (first entry = default).
    pub(crate) fn choice(
        &mut self,
        f: &mut Fields<'_>,
        name: &'static str,
        allowed: &[&'static str],
    ) -> &'static str {
        match f.get(name) {
            None => allowed[0],
            Some(Value::String(s)) => match allowed.iter().find(|a| a.eq_ignore_ascii_case(s)) {
                Some(a) => a,
                None => {
                    self.error(
                        &f.at(name),
                        format!("must be one of {}", allowed.join(", ")),
                    );
                    allowed[0]
                }
            },
            Some(_) => {
                self.error(
                    &f.at(name),
                    format!("must be one of {}", allowed.join(", ")),
                );
                allowed[0]
            }
        }
    }

    /// A nested sequence of nodes; the current node's outputs are readable inside it.
    pub(crate) fn steps(
        &mut self,
        f: &mut Fields<'_>,
        name: &'static str,
        required: bool,
    ) -> Block {
        let outputs = nodes::kind_info(f.kind).map(|i| i.outputs).unwrap_or(&[]);
        let node = f.name.to_string();
        self.declare(&node, outputs);
        match f.get(name) {
            Some(v) => self.block(v, &f.at(name), required),
            None => {
                if required {
                    self.error(&f.path, format!("missing field `{name}` ({})", f.kind));
                }
                Block::default()
            }
        }
    }
}

/// Scope bookkeeping for the branches of one branching node.
pub(crate) struct BranchMerge {
    before: Scope,
    merged: Scope,
}

impl BranchMerge {
    /// Enters a branch: the scope is the one before the branching node.
    pub(crate) fn enter(&self, c: &mut Compiler<'_>) {
        c.scope = self.before.clone();
    }

    /// Leaves a branch; a branch that always responds contributes nothing afterwards.
    pub(crate) fn leave(&mut self, c: &Compiler<'_>, terminates: bool) {
        if !terminates {
            self.merged.union(&c.scope);
        }
    }

    /// Ends the branching node: the scope is the union of the non-responding branches.
    pub(crate) fn finish(self, c: &mut Compiler<'_>) {
        c.scope = self.merged;
    }
}

/// Whether a block contains a node that awaits.
fn block_has_io(b: &Block) -> bool {
    b.nodes.iter().any(|n| n.io)
}

fn node_terminates(n: &CNode) -> bool {
    nodes::terminates(&n.op)
}

/// Collects `(path, name, type)` of every node in document order, numbering default names
/// `node_N` with the 1-based pre-order position.
fn collect_kinds(
    v: &Value,
    path: &str,
    out: &mut Vec<(String, String, String)>,
    counter: &mut usize,
) {
    let Value::Array(items) = v else { return };
    for (i, item) in items.iter().enumerate() {
        *counter += 1;
        let p = format!("{path}[{i}]");
        let Value::Object(m) = item else { continue };
        let name = match m.get("name") {
            Some(Value::String(s)) => s.clone(),
            _ => format!("node_{counter}"),
        };
        let kind = m
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        out.push((p.clone(), name, kind));
        for (k, x) in m {
            nested_blocks(x, &format!("{p}.{k}"), out, counter);
        }
    }
}

/// Finds nested node arrays inside a field value (`then`, `branches[i].steps` …).
fn nested_blocks(
    v: &Value,
    path: &str,
    out: &mut Vec<(String, String, String)>,
    counter: &mut usize,
) {
    let Value::Array(items) = v else { return };
    if items
        .iter()
        .any(|i| i.get("type").is_some_and(Value::is_string))
    {
        collect_kinds(v, path, out, counter);
        return;
    }
    for (j, i) in items.iter().enumerate() {
        if let Some(steps) = i.get("steps") {
            collect_kinds(steps, &format!("{path}[{j}].steps"), out, counter);
        }
    }
}

/// Variable names a body may write (`variable` and loop `as`/`index` fields).
fn collect_vars(v: &Value, out: &mut HashSet<String>) {
    match v {
        Value::Array(items) => items.iter().for_each(|x| collect_vars(x, out)),
        Value::Object(m) => {
            for (k, x) in m {
                if matches!(k.as_str(), "variable" | "as" | "index")
                    && let Value::String(s) = x
                    && is_valid_name(s)
                {
                    out.insert(s.clone());
                }
                collect_vars(x, out);
            }
        }
        _ => {}
    }
}
