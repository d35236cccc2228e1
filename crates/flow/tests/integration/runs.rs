//! Runs that golden files cannot express: secret redaction in the trace, the wall-clock
//! budget, the trace shape, static analysis.

use serde_json::{Value, json};
use stratus_flow::spec::NoSubflows;
use stratus_flow::trace::TraceEntry;
use stratus_flow::{Budgets, RunInput, Services, available_paths};

use crate::common;

/// Checks that every node's duration covers the nodes nested in it: the entries of a node's
/// children follow it with a larger depth in a branch or loop, so the test flows below list
/// which entries are nested in which (`parent` index per entry).
fn check_nesting(entries: &[TraceEntry], parent: &[Option<usize>], total_us: u64) {
    assert_eq!(entries.len(), parent.len(), "{entries:?}");
    let mut nested = vec![0u64; entries.len()];
    let mut top = 0u64;
    for (i, p) in parent.iter().enumerate() {
        match p {
            Some(p) => nested[*p] += entries[i].duration_us,
            None => top += entries[i].duration_us,
        }
    }
    for (i, e) in entries.iter().enumerate() {
        assert!(
            e.duration_us >= nested[i],
            "{} lasted {} µs, less than its nested nodes' {} µs",
            e.name,
            e.duration_us,
            nested[i]
        );
    }
    assert!(total_us >= top, "run {total_us} µs < its nodes' {top} µs");
}

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

/// `body` as it runs on the synchronous path (no I/O) or, with `with_io`, behind a leading
/// `findMany` that sends it down the asynchronous path, with the services each needs.
fn on_path(body: &Value, with_io: bool, db_services: &Services) -> (Value, Services) {
    let mut flow = body.clone();
    if !with_io {
        return (flow, Services::new().expect("services"));
    }
    flow.as_array_mut().expect("array").insert(
        0,
        json!({"type": "findMany", "name": "q", "collection": "c"}),
    );
    (flow, db_services.clone())
}

/// The trace has one entry per node execution, in start order, with name, type, depth and a
/// duration covering the nested nodes — on the synchronous path (no awaiting node) and on the
/// asynchronous one (a database call first), and in a sub-flow.
#[tokio::test]
async fn trace_records_every_execution_in_order() {
    let body = json!([
        {"type": "setVariable", "name": "a", "variable": "x", "value": 0},
        {"type": "forLoop", "name": "each", "items": [1, 2], "steps": [
            {"type": "whileLoop", "name": "spin", "condition": {"$.variables.x": {"$lt": 300}}, "maxIterations": 100000,
             "steps": [{"type": "incrementVariable", "name": "inc", "variable": "x"}]},
            {"type": "ifElse", "name": "odd", "condition": {"$.variables.item": {"$eq": 1}},
             "then": [{"type": "debug", "name": "dbg", "label": "l", "value": {"item": "$.variables.item"}}]}]},
        {"type": "httpResponse", "name": "resp", "body": "$.variables.x"}]);
    let (db_services, _db) = common::services(&json!({"seed": {"c": []}}));
    for with_io in [false, true] {
        let (flow, services) = on_path(&body, with_io, &db_services);
        let f = stratus_flow::compile(&flow, &NoSubflows).expect("compiles");
        let out = stratus_flow::run(&f, RunInput::default(), &services).await;
        let r = out.result.expect("runs");
        assert_eq!(r.body, bson::Bson::Int32(300));
        let e = &out.trace.entries;
        let names: Vec<(&str, &str)> = e.iter().map(|e| (&*e.name, e.kind)).collect();
        let mut want = Vec::new();
        if with_io {
            want.push(("q", "findMany"));
        }
        want.extend([
            ("a", "setVariable"),
            ("each", "forLoop"),
            ("spin", "whileLoop"),
        ]);
        want.extend(std::iter::repeat_n(("inc", "incrementVariable"), 300));
        want.extend([
            ("odd", "ifElse"),
            ("dbg", "debug"),
            ("spin", "whileLoop"),
            ("odd", "ifElse"),
            ("resp", "httpResponse"),
        ]);
        assert_eq!(names, want, "with_io={with_io}");
        assert_eq!(out.trace.dropped, 0);
        assert_eq!(out.trace.node_executions as usize, want.len());
        assert!(e.iter().all(|e| e.depth == 0 && e.error.is_none()));
        let dbg = e.iter().find(|e| e.kind == "debug").expect("debug entry");
        assert_eq!(dbg.value, Some(json!({"item": 1})));
        let base = usize::from(with_io);
        let each = base + 1;
        let spin = base + 2;
        let odd = base + 303;
        let mut parent: Vec<Option<usize>> = vec![None; base + 2];
        parent.push(Some(each));
        parent.extend(std::iter::repeat_n(Some(spin), 300));
        parent.extend([Some(each), Some(odd), Some(each), Some(each), None]);
        check_nesting(e, &parent, out.trace.duration_us);
    }
}

/// Debug values, labels and errors of nodes nested in branches and loops, on both paths.
#[tokio::test]
async fn nested_debug_values_and_errors_are_traced() {
    let body = json!([
        {"type": "forLoop", "name": "each", "items": [1, 2], "steps": [
            {"type": "ifElse", "name": "odd", "condition": {"$.variables.item": {"$eq": 1}},
             "then": [{"type": "debug", "name": "dbg", "label": "first", "value": {"item": "$.variables.item", "s": "$.secrets.k.v"}}],
             "else": [{"type": "toUpper", "name": "boom", "value": "$.variables.item"}]}]},
        {"type": "httpResponse", "name": "resp"}]);
    let (db_services, _db) = common::services(&json!({"seed": {"c": []}}));
    for with_io in [false, true] {
        let (flow, services) = on_path(&body, with_io, &db_services);
        let f = stratus_flow::compile(&flow, &NoSubflows).expect("compiles");
        let input = RunInput {
            secrets: bson::doc! {"k": {"v": "hush"}},
            ..Default::default()
        };
        let out = stratus_flow::run(&f, input, &services).await;
        let err = out.result.expect_err("toUpper of a number fails");
        assert_eq!(err.node.as_deref(), Some("boom"));
        assert_eq!(err.code.name(), "node_failed");
        let e = &out.trace.entries;
        let names: Vec<&str> = e.iter().map(|e| &*e.name).collect();
        let mut want = if with_io { vec!["q"] } else { vec![] };
        want.extend(["each", "odd", "dbg", "odd", "boom"]);
        assert_eq!(names, want);
        let dbg = e.iter().find(|e| e.kind == "debug").expect("debug entry");
        assert_eq!(dbg.label.as_deref(), Some("first"));
        assert_eq!(dbg.value, Some(json!({"item": 1, "s": "[REDACTED]"})));
        let boom = e.last().expect("entries");
        assert!(
            boom.error
                .as_deref()
                .is_some_and(|m| m.contains("must be a string")),
            "{boom:?}"
        );
        // Only the failing node records the error, not the loop and branch around it.
        assert!(e.iter().filter(|e| e.error.is_some()).count() == 1, "{e:?}");
        let base = usize::from(with_io);
        let parent = [
            None,
            None,
            Some(base),
            Some(base + 1),
            Some(base),
            Some(base + 3),
        ];
        check_nesting(e, &parent[1 - base..], out.trace.duration_us);
    }
}

/// Sub-flow nodes are traced with depth 1, inside the calling node's duration.
#[tokio::test]
async fn subflow_nodes_are_traced_at_depth_one() {
    let case = json!({"subflows": [{"name": "s", "arguments": [], "flow": [
        {"type": "setVariable", "name": "in1", "variable": "v", "value": 1},
        {"type": "httpResponse", "name": "in2", "body": "$.variables.v"}]}]});
    let (services, _db) = common::services(&case);
    let flow = json!([
        {"type": "executeSubflow", "name": "call", "subflow": "s"},
        {"type": "httpResponse", "name": "resp", "body": "$.call.result"}]);
    let specs: Vec<stratus_flow::SubflowSpec> =
        serde_json::from_value(case["subflows"].clone()).expect("specs");
    let f = stratus_flow::compile(&flow, &specs).expect("compiles");
    let out = stratus_flow::run(&f, RunInput::default(), &services).await;
    assert_eq!(out.result.expect("runs").body, bson::Bson::Int32(1));
    let got: Vec<(&str, usize)> = out
        .trace
        .entries
        .iter()
        .map(|e| (&*e.name, e.depth))
        .collect();
    assert_eq!(got, [("call", 0), ("in1", 1), ("in2", 1), ("resp", 0)]);
    check_nesting(
        &out.trace.entries,
        &[None, Some(0), Some(0), None],
        out.trace.duration_us,
    );
}

/// A database whose `insert_one_async` resolves only when the test releases it: the flow's
/// `insertOne` must go through it (not the blocking call), and the run must wait for it.
#[tokio::test]
async fn insert_one_uses_the_non_blocking_write_when_offered() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use stratus_flow::Database;
    use stratus_flow::services::{FindQuery, ServiceError, UpdateOutcome, UpdateSpec, WriteFuture};

    #[derive(Default)]
    struct Gated {
        inner: common::MemDb,
        async_calls: AtomicUsize,
        release: Arc<tokio::sync::Notify>,
    }
    impl Database for Gated {
        fn insert_one(&self, _c: &str, _d: bson::Document) -> Result<bson::Bson, ServiceError> {
            Err(ServiceError::new(
                stratus_flow::services::ServiceErrorKind::Internal,
                "the blocking insert must not be used when the async one is offered",
            ))
        }
        fn insert_one_async(
            &self,
            collection: &str,
            doc: bson::Document,
        ) -> Result<WriteFuture<bson::Bson>, bson::Document> {
            self.async_calls.fetch_add(1, Ordering::SeqCst);
            let r = self.inner.insert_one(collection, doc);
            let release = self.release.clone();
            Ok(Box::pin(async move {
                release.notified().await;
                r
            }))
        }
        fn insert_many(
            &self,
            c: &str,
            d: Vec<bson::Document>,
        ) -> Result<Vec<bson::Bson>, ServiceError> {
            self.inner.insert_many(c, d)
        }
        fn find(&self, c: &str, q: &FindQuery) -> Result<Vec<bson::Document>, ServiceError> {
            self.inner.find(c, q)
        }
        fn count(&self, c: &str, f: &bson::Document) -> Result<u64, ServiceError> {
            self.inner.count(c, f)
        }
        fn aggregate(
            &self,
            c: &str,
            p: &[bson::Document],
        ) -> Result<Vec<bson::Document>, ServiceError> {
            self.inner.aggregate(c, p)
        }
        fn update(
            &self,
            c: &str,
            f: &bson::Document,
            u: &UpdateSpec,
            multi: bool,
            upsert: bool,
        ) -> Result<UpdateOutcome, ServiceError> {
            self.inner.update(c, f, u, multi, upsert)
        }
        fn delete(&self, c: &str, f: &bson::Document, multi: bool) -> Result<u64, ServiceError> {
            self.inner.delete(c, f, multi)
        }
    }

    let db = Arc::new(Gated::default());
    let flow = json!([
        {"type": "insertOne", "name": "ins", "collection": "things", "document": {"_id": 7, "a": 1}},
        {"type": "httpResponse", "status": 201, "body": {"id": "$.ins.result"}}
    ]);
    let f = stratus_flow::compile(&flow, &NoSubflows).expect("compiles");
    let services = Services::new().expect("services").with_db(db.clone());
    let run =
        tokio::spawn(async move { stratus_flow::run(&f, RunInput::default(), &services).await });
    // The run waits on the write instead of answering.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(
        !run.is_finished(),
        "the flow answered before its write was durable"
    );
    assert_eq!(db.async_calls.load(Ordering::SeqCst), 1);
    db.release.notify_one();
    let out = run.await.expect("joins");
    let resp = out.result.expect("runs");
    assert_eq!(resp.status, 201);
    assert_eq!(resp.body, bson::Bson::Document(bson::doc! {"id": 7}));
    assert_eq!(db.inner.docs("things").len(), 1);
}
