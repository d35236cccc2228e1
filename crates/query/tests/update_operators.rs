//! Table-driven tests of update operators against MongoDB's documented behaviour
//! (docs.mongodb.com "Update Operators" pages and server behaviour of 5.0+).
//!
//! Each case is `(document, update, expected document)` in relaxed Extended JSON; results are
//! compared as canonical Extended JSON, so field order and numeric types must match exactly.

use bson::{Bson, Document};
use stratus_query::update::{ApplyContext, Update, UpdateOptions, UpdateOutcome};

/// The operation time used by every case (2023-11-14T22:13:20Z).
const NOW_MS: i64 = 1_700_000_000_000;

fn j(s: &str) -> Bson {
    let v: serde_json::Value =
        serde_json::from_str(s).unwrap_or_else(|e| panic!("bad JSON {s}: {e}"));
    Bson::try_from(v).unwrap_or_else(|e| panic!("bad EJSON {s}: {e}"))
}

fn d(s: &str) -> Document {
    match j(s) {
        Bson::Document(d) => d,
        other => panic!("not a document: {other:?}"),
    }
}

fn canon(doc: &Document) -> String {
    Bson::Document(doc.clone())
        .into_canonical_extjson()
        .to_string()
}

fn ctx() -> ApplyContext {
    ApplyContext {
        positional: None,
        is_insert: false,
        now: bson::DateTime::from_millis(NOW_MS),
    }
}

fn run(doc: &str, update: &str) -> Result<UpdateOutcome, stratus_query::QueryError> {
    let u = Update::parse(&j(update), &UpdateOptions::default())?;
    u.apply(&d(doc), &ctx())
}

fn check_table(cases: &[(&str, &str, &str)]) {
    let mut failures = Vec::new();
    for (doc, update, want) in cases {
        match run(doc, update) {
            Ok(out) => {
                if canon(&out.document) != canon(&d(want)) {
                    failures.push(format!(
                        "{doc} + {update}\n   want {want}\n   got  {}",
                        Bson::Document(out.document).into_relaxed_extjson()
                    ));
                }
            }
            Err(e) => failures.push(format!(
                "{doc} + {update}: error {:?} {}",
                e.code, e.message
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn set_cases() {
    check_table(&[
        (
            r#"{"_id":1,"a":1}"#,
            r#"{"$set":{"a":2}}"#,
            r#"{"_id":1,"a":2}"#,
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$set":{"b":1,"a":1}}"#,
            r#"{"_id":1,"a":1,"b":1}"#,
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$set":{"a.b.c":1}}"#,
            r#"{"_id":1,"a":{"b":{"c":1}}}"#,
        ),
        (
            r#"{"_id":1,"a":{"x":1}}"#,
            r#"{"$set":{"a.b":2}}"#,
            r#"{"_id":1,"a":{"x":1,"b":2}}"#,
        ),
        (
            r#"{"_id":1,"a":[1,2,3]}"#,
            r#"{"$set":{"a.1":9}}"#,
            r#"{"_id":1,"a":[1,9,3]}"#,
        ),
        (
            r#"{"_id":1,"a":[1]}"#,
            r#"{"$set":{"a.3":9}}"#,
            r#"{"_id":1,"a":[1,null,null,9]}"#,
        ),
        (
            r#"{"_id":1,"a":{}}"#,
            r#"{"$set":{"a.1":9}}"#,
            r#"{"_id":1,"a":{"1":9}}"#,
        ),
        (
            r#"{"_id":1,"a":[{"b":1},{"b":2}]}"#,
            r#"{"$set":{"a.1.b":5}}"#,
            r#"{"_id":1,"a":[{"b":1},{"b":5}]}"#,
        ),
        (
            r#"{"_id":1,"a":[]}"#,
            r#"{"$set":{"a.0.b":1}}"#,
            r#"{"_id":1,"a":[{"b":1}]}"#,
        ),
        (
            r#"{"_id":1,"a":[]}"#,
            r#"{"$set":{"a.2.b":1}}"#,
            r#"{"_id":1,"a":[null,null,{"b":1}]}"#,
        ),
        (
            r#"{"_id":1,"a":1}"#,
            r#"{"$set":{"a":{"x":[1,2]}}}"#,
            r#"{"_id":1,"a":{"x":[1,2]}}"#,
        ),
        (
            r#"{"_id":1,"a":1,"b":2}"#,
            r#"{"$set":{"a":3}}"#,
            r#"{"_id":1,"a":3,"b":2}"#,
        ),
        (
            r#"{"_id":1,"z":1}"#,
            r#"{"$set":{"y":1,"x":{"b":1}}}"#,
            r#"{"_id":1,"z":1,"x":{"b":1},"y":1}"#,
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$set":{"f.10":1,"f.9":1}}"#,
            r#"{"_id":1,"f":{"9":1,"10":1}}"#,
        ),
        // MongoDB 5.0+ applies numeric names in numeric order (SERVER-33687): "a.2" before
        // "a.10", so the $inc of a.2 meets a missing element, not a null padding.
        (
            r#"{"_id":1,"a":[]}"#,
            r#"{"$inc":{"a.10":1,"a.2":1}}"#,
            r#"{"_id":1,"a":[null,null,1,null,null,null,null,null,null,null,1]}"#,
        ),
        (
            r#"{"_id":1,"a":[]}"#,
            r#"{"$bit":{"a.10":{"or":1},"a.9":{"or":1}}}"#,
            r#"{"_id":1,"a":[null,null,null,null,null,null,null,null,null,1,1]}"#,
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$set":{"a.0":1}}"#,
            r#"{"_id":1,"a":{"0":1}}"#,
        ),
        (
            r#"{"_id":1,"a":[[1,2],[3]]}"#,
            r#"{"$set":{"a.0.1":7}}"#,
            r#"{"_id":1,"a":[[1,7],[3]]}"#,
        ),
        (
            r#"{"_id":1,"a":1}"#,
            r#"{"$set":{"a":1.0}}"#,
            r#"{"_id":1,"a":1.0}"#,
        ),
        (
            r#"{"_id":1,"a":{"b":1}}"#,
            r#"{"$set":{"a.c":2,"a.b":3}}"#,
            r#"{"_id":1,"a":{"b":3,"c":2}}"#,
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$set":{"a":null}}"#,
            r#"{"_id":1,"a":null}"#,
        ),
        // MongoDB 5.0+: `$`-prefixed and dotted names are allowed below the top level.
        (
            r#"{"_id":1}"#,
            r#"{"$set":{"a.$b":1}}"#,
            r#"{"_id":1,"a":{"$b":1}}"#,
        ),
        (
            r#"{"_id":1,"a":{"$b":1}}"#,
            r#"{"$inc":{"a.$b":1}}"#,
            r#"{"_id":1,"a":{"$b":2}}"#,
        ),
        (
            r#"{"_id":1,"$a":1}"#,
            r#"{"$unset":{"$a":1}}"#,
            r#"{"_id":1}"#,
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$set":{"a":{"$x":1,"b.c":2}}}"#,
            r#"{"_id":1,"a":{"$x":1,"b.c":2}}"#,
        ),
        (
            r#"{"_id":1,"a":[1,2]}"#,
            r#"{"$set":{"a":[]}}"#,
            r#"{"_id":1,"a":[]}"#,
        ),
        (r#"{"_id":1}"#, r#"{"$set":{"_id":1}}"#, r#"{"_id":1}"#),
        (
            r#"{"_id":{"x":1}}"#,
            r#"{"$set":{"_id.x":1}}"#,
            r#"{"_id":{"x":1}}"#,
        ),
        (
            r#"{"_id":1,"a":1}"#,
            r#"{"$set":{"b.c.d.e.f.g":true}}"#,
            r#"{"_id":1,"a":1,"b":{"c":{"d":{"e":{"f":{"g":true}}}}}}"#,
        ),
    ]);
}

#[test]
fn unset_and_set_on_insert_cases() {
    check_table(&[
        (
            r#"{"_id":1,"a":1,"b":2}"#,
            r#"{"$unset":{"a":""}}"#,
            r#"{"_id":1,"b":2}"#,
        ),
        (r#"{"_id":1}"#, r#"{"$unset":{"a":1}}"#, r#"{"_id":1}"#),
        (
            r#"{"_id":1,"a":{"b":1,"c":2}}"#,
            r#"{"$unset":{"a.b":1}}"#,
            r#"{"_id":1,"a":{"c":2}}"#,
        ),
        (
            r#"{"_id":1,"a":[1,2,3]}"#,
            r#"{"$unset":{"a.1":1}}"#,
            r#"{"_id":1,"a":[1,null,3]}"#,
        ),
        (
            r#"{"_id":1,"a":[1,2,3]}"#,
            r#"{"$unset":{"a.7":1}}"#,
            r#"{"_id":1,"a":[1,2,3]}"#,
        ),
        (
            r#"{"_id":1,"a":1}"#,
            r#"{"$unset":{"a.b":1}}"#,
            r#"{"_id":1,"a":1}"#,
        ),
        (
            r#"{"_id":1,"a":[{"b":1}]}"#,
            r#"{"$unset":{"a.b":1}}"#,
            r#"{"_id":1,"a":[{"b":1}]}"#,
        ),
        (
            r#"{"_id":1,"a":[{"b":1,"c":1}]}"#,
            r#"{"$unset":{"a.0.b":1}}"#,
            r#"{"_id":1,"a":[{"c":1}]}"#,
        ),
        (
            r#"{"_id":1,"a":1,"b":1,"c":1}"#,
            r#"{"$unset":{"a":1,"c":true}}"#,
            r#"{"_id":1,"b":1}"#,
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$setOnInsert":{"a":1}}"#,
            r#"{"_id":1}"#,
        ),
        (
            r#"{"_id":1,"x":1}"#,
            r#"{"$setOnInsert":{"a":1},"$set":{"b":2}}"#,
            r#"{"_id":1,"x":1,"b":2}"#,
        ),
    ]);
}

#[test]
fn arithmetic_cases() {
    check_table(&[
        (
            r#"{"_id":1,"a":1}"#,
            r#"{"$inc":{"a":2}}"#,
            r#"{"_id":1,"a":3}"#,
        ),
        (r#"{"_id":1}"#, r#"{"$inc":{"a":5}}"#, r#"{"_id":1,"a":5}"#),
        (
            r#"{"_id":1}"#,
            r#"{"$inc":{"a":{"$numberLong":"5"}}}"#,
            r#"{"_id":1,"a":{"$numberLong":"5"}}"#,
        ),
        (
            r#"{"_id":1,"a":1}"#,
            r#"{"$inc":{"a":1.5}}"#,
            r#"{"_id":1,"a":2.5}"#,
        ),
        (
            r#"{"_id":1,"a":1.5}"#,
            r#"{"$inc":{"a":1}}"#,
            r#"{"_id":1,"a":2.5}"#,
        ),
        (
            r#"{"_id":1,"a":2147483647}"#,
            r#"{"$inc":{"a":1}}"#,
            r#"{"_id":1,"a":{"$numberLong":"2147483648"}}"#,
        ),
        (
            r#"{"_id":1,"a":-2147483648}"#,
            r#"{"$inc":{"a":-1}}"#,
            r#"{"_id":1,"a":{"$numberLong":"-2147483649"}}"#,
        ),
        (
            r#"{"_id":1,"a":{"$numberLong":"1"}}"#,
            r#"{"$inc":{"a":1}}"#,
            r#"{"_id":1,"a":{"$numberLong":"2"}}"#,
        ),
        (
            r#"{"_id":1,"a":1}"#,
            r#"{"$inc":{"a":{"$numberLong":"1"}}}"#,
            r#"{"_id":1,"a":{"$numberLong":"2"}}"#,
        ),
        (
            r#"{"_id":1,"a":-2}"#,
            r#"{"$inc":{"a":-3}}"#,
            r#"{"_id":1,"a":-5}"#,
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$inc":{"x.y":1}}"#,
            r#"{"_id":1,"x":{"y":1}}"#,
        ),
        (
            r#"{"_id":1,"a":[1,2]}"#,
            r#"{"$inc":{"a.1":10}}"#,
            r#"{"_id":1,"a":[1,12]}"#,
        ),
        (
            r#"{"_id":1,"a":1}"#,
            r#"{"$inc":{"a":0}}"#,
            r#"{"_id":1,"a":1}"#,
        ),
        (
            r#"{"_id":1,"a":1.0}"#,
            r#"{"$inc":{"a":0}}"#,
            r#"{"_id":1,"a":1.0}"#,
        ),
        (
            r#"{"_id":1,"a":5,"b":5}"#,
            r#"{"$inc":{"a":-1,"b":1}}"#,
            r#"{"_id":1,"a":4,"b":6}"#,
        ),
        (
            r#"{"_id":1,"a":{"$numberDecimal":"1.5"}}"#,
            r#"{"$inc":{"a":1}}"#,
            r#"{"_id":1,"a":{"$numberDecimal":"2.5"}}"#,
        ),
        (
            r#"{"_id":1,"a":2}"#,
            r#"{"$mul":{"a":3}}"#,
            r#"{"_id":1,"a":6}"#,
        ),
        (r#"{"_id":1}"#, r#"{"$mul":{"a":3}}"#, r#"{"_id":1,"a":0}"#),
        (
            r#"{"_id":1}"#,
            r#"{"$mul":{"a":2.5}}"#,
            r#"{"_id":1,"a":0.0}"#,
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$mul":{"a":{"$numberLong":"2"}}}"#,
            r#"{"_id":1,"a":{"$numberLong":"0"}}"#,
        ),
        (
            r#"{"_id":1,"a":1.5}"#,
            r#"{"$mul":{"a":2}}"#,
            r#"{"_id":1,"a":3.0}"#,
        ),
        (
            r#"{"_id":1,"a":65536}"#,
            r#"{"$mul":{"a":65536}}"#,
            r#"{"_id":1,"a":{"$numberLong":"4294967296"}}"#,
        ),
        (
            r#"{"_id":1,"a":{"$numberLong":"3"}}"#,
            r#"{"$mul":{"a":2}}"#,
            r#"{"_id":1,"a":{"$numberLong":"6"}}"#,
        ),
        (
            r#"{"_id":1,"a":3}"#,
            r#"{"$mul":{"a":{"$numberLong":"2"}}}"#,
            r#"{"_id":1,"a":{"$numberLong":"6"}}"#,
        ),
        (
            r#"{"_id":1,"a":5}"#,
            r#"{"$mul":{"a":1}}"#,
            r#"{"_id":1,"a":5}"#,
        ),
        (
            r#"{"_id":1,"a":5}"#,
            r#"{"$mul":{"a":-1.0}}"#,
            r#"{"_id":1,"a":-5.0}"#,
        ),
        (
            r#"{"_id":1,"a":5}"#,
            r#"{"$min":{"a":3}}"#,
            r#"{"_id":1,"a":3}"#,
        ),
        (
            r#"{"_id":1,"a":5}"#,
            r#"{"$min":{"a":7}}"#,
            r#"{"_id":1,"a":5}"#,
        ),
        (
            r#"{"_id":1,"a":5}"#,
            r#"{"$max":{"a":7}}"#,
            r#"{"_id":1,"a":7}"#,
        ),
        (
            r#"{"_id":1,"a":5}"#,
            r#"{"$max":{"a":3}}"#,
            r#"{"_id":1,"a":5}"#,
        ),
        (r#"{"_id":1}"#, r#"{"$min":{"a":1}}"#, r#"{"_id":1,"a":1}"#),
        (
            r#"{"_id":1}"#,
            r#"{"$max":{"a.b":1}}"#,
            r#"{"_id":1,"a":{"b":1}}"#,
        ),
        (
            r#"{"_id":1,"a":5}"#,
            r#"{"$min":{"a":"x"}}"#,
            r#"{"_id":1,"a":5}"#,
        ),
        (
            r#"{"_id":1,"a":5}"#,
            r#"{"$max":{"a":"x"}}"#,
            r#"{"_id":1,"a":"x"}"#,
        ),
        (
            r#"{"_id":1,"a":null}"#,
            r#"{"$max":{"a":1}}"#,
            r#"{"_id":1,"a":1}"#,
        ),
        (
            r#"{"_id":1,"a":null}"#,
            r#"{"$min":{"a":1}}"#,
            r#"{"_id":1,"a":null}"#,
        ),
        (
            r#"{"_id":1,"a":5}"#,
            r#"{"$min":{"a":5.0}}"#,
            r#"{"_id":1,"a":5}"#,
        ),
        (
            r#"{"_id":1,"a":5}"#,
            r#"{"$max":{"a":5.5}}"#,
            r#"{"_id":1,"a":5.5}"#,
        ),
        (
            r#"{"_id":1,"d":{"$date":"2020-01-01T00:00:00Z"}}"#,
            r#"{"$max":{"d":{"$date":"2021-01-01T00:00:00Z"}}}"#,
            r#"{"_id":1,"d":{"$date":"2021-01-01T00:00:00Z"}}"#,
        ),
        (
            r#"{"_id":1,"d":{"$date":"2020-01-01T00:00:00Z"}}"#,
            r#"{"$min":{"d":{"$date":"2021-01-01T00:00:00Z"}}}"#,
            r#"{"_id":1,"d":{"$date":"2020-01-01T00:00:00Z"}}"#,
        ),
        (
            r#"{"_id":1,"a":[1,2]}"#,
            r#"{"$min":{"a.0":0}}"#,
            r#"{"_id":1,"a":[0,2]}"#,
        ),
        (
            r#"{"_id":1,"a":13}"#,
            r#"{"$bit":{"a":{"and":10}}}"#,
            r#"{"_id":1,"a":8}"#,
        ),
        (
            r#"{"_id":1,"a":13}"#,
            r#"{"$bit":{"a":{"or":10}}}"#,
            r#"{"_id":1,"a":15}"#,
        ),
        (
            r#"{"_id":1,"a":13}"#,
            r#"{"$bit":{"a":{"xor":10}}}"#,
            r#"{"_id":1,"a":7}"#,
        ),
        (
            r#"{"_id":1,"a":{"$numberLong":"1"}}"#,
            r#"{"$bit":{"a":{"or":{"$numberLong":"2"}}}}"#,
            r#"{"_id":1,"a":{"$numberLong":"3"}}"#,
        ),
        (
            r#"{"_id":1,"a":1}"#,
            r#"{"$bit":{"a":{"or":{"$numberLong":"2"}}}}"#,
            r#"{"_id":1,"a":{"$numberLong":"3"}}"#,
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$bit":{"a":{"or":5}}}"#,
            r#"{"_id":1,"a":5}"#,
        ),
        (
            r#"{"_id":1,"a":12}"#,
            r#"{"$bit":{"a":{"and":10,"or":1}}}"#,
            r#"{"_id":1,"a":9}"#,
        ),
    ]);
}

#[test]
fn rename_and_current_date_cases() {
    check_table(&[
        (
            r#"{"_id":1,"a":1,"b":2}"#,
            r#"{"$rename":{"a":"c"}}"#,
            r#"{"_id":1,"b":2,"c":1}"#,
        ),
        (
            r#"{"_id":1,"a":{"b":1}}"#,
            r#"{"$rename":{"a.b":"c"}}"#,
            r#"{"_id":1,"a":{},"c":1}"#,
        ),
        (
            r#"{"_id":1,"a":1}"#,
            r#"{"$rename":{"a":"x.y"}}"#,
            r#"{"_id":1,"x":{"y":1}}"#,
        ),
        (
            r#"{"_id":1,"b":2}"#,
            r#"{"$rename":{"a":"c"}}"#,
            r#"{"_id":1,"b":2}"#,
        ),
        (
            r#"{"_id":1,"a":1,"b":2}"#,
            r#"{"$rename":{"a":"b"}}"#,
            r#"{"_id":1,"b":1}"#,
        ),
        (
            r#"{"_id":1,"b":2,"a":1}"#,
            r#"{"$rename":{"a":"b"}}"#,
            r#"{"_id":1,"b":1}"#,
        ),
        (
            r#"{"_id":1,"a":{"x":1},"b":{"y":2}}"#,
            r#"{"$rename":{"a.x":"b.x"}}"#,
            r#"{"_id":1,"a":{},"b":{"y":2,"x":1}}"#,
        ),
        (
            r#"{"_id":1,"a":1,"b":2}"#,
            r#"{"$rename":{"a":"x","b":"y"}}"#,
            r#"{"_id":1,"x":1,"y":2}"#,
        ),
        (
            r#"{"_id":1,"a":[1,2]}"#,
            r#"{"$rename":{"a":"b"}}"#,
            r#"{"_id":1,"b":[1,2]}"#,
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$currentDate":{"d":true}}"#,
            r#"{"_id":1,"d":{"$date":{"$numberLong":"1700000000000"}}}"#,
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$currentDate":{"d":{"$type":"date"}}}"#,
            r#"{"_id":1,"d":{"$date":{"$numberLong":"1700000000000"}}}"#,
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$currentDate":{"t":{"$type":"timestamp"}}}"#,
            r#"{"_id":1,"t":{"$timestamp":{"t":1700000000,"i":1}}}"#,
        ),
        (
            r#"{"_id":1,"x":{"d":1}}"#,
            r#"{"$currentDate":{"x.d":true}}"#,
            r#"{"_id":1,"x":{"d":{"$date":{"$numberLong":"1700000000000"}}}}"#,
        ),
    ]);
}

#[test]
fn push_cases() {
    check_table(&[
        (
            r#"{"_id":1,"a":[1]}"#,
            r#"{"$push":{"a":2}}"#,
            r#"{"_id":1,"a":[1,2]}"#,
        ),
        // Extreme modifiers must not overflow.
        (
            r#"{"_id":1,"a":[1,2]}"#,
            r#"{"$push":{"a":{"$each":[3],"$slice":{"$numberLong":"-9223372036854775808"},"$position":{"$numberLong":"-9223372036854775808"}}}}"#,
            r#"{"_id":1,"a":[3,1,2]}"#,
        ),
        (
            r#"{"_id":1,"a":[1,2]}"#,
            r#"{"$push":{"a":{"$each":[3],"$slice":{"$numberLong":"9223372036854775807"},"$position":{"$numberLong":"9223372036854775807"}}}}"#,
            r#"{"_id":1,"a":[1,2,3]}"#,
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$push":{"a":2}}"#,
            r#"{"_id":1,"a":[2]}"#,
        ),
        (
            r#"{"_id":1,"a":[]}"#,
            r#"{"$push":{"a":[1,2]}}"#,
            r#"{"_id":1,"a":[[1,2]]}"#,
        ),
        (
            r#"{"_id":1,"a":[1]}"#,
            r#"{"$push":{"a":{"$each":[2,3]}}}"#,
            r#"{"_id":1,"a":[1,2,3]}"#,
        ),
        (
            r#"{"_id":1,"a":[1,2]}"#,
            r#"{"$push":{"a":{"$each":[9],"$position":0}}}"#,
            r#"{"_id":1,"a":[9,1,2]}"#,
        ),
        (
            r#"{"_id":1,"a":[1,2,3]}"#,
            r#"{"$push":{"a":{"$each":[9],"$position":-1}}}"#,
            r#"{"_id":1,"a":[1,2,9,3]}"#,
        ),
        (
            r#"{"_id":1,"a":[1,2]}"#,
            r#"{"$push":{"a":{"$each":[9],"$position":10}}}"#,
            r#"{"_id":1,"a":[1,2,9]}"#,
        ),
        (
            r#"{"_id":1,"a":[1,2]}"#,
            r#"{"$push":{"a":{"$each":[9],"$position":-10}}}"#,
            r#"{"_id":1,"a":[9,1,2]}"#,
        ),
        (
            r#"{"_id":1,"a":[1,2]}"#,
            r#"{"$push":{"a":{"$each":[8,9],"$position":1}}}"#,
            r#"{"_id":1,"a":[1,8,9,2]}"#,
        ),
        (
            r#"{"_id":1,"a":[1,2]}"#,
            r#"{"$push":{"a":{"$each":[3,4],"$slice":3}}}"#,
            r#"{"_id":1,"a":[1,2,3]}"#,
        ),
        (
            r#"{"_id":1,"a":[1,2]}"#,
            r#"{"$push":{"a":{"$each":[3,4],"$slice":-2}}}"#,
            r#"{"_id":1,"a":[3,4]}"#,
        ),
        (
            r#"{"_id":1,"a":[1,2]}"#,
            r#"{"$push":{"a":{"$each":[3],"$slice":0}}}"#,
            r#"{"_id":1,"a":[]}"#,
        ),
        (
            r#"{"_id":1,"a":[1,2]}"#,
            r#"{"$push":{"a":{"$each":[3],"$slice":10}}}"#,
            r#"{"_id":1,"a":[1,2,3]}"#,
        ),
        (
            r#"{"_id":1,"a":[1,2,3]}"#,
            r#"{"$push":{"a":{"$each":[],"$slice":-1}}}"#,
            r#"{"_id":1,"a":[3]}"#,
        ),
        (
            r#"{"_id":1,"a":[1,2,3]}"#,
            r#"{"$push":{"a":{"$each":[]}}}"#,
            r#"{"_id":1,"a":[1,2,3]}"#,
        ),
        (
            r#"{"_id":1,"a":[3,1]}"#,
            r#"{"$push":{"a":{"$each":[2],"$sort":1}}}"#,
            r#"{"_id":1,"a":[1,2,3]}"#,
        ),
        (
            r#"{"_id":1,"a":[3,1]}"#,
            r#"{"$push":{"a":{"$each":[2],"$sort":-1}}}"#,
            r#"{"_id":1,"a":[3,2,1]}"#,
        ),
        (
            r#"{"_id":1,"a":["b",1,null]}"#,
            r#"{"$push":{"a":{"$each":[{"x":1}],"$sort":1}}}"#,
            r#"{"_id":1,"a":[null,1,"b",{"x":1}]}"#,
        ),
        (
            r#"{"_id":1,"a":[{"s":3},{"s":1}]}"#,
            r#"{"$push":{"a":{"$each":[{"s":2}],"$sort":{"s":1}}}}"#,
            r#"{"_id":1,"a":[{"s":1},{"s":2},{"s":3}]}"#,
        ),
        (
            r#"{"_id":1,"a":[{"s":{"t":3}},{"s":{"t":1}}]}"#,
            r#"{"$push":{"a":{"$each":[],"$sort":{"s.t":-1}}}}"#,
            r#"{"_id":1,"a":[{"s":{"t":3}},{"s":{"t":1}}]}"#,
        ),
        (
            r#"{"_id":5,"quizzes":[{"wk":1,"score":10},{"wk":2,"score":8},{"wk":3,"score":5},{"wk":4,"score":6}]}"#,
            r#"{"$push":{"quizzes":{"$each":[{"wk":5,"score":8},{"wk":6,"score":7},{"wk":7,"score":6}],"$sort":{"score":-1},"$slice":3}}}"#,
            r#"{"_id":5,"quizzes":[{"wk":1,"score":10},{"wk":2,"score":8},{"wk":5,"score":8}]}"#,
        ),
        (
            r#"{"_id":1,"scores":[100]}"#,
            r#"{"$push":{"scores":{"$each":[50,60,70],"$position":0}}}"#,
            r#"{"_id":1,"scores":[50,60,70,100]}"#,
        ),
        (
            r#"{"_id":1,"a":[{"x":2,"y":1},{"x":1,"y":2},{"x":1,"y":1}]}"#,
            r#"{"$push":{"a":{"$each":[],"$sort":{"x":1,"y":-1}}}}"#,
            r#"{"_id":1,"a":[{"x":1,"y":2},{"x":1,"y":1},{"x":2,"y":1}]}"#,
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$push":{"x.y":1}}"#,
            r#"{"_id":1,"x":{"y":[1]}}"#,
        ),
        (
            r#"{"_id":1,"a":[[1]]}"#,
            r#"{"$push":{"a.0":2}}"#,
            r#"{"_id":1,"a":[[1,2]]}"#,
        ),
    ]);
}

#[test]
fn add_to_set_pop_pull_cases() {
    check_table(&[
        (
            r#"{"_id":1,"a":[1,2]}"#,
            r#"{"$addToSet":{"a":2}}"#,
            r#"{"_id":1,"a":[1,2]}"#,
        ),
        (
            r#"{"_id":1,"a":[1,2]}"#,
            r#"{"$addToSet":{"a":3}}"#,
            r#"{"_id":1,"a":[1,2,3]}"#,
        ),
        (
            r#"{"_id":1,"a":[1,2]}"#,
            r#"{"$addToSet":{"a":{"$each":[2,3,3,4]}}}"#,
            r#"{"_id":1,"a":[1,2,3,4]}"#,
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$addToSet":{"a":1}}"#,
            r#"{"_id":1,"a":[1]}"#,
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$addToSet":{"a":{"$each":[1,1,2]}}}"#,
            r#"{"_id":1,"a":[1,2]}"#,
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$addToSet":{"a":{"$each":[]}}}"#,
            r#"{"_id":1,"a":[]}"#,
        ),
        (
            r#"{"_id":1,"a":[1]}"#,
            r#"{"$addToSet":{"a":[1]}}"#,
            r#"{"_id":1,"a":[1,[1]]}"#,
        ),
        (
            r#"{"_id":1,"a":[{"x":1,"y":2}]}"#,
            r#"{"$addToSet":{"a":{"y":2,"x":1}}}"#,
            r#"{"_id":1,"a":[{"x":1,"y":2},{"y":2,"x":1}]}"#,
        ),
        (
            r#"{"_id":1,"a":[{"x":1,"y":2}]}"#,
            r#"{"$addToSet":{"a":{"x":1,"y":2}}}"#,
            r#"{"_id":1,"a":[{"x":1,"y":2}]}"#,
        ),
        (
            r#"{"_id":1,"a":[1]}"#,
            r#"{"$addToSet":{"a":1.0}}"#,
            r#"{"_id":1,"a":[1]}"#,
        ),
        (
            r#"{"_id":1,"a":["camera","electronics","accessories"]}"#,
            r#"{"$addToSet":{"a":{"$each":["camera","electronics","accessories","x"]}}}"#,
            r#"{"_id":1,"a":["camera","electronics","accessories","x"]}"#,
        ),
        (
            r#"{"_id":1,"a":[1,2,3]}"#,
            r#"{"$pop":{"a":1}}"#,
            r#"{"_id":1,"a":[1,2]}"#,
        ),
        (
            r#"{"_id":1,"a":[1,2,3]}"#,
            r#"{"$pop":{"a":-1}}"#,
            r#"{"_id":1,"a":[2,3]}"#,
        ),
        (
            r#"{"_id":1,"a":[]}"#,
            r#"{"$pop":{"a":1}}"#,
            r#"{"_id":1,"a":[]}"#,
        ),
        (r#"{"_id":1}"#, r#"{"$pop":{"a":1}}"#, r#"{"_id":1}"#),
        (
            r#"{"_id":1,"a":{"b":{}}}"#,
            r#"{"$pop":{"a.b.c":1}}"#,
            r#"{"_id":1,"a":{"b":{}}}"#,
        ),
        (
            r#"{"_id":1,"a":[{"b":0},{"b":1}]}"#,
            r#"{"$pop":{"a.2.b":1}}"#,
            r#"{"_id":1,"a":[{"b":0},{"b":1}]}"#,
        ),
        (
            r#"{"_id":1,"a":[1]}"#,
            r#"{"$pop":{"a":1.0}}"#,
            r#"{"_id":1,"a":[]}"#,
        ),
        (
            r#"{"_id":1,"a":{"b":[1,2]}}"#,
            r#"{"$pop":{"a.b":-1}}"#,
            r#"{"_id":1,"a":{"b":[2]}}"#,
        ),
        (
            r#"{"_id":1,"a":[1,2,1,3]}"#,
            r#"{"$pull":{"a":1}}"#,
            r#"{"_id":1,"a":[2,3]}"#,
        ),
        (
            r#"{"_id":1,"a":[[1],[2]]}"#,
            r#"{"$pull":{"a":[1]}}"#,
            r#"{"_id":1,"a":[[2]]}"#,
        ),
        (
            r#"{"_id":1,"a":[1,1.0,{"$numberLong":"1"},2]}"#,
            r#"{"$pull":{"a":1}}"#,
            r#"{"_id":1,"a":[2]}"#,
        ),
        (r#"{"_id":1}"#, r#"{"$pull":{"a":1}}"#, r#"{"_id":1}"#),
        (
            r#"{"_id":1,"a":[1,2]}"#,
            r#"{"$pull":{"a":5}}"#,
            r#"{"_id":1,"a":[1,2]}"#,
        ),
        (
            r#"{"_id":1,"a":["x",null,"y"]}"#,
            r#"{"$pull":{"a":null}}"#,
            r#"{"_id":1,"a":["x","y"]}"#,
        ),
        (
            r#"{"_id":1,"a":[0,2,5,5,1,0]}"#,
            r#"{"$pullAll":{"a":[0,5]}}"#,
            r#"{"_id":1,"a":[2,1]}"#,
        ),
        (
            r#"{"_id":1,"a":[0,2]}"#,
            r#"{"$pullAll":{"a":[]}}"#,
            r#"{"_id":1,"a":[0,2]}"#,
        ),
        (r#"{"_id":1}"#, r#"{"$pullAll":{"a":[1]}}"#, r#"{"_id":1}"#),
        (
            r#"{"_id":1,"a":[{"x":1},{"x":2}]}"#,
            r#"{"$pullAll":{"a":[{"x":1}]}}"#,
            r#"{"_id":1,"a":[{"x":2}]}"#,
        ),
    ]);
}

#[test]
fn multiple_operators_apply_in_path_order() {
    check_table(&[
        (
            r#"{"_id":1,"a":1,"b":[1]}"#,
            r#"{"$inc":{"a":1},"$push":{"b":2},"$set":{"c":1}}"#,
            r#"{"_id":1,"a":2,"b":[1,2],"c":1}"#,
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$set":{"z":1},"$inc":{"a":1}}"#,
            r#"{"_id":1,"a":1,"z":1}"#,
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$set":{"m.z":1},"$inc":{"m.a":1},"$push":{"b":0}}"#,
            r#"{"_id":1,"b":[0],"m":{"a":1,"z":1}}"#,
        ),
        (
            r#"{"_id":1,"a":1}"#,
            r#"{"$rename":{"a":"z"},"$set":{"b":1}}"#,
            r#"{"_id":1,"b":1,"z":1}"#,
        ),
        (
            r#"{"_id":1,"k":1,"a":2}"#,
            r#"{"$unset":{"k":1},"$set":{"c":3},"$min":{"a":1}}"#,
            r#"{"_id":1,"a":1,"c":3}"#,
        ),
    ]);
}

#[test]
fn modified_reports_real_changes_only() {
    let cases: &[(&str, &str, bool)] = &[
        (r#"{"_id":1,"a":1}"#, r#"{"$set":{"a":1}}"#, false),
        (r#"{"_id":1,"a":1}"#, r#"{"$set":{"a":1.0}}"#, true),
        (r#"{"_id":1,"a":1}"#, r#"{"$set":{"a":2}}"#, true),
        (r#"{"_id":1}"#, r#"{"$unset":{"a":1}}"#, false),
        (r#"{"_id":1,"a":1}"#, r#"{"$inc":{"a":0}}"#, false),
        (r#"{"_id":1,"a":5}"#, r#"{"$min":{"a":6}}"#, false),
        (r#"{"_id":1,"a":5}"#, r#"{"$max":{"a":6}}"#, true),
        (r#"{"_id":1,"a":[1]}"#, r#"{"$addToSet":{"a":1}}"#, false),
        (r#"{"_id":1,"a":[1]}"#, r#"{"$addToSet":{"a":2}}"#, true),
        (r#"{"_id":1,"a":[]}"#, r#"{"$pop":{"a":1}}"#, false),
        (r#"{"_id":1,"a":[1]}"#, r#"{"$pull":{"a":2}}"#, false),
        (r#"{"_id":1,"a":[1]}"#, r#"{"$pull":{"a":1}}"#, true),
        (
            r#"{"_id":1,"a":[1]}"#,
            r#"{"$push":{"a":{"$each":[]}}}"#,
            false,
        ),
        (r#"{"_id":1}"#, r#"{"$rename":{"a":"b"}}"#, false),
        (r#"{"_id":1}"#, r#"{"$setOnInsert":{"a":1}}"#, false),
        // MongoDB 5.0+: an empty operand is a no-op ("$set" manual page).
        (r#"{"_id":1,"a":1}"#, r#"{"$set":{}}"#, false),
        (r#"{"_id":1,"a":1}"#, r#"{"$set":{},"$unset":{}}"#, false),
        (r#"{"_id":1,"a":1}"#, r#"{"$set":{},"$inc":{"a":1}}"#, true),
        (r#"{"_id":1}"#, r#"{"$set":{"_id":1}}"#, false),
        (
            r#"{"_id":1,"a":{"b":1,"c":2}}"#,
            r#"{"$set":{"a":{"c":2,"b":1}}}"#,
            true,
        ),
        (r#"{"_id":1,"a":1}"#, r#"{"a":1}"#, true),
        (r#"{"_id":1,"a":1}"#, r#"{"_id":1,"a":1}"#, false),
        (r#"{"_id":1,"a":1}"#, r#"{"a":2}"#, true),
        (r#"{"_id":1,"a":1,"b":1}"#, r#"{"b":1,"a":1}"#, true),
    ];
    for (doc, update, want) in cases {
        let out = run(doc, update).unwrap_or_else(|e| panic!("{doc} + {update}: {e}"));
        assert_eq!(out.modified, *want, "{doc} + {update}");
    }
}

#[test]
fn parsed_update_is_reusable_and_does_not_touch_input() {
    let u = Update::parse(&j(r#"{"$inc":{"n":1}}"#), &UpdateOptions::default()).expect("parses");
    let original = d(r#"{"_id":1,"n":1}"#);
    let once = u.apply(&original, &ctx()).expect("applies");
    let twice = u.apply(&once.document, &ctx()).expect("applies");
    assert_eq!(canon(&original), canon(&d(r#"{"_id":1,"n":1}"#)));
    assert_eq!(canon(&twice.document), canon(&d(r#"{"_id":1,"n":3}"#)));
    assert!(!u.is_replacement());
    assert!(!u.is_pipeline());
}
