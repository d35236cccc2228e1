//! `stratus export --url URL --token T --project P [--out FILE|DIR]`: downloads the project's
//! working definition (`GET /admin/api/v1/projects/{p}/definition`) and writes it as JSON to
//! stdout, to a file (`--out x.json`), or split into a directory (`--out dir/`): `models/`,
//! `apis/`, `subflows/` and `search/` get one file per item (named after the item), the rest stays in
//! `project.json`. A split directory loads back with `stratus check`/`deploy`.

use std::path::Path;

use serde_json::{Map, Value};

use crate::cli::ExportArgs;
use crate::client::{admin_url, send};
use crate::failure::{CmdResult, Failure};

/// Top-level lists written one file per item in a split export, with their directory.
pub(crate) const SPLIT_LISTS: &[(&str, &str)] = &[
    ("models", "models"),
    ("apis", "apis"),
    ("subflows", "subflows"),
    ("search", "search"),
];

/// The definition inside an answer: the body itself, or its `definition` member.
fn definition_of(body: Value) -> Value {
    match body {
        Value::Object(mut o) if o.contains_key("definition") && !o.contains_key("models") => {
            o.remove("definition").unwrap_or(Value::Null)
        }
        other => other,
    }
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

fn write(path: &Path, text: &str) -> Result<(), Failure> {
    std::fs::write(path, text)
        .map_err(|e| Failure::failed(format!("cannot write {}: {e}", path.display())))
}

/// A file name for item `i` of a list: its `name` (or `endpoint`/`model`), made safe.
fn item_file_name(item: &Value, i: usize, taken: &mut std::collections::HashSet<String>) -> String {
    let raw = ["name", "endpoint", "model"]
        .iter()
        .find_map(|k| item.get(*k).and_then(Value::as_str))
        .unwrap_or("item");
    let mut base: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect::<String>()
        .trim_matches('_')
        .to_string();
    if base.is_empty() {
        base = format!("item{i}");
    }
    let mut name = format!("{base}.json");
    let mut n = 2;
    while !taken.insert(name.clone()) {
        name = format!("{base}-{n}.json");
        n += 1;
    }
    name
}

/// Writes `def` split into `dir`.
pub(crate) fn write_split(def: &Value, dir: &Path) -> Result<usize, Failure> {
    let Value::Object(top) = def else {
        return Err(Failure::failed(
            "the server's definition is not a JSON object",
        ));
    };
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::failed(format!("cannot create {}: {e}", dir.display())))?;
    let mut rest = Map::new();
    let mut files = 1;
    for (k, v) in top {
        let split = SPLIT_LISTS.iter().find(|(key, _)| key == k);
        match (split, v) {
            (Some((_, sub)), Value::Array(items)) if !items.is_empty() => {
                let d = dir.join(sub);
                std::fs::create_dir_all(&d)
                    .map_err(|e| Failure::failed(format!("cannot create {}: {e}", d.display())))?;
                let mut taken = std::collections::HashSet::new();
                let width = items.len().to_string().len().max(3);
                for (i, item) in items.iter().enumerate() {
                    // The loader reads files in name order: a numeric prefix keeps the order.
                    let name = format!("{:0width$}-{}", i + 1, item_file_name(item, i, &mut taken));
                    write(&d.join(name), &pretty(item))?;
                    files += 1;
                }
            }
            _ => {
                rest.insert(k.clone(), v.clone());
            }
        }
    }
    write(&dir.join("project.json"), &pretty(&Value::Object(rest)))?;
    Ok(files)
}

/// Runs `stratus export`.
pub(crate) fn run(args: ExportArgs) -> CmdResult {
    let url = admin_url(&args.url, &format!("projects/{}/definition", args.project));
    let resp = send("GET", &url, Some(&args.token), None)?;
    if !resp.ok() {
        return Err(resp.failure(&format!("exporting `{}`", args.project)));
    }
    let def = definition_of(resp.body);
    match &args.out {
        None => print!("{}", pretty(&def)),
        Some(out) if out.extension().is_some_and(|e| e == "json") && !out.is_dir() => {
            write(out, &pretty(&def))?;
            eprintln!("wrote {}", out.display());
        }
        Some(out) => {
            let n = write_split(&def, out)?;
            eprintln!("wrote {n} files under {}", out.display());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn split_writes_one_file_per_item_in_order() {
        let tmp = tempfile::tempdir().expect("tmp");
        let def = json!({"name": "shop",
            "models": [{"name": "product", "fields": {}}, {"name": "product", "fields": {}}],
            "apis": [{"template": "crud", "model": "product", "endpoint": "/products"}],
            "subflows": [], "auth": {"providers": []}});
        let n = write_split(&def, tmp.path()).expect("split");
        assert_eq!(n, 4);
        let mut models: Vec<String> = std::fs::read_dir(tmp.path().join("models"))
            .expect("dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        models.sort();
        assert_eq!(models, vec!["001-product.json", "002-product-2.json"]);
        let api = std::fs::read_to_string(tmp.path().join("apis/001-products.json")).expect("api");
        assert!(api.contains("crud"));
        let top: Value = serde_json::from_str(
            &std::fs::read_to_string(tmp.path().join("project.json")).expect("top"),
        )
        .expect("json");
        assert_eq!(
            top,
            json!({"name": "shop", "subflows": [], "auth": {"providers": []}})
        );
    }

    #[test]
    fn definition_is_unwrapped() {
        assert_eq!(
            definition_of(json!({"definition": {"name": "a"}})),
            json!({"name": "a"})
        );
        assert_eq!(definition_of(json!({"name": "a"})), json!({"name": "a"}));
    }
}
