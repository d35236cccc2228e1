//! An in-process Stratus server for tests and benches: `serve::run_on` on a loopback port
//! with a temp data dir, the admin token read from `<data_dir>/.admin-token`, and a real HTTP
//! JWKS server that counts requests per path.

#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use stratus_server::config::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A running server.
pub struct Server {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    /// The admin bearer token.
    pub token: String,
    /// A keep-alive client.
    pub client: reqwest::Client,
}

/// Starts the server with `config` (its `data_dir` is used as is).
pub async fn start(config: Config) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let data_dir = config.data_dir.clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        stratus_server::serve::run_on(config, listener, async {
            let _ = rx.await;
        })
        .await
        .expect("server ran");
    });
    let client = reqwest::Client::new();
    for _ in 0..400 {
        if let Ok(r) = client.get(format!("{url}/readyz")).send().await
            && r.status() == 200
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let token = std::fs::read_to_string(data_dir.join(".admin-token")).expect("admin token");
    Server {
        url,
        stop: Some(tx),
        task,
        token: token.trim().to_string(),
        client,
    }
}

/// Starts the server on a data dir with default settings.
pub async fn start_in(data_dir: &std::path::Path) -> Server {
    start(Config {
        data_dir: data_dir.to_path_buf(),
        ..Config::default()
    })
    .await
}

impl Server {
    /// Stops the server and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("stopped in time")
            .expect("task ok");
    }

    /// An admin API call with the admin token.
    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .client
            .request(method, format!("{}/admin/api/v1{path}", self.url))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("admin request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Creates project `name`, sets `secrets` (name → values) in `development`, then deploys
    /// `definition` there.
    pub async fn deploy(&self, name: &str, secrets: &[(&str, Value)], definition: Value) {
        use reqwest::Method as M;
        let (st, body) = self
            .admin(M::POST, "/projects", Some(json!({"name": name})))
            .await;
        assert!(st == 201 || st == 200, "create project: {st} {body}");
        for (secret, values) in secrets {
            let (st, body) = self
                .admin(
                    M::PUT,
                    &format!("/projects/{name}/environments/development/secrets/{secret}"),
                    Some(json!({"values": values})),
                )
                .await;
            assert!((200..300).contains(&st), "set secret: {st} {body}");
        }
        let (st, body) = self
            .admin(
                M::POST,
                &format!("/projects/{name}/environments/development/deploy"),
                Some(definition),
            )
            .await;
        assert_eq!(st, 200, "deploy: {body}");
    }

    /// `GET /{project}/development/api{path}` with an optional `Authorization` value.
    pub async fn get(
        &self,
        project: &str,
        path: &str,
        authorization: Option<&str>,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let mut req = self
            .client
            .get(format!("{}/{project}/development/api{path}", self.url));
        if let Some(a) = authorization {
            req = req.header("authorization", a);
        }
        let r = req.send().await.expect("request");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        (status, headers, r.json().await.unwrap_or(Value::Null))
    }
}

#[derive(Default)]
struct JwksState {
    docs: HashMap<String, Value>,
    hits: HashMap<String, usize>,
}

/// A real HTTP server on 127.0.0.1 serving JSON documents by path (one request per
/// connection), counting requests per path.
#[derive(Clone)]
pub struct JwksServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    state: Arc<Mutex<JwksState>>,
}

impl JwksServer {
    /// Starts the server.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let state = Arc::new(Mutex::new(JwksState::default()));
        let st = Arc::clone(&state);
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let st = Arc::clone(&st);
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 1024];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 * 1024 {
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let text = String::from_utf8_lossy(&buf);
                    let path = text.split_whitespace().nth(1).unwrap_or("/").to_string();
                    let (status, body) = {
                        let mut s = st.lock().expect("state");
                        *s.hits.entry(path.clone()).or_default() += 1;
                        match s.docs.get(&path) {
                            Some(doc) => (200, doc.to_string()),
                            None => (404, "{}".to_string()),
                        }
                    };
                    let resp = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = sock.write_all(resp.as_bytes()).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        JwksServer { base, state }
    }

    /// The URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Serves `doc` at `path` from now on.
    pub fn set(&self, path: &str, doc: Value) {
        self.state
            .lock()
            .expect("state")
            .docs
            .insert(path.into(), doc);
    }

    /// Requests seen for `path`.
    pub fn hits(&self, path: &str) -> usize {
        self.state
            .lock()
            .expect("state")
            .hits
            .get(path)
            .copied()
            .unwrap_or(0)
    }
}
