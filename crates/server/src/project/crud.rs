//! The CRUD template: `{"template": "crud", "model": M, "endpoint": "/e"}` expands, at
//! compile time, into six ordinary APIs with ordinary flows (CONTRACT §4) that appear in the
//! compiled definition, where users can read and edit them:
//!
//! | API | call | flow | response |
//! |---|---|---|---|
//! | `<p>_create` | `POST /e` (body = model) | `insertOne` | 201 `{"id"}` |
//! | `<p>_get` | `GET /e/{id}` | `fetchById` | 200 document · 404 |
//! | `<p>_list` | `GET /e?limit&offset&count` | `listRecords` | 200 `{"data", "page"}` |
//! | `<p>_replace` | `PUT /e/{id}` (body = model) | `updateById` (replacement) | 200 `{"id"}` · 404 |
//! | `<p>_update` | `PATCH /e/{id}` (partial body) | `updateById` (`$set`) | 200 `{"id"}` · 404 |
//! | `<p>_delete` | `DELETE /e/{id}` | `fetchById` + `deleteOne` | 200 `{"id"}` · 404 |
//!
//! `<p>` is the template's `name` (default: the model name). An id that is not a stored
//! document's id — including one that is not 24-hex — answers 404 `not_found`.

use serde_json::{Map, Value, json};

use super::error::DefError;

/// Default page size of the generated list API.
pub const CRUD_DEFAULT_LIMIT: i64 = 20;
/// Largest page size of the generated list API.
pub const CRUD_MAX_LIMIT: i64 = 100;

/// Members a CRUD template entry accepts.
const TEMPLATE_KEYS: &[&str] = &[
    "template",
    "model",
    "endpoint",
    "name",
    "auth",
    "description",
];

fn not_found(model: &str) -> Value {
    json!({"type": "httpResponse", "status": 404,
           "body": {"code": "not_found", "detail": format!("no {model} with this id")}})
}

fn id_response() -> Value {
    json!({"type": "httpResponse", "status": 200, "body": {"id": "$.request.pathParams.id"}})
}

/// The six generated API objects for model `model` stored in `collection`.
pub(crate) fn generate(
    prefix: &str,
    model: &str,
    collection: &str,
    endpoint: &str,
    auth: Option<&Value>,
) -> Vec<Value> {
    let base = endpoint.trim_end_matches('/');
    let item = format!("{base}/{{id}}");
    let list_endpoint = if base.is_empty() {
        "/".to_string()
    } else {
        base.to_string()
    };
    let mut apis = vec![
        json!({
            "name": format!("{prefix}_create"), "method": "POST", "endpoint": list_endpoint,
            "description": format!("Creates a {model}."),
            "body": {"model": model},
            "flow": [
                {"type": "insertOne", "name": "inserted", "collection": collection, "document": "$.request.body"},
                {"type": "httpResponse", "status": 201, "body": {"id": "$.inserted.result"}}
            ]
        }),
        json!({
            "name": format!("{prefix}_get"), "method": "GET", "endpoint": item,
            "description": format!("Returns one {model} by id."),
            "flow": [
                {"type": "fetchById", "name": "found", "collection": collection, "id": "$.request.pathParams.id"},
                {"type": "ifElse", "name": "missing", "condition": {"$.found.result": {"$eq": null}},
                 "then": [not_found(model)],
                 "else": [{"type": "httpResponse", "status": 200, "body": "$.found.result"}]}
            ]
        }),
        json!({
            "name": format!("{prefix}_list"), "method": "GET", "endpoint": list_endpoint,
            "description": format!("Lists {model} documents, a page at a time."),
            "queryParams": {
                "limit": {"type": "int", "min": 1, "max": CRUD_MAX_LIMIT, "default": CRUD_DEFAULT_LIMIT},
                "offset": {"type": "int", "min": 0, "default": 0},
                "count": {"type": "boolean", "default": true}
            },
            "flow": [
                {"type": "listRecords", "name": "listed", "collection": collection, "sort": {"_id": 1},
                 "limit": "$.request.queryParams.limit", "offset": "$.request.queryParams.offset",
                 "count": "$.request.queryParams.count"},
                {"type": "httpResponse", "status": 200, "body": "$.listed.result"}
            ]
        }),
        json!({
            "name": format!("{prefix}_replace"), "method": "PUT", "endpoint": item,
            "description": format!("Replaces a whole {model}."),
            "body": {"model": model},
            "flow": [
                {"type": "updateById", "name": "replaced", "collection": collection,
                 "id": "$.request.pathParams.id", "update": "$.request.body"},
                {"type": "ifElse", "name": "missing", "condition": {"$.replaced.result.matched": {"$eq": 0}},
                 "then": [not_found(model)], "else": [id_response()]}
            ]
        }),
        json!({
            "name": format!("{prefix}_update"), "method": "PATCH", "endpoint": item,
            "description": format!("Updates some fields of a {model}."),
            "body": {"model": model}, "partial": true,
            "flow": [
                {"type": "updateById", "name": "updated", "collection": collection,
                 "id": "$.request.pathParams.id", "update": {"$set": "$.request.body"}},
                {"type": "ifElse", "name": "missing", "condition": {"$.updated.result.matched": {"$eq": 0}},
                 "then": [not_found(model)], "else": [id_response()]}
            ]
        }),
        json!({
            "name": format!("{prefix}_delete"), "method": "DELETE", "endpoint": item,
            "description": format!("Deletes a {model}."),
            "flow": [
                {"type": "fetchById", "name": "found", "collection": collection, "id": "$.request.pathParams.id"},
                {"type": "ifElse", "name": "missing", "condition": {"$.found.result": {"$eq": null}},
                 "then": [not_found(model)], "else": []},
                {"type": "deleteOne", "name": "deleted", "collection": collection, "filter": {"_id": "$.found.result._id"}},
                {"type": "ifElse", "name": "gone", "condition": {"$.deleted.result.deleted": {"$eq": 0}},
                 "then": [not_found(model)], "else": [id_response()]}
            ]
        }),
    ];
    if let Some(a) = auth {
        for api in &mut apis {
            if let Value::Object(m) = api {
                m.insert("auth".into(), a.clone());
            }
        }
    }
    apis
}

/// Expands the template entry `map` found at `path`; `collection_of` maps a model name to
/// its collection. `None` (with errors recorded) when the entry is unusable.
pub(crate) fn expand(
    map: &Map<String, Value>,
    path: &str,
    collection_of: &dyn Fn(&str) -> Option<String>,
    errors: &mut Vec<DefError>,
) -> Option<Vec<Value>> {
    match map.get("template") {
        Some(Value::String(t)) if t == "crud" => {}
        Some(Value::String(t)) => {
            errors.push(DefError::new(
                format!("{path}.template"),
                "unknown_template",
                format!("unknown template {t:?} (expected \"crud\")"),
            ));
            return None;
        }
        _ => {
            errors.push(DefError::new(
                format!("{path}.template"),
                "invalid_type",
                "must be a string",
            ));
            return None;
        }
    }
    let before = errors.len();
    for k in map.keys() {
        if !TEMPLATE_KEYS.contains(&k.as_str()) {
            errors.push(DefError::new(
                format!("{path}.{k}"),
                "unknown_field",
                format!(
                    "unknown member {k:?} of a crud template (expected {})",
                    TEMPLATE_KEYS.join(", ")
                ),
            ));
        }
    }
    let model = match map.get("model") {
        Some(Value::String(m)) => match collection_of(m) {
            Some(c) => Some((m.clone(), c)),
            None => {
                errors.push(DefError::new(
                    format!("{path}.model"),
                    "unknown_model",
                    format!("unknown model {m:?}"),
                ));
                None
            }
        },
        _ => {
            errors.push(DefError::new(
                path,
                "missing_field",
                "a crud template needs `model` (a model name)",
            ));
            None
        }
    };
    let endpoint = match map.get("endpoint") {
        Some(Value::String(e)) => match super::api::parse_endpoint(e) {
            Ok(params) if params.iter().any(|p| p == "id") => {
                errors.push(DefError::new(
                    format!("{path}.endpoint"),
                    "invalid_endpoint",
                    "a crud endpoint must not declare {id}: the template adds it",
                ));
                None
            }
            Ok(_) => Some(e.clone()),
            Err(why) => {
                errors.push(DefError::new(
                    format!("{path}.endpoint"),
                    "invalid_endpoint",
                    why,
                ));
                None
            }
        },
        _ => {
            errors.push(DefError::new(
                path,
                "missing_field",
                "a crud template needs `endpoint` such as \"/products\"",
            ));
            None
        }
    };
    let prefix = match map.get("name") {
        None => model.as_ref().map(|(m, _)| m.clone()),
        Some(Value::String(n)) if super::api::valid_api_name(n) => Some(n.clone()),
        Some(_) => {
            errors.push(DefError::new(
                format!("{path}.name"),
                "invalid_name",
                "the name prefix must match ^[A-Za-z_][A-Za-z0-9_-]*$",
            ));
            None
        }
    };
    if errors.len() > before {
        return None;
    }
    let (model, collection) = model?;
    Some(generate(
        &prefix?,
        &model,
        &collection,
        &endpoint?,
        map.get("auth"),
    ))
}
