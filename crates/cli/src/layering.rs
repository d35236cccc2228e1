//! Configuration layering for `stratus serve`: defaults < config file < `STRATUS_*`
//! environment < command-line flags, then one [`Config::validate`].
//!
//! The config file is `--config FILE`, else `$STRATUS_CONFIG`, else `<data_dir>/stratus.toml`
//! when that file exists (the data directory for this lookup comes from the flag, the
//! environment or the default; an explicitly named file that does not exist is an error).
//! Every environment variable read in [`resolve`] is documented in `docs/configuration.md`
//! (a test in `tests/config_example.rs` checks the list).

use std::path::{Path, PathBuf};

use stratus_server::config::{Config, ConfigError, DEFAULT_DATA_DIR, LogFormat};

use crate::cli::{LogFormatArg, ServeArgs};
use crate::failure::Failure;

/// Name of the config file looked up in the data directory.
pub(crate) const DATA_DIR_CONFIG: &str = "stratus.toml";

/// Reads an environment variable through `env` (a seam for tests); empty counts as unset.
fn var(env: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    env(name).filter(|v| !v.is_empty())
}

fn config_error(e: ConfigError) -> Failure {
    Failure::usage(e.to_string())
}

fn parse_log_format(value: &str, source: &str) -> Result<LogFormat, Failure> {
    match value {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        other => Err(Failure::usage(format!(
            "config option `log_format` ({source}): '{other}' is not one of text, json"
        ))),
    }
}

/// The data directory named by flag or environment, if any (used before the file is read).
pub(crate) fn data_dir_override(
    flag: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<PathBuf> {
    flag.map(Path::to_path_buf)
        .or_else(|| var(env, "STRATUS_DATA_DIR").map(PathBuf::from))
}

/// The data directory for commands other than `serve`: flag, else `STRATUS_DATA_DIR`, else
/// the default.
pub(crate) fn data_dir_for(flag: Option<&Path>) -> PathBuf {
    let env = |k: &str| std::env::var(k).ok();
    data_dir_override(flag, &env).unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR))
}

/// Which config file to read, if any.
fn config_file(
    args: &ServeArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<PathBuf>, Failure> {
    let named = args
        .config
        .clone()
        .or_else(|| var(env, "STRATUS_CONFIG").map(PathBuf::from));
    if let Some(path) = named {
        if !path.is_file() {
            return Err(Failure::usage(format!(
                "config file {} does not exist",
                path.display()
            )));
        }
        return Ok(Some(path));
    }
    let dir = data_dir_override(args.data_dir.as_deref(), env)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
    let implicit = dir.join(DATA_DIR_CONFIG);
    Ok(implicit.is_file().then_some(implicit))
}

/// Builds the effective, validated configuration of `serve` from its flags and `env`.
pub(crate) fn resolve(
    args: &ServeArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, Failure> {
    let mut config = match config_file(args, env)? {
        Some(path) => {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                Failure::usage(format!("cannot read config file {}: {e}", path.display()))
            })?;
            Config::from_toml(&text).map_err(|e| {
                Failure::usage(format!("config file {}: {}", path.display(), e.message))
            })?
        }
        None => Config::default(),
    };
    // Environment.
    if let Some(v) = var(env, "STRATUS_LISTEN") {
        config.listen = v;
    }
    if let Some(v) = var(env, "STRATUS_DATA_DIR") {
        config.data_dir = PathBuf::from(v);
    }
    if let Some(v) = var(env, "STRATUS_APP") {
        config.app = Some(PathBuf::from(v));
    }
    if let Some(v) = var(env, "STRATUS_MONGO_LISTEN") {
        config.mongo_listen = Some(v);
    }
    if let Some(v) = var(env, "STRATUS_LOG_FORMAT") {
        config.log_format = parse_log_format(&v, "STRATUS_LOG_FORMAT")?;
    }
    if let Some(v) = var(env, "STRATUS_LOG_LEVEL") {
        config.log_level = v;
    }
    if let Some(v) = var(env, "STRATUS_MASTER_KEY") {
        config.security.master_key = Some(v);
    }
    // Flags.
    if let Some(v) = &args.listen {
        config.listen = v.clone();
    }
    if let Some(v) = &args.data_dir {
        config.data_dir = v.clone();
    }
    if let Some(v) = &args.app {
        config.app = Some(v.clone());
    }
    if let Some(v) = &args.mongo_listen {
        config.mongo_listen = Some(v.clone());
    }
    if let Some(v) = args.log_format {
        config.log_format = match v {
            LogFormatArg::Text => LogFormat::Text,
            LogFormatArg::Json => LogFormat::Json,
        };
    }
    config.validate().map_err(config_error)?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn args() -> ServeArgs {
        ServeArgs {
            listen: None,
            data_dir: None,
            app: None,
            config: None,
            mongo_listen: None,
            log_format: None,
            print_config: false,
        }
    }

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        move |k: &str| m.get(k).cloned()
    }

    #[test]
    fn layers_in_order() {
        let tmp = tempfile::tempdir().expect("tmp");
        let file = tmp.path().join("c.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:1001\"\nlog_level = \"debug\"\n[http]\nmax_body_bytes = 77\n",
        )
        .expect("write");
        let mut a = args();
        a.config = Some(file);
        let c = resolve(&a, &env_of(&[])).expect("file only");
        assert_eq!(
            (c.listen.as_str(), c.http.max_body_bytes),
            ("127.0.0.1:1001", 77)
        );
        let env = env_of(&[
            ("STRATUS_LISTEN", "127.0.0.1:1002"),
            ("STRATUS_LOG_FORMAT", "json"),
        ]);
        let c = resolve(&a, &env).expect("env over file");
        assert_eq!(c.listen, "127.0.0.1:1002");
        assert_eq!(c.log_format, LogFormat::Json);
        assert_eq!(c.log_level, "debug");
        a.listen = Some("127.0.0.1:1003".into());
        a.log_format = Some(LogFormatArg::Text);
        let c = resolve(&a, &env).expect("flag over env");
        assert_eq!(c.listen, "127.0.0.1:1003");
        assert_eq!(c.log_format, LogFormat::Text);
    }

    #[test]
    fn data_dir_file_is_found_and_errors_are_usage_errors() {
        let tmp = tempfile::tempdir().expect("tmp");
        std::fs::write(
            tmp.path().join(DATA_DIR_CONFIG),
            "listen = \"127.0.0.1:2000\"\n",
        )
        .expect("write");
        let mut a = args();
        a.data_dir = Some(tmp.path().to_path_buf());
        assert_eq!(
            resolve(&a, &env_of(&[])).expect("ok").listen,
            "127.0.0.1:2000"
        );

        let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
            (vec![("STRATUS_LISTEN", "nope")], "`listen`"),
            (vec![("STRATUS_LOG_FORMAT", "xml")], "`log_format`"),
            (
                vec![("STRATUS_MASTER_KEY", "short")],
                "`security.master_key`",
            ),
            (vec![("STRATUS_MONGO_LISTEN", "x")], "`mongo_listen`"),
            (
                vec![("STRATUS_CONFIG", "/nonexistent/s.toml")],
                "does not exist",
            ),
        ];
        for (env, needle) in cases {
            let f = resolve(&args(), &env_of(&env)).expect_err("invalid");
            assert_eq!(f.code, crate::failure::EXIT_USAGE);
            assert!(f.message.contains(needle), "{needle}: {}", f.message);
        }
        std::fs::write(tmp.path().join(DATA_DIR_CONFIG), "lisen = 1\n").expect("write");
        let f = resolve(&a, &env_of(&[])).expect_err("unknown option");
        assert!(f.message.contains("lisen"), "{}", f.message);
    }
}
