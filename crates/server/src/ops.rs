//! Operations endpoints: `/healthz` (the process answers), `/readyz` (start-up deploys done and
//! not shutting down; 503 otherwise), `/metrics` (Prometheus text), and the `/console/` page.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde_json::json;

use crate::app::AppState;
use crate::metrics::Gauges;

/// `GET /healthz`.
pub async fn healthz() -> Response {
    axum::Json(json!({"status": "ok"})).into_response()
}

/// `GET /readyz`.
pub async fn readyz(State(app): State<AppState>) -> Response {
    if app.is_ready() {
        axum::Json(json!({"status": "ready", "environments": app.runtime.list().len()}))
            .into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"code": "unavailable", "detail": "starting or shutting down"})),
        )
            .into_response()
    }
}

/// `GET /metrics`.
pub async fn metrics(State(app): State<AppState>) -> Response {
    let writer = app.store.writer_stats();
    let g = Gauges {
        log_queue_depth: app.logs.queue_depth() as u64,
        log_dropped: app.logs.dropped(),
        log_entries: app.logs.entries(),
        log_disk_bytes: app.logs.disk_bytes(),
        store_queue_depth: writer.queued,
        store_commits: writer.commits,
        store_operations: writer.operations,
        store_settles: writer.settles,
        environments: app.runtime.list().len() as u64,
        in_flight: app.in_flight.load(std::sync::atomic::Ordering::Relaxed),
    };
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        app.metrics.render(g),
    )
        .into_response()
}

/// `GET /console/`: the web console is not part of this build; the page says so and points to
/// the admin API.
pub async fn console() -> Html<&'static str> {
    Html(
        "<!doctype html><meta charset=utf-8><title>Stratus</title>\
         <h1>Stratus</h1><p>The web console is not part of this build. \
         Use the admin API at <a href=\"/admin/api/v1/openapi.json\">/admin/api/v1</a> \
         (see docs/admin-api.md) or the <code>stratus</code> CLI.</p>",
    )
}
