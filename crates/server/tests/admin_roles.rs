//! The permission matrix of the admin API (CONTRACT §2): every route × every kind of caller
//! × own/foreign project → the expected status, over real HTTP.
//!
//! Expected statuses are written here by hand from the contract (min role per route), not
//! derived from the server's route table: no token → 401; no role in the project → 404;
//! role too weak → 403; otherwise the route's success status.

mod admin_support;

use std::collections::HashMap;

use admin_support::{Harness, start};
use serde_json::{Value, json};
use stratus_server::admin::ROUTES;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    ReadOnly,
    Developer,
    Admin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Caller {
    OrgOwner,
    ProjectAdmin,
    Developer,
    ReadOnly,
    NoRole,
    KeyAdmin,
    KeyDeveloper,
    KeyReadOnly,
    NoToken,
}

const CALLERS: [Caller; 9] = [
    Caller::OrgOwner,
    Caller::ProjectAdmin,
    Caller::Developer,
    Caller::ReadOnly,
    Caller::NoRole,
    Caller::KeyAdmin,
    Caller::KeyDeveloper,
    Caller::KeyReadOnly,
    Caller::NoToken,
];

impl Caller {
    /// The caller's level in its own project (`None`: no role there).
    fn own_level(self) -> Option<Level> {
        match self {
            Caller::OrgOwner | Caller::ProjectAdmin | Caller::KeyAdmin => Some(Level::Admin),
            Caller::Developer | Caller::KeyDeveloper => Some(Level::Developer),
            Caller::ReadOnly | Caller::KeyReadOnly => Some(Level::ReadOnly),
            Caller::NoRole | Caller::NoToken => None,
        }
    }

    fn key_role(self) -> Option<&'static str> {
        match self {
            Caller::KeyAdmin => Some("admin"),
            Caller::KeyDeveloper => Some("developer"),
            Caller::KeyReadOnly => Some("read-only"),
            _ => None,
        }
    }

    fn member_role(self) -> Option<&'static str> {
        match self {
            Caller::ProjectAdmin => Some("admin"),
            Caller::Developer => Some("developer"),
            Caller::ReadOnly => Some("read-only"),
            _ => None,
        }
    }
}

struct World {
    h: Harness,
    /// Login tokens of the account callers.
    accounts: HashMap<Caller, String>,
    /// API keys by (project, role).
    keys: HashMap<(String, &'static str), String>,
    counter: u32,
}

impl World {
    async fn new() -> World {
        let h = start().await;
        let mut accounts = HashMap::new();
        accounts.insert(Caller::OrgOwner, h.user("owner@example.com", true).await);
        accounts.insert(
            Caller::ProjectAdmin,
            h.user("admin@example.com", false).await,
        );
        accounts.insert(Caller::Developer, h.user("dev@example.com", false).await);
        accounts.insert(Caller::ReadOnly, h.user("ro@example.com", false).await);
        accounts.insert(Caller::NoRole, h.user("nobody@example.com", false).await);
        h.control
            .create_account("extra@example.com", "password-123", false)
            .unwrap();
        let w = World {
            h,
            accounts,
            keys: HashMap::new(),
            counter: 0,
        };
        w.project("alpha").await;
        w.h.sys("POST", "/projects", Some(json!({"name": "beta"})), 201)
            .await;
        w
    }

    /// Creates project `slug` with the member callers' roles.
    async fn project(&self, slug: &str) {
        self.h
            .sys("POST", "/projects", Some(json!({"name": slug})), 201)
            .await;
        for c in CALLERS {
            if let Some(role) = c.member_role() {
                let email = match c {
                    Caller::ProjectAdmin => "admin@example.com",
                    Caller::Developer => "dev@example.com",
                    _ => "ro@example.com",
                };
                self.h
                    .sys(
                        "PUT",
                        &format!("/projects/{slug}/members/{email}"),
                        Some(json!({"role": role})),
                        200,
                    )
                    .await;
            }
        }
    }

    /// The caller's token when acting on `own` project (keys are per project).
    async fn token(&mut self, c: Caller, own: &str) -> Option<String> {
        if let Some(role) = c.key_role() {
            let k = (own.to_string(), role);
            if !self.keys.contains_key(&k) {
                let b = self
                    .h
                    .sys(
                        "POST",
                        "/api-keys",
                        Some(json!({"project": own, "role": role, "name": "matrix"})),
                        201,
                    )
                    .await;
                self.keys
                    .insert(k.clone(), b["key"].as_str().unwrap().to_string());
            }
            return self.keys.get(&k).cloned();
        }
        self.accounts.get(&c).cloned()
    }

    fn unique(&mut self) -> String {
        self.counter += 1;
        format!("u{}", self.counter)
    }
}

/// One project-scoped route case: method, path template and body template (`{p}` = project,
/// `{u}` = unique suffix, `{x}` = value from `prepare`), minimal level, success status.
struct Case {
    method: &'static str,
    path: &'static str,
    body: Option<Value>,
    min: Level,
    ok: u16,
    prepare: Prep,
}

#[derive(Clone, Copy)]
enum Prep {
    None,
    Env,
    Item(&'static str),
    Release,
    Secret,
    Member,
    ApiKey,
    FreshProject,
}

fn cases() -> Vec<Case> {
    use Level::*;
    let c = |method, path, body: Option<Value>, min, ok, prepare| Case {
        method,
        path,
        body,
        min,
        ok,
        prepare,
    };
    let mut v = vec![
        c("GET", "/projects/{p}", None, ReadOnly, 200, Prep::None),
        c(
            "DELETE",
            "/projects/{p}",
            None,
            Admin,
            204,
            Prep::FreshProject,
        ),
        c(
            "GET",
            "/projects/{p}/definition",
            None,
            ReadOnly,
            200,
            Prep::None,
        ),
        c(
            "GET",
            "/projects/{p}/environments",
            None,
            ReadOnly,
            200,
            Prep::None,
        ),
        c(
            "POST",
            "/projects/{p}/environments",
            Some(json!({"name": "e{u}"})),
            Admin,
            201,
            Prep::None,
        ),
        c(
            "DELETE",
            "/projects/{p}/environments/{x}",
            None,
            Admin,
            204,
            Prep::Env,
        ),
        c(
            "GET",
            "/projects/{p}/releases",
            None,
            ReadOnly,
            200,
            Prep::None,
        ),
        c(
            "POST",
            "/projects/{p}/releases",
            None,
            Developer,
            201,
            Prep::None,
        ),
        c(
            "GET",
            "/projects/{p}/releases/{x}",
            None,
            ReadOnly,
            200,
            Prep::Release,
        ),
        c(
            "POST",
            "/projects/{p}/environments/development/deploy",
            Some(json!({"models": [], "apis": []})),
            Developer,
            200,
            Prep::None,
        ),
        c(
            "GET",
            "/projects/{p}/environments/development/logs",
            None,
            ReadOnly,
            200,
            Prep::None,
        ),
        c(
            "GET",
            "/projects/{p}/environments/development/secrets",
            None,
            Admin,
            200,
            Prep::None,
        ),
        c(
            "PUT",
            "/projects/{p}/environments/development/secrets/s{u}",
            Some(json!({"values": {"k": "v"}})),
            Admin,
            200,
            Prep::None,
        ),
        c(
            "DELETE",
            "/projects/{p}/environments/development/secrets/{x}",
            None,
            Admin,
            204,
            Prep::Secret,
        ),
        c(
            "GET",
            "/projects/{p}/members",
            None,
            ReadOnly,
            200,
            Prep::None,
        ),
        c(
            "PUT",
            "/projects/{p}/members/extra@example.com",
            Some(json!({"role": "read-only"})),
            Admin,
            200,
            Prep::None,
        ),
        c(
            "DELETE",
            "/projects/{p}/members/{x}",
            None,
            Admin,
            204,
            Prep::Member,
        ),
        c("GET", "/api-keys?project={p}", None, Admin, 200, Prep::None),
        c(
            "POST",
            "/api-keys",
            Some(json!({"project": "{p}", "role": "read-only", "name": "k{u}"})),
            Admin,
            201,
            Prep::None,
        ),
        c("DELETE", "/api-keys/{x}", None, Admin, 204, Prep::ApiKey),
    ];
    for kind in ["models", "apis", "subflows"] {
        let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
        let item = json!({"name": "i{u}", "method": "GET", "endpoint": "/i{u}", "fields": {}});
        v.push(c(
            "GET",
            leak(format!("/projects/{{p}}/{kind}")),
            None,
            ReadOnly,
            200,
            Prep::None,
        ));
        v.push(c(
            "POST",
            leak(format!("/projects/{{p}}/{kind}")),
            Some(item.clone()),
            Developer,
            201,
            Prep::None,
        ));
        v.push(c(
            "GET",
            leak(format!("/projects/{{p}}/{kind}/{{x}}")),
            None,
            ReadOnly,
            200,
            Prep::Item(leak(kind.to_string())),
        ));
        v.push(c(
            "PUT",
            leak(format!("/projects/{{p}}/{kind}/{{x}}")),
            Some(json!({"fields": {"a": {"type": "string"}}})),
            Developer,
            200,
            Prep::Item(leak(kind.to_string())),
        ));
        v.push(c(
            "DELETE",
            leak(format!("/projects/{{p}}/{kind}/{{x}}")),
            None,
            Developer,
            204,
            Prep::Item(leak(kind.to_string())),
        ));
    }
    v
}

fn fill(template: &str, p: &str, u: &str, x: &str) -> String {
    template
        .replace("{p}", p)
        .replace("{u}", u)
        .replace("{x}", x)
}

fn fill_value(v: &Value, p: &str, u: &str) -> Value {
    match v {
        Value::String(s) => Value::String(fill(s, p, u, "")),
        Value::Array(a) => Value::Array(a.iter().map(|x| fill_value(x, p, u)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), fill_value(x, p, u)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Creates what the case needs in `project`; returns the `{x}` value.
async fn prepare(w: &mut World, prep: Prep, project: &str) -> String {
    let u = w.unique();
    match prep {
        Prep::None | Prep::FreshProject => String::new(),
        Prep::Env => {
            w.h.sys(
                "POST",
                &format!("/projects/{project}/environments"),
                Some(json!({"name": format!("env{u}")})),
                201,
            )
            .await;
            format!("env{u}")
        }
        Prep::Item(kind) => {
            w.h.sys(
                "POST",
                &format!("/projects/{project}/{kind}"),
                Some(json!({"name": format!("item{u}"), "endpoint": "/x"})),
                201,
            )
            .await;
            format!("item{u}")
        }
        Prep::Release => {
            let b =
                w.h.sys("POST", &format!("/projects/{project}/releases"), None, 201)
                    .await;
            b["number"].to_string()
        }
        Prep::Secret => {
            w.h.sys(
                "PUT",
                &format!("/projects/{project}/environments/development/secrets/sec{u}"),
                Some(json!({"values": {"a": "b"}})),
                200,
            )
            .await;
            format!("sec{u}")
        }
        Prep::Member => {
            w.h.sys(
                "PUT",
                &format!("/projects/{project}/members/extra@example.com"),
                Some(json!({"role": "read-only"})),
                200,
            )
            .await;
            "extra@example.com".to_string()
        }
        Prep::ApiKey => {
            let b =
                w.h.sys(
                    "POST",
                    "/api-keys",
                    Some(json!({"project": project, "role": "read-only", "name": "victim"})),
                    201,
                )
                .await;
            b["id"].as_str().unwrap().to_string()
        }
    }
}

fn expected(caller: Caller, own_project: bool, min: Level, ok: u16) -> u16 {
    if caller == Caller::NoToken {
        return 401;
    }
    let level = if own_project || caller == Caller::OrgOwner {
        caller.own_level()
    } else {
        None
    };
    match level {
        None => 404,
        Some(l) if l < min => 403,
        Some(_) => ok,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_project_route_by_every_caller_on_own_and_foreign_projects() {
    let mut w = World::new().await;
    let mut failures = Vec::new();
    let mut checked = 0;
    for case in cases() {
        for own in [true, false] {
            for caller in CALLERS {
                // Destructive cases get a fresh pair of projects so every caller finds one.
                let (own_p, foreign_p) = if matches!(case.prepare, Prep::FreshProject) {
                    let u = w.unique();
                    let (a, b) = (format!("fresh-{u}"), format!("other-{u}"));
                    w.project(&a).await;
                    w.h.sys("POST", "/projects", Some(json!({"name": b})), 201)
                        .await;
                    (a, b)
                } else {
                    ("alpha".to_string(), "beta".to_string())
                };
                let target = if own {
                    own_p.clone()
                } else {
                    foreign_p.clone()
                };
                let x = prepare(&mut w, case.prepare, &target).await;
                let u = w.unique();
                let path = fill(case.path, &target, &u, &x);
                let body = case.body.as_ref().map(|b| fill_value(b, &target, &u));
                let token = w.token(caller, &own_p).await;
                let r = w.h.call(case.method, &path, token.as_deref(), body).await;
                let want = expected(caller, own, case.min, case.ok);
                checked += 1;
                if r.status != want {
                    failures.push(format!(
                        "{} {} as {caller:?} ({}): got {} want {want}: {}",
                        case.method,
                        path,
                        if own { "own" } else { "foreign" },
                        r.status,
                        r.body
                    ));
                }
                if want == 401 {
                    assert!(
                        r.www_authenticate
                            .as_deref()
                            .is_some_and(|v| v.starts_with("Bearer"))
                    );
                }
                if want >= 400 {
                    assert!(r.body["code"].is_string(), "{path}: {}", r.body);
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked > 600, "{checked}");
}

/// Routes outside projects: (method, path, body, expected status per caller).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_and_org_routes_by_every_caller() {
    let mut w = World::new().await;
    let org = w.h.sys("GET", "/orgs", None, 200).await["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // (caller group) owner, members (admin/dev/ro/norole), keys, no token
    let table: Vec<(&str, String, Option<Value>, [u16; 4])> = vec![
        ("GET", "/projects".into(), None, [200, 200, 200, 401]),
        (
            "POST",
            "/projects".into(),
            Some(json!({"name": "p{u}"})),
            [201, 403, 404, 401],
        ),
        ("GET", "/users".into(), None, [200, 200, 404, 401]),
        (
            "POST",
            "/users".into(),
            Some(json!({"email": "n{u}@example.com", "password": "password-123"})),
            [201, 403, 404, 401],
        ),
        ("GET", "/orgs".into(), None, [200, 200, 200, 401]),
        ("GET", format!("/orgs/{org}"), None, [200, 200, 404, 401]),
        ("GET", "/users/me".into(), None, [200, 200, 403, 401]),
    ];
    let mut failures = Vec::new();
    for (method, path, body, want) in &table {
        for caller in CALLERS {
            let group = match caller {
                Caller::OrgOwner => 0,
                Caller::ProjectAdmin | Caller::Developer | Caller::ReadOnly | Caller::NoRole => 1,
                Caller::KeyAdmin | Caller::KeyDeveloper | Caller::KeyReadOnly => 2,
                Caller::NoToken => 3,
            };
            let u = w.unique();
            let token = w.token(caller, "alpha").await;
            let r =
                w.h.call(
                    method,
                    path,
                    token.as_deref(),
                    body.as_ref().map(|b| fill_value(b, "", &u)),
                )
                .await;
            if r.status != want[group] {
                failures.push(format!(
                    "{method} {path} as {caller:?}: got {} want {}: {}",
                    r.status, want[group], r.body
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every route of the server's table is exercised by a matrix above or by a named test of
/// `admin_auth.rs` / `admin_api.rs`.
#[test]
fn the_matrix_covers_every_route() {
    let mut covered: Vec<(String, String)> = cases()
        .iter()
        .map(|c| {
            (
                c.method.to_string(),
                c.path.split('?').next().unwrap().to_string(),
            )
        })
        .collect();
    for (m, p) in [
        ("GET", "/projects"),
        ("POST", "/projects"),
        ("GET", "/users"),
        ("POST", "/users"),
        ("GET", "/orgs"),
        ("GET", "/orgs/x"),
        ("GET", "/users/me"),
        // admin_auth.rs: login, refresh, logout, password change; admin_api.rs: openapi.
        ("POST", "/auth/login"),
        ("POST", "/auth/refresh"),
        ("POST", "/auth/logout"),
        ("PUT", "/users/me/password"),
        ("GET", "/openapi.json"),
    ] {
        covered.push((m.to_string(), p.to_string()));
    }
    // A route pattern matches a concrete path segment by segment; `{…}` matches anything.
    let matches = |pattern: &str, path: &str| {
        let (a, b): (Vec<&str>, Vec<&str>) =
            (pattern.split('/').collect(), path.split('/').collect());
        a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| x.starts_with('{') || x == y)
    };
    let missing: Vec<String> = ROUTES
        .iter()
        .filter(|r| {
            !covered
                .iter()
                .any(|(m, p)| m == r.method && matches(r.path, p))
        })
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(missing.is_empty(), "routes not in the matrix: {missing:?}");
    // And no case names a path the server does not route.
    let unrouted: Vec<String> = covered
        .iter()
        .filter(|(m, p)| !ROUTES.iter().any(|r| r.method == m && matches(r.path, p)))
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    assert!(unrouted.is_empty(), "cases of unknown routes: {unrouted:?}");
}
