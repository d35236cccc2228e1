//! Drives the wire server with a real MongoDB driver (pymongo): starts the server in-process
//! on 127.0.0.1:0 over a temporary on-disk store with two users, then runs each script in
//! `tests/wire_py/`. Without pymongo the tests print a skip reason and pass, unless
//! `STRATUS_REQUIRE_REAL_CLIENTS=1`, which makes a missing pymongo a failure.

mod pymongo_check;
use pymongo_check::pymongo_available;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, OnceLock};

use stratus_docstore::{Store, StoreOptions};
use stratus_server::wire::{self, DatabaseAccess, StaticCredentials, WireState};

struct Server {
    port: u16,
    _dir: tempfile::TempDir,
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let store =
            Store::open(dir.path().join("wire.db"), StoreOptions::default()).expect("store");
        let mut creds = StaticCredentials::new();
        creds.add_user("user", "pass", DatabaseAccess::All);
        creds.add_user(
            "limited",
            "pw",
            DatabaseAccess::Only(BTreeSet::from(["appdb".to_string()])),
        );
        let state = WireState::new(store, Arc::new(creds));
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                tx.send(listener.local_addr().expect("addr").port())
                    .expect("send port");
                wire::serve(listener, state, std::future::pending())
                    .await
                    .expect("serve");
            });
        });
        let port = rx.recv().expect("port");
        Server { port, _dir: dir }
    })
}

struct TlsServer {
    port: u16,
    ca_file: PathBuf,
    _dir: tempfile::TempDir,
}

fn tls_server() -> &'static TlsServer {
    static SERVER: OnceLock<TlsServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
            .expect("self-signed certificate");
        let cert_pem = cert.cert.pem();
        let key_pem = cert.key_pair.serialize_pem();
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, &cert_pem).expect("write ca");
        let tls = wire::tls::TlsConfig::from_pem(cert_pem.as_bytes(), key_pem.as_bytes())
            .expect("tls config");
        let store = Store::open(dir.path().join("tls.db"), StoreOptions::default()).expect("store");
        let mut creds = StaticCredentials::new();
        creds.add_user("user", "pass", DatabaseAccess::All);
        let state = WireState::with_tls(store, Arc::new(creds), tls);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                tx.send(listener.local_addr().expect("addr").port())
                    .expect("send port");
                wire::serve(listener, state, std::future::pending())
                    .await
                    .expect("serve");
            });
        });
        let port = rx.recv().expect("port");
        TlsServer {
            port,
            ca_file,
            _dir: dir,
        }
    })
}

fn run_script(name: &str) {
    if !pymongo_available("wire_pymongo") {
        return;
    }
    run_with_args(name, &[server().port.to_string()]);
}

fn run_with_args(name: &str, args: &[String]) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/wire_py");
    let out = Command::new("python3")
        .arg(dir.join(name))
        .args(args)
        .current_dir(&dir)
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(out.status.success(), "{name} failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("all checks passed"),
        "{name} did not finish:\n{stdout}"
    );
}

#[test]
fn pymongo_crud_aggregate_indexes_admin() {
    run_script("crud.py");
}

#[test]
fn pymongo_auth_and_access() {
    run_script("auth.py");
}

#[test]
fn pymongo_cursors_and_bulk_writes() {
    run_script("cursors_bulk.py");
}

#[test]
fn pymongo_change_streams() {
    run_script("change_stream.py");
}

#[test]
fn raw_socket_abuse_closes_only_that_connection() {
    run_script("raw_socket.py");
}

#[test]
fn pymongo_over_tls() {
    if !pymongo_available("wire_pymongo") {
        return;
    }
    let s = tls_server();
    run_with_args(
        "tls.py",
        &[s.port.to_string(), s.ca_file.display().to_string()],
    );
}

/// MongoDB's crud-unified spec tests (a subset runner, `wire_py/crud_unified.py`) through
/// pymongo. Reads the spec files at run time from `STRATUS_CONFORMANCE_DIR` (default
/// `../shared/conformance/` from the repo root); skipped with a reason when absent. Fails if
/// the runner breaks or fewer than `MIN_UNIFIED_PASSES` tests pass (the per-test results are
/// printed and recorded in docs/mongodb-wire.md), or if any runnable test fails.
#[test]
fn pymongo_crud_unified_spec_subset() {
    const MIN_UNIFIED_PASSES: usize = 100;
    if !pymongo_available("wire_pymongo") {
        return;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let base = std::env::var("STRATUS_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("../shared/conformance"));
    let dir = base.join("mongodb-specifications/crud-unified");
    if !dir.is_dir() {
        eprintln!(
            "SKIP: crud-unified spec files not found at {}",
            dir.display()
        );
        return;
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/wire_py/crud_unified.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(server().port.to_string())
        .arg(&dir)
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "runner failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let total = stdout
        .lines()
        .find(|l| l.starts_with("TOTAL"))
        .expect("TOTAL line");
    let passed: usize = total
        .split_whitespace()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .expect("pass count");
    let failed: usize = total
        .split_whitespace()
        .nth(4)
        .and_then(|n| n.parse().ok())
        .expect("fail count");
    assert!(
        passed >= MIN_UNIFIED_PASSES,
        "only {passed} crud-unified tests passed: {total}"
    );
    assert_eq!(
        failed, 0,
        "crud-unified tests failed through pymongo: {total}"
    );
}
