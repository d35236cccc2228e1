//! Every refusal of CONTRACT §6 / issue 6, each against a real JWKS server.

use jsonwebtoken::Algorithm;
use serde_json::{Value, json};
use stratus_auth::clock::Clock;
use stratus_auth::jose::MAX_TOKEN_BYTES;
use stratus_auth::jwks::JwksPolicy;
use stratus_auth::provider::ProviderConfig;
use stratus_auth::{Authenticator, ProviderSelection};
use stratus_types::ErrorCode;

use super::common::*;

struct Env {
    server: JwksServer,
    clock: std::sync::Arc<stratus_auth::clock::ManualClock>,
    auth: Authenticator,
    rsa: TestKey,
    ec: TestKey,
}

async fn env() -> Env {
    let server = JwksServer::start().await;
    let rsa = rsa_key(0, "rsa-1", Algorithm::RS256, true);
    let ec = ec256_key("ec-1");
    server.set("/jwks.json", jwks(&[&rsa, &ec]));
    let (clock, cache) = clock_and_cache(JwksPolicy::default());
    let cfg: ProviderConfig = serde_json::from_value(json!({"name": "idp", "type": "jwks",
        "jwksUri": server.url("/jwks.json"), "issuer": "https://idp.test", "audience": ["api"],
        "requiredClaims": ["sub"]}))
    .expect("config");
    let auth = Authenticator::new(vec![cfg.build(None).expect("build")], cache, clock.clone())
        .expect("auth");
    Env {
        server,
        clock,
        auth,
        rsa,
        ec,
    }
}

fn good(env: &Env, extra: Value) -> Value {
    let mut base = json!({"iss": "https://idp.test", "aud": "api"});
    if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    claims_at(&env.clock, base)
}

async fn reason(env: &Env, token: &str) -> &'static str {
    let err = env
        .auth
        .verify(token, ProviderSelection::Any)
        .await
        .expect_err("must be refused");
    assert_eq!(err.code().http_status(), 401, "{err:?}");
    assert!(err.is_invalid_token());
    let detail = err.detail();
    assert!(
        (token.len() < 8 || !detail.contains(token)) && !detail.contains("eyJ"),
        "detail leaks the token: {detail}"
    );
    err.reason()
}

#[tokio::test]
async fn refusal_table() {
    let env = env().await;
    let now = env.clock.now_secs();
    let ok = sign(&env.rsa, &good(&env, json!({})));
    env.auth
        .verify(&ok, ProviderSelection::Any)
        .await
        .expect("baseline token is valid");

    let none_hdr = b64(br#"{"alg":"none","kid":"rsa-1"}"#);
    let body = b64(good(&env, json!({})).to_string().as_bytes());
    let mut parts: Vec<&str> = ok.split('.').collect();
    let flipped_sig = {
        let s = parts[2];
        let first = if s.starts_with('A') { "B" } else { "A" };
        format!("{first}{}", &s[1..])
    };
    parts[2] = &flipped_sig;
    let bad_sig = parts.join(".");

    // HS/RS confusion: an HS256 token whose HMAC key is the RSA public key's bytes, naming
    // the RSA key's kid. The key only allows RS256, so the HMAC path is never taken.
    let confusion = sign_hmac(
        &env.rsa.public_bytes,
        Algorithm::HS256,
        &json!({"alg": "HS256", "kid": "rsa-1"}),
        &good(&env, json!({})),
    );
    let confusion_jwk_text = sign_hmac(
        env.rsa.jwk.to_string().as_bytes(),
        Algorithm::HS256,
        &json!({"alg": "HS256", "kid": "rsa-1"}),
        &good(&env, json!({})),
    );
    // Algorithm substitution within asymmetric families: ES256 header naming the RSA key.
    let es_on_rsa = sign_with_header(
        &env.ec,
        &json!({"alg": "ES256", "kid": "rsa-1"}),
        &good(&env, json!({})),
    );
    // RS384 header on a key whose JWK says RS256.
    let rs384_key = TestKey {
        alg: Algorithm::RS384,
        ..env.rsa.clone()
    };
    let rs384 = sign(&rs384_key, &good(&env, json!({})));
    let crit = sign_with_header(
        &env.rsa,
        &json!({"alg": "RS256", "kid": "rsa-1", "crit": ["exp"], "exp": 1}),
        &good(&env, json!({})),
    );
    let b64_false = sign_with_header(
        &env.rsa,
        &json!({"alg": "RS256", "kid": "rsa-1", "b64": false, "crit": ["b64"]}),
        &good(&env, json!({})),
    );

    let table: Vec<(&str, String, &str)> = vec![
        (
            "alg none",
            format!("{none_hdr}.{body}."),
            "algorithm_not_allowed",
        ),
        (
            "alg none with signature",
            format!(
                "{none_hdr}.{body}.{}",
                ok.split('.').nth(2).unwrap_or_default()
            ),
            "algorithm_not_allowed",
        ),
        (
            "HS/RS confusion (DER bytes)",
            confusion,
            "algorithm_not_allowed",
        ),
        (
            "HS/RS confusion (JWK text)",
            confusion_jwk_text,
            "algorithm_not_allowed",
        ),
        ("ES256 on an RSA kid", es_on_rsa, "algorithm_not_allowed"),
        ("alg other than the JWK's", rs384, "algorithm_not_allowed"),
        ("tampered signature", bad_sig, "bad_signature"),
        ("crit header", crit, "unsupported_crit"),
        ("b64=false (RFC 7797)", b64_false, "unsupported_crit"),
        (
            "expired",
            sign(&env.rsa, &good(&env, json!({"exp": now - 61}))),
            "expired",
        ),
        (
            "nbf in the future",
            sign(&env.rsa, &good(&env, json!({"nbf": now + 120}))),
            "not_yet_valid",
        ),
        (
            "iat in the future",
            sign(&env.rsa, &good(&env, json!({"iat": now + 120}))),
            "not_yet_valid",
        ),
        (
            "no exp",
            sign(
                &env.rsa,
                &json!({"iss": "https://idp.test", "aud": "api", "sub": "u"}),
            ),
            "missing_claim",
        ),
        (
            "exp not a number",
            sign(&env.rsa, &good(&env, json!({"exp": "tomorrow"}))),
            "malformed",
        ),
        (
            "wrong iss",
            sign(&env.rsa, &good(&env, json!({"iss": "https://evil.test"}))),
            "bad_issuer",
        ),
        (
            "wrong aud",
            sign(&env.rsa, &good(&env, json!({"aud": ["other"]}))),
            "bad_audience",
        ),
        (
            "no aud",
            sign(
                &env.rsa,
                &json!({"iss": "https://idp.test", "sub": "u", "exp": now + 60}),
            ),
            "bad_audience",
        ),
        (
            "required claim missing",
            sign(
                &env.rsa,
                &json!({"iss": "https://idp.test", "aud": "api", "exp": now + 60}),
            ),
            "missing_claim",
        ),
        (
            "payload not JSON",
            sign_raw_payload(&env.rsa, b"not json"),
            "malformed",
        ),
        (
            "payload JSON array",
            sign_raw_payload(&env.rsa, b"[1,2]"),
            "malformed",
        ),
        ("header not base64", format!("!!!.{body}.AAAA"), "malformed"),
        (
            "header not JSON",
            format!("{}.{body}.AAAA", b64(b"{alg")),
            "malformed",
        ),
        (
            "padding in payload",
            format!(
                "{}=.AAAA",
                ok.rsplit_once('.').map(|(a, _)| a).unwrap_or_default()
            ),
            "malformed",
        ),
        (
            "two parts",
            ok.rsplit_once('.')
                .map(|(a, _)| a.to_string())
                .unwrap_or_default(),
            "malformed",
        ),
        ("four parts", format!("{ok}.AAAA"), "malformed"),
        ("empty", String::new(), "malformed"),
        (
            "too large",
            "a".repeat(MAX_TOKEN_BYTES + 1),
            "token_too_large",
        ),
        (
            "unknown alg",
            format!("{}.{body}.AAAA", b64(br#"{"alg":"ES512","kid":"ec-1"}"#)),
            "algorithm_not_allowed",
        ),
    ];
    for (name, token, want) in &table {
        let got = reason(&env, token).await;
        assert_eq!(got, *want, "case '{name}'");
    }
}

fn sign_raw_payload(key: &TestKey, payload: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        b64(format!(r#"{{"alg":"{:?}","kid":"{}"}}"#, key.alg, key.kid).as_bytes()),
        b64(payload)
    );
    let sig = jsonwebtoken::crypto::sign(input.as_bytes(), &key.enc, key.alg).expect("sign");
    format!("{input}.{sig}")
}

#[tokio::test]
async fn unknown_kid_is_refused_after_exactly_one_refresh() {
    let env = env().await;
    let ok = sign(&env.ec, &good(&env, json!({})));
    env.auth
        .verify(&ok, ProviderSelection::Any)
        .await
        .expect("primes the cache");
    assert_eq!(env.server.hits("/jwks.json"), 1);
    let stranger0 = ec256_key("not-published");
    let t0 = sign(&stranger0, &good(&env, json!({})));
    assert_eq!(reason(&env, &t0).await, "unknown_key");
    assert_eq!(
        env.server.hits("/jwks.json"),
        1,
        "no refresh right after a fetch"
    );
    env.clock.advance_secs(31);
    let stranger = ec256_key("not-published");
    let t = sign(&stranger, &good(&env, json!({})));
    assert_eq!(reason(&env, &t).await, "unknown_key");
    assert_eq!(
        env.server.hits("/jwks.json"),
        2,
        "one refresh for the unknown kid"
    );
    assert_eq!(reason(&env, &t).await, "unknown_key");
    assert_eq!(
        env.server.hits("/jwks.json"),
        2,
        "no second refresh within the interval"
    );
    // A token signed by a stranger's key but naming a published kid fails the signature.
    let forged = sign_with_header(
        &stranger,
        &json!({"alg": "ES256", "kid": "ec-1"}),
        &good(&env, json!({})),
    );
    assert_eq!(reason(&env, &forged).await, "bad_signature");
}

#[tokio::test]
async fn kid_less_token_needs_a_single_key() {
    let env = env().await;
    let t = sign_with_header(&env.ec, &json!({"alg": "ES256"}), &good(&env, json!({})));
    assert_eq!(
        reason(&env, &t).await,
        "unknown_key",
        "two keys published: ambiguous"
    );
    let single = JwksServer::start().await;
    single.set("/j", jwks(&[&env.ec]));
    let (clock, cache) = clock_and_cache(JwksPolicy::default());
    let cfg: ProviderConfig =
        serde_json::from_value(json!({"name": "i", "type": "jwks", "jwksUri": single.url("/j")}))
            .expect("cfg");
    let auth =
        Authenticator::new(vec![cfg.build(None).expect("b")], cache, clock.clone()).expect("a");
    let t = sign_with_header(
        &env.ec,
        &json!({"alg": "ES256"}),
        &claims_at(&clock, json!({})),
    );
    auth.verify(&t, ProviderSelection::Any)
        .await
        .expect("the only key is used");
}

#[tokio::test]
async fn published_symmetric_or_private_keys_are_never_used() {
    let server = JwksServer::start().await;
    let secret = [7u8; 32];
    let rsa = rsa_key(1, "leaky", Algorithm::RS256, true);
    let mut leaky = rsa.jwk.clone();
    leaky["d"] = json!(b64(b"private exponent would be here"));
    server.set(
        "/j",
        json!({"keys": [
            {"kty": "oct", "kid": "sym", "alg": "HS256", "k": b64(&secret)},
            leaky,
        ]}),
    );
    let (clock, cache) = clock_and_cache(JwksPolicy::default());
    let cfg: ProviderConfig =
        serde_json::from_value(json!({"name": "i", "type": "jwks", "jwksUri": server.url("/j")}))
            .expect("cfg");
    let auth =
        Authenticator::new(vec![cfg.build(None).expect("b")], cache, clock.clone()).expect("a");
    let hs = sign_hmac(
        &secret,
        Algorithm::HS256,
        &json!({"alg": "HS256", "kid": "sym"}),
        &claims_at(&clock, json!({})),
    );
    assert_eq!(
        auth.verify(&hs, ProviderSelection::Any)
            .await
            .expect_err("x")
            .reason(),
        "algorithm_not_allowed"
    );
    let rs = sign(&rsa, &claims_at(&clock, json!({})));
    assert_eq!(
        auth.verify(&rs, ProviderSelection::Any)
            .await
            .expect_err("x")
            .reason(),
        "unknown_key"
    );
}

#[tokio::test]
async fn no_provider_configured() {
    let (clock, cache) = clock_and_cache(JwksPolicy::default());
    let auth = Authenticator::new(vec![], cache, clock.clone()).expect("a");
    let k = ec256_key("e");
    let t = sign(&k, &claims_at(&clock, json!({})));
    assert_eq!(
        auth.verify(&t, ProviderSelection::Any)
            .await
            .expect_err("x")
            .reason(),
        "unknown_provider"
    );
}
