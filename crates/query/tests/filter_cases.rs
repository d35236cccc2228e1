//! Data-driven filter matching: one fixed collection covering every BSON shape the matcher
//! distinguishes (scalars of each type, null, missing, flat/nested arrays, embedded documents,
//! arrays of documents, numeric-looking field names), and a table of filters with the `_id`s
//! MongoDB returns for each. Every case asserts on every document, on both the owned
//! (`matches`) and raw (`matches_raw`) paths.

use bson::{Bson, Document, RawDocumentBuf};
use stratus_query::filter::Filter;

/// The collection; `_id`s are the numbers the tables refer to.
const DOCS: &str = r#"[
  {"_id": 1, "a": 1},
  {"_id": 2, "a": 2.5},
  {"_id": 3, "a": "x"},
  {"_id": 4, "a": null},
  {"_id": 5},
  {"_id": 6, "a": [1, 2, 3]},
  {"_id": 7, "a": [[1, 2], 3]},
  {"_id": 8, "a": {"b": 1}},
  {"_id": 9, "a": [{"b": 1}, {"b": 2, "c": "y"}]},
  {"_id": 10, "a": [{"b": [5, 6]}, {"c": 1}]},
  {"_id": 11, "a": []},
  {"_id": 12, "a": [null, 4]},
  {"_id": 13, "a": {"$numberLong": "1"}},
  {"_id": 14, "a": "abc\ndef"},
  {"_id": 15, "a": true},
  {"_id": 16, "a": {"$date": "2020-01-01T00:00:00Z"}},
  {"_id": 17, "a": {"$minKey": 1}},
  {"_id": 18, "a": {"$maxKey": 1}},
  {"_id": 19, "a": {"$numberDouble": "NaN"}},
  {"_id": 20, "a": {"b": null}},
  {"_id": 21, "a": 5},
  {"_id": 22, "a": [{"b": {"c": 1}}, {"b": {"c": 2}}]},
  {"_id": 23, "a": {"$regularExpression": {"pattern": "^x", "options": "i"}}},
  {"_id": 24, "a": [1, "x", {"b": 1}]},
  {"_id": 25, "a": {"$numberDecimal": "2.5"}},
  {"_id": 26, "a": {"b": 1, "c": 2}},
  {"_id": 27, "a": {"c": 2, "b": 1}},
  {"_id": 28, "a": [[{"b": 1}]]},
  {"_id": 29, "a": {"0": 7}},
  {"_id": 30, "a": [{"0": 8}, 9]}
]"#;

const ALL: i32 = 30;

/// Expected result of a filter over [`DOCS`].
enum Want {
    /// Exactly these `_id`s.
    Only(&'static [i32]),
    /// Every `_id` except these.
    Except(&'static [i32]),
}
use Want::{Except, Only};

fn ejson_doc(s: &str) -> Document {
    let v: serde_json::Value = serde_json::from_str(s).unwrap_or_else(|e| panic!("{s}: {e}"));
    match Bson::try_from(v).unwrap_or_else(|e| panic!("{s}: {e}")) {
        Bson::Document(d) => d,
        other => panic!("not a document: {other}"),
    }
}

fn docs() -> Vec<Document> {
    let v: serde_json::Value = serde_json::from_str(DOCS).expect("collection JSON");
    match Bson::try_from(v).expect("collection EJSON") {
        Bson::Array(items) => items
            .into_iter()
            .map(|d| match d {
                Bson::Document(d) => d,
                other => panic!("not a document: {other}"),
            })
            .collect(),
        other => panic!("not an array: {other}"),
    }
}

fn id(d: &Document) -> i32 {
    d.get_i32("_id").expect("_id is an int")
}

fn run(cases: &[(&str, Want)]) -> usize {
    let docs = docs();
    assert_eq!(docs.len(), ALL as usize);
    let raws: Vec<RawDocumentBuf> = docs
        .iter()
        .map(|d| RawDocumentBuf::try_from(d).expect("encodable"))
        .collect();
    let mut assertions = 0;
    let mut failures = Vec::new();
    for (filter, want) in cases {
        let f = Filter::parse(&ejson_doc(filter)).unwrap_or_else(|e| panic!("{filter}: {e}"));
        let mut got = Vec::new();
        for (d, raw) in docs.iter().zip(&raws) {
            let owned = f.matches(d);
            assert_eq!(
                owned,
                f.matches_raw(raw),
                "raw/owned disagree: {filter} on {d}"
            );
            assert_eq!(
                owned,
                f.matches_with_details(d).is_some(),
                "details: {filter}"
            );
            if owned {
                got.push(id(d));
            }
            assertions += 1;
        }
        let expected: Vec<i32> = match want {
            Only(ids) => ids.to_vec(),
            Except(ids) => (1..=ALL).filter(|i| !ids.contains(i)).collect(),
        };
        if got != expected {
            failures.push(format!("{filter}\n   want {expected:?}\n   got  {got:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing filters:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assertions
}

#[test]
fn equality_and_null() {
    let n = run(&[
        (r#"{"a": 1}"#, Only(&[1, 6, 13, 24])),
        (r#"{"a": {"$eq": 1}}"#, Only(&[1, 6, 13, 24])),
        (r#"{"a": {"$numberLong": "1"}}"#, Only(&[1, 6, 13, 24])),
        (r#"{"a": 1.0}"#, Only(&[1, 6, 13, 24])),
        (r#"{"a": 2.5}"#, Only(&[2, 25])),
        (r#"{"a": {"$numberDecimal": "2.50"}}"#, Only(&[2, 25])),
        (r#"{"a": "x"}"#, Only(&[3, 24])),
        (r#"{"a": null}"#, Only(&[4, 5, 12])),
        (r#"{"a": {"$eq": null}}"#, Only(&[4, 5, 12])),
        (r#"{"a": {"$ne": null}}"#, Except(&[4, 5, 12])),
        (r#"{"a": {"$ne": 1}}"#, Except(&[1, 6, 13, 24])),
        (r#"{"a": [1, 2, 3]}"#, Only(&[6])),
        (r#"{"a": [1, 2]}"#, Only(&[7])),
        (r#"{"a": [3, 2, 1]}"#, Only(&[])),
        (r#"{"a": []}"#, Only(&[11])),
        (r#"{"a": {"b": 1}}"#, Only(&[8, 9, 24])),
        (r#"{"a": {"b": 1, "c": 2}}"#, Only(&[26])),
        (r#"{"a": {"c": 2, "b": 1}}"#, Only(&[27])),
        (r#"{"a": {}}"#, Only(&[])),
        (r#"{"a": true}"#, Only(&[15])),
        (r#"{"a": 1, "_id": 6}"#, Only(&[6])),
        (r#"{"a": {"$date": "2020-01-01T00:00:00Z"}}"#, Only(&[16])),
        (r#"{"a": {"$minKey": 1}}"#, Only(&[17])),
        (r#"{"a": {"$maxKey": 1}}"#, Only(&[18])),
        (r#"{"a": {"$numberDouble": "NaN"}}"#, Only(&[19])),
        (r#"{"a": {"b": null}}"#, Only(&[20])),
        (r#"{"a": {"$eq": [1, 2, 3]}}"#, Only(&[6])),
        (r#"{"b": null}"#, Except(&[])),
        (r#"{"b": 1}"#, Only(&[])),
        (r#"{"_id": 3}"#, Only(&[3])),
        (r#"{}"#, Except(&[])),
    ]);
    assert_eq!(n, 31 * ALL as usize);
}

#[test]
fn dotted_paths_and_arrays() {
    run(&[
        (r#"{"a.b": 1}"#, Only(&[8, 9, 24, 26, 27])),
        (r#"{"a.b": 2}"#, Only(&[9])),
        (r#"{"a.b": 6}"#, Only(&[10])),
        (r#"{"a.b": [5, 6]}"#, Only(&[10])),
        (r#"{"a.c": "y"}"#, Only(&[9])),
        (
            r#"{"a.b": null}"#,
            Only(&[
                1, 2, 3, 4, 5, 10, 13, 14, 15, 16, 17, 18, 19, 20, 21, 23, 25, 29, 30,
            ]),
        ),
        (
            r#"{"a.b": {"$exists": true}}"#,
            Only(&[8, 9, 10, 20, 22, 24, 26, 27]),
        ),
        (r#"{"a.0": 1}"#, Only(&[6, 7, 24])),
        (r#"{"a.0": 8}"#, Only(&[30])),
        (r#"{"a.0": 7}"#, Only(&[29])),
        (r#"{"a.1": 9}"#, Only(&[30])),
        (r#"{"a.1": 2}"#, Only(&[6])),
        (r#"{"a.0.1": 2}"#, Only(&[7])),
        (r#"{"a.0.b": 1}"#, Only(&[9, 28])),
        (r#"{"a.1.b": 2}"#, Only(&[9])),
        (r#"{"a.5": {"$exists": true}}"#, Only(&[])),
        (
            r#"{"a.0": {"$exists": true}}"#,
            Only(&[6, 7, 9, 10, 12, 22, 24, 28, 29, 30]),
        ),
        (r#"{"a.b.c": 1}"#, Only(&[22])),
        (r#"{"a.b.c": 2}"#, Only(&[22])),
        (r#"{"a.1.b.c": 2}"#, Only(&[22])),
        (r#"{"a.0.b.c": 2}"#, Only(&[])),
        (r#"{"a.b": {"c": 2}}"#, Only(&[22])),
        (r#"{"a.b.0": 5}"#, Only(&[10])),
        (r#"{"a.b": {"$gt": 5}}"#, Only(&[10])),
        (r#"{"a.b": {"$size": 2}}"#, Only(&[10])),
    ]);
}

#[test]
fn comparisons_stay_in_their_type_bracket() {
    run(&[
        (r#"{"a": {"$gt": 1}}"#, Only(&[2, 6, 7, 12, 21, 25, 30])),
        (
            r#"{"a": {"$gte": 1}}"#,
            Only(&[1, 2, 6, 7, 12, 13, 21, 24, 25, 30]),
        ),
        (r#"{"a": {"$lt": 2}}"#, Only(&[1, 6, 13, 24])),
        (r#"{"a": {"$lte": 2.5}}"#, Only(&[1, 2, 6, 13, 24, 25])),
        (r#"{"a": {"$gt": 1, "$lt": 3}}"#, Only(&[2, 6, 25])),
        (r#"{"a": {"$lte": null}}"#, Only(&[4, 5, 12])),
        (r#"{"a": {"$gte": null}}"#, Only(&[4, 5, 12])),
        (r#"{"a": {"$gt": null}}"#, Only(&[])),
        (r#"{"a": {"$lt": null}}"#, Only(&[])),
        (r#"{"a": {"$gt": "a"}}"#, Only(&[3, 14, 24])),
        (r#"{"a": {"$lt": "b"}}"#, Only(&[14])),
        (r#"{"a": {"$gte": false}}"#, Only(&[15])),
        (
            r#"{"a": {"$gt": {"$date": "2019-01-01T00:00:00Z"}}}"#,
            Only(&[16]),
        ),
        (
            r#"{"a": {"$lt": {"$date": "2019-01-01T00:00:00Z"}}}"#,
            Only(&[]),
        ),
        (r#"{"a": {"$gt": {"$minKey": 1}}}"#, Except(&[17])),
        (r#"{"a": {"$gte": {"$minKey": 1}}}"#, Except(&[])),
        (r#"{"a": {"$lt": {"$maxKey": 1}}}"#, Except(&[18])),
        (r#"{"a": {"$lt": {"$minKey": 1}}}"#, Only(&[])),
        (r#"{"a": {"$gt": {"$maxKey": 1}}}"#, Only(&[])),
        (r#"{"a": {"$gte": {"$numberDouble": "NaN"}}}"#, Only(&[19])),
        (r#"{"a": {"$lt": {"$numberDouble": "NaN"}}}"#, Only(&[])),
        (r#"{"a": {"$gt": {"$numberDouble": "NaN"}}}"#, Only(&[])),
        (
            r#"{"a": {"$gt": {"$numberDouble": "-Infinity"}}}"#,
            Only(&[1, 2, 6, 7, 12, 13, 21, 24, 25, 30]),
        ),
        (
            r#"{"a": {"$gt": {"b": 0}}}"#,
            Only(&[8, 9, 10, 22, 24, 26, 27]),
        ),
        (
            r#"{"a": {"$gt": [1, 2]}}"#,
            Only(&[6, 7, 9, 10, 22, 24, 28, 30]),
        ),
        (r#"{"a": {"$lt": []}}"#, Only(&[])),
        (
            r#"{"a": {"$gte": []}}"#,
            Only(&[6, 7, 9, 10, 11, 12, 22, 24, 28, 30]),
        ),
        (r#"{"a": {"$gt": {"$numberLong": "4"}}}"#, Only(&[21, 30])),
        (
            r#"{"a": {"$gte": {"$numberDecimal": "2.5"}}}"#,
            Only(&[2, 6, 7, 12, 21, 25, 30]),
        ),
        (
            r#"{"a": {"$not": {"$gt": 1}}}"#,
            Except(&[2, 6, 7, 12, 21, 25, 30]),
        ),
    ]);
}

#[test]
fn membership_and_logic() {
    run(&[
        (r#"{"a": {"$in": [1, "x"]}}"#, Only(&[1, 3, 6, 13, 24])),
        (r#"{"a": {"$nin": [1, "x"]}}"#, Except(&[1, 3, 6, 13, 24])),
        (r#"{"a": {"$in": [null]}}"#, Only(&[4, 5, 12])),
        (r#"{"a": {"$in": [null, 5]}}"#, Only(&[4, 5, 12, 21])),
        (r#"{"a": {"$nin": [null]}}"#, Except(&[4, 5, 12])),
        (r#"{"a": {"$in": []}}"#, Only(&[])),
        (r#"{"a": {"$nin": []}}"#, Except(&[])),
        (
            r#"{"a": {"$in": [[1, 2], {"b": 1}]}}"#,
            Only(&[7, 8, 9, 24]),
        ),
        (
            r#"{"a": {"$in": [{"$regularExpression": {"pattern": "^X", "options": "i"}}]}}"#,
            Only(&[3, 24]),
        ),
        (
            r#"{"a": {"$in": [{"$regularExpression": {"pattern": "def$", "options": ""}}, 2.5]}}"#,
            Only(&[2, 14, 25]),
        ),
        (
            r#"{"$or": [{"a": 1}, {"a": "x"}]}"#,
            Only(&[1, 3, 6, 13, 24]),
        ),
        (
            r#"{"$or": [{"a": 1}, {"_id": 30}]}"#,
            Only(&[1, 6, 13, 24, 30]),
        ),
        (
            r#"{"$and": [{"a": {"$gt": 0}}, {"a": {"$lt": 2}}]}"#,
            Only(&[1, 6, 13, 24]),
        ),
        (r#"{"$and": [{"a": 1}, {"a": 2}]}"#, Only(&[6])),
        (r#"{"$nor": [{"a": {"$exists": true}}]}"#, Only(&[5])),
        (
            r#"{"$nor": [{"a": 1}, {"a": null}]}"#,
            Except(&[1, 4, 5, 6, 12, 13, 24]),
        ),
        (
            r#"{"$or": [{"$and": [{"a": 1}, {"_id": 1}]}, {"_id": 2}]}"#,
            Only(&[1, 2]),
        ),
        (r#"{"a": {"$exists": true}}"#, Except(&[5])),
        (r#"{"a": {"$exists": false}}"#, Only(&[5])),
        (r#"{"a": {"$exists": 0}}"#, Only(&[5])),
        (r#"{"a": {"$exists": 1}}"#, Except(&[5])),
        (r#"{"a": {"$not": {"$exists": true}}}"#, Only(&[5])),
        (r#"{"$comment": "hello", "a": 1}"#, Only(&[1, 6, 13, 24])),
        (r#"{"$alwaysFalse": 1}"#, Only(&[])),
        (r#"{"$alwaysTrue": 1}"#, Except(&[])),
        (r#"{"a": {"$all": [1, 2]}}"#, Only(&[6])),
        (r#"{"a": {"$all": [1]}}"#, Only(&[1, 6, 13, 24])),
        (r#"{"a": {"$all": [[1, 2]]}}"#, Only(&[7])),
        (r#"{"a": {"$all": []}}"#, Only(&[])),
        (r#"{"a": {"$all": [1, "x", {"b": 1}]}}"#, Only(&[24])),
        (r#"{"a": {"$all": [{"$elemMatch": {"b": 2}}]}}"#, Only(&[9])),
        (
            r#"{"a": {"$all": [{"$elemMatch": {"b": 1}}, {"$elemMatch": {"c": "y"}}]}}"#,
            Only(&[9]),
        ),
        (
            r#"{"a": {"$all": [{"$regularExpression": {"pattern": "^x", "options": ""}}]}}"#,
            Only(&[3, 24]),
        ),
    ]);
}

#[test]
fn element_operators() {
    run(&[
        (r#"{"a": {"$size": 3}}"#, Only(&[6, 24])),
        (r#"{"a": {"$size": 0}}"#, Only(&[11])),
        (r#"{"a": {"$size": 2}}"#, Only(&[7, 9, 10, 12, 22, 30])),
        (r#"{"a": {"$size": 2.0}}"#, Only(&[7, 9, 10, 12, 22, 30])),
        (r#"{"a": {"$size": 1}}"#, Only(&[28])),
        (
            r#"{"a": {"$type": "array"}}"#,
            Only(&[6, 7, 9, 10, 11, 12, 22, 24, 28, 30]),
        ),
        (
            r#"{"a": {"$type": 4}}"#,
            Only(&[6, 7, 9, 10, 11, 12, 22, 24, 28, 30]),
        ),
        (
            r#"{"a": {"$type": "number"}}"#,
            Only(&[1, 2, 6, 7, 12, 13, 19, 21, 24, 25, 30]),
        ),
        (r#"{"a": {"$type": "double"}}"#, Only(&[2, 19])),
        (r#"{"a": {"$type": 1}}"#, Only(&[2, 19])),
        (
            r#"{"a": {"$type": "int"}}"#,
            Only(&[1, 6, 7, 12, 21, 24, 30]),
        ),
        (r#"{"a": {"$type": "long"}}"#, Only(&[13])),
        (r#"{"a": {"$type": "decimal"}}"#, Only(&[25])),
        (r#"{"a": {"$type": "string"}}"#, Only(&[3, 14, 24])),
        (r#"{"a": {"$type": 10}}"#, Only(&[4, 12])),
        (r#"{"a": {"$type": "null"}}"#, Only(&[4, 12])),
        (
            r#"{"a": {"$type": "object"}}"#,
            Only(&[8, 9, 10, 20, 22, 24, 26, 27, 29, 30]),
        ),
        (r#"{"a": {"$type": "minKey"}}"#, Only(&[17])),
        (r#"{"a": {"$type": -1}}"#, Only(&[17])),
        (r#"{"a": {"$type": 127}}"#, Only(&[18])),
        (r#"{"a": {"$type": ["bool", "date"]}}"#, Only(&[15, 16])),
        (r#"{"a": {"$type": "regex"}}"#, Only(&[23])),
        (r#"{"a": {"$type": []}}"#, Only(&[])),
        (
            r#"{"a": {"$mod": [2, 1]}}"#,
            Only(&[1, 6, 7, 13, 21, 24, 30]),
        ),
        (r#"{"a": {"$mod": [2, 0]}}"#, Only(&[2, 6, 12, 25])),
        (
            r#"{"a": {"$mod": [2.9, 1.1]}}"#,
            Only(&[1, 6, 7, 13, 21, 24, 30]),
        ),
        (r#"{"a": {"$mod": [-3, 2]}}"#, Only(&[2, 6, 21, 25])),
        (
            r#"{"a": {"$bitsAllSet": [0]}}"#,
            Only(&[1, 6, 7, 13, 21, 24, 30]),
        ),
        (
            r#"{"a": {"$bitsAllSet": 1}}"#,
            Only(&[1, 6, 7, 13, 21, 24, 30]),
        ),
        (r#"{"a": {"$bitsAllClear": [0]}}"#, Only(&[6, 12])),
        (
            r#"{"a": {"$bitsAnySet": [0, 2]}}"#,
            Only(&[1, 6, 7, 12, 13, 21, 24, 30]),
        ),
        (
            r#"{"a": {"$bitsAnyClear": 5}}"#,
            Only(&[1, 6, 7, 12, 13, 24, 30]),
        ),
        (r#"{"a": {"$bitsAllSet": [0, 3]}}"#, Only(&[30])),
        (r#"{"a": {"$elemMatch": {"b": 1}}}"#, Only(&[9, 24])),
        (r#"{"a": {"$elemMatch": {"$gt": 1, "$lt": 3}}}"#, Only(&[6])),
        (
            r#"{"a": {"$elemMatch": {"b": {"$gte": 2}, "c": "y"}}}"#,
            Only(&[9]),
        ),
        (r#"{"a": {"$elemMatch": {"b": 1, "c": "y"}}}"#, Only(&[])),
        (
            r#"{"a": {"$elemMatch": {}}}"#,
            Only(&[7, 9, 10, 22, 24, 28, 30]),
        ),
        (r#"{"a": {"$elemMatch": {"$eq": null}}}"#, Only(&[12])),
        (
            r#"{"a": {"$elemMatch": {"$type": "array"}}}"#,
            Only(&[7, 28]),
        ),
        (r#"{"a": {"$elemMatch": {"$size": 2}}}"#, Only(&[7])),
        (
            r#"{"a": {"$elemMatch": {"$not": {"$type": "number"}}}}"#,
            Only(&[7, 9, 10, 12, 22, 24, 28, 30]),
        ),
        (r#"{"a": {"$elemMatch": {"$in": [2, 9]}}}"#, Only(&[6, 30])),
        (r#"{"a": {"$elemMatch": {"0": {"b": 1}}}}"#, Only(&[28])),
        (
            r#"{"a": {"$elemMatch": {"$or": [{"b": 2}, {"c": 1}]}}}"#,
            Only(&[9, 10]),
        ),
        (
            r#"{"a": {"$elemMatch": {"b": {"$elemMatch": {"$gt": 5}}}}}"#,
            Only(&[10]),
        ),
        (r#"{"a.b": {"$elemMatch": {"$gt": 5}}}"#, Only(&[10])),
        (r#"{"a": {"$elemMatch": {"b.c": 2}}}"#, Only(&[22])),
    ]);
}

#[test]
fn regexes() {
    run(&[
        (
            r#"{"a": {"$regularExpression": {"pattern": "^x", "options": "i"}}}"#,
            Only(&[3, 23, 24]),
        ),
        (
            r#"{"a": {"$regularExpression": {"pattern": "^x", "options": ""}}}"#,
            Only(&[3, 24]),
        ),
        (r#"{"a": {"$regex": "^X"}}"#, Only(&[])),
        (
            r#"{"a": {"$regex": "^X", "$options": "i"}}"#,
            Only(&[3, 24]),
        ),
        (
            r#"{"a": {"$options": "i", "$regex": "^X"}}"#,
            Only(&[3, 24]),
        ),
        (
            r#"{"a": {"$regex": {"$regularExpression": {"pattern": "^X", "options": "i"}}}}"#,
            Only(&[3, 24]),
        ),
        (r#"{"a": {"$regex": "^def"}}"#, Only(&[])),
        (r#"{"a": {"$regex": "^def", "$options": "m"}}"#, Only(&[14])),
        (r#"{"a": {"$regex": "c.d"}}"#, Only(&[])),
        (r#"{"a": {"$regex": "c.d", "$options": "s"}}"#, Only(&[14])),
        (
            r#"{"a": {"$regex": "a b c # letters", "$options": "x"}}"#,
            Only(&[14]),
        ),
        (r#"{"a": {"$regex": ""}}"#, Only(&[3, 14, 24])),
        (
            r#"{"a": {"$not": {"$regularExpression": {"pattern": "^x", "options": ""}}}}"#,
            Except(&[3, 24]),
        ),
        (r#"{"a": {"$not": {"$regex": "^x"}}}"#, Except(&[3, 24])),
        (
            r#"{"a": {"$eq": {"$regularExpression": {"pattern": "^x", "options": "i"}}}}"#,
            Only(&[23]),
        ),
        (r#"{"a.c": {"$regex": "y"}}"#, Only(&[9])),
    ]);
}

#[test]
fn expr_uses_truthiness() {
    run(&[
        (r#"{"$expr": "$a"}"#, Except(&[4, 5])),
        (r#"{"$expr": {"$literal": false}}"#, Only(&[])),
        (r#"{"$expr": {"$literal": 1}}"#, Except(&[])),
        (r#"{"$expr": "$_id", "a": 1}"#, Only(&[1, 6, 13, 24])),
        // Aggregation comparisons use the full BSON order (no type brackets).
        (
            r#"{"$expr": {"$gt": ["$a", 2]}}"#,
            Except(&[1, 4, 5, 13, 17, 19]),
        ),
        (
            r#"{"$expr": {"$eq": ["$_id", {"$add": [1, 1]}]}}"#,
            Only(&[2]),
        ),
        (
            r#"{"$expr": {"$and": [{"$isArray": "$a"}, {"$gt": [{"$size": "$a"}, 2]}]}}"#,
            Only(&[6, 24]),
        ),
        // An evaluation error makes the document not match.
        (r#"{"$expr": {"$divide": [1, 0]}}"#, Only(&[])),
    ]);
}

#[test]
fn expr_sees_let_variables() {
    let docs = docs();
    let f =
        Filter::parse(&ejson_doc(r#"{"$expr": {"$eq": ["$_id", "$$id"]}}"#)).expect("valid filter");
    // Unbound variable: evaluation fails, nothing matches.
    assert!(docs.iter().all(|d| !f.matches(d)));
    let f = f.with_variables(&ejson_doc(r#"{"id": 6}"#));
    let hits: Vec<i32> = docs.iter().filter(|d| f.matches(d)).map(id).collect();
    assert_eq!(hits, vec![6]);
    let raw = RawDocumentBuf::try_from(&docs[5]).expect("encodable");
    assert!(f.matches_raw(&raw));
    // `$$ROOT` and `$$CURRENT` are always bound.
    let f = Filter::parse(&ejson_doc(
        r#"{"$expr": {"$eq": ["$$ROOT.a", "$$CURRENT.a"]}}"#,
    ))
    .expect("valid filter");
    assert!(docs.iter().all(|d| f.matches(d)));
}

#[test]
fn match_details_report_the_array_position() {
    let cases: &[(&str, &str, Option<usize>)] = &[
        (r#"{"a": 2}"#, r#"{"a": [1, 2, 3]}"#, Some(1)),
        (r#"{"a": [1, 2]}"#, r#"{"a": [1, 2]}"#, None),
        (r#"{"a": 5}"#, r#"{"a": 5}"#, None),
        (r#"{"a.b": 2}"#, r#"{"a": [{"b": 1}, {"b": 2}]}"#, Some(1)),
        (
            r#"{"a.b": 6}"#,
            r#"{"a": [{"b": 1}, {"b": [5, 6]}]}"#,
            Some(1),
        ),
        (
            r#"{"a": {"$elemMatch": {"b": 2}}}"#,
            r#"{"a": [{"b": 1}, {"b": 2}]}"#,
            Some(1),
        ),
        (r#"{"a": {"$gt": 2}}"#, r#"{"a": [1, 2, 3, 4]}"#, Some(2)),
        (
            r#"{"x": 1, "a": 3}"#,
            r#"{"x": 1, "a": [1, 2, 3]}"#,
            Some(2),
        ),
        (
            r#"{"a": 3, "b": 1}"#,
            r#"{"a": [1, 2, 3], "b": [0, 1]}"#,
            Some(2),
        ),
        (
            r#"{"$or": [{"a": 9}, {"a": 2}]}"#,
            r#"{"a": [1, 2]}"#,
            Some(1),
        ),
        (r#"{"a": {"$ne": 9}}"#, r#"{"a": [1, 2]}"#, None),
        (
            r#"{"a.b.c": 1}"#,
            r#"{"a": {"b": [{"c": 0}, {"c": 1}]}}"#,
            Some(1),
        ),
    ];
    for (f, d, want) in cases {
        let filter = Filter::parse(&ejson_doc(f)).expect("valid filter");
        let details = filter.matches_with_details(&ejson_doc(d));
        let details = details.unwrap_or_else(|| panic!("{f} should match {d}"));
        assert_eq!(details.elem_match_index, *want, "{f} on {d}");
    }
}
