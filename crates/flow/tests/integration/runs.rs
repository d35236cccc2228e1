//! Runs that golden files cannot express: secret redaction in the trace, the wall-clock
//! budget, the trace shape, static analysis.

use serde_json::json;
use stratus_flow::spec::NoSubflows;
use stratus_flow::{Budgets, RunInput, Services, available_paths};

#[tokio::test]
async fn secrets_never_reach_the_trace() {
    let flow = json!([
        {"type": "concatStrings", "name": "hdr", "values": ["Bearer ", "$.secrets.stripe.key"]},
        {"type": "debug", "label": "token sk_live_abc", "value": {"h": "$.hdr.result", "raw": "$.secrets.stripe.key", "n": "$.secrets.stripe.pin"}},
        {"type": "toUpper", "name": "boom", "value": "$.secrets.stripe.pin"},
        {"type": "httpResponse"}]);
    let f = stratus_flow::compile(&flow, &NoSubflows).expect("compiles");
    let input = RunInput {
        secrets: bson::doc! {"stripe": {"key": "sk_live_abc", "pin": 4321}},
        ..Default::default()
    };
    let out = stratus_flow::run(&f, input, &Services::new().expect("services")).await;
    let e = out.result.expect_err("toUpper of a number fails");
    let text = serde_json::to_string(&out.trace).expect("json");
    assert!(
        !text.contains("sk_live_abc") && !text.contains("4321"),
        "{text}"
    );
    assert!(text.contains("Bearer [REDACTED]"), "{text}");
    assert!(!e.message.contains("sk_live_abc"));
    assert_eq!(out.trace.entries.len(), 3);
    assert_eq!(&*out.trace.entries[2].name, "boom");
    assert!(out.trace.entries[2].error.is_some());
    assert_eq!(out.trace.node_executions, 3);
}

#[tokio::test]
async fn wall_clock_budget_stops_a_cpu_bound_loop() {
    let flow = json!([
        {"type": "setVariable", "variable": "i", "value": 0},
        {"type": "whileLoop", "condition": true, "maxIterations": 4000000000_u64, "steps": [{"type": "incrementVariable", "variable": "i"}]},
        {"type": "httpResponse"}]);
    let f = stratus_flow::compile(&flow, &NoSubflows).expect("compiles");
    let budgets = Budgets {
        timeout: std::time::Duration::from_millis(100),
        max_loop_iterations: u64::MAX,
        max_node_executions: u64::MAX,
        ..Budgets::default()
    };
    let s = Services::new().expect("services").with_budgets(budgets);
    let t0 = std::time::Instant::now();
    let out = stratus_flow::run(&f, RunInput::default(), &s).await;
    assert_eq!(
        out.result.expect_err("times out").code.name(),
        "flow_timeout"
    );
    assert!(t0.elapsed() < std::time::Duration::from_secs(5));
    assert!(out.trace.dropped > 0, "trace is bounded");
}

#[test]
fn available_paths_follow_the_flow() {
    let flow = json!([
        {"type": "setVariable", "variable": "total", "value": 1},
        {"type": "findMany", "name": "found", "collection": "c"},
        {"type": "ifElse", "name": "big", "condition": {"$.variables.total": {"$gt": 1}},
         "then": [{"type": "setVariable", "variable": "inner", "value": 1}, {"type": "httpResponse"}],
         "else": [{"type": "httpResponse"}]}]);
    let at_start = available_paths(&flow, "[0]");
    assert!(at_start.contains(&"$.request.body".to_string()));
    assert!(!at_start.iter().any(|p| p.starts_with("$.variables.")));
    let at_if = available_paths(&flow, "[2]");
    assert!(at_if.contains(&"$.variables.total".to_string()));
    assert!(at_if.contains(&"$.found.result".to_string()));
    assert!(!at_if.contains(&"$.big.condition".to_string()));
    let inside = available_paths(&flow, "[2].then[1]");
    assert!(inside.contains(&"$.big.condition".to_string()));
    assert!(inside.contains(&"$.variables.inner".to_string()));
    let in_else = available_paths(&flow, "[2].else[0]");
    assert!(!in_else.contains(&"$.variables.inner".to_string()));
    let appended = available_paths(&flow, "[2].then[2]");
    assert!(appended.contains(&"$.variables.inner".to_string()));
    assert!(available_paths(&flow, "[9]").is_empty());
}

#[test]
fn every_contract_node_type_is_catalogued() {
    let contract = [
        "httpResponse",
        "ifElse",
        "ifElseV2",
        "switchCase",
        "forLoop",
        "whileLoop",
        "pbkdf2HmacHash",
        "debug",
        "insertOne",
        "insertMany",
        "fetchById",
        "findOne",
        "findMany",
        "listRecords",
        "aggregate",
        "updateOne",
        "updateById",
        "updateMany",
        "deleteOne",
        "deleteMany",
        "apiCall",
        "executeSubflow",
        "fireEvent",
        "sendEmail",
        "sendSms",
        "getPresignedUrl",
        "postPresignedUrl",
        "deleteStorageObjects",
        "setVariable",
        "existsCheck",
        "buildMap",
        "buildJsonObject",
        "mergeJsonObjects",
        "objectToString",
        "updateJsonObject",
        "appendArray",
        "arrayContains",
        "arrayIsEmpty",
        "extendArray",
        "getArrayItem",
        "arrayLength",
        "reverseArray",
        "sortArray",
        "setCurrentDatetime",
        "appendString",
        "concatStrings",
        "toString",
        "stringLength",
        "sliceString",
        "splitString",
        "stringOperation",
        "toLower",
        "toUpper",
        "trimString",
        "addVariable",
        "subtractVariable",
        "multiplyVariable",
        "divideVariable",
        "incrementVariable",
        "decrementVariable",
        "complexMathExpr",
    ];
    let types: Vec<(&str, bool)> = stratus_flow::node_types().collect();
    assert_eq!(types.len(), contract.len());
    let unavailable = [
        "fireEvent",
        "sendEmail",
        "sendSms",
        "getPresignedUrl",
        "postPresignedUrl",
        "deleteStorageObjects",
    ];
    for t in contract {
        let (_, available) = types
            .iter()
            .find(|(n, _)| *n == t)
            .unwrap_or_else(|| panic!("{t} missing"));
        assert_eq!(*available, !unavailable.contains(&t), "{t}");
    }
}
