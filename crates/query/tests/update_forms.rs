//! Replacement documents, pipeline-style updates and upsert documents.

use bson::{Bson, Document};
use stratus_query::MongoCode;
use stratus_query::update::{ApplyContext, Update, UpdateOptions};

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

fn apply(doc: &str, update: &str) -> Result<(Document, bool), stratus_query::QueryError> {
    let u = Update::parse(&j(update), &UpdateOptions::default())?;
    let out = u.apply(&d(doc), &ctx())?;
    Ok((out.document, out.modified))
}

fn upsert(filter: &str, update: &str) -> Result<Document, stratus_query::QueryError> {
    let u = Update::parse(&j(update), &UpdateOptions::default())?;
    u.upsert_document(&d(filter), &ctx())
}

#[test]
fn replacements_keep_id_first() {
    let cases: &[(&str, &str, &str, bool)] = &[
        (
            r#"{"_id":1,"a":1}"#,
            r#"{"b":2}"#,
            r#"{"_id":1,"b":2}"#,
            true,
        ),
        // mongod counts a replacement as a modification unless it is bit-identical to the
        // stored document, `_id` included (ObjectReplaceExecutor's noop check).
        (
            r#"{"_id":1,"a":1}"#,
            r#"{"a":1}"#,
            r#"{"_id":1,"a":1}"#,
            true,
        ),
        (
            r#"{"_id":1,"a":1}"#,
            r#"{"_id":1,"a":1}"#,
            r#"{"_id":1,"a":1}"#,
            false,
        ),
        // A replacement carrying `_id` is stored in its own field order.
        (
            r#"{"_id":1,"a":1}"#,
            r#"{"a":1,"_id":1}"#,
            r#"{"a":1,"_id":1}"#,
            true,
        ),
        (
            r#"{"_id":1,"a":1}"#,
            r#"{"_id":1.0,"a":1}"#,
            r#"{"_id":1.0,"a":1}"#,
            true,
        ),
        (r#"{"_id":1,"a":1}"#, r#"{}"#, r#"{"_id":1}"#, true),
        (
            r#"{"_id":1,"a":1}"#,
            r#"{"x":{"$y":1},"p.q":2}"#,
            r#"{"_id":1,"x":{"$y":1},"p.q":2}"#,
            true,
        ),
        (r#"{"a":1}"#, r#"{"b":1}"#, r#"{"b":1}"#, true),
        (
            r#"{"_id":{"k":1},"a":1}"#,
            r#"{"_id":{"k":1},"z":[1]}"#,
            r#"{"_id":{"k":1},"z":[1]}"#,
            true,
        ),
    ];
    for (doc, update, want, modified) in cases {
        let (got, m) = apply(doc, update).unwrap_or_else(|e| panic!("{doc} + {update}: {e}"));
        assert_eq!(canon(&got), canon(&d(want)), "{doc} + {update}");
        assert_eq!(m, *modified, "{doc} + {update}");
    }
    let u = Update::parse(&j(r#"{"a":1}"#), &UpdateOptions::default()).expect("parses");
    assert!(u.is_replacement());
    let e = apply(r#"{"_id":1}"#, r#"{"_id":2}"#).expect_err("changed id");
    assert_eq!(e.code, MongoCode::ImmutableField);
}

#[test]
fn pipeline_updates() {
    let cases: &[(&str, &str, &str)] = &[
        // updateOne-pipeline.json of the CRUD specification.
        (
            r#"{"_id":1,"t":{"u":{"v":1}}}"#,
            r#"[{"$replaceRoot":{"newRoot":"$t"}},{"$addFields":{"foo":1}}]"#,
            r#"{"_id":1,"u":{"v":1},"foo":1}"#,
        ),
        // updateMany-pipeline.json: $project then $addFields.
        (
            r#"{"_id":2,"x":2,"y":1}"#,
            r#"[{"$project":{"x":1}},{"$addFields":{"foo":1}}]"#,
            r#"{"_id":2,"x":2,"foo":1}"#,
        ),
        (
            r#"{"_id":1,"a":1}"#,
            r#"[{"$set":{"b":"$a"}}]"#,
            r#"{"_id":1,"a":1,"b":1}"#,
        ),
        (
            r#"{"_id":1,"a":1,"b":2}"#,
            r#"[{"$unset":"a"}]"#,
            r#"{"_id":1,"b":2}"#,
        ),
        (
            r#"{"_id":1,"a":1,"b":2}"#,
            r#"[{"$unset":["a","b"]}]"#,
            r#"{"_id":1}"#,
        ),
        (
            r#"{"_id":1,"a":1,"b":2}"#,
            r#"[{"$project":{"a":0}}]"#,
            r#"{"_id":1,"b":2}"#,
        ),
        (
            r#"{"_id":1,"a":1}"#,
            r#"[{"$set":{"a":"$$REMOVE"}}]"#,
            r#"{"_id":1}"#,
        ),
        (
            r#"{"_id":1}"#,
            r#"[{"$set":{"d":"$$NOW"}}]"#,
            r#"{"_id":1,"d":{"$date":{"$numberLong":"1700000000000"}}}"#,
        ),
        (
            r#"{"_id":1,"a":{"b":1}}"#,
            r#"[{"$set":{"a":{"c":{"$literal":"$x"}}}}]"#,
            r#"{"_id":1,"a":{"b":1,"c":"$x"}}"#,
        ),
        (
            r#"{"_id":1,"a":{"b":1}}"#,
            r#"[{"$replaceWith":"$a"}]"#,
            r#"{"_id":1,"b":1}"#,
        ),
        (
            r#"{"_id":1,"a":1}"#,
            r#"[{"$set":{"b":1}},{"$set":{"c":"$b"}}]"#,
            r#"{"_id":1,"a":1,"b":1,"c":1}"#,
        ),
        (r#"{"_id":1,"a":1}"#, r#"[]"#, r#"{"_id":1,"a":1}"#),
        (
            r#"{"_id":1,"a":[{"b":1},{"b":2}]}"#,
            r#"[{"$set":{"a.c":0}}]"#,
            r#"{"_id":1,"a":[{"b":1,"c":0},{"b":2,"c":0}]}"#,
        ),
        (
            r#"{"_id":1,"a":{"b":1,"c":2},"z":1}"#,
            r#"[{"$project":{"a.b":1}}]"#,
            r#"{"_id":1,"a":{"b":1}}"#,
        ),
        (
            r#"{"_id":1,"a":1,"z":1}"#,
            r#"[{"$project":{"_id":0,"a":1}}]"#,
            r#"{"_id":1,"a":1}"#,
        ),
    ];
    for (doc, update, want) in cases {
        let (got, _) = apply(doc, update).unwrap_or_else(|e| panic!("{doc} + {update}: {e}"));
        assert_eq!(canon(&got), canon(&d(want)), "{doc} + {update}");
    }
    let u = Update::parse(&j(r#"[{"$set":{"a":1}}]"#), &UpdateOptions::default()).expect("parses");
    assert!(u.is_pipeline());
    let (_, modified) = apply(r#"{"_id":1,"a":1}"#, r#"[{"$set":{"a":1}}]"#).expect("applies");
    assert!(!modified);
}

#[test]
fn pipeline_errors() {
    let cases: &[(&str, &str, MongoCode)] = &[
        (
            r#"{"_id":1}"#,
            r#"[{"$match":{}}]"#,
            MongoCode::InvalidOptions,
        ),
        (
            r#"{"_id":1}"#,
            r#"[{"$group":{"_id":null}}]"#,
            MongoCode::InvalidOptions,
        ),
        (r#"{"_id":1}"#, r#"[1]"#, MongoCode::TypeMismatch),
        (
            r#"{"_id":1}"#,
            r#"[{"$set":{"a":1},"$unset":"b"}]"#,
            MongoCode::Location(40323),
        ),
        (
            r#"{"_id":1}"#,
            r#"[{"$replaceWith":{"_id":2}}]"#,
            MongoCode::ImmutableField,
        ),
        (
            r#"{"_id":1,"a":1}"#,
            r#"[{"$replaceWith":"$a"}]"#,
            MongoCode::Location(40228),
        ),
        (
            r#"{"_id":1}"#,
            r#"[{"$replaceRoot":{}}]"#,
            MongoCode::Location(40414),
        ),
        (
            r#"{"_id":1}"#,
            r#"[{"$unset":[]}]"#,
            MongoCode::Location(31119),
        ),
        (
            r#"{"_id":1}"#,
            r#"[{"$project":{"a":1,"b":0}}]"#,
            MongoCode::ProjectionMixed,
        ),
        (
            r#"{"_id":1}"#,
            r#"[{"$set":{"a":"$$nosuch"}}]"#,
            MongoCode::Location(17276),
        ),
    ];
    for (doc, update, code) in cases {
        let e = apply(doc, update).expect_err(update);
        // Numeric codes: 31254 may be spelled `ProjectionMixed` or `Location(31254)`.
        assert_eq!(e.code.code(), code.code(), "{update}: {}", e.message);
    }
}

#[test]
fn upsert_documents() {
    let cases: &[(&str, &str, &str)] = &[
        (
            r#"{"a":1,"b.c":2,"$and":[{"d":3}]}"#,
            r#"{"$set":{"e":1}}"#,
            r#"{"a":1,"b":{"c":2},"d":3,"e":1}"#,
        ),
        (
            r#"{"_id":5,"x":{"$gt":1}}"#,
            r#"{"$setOnInsert":{"y":1},"$inc":{"n":1}}"#,
            r#"{"_id":5,"n":1,"y":1}"#,
        ),
        (
            r#"{"x":1,"_id":5}"#,
            r#"{"$set":{"a":1}}"#,
            r#"{"_id":5,"x":1,"a":1}"#,
        ),
        (
            r#"{"a":{"$eq":1},"b":{"$in":[2]},"c":{"$in":[3,4]}}"#,
            r#"{"$set":{"z":0}}"#,
            r#"{"a":1,"b":2,"z":0}"#,
        ),
        (
            r#"{"$or":[{"a":1}]}"#,
            r#"{"$inc":{"n":1}}"#,
            r#"{"a":1,"n":1}"#,
        ),
        (
            r#"{"$or":[{"a":1},{"b":2}]}"#,
            r#"{"$inc":{"n":1}}"#,
            r#"{"n":1}"#,
        ),
        (
            r#"{"a":{"$regex":"x"}}"#,
            r#"{"$inc":{"n":1}}"#,
            r#"{"n":1}"#,
        ),
        (
            r#"{"a":{"b":1}}"#,
            r#"{"$set":{"a.c":2}}"#,
            r#"{"a":{"b":1,"c":2}}"#,
        ),
        (r#"{"_id":5,"a":1}"#, r#"{"b":2}"#, r#"{"_id":5,"b":2}"#),
        (r#"{"a":1}"#, r#"{"b":2}"#, r#"{"b":2}"#),
        (r#"{"_id":5}"#, r#"{"b":2,"_id":5}"#, r#"{"_id":5,"b":2}"#),
        (r#"{"a":1}"#, r#"[{"$set":{"b":"$a"}}]"#, r#"{"a":1,"b":1}"#),
        (
            r#"{}"#,
            r#"{"$currentDate":{"d":true}}"#,
            r#"{"d":{"$date":{"$numberLong":"1700000000000"}}}"#,
        ),
        (r#"{"a":1}"#, r#"{"$push":{"l":1}}"#, r#"{"a":1,"l":[1]}"#),
    ];
    for (filter, update, want) in cases {
        let got = upsert(filter, update).unwrap_or_else(|e| panic!("{filter} / {update}: {e}"));
        assert_eq!(canon(&got), canon(&d(want)), "{filter} / {update}");
    }
}

#[test]
fn upsert_errors() {
    let cases: &[(&str, &str, MongoCode)] = &[
        (
            r#"{"_id":5}"#,
            r#"{"$set":{"_id":6}}"#,
            MongoCode::ImmutableField,
        ),
        (
            r#"{"a":1,"a.b":2}"#,
            r#"{"$set":{"z":1}}"#,
            MongoCode::NotSingleValueField,
        ),
        (
            r#"{"a":1,"$and":[{"a":2}]}"#,
            r#"{"$set":{"z":1}}"#,
            MongoCode::NotSingleValueField,
        ),
        (r#"{"a":[1]}"#, r#"{"$set":{"a.$":2}}"#, MongoCode::BadValue),
        (
            r#"{"a":1}"#,
            r#"{"$set":{"a.b":2}}"#,
            MongoCode::PathNotViable,
        ),
    ];
    for (filter, update, code) in cases {
        let e = upsert(filter, update).expect_err(update);
        assert_eq!(e.code, *code, "{filter} / {update}: {}", e.message);
    }
}

#[test]
fn set_on_insert_applies_only_on_insert() {
    let u = Update::parse(
        &j(r#"{"$setOnInsert":{"a":1},"$set":{"b":1}}"#),
        &UpdateOptions::default(),
    )
    .expect("parses");
    let out = u.apply(&d(r#"{"_id":1}"#), &ctx()).expect("applies");
    assert_eq!(canon(&out.document), canon(&d(r#"{"_id":1,"b":1}"#)));
    let insert_ctx = ApplyContext {
        is_insert: true,
        ..ctx()
    };
    let out = u.apply(&d(r#"{"_id":1}"#), &insert_ctx).expect("applies");
    assert_eq!(canon(&out.document), canon(&d(r#"{"_id":1,"a":1,"b":1}"#)));
}

/// MongoDB manual, "$[<identifier>]" with `upsert`: the array must come from an equality in
/// the query, otherwise the upsert fails.
#[test]
fn upsert_with_array_filters() {
    let filters = [d(r#"{"element":0}"#)];
    let opts = UpdateOptions {
        array_filters: Some(&filters),
        ..UpdateOptions::default()
    };
    let u = Update::parse(&j(r#"{"$set":{"myArray.$[element]":2}}"#), &opts).expect("parses");
    let doc = u
        .upsert_document(&d(r#"{"myArray":[0,1]}"#), &ctx())
        .expect("upserts");
    assert_eq!(canon(&doc), canon(&d(r#"{"myArray":[2,1]}"#)));
    let e = u
        .upsert_document(&d(r#"{}"#), &ctx())
        .expect_err("no array");
    assert_eq!(e.code, MongoCode::BadValue);
    assert_eq!(
        e.message,
        "The path 'myArray' must exist in the document in order to apply array updates."
    );
}

/// updateOne-let.json of the CRUD specification: `let` constants reach pipeline stages.
#[test]
fn pipeline_updates_see_let_variables() {
    let vars = d(r#"{"x":"foo","n":{"$add":[1,2]}}"#);
    let opts = UpdateOptions {
        let_vars: Some(&vars),
        ..UpdateOptions::default()
    };
    let u = Update::parse(&j(r#"[{"$set":{"x":"$$x","n":"$$n"}}]"#), &opts).expect("parses");
    let out = u.apply(&d(r#"{"_id":1,"x":1}"#), &ctx()).expect("applies");
    assert_eq!(
        canon(&out.document),
        canon(&d(r#"{"_id":1,"x":"foo","n":3}"#))
    );
    let e = Update::parse(&j(r#"[{"$set":{"x":"$$y"}}]"#), &opts)
        .and_then(|u| u.apply(&d(r#"{"_id":1}"#), &ctx()))
        .expect_err("undefined variable");
    assert_eq!(e.code.code(), 17276, "{}", e.message);
}
