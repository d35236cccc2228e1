//! The control plane below HTTP: state that must survive a restart (default organisation,
//! session key, master key), the configured master key, and bearer authentication.

use std::sync::Arc;

use base64::Engine;
use serde_json::json;
use stratus_auth::roles::{DeleteProject, ManageSecrets, Principal};
use stratus_docstore::{Store, StoreOptions};
use stratus_server::control::{ControlConfig, ControlError, ControlPlane, Deployer, SYSTEM_DB};
use stratus_types::ErrorCode;

struct NoDeploy;

impl Deployer for NoDeploy {
    fn deploy(
        &self,
        _: &str,
        _: &str,
        _: &serde_json::Value,
    ) -> Result<serde_json::Value, Vec<serde_json::Value>> {
        Ok(json!({}))
    }
    fn undeploy(&self, _: &str, _: &str) {}
}

fn open(dir: &std::path::Path, config: ControlConfig) -> ControlPlane {
    let store = Store::open(dir.join("data.redb"), StoreOptions::default()).unwrap();
    ControlPlane::open(store, dir, config).unwrap()
}

fn system(plane: &ControlPlane) -> Principal {
    plane
        .authenticate_bearer(plane.local_admin_token())
        .unwrap()
}

#[test]
fn state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (token, org, old_admin_token) = {
        let plane = open(dir.path(), ControlConfig::default());
        plane
            .create_account("ada@example.com", "password-123", true)
            .unwrap();
        let p = system(&plane);
        let (_, cap) = plane
            .authorize_in_org::<stratus_auth::roles::CreateProject>(&p, None)
            .unwrap();
        plane.create_project(&cap, "shop").unwrap();
        let (_, cap) = plane.authorize::<ManageSecrets>(&p, "shop").unwrap();
        let values = json!({"k": "v"}).as_object().unwrap().clone();
        plane.put_secret(&cap, "development", "s", &values).unwrap();
        let tokens = plane
            .login("ada@example.com", "password-123", [127, 0, 0, 1].into())
            .unwrap();
        (
            tokens.token,
            plane.default_org().to_string(),
            plane.local_admin_token().to_string(),
        )
    };
    let plane = open(dir.path(), ControlConfig::default());
    assert_eq!(plane.default_org(), org, "one default organisation");
    assert_eq!(
        plane
            .store()
            .count_documents(SYSTEM_DB, "orgs", &bson::doc! {}, 0, 0)
            .unwrap(),
        1
    );
    // Login tokens stay valid (same session key); the local admin token is renewed.
    assert!(plane.authenticate_bearer(&token).is_ok());
    assert_ne!(plane.local_admin_token(), old_admin_token);
    let err = plane.authenticate_bearer(&old_admin_token).unwrap_err();
    assert_eq!(err.code().http_status(), 401);
    // Secrets still open (same master key).
    let s = plane.env_secrets("shop", "development").unwrap();
    assert_eq!(s.get_document("s").unwrap().get_str("k").unwrap(), "v");
}

#[test]
fn a_configured_master_key_is_used_and_a_wrong_one_cannot_open_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let key = |b: u8| base64::engine::general_purpose::STANDARD.encode([b; 32]);
    {
        let plane = open(
            dir.path(),
            ControlConfig {
                master_key: Some(key(1)),
                ..ControlConfig::default()
            },
        );
        let p = system(&plane);
        let (_, cap) = plane
            .authorize_in_org::<stratus_auth::roles::CreateProject>(&p, None)
            .unwrap();
        plane.create_project(&cap, "shop").unwrap();
        let (_, cap) = plane.authorize::<ManageSecrets>(&p, "shop").unwrap();
        plane
            .put_secret(
                &cap,
                "development",
                "s",
                json!({"k": "v"}).as_object().unwrap(),
            )
            .unwrap();
    }
    assert!(
        !dir.path().join("master.key").exists(),
        "no key file when the key is configured"
    );
    let plane = open(
        dir.path(),
        ControlConfig {
            master_key: Some(key(2)),
            ..ControlConfig::default()
        },
    );
    let err = plane.env_secrets("shop", "development").unwrap_err();
    assert_eq!(err.code().http_status(), 500);
    let bad = ControlPlane::open(
        Store::open_in_memory().unwrap(),
        tempfile::tempdir().unwrap().path(),
        ControlConfig {
            master_key: Some("not base64!".into()),
            ..ControlConfig::default()
        },
    );
    assert!(bad.is_err());
}

#[test]
fn bearer_tokens_and_capabilities() {
    let dir = tempfile::tempdir().unwrap();
    let plane = Arc::new(open(dir.path(), ControlConfig::default()));
    for bad in ["", "garbage", "stk_abcdefgh_nope", "a.b.c"] {
        let err = plane.authenticate_bearer(bad).unwrap_err();
        assert_eq!(err.code().http_status(), 401, "{bad:?}");
    }
    let p = system(&plane);
    let (_, cap) = plane
        .authorize_in_org::<stratus_auth::roles::CreateProject>(&p, None)
        .unwrap();
    plane.create_project(&cap, "shop").unwrap();
    plane
        .create_account("bob@example.com", "password-123", false)
        .unwrap();
    let bob = plane
        .login("bob@example.com", "password-123", [127, 0, 0, 1].into())
        .unwrap();
    let bob = plane.authenticate_bearer(&bob.token).unwrap();
    // No role: not_found, as if the project did not exist.
    let err = plane.authorize::<DeleteProject>(&bob, "shop").unwrap_err();
    assert!(matches!(err, ControlError::NotFound(_)), "{err:?}");
    assert_eq!(plane.list_projects(&bob).unwrap().len(), 0);
    // The system principal may delete it.
    let (_, cap) = plane.authorize::<DeleteProject>(&p, "shop").unwrap();
    plane.delete_project(&cap, &NoDeploy).unwrap();
    assert!(plane.project("shop").is_none());
}

#[test]
fn dev_mode_deploy_creates_the_project_and_environment() {
    let dir = tempfile::tempdir().unwrap();
    let plane = open(dir.path(), ControlConfig::default());
    let def = json!({"name": "shop", "models": []});
    let out = plane
        .deploy_as_system("shop", "development", def.clone(), &NoDeploy)
        .unwrap();
    assert_eq!(out.deployment.release, 1);
    let out = plane
        .deploy_as_system("shop", "preview", def.clone(), &NoDeploy)
        .unwrap();
    assert_eq!(out.deployment.release, 2);
    assert_eq!(
        plane.project("shop").unwrap().environments,
        vec!["development", "preview"]
    );
    let active = plane.active_deployments().unwrap();
    assert_eq!(active.len(), 2);
    // Names that look like ids, reserved words and bad slugs are refused.
    for bad in ["0123456789abcdef01234567", "api", "Bad"] {
        let err = plane
            .deploy_as_system(bad, "development", def.clone(), &NoDeploy)
            .unwrap_err();
        assert_eq!(err.code().http_status(), 400, "{bad}");
    }
}

#[test]
fn request_logs_answer_the_admin_log_queries() {
    use stratus_server::control::LogSource;
    use stratus_server::logs::{LogConfig, LogRecord, RequestLogs};
    let dir = tempfile::tempdir().unwrap();
    let (logs, _) = RequestLogs::open(dir.path(), LogConfig::default()).unwrap();
    for (status, path) in [(200, "/a"), (404, "/b"), (500, "/c")] {
        logs.record(LogRecord {
            time: bson::DateTime::now(),
            request_id: format!("r{status}"),
            project: "shop".into(),
            env: "development".into(),
            api: None,
            method: "GET".into(),
            path: path.into(),
            status,
            duration_us: 10,
            trace: json!([]).into(),
            debug: vec![],
            error: None,
            request_headers: vec![],
        });
    }
    assert!(logs.flush(std::time::Duration::from_secs(10)));
    let source: &dyn LogSource = &logs;
    let all = source.query("shop", "development", &[]).unwrap();
    assert_eq!(all["page"]["total"], 3);
    let p = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
    let errors = source
        .query("shop", "development", &p("status", "4xx"))
        .unwrap();
    assert_eq!(errors["page"]["total"], 1);
    assert_eq!(errors["data"][0]["path"], "/b");
    let paged = source
        .query("shop", "development", &p("limit", "2"))
        .unwrap();
    assert_eq!(
        (
            paged["data"].as_array().unwrap().len(),
            paged["page"]["total"].clone()
        ),
        (2, json!(3))
    );
    let bad = source
        .query("shop", "development", &p("status", "abc"))
        .unwrap_err();
    assert_eq!(bad.status.as_u16(), 400);
    assert_eq!(bad.body()["detail"][0]["loc"], json!(["params", "status"]));
    assert_eq!(
        source.query("other", "development", &[]).unwrap()["page"]["total"],
        0
    );
    logs.shutdown(std::time::Duration::from_secs(5));
}
