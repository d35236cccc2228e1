//! Error codes and messages of updates, as MongoDB (5.0+) reports them.
//!
//! Each case is `(document, update, code, message)`; the message is compared exactly unless it
//! ends with `…`, in which case it is a prefix.

use bson::{Bson, Document};
use stratus_query::MongoCode;
use stratus_query::limits::Limits;
use stratus_query::update::{ApplyContext, Update, UpdateOptions};

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

fn ctx() -> ApplyContext {
    ApplyContext {
        positional: None,
        is_insert: false,
        now: bson::DateTime::from_millis(0),
    }
}

fn error_of(doc: &str, update: &Bson, opts: &UpdateOptions<'_>) -> Option<(MongoCode, String)> {
    match Update::parse(update, opts).and_then(|u| u.apply(&d(doc), &ctx())) {
        Ok(_) => None,
        Err(e) => Some((e.code, e.message)),
    }
}

#[test]
fn errors_have_mongodb_codes_and_messages() {
    use MongoCode::*;
    let cases: &[(&str, &str, MongoCode, &str)] = &[
        (
            r#"{"_id":1,"a":"x"}"#,
            r#"{"$inc":{"a":1}}"#,
            TypeMismatch,
            "Cannot apply $inc to a value of non-numeric type. {_id: 1} has the field 'a' of non-numeric type string",
        ),
        (
            r#"{"_id":1,"a":"x"}"#,
            r#"{"$mul":{"a":2}}"#,
            TypeMismatch,
            "Cannot apply $mul to a value of non-numeric type. {_id: 1} has the field 'a' of non-numeric type string",
        ),
        (
            r#"{"_id":1,"a":{"b":null}}"#,
            r#"{"$inc":{"a.b":1}}"#,
            TypeMismatch,
            "Cannot apply $inc to a value of non-numeric type. {_id: 1} has the field 'b' of non-numeric type null",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$inc":{"a":"x"}}"#,
            TypeMismatch,
            "Cannot increment with non-numeric argument: {a: \"x\"}",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$mul":{"a":null}}"#,
            TypeMismatch,
            "Cannot multiply with non-numeric argument: {a: null}",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$set":{"a.b":1},"$inc":{"a":1}}"#,
            ConflictingUpdateOperators,
            "Updating the path 'a' would create a conflict at 'a'",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$set":{"a":1},"$unset":{"a":1}}"#,
            ConflictingUpdateOperators,
            "Updating the path 'a' would create a conflict at 'a'",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$set":{"a":1},"$inc":{"a.b.c":1}}"#,
            ConflictingUpdateOperators,
            "Updating the path 'a.b.c' would create a conflict at 'a'",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$rename":{"a":"b"},"$set":{"b.c":1}}"#,
            ConflictingUpdateOperators,
            "Updating the path 'b.c' would create a conflict at 'b'",
        ),
        (
            r#"{"_id":1,"a":[1,2]}"#,
            r#"{"$set":{"a.$[]":1,"a.0":2}}"#,
            ConflictingUpdateOperators,
            "Update created a conflict at 'a.0'",
        ),
        (
            r#"{"_id":1,"a":[{"b":1}]}"#,
            r#"{"$set":{"a.$[].b":1,"a.0":2}}"#,
            ConflictingUpdateOperators,
            "Update created a conflict at 'a.0'",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$foo":{"a":1}}"#,
            FailedToParse,
            "Unknown modifier: $foo. Expected a valid update modifier or pipeline-style update specified as an array",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$set":{"a":1},"b":1}"#,
            FailedToParse,
            "Unknown modifier: b. Expected a valid update modifier or pipeline-style update specified as an array",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$set":1}"#,
            FailedToParse,
            "Modifiers operate on fields but we found type int instead. For example: {$mod: {<field>: ...}} not {$set: 1}",
        ),
        (
            r#"{"_id":1,"a":"x"}"#,
            r#"{"$push":{"a":1}}"#,
            BadValue,
            "The field 'a' must be an array but is of type string in document {_id: 1}",
        ),
        (
            r#"{"_id":"k","a":{"b":2}}"#,
            r#"{"$push":{"a.b":1}}"#,
            BadValue,
            "The field 'a.b' must be an array but is of type int in document {_id: \"k\"}",
        ),
        (
            r#"{"_id":1,"a":1}"#,
            r#"{"$set":{"a.b":1}}"#,
            PathNotViable,
            "Cannot create field 'b' in element {a: 1}",
        ),
        (
            r#"{"_id":1,"a":null}"#,
            r#"{"$set":{"a.b":1}}"#,
            PathNotViable,
            "Cannot create field 'b' in element {a: null}",
        ),
        (
            r#"{"_id":1,"a":[1]}"#,
            r#"{"$set":{"a.b":1}}"#,
            PathNotViable,
            "Cannot create field 'b' in element {a: [ 1 ]}",
        ),
        (
            r#"{"_id":1,"a":{"b":"s"}}"#,
            r#"{"$inc":{"a.b.c":1}}"#,
            PathNotViable,
            "Cannot create field 'c' in element {b: \"s\"}",
        ),
        (
            r#"{"_id":1,"a":[1]}"#,
            r#"{"$set":{"a.$":1}}"#,
            BadValue,
            "The positional operator did not find the match needed from the query.",
        ),
        (
            r#"{"_id":1,"a":[1]}"#,
            r#"{"$set":{"a.$[x]":1}}"#,
            BadValue,
            "No array filter found for identifier 'x' in path 'a.$[x]'",
        ),
        (
            r#"{"_id":1,"a":1}"#,
            r#"{"$set":{"a.$[]":1}}"#,
            BadValue,
            "Cannot apply array updates to non-array element a: 1",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$set":{"a.$[]":1}}"#,
            BadValue,
            "The path 'a' must exist in the document in order to apply array updates.",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$unset":{"x.a.$[]":1}}"#,
            BadValue,
            "The path 'x.a' must exist in the document in order to apply array updates.",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$set":{"a.$.b.$":1}}"#,
            BadValue,
            "Too many positional (i.e. '$') elements found in path 'a.$.b.$'",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$set":{"_id":2}}"#,
            ImmutableField,
            "Performing an update on the path '_id' would modify the immutable field '_id'",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$set":{"_id":1.0}}"#,
            ImmutableField,
            "Performing an update on the path '_id' would modify the immutable field '_id'",
        ),
        (
            r#"{"_id":{"a":1,"b":2}}"#,
            r#"{"$set":{"_id":{"b":2,"a":1}}}"#,
            ImmutableField,
            "Performing an update on the path '_id' would modify the immutable field '_id'",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$unset":{"_id":1}}"#,
            ImmutableField,
            "Performing an update on the path '_id' would modify the immutable field '_id'",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$inc":{"_id":1}}"#,
            ImmutableField,
            "Performing an update on the path '_id' would modify the immutable field '_id'",
        ),
        (
            r#"{"_id":{"a":1}}"#,
            r#"{"$set":{"_id.a":2}}"#,
            ImmutableField,
            "Performing an update on the path '_id.a' would modify the immutable field '_id'",
        ),
        (
            r#"{"_id":1,"a":2}"#,
            r#"{"$rename":{"a":"_id"}}"#,
            ImmutableField,
            "Performing an update on the path '_id' would modify the immutable field '_id'",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"_id":2,"a":1}"#,
            ImmutableField,
            "After applying the update, the (immutable) field '_id' was found to have been altered to _id: 2",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$pop":{"a":2}}"#,
            FailedToParse,
            "$pop expects 1 or -1, found: 2",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$pop":{"a":"x"}}"#,
            FailedToParse,
            "Expected a number in: a: \"x\"",
        ),
        (
            r#"{"_id":1,"a":{"b":1}}"#,
            r#"{"$pop":{"a.b.c":1}}"#,
            PathNotViable,
            "Cannot use the part (c) of (a.b.c) to traverse the element ({b: 1})",
        ),
        (
            r#"{"_id":1,"a":1}"#,
            r#"{"$pop":{"a":1}}"#,
            TypeMismatch,
            "Path 'a' contains an element of non-array type 'int'",
        ),
        (
            r#"{"_id":1,"a":1}"#,
            r#"{"$addToSet":{"a":1}}"#,
            BadValue,
            "Cannot apply $addToSet to non-array field. Field named 'a' has non-array type int",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$addToSet":{"a":{"$each":[1],"b":1}}}"#,
            BadValue,
            "Found unexpected fields after $each in $addToSet: { $each: [ 1 ], b: 1 }",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$addToSet":{"a":{"$each":1}}}"#,
            TypeMismatch,
            "The argument to $each in $addToSet must be an array but it was of type int",
        ),
        (
            r#"{"_id":1,"a":1}"#,
            r#"{"$pull":{"a":1}}"#,
            BadValue,
            "Cannot apply $pull to a non-array value",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$pullAll":{"a":1}}"#,
            BadValue,
            "$pullAll requires an array argument but was given a int",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$rename":{"a":1}}"#,
            BadValue,
            "The 'to' field for $rename must be a string: a: 1",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$rename":{"a":"a"}}"#,
            BadValue,
            "The source and target field for $rename must differ: a: \"a\"",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$rename":{"a":"a.b"}}"#,
            BadValue,
            "The source and target field for $rename must not be on the same path: a: \"a.b\"",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$rename":{"a.$":"b"}}"#,
            BadValue,
            "The source field for $rename may not be dynamic: a.$",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$rename":{"a":"b.$[]"}}"#,
            BadValue,
            "The destination field for $rename may not be dynamic: b.$[]",
        ),
        (
            r#"{"_id":1,"a":[{"b":1}]}"#,
            r#"{"$rename":{"a.0.b":"c"}}"#,
            BadValue,
            "The source field cannot be an array element, 'a.0.b' in doc with _id: 1 has an array field called 'a'",
        ),
        (
            r#"{"_id":1,"x":{"a":[{"b":1}]}}"#,
            r#"{"$rename":{"x.a.0.b":"c"}}"#,
            BadValue,
            "The source field cannot be an array element, 'x.a.0.b' in doc with _id: 1 has an array field called 'a'",
        ),
        (
            r#"{"a":[1]}"#,
            r#"{"$rename":{"a.0":"c"}}"#,
            BadValue,
            "The source field cannot be an array element, 'a.0' in doc with no id has an array field called 'a'",
        ),
        (
            r#"{"_id":1,"a":1}"#,
            r#"{"$rename":{"a.b":"c"}}"#,
            PathNotViable,
            "cannot use the part (a of a.b) to traverse the element ({a: 1})",
        ),
        (
            r#"{"_id":{"x":1}}"#,
            r#"{"$rename":{"_id.x":"c"}}"#,
            ImmutableField,
            "Unsetting the path '_id.x' using $rename would modify the immutable field '_id'",
        ),
        (
            r#"{"a":"x"}"#,
            r#"{"$push":{"a":1}}"#,
            BadValue,
            "The field 'a' must be an array but is of type string in document {no id}",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$push":{"a":{"$each":[],"$sort":{}}}}"#,
            BadValue,
            "The $sort pattern is empty when it should be a set of fields.",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$push":{"a":{"$each":[],"$sort":{"a..b":1}}}}"#,
            BadValue,
            "The $sort field is a dotted field but has an empty part: a..b",
        ),
        (
            r#"{"_id":1,"a":1,"c":[{}]}"#,
            r#"{"$rename":{"a":"c.0.x"}}"#,
            BadValue,
            "The destination field cannot be an array element, 'c.0.x' in doc with _id: 1 has an array field called 'c'",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$set":{"":1}}"#,
            EmptyFieldName,
            "An empty update path is not valid.",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$set":{"a..b":1}}"#,
            EmptyFieldName,
            "The update path 'a..b' contains an empty field name, which is not allowed.",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$set":{"a.":1}}"#,
            EmptyFieldName,
            "The update path 'a.' contains an empty field name, which is not allowed.",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$set":{"$a":1}}"#,
            DollarPrefixedFieldName,
            "The dollar ($) prefixed field '$a' in '$a' is not allowed in the context of an update's replacement document. Consider using an aggregation pipeline with $replaceWith.",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$inc":{"$a.b":1}}"#,
            DollarPrefixedFieldName,
            "The dollar ($) prefixed field '$a' in '$a' is not allowed in the context of an update's replacement document. Consider using an aggregation pipeline with $replaceWith.",
        ),
        (
            r#"{"_id":1,"a":1}"#,
            r#"{"$rename":{"a":"$z"}}"#,
            DollarPrefixedFieldName,
            "The dollar ($) prefixed field '$z' in '$z' is not allowed in the context of an update's replacement document. Consider using an aggregation pipeline with $replaceWith.",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$currentDate":{"a":1}}"#,
            BadValue,
            "int is not valid type for $currentDate. Please use a boolean ('true') or a $type expression ({$type: 'timestamp/date'}).",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$currentDate":{"a":{"$type":"x"}}}"#,
            BadValue,
            "The '$type' string field is required to be 'date' or 'timestamp': {$currentDate: {field : {$type: 'date'}}}",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$currentDate":{"a":{"$foo":"date"}}}"#,
            BadValue,
            "Unrecognized $currentDate option: $foo",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$push":{"a":{"$each":1}}}"#,
            BadValue,
            "The argument to $each in $push must be an array but it was of type: int",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$push":{"a":{"$each":[],"$slice":"x"}}}"#,
            BadValue,
            "The value for $slice must be an integer value but was given type: string",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$push":{"a":{"$each":[],"$position":1.5}}}"#,
            BadValue,
            "The value for $position must be an integer value, not of type: double",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$push":{"a":{"$each":[],"$sort":0}}}"#,
            BadValue,
            "The $sort is invalid: use 1/-1 to sort the whole element, or {field:1/-1} to sort embedded fields",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$push":{"a":{"$each":[],"$sort":{"x":2}}}}"#,
            BadValue,
            "The $sort element value must be either 1 or -1",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$push":{"a":{"$each":[],"$bogus":1}}}"#,
            BadValue,
            "Unrecognized clause in $push: $bogus",
        ),
        (
            r#"{"_id":1,"a":{"$numberLong":"9223372036854775807"}}"#,
            r#"{"$inc":{"a":1}}"#,
            BadValue,
            "Failed to apply $inc operations to current value ((NumberLong)9223372036854775807) for document {_id: 1}",
        ),
        (
            r#"{"_id":1,"a":{"$numberLong":"9223372036854775807"}}"#,
            r#"{"$mul":{"a":2}}"#,
            BadValue,
            "Failed to apply $mul operations to current value ((NumberLong)9223372036854775807) for document {_id: 1}",
        ),
        (
            r#"{"_id":1,"a":1.5}"#,
            r#"{"$bit":{"a":{"and":1}}}"#,
            BadValue,
            "Cannot apply $bit to a value of non-integral type._id: 1 has the field a of non-integer type double",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$bit":{"a":{"nand":1}}}"#,
            BadValue,
            "The $bit modifier only supports 'and', 'or', and 'xor', not 'nand' which is an unknown operator: {nand: 1}",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$bit":{"a":{"and":1.0}}}"#,
            BadValue,
            "The $bit modifier field must be an Integer(32/64 bit); a 'double' is not supported here: {and: 1.0}",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$bit":{"a":1}}"#,
            BadValue,
            "The $bit modifier is not compatible with a int. You must pass in an embedded document: {$bit: {field: {and/or/xor: #}}",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$bit":{"a":{}}}"#,
            BadValue,
            "You must pass in at least one bitwise operation. The format is: {$bit: {field: {and/or/xor: #}}",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"a":1,"$set":{"b":1}}"#,
            DollarPrefixedFieldName,
            "The dollar ($) prefixed field '$set' in '$set' is not allowed in the context of an update's replacement document. Consider using an aggregation pipeline with $replaceWith.",
        ),
        (
            r#"{"_id":1,"a":[1]}"#,
            r#"{"$set":{"a.1600000":1}}"#,
            Location(34),
            "can't backfill more than 1500000 elements",
        ),
    ];
    let mut failures = Vec::new();
    for (doc, update, code, msg) in cases {
        let got = error_of(doc, &j(update), &UpdateOptions::default());
        let ok = match &got {
            Some((c, m)) => {
                c == code
                    && match msg.strip_suffix('…') {
                        Some(prefix) => m.starts_with(prefix),
                        None => m == msg,
                    }
            }
            None => false,
        };
        if !ok {
            failures.push(format!(
                "{doc} + {update}\n   want {code:?} {msg}\n   got  {got:?}"
            ));
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
fn non_document_updates_are_refused() {
    for bad in [Bson::Int32(1), Bson::String("x".into()), Bson::Null] {
        let e = Update::parse(&bad, &UpdateOptions::default()).expect_err("not an update");
        assert_eq!(e.code, MongoCode::FailedToParse, "{bad:?}");
    }
}

#[test]
fn array_filters_need_operator_updates() {
    let filters = [d(r#"{"i":1}"#)];
    let opts = UpdateOptions {
        array_filters: Some(&filters),
        ..UpdateOptions::default()
    };
    let e = Update::parse(&j(r#"{"a":1}"#), &opts).expect_err("replacement");
    assert_eq!(e.code, MongoCode::FailedToParse);
    let e = Update::parse(&j(r#"[{"$set":{"a":1}}]"#), &opts).expect_err("pipeline");
    assert_eq!(e.code, MongoCode::FailedToParse);
    let empty: [Document; 0] = [];
    let opts = UpdateOptions {
        array_filters: Some(&empty),
        ..UpdateOptions::default()
    };
    assert!(Update::parse(&j(r#"{"a":1}"#), &opts).is_ok());
}

#[test]
fn oversized_results_are_refused() {
    let opts = UpdateOptions {
        limits: Limits {
            max_document_size: 64,
            ..Limits::default()
        },
        ..UpdateOptions::default()
    };
    let u = Update::parse(&j(r#"{"$set":{"big":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}}"#), &opts)
        .expect("parses");
    let e = u.apply(&d(r#"{"_id":1}"#), &ctx()).expect_err("too big");
    assert_eq!(e.code, MongoCode::BsonObjectTooLarge);
    assert_eq!(
        e.message,
        "Resulting document after update is larger than 64"
    );
    let e = u
        .upsert_document(&d(r#"{"k":1}"#), &ctx())
        .expect_err("upsert too big");
    assert_eq!(e.code, MongoCode::Location(17420));
    assert_eq!(e.message, "Document to upsert is larger than 64");
}

#[test]
fn deep_paths_are_refused_by_the_limit() {
    let path = vec!["a"; 150].join(".");
    let mut set = Document::new();
    set.insert(path, 1);
    let mut u = Document::new();
    u.insert("$set", set);
    let e = Update::parse(&Bson::Document(u), &UpdateOptions::default()).expect_err("too deep");
    assert_eq!(e.code, MongoCode::BadValue);
}
