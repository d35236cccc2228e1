//! The `stratus` binary without a running server: help and version, `check`, configuration
//! layering (`serve --print-config`), `admin create` on a stopped data directory, and backup +
//! restore of a stopped data directory.

mod common;

use common::{good_project, stratus, stratus_env};

#[test]
fn help_and_version() {
    let r = stratus(&["--help"]);
    assert_eq!(r.code, 0, "{}", r.all());
    for cmd in [
        "serve", "admin", "deploy", "export", "check", "backup", "restore", "Examples",
    ] {
        assert!(r.out.contains(cmd), "--help lacks {cmd}: {}", r.out);
    }
    for cmd in [
        vec!["serve", "--help"],
        vec!["admin", "create", "--help"],
        vec!["deploy", "--help"],
        vec!["export", "--help"],
        vec!["check", "--help"],
        vec!["backup", "--help"],
        vec!["restore", "--help"],
    ] {
        let r = stratus(&cmd);
        assert_eq!(r.code, 0, "{cmd:?}: {}", r.all());
        assert!(
            r.out.contains("Examples:"),
            "{cmd:?} --help has no examples"
        );
    }
    let r = stratus(&["--version"]);
    assert_eq!(r.code, 0);
    assert!(
        r.out
            .starts_with(&format!("stratus {}", env!("CARGO_PKG_VERSION"))),
        "{}",
        r.out
    );
    // Usage errors are exit 2.
    assert_eq!(stratus(&["frobnicate"]).code, 2);
    assert_eq!(stratus(&["deploy"]).code, 2);
    assert_eq!(stratus(&["admin", "create", "--email", "a@b.c"]).code, 2);
}

#[test]
fn check_good_and_broken_projects() {
    let tmp = tempfile::tempdir().expect("tmp");
    let good = tmp.path().join("good");
    good_project(&good, "shop");
    let r = stratus(&["check", good.to_str().expect("utf8")]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.out.contains("ok: project `shop`"), "{}", r.out);
    assert!(r.out.contains("1 model,"), "{}", r.out);

    // Single-file form.
    let file = tmp.path().join("one.json");
    std::fs::write(
        &file,
        r#"{"name": "one", "models": [{"name": "m", "collection": "m", "fields": {"a": {"type": "int"}}}]}"#,
    )
    .expect("write");
    let r = stratus(&["check", file.to_str().expect("utf8")]);
    assert_eq!(r.code, 0, "{}", r.all());

    // Broken: a bad field type in a split model file, and an API on an unknown model.
    let bad = tmp.path().join("bad");
    good_project(&bad, "shop");
    std::fs::write(
        bad.join("models/broken.json"),
        r#"{"name": "thing", "collection": "things", "fields": {"x": {"type": "strin"}}}"#,
    )
    .expect("write");
    std::fs::create_dir_all(bad.join("apis")).expect("mkdir");
    std::fs::write(
        bad.join("apis/orphan.json"),
        r#"{"template": "crud", "model": "nosuchmodel", "endpoint": "/orphans"}"#,
    )
    .expect("write");
    let r = stratus(&["check", bad.to_str().expect("utf8")]);
    assert_eq!(r.code, 1, "{}", r.all());
    let all = r.all();
    assert!(all.contains("broken.json"), "names the file: {all}");
    assert!(
        all.contains("models/broken.json: $.models[0].fields.x.type: unknown field type"),
        "names the file and the JSON path: {all}"
    );
    assert!(all.contains("orphan.json"), "every error is printed: {all}");
    assert!(all.contains("errors in"), "{all}");

    // Syntax error.
    std::fs::write(bad.join("models/broken.json"), "{ not json").expect("write");
    let r = stratus(&["check", bad.to_str().expect("utf8")]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.all().contains("broken.json"), "{}", r.all());

    // Missing path: usage error.
    let r = stratus(&["check", tmp.path().join("nope").to_str().expect("utf8")]);
    assert_eq!(r.code, 2, "{}", r.all());
}

#[test]
fn config_layering_and_validation() {
    let tmp = tempfile::tempdir().expect("tmp");
    let file = tmp.path().join("s.toml");
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:1111\"\nlog_level = \"debug\"\n[http]\nmax_body_bytes = 2048\n",
    )
    .expect("write");
    let f = file.to_str().expect("utf8");
    let print = |args: &[&str], env: &[(&str, &str)]| {
        let mut all = vec!["serve", "--print-config"];
        all.extend_from_slice(args);
        stratus_env(&all, env, Some(tmp.path()))
    };

    // Defaults with no config at all.
    let r = print(&[], &[]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.out.contains("listen = \"127.0.0.1:8080\""), "{}", r.out);
    assert!(r.out.contains("data_dir = \"./stratus-data\""), "{}", r.out);

    // File < env < flag.
    let r = print(&["--config", f], &[]);
    assert!(r.out.contains("listen = \"127.0.0.1:1111\""), "{}", r.out);
    assert!(r.out.contains("max_body_bytes = 2048"), "{}", r.out);
    let env = [
        ("STRATUS_LISTEN", "127.0.0.1:2222"),
        ("STRATUS_LOG_FORMAT", "json"),
    ];
    let r = print(&["--config", f], &env);
    assert!(
        r.out.contains("listen = \"127.0.0.1:2222\""),
        "env beats file: {}",
        r.out
    );
    assert!(r.out.contains("log_format = \"json\""), "{}", r.out);
    assert!(
        r.out.contains("log_level = \"debug\""),
        "file still applies: {}",
        r.out
    );
    let r = print(
        &[
            "--config",
            f,
            "--listen",
            "127.0.0.1:3333",
            "--log-format",
            "text",
        ],
        &env,
    );
    assert!(
        r.out.contains("listen = \"127.0.0.1:3333\""),
        "flag beats env: {}",
        r.out
    );
    assert!(r.out.contains("log_format = \"text\""), "{}", r.out);
    // STRATUS_CONFIG names the file too.
    let r = print(&[], &[("STRATUS_CONFIG", f)]);
    assert!(r.out.contains("listen = \"127.0.0.1:1111\""), "{}", r.out);
    // <data-dir>/stratus.toml is picked up.
    let dd = tmp.path().join("dd");
    std::fs::create_dir_all(&dd).expect("mkdir");
    std::fs::write(dd.join("stratus.toml"), "listen = \"127.0.0.1:4444\"\n").expect("write");
    let r = print(&["--data-dir", dd.to_str().expect("utf8")], &[]);
    assert!(r.out.contains("listen = \"127.0.0.1:4444\""), "{}", r.out);
    // The master key is never printed.
    let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let r = print(&[], &[("STRATUS_MASTER_KEY", key)]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(!r.all().contains(key), "{}", r.all());
    assert!(r.out.contains("<redacted>"), "{}", r.out);

    // Bad values: exit 2 naming the option.
    type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case<'_>> = vec![
        (vec!["--listen", "nope"], vec![], "`listen`"),
        (vec![], vec![("STRATUS_LISTEN", "nope")], "`listen`"),
        (vec![], vec![("STRATUS_LOG_FORMAT", "xml")], "`log_format`"),
        (
            vec![],
            vec![("STRATUS_MASTER_KEY", "tooshort")],
            "`security.master_key`",
        ),
        (vec!["--mongo-listen", "x:y"], vec![], "`mongo_listen`"),
        (
            vec!["--config", "/nonexistent/x.toml"],
            vec![],
            "does not exist",
        ),
    ];
    for (args, env, needle) in cases {
        let r = print(&args, &env);
        assert_eq!(r.code, 2, "{args:?} {env:?}: {}", r.all());
        assert!(r.err.contains(needle), "{args:?}: {}", r.err);
    }
    std::fs::write(&file, "[http]\nmax_body_bytes = 0\n").expect("write");
    let r = print(&["--config", f], &[]);
    assert_eq!(r.code, 2);
    assert!(r.err.contains("`http.max_body_bytes`"), "{}", r.err);
    // The real `serve` path (no --print-config) validates the same way before starting.
    let r = stratus_env(&["serve", "--listen", "nope"], &[], Some(tmp.path()));
    assert_eq!(r.code, 2, "{}", r.all());
    assert!(r.err.contains("`listen`"), "{}", r.err);
    std::fs::write(&file, "listn = \"127.0.0.1:1\"\n").expect("write");
    let r = print(&["--config", f], &[]);
    assert_eq!(r.code, 2, "unknown option: {}", r.all());
    assert!(r.err.contains("listn"), "{}", r.err);
}

#[test]
fn admin_create_on_a_stopped_data_dir() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dd = tmp.path().join("data");
    let d = dd.to_str().expect("utf8");
    let create = |email: &str, password: &str| common::admin_create(d, email, password);
    let r = create("owner@example.com", "correct horse battery");
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(dd.join("data.redb").is_file() && !dd.join("data.mdb").exists());
    assert!(
        !r.all().contains("correct horse battery"),
        "the password is never printed"
    );
    // Duplicate (email normalised), weak password, bad email: exit 1 with a reason.
    let r = create("Owner@Example.com", "correct horse battery");
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.err.contains("already exists"), "{}", r.err);
    let r = create("other@example.com", "short");
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.err.to_lowercase().contains("password"), "{}", r.err);
    assert!(!r.err.contains("short\""), "{}", r.err);
    let r = create("not-an-email", "correct horse battery");
    assert_eq!(r.code, 1, "{}", r.all());
    // STRATUS_DATA_DIR is honoured.
    let r = stratus_env(
        &[
            "admin",
            "create",
            "--email",
            "env@example.com",
            "--password",
            "correct horse battery",
        ],
        &[("STRATUS_DATA_DIR", d)],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.all());
}

#[test]
fn backup_and_restore_of_a_stopped_data_dir() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dd = tmp.path().join("data");
    let d = dd.to_str().expect("utf8");
    let r = stratus(&[
        "admin",
        "create",
        "--data-dir",
        d,
        "--email",
        "a@example.com",
        "--password",
        "correct horse battery",
    ]);
    assert_eq!(r.code, 0, "{}", r.all());
    let out = tmp.path().join("bk");
    let o = out.to_str().expect("utf8");
    let r = stratus(&["backup", "--data-dir", d, o]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(out.join("data.redb").is_file() && out.join("backup.json").is_file());
    assert!(
        out.join("master.key").is_file(),
        "key files are part of the backup"
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("backup.json")).expect("read"))
            .expect("json");
    assert_eq!(manifest["format_version"], 1);
    assert!(manifest["documents"].as_u64().expect("count") >= 1);
    // A second backup into the same (now non-empty) directory is refused.
    assert_eq!(stratus(&["backup", "--data-dir", d, o]).code, 1);
    // Missing data: refused.
    let empty = tmp.path().join("empty");
    let r = stratus(&[
        "backup",
        "--data-dir",
        empty.to_str().expect("utf8"),
        tmp.path().join("bk2").to_str().expect("utf8"),
    ]);
    assert_eq!(r.code, 1, "{}", r.all());

    // Restore into a fresh directory: the account is there (a duplicate is refused).
    let target = tmp.path().join("restored");
    let t = target.to_str().expect("utf8");
    let r = stratus(&["restore", "--data-dir", t, o]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(
        std::fs::read(target.join("master.key")).expect("key"),
        std::fs::read(dd.join("master.key")).expect("key")
    );
    let r = stratus(&[
        "admin",
        "create",
        "--data-dir",
        t,
        "--email",
        "a@example.com",
        "--password",
        "correct horse battery",
    ]);
    assert_eq!(r.code, 1, "restored account exists: {}", r.all());
    assert!(r.err.contains("already exists"), "{}", r.err);
    // Non-empty target without --force: refused; with --force: replaced.
    let r = stratus(&["restore", "--data-dir", t, o]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.err.contains("--force"), "{}", r.err);
    let r = stratus(&["restore", "--data-dir", t, o, "--force"]);
    assert_eq!(r.code, 0, "{}", r.all());
    // Not a backup: refused.
    let r = stratus(&[
        "restore",
        "--data-dir",
        tmp.path().join("x").to_str().expect("utf8"),
        d,
    ]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.err.contains("not a Stratus backup"), "{}", r.err);
}
