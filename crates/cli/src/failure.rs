//! The failure of a command: a message for stderr and the process exit code.
//!
//! Exit codes (documented in `docs/cli.md`): 0 success; [`EXIT_FAILURE`] the command ran and
//! failed (invalid definition, server refused, duplicate account, …); [`EXIT_USAGE`] bad
//! command line or configuration (clap uses 2 for usage errors too); [`EXIT_UNREACHABLE`] the
//! server could not be reached.

/// The command failed.
pub(crate) const EXIT_FAILURE: i32 = 1;
/// Bad usage or configuration.
pub(crate) const EXIT_USAGE: i32 = 2;
/// The server could not be reached.
pub(crate) const EXIT_UNREACHABLE: i32 = 3;

/// Why a command failed.
#[derive(Debug)]
pub(crate) struct Failure {
    /// Exit code.
    pub(crate) code: i32,
    /// One or more lines for stderr (without the `error: ` prefix).
    pub(crate) message: String,
}

impl Failure {
    /// A command failure (exit 1).
    pub(crate) fn failed(message: impl Into<String>) -> Failure {
        Failure {
            code: EXIT_FAILURE,
            message: message.into(),
        }
    }

    /// A usage or configuration error (exit 2).
    pub(crate) fn usage(message: impl Into<String>) -> Failure {
        Failure {
            code: EXIT_USAGE,
            message: message.into(),
        }
    }

    /// The server is unreachable (exit 3).
    pub(crate) fn unreachable(message: impl Into<String>) -> Failure {
        Failure {
            code: EXIT_UNREACHABLE,
            message: message.into(),
        }
    }
}

/// Result of a command.
pub(crate) type CmdResult = Result<(), Failure>;
