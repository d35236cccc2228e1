//! A 20-node flow with no I/O (variables, conditions, a loop, JSON building) against the same
//! logic written by hand in Rust, in the same run.
//!
//! Run: `cargo bench -p stratus-flow --bench flow_run`

use std::hint::black_box;

use bson::{Bson, Document, doc};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use stratus_flow::{RequestData, RunInput, Services};

fn flow() -> serde_json::Value {
    json!([
        {"type": "setVariable", "variable": "price", "value": "$.request.body.price"},
        {"type": "setVariable", "variable": "qty", "value": "$.request.body.qty"},
        {"type": "complexMathExpr", "variable": "subtotal", "value": {"$multiply": ["$.variables.price", "$.variables.qty"]}},
        {"type": "setVariable", "variable": "tags", "value": []},
        {"type": "setVariable", "variable": "sum", "value": 0},
        {"type": "forLoop", "name": "each", "items": "$.request.body.items", "as": "it", "steps": [
            {"type": "addVariable", "variable": "sum", "value": "$.variables.it.n"},
            {"type": "ifElse", "name": "isBig", "condition": {"$.variables.it.n": {"$gt": 2}},
             "then": [{"type": "appendArray", "variable": "tags", "value": "$.variables.it.tag"}]}]},
        {"type": "ifElse", "name": "big", "condition": {"$and": [{"$.variables.subtotal": {"$gt": 100}}, {"$.request.body.member": {"$eq": true}}]},
         "then": [{"type": "setVariable", "variable": "discount", "value": 0.1}],
         "else": [{"type": "setVariable", "variable": "discount", "value": 0}]},
        {"type": "complexMathExpr", "variable": "total", "value": {"$multiply": ["$.variables.subtotal", {"$subtract": [1, "$.variables.discount"]}]}},
        {"type": "toUpper", "name": "upper", "value": "$.request.body.name", "variable": "name"},
        {"type": "arrayLength", "name": "ntags", "array": "$.variables.tags"},
        {"type": "incrementVariable", "variable": "sum"},
        {"type": "existsCheck", "name": "hasName", "value": "$.request.body.name"},
        {"type": "concatStrings", "name": "greet", "values": ["Hello ", "$.variables.name"]},
        {"type": "buildJsonObject", "variable": "summary", "value": {"name": "$.variables.name", "total": "$.variables.total", "tags": "$.variables.tags", "count": "$.ntags.result", "sum": "$.variables.sum", "named": "$.hasName.result", "greeting": "$.greet.result"}},
        {"type": "httpResponse", "status": 200, "body": "$.variables.summary"}
    ])
}

fn input() -> RunInput {
    RunInput {
        request: RequestData {
            method: "POST".into(),
            path: "/order".into(),
            body: Bson::Document(doc! {"price": 25, "qty": 6, "member": true, "name": "ada",
            "items": [{"n": 1, "tag": "a"}, {"n": 3, "tag": "b"}, {"n": 5, "tag": "c"}, {"n": 2, "tag": "d"}]}),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// The same logic by hand, on the same BSON values.
fn by_hand(body: &Document) -> Document {
    let price = body.get_i32("price").unwrap_or(0) as i64;
    let qty = body.get_i32("qty").unwrap_or(0) as i64;
    let subtotal = price * qty;
    let mut tags = Vec::new();
    let mut sum = 0i64;
    if let Ok(items) = body.get_array("items") {
        for it in items {
            if let Bson::Document(d) = it {
                let n = d.get_i32("n").unwrap_or(0) as i64;
                sum += n;
                if n > 2 {
                    tags.push(d.get("tag").cloned().unwrap_or(Bson::Null));
                }
            }
        }
    }
    let discount = if subtotal > 100 && body.get_bool("member").unwrap_or(false) {
        0.1
    } else {
        0.0
    };
    let total = subtotal as f64 * (1.0 - discount);
    let name = body.get_str("name").unwrap_or("").to_uppercase();
    let count = tags.len() as i64;
    let sum = i32::try_from(sum + 1).unwrap_or(i32::MAX);
    let named = body.get("name").is_some_and(|v| !matches!(v, Bson::Null));
    let greeting = format!("Hello {name}");
    doc! {"name": name, "total": total, "tags": tags, "count": count, "sum": sum, "named": named, "greeting": greeting}
}

fn bench(c: &mut Criterion) {
    let f = stratus_flow::compile(&flow(), &stratus_flow::spec::NoSubflows).expect("compiles");
    assert_eq!(f.node_count(), 20, "the benchmark flow has 20 nodes");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let services = Services::new().expect("services");
    let inp = input();
    let r = rt
        .block_on(stratus_flow::run(&f, inp.clone(), &services))
        .result
        .expect("runs");
    let Bson::Document(body) = &inp.request.body else {
        unreachable!("document body")
    };
    assert_eq!(
        r.body,
        Bson::Document(by_hand(body)),
        "flow and hand-written code agree"
    );
    let mut g = c.benchmark_group("flow_20_nodes");
    g.bench_function("flow", |b| {
        b.iter(|| rt.block_on(stratus_flow::run(&f, black_box(inp.clone()), &services)))
    });
    g.bench_function("hand_written", |b| {
        b.iter(|| {
            let i = black_box(inp.clone());
            let Bson::Document(body) = &i.request.body else {
                unreachable!("document body")
            };
            by_hand(body)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
