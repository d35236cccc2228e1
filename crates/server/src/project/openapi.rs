//! OpenAPI 3.1 description of a project's user APIs: every API under its full path
//! (`base_path` + endpoint) with its path and query parameters, request-body schema and
//! bearer security; models as `components/schemas`.

use serde_json::{Map, Value, json};

use super::api::{ApiAuth, BodySpec, CompiledApi};
use super::compile::CompiledProject;
use super::schema::{Field, ObjectSchema, Ty};

fn num(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        Value::from(n as i64)
    } else {
        Value::from(n)
    }
}

/// The JSON Schema of one field.
pub(crate) fn field_schema(f: &Field) -> Value {
    let mut s = Map::new();
    match &f.ty {
        Ty::String {
            min_len,
            max_len,
            pattern,
        } => {
            s.insert("type".into(), "string".into());
            if let Some(n) = min_len {
                s.insert("minLength".into(), (*n).into());
            }
            if let Some(n) = max_len {
                s.insert("maxLength".into(), (*n).into());
            }
            if let Some(p) = pattern {
                s.insert("pattern".into(), p.source.clone().into());
            }
        }
        Ty::Int { min, max } | Ty::Number { min, max } => {
            let t = if matches!(f.ty, Ty::Int { .. }) {
                "integer"
            } else {
                "number"
            };
            s.insert("type".into(), t.into());
            if let Some(n) = min {
                s.insert("minimum".into(), num(*n));
            }
            if let Some(n) = max {
                s.insert("maximum".into(), num(*n));
            }
        }
        Ty::Boolean => {
            s.insert("type".into(), "boolean".into());
        }
        Ty::Datetime => {
            s.insert("type".into(), "string".into());
            s.insert("format".into(), "date-time".into());
        }
        Ty::ObjectId => {
            s.insert("type".into(), "string".into());
            s.insert("pattern".into(), "^[0-9a-fA-F]{24}$".into());
        }
        Ty::Object(None) => {
            s.insert("type".into(), "object".into());
        }
        Ty::Object(Some(o)) => return with_meta(object_schema(o, false), f),
        Ty::Array {
            items,
            min_len,
            max_len,
        } => {
            s.insert("type".into(), "array".into());
            s.insert("items".into(), field_schema(items));
            if let Some(n) = min_len {
                s.insert("minItems".into(), (*n).into());
            }
            if let Some(n) = max_len {
                s.insert("maxItems".into(), (*n).into());
            }
        }
        Ty::Enum(values) => {
            s.insert("enum".into(), Value::Array(values.clone()));
        }
        Ty::Any => {}
    }
    with_meta(Value::Object(s), f)
}

fn with_meta(mut v: Value, f: &Field) -> Value {
    if let Value::Object(m) = &mut v {
        if let Some(d) = &f.default_json {
            m.insert("default".into(), d.clone());
        }
        if let Some(d) = &f.description {
            m.insert("description".into(), d.clone().into());
        }
    }
    v
}

/// The JSON Schema of an object (strict); `partial` drops `required`.
pub(crate) fn object_schema(o: &ObjectSchema, partial: bool) -> Value {
    let mut props = Map::new();
    let mut required = Vec::new();
    for (name, f) in &o.fields {
        props.insert(name.clone(), field_schema(f));
        if f.required && f.default.is_none() && !partial {
            required.push(Value::from(name.clone()));
        }
    }
    let mut s = json!({"type": "object", "properties": props, "additionalProperties": false});
    if !required.is_empty() {
        s["required"] = Value::Array(required);
    }
    s
}

fn operation(api: &CompiledApi) -> Value {
    let mut params = Vec::new();
    for p in &api.path_params {
        params
            .push(json!({"name": p, "in": "path", "required": true, "schema": {"type": "string"}}));
    }
    for (name, f) in api.query.iter().flatten() {
        params.push(json!({"name": name, "in": "query", "required": f.required && f.default.is_none(), "schema": field_schema(f)}));
    }
    let mut op = json!({"operationId": api.name, "parameters": params});
    if let Some(d) = &api.description {
        op["summary"] = d.clone().into();
    }
    let body_schema = match &api.body {
        BodySpec::Undeclared => None,
        BodySpec::Model(m) if !api.partial => {
            Some(json!({"$ref": format!("#/components/schemas/{}", m.name)}))
        }
        BodySpec::Model(m) => Some(object_schema(&m.schema, true)),
        BodySpec::Fields(s) => Some(object_schema(s, api.partial)),
    };
    if let Some(s) = body_schema {
        op["requestBody"] =
            json!({"required": true, "content": {"application/json": {"schema": s}}});
    }
    let mut responses = json!({"default": {"description": "The response of the API's flow"}});
    if api.has_body() || api.query.is_some() || !api.path_params.is_empty() {
        responses["400"] = json!({"description": "Invalid request", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ValidationError"}}}});
    }
    if api.auth != ApiAuth::None {
        op["security"] = json!([{"bearerAuth": []}]);
        responses["401"] = json!({"description": "Missing or invalid bearer token", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    }
    op["responses"] = responses;
    op
}

/// The OpenAPI 3.1 document of `project`'s APIs served under `base_path` (e.g.
/// `/shop/development/api`).
pub fn openapi(project: &CompiledProject, base_path: &str) -> Value {
    let base = base_path.trim_end_matches('/');
    let mut paths = Map::new();
    for api in &project.apis {
        let full = if api.endpoint == "/" {
            format!("{base}/")
        } else {
            format!("{base}{}", api.endpoint)
        };
        let entry = paths.entry(full).or_insert_with(|| json!({}));
        entry[api.method.to_ascii_lowercase()] = operation(api);
    }
    let mut schemas = Map::new();
    for m in &project.models {
        let mut s = object_schema(&m.schema, false);
        if let Some(d) = &m.description {
            s["description"] = d.clone().into();
        }
        schemas.insert(m.name.clone(), s);
    }
    schemas.insert(
        "Error".into(),
        json!({"type": "object", "required": ["code", "detail"],
        "properties": {"code": {"type": "string"}, "detail": {}}}),
    );
    schemas.insert("ValidationError".into(), json!({"type": "object", "required": ["code", "detail"],
        "properties": {"code": {"const": "validation_failed"}, "detail": {"type": "array", "items": {
            "type": "object", "required": ["loc", "msg", "type"],
            "properties": {"loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                           "msg": {"type": "string"},
                           "type": {"enum": ["type_error", "value_error", "missing", "extra_forbidden"]}}}}}}));
    json!({
        "openapi": "3.1.0",
        "info": {"title": project.name, "version": "1"},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
        }
    })
}
