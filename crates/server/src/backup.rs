//! Backups of a data directory: a directory holding the document store file (`data.redb`, or
//! `data.mdb` for a store on the LMDB engine; see [`data_file`]), `logs/` (the request logs'
//! segment files, when there are any), the key files of the data directory and a
//! `backup.json` manifest.
//!
//! Used by `stratus backup` directly when the server is stopped, and by the admin endpoint
//! `POST /admin/api/v1/backup` ([`backup_handler`]) when it runs. The document store is copied
//! with [`Store::backup_to`] (one MVCC snapshot, fsynced, renamed into place) and the request
//! logs segment by segment up to what is written ([`RequestLogs::backup_to`]), so a backup of
//! a running server is consistent per part and never blocks writers.
//!
//! Invariants: the output directory is created fresh (an existing non-empty directory is
//! refused); the manifest is written last, so a directory without `backup.json` is an
//! incomplete backup and [`restore_backup`] refuses it.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use stratus_docstore::kv_lmdb::lock_path;
use stratus_docstore::{Engine, Store, StoreOptions};

use crate::http::error::ApiError;
use crate::logs::{LOGS_DIR, LogError, RequestLogs};

/// File name of the document store inside a data directory and a backup, redb engine (the
/// default).
pub const DATA_FILE: &str = "data.redb";
/// File name of the document store on the LMDB engine (`store.engine = "lmdb"`). LMDB keeps
/// its lock table beside it in `data.mdb-lock` (never backed up).
pub const LMDB_DATA_FILE: &str = "data.mdb";

/// The document store file of the data directory (or backup) `dir`: the one that exists
/// ([`DATA_FILE`] first, then [`LMDB_DATA_FILE`]), else the one a new store of `engine`
/// gets. Opening it with [`Store::open`] uses the engine that wrote it.
pub fn data_file(dir: &Path, engine: Engine) -> PathBuf {
    for name in [DATA_FILE, LMDB_DATA_FILE] {
        let p = dir.join(name);
        if p.is_file() {
            return p;
        }
    }
    dir.join(data_file_name(engine))
}

/// The store file name of `engine`.
pub fn data_file_name(engine: Engine) -> &'static str {
    match engine {
        Engine::Lmdb => LMDB_DATA_FILE,
        Engine::Redb => DATA_FILE,
    }
}
/// Request-log store file of earlier versions; a restore removes a stale one.
pub const OLD_LOGS_FILE: &str = "logs.redb";
/// File name of the manifest inside a backup.
pub const MANIFEST_FILE: &str = "backup.json";
/// Suffix of the key files (`master.key`, session keys, …) copied with a backup.
pub const KEY_FILE_SUFFIX: &str = ".key";
/// The config file of a data directory, copied with a backup when present.
pub const DATA_DIR_CONFIG_FILE: &str = "stratus.toml";

/// The manifest of a backup (`backup.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupManifest {
    /// When the backup was taken, ISO-8601 UTC.
    pub created_at: String,
    /// Version of the Stratus build that wrote it.
    pub stratus_version: String,
    /// Docstore format version of the store files.
    pub format_version: u32,
    /// Collections in the document store.
    pub collections: u64,
    /// Documents in the document store.
    pub documents: u64,
    /// Whether the request logs (`logs/`) are part of the backup.
    pub logs: bool,
    /// Request-log entries in the backup (0 when absent).
    pub log_documents: u64,
    /// Other files copied (key files, `stratus.toml`), by name.
    pub files: Vec<String>,
}

/// Why a backup or restore failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The target directory exists and is not empty.
    #[error("{0} exists and is not empty")]
    NotEmpty(PathBuf),
    /// The directory is not a complete backup.
    #[error("{0} is not a Stratus backup (no {MANIFEST_FILE})")]
    NotABackup(PathBuf),
    /// The store could not be copied or opened.
    #[error("store: {0}")]
    Store(#[from] stratus_docstore::DocstoreError),
    /// The request logs could not be copied.
    #[error("request logs: {0}")]
    Logs(#[from] LogError),
    /// A file operation failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// On which path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The manifest could not be read or written.
    #[error("manifest: {0}")]
    Manifest(String),
    /// The restored store failed its integrity check.
    #[error("the restored store failed its integrity check: {0}")]
    Integrity(String),
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> BackupError {
    let path = path.to_path_buf();
    move |source| BackupError::Io { what, path, source }
}

/// Whether `dir` is absent or an empty directory.
pub fn is_empty_dir(dir: &Path) -> Result<bool, BackupError> {
    match std::fs::read_dir(dir) {
        Ok(mut it) => Ok(it.next().is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(io("reading", dir)(e)),
    }
}

/// The extra files of a data directory a backup carries: `*.key` and `stratus.toml`.
fn extra_files(data_dir: &Path) -> Result<Vec<String>, BackupError> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(data_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(io("reading", data_dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(io("reading", data_dir))?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let is_file = entry.file_type().map(|t| t.is_file()).unwrap_or(false);
        if is_file && (name.ends_with(KEY_FILE_SUFFIX) || name == DATA_DIR_CONFIG_FILE) {
            out.push(name);
        }
    }
    out.sort();
    Ok(out)
}

/// ISO-8601 UTC of `t` (seconds precision).
fn iso8601(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0) as i64;
    bson::DateTime::from_millis(secs * 1000)
        .try_to_rfc3339_string()
        .unwrap_or_else(|_| secs.to_string())
}

/// Copies a file and fsyncs the copy, keeping owner-only permissions of key files.
fn copy_synced(from: &Path, to: &Path) -> Result<(), BackupError> {
    std::fs::copy(from, to).map_err(io("copying", from))?;
    let f = std::fs::File::open(to).map_err(io("opening", to))?;
    f.sync_all().map_err(io("syncing", to))
}

/// Copies the directory tree `from` (directories and files only) to `to`, every file and
/// directory fsync'd.
fn copy_dir_synced(from: &Path, to: &Path) -> Result<(), BackupError> {
    std::fs::create_dir_all(to).map_err(io("creating", to))?;
    for entry in std::fs::read_dir(from).map_err(io("reading", from))? {
        let entry = entry.map_err(io("reading", from))?;
        let kind = entry.file_type().map_err(io("reading", &entry.path()))?;
        let dest = to.join(entry.file_name());
        if kind.is_dir() {
            copy_dir_synced(&entry.path(), &dest)?;
        } else if kind.is_file() {
            copy_synced(&entry.path(), &dest)?;
        }
    }
    sync_dir(to)
}

fn sync_dir(dir: &Path) -> Result<(), BackupError> {
    let d = std::fs::File::open(dir).map_err(io("opening", dir))?;
    d.sync_all().map_err(io("syncing", dir))
}

/// Where a backup takes the request logs from.
#[derive(Debug, Clone, Copy)]
pub enum LogsSource<'a> {
    /// No request logs in the backup.
    None,
    /// The running server's request logs.
    Live(&'a RequestLogs),
    /// The `logs/` directory of a data directory no server uses.
    Stopped(&'a Path),
}

/// Writes a backup of the open store, the request logs and the key files of `data_dir` into
/// `out`, which must be absent or an empty directory.
pub fn write_backup(
    data: &Store,
    logs: LogsSource<'_>,
    data_dir: &Path,
    out: &Path,
) -> Result<BackupManifest, BackupError> {
    if !is_empty_dir(out)? {
        return Err(BackupError::NotEmpty(out.to_path_buf()));
    }
    std::fs::create_dir_all(out).map_err(io("creating", out))?;
    // The copy has the store's engine, so it keeps that engine's file name.
    let name = data_file_name(data.engine().unwrap_or_default());
    let info = data.backup_to(&out.join(name))?;
    let log_info = match logs {
        LogsSource::None => None,
        LogsSource::Live(l) => Some(l.backup_to(&out.join(LOGS_DIR))?),
        LogsSource::Stopped(dir) if dir.is_dir() => {
            Some(crate::logs::backup_dir(dir, &out.join(LOGS_DIR))?)
        }
        LogsSource::Stopped(_) => None,
    };
    let files = extra_files(data_dir)?;
    for name in &files {
        copy_synced(&data_dir.join(name), &out.join(name))?;
    }
    let manifest = BackupManifest {
        created_at: iso8601(SystemTime::now()),
        stratus_version: env!("CARGO_PKG_VERSION").to_string(),
        format_version: info.format_version,
        collections: info.collections,
        documents: info.documents,
        logs: log_info.is_some(),
        log_documents: log_info.unwrap_or(0),
        files,
    };
    let text = serde_json::to_string_pretty(&manifest)
        .map_err(|e| BackupError::Manifest(e.to_string()))?;
    let path = out.join(MANIFEST_FILE);
    std::fs::write(&path, text).map_err(io("writing", &path))?;
    copy_sync_file(&path)?;
    sync_dir(out)?;
    Ok(manifest)
}

fn copy_sync_file(path: &Path) -> Result<(), BackupError> {
    let f = std::fs::File::open(path).map_err(io("opening", path))?;
    f.sync_all().map_err(io("syncing", path))
}

/// Reads and checks the manifest of the backup in `dir`.
pub fn read_manifest(dir: &Path) -> Result<BackupManifest, BackupError> {
    let path = dir.join(MANIFEST_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(BackupError::NotABackup(dir.to_path_buf()));
        }
        Err(e) => return Err(io("reading", &path)(e)),
    };
    serde_json::from_str(&text)
        .map_err(|e| BackupError::Manifest(format!("{}: {e}", path.display())))
}

/// Restores the backup in `from` into the data directory `to` (the server must be stopped;
/// the caller checks). Existing files of the same names are replaced (and a store file of the
/// other engine removed); the restored store is opened and its integrity verified before
/// returning.
pub fn restore_backup(from: &Path, to: &Path) -> Result<BackupManifest, BackupError> {
    let manifest = read_manifest(from)?;
    if manifest.format_version != stratus_docstore::format::FORMAT_VERSION {
        return Err(BackupError::Manifest(format!(
            "format version {} is not readable by this build (version {})",
            manifest.format_version,
            stratus_docstore::format::FORMAT_VERSION
        )));
    }
    std::fs::create_dir_all(to).map_err(io("creating", to))?;
    // Request logs of an earlier version must not survive next to restored data.
    let stale = to.join(OLD_LOGS_FILE);
    if stale.exists() {
        std::fs::remove_file(&stale).map_err(io("removing", &stale))?;
    }
    let logs = to.join(LOGS_DIR);
    if logs.exists() {
        std::fs::remove_dir_all(&logs).map_err(io("removing", &logs))?;
    }
    if manifest.logs {
        // Copy under a temporary name, then rename, so a crash never leaves half the logs.
        let tmp = to.join(format!("{LOGS_DIR}.restoring"));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(io("removing", &tmp))?;
        }
        copy_dir_synced(&from.join(LOGS_DIR), &tmp)?;
        std::fs::rename(&tmp, &logs).map_err(io("renaming onto", &logs))?;
    }
    let data_name = [DATA_FILE, LMDB_DATA_FILE]
        .into_iter()
        .find(|n| from.join(n).is_file())
        .ok_or_else(|| {
            BackupError::Manifest(format!("{} holds no document store file", from.display()))
        })?;
    let mut names = vec![data_name.to_string()];
    names.extend(manifest.files.iter().cloned());
    for name in &names {
        // Copy under a temporary name, then rename, so a crash never leaves half a file.
        let tmp = to.join(format!("{name}.restoring"));
        copy_synced(&from.join(name), &tmp)?;
        let dest = to.join(name);
        std::fs::rename(&tmp, &dest).map_err(io("renaming onto", &dest))?;
    }
    // The restored store file replaces the data directory's, whichever engine wrote that: a
    // store file of the other engine goes, and so does LMDB's lock table (rebuilt on open).
    let other = if data_name == DATA_FILE {
        LMDB_DATA_FILE
    } else {
        DATA_FILE
    };
    for stale in [to.join(other), lock_path(&to.join(LMDB_DATA_FILE))] {
        if stale.exists() {
            std::fs::remove_file(&stale).map_err(io("removing", &stale))?;
        }
    }
    sync_dir(to)?;
    let store = Store::open(to.join(data_name), StoreOptions::default())?;
    let report = store.verify_integrity()?;
    if !report.problems.is_empty() {
        return Err(BackupError::Integrity(report.problems.join("; ")));
    }
    Ok(manifest)
}

/// The stores and data directory the backup endpoint copies.
#[derive(Debug, Clone)]
pub struct BackupSource {
    /// The document store.
    pub data: Store,
    /// The running server's request logs, when kept.
    pub logs: Option<RequestLogs>,
    /// The data directory (key files are copied from it).
    pub data_dir: PathBuf,
}

/// Body of `POST /admin/api/v1/backup`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupRequest {
    /// Absolute path of the output directory on the server's machine (absent or empty).
    pub out: String,
}

/// `POST /admin/api/v1/backup` `{"out": "/abs/dir"}` → 200 the [`BackupManifest`]. The caller
/// (the admin router) checks that the bearer has owner rights (the CLI uses the local admin
/// token). Errors: 400 `validation_failed` for a relative path, 409 `conflict` for a
/// non-empty directory, 500 `internal` otherwise.
pub async fn backup_handler(
    source: BackupSource,
    body: BackupRequest,
) -> Result<axum::Json<BackupManifest>, ApiError> {
    let out = PathBuf::from(&body.out);
    if !out.is_absolute() {
        return Err(ApiError::field(
            &["body", "out"],
            "must be an absolute path on the server's machine",
            "value_error",
        ));
    }
    let joined = tokio::task::spawn_blocking(move || {
        let logs = source
            .logs
            .as_ref()
            .map_or(LogsSource::None, LogsSource::Live);
        write_backup(&source.data, logs, &source.data_dir, &out)
    })
    .await
    .map_err(ApiError::internal)?;
    match joined {
        Ok(m) => Ok(axum::Json(m)),
        Err(BackupError::NotEmpty(p)) => Err(ApiError::custom(
            axum::http::StatusCode::CONFLICT,
            "conflict",
            format!("{} exists and is not empty", p.display()),
        )),
        Err(e) => Err(ApiError::internal(e)),
    }
}

/// Compares two byte strings in time independent of where they differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The route `POST /backup` (relative: merge it into the admin router that is nested at
/// `/admin/api/v1`) serving [`backup_handler`]. Only the server's local admin token (the one
/// in `<data_dir>/.admin-token`, readable only by the server's user) is accepted: a backup
/// copies every project's data and the key files, and the output path is on the server's
/// machine. Other callers get 401 `unauthenticated`.
///
/// ```text
/// let admin = admin::router(state).merge(backup::backup_router(source, token.to_string()));
/// ```
pub fn backup_router(source: BackupSource, local_admin_token: String) -> axum::Router {
    use axum::http::{HeaderMap, header};
    let token = std::sync::Arc::new(local_admin_token);
    let route = move |headers: HeaderMap, body: axum::body::Bytes| {
        let (source, token) = (source.clone(), token.clone());
        async move {
            let presented = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "));
            match presented {
                Some(t) if same_secret(t.as_bytes(), token.as_bytes()) => {}
                other => {
                    return Err(ApiError::unauthenticated(
                        "backups need the server's local admin token",
                        other.is_some(),
                    ));
                }
            }
            let req: BackupRequest = serde_json::from_slice(&body).map_err(|e| {
                if e.is_syntax() || e.is_eof() {
                    ApiError::new(
                        stratus_types::Code::InvalidJson,
                        "the body is not valid JSON",
                    )
                } else {
                    ApiError::field(&["body"], e.to_string(), "value_error")
                }
            })?;
            backup_handler(source, req).await
        }
    };
    axum::Router::new().route("/backup", axum::routing::post(route))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    fn data_dir_with_store(dir: &Path) -> Store {
        std::fs::create_dir_all(dir).expect("mkdir");
        std::fs::write(dir.join("master.key"), b"k").expect("key");
        std::fs::write(dir.join("server.json"), b"{}").expect("runtime file");
        let s = Store::open(dir.join(DATA_FILE), StoreOptions::default()).expect("open");
        s.insert_many(
            "p_dev",
            "items",
            vec![doc! {"_id": 1}, doc! {"_id": 2}],
            true,
        )
        .expect("insert");
        s
    }

    #[test]
    fn backup_then_restore_round_trips() {
        let tmp = tempfile::tempdir().expect("tmp");
        let dd = tmp.path().join("data");
        let store = data_dir_with_store(&dd);
        let out = tmp.path().join("bk");
        let m = write_backup(&store, LogsSource::None, &dd, &out).expect("backup");
        assert_eq!(m.documents, 2);
        assert_eq!(m.files, vec!["master.key".to_string()]);
        assert!(!out.join("server.json").exists());
        assert!(matches!(
            write_backup(&store, LogsSource::None, &dd, &out),
            Err(BackupError::NotEmpty(_))
        ));
        let target = tmp.path().join("restored");
        let r = restore_backup(&out, &target).expect("restore");
        assert_eq!(r, m);
        assert_eq!(std::fs::read(target.join("master.key")).expect("key"), b"k");
        let s = Store::open(target.join(DATA_FILE), StoreOptions::default()).expect("open");
        assert_eq!(
            s.collection_stats("p_dev", "items").expect("stats").count,
            2
        );
    }

    #[test]
    fn a_backup_keeps_its_engine_and_replaces_the_other_engines_file() {
        let tmp = tempfile::tempdir().expect("tmp");
        // A data directory on LMDB (`store.engine = "lmdb"`) is backed up as LMDB ...
        let fast = tmp.path().join("fast");
        std::fs::create_dir_all(&fast).expect("mkdir");
        let lmdb = Store::open(
            data_file(&fast, Engine::Lmdb),
            StoreOptions {
                engine: Engine::Lmdb,
                ..StoreOptions::default()
            },
        )
        .expect("open");
        lmdb.insert_one("p_dev", "items", doc! {"_id": "l"})
            .expect("insert");
        let out = tmp.path().join("bk");
        write_backup(&lmdb, LogsSource::None, &fast, &out).expect("backup");
        assert!(out.join(LMDB_DATA_FILE).is_file() && !out.join(DATA_FILE).exists());
        assert!(!lock_path(&out.join(LMDB_DATA_FILE)).exists());
        assert_eq!(data_file(&out, Engine::Redb), out.join(LMDB_DATA_FILE));
        // ... and restored over a data directory on redb, whose store file it replaces.
        let dd = tmp.path().join("data");
        drop(data_dir_with_store(&dd));
        assert!(dd.join(DATA_FILE).is_file());
        restore_backup(&out, &dd).expect("restore");
        assert!(!dd.join(DATA_FILE).exists());
        let path = data_file(&dd, Engine::Redb);
        assert_eq!(path, dd.join(LMDB_DATA_FILE));
        assert_eq!(Engine::of_file(&path), Some(Engine::Lmdb));
        let s = Store::open(path, StoreOptions::default()).expect("open");
        assert_eq!(
            s.find_one("p_dev", "items", doc! {}).expect("find"),
            Some(doc! {"_id": "l"})
        );
        // A new data directory gets the configured engine's file.
        let fresh = tmp.path().join("fresh");
        assert_eq!(data_file(&fresh, Engine::Redb), fresh.join(DATA_FILE));
        assert_eq!(data_file(&fresh, Engine::Lmdb), fresh.join(LMDB_DATA_FILE));
    }

    #[test]
    fn restore_refuses_a_directory_without_manifest() {
        let tmp = tempfile::tempdir().expect("tmp");
        let err = restore_backup(tmp.path(), &tmp.path().join("t")).expect_err("refused");
        assert!(matches!(err, BackupError::NotABackup(_)), "{err}");
    }

    #[tokio::test]
    async fn handler_validates_the_path_and_refuses_non_empty() {
        let tmp = tempfile::tempdir().expect("tmp");
        let dd = tmp.path().join("data");
        let store = data_dir_with_store(&dd);
        let source = BackupSource {
            data: store,
            logs: None,
            data_dir: dd.clone(),
        };
        let rel = backup_handler(
            source.clone(),
            BackupRequest {
                out: "rel/dir".into(),
            },
        )
        .await;
        assert_eq!(
            rel.expect_err("relative").body()["code"],
            "validation_failed"
        );
        let busy = backup_handler(
            source.clone(),
            BackupRequest {
                out: dd.display().to_string(),
            },
        )
        .await;
        assert_eq!(busy.expect_err("non-empty").body()["code"], "conflict");
        let out = tmp.path().join("ok");
        let ok = backup_handler(
            source,
            BackupRequest {
                out: out.display().to_string(),
            },
        )
        .await
        .expect("backup");
        assert_eq!(ok.0.documents, 2);
        assert!(out.join(MANIFEST_FILE).exists());
    }

    /// One raw HTTP/1.1 POST; returns the status and the JSON body.
    async fn post(
        addr: std::net::SocketAddr,
        token: Option<&str>,
        body: &str,
    ) -> (u16, serde_json::Value) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let auth = token
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        let req = format!(
            "POST /admin/api/v1/backup HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{auth}\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).await.expect("send");
        let mut raw = String::new();
        s.read_to_string(&mut raw).await.expect("read");
        let status = raw
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .expect("status");
        let json = raw
            .split_once("\r\n\r\n")
            .and_then(|(_, b)| serde_json::from_str(b).ok())
            .unwrap_or(serde_json::Value::Null);
        (status, json)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn route_accepts_only_the_local_admin_token() {
        let tmp = tempfile::tempdir().expect("tmp");
        let dd = tmp.path().join("data");
        let source = BackupSource {
            data: data_dir_with_store(&dd),
            logs: None,
            data_dir: dd.clone(),
        };
        let app =
            axum::Router::new().nest("/admin/api/v1", backup_router(source, "sta_local".into()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        let out = tmp.path().join("bk");
        let body = serde_json::json!({"out": out.display().to_string()}).to_string();
        let cases: Vec<(Option<&str>, &str, u16, &str)> = vec![
            (None, &body, 401, "unauthenticated"),
            (Some("sta_other"), &body, 401, "unauthenticated"),
            (Some("sta_local"), "{nope", 400, "invalid_json"),
            (Some("sta_local"), r#"{"out": 1}"#, 400, "validation_failed"),
            (
                Some("sta_local"),
                r#"{"out": "/x", "more": 1}"#,
                400,
                "validation_failed",
            ),
        ];
        for (token, b, status, code) in cases {
            let (st, json) = post(addr, token, b).await;
            assert_eq!(
                (st, json["code"].as_str()),
                (status, Some(code)),
                "{token:?} {b}: {json}"
            );
        }
        assert!(!out.exists(), "refused requests wrote nothing");
        let (st, json) = post(addr, Some("sta_local"), &body).await;
        assert_eq!(st, 200, "{json}");
        assert_eq!(json["documents"], 2);
        assert!(out.join(DATA_FILE).is_file() && out.join(MANIFEST_FILE).is_file());
        let (st, json) = post(addr, Some("sta_local"), &body).await;
        assert_eq!(
            (st, json["code"].as_str()),
            (409, Some("conflict")),
            "{json}"
        );
    }
}
