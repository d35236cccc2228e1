//! Property tests: parsing, validating and evaluating never panic on arbitrary JSON, and CQL
//! arithmetic agrees with a reference implementation.

use proptest::prelude::*;
use serde_json::{Value, json};
use stratus_flow::spec::NoSubflows;

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|i| json!(i)),
        (-1e6f64..1e6).prop_map(|f| json!(f)),
        prop_oneof![
            Just("$.variables.a".to_string()),
            Just("$.request.body".to_string()),
            Just("$.x.result".to_string()),
            Just("$.".to_string()),
            Just("$".to_string()),
            "[a-z$.]{0,8}".prop_map(|s| s)
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just("type".to_string()),
                        Just("name".to_string()),
                        Just("value".to_string()),
                        Just("variable".to_string()),
                        Just("condition".to_string()),
                        Just("then".to_string()),
                        Just("steps".to_string()),
                        Just("items".to_string()),
                        Just("$add".to_string()),
                        Just("$cond".to_string()),
                        Just("$eq".to_string()),
                        Just("$gt".to_string()),
                        Just("$and".to_string()),
                        Just("$.variables.a".to_string()),
                        Just("$buildMap".to_string()),
                        Just("$addDate".to_string()),
                        Just("$oid".to_string()),
                        Just("$mod".to_string()),
                        Just("$getYear".to_string()),
                        "[a-z]{1,4}".prop_map(|s| s)
                    ],
                    inner
                ),
                0..5
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn arb_node() -> impl Strategy<Value = Value> {
    let kinds = stratus_flow::node_types()
        .map(|(k, _)| k.to_string())
        .collect::<Vec<_>>();
    (prop::sample::select(kinds), arb_json()).prop_map(|(k, v)| {
        let mut m = match v {
            Value::Object(m) => m,
            _ => serde_json::Map::new(),
        };
        m.insert("type".into(), Value::String(k));
        Value::Object(m)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn parse_and_validate_never_panic(flow in prop::collection::vec(arb_node(), 0..5), junk in arb_json()) {
        let _ = stratus_flow::validate(&Value::Array(flow.clone()), &NoSubflows);
        let _ = stratus_flow::validate(&junk, &NoSubflows);
        let _ = stratus_flow::available_paths(&Value::Array(flow), "[1]");
    }

    #[test]
    fn evaluation_never_panics(value in arb_json(), cond in arb_json(), body in arb_json()) {
        let flow = json!([
            {"type": "setVariable", "variable": "a", "value": value},
            {"type": "ifElse", "condition": cond, "then": [{"type": "httpResponse", "body": body}]},
            {"type": "httpResponse", "body": "$.variables.a"}]);
        if let Ok(f) = stratus_flow::compile(&flow, &NoSubflows) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
            let s = stratus_flow::Services::new().expect("services");
            let _ = rt.block_on(stratus_flow::run(&f, Default::default(), &s));
        }
    }

    #[test]
    fn add_multiply_subtract_agree_with_i64(a in -1_000_000i64..1_000_000, b in -1_000_000i64..1_000_000, c in -1000i64..1000) {
        let flow = json!([{"type": "httpResponse", "body": {
            "add": {"$add": [a, b, c]}, "mul": {"$multiply": [a, c]}, "sub": {"$subtract": [a, b]},
            "abs": {"$abs": a}, "max": {"$max": [a, b, c]}, "min": {"$min": [a, b, c]}}}]);
        let f = stratus_flow::compile(&flow, &NoSubflows).expect("compiles");
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
        let s = stratus_flow::Services::new().expect("services");
        let r = rt.block_on(stratus_flow::run(&f, Default::default(), &s)).result.expect("runs").json_body();
        prop_assert_eq!(r["add"].as_i64(), Some(a + b + c));
        prop_assert_eq!(r["mul"].as_i64(), Some(a * c));
        prop_assert_eq!(r["sub"].as_i64(), Some(a - b));
        prop_assert_eq!(r["abs"].as_i64(), Some(a.abs()));
        prop_assert_eq!(r["max"].as_i64(), Some(a.max(b).max(c)));
        prop_assert_eq!(r["min"].as_i64(), Some(a.min(b).min(c)));
    }

    #[test]
    fn divide_agrees_with_f64(a in -1e6f64..1e6, b in 1e-3f64..1e6) {
        let flow = json!([{"type": "httpResponse", "body": {"$divide": [a, b]}}]);
        let f = stratus_flow::compile(&flow, &NoSubflows).expect("compiles");
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
        let s = stratus_flow::Services::new().expect("services");
        let r = rt.block_on(stratus_flow::run(&f, Default::default(), &s)).result.expect("runs").json_body();
        prop_assert_eq!(r.as_f64(), Some(a / b));
    }
}

/// Numbers around the int32/int64 boundaries (as JSON numbers: int32 when they fit, int64
/// otherwise; or as explicit `$numberLong`), doubles, decimals, `null` and strings.
fn arb_operand() -> impl Strategy<Value = Value> {
    let edge = prop::sample::select(vec![
        0i64,
        1,
        -1,
        2,
        i64::from(i32::MAX),
        i64::from(i32::MIN),
        i64::from(i32::MAX) + 1,
        i64::from(i32::MIN) - 1,
        i64::MAX,
        i64::MIN,
        1 << 32,
        3_037_000_500,
    ]);
    prop_oneof![
        edge.clone().prop_map(|i| json!(i)),
        edge.prop_map(|i| json!({"$numberLong": i.to_string()})),
        any::<i32>().prop_map(|i| json!(i)),
        any::<i64>().prop_map(|i| json!(i)),
        any::<i64>().prop_map(|i| json!({"$numberLong": i.to_string()})),
        (-1e6f64..1e6).prop_map(|f| json!(f)),
        Just(json!(-0.0)),
        Just(json!(2.0)),
        // `null` (a literal null is a missing field).
        Just(json!("$.request.body.none")),
        Just(json!("7")),
        Just(json!({"$numberDecimal": "1.5"})),
    ]
}

/// Runs `flow` and returns its response body or its error (code and message).
fn outcome(flow: &Value) -> Result<bson::Bson, (String, String)> {
    let f = stratus_flow::compile(flow, &NoSubflows).expect("compiles");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let s = stratus_flow::Services::new().expect("services");
    rt.block_on(stratus_flow::run(&f, Default::default(), &s))
        .result
        .map(|r| r.body)
        .map_err(|e| (e.code.name().to_string(), e.message))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// The in-place math nodes (with their integer fast path) give exactly what the shared
    /// expression gives — value, BSON type and errors — for literal and referenced operands.
    #[test]
    fn in_place_math_agrees_with_the_expression(
        x in arb_operand(),
        y in arb_operand(),
        node in prop::sample::select(vec![
            ("addVariable", "$add"), ("subtractVariable", "$subtract"),
            ("multiplyVariable", "$multiply"), ("divideVariable", "$divide"),
            ("incrementVariable", "$add"), ("decrementVariable", "$subtract")]),
        by_ref in any::<bool>(),
    ) {
        let (kind, op) = node;
        let operand = if by_ref { json!("$.variables.y") } else { y.clone() };
        let field = if kind.ends_with("rementVariable") { "by" } else { "value" };
        let mut step = json!({"type": kind, "variable": "x"});
        step[field] = operand.clone();
        let in_place = json!([
            {"type": "setVariable", "variable": "x", "value": x},
            {"type": "setVariable", "variable": "y", "value": y},
            step,
            {"type": "httpResponse", "body": "$.variables.x"}]);
        let general = json!([
            {"type": "setVariable", "variable": "x", "value": x},
            {"type": "setVariable", "variable": "y", "value": y},
            {"type": "complexMathExpr", "variable": "x", "value": {op: ["$.variables.x", operand]}},
            {"type": "httpResponse", "body": "$.variables.x"}]);
        let (a, b) = (outcome(&in_place), outcome(&general));
        // NaN != NaN: compare doubles by bits.
        let same = match (&a, &b) {
            (Ok(bson::Bson::Double(p)), Ok(bson::Bson::Double(q))) => p.to_bits() == q.to_bits(),
            _ => a == b,
        };
        prop_assert!(same, "{kind} x={x} y={y} by_ref={by_ref}: in place {a:?}, expression {b:?}");
    }
}

/// Values for condition operands: numbers of several types, strings, booleans, `null`,
/// arrays and objects.
fn arb_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        (-3i64..4).prop_map(|i| json!(i)),
        (-3i64..4).prop_map(|i| json!({"$numberLong": i.to_string()})),
        prop::sample::select(vec![-1.5f64, 0.0, 2.0, 2.5]).prop_map(|f| json!(f)),
        prop::sample::select(vec!["", "a", "b", "2"]).prop_map(|s| json!(s)),
        any::<bool>().prop_map(Value::Bool),
        Just(json!([1, "a"])),
        Just(json!({"k": 1})),
    ]
}

/// Condition operands: references (set, nested, missing, the whole variables object),
/// literals and expressions.
fn arb_cond_operand() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!("$.variables.a")),
        Just(json!("$.variables.b")),
        Just(json!("$.variables.a.k")),
        Just(json!("$.variables.missing_one")),
        Just(json!("$.request.body.x")),
        Just(json!("$.request.body.nope")),
        Just(json!("$.request.method")),
        Just(json!("$.first.result")),
        // Computed values: all variables, the whole request, a whole node output.
        Just(json!("$.variables")),
        Just(json!("$.request")),
        Just(json!("$.first")),
        Just(json!({"result": 1})),
        arb_value(),
        Just(json!({"$add": ["$.variables.a", 1]})),
        Just(json!({"$size": [[1, 2]]})),
    ]
}

fn arb_condition() -> impl Strategy<Value = Value> {
    let ops = prop::sample::select(vec![
        "$eq", "$neq", "$ne", "$gt", "$gte", "$lt", "$lte", "$ge", "$le",
    ]);
    let leaf = prop_oneof![
        (
            prop::sample::select(vec![
                "$.variables.a",
                "$.variables.b",
                "$.request.body.x",
                "$.first.result"
            ]),
            ops.clone(),
            arb_cond_operand()
        )
            .prop_map(|(path, op, v)| json!({path: {op: v}})),
        (ops, arb_cond_operand(), arb_cond_operand()).prop_map(|(op, l, r)| json!({op: [l, r]})),
        arb_cond_operand(),
        any::<bool>().prop_map(Value::Bool),
    ];
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(|v| json!({"$and": v})),
            prop::collection::vec(inner.clone(), 0..3).prop_map(|v| json!({"$or": v})),
            inner.prop_map(|c| json!({"$not": c})),
        ]
    })
}

/// Runs `flow` with a request body `{x: …}`: the response body or the error message.
fn outcome_with_body(flow: &Value, x: &Value) -> Option<Result<bson::Bson, String>> {
    let f = stratus_flow::compile(flow, &NoSubflows).ok()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let s = stratus_flow::Services::new().expect("services");
    let input = stratus_flow::RunInput {
        request: stratus_flow::RequestData {
            method: "POST".into(),
            body: stratus_flow::output::from_json(&json!({"x": x})),
            ..Default::default()
        },
        ..Default::default()
    };
    Some(
        rt.block_on(stratus_flow::run(&f, input, &s))
            .result
            .map(|r| r.body)
            .map_err(|e| e.message),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// Conditions of flow nodes (compiled by the flow engine) decide exactly like the shared
    /// CQL condition of the `$cond` operator, errors included.
    #[test]
    fn node_conditions_agree_with_the_shared_condition(
        cond in arb_condition(), a in arb_value(), b in arb_value(), x in arb_value(), first in arb_value(),
    ) {
        let set = json!([
            {"type": "setVariable", "name": "first", "variable": "a", "value": a},
            {"type": "setVariable", "variable": "b", "value": b},
            {"type": "setVariable", "variable": "f", "value": first}]);
        let mut node = set.clone();
        node.as_array_mut().expect("array").extend([
            json!({"type": "ifElse", "condition": cond, "then": [{"type": "httpResponse", "body": "t"}],
                   "else": [{"type": "httpResponse", "body": "f"}]})]);
        let mut shared = set;
        shared.as_array_mut().expect("array").push(
            json!({"type": "httpResponse", "body": {"$cond": [cond, "t", "f"]}}));
        let (p, q) = (outcome_with_body(&node, &x), outcome_with_body(&shared, &x));
        // Both compile or neither does (the same references are checked).
        prop_assert_eq!(p.is_some(), q.is_some(), "{}", cond);
        if let (Some(p), Some(q)) = (p, q) {
            prop_assert_eq!(p, q, "{}", cond);
        }
    }
}
