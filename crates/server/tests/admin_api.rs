//! Behaviour of the admin API over real HTTP: sessions, API keys, secrets, releases,
//! deployments, paging, body checks, the OpenAPI document, and the wire credentials.

mod admin_support;

use admin_support::{Harness, start, start_with};
use serde_json::{Value, json};
use sha2::Digest;
use stratus_auth::ratelimit::BucketConfig;
use stratus_server::admin::{NO_ROUTE_DETAIL, ROUTES, openapi};
use stratus_server::control::ControlConfig;
use stratus_server::wire::{DatabaseAccess, Mechanism, ScramCredential};

fn store_bytes(h: &Harness) -> Vec<u8> {
    std::fs::read(&h.store_file).unwrap()
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_refresh_logout_and_password_change() {
    let h = start().await;
    h.control
        .create_account("Ada@Example.com", "password-123", true)
        .unwrap();
    // Wrong password and unknown account: 401 with a Bearer challenge, same message.
    for (email, pw) in [
        ("ada@example.com", "wrong-password"),
        ("who@example.com", "password-123"),
    ] {
        let r = h
            .call(
                "POST",
                "/auth/login",
                None,
                Some(json!({"email": email, "password": pw})),
            )
            .await;
        assert_eq!(r.status, 401, "{:?}", r.body);
        assert_eq!(r.body["code"], "unauthenticated");
        assert_eq!(r.body["detail"], "invalid credentials");
        assert!(r.www_authenticate.is_some());
    }
    // E-mail is case-insensitive.
    let r = h
        .call(
            "POST",
            "/auth/login",
            None,
            Some(json!({"email": "ADA@example.com", "password": "password-123"})),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["expiresIn"], 900);
    let (t1, refresh1) = (
        r.body["token"].as_str().unwrap().to_string(),
        r.body["refreshToken"].as_str().unwrap().to_string(),
    );
    assert_eq!(
        h.call("GET", "/users/me", Some(&t1), None).await.body["email"],
        "ada@example.com"
    );
    // A refresh token is not an access token.
    assert_eq!(
        h.call("GET", "/users/me", Some(&refresh1), None)
            .await
            .status,
        401
    );
    // Refresh rotates: the new pair works, the old refresh token is spent.
    let r = h
        .call(
            "POST",
            "/auth/refresh",
            None,
            Some(json!({"refreshToken": refresh1})),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let t2 = r.body["token"].as_str().unwrap().to_string();
    assert_eq!(
        h.call("GET", "/users/me", Some(&t2), None).await.status,
        200
    );
    let r = h
        .call(
            "POST",
            "/auth/refresh",
            None,
            Some(json!({"refreshToken": refresh1})),
        )
        .await;
    assert_eq!(r.status, 401);
    // Logout revokes that session only.
    let t3 = h.login("ada@example.com", "password-123").await;
    assert_eq!(
        h.call("POST", "/auth/logout", Some(&t2), None).await.status,
        204
    );
    assert_eq!(
        h.call("GET", "/users/me", Some(&t2), None).await.status,
        401
    );
    assert_eq!(
        h.call("GET", "/users/me", Some(&t3), None).await.status,
        200
    );
    // Password change: wrong current → 400; weak new → 400 naming `new`; success revokes
    // every other session and returns a working one.
    let r = h
        .call(
            "PUT",
            "/users/me/password",
            Some(&t3),
            Some(json!({"current": "nope-nope", "new": "new-password-1"})),
        )
        .await;
    assert_eq!(
        (r.status, r.body["detail"][0]["loc"].clone()),
        (400, json!(["body", "current"]))
    );
    let r = h
        .call(
            "PUT",
            "/users/me/password",
            Some(&t3),
            Some(json!({"current": "password-123", "new": "short"})),
        )
        .await;
    assert_eq!(
        (r.status, r.body["detail"][0]["loc"].clone()),
        (400, json!(["body", "new"]))
    );
    let other = h.login("ada@example.com", "password-123").await;
    let r = h
        .call(
            "PUT",
            "/users/me/password",
            Some(&t3),
            Some(json!({"current": "password-123", "new": "new-password-1"})),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let fresh = r.body["token"].as_str().unwrap().to_string();
    assert_eq!(
        h.call("GET", "/users/me", Some(&other), None).await.status,
        401
    );
    assert_eq!(
        h.call("GET", "/users/me", Some(&t3), None).await.status,
        401
    );
    assert_eq!(
        h.call("GET", "/users/me", Some(&fresh), None).await.status,
        200
    );
    let r = h
        .call(
            "POST",
            "/auth/login",
            None,
            Some(json!({"email": "ada@example.com", "password": "password-123"})),
        )
        .await;
    assert_eq!(r.status, 401);
    h.login("ada@example.com", "new-password-1").await;
    // Passwords are never stored in clear.
    let bytes = store_bytes(&h);
    assert!(
        contains(&bytes, "ada@example.com"),
        "positive control: the e-mail is stored"
    );
    assert!(!contains(&bytes, "new-password-1") && !contains(&bytes, "password-123"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_is_rate_limited_per_account() {
    let config = ControlConfig {
        login_limits: Some((
            BucketConfig {
                burst: 3,
                refill_ms: 600_000,
            },
            BucketConfig {
                burst: 100,
                refill_ms: 1000,
            },
        )),
        ..ControlConfig::default()
    };
    let h = start_with(config).await;
    h.control
        .create_account("ada@example.com", "password-123", false)
        .unwrap();
    h.control
        .create_account("bob@example.com", "password-123", false)
        .unwrap();
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let r = h
            .call(
                "POST",
                "/auth/login",
                None,
                Some(json!({"email": "ada@example.com", "password": "bad-password"})),
            )
            .await;
        statuses.push(r.status);
        if r.status == 429 {
            assert_eq!(r.body["code"], "rate_limited");
        }
    }
    assert_eq!(statuses, vec![401, 401, 401, 429, 429]);
    // Even the right password is refused while throttled; another account is not affected.
    let r = h
        .call(
            "POST",
            "/auth/login",
            None,
            Some(json!({"email": "ada@example.com", "password": "password-123"})),
        )
        .await;
    assert_eq!(r.status, 429);
    h.login("bob@example.com", "password-123").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_are_shown_once_hashed_at_rest_and_revocable() {
    let h = start().await;
    h.sys("POST", "/projects", Some(json!({"name": "shop"})), 201)
        .await;
    let created = h
        .sys(
            "POST",
            "/api-keys",
            Some(json!({"project": "shop", "role": "developer", "name": "ci"})),
            201,
        )
        .await;
    let key = created["key"].as_str().unwrap().to_string();
    let id = created["id"].as_str().unwrap().to_string();
    assert!(key.starts_with("stk_") && key.contains(&id));
    assert_eq!(created["role"], "developer");
    // The key works as a bearer token, with its role.
    assert_eq!(
        h.call("GET", "/projects/shop", Some(&key), None)
            .await
            .status,
        200
    );
    assert_eq!(
        h.call("POST", "/projects/shop/releases", Some(&key), None)
            .await
            .status,
        201
    );
    assert_eq!(
        h.call("GET", "/projects/shop/members", Some(&key), None)
            .await
            .status,
        200
    );
    assert_eq!(
        h.call(
            "GET",
            "/projects/shop/environments/development/secrets",
            Some(&key),
            None
        )
        .await
        .status,
        403
    );
    // Listed without the key, with a last-used time.
    let list = h.sys("GET", "/api-keys?project=shop", None, 200).await;
    assert_eq!(list["page"]["total"], 1);
    assert!(!list.to_string().contains(&key));
    assert!(list["data"][0]["lastUsedAt"].is_string(), "{list}");
    // Hashed at rest: the hash is in the store file, the key is not.
    let hash: String = sha2::Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let bytes = store_bytes(&h);
    assert!(
        contains(&bytes, &hash),
        "positive control: the hash is stored"
    );
    assert!(!contains(&bytes, &key));
    // Revoked: 401; a tampered key: 401.
    let tampered = format!("{}x", &key[..key.len() - 1]);
    assert_eq!(
        h.call("GET", "/projects/shop", Some(&tampered), None)
            .await
            .status,
        401
    );
    h.sys("DELETE", &format!("/api-keys/{id}"), None, 204).await;
    let r = h.call("GET", "/projects/shop", Some(&key), None).await;
    assert_eq!(r.status, 401);
    assert!(r.www_authenticate.unwrap().contains("invalid_token"));
    h.sys("DELETE", &format!("/api-keys/{id}"), None, 404).await;
    // Bad role and missing project are validation errors naming the field.
    let r = h
        .call(
            "POST",
            "/api-keys",
            Some(h.control.local_admin_token()),
            Some(json!({"project": "shop", "role": "boss", "name": "x"})),
        )
        .await;
    assert_eq!(
        (r.status, r.body["detail"][0]["loc"].clone()),
        (400, json!(["body", "role"]))
    );
    let r = h
        .call(
            "GET",
            "/api-keys",
            Some(h.control.local_admin_token()),
            None,
        )
        .await;
    assert_eq!(
        (r.status, r.body["detail"][0]["loc"].clone()),
        (400, json!(["params", "project"]))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_are_sealed_and_never_returned() {
    let h = start().await;
    h.sys("POST", "/projects", Some(json!({"name": "shop"})), 201)
        .await;
    let value = "sk_live_9f8e7d6c5b4a39281706";
    let r = h
        .sys(
            "PUT",
            "/projects/shop/environments/development/secrets/stripe",
            Some(json!({"values": {"apiKey": value, "account": "acct_1"}})),
            200,
        )
        .await;
    assert!(!r.to_string().contains(value));
    let list = h
        .sys(
            "GET",
            "/projects/shop/environments/development/secrets",
            None,
            200,
        )
        .await;
    assert_eq!(list["data"][0]["name"], "stripe");
    assert_eq!(list["data"][0]["keys"], json!(["apiKey", "account"]));
    assert!(!list.to_string().contains(value) && !list.to_string().contains("acct_1"));
    let bytes = store_bytes(&h);
    assert!(
        contains(&bytes, "apiKey"),
        "positive control: key names are stored"
    );
    assert!(!contains(&bytes, value));
    // The runtime gets them decrypted.
    let secrets = h.control.env_secrets("shop", "development").unwrap();
    assert_eq!(
        secrets
            .get_document("stripe")
            .unwrap()
            .get_str("apiKey")
            .unwrap(),
        value
    );
    assert!(h.control.env_secrets("shop", "nope").unwrap().is_empty());
    // Validation: non-string value, bad key, bad name, unknown environment.
    let r = h
        .call(
            "PUT",
            "/projects/shop/environments/development/secrets/x",
            Some(h.control.local_admin_token()),
            Some(json!({"values": {"n": 1, "bad-key": "v"}})),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["detail"].as_array().unwrap().len(), 2, "{}", r.body);
    h.sys(
        "PUT",
        "/projects/shop/environments/development/secrets/bad-name",
        Some(json!({"values": {}})),
        400,
    )
    .await;
    h.sys(
        "PUT",
        "/projects/shop/environments/prod/secrets/x",
        Some(json!({"values": {}})),
        404,
    )
    .await;
    h.sys(
        "DELETE",
        "/projects/shop/environments/development/secrets/stripe",
        None,
        204,
    )
    .await;
    assert!(
        h.control
            .env_secrets("shop", "development")
            .unwrap()
            .is_empty()
    );
}

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
async fn wire_credentials_follow_project_membership() {
    let h = start().await;
    h.control
        .create_account("owner@example.com", "password-123", true)
        .unwrap();
    h.control
        .create_account("ann@example.com", "password-ann", false)
        .unwrap();
    h.control
        .create_account("lone@example.com", "password-123", false)
        .unwrap();
    h.sys("POST", "/projects", Some(json!({"name": "alpha"})), 201)
        .await;
    h.sys("POST", "/projects", Some(json!({"name": "beta"})), 201)
        .await;
    h.sys(
        "POST",
        "/projects/alpha/environments",
        Some(json!({"name": "prod"})),
        201,
    )
    .await;
    h.sys(
        "PUT",
        "/projects/alpha/members/ann@example.com",
        Some(json!({"role": "read-only"})),
        200,
    )
    .await;
    let creds = h.control.wire_credentials();
    let ann = creds.lookup("ann@example.com").unwrap();
    let want: std::collections::BTreeSet<String> = ["alpha__development", "alpha__prod"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(ann.access, DatabaseAccess::Only(want));
    assert!(!ann.access.allows("beta__development") && !ann.access.allows("__stratus"));
    assert_eq!(
        creds.lookup("owner@example.com").unwrap().access,
        DatabaseAccess::All
    );
    assert_eq!(
        creds.lookup("lone@example.com").unwrap().access,
        DatabaseAccess::Only(Default::default())
    );
    assert!(creds.lookup("nobody@example.com").is_none());
    // The stored SCRAM keys are the ones the password derives (and only the keys are kept).
    let c = ann.credential(Mechanism::ScramSha256).unwrap();
    assert_eq!(
        &ScramCredential::derive_with(
            "password-ann",
            Mechanism::ScramSha256,
            &c.salt,
            c.iterations
        ),
        c
    );
    assert_ne!(
        &ScramCredential::derive_with(
            "password-xxx",
            Mechanism::ScramSha256,
            &c.salt,
            c.iterations
        ),
        c
    );
    let c1 = ann.credential(Mechanism::ScramSha1).unwrap();
    let sha1_pw =
        stratus_server::wire::auth::mongo_sha1_password("ann@example.com", "password-ann");
    assert_eq!(
        &ScramCredential::derive_with(&sha1_pw, Mechanism::ScramSha1, &c1.salt, c1.iterations),
        c1
    );
    // Removing the membership removes the access.
    h.sys(
        "DELETE",
        "/projects/alpha/members/ann@example.com",
        None,
        204,
    )
    .await;
    assert_eq!(
        creds.lookup("ann@example.com").unwrap().access,
        DatabaseAccess::Only(Default::default())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_files_are_private_and_the_admin_token_works() {
    let h = start().await;
    for f in ["session.key", "master.key", ".admin-token"] {
        let meta = std::fs::metadata(h.data_dir.join(f)).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{f}");
        }
        assert!(meta.len() > 0);
    }
    let token = std::fs::read_to_string(h.data_dir.join(".admin-token")).unwrap();
    assert_eq!(token, h.control.local_admin_token());
    // The local admin token can create the first owner (what `stratus admin create` does).
    let r = h.call("POST", "/users", Some(&token), Some(json!({"email": "first@example.com", "password": "password-123", "orgRole": "owner"}))).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let owner = h.login("first@example.com", "password-123").await;
    assert_eq!(
        h.call(
            "POST",
            "/projects",
            Some(&owner),
            Some(json!({"name": "mine"}))
        )
        .await
        .status,
        201
    );
    // A manager cannot create owners.
    h.sys(
        "POST",
        "/users",
        Some(json!({"email": "mgr@example.com", "password": "password-123", "orgRole": "manager"})),
        201,
    )
    .await;
    let mgr = h.login("mgr@example.com", "password-123").await;
    let r = h
        .call(
            "POST",
            "/users",
            Some(&mgr),
            Some(json!({"email": "x@example.com", "password": "password-123", "orgRole": "owner"})),
        )
        .await;
    assert_eq!(r.status, 403);
    let r = h
        .call(
            "POST",
            "/users",
            Some(&mgr),
            Some(json!({"email": "y@example.com", "password": "password-123"})),
        )
        .await;
    assert_eq!(r.status, 201);
    h.sys(
        "POST",
        "/users",
        Some(json!({"email": "y@example.com", "password": "password-123"})),
        409,
    )
    .await;
    h.sys(
        "POST",
        "/users",
        Some(json!({"email": "not-an-email", "password": "password-123"})),
        400,
    )
    .await;
}
