//! The runtime of user APIs over real HTTP: the whole server (`serve::run_on`) on a loopback
//! port with a temp data dir, driven with reqwest. Covers the shop example of CONTRACT §4
//! (CRUD template, validation, custom flow with query parameters), the error shapes of
//! CONTRACT §3, both address styles, CORS, ops endpoints, deploy through the admin API,
//! request logs, and restart persistence.

use std::time::Duration;

use serde_json::{Value, json};

#[path = "runtime_auth/server.rs"]
mod server;
use server::{Server, start_in as start};

/// The shop fixture without its explicit (default) `subflows` and `auth`, with a `debug` node
/// in the custom flow (its value reaches the logs) and CORS allowed for one origin.
fn shop() -> Value {
    let mut p: Value =
        serde_json::from_str(include_str!("fixtures/shop.json")).expect("the shop fixture is JSON");
    if let Some(o) = p.as_object_mut() {
        o.remove("subflows");
        o.remove("auth");
    }
    p["cors"] = json!({"allowOrigins": ["https://app.example"]});
    let flow = p["apis"][1]["flow"]
        .as_array_mut()
        .expect("the custom API has a flow");
    flow.insert(
        1,
        json!({"type": "debug", "label": "count", "value": {"$size": "$.found.result"}}),
    );
    p
}

/// User-API calls to project `shop`, environment `development`.
trait Call {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, reqwest::header::HeaderMap, Value);
}

impl Call for Server {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let mut req = self
            .client
            .request(method, format!("{}/shop/development/api{path}", self.url));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("request");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        (status, headers, r.json().await.unwrap_or(Value::Null))
    }
}

/// The text of `GET /metrics`.
async fn metrics(s: &Server) -> String {
    s.client
        .get(format!("{}/metrics", s.url))
        .send()
        .await
        .expect("send")
        .text()
        .await
        .expect("text")
}

async fn deploy_shop(s: &Server) {
    let (st, body) = s
        .admin(
            reqwest::Method::POST,
            "/projects",
            Some(json!({"name": "shop"})),
        )
        .await;
    assert!(st == 201 || st == 200, "create project: {st} {body}");
    let (st, body) = s
        .admin(
            reqwest::Method::POST,
            "/projects/shop/environments/development/deploy",
            Some(shop()),
        )
        .await;
    assert_eq!(st, 200, "deploy: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shop_example_end_to_end() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = start(dir.path()).await;
    deploy_shop(&s).await;
    use reqwest::Method as M;

    // Create.
    let (st, h, body) = s
        .call(M::POST, "/products", Some(json!({"name": "lamp", "price": 30, "stock": 2, "tags": ["home"], "meta": {"color": "red"}, "added": "2026-01-02T03:04:05Z"})))
        .await;
    assert_eq!(st, 201, "{body}");
    assert!(h.contains_key("x-request-id"));
    let id = body["id"].as_str().expect("id").to_string();
    assert_eq!(id.len(), 24);
    for (name, price) in [("desk", 250), ("chair", 120)] {
        let (st, _, b) = s
            .call(
                M::POST,
                "/products",
                Some(json!({"name": name, "price": price})),
            )
            .await;
        assert_eq!(st, 201, "{b}");
    }
    // Read.
    let (st, _, doc) = s.call(M::GET, &format!("/products/{id}"), None).await;
    assert_eq!(st, 200);
    assert_eq!(doc["_id"], json!(id));
    assert_eq!(doc["meta"]["color"], json!("red"));
    assert_eq!(doc["added"], json!("2026-01-02T03:04:05Z"));
    // List with paging.
    let (st, _, page) = s.call(M::GET, "/products?limit=2&offset=1", None).await;
    assert_eq!(st, 200, "{page}");
    assert_eq!(page["data"].as_array().map(Vec::len), Some(2));
    assert_eq!(page["page"]["total"], json!(3));
    assert_eq!(page["page"]["limit"], json!(2));
    assert_eq!(page["page"]["offset"], json!(1));
    let (_, _, page) = s.call(M::GET, "/products?count=false", None).await;
    assert!(page["page"].get("total").is_none(), "{page}");
    // Update, patch, delete.
    let (st, _, b) = s
        .call(
            M::PUT,
            &format!("/products/{id}"),
            Some(json!({"name": "lamp2", "price": 31})),
        )
        .await;
    assert_eq!((st, b["id"].as_str()), (200, Some(id.as_str())), "{b}");
    let (st, _, _) = s
        .call(
            M::PATCH,
            &format!("/products/{id}"),
            Some(json!({"stock": 9})),
        )
        .await;
    assert_eq!(st, 200);
    let (_, _, doc) = s.call(M::GET, &format!("/products/{id}"), None).await;
    assert_eq!(
        (doc["name"].clone(), doc["stock"].clone(), doc.get("tags")),
        (json!("lamp2"), json!(9), None)
    );
    // Custom flow with a query parameter.
    let (st, _, b) = s.call(M::GET, "/products/expensive?min=100", None).await;
    assert_eq!(st, 200, "{b}");
    let names: Vec<&str> = b["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|d| d["name"].as_str())
        .collect();
    assert_eq!(names, vec!["desk", "chair"]);
    let (st, _, b) = s.call(M::GET, "/products/expensive", None).await;
    assert_eq!(st, 400);
    assert_eq!(b["code"], json!("validation_failed"));
    assert_eq!(b["detail"][0]["loc"], json!(["params", "min"]));
    let (st, _, b) = s.call(M::GET, "/products/expensive?min=abc", None).await;
    assert_eq!(
        (st, b["detail"][0]["loc"].clone()),
        (400, json!(["params", "min"]))
    );
    // Validation errors.
    let (st, _, b) = s
        .call(
            M::POST,
            "/products",
            Some(json!({"name": "x", "stock": "many", "bogus": 1})),
        )
        .await;
    assert_eq!(st, 400, "{b}");
    let locs: Vec<Value> = b["detail"]
        .as_array()
        .expect("list")
        .iter()
        .map(|e| e["loc"].clone())
        .collect();
    assert!(locs.contains(&json!(["body", "stock"])), "{b}");
    assert!(locs.contains(&json!(["body", "bogus"])), "{b}");
    let (st, _, b) = s
        .call(M::POST, "/products", Some(json!({"price": 1})))
        .await;
    assert_eq!(
        (st, b["detail"][0]["loc"].clone()),
        (400, json!(["body", "name"]))
    );
    // Unique index.
    let (st, _, b) = s
        .call(M::POST, "/products", Some(json!({"name": "desk"})))
        .await;
    assert_eq!(
        (st, b["code"].clone()),
        (409, json!("duplicate_key")),
        "{b}"
    );
    // Delete and 404s.
    let (st, _, _) = s.call(M::DELETE, &format!("/products/{id}"), None).await;
    assert_eq!(st, 200);
    let (st, _, b) = s.call(M::GET, &format!("/products/{id}"), None).await;
    assert_eq!((st, b["code"].clone()), (404, json!("not_found")));
    let (st, _, b) = s.call(M::GET, "/nothing/here", None).await;
    assert_eq!((st, b["code"].clone()), (404, json!("not_found")));
    let (st, h, b) = s.call(M::PATCH, "/products", None).await;
    assert_eq!((st, b["code"].clone()), (405, json!("method_not_allowed")));
    assert!(h.get("allow").is_some());
    // 415, invalid JSON, 413.
    let r = s
        .client
        .post(format!("{}/shop/development/api/products", s.url))
        .header("content-type", "text/plain")
        .body("name=x")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 415);
    let r = s
        .client
        .post(format!("{}/shop/development/api/products", s.url))
        .header("content-type", "application/json")
        .body("{\"name\":")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["code"], json!("invalid_json"));
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));
    let r = s
        .client
        .post(format!("{}/shop/development/api/products", s.url))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 413);
    // The unread rest of the body ends the connection; the client is told so and does not
    // reuse it (the next request below would fail mid-flight otherwise).
    assert_eq!(
        r.headers().get("connection").and_then(|v| v.to_str().ok()),
        Some("close")
    );
    // Cosmocloud-style address.
    let r = s
        .client
        .get(format!("{}/development/api/products", s.url))
        .header("projectId", "shop")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    let r = s
        .client
        .get(format!("{}/development/api/products", s.url))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 404);
    // CORS.
    let r = s
        .client
        .request(
            M::OPTIONS,
            format!("{}/shop/development/api/products", s.url),
        )
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 204);
    assert_eq!(
        r.headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("https://app.example")
    );
    let r = s
        .client
        .get(format!("{}/shop/development/api/products", s.url))
        .header("origin", "https://evil.example")
        .send()
        .await
        .expect("send");
    assert!(r.headers().get("access-control-allow-origin").is_none());
    // OpenAPI of the user's APIs.
    let r = s
        .client
        .get(format!("{}/shop/development/api/openapi.json", s.url))
        .send()
        .await
        .expect("send");
    let doc: Value = r.json().await.expect("json");
    assert!(
        doc["paths"].get("/products/{id}").is_some()
            || doc["paths"]
                .as_object()
                .is_some_and(|p| p.keys().any(|k| k.ends_with("/products/{id}"))),
        "{doc}"
    );
    // Ops.
    let m = metrics(&s).await;
    assert!(
        m.contains("stratus_requests_total{project=\"shop\",env=\"development\""),
        "{m}"
    );
    // The store settles once writes pause (an empty commit; counted in /metrics).
    let mut settles = 0u64;
    for _ in 0..100 {
        settles = metrics(&s)
            .await
            .lines()
            .find_map(|l| l.strip_prefix("stratus_store_settles_total "))
            .and_then(|v| v.parse().ok())
            .expect("settles line");
        if settles > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(settles > 0, "the store never settled");
    let h = s
        .client
        .get(format!("{}/healthz", s.url))
        .send()
        .await
        .expect("send");
    assert_eq!(h.status(), 200);
    // Request logs (the writer is asynchronous: poll).
    let mut found = Value::Null;
    for _ in 0..100 {
        let (st, b) = s
            .admin(
                M::GET,
                "/projects/shop/environments/development/logs?api=expensive",
                None,
            )
            .await;
        assert_eq!(st, 200, "{b}");
        if b["page"]["total"].as_u64().unwrap_or(0) >= 3 {
            found = b;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(found["page"]["total"], json!(3), "{found}");
    let first = &found["data"][found["data"].as_array().map_or(0, |a| a.len() - 1)];
    assert!(
        first.to_string().contains("count"),
        "debug value logged: {first}"
    );
    s.stop().await;

    // Restart: the deployment and the data are back.
    let s = start(dir.path()).await;
    let (st, _, page) = s.call(M::GET, "/products", None).await;
    assert_eq!(st, 200, "{page}");
    assert_eq!(page["page"]["total"], json!(2));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_changes_reach_a_deployed_environment() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = start(dir.path()).await;
    use reqwest::Method as M;
    let (st, b) = s
        .admin(M::POST, "/projects", Some(json!({"name": "shop"})))
        .await;
    assert_eq!(st, 201, "{b}");
    let def = json!({"name": "shop", "apis": [
        {"name": "which", "method": "GET", "endpoint": "/which",
         "flow": [{"type": "httpResponse", "body": {"plan": "$.secrets.billing.plan"}}]}]});
    let (st, b) = s
        .admin(
            M::POST,
            "/projects/shop/environments/development/deploy",
            Some(def),
        )
        .await;
    assert_eq!(st, 200, "{b}");
    let (_, _, b) = s.call(M::GET, "/which", None).await;
    assert_eq!(b, json!({"plan": null}));
    let (st, b) = s
        .admin(
            M::PUT,
            "/projects/shop/environments/development/secrets/billing",
            Some(json!({"values": {"plan": "gold"}})),
        )
        .await;
    assert_eq!(st, 200, "{b}");
    let (_, _, b) = s.call(M::GET, "/which", None).await;
    assert_eq!(b, json!({"plan": "gold"}));
    let (st, _) = s
        .admin(
            M::DELETE,
            "/projects/shop/environments/development/secrets/billing",
            None,
        )
        .await;
    assert_eq!(st, 204);
    let (_, _, b) = s.call(M::GET, "/which", None).await;
    assert_eq!(b, json!({"plan": null}));
    s.stop().await;
}
