//! Response helpers of the admin API: lists (`{"data", "page"}`), 201 and 204 answers.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

use super::extract::Paging;
use crate::http::ApiError;

/// The result of every handler.
pub(crate) type Answer = Result<Response, ApiError>;

/// 200 with a JSON body.
pub(crate) fn ok<T: Serialize>(body: T) -> Answer {
    Ok(Json(body).into_response())
}

/// 201 with a JSON body.
pub(crate) fn created<T: Serialize>(body: T) -> Answer {
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// 204 without a body.
pub(crate) fn no_content() -> Answer {
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// 200 with one page of `items`: `{"data": [...], "page": {"total", "limit", "offset"}}`.
pub(crate) fn list<T: Serialize>(items: Vec<T>, paging: &Paging) -> Answer {
    let total = items.len() as u64;
    let data: Vec<T> = items
        .into_iter()
        .skip(usize::try_from(paging.offset).unwrap_or(usize::MAX))
        .take(usize::try_from(paging.limit).unwrap_or(usize::MAX))
        .collect();
    ok(json!({"data": data,
              "page": {"total": total, "limit": paging.limit, "offset": paging.offset}}))
}
