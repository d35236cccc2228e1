//! Extractors of the admin API: the bearer token → [`Caller`], the permission checks that
//! mint capabilities ([`ProjectAuth`], [`OrgAuth`]), JSON bodies ([`Body`]) and paging
//! parameters ([`Paging`]).
//!
//! Invariants: a project-scoped handler cannot run without a [`ProjectAuth<P>`] (so without
//! the check of `P`); authentication happens before any path or body validation, so a caller
//! without rights learns nothing about the resource (401, then 404 for invisible projects);
//! bodies are limited to `ControlLimits::max_body_bytes`, must be `application/json`, and reject unknown
//! fields naming them.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::Value;
use stratus_auth::AuthError;
use stratus_auth::roles::{Authorized, OrgPermission, Principal, ProjectPermission};
use stratus_types::Code;

use super::AdminState;
use crate::control::{ControlError, DEFAULT_PAGE_LIMIT, OrgInfo, ProjectInfo};
use crate::http::{ApiError, FieldProblem};

pub use crate::control::MAX_BODY_BYTES;

/// Runs blocking control-plane work off the async threads.
pub(crate) async fn blocking<T, F>(f: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, ControlError> + Send + 'static,
    T: Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(ApiError::from),
        Err(e) => Err(ApiError::internal(format!("blocking task failed: {e}"))),
    }
}

/// The bearer token of a request (`None` when absent).
fn bearer(parts: &Parts) -> Result<Option<String>, ApiError> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .ok()
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim().to_string())
        })
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::from(ControlError::Auth(AuthError::malformed(
                "the Authorization header is not 'Bearer <token>'",
            )))
        })?;
    Ok(Some(text))
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Who is calling, with every role.
    pub principal: Principal,
    /// The presented token (logout needs it; never logged).
    pub token: String,
}

impl FromRequestParts<AdminState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AdminState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts)?
            .ok_or_else(|| ApiError::from(ControlError::Auth(AuthError::MissingToken)))?;
        let control = state.control.clone();
        let t = token.clone();
        let principal = blocking(move || control.authenticate_bearer(&t)).await?;
        Ok(Caller { principal, token })
    }
}

async fn path_params(
    parts: &mut Parts,
    state: &AdminState,
) -> Result<HashMap<String, String>, ApiError> {
    PathArgs::<HashMap<String, String>>::from_request_parts(parts, state)
        .await
        .map(|PathArgs(m)| m)
}

/// Path parameters (axum's [`Path`]) whose rejection is a CONTRACT §3 error.
pub struct PathArgs<T>(pub T);

impl<T, S> FromRequestParts<S> for PathArgs<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(t)| PathArgs(t))
            .map_err(|e| {
                ApiError::validation(vec![FieldProblem {
                    loc: vec!["path".into()],
                    msg: e.body_text(),
                    kind: "value_error".into(),
                }])
            })
    }
}

/// A passed check of project permission `P` on the project named by the `{p}` path
/// parameter.
pub struct ProjectAuth<P> {
    /// The project.
    pub project: ProjectInfo,
    /// The capability.
    pub auth: Authorized<P>,
    /// The caller.
    pub caller: Caller,
}

impl<P: ProjectPermission + Send + 'static> FromRequestParts<AdminState> for ProjectAuth<P> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AdminState,
    ) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let params = path_params(parts, state).await?;
        let p = params
            .get("p")
            .cloned()
            .ok_or_else(|| ApiError::internal("route without {p}"))?;
        let control = state.control.clone();
        let principal = caller.principal.clone();
        let (project, auth) = blocking(move || control.authorize::<P>(&principal, &p)).await?;
        Ok(ProjectAuth {
            project,
            auth,
            caller,
        })
    }
}

/// Checks project permission `P` for a project named in a body or query (API keys).
pub(crate) async fn authorize_named<P: ProjectPermission + Send + 'static>(
    state: &AdminState,
    caller: &Caller,
    project: String,
) -> Result<(ProjectInfo, Authorized<P>), ApiError> {
    let control = state.control.clone();
    let principal = caller.principal.clone();
    blocking(move || control.authorize::<P>(&principal, &project)).await
}

/// A passed check of organisation permission `P` on the `{o}` path parameter, or on the
/// default organisation for routes without one.
pub struct OrgAuth<P> {
    /// The organisation.
    pub org: OrgInfo,
    /// The capability.
    pub auth: Authorized<P>,
    /// The caller.
    pub caller: Caller,
}

impl<P: OrgPermission + Send + 'static> FromRequestParts<AdminState> for OrgAuth<P> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AdminState,
    ) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let params = path_params(parts, state).await?;
        let org = params.get("o").cloned();
        let control = state.control.clone();
        let principal = caller.principal.clone();
        let (org, auth) =
            blocking(move || control.authorize_in_org::<P>(&principal, org.as_deref())).await?;
        Ok(OrgAuth { org, auth, caller })
    }
}

/// The client's address (for login throttling); `None` when the server was not started with
/// connection info (`into_make_service_with_connect_info::<SocketAddr>()`).
pub struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// The address a login is throttled under: the client's, or — when the server has no
/// connection info — a per-account stand-in (in the documentation prefix `2001:db8::/32`), so
/// that throttling stays per account instead of one bucket shared by every client.
pub(crate) fn throttle_addr(addr: Option<IpAddr>, email: &str) -> IpAddr {
    addr.unwrap_or_else(|| {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in email.trim().to_lowercase().bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        let [a, b, c, d, e, f, g, i] = h.to_be_bytes();
        IpAddr::V6(Ipv6Addr::from([
            0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, a, b, c, d, e, f, g, i,
        ]))
    })
}

/// A JSON body deserialized into `T` (which should deny unknown fields).
pub struct Body<T>(pub T);

/// Maps a serde error of a body to a field problem.
fn serde_problem(msg: &str) -> FieldProblem {
    let quoted = |prefix: &str| {
        msg.strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
            .map(str::to_string)
    };
    if let Some(field) = quoted("unknown field `") {
        return FieldProblem {
            loc: vec!["body".into(), field.clone().into()],
            msg: format!("unknown field '{field}'"),
            kind: "extra_forbidden".into(),
        };
    }
    if let Some(field) = quoted("missing field `") {
        return FieldProblem {
            loc: vec!["body".into(), field.into()],
            msg: "field required".into(),
            kind: "missing".into(),
        };
    }
    FieldProblem {
        loc: vec!["body".into()],
        msg: msg.to_string(),
        kind: "type_error".into(),
    }
}

/// Reads a JSON body as a [`Value`] with the content-type, size and syntax checks.
pub(crate) async fn json_value(req: Request, max_bytes: usize) -> Result<Value, ApiError> {
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| {
            let m = m.trim().to_ascii_lowercase();
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
        .unwrap_or(false);
    if !is_json {
        return Err(ApiError::new(
            Code::UnsupportedMediaType,
            "the body must be JSON (Content-Type: application/json)",
        ));
    }
    let bytes = axum::body::to_bytes(req.into_body(), max_bytes)
        .await
        .map_err(|_| {
            ApiError::body_too_large(format!("the body is larger than {max_bytes} bytes"))
        })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::new(
            Code::InvalidJson,
            format!("the body is not valid JSON: {e}"),
        )
    })
}

impl<T: DeserializeOwned + Send> FromRequest<AdminState> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AdminState) -> Result<Self, Self::Rejection> {
        let value = json_value(req, state.control.limits().max_body_bytes).await?;
        if !value.is_object() {
            return Err(ApiError::validation(vec![FieldProblem {
                loc: vec!["body".into()],
                msg: "expected a JSON object".into(),
                kind: "type_error".into(),
            }]));
        }
        serde_json::from_value(value)
            .map(Body)
            .map_err(|e| ApiError::validation(vec![serde_problem(&e.to_string())]))
    }
}

/// A JSON body kept as a [`Value`] (definitions, draft items).
pub struct JsonValue(pub Value);

impl FromRequest<AdminState> for JsonValue {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AdminState) -> Result<Self, Self::Rejection> {
        json_value(req, state.control.limits().max_body_bytes)
            .await
            .map(JsonValue)
    }
}

/// `limit` / `offset` query parameters of lists (and the rest of the query string).
#[derive(Debug, Clone)]
pub struct Paging {
    /// Page size (default [`DEFAULT_PAGE_LIMIT`], at most `ControlLimits::max_page_limit`).
    pub limit: u64,
    /// Items skipped.
    pub offset: u64,
    /// Every query parameter, in order.
    pub params: Vec<(String, String)>,
}

impl FromRequestParts<AdminState> for Paging {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AdminState,
    ) -> Result<Self, Self::Rejection> {
        let max_limit = state.control.limits().max_page_limit;
        let query = parts.uri.query().unwrap_or("");
        let params: Vec<(String, String)> = serde_urlencoded_pairs(query);
        let mut paging = Paging {
            limit: DEFAULT_PAGE_LIMIT.min(max_limit),
            offset: 0,
            params: params.clone(),
        };
        for (k, v) in &params {
            let field = |name: &str, max: u64| -> Result<u64, ApiError> {
                match v.parse::<u64>() {
                    Ok(n) if n <= max => Ok(n),
                    _ => Err(ApiError::validation(vec![FieldProblem {
                        loc: vec!["params".into(), name.into()],
                        msg: format!("expected an integer from 0 to {max}"),
                        kind: "value_error".into(),
                    }])),
                }
            };
            match k.as_str() {
                "limit" => paging.limit = field("limit", max_limit)?,
                "offset" => paging.offset = field("offset", u64::MAX)?,
                _ => {}
            }
        }
        Ok(paging)
    }
}

/// Every query parameter, decoded and unvalidated (for endpoints with their own rules, such as
/// logs).
pub struct QueryParams(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(QueryParams(serde_urlencoded_pairs(
            parts.uri.query().unwrap_or(""),
        )))
    }
}

/// Splits a query string into decoded pairs.
fn serde_urlencoded_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_become_field_problems() {
        let p = serde_problem("unknown field `colour`, expected one of `name`");
        assert_eq!(p.loc, vec![Value::from("body"), Value::from("colour")]);
        assert_eq!(p.kind, "extra_forbidden");
        let p = serde_problem("missing field `email`");
        assert_eq!(p.kind, "missing");
        assert_eq!(p.loc[1], Value::from("email"));
        assert_eq!(serde_problem("invalid type").kind, "type_error");
    }

    #[test]
    fn throttle_addresses() {
        let real: IpAddr = [10, 0, 0, 1].into();
        assert_eq!(throttle_addr(Some(real), "a@b"), real);
        let a = throttle_addr(None, "a@b");
        assert_eq!(a, throttle_addr(None, " A@B "));
        assert_ne!(a, throttle_addr(None, "c@d"));
        assert!(a.to_string().starts_with("2001:db8:"), "{a}");
    }

    #[test]
    fn query_decoding() {
        assert_eq!(
            serde_urlencoded_pairs("a=1&b=x%20y&c=%zz&d+e=%41"),
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "x y".into()),
                ("c".into(), "%zz".into()),
                ("d e".into(), "A".into())
            ]
        );
    }
}
