//! The request path of a user API (ARCHITECTURE §1): address → environment (one atomic load)
//! → route → CORS → authentication → path/query/body validation → flow run → response → log
//! record handed to the background writer → metrics.
//!
//! Addresses: `/{project}/{env}/api/{endpoint…}` and the Cosmocloud-compatible
//! `/{env}/api/{endpoint…}` with a `projectId` header (project id or slug). Everything that
//! is not another server route ends up here, so unknown paths get the CONTRACT §3 404 body.
//!
//! Invariants: every answer is JSON with `code`/`detail` on errors; a 5xx never carries its
//! cause (that goes to the request log and the diagnostic log); the request is logged exactly
//! once, whatever the outcome; the in-flight counter is restored on every path (RAII guard).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bson::{Bson, Document};
use stratus_auth::verifier::{ProviderSelection, bearer_token};
use stratus_flow::{RequestData, RunInput};
use stratus_types::error::{Code, ErrorCode};

use super::table::{EnvRuntime, Lookup};
use crate::app::{AppState, RequestId, new_request_id};
use crate::http::{ApiError, FieldProblem};
use crate::logs::LogRecord;
use crate::project::{ApiAuth, CompiledApi, FieldError};

/// Where a runtime request is addressed.
#[derive(Debug, PartialEq, Eq)]
struct Address {
    project: String,
    env: String,
    /// The endpoint path, starting with `/`.
    rest: String,
}

/// Splits the request path into project, environment and endpoint.
#[expect(
    clippy::result_large_err,
    reason = "ApiError is built once per failed request; boxing buys nothing"
)]
fn address(
    path: &str,
    headers: &HeaderMap,
    resolve: &dyn Fn(&str) -> Option<String>,
) -> Result<Address, ApiError> {
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    let segs: Vec<&str> = trimmed.splitn(4, '/').collect();
    let rest_after = |n: usize| -> String {
        // The part after the first `n` segments, with its leading slash.
        let mut idx = 0;
        for _ in 0..n {
            match trimmed[idx..].find('/') {
                Some(p) => idx += p + 1,
                None => return "/".to_string(),
            }
        }
        format!("/{}", &trimmed[idx..])
    };
    if segs.len() >= 3 && segs[2] == "api" && segs[1] != "api" {
        return Ok(Address {
            project: segs[0].to_string(),
            env: segs[1].to_string(),
            rest: rest_after(3),
        });
    }
    if segs.len() >= 2 && segs[1] == "api" {
        let id = headers
            .get("projectid")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "/{}/api/… needs a projectId header (or use /{{project}}/{}/api/…)",
                    segs[0], segs[0]
                ))
            })?;
        let project =
            resolve(id).ok_or_else(|| ApiError::not_found(format!("no project '{id}'")))?;
        return Ok(Address {
            project,
            env: segs[0].to_string(),
            rest: rest_after(2),
        });
    }
    Err(ApiError::not_found(format!("nothing at {path}")))
}

fn problems(errors: Vec<FieldError>) -> ApiError {
    ApiError::validation(errors.into_iter().map(FieldProblem::from).collect())
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|ct| {
            let mime = ct
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
        .unwrap_or(false)
}

fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

fn headers_doc(headers: &HeaderMap) -> Document {
    let mut d = Document::new();
    for (name, value) in headers {
        if let Ok(v) = value.to_str() {
            // Repeated headers: the first wins (flows see one value per name).
            if !d.contains_key(name.as_str()) {
                d.insert(name.as_str(), v);
            }
        }
    }
    d
}

/// CORS headers for `origin` under the project's policy, or `None` when not allowed.
fn cors_headers(
    env: &EnvRuntime,
    origin: Option<&HeaderValue>,
) -> Option<Vec<(HeaderName, String)>> {
    let cors = env.compiled.cors.as_ref()?;
    let origin = origin?.to_str().ok()?;
    let allowed = cors.allow_origins.iter().any(|o| o == "*" || o == origin);
    if !allowed {
        return None;
    }
    let allow_origin = if cors.allow_origins.iter().any(|o| o == "*") {
        "*".to_string()
    } else {
        origin.to_string()
    };
    let mut h = vec![(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin)];
    if !cors.allow_origins.iter().any(|o| o == "*") {
        h.push((header::VARY, "Origin".to_string()));
    }
    h.push((
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        "x-request-id".to_string(),
    ));
    Some(h)
}

fn preflight(env: &EnvRuntime, headers: &HeaderMap) -> Option<Response> {
    let cors = env.compiled.cors.as_ref()?;
    headers.get(header::ACCESS_CONTROL_REQUEST_METHOD)?;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    if let Some(h) = cors_headers(env, headers.get(header::ORIGIN)) {
        let methods = if cors.allow_methods.is_empty() {
            "GET, POST, PUT, PATCH, DELETE".to_string()
        } else {
            cors.allow_methods.join(", ")
        };
        let allow_headers = if cors.allow_headers.is_empty() {
            "authorization, content-type".to_string()
        } else {
            cors.allow_headers.join(", ")
        };
        let hm = resp.headers_mut();
        for (n, v) in h {
            if let Ok(v) = HeaderValue::from_str(&v) {
                hm.insert(n, v);
            }
        }
        for (n, v) in [
            (header::ACCESS_CONTROL_ALLOW_METHODS, methods),
            (header::ACCESS_CONTROL_ALLOW_HEADERS, allow_headers),
        ] {
            if let Ok(v) = HeaderValue::from_str(&v) {
                hm.insert(n, v);
            }
        }
        if let Some(age) = cors.max_age_secs
            && let Ok(v) = HeaderValue::from_str(&age.to_string())
        {
            hm.insert(header::ACCESS_CONTROL_MAX_AGE, v);
        }
    }
    Some(resp)
}

/// Decrements the in-flight counter when dropped.
struct InFlight<'a>(&'a std::sync::atomic::AtomicU64);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What the request log gets besides the basics.
#[derive(Default)]
struct Outcome {
    api: Option<String>,
    trace: crate::logs::LogTrace,
    debug: Vec<serde_json::Value>,
    error: Option<String>,
}

/// The runtime entry point (the router's fallback).
pub async fn handle(State(app): State<AppState>, req: Request) -> Response {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let request_id = parts
        .extensions
        .get::<RequestId>()
        .cloned()
        .unwrap_or_else(new_request_id);
    let (method, uri, headers) = (&parts.method, &parts.uri, &parts.headers);
    let addr = match address(uri.path(), headers, app.resolve_project.as_ref()) {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let Some(env) = app.runtime.get(&addr.project, &addr.env) else {
        return ApiError::not_found(format!(
            "project '{}' has no deployed environment '{}'",
            addr.project, addr.env
        ))
        .into_response();
    };
    let mut outcome = Outcome::default();
    let result = serve(&app, &env, &addr, &parts, body, &mut outcome, &request_id.0).await;
    let mut resp = match result {
        Ok(r) => r,
        Err(e) => {
            if e.status.is_server_error() && outcome.error.is_none() {
                outcome.error = Some(e.to_string());
            } else if outcome.error.is_none() {
                outcome.error = Some(format!("{}: {}", e.code, e.detail));
            }
            e.into_response()
        }
    };
    if let Some(h) = cors_headers(&env, headers.get(header::ORIGIN)) {
        for (n, v) in h {
            if let Ok(v) = HeaderValue::from_str(&v) {
                resp.headers_mut().insert(n, v);
            }
        }
    }
    let status = resp.status().as_u16();
    let elapsed = started.elapsed();
    env.metrics(outcome.api.as_deref()).observe(status, elapsed);
    let path_and_query = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_string(), |p| p.as_str().to_string());
    app.logs.record(LogRecord {
        time: bson::DateTime::now(),
        request_id: request_id.0.to_string(),
        project: addr.project,
        env: addr.env,
        api: outcome.api,
        method: method.to_string(),
        path: path_and_query,
        status,
        duration_us: u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
        trace: outcome.trace,
        debug: outcome.debug,
        error: outcome.error,
        request_headers: headers
            .iter()
            .filter_map(|(n, v)| v.to_str().ok().map(|v| (n.to_string(), v.to_string())))
            .collect(),
    });
    resp
}

async fn serve(
    app: &AppState,
    env: &Arc<EnvRuntime>,
    addr: &Address,
    parts: &Parts,
    body: Body,
    outcome: &mut Outcome,
    request_id: &str,
) -> Result<Response, ApiError> {
    let (method, headers) = (&parts.method, &parts.headers);
    if method == Method::OPTIONS
        && let Some(r) = preflight(env, headers)
    {
        return Ok(r);
    }
    let (api, path_params) = match env.lookup(method.as_str(), &addr.rest) {
        Lookup::Found(api, params) => (api.clone(), params),
        Lookup::MethodNotAllowed(allow) => {
            return Err(ApiError::new(
                Code::MethodNotAllowed,
                format!(
                    "{} is not allowed on {}; allowed: {}",
                    method,
                    addr.rest,
                    allow.join(", ")
                ),
            )
            .with_header(header::ALLOW, allow.join(", ")));
        }
        Lookup::NotFound => {
            if method == Method::GET && addr.rest == "/openapi.json" {
                return Ok(axum::Json(env.openapi.clone()).into_response());
            }
            return Err(ApiError::not_found(format!(
                "no API matches {} {}",
                method, addr.rest
            )));
        }
    };
    outcome.api = Some(api.name.clone());
    let max = app.config.http.max_in_flight as u64;
    if app.in_flight.fetch_add(1, Ordering::Relaxed) >= max {
        app.in_flight.fetch_sub(1, Ordering::Relaxed);
        return Err(ApiError::new(
            Code::Unavailable,
            "the server is at its concurrent request limit (http.max_in_flight); retry",
        )
        .with_header(header::RETRY_AFTER, "1"));
    }
    let _guard = InFlight(&app.in_flight);
    let token_data = authenticate(env, &api, headers).await?;
    let path_doc = api.coerce_path(&path_params).map_err(problems)?;
    let query_doc = api
        .coerce_query(&query_pairs(parts.uri.query()))
        .map_err(problems)?;
    let body_bytes = axum::body::to_bytes(body, app.config.http.max_body_bytes)
        .await
        .map_err(|_| {
            ApiError::body_too_large(format!(
                "the request body is larger than {} bytes (http.max_body_bytes)",
                app.config.http.max_body_bytes
            ))
        })?;
    let body_json = if body_bytes.is_empty() {
        None
    } else {
        if !is_json(headers) {
            return Err(ApiError::new(
                Code::UnsupportedMediaType,
                "the request body must be JSON (Content-Type: application/json)",
            ));
        }
        Some(
            serde_json::from_slice::<serde_json::Value>(&body_bytes).map_err(|e| {
                ApiError::new(
                    Code::InvalidJson,
                    format!("the body is not valid JSON: {e}"),
                )
            })?,
        )
    };
    let body = api.validate_body(body_json).map_err(problems)?;
    let input = RunInput {
        request: RequestData {
            method: method.to_string(),
            path: addr.rest.clone(),
            body,
            query_params: query_doc,
            path_params: path_doc,
            headers: headers_doc(headers),
        },
        token_data,
        secrets: env.secrets.clone(),
    };
    let run = stratus_flow::run(&api.flow, input, &env.services).await;
    outcome.debug = run
        .trace
        .debug_values()
        .map(|e| serde_json::json!({"label": e.label, "value": e.value}))
        .collect();
    outcome.trace = crate::logs::LogTrace::Flow(run.trace);
    match run.result {
        Ok(resp) => Ok(flow_response(resp)),
        Err(e) => {
            app.metrics.node_error(e.code.name());
            let status = e.http_status();
            outcome.error = Some(format!(
                "{}{}: {}",
                e.code.name(),
                e.node
                    .as_ref()
                    .map(|n| format!(" at node '{n}'"))
                    .unwrap_or_default(),
                e.message
            ));
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            if status.is_server_error() {
                tracing::warn!(request_id = %request_id, code = %e.code.name(), project = %addr.project, api = %api.name, "flow failed");
                Err(ApiError::custom(
                    status,
                    e.code.name(),
                    "the API's flow failed; the request log has the cause (see x-request-id)",
                ))
            } else {
                Err(ApiError::custom(status, e.code.name(), e.message))
            }
        }
    }
}

async fn authenticate(
    env: &EnvRuntime,
    api: &CompiledApi,
    headers: &HeaderMap,
) -> Result<Option<Document>, ApiError> {
    let selection = match &api.auth {
        ApiAuth::None => return Ok(None),
        ApiAuth::AnyProvider => ProviderSelection::Any,
        ApiAuth::Providers(names) => ProviderSelection::Named(names),
    };
    let Some(auth) = &env.authenticator else {
        return Err(ApiError::unauthenticated(
            "this API requires a token but the project has no identity provider",
            false,
        ));
    };
    let header_value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let verified = match bearer_token(header_value) {
        Ok(token) => auth.verify(token, selection).await,
        Err(e) => Err(e),
    };
    match verified {
        Ok(v) => {
            let data = v.token_data();
            match Bson::try_from(data) {
                Ok(Bson::Document(d)) => Ok(Some(d)),
                _ => Err(ApiError::internal("token claims did not convert to BSON")),
            }
        }
        Err(e) => {
            let mut err = ApiError::new(e.code(), e.detail());
            if let Some(challenge) = e.www_authenticate() {
                err = err.with_header(header::WWW_AUTHENTICATE, challenge);
            }
            Err(err)
        }
    }
}

fn flow_response(resp: stratus_flow::FlowResponse) -> Response {
    let status = StatusCode::from_u16(resp.status).unwrap_or(StatusCode::OK);
    let mut out = if matches!(resp.body, Bson::Null) {
        Response::new(Body::empty())
    } else {
        let body = resp.json_body();
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        let mut r = Response::new(Body::from(bytes));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        r
    };
    *out.status_mut() = status;
    for (name, value) in resp.headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            out.headers_mut().append(n, v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_projects(_: &str) -> Option<String> {
        None
    }

    fn by_slug(s: &str) -> Option<String> {
        (s == "shop" || s == "p-123").then(|| "shop".to_string())
    }

    #[test]
    fn addresses_of_both_styles() {
        let h = HeaderMap::new();
        let a = address("/shop/development/api/products/1", &h, &no_projects).expect("addr");
        assert_eq!(
            (a.project.as_str(), a.env.as_str(), a.rest.as_str()),
            ("shop", "development", "/products/1")
        );
        let a = address("/shop/development/api", &h, &no_projects).expect("addr");
        assert_eq!(a.rest, "/");
        let mut h = HeaderMap::new();
        h.insert("projectId", HeaderValue::from_static("p-123"));
        let a = address("/development/api/products", &h, &by_slug).expect("addr");
        assert_eq!(
            (a.project.as_str(), a.env.as_str(), a.rest.as_str()),
            ("shop", "development", "/products")
        );
        assert!(address("/development/api/products", &HeaderMap::new(), &by_slug).is_err());
        let mut h = HeaderMap::new();
        h.insert("projectId", HeaderValue::from_static("nope"));
        assert!(address("/development/api/x", &h, &by_slug).is_err());
        assert!(address("/a/b/c", &HeaderMap::new(), &no_projects).is_err());
        assert!(address("/", &HeaderMap::new(), &no_projects).is_err());
    }

    #[test]
    fn json_content_types() {
        let mut h = HeaderMap::new();
        assert!(!is_json(&h));
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        assert!(is_json(&h));
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/merge-patch+json"),
        );
        assert!(is_json(&h));
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        assert!(!is_json(&h));
    }
}
