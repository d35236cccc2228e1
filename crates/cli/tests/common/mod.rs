//! Helpers of the CLI integration tests: running the real `stratus` binary, a tiny std-only
//! HTTP client, and a server started on a free port.

#![allow(dead_code, unreachable_pub)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_stratus");

/// Output of one run: exit code, stdout, stderr.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub out: String,
    pub err: String,
}

impl Run {
    /// stdout and stderr together.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.out, self.err)
    }
}

fn to_run(o: Output) -> Run {
    Run {
        code: o.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&o.stdout).into_owned(),
        err: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// Runs `stratus args…` with a clean `STRATUS_*` environment plus `env`.
pub fn stratus_env(args: &[&str], env: &[(&str, &str)], cwd: Option<&Path>) -> Run {
    let mut c = Command::new(BIN);
    c.args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("STRATUS_") {
            c.env_remove(k);
        }
    }
    for (k, v) in env {
        c.env(k, v);
    }
    if let Some(d) = cwd {
        c.current_dir(d);
    }
    to_run(c.output().expect("run stratus"))
}

/// Runs `stratus args…` with a clean environment.
pub fn stratus(args: &[&str]) -> Run {
    stratus_env(args, &[], None)
}

/// A valid project definition (the CONTRACT §4 example, trimmed).
/// `stratus admin create --data-dir <d> --email <email> --password <password>`.
pub fn admin_create(d: &str, email: &str, password: &str) -> Run {
    stratus(&[
        "admin",
        "create",
        "--data-dir",
        d,
        "--email",
        email,
        "--password",
        password,
    ])
}

pub fn good_project(dir: &Path, name: &str) {
    std::fs::create_dir_all(dir.join("models")).expect("mkdir");
    std::fs::write(
        dir.join("project.json"),
        format!(
            r#"{{"name": "{name}",
  "apis": [{{"template": "crud", "model": "product", "endpoint": "/products"}}]}}"#
        ),
    )
    .expect("write");
    std::fs::write(
        dir.join("models/product.json"),
        r#"{"name": "product", "collection": "products",
  "fields": {"name": {"type": "string", "required": true, "maxLength": 200},
             "price": {"type": "number", "min": 0}}}"#,
    )
    .expect("write");
}

/// A free TCP port on loopback (bound then released).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// One HTTP/1.1 exchange (`Connection: close`); returns status and JSON body (Null if none).
pub fn http(method: &str, url: &str, token: Option<&str>, body: Option<&Value>) -> (u16, Value) {
    let rest = url.strip_prefix("http://").expect("http url");
    let (host, path) = rest
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap_or((rest, "/".into()));
    let mut s = TcpStream::connect(host).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    if let Some(t) = token {
        req.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    if body.is_some() {
        req.push_str("Content-Type: application/json\r\n");
    }
    req.push_str(&format!(
        "Content-Length: {}\r\n\r\n{payload}",
        payload.len()
    ));
    s.write_all(req.as_bytes()).expect("send");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].strip_prefix("\r\n").unwrap_or(&rest[n..]);
    }
    out
}

/// A `stratus serve` child process; killed on drop.
pub struct Server {
    pub child: Child,
    pub url: String,
    pub data_dir: PathBuf,
}

impl Server {
    /// Starts `stratus serve --listen 127.0.0.1:<free> --data-dir DIR extra…` and waits until
    /// `/healthz` answers and `server.json` exists.
    pub fn start(data_dir: &Path, extra: &[&str]) -> Server {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let mut c = Command::new(BIN);
        c.args(["serve", "--listen", &listen, "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (k, _) in std::env::vars() {
            if k.starts_with("STRATUS_") {
                c.env_remove(k);
            }
        }
        let child = c.spawn().expect("spawn serve");
        let url = format!("http://{listen}");
        let mut server = Server {
            child,
            url,
            data_dir: data_dir.to_path_buf(),
        };
        let t0 = Instant::now();
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("stratus serve exited early: {status}");
            }
            let up = TcpStream::connect(&listen).is_ok() && data_dir.join("server.json").exists();
            if up && http("GET", &format!("{}/healthz", server.url), None, None).0 == 200 {
                return server;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "server did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Logs in and returns the session token.
    pub fn login(&self, email: &str, password: &str) -> (u16, Value) {
        http(
            "POST",
            &format!("{}/admin/api/v1/auth/login", self.url),
            None,
            Some(&serde_json::json!({"email": email, "password": password})),
        )
    }

    /// Stops the server with SIGTERM (via `kill`) and waits for it.
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(30) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
