//! User APIs: method, endpoint (with `{param}` segments), declared query parameters and
//! request body, authentication and the compiled flow; and the request-time checks the
//! runtime calls before running the flow ([`CompiledApi::coerce_path`],
//! [`CompiledApi::coerce_query`], [`CompiledApi::validate_body`]).
//!
//! Invariants: `endpoint` is in matchit 0.8 syntax (`/products/{id}`) and `path_params` lists
//! its parameters in order; every schema is compiled once (no per-request regex compile or
//! JSON interpretation of the declaration).

use std::sync::Arc;

use bson::{Bson, Document};
use serde_json::Value;
use stratus_flow::CompiledFlow;
use stratus_flow::output::from_json;

use super::error::{DefError, FieldError, MISSING, TYPE_ERROR};
use super::limits::DefinitionLimits;
use super::model::{CompiledModel, validate_body_object};
use super::schema::{self, Field, Nest, ObjectSchema};

/// Longest endpoint, in bytes.
pub const MAX_ENDPOINT_BYTES: usize = 512;
/// Most APIs one project may declare (after template expansion).
pub const MAX_APIS: usize = 2000;
/// Most query parameters one API may declare.
pub const MAX_QUERY_PARAMS: usize = 64;
/// Longest API name, in bytes.
pub const MAX_API_NAME_BYTES: usize = 100;

/// HTTP methods a user API may use.
pub const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

/// Who may call an API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiAuth {
    /// Anyone (`"auth": false`, the default).
    None,
    /// A bearer JWT accepted by any of the project's providers (`"auth": true`).
    AnyProvider,
    /// A bearer JWT accepted by one of these providers (`"auth": {"providers": [...]}`).
    Providers(Vec<String>),
}

/// The declared request body.
#[derive(Debug)]
pub(crate) enum BodySpec {
    /// No declaration: any JSON (or none) is accepted.
    Undeclared,
    /// `{"model": name}`.
    Model(Arc<CompiledModel>),
    /// `{"fields": {...}}`.
    Fields(ObjectSchema),
}

/// A user API, compiled.
#[derive(Debug)]
pub struct CompiledApi {
    /// Unique name (`product_create`).
    pub name: String,
    /// Free text from the definition.
    pub description: Option<String>,
    /// Upper-case HTTP method.
    pub method: String,
    /// The endpoint in matchit 0.8 syntax (`/products/{id}`).
    pub endpoint: String,
    /// The endpoint's path parameters, in order.
    pub path_params: Vec<String>,
    /// Authentication requirement.
    pub auth: ApiAuth,
    /// The compiled flow.
    pub flow: Arc<CompiledFlow>,
    /// Declared query parameters; `None` = no declaration (raw parameters pass through).
    pub(crate) query: Option<Vec<(String, Field)>>,
    pub(crate) body: BodySpec,
    pub(crate) partial: bool,
}

fn loc(first: &str, name: &str) -> Vec<Value> {
    vec![Value::from(first), Value::from(name)]
}

impl CompiledApi {
    /// The path parameters as strings (`$.request.pathParams`); a declared parameter missing
    /// from `params` is a `missing` error at `["path", name]`. Extra entries are ignored.
    pub fn coerce_path(&self, params: &[(String, String)]) -> Result<Document, Vec<FieldError>> {
        let mut out = Document::new();
        let mut errors = Vec::new();
        for p in &self.path_params {
            match params.iter().find(|(k, _)| k == p) {
                Some((_, v)) => {
                    out.insert(p.clone(), v.clone());
                }
                None => errors.push(FieldError::new(loc("path", p), MISSING, "field required")),
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }

    /// The query parameters (`$.request.queryParams`). With a `queryParams` declaration:
    /// each declared parameter is coerced from its string (the first occurrence wins),
    /// defaults applied, missing required ones refused, undeclared ones dropped. Without a
    /// declaration every parameter passes through as a string. Errors at `["params", name]`.
    pub fn coerce_query(&self, raw: &[(String, String)]) -> Result<Document, Vec<FieldError>> {
        let mut out = Document::new();
        let Some(decl) = &self.query else {
            for (k, v) in raw {
                if !out.contains_key(k) {
                    out.insert(k.clone(), v.clone());
                }
            }
            return Ok(out);
        };
        let mut errors = Vec::new();
        for (name, field) in decl {
            let mut l = loc("params", name);
            match raw.iter().find(|(k, _)| k == name) {
                None => {
                    if let Some(d) = &field.default {
                        out.insert(name.clone(), d.clone());
                    } else if field.required {
                        errors.push(FieldError::new(l, MISSING, "field required"));
                    }
                }
                Some((_, text)) => match schema::query_value(field, text) {
                    Ok(v) => {
                        if let Some(b) = schema::validate_value(field, &v, &mut l, &mut errors) {
                            out.insert(name.clone(), b);
                        }
                    }
                    Err(msg) => errors.push(FieldError::new(l, TYPE_ERROR, msg)),
                },
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }

    /// The request body (`$.request.body`). With a body declaration the body must be a JSON
    /// object that passes the declared schema (strict; `partial` APIs need no field and get
    /// no defaults); without one any JSON is accepted (converted to BSON) and no body is
    /// `Null`. Errors at `["body", ...]`, array indexes as numbers.
    pub fn validate_body(&self, body: Option<Value>) -> Result<Bson, Vec<FieldError>> {
        let schema = match &self.body {
            BodySpec::Undeclared => return Ok(body.as_ref().map_or(Bson::Null, from_json)),
            BodySpec::Model(m) => &m.schema,
            BodySpec::Fields(s) => s,
        };
        let Some(body) = body else {
            return Err(vec![FieldError::new(
                vec![Value::from("body")],
                MISSING,
                "a JSON request body is required",
            )]);
        };
        validate_body_object(schema, &body, self.partial).map(Bson::Document)
    }

    /// Whether the API declares a request body.
    pub fn has_body(&self) -> bool {
        !matches!(self.body, BodySpec::Undeclared)
    }

    /// The model of the request body, if the body is declared as `{"model": ...}`.
    pub fn body_model(&self) -> Option<&Arc<CompiledModel>> {
        match &self.body {
            BodySpec::Model(m) => Some(m),
            BodySpec::Undeclared | BodySpec::Fields(_) => None,
        }
    }

    /// Whether the body is validated in partial mode.
    pub fn is_partial(&self) -> bool {
        self.partial
    }
}

/// Parses an endpoint: returns its path parameters, or why it is invalid.
pub(crate) fn parse_endpoint(s: &str) -> Result<Vec<String>, String> {
    if !s.starts_with('/') {
        return Err("an endpoint must start with '/'".into());
    }
    if s.len() > MAX_ENDPOINT_BYTES {
        return Err(format!("an endpoint is at most {MAX_ENDPOINT_BYTES} bytes"));
    }
    if s == "/" {
        return Ok(Vec::new());
    }
    let mut params: Vec<String> = Vec::new();
    for seg in s[1..].split('/') {
        if seg.is_empty() {
            return Err(
                "an endpoint must not contain empty segments ('//') or end with '/'".into(),
            );
        }
        if let Some(inner) = seg.strip_prefix('{') {
            let Some(name) = inner.strip_suffix('}') else {
                return Err(format!(
                    "segment {seg:?}: a parameter is a whole segment such as {{id}}"
                ));
            };
            if !stratus_flow::spec::is_valid_name(name) {
                return Err(format!(
                    "parameter {name:?}: a parameter name must match ^[A-Za-z_][A-Za-z0-9_]*$"
                ));
            }
            if params.iter().any(|p| p == name) {
                return Err(format!("parameter {name:?} appears twice"));
            }
            params.push(name.to_string());
        } else if !seg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~:@".contains(c))
        {
            return Err(format!(
                "segment {seg:?}: literal segments use letters, digits and - . _ ~ : @ only"
            ));
        }
    }
    Ok(params)
}

/// The endpoint with parameter names erased (`/a/{}`), to find routes that only differ by
/// parameter names.
pub(crate) fn route_shape(endpoint: &str) -> String {
    endpoint
        .split('/')
        .map(|seg| if seg.starts_with('{') { "{}" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether `s` is a valid API name.
pub(crate) fn valid_api_name(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(x) if x.is_ascii_alphabetic() || x == '_')
        && s.len() <= MAX_API_NAME_BYTES
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_' || x == '-')
}

/// Compiles a `queryParams` declaration found at `path`.
pub(crate) fn compile_query(
    v: &Value,
    path: &str,
    limits: &DefinitionLimits,
    errors: &mut Vec<DefError>,
) -> Vec<(String, Field)> {
    let Value::Object(map) = v else {
        errors.push(DefError::new(
            path,
            "invalid_type",
            "must be an object of parameter declarations",
        ));
        return Vec::new();
    };
    if map.len() > MAX_QUERY_PARAMS {
        errors.push(DefError::new(
            path,
            "too_many",
            format!("more than {MAX_QUERY_PARAMS} query parameters"),
        ));
    }
    let mut out = Vec::new();
    for (name, spec) in map {
        let p = format!("{path}.{name}");
        if name.is_empty() || name.len() > schema::MAX_FIELD_NAME_BYTES {
            errors.push(DefError::new(
                &p,
                "invalid_name",
                "invalid query parameter name",
            ));
            continue;
        }
        if let Some(f) = schema::compile_field(spec, &p, Nest::top(limits), true, errors) {
            out.push((name.clone(), f));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        assert_eq!(parse_endpoint("/"), Ok(vec![]));
        assert_eq!(parse_endpoint("/products"), Ok(vec![]));
        assert_eq!(
            parse_endpoint("/a/{x}/b/{y_2}"),
            Ok(vec!["x".to_string(), "y_2".to_string()])
        );
        for bad in [
            "",
            "a",
            "/a/",
            "//a",
            "/a/{x",
            "/a/{1x}",
            "/a/{x}/{x}",
            "/a b",
            "/a{x}",
            "/{*rest}",
        ] {
            assert!(parse_endpoint(bad).is_err(), "{bad}");
        }
        assert_eq!(route_shape("/a/{x}/b"), "/a/{}/b");
    }
}
