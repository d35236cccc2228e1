//! Shared harness of the admin API tests: a control plane on a temporary data directory,
//! the admin router served over real HTTP on 127.0.0.1:0, a recording stub deployer and log
//! source, and a small JSON client.

#![allow(dead_code, unreachable_pub, missing_docs)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use stratus_docstore::{Store, StoreOptions};
use stratus_server::admin::{AdminState, router};
use stratus_server::control::{ControlConfig, ControlPlane, Deployer, LogSource};
use stratus_server::http::ApiError;

/// Records deployments; refuses definitions with `"refuse": true`.
#[derive(Default)]
pub struct StubDeployer {
    pub deployed: Mutex<Vec<(String, String, Value)>>,
    pub undeployed: Mutex<Vec<(String, String)>>,
}

impl Deployer for StubDeployer {
    fn deploy(&self, project: &str, env: &str, definition: &Value) -> Result<Value, Vec<Value>> {
        if definition.get("refuse") == Some(&Value::Bool(true)) {
            return Err(vec![json!({"file": "project.json", "path": "$.refuse",
                                   "code": "unknown_field", "message": "refused by the stub"})]);
        }
        self.deployed
            .lock()
            .unwrap()
            .push((project.into(), env.into(), definition.clone()));
        Ok(json!({"apis": definition.get("apis").and_then(Value::as_array).map_or(0, Vec::len)}))
    }

    fn undeploy(&self, project: &str, env: &str) {
        self.undeployed
            .lock()
            .unwrap()
            .push((project.into(), env.into()));
    }
}

/// One recorded log query: project, environment, parameters.
pub type LogQuery = (String, String, Vec<(String, String)>);

/// Records queries; answers one fake entry.
#[derive(Default)]
pub struct StubLogs {
    pub queries: Mutex<Vec<LogQuery>>,
}

impl LogSource for StubLogs {
    fn query(
        &self,
        project: &str,
        env: &str,
        params: &[(String, String)],
    ) -> Result<Value, ApiError> {
        self.queries
            .lock()
            .unwrap()
            .push((project.into(), env.into(), params.to_vec()));
        Ok(json!({"data": [{"status": 200}], "page": {"total": 1}}))
    }
}

pub struct Harness {
    pub base: String,
    pub client: reqwest::Client,
    pub control: Arc<ControlPlane>,
    pub deployer: Arc<StubDeployer>,
    pub logs: Arc<StubLogs>,
    pub data_dir: PathBuf,
    pub store_file: PathBuf,
    _dir: tempfile::TempDir,
}

pub async fn start() -> Harness {
    start_with(ControlConfig::default()).await
}

pub async fn start_with(config: ControlConfig) -> Harness {
    start_opts(config, true).await
}

/// `connect_info: false` serves without client addresses (as a server that forgot
/// `into_make_service_with_connect_info`).
pub async fn start_opts(config: ControlConfig, connect_info: bool) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let store_file = dir.path().join("data.redb");
    let store = Store::open(&store_file, StoreOptions::default()).unwrap();
    let control = Arc::new(ControlPlane::open(store, dir.path(), config).unwrap());
    let deployer = Arc::new(StubDeployer::default());
    let logs = Arc::new(StubLogs::default());
    let app = axum::Router::new().nest(
        "/admin/api/v1",
        router(AdminState {
            control: control.clone(),
            deployer: deployer.clone(),
            logs: logs.clone(),
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        if connect_info {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap();
        } else {
            axum::serve(listener, app.into_make_service())
                .await
                .unwrap();
        }
    });
    Harness {
        base: format!("http://{addr}/admin/api/v1"),
        client: reqwest::Client::new(),
        control,
        deployer,
        logs,
        data_dir: dir.path().to_path_buf(),
        store_file,
        _dir: dir,
    }
}

/// A response: status, JSON body (Null when empty), and the `WWW-Authenticate` header.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub body: Value,
    pub www_authenticate: Option<String>,
    pub retry_after: Option<String>,
}

impl Harness {
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let www_authenticate = resp
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_string());
        let retry_after = resp
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_string());
        let bytes = resp.bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Resp {
            status,
            body,
            www_authenticate,
            retry_after,
        }
    }

    /// Calls with the local admin token and asserts the status.
    pub async fn sys(&self, method: &str, path: &str, body: Option<Value>, status: u16) -> Value {
        let token = self.control.local_admin_token().to_string();
        let r = self.call(method, path, Some(&token), body).await;
        assert_eq!(r.status, status, "{method} {path}: {:?}", r.body);
        r.body
    }

    /// Creates an account through the control plane and logs it in over HTTP.
    pub async fn user(&self, email: &str, owner: bool) -> String {
        self.control
            .create_account(email, "password-123", owner)
            .unwrap();
        self.login(email, "password-123").await
    }

    pub async fn login(&self, email: &str, password: &str) -> String {
        let r = self
            .call(
                "POST",
                "/auth/login",
                None,
                Some(json!({"email": email, "password": password})),
            )
            .await;
        assert_eq!(r.status, 200, "login {email}: {:?}", r.body);
        r.body["token"].as_str().unwrap().to_string()
    }
}
