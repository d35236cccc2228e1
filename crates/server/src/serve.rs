//! `stratus serve`: opens the data directory, restores the deployed environments, serves HTTP
//! (and, when configured, the MongoDB wire protocol), and shuts down gracefully.
//!
//! Data directory layout: `data.redb` (the document store on redb, or `data.mdb` on LMDB — see
//! `backup::data_file`; user data in `<project>__<env>` databases, control plane in
//! `__stratus`), `logs/` (request logs: append-only segment files per environment,
//! apart from the data so logging never contends with data writes), `master.key` / `session.key` (0600), and while running `server.json`
//! (`{"url", "pid"}`) and `.admin-token` (the local admin bearer, 0600) for the CLI.
//!
//! Shutdown (SIGTERM or Ctrl-C): `/readyz` turns 503, the listener stops accepting, in-flight
//! requests get `http.shutdown_grace_secs` to finish, the request-log queue is flushed, and
//! the stores are closed (their writer threads drain before the files are released).

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::time::Duration;

use stratus_auth::clock::SystemClock;
use stratus_auth::jwks::JwksCache;
use stratus_docstore::Store;
use tokio::net::TcpListener;

use crate::admin::AdminState;
use crate::app::{AppInner, AppState};
use crate::backup::OLD_LOGS_FILE;
use crate::config::{Config, ConfigError, LogFormat};
use crate::control::Deployer;
use crate::control::{ControlConfig, ControlPlane};
use crate::logs::{LOGS_DIR, RequestLogs};
use crate::metrics::Metrics;
use crate::runtime::registry::Runtime;

/// Time the request-log writer gets to flush at shutdown.
pub const LOG_FLUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the server could not start (or stopped with an error).
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A file or socket operation failed.
    #[error("{0}")]
    Io(String),
    /// The data store could not be opened.
    #[error("data store: {0}")]
    Store(String),
    /// The control plane could not be opened.
    #[error("control plane: {0}")]
    Control(String),
}

fn io(what: &str, e: impl std::fmt::Display) -> ServeError {
    ServeError::Io(format!("{what}: {e}"))
}

/// Installs the diagnostic log (`tracing`) once; later calls are no-ops.
pub fn init_tracing(format: LogFormat, filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _already_set = match format {
        LogFormat::Json => builder.json().try_init().is_err(),
        LogFormat::Text => builder.try_init().is_err(),
    };
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// Runs the server until SIGTERM/Ctrl-C.
pub async fn run(config: Config) -> Result<(), ServeError> {
    let (listen, _) = config.validate()?;
    init_tracing(config.log_format, &config.log_level);
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| io(&format!("cannot listen on {listen}"), e))?;
    run_on(config, listener, shutdown_signal()).await
}

/// Deploys through the runtime, reading secrets from the control plane.
struct RuntimeDeployer {
    runtime: Arc<Runtime>,
    control: Arc<ControlPlane>,
}

impl Deployer for RuntimeDeployer {
    fn deploy(
        &self,
        project: &str,
        env: &str,
        definition: &serde_json::Value,
    ) -> Result<serde_json::Value, Vec<serde_json::Value>> {
        deploy_definition(&self.runtime, &self.control, project, env, definition)
    }

    fn undeploy(&self, project: &str, env: &str) {
        self.runtime.undeploy(project, env);
    }

    fn secrets_changed(&self, project: &str, env: &str) {
        let result = self
            .control
            .env_secrets(project, env)
            .map_err(|e| e.to_string())
            .and_then(|s| {
                self.runtime
                    .update_secrets(project, env, s)
                    .map_err(|e| e.to_string())
            });
        if let Err(e) = result {
            // The previous table keeps serving (e.g. an HMAC secret was deleted while an API
            // still needs it); the next deploy reports the same error.
            tracing::warn!(%project, %env, error = %e, "secrets changed but the environment could not be rebuilt");
        }
    }
}

/// Compiles `definition` and deploys it to `project`/`env`; errors as JSON objects
/// `{file?, path, code, message}`.
pub fn deploy_definition(
    runtime: &Runtime,
    control: &ControlPlane,
    project: &str,
    env: &str,
    definition: &serde_json::Value,
) -> Result<serde_json::Value, Vec<serde_json::Value>> {
    let compiled = crate::project::compile_value(definition).map_err(|errs| {
        errs.into_iter()
            .map(|e| serde_json::to_value(&e).unwrap_or(serde_json::Value::Null))
            .collect::<Vec<_>>()
    })?;
    let secrets = control.env_secrets(project, env).map_err(|e| {
        vec![serde_json::json!({"path": "$", "code": "secrets_unavailable", "message": e.to_string()})]
    })?;
    let report = runtime
        .deploy(project, env, compiled, secrets)
        .map_err(|e| {
            vec![serde_json::json!({"path": e.path, "code": "deploy_failed", "message": e.message})]
        })?;
    Ok(serde_json::to_value(report).unwrap_or(serde_json::Value::Null))
}

/// Runs the server on `listener` until `shutdown` resolves.
pub async fn run_on(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let (_, mongo_listen) = config.validate()?;
    // Read the wire server's certificate before anything else starts, so a bad one stops the
    // start with the option named.
    let wire_options = match mongo_listen {
        Some(_) => Some(config.mongo.wire_options()?),
        None => None,
    };
    let data_dir = config.data_dir.clone();
    std::fs::create_dir_all(&data_dir)
        .map_err(|e| io(&format!("cannot create {}", data_dir.display()), e))?;
    let store_options = config.store.options();
    let store = Store::open(
        crate::backup::data_file(&data_dir, store_options.engine),
        store_options,
    )
    .map_err(|e| ServeError::Store(e.to_string()))?;
    let (logs, warnings) = RequestLogs::open(&data_dir.join(LOGS_DIR), config.log_config())
        .map_err(|e| io("opening the request logs", e))?;
    for w in warnings {
        tracing::warn!("{w}");
    }
    if data_dir.join(OLD_LOGS_FILE).exists() {
        tracing::info!(
            "{} holds request logs of an earlier version; they are no longer read and the file can be deleted",
            data_dir.join(OLD_LOGS_FILE).display()
        );
    }
    let control = Arc::new(
        ControlPlane::open(
            store.clone(),
            &data_dir,
            ControlConfig {
                master_key: config.security.master_key.clone(),
                ..ControlConfig::default()
            },
        )
        .map_err(|e| ServeError::Control(e.to_string()))?,
    );
    let http = stratus_flow::http::HttpConfig {
        allow_private_networks: config.flow.allow_private_network,
        ..stratus_flow::http::HttpConfig::default()
    };
    let services = stratus_flow::Services::new()
        .and_then(|s| s.with_http(http))
        .map_err(|e| io("outbound HTTP client", e))?
        .with_budgets(config.budgets())
        .with_inline_reads(true);
    let clock: Arc<dyn stratus_auth::clock::Clock> = Arc::new(SystemClock);
    let jwks = Arc::new(
        JwksCache::new(Default::default(), clock).map_err(|e| io("JWKS cache", e.detail()))?,
    );
    let metrics = Arc::new(Metrics::default());
    let runtime = Arc::new(Runtime::new(store.clone(), services, jwks, metrics.clone()));
    let resolver_control = control.clone();
    let state = AppState::new(AppInner {
        config: config.clone(),
        runtime: runtime.clone(),
        logs: logs.clone(),
        metrics,
        store: store.clone(),
        resolve_project: Arc::new(move |id| resolver_control.project(id).map(|p| p.slug)),
        ready: AtomicBool::new(false),
        in_flight: AtomicU64::new(0),
    });
    let admin = crate::admin::router(AdminState {
        control: control.clone(),
        deployer: Arc::new(RuntimeDeployer {
            runtime: runtime.clone(),
            control: control.clone(),
        }),
        logs: Arc::new(logs.clone()),
    });
    let admin = admin.merge(crate::backup::backup_router(
        crate::backup::BackupSource {
            data: store.clone(),
            logs: Some(logs.clone()),
            data_dir: data_dir.clone(),
        },
        control.local_admin_token().to_string(),
    ));
    let app = crate::app::router(state.clone(), admin);

    // Restore what was deployed before the restart.
    let restored = {
        let (runtime, control) = (runtime.clone(), control.clone());
        tokio::task::spawn_blocking(move || restore_deployments(&runtime, &control))
            .await
            .map_err(|e| io("restoring deployments", e))?
    };
    let _watcher = config
        .app
        .as_ref()
        .map(|dir| start_dev_mode(dir, &config, runtime.clone(), control.clone()));
    state.set_ready(true);

    let local: SocketAddr = listener.local_addr().map_err(|e| io("listener", e))?;
    let url = format!("http://{local}");
    crate::control::write_private_file(
        &data_dir.join("server.json"),
        serde_json::json!({"url": url, "pid": std::process::id()})
            .to_string()
            .as_bytes(),
        true,
    )
    .map_err(|e| io("writing server.json", e))?;
    tracing::info!(%url, environments = restored, "stratus is listening");
    println!("Stratus is listening on {url}");
    println!("  console:   {url}/console/");
    println!("  admin API: {url}/admin/api/v1  (OpenAPI: {url}/admin/api/v1/openapi.json)");
    println!("  data dir:  {}", data_dir.display());

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let signal_state = state.clone();
    tokio::spawn(async move {
        shutdown.await;
        signal_state.set_ready(false);
        let _ = stop_tx.send(true);
    });
    let mut wire_task = None;
    if let (Some(addr), Some(options)) = (mongo_listen, wire_options) {
        let l = TcpListener::bind(addr)
            .await
            .map_err(|e| io(&format!("cannot listen on {addr} (mongo_listen)"), e))?;
        let tls = if options.tls.is_some() {
            "?tls=true"
        } else {
            ""
        };
        println!("  MongoDB:   mongodb://<email>:<password>@{addr}/{tls}");
        let wire = crate::wire::WireState::with_options(
            store.clone(),
            control.wire_credentials(),
            options,
        );
        let mut rx = stop_rx.clone();
        wire_task = Some(tokio::spawn(async move {
            let stop = async move {
                let _ = rx.wait_for(|s| *s).await;
            };
            if let Err(e) = crate::wire::serve(l, wire, stop).await {
                tracing::error!(error = %e, "wire protocol server failed");
            }
        }));
    }
    let mut graceful_rx = stop_rx.clone();
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        let _ = graceful_rx.wait_for(|s| *s).await;
    });
    let grace = Duration::from_secs(config.http.shutdown_grace_secs);
    let mut grace_rx = stop_rx.clone();
    let grace_timer = async move {
        let _ = grace_rx.wait_for(|s| *s).await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        r = server => {
            if let Err(e) = r {
                tracing::error!(error = %e, "HTTP server failed");
            }
        }
        () = grace_timer => {
            tracing::warn!("shutdown grace period over; closing remaining connections");
        }
    }
    if let Some(t) = wire_task {
        t.abort();
    }
    tracing::info!("flushing request logs");
    let l = logs.clone();
    let _ = tokio::task::spawn_blocking(move || l.shutdown(LOG_FLUSH_TIMEOUT)).await;
    let _ = std::fs::remove_file(data_dir.join("server.json"));
    let _ = std::fs::remove_file(data_dir.join(".admin-token"));
    drop(state);
    drop(runtime);
    drop(control);
    drop(store);
    tracing::info!("stopped");
    Ok(())
}

/// Deploys every environment recorded as active; returns how many succeeded.
fn restore_deployments(runtime: &Runtime, control: &ControlPlane) -> usize {
    let list = match control.active_deployments() {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "cannot list active deployments");
            return 0;
        }
    };
    let mut ok = 0;
    for (project, env, definition) in list {
        match deploy_definition(runtime, control, &project, &env, &definition) {
            Ok(_) => ok += 1,
            Err(errors) => {
                tracing::error!(%project, %env, errors = %serde_json::Value::Array(errors), "cannot restore deployment")
            }
        }
    }
    ok
}

/// Dev mode (`--app DIR`): deploys DIR to environment `development` of the project it names
/// (creating the project), then redeploys on every settled change. Deploys go through the same
/// path as the admin API (a release is recorded), as the system principal.
fn start_dev_mode(
    dir: &Path,
    config: &Config,
    runtime: Arc<Runtime>,
    control: Arc<ControlPlane>,
) -> crate::devmode::WatchHandle {
    let deployer = RuntimeDeployer {
        runtime,
        control: control.clone(),
    };
    let deploy_once =
        move |loaded: Result<crate::project::Loaded, Vec<crate::project::DefError>>| {
            let loaded = match loaded {
                Ok(l) => l,
                Err(errors) => {
                    for e in errors {
                        eprintln!("stratus --app: {e}");
                    }
                    return;
                }
            };
            match dev_deploy(&control, &deployer, loaded.definition) {
                Ok(msg) => println!("stratus --app: {msg}"),
                Err(msg) => eprintln!("stratus --app: {msg}"),
            }
        };
    deploy_once(crate::project::load_dir(dir));
    crate::devmode::spawn_watcher(
        dir.to_path_buf(),
        Duration::from_millis(config.http.watch_interval_ms),
        deploy_once,
    )
}

fn dev_deploy(
    control: &ControlPlane,
    deployer: &RuntimeDeployer,
    definition: serde_json::Value,
) -> Result<String, String> {
    let name = definition
        .get("name")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("")
        .to_string();
    match control.deploy_as_system(&name, "development", definition, deployer) {
        Ok(outcome) => Ok(format!(
            "deployed {name}/development (release {})",
            outcome.deployment.release
        )),
        Err(crate::control::ControlError::DeployFailed(errors)) => Err(errors
            .iter()
            .map(|e| {
                format!(
                    "{}{}: {}",
                    e.get("file")
                        .and_then(serde_json::Value::as_str)
                        .map(|f| format!("{f}: "))
                        .unwrap_or_default(),
                    e.get("path")
                        .and_then(serde_json::Value::as_str)
                        .unwrap_or("$"),
                    e.get("message")
                        .and_then(serde_json::Value::as_str)
                        .unwrap_or("")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")),
        Err(e) => Err(e.to_string()),
    }
}
