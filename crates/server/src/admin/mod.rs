//! The admin REST API, `/admin/api/v1` (CONTRACT §2; `docs/admin-api.md`).
//!
//! Thin handlers (house style habit 8): extract → authorize → call the control plane on a
//! blocking thread → map the result. Every route is one row of [`routes::ROUTES`], from which
//! both [`router`] and [`openapi::openapi`] are built.
//!
//! Invariants: every error is an [`ApiError`] (CONTRACT §3); unknown paths answer 404 and
//! known paths with another method 405, both as JSON; project-scoped handlers take a
//! [`extract::ProjectAuth`], which only a passed permission check produces.

#![expect(
    clippy::result_large_err,
    reason = "handlers answer ApiError (CONTRACT §3 shape, shared with the runtime); it is built once per failed request"
)]

mod accounts;
pub mod extract;
mod logsource;
pub mod openapi;
mod projects;
mod resources;
mod respond;
pub mod routes;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::routing::MethodRouter;

use crate::control::{ControlPlane, Deployer, LogSource};
use crate::http::ApiError;

pub use openapi::openapi;
pub use routes::{Access, ROUTES, Route, Shape};

/// The state shared by the admin handlers.
#[derive(Clone)]
pub struct AdminState {
    /// The control plane.
    pub control: Arc<ControlPlane>,
    /// Where deployments go.
    pub deployer: Arc<dyn Deployer>,
    /// Where request logs come from.
    pub logs: Arc<dyn LogSource>,
}

/// The detail of the 404 answered for paths that match no admin route.
pub const NO_ROUTE_DETAIL: &str = "no admin API route matches this path";

/// The admin API router (paths relative to `/admin/api/v1`; the server nests it there).
pub fn router(state: AdminState) -> Router {
    let mut by_path: BTreeMap<&'static str, MethodRouter<AdminState>> = BTreeMap::new();
    for route in ROUTES {
        let handler = (route.handler)();
        let merged = match by_path.remove(route.path) {
            Some(existing) => existing.merge(handler),
            None => handler,
        };
        by_path.insert(route.path, merged);
    }
    let mut router = Router::new();
    for (path, method_router) in by_path {
        router = router.route(path, method_router);
    }
    router
        .fallback(|| async { ApiError::not_found(NO_ROUTE_DETAIL) })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                stratus_types::Code::MethodNotAllowed,
                "this path does not accept this method",
            )
        })
        .with_state(state)
}
