//! Filter parse errors: MongoDB's error code and a message naming the operator or field.

use bson::{Bson, Document, doc};
use stratus_query::filter::Filter;
use stratus_query::limits::MAX_NESTING_DEPTH;

fn ejson_doc(s: &str) -> Document {
    let v: serde_json::Value = serde_json::from_str(s).unwrap_or_else(|e| panic!("{s}: {e}"));
    match Bson::try_from(v).unwrap_or_else(|e| panic!("{s}: {e}")) {
        Bson::Document(d) => d,
        other => panic!("not a document: {other}"),
    }
}

#[test]
fn parse_errors_carry_mongodb_codes() {
    let cases: &[(&str, i32, &str)] = &[
        (r#"{"a": {"$foo": 1}}"#, 2, "unknown operator: $foo"),
        (r#"{"a": {"$gt": 1, "b": 1}}"#, 2, "unknown operator: b"),
        (r#"{"$foo": 1}"#, 2, "unknown top level operator: $foo"),
        (r#"{"$and": []}"#, 2, "$and must be a nonempty array"),
        (r#"{"$or": []}"#, 2, "$or must be a nonempty array"),
        (r#"{"$nor": []}"#, 2, "$nor must be a nonempty array"),
        (r#"{"$or": 1}"#, 2, "$or must be an array"),
        (
            r#"{"$nor": [1]}"#,
            2,
            "$nor argument's entries must be objects",
        ),
        (
            r#"{"$and": [{"a": {"$bad": 1}}]}"#,
            2,
            "unknown operator: $bad",
        ),
        (r#"{"a": {"$in": 1}}"#, 2, "$in needs an array"),
        (r#"{"a": {"$nin": {}}}"#, 2, "$nin needs an array"),
        (
            r#"{"a": {"$in": [{"$gt": 1}]}}"#,
            2,
            "cannot nest $ under $in",
        ),
        (
            r#"{"a": {"$regex": "("}}"#,
            51091,
            "Regular expression is invalid",
        ),
        (
            r#"{"a": {"$regex": "a", "$options": "z"}}"#,
            51108,
            "invalid flag in regex options: z",
        ),
        (r#"{"a": {"$options": "i"}}"#, 2, "$options needs a $regex"),
        (r#"{"a": {"$regex": 5}}"#, 2, "$regex has to be a string"),
        (
            r#"{"a": {"$regex": {"$regularExpression": {"pattern": "a", "options": "i"}}, "$options": "m"}}"#,
            51075,
            "options set in both $regex and $options",
        ),
        (
            r#"{"a": {"$regularExpression": {"pattern": "(", "options": ""}}}"#,
            51091,
            "invalid",
        ),
        (r#"{"a": {"$size": 2.5}}"#, 2, "Expected an integer"),
        (r#"{"a": {"$size": "2"}}"#, 2, "Expected a number"),
        (r#"{"a": {"$size": -1}}"#, 2, "non-negative"),
        (
            r#"{"a": {"$type": "strin"}}"#,
            2,
            "Unknown type name alias: strin",
        ),
        (
            r#"{"a": {"$type": 100}}"#,
            2,
            "Invalid numerical type code: 100",
        ),
        (r#"{"a": {"$type": 1.5}}"#, 2, "Invalid numerical type code"),
        (
            r#"{"a": {"$type": {}}}"#,
            14,
            "type must be represented as a number or a string",
        ),
        (
            r#"{"a": {"$type": ["int", "nope"]}}"#,
            2,
            "Unknown type name alias: nope",
        ),
        (r#"{"a": {"$mod": [0, 1]}}"#, 2, "divisor cannot be 0"),
        (r#"{"a": {"$mod": [1]}}"#, 2, "not enough elements"),
        (r#"{"a": {"$mod": [1, 2, 3]}}"#, 2, "too many elements"),
        (r#"{"a": {"$mod": ["a", 1]}}"#, 2, "divisor not a number"),
        (r#"{"a": {"$mod": [2, "x"]}}"#, 2, "remainder not a number"),
        (r#"{"a": {"$mod": 5}}"#, 2, "malformed mod"),
        (r#"{"a": {"$all": 1}}"#, 2, "$all needs an array"),
        (
            r#"{"a": {"$all": [{"$elemMatch": {}}, 1]}}"#,
            2,
            "$all/$elemMatch has to be consistent",
        ),
        (
            r#"{"a": {"$all": [{"$gt": 1}]}}"#,
            2,
            "no $ expressions in $all",
        ),
        (
            r#"{"a": {"$elemMatch": 1}}"#,
            2,
            "$elemMatch needs an Object",
        ),
        (
            r#"{"a": {"$elemMatch": {"$foo": 1}}}"#,
            2,
            "unknown operator: $foo",
        ),
        (r#"{"a": {"$not": {}}}"#, 2, "$not cannot be empty"),
        (
            r#"{"a": {"$not": 5}}"#,
            2,
            "$not needs a regex or a document",
        ),
        (
            r#"{"a": {"$not": {"$gt": 1, "b": 2}}}"#,
            2,
            "unknown operator: b",
        ),
        (
            r#"{"a": {"$ne": {"$regularExpression": {"pattern": "x", "options": ""}}}}"#,
            2,
            "Can't have regex as arg to $ne.",
        ),
        (
            r#"{"$alwaysTrue": 0}"#,
            9,
            "$alwaysTrue must be an integer value of 1",
        ),
        (r#"{"$where": "this.a == 1"}"#, 2, "$where is not supported"),
        (r#"{"a": {"$near": [0, 0]}}"#, 2, "$near is not supported"),
        (r#"{"a": {"$bitsAllSet": -1}}"#, 2, "non-negative"),
        (
            r#"{"a": {"$bitsAnySet": [1.5]}}"#,
            2,
            "bit positions must be an integer",
        ),
        (
            r#"{"a": {"$bitsAllClear": "x"}}"#,
            2,
            "takes an Array, a number, or a BinData",
        ),
        (
            r#"{"$expr": {"$noSuchOp": 1}}"#,
            31325,
            "Unrecognized expression '$noSuchOp'",
        ),
        (
            r#"{"a": {"$elemMatch": {"$expr": {"$literal": true}}}}"#,
            2,
            "$expr can only be applied to the top-level document",
        ),
        (
            r#"{"a": {"$elemMatch": {"$or": [{"$expr": {"$literal": true}}]}}}"#,
            2,
            "$expr can only be applied to the top-level document",
        ),
        (
            r#"{"$expr": {"$literal": 1, "$x": 2}}"#,
            15983,
            "exactly one field",
        ),
    ];
    let mut failures = Vec::new();
    for (filter, code, msg) in cases {
        match Filter::parse(&ejson_doc(filter)) {
            Ok(_) => failures.push(format!("{filter}: parsed, expected error {code}")),
            Err(e) => {
                if e.code.code() != *code || !e.message.contains(msg) {
                    failures.push(format!(
                        "{filter}: got {} {:?}, want {code} containing {msg:?}",
                        e.code.code(),
                        e.message
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn nest(depth: usize, leaf: Document, wrap: impl Fn(Document) -> Document) -> Document {
    (0..depth).fold(leaf, |inner, _| wrap(inner))
}

#[test]
fn nesting_beyond_the_limit_is_refused() {
    let and = |d: Document| doc! {"$and": [d]};
    let ok = nest(MAX_NESTING_DEPTH, doc! {"a": 1}, and);
    let f = Filter::parse(&ok).expect("at the limit parses");
    assert!(f.matches(&doc! {"a": 1}));
    let too_deep = nest(MAX_NESTING_DEPTH + 1, doc! {"a": 1}, and);
    let e = Filter::parse(&too_deep).expect_err("beyond the limit");
    assert_eq!(e.code.code(), 2);
    assert!(e.message.contains("depth limit"), "{}", e.message);

    let em = |d: Document| doc! {"a": {"$elemMatch": d}};
    let e = Filter::parse(&nest(MAX_NESTING_DEPTH + 1, doc! {"a": 1}, em))
        .expect_err("deep $elemMatch");
    assert!(e.message.contains("depth limit"), "{}", e.message);

    let not = |d: Document| doc! {"$not": d};
    let e = Filter::parse(&doc! {"a": nest(MAX_NESTING_DEPTH + 1, doc! {"$gt": 1}, not)})
        .expect_err("deep $not");
    assert!(e.message.contains("depth limit"), "{}", e.message);

    // Very deep input must not overflow the stack either.
    let e = Filter::parse(&nest(1_000, doc! {"a": 1}, and)).expect_err("absurdly deep");
    assert_eq!(e.code.code(), 2);
}

#[test]
fn accepted_unusual_but_valid_filters() {
    for f in [
        r#"{"a": {"$ref": "c", "$id": 1}}"#,
        r#"{"a": {"$exists": "yes"}}"#,
        r#"{"": 1}"#,
        r#"{"a..b": 1}"#,
        r#"{"a": {"$all": [{"$elemMatch": {"b": 1}}]}}"#,
        r#"{"a": {"$in": [{"b": 1}, {"$regularExpression": {"pattern": "x", "options": "i"}}]}}"#,
        r#"{"$and": [{"$or": [{"a": 1}]}, {"$nor": [{"b": 1}]}], "$comment": {"any": "thing"}}"#,
        r#"{"a": {"$elemMatch": {"$and": [{"b": 1}]}}}"#,
        r#"{"a": {"$size": {"$numberLong": "3"}}}"#,
        r#"{"a": {"$type": {"$numberLong": "2"}}}"#,
    ] {
        Filter::parse(&ejson_doc(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    }
    let dbref = Filter::parse(&ejson_doc(r#"{"a": {"$ref": "c", "$id": 1}}"#)).expect("dbref");
    assert!(dbref.matches(&doc! {"a": {"$ref": "c", "$id": 1}}));
}
