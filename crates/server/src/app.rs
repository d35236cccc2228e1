//! The shared state of the HTTP server and the assembly of its routes:
//! `/healthz`, `/readyz`, `/metrics` ([`crate::ops`]), `/admin/api/v1/…` ([`crate::admin`]),
//! `/console/`, and every other path to the runtime of user APIs ([`crate::runtime::handler`]).
//!
//! Every response carries `x-request-id` (set by [`request_id_layer`]; the runtime logs the same
//! id with the request's log entry).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use axum::Router;
use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

use crate::config::Config;
use crate::logs::RequestLogs;
use crate::metrics::Metrics;
use crate::runtime::registry::Runtime;

/// Resolves a project id or slug (the `projectId` header of Cosmocloud-style URLs) to a slug.
pub type ProjectResolver = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Shared state of every handler (cheap to clone).
#[derive(Clone)]
pub struct AppState {
    inner: Arc<AppInner>,
}

/// What [`AppState`] holds.
pub struct AppInner {
    /// The validated configuration.
    pub config: Config,
    /// Deployed environments.
    pub runtime: Arc<Runtime>,
    /// Request logs.
    pub logs: RequestLogs,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// The document store (user data and system collections).
    pub store: stratus_docstore::Store,
    /// Project id/slug → slug.
    pub resolve_project: ProjectResolver,
    /// False until start-up deploys are done, and again once shutdown begins.
    pub ready: AtomicBool,
    /// Runtime requests being served.
    pub in_flight: AtomicU64,
}

impl std::ops::Deref for AppState {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.inner
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

impl AppState {
    /// Wraps the parts.
    pub fn new(inner: AppInner) -> AppState {
        AppState {
            inner: Arc::new(inner),
        }
    }

    /// Marks the server ready (or not).
    pub fn set_ready(&self, ready: bool) {
        self.inner.ready.store(ready, Ordering::SeqCst);
    }

    /// Whether the server is ready.
    pub fn is_ready(&self) -> bool {
        self.inner.ready.load(Ordering::SeqCst)
    }
}

/// The id of one request (also in its log entry).
#[derive(Debug, Clone)]
pub struct RequestId(pub Arc<str>);

struct IdSource {
    prefix: u64,
    counter: AtomicU64,
}

fn id_source() -> &'static IdSource {
    static SOURCE: std::sync::OnceLock<IdSource> = std::sync::OnceLock::new();
    SOURCE.get_or_init(|| IdSource {
        prefix: rand::random::<u64>() & 0xffff_ffff_ffff,
        counter: AtomicU64::new(0),
    })
}

/// A new request id: 12 hex digits random per process + 8 hex digits of a counter.
pub fn new_request_id() -> RequestId {
    let s = id_source();
    let n = s.counter.fetch_add(1, Ordering::Relaxed) & 0xffff_ffff;
    RequestId(format!("{:012x}{n:08x}", s.prefix).into())
}

/// Middleware: gives the request an id (extension [`RequestId`]) and the response its
/// `x-request-id` header.
pub async fn request_id_layer(mut req: Request, next: Next) -> Response {
    let id = new_request_id();
    req.extensions_mut().insert(id.clone());
    let mut resp = next.run(req).await;
    if let Ok(v) = HeaderValue::from_str(&id.0) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}

/// The whole HTTP application: ops endpoints, `admin` (nested at `/admin/api/v1`), the console
/// page, and the runtime for every other path.
pub fn router(state: AppState, admin: Router) -> Router {
    Router::new()
        .route("/healthz", axum::routing::get(crate::ops::healthz))
        .route("/readyz", axum::routing::get(crate::ops::readyz))
        .route("/metrics", axum::routing::get(crate::ops::metrics))
        .route("/console", axum::routing::get(crate::ops::console))
        .route("/console/", axum::routing::get(crate::ops::console))
        .fallback(crate::runtime::handler::handle)
        .with_state(state)
        .nest("/admin/api/v1", admin)
        .layer(axum::middleware::from_fn(request_id_layer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_unique_and_fixed_width() {
        let a = new_request_id();
        let b = new_request_id();
        assert_ne!(a.0, b.0);
        assert_eq!(a.0.len(), 20);
        assert!(a.0.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
