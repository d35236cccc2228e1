//! The run-time flow context: request data, token claims, secrets, variables and node outputs,
//! and the `$.` references into it.
//!
//! Variables and node outputs live in slots (a `Vec` indexed by numbers fixed at compile time,
//! see [`Layout`]); references compiled by this crate ([`Ref`]) index the slots directly, while
//! references inside shared expressions go through [`Frame`]'s [`ExternalResolver`] impl,
//! which maps names to slots with one hash lookup.
//!
//! Path rules: a segment selects a document field; on an array, a segment that is a decimal
//! number selects that element (0-based). Anything missing resolves to `None` (callers turn
//! it into `null`).

use std::collections::HashMap;
use std::sync::Arc;

use bson::{Bson, Document};
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

/// Names of the variables and nodes of one compiled flow, and their slots.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    pub(crate) var_slots: HashMap<String, usize>,
    pub(crate) var_names: Vec<String>,
    pub(crate) node_slots: HashMap<String, usize>,
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

    /// Number of variable slots.
    pub(crate) fn var_count(&self) -> usize {
        self.var_names.len()
    }

    /// Number of node slots.
    pub(crate) fn node_count(&self) -> usize {
        self.node_slots.len()
    }
}

/// The context of one flow (or sub-flow) execution.
#[derive(Debug, Clone)]
pub struct Frame {
    pub(crate) request: Bson,
    pub(crate) token: Bson,
    pub(crate) secrets: Bson,
    pub(crate) vars: Vec<Option<Bson>>,
    pub(crate) nodes: Vec<Option<Output>>,
    pub(crate) layout: Arc<Layout>,
}

impl Frame {
    /// A fresh frame for a flow with `layout`.
    pub(crate) fn new(layout: Arc<Layout>, request: Bson, token: Bson, secrets: Bson) -> Self {
        Frame {
            request,
            token,
            secrets,
            vars: vec![None; layout.var_count()],
            nodes: vec![None; layout.node_count()],
            layout,
        }
    }

    /// Resolves a compiled reference (`None` = missing).
    pub(crate) fn get(&self, r: &Ref) -> Option<Bson> {
        self.get_ref(r).cloned().or_else(|| match r.root {
            Root::AllVariables => walk(&self.all_variables(), &r.rest).cloned(),
            Root::Node(s) if r.rest.is_empty() => self.output_doc(s).map(Bson::Document),
            _ => None,
        })
    }

    /// Borrows the value of a compiled reference when it is stored (not computed).
    pub(crate) fn get_ref(&self, r: &Ref) -> Option<&Bson> {
        let base = match r.root {
            Root::Request => &self.request,
            Root::TokenData => &self.token,
            Root::Secrets => &self.secrets,
            Root::Var(s) => self.vars.get(s)?.as_ref()?,
            Root::Node(s) => return self.nodes.get(s)?.as_ref()?.walk(&r.rest),
            Root::AllVariables => return None,
        };
        walk(base, &r.rest)
    }

    /// All set variables as one document (`$.variables`).
    pub(crate) fn all_variables(&self) -> Bson {
        let mut d = Document::new();
        for (name, v) in self.layout.var_names.iter().zip(&self.vars) {
            if let Some(v) = v {
                d.insert(name.clone(), v.clone());
            }
        }
        Bson::Document(d)
    }

    /// Sets variable slot `slot`.
    pub(crate) fn set_var(&mut self, slot: usize, v: Bson) {
        if let Some(s) = self.vars.get_mut(slot) {
            *s = Some(v);
        }
    }

    /// The value of variable slot `slot`.
    pub(crate) fn var(&self, slot: usize) -> Option<&Bson> {
        self.vars.get(slot).and_then(Option::as_ref)
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

impl ExternalResolver for Frame {
    fn resolve(&self, path: &[String]) -> Option<Bson> {
        let (first, rest) = path.split_first()?;
        match first.as_str() {
            "request" => walk(&self.request, rest).cloned(),
            "tokenData" => walk(&self.token, rest).cloned(),
            "secrets" => walk(&self.secrets, rest).cloned(),
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
    use bson::doc;

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
        let mut f = Frame::new(
            Arc::new(layout),
            Bson::Document(doc! {"body": {"price": 5}}),
            Bson::Document(doc! {"sub": "u1"}),
            Bson::Document(doc! {"s": {"k": "v"}}),
        );
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
        assert_eq!(r("variables.nope"), None);
    }
}
