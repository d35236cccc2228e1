//! End-to-end test: redeploying a project while clients hammer its APIs loses no request.
//!
//! Client threads send a mix of reads (a versioned custom API, the CRUD list) and writes (CRUD
//! create) on fresh connections while the test redeploys the project 12 times, once by
//! rewriting `project.json` under `--app` (dev-mode watcher) and once through the admin API
//! (`POST projects/{p}/environments/{e}/deploy`). Every response must be 2xx, no connection may
//! fail, and each new version's behaviour must become visible.

mod e2e_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use e2e_support::{
    OWNER_EMAIL, OWNER_PASSWORD, Server, create_owner, request, shop_project, wait_until,
    write_project,
};
use serde_json::{Value, json};

const API: &str = "/shop/development/api";
const CLIENTS: usize = 6;
const REDEPLOYS: u64 = 12;
/// How long one new version may take to become visible.
const SWITCH_TIMEOUT: Duration = Duration::from_secs(20);

/// The shop project plus `GET /version` answering `{"version": v}` via a small flow.
fn project(version: u64) -> Value {
    let mut p = shop_project();
    p["apis"].as_array_mut().expect("apis").push(json!({
        "name": "version", "method": "GET", "endpoint": "/version",
        "flow": [
            {"type": "setVariable", "variable": "v", "value": version},
            {"type": "httpResponse", "status": 200, "body": {"version": "$.variables.v"}}
        ]
    }));
    p
}

fn current_version(s: &Server) -> Option<u64> {
    let r = s.get(&format!("{API}/version")).ok()?;
    if r.status != 200 {
        return None;
    }
    r.json()["version"].as_u64()
}

struct Load {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicU64>,
    failures: Arc<std::sync::Mutex<Vec<String>>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

fn start_load(base: &str) -> Load {
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(std::sync::Mutex::new(Vec::new()));
    let threads = (0..CLIENTS)
        .map(|t| {
            let (stop, ok, failures) = (Arc::clone(&stop), Arc::clone(&ok), Arc::clone(&failures));
            let base = base.to_string();
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let (method, path, body) = match n % 3 {
                        0 => {
                            let doc = json!({"name": format!("load-{t}-{n}"), "price": n});
                            (
                                "POST",
                                format!("{API}/products"),
                                Some(serde_json::to_vec(&doc).expect("json")),
                            )
                        }
                        1 => ("GET", format!("{API}/version"), None),
                        _ => ("GET", format!("{API}/products?limit=5"), None),
                    };
                    let headers: &[(&str, &str)] = if body.is_some() {
                        &[("content-type", "application/json")]
                    } else {
                        &[]
                    };
                    match request(method, &format!("{base}{path}"), headers, body.as_deref()) {
                        Ok(r) if (200..300).contains(&r.status) => {
                            ok.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(r) => failures.lock().expect("lock").push(format!(
                            "{method} {path} -> {} {}",
                            r.status,
                            r.text()
                        )),
                        Err(e) => failures
                            .lock()
                            .expect("lock")
                            .push(format!("{method} {path} -> {e}")),
                    }
                }
            })
        })
        .collect();
    Load {
        stop,
        ok,
        failures,
        threads,
    }
}

impl Load {
    fn finish(self) -> (u64, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            t.join().expect("client thread");
        }
        let failures = self.failures.lock().expect("lock").clone();
        (self.ok.load(Ordering::Relaxed), failures)
    }
}

#[test]
fn redeploy_via_app_dir_under_load() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let app = tmp.path().join("app");
    write_project(&app, &project(1));
    let s = Server::start(&tmp.path().join("data"), Some(&app));
    assert_eq!(current_version(&s), Some(1));

    let load = start_load(&s.base);
    std::thread::sleep(Duration::from_millis(300));
    for v in 2..=REDEPLOYS + 1 {
        write_project(&app, &project(v));
        assert!(
            wait_until(SWITCH_TIMEOUT, || current_version(&s) == Some(v)),
            "version {v} never became visible; output:\n{}",
            s.output()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let (ok, failures) = load.finish();
    assert!(
        failures.is_empty(),
        "{} failed requests during redeploys, first: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert!(
        ok > 100,
        "too few requests went through ({ok}) to say anything"
    );
    // Data written under the old versions survived the redeploys.
    let total = s.get(&format!("{API}/products")).expect("list").json()["page"]["total"].as_u64();
    assert!(total.is_some_and(|t| t > 0), "no products after the load");
    s.stop();
}

#[test]
fn redeploy_via_admin_api_under_load() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    create_owner(&data);
    let s = Server::start(&data, None);
    let token = s.login(OWNER_EMAIL, OWNER_PASSWORD);
    let auth = format!("Bearer {token}");
    let admin = |method: &str, path: &str, body: &Value| {
        let bytes = serde_json::to_vec(body).expect("json");
        s.send(
            method,
            &format!("/admin/api/v1/{path}"),
            &[
                ("content-type", "application/json"),
                ("authorization", &auth),
            ],
            Some(&bytes),
        )
        .expect("admin request")
    };
    let r = admin("POST", "projects", &json!({"name": "shop"}));
    assert!(
        r.status == 201 || r.status == 200,
        "create project: {} {}",
        r.status,
        r.text()
    );
    let deploy = |v: u64| {
        let r = admin(
            "POST",
            "projects/shop/environments/development/deploy",
            &project(v),
        );
        assert!(
            (200..300).contains(&r.status),
            "deploy v{v}: {} {}",
            r.status,
            r.text()
        );
    };
    deploy(1);
    assert!(
        wait_until(SWITCH_TIMEOUT, || current_version(&s) == Some(1)),
        "first deploy not served"
    );

    let load = start_load(&s.base);
    std::thread::sleep(Duration::from_millis(300));
    for v in 2..=REDEPLOYS + 1 {
        deploy(v);
        assert!(
            wait_until(SWITCH_TIMEOUT, || current_version(&s) == Some(v)),
            "version {v} never became visible"
        );
    }
    let (ok, failures) = load.finish();
    assert!(
        failures.is_empty(),
        "{} failed requests during redeploys, first: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert!(ok > 100, "too few requests went through ({ok})");
    // An invalid definition is refused and the running version keeps serving.
    let r = admin(
        "POST",
        "projects/shop/environments/development/deploy",
        &json!({"name": "shop", "models": [{"name": "x", "fields": {"a": {"type": "nonsense"}}}], "apis": []}),
    );
    assert!(
        (400..500).contains(&r.status),
        "invalid definition accepted: {} {}",
        r.status,
        r.text()
    );
    assert_eq!(current_version(&s), Some(REDEPLOYS + 1));
    // Unauthenticated deploys are refused.
    let body = serde_json::to_vec(&project(99)).expect("json");
    let r = s
        .send(
            "POST",
            "/admin/api/v1/projects/shop/environments/development/deploy",
            &[("content-type", "application/json")],
            Some(&body),
        )
        .expect("deploy without token");
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(current_version(&s), Some(REDEPLOYS + 1));
    s.stop();
}
