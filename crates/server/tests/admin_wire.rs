//! Console accounts on the MongoDB wire endpoint, with a real driver (pymongo): the control
//! plane's credential store serves SCRAM-SHA-256 and SCRAM-SHA-1 logins with the accounts'
//! e-mail and password; a project member reaches only its projects' `<project>__<env>`
//! databases, an organisation owner every database; a password change takes effect at once.
//! Without pymongo the test prints a skip reason and passes, unless
//! `STRATUS_REQUIRE_REAL_CLIENTS=1`.

mod pymongo_check;
use pymongo_check::pymongo_available;

use std::process::Command;
use std::sync::Arc;

use stratus_auth::roles::{CreateProject, ManageMembers, ProjectRole};
use stratus_docstore::{Store, StoreOptions};
use stratus_server::control::{ControlConfig, ControlPlane};
use stratus_server::wire::{self, WireState};

const SCRIPT: &str = r#"
import sys
from pymongo import MongoClient
from pymongo.errors import OperationFailure

port = int(sys.argv[1])

def client(user, password, mech):
    return MongoClient("127.0.0.1", port, username=user, password=password,
                       authMechanism=mech, directConnection=True,
                       serverSelectionTimeoutMS=5000)

def refused(fn, code):
    try:
        fn()
    except OperationFailure as e:
        assert e.code == code, (e.code, e.details)
        return
    raise AssertionError("expected error %d" % code)

for mech in ["SCRAM-SHA-256", "SCRAM-SHA-1"]:
    ann = client("ann@example.com", "password-ann", mech)
    ann["alpha__development"]["t"].insert_one({"by": mech})
    assert ann["alpha__prod"]["t"].count_documents({}) == 0
    refused(lambda: ann["beta__development"]["t"].find_one(), 13)
    refused(lambda: ann["__stratus"]["accounts"].find_one(), 13)
    names = ann.list_database_names()
    assert "beta__development" not in names and "__stratus" not in names, names
    owner = client("owner@example.com", "password-own", mech)
    owner["beta__development"]["t"].insert_one({"x": 1})
    assert owner["alpha__development"]["t"].count_documents({}) >= 1
    refused(lambda: client("ann@example.com", "wrong-password", mech).admin.command("ping"), 18)
    refused(lambda: client("nobody@example.com", "password-ann", mech).admin.command("ping"), 18)
print("all checks passed")
"#;

fn run(port: u16) -> (bool, String) {
    let out = Command::new("python3")
        .args(["-c", SCRIPT, &port.to_string()])
        .output()
        .unwrap();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (
        out.status.success() && text.contains("all checks passed"),
        text,
    )
}

#[test]
fn console_accounts_log_in_over_the_wire_with_project_scoped_access() {
    if !pymongo_available("admin_wire") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("data.redb"), StoreOptions::default()).unwrap();
    let plane =
        Arc::new(ControlPlane::open(store.clone(), dir.path(), ControlConfig::default()).unwrap());
    plane
        .create_account("owner@example.com", "password-own", true)
        .unwrap();
    plane
        .create_account("ann@example.com", "password-ann", false)
        .unwrap();
    let system = plane.system_principal().unwrap();
    let (_, cap) = plane
        .authorize_in_org::<CreateProject>(&system, None)
        .unwrap();
    plane.create_project(&cap, "alpha").unwrap();
    plane.create_project(&cap, "beta").unwrap();
    plane.ensure_project_environment("alpha", "prod").unwrap();
    let (_, cap) = plane.authorize::<ManageMembers>(&system, "alpha").unwrap();
    plane
        .set_member(&cap, "ann@example.com", ProjectRole::Developer)
        .unwrap();

    let state = WireState::new(store, plane.wire_credentials());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap().port()).unwrap();
            wire::serve(listener, state, std::future::pending())
                .await
                .unwrap();
        });
    });
    let port = rx.recv().unwrap();
    let (ok, text) = run(port);
    assert!(ok, "{text}");

    // After a password change the old password no longer logs in (script fails at once).
    let login = plane
        .login("ann@example.com", "password-ann", [127, 0, 0, 1].into())
        .unwrap();
    let ann = plane.authenticate_bearer(&login.token).unwrap();
    plane
        .change_password(&ann, "password-ann", "password-new")
        .unwrap();
    let (ok, text) = run(port);
    assert!(!ok && text.contains("Authentication failed"), "{text}");
}
