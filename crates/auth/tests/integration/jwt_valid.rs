//! Tokens that must be accepted: every supported algorithm through a real JWKS server, the
//! four provider types, claims exposed as `$.tokenData`.

use std::sync::Arc;

use jsonwebtoken::Algorithm;
use serde_json::json;
use stratus_auth::clock::Clock;
use stratus_auth::jwks::JwksPolicy;
use stratus_auth::provider::ProviderConfig;
use stratus_auth::{Authenticator, ProviderSelection};

use super::common::*;

fn provider(v: serde_json::Value, secret: Option<&[u8]>) -> stratus_auth::provider::Provider {
    let cfg: ProviderConfig = serde_json::from_value(v).expect("config");
    cfg.build(secret).expect("provider")
}

#[tokio::test]
async fn every_asymmetric_algorithm_verifies_through_jwks() {
    let server = JwksServer::start().await;
    let keys = vec![
        rsa_key(0, "rs256", Algorithm::RS256, true),
        rsa_key(0, "rs384", Algorithm::RS384, true),
        rsa_key(0, "rs512", Algorithm::RS512, true),
        rsa_key(1, "ps256", Algorithm::PS256, true),
        rsa_key(1, "ps384", Algorithm::PS384, true),
        rsa_key(1, "ps512", Algorithm::PS512, true),
        ec256_key("es256"),
        ec384_key("es384"),
        ed_key("eddsa"),
    ];
    server.set("/jwks.json", jwks(&keys.iter().collect::<Vec<_>>()));
    let (clock, cache) = clock_and_cache(JwksPolicy::default());
    let p = provider(
        json!({"name": "idp", "type": "jwks", "jwksUri": server.url("/jwks.json"),
               "issuer": "https://idp.test", "audience": ["my-api"]}),
        None,
    );
    let auth = Authenticator::new(vec![p], cache, clock.clone()).expect("auth");
    for key in &keys {
        let claims = claims_at(
            &clock,
            json!({"iss": "https://idp.test", "aud": "my-api", "alg_used": key.kid}),
        );
        let token = sign(key, &claims);
        let v = auth
            .verify(&token, ProviderSelection::Any)
            .await
            .unwrap_or_else(|e| panic!("{} refused: {}", key.kid, e.reason()));
        assert_eq!(v.provider, "idp");
        let data = v.token_data();
        assert_eq!(data["alg_used"], json!(key.kid));
        assert_eq!(data["sub"], json!("user-1"));
        assert_eq!(data["rawToken"], json!(token));
    }
    assert_eq!(server.hits("/jwks.json"), 1, "one fetch serves every key");
}

#[tokio::test]
async fn rsa_key_without_alg_accepts_rs_and_ps_but_nothing_else() {
    let server = JwksServer::start().await;
    let rs = rsa_key(0, "k", Algorithm::RS256, false);
    server.set("/jwks.json", jwks(&[&rs]));
    let (clock, cache) = clock_and_cache(JwksPolicy::default());
    let p = provider(
        json!({"name": "idp", "type": "jwks", "jwksUri": server.url("/jwks.json")}),
        None,
    );
    let auth = Authenticator::new(vec![p], cache, clock.clone()).expect("auth");
    for alg in [Algorithm::RS256, Algorithm::PS512] {
        let k = TestKey { alg, ..rs.clone() };
        let t = sign(&k, &claims_at(&clock, json!({})));
        auth.verify(&t, ProviderSelection::Any)
            .await
            .expect("RSA family alg accepted");
    }
}

#[tokio::test]
async fn hmac_provider_and_selection_by_name() {
    let secret = b"0123456789abcdef0123456789abcdef".to_vec();
    let server = JwksServer::start().await;
    let ec = ec256_key("ec");
    server.set("/jwks.json", jwks(&[&ec]));
    let (clock, cache) = clock_and_cache(JwksPolicy::default());
    let shared = provider(
        json!({"name": "shared", "type": "hmac", "secret": "$.secrets.auth.key", "algorithms": ["HS256", "HS384"]}),
        Some(&[secret.as_slice(), secret.as_slice()].concat()),
    );
    let idp = provider(
        json!({"name": "idp", "type": "jwks", "jwksUri": server.url("/jwks.json")}),
        None,
    );
    let auth = Authenticator::new(vec![shared, idp], cache, clock.clone()).expect("auth");
    let long = [secret.as_slice(), secret.as_slice()].concat();
    let t = sign_hmac(
        &long,
        Algorithm::HS384,
        &json!({"alg": "HS384"}),
        &claims_at(&clock, json!({})),
    );
    let v = auth
        .verify(&t, ProviderSelection::Any)
        .await
        .expect("hmac ok");
    assert_eq!(v.provider, "shared");
    let only_idp = ["idp".to_string()];
    let e = auth
        .verify(&t, ProviderSelection::Named(&only_idp))
        .await
        .expect_err("hmac token for an API that only accepts idp");
    assert_eq!(e.reason(), "algorithm_not_allowed");
    let t2 = sign(&ec, &claims_at(&clock, json!({})));
    let v2 = auth
        .verify(&t2, ProviderSelection::Named(&only_idp))
        .await
        .expect("ec ok");
    assert_eq!(v2.provider, "idp");
    let only_shared = ["shared".to_string()];
    assert!(
        auth.verify(&t2, ProviderSelection::Named(&only_shared))
            .await
            .is_err()
    );
    let hs512 = sign_hmac(
        &long,
        Algorithm::HS512,
        &json!({"alg": "HS512"}),
        &claims_at(&clock, json!({})),
    );
    assert_eq!(
        auth.verify(&hs512, ProviderSelection::Any)
            .await
            .expect_err("HS512 not configured")
            .reason(),
        "algorithm_not_allowed"
    );
}

#[tokio::test]
async fn cognito_id_and_access_tokens_with_derived_issuer() {
    let server = JwksServer::start().await;
    let k = rsa_key(0, "cog", Algorithm::RS256, true);
    server.set("/pool/.well-known/jwks.json", jwks(&[&k]));
    let (clock, cache) = clock_and_cache(JwksPolicy::default());
    let iss = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc";
    let jwks_uri = server.url("/pool/.well-known/jwks.json");
    let id = provider(
        json!({"name": "cid", "type": "cognito", "region": "eu-west-1", "userPoolId": "eu-west-1_abc",
        "clientIds": ["client-1"], "tokenUse": "id", "jwksUri": jwks_uri}),
        None,
    );
    let access = provider(
        json!({"name": "cacc", "type": "cognito", "region": "eu-west-1", "userPoolId": "eu-west-1_abc",
        "clientIds": ["client-1"], "tokenUse": "access", "jwksUri": jwks_uri}),
        None,
    );
    let auth = Authenticator::new(vec![id, access], cache, clock.clone()).expect("auth");
    let id_token = sign(
        &k,
        &claims_at(
            &clock,
            json!({"iss": iss, "aud": "client-1", "token_use": "id", "email": "a@b"}),
        ),
    );
    let access_token = sign(
        &k,
        &claims_at(
            &clock,
            json!({"iss": iss, "client_id": "client-1", "token_use": "access", "scope": "aws.cognito.signin.user.admin"}),
        ),
    );
    let (n_id, n_acc) = (["cid".to_string()], ["cacc".to_string()]);
    let v = auth
        .verify(&id_token, ProviderSelection::Named(&n_id))
        .await
        .expect("id token");
    assert_eq!(v.token_data()["email"], json!("a@b"));
    auth.verify(&access_token, ProviderSelection::Named(&n_acc))
        .await
        .expect("access token");
    let r = |e: stratus_auth::AuthError| e.reason();
    assert_eq!(
        r(auth
            .verify(&access_token, ProviderSelection::Named(&n_id))
            .await
            .expect_err("x")),
        "bad_audience"
    );
    assert_eq!(
        r(auth
            .verify(&id_token, ProviderSelection::Named(&n_acc))
            .await
            .expect_err("x")),
        "bad_audience"
    );
    let id_as_access = sign(
        &k,
        &claims_at(
            &clock,
            json!({"iss": iss, "aud": "client-1", "client_id": "client-1", "token_use": "id"}),
        ),
    );
    assert_eq!(
        r(auth
            .verify(&id_as_access, ProviderSelection::Named(&n_acc))
            .await
            .expect_err("x")),
        "bad_token_use"
    );
    let other_client = sign(
        &k,
        &claims_at(
            &clock,
            json!({"iss": iss, "aud": "client-2", "token_use": "id"}),
        ),
    );
    assert_eq!(
        r(auth
            .verify(&other_client, ProviderSelection::Named(&n_id))
            .await
            .expect_err("x")),
        "bad_audience"
    );
    let other_pool = sign(
        &k,
        &claims_at(
            &clock,
            json!({"iss": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_zzz", "aud": "client-1", "token_use": "id"}),
        ),
    );
    assert_eq!(
        r(auth
            .verify(&other_pool, ProviderSelection::Any)
            .await
            .expect_err("x")),
        "bad_issuer"
    );
    // With both accepted (`auth: true`), either kind passes.
    auth.verify(&id_token, ProviderSelection::Any)
        .await
        .expect("id via any");
    auth.verify(&access_token, ProviderSelection::Any)
        .await
        .expect("access via any");
}

#[tokio::test]
async fn oidc_discovery_finds_the_jwks() {
    let server = JwksServer::start().await;
    let k = ec256_key("o1");
    let issuer = server.url("/realm");
    server.set(
        "/realm/.well-known/openid-configuration",
        json!({"issuer": issuer, "jwks_uri": server.url("/realm/certs")}),
    );
    server.set("/realm/certs", jwks(&[&k]));
    let (clock, cache) = clock_and_cache(JwksPolicy::default());
    let p = provider(
        json!({"name": "o", "type": "oidc", "issuer": issuer, "audience": "api"}),
        None,
    );
    let auth = Authenticator::new(vec![p], cache, clock.clone()).expect("auth");
    for _ in 0..3 {
        let t = sign(
            &k,
            &claims_at(&clock, json!({"iss": issuer, "aud": ["api", "x"]})),
        );
        auth.verify(&t, ProviderSelection::Any)
            .await
            .expect("oidc token");
    }
    assert_eq!(server.hits("/realm/.well-known/openid-configuration"), 1);
    assert_eq!(server.hits("/realm/certs"), 1);

    // A discovery document for another issuer is refused (OpenID Discovery §4.3).
    let server2 = JwksServer::start().await;
    let issuer2 = server2.url("/r2");
    server2.set(
        "/r2/.well-known/openid-configuration",
        json!({"issuer": "https://evil.test", "jwks_uri": server2.url("/r2/certs")}),
    );
    server2.set("/r2/certs", jwks(&[&k]));
    let (clock2, cache2) = clock_and_cache(JwksPolicy::default());
    let p2 = provider(
        json!({"name": "o", "type": "oidc", "issuer": issuer2}),
        None,
    );
    let auth2 = Authenticator::new(vec![p2], cache2, clock2.clone()).expect("auth");
    let t = sign(&k, &claims_at(&clock2, json!({"iss": issuer2})));
    assert_eq!(
        auth2
            .verify(&t, ProviderSelection::Any)
            .await
            .expect_err("x")
            .reason(),
        "provider_unavailable"
    );
    assert_eq!(server2.hits("/r2/certs"), 0);
}

#[tokio::test]
async fn leeway_is_configurable() {
    let server = JwksServer::start().await;
    let k = ec256_key("e");
    server.set("/j", jwks(&[&k]));
    let (clock, cache) = clock_and_cache(JwksPolicy::default());
    let strict = provider(
        json!({"name": "s", "type": "jwks", "jwksUri": server.url("/j"), "leewaySecs": 0}),
        None,
    );
    let lax = provider(
        json!({"name": "l", "type": "jwks", "jwksUri": server.url("/j"), "leewaySecs": 300}),
        None,
    );
    let auth =
        Authenticator::new(vec![strict, lax], Arc::clone(&cache), clock.clone()).expect("auth");
    let now = clock.now_secs();
    let t = sign(&k, &json!({"exp": now - 100}));
    let (s, l) = (["s".to_string()], ["l".to_string()]);
    assert_eq!(
        auth.verify(&t, ProviderSelection::Named(&s))
            .await
            .expect_err("x")
            .reason(),
        "expired"
    );
    auth.verify(&t, ProviderSelection::Named(&l))
        .await
        .expect("within 300 s leeway");
}

#[tokio::test]
async fn verified_tokens_are_remembered_and_rechecked() {
    let server = JwksServer::start().await;
    let k = ec256_key("e");
    server.set("/j", jwks(&[&k]));
    let (clock, cache) = clock_and_cache(JwksPolicy::default());
    let a = provider(
        json!({"name": "a", "type": "jwks", "jwksUri": server.url("/j")}),
        None,
    );
    let b = provider(
        json!({"name": "b", "type": "jwks", "jwksUri": server.url("/j"), "audience": "b-api"}),
        None,
    );
    let auth = Authenticator::new(vec![a, b], Arc::clone(&cache), clock.clone()).expect("auth");
    let now = clock.now_secs();
    let t = sign(&k, &json!({"sub": "u", "exp": now + 30}));
    for _ in 0..3 {
        let v = auth
            .verify(&t, ProviderSelection::Any)
            .await
            .expect("valid");
        assert_eq!(v.provider, "a");
        assert_eq!(v.token_data()["rawToken"], json!(t));
    }
    assert_eq!(auth.remembered_tokens(), 1);
    // Remembering never widens the API's provider list...
    let only_b = ["b".to_string()];
    let e = auth
        .verify(&t, ProviderSelection::Named(&only_b))
        .await
        .expect_err("b needs aud");
    assert_eq!(e.reason(), "bad_audience");
    // ...nor outlives the token: expiry is re-checked on every use.
    clock.advance_secs(91);
    assert_eq!(
        auth.verify(&t, ProviderSelection::Any)
            .await
            .expect_err("x")
            .reason(),
        "expired"
    );
    // A different token (tampered payload) is a different entry and fails its signature.
    let mut parts: Vec<String> = t.split('.').map(str::to_string).collect();
    parts[1] = b64(json!({"sub": "admin", "exp": now + 3000})
        .to_string()
        .as_bytes());
    let e = auth
        .verify(&parts.join("."), ProviderSelection::Any)
        .await
        .expect_err("x");
    assert_eq!(e.reason(), "bad_signature");
    // Remembering can be switched off.
    let a2 = provider(
        json!({"name": "a", "type": "jwks", "jwksUri": server.url("/j")}),
        None,
    );
    let off = Authenticator::new(vec![a2], cache, clock.clone())
        .expect("auth")
        .with_verified_ttl(std::time::Duration::ZERO);
    let t2 = sign(&k, &claims_at(&clock, json!({})));
    off.verify(&t2, ProviderSelection::Any)
        .await
        .expect("valid");
    assert_eq!(off.remembered_tokens(), 0);
}
