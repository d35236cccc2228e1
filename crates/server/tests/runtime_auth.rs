//! User-API authentication end to end (CONTRACT §6, docs/auth.md): the whole server
//! (`serve::run_on`) on a loopback port, projects deployed through the admin API, tokens minted
//! per test and sent over real HTTP.
//!
//! Covers an `hmac` provider whose secret is an environment secret, a `jwks` provider against a
//! JWKS HTTP server run by the test (RS256 and ES256), per-API provider selection, the 401
//! refusals (`{"code": "unauthenticated", "detail"}` + `WWW-Authenticate`), key rotation
//! without restart, public APIs next to protected ones, request logs without tokens, and real
//! Cognito tokens from moto (`moto_server`, skipped with a printed reason when absent unless
//! `STRATUS_REQUIRE_REAL_CLIENTS` is set).

#[path = "runtime_auth/keys.rs"]
mod keys;
#[path = "runtime_auth/server.rs"]
mod server;

use std::time::Duration;

use jsonwebtoken::Algorithm;
use keys::{
    b64, claims, ec256_key, jwks, now, random_secret, rsa_key, sign, sign_hmac, sign_with_header,
};
use serde_json::{Value, json};
use server::{JwksServer, Server, start_in};

const ISSUER: &str = "https://idp.test/";
const AUDIENCE: &str = "my-api";

/// A flow answering the token's `sub` and `role` claims (and logging the raw token through a
/// debug node, which the request log must redact).
fn echo_flow() -> Value {
    json!([
        {"type": "debug", "label": "raw", "value": "$.tokenData.rawToken"},
        {"type": "httpResponse", "status": 200,
         "body": {"sub": "$.tokenData.sub", "role": "$.tokenData.role"}}
    ])
}

fn definition(jwks_uri: &str) -> Value {
    json!({
      "name": "authp",
      "auth": {"providers": [
        {"name": "shared", "type": "hmac", "secret": "$.secrets.auth.key"},
        {"name": "idp", "type": "jwks", "jwksUri": jwks_uri, "issuer": ISSUER, "audience": [AUDIENCE]}
      ]},
      "apis": [
        {"name": "me", "method": "GET", "endpoint": "/me", "auth": true, "flow": echo_flow()},
        {"name": "idp_only", "method": "GET", "endpoint": "/idp", "auth": {"providers": ["idp"]}, "flow": echo_flow()},
        {"name": "public", "method": "GET", "endpoint": "/public", "auth": false,
         "flow": [{"type": "httpResponse", "status": 200, "body": {"open": true}}]}
      ]
    })
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn www_authenticate(h: &reqwest::header::HeaderMap) -> String {
    h.get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// Asserts a CONTRACT §3 401 and returns its detail.
fn assert_refused(
    case: &str,
    st: u16,
    h: &reqwest::header::HeaderMap,
    body: &Value,
    token_sent: bool,
) -> String {
    assert_eq!(st, 401, "{case}: {body}");
    assert_eq!(body["code"], json!("unauthenticated"), "{case}: {body}");
    let challenge = www_authenticate(h);
    assert!(
        challenge.starts_with("Bearer"),
        "{case}: WWW-Authenticate = {challenge:?}"
    );
    assert_eq!(
        challenge.contains("error=\"invalid_token\""),
        token_sent,
        "{case}: WWW-Authenticate = {challenge:?}"
    );
    body["detail"]
        .as_str()
        .unwrap_or_else(|| panic!("{case}: detail is a string: {body}"))
        .to_string()
}

/// Polls the request log of `api` until it holds `n` entries; returns the page.
async fn logs(s: &Server, project: &str, api: &str, n: u64) -> Value {
    let mut last = Value::Null;
    for _ in 0..200 {
        let (st, b) = s
            .admin(
                reqwest::Method::GET,
                &format!("/projects/{project}/environments/development/logs?api={api}&limit=100"),
                None,
            )
            .await;
        assert_eq!(st, 200, "{b}");
        if b["page"]["total"].as_u64().unwrap_or(0) >= n {
            return b;
        }
        last = b;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("request log of {api} did not reach {n} entries: {last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hmac_and_jwks_providers_accept_and_refuse() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = start_in(dir.path()).await;
    let idp = JwksServer::start().await;
    let rsa = rsa_key(0, "rsa-1");
    let ec = ec256_key("ec-1");
    let stranger = rsa_key(1, "rsa-1"); // same kid, a key the JWKS does not publish
    idp.set("/jwks.json", jwks(&[&rsa, &ec]));
    let secret = random_secret(32);
    s.deploy(
        "authp",
        &[("auth", json!({"key": secret}))],
        definition(&idp.url("/jwks.json")),
    )
    .await;

    // Public API: no token needed.
    let (st, _, b) = s.get("authp", "/public", None).await;
    assert_eq!((st, b), (200, json!({"open": true})));

    // HMAC provider (secret from the environment secret), `"auth": true`.
    let hs = sign_hmac(
        secret.as_bytes(),
        Algorithm::HS256,
        &json!({"alg": "HS256", "typ": "JWT"}),
        &claims(json!({"sub": "alice", "role": "admin"})),
    );
    let (st, _, b) = s.get("authp", "/me", Some(&bearer(&hs))).await;
    assert_eq!(
        (st, b.clone()),
        (200, json!({"sub": "alice", "role": "admin"})),
        "{b}"
    );
    // The scheme is case-insensitive.
    let (st, _, _) = s.get("authp", "/me", Some(&format!("bearer {hs}"))).await;
    assert_eq!(st, 200);

    // JWKS provider: RS256 and ES256, through `"auth": true` and through the named provider.
    let mut sent: Vec<String> = vec![hs.clone()];
    for (key, sub) in [(&rsa, "rs-user"), (&ec, "es-user")] {
        let t = sign(
            key,
            &claims(json!({"sub": sub, "role": "reader", "iss": ISSUER, "aud": AUDIENCE})),
        );
        for path in ["/me", "/idp"] {
            let (st, _, b) = s.get("authp", path, Some(&bearer(&t))).await;
            assert_eq!(
                (st, b.clone()),
                (200, json!({"sub": sub, "role": "reader"})),
                "{path} {sub}: {b}"
            );
        }
        sent.push(t);
    }
    assert_eq!(
        idp.hits("/jwks.json"),
        1,
        "one JWKS fetch serves every later token"
    );

    // Refusals. Each case: (name, API path, Authorization value or none, detail).
    let good = |extra: Value| {
        claims(json!({"sub": "x", "role": "r", "iss": ISSUER, "aud": AUDIENCE}))
            .as_object()
            .cloned()
            .map(|mut m| {
                if let Some(e) = extra.as_object() {
                    for (k, v) in e {
                        m.insert(k.clone(), v.clone());
                    }
                }
                Value::Object(m)
            })
            .unwrap_or(Value::Null)
    };
    let none_alg = format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"JWT"}"#),
        b64(good(json!({})).to_string().as_bytes())
    );
    let confusion = sign_hmac(
        &rsa.public_bytes,
        Algorithm::HS256,
        &json!({"alg": "HS256", "kid": "rsa-1", "typ": "JWT"}),
        &good(json!({})),
    );
    let unknown_kid = sign_with_header(
        &rsa,
        &json!({"alg": "RS256", "kid": "nobody", "typ": "JWT"}),
        &good(json!({})),
    );
    let wrong_secret = sign_hmac(
        random_secret(32).as_bytes(),
        Algorithm::HS256,
        &json!({"alg": "HS256", "typ": "JWT"}),
        &claims(json!({"role": "r"})),
    );
    let cases: Vec<(&str, &str, Option<String>, &str)> = vec![
        ("no header", "/idp", None, "no bearer token was presented"),
        (
            "no header, any provider",
            "/me",
            None,
            "no bearer token was presented",
        ),
        (
            "not bearer",
            "/me",
            Some(format!("Basic {}", b64(b"a:b"))),
            "no bearer token was presented",
        ),
        (
            "malformed",
            "/idp",
            Some(bearer("abc.def")),
            "the token is malformed",
        ),
        (
            "garbage",
            "/me",
            Some(bearer("%%%.%%%.%%%")),
            "the token is malformed",
        ),
        (
            "alg none",
            "/idp",
            Some(bearer(&none_alg)),
            "signing algorithm is not allowed",
        ),
        (
            "alg none, any provider",
            "/me",
            Some(bearer(&none_alg)),
            "signing algorithm is not allowed",
        ),
        (
            "HS/RS confusion",
            "/idp",
            Some(bearer(&confusion)),
            "signing algorithm is not allowed",
        ),
        // With every provider allowed, an HS256 token is routed to the hmac provider, whose
        // secret is not the RSA public key: still refused.
        (
            "HS/RS confusion, any provider",
            "/me",
            Some(bearer(&confusion)),
            "the token signature is invalid",
        ),
        (
            "hmac token on the jwks-only API",
            "/idp",
            Some(bearer(&hs)),
            "signing algorithm is not allowed",
        ),
        (
            "wrong hmac secret",
            "/me",
            Some(bearer(&wrong_secret)),
            "the token signature is invalid",
        ),
        (
            "expired",
            "/idp",
            Some(bearer(&sign(
                &rsa,
                &good(json!({"iat": now() - 7200, "exp": now() - 3600})),
            ))),
            "the token has expired",
        ),
        (
            "nbf in the future",
            "/idp",
            Some(bearer(&sign(&ec, &good(json!({"nbf": now() + 3600}))))),
            "the token is not valid yet",
        ),
        (
            "wrong issuer",
            "/idp",
            Some(bearer(&sign(
                &rsa,
                &good(json!({"iss": "https://evil.test/"})),
            ))),
            "unexpected issuer",
        ),
        (
            "wrong audience",
            "/idp",
            Some(bearer(&sign(&ec, &good(json!({"aud": "other-api"}))))),
            "not intended for this API",
        ),
        (
            "no exp",
            "/idp",
            Some(bearer(&sign(
                &rsa,
                &json!({"sub": "x", "iss": ISSUER, "aud": AUDIENCE}),
            ))),
            "the token lacks the required claim 'exp'",
        ),
        (
            "unknown kid",
            "/idp",
            Some(bearer(&unknown_kid)),
            "a key the identity provider does not publish",
        ),
        (
            "key not in the JWKS",
            "/idp",
            Some(bearer(&sign(&stranger, &good(json!({}))))),
            "the token signature is invalid",
        ),
        (
            "tampered payload",
            "/idp",
            Some(bearer(&{
                let t = sign(&rsa, &good(json!({"role": "reader"})));
                let parts: Vec<&str> = t.split('.').collect();
                format!(
                    "{}.{}.{}",
                    parts[0],
                    b64(good(json!({"role": "admin"})).to_string().as_bytes()),
                    parts[2]
                )
            })),
            "the token signature is invalid",
        ),
    ];
    let n_cases = cases.len();
    let forbidden_material: Vec<String> = vec![
        secret.clone(),
        rsa.jwk["n"].as_str().unwrap_or_default().to_string(),
        ec.jwk["x"].as_str().unwrap_or_default().to_string(),
        "rsa-1".into(),
        "nobody".into(),
    ];
    for (case, path, auth, want) in cases {
        let (st, h, b) = s.get("authp", path, auth.as_deref()).await;
        let token_sent = auth.as_deref().is_some_and(|a| a.starts_with("Bearer "));
        let detail = assert_refused(case, st, &h, &b, token_sent);
        assert!(
            detail.contains(want),
            "{case}: detail {detail:?} should contain {want:?}"
        );
        let whole = format!("{b} {}", www_authenticate(&h));
        for m in &forbidden_material {
            assert!(
                !whole.contains(m.as_str()),
                "{case}: the answer leaks key material or token text: {whole}"
            );
        }
        if let Some(a) = &auth {
            let token = a.trim_start_matches("Bearer ");
            assert!(
                token.len() < 8 || !whole.contains(token),
                "{case}: the answer echoes the token"
            );
            sent.push(token.to_string());
        }
    }
    // The unknown kid did not trigger a second fetch within the refresh interval (30 s).
    assert_eq!(idp.hits("/jwks.json"), 1);

    // The request log keeps neither the tokens nor the Authorization header value.
    let me = logs(&s, "authp", "me", 3).await;
    let idp_log = logs(&s, "authp", "idp_only", 2).await;
    let text = format!("{me} {idp_log}");
    for t in &sent {
        if t.len() > 20 {
            assert!(
                !text.contains(t.as_str()),
                "the request log contains a raw token: {text}"
            );
            // Each part of a token is as sensitive (the signature in particular).
            if let Some(sig) = t.rsplit('.').next().filter(|p| p.len() > 20) {
                assert!(
                    !text.contains(sig),
                    "the request log contains a token signature"
                );
            }
        }
    }
    assert!(
        !text.contains("Bearer ey"),
        "the request log contains an Authorization value"
    );
    assert!(
        text.contains("[redacted"),
        "the redaction marker is visible: {text}"
    );
    println!("{n_cases} refusal cases checked");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_key_rotation_without_restart() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = start_in(dir.path()).await;
    let idp = JwksServer::start().await;
    let old = ec256_key("old");
    let new = rsa_key(2, "new");
    idp.set("/rot.json", jwks(&[&old]));
    s.deploy(
        "authp",
        &[("auth", json!({"key": random_secret(32)}))],
        definition(&idp.url("/rot.json")),
    )
    .await;
    let c = |sub: &str| claims(json!({"sub": sub, "role": "r", "iss": ISSUER, "aud": AUDIENCE}));

    let t_old = sign(&old, &c("before"));
    let (st, _, b) = s.get("authp", "/idp", Some(&bearer(&t_old))).await;
    assert_eq!((st, b["sub"].clone()), (200, json!("before")), "{b}");
    let first_fetch = std::time::Instant::now();
    assert_eq!(idp.hits("/rot.json"), 1);

    // The provider rotates: only the new key is published.
    idp.set("/rot.json", jwks(&[&new]));
    let t_new = sign(&new, &c("after"));
    // Within the refresh interval (30 s) an unknown kid does not cause a fetch: refused.
    let (st, h, b) = s.get("authp", "/idp", Some(&bearer(&t_new))).await;
    let detail = assert_refused("new kid before the interval", st, &h, &b, true);
    assert!(detail.contains("does not publish"), "{detail}");
    assert_eq!(idp.hits("/rot.json"), 1);

    // Once the interval has passed, the unknown kid triggers one refresh and is accepted.
    let wait = Duration::from_secs(31).saturating_sub(first_fetch.elapsed());
    tokio::time::sleep(wait).await;
    let (st, _, b) = s.get("authp", "/idp", Some(&bearer(&t_new))).await;
    assert_eq!((st, b["sub"].clone()), (200, json!("after")), "{b}");
    assert_eq!(idp.hits("/rot.json"), 2);
    // A token (not seen before) signed with the retired key is now refused ...
    let (st, h, b) = s
        .get("authp", "/idp", Some(&bearer(&sign(&old, &c("late")))))
        .await;
    let detail = assert_refused("retired key", st, &h, &b, true);
    assert!(detail.contains("does not publish"), "{detail}");
    // ... and so is a random kid, without another fetch (at most one per interval).
    let bogus = sign_with_header(&new, &json!({"alg": "RS256", "kid": "bogus"}), &c("x"));
    let (st, h, b) = s.get("authp", "/idp", Some(&bearer(&bogus))).await;
    assert_refused("bogus kid", st, &h, &b, true);
    assert_eq!(idp.hits("/rot.json"), 2);
    s.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Cognito through moto.

/// Kills moto when the test ends (also on panic).
struct Moto(std::process::Child);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn require_real_clients() -> bool {
    std::env::var("STRATUS_REQUIRE_REAL_CLIENTS").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Skips (prints why) or, under `STRATUS_REQUIRE_REAL_CLIENTS`, fails.
fn skip(reason: &str) {
    assert!(
        !require_real_clients(),
        "STRATUS_REQUIRE_REAL_CLIENTS is set but {reason}"
    );
    println!("SKIP cognito_via_moto: {reason}");
}

fn on_path(bin: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(bin).is_file()))
}

const REGION: &str = "us-east-1";

/// One Cognito Identity Provider call against moto (JSON 1.1 protocol; moto routes by the
/// credential scope and does not check signatures).
async fn cognito(client: &reqwest::Client, base: &str, op: &str, body: Value) -> Value {
    let resp = client
        .post(format!("{base}/"))
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", format!("AWSCognitoIdentityProviderService.{op}"))
        .header(
            "authorization",
            format!("AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/{REGION}/cognito-idp/aws4_request, SignedHeaders=host, Signature=00"),
        )
        .body(body.to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{op}: {e}"));
    let status = resp.status();
    let text = resp.text().await.expect("body");
    assert!(status.is_success(), "{op}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

fn claims_of(token: &str) -> Value {
    use base64::Engine;
    let part = token.split('.').nth(1).unwrap_or_default();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("base64url payload");
    serde_json::from_slice(&bytes).expect("claims JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cognito_via_moto() {
    if !on_path("moto_server") {
        skip("`moto_server` is not on PATH (pip install 'moto[server]')");
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let mut moto = Moto(
        std::process::Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("moto_server starts"),
    );
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..240 {
        if client.get(format!("{base}/moto-api/")).send().await.is_ok() {
            ready = true;
            break;
        }
        if let Ok(Some(status)) = moto.0.try_wait() {
            skip(&format!(
                "`moto_server` exited with {status} before serving (pip install 'moto[server]')"
            ));
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(ready, "moto_server did not come up on {base} within 60 s");

    let pool = cognito(
        &client,
        &base,
        "CreateUserPool",
        json!({"PoolName": "stratus-runtime"}),
    )
    .await;
    let pool_id = pool["UserPool"]["Id"]
        .as_str()
        .expect("pool id")
        .to_string();
    let app = cognito(
        &client,
        &base,
        "CreateUserPoolClient",
        json!({"UserPoolId": pool_id, "ClientName": "web", "GenerateSecret": false,
               // moto (like Cognito) puts only the client's readable attributes in ID tokens.
               "ReadAttributes": ["email"],
               "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]}),
    )
    .await;
    let client_id = app["UserPoolClient"]["ClientId"]
        .as_str()
        .expect("client id")
        .to_string();
    cognito(
        &client,
        &base,
        "SignUp",
        json!({"ClientId": client_id, "Username": "alice", "Password": "Passw0rd!x",
               "UserAttributes": [{"Name": "email", "Value": "alice@example.com"}]}),
    )
    .await;
    cognito(
        &client,
        &base,
        "AdminConfirmSignUp",
        json!({"UserPoolId": pool_id, "Username": "alice"}),
    )
    .await;
    let signed_in = cognito(
        &client,
        &base,
        "InitiateAuth",
        json!({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": client_id,
               "AuthParameters": {"USERNAME": "alice", "PASSWORD": "Passw0rd!x"}}),
    )
    .await;
    let id_token = signed_in["AuthenticationResult"]["IdToken"]
        .as_str()
        .expect("id token")
        .to_string();
    let access_token = signed_in["AuthenticationResult"]["AccessToken"]
        .as_str()
        .expect("access token")
        .to_string();
    // What moto puts in the tokens (the provider derives the same issuer from region + pool).
    let id_claims = claims_of(&id_token);
    assert_eq!(
        id_claims["iss"],
        json!(format!(
            "https://cognito-idp.{REGION}.amazonaws.com/{pool_id}"
        )),
        "{id_claims}"
    );
    // The JWKS path moto serves.
    let jwks_uri = format!("{base}/{pool_id}/.well-known/jwks.json");
    let keys: Value = client
        .get(&jwks_uri)
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("jwks json");
    assert!(
        keys["keys"].as_array().is_some_and(|k| !k.is_empty()),
        "moto JWKS: {keys}"
    );

    let dir = tempfile::tempdir().expect("tmp");
    let s = start_in(dir.path()).await;
    let provider = |name: &str, token_use: &str| {
        json!({"name": name, "type": "cognito", "region": REGION, "userPoolId": pool_id,
               "clientIds": [client_id], "tokenUse": token_use, "jwksUri": jwks_uri})
    };
    s.deploy(
        "cog",
        &[],
        json!({
          "name": "cog",
          "auth": {"providers": [provider("cog-id", "id"), provider("cog-access", "access")]},
          "apis": [
            {"name": "profile", "method": "GET", "endpoint": "/profile", "auth": {"providers": ["cog-id"]},
             "flow": [{"type": "httpResponse", "status": 200,
                       "body": {"email": "$.tokenData.email", "sub": "$.tokenData.sub", "use": "$.tokenData.token_use"}}]},
            {"name": "session", "method": "GET", "endpoint": "/session", "auth": {"providers": ["cog-access"]},
             "flow": [{"type": "httpResponse", "status": 200,
                       "body": {"clientId": "$.tokenData.client_id", "username": "$.tokenData.username"}}]},
            {"name": "anyone", "method": "GET", "endpoint": "/anyone", "auth": true,
             "flow": [{"type": "httpResponse", "status": 200, "body": {"use": "$.tokenData.token_use"}}]}
          ]
        }),
    )
    .await;

    let (st, _, b) = s.get("cog", "/profile", Some(&bearer(&id_token))).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["email"], json!("alice@example.com"), "{b}");
    assert_eq!(b["sub"], id_claims["sub"], "{b}");
    assert!(b["sub"].as_str().is_some_and(|v| !v.is_empty()), "{b}");
    assert_eq!(b["use"], json!("id"));
    let (st, _, b) = s.get("cog", "/session", Some(&bearer(&access_token))).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b, json!({"clientId": client_id, "username": "alice"}));
    // `"auth": true` accepts either kind through its provider.
    for (t, kind) in [(&id_token, "id"), (&access_token, "access")] {
        let (st, _, b) = s.get("cog", "/anyone", Some(&bearer(t))).await;
        assert_eq!((st, b["use"].clone()), (200, json!(kind)), "{b}");
    }
    // Each kind is refused where only the other kind is accepted.
    let (st, h, b) = s.get("cog", "/session", Some(&bearer(&id_token))).await;
    let detail = assert_refused("ID token on the access-token API", st, &h, &b, true);
    assert!(!detail.contains(&id_token), "{detail}");
    let (st, h, b) = s.get("cog", "/profile", Some(&bearer(&access_token))).await;
    assert_refused("access token on the ID-token API", st, &h, &b, true);
    let (st, h, b) = s.get("cog", "/profile", None).await;
    assert_refused("no token", st, &h, &b, false);
    s.stop().await;
}
