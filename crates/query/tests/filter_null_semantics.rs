//! MongoDB 8.0's null semantics (the cases of its `null_query_semantics` behaviour test, written
//! here as data): `{a: null}` vs missing/undefined/arrays, `$ne`/`$nin`/`$not` around null,
//! dotted paths through arrays (`{"a.b": null}` matches an array with a document lacking `b`,
//! but not an array of scalars), `$elemMatch` with null, and the `{_id: 0, "a.b": 1}`
//! projection of each document.

use bson::{Bson, Document, RawDocumentBuf, doc};
use stratus_query::filter::Filter;
use stratus_query::projection::Projection;

fn scalars() -> Vec<Document> {
    vec![
        doc! {"_id": "a_empty_subobject", "a": {}},
        doc! {"_id": "a_null", "a": null},
        doc! {"_id": "a_number", "a": 4},
        doc! {"_id": "a_subobject_b_not_null", "a": {"b": "hi"}},
        doc! {"_id": "a_subobject_b_null", "a": {"b": null}},
        doc! {"_id": "a_subobject_b_undefined", "a": {"b": Bson::Undefined}},
        doc! {"_id": "a_undefined", "a": Bson::Undefined},
        doc! {"_id": "no_a"},
    ]
}

fn arrays() -> Vec<Document> {
    vec![
        doc! {"_id": "a_double_array", "a": [[]]},
        doc! {"_id": "a_empty_array", "a": []},
        doc! {"_id": "a_object_array_b_mix_null_undefined_missing",
        "a": [{"b": null}, {"b": Bson::Undefined}, {"b": null}, {}]},
        doc! {"_id": "a_object_array_no_b_nulls", "a": [{"b": 1}, {"b": 3}, {"b": "string"}]},
        doc! {"_id": "a_object_array_some_b_nulls", "a": [{"b": null}, {"b": 3}, {"b": null}]},
        doc! {"_id": "a_object_array_some_b_undefined", "a": [{"b": Bson::Undefined}, {"b": 3}]},
        doc! {"_id": "a_object_array_some_b_missing", "a": [{"b": 3}, {}]},
        doc! {"_id": "a_value_array_all_nulls", "a": [null, null]},
        doc! {"_id": "a_value_array_no_nulls", "a": [1, "string", 4]},
        doc! {"_id": "a_value_array_with_null", "a": [1, "string", null, 4]},
        doc! {"_id": "a_value_array_with_undefined", "a": [1, "string", Bson::Undefined, 4]},
    ]
}

fn all() -> Vec<Document> {
    let mut v = scalars();
    v.extend(arrays());
    v
}

fn ids(docs: &[Document]) -> Vec<String> {
    docs.iter()
        .map(|d| d.get_str("_id").expect("_id").to_string())
        .collect()
}

fn run(filter: Document, docs: &[Document]) -> Vec<String> {
    let f = Filter::parse(&filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
    let mut out = Vec::new();
    for d in docs {
        let raw = RawDocumentBuf::try_from(d).expect("encodable");
        let m = f.matches(d);
        assert_eq!(m, f.matches_raw(&raw), "raw disagrees: {filter} on {d}");
        if m {
            out.push(d.get_str("_id").expect("_id").to_string());
        }
    }
    out.sort();
    out
}

fn sorted(v: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

fn complement(of: &[&str], docs: &[Document]) -> Vec<String> {
    let mut v: Vec<String> = ids(docs)
        .into_iter()
        .filter(|i| !of.contains(&i.as_str()))
        .collect();
    v.sort();
    v
}

const EQ_NULL: &[&str] = &[
    "a_null",
    "a_value_array_all_nulls",
    "a_value_array_with_null",
    "no_a",
];

const DOTTED_EQ_NULL: &[&str] = &[
    "a_empty_subobject",
    "a_null",
    "a_number",
    "a_subobject_b_null",
    "a_undefined",
    "no_a",
    "a_object_array_b_mix_null_undefined_missing",
    "a_object_array_some_b_nulls",
    "a_object_array_some_b_missing",
];

#[test]
fn without_arrays() {
    let docs = scalars();
    assert_eq!(
        run(doc! {"a": {"$eq": null}}, &docs),
        sorted(&["a_null", "no_a"])
    );
    assert_eq!(
        run(doc! {"a": {"$ne": null}}, &docs),
        complement(&["a_null", "no_a"], &docs)
    );
    assert_eq!(
        run(doc! {"a": {"$in": [null, 4]}}, &docs),
        sorted(&["a_null", "a_number", "no_a"])
    );
    assert_eq!(
        run(doc! {"a": {"$nin": [null, 4]}}, &docs),
        complement(&["a_null", "a_number", "no_a"], &docs)
    );
    assert_eq!(
        run(doc! {"a": {"$exists": false}}, &docs),
        sorted(&["no_a"])
    );
    assert_eq!(
        run(doc! {"a.b": {"$exists": false}}, &docs),
        sorted(&[
            "no_a",
            "a_empty_subobject",
            "a_null",
            "a_number",
            "a_undefined"
        ])
    );
    assert_eq!(
        run(doc! {"a.b": {"$ne": null}}, &docs),
        sorted(&["a_subobject_b_not_null", "a_subobject_b_undefined"])
    );
    for q in [
        doc! {"a": {"$elemMatch": {"$eq": null}}},
        doc! {"a": {"$elemMatch": {"$ne": null}}},
        doc! {"a.b": {"$elemMatch": {"$eq": null}}},
        doc! {"a.b": {"$elemMatch": {"$ne": null}}},
        doc! {"a": {"$elemMatch": {"b": {"$eq": null}}}},
        doc! {"a": {"$elemMatch": {"b": {"$ne": null}}}},
    ] {
        assert!(run(q.clone(), &docs).is_empty(), "{q} needs an array");
    }
}

#[test]
fn with_arrays() {
    let docs = all();
    assert_eq!(run(doc! {"a": {"$eq": null}}, &docs), sorted(EQ_NULL));
    assert_eq!(run(doc! {"a": null}, &docs), sorted(EQ_NULL));
    assert_eq!(
        run(doc! {"a": {"$ne": null}}, &docs),
        complement(EQ_NULL, &docs)
    );
    assert_eq!(
        run(doc! {"a": {"$not": {"$gte": null}}}, &docs),
        complement(EQ_NULL, &docs)
    );
    assert_eq!(run(doc! {"a": {"$in": [null, 75]}}, &docs), sorted(EQ_NULL));
    assert_eq!(
        run(doc! {"$or": [{"a": null}, {"a": 75}]}, &docs),
        sorted(EQ_NULL)
    );
    assert_eq!(
        run(doc! {"a": {"$nin": [null, 75]}}, &docs),
        complement(EQ_NULL, &docs)
    );
    let mut not_null_or_empty = EQ_NULL.to_vec();
    not_null_or_empty.extend(["a_double_array", "a_empty_array"]);
    assert_eq!(
        run(doc! {"a": {"$nin": [null, []]}}, &docs),
        complement(&not_null_or_empty, &docs)
    );
    let mut null_or_str = EQ_NULL.to_vec();
    null_or_str.extend(["a_value_array_no_nulls", "a_value_array_with_undefined"]);
    let re = Bson::RegularExpression(bson::Regex {
        pattern: "^str.*".to_string().try_into().expect("cstring"),
        options: "".to_string().try_into().expect("cstring"),
    });
    assert_eq!(
        run(doc! {"a": {"$nin": [null, re.clone()]}}, &docs),
        complement(&null_or_str, &docs)
    );
    assert_eq!(
        run(doc! {"a": {"$elemMatch": {"$eq": null}}}, &docs),
        sorted(&["a_value_array_all_nulls", "a_value_array_with_null"])
    );
    assert_eq!(
        run(doc! {"a": {"$elemMatch": {"$ne": null}}}, &docs),
        sorted(&[
            "a_double_array",
            "a_object_array_b_mix_null_undefined_missing",
            "a_object_array_no_b_nulls",
            "a_object_array_some_b_nulls",
            "a_object_array_some_b_undefined",
            "a_object_array_some_b_missing",
            "a_value_array_no_nulls",
            "a_value_array_with_undefined",
            "a_value_array_with_null",
        ])
    );
    assert_eq!(
        run(doc! {"a.b": {"$eq": null}}, &docs),
        sorted(DOTTED_EQ_NULL)
    );
    assert_eq!(
        run(doc! {"a.b": {"$ne": null}}, &docs),
        complement(DOTTED_EQ_NULL, &docs)
    );
    assert_eq!(
        run(doc! {"a.b": {"$in": [null, 75]}}, &docs),
        sorted(DOTTED_EQ_NULL)
    );
    assert_eq!(
        run(doc! {"$or": [{"a.b": null}, {"a.b": 75}]}, &docs),
        sorted(DOTTED_EQ_NULL)
    );
    assert_eq!(
        run(doc! {"a.b": {"$nin": [null, 75]}}, &docs),
        complement(DOTTED_EQ_NULL, &docs)
    );
    let mut dotted_null_or_str = DOTTED_EQ_NULL.to_vec();
    dotted_null_or_str.push("a_object_array_no_b_nulls");
    assert_eq!(
        run(doc! {"a.b": {"$nin": [null, re]}}, &docs),
        complement(&dotted_null_or_str, &docs)
    );
    assert!(run(doc! {"a.b": {"$elemMatch": {"$eq": null}}}, &docs).is_empty());
    assert!(run(doc! {"a.b": {"$elemMatch": {"$ne": null}}}, &docs).is_empty());
    assert_eq!(
        run(doc! {"a": {"$elemMatch": {"b": {"$eq": null}}}}, &docs),
        sorted(&[
            "a_double_array",
            "a_object_array_b_mix_null_undefined_missing",
            "a_object_array_some_b_nulls",
            "a_object_array_some_b_missing",
        ])
    );
    assert_eq!(
        run(doc! {"a": {"$elemMatch": {"b": {"$ne": null}}}}, &docs),
        sorted(&[
            "a_object_array_no_b_nulls",
            "a_object_array_some_b_nulls",
            "a_object_array_some_b_undefined",
            "a_object_array_some_b_missing",
            "a_object_array_b_mix_null_undefined_missing",
        ])
    );
}

#[test]
fn dotted_inclusion_projection_of_each_shape() {
    let p = Projection::parse(&doc! {"_id": 0, "a.b": 1}).expect("valid");
    let want: Vec<(&str, Document)> = vec![
        ("a_empty_subobject", doc! {"a": {}}),
        ("a_null", doc! {}),
        ("a_number", doc! {}),
        ("a_subobject_b_not_null", doc! {"a": {"b": "hi"}}),
        ("a_subobject_b_null", doc! {"a": {"b": null}}),
        (
            "a_subobject_b_undefined",
            doc! {"a": {"b": Bson::Undefined}},
        ),
        ("a_undefined", doc! {}),
        ("no_a", doc! {}),
        ("a_double_array", doc! {"a": [[]]}),
        ("a_empty_array", doc! {"a": []}),
        (
            "a_object_array_b_mix_null_undefined_missing",
            doc! {"a": [{"b": null}, {"b": Bson::Undefined}, {"b": null}, {}]},
        ),
        (
            "a_object_array_no_b_nulls",
            doc! {"a": [{"b": 1}, {"b": 3}, {"b": "string"}]},
        ),
        (
            "a_object_array_some_b_nulls",
            doc! {"a": [{"b": null}, {"b": 3}, {"b": null}]},
        ),
        (
            "a_object_array_some_b_undefined",
            doc! {"a": [{"b": Bson::Undefined}, {"b": 3}]},
        ),
        ("a_object_array_some_b_missing", doc! {"a": [{"b": 3}, {}]}),
        ("a_value_array_all_nulls", doc! {"a": []}),
        ("a_value_array_no_nulls", doc! {"a": []}),
        ("a_value_array_with_null", doc! {"a": []}),
        ("a_value_array_with_undefined", doc! {"a": []}),
    ];
    let docs = all();
    assert_eq!(docs.len(), want.len());
    for (d, (id, expected)) in docs.iter().zip(want) {
        assert_eq!(d.get_str("_id").expect("_id"), id);
        let got = p.apply(d, None).expect("applies");
        assert_eq!(got.to_string(), expected.to_string(), "{id}");
    }
}

/// MongoDB's MinKey/MaxKey behaviour test, as data: the bounds match every value (including
/// `undefined` and each other), other comparisons stay in their type bracket.
#[test]
fn min_and_max_key_bound_everything() {
    let docs = vec![
        doc! {"_id": "a_max_key", "a": Bson::MaxKey},
        doc! {"_id": "a_min_key", "a": Bson::MinKey},
        doc! {"_id": "a_null", "a": null},
        doc! {"_id": "a_number", "a": 4},
        doc! {"_id": "a_subobject", "a": {"b": "hi"}},
        doc! {"_id": "a_undefined", "a": Bson::Undefined},
        doc! {"_id": "a_string", "a": "hello"},
    ];
    let mut every_sorted = ids(&docs);
    every_sorted.sort();
    assert_eq!(
        run(doc! {"a": {"$eq": Bson::MinKey}}, &docs),
        sorted(&["a_min_key"])
    );
    assert_eq!(
        run(doc! {"a": {"$gt": Bson::MinKey}}, &docs),
        complement(&["a_min_key"], &docs)
    );
    assert_eq!(run(doc! {"a": {"$gte": Bson::MinKey}}, &docs), every_sorted);
    assert!(run(doc! {"a": {"$lt": Bson::MinKey}}, &docs).is_empty());
    assert_eq!(
        run(doc! {"a": {"$lte": Bson::MinKey}}, &docs),
        sorted(&["a_min_key"])
    );
    assert_eq!(
        run(doc! {"a": {"$eq": Bson::MaxKey}}, &docs),
        sorted(&["a_max_key"])
    );
    assert!(run(doc! {"a": {"$gt": Bson::MaxKey}}, &docs).is_empty());
    assert_eq!(
        run(doc! {"a": {"$gte": Bson::MaxKey}}, &docs),
        sorted(&["a_max_key"])
    );
    assert_eq!(
        run(doc! {"a": {"$lt": Bson::MaxKey}}, &docs),
        complement(&["a_max_key"], &docs)
    );
    assert_eq!(run(doc! {"a": {"$lte": Bson::MaxKey}}, &docs), every_sorted);
    assert_eq!(run(doc! {"a": {"$gt": 3}}, &docs), sorted(&["a_number"]));
    assert!(run(doc! {"a": {"$lt": 3}}, &docs).is_empty());
    assert_eq!(
        run(doc! {"a": {"$gt": "best"}}, &docs),
        sorted(&["a_string"])
    );
}
