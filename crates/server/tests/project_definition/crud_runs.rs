//! The CRUD template's generated flows run against an in-memory database: 201/200/404
//! answers, the page shape, `count=false`, validation of ids, bodies and paging parameters.

use std::sync::Arc;

use bson::{Bson, Document};
use serde_json::{Value, json};
use stratus_flow::{RequestData, RunInput, Services};
use stratus_server::project::{CompiledProject, compile_value};

use crate::common::{MemDb, shop};

struct App {
    project: CompiledProject,
    db: Arc<MemDb>,
    services: Services,
}

impl App {
    fn new() -> App {
        let project = compile_value(&shop()).unwrap_or_else(|e| panic!("{e:?}"));
        let db = Arc::new(MemDb::default());
        let services = Services::new().expect("services").with_db(db.clone());
        App {
            project,
            db,
            services,
        }
    }

    /// Runs API `name` as the runtime would: path, query and body checks, then the flow.
    async fn call(
        &self,
        name: &str,
        id: Option<&str>,
        query: &[(&str, &str)],
        body: Option<Value>,
    ) -> (u16, Value) {
        let api = self
            .project
            .api(name)
            .unwrap_or_else(|| panic!("no API {name}"));
        let path: Vec<(String, String)> = id
            .map(|i| vec![("id".to_string(), i.to_string())])
            .unwrap_or_default();
        let raw: Vec<(String, String)> = query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let checked = (
            api.coerce_path(&path),
            api.coerce_query(&raw),
            api.validate_body(body),
        );
        let (path_params, query_params, body) = match checked {
            (Ok(p), Ok(q), Ok(b)) => (p, q, b),
            (p, q, b) => {
                let mut detail = Vec::new();
                for e in [p.err(), q.err(), b.err()].into_iter().flatten() {
                    detail.extend(e);
                }
                return (400, json!({"code": "validation_failed", "detail": detail}));
            }
        };
        let input = RunInput {
            request: RequestData {
                method: api.method.clone(),
                path: api.endpoint.clone(),
                body,
                query_params,
                path_params,
                headers: Document::new(),
            },
            ..Default::default()
        };
        let out = stratus_flow::run(&api.flow, input, &self.services).await;
        match out.result {
            Ok(r) => (r.status, r.json_body()),
            Err(e) => (
                e.http_status(),
                json!({"code": e.code.name(), "detail": e.message}),
            ),
        }
    }
}

const MISSING_ID: &str = "65f0000000000000000000ff";

#[tokio::test]
async fn create_get_list_replace_update_delete() {
    let app = App::new();
    // POST → 201 {"id"}; the stored document has typed values.
    let (s, b) = app.call("product_create", None, &[], Some(json!({"name": "pen", "price": 2, "tags": ["a"], "added": "2024-03-27T10:00:00Z", "meta": {"color": "red"}}))).await;
    assert_eq!(s, 201, "{b}");
    let id = b["id"].as_str().expect("id").to_string();
    assert_eq!(id.len(), 24);
    let stored = app.db.docs("products");
    assert_eq!(stored.len(), 1);
    assert!(matches!(stored[0].get("_id"), Some(Bson::ObjectId(o)) if o.to_hex() == id));
    assert!(matches!(stored[0].get("added"), Some(Bson::DateTime(_))));

    // GET by id → 200 the document, `_id` as hex, dates as ISO strings.
    let (s, b) = app.call("product_get", Some(&id), &[], None).await;
    assert_eq!(s, 200);
    assert_eq!(
        b,
        json!({"_id": id, "name": "pen", "price": 2, "tags": ["a"], "added": "2024-03-27T10:00:00Z", "meta": {"color": "red"}})
    );
    // Unknown and malformed ids → 404.
    for bad in [MISSING_ID, "xyz", "65f00000000000000000000g"] {
        let (s, b) = app.call("product_get", Some(bad), &[], None).await;
        assert_eq!(s, 404, "{bad}");
        assert_eq!(b["code"], "not_found");
        assert!(b["detail"].as_str().is_some_and(|d| d.contains("product")));
    }

    // Invalid bodies never reach the flow.
    let (s, b) = app
        .call(
            "product_create",
            None,
            &[],
            Some(json!({"price": -1, "colour": "x"})),
        )
        .await;
    assert_eq!(s, 400);
    let locs: Vec<&Value> = b["detail"]
        .as_array()
        .expect("detail")
        .iter()
        .map(|e| &e["loc"])
        .collect();
    assert_eq!(
        locs,
        [
            &json!(["body", "name"]),
            &json!(["body", "price"]),
            &json!(["body", "colour"])
        ]
    );
    assert_eq!(app.db.docs("products").len(), 1);

    for n in ["b", "c"] {
        let (s, _) = app
            .call(
                "product_create",
                None,
                &[],
                Some(json!({"name": n, "price": 10})),
            )
            .await;
        assert_eq!(s, 201);
    }

    // List: defaults, paging, count=false.
    let (s, b) = app.call("product_list", None, &[], None).await;
    assert_eq!(s, 200);
    assert_eq!(b["data"].as_array().expect("data").len(), 3);
    assert_eq!(b["page"], json!({"total": 3, "limit": 20, "offset": 0}));
    assert_eq!(b["data"][0]["_id"], json!(id));
    let (s, b) = app
        .call(
            "product_list",
            None,
            &[("limit", "2"), ("offset", "1")],
            None,
        )
        .await;
    assert_eq!(s, 200);
    let names: Vec<&str> = b["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|d| d["name"].as_str())
        .collect();
    assert_eq!(names, ["b", "c"]);
    assert_eq!(b["page"], json!({"total": 3, "limit": 2, "offset": 1}));
    let counts_before = *app.db.counts.lock().expect("lock");
    let (s, b) = app
        .call(
            "product_list",
            None,
            &[("count", "false"), ("limit", "1")],
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(b["page"], json!({"limit": 1, "offset": 0}));
    assert_eq!(
        *app.db.counts.lock().expect("lock"),
        counts_before,
        "count=false must not count"
    );
    for (k, v) in [
        ("limit", "101"),
        ("limit", "0"),
        ("offset", "-1"),
        ("limit", "x"),
        ("count", "maybe"),
    ] {
        let (s, b) = app.call("product_list", None, &[(k, v)], None).await;
        assert_eq!(s, 400, "{k}={v}");
        assert_eq!(b["detail"][0]["loc"], json!(["params", k]));
    }

    // PUT replaces the whole document (strict body).
    let (s, b) = app
        .call(
            "product_replace",
            Some(&id),
            &[],
            Some(json!({"name": "pencil", "stock": 4})),
        )
        .await;
    assert_eq!((s, &b), (200, &json!({"id": id})));
    let (_, b) = app.call("product_get", Some(&id), &[], None).await;
    assert_eq!(b, json!({"_id": id, "name": "pencil", "stock": 4}));
    let (s, _) = app
        .call("product_replace", Some(&id), &[], Some(json!({"stock": 4})))
        .await;
    assert_eq!(s, 400, "PUT needs the required fields");
    for bad in [MISSING_ID, "xyz"] {
        let (s, b) = app
            .call(
                "product_replace",
                Some(bad),
                &[],
                Some(json!({"name": "n"})),
            )
            .await;
        assert_eq!((s, b["code"].as_str()), (404, Some("not_found")), "{bad}");
    }

    // PATCH sets only the given fields.
    let (s, b) = app
        .call(
            "product_update",
            Some(&id),
            &[],
            Some(json!({"price": 5, "meta": {"color": "blue"}})),
        )
        .await;
    assert_eq!((s, &b), (200, &json!({"id": id})));
    let (_, b) = app.call("product_get", Some(&id), &[], None).await;
    assert_eq!(
        b,
        json!({"_id": id, "name": "pencil", "stock": 4, "price": 5, "meta": {"color": "blue"}})
    );
    let (s, _) = app
        .call(
            "product_update",
            Some(&id),
            &[],
            Some(json!({"price": "cheap"})),
        )
        .await;
    assert_eq!(s, 400);
    for bad in [MISSING_ID, "xyz"] {
        let (s, _) = app
            .call("product_update", Some(bad), &[], Some(json!({"price": 1})))
            .await;
        assert_eq!(s, 404, "{bad}");
    }

    // DELETE → 200 then 404.
    let (s, b) = app.call("product_delete", Some(&id), &[], None).await;
    assert_eq!((s, &b), (200, &json!({"id": id})));
    assert_eq!(app.db.docs("products").len(), 2);
    let (s, _) = app.call("product_get", Some(&id), &[], None).await;
    assert_eq!(s, 404);
    for bad in [id.as_str(), "xyz"] {
        let (s, b) = app
            .call("product_delete", Some(bad), &[], Some(json!({})))
            .await;
        assert_eq!((s, b["code"].as_str()), (404, Some("not_found")), "{bad}");
    }
    assert_eq!(app.db.docs("products").len(), 2);
}

#[tokio::test]
async fn empty_patch_is_accepted() {
    let app = App::new();
    let (_, b) = app
        .call("product_create", None, &[], Some(json!({"name": "pen"})))
        .await;
    let id = b["id"].as_str().expect("id").to_string();
    let (s, b) = app
        .call("product_update", Some(&id), &[], Some(json!({})))
        .await;
    assert_eq!((s, &b), (200, &json!({"id": id})));
}

#[tokio::test]
async fn the_hand_written_api_of_the_example_runs() {
    let app = App::new();
    for (n, price) in [("a", 5), ("b", 50), ("c", 20)] {
        app.call(
            "product_create",
            None,
            &[],
            Some(json!({"name": n, "price": price})),
        )
        .await;
    }
    let (s, b) = app.call("expensive", None, &[("min", "10")], None).await;
    assert_eq!(s, 200);
    let names: Vec<&str> = b["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|d| d["name"].as_str())
        .collect();
    assert_eq!(names, ["b", "c"]);
    let (s, b) = app.call("expensive", None, &[], None).await;
    assert_eq!(s, 400);
    assert_eq!(
        b["detail"][0],
        json!({"loc": ["params", "min"], "msg": "field required", "type": "missing"})
    );
}

#[test]
fn crud_prefix_and_auth_are_applied() {
    let mut d = shop();
    d["apis"][0]["name"] = json!("item");
    d["apis"][0]["auth"] = json!(true);
    d["auth"]["providers"] =
        json!([{"name": "shared", "type": "hmac", "secret": "$.secrets.auth.key"}]);
    let p = compile_value(&d).unwrap_or_else(|e| panic!("{e:?}"));
    let names: Vec<&str> = p.apis.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names[..6],
        [
            "item_create",
            "item_get",
            "item_list",
            "item_replace",
            "item_update",
            "item_delete"
        ]
    );
    assert!(
        p.definition["apis"].as_array().expect("apis")[..6]
            .iter()
            .all(|a| a["auth"] == json!(true))
    );
}
