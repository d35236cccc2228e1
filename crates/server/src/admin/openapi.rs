//! The OpenAPI 3.1 document of the admin API, generated from [`super::routes::ROUTES`] and
//! the component schemas below. `docs/admin-openapi.json` is this document; a test fails when
//! they differ.

use serde_json::{Map, Value, json};

use super::routes::{Access, ROUTES, Shape};

fn string() -> Value {
    json!({"type": "string"})
}

fn object(props: &[(&str, Value)], required: &[&str]) -> Value {
    let mut p = Map::new();
    for (k, v) in props {
        p.insert((*k).to_string(), v.clone());
    }
    json!({"type": "object", "properties": p, "required": required})
}

fn role() -> Value {
    json!({"type": "string", "enum": ["read-only", "developer", "admin"]})
}

fn components() -> Value {
    let time = json!({"type": "string", "format": "date-time"});
    let deployment = object(
        &[
            ("environment", string()),
            ("release", json!({"type": "integer"})),
            ("deployedAt", time.clone()),
            ("deployedBy", string()),
        ],
        &["environment", "release", "deployedAt", "deployedBy"],
    );
    json!({
        "Error": object(&[("code", string()), ("detail", json!({"oneOf": [
            {"type": "string"},
            {"type": "array", "items": object(&[
                ("loc", json!({"type": "array", "items": {"type": ["string", "integer"]}})),
                ("msg", string()), ("type", string())], &["loc", "msg", "type"])}]}))],
            &["code", "detail"]),
        "Page": object(&[("total", json!({"type": "integer"})), ("limit", json!({"type": "integer"})),
            ("offset", json!({"type": "integer"}))], &["total"]),
        "OpenApi": {"type": "object", "description": "This document."},
        "Login": object(&[("email", string()), ("password", string())], &["email", "password"]),
        "Refresh": object(&[("refreshToken", string())], &["refreshToken"]),
        "Tokens": object(&[("token", string()), ("refreshToken", string()),
            ("expiresIn", json!({"type": "integer", "description": "seconds"}))],
            &["token", "refreshToken", "expiresIn"]),
        "PasswordChange": object(&[("current", string()), ("new", string())], &["current", "new"]),
        "Account": object(&[("id", string()), ("email", string()),
            ("orgRoles", json!({"type": "object", "additionalProperties": {"type": "string"}}))],
            &["id", "email", "orgRoles"]),
        "NewUser": object(&[("email", string()), ("password", string()),
            ("orgRole", json!({"type": "string",
                "enum": ["member", "project-creator", "manager", "billing-admin", "owner"]}))],
            &["email", "password"]),
        "Org": object(&[("id", string()), ("slug", string()), ("name", string())], &["id", "slug", "name"]),
        "NewProject": object(&[("name", json!({"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,62}$"}))], &["name"]),
        "Project": object(&[("id", string()), ("name", string()), ("slug", string()), ("org", string()),
            ("environments", json!({"type": "array", "items": {"type": "string"}})),
            ("deployments", json!({"type": "array", "items": {"$ref": "#/components/schemas/Deployment"}}))],
            &["id", "name", "slug", "org", "environments", "deployments"]),
        "NewName": object(&[("name", json!({"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,62}$"}))], &["name"]),
        "Environment": object(&[("name", string()), ("database", string()),
            ("deployment", json!({"oneOf": [{"$ref": "#/components/schemas/Deployment"}, {"type": "null"}]}))],
            &["name", "database", "deployment"]),
        "Definition": {"type": "object", "description": "A whole project definition (CONTRACT §4)."},
        "Item": {"type": "object", "description": "A model, API or sub-flow of the definition, addressed by its name."},
        "Release": object(&[("number", json!({"type": "integer"})), ("createdAt", time.clone()),
            ("createdBy", string()), ("definition", json!({"$ref": "#/components/schemas/Definition"}))],
            &["number", "createdAt", "createdBy"]),
        "DeployRequest": {"oneOf": [
            object(&[("release", json!({"type": "integer"}))], &["release"]),
            {"$ref": "#/components/schemas/Definition"}]},
        "Deployment": deployment,
        "LogEntry": {"type": "object", "description": "One request-log entry."},
        "SecretValues": object(&[("values", json!({"type": "object", "additionalProperties": {"type": "string"}}))], &["values"]),
        "Secret": object(&[("name", string()), ("keys", json!({"type": "array", "items": {"type": "string"}})),
            ("updatedAt", time.clone())], &["name", "keys", "updatedAt"]),
        "MemberRole": object(&[("role", role())], &["role"]),
        "Member": object(&[("email", string()), ("role", role())], &["email", "role"]),
        "NewApiKey": object(&[("project", string()), ("role", role()), ("name", string())], &["project", "role", "name"]),
        "ApiKey": object(&[("id", string()), ("name", string()), ("project", string()), ("role", role()),
            ("createdAt", time.clone()), ("lastUsedAt", json!({"oneOf": [time, {"type": "null"}]}))],
            &["id", "name", "project", "role", "createdAt", "lastUsedAt"]),
        "CreatedApiKey": {"allOf": [{"$ref": "#/components/schemas/ApiKey"},
            object(&[("key", json!({"type": "string", "description": "shown once"}))], &["key"])]},
    })
}

fn schema_of(shape: Shape) -> Option<Value> {
    match shape {
        Shape::Empty => None,
        Shape::One(name) => Some(json!({"$ref": format!("#/components/schemas/{name}")})),
        Shape::List(name) => Some(object(
            &[
                (
                    "data",
                    json!({"type": "array", "items": {"$ref": format!("#/components/schemas/{name}")}}),
                ),
                ("page", json!({"$ref": "#/components/schemas/Page"})),
            ],
            &["data", "page"],
        )),
    }
}

/// The shared error responses (`components.responses`).
const ERROR_RESPONSES: &[(&str, &str)] = &[
    (
        "BadRequest",
        "invalid input (`validation_failed`, `invalid_json`)",
    ),
    (
        "Unauthenticated",
        "no or invalid token (`WWW-Authenticate: Bearer`)",
    ),
    ("Forbidden", "the caller's role is too weak"),
    ("NotFound", "not found, or not visible to the caller"),
    ("RateLimited", "too many login attempts"),
];

fn error_response(name: &str) -> Value {
    json!({"$ref": format!("#/components/responses/{name}")})
}

fn error_responses() -> Value {
    let mut m = Map::new();
    for (name, why) in ERROR_RESPONSES {
        m.insert(
            (*name).to_string(),
            json!({"description": why,
                   "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}),
        );
    }
    Value::Object(m)
}

/// The permission rule of a route, for people.
pub fn access_text(access: Access) -> String {
    match access {
        Access::Public => "public".to_string(),
        Access::Authenticated => "any valid token".to_string(),
        Access::Org(p) => format!("organisation permission `{}`", p.name()),
        Access::Project(p) => format!(
            "project permission `{}` ({} or above)",
            p.name(),
            p.min_project_role()
                .map(|r| match r {
                    stratus_auth::roles::ProjectRole::ReadOnly => "read-only",
                    stratus_auth::roles::ProjectRole::Developer => "developer",
                    stratus_auth::roles::ProjectRole::Admin => "admin",
                })
                .unwrap_or("-")
        ),
    }
}

/// The OpenAPI 3.1 document of `/admin/api/v1`.
pub fn openapi() -> Value {
    let mut paths = Map::new();
    for route in ROUTES {
        let mut op = Map::new();
        op.insert("summary".into(), route.summary.into());
        op.insert(
            "description".into(),
            format!("Access: {}.", access_text(route.access)).into(),
        );
        op.insert(
            "operationId".into(),
            format!(
                "{}{}",
                route.method.to_lowercase(),
                route
                    .path
                    .split(['/', '-', '.'])
                    .filter(|s| !s.is_empty())
                    .map(|s| {
                        let s = s.trim_matches(['{', '}']);
                        let mut c = s.chars();
                        c.next()
                            .map(|f| f.to_uppercase().chain(c).collect::<String>())
                            .unwrap_or_default()
                    })
                    .collect::<String>()
            )
            .into(),
        );
        let params: Vec<Value> = route
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut params = params;
        if route.path == "/api-keys" && route.method == "GET" {
            params.push(json!({"name": "project", "in": "query", "required": true, "schema": {"type": "string"}}));
        }
        if route.path.ends_with("/logs") {
            for (name, what) in [
                ("api", "the API's name"),
                ("status", "a status (404) or a class (4xx)"),
                ("q", "text searched in path and error"),
                ("requestId", "one request"),
                ("from", "ISO-8601 lower bound"),
                ("to", "ISO-8601 upper bound"),
            ] {
                params.push(json!({"name": name, "in": "query", "required": false,
                                   "description": what, "schema": {"type": "string"}}));
            }
        }
        if matches!(route.response, Shape::List(_)) {
            params.push(json!({"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 0, "maximum": crate::control::MAX_PAGE_LIMIT, "default": crate::control::DEFAULT_PAGE_LIMIT}}));
            params.push(json!({"name": "offset", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 0, "default": 0}}));
        }
        if !params.is_empty() {
            op.insert("parameters".into(), Value::Array(params));
        }
        if let Some(schema) = schema_of(route.request) {
            op.insert(
                "requestBody".into(),
                json!({"required": true, "content": {"application/json": {"schema": schema}}}),
            );
        }
        let mut responses = Map::new();
        let mut success = json!({"description": "success"});
        if let Some(schema) = schema_of(route.response) {
            success["content"] = json!({"application/json": {"schema": schema}});
        }
        responses.insert(route.status.to_string(), success);
        if route.request != Shape::Empty || route.path.contains('{') {
            responses.insert("400".into(), error_response("BadRequest"));
        }
        if route.access != Access::Public {
            responses.insert("401".into(), error_response("Unauthenticated"));
            responses.insert("403".into(), error_response("Forbidden"));
            responses.insert("404".into(), error_response("NotFound"));
        }
        if route.path == "/auth/login" {
            responses.insert("401".into(), error_response("Unauthenticated"));
            responses.insert("429".into(), error_response("RateLimited"));
        }
        op.insert("responses".into(), Value::Object(responses));
        if route.access == Access::Public {
            op.insert("security".into(), json!([]));
        }
        let entry = paths
            .entry(route.path.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(m) = entry {
            m.insert(route.method.to_lowercase(), Value::Object(op));
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Stratus admin API", "version": "1",
                 "description": "The control plane of Stratus (see docs/admin-api.md)."},
        "servers": [{"url": "/admin/api/v1"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                "description": "A login token, an API key (stk_…) or the local admin token."}},
            "schemas": components(),
            "responses": error_responses(),
        },
    })
}
