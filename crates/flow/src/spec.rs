//! Serde types of the flow spec, version 1 (CONTRACT §5).
//!
//! A flow is a JSON array of nodes; a node is an object with `type`, an optional unique `name`
//! (defaults to `node_N`, N = the node's 1-based position in a pre-order walk of the whole
//! flow) and its type's fields. Branching and loop nodes hold nested arrays of nodes.
//!
//! These types are deliberately loose (fields stay JSON): the validator
//! ([`crate::validate`]) checks every field with its JSON path and the compiler
//! ([`crate::compile`]) turns a valid flow into its executable form.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The flow spec format version this crate reads and writes.
pub const SPEC_VERSION: u32 = 1;

/// Node names reserved for the built-in roots of the `$.` path namespace.
pub const RESERVED_NAMES: &[&str] = &["request", "variables", "variable", "tokenData", "secrets"];

/// One node of a flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeSpec {
    /// The node type (`httpResponse`, `ifElse`, …).
    #[serde(rename = "type")]
    pub kind: String,
    /// The node's name (`$.<name>.<output>`); `None` = the default `node_N`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The type's fields, unchecked.
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

/// A flow: its nodes in order.
pub type FlowSpec = Vec<NodeSpec>;

/// Declared type of a sub-flow argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum ArgType {
    /// A string.
    String,
    /// A 32- or 64-bit integer (a double with an integral value is accepted and converted).
    Int,
    /// Any number.
    Number,
    /// `true` / `false`.
    Boolean,
    /// A date (BSON date, or an ISO-8601 string which is converted).
    Datetime,
    /// An ObjectId (or a 24-hex string, which is converted).
    ObjectId,
    /// An object.
    Object,
    /// An array.
    Array,
    /// Anything.
    #[default]
    Any,
}

/// One declared argument of a sub-flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArgumentSpec {
    /// The argument key (case-sensitive); inside the sub-flow it is `$.variables.<name>`.
    #[serde(alias = "key")]
    pub name: String,
    /// Expected type.
    #[serde(rename = "type", default)]
    pub ty: ArgType,
    /// Whether callers must pass it.
    #[serde(default)]
    pub required: bool,
    /// Value used when the caller omits it (`null` when absent and not required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
}

/// A reusable sub-flow: a name, its arguments and its nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubflowSpec {
    /// Name used by `executeSubflow.subflow`.
    pub name: String,
    /// Declared arguments.
    #[serde(default)]
    pub arguments: Vec<ArgumentSpec>,
    /// The sub-flow's nodes (a flow spec).
    pub flow: Value,
}

/// Where the validator finds the sub-flows an `executeSubflow` node may call.
pub trait SubflowLookup {
    /// The sub-flow called `name`, if it exists.
    fn subflow(&self, name: &str) -> Option<&SubflowSpec>;
}

/// No sub-flows at all.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSubflows;

impl SubflowLookup for NoSubflows {
    fn subflow(&self, _name: &str) -> Option<&SubflowSpec> {
        None
    }
}

impl SubflowLookup for std::collections::HashMap<String, SubflowSpec> {
    fn subflow(&self, name: &str) -> Option<&SubflowSpec> {
        self.get(name)
    }
}

impl SubflowLookup for [SubflowSpec] {
    fn subflow(&self, name: &str) -> Option<&SubflowSpec> {
        self.iter().find(|s| s.name == name)
    }
}

impl SubflowLookup for &[SubflowSpec] {
    fn subflow(&self, name: &str) -> Option<&SubflowSpec> {
        self.iter().find(|s| s.name == name)
    }
}

impl SubflowLookup for Vec<SubflowSpec> {
    fn subflow(&self, name: &str) -> Option<&SubflowSpec> {
        self.as_slice().subflow(name)
    }
}

/// Whether `name` is a valid node or variable name (`^[A-Za-z_][A-Za-z0-9_]*$`).
pub fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["a", "_", "node_1", "listRecords", "A9_"] {
            assert!(is_valid_name(ok), "{ok}");
        }
        for bad in ["", "1a", "a-b", "a.b", "a b", "é"] {
            assert!(!is_valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn node_spec_round_trip() {
        let v =
            serde_json::json!({"type": "setVariable", "name": "s", "variable": "x", "value": 1});
        let n: NodeSpec = serde_json::from_value(v.clone()).expect("parses");
        assert_eq!(n.kind, "setVariable");
        assert_eq!(n.name.as_deref(), Some("s"));
        assert_eq!(n.fields.get("variable"), Some(&serde_json::json!("x")));
        assert_eq!(serde_json::to_value(&n).expect("serializes"), v);
    }

    #[test]
    fn subflow_spec_parses() {
        let v = serde_json::json!({"name": "f", "arguments": [{"key": "a", "type": "int", "required": true}], "flow": []});
        let s: SubflowSpec = serde_json::from_value(v).expect("parses");
        assert_eq!(s.arguments[0].name, "a");
        assert_eq!(s.arguments[0].ty, ArgType::Int);
    }
}
