//! Accumulator cases: `AccumulatorSpec` over lists of documents (as `$group` uses it) and the
//! same operators as `$project` expressions.

use bson::Bson;
use stratus_query::expr::EvalContext;
use stratus_query::expr::ParseOptions;
use stratus_query::expr::accumulator::AccumulatorSpec;

use super::support::{check_table, ejson};

/// `spec` applied to `docs` (a JSON array of documents) → canonical EJSON of the result, or
/// `!code` on error.
fn group(spec: &str, docs: &str) -> String {
    let spec = match AccumulatorSpec::parse(&ejson(spec), &ParseOptions::default()) {
        Ok(s) => s,
        Err(e) => return format!("!{}", e.code.code()),
    };
    let Bson::Array(docs) = ejson(docs) else {
        panic!("docs must be an array")
    };
    let mut state = spec.new_state();
    for d in &docs {
        let mut ctx = EvalContext::new(d);
        if let Err(e) = state.add(&mut ctx) {
            return format!("!{}", e.code.code());
        }
    }
    state.finish().into_canonical_extjson().to_string()
}

fn canon(s: &str) -> String {
    if s.starts_with('!') {
        return s.to_string();
    }
    ejson(s).into_canonical_extjson().to_string()
}

const SALES: &str = r#"[
  {"item": "abc", "price": 10, "quantity": 2, "tags": {"a": 1}},
  {"item": "jkl", "price": 20, "quantity": 1, "tags": {"b": 2}},
  {"item": "xyz", "price": 5, "quantity": 10, "tags": null},
  {"item": "xyz", "price": 5.5, "quantity": 20},
  {"item": "abc", "price": 10, "quantity": "n/a"}
]"#;

#[test]
fn group_accumulators() {
    let cases: &[(&str, &str, &str)] = &[
        (r#"{"$sum": "$quantity"}"#, SALES, "33"),
        (r#"{"$sum": 1}"#, SALES, "5"),
        (r#"{"$count": {}}"#, SALES, "5"),
        (r#"{"$sum": "$price"}"#, SALES, "50.5"),
        (r#"{"$sum": "$nothing"}"#, SALES, "0"),
        (
            r#"{"$sum": "$q"}"#,
            r#"[{"q": 2147483647}, {"q": 1}]"#,
            r#"{"$numberLong": "2147483648"}"#,
        ),
        (
            r#"{"$sum": "$q"}"#,
            r#"[{"q": {"$numberLong": "1"}}, {"q": 1}]"#,
            r#"{"$numberLong": "2"}"#,
        ),
        (
            r#"{"$sum": "$q"}"#,
            r#"[{"q": {"$numberDecimal": "1.5"}}, {"q": 1}]"#,
            r#"{"$numberDecimal": "2.5"}"#,
        ),
        (r#"{"$avg": "$quantity"}"#, SALES, "8.25"),
        (r#"{"$avg": "$nothing"}"#, SALES, "null"),
        (r#"{"$avg": "$q"}"#, r#"[{"q": 1}, {"q": 2}]"#, "1.5"),
        (r#"{"$min": "$price"}"#, SALES, "5"),
        (r#"{"$max": "$price"}"#, SALES, "20"),
        (r#"{"$max": "$quantity"}"#, SALES, r#""n/a""#),
        (r#"{"$min": "$q"}"#, r#"[{"q": null}, {}, {"q": 3}]"#, "3"),
        (r#"{"$min": "$q"}"#, r#"[{"q": null}, {}]"#, "null"),
        (
            r#"{"$push": "$item"}"#,
            SALES,
            r#"["abc", "jkl", "xyz", "xyz", "abc"]"#,
        ),
        (
            r#"{"$push": "$q"}"#,
            r#"[{"q": null}, {}, {"q": 3}]"#,
            "[null, 3]",
        ),
        (
            r#"{"$push": {"i": "$item", "q": "$quantity"}}"#,
            r#"[{"item": "a", "quantity": 1}]"#,
            r#"[{"i": "a", "q": 1}]"#,
        ),
        (
            r#"{"$addToSet": "$item"}"#,
            SALES,
            r#"["abc", "jkl", "xyz"]"#,
        ),
        (
            r#"{"$addToSet": "$q"}"#,
            r#"[{"q": 1}, {"q": 1.0}, {"q": [1]}, {"q": [1]}]"#,
            "[1, [1]]",
        ),
        (r#"{"$first": "$item"}"#, SALES, r#""abc""#),
        (r#"{"$last": "$price"}"#, SALES, "10"),
        (r#"{"$first": "$nothing"}"#, SALES, "null"),
        (r#"{"$first": "$x"}"#, "[]", "null"),
        (
            r#"{"$stdDevPop": "$s"}"#,
            r#"[{"s": 62}, {"s": 67}, {"s": 83}, {"s": 89}]"#,
            r#"{"$numberDouble": "11.098986440211554"}"#,
        ),
        (
            r#"{"$stdDevSamp": "$s"}"#,
            r#"[{"s": 62}, {"s": 67}, {"s": 83}, {"s": 89}]"#,
            r#"{"$numberDouble": "12.816005617976295"}"#,
        ),
        (r#"{"$stdDevSamp": "$s"}"#, r#"[{"s": 62}]"#, "null"),
        (r#"{"$stdDevPop": "$s"}"#, r#"[{"s": "x"}]"#, "null"),
        (
            r#"{"$mergeObjects": "$tags"}"#,
            SALES,
            r#"{"a": 1, "b": 2}"#,
        ),
        (r#"{"$mergeObjects": "$item"}"#, SALES, "!40400"),
        (
            r#"{"$firstN": {"input": "$item", "n": 2}}"#,
            SALES,
            r#"["abc", "jkl"]"#,
        ),
        (
            r#"{"$firstN": {"input": "$item", "n": {"$add": [1, 1]}}}"#,
            SALES,
            r#"["abc", "jkl"]"#,
        ),
        (
            r#"{"$lastN": {"input": "$item", "n": 2}}"#,
            SALES,
            r#"["xyz", "abc"]"#,
        ),
        (
            r#"{"$maxN": {"input": "$price", "n": 2}}"#,
            SALES,
            "[20, 10]",
        ),
        (
            r#"{"$minN": {"input": "$price", "n": 3}}"#,
            SALES,
            "[5, 5.5, 10]",
        ),
        (
            r#"{"$minN": {"input": "$q", "n": 3}}"#,
            r#"[{"q": null}, {}, {"q": 2}]"#,
            "[2]",
        ),
        (
            r#"{"$firstN": {"input": "$x", "n": 2}}"#,
            "[{}, {}, {}]",
            "[null, null]",
        ),
        (
            r#"{"$top": {"sortBy": {"price": -1}, "output": "$item"}}"#,
            SALES,
            r#""jkl""#,
        ),
        (
            r#"{"$bottom": {"sortBy": {"price": -1}, "output": "$item"}}"#,
            SALES,
            r#""xyz""#,
        ),
        (
            r#"{"$topN": {"n": 2, "sortBy": {"price": 1}, "output": ["$item", "$price"]}}"#,
            SALES,
            r#"[["xyz", 5], ["xyz", 5.5]]"#,
        ),
        (
            r#"{"$bottomN": {"n": 2, "sortBy": {"price": 1}, "output": "$price"}}"#,
            SALES,
            "[10, 20]",
        ),
        (
            r#"{"$topN": {"n": 3, "sortBy": {"item": 1, "price": -1}, "output": "$price"}}"#,
            SALES,
            "[10, 10, 20]",
        ),
        (
            r#"{"$top": {"sortBy": {"a": 1}, "output": "$a"}}"#,
            "[]",
            "null",
        ),
        (
            r#"{"$topN": {"n": 2, "sortBy": {"a": 1}, "output": "$a"}}"#,
            "[]",
            "[]",
        ),
        (
            r#"{"$firstN": {"input": "$x", "n": 0}}"#,
            "[{}]",
            "!5787908",
        ),
        (
            r#"{"$firstN": {"input": "$x", "n": "a"}}"#,
            "[{}]",
            "!5787902",
        ),
        (r#"{"$firstN": {"input": "$x"}}"#, "[]", "!5787906"),
        (r#"{"$firstN": {"n": 1}}"#, "[]", "!5787907"),
        (r#"{"$top": {"output": "$x"}}"#, "[]", "!5788005"),
        (
            r#"{"$top": {"sortBy": {"a": 1}, "output": 1, "n": 1}}"#,
            "[]",
            "!5787901",
        ),
        (
            r#"{"$top": {"sortBy": {"a": 2}, "output": 1}}"#,
            "[]",
            "!5788604",
        ),
        (r#"{"$topN": 5}"#, "[]", "!5787801"),
        (
            r#"{"$percentile": {"input": "$q", "p": [0.5, 0.9], "method": "approximate"}}"#,
            r#"[{"q": 50}, {"q": 10}, {"q": 30}, {"q": 20}, {"q": 40}]"#,
            "[30.0, 50.0]",
        ),
        (
            r#"{"$median": {"input": "$q", "method": "approximate"}}"#,
            r#"[{"q": 50}, {"q": 10}, {"q": 30}, {"q": "x"}, {"q": 40}]"#,
            "30.0",
        ),
        (
            r#"{"$median": {"input": "$q", "method": "continuous"}}"#,
            r#"[{"q": 10}, {"q": 20}, {"q": 30}, {"q": 40}]"#,
            "25.0",
        ),
        (
            r#"{"$median": {"input": "$q", "method": "approximate"}}"#,
            "[{}]",
            "null",
        ),
        (
            r#"{"$percentile": {"input": "$q", "p": [1.5], "method": "approximate"}}"#,
            "[]",
            "!7750301",
        ),
        (
            r#"{"$percentile": {"input": "$q", "p": [0.5]}}"#,
            "[]",
            "!7436203",
        ),
        (
            r#"{"$median": {"input": "$q", "method": "exact"}}"#,
            "[]",
            "!7436104",
        ),
        (
            r#"{"$median": {"input": "$q", "p": [0.5], "method": "approximate"}}"#,
            "[]",
            "!7436201",
        ),
        (r#"{"$foo": 1}"#, "[]", "!15952"),
        (r#"{"$sum": [1, 2]}"#, "[]", "!40237"),
        (r#"{"$count": 1}"#, "[]", "!40237"),
        (r#"{"$sum": 1, "$avg": 1}"#, "[]", "!40238"),
        (r#"5"#, "[]", "!40238"),
    ];
    let mut failures = Vec::new();
    for (spec, docs, expected) in cases {
        let got = group(spec, docs);
        if got != canon(expected) {
            failures.push(format!("{spec}: expected {expected}, got {got}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

const TABLE: &str = r#"
{"$sum": [1, 2, 3]} => 6
{"$sum": "$a"} @ {"a": [1, 2, "x", 3.5]} => 6.5
{"$sum": "$a"} @ {"a": 5} => 5
{"$sum": "$a"} @ {"a": "x"} => 0
{"$sum": "$a"} => 0
{"$sum": ["$a", "$b"]} @ {"a": [1, 2], "b": 3} => 3
{"$avg": "$a"} @ {"a": [1, 2, 3, 4]} => 2.5
{"$avg": [10, 20]} => 15.0
{"$avg": "$a"} @ {"a": []} => null
{"$avg": "$a"} @ {"a": ["x"]} => null
{"$max": "$a"} @ {"a": [1, 5, 3]} => 5
{"$max": [1, "$b", 3]} @ {"b": 7} => 7
{"$max": "$a"} @ {"a": []} => null
{"$min": "$a"} @ {"a": [4, null, 2]} => 2
{"$min": [null, "$x"]} => null
{"$min": "$a"} @ {"a": [1, "a", {"x": 1}]} => 1
{"$max": "$a"} @ {"a": [1, "a", {"x": 1}]} => {"x": 1}
{"$stdDevPop": [1, 2, 3, 4]} => 1.118033988749895
{"$stdDevSamp": "$a"} @ {"a": [1]} => null
{"$mergeObjects": [{"a": 1}, null, {"b": 2, "a": 3}]} => {"a": 3, "b": 2}
{"$mergeObjects": "$x"} @ {"x": {"a": 1}} => {"a": 1}
{"$mergeObjects": [{"a": 1}, 5]} => !40400
{"$mergeObjects": []} => {}
{"$firstN": {"n": 2, "input": [1, 2, 3]}} => [1, 2]
{"$lastN": {"n": 2, "input": [1, 2, 3]}} => [2, 3]
{"$maxN": {"n": 2, "input": [3, null, 1, 7]}} => [7, 3]
{"$minN": {"n": 2, "input": [3, null, 1, 7]}} => [1, 3]
{"$firstN": {"n": 5, "input": [1]}} => [1]
{"$lastN": {"n": 1, "input": "$a"}} @ {"a": ["x", "y"]} => ["y"]
{"$firstN": {"n": 2, "input": null}} => null
{"$firstN": {"n": 2, "input": 5}} => !5788200
{"$firstN": {"n": 0, "input": [1]}} => !5787908
{"$firstN": {"input": [1]}} => !40059
{"$median": {"input": [3, 1, 2], "method": "approximate"}} => 2.0
{"$percentile": {"input": [1, 2, 3, 4], "p": [0.25, 1], "method": "continuous"}} => [1.75, 4.0]
{"$percentile": {"input": [4, 1, 3, 2], "p": [0.25, 0.5, 0.75], "method": "discrete"}} => [1.0, 2.0, 3.0]
{"$median": {"input": "$x", "method": "approximate"}} @ {"x": 7} => 7.0
{"$median": {"input": "$missing", "method": "approximate"}} => null
{"$percentile": {"input": [1], "p": 0.5, "method": "approximate"}} => !7750301
"#;

#[test]
fn accumulators_as_expressions() {
    assert!(check_table(TABLE) > 20);
}
