//! `stratus deploy DIR --url URL --token T [--project P] [--env E]`: validates the project
//! locally first (every error printed, exit 1, nothing sent), then POSTs the whole definition
//! to `/admin/api/v1/projects/{p}/environments/{e}/deploy` and prints the deployment. A
//! missing project is created first (`POST projects {name}`) when deploying to `development`
//! and the token may create projects.

use serde_json::{Value, json};

use crate::check::load_and_compile;
use crate::cli::DeployArgs;
use crate::client::{admin_url, send};
use crate::failure::{CmdResult, Failure};

/// The environment a new project gets, and the only one `deploy` creates a project for.
const DEFAULT_ENV: &str = "development";

/// Runs `stratus deploy`.
pub(crate) fn run(args: DeployArgs) -> CmdResult {
    let (loaded, compiled) = load_and_compile(&args.dir)?;
    let project = args.project.clone().unwrap_or(compiled.name);
    if project.is_empty() {
        return Err(Failure::usage(
            "the definition has no `name`; pass --project".to_string(),
        ));
    }
    let url = admin_url(
        &args.url,
        &format!("projects/{project}/environments/{}/deploy", args.env),
    );
    let mut resp = send("POST", &url, Some(&args.token), Some(&loaded.definition))?;
    if resp.status == 404 && args.env == DEFAULT_ENV {
        // Like `serve --app`: a project that does not exist yet is created (with its
        // `development` environment) when the caller may create projects, then deployed.
        let create = send(
            "POST",
            &admin_url(&args.url, "projects"),
            Some(&args.token),
            Some(&json!({"name": project})),
        )?;
        if create.ok() {
            println!("created project `{project}`");
            resp = send("POST", &url, Some(&args.token), Some(&loaded.definition))?;
        }
    }
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
