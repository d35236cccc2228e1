//! The one route table of the admin API: method, path, summary, access rule, request and
//! response schemas, and the handler. [`super::router`] and [`super::openapi::openapi`] are
//! both built from it, so the served routes and the document cannot drift.

use axum::routing::{MethodRouter, delete, get, post, put};
use stratus_auth::roles::PermissionId;

use super::resources::{Apis, Models, Subflows};
use super::{AdminState, accounts as a, projects as p, resources as r};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (no token).
    Public,
    /// Any valid token; the answer is limited to what the caller may see.
    Authenticated,
    /// An organisation permission (default organisation, or `{o}`).
    Org(PermissionId),
    /// A project permission on `{p}` (or the project named in the body / query for API keys).
    Project(PermissionId),
}

/// The shape of a request or response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// No body.
    Empty,
    /// One object of the named component schema.
    One(&'static str),
    /// `{"data": [<component>...], "page": {...}}`.
    List(&'static str),
}

/// One admin route.
#[derive(Clone, Copy)]
pub struct Route {
    /// HTTP method.
    pub method: &'static str,
    /// Path relative to `/admin/api/v1` (axum and OpenAPI syntax, `{param}`).
    pub path: &'static str,
    /// One line for people.
    pub summary: &'static str,
    /// Who may call it.
    pub access: Access,
    /// Request body.
    pub request: Shape,
    /// Success status.
    pub status: u16,
    /// Success body.
    pub response: Shape,
    /// The axum method router serving it.
    pub handler: fn() -> MethodRouter<AdminState>,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

use Access::{Authenticated, Org, Project, Public};
use PermissionId as Perm;
use Shape::{Empty, List, One};

macro_rules! route {
    ($method:literal $path:literal, $summary:literal, $access:expr, $req:expr => $status:literal $resp:expr, $handler:expr) => {
        Route {
            method: $method,
            path: $path,
            summary: $summary,
            access: $access,
            request: $req,
            status: $status,
            response: $resp,
            handler: || $handler,
        }
    };
}

/// Every route of the admin API.
pub const ROUTES: &[Route] = &[
    route!("GET" "/openapi.json", "This OpenAPI document", Public, Empty => 200 One("OpenApi"), get(r::openapi_json)),
    route!("POST" "/auth/login", "Log in with e-mail and password", Public, One("Login") => 200 One("Tokens"), post(a::login)),
    route!("POST" "/auth/refresh", "Exchange a refresh token for new tokens", Public, One("Refresh") => 200 One("Tokens"), post(a::refresh)),
    route!("POST" "/auth/logout", "End the current login session", Authenticated, Empty => 204 Empty, post(a::logout)),
    route!("GET" "/users/me", "The caller's account", Authenticated, Empty => 200 One("Account"), get(a::me)),
    route!("PUT" "/users/me/password", "Change the caller's password (ends every other session)", Authenticated, One("PasswordChange") => 200 One("Tokens"), put(a::change_password)),
    route!("GET" "/users", "Accounts of the organisation", Org(Perm::ViewOrg), Empty => 200 List("Account"), get(a::list_users)),
    route!("POST" "/users", "Create an account", Org(Perm::ManageOrgMembers), One("NewUser") => 201 One("Account"), post(a::create_user)),
    route!("GET" "/orgs", "The caller's organisations", Authenticated, Empty => 200 List("Org"), get(a::list_orgs)),
    route!("GET" "/orgs/{o}", "One organisation", Org(Perm::ViewOrg), Empty => 200 One("Org"), get(a::get_org)),
    route!("GET" "/projects", "Projects the caller has a role in", Authenticated, Empty => 200 List("Project"), get(p::list_projects)),
    route!("POST" "/projects", "Create a project (with a development environment)", Org(Perm::CreateProject), One("NewProject") => 201 One("Project"), post(p::create_project)),
    route!("GET" "/projects/{p}", "One project", Project(Perm::ViewProject), Empty => 200 One("Project"), get(p::get_project)),
    route!("DELETE" "/projects/{p}", "Delete a project (undeploys it; data is kept)", Project(Perm::DeleteProject), Empty => 204 Empty, delete(p::delete_project)),
    route!("GET" "/projects/{p}/definition", "The project's whole working definition", Project(Perm::ViewProject), Empty => 200 One("Definition"), get(r::get_definition)),
    route!("GET" "/projects/{p}/environments", "Environments and what is deployed there", Project(Perm::ViewProject), Empty => 200 List("Environment"), get(p::list_environments)),
    route!("POST" "/projects/{p}/environments", "Create an environment", Project(Perm::ManageEnvironments), One("NewName") => 201 One("Environment"), post(p::create_environment)),
    route!("DELETE" "/projects/{p}/environments/{e}", "Delete an environment (undeploys it)", Project(Perm::ManageEnvironments), Empty => 204 Empty, delete(p::delete_environment)),
    route!("GET" "/projects/{p}/models", "Models of the draft", Project(Perm::ViewProject), Empty => 200 List("Item"), get(r::list_items::<Models>)),
    route!("POST" "/projects/{p}/models", "Add a model to the draft", Project(Perm::EditResources), One("Item") => 201 One("Item"), post(r::create_item::<Models>)),
    route!("GET" "/projects/{p}/models/{name}", "One model of the draft", Project(Perm::ViewProject), Empty => 200 One("Item"), get(r::get_item::<Models>)),
    route!("PUT" "/projects/{p}/models/{name}", "Replace (or create) a model of the draft", Project(Perm::EditResources), One("Item") => 200 One("Item"), put(r::replace_item::<Models>)),
    route!("DELETE" "/projects/{p}/models/{name}", "Remove a model from the draft", Project(Perm::EditResources), Empty => 204 Empty, delete(r::delete_item::<Models>)),
    route!("GET" "/projects/{p}/apis", "APIs of the draft", Project(Perm::ViewProject), Empty => 200 List("Item"), get(r::list_items::<Apis>)),
    route!("POST" "/projects/{p}/apis", "Add an API to the draft", Project(Perm::EditResources), One("Item") => 201 One("Item"), post(r::create_item::<Apis>)),
    route!("GET" "/projects/{p}/apis/{name}", "One API of the draft", Project(Perm::ViewProject), Empty => 200 One("Item"), get(r::get_item::<Apis>)),
    route!("PUT" "/projects/{p}/apis/{name}", "Replace (or create) an API of the draft", Project(Perm::EditResources), One("Item") => 200 One("Item"), put(r::replace_item::<Apis>)),
    route!("DELETE" "/projects/{p}/apis/{name}", "Remove an API from the draft", Project(Perm::EditResources), Empty => 204 Empty, delete(r::delete_item::<Apis>)),
    route!("GET" "/projects/{p}/subflows", "Sub-flows of the draft", Project(Perm::ViewProject), Empty => 200 List("Item"), get(r::list_items::<Subflows>)),
    route!("POST" "/projects/{p}/subflows", "Add a sub-flow to the draft", Project(Perm::EditResources), One("Item") => 201 One("Item"), post(r::create_item::<Subflows>)),
    route!("GET" "/projects/{p}/subflows/{name}", "One sub-flow of the draft", Project(Perm::ViewProject), Empty => 200 One("Item"), get(r::get_item::<Subflows>)),
    route!("PUT" "/projects/{p}/subflows/{name}", "Replace (or create) a sub-flow of the draft", Project(Perm::EditResources), One("Item") => 200 One("Item"), put(r::replace_item::<Subflows>)),
    route!("DELETE" "/projects/{p}/subflows/{name}", "Remove a sub-flow from the draft", Project(Perm::EditResources), Empty => 204 Empty, delete(r::delete_item::<Subflows>)),
    route!("GET" "/projects/{p}/releases", "Releases, newest first", Project(Perm::ViewProject), Empty => 200 List("Release"), get(r::list_releases)),
    route!("POST" "/projects/{p}/releases", "Snapshot the draft as the next release", Project(Perm::Deploy), Empty => 201 One("Release"), post(r::create_release)),
    route!("GET" "/projects/{p}/releases/{n}", "One release with its definition", Project(Perm::ViewProject), Empty => 200 One("Release"), get(r::get_release)),
    route!("POST" "/projects/{p}/environments/{e}/deploy", "Deploy a definition or a release number", Project(Perm::Deploy), One("DeployRequest") => 200 One("Deployment"), post(r::deploy)),
    route!("GET" "/projects/{p}/environments/{e}/logs", "Request logs of an environment", Project(Perm::ReadLogs), Empty => 200 List("LogEntry"), get(r::logs)),
    route!("GET" "/projects/{p}/environments/{e}/secrets", "Secret names and keys (never values)", Project(Perm::ManageSecrets), Empty => 200 List("Secret"), get(r::list_secrets)),
    route!("PUT" "/projects/{p}/environments/{e}/secrets/{name}", "Set a secret", Project(Perm::ManageSecrets), One("SecretValues") => 200 One("Secret"), put(r::put_secret)),
    route!("DELETE" "/projects/{p}/environments/{e}/secrets/{name}", "Delete a secret", Project(Perm::ManageSecrets), Empty => 204 Empty, delete(r::delete_secret)),
    route!("GET" "/projects/{p}/members", "Project members", Project(Perm::ViewProject), Empty => 200 List("Member"), get(p::list_members)),
    route!("PUT" "/projects/{p}/members/{email}", "Give an account a role in the project", Project(Perm::ManageMembers), One("MemberRole") => 200 One("Member"), put(p::put_member)),
    route!("DELETE" "/projects/{p}/members/{email}", "Remove a member", Project(Perm::ManageMembers), Empty => 204 Empty, delete(p::delete_member)),
    route!("GET" "/api-keys", "API keys of a project (?project=)", Project(Perm::ManageApiKeys), Empty => 200 List("ApiKey"), get(p::list_api_keys)),
    route!("POST" "/api-keys", "Create an API key (shown once)", Project(Perm::ManageApiKeys), One("NewApiKey") => 201 One("CreatedApiKey"), post(p::create_api_key)),
    route!("DELETE" "/api-keys/{id}", "Revoke an API key", Project(Perm::ManageApiKeys), Empty => 204 Empty, delete(p::delete_api_key)),
];
