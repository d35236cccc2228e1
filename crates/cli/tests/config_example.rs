//! `config.example.toml` at the repository root cannot drift from the code: it parses, equals
//! `Config::default()`, and names every option (commented-out options count: they have no
//! default value).

use std::collections::BTreeSet;

use serde_json::Value;
use stratus_server::config::Config;

fn example() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config.example.toml");
    std::fs::read_to_string(path).expect("config.example.toml at the repository root")
}

/// Dotted names of every leaf option of a serialized config (`http.max_body_bytes`).
fn leaves(prefix: &str, v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let name = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                if v.is_object() {
                    leaves(&name, v, out);
                } else {
                    out.insert(name);
                }
            }
        }
        _ => {
            out.insert(prefix.to_string());
        }
    }
}

/// Dotted names of the options written in the example, commented out or not.
fn written(text: &str) -> BTreeSet<String> {
    let mut section = String::new();
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('[') && t.ends_with(']') {
            section = t.trim_matches(|c| c == '[' || c == ']').to_string();
            continue;
        }
        let body = t.strip_prefix("# ").unwrap_or(t);
        let Some((key, _)) = body.split_once(" = ") else {
            continue;
        };
        if key.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            out.insert(if section.is_empty() {
                key.to_string()
            } else {
                format!("{section}.{key}")
            });
        }
    }
    out
}

#[test]
fn example_parses_to_the_defaults() {
    let parsed = Config::from_toml(&example()).expect("the example parses");
    assert_eq!(parsed, Config::default());
    parsed.validate().expect("the defaults validate");
}

#[test]
fn example_names_every_option() {
    let v = serde_json::to_value(Config::default()).expect("serialize");
    let mut fields = BTreeSet::new();
    leaves("", &v, &mut fields);
    assert!(fields.contains("http.max_body_bytes") && fields.contains("security.master_key"));
    let written = written(&example());
    let missing: Vec<_> = fields.difference(&written).collect();
    assert!(
        missing.is_empty(),
        "options missing from config.example.toml: {missing:?}"
    );
    let unknown: Vec<_> = written.difference(&fields).collect();
    assert!(
        unknown.is_empty(),
        "config.example.toml names unknown options: {unknown:?}"
    );
}

#[test]
fn docs_name_every_option_and_env_var() {
    let docs = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/configuration.md"
    ))
    .expect("docs/configuration.md");
    let v = serde_json::to_value(Config::default()).expect("serialize");
    let mut fields = BTreeSet::new();
    leaves("", &v, &mut fields);
    for f in fields {
        assert!(
            docs.contains(&format!("`{f}`")),
            "docs/configuration.md lacks `{f}`"
        );
    }
    for var in [
        "STRATUS_CONFIG",
        "STRATUS_LISTEN",
        "STRATUS_DATA_DIR",
        "STRATUS_APP",
        "STRATUS_MONGO_LISTEN",
        "STRATUS_LOG_FORMAT",
        "STRATUS_LOG_LEVEL",
        "STRATUS_MASTER_KEY",
    ] {
        assert!(docs.contains(var), "docs/configuration.md lacks {var}");
    }
}
