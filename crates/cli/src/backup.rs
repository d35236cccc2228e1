//! `stratus backup --data-dir D OUT` and `stratus restore --data-dir D IN [--force]`.
//!
//! Backup: with the server stopped the stores are opened and copied directly; while it runs
//! the CLI asks it (`POST /admin/api/v1/backup {"out": "<absolute OUT>"}` with the local
//! admin token), because the store files are locked by the server. Either way the result is
//! the directory described in `stratus_server::backup` (data.redb or data.mdb, logs/, key files,
//! backup.json).
//!
//! Restore: refuses while a server runs on the data directory, refuses a non-empty data
//! directory unless `--force`, then copies the files in and verifies the restored store.

use serde_json::json;
use stratus_docstore::{Engine, Store, StoreOptions};
use stratus_server::backup::{
    BackupManifest, DATA_FILE, LMDB_DATA_FILE, LogsSource, data_file, is_empty_dir, restore_backup,
    write_backup,
};
use stratus_server::logs::LOGS_DIR;

use crate::cli::{BackupArgs, RestoreArgs};
use crate::client::{admin_url, send};
use crate::failure::{CmdResult, Failure};
use crate::layering::data_dir_for;
use crate::running::{admin_token, running_server};

fn print_manifest(m: &BackupManifest, out: &std::path::Path) {
    println!(
        "backup written to {}: {} collection{}, {} document{}{}, format version {}",
        out.display(),
        m.collections,
        if m.collections == 1 { "" } else { "s" },
        m.documents,
        if m.documents == 1 { "" } else { "s" },
        if m.logs { " (+ request logs)" } else { "" },
        m.format_version
    );
}

/// Runs `stratus backup`.
pub(crate) fn run_backup(args: BackupArgs) -> CmdResult {
    let data_dir = data_dir_for(args.data_dir.as_deref());
    let out = std::path::absolute(&args.out)
        .map_err(|e| Failure::usage(format!("bad output path {}: {e}", args.out.display())))?;
    if !is_empty_dir(&out).map_err(|e| Failure::failed(e.to_string()))? {
        return Err(Failure::failed(format!(
            "{} exists and is not empty",
            out.display()
        )));
    }
    if let Some(server) = running_server(&data_dir)? {
        let token = admin_token(&data_dir)?;
        let body = json!({"out": out.display().to_string()});
        let resp = send(
            "POST",
            &admin_url(&server.url, "backup"),
            Some(&token),
            Some(&body),
        )?;
        if !resp.ok() {
            return Err(resp.failure("backing up through the running server"));
        }
        let m: BackupManifest = serde_json::from_value(resp.body)
            .map_err(|e| Failure::failed(format!("unexpected answer of the server: {e}")))?;
        print_manifest(&m, &out);
        return Ok(());
    }
    let data_path = data_file(&data_dir, Engine::default());
    if !data_path.is_file() {
        return Err(Failure::failed(format!(
            "{} holds no data ({} and {} are missing)",
            data_dir.display(),
            DATA_FILE,
            LMDB_DATA_FILE
        )));
    }
    let open = |p: &std::path::Path| {
        Store::open(p, StoreOptions::default()).map_err(|e| {
            Failure::failed(format!(
                "cannot open {} (locked by a server without {}?): {e}",
                p.display(),
                crate::running::SERVER_FILE
            ))
        })
    };
    let data = open(&data_path)?;
    let logs_dir = data_dir.join(LOGS_DIR);
    let m = write_backup(&data, LogsSource::Stopped(&logs_dir), &data_dir, &out)
        .map_err(|e| Failure::failed(format!("backup failed: {e}")))?;
    print_manifest(&m, &out);
    Ok(())
}

/// Runs `stratus restore`.
pub(crate) fn run_restore(args: RestoreArgs) -> CmdResult {
    let data_dir = data_dir_for(args.data_dir.as_deref());
    if let Some(server) = running_server(&data_dir)? {
        return Err(Failure::failed(format!(
            "a server (pid {}) runs on {}; stop it before restoring",
            server.pid,
            data_dir.display()
        )));
    }
    let empty = is_empty_dir(&data_dir).map_err(|e| Failure::failed(e.to_string()))?;
    if !empty && !args.force {
        return Err(Failure::failed(format!(
            "{} is not empty; pass --force to replace its data",
            data_dir.display()
        )));
    }
    let m = restore_backup(&args.input, &data_dir)
        .map_err(|e| Failure::failed(format!("restore failed: {e}")))?;
    println!(
        "restored {} (taken {}) into {}: {} collection{}, {} document{}",
        args.input.display(),
        m.created_at,
        data_dir.display(),
        m.collections,
        if m.collections == 1 { "" } else { "s" },
        m.documents,
        if m.documents == 1 { "" } else { "s" },
    );
    Ok(())
}
