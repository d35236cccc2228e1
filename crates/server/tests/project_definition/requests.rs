//! Request validation: bodies (types, required, extra fields, nested paths with array
//! indexes, limits, pattern, enum, datetime, objectId, defaults, partial), query-parameter
//! coercion and path parameters.

use bson::{Bson, doc, oid::ObjectId};
use serde_json::{Value, json};
use stratus_server::project::{CompiledProject, compile_value};

fn project() -> CompiledProject {
    let respond = json!([{"type": "httpResponse", "status": 200}]);
    let def = json!({"name": "t",
    "models": [{"name": "order", "fields": {
      "customer": {"type": "string", "required": true, "minLength": 2, "maxLength": 5, "pattern": "^[a-z]+$"},
      "qty": {"type": "int", "min": 1, "max": 10},
      "price": {"type": "number", "min": 0},
      "paid": {"type": "boolean", "default": false},
      "at": {"type": "datetime"},
      "ref": {"type": "objectId"},
      "size": {"type": "enum", "values": ["s", "m", "l"]},
      "items": {"type": "array", "maxLength": 3, "items": {"type": "object", "fields": {
          "sku": {"type": "string", "required": true}, "n": "int"}}},
      "anything": {"type": "any"},
      "free": {"type": "object"}
    }}],
    "apis": [
      {"name": "create", "method": "POST", "endpoint": "/orders", "body": {"model": "order"}, "flow": respond},
      {"name": "patch", "method": "PATCH", "endpoint": "/orders/{id}", "body": {"model": "order"}, "partial": true, "flow": respond},
      {"name": "inline", "method": "POST", "endpoint": "/inline", "body": {"fields": {"a": {"type": "int", "required": true}}}, "flow": respond},
      {"name": "raw", "method": "POST", "endpoint": "/raw", "flow": respond},
      {"name": "search", "method": "GET", "endpoint": "/search/{kind}", "queryParams": {
          "q": {"type": "string", "required": true, "maxLength": 4},
          "n": {"type": "int", "min": 0, "max": 50, "default": 10},
          "f": {"type": "number"},
          "b": {"type": "boolean"},
          "since": {"type": "datetime"},
          "ref": {"type": "objectId"},
          "sort": {"type": "enum", "values": ["asc", "desc"]},
          "level": {"type": "enum", "values": [1, 2]}
      }, "flow": respond},
      {"name": "open", "method": "GET", "endpoint": "/open", "flow": respond}
    ]});
    compile_value(&def).unwrap_or_else(|e| panic!("{e:?}"))
}

type Loc = Vec<Value>;
/// Raw query parameters.
type Query = Vec<(String, String)>;
/// The expected outcome of a case: the converted document, or `(loc, type)` of each error.
type Want<L> = Result<bson::Document, Vec<(L, &'static str)>>;

fn errs(e: Vec<stratus_server::project::FieldError>) -> Vec<(Loc, &'static str)> {
    e.into_iter().map(|e| (e.loc, e.kind)).collect()
}

#[test]
fn body_validation_table() {
    let p = project();
    let create = p.api("create").expect("api");
    let patch = p.api("patch").expect("api");
    let oid = "65f000000000000000000001";
    // (body, partial, Ok(expected document) or Err(expected (loc, type) list))
    let cases: Vec<(Value, bool, Want<Value>)> = vec![
        (
            json!({"customer": "ann"}),
            false,
            Ok(doc! {"customer": "ann", "paid": false}),
        ),
        (
            json!({"customer": "ann", "qty": 3, "price": 2.5, "paid": true, "size": "m", "tags": null}),
            false,
            Err(vec![(json!(["body", "tags"]), "extra_forbidden")]),
        ),
        (
            json!({"qty": 3}),
            false,
            Err(vec![(json!(["body", "customer"]), "missing")]),
        ),
        (
            json!({"customer": null}),
            false,
            Err(vec![(json!(["body", "customer"]), "type_error")]),
        ),
        (
            json!({"customer": 5}),
            false,
            Err(vec![(json!(["body", "customer"]), "type_error")]),
        ),
        (
            json!({"customer": "a"}),
            false,
            Err(vec![(json!(["body", "customer"]), "value_error")]),
        ),
        (
            json!({"customer": "abcdef"}),
            false,
            Err(vec![(json!(["body", "customer"]), "value_error")]),
        ),
        (
            json!({"customer": "Ann"}),
            false,
            Err(vec![(json!(["body", "customer"]), "value_error")]),
        ),
        (
            json!({"customer": "ann", "qty": 2.5}),
            false,
            Err(vec![(json!(["body", "qty"]), "type_error")]),
        ),
        (
            json!({"customer": "ann", "qty": "2"}),
            false,
            Err(vec![(json!(["body", "qty"]), "type_error")]),
        ),
        (
            json!({"customer": "ann", "qty": 0}),
            false,
            Err(vec![(json!(["body", "qty"]), "value_error")]),
        ),
        (
            json!({"customer": "ann", "qty": 11}),
            false,
            Err(vec![(json!(["body", "qty"]), "value_error")]),
        ),
        (
            json!({"customer": "ann", "qty": 4.0}),
            false,
            Ok(doc! {"customer": "ann", "qty": 4, "paid": false}),
        ),
        (
            json!({"customer": "ann", "price": -1}),
            false,
            Err(vec![(json!(["body", "price"]), "value_error")]),
        ),
        (
            json!({"customer": "ann", "price": "1"}),
            false,
            Err(vec![(json!(["body", "price"]), "type_error")]),
        ),
        (
            json!({"customer": "ann", "paid": "yes"}),
            false,
            Err(vec![(json!(["body", "paid"]), "type_error")]),
        ),
        (
            json!({"customer": "ann", "size": "xl"}),
            false,
            Err(vec![(json!(["body", "size"]), "value_error")]),
        ),
        (
            json!({"customer": "ann", "at": "yesterday"}),
            false,
            Err(vec![(json!(["body", "at"]), "value_error")]),
        ),
        (
            json!({"customer": "ann", "at": 5}),
            false,
            Err(vec![(json!(["body", "at"]), "type_error")]),
        ),
        (
            json!({"customer": "ann", "at": "2024-03-27T10:00:00Z"}),
            false,
            Ok(
                doc! {"customer": "ann", "paid": false, "at": bson::DateTime::from_millis(1_711_533_600_000)},
            ),
        ),
        (
            json!({"customer": "ann", "ref": oid}),
            false,
            Ok(
                doc! {"customer": "ann", "paid": false, "ref": ObjectId::parse_str(oid).expect("oid")},
            ),
        ),
        (
            json!({"customer": "ann", "ref": "65f00000000000000000000g"}),
            false,
            Err(vec![(json!(["body", "ref"]), "value_error")]),
        ),
        (
            json!({"customer": "ann", "ref": "123"}),
            false,
            Err(vec![(json!(["body", "ref"]), "value_error")]),
        ),
        (
            json!({"customer": "ann", "items": [{"sku": "a", "n": 1}, {"n": "x", "color": 1}]}),
            false,
            Err(vec![
                (json!(["body", "items", 1, "sku"]), "missing"),
                (json!(["body", "items", 1, "n"]), "type_error"),
                (json!(["body", "items", 1, "color"]), "extra_forbidden"),
            ]),
        ),
        (
            json!({"customer": "ann", "items": [{"sku": "a"}, {"sku": "b"}, {"sku": "c"}, {"sku": "d"}]}),
            false,
            Err(vec![(json!(["body", "items"]), "value_error")]),
        ),
        (
            json!({"customer": "ann", "items": {"sku": "a"}}),
            false,
            Err(vec![(json!(["body", "items"]), "type_error")]),
        ),
        (
            json!({"customer": "ann", "items": [{"sku": "a"}], "anything": [1, {"x": null}], "free": {"k": {"$oid": "x"}}}),
            false,
            Ok(
                doc! {"customer": "ann", "paid": false, "items": [{"sku": "a"}], "anything": [1, {"x": Bson::Null}], "free": {"k": {"$oid": "x"}}},
            ),
        ),
        (
            json!({"customer": "ann", "free": 3}),
            false,
            Err(vec![(json!(["body", "free"]), "type_error")]),
        ),
        // Several errors at once, in schema order then extras.
        (
            json!({"qty": "x", "size": 1, "zzz": 1}),
            false,
            Err(vec![
                (json!(["body", "customer"]), "missing"),
                (json!(["body", "qty"]), "type_error"),
                (json!(["body", "size"]), "value_error"),
                (json!(["body", "zzz"]), "extra_forbidden"),
            ]),
        ),
        (
            json!([1]),
            false,
            Err(vec![(json!(["body"]), "type_error")]),
        ),
        // Partial: nothing required, no defaults, types and extras still checked.
        (json!({}), true, Ok(doc! {})),
        (json!({"qty": 2}), true, Ok(doc! {"qty": 2})),
        (
            json!({"qty": "2", "nope": 1}),
            true,
            Err(vec![
                (json!(["body", "qty"]), "type_error"),
                (json!(["body", "nope"]), "extra_forbidden"),
            ]),
        ),
        (
            json!({"customer": null}),
            true,
            Err(vec![(json!(["body", "customer"]), "type_error")]),
        ),
        (
            json!({"items": [{"n": 1}]}),
            true,
            Err(vec![(json!(["body", "items", 0, "sku"]), "missing")]),
        ),
    ];
    let mut failures = Vec::new();
    for (i, (body, partial, want)) in cases.into_iter().enumerate() {
        let api = if partial { patch } else { create };
        let got = api.validate_body(Some(body.clone()));
        let model = p.model("order").expect("model");
        let direct = model.validate(&body, partial);
        match (&got, &want) {
            (Ok(Bson::Document(d)), Ok(w)) if d == w && direct.as_ref() == Ok(w) => {}
            (Err(e), Err(w)) => {
                let g = errs(e.clone());
                let w: Vec<(Loc, &str)> = w
                    .iter()
                    .map(|(l, k)| (l.as_array().expect("loc").clone(), *k))
                    .collect();
                if g != w {
                    failures.push(format!("case {i} {body}: got {g:?}, want {w:?}"));
                }
                if direct.is_ok() {
                    failures.push(format!("case {i}: CompiledModel::validate accepted it"));
                }
            }
            _ => failures.push(format!("case {i} {body}: got {got:?}, want {want:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn field_error_messages_serialize_as_the_contract() {
    let p = project();
    let e = p
        .api("create")
        .expect("api")
        .validate_body(Some(json!({"customer": "ann", "qty": "x"})))
        .expect_err("bad");
    assert_eq!(
        serde_json::to_value(&e).expect("json"),
        json!([{"loc": ["body", "qty"], "msg": "expected an integer", "type": "type_error"}])
    );
}

#[test]
fn bodies_without_declaration_and_missing_bodies() {
    let p = project();
    let raw = p.api("raw").expect("api");
    assert_eq!(raw.validate_body(None), Ok(Bson::Null));
    assert_eq!(
        raw.validate_body(Some(json!({"a": [1, "x"]}))),
        Ok(Bson::Document(doc! {"a": [1, "x"]}))
    );
    let create = p.api("create").expect("api");
    let e = create.validate_body(None).expect_err("missing");
    assert_eq!(errs(e), vec![(vec![json!("body")], "missing")]);
    let inline = p.api("inline").expect("api");
    assert_eq!(
        inline.validate_body(Some(json!({"a": 1}))),
        Ok(Bson::Document(doc! {"a": 1}))
    );
    let e = inline
        .validate_body(Some(json!({"b": 1})))
        .expect_err("bad");
    assert_eq!(
        errs(e),
        vec![
            (vec![json!("body"), json!("a")], "missing"),
            (vec![json!("body"), json!("b")], "extra_forbidden")
        ]
    );
}

fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn query_coercion_table() {
    let p = project();
    let api = p.api("search").expect("api");
    let oid = "65f000000000000000000001";
    let cases: Vec<(Query, Want<&str>)> = vec![
        (q(&[("q", "ab")]), Ok(doc! {"q": "ab", "n": 10})),
        (
            q(&[("q", "ab"), ("n", "7"), ("f", "2.5"), ("b", "TRUE")]),
            Ok(doc! {"q": "ab", "n": 7, "f": 2.5, "b": true}),
        ),
        (
            q(&[("q", "ab"), ("f", "3"), ("b", "0")]),
            Ok(doc! {"q": "ab", "n": 10, "f": 3, "b": false}),
        ),
        (
            q(&[("q", "ab"), ("b", "1")]),
            Ok(doc! {"q": "ab", "n": 10, "b": true}),
        ),
        (
            q(&[("q", "ab"), ("since", "2024-03-27T10:00:00Z")]),
            Ok(doc! {"q": "ab", "n": 10, "since": bson::DateTime::from_millis(1_711_533_600_000)}),
        ),
        (
            q(&[("q", "ab"), ("ref", oid)]),
            Ok(doc! {"q": "ab", "n": 10, "ref": ObjectId::parse_str(oid).expect("oid")}),
        ),
        (
            q(&[("q", "ab"), ("sort", "desc"), ("level", "2")]),
            Ok(doc! {"q": "ab", "n": 10, "sort": "desc", "level": 2}),
        ),
        (
            q(&[("q", "ab"), ("unknown", "x")]),
            Ok(doc! {"q": "ab", "n": 10}),
        ),
        (
            q(&[("q", "ab"), ("q", "cd")]),
            Ok(doc! {"q": "ab", "n": 10}),
        ),
        (q(&[("q", ""), ("n", "0")]), Ok(doc! {"q": "", "n": 0})),
        (q(&[]), Err(vec![("q", "missing")])),
        (q(&[("q", "abcde")]), Err(vec![("q", "value_error")])),
        (
            q(&[("q", "ab"), ("n", "x")]),
            Err(vec![("n", "type_error")]),
        ),
        (
            q(&[("q", "ab"), ("n", "1.5")]),
            Err(vec![("n", "type_error")]),
        ),
        (
            q(&[("q", "ab"), ("n", "51")]),
            Err(vec![("n", "value_error")]),
        ),
        (
            q(&[("q", "ab"), ("n", "-1")]),
            Err(vec![("n", "value_error")]),
        ),
        (
            q(&[("q", "ab"), ("f", "inf")]),
            Err(vec![("f", "type_error")]),
        ),
        (
            q(&[("q", "ab"), ("b", "yes")]),
            Err(vec![("b", "type_error")]),
        ),
        (
            q(&[("q", "ab"), ("since", "2024-13-01")]),
            Err(vec![("since", "value_error")]),
        ),
        (
            q(&[("q", "ab"), ("ref", "zz")]),
            Err(vec![("ref", "value_error")]),
        ),
        (
            q(&[("q", "ab"), ("sort", "up"), ("level", "3")]),
            Err(vec![("sort", "value_error"), ("level", "value_error")]),
        ),
        (
            q(&[("n", "x")]),
            Err(vec![("q", "missing"), ("n", "type_error")]),
        ),
    ];
    let mut failures = Vec::new();
    for (i, (raw, want)) in cases.into_iter().enumerate() {
        let got = api.coerce_query(&raw);
        let ok = match (&got, &want) {
            (Ok(d), Ok(w)) => d == w,
            (Err(e), Err(w)) => {
                let g: Vec<(Loc, &str)> = errs(e.clone());
                let w: Vec<(Loc, &str)> = w
                    .iter()
                    .map(|(n, k)| (vec![json!("params"), json!(n)], *k))
                    .collect();
                g == w
            }
            _ => false,
        };
        if !ok {
            failures.push(format!("case {i} {raw:?}: got {got:?}, want {want:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn undeclared_query_params_pass_through_as_strings() {
    let p = project();
    let api = p.api("open").expect("api");
    assert_eq!(
        api.coerce_query(&q(&[("a", "1"), ("b", "x"), ("a", "2")])),
        Ok(doc! {"a": "1", "b": "x"})
    );
}

#[test]
fn path_params() {
    let p = project();
    let api = p.api("search").expect("api");
    assert_eq!(
        api.coerce_path(&q(&[("kind", "books"), ("other", "x")])),
        Ok(doc! {"kind": "books"})
    );
    let e = api.coerce_path(&q(&[])).expect_err("missing");
    assert_eq!(
        errs(e),
        vec![(vec![json!("path"), json!("kind")], "missing")]
    );
}
