//! `stratus deploy DIR --url URL --token T [--project P] [--env E]`: validates the project
//! locally first (every error printed, exit 1, nothing sent), then POSTs the whole definition
//! to `/admin/api/v1/projects/{p}/environments/{e}/deploy` and prints the deployment.

use serde_json::Value;

use crate::check::load_and_compile;
use crate::cli::DeployArgs;
use crate::client::{admin_url, send};
use crate::failure::{CmdResult, Failure};

/// Runs `stratus deploy`.
pub(crate) fn run(args: DeployArgs) -> CmdResult {
    let (loaded, compiled) = load_and_compile(&args.dir)?;
    let project = args.project.clone().unwrap_or(compiled.name.clone());
    if project.is_empty() {
        return Err(Failure::usage(
            "the definition has no `name`; pass --project".to_string(),
        ));
    }
    let url = admin_url(
        &args.url,
        &format!("projects/{project}/environments/{}/deploy", args.env),
    );
    let resp = send("POST", &url, Some(&args.token), Some(&loaded.definition))?;
    if !resp.ok() {
        return Err(resp.failure(&format!("deploying `{project}` to `{}`", args.env)));
    }
    let release = resp
        .body
        .get("release")
        .map(|r| match r {
            Value::Number(n) => format!(" (release {n})"),
            _ => String::new(),
        })
        .unwrap_or_default();
    println!("deployed `{project}` to `{}`{release}", args.env);
    println!(
        "{}",
        serde_json::to_string_pretty(&resp.body).unwrap_or_default()
    );
    Ok(())
}
