//! `stratus check DIR|FILE`: offline validation of a project definition. Loads a directory
//! (`project.json|yaml` plus split `models/`, `apis/`, `subflows/`, `search/` files) or one
//! file, compiles it, and prints every error as `file: $.path: message` (exit 1), or a summary
//! (exit 0).

use std::path::Path;

use stratus_server::project::{self, CompiledProject, DefError, Loaded};

use crate::cli::CheckArgs;
use crate::failure::{CmdResult, Failure};

/// Loads a project directory or a single definition file.
pub(crate) fn load(path: &Path) -> Result<Loaded, Vec<DefError>> {
    if path.is_dir() {
        return project::load_dir(path);
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    match std::fs::read_to_string(path) {
        Ok(text) => project::parse_definition(&text, &name),
        Err(e) => Err(vec![DefError {
            file: Some(path.display().to_string()),
            path: "$".to_string(),
            code: "unreadable",
            message: format!("cannot read the file: {e}"),
        }]),
    }
}

/// Loads and compiles; on errors returns the printable lines.
pub(crate) fn load_and_compile(path: &Path) -> Result<(Loaded, CompiledProject), Failure> {
    if !path.exists() {
        return Err(Failure::usage(format!("{} does not exist", path.display())));
    }
    let compiled = load(path).and_then(|loaded| {
        let c = project::compile(&loaded)?;
        Ok((loaded, c))
    });
    compiled.map_err(|errors| {
        // Every error on its own line (stderr), then the count as the command's failure.
        for e in &errors {
            eprintln!("{e}");
        }
        let n = errors.len();
        Failure::failed(format!(
            "{n} error{} in {}",
            if n == 1 { "" } else { "s" },
            path.display()
        ))
    })
}

/// Runs `stratus check`.
pub(crate) fn run(args: CheckArgs) -> CmdResult {
    let (_, compiled) = load_and_compile(&args.path)?;
    println!(
        "ok: project `{}`: {} model{}, {} API{} (templates expanded), {} sub-flow{}",
        compiled.name,
        compiled.models.len(),
        plural(compiled.models.len()),
        compiled.apis.len(),
        plural(compiled.apis.len()),
        compiled.subflows.len(),
        plural(compiled.subflows.len()),
    );
    Ok(())
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
