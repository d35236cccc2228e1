//! The control plane: accounts, organisations, projects, environments, members, API keys,
//! secrets, draft definitions, releases and deployments, over the embedded document store.
//!
//! Synchronous (house style habit 11): the admin HTTP layer calls it through
//! `spawn_blocking`. Everything lives in the system database [`SYSTEM_DB`].
//!
//! Invariants:
//! - every function that reads or changes project data takes an
//!   [`Authorized<P>`](stratus_auth::roles::Authorized) minted by [`ControlPlane::authorize`],
//!   so a forgotten permission check does not compile (habit 10);
//! - passwords are stored only as argon2id PHC strings and derived SCRAM keys; API keys only
//!   as SHA-256; secret values only sealed with the master key ([`stratus_auth::secretbox`]);
//! - the session key, the master key and the local admin token live in files of mode 0600
//!   in the data directory.

mod accounts;
mod apikeys;
mod db;
mod deploy;
mod drafts;
mod error;
mod projects;
mod secrets;
mod wirecreds;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use stratus_auth::clock::{Clock, SystemClock};
use stratus_auth::ratelimit::{BucketConfig, LoginLimiter};
use stratus_auth::secretbox::SecretBox;
use stratus_auth::session::{SESSION_KEY_BYTES, SessionIssuer, generate_session_key};
use stratus_docstore::Store;

pub use accounts::{AccountInfo, LoginTokens, MAX_EMAIL_BYTES};
pub use apikeys::{ApiKeyInfo, CreatedApiKey};
pub use db::SYSTEM_DB;
pub use deploy::{DeployOutcome, Deployer, DeploymentInfo, LogSource};
pub use drafts::{DraftKind, ReleaseInfo, item_key};
pub use error::ControlError;
pub(crate) use projects::parse_project_role;
pub use projects::{MemberInfo, OrgInfo, ProjectInfo};
pub use secrets::SecretInfo;

/// Name of the session signing key file in the data directory.
pub const SESSION_KEY_FILE: &str = "session.key";
/// Name of the secrets master key file in the data directory.
pub const MASTER_KEY_FILE: &str = "master.key";
/// Name of the local admin token file in the data directory.
pub const ADMIN_TOKEN_FILE: &str = ".admin-token";
/// Name (and slug) of the organisation created on first start.
pub const DEFAULT_ORG: &str = "default";
/// Environment every new project gets.
pub const DEFAULT_ENVIRONMENT: &str = "development";
/// Most environments per project.
pub const MAX_ENVIRONMENTS: usize = 20;
/// Most secrets per environment.
pub const MAX_SECRETS_PER_ENV: usize = 200;
/// Most keys in one secret.
pub const MAX_SECRET_KEYS: usize = 100;
/// Largest project definition accepted (serialized JSON bytes).
pub const MAX_DEFINITION_BYTES: usize = 8 * 1024 * 1024;
/// Largest page of a list (`limit`).
pub const MAX_PAGE_LIMIT: u64 = 1000;
/// Page size when `limit` is not given.
pub const DEFAULT_PAGE_LIMIT: u64 = 100;
/// An API key's last-used time is written at most this often (seconds), to keep reads cheap.
pub const API_KEY_TOUCH_INTERVAL_SECS: i64 = 60;

/// Size limits of the control plane (defaults: the `MAX_*` constants of this module).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlLimits {
    /// Most environments per project ([`MAX_ENVIRONMENTS`]).
    pub max_environments: usize,
    /// Most secrets per environment ([`MAX_SECRETS_PER_ENV`]).
    pub max_secrets_per_env: usize,
    /// Most keys in one secret ([`MAX_SECRET_KEYS`]).
    pub max_secret_keys: usize,
    /// Largest project definition in bytes ([`MAX_DEFINITION_BYTES`]).
    pub max_definition_bytes: usize,
    /// Largest admin request body in bytes ([`MAX_BODY_BYTES`]).
    pub max_body_bytes: usize,
    /// Largest page of a list ([`MAX_PAGE_LIMIT`]).
    pub max_page_limit: u64,
}

/// Largest admin API request body (a whole project definition fits).
pub const MAX_BODY_BYTES: usize = MAX_DEFINITION_BYTES + 64 * 1024;

impl Default for ControlLimits {
    fn default() -> Self {
        ControlLimits {
            max_environments: MAX_ENVIRONMENTS,
            max_secrets_per_env: MAX_SECRETS_PER_ENV,
            max_secret_keys: MAX_SECRET_KEYS,
            max_definition_bytes: MAX_DEFINITION_BYTES,
            max_body_bytes: MAX_BODY_BYTES,
            max_page_limit: MAX_PAGE_LIMIT,
        }
    }
}

/// Settings of the control plane.
#[derive(Clone)]
pub struct ControlConfig {
    /// Base64 master key for secrets; `None`: the `STRATUS_MASTER_KEY` env var, else the
    /// [`MASTER_KEY_FILE`] (created on first start).
    pub master_key: Option<String>,
    /// Login throttling per account and per client address (`None`: the auth crate's
    /// defaults).
    pub login_limits: Option<(BucketConfig, BucketConfig)>,
    /// The time source (tests use a manual clock).
    pub clock: Arc<dyn Clock>,
    /// Size limits.
    pub limits: ControlLimits,
}

impl Default for ControlConfig {
    fn default() -> Self {
        ControlConfig {
            master_key: None,
            login_limits: None,
            clock: Arc::new(SystemClock),
            limits: ControlLimits::default(),
        }
    }
}

impl std::fmt::Debug for ControlConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControlConfig")
            .field(
                "master_key",
                &self.master_key.as_ref().map(|_| "<redacted>"),
            )
            .field("login_limits", &self.login_limits)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// The control plane (cheap to share behind an `Arc`).
pub struct ControlPlane {
    store: Store,
    clock: Arc<dyn Clock>,
    sessions: SessionIssuer,
    secrets: SecretBox,
    limiter: LoginLimiter,
    admin_token: String,
    default_org: String,
    data_dir: PathBuf,
    draft_lock: std::sync::Mutex<()>,
    limits: ControlLimits,
}

impl std::fmt::Debug for ControlPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControlPlane")
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

impl ControlPlane {
    /// Opens the control plane over `store`: creates the system indexes and the default
    /// organisation on first start, loads (or creates) the session and master keys in
    /// `data_dir`, and writes a fresh local admin token to [`ADMIN_TOKEN_FILE`].
    pub fn open(
        store: Store,
        data_dir: &Path,
        config: ControlConfig,
    ) -> Result<ControlPlane, ControlError> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| ControlError::internal(format!("data dir: {e}")))?;
        db::ensure_indexes(&store)?;
        let session_key = load_or_create_session_key(&data_dir.join(SESSION_KEY_FILE))?;
        let sessions = SessionIssuer::new(&session_key, config.clock.clone())?;
        let secrets = match &config.master_key {
            Some(k) => SecretBox::from_base64(k)?,
            None => SecretBox::load(&data_dir.join(MASTER_KEY_FILE))?,
        };
        let limiter = match config.login_limits {
            Some((account, address)) => {
                LoginLimiter::with_config(account, address, config.clock.clone())
            }
            None => LoginLimiter::new(config.clock.clone()),
        };
        let admin_token = format!("sta_{}", URL_SAFE_NO_PAD.encode(random_bytes::<32>()?));
        write_private_file(
            &data_dir.join(ADMIN_TOKEN_FILE),
            admin_token.as_bytes(),
            true,
        )?;
        let mut plane = ControlPlane {
            store,
            clock: config.clock,
            sessions,
            secrets,
            limiter,
            admin_token,
            default_org: String::new(),
            data_dir: data_dir.to_path_buf(),
            draft_lock: std::sync::Mutex::new(()),
            limits: config.limits,
        };
        plane.default_org = plane.ensure_default_org()?;
        plane.prune_revoked_sessions()?;
        Ok(plane)
    }

    /// The random token written to [`ADMIN_TOKEN_FILE`]; its bearer is a system principal
    /// with every right (the CLI uses it while the server runs).
    pub fn local_admin_token(&self) -> &str {
        &self.admin_token
    }

    /// The id of the default organisation.
    pub fn default_org(&self) -> &str {
        &self.default_org
    }

    /// The size limits in force.
    pub fn limits(&self) -> &ControlLimits {
        &self.limits
    }

    /// The underlying store (shared with the runtime).
    pub fn store(&self) -> &Store {
        &self.store
    }

    pub(crate) fn now_secs(&self) -> i64 {
        self.clock.now_secs()
    }
}

pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], ControlError> {
    let mut out = [0u8; N];
    rand::fill(&mut out[..]);
    Ok(out)
}

fn load_or_create_session_key(path: &Path) -> Result<Vec<u8>, ControlError> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let key = STANDARD
                .decode(text.trim())
                .map_err(|_| ControlError::internal("the session key file is not base64"))?;
            if key.len() < SESSION_KEY_BYTES {
                return Err(ControlError::internal("the session key file is too short"));
            }
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = generate_session_key()?;
            write_private_file(path, STANDARD.encode(key).as_bytes(), false)?;
            Ok(key.to_vec())
        }
        Err(e) => Err(ControlError::internal(format!("session key file: {e}"))),
    }
}

/// Writes `bytes` to `path` with mode 0600 (replacing the file when `replace`).
pub(crate) fn write_private_file(
    path: &Path,
    bytes: &[u8],
    replace: bool,
) -> Result<(), ControlError> {
    use std::io::Write;
    let io = |e: std::io::Error| ControlError::internal(format!("{}: {e}", path.display()));
    if replace {
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    Ok(())
}
