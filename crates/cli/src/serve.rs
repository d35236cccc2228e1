//! `stratus serve`: layered configuration ([`crate::layering`]), validated once (exit 2 naming
//! the option), then the server (`stratus_server::serve::run`) on a multi-threaded runtime.
//! `--print-config` prints the effective configuration instead (master key hidden).

use stratus_server::config::Config;

use crate::cli::ServeArgs;
use crate::failure::{CmdResult, Failure};
use crate::layering::resolve;

/// Shown instead of the master key by `--print-config`.
const REDACTED: &str = "<redacted>";

/// The effective configuration as TOML, secrets hidden.
fn printable(config: &Config) -> Result<String, Failure> {
    let mut shown = config.clone();
    if shown.security.master_key.is_some() {
        shown.security.master_key = Some(REDACTED.to_string());
    }
    toml::to_string(&shown).map_err(|e| Failure::failed(format!("cannot print the config: {e}")))
}

/// Runs `stratus serve`.
pub(crate) fn run(args: ServeArgs) -> CmdResult {
    let env = |k: &str| std::env::var(k).ok();
    let config = resolve(&args, &env)?;
    if args.print_config {
        print!("{}", printable(&config)?);
        return Ok(());
    }
    start(config)
}

/// Runs the server until it stops (SIGTERM / Ctrl-C).
fn start(config: Config) -> CmdResult {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(config.http.blocking_threads)
        .build()
        .map_err(|e| Failure::failed(format!("cannot start the runtime: {e}")))?;
    runtime
        .block_on(stratus_server::serve::run(config))
        .map_err(|e| match e {
            stratus_server::serve::ServeError::Config(c) => Failure::usage(c.to_string()),
            other => Failure::failed(format!("server: {other}")),
        })
}
