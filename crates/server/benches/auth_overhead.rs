//! What user-API authentication adds to a simple request, over real HTTP.
//!
//! One in-process server (`serve::run_on`, loopback port, temp data dir) with one project:
//! four APIs whose flows are the same single `httpResponse` node returning `{"ok": true}`,
//! one public and three protected (an `hmac` provider with HS256, a `jwks` provider serving an
//! RS256 (2048-bit) and an ES256 key from an in-process JWKS server). A keep-alive reqwest
//! client sends sequential `GET`s (one connection, one request at a time), so each sample is
//! the full round trip: routing, auth, flow, request-log record, response.
//!
//! Two protected paths are measured per algorithm:
//! - `remembered`: the same token on every request (the verifier remembers a verified token
//!   for 60 s by its SHA-256; the cost is hashing + lookup + re-checking the claims);
//! - `cold`: a distinct token per request (minted before the timed loop, distinct `jti`), so
//!   every request runs the full signature verification with the cached keys (the JWKS is
//!   fetched once, before measuring). The server has no setting for the remembered-token TTL,
//!   so distinct tokens are how the cold path is reached.
//!
//! Run: `cargo bench -p stratus-server --bench auth_overhead` (results in docs/benchmarks.md,
//! "User-API authentication end to end").

#[path = "../tests/runtime_auth/keys.rs"]
mod keys;
#[path = "../tests/runtime_auth/server.rs"]
mod server;

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};

const ISSUER: &str = "https://idp.bench/";
const AUDIENCE: &str = "bench-api";

struct Setup {
    rt: tokio::runtime::Runtime,
    server: server::Server,
    _jwks: server::JwksServer,
    _dir: tempfile::TempDir,
    secret: String,
    rsa: keys::TestKey,
    ec: keys::TestKey,
}

fn setup() -> Setup {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tmp");
    let rsa = keys::rsa_key(0, "rsa");
    let ec = keys::ec256_key("ec");
    let secret = keys::random_secret(32);
    let (server, jwks) = rt.block_on(async {
        let jwks = server::JwksServer::start().await;
        jwks.set("/jwks.json", keys::jwks(&[&rsa, &ec]));
        let s = server::start_in(dir.path()).await;
        let ok = json!([{"type": "httpResponse", "status": 200, "body": {"ok": true}}]);
        let api = |name: &str, auth: Value| {
            json!({"name": name, "method": "GET", "endpoint": format!("/{name}"), "auth": auth, "flow": ok})
        };
        s.deploy(
            "bench",
            &[("auth", json!({"key": secret}))],
            json!({
              "name": "bench",
              "auth": {"providers": [
                {"name": "shared", "type": "hmac", "secret": "$.secrets.auth.key"},
                {"name": "idp", "type": "jwks", "jwksUri": jwks.url("/jwks.json"), "issuer": ISSUER, "audience": AUDIENCE}
              ]},
              "apis": [
                api("plain", json!(false)),
                api("hs", json!({"providers": ["shared"]})),
                api("jw", json!({"providers": ["idp"]}))
              ]
            }),
        )
        .await;
        (s, jwks)
    });
    Setup {
        rt,
        server,
        _jwks: jwks,
        _dir: dir,
        secret,
        rsa,
        ec,
    }
}

impl Setup {
    fn token(&self, alg: &str, n: u64) -> String {
        let claims = keys::claims(
            json!({"sub": "bench", "jti": format!("t{n}"), "iss": ISSUER, "aud": AUDIENCE}),
        );
        match alg {
            "HS256" => keys::sign_hmac(
                self.secret.as_bytes(),
                Algorithm::HS256,
                &json!({"alg": "HS256", "typ": "JWT"}),
                &claims,
            ),
            "RS256" => keys::sign(&self.rsa, &claims),
            _ => keys::sign(&self.ec, &claims),
        }
    }

    /// Sends one request per token (or `iters` requests without a token) and returns the
    /// time they took; every answer must be 200.
    fn run(&self, path: &str, tokens: &[String], iters: u64) -> Duration {
        let url = format!("{}/bench/development/api{path}", self.server.url);
        let client = &self.server.client;
        self.rt.block_on(async {
            let start = Instant::now();
            for i in 0..iters {
                let mut req = client.get(&url);
                if !tokens.is_empty() {
                    req = req.bearer_auth(&tokens[i as usize % tokens.len()]);
                }
                let r = req.send().await.expect("request");
                assert_eq!(r.status(), 200, "{path}");
                let _ = r.bytes().await.expect("body");
            }
            start.elapsed()
        })
    }
}

fn auth_overhead(c: &mut Criterion) {
    let s = setup();
    // Warm the JWKS cache and check every API answers before measuring.
    for (path, alg) in [("/hs", "HS256"), ("/jw", "RS256"), ("/jw", "ES256")] {
        s.run(path, &[s.token(alg, u64::MAX)], 1);
    }
    s.run("/plain", &[], 1);

    let mut g = c.benchmark_group("auth_overhead");
    g.sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    g.bench_function("unprotected", |b| {
        b.iter_custom(|iters| s.run("/plain", &[], iters))
    });
    // Every remembered case runs before any cold case: a cold case fills the verifier's
    // remembered-token map with thousands of one-use tokens, which must not be measured as
    // the cost of the remembered path. The baseline is measured again after them.
    let cases = [("/hs", "HS256"), ("/jw", "RS256"), ("/jw", "ES256")];
    for (path, alg) in cases {
        let same = [s.token(alg, 0)];
        g.bench_function(format!("{alg}_remembered"), |b| {
            b.iter_custom(|iters| s.run(path, &same, iters));
        });
    }
    g.bench_function("unprotected_again", |b| {
        b.iter_custom(|iters| s.run("/plain", &[], iters))
    });
    let mut serial = 0u64;
    for (path, alg) in cases {
        g.bench_function(format!("{alg}_cold"), |b| {
            b.iter_custom(|iters| {
                let tokens: Vec<String> = (0..iters)
                    .map(|_| {
                        serial += 1;
                        s.token(alg, serial)
                    })
                    .collect();
                s.run(path, &tokens, iters)
            });
        });
    }
    g.finish();
    let server = s.server;
    s.rt.block_on(server.stop());
}

criterion_group!(benches, auth_overhead);
criterion_main!(benches);
