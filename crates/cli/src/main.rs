//! The `stratus` binary: parses the command line and runs one command. Each command lives in
//! its own module; every failure maps to a documented exit code ([`failure`]).

mod admin;
mod backup;
mod check;
mod cli;
mod client;
mod deploy;
mod export;
mod failure;
mod layering;
mod running;
mod serve;

use clap::Parser;

fn main() {
    let args = cli::Cli::parse();
    let outcome = match args.command {
        cli::Command::Serve(a) => serve::run(a),
        cli::Command::Admin(a) => admin::run(a),
        cli::Command::Deploy(a) => deploy::run(a),
        cli::Command::Export(a) => export::run(a),
        cli::Command::Check(a) => check::run(a),
        cli::Command::Backup(a) => backup::run_backup(a),
        cli::Command::Restore(a) => backup::run_restore(a),
    };
    if let Err(f) = outcome {
        eprintln!("error: {}", f.message);
        std::process::exit(f.code);
    }
}
