//! Runs every case of `tests/golden/*.json`. A case: `flow`, optional `request`, `secrets`,
//! `tokenData`, `seed` (collection → documents), `subflows`, `budgets`, and `expect`: either
//! `{"status", "body", "headers"?, "db"?, "debug"?}`, `{"error": "<code>"}` or
//! `{"validation": ["<json path>", …]}`. The string `"<any>"` in an expected body matches any
//! value.

use serde_json::Value;

use crate::common;

fn matches(got: &Value, want: &Value) -> bool {
    match (got, want) {
        (_, Value::String(s)) if s == "<any>" => true,
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && b.iter()
                    .all(|(k, w)| a.get(k).is_some_and(|g| matches(g, w)))
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(g, w)| matches(g, w))
        }
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        _ => got == want,
    }
}

async fn run_case(file: &str, case: &Value) -> Result<(), String> {
    let name = case["name"].as_str().unwrap_or("?");
    let ctx = format!("{file} / {name}");
    let specs: Vec<stratus_flow::SubflowSpec> = case["subflows"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| serde_json::from_value(v.clone()).expect("subflow"))
                .collect()
        })
        .unwrap_or_default();
    let expect = &case["expect"];
    let compiled = stratus_flow::compile(&case["flow"], &specs);
    if let Some(paths) = expect["validation"].as_array() {
        let Err(errors) = compiled else {
            return Err(format!("{ctx}: expected validation errors, flow compiled"));
        };
        for p in paths {
            let p = p.as_str().unwrap_or("");
            if !errors.iter().any(|e| e.path == p) {
                return Err(format!("{ctx}: no error at {p:?}; got {errors:?}"));
            }
        }
        if let Some(msg) = expect["message"].as_str()
            && !errors.iter().any(|e| e.message.contains(msg))
        {
            return Err(format!(
                "{ctx}: no error message containing {msg:?}; got {errors:?}"
            ));
        }
        if let Some(n) = expect["count"].as_u64()
            && errors.len() as u64 != n
        {
            return Err(format!("{ctx}: expected {n} errors, got {errors:?}"));
        }
        return Ok(());
    }
    let flow = compiled.map_err(|e| format!("{ctx}: validation failed: {e:?}"))?;
    let (services, db) = common::services(case);
    let out = stratus_flow::run(&flow, common::input(case), &services).await;
    if let Some(code) = expect["error"].as_str() {
        return match out.result {
            Ok(r) => Err(format!(
                "{ctx}: expected error {code}, got {} {}",
                r.status,
                r.json_body()
            )),
            Err(e) if e.code.name() == code => {
                if let Some(m) = expect["message"].as_str()
                    && !e.message.contains(m)
                {
                    return Err(format!("{ctx}: message {:?} lacks {m:?}", e.message));
                }
                if let Some(n) = expect["node"].as_str()
                    && e.node.as_deref() != Some(n)
                {
                    return Err(format!("{ctx}: failing node {:?}, want {n}", e.node));
                }
                Ok(())
            }
            Err(e) => Err(format!("{ctx}: expected error {code}, got {e:?}")),
        };
    }
    let r = out
        .result
        .map_err(|e| format!("{ctx}: run failed: {e:?}"))?;
    let want_status = expect["status"].as_u64().unwrap_or(200);
    if u64::from(r.status) != want_status {
        return Err(format!(
            "{ctx}: status {} want {want_status} (body {})",
            r.status,
            r.json_body()
        ));
    }
    let body = r.json_body();
    if !matches(&body, &expect["body"]) {
        return Err(format!("{ctx}: body {body}\n want {}", expect["body"]));
    }
    if let Some(h) = expect["headers"].as_object() {
        for (k, v) in h {
            if !r
                .headers
                .iter()
                .any(|(hk, hv)| hk == k && Some(hv.as_str()) == v.as_str())
            {
                return Err(format!("{ctx}: header {k} missing; got {:?}", r.headers));
            }
        }
    }
    if let Some(d) = expect["db"].as_object() {
        for (coll, want) in d {
            let docs: Vec<Value> = db
                .docs(coll)
                .into_iter()
                .map(|d| stratus_flow::output::to_json(bson::Bson::Document(d)))
                .collect();
            let got = Value::Array(docs);
            if !matches(&got, want) {
                return Err(format!("{ctx}: collection {coll} is {got}\n want {want}"));
            }
        }
    }
    if let Some(want) = expect["debug"].as_array() {
        let got: Vec<Value> = out
            .trace
            .debug_values()
            .map(|e| e.value.clone().unwrap_or(Value::Null))
            .collect();
        if !matches(&Value::Array(got.clone()), &Value::Array(want.clone())) {
            return Err(format!("{ctx}: debug values {got:?} want {want:?}"));
        }
    }
    Ok(())
}

#[tokio::test]
async fn golden_flows() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("golden dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    files.sort();
    let mut failures = Vec::new();
    let mut count = 0;
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read");
        let cases: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let file = f
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?")
            .to_string();
        for case in cases.as_array().expect("array of cases") {
            count += 1;
            if let Err(e) = run_case(&file, case).await {
                failures.push(e);
            }
        }
    }
    println!("{count} golden cases");
    assert!(
        count >= 50,
        "expected at least 50 golden cases, found {count}"
    );
    assert!(
        failures.is_empty(),
        "{} of {count} golden cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
