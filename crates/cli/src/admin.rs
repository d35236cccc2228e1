//! `stratus admin create --data-dir D --email E --password P`: creates an owner account.
//!
//! Stopped server: opens the data directory's store file (`backup::data_file`; a new data
//! directory gets the default engine's `data.redb`) and the control plane directly and calls
//! `ControlPlane::create_account(.., owner = true)`. Running server (see [`crate::running`]):
//! `POST /admin/api/v1/users` `{"email", "password", "orgRole": "owner"}` with the local admin
//! token from `<data_dir>/.admin-token`. Either way a weak password, a bad email or a
//! duplicate account is exit 1 with the server's reason; an unreachable server is exit 3.

use serde_json::json;
use stratus_docstore::{Engine, Store, StoreOptions};
use stratus_server::backup::data_file;
use stratus_server::control::{ControlConfig, ControlError, ControlPlane};
use stratus_server::http::ApiError;

use crate::cli::{AdminCommand, AdminCreateArgs};
use crate::client::{admin_url, describe_error, send};
use crate::failure::{CmdResult, Failure};
use crate::layering::data_dir_for;
use crate::running::{admin_token, running_server};

/// Runs `stratus admin …`.
pub(crate) fn run(cmd: AdminCommand) -> CmdResult {
    match cmd {
        AdminCommand::Create(a) => create(a),
    }
}

/// A control-plane error for the terminal: user errors in their API shape (`code: detail`),
/// internal ones with their cause (this is the operator's own machine, not an HTTP client).
fn describe(e: ControlError) -> String {
    match e {
        ControlError::Store(_) | ControlError::Internal(_) => e.to_string(),
        other => describe_error(&ApiError::from(other).body()),
    }
}

fn create(args: AdminCreateArgs) -> CmdResult {
    let data_dir = data_dir_for(args.data_dir.as_deref());
    if let Some(server) = running_server(&data_dir)? {
        let token = admin_token(&data_dir)?;
        let body = json!({"email": args.email, "password": args.password, "orgRole": "owner"});
        let resp = send(
            "POST",
            &admin_url(&server.url, "users"),
            Some(&token),
            Some(&body),
        )?;
        if !resp.ok() {
            return Err(resp.failure("creating the account"));
        }
        println!(
            "created owner account {} (through the running server)",
            args.email
        );
        return Ok(());
    }
    std::fs::create_dir_all(&data_dir)
        .map_err(|e| Failure::failed(format!("cannot create {}: {e}", data_dir.display())))?;
    let data_file = data_file(&data_dir, Engine::default());
    let store = Store::open(&data_file, StoreOptions::default()).map_err(|e| {
        Failure::failed(format!(
            "cannot open {} (is a server running without {}?): {e}",
            data_file.display(),
            crate::running::SERVER_FILE
        ))
    })?;
    let config = ControlConfig {
        master_key: std::env::var("STRATUS_MASTER_KEY")
            .ok()
            .filter(|k| !k.is_empty()),
        ..ControlConfig::default()
    };
    let control = ControlPlane::open(store, &data_dir, config)
        .map_err(|e| Failure::failed(format!("cannot open the control plane: {e}")))?;
    let created = control.create_account(&args.email, &args.password, true);
    // Opening the control plane wrote a local admin token; no server runs to honour it, and
    // the server writes a fresh one when it starts.
    drop(control);
    let _ = std::fs::remove_file(data_dir.join(crate::running::ADMIN_TOKEN_FILE));
    created.map_err(|e| Failure::failed(format!("creating the account: {}", describe(e))))?;
    println!("created owner account {}", args.email);
    Ok(())
}
