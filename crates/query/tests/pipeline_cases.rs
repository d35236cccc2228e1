//! Data-driven aggregation pipeline tests: `pipeline_data/stages.json` (input documents,
//! other collections, pipeline, expected output and expected collection contents) and
//! `pipeline_data/errors.json` (pipelines that must fail with a given MongoDB error code,
//! at parse or run time, leaving written collections unchanged).

use std::cmp::Ordering;

use bson::{Bson, Document};
use serde_json::Value;
use stratus_query::compare::{compare, values_equal};
use stratus_query::pipeline::{MemoryCollections, Pipeline, PipelineOptions};

const DB: &str = "db";

fn to_bson(v: &Value) -> Bson {
    Bson::try_from(v.clone()).expect("test data is valid Extended JSON")
}

fn docs(v: Option<&Value>) -> Vec<Document> {
    match v.map(to_bson) {
        None => Vec::new(),
        Some(Bson::Array(items)) => items
            .into_iter()
            .map(|i| match i {
                Bson::Document(d) => d,
                other => panic!("not a document: {other}"),
            })
            .collect(),
        Some(other) => panic!("not an array: {other}"),
    }
}

fn stages(v: &Value) -> Vec<Bson> {
    match to_bson(v) {
        Bson::Array(items) => items,
        other => panic!("pipeline is not an array: {other}"),
    }
}

fn env_with(case: &Value) -> MemoryCollections {
    let env = MemoryCollections::new();
    if let Some(Value::Object(colls)) = case.get("colls") {
        for (name, v) in colls {
            env.insert_collection(DB, name, docs(Some(v)));
        }
    }
    env
}

fn opts(case: &Value) -> PipelineOptions {
    let mut o = PipelineOptions {
        default_db: DB.to_string(),
        seed: Some(7),
        ..PipelineOptions::default()
    };
    if let Some(Bson::Document(d)) = case.get("let").map(to_bson) {
        o.let_vars = d;
    }
    o
}

fn by_id(a: &Document, b: &Document) -> Ordering {
    compare(
        a.get("_id").unwrap_or(&Bson::Null),
        b.get("_id").unwrap_or(&Bson::Null),
    )
}

/// Equal as MongoDB compares (numeric types unified), or exactly when `exact`.
fn same(actual: &[Document], expected: &[Document], exact: bool) -> bool {
    if exact {
        return actual == expected;
    }
    let a = Bson::Array(actual.iter().cloned().map(Bson::Document).collect());
    let e = Bson::Array(expected.iter().cloned().map(Bson::Document).collect());
    values_equal(&a, &e)
}

fn show(d: &[Document]) -> String {
    Bson::Array(d.iter().cloned().map(Bson::Document).collect())
        .into_relaxed_extjson()
        .to_string()
}

fn load(name: &str) -> Vec<Value> {
    let path = format!("{}/tests/pipeline_data/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("test data file exists");
    match serde_json::from_str(&text).expect("test data is JSON") {
        Value::Array(cases) => cases,
        _ => panic!("{path}: not an array"),
    }
}

#[test]
fn stage_cases() {
    let cases = load("stages.json");
    let mut failures = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap_or("?");
        let env = env_with(case);
        let result = Pipeline::parse(&stages(&case["pipeline"]), &opts(case))
            .and_then(|p| p.run(docs(case.get("input")).into_iter(), &env, DB));
        let mut actual = match result {
            Ok(a) => a,
            Err(e) => {
                failures.push(format!("{name}: error {} {}", e.code.code(), e.message));
                continue;
            }
        };
        let mut expected = docs(case.get("expected"));
        if case.get("unordered").and_then(Value::as_bool) == Some(true) {
            actual.sort_by(by_id);
            expected.sort_by(by_id);
        }
        let exact = case.get("exact_types").and_then(Value::as_bool) == Some(true);
        if !same(&actual, &expected, exact) {
            failures.push(format!(
                "{name}:\n   got      {}\n   expected {}",
                show(&actual),
                show(&expected)
            ));
        }
        if let Some(Value::Object(colls)) = case.get("expect_colls") {
            for (coll, v) in colls {
                let got = env.documents(DB, coll);
                let want = docs(Some(v));
                if !same(&got, &want, false) {
                    failures.push(format!(
                        "{name}: collection {coll}:\n   got      {}\n   expected {}",
                        show(&got),
                        show(&want)
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    println!("{} stage cases passed", cases.len());
}

#[test]
fn error_cases() {
    let cases = load("errors.json");
    let mut failures = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap_or("?");
        let want = case["code"].as_i64().unwrap_or(0);
        let env = env_with(case);
        let before = case
            .get("unchanged")
            .and_then(Value::as_str)
            .map(|c| (c, env.documents(DB, c)));
        let result = Pipeline::parse(&stages(&case["pipeline"]), &opts(case))
            .and_then(|p| p.run(docs(case.get("input")).into_iter(), &env, DB));
        match result {
            Ok(out) => failures.push(format!("{name}: expected code {want}, got {}", show(&out))),
            Err(e) => {
                if i64::from(e.code.code()) != want {
                    failures.push(format!(
                        "{name}: expected code {want}, got {} ({})",
                        e.code.code(),
                        e.message
                    ));
                }
                if let Some(m) = case.get("message").and_then(Value::as_str)
                    && !e.message.contains(m)
                {
                    failures.push(format!("{name}: message {:?} lacks {m:?}", e.message));
                }
            }
        }
        if let Some((coll, docs_before)) = before
            && env.documents(DB, coll) != docs_before
        {
            failures.push(format!("{name}: collection {coll} was modified"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    println!("{} error cases passed", cases.len());
}
