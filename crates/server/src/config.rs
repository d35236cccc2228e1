//! The server's configuration: every option, its default (a named constant) and its
//! validation. Layering (defaults < config file < `STRATUS_*` environment < command-line flags)
//! is done by the CLI; this module owns the shape and [`Config::validate`], which runs once at
//! start so a bad value stops the server with a message naming the option.
//!
//! The commented `config.example.toml` at the repository root lists every option; a test
//! checks that it parses and matches [`Config::default`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Default HTTP listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Default data directory.
pub const DEFAULT_DATA_DIR: &str = "./stratus-data";
/// Default maximum request body, bytes (413 `payload_too_large` above it).
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// Default maximum concurrent in-flight runtime requests before 503.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 4096;
/// Default bound of the blocking thread pool (store writes waiting for their group commit,
/// hashing, scans). Every thread keeps its own allocator heap, so an unbounded pool makes
/// memory grow with the write concurrency; queued work waits for a free thread instead.
pub const DEFAULT_BLOCKING_THREADS: usize = 12;
/// Default grace period for in-flight requests on shutdown, seconds.
pub const DEFAULT_SHUTDOWN_GRACE_SECS: u64 = 30;
/// Default wall-clock budget of one flow run, milliseconds.
pub const DEFAULT_FLOW_TIMEOUT_MS: u64 = 30_000;
/// Default request-log queue capacity (entries; overflow is dropped and counted).
pub const DEFAULT_LOG_QUEUE: usize = crate::logs::QUEUE_CAPACITY;
/// Default maximum age of request-log entries, seconds (7 days).
pub const DEFAULT_LOG_MAX_AGE_SECS: u64 = 7 * 24 * 3600;
/// Default maximum request-log entries kept per environment.
pub const DEFAULT_LOG_MAX_ENTRIES: u64 = 100_000;
/// Default page cache of the document store, MiB (redb engine only).
pub const DEFAULT_STORE_CACHE_MB: usize = 16;
/// Default largest size of the document store file, MiB (LMDB engine only: it maps this much
/// address space up front; the file grows only as data is written). 256 GiB.
pub const DEFAULT_STORE_MAX_SIZE_MIB: usize = 256 * 1024;
/// Smallest accepted `store.max_size_mib`.
pub const MIN_STORE_MAX_SIZE_MIB: usize = 64;
/// Default polling interval of `--app` dev mode, milliseconds.
pub const DEFAULT_WATCH_INTERVAL_MS: u64 = 500;

/// Diagnostic log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// HTTP listen address (`STRATUS_LISTEN`, `--listen`).
    pub listen: String,
    /// Data directory (`STRATUS_DATA_DIR`, `--data-dir`).
    pub data_dir: PathBuf,
    /// Project directory deployed to `development` and watched (`--app`).
    pub app: Option<PathBuf>,
    /// MongoDB wire-protocol listen address (`--mongo-listen`); off when absent.
    pub mongo_listen: Option<String>,
    /// Diagnostic log format.
    pub log_format: LogFormat,
    /// Diagnostic log filter (tracing `EnvFilter` syntax, e.g. `info,stratus=debug`).
    pub log_level: String,
    /// HTTP limits.
    pub http: HttpSection,
    /// Flow budgets.
    pub flow: FlowSection,
    /// Request logs.
    pub logs: LogsSection,
    /// Storage engine.
    pub store: StoreSection,
    /// MongoDB wire-protocol server (on when `mongo_listen` is set).
    pub mongo: MongoSection,
    /// Secrets and sessions.
    pub security: SecuritySection,
}

/// `[http]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSection {
    /// Maximum request body, bytes.
    pub max_body_bytes: usize,
    /// Maximum concurrent runtime requests (503 `unavailable` above).
    pub max_in_flight: usize,
    /// Threads of the blocking pool (store writes, hashing, scans).
    pub blocking_threads: usize,
    /// Seconds in-flight requests get to finish on SIGTERM.
    pub shutdown_grace_secs: u64,
    /// `--app` polling interval, milliseconds.
    pub watch_interval_ms: u64,
}

/// `[flow]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FlowSection {
    /// Wall-clock budget of one run, ms.
    pub timeout_ms: u64,
    /// Maximum node executions per run.
    pub max_node_executions: u64,
    /// Maximum iterations of one loop.
    pub max_loop_iterations: u64,
    /// Maximum response body, bytes.
    pub max_response_bytes: usize,
    /// Allow `apiCall` to reach private/loopback addresses (off by default: SSRF guard).
    pub allow_private_network: bool,
}

/// `[logs]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogsSection {
    /// Queue capacity of the background writer.
    pub queue_capacity: usize,
    /// Entries older than this are deleted, seconds.
    pub max_age_secs: u64,
    /// At most this many entries per environment (oldest deleted first).
    pub max_entries_per_env: u64,
    /// Size at which a request-log segment file is closed and the next one started, bytes.
    pub segment_bytes: u64,
}

/// `[store]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreSection {
    /// The engine of a new data directory's store file; an existing store file keeps the
    /// engine that wrote it (see `backup::data_file`).
    pub engine: StoreEngine,
    /// LMDB: the largest the store file may grow, MiB.
    pub max_size_mib: usize,
    /// redb: page cache of `data.redb`, MiB.
    pub cache_mb: usize,
    /// Change events kept for change streams (the newest this many; older ones are deleted).
    pub change_retention_events: u64,
    /// redb: read pages missing from the cache through a read-only memory map of `data.redb`
    /// (`StoreOptions::mmap_reads`); turn off where another program may truncate the file.
    pub mmap_reads: bool,
}

impl Default for StoreSection {
    fn default() -> Self {
        StoreSection {
            engine: StoreEngine::default(),
            max_size_mib: DEFAULT_STORE_MAX_SIZE_MIB,
            cache_mb: DEFAULT_STORE_CACHE_MB,
            change_retention_events: stratus_docstore::limits::DEFAULT_CHANGE_RETENTION,
            mmap_reads: true,
        }
    }
}

/// `store.engine`: the storage engine under the document store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreEngine {
    /// redb (`data.redb`), the default.
    #[default]
    Redb,
    /// LMDB (`data.mdb`).
    Lmdb,
}

impl From<StoreEngine> for stratus_docstore::Engine {
    fn from(e: StoreEngine) -> Self {
        match e {
            StoreEngine::Lmdb => stratus_docstore::Engine::Lmdb,
            StoreEngine::Redb => stratus_docstore::Engine::Redb,
        }
    }
}

impl StoreSection {
    /// The document store's options for this section.
    pub fn options(&self) -> stratus_docstore::StoreOptions {
        stratus_docstore::StoreOptions {
            engine: self.engine.into(),
            max_size_bytes: self.max_size_mib.saturating_mul(1024 * 1024),
            cache_bytes: self.cache_mb.saturating_mul(1024 * 1024),
            mmap_reads: self.mmap_reads,
            change_retention: self.change_retention_events,
            ..stratus_docstore::StoreOptions::default()
        }
    }
}

/// `[mongo]`: the MongoDB wire-protocol server started by `mongo_listen`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MongoSection {
    /// PEM certificate chain (leaf first); with `tls_key_file`, the listener accepts only TLS.
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of `tls_cert_file`.
    pub tls_key_file: Option<PathBuf>,
    /// Open server-side cursors, all users together.
    pub max_cursors: usize,
    /// Open server-side cursors of one user.
    pub max_cursors_per_user: usize,
    /// A cursor unused for this long is closed, seconds.
    pub cursor_idle_timeout_secs: u64,
    /// Most client connections open at once; one more is closed right after it is accepted.
    pub max_connections: usize,
}

impl Default for MongoSection {
    fn default() -> Self {
        MongoSection {
            tls_cert_file: None,
            tls_key_file: None,
            max_cursors: crate::wire::cursors::DEFAULT_MAX_CURSORS,
            max_cursors_per_user: crate::wire::cursors::DEFAULT_MAX_CURSORS_PER_USER,
            cursor_idle_timeout_secs: crate::wire::cursors::CURSOR_IDLE_TIMEOUT.as_secs(),
            max_connections: crate::wire::DEFAULT_MAX_CONNECTIONS,
        }
    }
}

impl MongoSection {
    fn validate(&self) -> Result<(), ConfigError> {
        match (&self.tls_cert_file, &self.tls_key_file) {
            (Some(_), None) => {
                return Err(bad(
                    "mongo.tls_key_file",
                    "must be set together with mongo.tls_cert_file",
                ));
            }
            (None, Some(_)) => {
                return Err(bad(
                    "mongo.tls_cert_file",
                    "must be set together with mongo.tls_key_file",
                ));
            }
            _ => {}
        }
        let limit = crate::wire::cursors::MAX_CURSORS_LIMIT;
        if !(1..=limit).contains(&self.max_cursors) {
            return Err(bad(
                "mongo.max_cursors",
                format!("must be between 1 and {limit}"),
            ));
        }
        if !(1..=self.max_cursors).contains(&self.max_cursors_per_user) {
            return Err(bad(
                "mongo.max_cursors_per_user",
                "must be between 1 and mongo.max_cursors",
            ));
        }
        if !(1..=MAX_CURSOR_IDLE_TIMEOUT_SECS).contains(&self.cursor_idle_timeout_secs) {
            return Err(bad(
                "mongo.cursor_idle_timeout_secs",
                format!("must be between 1 and {MAX_CURSOR_IDLE_TIMEOUT_SECS}"),
            ));
        }
        let limit = crate::wire::MAX_CONNECTIONS_LIMIT;
        if !(1..=limit).contains(&self.max_connections) {
            return Err(bad(
                "mongo.max_connections",
                format!("must be between 1 and {limit}"),
            ));
        }
        Ok(())
    }

    /// The wire server's options: reads and checks the TLS certificate and key files.
    pub fn wire_options(&self) -> Result<crate::wire::WireOptions, ConfigError> {
        self.validate()?;
        let read = |option: &str, path: &PathBuf| {
            std::fs::read(path)
                .map_err(|e| bad(option, format!("cannot read {}: {e}", path.display())))
        };
        let tls = match (&self.tls_cert_file, &self.tls_key_file) {
            (Some(cert), Some(key)) => {
                let cert_pem = read("mongo.tls_cert_file", cert)?;
                let key_pem = read("mongo.tls_key_file", key)?;
                let tls =
                    crate::wire::tls::TlsConfig::from_pem(&cert_pem, &key_pem).map_err(|e| {
                        let option = match e {
                            crate::wire::tls::TlsError::Key(_) => "mongo.tls_key_file",
                            _ => "mongo.tls_cert_file",
                        };
                        bad(option, e.to_string())
                    })?;
                Some(tls)
            }
            _ => None,
        };
        Ok(crate::wire::WireOptions {
            tls,
            cursor_limits: crate::wire::cursors::CursorLimits {
                max_total: self.max_cursors,
                max_per_user: self.max_cursors_per_user,
            },
            cursor_idle_timeout: Duration::from_secs(self.cursor_idle_timeout_secs),
            max_connections: self.max_connections,
        })
    }
}

/// Largest `mongo.cursor_idle_timeout_secs`: one day.
pub const MAX_CURSOR_IDLE_TIMEOUT_SECS: u64 = 24 * 60 * 60;

/// `[security]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct SecuritySection {
    /// Master key for secrets at rest, base64 of 32 bytes (`STRATUS_MASTER_KEY`). When absent a
    /// key is generated into `<data_dir>/master.key` (0600) on first start.
    pub master_key: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: DEFAULT_LISTEN.to_string(),
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            app: None,
            mongo_listen: None,
            log_format: LogFormat::Text,
            log_level: "info".to_string(),
            http: HttpSection::default(),
            flow: FlowSection::default(),
            logs: LogsSection::default(),
            store: StoreSection::default(),
            mongo: MongoSection::default(),
            security: SecuritySection::default(),
        }
    }
}

impl Default for HttpSection {
    fn default() -> Self {
        HttpSection {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            blocking_threads: DEFAULT_BLOCKING_THREADS,
            shutdown_grace_secs: DEFAULT_SHUTDOWN_GRACE_SECS,
            watch_interval_ms: DEFAULT_WATCH_INTERVAL_MS,
        }
    }
}

impl Default for FlowSection {
    fn default() -> Self {
        let b = stratus_flow::Budgets::default();
        FlowSection {
            timeout_ms: DEFAULT_FLOW_TIMEOUT_MS,
            max_node_executions: b.max_node_executions,
            max_loop_iterations: b.max_loop_iterations,
            max_response_bytes: b.max_response_bytes,
            allow_private_network: false,
        }
    }
}

impl Default for LogsSection {
    fn default() -> Self {
        LogsSection {
            queue_capacity: DEFAULT_LOG_QUEUE,
            max_age_secs: DEFAULT_LOG_MAX_AGE_SECS,
            max_entries_per_env: DEFAULT_LOG_MAX_ENTRIES,
            segment_bytes: crate::logs::SEGMENT_BYTES,
        }
    }
}

/// A configuration problem, naming the option.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("config option `{option}`: {message}")]
pub struct ConfigError {
    /// Dotted option name (`http.max_body_bytes`).
    pub option: String,
    /// What is wrong.
    pub message: String,
}

fn bad(option: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        option: option.to_string(),
        message: message.into(),
    }
}

impl Config {
    /// Parses a TOML configuration file's text (unknown options are errors).
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| bad("(file)", e.to_string()))
    }

    /// Checks every option once; returns the parsed listen addresses.
    pub fn validate(&self) -> Result<(SocketAddr, Option<SocketAddr>), ConfigError> {
        let listen: SocketAddr = self.listen.parse().map_err(|_| {
            bad(
                "listen",
                format!("'{}' is not an address like 127.0.0.1:8080", self.listen),
            )
        })?;
        let mongo = match &self.mongo_listen {
            Some(m) => Some(m.parse::<SocketAddr>().map_err(|_| {
                bad(
                    "mongo_listen",
                    format!("'{m}' is not an address like 127.0.0.1:27017"),
                )
            })?),
            None => None,
        };
        if self.data_dir.as_os_str().is_empty() {
            return Err(bad("data_dir", "must not be empty"));
        }
        if self.http.max_body_bytes == 0 {
            return Err(bad("http.max_body_bytes", "must be at least 1"));
        }
        if self.http.max_in_flight == 0 {
            return Err(bad("http.max_in_flight", "must be at least 1"));
        }
        if !(2..=1024).contains(&self.http.blocking_threads) {
            return Err(bad("http.blocking_threads", "must be between 2 and 1024"));
        }
        if self.http.watch_interval_ms < 50 {
            return Err(bad("http.watch_interval_ms", "must be at least 50"));
        }
        if self.flow.timeout_ms == 0 {
            return Err(bad("flow.timeout_ms", "must be at least 1"));
        }
        if self.flow.max_node_executions == 0 || self.flow.max_loop_iterations == 0 {
            return Err(bad(
                "flow.max_node_executions",
                "budgets must be at least 1",
            ));
        }
        if self.store.cache_mb == 0 {
            return Err(bad(
                "store.cache_mb",
                "the page cache must be at least 1 MiB",
            ));
        }
        if self.store.change_retention_events == 0 {
            return Err(bad(
                "store.change_retention_events",
                "must be at least 1 (the newest event anchors the change streams' numbering)",
            ));
        }
        if self.store.max_size_mib < MIN_STORE_MAX_SIZE_MIB {
            return Err(bad(
                "store.max_size_mib",
                "the store file must be allowed at least 64 MiB",
            ));
        }
        self.mongo.validate()?;
        self.log_config()
            .validate()
            .map_err(|(option, message)| ConfigError { option, message })?;
        if let Some(k) = &self.security.master_key
            && stratus_auth::secretbox::SecretBox::from_base64(k).is_err()
        {
            return Err(bad("security.master_key", "must be base64 of 32 bytes"));
        }
        Ok((listen, mongo))
    }

    /// The request-log settings of this configuration.
    pub fn log_config(&self) -> crate::logs::LogConfig {
        crate::logs::LogConfig {
            queue_capacity: self.logs.queue_capacity,
            max_age: Duration::from_secs(self.logs.max_age_secs),
            max_entries_per_env: self.logs.max_entries_per_env,
            segment_bytes: self.logs.segment_bytes,
            ..crate::logs::LogConfig::default()
        }
    }

    /// The flow budgets of this configuration.
    pub fn budgets(&self) -> stratus_flow::Budgets {
        stratus_flow::Budgets {
            max_node_executions: self.flow.max_node_executions,
            max_loop_iterations: self.flow.max_loop_iterations,
            timeout: Duration::from_millis(self.flow.timeout_ms),
            max_response_bytes: self.flow.max_response_bytes,
            ..stratus_flow::Budgets::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate() {
        let c = Config::default();
        let (l, m) = c.validate().expect("defaults are valid");
        assert_eq!(l.port(), 8080);
        assert!(m.is_none());
    }

    #[test]
    fn errors_name_the_option() {
        let c = Config {
            listen: "nope".into(),
            ..Config::default()
        };
        assert_eq!(c.validate().unwrap_err().option, "listen");
        let mut c = Config::default();
        c.http.max_body_bytes = 0;
        assert_eq!(c.validate().unwrap_err().option, "http.max_body_bytes");
        let mut c = Config::default();
        c.security.master_key = Some("short".into());
        assert_eq!(c.validate().unwrap_err().option, "security.master_key");
        let mut c = Config::default();
        c.logs.max_age_secs = 1;
        assert_eq!(c.validate().unwrap_err().option, "logs.max_age_secs");
        let mut c = Config::default();
        c.store.max_size_mib = MIN_STORE_MAX_SIZE_MIB - 1;
        assert_eq!(c.validate().unwrap_err().option, "store.max_size_mib");
        let mut c = Config::default();
        c.store.change_retention_events = 0;
        assert_eq!(
            c.validate().unwrap_err().option,
            "store.change_retention_events"
        );
        let c = Config::from_toml("[store]\nchange_retention_events = 5000\n").expect("toml");
        assert_eq!(c.store.options().change_retention, 5000);
        for bad_threads in [0, 1, 1025] {
            let mut c = Config::default();
            c.http.blocking_threads = bad_threads;
            assert_eq!(c.validate().unwrap_err().option, "http.blocking_threads");
        }
    }

    #[test]
    fn mongo_section_limits_and_tls_pairing() {
        let c = Config::from_toml(
            "[mongo]\nmax_cursors = 50\nmax_cursors_per_user = 5\ncursor_idle_timeout_secs = 30\n",
        )
        .expect("toml");
        let o = c.mongo.wire_options().expect("options");
        assert_eq!(
            (o.cursor_limits.max_total, o.cursor_limits.max_per_user),
            (50, 5)
        );
        assert_eq!(o.cursor_idle_timeout, Duration::from_secs(30));
        assert_eq!(o.max_connections, crate::wire::DEFAULT_MAX_CONNECTIONS);
        assert!(o.tls.is_none());
        let d = Config::default().mongo.wire_options().expect("defaults");
        assert_eq!(
            d.cursor_limits,
            crate::wire::cursors::CursorLimits::default()
        );
        let cases: [(&str, &str); 7] = [
            ("[mongo]\nmax_connections = 0\n", "mongo.max_connections"),
            ("[mongo]\nmax_cursors = 0\n", "mongo.max_cursors"),
            ("[mongo]\nmax_cursors = 16385\n", "mongo.max_cursors"),
            (
                "[mongo]\nmax_cursors = 10\nmax_cursors_per_user = 11\n",
                "mongo.max_cursors_per_user",
            ),
            (
                "[mongo]\ncursor_idle_timeout_secs = 0\n",
                "mongo.cursor_idle_timeout_secs",
            ),
            ("[mongo]\ntls_cert_file = \"c.pem\"\n", "mongo.tls_key_file"),
            ("[mongo]\ntls_key_file = \"k.pem\"\n", "mongo.tls_cert_file"),
        ];
        for (text, option) in cases {
            let c = Config::from_toml(text).expect("toml");
            assert_eq!(c.validate().unwrap_err().option, option, "{text}");
        }
        // Unreadable and invalid files name their option.
        let dir = tempfile::tempdir().expect("tmp");
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not a pem").expect("write");
        let mut c = Config::default();
        c.mongo.tls_cert_file = Some(dir.path().join("missing.pem"));
        c.mongo.tls_key_file = Some(junk.clone());
        let e = c.mongo.wire_options().unwrap_err();
        assert_eq!(e.option, "mongo.tls_cert_file");
        assert!(e.message.contains("missing.pem"), "{e}");
        c.mongo.tls_cert_file = Some(junk);
        let e = c.mongo.wire_options().unwrap_err();
        assert_eq!(e.option, "mongo.tls_cert_file", "{e}");
    }

    #[test]
    fn toml_refuses_unknown_options() {
        assert!(
            Config::from_toml("listen = \"127.0.0.1:1\"\n[http]\nmax_body_bytes = 10\n").is_ok()
        );
        assert!(Config::from_toml("lisen = \"x\"").is_err());
        assert!(Config::from_toml("[http]\nmax_body = 1").is_err());
    }

    #[test]
    fn the_store_engine_is_redb_unless_lmdb_is_named() {
        let c = Config::default();
        assert_eq!(c.store.options().engine, stratus_docstore::Engine::Redb);
        let c = Config::from_toml("[store]\nengine = \"lmdb\"\ncache_mb = 32\n").expect("toml");
        let o = c.store.options();
        assert_eq!(o.engine, stratus_docstore::Engine::Lmdb);
        assert_eq!(o.cache_bytes, 32 << 20);
        let c = Config::from_toml("[store]\nmax_size_mib = 1024\n").expect("toml");
        assert_eq!(c.store.options().max_size_bytes, 1 << 30);
        assert!(Config::from_toml("[store]\nengine = \"rocks\"\n").is_err());
    }
}
