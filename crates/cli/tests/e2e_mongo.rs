//! `stratus serve --mongo-listen` end to end: the config file's `[mongo]` section turns on
//! TLS with the given certificate and sets the cursor limits, and a real MongoDB client
//! (pymongo) logs in over TLS with a console user's email and password. Bad `[mongo]` files
//! stop the start with the option named.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{Server, admin_create, free_port, stratus};

fn pymongo_available() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import pymongo"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        if std::env::var("STRATUS_REQUIRE_REAL_CLIENTS").as_deref() == Ok("1") {
            panic!(
                "STRATUS_REQUIRE_REAL_CLIENTS=1 but python3/pymongo is missing (pip install pymongo)"
            );
        }
        eprintln!("SKIP: python3 with pymongo not found (pip install pymongo); TLS e2e not run");
    }
    ok
}

/// Writes a self-signed certificate for 127.0.0.1 and its key; returns their paths.
fn certificate(dir: &std::path::Path) -> (PathBuf, PathBuf) {
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
        .expect("certificate");
    let (c, k) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&c, cert.cert.pem()).expect("write cert");
    std::fs::write(&k, cert.key_pair.serialize_pem()).expect("write key");
    (c, k)
}

#[test]
fn pymongo_over_tls_with_a_console_user_and_the_configured_cursor_limit() {
    if !pymongo_available() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let (cert, key) = certificate(tmp.path());
    let config = tmp.path().join("stratus.toml");
    std::fs::write(
        &config,
        format!(
            "[mongo]\ntls_cert_file = {:?}\ntls_key_file = {:?}\nmax_cursors_per_user = 2\n",
            cert.display().to_string(),
            key.display().to_string()
        ),
    )
    .expect("write config");
    let data = tmp.path().join("data");
    let data_s = data.to_str().expect("utf8");
    let (email, password) = ("ops@example.com", "correct horse battery");
    let r = admin_create(data_s, email, password);
    assert_eq!(r.code, 0, "{}", r.all());
    let port = free_port();
    let mongo = format!("127.0.0.1:{port}");
    let server = Server::start(
        &data,
        &[
            "--config",
            config.to_str().expect("utf8"),
            "--mongo-listen",
            &mongo,
        ],
    );
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/e2e_py/mongo_tls.py");
    let out = Command::new("python3")
        .arg(&script)
        .args([
            &port.to_string(),
            cert.to_str().expect("utf8"),
            email,
            password,
        ])
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "mongo_tls.py failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("all checks passed"), "{stdout}");
    server.stop();
}

#[test]
fn bad_mongo_tls_files_stop_the_start_naming_the_option() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (cert, _) = certificate(tmp.path());
    let junk = tmp.path().join("junk.pem");
    std::fs::write(&junk, "not a key").expect("write");
    let mongo = format!("127.0.0.1:{}", free_port());
    let data = tmp.path().join("data");
    let cases = [
        (
            format!(
                "[mongo]\ntls_cert_file = {:?}\n",
                cert.display().to_string()
            ),
            "mongo.tls_key_file",
        ),
        (
            format!(
                "[mongo]\ntls_cert_file = {:?}\ntls_key_file = {:?}\n",
                cert.display().to_string(),
                junk.display().to_string()
            ),
            "mongo.tls_key_file",
        ),
        (
            format!(
                "[mongo]\ntls_cert_file = {:?}\ntls_key_file = {:?}\n",
                tmp.path().join("absent.pem").display().to_string(),
                junk.display().to_string()
            ),
            "mongo.tls_cert_file",
        ),
        (
            "[mongo]\nmax_cursors = 0\n".to_string(),
            "mongo.max_cursors",
        ),
    ];
    for (text, option) in cases {
        let config = tmp.path().join("bad.toml");
        std::fs::write(&config, &text).expect("write config");
        let r = stratus(&[
            "serve",
            "--config",
            config.to_str().expect("utf8"),
            "--data-dir",
            data.to_str().expect("utf8"),
            "--listen",
            &format!("127.0.0.1:{}", free_port()),
            "--mongo-listen",
            &mongo,
        ]);
        assert_eq!(r.code, 2, "{text}: {}", r.all());
        assert!(r.err.contains(option), "{text}: {}", r.all());
    }
}
