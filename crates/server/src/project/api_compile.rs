//! Compilation of one API entry of a definition into a [`CompiledApi`]: members, method,
//! endpoint, query and body declarations, authentication, and the flow (compiled by
//! `stratus_flow`, then checked against the project: collections and request references).
//!
//! Every error is collected with its JSON path; an API with any error yields `None`.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::Value;
use stratus_auth::provider::ProviderConfig;
use stratus_flow::SubflowSpec;

use super::api::{self, ApiAuth, BodySpec, CompiledApi, METHODS};
use super::error::DefError;
use super::flowcheck::{self, Declared};
use super::limits::DefinitionLimits;
use super::model::CompiledModel;
use super::schema::{self, Nest};

const API_KEYS: &[&str] = &[
    "name",
    "description",
    "method",
    "endpoint",
    "queryParams",
    "body",
    "partial",
    "auth",
    "flow",
];

/// What an API may refer to: the project's models, providers, sub-flows and collections.
pub(crate) struct ApiCtx<'a> {
    pub(crate) models: &'a [Arc<CompiledModel>],
    pub(crate) providers: &'a [ProviderConfig],
    pub(crate) subflows: &'a [SubflowSpec],
    pub(crate) collections: &'a HashSet<String>,
    pub(crate) limits: &'a DefinitionLimits,
}

/// Compiles the API entry `v` found at `p`.
pub(crate) fn compile_api(
    v: &Value,
    p: &str,
    ctx: &ApiCtx<'_>,
    errors: &mut Vec<DefError>,
) -> Option<CompiledApi> {
    let Value::Object(map) = v else {
        errors.push(DefError::new(p, "invalid_type", "an API must be an object"));
        return None;
    };
    let before = errors.len();
    for k in map.keys() {
        if !API_KEYS.contains(&k.as_str()) {
            errors.push(DefError::new(
                format!("{p}.{k}"),
                "unknown_field",
                format!(
                    "unknown member {k:?} of an API (expected {})",
                    API_KEYS.join(", ")
                ),
            ));
        }
    }
    let name = match map.get("name") {
        Some(Value::String(s)) if api::valid_api_name(s) => s.clone(),
        Some(_) => {
            errors.push(DefError::new(
                format!("{p}.name"),
                "invalid_name",
                format!(
                    "an API name must match ^[A-Za-z_][A-Za-z0-9_-]*$ (at most {} bytes)",
                    api::MAX_API_NAME_BYTES
                ),
            ));
            String::new()
        }
        None => {
            errors.push(DefError::new(p, "missing_field", "missing field `name`"));
            String::new()
        }
    };
    let description = schema::description(map, p, errors);
    let method = match map.get("method") {
        Some(Value::String(m)) if METHODS.contains(&m.to_ascii_uppercase().as_str()) => {
            m.to_ascii_uppercase()
        }
        Some(_) => {
            errors.push(DefError::new(
                format!("{p}.method"),
                "invalid_method",
                format!("method must be one of {}", METHODS.join(", ")),
            ));
            String::new()
        }
        None => {
            errors.push(DefError::new(p, "missing_field", "missing field `method`"));
            String::new()
        }
    };
    let (endpoint, path_params) = match map.get("endpoint") {
        Some(Value::String(e)) => match api::parse_endpoint(e) {
            Ok(params) => (e.clone(), params),
            Err(why) => {
                errors.push(DefError::new(
                    format!("{p}.endpoint"),
                    "invalid_endpoint",
                    why,
                ));
                (String::new(), Vec::new())
            }
        },
        Some(_) => {
            errors.push(DefError::new(
                format!("{p}.endpoint"),
                "invalid_type",
                "must be a string",
            ));
            (String::new(), Vec::new())
        }
        None => {
            errors.push(DefError::new(
                p,
                "missing_field",
                "missing field `endpoint`",
            ));
            (String::new(), Vec::new())
        }
    };
    let query = map
        .get("queryParams")
        .map(|q| api::compile_query(q, &format!("{p}.queryParams"), ctx.limits, errors));
    let body = match map.get("body") {
        None | Some(Value::Null) => BodySpec::Undeclared,
        Some(b) => compile_body(b, &format!("{p}.body"), &method, ctx, errors),
    };
    let partial = match map.get("partial") {
        None => false,
        Some(Value::Bool(b)) => {
            if *b && matches!(body, BodySpec::Undeclared) {
                errors.push(DefError::new(
                    format!("{p}.partial"),
                    "invalid_body",
                    "partial needs a body declaration",
                ));
            }
            *b
        }
        Some(_) => {
            errors.push(DefError::new(
                format!("{p}.partial"),
                "invalid_type",
                "must be a boolean",
            ));
            false
        }
    };
    let auth = compile_api_auth(map.get("auth"), &format!("{p}.auth"), ctx.providers, errors);
    let flow = match map.get("flow") {
        Some(f) => {
            let fp = format!("{p}.flow");
            flowcheck::check_collections(f, &fp, ctx.collections, errors);
            let body_names: Option<Vec<&str>> = match &body {
                BodySpec::Undeclared => None,
                BodySpec::Model(m) => {
                    Some(m.schema.fields.iter().map(|(n, _)| n.as_str()).collect())
                }
                BodySpec::Fields(s) => Some(s.fields.iter().map(|(n, _)| n.as_str()).collect()),
            };
            let declared = Declared {
                path_params: &path_params,
                query: query
                    .as_ref()
                    .map(|q| q.iter().map(|(n, _)| n.as_str()).collect()),
                body: body_names,
            };
            flowcheck::check_request_refs(f, &fp, &declared, errors);
            match stratus_flow::compile(f, &ctx.subflows) {
                Ok(c) => Some(Arc::new(c)),
                Err(errs) => {
                    for e in errs {
                        errors.push(DefError::new(
                            format!("{fp}{}", e.path_suffix()),
                            "invalid_flow",
                            e.message,
                        ));
                    }
                    None
                }
            }
        }
        None => {
            errors.push(DefError::new(p, "missing_field", "missing field `flow`"));
            None
        }
    };
    if errors.len() > before {
        return None;
    }
    Some(CompiledApi {
        name,
        description,
        method,
        endpoint,
        path_params,
        auth,
        flow: flow?,
        query,
        body,
        partial,
    })
}

/// The flow-relative path of a flow validation error as a suffix (`[0].filter`, or empty).
trait PathSuffix {
    fn path_suffix(&self) -> String;
}

impl PathSuffix for stratus_flow::ValidationError {
    fn path_suffix(&self) -> String {
        if self.path.is_empty() || self.path.starts_with('[') {
            self.path.clone()
        } else {
            format!(".{}", self.path)
        }
    }
}

fn compile_body(
    b: &Value,
    p: &str,
    method: &str,
    ctx: &ApiCtx<'_>,
    errors: &mut Vec<DefError>,
) -> BodySpec {
    if method == "GET" {
        errors.push(DefError::new(
            p,
            "invalid_body",
            "GET APIs take no request body",
        ));
        return BodySpec::Undeclared;
    }
    let Value::Object(map) = b else {
        errors.push(DefError::new(
            p,
            "invalid_body",
            "body must be {\"model\": name} or {\"fields\": {...}}",
        ));
        return BodySpec::Undeclared;
    };
    for k in map.keys() {
        if k != "model" && k != "fields" {
            errors.push(DefError::new(
                format!("{p}.{k}"),
                "unknown_field",
                format!("unknown member {k:?} of body (expected model or fields)"),
            ));
        }
    }
    match (map.get("model"), map.get("fields")) {
        (Some(Value::String(m)), None) => match ctx.models.iter().find(|x| &x.name == m) {
            Some(model) => BodySpec::Model(model.clone()),
            None => {
                errors.push(DefError::new(
                    format!("{p}.model"),
                    "unknown_model",
                    format!("unknown model {m:?}"),
                ));
                BodySpec::Undeclared
            }
        },
        (None, Some(f)) => BodySpec::Fields(schema::compile_object(
            f,
            &format!("{p}.fields"),
            Nest::top(ctx.limits),
            errors,
        )),
        _ => {
            errors.push(DefError::new(
                p,
                "invalid_body",
                "body must have exactly one of model (a model name) or fields",
            ));
            BodySpec::Undeclared
        }
    }
}

fn compile_api_auth(
    v: Option<&Value>,
    p: &str,
    providers: &[ProviderConfig],
    errors: &mut Vec<DefError>,
) -> ApiAuth {
    match v {
        None | Some(Value::Null) | Some(Value::Bool(false)) => ApiAuth::None,
        Some(Value::Bool(true)) => {
            if providers.is_empty() {
                errors.push(DefError::new(
                    p,
                    "invalid_auth",
                    "auth is true but the project has no auth.providers",
                ));
            }
            ApiAuth::AnyProvider
        }
        Some(Value::Object(m)) => {
            for k in m.keys() {
                if k != "providers" {
                    errors.push(DefError::new(
                        format!("{p}.{k}"),
                        "unknown_field",
                        format!("unknown member {k:?} of an API's auth (expected providers)"),
                    ));
                }
            }
            match m.get("providers") {
                Some(Value::Array(names)) if !names.is_empty() => {
                    let mut out = Vec::new();
                    for (i, n) in names.iter().enumerate() {
                        match n.as_str() {
                            Some(s) if providers.iter().any(|x| x.name == s) => {
                                out.push(s.to_string())
                            }
                            Some(s) => errors.push(DefError::new(
                                format!("{p}.providers[{i}]"),
                                "unknown_provider",
                                format!("unknown auth provider {s:?}"),
                            )),
                            None => errors.push(DefError::new(
                                format!("{p}.providers[{i}]"),
                                "invalid_type",
                                "must be a provider name",
                            )),
                        }
                    }
                    ApiAuth::Providers(out)
                }
                _ => {
                    errors.push(DefError::new(
                        p,
                        "invalid_auth",
                        "auth.providers must be a non-empty array of provider names",
                    ));
                    ApiAuth::None
                }
            }
        }
        Some(_) => {
            errors.push(DefError::new(
                p,
                "invalid_auth",
                "auth must be false, true or {\"providers\": [names]}",
            ));
            ApiAuth::None
        }
    }
}
