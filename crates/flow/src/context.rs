//! The run-time flow context: request data, token claims, secrets, variables and node outputs,
//! and the `$.` references into it.
//!
//! Variables and node outputs live in slots (a `Vec` indexed by numbers fixed at compile time,
//! see [`Layout`]); references compiled by this crate ([`Ref`]) index the slots directly, while
//! references inside shared expressions go through [`Frame`]'s [`ExternalResolver`] impl,
//! which maps names to slots with one hash lookup.
//!
//! The read-only inputs of a run ([`Inputs`]: request, token claims, secrets) are borrowed by
//! the frame for the whole run, so a `forLoop` over request data binds each element to its
//! variable without copying it (variables hold a [`Cow`]).
//!
//! Path rules: a segment selects a document field; on an array, a segment that is a decimal
//! number selects that element (0-based). Anything missing resolves to `None` (callers turn
//! it into `null`).

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use bson::{Bson, Document, doc};
use stratus_query::expr::ExternalResolver;

/// Where a reference starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Root {
    /// `$.request…`
    Request,
    /// `$.variables` (the whole object of set variables).
    AllVariables,
    /// `$.variables.<name>…` (slot).
    Var(usize),
    /// `$.tokenData…`
    TokenData,
    /// `$.secrets…`
    Secrets,
    /// `$.<node>…` (slot).
    Node(usize),
}

/// A compiled `$.` reference: root plus pre-split rest of the path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Ref {
    pub(crate) root: Root,
    pub(crate) rest: Vec<String>,
}

/// FNV-1a: names are short, and a run looks some of them up once per expression reference;
/// SipHash's flooding resistance is not needed for compile-time names.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NameHasher(u64);

impl Default for NameHasher {
    fn default() -> Self {
        NameHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A map keyed by variable or node name.
pub(crate) type NameMap = HashMap<String, usize, BuildHasherDefault<NameHasher>>;

/// Names of the variables and nodes of one compiled flow, and their slots.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    pub(crate) var_slots: NameMap,
    pub(crate) var_names: Vec<String>,
    pub(crate) node_slots: NameMap,
    /// Node slots some reference reads (`$.<node>…`); the outputs of the others are never
    /// stored (nothing could observe them).
    pub(crate) read_nodes: Vec<bool>,
}

impl Layout {
    /// The slot of variable `name`, allocating one if new.
    pub(crate) fn var_slot(&mut self, name: &str) -> usize {
        if let Some(&s) = self.var_slots.get(name) {
            return s;
        }
        let s = self.var_names.len();
        self.var_names.push(name.to_string());
        self.var_slots.insert(name.to_string(), s);
        s
    }

    /// The slot of node `name`, allocating one if new.
    pub(crate) fn node_slot(&mut self, name: &str) -> usize {
        let n = self.node_slots.len();
        *self.node_slots.entry(name.to_string()).or_insert(n)
    }

    /// Notes that a reference reads the outputs of node slot `slot`.
    pub(crate) fn mark_read(&mut self, slot: usize) {
        if self.read_nodes.len() <= slot {
            self.read_nodes.resize(slot + 1, false);
        }
        self.read_nodes[slot] = true;
    }

    /// Whether any reference reads the outputs of node slot `slot`.
    pub(crate) fn is_read(&self, slot: usize) -> bool {
        self.read_nodes.get(slot).copied().unwrap_or(false)
    }

    /// Number of variable slots.
    pub(crate) fn var_count(&self) -> usize {
        self.var_names.len()
    }

    /// Number of node slots.
    pub(crate) fn node_count(&self) -> usize {
        self.node_slots.len()
    }
}

/// The fields of `$.request` (kept apart so that no document is built for them per run).
#[derive(Debug, Clone, Default)]
pub(crate) struct RequestFields {
    pub(crate) body: Bson,
    pub(crate) query_params: Bson,
    pub(crate) path_params: Bson,
    pub(crate) headers: Bson,
    pub(crate) method: Bson,
    pub(crate) path: Bson,
}

impl RequestFields {
    /// Field `key` of `$.request`.
    fn field(&self, key: &str) -> Option<&Bson> {
        match key {
            "body" => Some(&self.body),
            "queryParams" => Some(&self.query_params),
            "pathParams" => Some(&self.path_params),
            "headers" => Some(&self.headers),
            "method" => Some(&self.method),
            "path" => Some(&self.path),
            _ => None,
        }
    }

    /// `$.request` as one document.
    fn to_document(&self) -> Document {
        doc! {
            "body": self.body.clone(),
            "queryParams": self.query_params.clone(),
            "pathParams": self.path_params.clone(),
            "headers": self.headers.clone(),
            "method": self.method.clone(),
            "path": self.path.clone(),
        }
    }
}

/// The read-only inputs of one flow (or sub-flow) execution.
#[derive(Debug, Clone, Default)]
pub(crate) struct Inputs {
    /// `$.request`; `None` in sub-flows, where `$.request` is an empty object.
    pub(crate) request: Option<RequestFields>,
    /// `$.tokenData` (`null` when unauthenticated).
    pub(crate) token: Bson,
    /// `$.secrets`.
    pub(crate) secrets: Bson,
}

impl Inputs {
    /// Walks `path` below `$.request` (the empty path is computed, see [`Inputs::request_doc`]).
    fn request_at(&self, path: &[String]) -> Option<&Bson> {
        let (first, rest) = path.split_first()?;
        walk(self.request.as_ref()?.field(first)?, rest)
    }

    /// `$.request` as one document.
    fn request_doc(&self) -> Document {
        self.request
            .as_ref()
            .map(RequestFields::to_document)
            .unwrap_or_default()
    }
}

/// The context of one flow (or sub-flow) execution; `'i` is the lifetime of its inputs and
/// layout.
#[derive(Debug, Clone)]
pub struct Frame<'i> {
    pub(crate) inputs: &'i Inputs,
    pub(crate) vars: Vec<Option<Cow<'i, Bson>>>,
    pub(crate) nodes: Vec<Option<Output>>,
    pub(crate) layout: &'i Layout,
}

impl<'i> Frame<'i> {
    /// A fresh frame for a flow with `layout`.
    pub(crate) fn new(layout: &'i Layout, inputs: &'i Inputs) -> Self {
        Frame {
            inputs,
            vars: vec![None; layout.var_count()],
            nodes: vec![None; layout.node_count()],
            layout,
        }
    }

    /// Resolves a compiled reference (`None` = missing).
    pub(crate) fn get(&self, r: &Ref) -> Option<Bson> {
        self.get_ref(r).cloned().or_else(|| self.computed(r))
    }

    /// The value of a reference that is not stored but computed (`$.variables`, `$.request`,
    /// a whole node output); `None` for every other reference.
    pub(crate) fn computed(&self, r: &Ref) -> Option<Bson> {
        match r.root {
            Root::AllVariables => walk(&self.all_variables(), &r.rest).cloned(),
            Root::Request if r.rest.is_empty() => Some(Bson::Document(self.inputs.request_doc())),
            Root::Node(s) if r.rest.is_empty() => self.output_doc(s).map(Bson::Document),
            _ => None,
        }
    }

    /// Borrows the value of a compiled reference when it is stored (not computed).
    pub(crate) fn get_ref(&self, r: &Ref) -> Option<&Bson> {
        let base = match r.root {
            Root::Request => return self.inputs.request_at(&r.rest),
            Root::TokenData => &self.inputs.token,
            Root::Secrets => &self.inputs.secrets,
            Root::Var(s) => self.vars.get(s)?.as_deref()?,
            Root::Node(s) => return self.nodes.get(s)?.as_ref()?.walk(&r.rest),
            Root::AllVariables => return None,
        };
        walk(base, &r.rest)
    }

    /// Borrows the value of a reference into the run's inputs (request, token, secrets) for
    /// as long as the inputs live; `None` for other roots or a missing value.
    pub(crate) fn input_ref(&self, r: &Ref) -> Option<&'i Bson> {
        let inputs: &'i Inputs = self.inputs;
        let base = match r.root {
            Root::Request => return inputs.request_at(&r.rest),
            Root::TokenData => &inputs.token,
            Root::Secrets => &inputs.secrets,
            Root::Var(_) | Root::Node(_) | Root::AllVariables => return None,
        };
        walk(base, &r.rest)
    }

    /// All set variables as one document (`$.variables`).
    pub(crate) fn all_variables(&self) -> Bson {
        let mut d = Document::new();
        for (name, v) in self.layout.var_names.iter().zip(&self.vars) {
            if let Some(v) = v {
                d.insert(name.clone(), v.clone().into_owned());
            }
        }
        Bson::Document(d)
    }

    /// Sets variable slot `slot`.
    pub(crate) fn set_var(&mut self, slot: usize, v: Bson) {
        if let Some(s) = self.vars.get_mut(slot) {
            *s = Some(Cow::Owned(v));
        }
    }

    /// Sets variable slot `slot` to a value of the run's inputs (no copy).
    pub(crate) fn set_var_ref(&mut self, slot: usize, v: &'i Bson) {
        if let Some(s) = self.vars.get_mut(slot) {
            *s = Some(Cow::Borrowed(v));
        }
    }

    /// The value of variable slot `slot`.
    pub(crate) fn var(&self, slot: usize) -> Option<&Bson> {
        self.vars.get(slot)?.as_deref()
    }

    /// Moves the value of variable slot `slot` out (the slot becomes unset).
    pub(crate) fn take_var(&mut self, slot: usize) -> Option<Bson> {
        self.vars.get_mut(slot)?.take().map(Cow::into_owned)
    }

    /// Whether a reference reads the outputs of node slot `slot` (when none does, they need
    /// not be stored).
    pub(crate) fn output_read(&self, slot: usize) -> bool {
        self.layout.is_read(slot)
    }

    /// Stores a node's `result` (if anything reads it) and its target variable, if any.
    pub(crate) fn store(&mut self, slot: usize, target: Option<usize>, v: Bson) {
        match (target, self.output_read(slot)) {
            (Some(t), true) => {
                self.set_var(t, v.clone());
                self.set_result(slot, v);
            }
            (Some(t), false) => self.set_var(t, v),
            (None, true) => self.set_result(slot, v),
            (None, false) => {}
        }
    }

    /// Sets the output document of node slot `slot`.
    pub(crate) fn set_output(&mut self, slot: usize, v: Document) {
        if let Some(s) = self.nodes.get_mut(slot) {
            *s = Some(Output::Doc(Bson::Document(v)));
        }
    }

    /// Sets the output of node slot `slot` to `{"result": v}` (without building a document).
    pub(crate) fn set_result(&mut self, slot: usize, v: Bson) {
        if let Some(s) = self.nodes.get_mut(slot) {
            *s = Some(Output::Result(v));
        }
    }

    /// Moves the value of a reference to a variable or node output out of the frame (leaving
    /// `null`), for a value the frame will never be asked for again; other references (and
    /// computed values) are cloned.
    pub(crate) fn take(&mut self, r: &Ref) -> Bson {
        let slot = match r.root {
            Root::Var(s) => self.vars.get_mut(s).and_then(|v| match v {
                Some(Cow::Owned(b)) => walk_mut(b, &r.rest),
                _ => None,
            }),
            Root::Node(s) => self.nodes.get_mut(s).and_then(|o| match o {
                Some(o) => o.walk_mut(&r.rest),
                None => None,
            }),
            _ => None,
        };
        match slot {
            Some(b) => std::mem::take(b),
            None => self.get(r).unwrap_or(Bson::Null),
        }
    }

    /// The output document of node slot `slot`, if set.
    pub(crate) fn output_doc(&self, slot: usize) -> Option<Document> {
        match self.nodes.get(slot)?.as_ref()? {
            Output::Doc(Bson::Document(d)) => Some(d.clone()),
            Output::Doc(_) => None,
            Output::Result(v) => {
                let mut d = Document::new();
                d.insert("result", v.clone());
                Some(d)
            }
        }
    }
}

/// A node's outputs: most nodes only have `result`, stored without a document around it.
#[derive(Debug, Clone)]
pub(crate) enum Output {
    /// `{"result": value}`.
    Result(Bson),
    /// Any output document.
    Doc(Bson),
}

impl Output {
    /// Walks `path` below the output document, mutably.
    fn walk_mut(&mut self, path: &[String]) -> Option<&mut Bson> {
        match self {
            Output::Doc(d) => walk_mut(d, path),
            Output::Result(v) => match path.split_first() {
                Some((first, rest)) if first == "result" => walk_mut(v, rest),
                _ => None,
            },
        }
    }

    /// Walks `path` below the output document.
    fn walk(&self, path: &[String]) -> Option<&Bson> {
        match self {
            Output::Doc(d) => walk(d, path),
            Output::Result(v) => match path.split_first() {
                Some((first, rest)) if first == "result" => walk(v, rest),
                Some(_) => None,
                // The whole output object is rarely read; `get` builds it (see Frame::get).
                None => None,
            },
        }
    }
}

/// Walks `path` below `base`.
pub(crate) fn walk<'a>(base: &'a Bson, path: &[String]) -> Option<&'a Bson> {
    let mut cur = base;
    for seg in path {
        cur = match cur {
            Bson::Document(d) => d.get(seg)?,
            Bson::Array(items) => items.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Walks `path` below `base`, mutably.
fn walk_mut<'a>(base: &'a mut Bson, path: &[String]) -> Option<&'a mut Bson> {
    let mut cur = base;
    for seg in path {
        cur = match cur {
            Bson::Document(d) => d.get_mut(seg)?,
            Bson::Array(items) => items.get_mut(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

impl ExternalResolver for Frame<'_> {
    fn resolve(&self, path: &[String]) -> Option<Bson> {
        let (first, rest) = path.split_first()?;
        match first.as_str() {
            "request" if rest.is_empty() => Some(Bson::Document(self.inputs.request_doc())),
            "request" => self.inputs.request_at(rest).cloned(),
            "tokenData" => walk(&self.inputs.token, rest).cloned(),
            "secrets" => walk(&self.inputs.secrets, rest).cloned(),
            "variables" | "variable" => match rest.split_first() {
                None => Some(self.all_variables()),
                Some((name, rest)) => {
                    let slot = *self.layout.var_slots.get(name)?;
                    walk(self.var(slot)?, rest).cloned()
                }
            },
            node => {
                let slot = *self.layout.node_slots.get(node)?;
                if rest.is_empty() {
                    return self.output_doc(slot).map(Bson::Document);
                }
                self.nodes.get(slot)?.as_ref()?.walk(rest).cloned()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walk_documents_and_arrays() {
        let v = Bson::Document(doc! {"a": {"b": [10, {"c": "x"}]}});
        let p = |s: &str| s.split('.').map(str::to_string).collect::<Vec<_>>();
        assert_eq!(walk(&v, &p("a.b.0")), Some(&Bson::Int32(10)));
        assert_eq!(walk(&v, &p("a.b.1.c")), Some(&Bson::String("x".into())));
        assert_eq!(walk(&v, &p("a.b.2")), None);
        assert_eq!(walk(&v, &p("a.b.x")), None);
        assert_eq!(walk(&v, &p("a.z")), None);
    }

    #[test]
    fn resolver_roots() {
        let mut layout = Layout::default();
        let x = layout.var_slot("x");
        let n = layout.node_slot("found");
        let inputs = Inputs {
            request: Some(RequestFields {
                body: Bson::Document(doc! {"price": 5}),
                method: Bson::String("GET".into()),
                ..Default::default()
            }),
            token: Bson::Document(doc! {"sub": "u1"}),
            secrets: Bson::Document(doc! {"s": {"k": "v"}}),
        };
        let mut f = Frame::new(&layout, &inputs);
        f.set_var(x, Bson::Int32(3));
        f.set_output(n, doc! {"result": [1, 2]});
        let r = |s: &str| f.resolve(&s.split('.').map(str::to_string).collect::<Vec<_>>());
        assert_eq!(r("request.body.price"), Some(Bson::Int32(5)));
        assert_eq!(r("variables.x"), Some(Bson::Int32(3)));
        assert_eq!(r("variable.x"), Some(Bson::Int32(3)));
        assert_eq!(r("variables"), Some(Bson::Document(doc! {"x": 3})));
        assert_eq!(r("tokenData.sub"), Some(Bson::String("u1".into())));
        assert_eq!(r("secrets.s.k"), Some(Bson::String("v".into())));
        assert_eq!(r("found.result.1"), Some(Bson::Int32(2)));
        assert_eq!(r("nope.result"), None);
        assert_eq!(r("request.nope"), None);
        assert_eq!(r("request.method"), Some(Bson::String("GET".into())));
        assert_eq!(
            r("request"),
            Some(Bson::Document(doc! {
                "body": {"price": 5}, "queryParams": null, "pathParams": null,
                "headers": null, "method": "GET", "path": null,
            }))
        );
        assert_eq!(r("variables.nope"), None);
    }
}
