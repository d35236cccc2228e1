//! Behaviour of the admin API over real HTTP: drafts, releases, deployments, logs, paging,
//! body checks, routing, limits and the OpenAPI document.

mod admin_support;

use admin_support::{start, start_with};
use serde_json::{Value, json};
use stratus_server::admin::{NO_ROUTE_DETAIL, ROUTES, openapi};
use stratus_server::control::{ControlConfig, ControlLimits};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drafts_releases_and_deployments() {
    let h = start().await;
    h.sys("POST", "/projects", Some(json!({"name": "shop"})), 201)
        .await;
    let model = json!({"name": "product", "collection": "products", "fields": {"name": {"type": "string"}}});
    h.sys("POST", "/projects/shop/models", Some(model.clone()), 201)
        .await;
    h.sys("POST", "/projects/shop/models", Some(model.clone()), 409)
        .await;
    h.sys(
        "POST",
        "/projects/shop/apis",
        Some(json!({"template": "crud", "model": "product", "endpoint": "/products"})),
        201,
    )
    .await;
    assert_eq!(
        h.sys("GET", "/projects/shop/apis/crud_product", None, 200)
            .await["endpoint"],
        "/products"
    );
    assert_eq!(
        h.sys("GET", "/projects/shop/models/product", None, 200)
            .await,
        model
    );
    // Release 1 snapshots the draft; later edits do not change it.
    assert_eq!(
        h.sys("POST", "/projects/shop/releases", None, 201).await["number"],
        1
    );
    h.sys(
        "PUT",
        "/projects/shop/models/product",
        Some(json!({"collection": "items", "fields": {}})),
        200,
    )
    .await;
    h.sys(
        "PUT",
        "/projects/shop/models/product",
        Some(json!({"name": "other"})),
        400,
    )
    .await;
    assert_eq!(
        h.sys("POST", "/projects/shop/releases", None, 201).await["number"],
        2
    );
    let r1 = h.sys("GET", "/projects/shop/releases/1", None, 200).await;
    assert_eq!(r1["definition"]["models"][0], model);
    assert_eq!(r1["createdBy"], "system");
    let r2 = h.sys("GET", "/projects/shop/releases/2", None, 200).await;
    assert_eq!(r2["definition"]["models"][0]["collection"], "items");
    let list = h.sys("GET", "/projects/shop/releases", None, 200).await;
    assert_eq!(
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["number"].clone())
            .collect::<Vec<_>>(),
        vec![json!(2), json!(1)]
    );
    h.sys("GET", "/projects/shop/releases/9", None, 404).await;
    h.sys("GET", "/projects/shop/releases/x", None, 400).await;
    // Releases are immutable: no route changes or deletes one.
    for m in ["PUT", "DELETE", "PATCH"] {
        let r = h
            .call(
                m,
                "/projects/shop/releases/1",
                Some(h.control.local_admin_token()),
                Some(json!({})),
            )
            .await;
        assert_eq!(r.status, 405, "{m}");
        assert_eq!(r.body["code"], "method_not_allowed");
    }
    // Deploy a release number: the deployer gets release 1's definition.
    let d = h
        .sys(
            "POST",
            "/projects/shop/environments/development/deploy",
            Some(json!({"release": 1})),
            200,
        )
        .await;
    assert_eq!(
        (d["release"].clone(), d["environment"].clone()),
        (json!(1), json!("development"))
    );
    {
        let deployed = h.deployer.deployed.lock().unwrap();
        assert_eq!(deployed.len(), 1);
        assert_eq!(deployed[0].0, "shop");
        assert_eq!(deployed[0].2["models"][0], model);
    }
    h.sys(
        "POST",
        "/projects/shop/environments/development/deploy",
        Some(json!({"release": 7})),
        400,
    )
    .await;
    h.sys(
        "POST",
        "/projects/shop/environments/staging/deploy",
        Some(json!({"release": 1})),
        404,
    )
    .await;
    // Deploy a definition: new release 3, draft replaced, deployer called.
    let def = json!({"name": "shop", "models": [], "apis": [{"name": "ping", "method": "GET", "endpoint": "/ping", "flow": []}]});
    let d = h
        .sys(
            "POST",
            "/projects/shop/environments/development/deploy",
            Some(def.clone()),
            200,
        )
        .await;
    assert_eq!(d["release"], 3);
    assert_eq!(d["report"]["apis"], 1);
    assert_eq!(
        h.sys("GET", "/projects/shop/definition", None, 200).await,
        def
    );
    assert_eq!(h.deployer.deployed.lock().unwrap().len(), 2);
    // A refused definition: 400 validation_failed with the deployer's errors; nothing recorded.
    let r = h
        .call(
            "POST",
            "/projects/shop/environments/development/deploy",
            Some(h.control.local_admin_token()),
            Some(json!({"refuse": true})),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["code"], "validation_failed");
    assert_eq!(r.body["detail"][0]["path"], "$.refuse");
    assert_eq!(
        h.sys("GET", "/projects/shop/releases", None, 200).await["page"]["total"],
        3
    );
    // A definition named after another project is refused.
    h.sys(
        "POST",
        "/projects/shop/environments/development/deploy",
        Some(json!({"name": "other"})),
        400,
    )
    .await;
    // The active deployment is recorded and re-deployable at start.
    let envs = h.sys("GET", "/projects/shop/environments", None, 200).await;
    assert_eq!(envs["data"][0]["deployment"]["release"], 3);
    assert_eq!(envs["data"][0]["database"], "shop__development");
    let active = h.control.active_deployments().unwrap();
    assert_eq!(
        active,
        vec![("shop".to_string(), "development".to_string(), def)]
    );
    // Logs go to the log source with the query parameters.
    let logs = h
        .sys(
            "GET",
            "/projects/shop/environments/development/logs?status=500&limit=5",
            None,
            200,
        )
        .await;
    assert_eq!(logs["page"]["total"], 1);
    let q = h.logs.queries.lock().unwrap().clone();
    assert_eq!(q[0].0, "shop");
    assert!(q[0].2.contains(&("status".to_string(), "500".to_string())));
    // Deleting an environment undeploys it.
    h.sys(
        "POST",
        "/projects/shop/environments",
        Some(json!({"name": "staging"})),
        201,
    )
    .await;
    h.sys(
        "POST",
        "/projects/shop/environments",
        Some(json!({"name": "staging"})),
        409,
    )
    .await;
    h.sys("DELETE", "/projects/shop/environments/staging", None, 204)
        .await;
    assert_eq!(
        h.deployer.undeployed.lock().unwrap().clone(),
        vec![("shop".to_string(), "staging".to_string())]
    );
    h.sys(
        "DELETE",
        "/projects/shop/environments/development",
        None,
        400,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_page_with_limit_and_offset() {
    let h = start().await;
    h.sys("POST", "/projects", Some(json!({"name": "shop"})), 201)
        .await;
    for i in 0..5 {
        h.sys(
            "POST",
            "/projects/shop/subflows",
            Some(json!({"name": format!("s{i}"), "flow": []})),
            201,
        )
        .await;
    }
    let cases = [
        ("", 5, vec!["s0", "s1", "s2", "s3", "s4"]),
        ("?limit=2", 5, vec!["s0", "s1"]),
        ("?limit=2&offset=1", 5, vec!["s1", "s2"]),
        ("?offset=4", 5, vec!["s4"]),
        ("?offset=9", 5, vec![]),
        ("?limit=0", 5, vec![]),
    ];
    for (q, total, names) in cases {
        let b = h
            .sys("GET", &format!("/projects/shop/subflows{q}"), None, 200)
            .await;
        assert_eq!(b["page"]["total"], total, "{q}");
        let got: Vec<&str> = b["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        assert_eq!(got, names, "{q}");
    }
    for q in ["?limit=-1", "?limit=x", "?limit=100000", "?offset=1.5"] {
        let b = h
            .sys("GET", &format!("/projects/shop/subflows{q}"), None, 400)
            .await;
        assert_eq!(b["detail"][0]["loc"][0], "params", "{q}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_projects_and_unknown_paths() {
    let h = start().await;
    let token = h.control.local_admin_token().to_string();
    let url = format!("{}/projects", h.base);
    let send = |ct: &'static str, body: Vec<u8>| {
        h.client
            .post(&url)
            .bearer_auth(&token)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let r = send("text/plain", b"{\"name\":\"a\"}".to_vec())
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let r = send("application/json", b"{\"name\":".to_vec())
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "invalid_json");
    let r = send(
        "application/json",
        vec![b' '; stratus_server::admin::extract::MAX_BODY_BYTES + 10],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(r.headers()["connection"], "close");
    let r = h
        .call(
            "POST",
            "/projects",
            Some(&token),
            Some(json!({"name": "a", "colour": "red"})),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["detail"][0]["loc"], json!(["body", "colour"]));
    assert_eq!(r.body["detail"][0]["type"], "extra_forbidden");
    let r = h
        .call("POST", "/projects", Some(&token), Some(json!({})))
        .await;
    assert_eq!(r.body["detail"][0]["loc"], json!(["body", "name"]));
    // Slugs: shape, reserved words, duplicates.
    for (name, status) in [
        ("Shop", 400),
        ("-shop", 400),
        ("admin", 400),
        ("metrics", 400),
        ("shop", 201),
        ("shop", 409),
        ("my-shop-2", 201),
    ] {
        let r = h
            .call(
                "POST",
                "/projects",
                Some(&token),
                Some(json!({"name": name})),
            )
            .await;
        assert_eq!(r.status, status, "{name}: {}", r.body);
    }
    let p = h.sys("GET", "/projects/shop", None, 200).await;
    assert_eq!(p["environments"], json!(["development"]));
    // The project is addressable by id too.
    h.sys(
        "GET",
        &format!("/projects/{}", p["id"].as_str().unwrap()),
        None,
        200,
    )
    .await;
    assert!(h.control.project("shop").is_some() && h.control.project("nope").is_none());
    // A path parameter that is not UTF-8: a JSON validation error.
    let r = h
        .call("GET", "/projects/shop/models/%FF", Some(&token), None)
        .await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (400, Some("validation_failed")),
        "{:?}",
        r.body
    );
    assert_eq!(r.body["detail"][0]["loc"], json!(["path"]));
    // Unknown paths: JSON 404; malformed Authorization: 401.
    let r = h.call("GET", "/nothing/here", Some(&token), None).await;
    assert_eq!(
        (r.status, r.body["detail"].as_str().unwrap()),
        (404, NO_ROUTE_DETAIL)
    );
    let r = h
        .client
        .get(format!("{}/projects", h.base))
        .header("authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_table_route_is_routed_and_the_document_is_served() {
    let h = start().await;
    for route in ROUTES {
        let path: String = route
            .path
            .split('/')
            .map(|s| if s.starts_with('{') { "x" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        let r = h.call(route.method, &path, None, None).await;
        assert_ne!(r.status, 405, "{route:?}");
        assert_ne!(r.body["detail"], NO_ROUTE_DETAIL, "{route:?}");
    }
    let served = h.call("GET", "/openapi.json", None, None).await;
    assert_eq!(served.status, 200);
    assert_eq!(served.body, openapi());
    assert_eq!(served.body["openapi"], "3.1.0");
    assert_eq!(
        served.body["paths"]["/projects/{p}/environments/{e}/deploy"]["post"]["summary"],
        "Deploy a definition or a release number"
    );
}

#[test]
fn the_committed_openapi_document_is_current() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/admin-openapi.json");
    let generated = serde_json::to_string_pretty(&openapi()).unwrap() + "\n";
    if std::env::var_os("STRATUS_WRITE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/admin-openapi.json is stale; regenerate it with\n  STRATUS_WRITE_OPENAPI=1 cargo test -p stratus-server --test admin_api the_committed_openapi_document_is_current"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_come_from_the_configuration() {
    let limits = ControlLimits {
        max_environments: 2,
        max_secret_keys: 1,
        max_body_bytes: 200,
        max_page_limit: 3,
        ..ControlLimits::default()
    };
    let h = start_with(ControlConfig {
        limits,
        ..ControlConfig::default()
    })
    .await;
    h.sys("POST", "/projects", Some(json!({"name": "shop"})), 201)
        .await;
    h.sys(
        "POST",
        "/projects/shop/environments",
        Some(json!({"name": "prod"})),
        201,
    )
    .await;
    h.sys(
        "POST",
        "/projects/shop/environments",
        Some(json!({"name": "more"})),
        400,
    )
    .await;
    h.sys(
        "PUT",
        "/projects/shop/environments/prod/secrets/s",
        Some(json!({"values": {"a": "1", "b": "2"}})),
        400,
    )
    .await;
    h.sys(
        "POST",
        "/projects/shop/models",
        Some(json!({"name": "m", "pad": "x".repeat(300)})),
        413,
    )
    .await;
    for i in 0..4 {
        h.sys(
            "POST",
            "/projects/shop/models",
            Some(json!({"name": format!("m{i}")})),
            201,
        )
        .await;
    }
    assert_eq!(
        h.sys("GET", "/projects/shop/models", None, 200).await["data"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    h.sys("GET", "/projects/shop/models?limit=4", None, 400)
        .await;
}
