//! The permission matrix: every admin route × caller role × own/foreign project → status.
//!
//! The expected minimum role per route is written out here independently of the crate's
//! table (from CONTRACT §2 and reference §10), so a wrong entry in either shows up.

use stratus_auth::roles::{
    self, ORG_ROUTES, OrgRole, PROJECT_ROUTES, PermissionId, Principal, ProjectRole,
};
use stratus_types::ErrorCode;

const OWN_ORG: &str = "org-own";
const OWN: &str = "proj-own";
const FOREIGN_ORG: &str = "org-foreign";
const FOREIGN: &str = "proj-foreign";

/// (method, path, minimum project role) — CONTRACT §2: deploying needs developer,
/// secrets/members admin, logs read-only; reading resources read-only; editing developer;
/// environments, API keys and deletion admin.
const EXPECTED: &[(&str, &str, &str)] = &[
    ("GET", "projects/{p}", "read-only"),
    ("DELETE", "projects/{p}", "admin"),
    ("GET", "projects/{p}/environments", "read-only"),
    ("POST", "projects/{p}/environments", "admin"),
    ("DELETE", "projects/{p}/environments/{e}", "admin"),
    ("GET", "projects/{p}/models", "read-only"),
    ("PUT", "projects/{p}/models/{m}", "developer"),
    ("DELETE", "projects/{p}/models/{m}", "developer"),
    ("GET", "projects/{p}/apis", "read-only"),
    ("PUT", "projects/{p}/apis/{a}", "developer"),
    ("DELETE", "projects/{p}/apis/{a}", "developer"),
    ("GET", "projects/{p}/subflows", "read-only"),
    ("PUT", "projects/{p}/subflows/{s}", "developer"),
    ("GET", "projects/{p}/search-indexes", "read-only"),
    ("PUT", "projects/{p}/search-indexes/{i}", "developer"),
    ("GET", "projects/{p}/vector-indexes", "read-only"),
    ("PUT", "projects/{p}/vector-indexes/{i}", "developer"),
    ("GET", "projects/{p}/buckets", "read-only"),
    ("PUT", "projects/{p}/buckets/{b}", "developer"),
    ("GET", "projects/{p}/environments/{e}/secrets", "admin"),
    (
        "PUT",
        "projects/{p}/environments/{e}/secrets/{name}",
        "admin",
    ),
    (
        "DELETE",
        "projects/{p}/environments/{e}/secrets/{name}",
        "admin",
    ),
    ("GET", "projects/{p}/releases", "read-only"),
    ("POST", "projects/{p}/releases", "developer"),
    ("POST", "projects/{p}/environments/{e}/deploy", "developer"),
    ("GET", "projects/{p}/environments/{e}/logs", "read-only"),
    ("GET", "projects/{p}/members", "read-only"),
    ("PUT", "projects/{p}/members/{email}", "admin"),
    ("DELETE", "projects/{p}/members/{email}", "admin"),
    ("GET", "api-keys?project={p}", "admin"),
    ("POST", "api-keys {project: p}", "admin"),
    ("DELETE", "api-keys/{k} (of p)", "admin"),
];

fn rank(role: &str) -> u8 {
    match role {
        "read-only" => 1,
        "developer" => 2,
        "admin" => 3,
        other => panic!("unknown role {other}"),
    }
}

/// Callers: (label, principal, effective rank in OWN: 0 = no role).
fn callers() -> Vec<(&'static str, Principal, u8)> {
    vec![
        ("stranger", Principal::account("u0"), 0),
        (
            "org member only",
            Principal::account("u1").with_org_role(OWN_ORG, OrgRole::Member),
            0,
        ),
        (
            "org manager only",
            Principal::account("u2").with_org_role(OWN_ORG, OrgRole::Manager),
            0,
        ),
        (
            "billing admin only",
            Principal::account("u3").with_org_role(OWN_ORG, OrgRole::BillingAdmin),
            0,
        ),
        (
            "read-only",
            Principal::account("u4").with_project_role(OWN, ProjectRole::ReadOnly),
            1,
        ),
        (
            "developer",
            Principal::account("u5").with_project_role(OWN, ProjectRole::Developer),
            2,
        ),
        (
            "admin",
            Principal::account("u6").with_project_role(OWN, ProjectRole::Admin),
            3,
        ),
        (
            "org owner",
            Principal::account("u7").with_org_role(OWN_ORG, OrgRole::Owner),
            3,
        ),
        (
            "api key read-only",
            Principal::api_key("k1", OWN, ProjectRole::ReadOnly),
            1,
        ),
        (
            "api key developer",
            Principal::api_key("k2", OWN, ProjectRole::Developer),
            2,
        ),
        (
            "api key admin",
            Principal::api_key("k3", OWN, ProjectRole::Admin),
            3,
        ),
        (
            "admin of own, owner of nothing foreign",
            Principal::account("u8")
                .with_project_role(OWN, ProjectRole::Admin)
                .with_org_role(OWN_ORG, OrgRole::Owner),
            3,
        ),
    ]
}

#[test]
fn crate_route_table_matches_the_contract() {
    assert_eq!(PROJECT_ROUTES.len(), EXPECTED.len());
    for (route, (m, p, min)) in PROJECT_ROUTES.iter().zip(EXPECTED) {
        assert_eq!((route.method, route.path), (*m, *p));
        let role = route
            .permission
            .min_project_role()
            .expect("project permission");
        let want = match *min {
            "read-only" => ProjectRole::ReadOnly,
            "developer" => ProjectRole::Developer,
            _ => ProjectRole::Admin,
        };
        assert_eq!(role, want, "{m} {p}");
    }
}

#[test]
fn project_route_matrix() {
    let mut cells = 0;
    for (method, path, min) in EXPECTED {
        let route = PROJECT_ROUTES
            .iter()
            .find(|r| r.method == *method && r.path == *path)
            .expect("route in table");
        for (label, principal, own_rank) in callers() {
            for (org, project, own) in [(OWN_ORG, OWN, true), (FOREIGN_ORG, FOREIGN, false)] {
                let expected = if !own || own_rank == 0 {
                    404
                } else if own_rank >= rank(min) {
                    200
                } else {
                    403
                };
                let got = match roles::check(&principal, org, Some(project), route.permission) {
                    Ok(()) => 200,
                    Err(e) => e.code().http_status(),
                };
                assert_eq!(got, expected, "{method} {path} as {label} in {project}");
                cells += 1;
            }
        }
    }
    assert_eq!(cells, EXPECTED.len() * callers().len() * 2);
}

#[test]
fn org_route_matrix() {
    // (permission, roles that hold it) per reference §10.
    let expected: &[(PermissionId, &[OrgRole])] = &[
        (
            PermissionId::ViewOrg,
            &[
                OrgRole::Member,
                OrgRole::ProjectCreator,
                OrgRole::Manager,
                OrgRole::BillingAdmin,
                OrgRole::Owner,
            ],
        ),
        (PermissionId::ManageOrg, &[OrgRole::Owner]),
        (
            PermissionId::CreateProject,
            &[OrgRole::ProjectCreator, OrgRole::Manager, OrgRole::Owner],
        ),
        (
            PermissionId::ManageOrgMembers,
            &[OrgRole::Manager, OrgRole::Owner],
        ),
        (
            PermissionId::ManageBilling,
            &[OrgRole::BillingAdmin, OrgRole::Owner],
        ),
    ];
    let all = [
        OrgRole::Member,
        OrgRole::ProjectCreator,
        OrgRole::Manager,
        OrgRole::BillingAdmin,
        OrgRole::Owner,
    ];
    for route in ORG_ROUTES {
        let holders = expected
            .iter()
            .find(|(p, _)| *p == route.permission)
            .expect("listed")
            .1;
        for role in all {
            let p = Principal::account("u").with_org_role(OWN_ORG, role);
            let own = roles::check(&p, OWN_ORG, None, route.permission)
                .map(|()| 200)
                .unwrap_or_else(|e| e.code().http_status());
            let want = if holders.contains(&role) { 200 } else { 403 };
            assert_eq!(own, want, "{} {} as {role:?}", route.method, route.path);
            let foreign = roles::check(&p, FOREIGN_ORG, None, route.permission)
                .map(|()| 200)
                .unwrap_or_else(|e| e.code().http_status());
            assert_eq!(
                foreign, 404,
                "{} {} as {role:?} in a foreign org",
                route.method, route.path
            );
        }
        let key = Principal::api_key("k", OWN, ProjectRole::Admin);
        assert!(
            roles::check(&key, OWN_ORG, None, route.permission).is_err(),
            "API keys have no org rights"
        );
    }
}

#[test]
fn typed_capabilities() {
    let dev = Principal::account("d").with_project_role(OWN, ProjectRole::Developer);
    let own = roles::ProjectRef {
        org: OWN_ORG,
        project: OWN,
    };
    let cap = roles::authorize_project::<roles::Deploy>(&dev, own).expect("developer may deploy");
    assert_eq!(cap.project(), Some(OWN));
    assert_eq!(cap.org(), OWN_ORG);
    assert!(matches!(cap.subject(), roles::Subject::Account(a) if a == "d"));
    let e = roles::authorize_project::<roles::ManageMembers>(&dev, own).expect_err("not admin");
    assert_eq!(e.detail(), "your role does not allow 'manage_members'");
    let creator = Principal::account("c").with_org_role(OWN_ORG, OrgRole::ProjectCreator);
    roles::authorize_org::<roles::CreateProject>(&creator, OWN_ORG).expect("creator creates");
    assert!(roles::authorize_org::<roles::ManageOrg>(&creator, OWN_ORG).is_err());
}
