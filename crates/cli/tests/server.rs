//! The `stratus` binary against a running `stratus serve` (started on a free port): first
//! start on an empty data dir, `admin create` while running then login, `deploy`, `export`,
//! backup of a running server + restore into a new directory, and restore refused while
//! running.

mod common;

use common::{Server, admin_create, good_project, http, stratus};
use serde_json::json;

const PASSWORD: &str = "correct horse battery";

#[test]
fn admin_deploy_export_backup_against_a_running_server() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dd = tmp.path().join("data");
    let d = dd.to_str().expect("utf8");
    // An account made while stopped.
    let r = admin_create(d, "first@example.com", PASSWORD);
    assert_eq!(r.code, 0, "{}", r.all());

    let server = Server::start(&dd, &[]);
    let (status, body) = server.login("first@example.com", PASSWORD);
    assert_eq!(status, 200, "login of the offline-created account: {body}");

    // admin create while running goes through the API.
    let r = admin_create(d, "second@example.com", PASSWORD);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.out.contains("running server"), "{}", r.out);
    let (status, body) = server.login("second@example.com", PASSWORD);
    assert_eq!(status, 200, "{body}");
    let token = body["token"].as_str().expect("token").to_string();
    let r = admin_create(d, "second@example.com", PASSWORD);
    assert_eq!(r.code, 1, "duplicate while running: {}", r.all());
    let r = admin_create(d, "third@example.com", "short");
    assert_eq!(r.code, 1, "weak password while running: {}", r.all());

    // deploy: the project must exist first (POST projects {name}).
    let (status, body) = http(
        "POST",
        &format!("{}/admin/api/v1/projects", server.url),
        Some(&token),
        Some(&json!({"name": "shop"})),
    );
    assert!(status == 201 || status == 200, "{status} {body}");
    let app = tmp.path().join("app");
    good_project(&app, "shop");
    let a = app.to_str().expect("utf8");
    let r = stratus(&["deploy", a, "--url", &server.url, "--token", &token]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(!r.all().contains(&token), "the token is never printed");
    let (status, body) = http(
        "POST",
        &format!("{}/shop/development/api/products", server.url),
        None,
        Some(&json!({"name": "pen", "price": 2})),
    );
    assert_eq!(status, 201, "deployed API answers: {body}");
    // A broken dir is refused locally, nothing sent.
    std::fs::write(
        app.join("models/bad.json"),
        r#"{"name": "x", "collection": "x", "fields": {"a": {"type": "nope"}}}"#,
    )
    .expect("write");
    let r = stratus(&["deploy", a, "--url", &server.url, "--token", &token]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.all().contains("bad.json"), "{}", r.all());
    std::fs::remove_file(app.join("models/bad.json")).expect("rm");
    // Server-side refusal: unknown environment → the server's code and detail, exit 1.
    let r = stratus(&[
        "deploy",
        a,
        "--url",
        &server.url,
        "--token",
        &token,
        "--env",
        "nosuchenv",
    ]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.err.contains("HTTP 4"), "{}", r.err);
    // Bad token → 401 unauthenticated.
    let r = stratus(&["deploy", a, "--url", &server.url, "--token", "wrong"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.err.contains("unauthenticated"), "{}", r.err);

    // export to stdout, a file and a split directory; the split dir checks again.
    let r = stratus(&[
        "export",
        "--url",
        &server.url,
        "--token",
        &token,
        "--project",
        "shop",
    ]);
    assert_eq!(r.code, 0, "{}", r.all());
    let def: serde_json::Value = serde_json::from_str(&r.out).expect("json on stdout");
    assert_eq!(def["name"], "shop");
    let split = tmp.path().join("exported");
    let r = stratus(&[
        "export",
        "--url",
        &server.url,
        "--token",
        &token,
        "--project",
        "shop",
        "--out",
        split.to_str().expect("utf8"),
    ]);
    assert_eq!(r.code, 0, "{}", r.all());
    let r = stratus(&["check", split.to_str().expect("utf8")]);
    assert_eq!(r.code, 0, "exported split dir is valid: {}", r.all());

    // Restore is refused while the server runs (checked before the backup is even read).
    let r = stratus(&[
        "restore",
        "--data-dir",
        d,
        tmp.path().to_str().expect("utf8"),
        "--force",
    ]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.err.contains("stop it"), "{}", r.err);
    server.stop();
    assert!(
        !dd.join("server.json").exists(),
        "a stopped server removes server.json"
    );

    // Backup of the stopped data dir, restore into a new dir, serve it: everything is there.
    let out = tmp.path().join("bk");
    let r = stratus(&["backup", "--data-dir", d, out.to_str().expect("utf8")]);
    assert_eq!(r.code, 0, "{}", r.all());
    restore_and_verify(tmp.path(), &out, "restored");
}

/// Restores `backup` into `<tmp>/<name>`, serves it, and checks the account, the deployed API
/// and its document survived.
fn restore_and_verify(tmp: &std::path::Path, backup: &std::path::Path, name: &str) {
    let restored = tmp.join(name);
    let r = stratus(&[
        "restore",
        "--data-dir",
        restored.to_str().expect("utf8"),
        backup.to_str().expect("utf8"),
    ]);
    assert_eq!(r.code, 0, "{}", r.all());
    let server2 = Server::start(&restored, &[]);
    let (status, body) = server2.login("second@example.com", PASSWORD);
    assert_eq!(status, 200, "the account is in the restored data: {body}");
    let (status, body) = http(
        "GET",
        &format!("{}/shop/development/api/products?limit=10", server2.url),
        None,
        None,
    );
    assert_eq!(status, 200, "the deployment is restored: {body}");
    assert_eq!(
        body["page"]["total"], 1,
        "the document is in the restored data: {body}"
    );
    server2.stop();
}

/// Sets up a running server with two accounts, the `shop` project deployed and one product.
fn running_shop(tmp: &std::path::Path) -> (Server, String) {
    let dd = tmp.join("data");
    let d = dd.to_str().expect("utf8");
    let server = Server::start(&dd, &[]);
    let r = admin_create(d, "second@example.com", PASSWORD);
    assert_eq!(r.code, 0, "{}", r.all());
    let (status, body) = server.login("second@example.com", PASSWORD);
    assert_eq!(status, 200, "{body}");
    let token = body["token"].as_str().expect("token").to_string();
    // The project does not exist yet: deploy to `development` creates it.
    let app = tmp.join("app");
    good_project(&app, "shop");
    let r = stratus(&[
        "deploy",
        app.to_str().expect("utf8"),
        "--url",
        &server.url,
        "--token",
        &token,
    ]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.out.contains("created project `shop`"), "{}", r.out);
    let (status, body) = http(
        "POST",
        &format!("{}/shop/development/api/products", server.url),
        None,
        Some(&json!({"name": "pen", "price": 2})),
    );
    assert_eq!(status, 201, "{body}");
    (server, token)
}

#[test]
fn backup_of_a_running_server_then_restore() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (server, _token) = running_shop(tmp.path());
    let d = server.data_dir.to_str().expect("utf8").to_string();
    let out = tmp.path().join("bk");
    let r = stratus(&["backup", "--data-dir", &d, out.to_str().expect("utf8")]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(out.join("backup.json").is_file() && out.join("data.redb").is_file());
    assert!(out.join("logs").is_dir(), "the request logs are part of it");
    // Writes after the backup do not reach it; the server keeps serving.
    let (status, _) = http(
        "POST",
        &format!("{}/shop/development/api/products", server.url),
        None,
        Some(&json!({"name": "late", "price": 1})),
    );
    assert_eq!(status, 201);
    server.stop();
    restore_and_verify(tmp.path(), &out, "restored");
}

#[test]
fn first_start_on_an_empty_data_dir_needs_no_config() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dd = tmp.path().join("fresh/data");
    let server = Server::start(&dd, &[]);
    assert!(dd.join("data.redb").is_file() && !dd.join("data.mdb").exists());
    let (status, _) = http("GET", &format!("{}/readyz", server.url), None, None);
    assert_eq!(status, 200);
    server.stop();
}

#[test]
fn the_lmdb_engine_is_chosen_in_config_and_an_lmdb_data_dir_stays_on_lmdb() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dd = tmp.path().join("data");
    std::fs::create_dir_all(&dd).expect("mkdir");
    std::fs::write(dd.join("stratus.toml"), "[store]\nengine = \"lmdb\"\n").expect("config");
    let server = Server::start(&dd, &[]);
    assert!(dd.join("data.mdb").is_file() && !dd.join("data.redb").exists());
    let (status, _) = http("GET", &format!("{}/readyz", server.url), None, None);
    assert_eq!(status, 200);
    server.stop();
    // Without the setting (the default is redb) the existing LMDB store is still the one
    // opened: the engine of an existing store file is the file's.
    std::fs::remove_file(dd.join("stratus.toml")).expect("rm config");
    let server = Server::start(&dd, &[]);
    let (status, _) = http("GET", &format!("{}/readyz", server.url), None, None);
    assert_eq!(status, 200);
    server.stop();
    assert!(dd.join("data.mdb").is_file() && !dd.join("data.redb").exists());
}

/// Polls `GET url` until it answers `status` (dev mode redeploys asynchronously).
fn wait_for_status(url: &str, status: u16) -> serde_json::Value {
    let t0 = std::time::Instant::now();
    loop {
        let (st, body) = http("GET", url, None, None);
        if st == status {
            return body;
        }
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(20),
            "{url} still answers {st}, expected {status}: {body}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn serve_app_deploys_and_redeploys_on_change() {
    let tmp = tempfile::tempdir().expect("tmp");
    let app = tmp.path().join("app");
    good_project(&app, "devshop");
    let dd = tmp.path().join("data");
    let server = Server::start(&dd, &["--app", app.to_str().expect("utf8")]);
    let products = format!("{}/devshop/development/api/products", server.url);
    let body = wait_for_status(&products, 200);
    assert_eq!(body["page"]["total"], 0, "{body}");
    let orders = format!("{}/devshop/development/api/orders", server.url);
    assert_eq!(http("GET", &orders, None, None).0, 404);

    // Add a model and its CRUD API: redeployed.
    std::fs::write(
        app.join("models/order.json"),
        r#"{"name": "order", "collection": "orders", "fields": {"qty": {"type": "int"}}}"#,
    )
    .expect("write");
    std::fs::create_dir_all(app.join("apis")).expect("mkdir");
    std::fs::write(
        app.join("apis/orders.json"),
        r#"{"template": "crud", "model": "order", "endpoint": "/orders"}"#,
    )
    .expect("write");
    wait_for_status(&orders, 200);

    // A broken file: the last good deployment keeps serving.
    std::fs::write(app.join("models/order.json"), "{ broken").expect("write");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert_eq!(http("GET", &orders, None, None).0, 200);
    assert_eq!(http("GET", &products, None, None).0, 200);

    // Fixed and the API removed: gone after the redeploy.
    std::fs::remove_file(app.join("apis/orders.json")).expect("rm");
    std::fs::remove_file(app.join("models/order.json")).expect("rm");
    wait_for_status(&orders, 404);
    assert_eq!(http("GET", &products, None, None).0, 200);
    server.stop();
}
