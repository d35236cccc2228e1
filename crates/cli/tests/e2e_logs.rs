//! End-to-end test of request logs through the admin API: an owner created with
//! `stratus admin create` before the start logs in, requests made to the user APIs show up in
//! `GET projects/{p}/environments/{e}/logs` (with the response's request id, the API, the status,
//! the path, the flow trace and debug values), the `api`, `status`, `q`, `limit`/`offset`
//! filters narrow the list, and a bearer token sent to an API never appears in the logs nor in
//! the server's own output.

mod e2e_support;

use std::time::Duration;

use e2e_support::{
    OWNER_EMAIL, OWNER_PASSWORD, Server, create_owner, shop_project, wait_until, write_project,
};
use serde_json::{Value, json};

const API: &str = "/shop/development/api";
const LOGS: &str = "/admin/api/v1/projects/shop/environments/development/logs";
/// How long the background log writer may take to make an entry visible.
const LOG_VISIBLE_TIMEOUT: Duration = Duration::from_secs(15);
/// A JWT-looking token with distinctive parts that must never be logged.
const SECRET_TOKEN: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJsb2ctc2VjcmV0LXN1YmplY3QifQ.U2VjcmV0U2lnbmF0dXJlRG9Ob3RMb2c";

fn project() -> Value {
    let mut p = shop_project();
    p["apis"].as_array_mut().expect("apis").push(json!({
        "name": "echo", "method": "GET", "endpoint": "/echo",
        "queryParams": {"x": {"type": "string"}},
        "flow": [
            {"type": "debug", "label": "the-x", "value": "$.request.queryParams.x"},
            {"type": "httpResponse", "status": 200, "body": {"x": "$.request.queryParams.x"}}
        ]
    }));
    p
}

fn logs(s: &Server, token: &str, query: &str) -> Value {
    let r = s
        .send(
            "GET",
            &format!("{LOGS}?{query}"),
            &[("authorization", &format!("Bearer {token}"))],
            None,
        )
        .expect("logs request");
    assert_eq!(r.status, 200, "logs?{query}: {}", r.text());
    r.json()
}

fn entries(v: &Value) -> &Vec<Value> {
    v["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data list in {v}"))
}

#[test]
fn logs_are_listed_filtered_and_scrubbed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let app = tmp.path().join("app");
    write_project(&app, &project());
    create_owner(&data);
    let s = Server::start(&data, Some(&app));
    let token = s.login(OWNER_EMAIL, OWNER_PASSWORD);

    // Traffic: 3 successful echo calls (one with a bearer token), 2 validation failures on
    // `expensive`, one 404, one create.
    let mut echo_ids = Vec::new();
    for x in ["alpha", "bravo", "charlie"] {
        let bearer = format!("Bearer {SECRET_TOKEN}");
        let headers: Vec<(&str, &str)> = if x == "bravo" {
            vec![("authorization", bearer.as_str())]
        } else {
            vec![]
        };
        let r = s
            .send("GET", &format!("{API}/echo?x={x}"), &headers, None)
            .expect("echo");
        assert_eq!(r.status, 200, "{}", r.text());
        echo_ids.push(r.header("x-request-id").expect("request id").to_string());
    }
    for _ in 0..2 {
        let r = s
            .get(&format!("{API}/products/expensive?min=abc"))
            .expect("bad min");
        assert_eq!(r.status, 400);
    }
    let r = s
        .get(&format!("{API}/products/000000000000000000000000"))
        .expect("404");
    assert_eq!(r.status, 404);
    let r = s
        .send_json(
            "POST",
            &format!("{API}/products"),
            &json!({"name": "logged"}),
        )
        .expect("create");
    assert_eq!(r.status, 201);

    // All 7 requests become visible.
    let mut all = Value::Null;
    assert!(
        wait_until(LOG_VISIBLE_TIMEOUT, || {
            all = logs(&s, &token, "limit=100");
            entries(&all).len() >= 7
        }),
        "logs never showed the 7 requests: {all}"
    );
    assert!(
        all["page"]["total"].as_u64().is_some_and(|t| t >= 7),
        "page.total: {all}"
    );

    // Each echo entry carries the response's request id, api, status, path and debug value.
    for (id, x) in echo_ids.iter().zip(["alpha", "bravo", "charlie"]) {
        let e = entries(&all)
            .iter()
            .find(|e| e["requestId"] == json!(id))
            .unwrap_or_else(|| panic!("no log entry with requestId {id} in {all}"));
        assert_eq!(e["api"], "echo", "{e}");
        assert_eq!(e["status"], json!(200), "{e}");
        assert!(
            e["path"].as_str().is_some_and(|p| p.contains("/echo")),
            "path: {e}"
        );
        assert!(
            e.get("trace").is_some_and(|t| !t.is_null()),
            "no trace: {e}"
        );
        assert!(
            e["debug"].to_string().contains(x),
            "debug value {x} missing: {e}"
        );
    }

    // Filters.
    let v = logs(&s, &token, "api=echo&limit=100");
    assert_eq!(entries(&v).len(), 3, "api=echo: {v}");
    assert!(entries(&v).iter().all(|e| e["api"] == "echo"), "{v}");
    assert_eq!(v["page"]["total"], json!(3), "{v}");

    let v = logs(&s, &token, "status=4xx&limit=100");
    assert_eq!(entries(&v).len(), 3, "status=4xx: {v}");
    assert!(
        entries(&v).iter().all(|e| e["status"]
            .as_u64()
            .is_some_and(|c| (400..500).contains(&c))),
        "{v}"
    );
    let v = logs(&s, &token, "api=expensive&status=4xx&limit=100");
    assert_eq!(entries(&v).len(), 2, "api+status: {v}");
    assert!(
        entries(&v)
            .iter()
            .all(|e| e["error"].is_object() || e["error"].is_string()),
        "error missing: {v}"
    );

    let v = logs(&s, &token, "q=charlie&limit=100");
    assert!(!entries(&v).is_empty(), "q=charlie found nothing: {v}");
    assert!(
        entries(&v)
            .iter()
            .all(|e| e.to_string().contains("charlie")),
        "q=charlie: {v}"
    );

    let page1 = logs(&s, &token, "limit=2&offset=0");
    let page2 = logs(&s, &token, "limit=2&offset=2");
    assert_eq!(entries(&page1).len(), 2);
    assert_eq!(entries(&page2).len(), 2);
    assert_ne!(
        entries(&page1)[0]["requestId"],
        entries(&page2)[0]["requestId"],
        "offset ignored"
    );

    // The bearer token is nowhere: not in the logs, not in the server output.
    let everything = logs(&s, &token, "limit=500").to_string();
    for part in SECRET_TOKEN.split('.') {
        assert!(
            !everything.contains(part),
            "token part {part} in the logs: {everything}"
        );
    }
    let bravo = entries(&all)
        .iter()
        .find(|e| e["requestId"] == json!(echo_ids[1]))
        .expect("bravo entry");
    assert!(!bravo.to_string().contains("eyJ"), "{bravo}");

    // Logs need a login.
    let r = s
        .get(&format!("{LOGS}?limit=1"))
        .expect("logs without token");
    assert_eq!(r.status, 401, "{}", r.text());
    assert!(
        r.header("www-authenticate")
            .is_some_and(|h| h.starts_with("Bearer")),
        "no WWW-Authenticate"
    );

    let output = s.output();
    s.stop();
    for part in SECRET_TOKEN.split('.') {
        assert!(
            !output.contains(part),
            "token part {part} in the server output"
        );
    }
    assert!(
        !output.contains(OWNER_PASSWORD),
        "password in the server output"
    );
}
