//! Runs MongoDB's unified CRUD specification tests (`crud-unified/*.json`) against the embedded
//! store: `initialData` → operations → `expectResult` / `expectError` → `outcome`.
//!
//! Data is read at run time from `$STRATUS_CONFORMANCE_DIR/mongodb-specifications/crud-unified`
//! (default `../shared/conformance/` from the repository root); without it the test prints why it
//! skipped. Every skipped test carries a reason; the counts are printed and recorded in
//! `docs/mongodb-compatibility.md`. The server version this store claims is [`SERVER_VERSION`].

#[path = "crud_unified/matcher.rs"]
mod matcher;
#[path = "crud_unified/ops.rs"]
mod ops;

use std::path::PathBuf;

use bson::{Bson, Document};
use serde_json::Value;

/// The MongoDB server version whose behaviour the store implements (for `runOnRequirements`).
const SERVER_VERSION: [u32; 3] = [8, 0, 0];

fn spec_dir() -> Option<PathBuf> {
    let base = std::env::var_os("STRATUS_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance")
        });
    let dir = base.join("mongodb-specifications/crud-unified");
    dir.is_dir().then_some(dir)
}

fn version(s: &str) -> [u32; 3] {
    let mut out = [0; 3];
    for (i, p) in s.split('.').take(3).enumerate() {
        out[i] = p.parse().unwrap_or(0);
    }
    out
}

/// Why a requirement set cannot be met, or `None` when it can.
fn unmet(req: &Document) -> Option<String> {
    if let Ok(min) = req.get_str("minServerVersion")
        && version(min) > SERVER_VERSION
    {
        return Some(format!(
            "needs MongoDB >= {min}; Stratus implements {SERVER_VERSION:?}"
        ));
    }
    if let Ok(max) = req.get_str("maxServerVersion")
        && version(max) < SERVER_VERSION
    {
        return Some(format!(
            "tests behaviour of MongoDB <= {max} (changed later)"
        ));
    }
    if let Ok(t) = req.get_array("topologies")
        && !t
            .iter()
            .any(|x| matches!(x, Bson::String(s) if s == "single"))
    {
        return Some("needs a replica set or sharded topology".into());
    }
    if req.get_str("serverless").ok() == Some("require") {
        return Some("needs Atlas serverless".into());
    }
    if req.get_bool("auth").ok() == Some(true) {
        return Some("needs server authentication".into());
    }
    None
}

/// A list of alternative requirement sets: met when any one is met.
fn requirements_unmet(reqs: Option<&Bson>) -> Option<String> {
    let Some(Bson::Array(list)) = reqs else {
        return None;
    };
    let reasons: Vec<String> = list
        .iter()
        .filter_map(|r| match r {
            Bson::Document(d) => Some(unmet(d)),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    Some(reasons.join(" / "))
}

#[derive(Default)]
struct Tally {
    passed: usize,
    passed_without_events: usize,
    skipped: Vec<String>,
    failed: Vec<String>,
}

fn to_doc(v: &Value) -> Document {
    match stratus_query::ejson::from_json(v.clone()) {
        Ok(Bson::Document(d)) => d,
        other => panic!("spec file holds a non-document where a document is expected: {other:?}"),
    }
}

#[test]
fn crud_unified() {
    let Some(dir) = spec_dir() else {
        println!(
            "SKIP crud_unified: conformance data not found (set STRATUS_CONFORMANCE_DIR to the \
             folder holding mongodb-specifications/)"
        );
        return;
    };
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("spec dir readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let only = std::env::var("CRUD_UNIFIED_ONLY").ok();
    let mut t = Tally::default();
    for path in files {
        let file = path
            .file_stem()
            .and_then(|n| n.to_str())
            .unwrap_or("?")
            .to_string();
        if only.as_deref().is_some_and(|o| !file.contains(o)) {
            continue;
        }
        let spec = to_doc(
            &serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json"),
        );
        run_file(&file, &spec, &mut t);
    }
    let total = t.passed + t.passed_without_events + t.skipped.len() + t.failed.len();
    println!(
        "crud-unified: {total} tests: {} passed, {} passed (driver command-monitoring events not checked), {} skipped, {} failed",
        t.passed,
        t.passed_without_events,
        t.skipped.len(),
        t.failed.len()
    );
    for s in &t.skipped {
        println!("  skipped: {s}");
    }
    for f in &t.failed {
        println!("  FAILED: {f}");
    }
    assert!(
        t.failed.is_empty(),
        "{} crud-unified tests failed",
        t.failed.len()
    );
}

fn run_file(file: &str, spec: &Document, t: &mut Tally) {
    let file_unmet = requirements_unmet(spec.get("runOnRequirements"));
    let entities = ops::Entities::from_spec(spec);
    let Ok(tests) = spec.get_array("tests") else {
        return;
    };
    for test in tests {
        let Bson::Document(test) = test else { continue };
        let name = format!("{file}: {}", test.get_str("description").unwrap_or("?"));
        if let Some(reason) = file_unmet
            .clone()
            .or_else(|| requirements_unmet(test.get("runOnRequirements")))
        {
            t.skipped.push(format!("{name} — {reason}"));
            continue;
        }
        if let Ok(reason) = test.get_str("skipReason") {
            t.skipped
                .push(format!("{name} — the spec itself skips it: {reason}"));
            continue;
        }
        if let Some(reason) = ops::unsupported(test) {
            t.skipped.push(format!("{name} — {reason}"));
            continue;
        }
        match ops::run_test(&entities, spec, test) {
            Ok(()) if test.contains_key("expectEvents") => t.passed_without_events += 1,
            Ok(()) => t.passed += 1,
            Err(e) => t.failed.push(format!("{name}: {e}")),
        }
    }
}
