//! Organisations, projects, environments and project members, and the permission check
//! ([`ControlPlane::authorize`]) that mints the capabilities every other module requires.
//!
//! Invariants: a project slug is unique, matches `^[a-z0-9][a-z0-9-]{0,62}$` and is not a
//! reserved word; a project always has at least one environment; a caller with no role in a
//! project gets `not_found` for it and everything under it.

use bson::{Bson, Document, doc};
use serde::Serialize;
use stratus_auth::AuthError;
use stratus_auth::roles::{
    Authorized, CreateProject, DeleteProject, ManageEnvironments, ManageMembers, OrgPermission,
    OrgRole, Principal, ProjectPermission, ProjectRef, ProjectRole, Subject, ViewOrg, ViewProject,
    authorize_org, authorize_project,
};
use stratus_types::ErrorCode;

use super::db::{self, MEMBERS, ORGS, PROJECTS, SYSTEM_DB, find_all, find_one, int, text};
use super::{ControlError, ControlPlane, DEFAULT_ENVIRONMENT, DEFAULT_ORG};
use crate::control::deploy::Deployer;

/// A project as the rest of the server sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProjectInfo {
    /// Project id (24 hex).
    pub id: String,
    /// Slug (the name used in URLs).
    pub slug: String,
    /// Owning organisation id.
    pub org: String,
    /// Environment names, in creation order.
    pub environments: Vec<String>,
}

/// An organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrgInfo {
    /// Organisation id.
    pub id: String,
    /// Slug.
    pub slug: String,
    /// Display name.
    pub name: String,
}

/// A project member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberInfo {
    /// The member's e-mail.
    pub email: String,
    /// The member's role.
    pub role: ProjectRole,
}

fn project_from(doc: &Document) -> ProjectInfo {
    let environments = doc
        .get_array("environments")
        .map(|a| {
            a.iter()
                .filter_map(|b| b.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    ProjectInfo {
        id: text(doc, "_id"),
        slug: text(doc, "slug"),
        org: text(doc, "org"),
        environments,
    }
}

fn org_from(doc: &Document) -> OrgInfo {
    OrgInfo {
        id: text(doc, "_id"),
        slug: text(doc, "slug"),
        name: text(doc, "name"),
    }
}

/// Parses a project role name (`read-only`, `developer`, `admin`).
pub(crate) fn parse_project_role(s: &str) -> Option<ProjectRole> {
    match s {
        "read-only" => Some(ProjectRole::ReadOnly),
        "developer" => Some(ProjectRole::Developer),
        "admin" => Some(ProjectRole::Admin),
        _ => None,
    }
}

/// The name of a project role.
pub(crate) fn project_role_name(r: ProjectRole) -> &'static str {
    match r {
        ProjectRole::ReadOnly => "read-only",
        ProjectRole::Developer => "developer",
        ProjectRole::Admin => "admin",
    }
}

/// Parses an organisation role name.
pub(crate) fn parse_org_role(s: &str) -> Option<OrgRole> {
    match s {
        "member" => Some(OrgRole::Member),
        "project-creator" => Some(OrgRole::ProjectCreator),
        "manager" => Some(OrgRole::Manager),
        "billing-admin" => Some(OrgRole::BillingAdmin),
        "owner" => Some(OrgRole::Owner),
        _ => None,
    }
}

/// The name of an organisation role.
pub(crate) fn org_role_name(r: OrgRole) -> &'static str {
    match r {
        OrgRole::Member => "member",
        OrgRole::ProjectCreator => "project-creator",
        OrgRole::Manager => "manager",
        OrgRole::BillingAdmin => "billing-admin",
        OrgRole::Owner => "owner",
    }
}

/// Validates a slug for a project or environment (`field` names the body field).
pub(crate) fn check_slug(value: &str, field: &str) -> Result<(), ControlError> {
    if !db::is_slug(value) {
        return Err(ControlError::field(
            field,
            "must match ^[a-z0-9][a-z0-9-]{0,62}$",
            "value_error",
        ));
    }
    Ok(())
}

fn not_found_project(id_or_slug: &str) -> ControlError {
    ControlError::not_found(format!("no project '{id_or_slug}'"))
}

impl ControlPlane {
    pub(crate) fn ensure_default_org(&self) -> Result<String, ControlError> {
        if let Some(d) = find_one(&self.store, ORGS, doc! {"slug": DEFAULT_ORG})? {
            return Ok(text(&d, "_id"));
        }
        let id = db::new_id();
        self.store.insert_one(
            SYSTEM_DB,
            ORGS,
            doc! {"_id": &id, "slug": DEFAULT_ORG, "name": "Default organisation",
            "createdAt": self.now_secs()},
        )?;
        Ok(id)
    }

    pub(crate) fn all_org_ids(&self) -> Result<Vec<String>, ControlError> {
        Ok(find_all(&self.store, ORGS, doc! {}, doc! {"_id": 1})?
            .iter()
            .map(|d| text(d, "_id"))
            .collect())
    }

    /// The project with this id or slug, if it exists (no permission check: for the runtime).
    pub fn project(&self, id_or_slug: &str) -> Option<ProjectInfo> {
        self.find_project(id_or_slug).ok().flatten()
    }

    pub(crate) fn find_project(
        &self,
        id_or_slug: &str,
    ) -> Result<Option<ProjectInfo>, ControlError> {
        let filter = doc! {"$or": [{"_id": id_or_slug}, {"slug": id_or_slug}]};
        Ok(find_one(&self.store, PROJECTS, filter)?.map(|d| project_from(&d)))
    }

    /// Checks permission `P` of `principal` in the project `id_or_slug`: `not_found` when the
    /// project does not exist or the caller has no role in it, `forbidden` when the role is
    /// too weak.
    pub fn authorize<P: ProjectPermission>(
        &self,
        principal: &Principal,
        id_or_slug: &str,
    ) -> Result<(ProjectInfo, Authorized<P>), ControlError> {
        let project = self
            .find_project(id_or_slug)?
            .ok_or_else(|| not_found_project(id_or_slug))?;
        let auth = authorize_project::<P>(
            principal,
            ProjectRef {
                org: &project.org,
                project: &project.id,
            },
        )
        .map_err(|e| match e {
            AuthError::NotFound => not_found_project(id_or_slug),
            other => ControlError::Auth(other),
        })?;
        Ok((project, auth))
    }

    /// Checks organisation permission `P` (`org` is an id or slug; `None`: the default
    /// organisation).
    pub fn authorize_in_org<P: OrgPermission>(
        &self,
        principal: &Principal,
        org: Option<&str>,
    ) -> Result<(OrgInfo, Authorized<P>), ControlError> {
        let key = org.unwrap_or(DEFAULT_ORG);
        let found = find_one(
            &self.store,
            ORGS,
            doc! {"$or": [{"_id": key}, {"slug": key}]},
        )?
        .map(|d| org_from(&d))
        .ok_or_else(|| ControlError::not_found(format!("no organisation '{key}'")))?;
        let auth = authorize_org::<P>(principal, &found.id).map_err(|e| match e {
            AuthError::NotFound => ControlError::not_found(format!("no organisation '{key}'")),
            other => ControlError::Auth(other),
        })?;
        Ok((found, auth))
    }

    /// The organisations the caller belongs to.
    pub fn list_orgs(&self, principal: &Principal) -> Result<Vec<OrgInfo>, ControlError> {
        Ok(find_all(&self.store, ORGS, doc! {}, doc! {"slug": 1})?
            .iter()
            .map(org_from)
            .filter(|o| authorize_org::<ViewOrg>(principal, &o.id).is_ok())
            .collect())
    }

    /// The projects the caller has a role in (every project of its organisations for owners).
    pub fn list_projects(&self, principal: &Principal) -> Result<Vec<ProjectInfo>, ControlError> {
        Ok(find_all(&self.store, PROJECTS, doc! {}, doc! {"slug": 1})?
            .iter()
            .map(project_from)
            .filter(|p| {
                principal
                    .project_role(ProjectRef {
                        org: &p.org,
                        project: &p.id,
                    })
                    .is_some()
            })
            .collect())
    }

    /// Creates project `name` (its slug) in the authorised organisation, with a
    /// `development` environment; an account creator becomes its admin.
    pub fn create_project(
        &self,
        auth: &Authorized<CreateProject>,
        name: &str,
    ) -> Result<ProjectInfo, ControlError> {
        check_slug(name, "name")?;
        if name.len() == 24 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ControlError::field(
                "name",
                "a project name may not look like a project id (24 hex digits)",
                "value_error",
            ));
        }
        if db::RESERVED_SLUGS.contains(&name) {
            return Err(ControlError::field(
                "name",
                format!("'{name}' is reserved"),
                "value_error",
            ));
        }
        if self.find_project(name)?.is_some() {
            return Err(ControlError::AlreadyExists(format!(
                "a project named '{name}' already exists"
            )));
        }
        let id = db::new_id();
        let by = self.actor_name(auth.subject());
        self.store
            .insert_one(
                SYSTEM_DB,
                PROJECTS,
                doc! {"_id": &id, "slug": name, "org": auth.org(),
                "environments": [DEFAULT_ENVIRONMENT], "nextRelease": 1_i64,
                "createdAt": self.now_secs(), "createdBy": by},
            )
            .map_err(|e| {
                if e.code() == stratus_types::Code::DuplicateKey {
                    ControlError::AlreadyExists(format!("a project named '{name}' already exists"))
                } else {
                    ControlError::from(e)
                }
            })?;
        if let Subject::Account(account) = auth.subject()
            && let Some(acc) = self.account_doc(account)?
        {
            self.put_member(&id, account, &text(&acc, "email"), ProjectRole::Admin)?;
        }
        tracing::info!(target: "control", action = "create_project", project = name, actor = %self.actor_name(auth.subject()));
        Ok(ProjectInfo {
            id,
            slug: name.to_string(),
            org: auth.org().to_string(),
            environments: vec![DEFAULT_ENVIRONMENT.to_string()],
        })
    }

    /// Deletes a project and everything the control plane keeps for it (members, keys,
    /// secrets, draft, releases, deployments), undeploying each environment first. The
    /// environment databases are kept.
    pub fn delete_project(
        &self,
        auth: &Authorized<DeleteProject>,
        deployer: &dyn Deployer,
    ) -> Result<(), ControlError> {
        let project = self.authorized_project(auth.project())?;
        for env in &project.environments {
            deployer.undeploy(&project.slug, env);
        }
        for coll in [
            MEMBERS,
            db::API_KEYS,
            db::SECRETS,
            db::RELEASES,
            db::DEPLOYMENTS,
        ] {
            self.store
                .delete_many(SYSTEM_DB, coll, doc! {"project": &project.id})?;
        }
        self.store
            .delete_one(SYSTEM_DB, db::DRAFTS, doc! {"_id": &project.id})?;
        self.store
            .delete_one(SYSTEM_DB, PROJECTS, doc! {"_id": &project.id})?;
        tracing::info!(target: "control", action = "delete_project", project = %project.slug, actor = %self.actor_name(auth.subject()));
        Ok(())
    }

    pub(crate) fn authorized_project(&self, id: Option<&str>) -> Result<ProjectInfo, ControlError> {
        let id = id.ok_or_else(|| ControlError::internal("capability without a project"))?;
        self.find_project(id)?
            .ok_or_else(|| ControlError::not_found("the project no longer exists"))
    }

    /// Creates project `slug` (in the default organisation) and its environment `env` when
    /// missing, as the system (for `serve --app DIR`); returns the project.
    pub fn ensure_project_environment(
        &self,
        slug: &str,
        env: &str,
    ) -> Result<ProjectInfo, ControlError> {
        let system = self.system_principal()?;
        let project = match self.find_project(slug)? {
            Some(p) => p,
            None => {
                let (_, cap) = self.authorize_in_org::<CreateProject>(&system, None)?;
                self.create_project(&cap, slug)?
            }
        };
        if project.environments.iter().any(|e| e == env) {
            return Ok(project);
        }
        let (_, cap) = self.authorize::<ManageEnvironments>(&system, &project.id)?;
        self.create_environment(&cap, env)
    }

    /// Adds environment `name` to the project.
    pub fn create_environment(
        &self,
        auth: &Authorized<ManageEnvironments>,
        name: &str,
    ) -> Result<ProjectInfo, ControlError> {
        check_slug(name, "name")?;
        let mut project = self.authorized_project(auth.project())?;
        if project.environments.iter().any(|e| e == name) {
            return Err(ControlError::AlreadyExists(format!(
                "environment '{name}' already exists"
            )));
        }
        let max = self.limits.max_environments;
        if project.environments.len() >= max {
            return Err(ControlError::field(
                "name",
                format!("a project has at most {max} environments"),
                "value_error",
            ));
        }
        self.store.update_one(
            SYSTEM_DB,
            PROJECTS,
            doc! {"_id": &project.id},
            &Bson::Document(doc! {"$push": {"environments": name}}),
            Default::default(),
        )?;
        project.environments.push(name.to_string());
        Ok(project)
    }

    /// Removes environment `name` (undeploying it and dropping its secrets and deployment
    /// record); the last environment cannot be removed.
    pub fn delete_environment(
        &self,
        auth: &Authorized<ManageEnvironments>,
        name: &str,
        deployer: &dyn Deployer,
    ) -> Result<(), ControlError> {
        let project = self.authorized_project(auth.project())?;
        self.require_env(&project, name)?;
        if project.environments.len() == 1 {
            return Err(ControlError::path(
                "e",
                "the last environment of a project cannot be deleted",
            ));
        }
        deployer.undeploy(&project.slug, name);
        self.store.update_one(
            SYSTEM_DB,
            PROJECTS,
            doc! {"_id": &project.id},
            &Bson::Document(doc! {"$pull": {"environments": name}}),
            Default::default(),
        )?;
        let filter = doc! {"project": &project.id, "env": name};
        self.store
            .delete_many(SYSTEM_DB, db::SECRETS, filter.clone())?;
        self.store.delete_many(SYSTEM_DB, db::DEPLOYMENTS, filter)?;
        Ok(())
    }

    /// `not_found` unless the project has environment `env`.
    pub(crate) fn require_env(&self, project: &ProjectInfo, env: &str) -> Result<(), ControlError> {
        if project.environments.iter().any(|e| e == env) {
            Ok(())
        } else {
            Err(ControlError::not_found(format!(
                "project '{}' has no environment '{env}'",
                project.slug
            )))
        }
    }

    /// The project's members.
    pub fn list_members(
        &self,
        auth: &Authorized<ViewProject>,
    ) -> Result<Vec<MemberInfo>, ControlError> {
        let project = self.authorized_project(auth.project())?;
        Ok(find_all(
            &self.store,
            MEMBERS,
            doc! {"project": &project.id},
            doc! {"email": 1},
        )?
        .iter()
        .filter_map(|d| {
            parse_project_role(&text(d, "role")).map(|role| MemberInfo {
                email: text(d, "email"),
                role,
            })
        })
        .collect())
    }

    /// Gives the account `email` a role in the project (adding or changing it).
    pub fn set_member(
        &self,
        auth: &Authorized<ManageMembers>,
        email: &str,
        role: ProjectRole,
    ) -> Result<MemberInfo, ControlError> {
        let project = self.authorized_project(auth.project())?;
        let email = super::accounts::normalize_email(email);
        let account = self
            .account_by_email(&email)?
            .ok_or_else(|| ControlError::not_found(format!("no account '{email}'")))?;
        self.put_member(&project.id, &text(&account, "_id"), &email, role)?;
        tracing::info!(target: "control", action = "set_member", project = %project.slug, member = %email, role = ?role, actor = %self.actor_name(auth.subject()));
        Ok(MemberInfo { email, role })
    }

    fn put_member(
        &self,
        project: &str,
        account: &str,
        email: &str,
        role: ProjectRole,
    ) -> Result<(), ControlError> {
        let id = format!("{project}:{account}");
        self.store.replace_one(
            SYSTEM_DB,
            MEMBERS,
            doc! {"_id": &id},
            doc! {"_id": &id, "project": project, "account": account, "email": email,
            "role": project_role_name(role)},
            true,
        )?;
        Ok(())
    }

    /// Removes the account `email` from the project (`not_found` if not a member).
    pub fn remove_member(
        &self,
        auth: &Authorized<ManageMembers>,
        email: &str,
    ) -> Result<(), ControlError> {
        let project = self.authorized_project(auth.project())?;
        let email = super::accounts::normalize_email(email);
        let n = self.store.delete_one(
            SYSTEM_DB,
            MEMBERS,
            doc! {"project": &project.id, "email": &email},
        )?;
        if n == 0 {
            return Err(ControlError::not_found(format!(
                "'{email}' is not a member of this project"
            )));
        }
        Ok(())
    }

    /// The project roles of an account (project id → role).
    pub(crate) fn memberships(
        &self,
        account: &str,
    ) -> Result<Vec<(String, ProjectRole)>, ControlError> {
        Ok(find_all(
            &self.store,
            MEMBERS,
            doc! {"account": account},
            doc! {"_id": 1},
        )?
        .iter()
        .filter_map(|d| parse_project_role(&text(d, "role")).map(|r| (text(d, "project"), r)))
        .collect())
    }

    /// Every project document (for the wire credentials and deployments).
    pub(crate) fn all_projects(&self) -> Result<Vec<ProjectInfo>, ControlError> {
        Ok(find_all(&self.store, PROJECTS, doc! {}, doc! {"slug": 1})?
            .iter()
            .map(project_from)
            .collect())
    }

    /// Takes the next release number of a project (atomic).
    pub(crate) fn next_release_number(&self, project: &str) -> Result<i64, ControlError> {
        let before = self
            .store
            .find_one_and_update(
                SYSTEM_DB,
                PROJECTS,
                doc! {"_id": project},
                &Bson::Document(doc! {"$inc": {"nextRelease": 1_i64}}),
                Default::default(),
            )?
            .ok_or_else(|| ControlError::not_found("the project no longer exists"))?;
        Ok(int(&before, "nextRelease").max(1))
    }
}
