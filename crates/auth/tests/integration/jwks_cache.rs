//! JWKS cache behaviour against a real HTTP server: Cache-Control bounds, rotation without
//! restart, provider down (stale, then fail closed), bogus-kid flood, single flight.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::Algorithm;
use serde_json::json;
use stratus_auth::jwks::JwksPolicy;
use stratus_auth::provider::ProviderConfig;
use stratus_auth::{Authenticator, ProviderSelection};

use super::common::*;

fn policy() -> JwksPolicy {
    JwksPolicy {
        min_ttl: Duration::from_secs(60),
        max_ttl: Duration::from_secs(3600),
        default_ttl: Duration::from_secs(300),
        refresh_interval: Duration::from_secs(30),
        max_stale: Duration::from_secs(600),
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(3),
    }
}

fn auth_for(
    server: &JwksServer,
    clock: Arc<stratus_auth::clock::ManualClock>,
    cache: Arc<stratus_auth::jwks::JwksCache>,
) -> Authenticator {
    let cfg: ProviderConfig = serde_json::from_value(
        json!({"name": "idp", "type": "jwks", "jwksUri": server.url("/jwks")}),
    )
    .expect("cfg");
    Authenticator::new(vec![cfg.build(None).expect("build")], cache, clock).expect("auth")
}

#[tokio::test]
async fn cache_control_max_age_is_honoured_within_bounds() {
    let server = JwksServer::start().await;
    let k = ec256_key("k");
    server.set("/jwks", jwks(&[&k]));
    let (clock, cache) = clock_and_cache(policy());
    let auth = auth_for(&server, clock.clone(), cache);
    let verify = |a: &Authenticator, t: String| {
        let a = a.clone();
        async move { a.verify(&t, ProviderSelection::Any).await }
    };

    server.set_cache_control(Some("public, max-age=120"));
    verify(&auth, sign(&k, &claims_at(&clock, json!({}))))
        .await
        .expect("ok");
    assert_eq!(server.hits("/jwks"), 1);
    clock.advance_secs(119);
    verify(&auth, sign(&k, &claims_at(&clock, json!({}))))
        .await
        .expect("ok");
    assert_eq!(server.hits("/jwks"), 1, "fresh for max-age");
    clock.advance_secs(2);
    server.set_cache_control(Some("max-age=1"));
    verify(&auth, sign(&k, &claims_at(&clock, json!({}))))
        .await
        .expect("ok");
    assert_eq!(server.hits("/jwks"), 2, "refetched after max-age");
    clock.advance_secs(30);
    verify(&auth, sign(&k, &claims_at(&clock, json!({}))))
        .await
        .expect("ok");
    assert_eq!(
        server.hits("/jwks"),
        2,
        "max-age=1 is clamped up to min_ttl (60 s)"
    );
    clock.advance_secs(31);
    server.set_cache_control(Some("max-age=999999"));
    verify(&auth, sign(&k, &claims_at(&clock, json!({}))))
        .await
        .expect("ok");
    assert_eq!(server.hits("/jwks"), 3);
    clock.advance_secs(3601);
    verify(&auth, sign(&k, &claims_at(&clock, json!({}))))
        .await
        .expect("ok");
    assert_eq!(
        server.hits("/jwks"),
        4,
        "max-age clamped down to max_ttl (1 h)"
    );
    server.set_cache_control(None);
    clock.advance_secs(3601);
    verify(&auth, sign(&k, &claims_at(&clock, json!({}))))
        .await
        .expect("ok");
    assert_eq!(server.hits("/jwks"), 5);
    clock.advance_secs(299);
    verify(&auth, sign(&k, &claims_at(&clock, json!({}))))
        .await
        .expect("ok");
    assert_eq!(server.hits("/jwks"), 5, "default ttl without a header");
}

#[tokio::test]
async fn key_rotation_without_restart() {
    let server = JwksServer::start().await;
    let old = rsa_key(0, "2026-old", Algorithm::RS256, true);
    let new = rsa_key(1, "2026-new", Algorithm::RS256, true);
    server.set("/jwks", jwks(&[&old]));
    let (clock, cache) = clock_and_cache(policy());
    let auth = auth_for(&server, clock.clone(), Arc::clone(&cache));
    auth.verify(
        &sign(&old, &claims_at(&clock, json!({}))),
        ProviderSelection::Any,
    )
    .await
    .expect("old key");
    // The provider publishes the new key next to the old one and starts signing with it.
    server.set("/jwks", jwks(&[&old, &new]));
    clock.advance_secs(31);
    auth.verify(
        &sign(&new, &claims_at(&clock, json!({}))),
        ProviderSelection::Any,
    )
    .await
    .expect("new key after an unknown-kid refresh");
    assert_eq!(server.hits("/jwks"), 2);
    auth.verify(
        &sign(&old, &claims_at(&clock, json!({}))),
        ProviderSelection::Any,
    )
    .await
    .expect("old key still published");
    // The old key is retired; once the cached set expires it is gone.
    server.set("/jwks", jwks(&[&new]));
    clock.advance_secs(301);
    let e = auth
        .verify(
            &sign(&old, &claims_at(&clock, json!({}))),
            ProviderSelection::Any,
        )
        .await
        .expect_err("retired");
    assert_eq!(e.reason(), "unknown_key");
    auth.verify(
        &sign(&new, &claims_at(&clock, json!({}))),
        ProviderSelection::Any,
    )
    .await
    .expect("new key");
    assert_eq!(cache.stats(&server.url("/jwks")).map(|s| s.keys), Some(1));
}

#[tokio::test]
async fn provider_down_serves_stale_then_fails_closed() {
    let server = JwksServer::start().await;
    let k = ec256_key("k");
    server.set("/jwks", jwks(&[&k]));
    let (clock, cache) = clock_and_cache(policy());
    let auth = auth_for(&server, clock.clone(), cache);
    auth.verify(
        &sign(&k, &claims_at(&clock, json!({}))),
        ProviderSelection::Any,
    )
    .await
    .expect("ok");
    server.set_down(true);
    // Expired (default ttl 300 s), provider down: stale keys still verify...
    clock.advance_secs(301);
    auth.verify(
        &sign(&k, &claims_at(&clock, json!({}))),
        ProviderSelection::Any,
    )
    .await
    .expect("stale served");
    let hits_after_first_failure = server.hits("/jwks");
    assert_eq!(hits_after_first_failure, 2, "one refetch attempt");
    // ...retries are rate-limited while down...
    for _ in 0..20 {
        auth.verify(
            &sign(&k, &claims_at(&clock, json!({}))),
            ProviderSelection::Any,
        )
        .await
        .expect("stale served");
    }
    assert_eq!(
        server.hits("/jwks"),
        hits_after_first_failure,
        "no hammering while down"
    );
    clock.advance_secs(31);
    auth.verify(
        &sign(&k, &claims_at(&clock, json!({}))),
        ProviderSelection::Any,
    )
    .await
    .expect("stale served");
    assert_eq!(
        server.hits("/jwks"),
        hits_after_first_failure + 1,
        "one retry per interval"
    );
    // ...until max_stale (600 s past freshness): then fail closed.
    clock.advance_secs(600);
    let e = auth
        .verify(
            &sign(&k, &claims_at(&clock, json!({}))),
            ProviderSelection::Any,
        )
        .await
        .expect_err("fail closed");
    assert_eq!(e.reason(), "provider_unavailable");
    // The provider comes back: verification recovers without a restart.
    server.set_down(false);
    clock.advance_secs(31);
    auth.verify(
        &sign(&k, &claims_at(&clock, json!({}))),
        ProviderSelection::Any,
    )
    .await
    .expect("recovered");
}

#[tokio::test]
async fn provider_unreachable_from_the_start_fails_closed() {
    // A port nothing listens on (bound then dropped).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/jwks", listener.local_addr().expect("addr"));
    drop(listener);
    let (clock, cache) = clock_and_cache(policy());
    let cfg: ProviderConfig =
        serde_json::from_value(json!({"name": "idp", "type": "jwks", "jwksUri": url}))
            .expect("cfg");
    let auth =
        Authenticator::new(vec![cfg.build(None).expect("b")], cache, clock.clone()).expect("a");
    let k = ec256_key("k");
    let e = auth
        .verify(
            &sign(&k, &claims_at(&clock, json!({}))),
            ProviderSelection::Any,
        )
        .await
        .expect_err("x");
    assert_eq!(e.reason(), "provider_unavailable");
}

#[tokio::test]
async fn bogus_kid_flood_does_not_hammer_the_provider() {
    let server = JwksServer::start().await;
    let k = ec256_key("real");
    server.set("/jwks", jwks(&[&k]));
    let (clock, cache) = clock_and_cache(policy());
    let auth = auth_for(&server, clock.clone(), cache);
    auth.verify(
        &sign(&k, &claims_at(&clock, json!({}))),
        ProviderSelection::Any,
    )
    .await
    .expect("ok");
    let attacker = ec256_key("x");
    clock.advance_secs(31);
    let mut tasks = Vec::new();
    for i in 0..300 {
        let mut key = attacker.clone();
        key.kid = format!("bogus-{i}");
        let t = sign(&key, &claims_at(&clock, json!({})));
        let a = auth.clone();
        tasks.push(tokio::spawn(async move {
            a.verify(&t, ProviderSelection::Any).await
        }));
    }
    for t in tasks {
        let r = t.await.expect("task");
        assert_eq!(r.expect_err("bogus").reason(), "unknown_key");
    }
    assert_eq!(server.hits("/jwks"), 2, "300 bogus kids cost one refresh");
    clock.advance_secs(31);
    for i in 0..50 {
        let mut key = attacker.clone();
        key.kid = format!("again-{i}");
        let t = sign(&key, &claims_at(&clock, json!({})));
        assert!(auth.verify(&t, ProviderSelection::Any).await.is_err());
    }
    assert_eq!(server.hits("/jwks"), 3, "one more per refresh interval");
    auth.verify(
        &sign(&k, &claims_at(&clock, json!({}))),
        ProviderSelection::Any,
    )
    .await
    .expect("real key unaffected");
}

#[tokio::test]
async fn cold_cache_single_flight() {
    let server = JwksServer::start().await;
    let k = ec256_key("k");
    server.set("/jwks", jwks(&[&k]));
    let (clock, cache) = clock_and_cache(policy());
    let auth = auth_for(&server, clock.clone(), cache);
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let a = auth.clone();
        let t = sign(&k, &claims_at(&clock, json!({})));
        tasks.push(tokio::spawn(async move {
            a.verify(&t, ProviderSelection::Any).await
        }));
    }
    for t in tasks {
        t.await.expect("task").expect("valid");
    }
    assert_eq!(
        server.hits("/jwks"),
        1,
        "64 concurrent cold verifications, one fetch"
    );
}

#[tokio::test]
async fn oversized_or_invalid_documents_are_not_cached() {
    let server = JwksServer::start().await;
    let k = ec256_key("k");
    let big: Vec<serde_json::Value> = (0..4000)
        .map(|i| json!({"kty": "EC", "kid": format!("pad-{i}-{}", "x".repeat(60))}))
        .collect();
    server.set("/jwks", json!({"keys": big}));
    let (clock, cache) = clock_and_cache(policy());
    let auth = auth_for(&server, clock.clone(), cache);
    let e = auth
        .verify(
            &sign(&k, &claims_at(&clock, json!({}))),
            ProviderSelection::Any,
        )
        .await
        .expect_err("too large");
    assert_eq!(e.reason(), "provider_unavailable");
    server.set("/jwks", json!({"not": "a jwks"}));
    clock.advance_secs(31);
    let e = auth
        .verify(
            &sign(&k, &claims_at(&clock, json!({}))),
            ProviderSelection::Any,
        )
        .await
        .expect_err("invalid");
    assert_eq!(e.reason(), "provider_unavailable");
    server.set("/jwks", jwks(&[&k]));
    clock.advance_secs(31);
    auth.verify(
        &sign(&k, &claims_at(&clock, json!({}))),
        ProviderSelection::Any,
    )
    .await
    .expect("valid again");
}
