//! Positional updates (`$`, `$[]`, `$[<id>]` with `arrayFilters`) and `$pull` conditions.
//!
//! `arrayFilters`, `$pull` conditions and the query match behind `$` all use
//! [`stratus_query::filter::Filter`].

use bson::{Bson, Document};
use stratus_query::MongoCode;
use stratus_query::filter::Filter;
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

fn canon(doc: &Document) -> String {
    Bson::Document(doc.clone())
        .into_canonical_extjson()
        .to_string()
}

/// Applies `update` with `arrayFilters` (JSON array or "") and the positional index.
fn apply(
    doc: &str,
    update: &str,
    filters: &str,
    positional: Option<usize>,
) -> Result<Document, stratus_query::QueryError> {
    let af: Vec<Document> = if filters.is_empty() {
        Vec::new()
    } else {
        match j(filters) {
            Bson::Array(items) => items
                .into_iter()
                .map(|i| match i {
                    Bson::Document(d) => d,
                    other => panic!("array filter must be a document: {other:?}"),
                })
                .collect(),
            other => panic!("arrayFilters must be an array: {other:?}"),
        }
    };
    let opts = UpdateOptions {
        array_filters: (!filters.is_empty()).then_some(af.as_slice()),
        ..UpdateOptions::default()
    };
    let u = Update::parse(&j(update), &opts)?;
    let ctx = ApplyContext {
        positional,
        is_insert: false,
        now: bson::DateTime::from_millis(0),
    };
    Ok(u.apply(&d(doc), &ctx)?.document)
}

type Case<'a> = (&'a str, &'a str, &'a str, Option<usize>, &'a str);

fn check(cases: &[Case<'_>]) {
    let mut failures = Vec::new();
    for (doc, update, filters, pos, want) in cases {
        match apply(doc, update, filters, *pos) {
            Ok(got) if canon(&got) == canon(&d(want)) => {}
            Ok(got) => failures.push(format!(
                "{doc} + {update} {filters}\n   want {want}\n   got  {}",
                Bson::Document(got).into_relaxed_extjson()
            )),
            Err(e) => failures.push(format!(
                "{doc} + {update} {filters}: {:?} {}",
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
fn positional_and_all_elements() {
    check(&[
        (
            r#"{"_id":1,"a":[1,2,3]}"#,
            r#"{"$set":{"a.$":9}}"#,
            "",
            Some(1),
            r#"{"_id":1,"a":[1,9,3]}"#,
        ),
        (
            r#"{"_id":1,"a":[{"b":1},{"b":2}]}"#,
            r#"{"$inc":{"a.$.b":10}}"#,
            "",
            Some(0),
            r#"{"_id":1,"a":[{"b":11},{"b":2}]}"#,
        ),
        (
            r#"{"_id":1,"a":[{"b":1},{"b":2}]}"#,
            r#"{"$unset":{"a.$.b":1}}"#,
            "",
            Some(1),
            r#"{"_id":1,"a":[{"b":1},{}]}"#,
        ),
        (
            r#"{"_id":1,"a":[1,2]}"#,
            r#"{"$unset":{"a.$":1}}"#,
            "",
            Some(1),
            r#"{"_id":1,"a":[1,null]}"#,
        ),
        (
            r#"{"_id":1,"a":[[1],[2]]}"#,
            r#"{"$push":{"a.$":3}}"#,
            "",
            Some(1),
            r#"{"_id":1,"a":[[1],[2,3]]}"#,
        ),
        (
            r#"{"_id":1,"a":[1,2,3]}"#,
            r#"{"$inc":{"a.$[]":1}}"#,
            "",
            None,
            r#"{"_id":1,"a":[2,3,4]}"#,
        ),
        (
            r#"{"_id":1,"a":[{"b":[1,2]},{"b":[3]}]}"#,
            r#"{"$set":{"a.$[].b.$[]":0}}"#,
            "",
            None,
            r#"{"_id":1,"a":[{"b":[0,0]},{"b":[0]}]}"#,
        ),
        (
            r#"{"_id":1,"a":[1,2]}"#,
            r#"{"$unset":{"a.$[]":1}}"#,
            "",
            None,
            r#"{"_id":1,"a":[null,null]}"#,
        ),
        (
            r#"{"_id":1,"a":[]}"#,
            r#"{"$set":{"a.$[]":1}}"#,
            "",
            None,
            r#"{"_id":1,"a":[]}"#,
        ),
        (
            r#"{"_id":1,"a":[[1],[2]]}"#,
            r#"{"$push":{"a.$[]":9}}"#,
            "",
            None,
            r#"{"_id":1,"a":[[1,9],[2,9]]}"#,
        ),
        (
            r#"{"_id":1,"a":[{"b":[1,2]},{"b":[3,4]}]}"#,
            r#"{"$set":{"a.$.b.$[]":0}}"#,
            "",
            Some(1),
            r#"{"_id":1,"a":[{"b":[1,2]},{"b":[0,0]}]}"#,
        ),
        (
            r#"{"_id":1,"a":[{},{"x":1}]}"#,
            r#"{"$set":{"a.$[].y":5}}"#,
            "",
            None,
            r#"{"_id":1,"a":[{"y":5},{"x":1,"y":5}]}"#,
        ),
        (
            r#"{"_id":1,"a":[{"n":1},{"n":2}],"b":0}"#,
            r#"{"$inc":{"a.$[].n":1,"b":1}}"#,
            "",
            None,
            r#"{"_id":1,"a":[{"n":2},{"n":3}],"b":1}"#,
        ),
        (
            r#"{"_id":1,"a":[{"l":[1]},{"l":[2]}]}"#,
            r#"{"$pop":{"a.$[].l":1}}"#,
            "",
            None,
            r#"{"_id":1,"a":[{"l":[]},{"l":[]}]}"#,
        ),
        (
            r#"{"_id":1,"a":[1,2]}"#,
            r#"{"$set":{"a.$[]":{"k":1}}}"#,
            "",
            None,
            r#"{"_id":1,"a":[{"k":1},{"k":1}]}"#,
        ),
        (
            r#"{"_id":1,"a":[5,1]}"#,
            r#"{"$max":{"a.$[]":3}}"#,
            "",
            None,
            r#"{"_id":1,"a":[5,3]}"#,
        ),
        (
            r#"{"_id":1,"a":[{"b":1}]}"#,
            r#"{"$set":{"a.$[].b":1}}"#,
            "",
            None,
            r#"{"_id":1,"a":[{"b":1}]}"#,
        ),
    ]);
}

#[test]
fn positional_errors() {
    let cases: &[(&str, &str, MongoCode, &str)] = &[
        (
            r#"{"_id":1,"a":[1,2]}"#,
            r#"{"$set":{"a.$[].b":1}}"#,
            MongoCode::PathNotViable,
            "Cannot create field 'b' in element {0: 1}",
        ),
        (
            r#"{"_id":1,"a":[{"b":1}]}"#,
            r#"{"$set":{"a.$[].b.$[]":1}}"#,
            MongoCode::BadValue,
            "Cannot apply array updates to non-array element b: 1",
        ),
        (
            r#"{"_id":1,"a":[{"x":1}]}"#,
            r#"{"$set":{"a.$[].b.$[]":1}}"#,
            MongoCode::BadValue,
            "The path 'a.0.b' must exist in the document in order to apply array updates.",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$set":{"$.a":1}}"#,
            MongoCode::BadValue,
            "Cannot have positional (i.e. '$') element in the first position in path '$.a'",
        ),
        (
            r#"{"_id":1}"#,
            r#"{"$set":{"$[].a":1}}"#,
            MongoCode::BadValue,
            "",
        ),
    ];
    for (doc, update, code, msg) in cases {
        let e = apply(doc, update, "", None).expect_err(update);
        assert_eq!(e.code, *code, "{update}: {}", e.message);
        if !msg.is_empty() {
            assert_eq!(e.message, *msg, "{update}");
        }
    }
}

#[test]
fn array_filters_from_mongodb_docs() {
    check(&[
        (
            r#"{"_id":1,"grades":[95,102,90]}"#,
            r#"{"$set":{"grades.$[element]":100}}"#,
            r#"[{"element":{"$gte":100}}]"#,
            None,
            r#"{"_id":1,"grades":[95,100,90]}"#,
        ),
        (
            r#"{"_id":3,"grades":[{"grade":80,"mean":75,"std":6},{"grade":85,"mean":90,"std":4},{"grade":85,"mean":85,"std":6}]}"#,
            r#"{"$set":{"grades.$[elem].mean":100}}"#,
            r#"[{"elem.grade":{"$gte":85}}]"#,
            None,
            r#"{"_id":3,"grades":[{"grade":80,"mean":75,"std":6},{"grade":85,"mean":100,"std":4},{"grade":85,"mean":100,"std":6}]}"#,
        ),
        (
            r#"{"_id":3,"grades":[{"grade":80,"mean":75,"std":6},{"grade":85,"mean":90,"std":4},{"grade":85,"mean":85,"std":6}]}"#,
            r#"{"$inc":{"grades.$[elem].std":-1}}"#,
            r#"[{"elem.grade":{"$gte":80},"elem.std":{"$gt":5}}]"#,
            None,
            r#"{"_id":3,"grades":[{"grade":80,"mean":75,"std":5},{"grade":85,"mean":90,"std":4},{"grade":85,"mean":85,"std":5}]}"#,
        ),
        (
            r#"{"_id":1,"grades":[{"type":"quiz","questions":[10,8,5]},{"type":"quiz","questions":[8,9,6]},{"type":"hw","questions":[5,4,3]},{"type":"exam","questions":[25,10,23,0]}]}"#,
            r#"{"$inc":{"grades.$[t].questions.$[score]":2}}"#,
            r#"[{"t.type":"quiz"},{"score":{"$gte":8}}]"#,
            None,
            r#"{"_id":1,"grades":[{"type":"quiz","questions":[12,10,5]},{"type":"quiz","questions":[10,11,6]},{"type":"hw","questions":[5,4,3]},{"type":"exam","questions":[25,10,23,0]}]}"#,
        ),
        (
            r#"{"_id":1,"degrees":[{"level":"Master"},{"level":"Bachelor"}]}"#,
            r#"{"$set":{"degrees.$[degree].gradcampaign":1}}"#,
            r#"[{"degree.level":{"$ne":"Bachelor"}}]"#,
            None,
            r#"{"_id":1,"degrees":[{"level":"Master","gradcampaign":1},{"level":"Bachelor"}]}"#,
        ),
        // findOneAndUpdate-arrayFilters.json of the CRUD specification.
        (
            r#"{"_id":1,"y":[{"b":3},{"b":1}]}"#,
            r#"{"$set":{"y.$[i].b":2}}"#,
            r#"[{"i.b":4}]"#,
            None,
            r#"{"_id":1,"y":[{"b":3},{"b":1}]}"#,
        ),
        (
            r#"{"_id":1,"y":[{"b":3},{"b":1}]}"#,
            r#"{"$set":{"y.$[i].b":2}}"#,
            r#"[{"i.b":3}]"#,
            None,
            r#"{"_id":1,"y":[{"b":2},{"b":1}]}"#,
        ),
        (
            r#"{"_id":1,"y":[{"b":3},{"b":1}]}"#,
            r#"{"$set":{"y.$[i].b":2}}"#,
            r#"[{"i.b":1}]"#,
            None,
            r#"{"_id":1,"y":[{"b":3},{"b":2}]}"#,
        ),
        (
            r#"{"_id":1,"y":[{"b":3,"c":[1,2]},{"b":1,"c":[3]}]}"#,
            r#"{"$set":{"y.$[i].c.$[j]":0}}"#,
            r#"[{"i.b":3},{"j":{"$gt":1}}]"#,
            None,
            r#"{"_id":1,"y":[{"b":3,"c":[1,0]},{"b":1,"c":[3]}]}"#,
        ),
        (
            r#"{"_id":1,"a":[1,5,10]}"#,
            r#"{"$set":{"a.$[x]":0}}"#,
            r#"[{"x":{"$gt":1,"$lt":10}}]"#,
            None,
            r#"{"_id":1,"a":[1,0,10]}"#,
        ),
        (
            r#"{"_id":1,"a":[{"b":1},{"b":2}]}"#,
            r#"{"$set":{"a.$[x].c":0,"a.$[].d":1}}"#,
            r#"[{"x.b":2}]"#,
            None,
            r#"{"_id":1,"a":[{"b":1,"d":1},{"b":2,"c":0,"d":1}]}"#,
        ),
        (
            r#"{"_id":1,"a":[{"b":1},{"b":2}]}"#,
            r#"{"$set":{"a.$[x].b":0}}"#,
            r#"[{"$or":[{"x.b":1},{"x.b":5}]}]"#,
            None,
            r#"{"_id":1,"a":[{"b":0},{"b":2}]}"#,
        ),
    ]);
}

#[test]
fn array_filter_errors() {
    let cases: &[(&str, &str, MongoCode)] = &[
        (
            r#"{"$set":{"a.$[i]":1}}"#,
            r#"[{"i":1},{"j":1}]"#,
            MongoCode::FailedToParse,
        ),
        (
            r#"{"$set":{"a.$[i]":1}}"#,
            r#"[{"i":1},{"i":2}]"#,
            MongoCode::FailedToParse,
        ),
        (
            r#"{"$set":{"a.$[i]":1}}"#,
            r#"[{"i":1,"j":2}]"#,
            MongoCode::FailedToParse,
        ),
        (
            r#"{"$set":{"a.$[i]":1}}"#,
            r#"[{}]"#,
            MongoCode::FailedToParse,
        ),
        (
            r#"{"$set":{"a.$[I]":1}}"#,
            r#"[{"I":1}]"#,
            MongoCode::BadValue,
        ),
        (
            r#"{"$set":{"a.$[i]":1}}"#,
            r#"[{"j":1}]"#,
            MongoCode::BadValue,
        ),
    ];
    for (update, filters, code) in cases {
        let e = apply(r#"{"_id":1,"a":[1]}"#, update, filters, None).expect_err(filters);
        assert_eq!(e.code, *code, "{update} {filters}: {}", e.message);
    }
    let e = apply(
        r#"{"_id":1,"a":[1]}"#,
        r#"{"$set":{"b":1}}"#,
        r#"[{"i":1}]"#,
        None,
    )
    .expect_err("unused");
    assert_eq!(
        e.message,
        "The array filter for identifier 'i' was not used in the update { $set: { b: 1 } }"
    );
}

#[test]
fn pull_conditions() {
    check(&[
        (
            r#"{"_id":1,"a":[1,5,6,7]}"#,
            r#"{"$pull":{"a":{"$gte":6}}}"#,
            "",
            None,
            r#"{"_id":1,"a":[1,5]}"#,
        ),
        (
            r#"{"_id":1,"fruits":["apples","pears","oranges","grapes","bananas"],"vegetables":["carrots","celery","squash","carrots"]}"#,
            r#"{"$pull":{"fruits":{"$in":["apples","oranges"]},"vegetables":"carrots"}}"#,
            "",
            None,
            r#"{"_id":1,"fruits":["pears","grapes","bananas"],"vegetables":["celery","squash"]}"#,
        ),
        (
            r#"{"_id":1,"results":[{"item":"A","score":5},{"item":"B","score":8}]}"#,
            r#"{"$pull":{"results":{"score":8,"item":"B"}}}"#,
            "",
            None,
            r#"{"_id":1,"results":[{"item":"A","score":5}]}"#,
        ),
        (
            r#"{"_id":1,"results":[{"item":"A","score":5,"answers":[{"q":1,"a":4},{"q":2,"a":6}]},{"item":"B","score":8,"answers":[{"q":1,"a":8},{"q":2,"a":9}]}]}"#,
            r#"{"$pull":{"results":{"answers":{"$elemMatch":{"q":2,"a":{"$gte":8}}}}}}"#,
            "",
            None,
            r#"{"_id":1,"results":[{"item":"A","score":5,"answers":[{"q":1,"a":4},{"q":2,"a":6}]}]}"#,
        ),
        (
            r#"{"_id":1,"a":[{"x":1,"y":1},{"x":2},3]}"#,
            r#"{"$pull":{"a":{"x":1}}}"#,
            "",
            None,
            r#"{"_id":1,"a":[{"x":2},3]}"#,
        ),
        (
            r#"{"_id":1,"a":[{"x":1},{"x":2},{"x":3}]}"#,
            r#"{"$pull":{"a":{"$or":[{"x":1},{"x":3}]}}}"#,
            "",
            None,
            r#"{"_id":1,"a":[{"x":2}]}"#,
        ),
        (
            r#"{"_id":1,"a":["apple","banana","avocado"]}"#,
            r#"{"$pull":{"a":{"$regex":"^a"}}}"#,
            "",
            None,
            r#"{"_id":1,"a":["banana"]}"#,
        ),
        (
            r#"{"_id":1,"a":[1,"x",null]}"#,
            r#"{"$pull":{"a":{"$type":"string"}}}"#,
            "",
            None,
            r#"{"_id":1,"a":[1,null]}"#,
        ),
        (
            r#"{"_id":1,"a":[{"b":[1,2]},{"b":[3]}]}"#,
            r#"{"$pull":{"a.$[].b":2}}"#,
            "",
            None,
            r#"{"_id":1,"a":[{"b":[1]},{"b":[3]}]}"#,
        ),
        (
            r#"{"_id":1,"a":[1,2,3]}"#,
            r#"{"$pull":{"a":{"$nin":[2]}}}"#,
            "",
            None,
            r#"{"_id":1,"a":[2]}"#,
        ),
    ]);
}

/// The positional `$` takes its index from the query match (`Filter::matches_with_details`).
#[test]
fn positional_index_comes_from_the_query() {
    let cases: &[(&str, &str, &str, &str)] = &[
        // MongoDB manual, "$ (update)" examples.
        (
            r#"{"_id":1,"grades":[85,80,80]}"#,
            r#"{"_id":1,"grades":80}"#,
            r#"{"$set":{"grades.$":82}}"#,
            r#"{"_id":1,"grades":[85,82,80]}"#,
        ),
        (
            r#"{"_id":4,"grades":[{"grade":80,"mean":75,"std":8},{"grade":85,"mean":90,"std":5},{"grade":85,"mean":85,"std":8}]}"#,
            r#"{"_id":4,"grades.grade":85}"#,
            r#"{"$set":{"grades.$.std":6}}"#,
            r#"{"_id":4,"grades":[{"grade":80,"mean":75,"std":8},{"grade":85,"mean":90,"std":6},{"grade":85,"mean":85,"std":8}]}"#,
        ),
        (
            r#"{"_id":5,"grades":[{"grade":80,"mean":75,"std":8},{"grade":85,"mean":90,"std":5},{"grade":90,"mean":85,"std":3}]}"#,
            r#"{"_id":5,"grades":{"$elemMatch":{"grade":{"$lte":90},"mean":{"$gt":80}}}}"#,
            r#"{"$set":{"grades.$.std":6}}"#,
            r#"{"_id":5,"grades":[{"grade":80,"mean":75,"std":8},{"grade":85,"mean":90,"std":6},{"grade":90,"mean":85,"std":3}]}"#,
        ),
        (
            r#"{"_id":1,"a":[{"b":[1,2]},{"b":[3,4]}]}"#,
            r#"{"a.b":3}"#,
            r#"{"$set":{"a.$.c":1}}"#,
            r#"{"_id":1,"a":[{"b":[1,2]},{"b":[3,4],"c":1}]}"#,
        ),
        (
            r#"{"_id":1,"a":[5,6,7]}"#,
            r#"{"a":{"$gt":5}}"#,
            r#"{"$inc":{"a.$":10}}"#,
            r#"{"_id":1,"a":[5,16,7]}"#,
        ),
        (
            r#"{"_id":1,"a":[{"x":1},{"x":2}]}"#,
            r#"{"a.x":2}"#,
            r#"{"$unset":{"a.$":1}}"#,
            r#"{"_id":1,"a":[{"x":1},null]}"#,
        ),
    ];
    for (doc, filter, update, want) in cases {
        let f = Filter::parse(&d(filter)).expect("filter parses");
        let details = f
            .matches_with_details(&d(doc))
            .unwrap_or_else(|| panic!("{filter} must match {doc}"));
        let got = apply(doc, update, "", details.elem_match_index)
            .unwrap_or_else(|e| panic!("{doc} + {update}: {e}"));
        assert_eq!(canon(&got), canon(&d(want)), "{filter} / {update}");
    }
}
