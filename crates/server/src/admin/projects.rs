//! Handlers of `projects*` (projects, environments, members) and `api-keys*`.

use axum::extract::State;
use serde::Deserialize;
use serde_json::json;
use stratus_auth::roles::{
    CreateProject, DeleteProject, ManageApiKeys, ManageEnvironments, ManageMembers, ProjectRole,
    ViewProject,
};

use super::AdminState;
use super::extract::{
    Body, Caller, OrgAuth, Paging, PathArgs, ProjectAuth, authorize_named, blocking,
};
use super::respond::{Answer, created, list, no_content, ok};
use crate::control::{ControlError, ProjectInfo, parse_project_role};
use crate::http::{ApiError, FieldProblem};

/// `POST projects` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewProjectBody {
    name: String,
}

/// `POST projects/{p}/environments` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewEnvironmentBody {
    name: String,
}

/// `PUT projects/{p}/members/{email}` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MemberBody {
    role: String,
}

/// `POST api-keys` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewApiKeyBody {
    project: String,
    role: String,
    name: String,
}

fn role(name: &str) -> Result<ProjectRole, ApiError> {
    parse_project_role(name).ok_or_else(|| {
        ApiError::from(ControlError::field(
            "role",
            "must be read-only, developer or admin",
            "value_error",
        ))
    })
}

fn project_json(control: &crate::control::ControlPlane, p: &ProjectInfo) -> serde_json::Value {
    let deployments = control.deployments(p).unwrap_or_default();
    json!({"id": p.id, "name": p.slug, "slug": p.slug, "org": p.org,
           "environments": p.environments, "deployments": deployments})
}

pub(crate) async fn list_projects(
    State(st): State<AdminState>,
    caller: Caller,
    paging: Paging,
) -> Answer {
    let control = st.control.clone();
    let items = blocking(move || {
        let projects = control.list_projects(&caller.principal)?;
        Ok(projects
            .iter()
            .map(|p| project_json(&control, p))
            .collect::<Vec<_>>())
    })
    .await?;
    list(items, &paging)
}

pub(crate) async fn create_project(
    State(st): State<AdminState>,
    a: OrgAuth<CreateProject>,
    Body(b): Body<NewProjectBody>,
) -> Answer {
    let control = st.control.clone();
    created(
        blocking(move || {
            let p = control.create_project(&a.auth, &b.name)?;
            Ok(project_json(&control, &p))
        })
        .await?,
    )
}

pub(crate) async fn get_project(
    State(st): State<AdminState>,
    a: ProjectAuth<ViewProject>,
) -> Answer {
    let control = st.control.clone();
    ok(blocking(move || Ok(project_json(&control, &a.project))).await?)
}

pub(crate) async fn delete_project(
    State(st): State<AdminState>,
    a: ProjectAuth<DeleteProject>,
) -> Answer {
    let control = st.control.clone();
    let deployer = st.deployer.clone();
    blocking(move || control.delete_project(&a.auth, deployer.as_ref())).await?;
    no_content()
}

pub(crate) async fn list_environments(
    State(st): State<AdminState>,
    a: ProjectAuth<ViewProject>,
    paging: Paging,
) -> Answer {
    let control = st.control.clone();
    let items = blocking(move || {
        let deployments = control.deployments(&a.project)?;
        Ok(a.project
            .environments
            .iter()
            .map(|e| {
                let d = deployments.iter().find(|d| &d.environment == e);
                json!({"name": e, "deployment": d,
                       "database": crate::wire::project_database_name(&a.project.slug, e)})
            })
            .collect::<Vec<_>>())
    })
    .await?;
    list(items, &paging)
}

pub(crate) async fn create_environment(
    State(st): State<AdminState>,
    a: ProjectAuth<ManageEnvironments>,
    Body(b): Body<NewEnvironmentBody>,
) -> Answer {
    let control = st.control.clone();
    let slug = a.project.slug.clone();
    let name = b.name.clone();
    blocking(move || control.create_environment(&a.auth, &b.name)).await?;
    created(json!({"name": name, "deployment": null,
                   "database": crate::wire::project_database_name(&slug, &name)}))
}

pub(crate) async fn delete_environment(
    State(st): State<AdminState>,
    a: ProjectAuth<ManageEnvironments>,
    PathArgs((_, e)): PathArgs<(String, String)>,
) -> Answer {
    let control = st.control.clone();
    let deployer = st.deployer.clone();
    blocking(move || control.delete_environment(&a.auth, &e, deployer.as_ref())).await?;
    no_content()
}

pub(crate) async fn list_members(
    State(st): State<AdminState>,
    a: ProjectAuth<ViewProject>,
    paging: Paging,
) -> Answer {
    let control = st.control.clone();
    list(
        blocking(move || control.list_members(&a.auth)).await?,
        &paging,
    )
}

pub(crate) async fn put_member(
    State(st): State<AdminState>,
    a: ProjectAuth<ManageMembers>,
    PathArgs((_, email)): PathArgs<(String, String)>,
    Body(b): Body<MemberBody>,
) -> Answer {
    let control = st.control.clone();
    let role = role(&b.role)?;
    ok(blocking(move || control.set_member(&a.auth, &email, role)).await?)
}

pub(crate) async fn delete_member(
    State(st): State<AdminState>,
    a: ProjectAuth<ManageMembers>,
    PathArgs((_, email)): PathArgs<(String, String)>,
) -> Answer {
    let control = st.control.clone();
    blocking(move || control.remove_member(&a.auth, &email)).await?;
    no_content()
}

pub(crate) async fn list_api_keys(
    State(st): State<AdminState>,
    caller: Caller,
    paging: Paging,
) -> Answer {
    let project = paging
        .params
        .iter()
        .find(|(k, _)| k == "project")
        .map(|(_, v)| v.clone())
        .ok_or_else(|| {
            ApiError::validation(vec![FieldProblem {
                loc: vec!["params".into(), "project".into()],
                msg: "the project whose keys to list is required".into(),
                kind: "missing".into(),
            }])
        })?;
    let (_, auth) = authorize_named::<ManageApiKeys>(&st, &caller, project).await?;
    let control = st.control.clone();
    list(
        blocking(move || control.list_api_keys(&auth)).await?,
        &paging,
    )
}

pub(crate) async fn create_api_key(
    State(st): State<AdminState>,
    caller: Caller,
    Body(b): Body<NewApiKeyBody>,
) -> Answer {
    let role = role(&b.role)?;
    let (_, auth) = authorize_named::<ManageApiKeys>(&st, &caller, b.project).await?;
    let control = st.control.clone();
    created(blocking(move || control.create_api_key(&auth, role, &b.name)).await?)
}

pub(crate) async fn delete_api_key(
    State(st): State<AdminState>,
    caller: Caller,
    PathArgs(id): PathArgs<String>,
) -> Answer {
    let control = st.control.clone();
    let key = id.clone();
    let project = blocking(move || control.api_key_project(&key)).await?;
    let (_, auth) = authorize_named::<ManageApiKeys>(&st, &caller, project)
        .await
        .map_err(|e| {
            if e.status.as_u16() == 404 {
                ApiError::from(ControlError::not_found(format!("no API key '{id}'")))
            } else {
                e
            }
        })?;
    let control = st.control.clone();
    blocking(move || control.delete_api_key(&auth, &id)).await?;
    no_content()
}
