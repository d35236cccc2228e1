//! Tenant isolation over the MongoDB wire protocol: the whole server (`serve::run_on` with
//! `mongo_listen`) with two projects, and a console user who is a member of one of them only,
//! driven with pymongo (`runtime_auth/wire_tenancy.py`): SCRAM-SHA-256 login with the
//! account's e-mail and password, reads and writes in the own project's database, error 13
//! (Unauthorized) on the other project's, `listDatabases` filtered, and a wrong password
//! refused. Without python3/pymongo the test prints a skip reason and passes, unless
//! `STRATUS_REQUIRE_REAL_CLIENTS=1`, which makes a missing pymongo a failure.

#[path = "runtime_auth/server.rs"]
mod server;

mod pymongo_check;
use pymongo_check::pymongo_available;

use std::path::PathBuf;
use std::process::Command;

use reqwest::Method as M;
use serde_json::json;
use stratus_server::config::Config;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_of_one_project_reaches_only_its_databases() {
    run_tenancy("access").await;
}

/// Pipeline stages that name another database — `$lookup`/`$unionWith` `{db, coll}` (reads),
/// `$out: {db, coll}` / `$merge: {into: {db, coll}}` (writes) — run in the member's own
/// database: the command-level check (`commands/mod.rs`) only looks at the command's `$db`,
/// so the stages cross tenants.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipeline_stages_cannot_reach_another_project() {
    run_tenancy("out").await;
}

async fn run_tenancy(mode: &'static str) {
    if !pymongo_available("wire_tenancy") {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let port = free_port();
    let s = server::start(Config {
        data_dir: dir.path().to_path_buf(),
        mongo_listen: Some(format!("127.0.0.1:{port}")),
        ..Config::default()
    })
    .await;
    for name in ["alpha", "beta"] {
        let (st, b) = s
            .admin(M::POST, "/projects", Some(json!({"name": name})))
            .await;
        assert!(st == 200 || st == 201, "create {name}: {st} {b}");
    }
    let (email, password) = ("dev@example.com", "correct horse battery");
    let (other_email, other_password) = ("other@example.com", "another long password");
    for (user, pw, project) in [
        (email, password, "alpha"),
        (other_email, other_password, "beta"),
    ] {
        let (st, b) = s
            .admin(
                M::POST,
                "/users",
                Some(json!({"email": user, "password": pw})),
            )
            .await;
        assert_eq!(st, 201, "create user: {b}");
        let (st, b) = s
            .admin(
                M::PUT,
                &format!("/projects/{project}/members/{user}"),
                Some(json!({"role": "developer"})),
            )
            .await;
        assert_eq!(st, 200, "add member: {b}");
    }

    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/runtime_auth/wire_tenancy.py");
    let out = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg(script)
            .args([
                mode,
                &port.to_string(),
                email,
                password,
                "alpha__development",
                "beta__development",
                "alpha__",
                other_email,
                other_password,
            ])
            .output()
            .expect("run python3")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "wire_tenancy.py failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("all checks passed"),
        "did not finish:\n{stdout}"
    );
    s.stop().await;
}

/// The same isolation for user-API flows: a flow of project `alpha` runs its `aggregate`
/// node in `alpha__development`, but a `$out`/`$merge` stage naming `beta__development`
/// must not write there (checked through an API of `beta`). Needs no Python.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flow_cannot_write_into_another_project() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = server::start_in(dir.path()).await;
    let steal = |stage: serde_json::Value| {
        json!([
            {"type": "insertOne", "name": "ins", "collection": "notes", "document": {"text": "mine"}},
            {"type": "aggregate", "name": "agg", "collection": "notes", "pipeline": [stage]},
            {"type": "httpResponse", "status": 200, "body": {"ok": true}}
        ])
    };
    s.deploy(
        "alpha",
        &[],
        json!({"name": "alpha",
            "models": [{"name": "note", "collection": "notes", "fields": {"text": {"type": "string"}}}],
            "apis": [
            {"name": "out", "method": "POST", "endpoint": "/out",
             "flow": steal(json!({"$out": {"db": "beta__development", "coll": "stolen"}}))},
            {"name": "merge", "method": "POST", "endpoint": "/merge",
             "flow": steal(json!({"$merge": {"into": {"db": "beta__development", "coll": "stolen"}}}))}
        ]}),
    )
    .await;
    s.deploy(
        "beta",
        &[],
        json!({"name": "beta",
            "models": [{"name": "loot", "collection": "stolen", "fields": {"text": {"type": "string"}}}],
            "apis": [
            {"name": "stolen", "method": "GET", "endpoint": "/stolen",
             "flow": [
                {"type": "findMany", "name": "found", "collection": "stolen", "filter": {}},
                {"type": "httpResponse", "status": 200, "body": {"docs": "$.found.result"}}
             ]}
        ]}),
    )
    .await;
    for path in ["/out", "/merge"] {
        let r = s
            .client
            .post(format!("{}/alpha/development/api{path}", s.url))
            .send()
            .await
            .expect("request");
        println!("alpha {path}: {}", r.status());
        let (st, _, b) = s.get("beta", "/stolen", None).await;
        assert_eq!(st, 200, "{b}");
        assert_eq!(
            b["docs"],
            json!([]),
            "{path}: alpha's flow wrote into beta__development: {b}"
        );
    }
    s.stop().await;
}
