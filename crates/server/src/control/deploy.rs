//! Deploying definitions to environments through the [`Deployer`] trait (the runtime
//! implements it; the control plane does not depend on the runtime), the record of what is
//! deployed where, and the [`LogSource`] trait for request logs.
//!
//! Invariants: a definition reaches the recorded state (release, draft, deployment record)
//! only after the deployer accepted it; a refused definition changes nothing and answers 400
//! `validation_failed` with the deployer's error list.

use bson::doc;
use serde::Serialize;
use serde_json::Value;
use stratus_auth::roles::{Authorized, Deploy, ReadLogs};

use super::db::{DEPLOYMENTS, SYSTEM_DB, find_all, find_one, int, iso_time, text};
use super::drafts::check_definition;
use super::{ControlError, ControlPlane, ProjectInfo};
use crate::http::ApiError;

/// Turns definitions into running APIs (implemented by the runtime).
pub trait Deployer: Send + Sync {
    /// Compiles and activates `definition` for `project` (slug) / `env`; on failure the
    /// errors as `{file?, path, code, message}` objects and nothing changes.
    fn deploy(&self, project: &str, env: &str, definition: &Value) -> Result<Value, Vec<Value>>;
    /// Stops serving `project`/`env` (no-op when nothing is deployed).
    fn undeploy(&self, project: &str, env: &str);
    /// The secrets of `project`/`env` changed: a deployed environment picks up the new values
    /// (flows' `$.secrets`, HMAC provider keys). Default: nothing to do.
    fn secrets_changed(&self, project: &str, env: &str) {
        let _ = (project, env);
    }
}

/// Answers request-log queries (implemented by the request-log subsystem).
pub trait LogSource: Send + Sync {
    /// The log entries of `project` (slug) / `env` matching the query parameters, as
    /// `{"data": [...], "page": {...}}`.
    #[expect(
        clippy::result_large_err,
        reason = "the brief fixes this signature; ApiError is the shared error shape"
    )]
    fn query(
        &self,
        project: &str,
        env: &str,
        params: &[(String, String)],
    ) -> Result<Value, ApiError>;
}

/// What is deployed in an environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentInfo {
    /// The environment.
    pub environment: String,
    /// The release deployed.
    pub release: i64,
    /// When (ISO-8601 UTC).
    pub deployed_at: String,
    /// By whom.
    pub deployed_by: String,
}

/// The answer of a successful deployment.
#[derive(Debug, Clone, Serialize)]
pub struct DeployOutcome {
    /// What is now deployed.
    #[serde(flatten)]
    pub deployment: DeploymentInfo,
    /// The deployer's report.
    pub report: Value,
}

fn deployment_from(d: &bson::Document) -> DeploymentInfo {
    DeploymentInfo {
        environment: text(d, "env"),
        release: int(d, "release"),
        deployed_at: iso_time(int(d, "deployedAt")),
        deployed_by: text(d, "deployedBy"),
    }
}

impl ControlPlane {
    /// Deploys to environment `env` either a release (`{"release": N}`) or a whole project
    /// definition (which becomes a new release and the draft).
    pub fn deploy(
        &self,
        auth: &Authorized<Deploy>,
        env: &str,
        body: Value,
        deployer: &dyn Deployer,
    ) -> Result<DeployOutcome, ControlError> {
        let project = self.authorized_project(auth.project())?;
        self.require_env(&project, env)?;
        let by = self.actor_name(auth.subject());
        let release_only = body
            .as_object()
            .filter(|o| o.len() == 1 && o.contains_key("release"))
            .map(|o| o.get("release").cloned());
        let (number, report) = match release_only {
            Some(n) => {
                let number = n.as_ref().and_then(Value::as_i64).ok_or_else(|| {
                    ControlError::field("release", "expected a release number", "type_error")
                })?;
                let release = self.release_of(&project.id, number)?.ok_or_else(|| {
                    ControlError::field("release", format!("no release {number}"), "value_error")
                })?;
                let def = release.definition.unwrap_or(Value::Null);
                let report = deployer
                    .deploy(&project.slug, env, &def)
                    .map_err(ControlError::DeployFailed)?;
                (number, report)
            }
            None => {
                let mut def = body;
                check_definition(&project, &mut def, self.limits.max_definition_bytes)?;
                let report = deployer
                    .deploy(&project.slug, env, &def)
                    .map_err(ControlError::DeployFailed)?;
                let release = self.insert_release(&project, &def, &by)?;
                self.save_draft(&project, &def)?;
                (release.number, report)
            }
        };
        let now = self.now_secs();
        tracing::info!(target: "control", action = "deploy", project = %project.slug, env, release = number, actor = %by);
        let id = format!("{}:{env}", project.id);
        self.store.replace_one(
            SYSTEM_DB,
            DEPLOYMENTS,
            doc! {"_id": &id},
            doc! {"_id": &id, "project": &project.id, "env": env, "release": number,
            "deployedAt": now, "deployedBy": &by},
            true,
        )?;
        Ok(DeployOutcome {
            deployment: DeploymentInfo {
                environment: env.to_string(),
                release: number,
                deployed_at: iso_time(now),
                deployed_by: by,
            },
            report,
        })
    }

    /// Deploys `definition` to `project`/`env` as the system, creating the project and the
    /// environment when missing (`serve --app DIR`, dev mode).
    pub fn deploy_as_system(
        &self,
        project: &str,
        env: &str,
        definition: Value,
        deployer: &dyn Deployer,
    ) -> Result<DeployOutcome, ControlError> {
        let project = self.ensure_project_environment(project, env)?;
        let system = self.system_principal()?;
        let (_, cap) = self.authorize::<Deploy>(&system, &project.id)?;
        self.deploy(&cap, env, definition, deployer)
    }

    /// What is deployed in each environment of a project (environments without a deployment
    /// are absent).
    pub fn deployments(&self, project: &ProjectInfo) -> Result<Vec<DeploymentInfo>, ControlError> {
        Ok(find_all(
            &self.store,
            DEPLOYMENTS,
            doc! {"project": &project.id},
            doc! {"env": 1},
        )?
        .iter()
        .map(deployment_from)
        .collect())
    }

    /// Every active deployment as `(project slug, env, definition)`, for the server to
    /// re-deploy at start.
    pub fn active_deployments(&self) -> Result<Vec<(String, String, Value)>, ControlError> {
        let mut out = Vec::new();
        for project in self.all_projects()? {
            for d in self.deployments(&project)? {
                if let Some(def) = self
                    .release_of(&project.id, d.release)?
                    .and_then(|r| r.definition)
                {
                    out.push((project.slug.clone(), d.environment, def));
                }
            }
        }
        Ok(out)
    }

    /// The request logs of environment `env`.
    #[expect(
        clippy::result_large_err,
        reason = "passes LogSource's ApiError through unchanged"
    )]
    pub fn logs(
        &self,
        auth: &Authorized<ReadLogs>,
        env: &str,
        params: &[(String, String)],
        source: &dyn LogSource,
    ) -> Result<Value, ApiError> {
        let project = self.authorized_project(auth.project())?;
        self.require_env(&project, env)?;
        source.query(&project.slug, env, params)
    }

    /// The deployment record of one environment, if any.
    pub fn deployment(
        &self,
        project: &ProjectInfo,
        env: &str,
    ) -> Result<Option<DeploymentInfo>, ControlError> {
        Ok(find_one(
            &self.store,
            DEPLOYMENTS,
            doc! {"_id": format!("{}:{env}", project.id)},
        )?
        .map(|d| deployment_from(&d)))
    }
}
