//! MongoDB's CRUD unified spec tests (every `crud-unified/*.json` file) replayed against an in-memory
//! collection driven by this crate's `Filter`, `SortSpec` and `Projection`: `find`, `findOne`,
//! `count`, `countDocuments`, `deleteOne`, `deleteMany`, `findOneAndDelete`, `insertOne`,
//! `insertMany`. Results and final collection contents must equal the spec's expectations.
//!
//! Tests needing anything else (collation, `let`, `rawData`, other operations, expected server
//! errors, `$$` matching operators beyond `$$unsetOrMatches`) are skipped, and the skip
//! reasons are printed. The data is read at run time from
//! `$STRATUS_CONFORMANCE_DIR/mongodb-specifications/crud-unified` (default
//! `../shared/conformance/` from the repository root); without it the test prints why it
//! skipped.

use std::collections::HashMap;
use std::path::PathBuf;

use bson::{Bson, Document};
use serde_json::Value;
use stratus_query::compare::values_equal;
use stratus_query::filter::Filter;
use stratus_query::projection::Projection;
use stratus_query::sort::SortSpec;

fn spec_dir() -> Option<PathBuf> {
    let base = std::env::var_os("STRATUS_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance")
        });
    let dir = base.join("mongodb-specifications/crud-unified");
    dir.is_dir().then_some(dir)
}

const SUPPORTED_ARGS: &[&str] = &[
    "filter",
    "sort",
    "skip",
    "limit",
    "projection",
    "comment",
    "batchSize",
    "hint",
    "allowDiskUse",
    "document",
    "documents",
];

fn bson(v: &Value) -> Bson {
    Bson::try_from(v.clone()).expect("spec JSON is valid Extended JSON")
}

fn as_doc(v: &Value) -> Document {
    match bson(v) {
        Bson::Document(d) => d,
        other => panic!("expected a document, got {other}"),
    }
}

/// Why a test cannot run here, if it cannot.
fn unsupported(test: &Value) -> Option<String> {
    for op in test["operations"].as_array().into_iter().flatten() {
        let name = op["name"].as_str().unwrap_or_default();
        if !matches!(
            name,
            "find"
                | "findOne"
                | "count"
                | "countDocuments"
                | "estimatedDocumentCount"
                | "deleteOne"
                | "deleteMany"
                | "findOneAndDelete"
                | "insertOne"
                | "insertMany"
        ) {
            return Some(format!("operation {name}"));
        }
        if op.get("expectError").is_some() {
            return Some("expects a server error".into());
        }
        if let Some(args) = op["arguments"].as_object()
            && let Some(k) = args.keys().find(|k| !SUPPORTED_ARGS.contains(&k.as_str()))
        {
            return Some(format!("argument {k}"));
        }
        if op.get("expectResult").is_some_and(has_matching_operator) {
            return Some("$$ matching operator".into());
        }
    }
    None
}

fn has_matching_operator(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.iter().any(|(k, v)| {
            (k.starts_with("$$") && k != "$$unsetOrMatches") || has_matching_operator(v)
        }),
        Value::Array(a) => a.iter().any(has_matching_operator),
        _ => false,
    }
}

/// Expected-vs-actual under the unified format's rules: numbers by value; a *root-level*
/// document (an operation's result document, or each document of a result array) may have
/// extra fields in the actual value, nested documents may not.
fn same(expected: &Bson, actual: &Bson, root: bool) -> bool {
    match (expected, actual) {
        (Bson::Document(e), _) if e.len() == 1 && e.contains_key("$$unsetOrMatches") => same(
            e.get("$$unsetOrMatches").unwrap_or(&Bson::Null),
            actual,
            root,
        ),
        (Bson::Document(e), Bson::Document(a)) if root => e
            .iter()
            .all(|(k, ve)| a.get(k).is_some_and(|va| same(ve, va, false))),
        (Bson::Document(e), Bson::Document(a)) => {
            e.len() == a.len()
                && e.iter()
                    .zip(a.iter())
                    .all(|((ke, ve), (ka, va))| ke == ka && same(ve, va, false))
        }
        (Bson::Array(e), Bson::Array(a)) => {
            e.len() == a.len() && e.iter().zip(a).all(|(x, y)| same(x, y, root))
        }
        _ => values_equal(expected, actual),
    }
}

struct Query {
    filter: Filter,
    sort: Option<SortSpec>,
    skip: usize,
    limit: usize,
    projection: Option<Projection>,
}

fn query(args: &Value) -> Query {
    let filter = Filter::parse(&args.get("filter").map(as_doc).unwrap_or_default())
        .expect("spec filters are valid");
    let sort = args
        .get("sort")
        .map(|s| SortSpec::parse(&as_doc(s)).expect("valid sort"));
    let projection = args
        .get("projection")
        .map(|p| Projection::parse(&as_doc(p)).expect("valid projection"));
    let num = |k: &str| args.get(k).and_then(Value::as_i64).unwrap_or(0);
    Query {
        filter,
        sort,
        skip: usize::try_from(num("skip")).unwrap_or(0),
        limit: usize::try_from(num("limit").unsigned_abs()).unwrap_or(0),
        projection,
    }
}

/// Positions (in natural order) of the documents the query selects, in result order.
fn select(q: &Query, docs: &[Document]) -> Vec<usize> {
    let mut hits: Vec<usize> = (0..docs.len())
        .filter(|&i| q.filter.matches(&docs[i]))
        .collect();
    if let Some(s) = &q.sort {
        hits.sort_by(|&a, &b| s.compare(&docs[a], &docs[b]));
    }
    let hits = hits.into_iter().skip(q.skip);
    if q.limit > 0 {
        hits.take(q.limit).collect()
    } else {
        hits.collect()
    }
}

fn shape(q: &Query, d: &Document) -> Bson {
    let details = q.filter.matches_with_details(d);
    match &q.projection {
        Some(p) => Bson::Document(p.apply(d, details.as_ref()).expect("projection applies")),
        None => Bson::Document(d.clone()),
    }
}

fn run_op(op: &Value, coll: &mut Vec<Document>) -> Result<Option<Bson>, String> {
    let args = &op["arguments"];
    let name = op["name"].as_str().unwrap_or_default();
    let result = match name {
        "find" => {
            let q = query(args);
            let out = select(&q, coll)
                .into_iter()
                .map(|i| shape(&q, &coll[i]))
                .collect();
            Some(Bson::Array(out))
        }
        "findOne" => {
            let mut q = query(args);
            q.limit = 1;
            let out = select(&q, coll).first().map(|&i| shape(&q, &coll[i]));
            Some(out.unwrap_or(Bson::Null))
        }
        "count" | "countDocuments" => {
            let q = query(args);
            Some(Bson::Int64(
                i64::try_from(select(&q, coll).len()).unwrap_or(i64::MAX),
            ))
        }
        "estimatedDocumentCount" => Some(Bson::Int64(i64::try_from(coll.len()).unwrap_or(0))),
        "deleteOne" | "deleteMany" => {
            let mut q = query(args);
            if name == "deleteOne" {
                q.limit = 1;
            }
            let mut gone = select(&q, coll);
            gone.sort_unstable();
            for &i in gone.iter().rev() {
                coll.remove(i);
            }
            let mut r = Document::new();
            r.insert(
                "deletedCount",
                Bson::Int64(i64::try_from(gone.len()).unwrap_or(0)),
            );
            Some(Bson::Document(r))
        }
        "findOneAndDelete" => {
            let mut q = query(args);
            q.limit = 1;
            match select(&q, coll).first() {
                Some(&i) => {
                    let out = shape(&q, &coll[i]);
                    coll.remove(i);
                    Some(out)
                }
                None => Some(Bson::Null),
            }
        }
        "insertOne" => {
            coll.push(as_doc(&args["document"]));
            None
        }
        "insertMany" => {
            for d in args["documents"].as_array().into_iter().flatten() {
                coll.push(as_doc(d));
            }
            None
        }
        other => return Err(format!("operation {other}")),
    };
    Ok(result)
}

#[test]
fn crud_unified_read_and_delete_operations() {
    let Some(dir) = spec_dir() else {
        eprintln!("skipped: crud-unified spec files not found (set STRATUS_CONFORMANCE_DIR)");
        return;
    };
    let (mut passed, mut skipped, mut failed) = (0, Vec::new(), Vec::new());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("spec directory is readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    for path in &files {
        let file = path.file_stem().and_then(|s| s.to_str()).unwrap_or("?");
        let text = std::fs::read_to_string(path).expect("spec file is readable");
        let spec: Value = serde_json::from_str(&text).expect("spec is JSON");
        let mut entity_to_coll = HashMap::new();
        let mut unacknowledged = Vec::new();
        for e in spec["createEntities"].as_array().into_iter().flatten() {
            if let Some(c) = e.get("collection") {
                if c["collectionOptions"]["writeConcern"]["w"] == 0 {
                    unacknowledged.push(c["id"].as_str().unwrap_or_default().to_string());
                }
                entity_to_coll.insert(
                    c["id"].as_str().unwrap_or_default().to_string(),
                    c["collectionName"].as_str().unwrap_or_default().to_string(),
                );
            }
        }
        for test in spec["tests"].as_array().into_iter().flatten() {
            let desc = format!("{file}: {}", test["description"].as_str().unwrap_or("?"));
            let uses_unacknowledged = test["operations"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|op| unacknowledged.iter().any(|u| op["object"] == u.as_str()));
            let why = if uses_unacknowledged {
                Some("unacknowledged writes".to_string())
            } else {
                unsupported(test)
            };
            if let Some(why) = why {
                skipped.push(format!("{desc} ({why})"));
                continue;
            }
            let mut colls: HashMap<String, Vec<Document>> = HashMap::new();
            for init in spec["initialData"].as_array().into_iter().flatten() {
                let docs = init["documents"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(as_doc)
                    .collect();
                colls.insert(
                    init["collectionName"].as_str().unwrap_or_default().into(),
                    docs,
                );
            }
            let mut ok = true;
            for op in test["operations"].as_array().into_iter().flatten() {
                let object = op["object"].as_str().unwrap_or_default();
                let coll_name = entity_to_coll.get(object).cloned().unwrap_or_default();
                let coll = colls.entry(coll_name).or_default();
                match run_op(op, coll) {
                    Ok(Some(actual)) => {
                        if let Some(expected) = op.get("expectResult") {
                            let expected = bson(expected);
                            if !same(&expected, &actual, true) {
                                failed.push(format!("{desc}: expected {expected}, got {actual}"));
                                ok = false;
                            }
                        }
                    }
                    Ok(None) => {}
                    Err(why) => {
                        failed.push(format!("{desc}: {why}"));
                        ok = false;
                    }
                }
            }
            for outcome in test["outcome"].as_array().into_iter().flatten() {
                let name = outcome["collectionName"].as_str().unwrap_or_default();
                let want = bson(&outcome["documents"]);
                let got = Bson::Array(
                    colls
                        .get(name)
                        .cloned()
                        .unwrap_or_default()
                        .into_iter()
                        .map(Bson::Document)
                        .collect(),
                );
                if !same(&want, &got, false) {
                    failed.push(format!("{desc}: outcome expected {want}, got {got}"));
                    ok = false;
                }
            }
            if ok {
                passed += 1;
            }
        }
    }
    println!("crud-unified: {passed} passed, {} skipped", skipped.len());
    let mut reasons: HashMap<String, usize> = HashMap::new();
    for s in &skipped {
        let why = s
            .rsplit_once(" (")
            .map_or(s.as_str(), |(_, w)| w.trim_end_matches(')'));
        *reasons.entry(why.to_string()).or_default() += 1;
    }
    let mut reasons: Vec<_> = reasons.into_iter().collect();
    reasons.sort_by_key(|r| std::cmp::Reverse(r.1));
    for (why, n) in reasons {
        println!("  skipped {n}: {why}");
    }
    assert!(
        failed.is_empty(),
        "{} failures:\n{}",
        failed.len(),
        failed.join("\n")
    );
    assert!(passed > 10, "too few spec tests ran ({passed})");
}
