//! Project-level checks of flows that the flow compiler cannot make alone: database nodes
//! must name a model's collection, and `$.request.pathParams.<p>` /
//! `$.request.queryParams.<p>` / `$.request.body.<f>` references must name a parameter or
//! field the API declares.
//!
//! Both walks are structural: nested node sequences are found under `then`, `else`,
//! `steps`, `default`, `branches[].steps` and `cases[].steps`; references are found in every
//! string value and object key.

use std::collections::HashSet;

use serde_json::Value;

use super::error::DefError;

/// Node types that take a `collection`.
pub const DB_NODE_TYPES: &[&str] = &[
    "insertOne",
    "insertMany",
    "fetchById",
    "findOne",
    "findMany",
    "listRecords",
    "aggregate",
    "updateOne",
    "updateById",
    "updateMany",
    "deleteOne",
    "deleteMany",
];

/// Reports database nodes of the node sequence `flow` (at `path`) whose `collection` is not
/// in `collections`.
pub(crate) fn check_collections(
    flow: &Value,
    path: &str,
    collections: &HashSet<String>,
    errors: &mut Vec<DefError>,
) {
    let Value::Array(nodes) = flow else { return };
    for (i, node) in nodes.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let Value::Object(map) = node else { continue };
        if let Some(Value::String(t)) = map.get("type")
            && DB_NODE_TYPES.contains(&t.as_str())
            && let Some(Value::String(c)) = map.get("collection")
            && !collections.contains(c)
        {
            let mut known: Vec<&str> = collections.iter().map(String::as_str).collect();
            known.sort_unstable();
            errors.push(DefError::new(
                format!("{p}.collection"),
                "unknown_collection",
                format!(
                    "collection {c:?} is not the collection of any model (known: {})",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        }
        for key in ["then", "else", "steps", "default"] {
            if let Some(v) = map.get(key) {
                check_collections(v, &format!("{p}.{key}"), collections, errors);
            }
        }
        for key in ["branches", "cases"] {
            if let Some(Value::Array(items)) = map.get(key) {
                for (j, b) in items.iter().enumerate() {
                    if let Some(steps) = b.get("steps") {
                        check_collections(
                            steps,
                            &format!("{p}.{key}[{j}].steps"),
                            collections,
                            errors,
                        );
                    }
                }
            }
        }
    }
}

/// What an API declares, for reference checks (`None` = not declared, anything goes).
pub(crate) struct Declared<'a> {
    /// The endpoint's path parameters (always known).
    pub(crate) path_params: &'a [String],
    /// Declared query parameter names.
    pub(crate) query: Option<Vec<&'a str>>,
    /// Declared top-level body field names.
    pub(crate) body: Option<Vec<&'a str>>,
}

fn first_segment(rest: &str) -> &str {
    let end = rest.find(['.', '[']).unwrap_or(rest.len());
    &rest[..end]
}

fn check_ref(s: &str, path: &str, d: &Declared<'_>, errors: &mut Vec<DefError>) {
    if let Some(rest) = s.strip_prefix("$.request.pathParams.") {
        let p = first_segment(rest);
        if !d.path_params.iter().any(|x| x == p) {
            errors.push(DefError::new(
                path,
                "unknown_path_param",
                format!("{s} refers to path parameter {p:?}, which the endpoint does not declare (declared: {})",
                    if d.path_params.is_empty() { "none".to_string() } else { d.path_params.join(", ") }),
            ));
        }
    } else if let Some(rest) = s.strip_prefix("$.request.queryParams.") {
        let p = first_segment(rest);
        if let Some(q) = &d.query
            && !q.contains(&p)
        {
            errors.push(DefError::new(
                path,
                "unknown_query_param",
                format!("{s} refers to query parameter {p:?}, which queryParams does not declare"),
            ));
        }
    } else if let Some(rest) = s.strip_prefix("$.request.body.") {
        let p = first_segment(rest);
        if let Some(b) = &d.body
            && !b.contains(&p)
        {
            errors.push(DefError::new(
                path,
                "unknown_body_field",
                format!(
                    "{s} refers to body field {p:?}, which the body declaration does not declare"
                ),
            ));
        }
    }
}

/// Reports references under `v` (at `path`) to request parts the API does not declare.
pub(crate) fn check_request_refs(
    v: &Value,
    path: &str,
    d: &Declared<'_>,
    errors: &mut Vec<DefError>,
) {
    match v {
        Value::String(s) => check_ref(s, path, d, errors),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                check_request_refs(item, &format!("{path}[{i}]"), d, errors);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                let p = format!("{path}.{k}");
                check_ref(k, &p, d, errors);
                check_request_refs(item, &p, d, errors);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn nested_db_nodes_are_found() {
        let flow = json!([
            {"type": "ifElse", "condition": true,
             "then": [{"type": "findOne", "collection": "nope"}],
             "else": [{"type": "switchCase", "value": 1, "cases": [{"value": 1, "steps": [{"type": "deleteOne", "collection": "x", "filter": {}}]}]}]},
            {"type": "findMany", "collection": "ok"}]);
        let known: HashSet<String> = ["ok".to_string()].into();
        let mut errors = Vec::new();
        check_collections(&flow, "$.f", &known, &mut errors);
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "$.f[0].then[0].collection",
                "$.f[0].else[0].cases[0].steps[0].collection"
            ]
        );
    }

    #[test]
    fn request_refs() {
        let flow = json!([{"type": "findOne", "filter": {"a": "$.request.pathParams.idd", "$.request.queryParams.q.x": 1}}]);
        let params = ["id".to_string()];
        let d = Declared {
            path_params: &params,
            query: Some(vec!["p"]),
            body: None,
        };
        let mut errors = Vec::new();
        check_request_refs(&flow, "$.f", &d, &mut errors);
        let got: Vec<(&str, &str)> = errors.iter().map(|e| (e.path.as_str(), e.code)).collect();
        assert_eq!(
            got,
            [
                ("$.f[0].filter.a", "unknown_path_param"),
                (
                    "$.f[0].filter.$.request.queryParams.q.x",
                    "unknown_query_param"
                )
            ]
        );
    }
}
