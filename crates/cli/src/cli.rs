//! The command line: every command, its flags and its `--help` examples (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Version string: crate version plus the git commit when known.
const VERSION: &str = env!("STRATUS_VERSION");

/// Stratus: a self-hosted low-code backend in one binary.
#[derive(Debug, Parser)]
#[command(name = "stratus", version = VERSION, about, long_about = None,
    after_help = "Examples:\n  stratus serve\n  stratus serve --app ./my-project\n  stratus admin create --data-dir ./stratus-data --email me@example.com --password 'a long passphrase'\n  stratus check ./my-project\n\nDocumentation: docs/cli.md, docs/configuration.md")]
pub(crate) struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the server (HTTP APIs, admin API, console; optionally the MongoDB wire protocol).
    #[command(
        after_help = "Configuration layers, lowest first: defaults < config file (--config, \
        $STRATUS_CONFIG, or <data-dir>/stratus.toml) < STRATUS_* environment < flags.\n\n\
        Examples:\n  stratus serve\n  stratus serve --listen 0.0.0.0:8080 --data-dir /var/lib/stratus\n  \
        stratus serve --app ./my-project            # dev mode: deploy to `development`, redeploy on change\n  \
        stratus serve --config ./stratus.toml --print-config"
    )]
    Serve(ServeArgs),
    /// Manage accounts.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Validate a project directory locally, then deploy it to a running server.
    #[command(
        after_help = "Examples:\n  stratus deploy ./my-project --url http://127.0.0.1:8080 --token $TOKEN\n  \
        stratus deploy ./my-project --url https://stratus.example.com --token $TOKEN --env production"
    )]
    Deploy(DeployArgs),
    /// Download a project's definition as JSON (stdout, a file, or a split directory).
    #[command(
        after_help = "Examples:\n  stratus export --url http://127.0.0.1:8080 --token $TOKEN --project shop\n  \
        stratus export --url http://127.0.0.1:8080 --token $TOKEN --project shop --out shop.json\n  \
        stratus export --url http://127.0.0.1:8080 --token $TOKEN --project shop --out ./shop/   # split into models/, apis/, subflows/"
    )]
    Export(ExportArgs),
    /// Validate a project definition offline; prints every error with its file and JSON path.
    #[command(after_help = "Exit codes: 0 valid, 1 errors found, 2 bad usage.\n\n\
        Examples:\n  stratus check ./my-project\n  stratus check ./project.json")]
    Check(CheckArgs),
    /// Write a consistent backup of a data directory (the server may be running).
    #[command(
        after_help = "A backup is a directory with the document store (data.redb, or data.mdb for a store on LMDB), logs/ (request logs), the key files and backup.json.\n\n\
        Examples:\n  stratus backup --data-dir ./stratus-data ./backups/2026-11-28"
    )]
    Backup(BackupArgs),
    /// Restore a backup into a data directory (the server must be stopped).
    #[command(
        after_help = "Examples:\n  stratus restore --data-dir ./stratus-data ./backups/2026-11-28\n  \
        stratus restore --data-dir ./stratus-data ./backups/2026-11-28 --force   # replace existing data"
    )]
    Restore(RestoreArgs),
}

/// Diagnostic log format flag.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum LogFormatArg {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// `stratus serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// HTTP listen address [env: STRATUS_LISTEN] [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    pub(crate) listen: Option<String>,
    /// Data directory, created on first start [env: STRATUS_DATA_DIR] [default: ./stratus-data].
    #[arg(long, value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// Project directory to deploy to `development` and watch (dev mode) [env: STRATUS_APP].
    #[arg(long, value_name = "DIR")]
    pub(crate) app: Option<PathBuf>,
    /// Config file (TOML) [env: STRATUS_CONFIG] [default: <data-dir>/stratus.toml if present].
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Serve the MongoDB wire protocol on this address [env: STRATUS_MONGO_LISTEN].
    #[arg(long, value_name = "ADDR")]
    pub(crate) mongo_listen: Option<String>,
    /// Diagnostic log format [env: STRATUS_LOG_FORMAT] [default: text].
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub(crate) log_format: Option<LogFormatArg>,
    /// Print the effective configuration (TOML, master key hidden) and exit.
    #[arg(long)]
    pub(crate) print_config: bool,
}

/// `stratus admin …`.
#[derive(Debug, Subcommand)]
pub(crate) enum AdminCommand {
    /// Create an owner account (works while the server is stopped or running).
    #[command(
        after_help = "Examples:\n  stratus admin create --data-dir ./stratus-data --email me@example.com --password 'a long passphrase'"
    )]
    Create(AdminCreateArgs),
}

/// `stratus admin create`.
#[derive(Debug, Args)]
pub(crate) struct AdminCreateArgs {
    /// Data directory of the server [env: STRATUS_DATA_DIR] [default: ./stratus-data].
    #[arg(long, value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// Email of the account.
    #[arg(long)]
    pub(crate) email: String,
    /// Password of the account (prefer an environment variable over shell history).
    #[arg(long)]
    pub(crate) password: String,
}

/// `stratus deploy`.
#[derive(Debug, Args)]
pub(crate) struct DeployArgs {
    /// Project directory (or a single project.json / project.yaml file).
    pub(crate) dir: PathBuf,
    /// Base URL of the server, e.g. http://127.0.0.1:8080 [env: STRATUS_URL].
    #[arg(long, env = "STRATUS_URL")]
    pub(crate) url: String,
    /// Bearer token (login token or API key) [env: STRATUS_TOKEN].
    #[arg(long, env = "STRATUS_TOKEN", hide_env_values = true)]
    pub(crate) token: String,
    /// Project slug [default: the definition's `name`].
    #[arg(long)]
    pub(crate) project: Option<String>,
    /// Environment to deploy to.
    #[arg(long, default_value = "development")]
    pub(crate) env: String,
}

/// `stratus export`.
#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// Base URL of the server [env: STRATUS_URL].
    #[arg(long, env = "STRATUS_URL")]
    pub(crate) url: String,
    /// Bearer token [env: STRATUS_TOKEN].
    #[arg(long, env = "STRATUS_TOKEN", hide_env_values = true)]
    pub(crate) token: String,
    /// Project slug.
    #[arg(long)]
    pub(crate) project: String,
    /// Output: a `.json` file, or a directory (split into project.json, models/, apis/,
    /// subflows/); stdout when absent.
    #[arg(long, value_name = "FILE|DIR")]
    pub(crate) out: Option<PathBuf>,
}

/// `stratus check`.
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// Project directory or definition file.
    pub(crate) path: PathBuf,
}

/// `stratus backup`.
#[derive(Debug, Args)]
pub(crate) struct BackupArgs {
    /// Data directory to back up [env: STRATUS_DATA_DIR] [default: ./stratus-data].
    #[arg(long, value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// Output directory (must be absent or empty).
    pub(crate) out: PathBuf,
}

/// `stratus restore`.
#[derive(Debug, Args)]
pub(crate) struct RestoreArgs {
    /// Data directory to restore into [env: STRATUS_DATA_DIR] [default: ./stratus-data].
    #[arg(long, value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// Backup directory written by `stratus backup`.
    pub(crate) input: PathBuf,
    /// Replace the contents of a non-empty data directory.
    #[arg(long)]
    pub(crate) force: bool,
}
