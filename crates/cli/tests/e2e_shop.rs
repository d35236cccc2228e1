//! End-to-end test of the shop example of CONTRACT §4, served by the real binary with
//! `stratus serve --app DIR`: the CRUD template round trip, request validation, the unique
//! index, the custom `expensive` flow with its query parameter, routing errors (404/405),
//! 415/413, `x-request-id` on every response and the Cosmocloud-style addressing.
//!
//! One server per test function (each has its own temporary data dir and port).

mod e2e_support;

use e2e_support::{Server, assert_error, assert_validation, shop_project, write_project};
use serde_json::{Value, json};

const API: &str = "/shop/development/api";

fn start() -> (tempfile::TempDir, Server) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let app = tmp.path().join("app");
    write_project(&app, &shop_project());
    let server = Server::start(&tmp.path().join("data"), Some(&app));
    (tmp, server)
}

fn create(s: &Server, doc: &Value) -> String {
    let r = s
        .send_json("POST", &format!("{API}/products"), doc)
        .expect("POST");
    assert_eq!(r.status, 201, "create {doc}: {}", r.text());
    let id = r.json()["id"].as_str().expect("id string").to_string();
    assert_eq!(id.len(), 24, "id is not 24 hex: {id}");
    assert!(
        id.chars().all(|c| c.is_ascii_hexdigit()),
        "id is not hex: {id}"
    );
    id
}

#[test]
fn crud_round_trip() {
    let (_tmp, s) = start();
    let doc = json!({"name": "lamp", "price": 25.5, "stock": 3, "tags": ["home", "light"],
                     "meta": {"color": "red"}, "added": "2025-01-02T03:04:05Z"});
    let id = create(&s, &doc);

    // GET by id returns the document with `_id` as a 24-hex string.
    let r = s.get(&format!("{API}/products/{id}")).expect("GET");
    assert_eq!(r.status, 200, "{}", r.text());
    let got = r.json();
    assert_eq!(got["_id"], json!(id));
    assert_eq!(got["name"], "lamp");
    assert_eq!(got["price"], json!(25.5));
    assert_eq!(got["stock"], json!(3));
    assert_eq!(got["tags"], json!(["home", "light"]));
    assert_eq!(got["meta"]["color"], "red");
    let added = got["added"].as_str().expect("datetime as string");
    assert!(added.starts_with("2025-01-02T03:04:05"), "added = {added}");

    // List with paging: 5 documents in total.
    for i in 0..4 {
        create(&s, &json!({"name": format!("item-{i}"), "price": i}));
    }
    let r = s
        .get(&format!("{API}/products?limit=2&offset=1"))
        .expect("list");
    assert_eq!(r.status, 200, "{}", r.text());
    let page = r.json();
    assert_eq!(
        page["data"].as_array().expect("data array").len(),
        2,
        "{page}"
    );
    assert_eq!(page["page"]["total"], json!(5), "{page}");
    assert_eq!(page["page"]["limit"], json!(2), "{page}");
    assert_eq!(page["page"]["offset"], json!(1), "{page}");
    let r = s
        .get(&format!("{API}/products?limit=100"))
        .expect("list all");
    let all = r.json();
    assert_eq!(all["data"].as_array().expect("data").len(), 5, "{all}");
    let r = s
        .get(&format!("{API}/products?offset=4"))
        .expect("list tail");
    assert_eq!(r.json()["data"].as_array().expect("data").len(), 1);

    // count=false: the list still comes back, without paying for a total.
    let r = s
        .get(&format!("{API}/products?limit=3&count=false"))
        .expect("list no count");
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["data"].as_array().expect("data").len(), 3, "{v}");
    assert!(
        v["page"].get("total").is_none_or(Value::is_null),
        "count=false still counted: {v}"
    );

    // PUT replaces the whole document.
    let r = s
        .send_json(
            "PUT",
            &format!("{API}/products/{id}"),
            &json!({"name": "lamp2", "price": 30}),
        )
        .expect("PUT");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["id"], json!(id));
    let got = s.get(&format!("{API}/products/{id}")).expect("GET").json();
    assert_eq!(got["name"], "lamp2");
    assert_eq!(got["price"], json!(30));
    assert!(
        got.get("tags").is_none_or(Value::is_null),
        "PUT kept old fields: {got}"
    );

    // PATCH changes only the given fields.
    let r = s
        .send_json(
            "PATCH",
            &format!("{API}/products/{id}"),
            &json!({"stock": 9}),
        )
        .expect("PATCH");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["id"], json!(id));
    let got = s.get(&format!("{API}/products/{id}")).expect("GET").json();
    assert_eq!(got["name"], "lamp2");
    assert_eq!(got["stock"], json!(9));

    // DELETE, then everything about that id is 404.
    let r = s
        .send("DELETE", &format!("{API}/products/{id}"), &[], None)
        .expect("DELETE");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["id"], json!(id));
    let missing = format!("{API}/products/{id}");
    assert_error(&s.get(&missing).expect("GET"), 404, "not_found");
    assert_error(
        &s.send_json("PUT", &missing, &json!({"name": "x"}))
            .expect("PUT"),
        404,
        "not_found",
    );
    assert_error(
        &s.send_json("PATCH", &missing, &json!({"stock": 1}))
            .expect("PATCH"),
        404,
        "not_found",
    );
    assert_error(
        &s.send("DELETE", &missing, &[], None).expect("DELETE"),
        404,
        "not_found",
    );
    let total = s.get(&format!("{API}/products")).expect("list").json()["page"]["total"].clone();
    assert_eq!(total, json!(4));
    s.stop();
}

#[test]
fn validation_errors_name_the_field() {
    let (_tmp, s) = start();
    let post = |body: Value| {
        s.send_json("POST", &format!("{API}/products"), &body)
            .expect("POST")
    };
    let long = "x".repeat(201);
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (
            json!({"name": "a", "price": "cheap"}),
            vec!["body", "price"],
        ),
        (json!({"name": 5}), vec!["body", "name"]),
        (json!({"name": "a", "stock": 1.5}), vec!["body", "stock"]),
        (json!({"name": "a", "tags": "one"}), vec!["body", "tags"]),
        (
            json!({"name": "a", "added": "not a date"}),
            vec!["body", "added"],
        ),
        (json!({"price": 3}), vec!["body", "name"]),
        (
            json!({"name": "a", "colour": "red"}),
            vec!["body", "colour"],
        ),
        (json!({"name": long}), vec!["body", "name"]),
        (json!({"name": "a", "price": -1}), vec!["body", "price"]),
    ];
    for (body, loc) in cases {
        let r = post(body.clone());
        assert_validation(&r, &loc);
    }
    // Nested locations go down the path.
    let r = post(json!({"name": "a", "meta": {"color": 1}}));
    let v = assert_error(&r, 400, "validation_failed");
    let locs: Vec<&Value> = v["detail"]
        .as_array()
        .expect("list")
        .iter()
        .map(|d| &d["loc"])
        .collect();
    assert!(
        locs.iter().any(|l| l
            .as_array()
            .is_some_and(|a| a.len() >= 2 && a[0] == "body" && a[1] == "meta")),
        "no loc under body.meta in {v}"
    );
    // PATCH validates types too (partial: no required fields).
    let id = create(&s, &json!({"name": "ok"}));
    let r = s
        .send_json(
            "PATCH",
            &format!("{API}/products/{id}"),
            &json!({"price": "x"}),
        )
        .expect("PATCH");
    assert_validation(&r, &["body", "price"]);
    // PUT is a full document: the required field must be there.
    let r = s
        .send_json("PUT", &format!("{API}/products/{id}"), &json!({"price": 1}))
        .expect("PUT");
    assert_validation(&r, &["body", "name"]);
    // Invalid JSON.
    let r = s
        .send(
            "POST",
            &format!("{API}/products"),
            &[("content-type", "application/json")],
            Some(b"{\"name\":"),
        )
        .expect("POST");
    assert_error(&r, 400, "invalid_json");
    // Nothing of the above was stored.
    let total = s.get(&format!("{API}/products")).expect("list").json()["page"]["total"].clone();
    assert_eq!(total, json!(1));
    s.stop();
}

#[test]
fn unique_index_answers_409() {
    let (_tmp, s) = start();
    let id = create(&s, &json!({"name": "unique-thing", "price": 1}));
    let r = s
        .send_json(
            "POST",
            &format!("{API}/products"),
            &json!({"name": "unique-thing", "price": 2}),
        )
        .expect("POST");
    assert_error(&r, 409, "duplicate_key");
    // Updating another document onto the taken name conflicts too.
    let other = create(&s, &json!({"name": "other"}));
    let r = s
        .send_json(
            "PATCH",
            &format!("{API}/products/{other}"),
            &json!({"name": "unique-thing"}),
        )
        .expect("PATCH");
    assert_error(&r, 409, "duplicate_key");
    // The original is untouched.
    let got = s.get(&format!("{API}/products/{id}")).expect("GET").json();
    assert_eq!(got["price"], json!(1));
    s.stop();
}

#[test]
fn expensive_flow_and_its_query_param() {
    let (_tmp, s) = start();
    for (name, price) in [("a", 5.0), ("b", 50.0), ("c", 500.0), ("d", 99.5)] {
        create(&s, &json!({"name": name, "price": price}));
    }
    let r = s
        .get(&format!("{API}/products/expensive?min=60"))
        .expect("GET");
    assert_eq!(r.status, 200, "{}", r.text());
    let items = r.json()["items"].as_array().expect("items").clone();
    let names: Vec<&str> = items
        .iter()
        .map(|d| d["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        ["c", "d"],
        "sorted by price descending, filtered by min"
    );
    assert!(items[0]["_id"].is_string(), "_id as string: {}", items[0]);

    let r = s
        .get(&format!("{API}/products/expensive?min=1000"))
        .expect("GET");
    assert_eq!(r.json()["items"], json!([]));

    assert_validation(
        &s.get(&format!("{API}/products/expensive")).expect("GET"),
        &["params", "min"],
    );
    assert_validation(
        &s.get(&format!("{API}/products/expensive?min=abc"))
            .expect("GET"),
        &["params", "min"],
    );
    s.stop();
}

#[test]
fn routing_and_transport_errors() {
    let (_tmp, s) = start();
    // Unknown route.
    let r = s.get(&format!("{API}/nothing/here")).expect("GET");
    let v = assert_error(&r, 404, "not_found");
    assert!(v["detail"].is_string(), "404 detail is a sentence: {v}");
    // Unknown project / environment.
    assert_error(
        &s.get("/noproject/development/api/products").expect("GET"),
        404,
        "not_found",
    );
    assert_error(
        &s.get("/shop/noenv/api/products").expect("GET"),
        404,
        "not_found",
    );
    // Wrong method on a known path.
    let r = s
        .send("DELETE", &format!("{API}/products"), &[], None)
        .expect("DELETE");
    let v = assert_error(&r, 405, "method_not_allowed");
    assert!(v["detail"].is_string(), "405 detail is a sentence: {v}");
    // Non-JSON body.
    let r = s
        .send(
            "POST",
            &format!("{API}/products"),
            &[("content-type", "text/plain")],
            Some(b"name=x"),
        )
        .expect("POST");
    assert_error(&r, 415, "unsupported_media_type");
    // Oversized body (the default limit is 1 MiB).
    let big = format!("{{\"name\":\"{}\"}}", "x".repeat(3 * 1024 * 1024));
    let r = s
        .send(
            "POST",
            &format!("{API}/products"),
            &[("content-type", "application/json")],
            Some(big.as_bytes()),
        )
        .expect("POST big");
    assert_error(&r, 413, "payload_too_large");
    // x-request-id on every response, distinct per request.
    let mut ids = std::collections::HashSet::new();
    for path in [
        "/healthz",
        "/readyz",
        "/metrics",
        &format!("{API}/products"),
        "/nope",
        &format!("{API}/x"),
    ] {
        let r = s.get(path).expect("GET");
        let id = r
            .header("x-request-id")
            .unwrap_or_else(|| panic!("no x-request-id on {path} ({})", r.status));
        assert!(!id.is_empty());
        assert!(ids.insert(id.to_string()), "request id {id} repeated");
    }
    // The server still works after all of that.
    create(&s, &json!({"name": "after-errors"}));
    s.stop();
}

#[test]
fn cosmocloud_style_addressing() {
    let (_tmp, s) = start();
    let id = create(&s, &json!({"name": "cosmo", "price": 7}));
    let r = s
        .send(
            "GET",
            &format!("/development/api/products/{id}"),
            &[("projectId", "shop")],
            None,
        )
        .expect("GET");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["name"], "cosmo");
    // With the environment id header as well.
    let r = s
        .send(
            "GET",
            "/development/api/products?limit=1",
            &[("projectId", "shop"), ("environmentId", "development")],
            None,
        )
        .expect("GET");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["page"]["total"], json!(1));
    // Writes work through it too.
    let body = serde_json::to_vec(&json!({"name": "cosmo2"})).expect("json");
    let r = s
        .send(
            "POST",
            "/development/api/products",
            &[("projectId", "shop"), ("content-type", "application/json")],
            Some(&body),
        )
        .expect("POST");
    assert_eq!(r.status, 201, "{}", r.text());
    // Without the header, or with an unknown project, nothing matches.
    assert_error(
        &s.get("/development/api/products").expect("GET"),
        404,
        "not_found",
    );
    let r = s
        .send(
            "GET",
            "/development/api/products",
            &[("projectId", "nosuchproject")],
            None,
        )
        .expect("GET");
    assert_error(&r, 404, "not_found");
    s.stop();
}
