//! Project-wide settings of a definition: identity providers (`auth.providers`, CONTRACT
//! §6, parsed and checked with `stratus_auth`) and CORS (`cors`).
//!
//! Invariant: a provider that passes here builds (with its real secret resolved later by
//! the server); definitions never hold secret values — hmac secrets are `$.secrets.…`
//! references.

use serde_json::{Map, Value};
use stratus_auth::error::AuthError;
use stratus_auth::provider::{MAX_PROVIDERS, ProviderConfig, ProviderKind};

use super::api::METHODS;
use super::error::DefError;

const CORS_KEYS: &[&str] = &["allowOrigins", "allowMethods", "allowHeaders", "maxAgeSecs"];
/// Largest `cors.maxAgeSecs` (one day).
pub const MAX_CORS_MAX_AGE_SECS: u64 = 86_400;

/// Cross-origin settings of the project's user APIs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CorsConfig {
    /// Allowed origins (`*` = any).
    pub allow_origins: Vec<String>,
    /// Allowed methods (upper case); empty = the API's methods.
    pub allow_methods: Vec<String>,
    /// Allowed request headers (lower case).
    pub allow_headers: Vec<String>,
    /// How long browsers may cache a preflight answer.
    pub max_age_secs: Option<u64>,
}

fn auth_message(e: AuthError) -> String {
    match e {
        AuthError::InvalidConfig(m) => m,
        other => other.to_string(),
    }
}

/// A stand-in HMAC secret used only to validate the rest of an hmac provider's settings
/// (the real secret is resolved per environment by the server).
const PLACEHOLDER_HMAC_SECRET: [u8; 64] = [0x5a; 64];

pub(crate) fn compile_auth(v: Option<&Value>, errors: &mut Vec<DefError>) -> Vec<ProviderConfig> {
    let Some(v) = v else { return Vec::new() };
    let Value::Object(map) = v else {
        errors.push(DefError::new(
            "$.auth",
            "invalid_type",
            "must be an object such as {\"providers\": [...]}",
        ));
        return Vec::new();
    };
    for k in map.keys() {
        if k != "providers" {
            errors.push(DefError::new(
                format!("$.auth.{k}"),
                "unknown_field",
                format!("unknown member {k:?} of auth (expected providers)"),
            ));
        }
    }
    let items = match map.get("providers") {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Array(a)) => a,
        Some(_) => {
            errors.push(DefError::new(
                "$.auth.providers",
                "invalid_type",
                "must be an array",
            ));
            return Vec::new();
        }
    };
    if items.len() > MAX_PROVIDERS {
        errors.push(DefError::new(
            "$.auth.providers",
            "too_many",
            format!("more than {MAX_PROVIDERS} providers"),
        ));
    }
    let mut out: Vec<ProviderConfig> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let p = format!("$.auth.providers[{i}]");
        let cfg = match ProviderConfig::from_json(item) {
            Ok(c) => c,
            Err(e) => {
                errors.push(DefError::new(p, "invalid_provider", auth_message(e)));
                continue;
            }
        };
        if let ProviderKind::Hmac { secret, .. } = &cfg.kind {
            let parts: Vec<&str> = secret.split('.').collect();
            if parts.len() != 4
                || parts[0] != "$"
                || parts[1] != "secrets"
                || parts[2].is_empty()
                || parts[3].is_empty()
            {
                errors.push(DefError::new(format!("{p}.secret"), "invalid_provider", "an hmac secret must be a reference $.secrets.<name>.<key> (secrets never go into definitions)"));
                continue;
            }
        }
        if let Err(e) = cfg.build(Some(&PLACEHOLDER_HMAC_SECRET)) {
            errors.push(DefError::new(p, "invalid_provider", auth_message(e)));
            continue;
        }
        if out.iter().any(|o| o.name == cfg.name) {
            errors.push(DefError::new(
                format!("{p}.name"),
                "duplicate_name",
                format!("duplicate provider name {:?}", cfg.name),
            ));
            continue;
        }
        out.push(cfg);
    }
    out
}

fn string_list(map: &Map<String, Value>, key: &str, errors: &mut Vec<DefError>) -> Vec<String> {
    match map.get(key) {
        None => Vec::new(),
        Some(Value::Array(a)) if a.iter().all(|x| x.as_str().is_some_and(|s| !s.is_empty())) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Some(_) => {
            errors.push(DefError::new(
                format!("$.cors.{key}"),
                "invalid_cors",
                "must be an array of non-empty strings",
            ));
            Vec::new()
        }
    }
}

pub(crate) fn compile_cors(v: &Value, errors: &mut Vec<DefError>) -> Option<CorsConfig> {
    let Value::Object(map) = v else {
        errors.push(DefError::new("$.cors", "invalid_cors", "must be an object"));
        return None;
    };
    for k in map.keys() {
        if !CORS_KEYS.contains(&k.as_str()) {
            errors.push(DefError::new(
                format!("$.cors.{k}"),
                "unknown_field",
                format!(
                    "unknown member {k:?} of cors (expected {})",
                    CORS_KEYS.join(", ")
                ),
            ));
        }
    }
    let allow_origins = string_list(map, "allowOrigins", errors);
    for (i, o) in allow_origins.iter().enumerate() {
        if o != "*" && !(o.starts_with("http://") || o.starts_with("https://")) {
            errors.push(DefError::new(
                format!("$.cors.allowOrigins[{i}]"),
                "invalid_cors",
                "an origin is \"*\" or starts with http:// or https://",
            ));
        }
    }
    let mut allow_methods = string_list(map, "allowMethods", errors);
    for (i, m) in allow_methods.iter_mut().enumerate() {
        *m = m.to_ascii_uppercase();
        if !METHODS.contains(&m.as_str()) && m != "OPTIONS" && m != "HEAD" && m != "*" {
            errors.push(DefError::new(
                format!("$.cors.allowMethods[{i}]"),
                "invalid_cors",
                format!("unknown method {m:?}"),
            ));
        }
    }
    let allow_headers = string_list(map, "allowHeaders", errors)
        .into_iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    let max_age_secs = match map.get("maxAgeSecs") {
        None => None,
        Some(n) => match n.as_u64() {
            Some(s) if s <= MAX_CORS_MAX_AGE_SECS => Some(s),
            _ => {
                errors.push(DefError::new(
                    "$.cors.maxAgeSecs",
                    "invalid_cors",
                    format!("must be an integer from 0 to {MAX_CORS_MAX_AGE_SECS}"),
                ));
                None
            }
        },
    };
    Some(CorsConfig {
        allow_origins,
        allow_methods,
        allow_headers,
        max_age_secs,
    })
}
