//! Loading definitions: one file (JSON or YAML) and split directories, with file names in
//! every error.

use std::fs;
use std::path::Path;

use serde_json::json;
use stratus_server::project::load::MAX_DEFINITION_FILE_BYTES;
use stratus_server::project::{compile, compile_dir, load_dir, parse_definition};

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    if let Some(parent) = p.parent() {
        fs::create_dir_all(parent).expect("mkdir");
    }
    fs::write(p, text).expect("write");
}

fn split_app() -> tempfile::TempDir {
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path();
    write(
        d,
        "project.yaml",
        "name: shop\nauth:\n  providers: []\napis:\n  - template: crud\n    model: product\n    endpoint: /products\n",
    );
    write(
        d,
        "models/product.yaml",
        "name: product\ncollection: products\nfields:\n  name: {type: string, required: true}\n  price: {type: number, min: 0}\n",
    );
    write(
        d,
        "models/more.json",
        r#"[{"name": "order", "fields": {"total": {"type": "number"}}},
                                     {"name": "customer", "collection": "customers", "fields": {"email": "string"}}]"#,
    );
    write(
        d,
        "apis/orders.json",
        r#"{"name": "orders", "method": "GET", "endpoint": "/orders",
        "flow": [{"type": "findMany", "name": "all", "collection": "order"}, {"type": "httpResponse", "body": "$.all.result"}]}"#,
    );
    write(
        d,
        "subflows/s.yaml",
        "name: greet\narguments: [{name: who, type: string}]\nflow:\n  - {type: httpResponse, body: {hi: $.variables.who}}\n",
    );
    write(
        d,
        "search/products.json",
        r#"{"name": "products_text", "collection": "products"}"#,
    );
    write(d, "models/README.md", "ignored");
    t
}

#[test]
fn split_directory_with_yaml_and_json() {
    let t = split_app();
    let loaded = load_dir(t.path()).unwrap_or_else(|e| panic!("{e:?}"));
    let models: Vec<&str> = loaded.definition["models"]
        .as_array()
        .expect("models")
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    assert_eq!(
        models,
        ["order", "customer", "product"],
        "files in name order"
    );
    assert_eq!(
        loaded.sources.file_for("$.models[1].fields"),
        Some("models/more.json")
    );
    assert_eq!(
        loaded.sources.file_for("$.models[2]"),
        Some("models/product.yaml")
    );
    assert_eq!(loaded.sources.file_for("$.apis[0]"), Some("project.yaml"));
    assert_eq!(
        loaded.sources.file_for("$.apis[1].flow[0]"),
        Some("apis/orders.json")
    );
    assert_eq!(
        loaded.definition["search"],
        json!([{"name": "products_text", "collection": "products"}])
    );
    let p = compile(&loaded).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(p.apis.len(), 7);
    assert_eq!(p.subflows.len(), 1);
    assert!(p.api("orders").is_some());
    assert_eq!(compile_dir(t.path()).map(|p| p.apis.len()).ok(), Some(7));
}

#[test]
fn errors_name_their_files() {
    let t = split_app();
    write(
        t.path(),
        "apis/z_bad.yaml",
        "name: bad\nmethod: FETCH\nendpoint: /bad\nflow: [{type: httpResponse}]\n",
    );
    write(
        t.path(),
        "models/product.yaml",
        "name: product\ncollection: products\nfields:\n  name: {type: text}\n",
    );
    let loaded = load_dir(t.path()).unwrap_or_else(|e| panic!("{e:?}"));
    let errs = compile(&loaded).expect_err("invalid");
    let got: Vec<(Option<&str>, &str, &str)> = errs
        .iter()
        .map(|e| (e.file.as_deref(), e.path.as_str(), e.code))
        .collect();
    assert!(
        got.contains(&(
            Some("apis/z_bad.yaml"),
            "$.apis[2].method",
            "invalid_method"
        )),
        "{got:?}"
    );
    assert!(
        got.contains(&(
            Some("models/product.yaml"),
            "$.models[2].fields.name.type",
            "invalid_field_type"
        )),
        "{got:?}"
    );
    let shown = errs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        shown.contains("apis/z_bad.yaml: $.apis[2].method: "),
        "{shown}"
    );
}

#[test]
fn parse_errors_of_several_files_at_once() {
    let t = split_app();
    write(t.path(), "models/broken.json", "{\"name\": ");
    write(t.path(), "apis/broken.yml", "name: [unclosed\n");
    write(t.path(), "subflows/scalar.json", "42");
    let errs = load_dir(t.path()).expect_err("broken");
    let got: Vec<(Option<&str>, &str)> = errs.iter().map(|e| (e.file.as_deref(), e.code)).collect();
    assert_eq!(
        got,
        [
            (Some("models/broken.json"), "parse_error"),
            (Some("apis/broken.yml"), "parse_error"),
            (Some("subflows/scalar.json"), "invalid_type"),
        ]
    );
}

#[test]
fn project_file_presence() {
    let t = tempfile::tempdir().expect("tempdir");
    let e = load_dir(t.path()).expect_err("empty");
    assert_eq!(e[0].code, "missing_project_file");
    write(t.path(), "project.json", r#"{"name": "a"}"#);
    assert!(load_dir(t.path()).is_ok());
    write(t.path(), "project.yml", "name: a\n");
    let e = load_dir(t.path()).expect_err("two");
    assert_eq!(e[0].code, "ambiguous_project_file");
}

#[test]
fn oversized_files_are_refused() {
    let t = tempfile::tempdir().expect("tempdir");
    write(t.path(), "project.json", r#"{"name": "a"}"#);
    let big = format!(
        "[\"{}\"]",
        "x".repeat(usize::try_from(MAX_DEFINITION_FILE_BYTES).expect("size"))
    );
    write(t.path(), "models/big.json", &big);
    let e = load_dir(t.path()).expect_err("big");
    assert_eq!(
        (e[0].file.as_deref(), e[0].code),
        (Some("models/big.json"), "file_too_large")
    );
    let e = parse_definition(&big, "project.json").expect_err("big");
    assert_eq!(e[0].code, "file_too_large");
}

#[test]
fn single_file_json_and_yaml() {
    let y = parse_definition(
        "name: a\nmodels:\n  - name: m\n    fields: {x: int}\n",
        "project.yaml",
    )
    .expect("yaml");
    let j = parse_definition(
        r#"{"name": "a", "models": [{"name": "m", "fields": {"x": "int"}}]}"#,
        "project.json",
    )
    .expect("json");
    assert_eq!(y.definition, j.definition);
    assert!(compile(&y).is_ok());
    let e = parse_definition("{", "project.json").expect_err("bad json");
    assert_eq!(
        (e[0].file.as_deref(), e[0].code),
        (Some("project.json"), "parse_error")
    );
    let e = parse_definition("a: [", "p.yaml").expect_err("bad yaml");
    assert_eq!(e[0].code, "parse_error");
    let e = parse_definition("{}", "project.toml").expect_err("ext");
    assert_eq!(e[0].code, "unsupported_file");
}
