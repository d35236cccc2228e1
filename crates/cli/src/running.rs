//! Finding out whether a server runs on a data directory, and how to reach it.
//!
//! A running server writes `<data_dir>/server.json` (`{"url", "pid"}`) and a local admin token
//! `<data_dir>/.admin-token` (0600). The server counts as running when `server.json` exists and
//! its pid is alive (checked through `/proc/<pid>` on Linux; elsewhere the file alone counts).
//! A stale `server.json` (dead pid) is ignored.

use std::path::Path;

use serde::Deserialize;

use crate::failure::Failure;

/// File a running server writes into its data directory.
pub(crate) const SERVER_FILE: &str = "server.json";
/// File holding the local admin token of a running server.
pub(crate) const ADMIN_TOKEN_FILE: &str = ".admin-token";

/// Contents of `server.json`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RunningServer {
    /// Base URL, e.g. `http://127.0.0.1:8080`.
    pub(crate) url: String,
    /// Process id.
    pub(crate) pid: u32,
}

/// Whether process `pid` exists.
fn pid_alive(pid: u32) -> bool {
    let proc_root = Path::new("/proc");
    if proc_root.join("self").exists() {
        proc_root.join(pid.to_string()).exists()
    } else {
        true
    }
}

/// The server running on `data_dir`, if any.
pub(crate) fn running_server(data_dir: &Path) -> Result<Option<RunningServer>, Failure> {
    let path = data_dir.join(SERVER_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Failure::failed(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    };
    let server: RunningServer = serde_json::from_str(&text)
        .map_err(|e| Failure::failed(format!("{} is malformed: {e}", path.display())))?;
    Ok(pid_alive(server.pid).then_some(server))
}

/// The local admin token of the server running on `data_dir`.
pub(crate) fn admin_token(data_dir: &Path) -> Result<String, Failure> {
    let path = data_dir.join(ADMIN_TOKEN_FILE);
    let token = std::fs::read_to_string(&path).map_err(|e| {
        Failure::failed(format!(
            "the server runs but its admin token {} cannot be read: {e}",
            path.display()
        ))
    })?;
    Ok(token.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_live_and_stale_servers() {
        let tmp = tempfile::tempdir().expect("tmp");
        assert!(running_server(tmp.path()).expect("ok").is_none());
        let me = std::process::id();
        std::fs::write(
            tmp.path().join(SERVER_FILE),
            format!(r#"{{"url": "http://127.0.0.1:9", "pid": {me}}}"#),
        )
        .expect("write");
        let s = running_server(tmp.path()).expect("ok").expect("running");
        assert_eq!(s.url, "http://127.0.0.1:9");
        // pid_max on Linux is at most 2^22, so this pid cannot exist.
        std::fs::write(
            tmp.path().join(SERVER_FILE),
            r#"{"url": "http://127.0.0.1:9", "pid": 4294967290}"#,
        )
        .expect("write");
        assert!(running_server(tmp.path()).expect("ok").is_none());
        std::fs::write(tmp.path().join(SERVER_FILE), "{").expect("write");
        assert!(running_server(tmp.path()).is_err());
    }
}
