//! Errors of project definitions: [`DefError`] (a problem in the definition, with its file
//! and JSON path), [`FieldError`] (a problem in a request's path, query or body, in the
//! `{"loc", "msg", "type"}` shape of CONTRACT §3) and the [`SourceMap`] that names the file
//! a definition path came from.
//!
//! Invariant: messages name the offending field or value, never a secret (provider secrets
//! are references, and request values are not echoed).

use std::fmt;

use serde::Serialize;

/// One problem in a project definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DefError {
    /// The file the offending input comes from (`None` for an in-memory definition).
    pub file: Option<String>,
    /// JSON path of the offending input, e.g. `$.apis[1].flow[0].filter`.
    pub path: String,
    /// Stable snake_case machine code (see `docs/project-definition.md`).
    pub code: &'static str,
    /// What is wrong, naming the field.
    pub message: String,
}

impl DefError {
    /// An error at `path` without a file (the file is filled in from a [`SourceMap`]).
    pub fn new(path: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        DefError {
            file: None,
            path: path.into(),
            code,
            message: message.into(),
        }
    }

    /// An error about a whole file.
    pub fn in_file(
        file: impl Into<String>,
        path: impl Into<String>,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        DefError {
            file: Some(file.into()),
            path: path.into(),
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for DefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(file) => write!(f, "{file}: {}: {}", self.path, self.message),
            None => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

impl std::error::Error for DefError {}

/// One problem in a request's path, query parameters or body (CONTRACT §3).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldError {
    /// Where: `["body", "items", 0, "qty"]`, `["params", "limit"]`, `["path", "id"]`.
    pub loc: Vec<serde_json::Value>,
    /// What is wrong.
    pub msg: String,
    /// `type_error`, `value_error`, `missing` or `extra_forbidden`.
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// `FieldError::kind` of a value of the wrong type.
pub const TYPE_ERROR: &str = "type_error";
/// `FieldError::kind` of a value of the right type that breaks a constraint.
pub const VALUE_ERROR: &str = "value_error";
/// `FieldError::kind` of a required value that is absent.
pub const MISSING: &str = "missing";
/// `FieldError::kind` of a field the schema does not declare.
pub const EXTRA_FORBIDDEN: &str = "extra_forbidden";

impl FieldError {
    /// An error at `loc`.
    pub fn new(loc: Vec<serde_json::Value>, kind: &'static str, msg: impl Into<String>) -> Self {
        FieldError {
            loc,
            msg: msg.into(),
            kind,
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let loc: Vec<String> = self
            .loc
            .iter()
            .map(|v| match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect();
        write!(f, "{}: {} ({})", loc.join("."), self.msg, self.kind)
    }
}

impl From<FieldError> for crate::http::FieldProblem {
    fn from(e: FieldError) -> Self {
        crate::http::FieldProblem {
            loc: e.loc,
            msg: e.msg,
            kind: e.kind.to_string(),
        }
    }
}

/// Which file each part of a merged definition came from: JSON-path prefixes (`$.apis[3]`)
/// mapped to file names, with a default file for everything else.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceMap {
    default: Option<String>,
    entries: Vec<(String, String)>,
}

impl SourceMap {
    /// A map where every path comes from `file`.
    pub fn single(file: impl Into<String>) -> Self {
        SourceMap {
            default: Some(file.into()),
            entries: Vec::new(),
        }
    }

    /// Records that the value at `prefix` (e.g. `$.models[2]`) came from `file`.
    pub fn insert(&mut self, prefix: impl Into<String>, file: impl Into<String>) {
        self.entries.push((prefix.into(), file.into()));
    }

    /// The file the value at `path` came from (the longest matching prefix, else the
    /// default file).
    pub fn file_for(&self, path: &str) -> Option<&str> {
        self.entries
            .iter()
            .filter(|(p, _)| {
                path.strip_prefix(p.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
            })
            .max_by_key(|(p, _)| p.len())
            .map(|(_, f)| f.as_str())
            .or(self.default.as_deref())
    }

    /// Fills in the `file` of every error that has none.
    pub fn attach(&self, errors: &mut [DefError]) {
        for e in errors {
            if e.file.is_none() {
                e.file = self.file_for(&e.path).map(str::to_string);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_map_longest_prefix_on_a_boundary() {
        let mut m = SourceMap::single("project.yaml");
        m.insert("$.apis[3]", "apis/orders.json");
        m.insert("$.apis[30]", "apis/big.yaml");
        assert_eq!(m.file_for("$.apis[3].flow[0]"), Some("apis/orders.json"));
        assert_eq!(m.file_for("$.apis[3]"), Some("apis/orders.json"));
        assert_eq!(m.file_for("$.apis[30].name"), Some("apis/big.yaml"));
        assert_eq!(m.file_for("$.apis[31]"), Some("project.yaml"));
        assert_eq!(m.file_for("$.name"), Some("project.yaml"));
        assert_eq!(SourceMap::default().file_for("$"), None);
    }

    #[test]
    fn display_and_serialize() {
        let e = DefError::in_file("a.json", "$.name", "invalid_name", "bad");
        assert_eq!(e.to_string(), "a.json: $.name: bad");
        let f = FieldError::new(
            vec!["body".into(), "age".into()],
            TYPE_ERROR,
            "expected an integer",
        );
        let problem = crate::http::FieldProblem::from(f.clone());
        assert_eq!(
            serde_json::to_value(&problem).expect("json"),
            serde_json::to_value(&f).expect("json")
        );
        assert_eq!(
            serde_json::to_value(&f).expect("json"),
            serde_json::json!({"loc": ["body", "age"], "msg": "expected an integer", "type": "type_error"})
        );
    }
}
