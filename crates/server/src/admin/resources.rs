//! Handlers of project resources: the draft's models, APIs and sub-flows, the whole draft,
//! releases, deployment, logs and secrets.

use axum::extract::State;
use serde::Deserialize;
use serde_json::{Map, Value};
use stratus_auth::roles::{Deploy, EditResources, ManageSecrets, ReadLogs, ViewProject};

use super::AdminState;
use super::extract::{Body, JsonValue, Paging, PathArgs, ProjectAuth, QueryParams, blocking};
use super::respond::{Answer, created, list, no_content, ok};
use crate::control::{ControlError, DraftKind};
use crate::http::ApiError;

/// A draft list chosen at compile time (one handler set serves models, APIs and sub-flows).
pub(crate) trait Kind: Send + Sync + 'static {
    const KIND: DraftKind;
}

/// `models`.
pub(crate) struct Models;
/// `apis`.
pub(crate) struct Apis;
/// `subflows`.
pub(crate) struct Subflows;

impl Kind for Models {
    const KIND: DraftKind = DraftKind::Models;
}
impl Kind for Apis {
    const KIND: DraftKind = DraftKind::Apis;
}
impl Kind for Subflows {
    const KIND: DraftKind = DraftKind::Subflows;
}

pub(crate) async fn list_items<K: Kind>(
    State(st): State<AdminState>,
    a: ProjectAuth<ViewProject>,
    paging: Paging,
) -> Answer {
    let control = st.control.clone();
    list(
        blocking(move || control.list_items(&a.auth, K::KIND)).await?,
        &paging,
    )
}

pub(crate) async fn get_item<K: Kind>(
    State(st): State<AdminState>,
    a: ProjectAuth<ViewProject>,
    PathArgs((_, name)): PathArgs<(String, String)>,
) -> Answer {
    let control = st.control.clone();
    ok(blocking(move || control.get_item(&a.auth, K::KIND, &name)).await?)
}

pub(crate) async fn create_item<K: Kind>(
    State(st): State<AdminState>,
    a: ProjectAuth<EditResources>,
    JsonValue(item): JsonValue,
) -> Answer {
    let control = st.control.clone();
    created(
        blocking(move || control.put_item(&a.auth, K::KIND, None, item))
            .await?
            .0,
    )
}

pub(crate) async fn replace_item<K: Kind>(
    State(st): State<AdminState>,
    a: ProjectAuth<EditResources>,
    PathArgs((_, name)): PathArgs<(String, String)>,
    JsonValue(item): JsonValue,
) -> Answer {
    let control = st.control.clone();
    let (item, was_created) =
        blocking(move || control.put_item(&a.auth, K::KIND, Some(&name), item)).await?;
    if was_created { created(item) } else { ok(item) }
}

pub(crate) async fn delete_item<K: Kind>(
    State(st): State<AdminState>,
    a: ProjectAuth<EditResources>,
    PathArgs((_, name)): PathArgs<(String, String)>,
) -> Answer {
    let control = st.control.clone();
    blocking(move || control.delete_item(&a.auth, K::KIND, &name)).await?;
    no_content()
}

pub(crate) async fn get_definition(
    State(st): State<AdminState>,
    a: ProjectAuth<ViewProject>,
) -> Answer {
    let control = st.control.clone();
    ok(blocking(move || control.draft(&a.auth)).await?)
}

pub(crate) async fn list_releases(
    State(st): State<AdminState>,
    a: ProjectAuth<ViewProject>,
    paging: Paging,
) -> Answer {
    let control = st.control.clone();
    list(
        blocking(move || control.list_releases(&a.auth)).await?,
        &paging,
    )
}

pub(crate) async fn create_release(State(st): State<AdminState>, a: ProjectAuth<Deploy>) -> Answer {
    let control = st.control.clone();
    created(blocking(move || control.create_release(&a.auth)).await?)
}

pub(crate) async fn get_release(
    State(st): State<AdminState>,
    a: ProjectAuth<ViewProject>,
    PathArgs((_, n)): PathArgs<(String, String)>,
) -> Answer {
    let number: i64 = n
        .parse()
        .map_err(|_| ApiError::from(ControlError::path("n", "expected a release number")))?;
    let control = st.control.clone();
    ok(blocking(move || control.get_release(&a.auth, number)).await?)
}

pub(crate) async fn deploy(
    State(st): State<AdminState>,
    a: ProjectAuth<Deploy>,
    PathArgs((_, env)): PathArgs<(String, String)>,
    JsonValue(body): JsonValue,
) -> Answer {
    let control = st.control.clone();
    let deployer = st.deployer.clone();
    ok(blocking(move || control.deploy(&a.auth, &env, body, deployer.as_ref())).await?)
}

pub(crate) async fn logs(
    State(st): State<AdminState>,
    a: ProjectAuth<ReadLogs>,
    PathArgs((_, env)): PathArgs<(String, String)>,
    QueryParams(params): QueryParams,
) -> Answer {
    let control = st.control.clone();
    let source = st.logs.clone();
    let result =
        tokio::task::spawn_blocking(move || control.logs(&a.auth, &env, &params, source.as_ref()))
            .await
            .map_err(|e| ApiError::internal(format!("blocking task failed: {e}")))??;
    ok(result)
}

/// `PUT …/secrets/{name}` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SecretBody {
    values: Map<String, Value>,
}

pub(crate) async fn list_secrets(
    State(st): State<AdminState>,
    a: ProjectAuth<ManageSecrets>,
    PathArgs((_, env)): PathArgs<(String, String)>,
    paging: Paging,
) -> Answer {
    let control = st.control.clone();
    list(
        blocking(move || control.list_secrets(&a.auth, &env)).await?,
        &paging,
    )
}

pub(crate) async fn put_secret(
    State(st): State<AdminState>,
    a: ProjectAuth<ManageSecrets>,
    PathArgs((_, env, name)): PathArgs<(String, String, String)>,
    Body(b): Body<SecretBody>,
) -> Answer {
    let control = st.control.clone();
    let deployer = st.deployer.clone();
    let slug = a.project.slug.clone();
    ok(blocking(move || {
        let r = control.put_secret(&a.auth, &env, &name, &b.values)?;
        deployer.secrets_changed(&slug, &env);
        Ok(r)
    })
    .await?)
}

pub(crate) async fn delete_secret(
    State(st): State<AdminState>,
    a: ProjectAuth<ManageSecrets>,
    PathArgs((_, env, name)): PathArgs<(String, String, String)>,
) -> Answer {
    let control = st.control.clone();
    let deployer = st.deployer.clone();
    let slug = a.project.slug.clone();
    blocking(move || {
        control.delete_secret(&a.auth, &env, &name)?;
        deployer.secrets_changed(&slug, &env);
        Ok(())
    })
    .await?;
    no_content()
}

/// The OpenAPI document (no authentication).
pub(crate) async fn openapi_json() -> Answer {
    ok(super::openapi::openapi())
}
