//! Accounts and credentials over real HTTP: login, refresh, logout, password change, login
//! throttling, API keys, secrets at rest, key files, and the wire-protocol credentials.

mod admin_support;

use admin_support::{Harness, start, start_opts, start_with};
use serde_json::json;
use sha2::Digest;
use stratus_auth::ratelimit::BucketConfig;
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
            let wait: u64 = r.retry_after.as_deref().unwrap().parse().unwrap();
            assert!((1..=600).contains(&wait), "{wait}");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_is_rate_limited_per_client_address() {
    // Default buckets: 20 attempts per address. Each attempt names another account, so only
    // the address bucket can refuse.
    let h = start().await;
    let mut statuses = Vec::new();
    for i in 0..21 {
        let body = json!({"email": format!("u{i}@example.com"), "password": "password-123"});
        statuses.push(h.call("POST", "/auth/login", None, Some(body)).await.status);
    }
    assert_eq!(statuses[..20], [401; 20]);
    assert_eq!(statuses[20], 429);
    // Without connection info there is no address to share: throttling stays per account.
    let h = start_opts(ControlConfig::default(), false).await;
    for i in 0..21 {
        let body = json!({"email": format!("u{i}@example.com"), "password": "password-123"});
        assert_eq!(
            h.call("POST", "/auth/login", None, Some(body)).await.status,
            401,
            "{i}"
        );
    }
    let mut last = 0;
    for _ in 0..6 {
        let body = json!({"email": "same@example.com", "password": "password-123"});
        last = h.call("POST", "/auth/login", None, Some(body)).await.status;
    }
    assert_eq!(last, 429);
}
