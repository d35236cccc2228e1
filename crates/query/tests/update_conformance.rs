//! MongoDB's CRUD specification tests (`crud-unified/*.json`) that exercise updates:
//! `updateOne`, `updateMany`, `replaceOne`, `findOneAndUpdate`, `findOneAndReplace` and the
//! update requests of `bulkWrite`, run against an in-memory collection.
//!
//! The data is read at run time from `$STRATUS_CONFORMANCE_DIR/mongodb-specifications/
//! crud-unified` (default `../shared/conformance/` from the repository root); the licence
//! forbids copying it into the repository. Without it the test prints why it skipped.
//!
//! What is checked: the final collection contents (`outcome`, exact field order and types),
//! `matchedCount`/`modifiedCount`/`upsertedCount` where expected, and that expected errors
//! happen. Client-side validations a driver performs (update documents must start with `$`,
//! replacements must not) are reproduced here, since they belong to the caller of
//! `Update::parse`. Tests needing features outside the update engine (collation, `let`
//! variables, other operations, servers older than 5.0) are skipped with their reason
//! counted. Documents are selected with [`Filter`], whose match details feed the positional
//! `$` operator.

use std::collections::BTreeMap;
use std::path::PathBuf;

use bson::{Bson, Document};
use serde_json::Value;
use stratus_query::compare::{compare, values_equal};
use stratus_query::filter::Filter;
use stratus_query::update::{ApplyContext, Update, UpdateOptions};

fn spec_dir() -> Option<PathBuf> {
    let base = std::env::var_os("STRATUS_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance")
        });
    let dir = base.join("mongodb-specifications/crud-unified");
    dir.is_dir().then_some(dir)
}

fn to_bson(v: &Value) -> Bson {
    Bson::try_from(v.clone()).unwrap_or_else(|e| panic!("bad EJSON {v}: {e}"))
}

fn to_doc(v: &Value) -> Document {
    match to_bson(v) {
        Bson::Document(d) => d,
        other => panic!("not a document: {other:?}"),
    }
}

fn canon(d: &Document) -> String {
    Bson::Document(d.clone())
        .into_canonical_extjson()
        .to_string()
}

/// Why a test cannot run here.
struct Skip(String);

fn selector(filter: &Document) -> Result<Filter, Skip> {
    Filter::parse(filter).map_err(|e| Skip(format!("filter refused: {e}")))
}

#[derive(Default, Debug)]
struct Counts {
    matched: u64,
    modified: u64,
    upserted: u64,
}

fn ctx() -> ApplyContext {
    ApplyContext {
        positional: None,
        is_insert: false,
        now: bson::DateTime::from_millis(1_700_000_000_000),
    }
}

/// Arguments this runner does not need (they do not change the stored result).
const IGNORED_ARGS: &[&str] = &[
    "hint",
    "comment",
    "bypassDocumentValidation",
    "rawData",
    "projection",
    "returnDocument",
    "ordered",
];

/// The update operations and their update argument name.
fn update_kind(name: &str) -> Option<(&'static str, bool, bool)> {
    // (argument name, multi, is replacement operation)
    match name {
        "updateOne" | "findOneAndUpdate" => Some(("update", false, false)),
        "updateMany" => Some(("update", true, false)),
        "replaceOne" | "findOneAndReplace" => Some(("replacement", false, true)),
        _ => None,
    }
}

/// One update against the collection.
fn run_update(
    coll: &mut Vec<Document>,
    args: &serde_json::Map<String, Value>,
    op: &str,
) -> Result<Result<Counts, String>, Skip> {
    let Some((arg_name, multi, replace)) = update_kind(op) else {
        return Err(Skip(format!("operation {op}")));
    };
    for k in args.keys() {
        let known = ["filter", arg_name, "upsert", "arrayFilters", "sort"].contains(&k.as_str())
            || IGNORED_ARGS.contains(&k.as_str());
        if !known {
            return Err(Skip(format!("argument {op}.{k}")));
        }
    }
    let filter = args.get("filter").map(to_doc).unwrap_or_default();
    let selector = selector(&filter)?;
    let update = args.get(arg_name).map(to_bson).unwrap_or(Bson::Null);
    // Client-side validation every driver performs (CRUD spec "Update vs. Replace Validation").
    let first_key_dollar = match &update {
        Bson::Document(d) => d.keys().next().map(|k| k.starts_with('$')),
        _ => None,
    };
    if replace && (first_key_dollar == Some(true) || !matches!(update, Bson::Document(_))) {
        return Ok(Err(
            "client: replacement document must not contain atomic modifiers".into(),
        ));
    }
    if !replace {
        match &update {
            Bson::Document(_) if first_key_dollar != Some(true) => {
                return Ok(Err(
                    "client: update document must contain atomic modifiers".into()
                ));
            }
            Bson::Array(a) if a.is_empty() => {
                return Ok(Err("client: update pipeline must not be empty".into()));
            }
            _ => {}
        }
    }
    let filters: Option<Vec<Document>> = args
        .get("arrayFilters")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(to_doc).collect());
    let opts = UpdateOptions {
        array_filters: filters.as_deref(),
        ..UpdateOptions::default()
    };
    let u = match Update::parse(&update, &opts) {
        Ok(u) => u,
        Err(e) if e.message.starts_with("Unrecognized expression") => {
            return Err(Skip(format!(
                "crate::expr lacks an operator: {}",
                e.message
            )));
        }
        Err(e) => return Ok(Err(format!("{:?}: {}", e.code, e.message))),
    };
    let mut order: Vec<usize> = (0..coll.len()).collect();
    if let Some(sort) = args.get("sort") {
        let sort = to_doc(sort);
        order.sort_by(|&a, &b| {
            for (k, dir) in &sort {
                let x = coll[a].get(k).cloned().unwrap_or(Bson::Null);
                let y = coll[b].get(k).cloned().unwrap_or(Bson::Null);
                let o = compare(&x, &y);
                let o = if matches!(dir, Bson::Int32(-1)) {
                    o.reverse()
                } else {
                    o
                };
                if o.is_ne() {
                    return o;
                }
            }
            std::cmp::Ordering::Equal
        });
    }
    let mut counts = Counts::default();
    for i in order {
        let Some(details) = selector.matches_with_details(&coll[i]) else {
            continue;
        };
        counts.matched += 1;
        let ctx = ApplyContext {
            positional: details.elem_match_index,
            ..ctx()
        };
        match u.apply(&coll[i], &ctx) {
            Ok(out) => {
                if out.modified {
                    counts.modified += 1;
                }
                coll[i] = out.document;
            }
            Err(e) => return Ok(Err(format!("{:?}: {}", e.code, e.message))),
        }
        if !multi {
            break;
        }
    }
    let upsert = args.get("upsert").and_then(Value::as_bool).unwrap_or(false);
    if counts.matched == 0 && upsert {
        match u.upsert_document(&filter, &ctx()) {
            Ok(mut doc) => {
                if !doc.contains_key("_id") {
                    let mut with_id = Document::new();
                    with_id.insert("_id", bson::oid::ObjectId::new());
                    with_id.extend(doc);
                    doc = with_id;
                }
                coll.push(doc);
                counts.upserted = 1;
            }
            Err(e) => return Ok(Err(format!("{:?}: {}", e.code, e.message))),
        }
    }
    Ok(Ok(counts))
}

/// `bulkWrite`: update, replace, insert and delete requests.
fn run_bulk(
    coll: &mut Vec<Document>,
    args: &serde_json::Map<String, Value>,
) -> Result<Result<Counts, String>, Skip> {
    for k in args.keys() {
        if k != "requests" && !IGNORED_ARGS.contains(&k.as_str()) {
            return Err(Skip(format!("argument bulkWrite.{k}")));
        }
    }
    let ordered = args.get("ordered").and_then(Value::as_bool).unwrap_or(true);
    let mut total = Counts::default();
    let mut first_error = None;
    for req in args
        .get("requests")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some((name, body)) = req.as_object().and_then(|o| o.iter().next()) else {
            return Err(Skip("malformed request".into()));
        };
        let body = body.as_object().cloned().unwrap_or_default();
        let r = match name.as_str() {
            "insertOne" => {
                let doc = body.get("document").map(to_doc).unwrap_or_default();
                let dup = doc.get("_id").is_some_and(|id| {
                    coll.iter()
                        .any(|d| d.get("_id").is_some_and(|x| values_equal(x, id)))
                });
                if dup {
                    Err("DuplicateKey: _id".to_string())
                } else {
                    coll.push(doc);
                    Ok(Counts::default())
                }
            }
            "deleteOne" | "deleteMany" => {
                if let Some(k) = body
                    .keys()
                    .find(|k| *k != "filter" && !IGNORED_ARGS.contains(&k.as_str()))
                {
                    return Err(Skip(format!("argument {name}.{k}")));
                }
                let filter = body.get("filter").map(to_doc).unwrap_or_default();
                let sel = selector(&filter)?;
                let mut removed = false;
                coll.retain(|d| {
                    if (name == "deleteMany" || !removed) && sel.matches(d) {
                        removed = true;
                        false
                    } else {
                        true
                    }
                });
                Ok(Counts::default())
            }
            other => run_update(coll, &body, other)?,
        };
        match r {
            Ok(c) => {
                total.matched += c.matched;
                total.modified += c.modified;
                total.upserted += c.upserted;
            }
            Err(e) => {
                first_error.get_or_insert(e);
                if ordered {
                    break;
                }
            }
        }
    }
    Ok(match first_error {
        Some(e) => Err(e),
        None => Ok(total),
    })
}

/// The server version this engine stands in for: MongoDB 8.0 (updateOne `sort`, dots and
/// dollars, pipeline updates).
const EMULATED_VERSION: (u32, u32) = (8, 0);

fn parse_version(v: &Value) -> Option<(u32, u32)> {
    let s = v.as_str()?;
    let mut parts = s.split('.').map(|p| p.parse::<u32>().ok());
    Some((parts.next()??, parts.next().flatten().unwrap_or(0)))
}

fn requirements_skip(reqs: Option<&Value>) -> Option<String> {
    let reqs = reqs?.as_array()?;
    // Runs if any requirement set admits the emulated server version.
    let runnable = reqs.iter().any(|r| {
        let max_ok = r
            .get("maxServerVersion")
            .and_then(parse_version)
            .is_none_or(|max| max >= EMULATED_VERSION);
        let min_ok = r
            .get("minServerVersion")
            .and_then(parse_version)
            .is_none_or(|min| min <= EMULATED_VERSION);
        max_ok && min_ok
    });
    (!runnable).then(|| {
        format!(
            "server version requirements exclude {}.{}",
            EMULATED_VERSION.0, EMULATED_VERSION.1
        )
    })
}

fn check_counts(expect: &Value, got: &Counts) -> Result<(), String> {
    let pairs = [
        ("matchedCount", got.matched),
        ("modifiedCount", got.modified),
        ("upsertedCount", got.upserted),
    ];
    for (k, v) in pairs {
        if let Some(want) = expect.get(k).and_then(Value::as_u64)
            && want != v
        {
            return Err(format!("{k}: want {want}, got {v}"));
        }
    }
    Ok(())
}

#[derive(Default)]
struct Tally {
    passed: usize,
    skipped: BTreeMap<String, usize>,
    failed: Vec<String>,
}

fn run_test(file: &Value, test: &Value) -> Result<Result<(), String>, Skip> {
    if let Some(reason) = requirements_skip(test.get("runOnRequirements")) {
        return Err(Skip(reason));
    }
    let initial = file
        .get("initialData")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .ok_or_else(|| Skip("no initial data".into()))?;
    let mut coll: Vec<Document> = initial
        .get("documents")
        .and_then(Value::as_array)
        .map(|a| a.iter().map(to_doc).collect())
        .unwrap_or_default();
    let coll_name = initial.get("collectionName").cloned();
    for op in test
        .get("operations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = op.get("name").and_then(Value::as_str).unwrap_or_default();
        let args = op
            .get("arguments")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let r = match name {
            "bulkWrite" => run_bulk(&mut coll, &args)?,
            other => run_update(&mut coll, &args, other)?,
        };
        match (op.get("expectError"), r) {
            (Some(e), Ok(_)) => return Ok(Err(format!("{name}: expected error {e}, got success"))),
            (Some(_), Err(_)) => {}
            (None, Err(msg)) => return Ok(Err(format!("{name}: unexpected error {msg}"))),
            (None, Ok(counts)) => {
                if let Some(expect) = op.get("expectResult")
                    && let Err(m) = check_counts(expect, &counts)
                {
                    return Ok(Err(format!("{name}: {m}")));
                }
            }
        }
    }
    if let Some(outcome) = test.get("outcome").and_then(Value::as_array) {
        for o in outcome {
            if o.get("collectionName") != coll_name.as_ref() {
                continue;
            }
            let want: Vec<String> = o
                .get("documents")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|d| canon(&to_doc(d)))
                .collect();
            let got: Vec<String> = coll.iter().map(canon).collect();
            if want.iter().any(|w| w.contains("$$")) {
                return Err(Skip("outcome uses special matchers".into()));
            }
            if want != got {
                return Ok(Err(format!(
                    "outcome differs:\n     want {}\n     got  {}",
                    want.join(", "),
                    got.join(", ")
                )));
            }
        }
    }
    Ok(Ok(()))
}

#[test]
fn crud_spec_update_tests() {
    let Some(dir) = spec_dir() else {
        eprintln!(
            "skipped: MongoDB specifications not found (set STRATUS_CONFORMANCE_DIR to the directory holding mongodb-specifications/)"
        );
        return;
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("spec directory is readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut t = Tally::default();
    for path in files {
        let fname = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = std::fs::read_to_string(&path).expect("spec file is readable");
        let file: Value = serde_json::from_str(&text).expect("spec file is JSON");
        let tests = file
            .get("tests")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let relevant = tests.iter().any(|t| {
            t.get("operations")
                .and_then(Value::as_array)
                .is_some_and(|ops| {
                    ops.iter().any(|o| {
                        let n = o.get("name").and_then(Value::as_str).unwrap_or_default();
                        update_kind(n).is_some() || n == "bulkWrite"
                    })
                })
        });
        if !relevant {
            continue;
        }
        if let Some(reason) = requirements_skip(file.get("runOnRequirements")) {
            *t.skipped.entry(reason).or_default() += tests.len();
            continue;
        }
        for test in &tests {
            let desc = test
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default();
            match run_test(&file, test) {
                Ok(Ok(())) => t.passed += 1,
                Ok(Err(why)) => t.failed.push(format!("{fname} :: {desc}: {why}")),
                Err(Skip(reason)) => *t.skipped.entry(reason).or_default() += 1,
            }
        }
    }
    eprintln!(
        "crud-unified update tests: {} passed, {} failed",
        t.passed,
        t.failed.len()
    );
    for (reason, n) in &t.skipped {
        eprintln!("  skipped {n}: {reason}");
    }
    assert!(t.passed > 0, "no spec test ran");
    assert!(
        t.failed.is_empty(),
        "{} spec tests failed:\n{}",
        t.failed.len(),
        t.failed.join("\n")
    );
}
