//! Harness for the end-to-end tests of the real `stratus` binary.
//!
//! Starts `stratus serve` on a free port (`--listen 127.0.0.1:0`) with a temporary data dir,
//! waits for `/readyz`, and stops it with SIGTERM (checking the exit status) or SIGKILL. Also
//! holds a small blocking HTTP/1.1 client on `std::net` (one connection per request,
//! `Connection: close`), so that the tests see exactly what the server sends, including error
//! statuses and connection failures, without an HTTP client dependency.
//!
//! Invariants: a [`Server`] that is dropped without being stopped is killed, so a failing test
//! never leaves a process behind; every wait has a deadline and fails the test with the
//! server's captured output when it expires.

#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How long the server may take to start listening and become ready.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a graceful stop (SIGTERM) may take before the test fails.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(40);
/// Read/write timeout of one HTTP request of the test client.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(30);
/// Owner account created with `stratus admin create` by [`create_owner`].
pub const OWNER_EMAIL: &str = "owner@example.com";
/// Password of [`OWNER_EMAIL`].
pub const OWNER_PASSWORD: &str = "correct-horse-battery-staple";

/// Path of the binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_stratus")
}

/// A running `stratus serve` child process.
pub struct Server {
    child: Option<Child>,
    /// Base URL, e.g. `http://127.0.0.1:40123`.
    pub base: String,
    /// The data dir given to `--data-dir`.
    pub data_dir: PathBuf,
    output: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts `stratus serve` on a free port with `data_dir` and, if given, `--app app`,
    /// and waits until `/readyz` answers 200.
    pub fn start(data_dir: &Path, app: Option<&Path>) -> Server {
        let mut cmd = Command::new(bin());
        cmd.arg("serve")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(data_dir);
        if let Some(app) = app {
            cmd.arg("--app").arg(app);
        }
        cmd.env_remove("STRATUS_LISTEN")
            .env_remove("STRATUS_DATA_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn stratus serve");
        let output = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().expect("stdout piped");
        let stderr = child.stderr.take().expect("stderr piped");
        capture(stdout, Arc::clone(&output), "out");
        capture(stderr, Arc::clone(&output), "err");
        let pid = child.id();
        let mut server = Server {
            child: Some(child),
            base: String::new(),
            data_dir: data_dir.to_path_buf(),
            output,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(url) = server.announced_url(pid) {
                server.base = url.trim_end_matches('/').to_string();
                break;
            }
            server.assert_alive("while starting");
            assert!(
                Instant::now() < deadline,
                "stratus did not announce its address within {START_TIMEOUT:?}; output:\n{}",
                server.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        loop {
            if let Ok(r) = server.get("/readyz")
                && r.status == 200
            {
                return server;
            }
            server.assert_alive("while waiting for /readyz");
            assert!(
                Instant::now() < deadline,
                "/readyz did not answer 200 within {START_TIMEOUT:?}; output:\n{}",
                server.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The URL printed on stdout (`Stratus is listening on http://ADDR`) or written to
    /// `server.json` by this very process (a stale file of a killed run has another pid).
    fn announced_url(&self, pid: u32) -> Option<String> {
        const MARK: &str = "Stratus is listening on ";
        for line in self.output.lock().expect("output lock").iter() {
            if let Some(pos) = line.find(MARK) {
                let url = line[pos + MARK.len()..].split_whitespace().next()?;
                return Some(url.to_string());
            }
        }
        let text = std::fs::read_to_string(self.data_dir.join("server.json")).ok()?;
        let v: Value = serde_json::from_str(&text).ok()?;
        if v["pid"].as_u64() == Some(u64::from(pid)) {
            return v["url"].as_str().map(str::to_string);
        }
        None
    }

    fn assert_alive(&mut self, when: &str) {
        if let Some(child) = self.child.as_mut()
            && let Ok(Some(status)) = child.try_wait()
        {
            std::thread::sleep(Duration::from_millis(200));
            panic!(
                "stratus exited {when} with {status}; output:\n{}",
                self.output()
            );
        }
    }

    /// Everything the server printed so far (stdout and stderr, interleaved by line).
    pub fn output(&self) -> String {
        self.output.lock().expect("output lock").join("\n")
    }

    /// The process id of the server.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("server running").id()
    }

    /// Sends SIGTERM and waits for the process to exit; returns its exit status.
    pub fn terminate(mut self) -> ExitStatus {
        let mut child = self.child.take().expect("server running");
        let ok = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()
            .expect("run kill");
        assert!(ok.success(), "kill -TERM failed");
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            if let Some(status) = child.try_wait().expect("wait for stratus") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "stratus did not exit within {STOP_TIMEOUT:?} of SIGTERM; output:\n{}",
                    self.output()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGTERM and asserts a clean exit (status 0).
    pub fn stop(self) {
        let output = Arc::clone(&self.output);
        let status = self.terminate();
        assert!(
            status.success(),
            "stratus exited with {status} after SIGTERM; output:\n{}",
            output.lock().expect("output lock").join("\n")
        );
    }

    /// Kills the process with SIGKILL (no chance to flush or clean up) and reaps it.
    pub fn kill9(mut self) {
        let mut child = self.child.take().expect("server running");
        child.kill().expect("SIGKILL stratus");
        let _ = child.wait();
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// GET `path`.
    pub fn get(&self, path: &str) -> std::io::Result<Response> {
        request("GET", &self.url(path), &[], None)
    }

    /// A request with a JSON body (`content-type: application/json`).
    pub fn send_json(&self, method: &str, path: &str, body: &Value) -> std::io::Result<Response> {
        let bytes = serde_json::to_vec(body).expect("serialize body");
        request(
            method,
            &self.url(path),
            &[("content-type", "application/json")],
            Some(&bytes),
        )
    }

    /// A request with explicit headers and an optional raw body.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> std::io::Result<Response> {
        request(method, &self.url(path), headers, body)
    }

    /// Logs in to the admin API and returns the bearer token.
    pub fn login(&self, email: &str, password: &str) -> String {
        let r = self
            .send_json(
                "POST",
                "/admin/api/v1/auth/login",
                &json!({"email": email, "password": password}),
            )
            .expect("login request");
        assert_eq!(r.status, 200, "login failed: {}", r.text());
        r.json()["token"]
            .as_str()
            .expect("token in login response")
            .to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn capture<R: Read + Send + 'static>(stream: R, into: Arc<Mutex<Vec<String>>>, tag: &'static str) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if std::env::var_os("STRATUS_E2E_ECHO").is_some() {
                eprintln!("[stratus {tag}] {line}");
            }
            into.lock().expect("output lock").push(line);
        }
    });
}

/// Runs `stratus admin create` for [`OWNER_EMAIL`] on `data_dir` and asserts success.
pub fn create_owner(data_dir: &Path) {
    let out = Command::new(bin())
        .args(["admin", "create", "--data-dir"])
        .arg(data_dir)
        .args(["--email", OWNER_EMAIL, "--password", OWNER_PASSWORD])
        .output()
        .expect("run stratus admin create");
    assert!(
        out.status.success(),
        "stratus admin create failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Writes `project.json` into `dir` atomically (temp file + rename), so that the `--app`
/// watcher never reads a half-written file.
pub fn write_project(dir: &Path, project: &Value) {
    std::fs::create_dir_all(dir).expect("create app dir");
    let tmp = dir.join(".project.json.tmp");
    std::fs::write(
        &tmp,
        serde_json::to_vec_pretty(project).expect("serialize project"),
    )
    .expect("write project");
    std::fs::rename(&tmp, dir.join("project.json")).expect("rename project");
}

/// Polls `check` every 50 ms until it returns true or `timeout` passes; returns whether it did.
pub fn wait_until(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if check() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The shop project of CONTRACT §4 (name `shop`; the server tests' fixture).
pub fn shop_project() -> Value {
    serde_json::from_str(include_str!("../../../server/tests/fixtures/shop.json"))
        .expect("the shop fixture is JSON")
}

/// A response read to the end.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// Headers, names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    /// The (de-chunked) body.
    pub body: Vec<u8>,
}

impl Response {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as (lossy) UTF-8 text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON; panics with the status and body if it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "response {} is not JSON ({e}): {:?}",
                self.status,
                self.text()
            )
        })
    }
}

/// Sends one HTTP/1.1 request on a fresh connection (`Connection: close`) and reads the whole
/// response. Transport failures (refused, reset, timeout, malformed response) are `Err`.
pub fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> std::io::Result<Response> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| std::io::Error::other(format!("not an http URL: {url}")))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr = authority
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::other("no address"))?;
    let mut stream = TcpStream::connect_timeout(&addr, HTTP_TIMEOUT)?;
    stream.set_read_timeout(Some(HTTP_TIMEOUT))?;
    stream.set_write_timeout(Some(HTTP_TIMEOUT))?;
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nhost: {authority}\r\nconnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        head.push_str(&format!("content-length: {}\r\n", b.len()));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    if let Some(b) = body {
        out.extend_from_slice(b);
    }
    // The server may answer (e.g. 413) and close before the whole body is written: a write
    // error is then not a failure as long as a response can be read.
    let write_result = stream.write_all(&out).and_then(|()| stream.flush());
    let mut raw = Vec::new();
    let read_result = stream.read_to_end(&mut raw);
    if raw.is_empty() {
        write_result?;
        read_result?;
        return Err(std::io::Error::other("empty response"));
    }
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> std::io::Result<Response> {
    let bad = |m: &str| std::io::Error::other(format!("malformed response: {m}"));
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of head"))?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| bad("head not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().ok_or_else(|| bad("no status line"))?;
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("status"))?;
    let mut headers = Vec::new();
    for line in lines {
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let rest = &raw[end + 4..];
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        dechunk(rest).ok_or_else(|| bad("chunked body"))?
    } else if let Some((_, len)) = headers.iter().find(|(k, _)| k == "content-length") {
        let len: usize = len.parse().map_err(|_| bad("content-length"))?;
        if rest.len() < len {
            return Err(bad("truncated body"));
        }
        rest[..len].to_vec()
    } else {
        rest.to_vec()
    };
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        if data.len() < size + 2 {
            return None;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// Asserts the CONTRACT §3 error shape: `status`, JSON body with `code` and a `detail`.
pub fn assert_error(r: &Response, status: u16, code: &str) -> Value {
    assert_eq!(
        r.status,
        status,
        "expected {status} {code}, got body {}",
        r.text()
    );
    let v = r.json();
    assert_eq!(v["code"], code, "wrong code in {v}");
    assert!(
        v.get("detail").is_some() && !v["detail"].is_null(),
        "error without detail: {v}"
    );
    assert!(
        r.header("x-request-id").is_some(),
        "error without x-request-id"
    );
    v
}

/// Asserts a 400 `validation_failed` whose `detail` has an entry with `loc` == `loc`.
pub fn assert_validation(r: &Response, loc: &[&str]) {
    let v = assert_error(r, 400, "validation_failed");
    let details = v["detail"]
        .as_array()
        .unwrap_or_else(|| panic!("detail is not a list: {v}"));
    let want: Vec<Value> = loc.iter().map(|s| json!(s)).collect();
    assert!(
        details.iter().any(|d| d["loc"].as_array() == Some(&want)),
        "no field error at {loc:?} in {v}"
    );
    for d in details {
        assert!(d["msg"].is_string(), "field error without msg: {d}");
    }
}
