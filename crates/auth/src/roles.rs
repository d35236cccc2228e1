//! Organisation and project roles (reference §10) and the permission check.
//!
//! Invariants:
//! - [`Authorized<P>`] has private fields and no public constructor: the only way to obtain
//!   one is [`authorize_project`] / [`authorize_org`] succeeding, so a handler or storage
//!   function that takes `Authorized<P>` cannot be reached without the check (house style
//!   habit 10);
//! - a caller with no role at all in the project (or organisation) gets `not_found`, as if
//!   it did not exist (CONTRACT §2, tenant isolation); a caller with a too-weak role gets
//!   `forbidden`;
//! - an organisation owner is admin of every project of that organisation; API keys act in
//!   exactly one project with exactly their role and have no organisation rights.
//!
//! ```
//! use stratus_auth::roles::{authorize_project, Deploy, Principal, ProjectRef, ProjectRole};
//! let dev = Principal::account("a1").with_project_role("p1", ProjectRole::Developer);
//! let cap = authorize_project::<Deploy>(&dev, ProjectRef { org: "o1", project: "p1" });
//! assert_eq!(cap.expect("developer may deploy").project(), Some("p1"));
//! ```
//!
//! A capability cannot be forged outside this module:
//!
//! ```compile_fail
//! use stratus_auth::roles::{Authorized, Deploy, Subject};
//! let forged: Authorized<Deploy> = Authorized {
//!     subject: Subject::Account("a".into()),
//!     org: String::new(),
//!     project: None,
//!     _permission: std::marker::PhantomData,
//! };
//! ```

use std::collections::HashMap;
use std::marker::PhantomData;

use serde::{Deserialize, Serialize};

use crate::error::{AuthError, Result};

/// A role in a project, ascending power (`read-only` < `developer` < `admin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProjectRole {
    /// Sees everything except secret values; changes nothing.
    ReadOnly,
    /// Creates and edits resources and deploys releases.
    Developer,
    /// Full control: secrets, environments, members, API keys, deletion.
    Admin,
}

/// A role in an organisation (not a strict ladder: billing admin is a side role).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OrgRole {
    /// Minimal role: sees the organisation, no administrative powers.
    Member,
    /// Can create projects.
    ProjectCreator,
    /// Project creator plus management of organisation members.
    Manager,
    /// Manages billing only.
    BillingAdmin,
    /// Full control of the organisation and all its projects.
    Owner,
}

/// Every permission, as data (for route tables, logs and the permission matrix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PermissionId {
    /// Read project resources (models, APIs, releases, …; never secret values).
    ViewProject,
    /// Read an environment's logs.
    ReadLogs,
    /// Create, edit and delete models, APIs, subflows, indexes, buckets.
    EditResources,
    /// Deploy a definition or release to an environment.
    Deploy,
    /// List and set secrets.
    ManageSecrets,
    /// Add, change and remove project members.
    ManageMembers,
    /// Create and delete environments.
    ManageEnvironments,
    /// Create, list and revoke API keys of the project.
    ManageApiKeys,
    /// Delete the project.
    DeleteProject,
    /// See the organisation.
    ViewOrg,
    /// Create projects in the organisation.
    CreateProject,
    /// Manage organisation members.
    ManageOrgMembers,
    /// Manage billing.
    ManageBilling,
    /// Change or delete the organisation.
    ManageOrg,
}

impl PermissionId {
    /// The stable name of the permission (shown in `forbidden` details).
    pub fn name(self) -> &'static str {
        match self {
            PermissionId::ViewProject => "view_project",
            PermissionId::ReadLogs => "read_logs",
            PermissionId::EditResources => "edit_resources",
            PermissionId::Deploy => "deploy",
            PermissionId::ManageSecrets => "manage_secrets",
            PermissionId::ManageMembers => "manage_members",
            PermissionId::ManageEnvironments => "manage_environments",
            PermissionId::ManageApiKeys => "manage_api_keys",
            PermissionId::DeleteProject => "delete_project",
            PermissionId::ViewOrg => "view_org",
            PermissionId::CreateProject => "create_project",
            PermissionId::ManageOrgMembers => "manage_org_members",
            PermissionId::ManageBilling => "manage_billing",
            PermissionId::ManageOrg => "manage_org",
        }
    }

    /// For project permissions, the weakest project role that grants it.
    pub fn min_project_role(self) -> Option<ProjectRole> {
        match self {
            PermissionId::ViewProject | PermissionId::ReadLogs => Some(ProjectRole::ReadOnly),
            PermissionId::EditResources | PermissionId::Deploy => Some(ProjectRole::Developer),
            PermissionId::ManageSecrets
            | PermissionId::ManageMembers
            | PermissionId::ManageEnvironments
            | PermissionId::ManageApiKeys
            | PermissionId::DeleteProject => Some(ProjectRole::Admin),
            PermissionId::ViewOrg
            | PermissionId::CreateProject
            | PermissionId::ManageOrgMembers
            | PermissionId::ManageBilling
            | PermissionId::ManageOrg => None,
        }
    }

    /// For organisation permissions, whether `role` grants it.
    pub fn granted_by_org_role(self, role: OrgRole) -> bool {
        match self {
            PermissionId::ViewOrg => true,
            PermissionId::CreateProject => matches!(
                role,
                OrgRole::ProjectCreator | OrgRole::Manager | OrgRole::Owner
            ),
            PermissionId::ManageOrgMembers => matches!(role, OrgRole::Manager | OrgRole::Owner),
            PermissionId::ManageBilling => matches!(role, OrgRole::BillingAdmin | OrgRole::Owner),
            PermissionId::ManageOrg => role == OrgRole::Owner,
            PermissionId::ViewProject
            | PermissionId::ReadLogs
            | PermissionId::EditResources
            | PermissionId::Deploy
            | PermissionId::ManageSecrets
            | PermissionId::ManageMembers
            | PermissionId::ManageEnvironments
            | PermissionId::ManageApiKeys
            | PermissionId::DeleteProject => false,
        }
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A permission checked in a project (implemented by the marker types of this module only).
pub trait ProjectPermission: sealed::Sealed {
    /// The permission as data.
    const ID: PermissionId;
}

/// A permission checked in an organisation (marker types of this module only).
pub trait OrgPermission: sealed::Sealed {
    /// The permission as data.
    const ID: PermissionId;
}

macro_rules! permissions {
    ($trait:ident: $($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub enum $name {}
        impl sealed::Sealed for $name {}
        impl $trait for $name {
            const ID: PermissionId = PermissionId::$name;
        }
    )*};
}

permissions!(ProjectPermission:
    /// See [`PermissionId::ViewProject`].
    ViewProject,
    /// See [`PermissionId::ReadLogs`].
    ReadLogs,
    /// See [`PermissionId::EditResources`].
    EditResources,
    /// See [`PermissionId::Deploy`].
    Deploy,
    /// See [`PermissionId::ManageSecrets`].
    ManageSecrets,
    /// See [`PermissionId::ManageMembers`].
    ManageMembers,
    /// See [`PermissionId::ManageEnvironments`].
    ManageEnvironments,
    /// See [`PermissionId::ManageApiKeys`].
    ManageApiKeys,
    /// See [`PermissionId::DeleteProject`].
    DeleteProject,
);

permissions!(OrgPermission:
    /// See [`PermissionId::ViewOrg`].
    ViewOrg,
    /// See [`PermissionId::CreateProject`].
    CreateProject,
    /// See [`PermissionId::ManageOrgMembers`].
    ManageOrgMembers,
    /// See [`PermissionId::ManageBilling`].
    ManageBilling,
    /// See [`PermissionId::ManageOrg`].
    ManageOrg,
);

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A Stratus account (id).
    Account(String),
    /// An API key (its lookup prefix).
    ApiKey(String),
}

/// The caller and every role it holds.
#[derive(Debug, Clone)]
pub struct Principal {
    subject: Subject,
    org_roles: HashMap<String, OrgRole>,
    project_roles: HashMap<String, ProjectRole>,
}

impl Principal {
    /// An account with no roles yet.
    pub fn account(account_id: impl Into<String>) -> Self {
        Principal {
            subject: Subject::Account(account_id.into()),
            org_roles: HashMap::new(),
            project_roles: HashMap::new(),
        }
    }

    /// An API key acting in `project` with `role` (and nowhere else).
    pub fn api_key(
        prefix: impl Into<String>,
        project: impl Into<String>,
        role: ProjectRole,
    ) -> Self {
        let mut project_roles = HashMap::new();
        project_roles.insert(project.into(), role);
        Principal {
            subject: Subject::ApiKey(prefix.into()),
            org_roles: HashMap::new(),
            project_roles,
        }
    }

    /// Adds an organisation role (accounts only; ignored for API keys).
    pub fn with_org_role(mut self, org: impl Into<String>, role: OrgRole) -> Self {
        if matches!(self.subject, Subject::Account(_)) {
            self.org_roles.insert(org.into(), role);
        }
        self
    }

    /// Adds a project role (accounts only; an API key's scope is fixed).
    pub fn with_project_role(mut self, project: impl Into<String>, role: ProjectRole) -> Self {
        if matches!(self.subject, Subject::Account(_)) {
            self.project_roles.insert(project.into(), role);
        }
        self
    }

    /// Who is calling.
    pub fn subject(&self) -> &Subject {
        &self.subject
    }

    /// The role in `project` (of organisation `org`), counting org ownership as admin.
    pub fn project_role(&self, project: ProjectRef<'_>) -> Option<ProjectRole> {
        let owner = self.org_roles.get(project.org) == Some(&OrgRole::Owner);
        let direct = self.project_roles.get(project.project).copied();
        if owner {
            Some(ProjectRole::Admin)
        } else {
            direct
        }
    }
}

/// A project and the organisation that owns it.
#[derive(Debug, Clone, Copy)]
pub struct ProjectRef<'a> {
    /// Organisation id.
    pub org: &'a str,
    /// Project id.
    pub project: &'a str,
}

/// Proof that a permission check passed. Only this module can create one.
#[derive(Debug)]
pub struct Authorized<P> {
    subject: Subject,
    org: String,
    project: Option<String>,
    _permission: PhantomData<fn() -> P>,
}

impl<P> Authorized<P> {
    /// Who was authorised.
    pub fn subject(&self) -> &Subject {
        &self.subject
    }

    /// The organisation the check was made in.
    pub fn org(&self) -> &str {
        &self.org
    }

    /// The project the check was made in (`None` for organisation permissions).
    pub fn project(&self) -> Option<&str> {
        self.project.as_deref()
    }
}

/// Checks a permission given as data (route tables, the wire protocol). `Ok` means allowed.
pub fn check(
    principal: &Principal,
    org: &str,
    project: Option<&str>,
    perm: PermissionId,
) -> Result<()> {
    match (perm.min_project_role(), project) {
        (Some(min), Some(project)) => {
            let role = principal
                .project_role(ProjectRef { org, project })
                .ok_or(AuthError::NotFound)?;
            if role >= min {
                Ok(())
            } else {
                Err(AuthError::Forbidden {
                    permission: perm.name(),
                })
            }
        }
        (Some(_), None) => Err(AuthError::NotFound),
        (None, _) => {
            let role = principal.org_roles.get(org).ok_or(AuthError::NotFound)?;
            if perm.granted_by_org_role(*role) {
                Ok(())
            } else {
                Err(AuthError::Forbidden {
                    permission: perm.name(),
                })
            }
        }
    }
}

/// Checks `P` in a project and returns the capability for it.
pub fn authorize_project<P: ProjectPermission>(
    principal: &Principal,
    project: ProjectRef<'_>,
) -> Result<Authorized<P>> {
    check(principal, project.org, Some(project.project), P::ID)?;
    Ok(Authorized {
        subject: principal.subject.clone(),
        org: project.org.to_string(),
        project: Some(project.project.to_string()),
        _permission: PhantomData,
    })
}

/// Checks `P` in an organisation and returns the capability for it.
pub fn authorize_org<P: OrgPermission>(principal: &Principal, org: &str) -> Result<Authorized<P>> {
    check(principal, org, None, P::ID)?;
    Ok(Authorized {
        subject: principal.subject.clone(),
        org: org.to_string(),
        project: None,
        _permission: PhantomData,
    })
}

/// One admin route and the permission it needs (CONTRACT §2). `{p}` is the project.
#[derive(Debug, Clone, Copy)]
pub struct RoutePolicy {
    /// HTTP method.
    pub method: &'static str,
    /// Path under `/admin/api/v1/`.
    pub path: &'static str,
    /// The permission checked.
    pub permission: PermissionId,
}

macro_rules! routes {
    ($($method:literal $path:literal => $perm:ident),* $(,)?) => {
        &[$(RoutePolicy { method: $method, path: $path, permission: PermissionId::$perm }),*]
    };
}

/// Every project-scoped admin route and its permission, the table the server enforces.
pub const PROJECT_ROUTES: &[RoutePolicy] = routes![
    "GET" "projects/{p}" => ViewProject,
    "DELETE" "projects/{p}" => DeleteProject,
    "GET" "projects/{p}/environments" => ViewProject,
    "POST" "projects/{p}/environments" => ManageEnvironments,
    "DELETE" "projects/{p}/environments/{e}" => ManageEnvironments,
    "GET" "projects/{p}/models" => ViewProject,
    "PUT" "projects/{p}/models/{m}" => EditResources,
    "DELETE" "projects/{p}/models/{m}" => EditResources,
    "GET" "projects/{p}/apis" => ViewProject,
    "PUT" "projects/{p}/apis/{a}" => EditResources,
    "DELETE" "projects/{p}/apis/{a}" => EditResources,
    "GET" "projects/{p}/subflows" => ViewProject,
    "PUT" "projects/{p}/subflows/{s}" => EditResources,
    "GET" "projects/{p}/search-indexes" => ViewProject,
    "PUT" "projects/{p}/search-indexes/{i}" => EditResources,
    "GET" "projects/{p}/vector-indexes" => ViewProject,
    "PUT" "projects/{p}/vector-indexes/{i}" => EditResources,
    "GET" "projects/{p}/buckets" => ViewProject,
    "PUT" "projects/{p}/buckets/{b}" => EditResources,
    "GET" "projects/{p}/environments/{e}/secrets" => ManageSecrets,
    "PUT" "projects/{p}/environments/{e}/secrets/{name}" => ManageSecrets,
    "DELETE" "projects/{p}/environments/{e}/secrets/{name}" => ManageSecrets,
    "GET" "projects/{p}/releases" => ViewProject,
    "POST" "projects/{p}/releases" => Deploy,
    "POST" "projects/{p}/environments/{e}/deploy" => Deploy,
    "GET" "projects/{p}/environments/{e}/logs" => ReadLogs,
    "GET" "projects/{p}/members" => ViewProject,
    "PUT" "projects/{p}/members/{email}" => ManageMembers,
    "DELETE" "projects/{p}/members/{email}" => ManageMembers,
    "GET" "api-keys?project={p}" => ManageApiKeys,
    "POST" "api-keys {project: p}" => ManageApiKeys,
    "DELETE" "api-keys/{k} (of p)" => ManageApiKeys,
];

/// Organisation-scoped admin routes and their permission.
pub const ORG_ROUTES: &[RoutePolicy] = routes![
    "GET" "orgs/{o}" => ViewOrg,
    "PATCH" "orgs/{o}" => ManageOrg,
    "DELETE" "orgs/{o}" => ManageOrg,
    "POST" "projects {org: o}" => CreateProject,
    "PUT" "orgs/{o}/members/{email}" => ManageOrgMembers,
    "GET" "orgs/{o}/billing" => ManageBilling,
];
