//! PBKDF2-HMAC against the Wycheproof vectors (read at run time from
//! `$STRATUS_CONFORMANCE_DIR/wycheproof/`, default `../shared/conformance/` from the repo root),
//! and the node end to end.

use std::path::PathBuf;

use serde_json::json;
use stratus_flow::{Pbkdf2Algorithm, pbkdf2_derive};

fn conformance_dir() -> PathBuf {
    match std::env::var("STRATUS_CONFORMANCE_DIR") {
        Ok(d) => PathBuf::from(d),
        Err(_) => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance"),
    }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

#[test]
fn wycheproof_vectors() {
    let mut total = 0;
    for (file, alg) in [
        ("pbkdf2_hmacsha1_test.json", Pbkdf2Algorithm::Sha1),
        ("pbkdf2_hmacsha256_test.json", Pbkdf2Algorithm::Sha256),
        ("pbkdf2_hmacsha512_test.json", Pbkdf2Algorithm::Sha512),
    ] {
        let path = conformance_dir().join("wycheproof").join(file);
        let Ok(text) = std::fs::read_to_string(&path) else {
            println!(
                "SKIP {file}: {} not found (set STRATUS_CONFORMANCE_DIR)",
                path.display()
            );
            continue;
        };
        let v: serde_json::Value = serde_json::from_str(&text).expect("json");
        for g in v["testGroups"].as_array().expect("groups") {
            for t in g["tests"].as_array().expect("tests") {
                let iterations = t["iterationCount"].as_u64().expect("count");
                if iterations > 100_000 {
                    continue; // bounded test time; large counts exercise the same code
                }
                let dk = hex(t["dk"].as_str().expect("dk"));
                let got = pbkdf2_derive(
                    alg,
                    &hex(t["password"].as_str().expect("pw")),
                    &hex(t["salt"].as_str().expect("salt")),
                    u32::try_from(iterations).expect("u32"),
                    dk.len(),
                );
                let valid = t["result"] != "invalid";
                assert_eq!(got == dk, valid, "{file} tcId {}", t["tcId"]);
                total += 1;
            }
        }
    }
    println!("{total} Wycheproof PBKDF2 vectors checked");
}

#[tokio::test]
async fn node_end_to_end() {
    let flow = json!([
        {"type": "pbkdf2HmacHash", "name": "h", "password": "password", "salt": "salt", "iterations": 2, "algorithm": "sha1", "keyLength": 20, "variable": "hash"},
        {"type": "pbkdf2HmacHash", "name": "b", "password": "password", "salt": "73616c74", "saltEncoding": "hex", "iterations": 1, "algorithm": "sha256", "keyLength": 32, "encoding": "base64"},
        {"type": "httpResponse", "body": {"h": "$.variables.hash", "b": "$.b.result"}}]);
    let f = stratus_flow::compile(&flow, &stratus_flow::spec::NoSubflows).expect("compiles");
    let s = stratus_flow::Services::new().expect("services");
    let r = stratus_flow::run(&f, Default::default(), &s)
        .await
        .result
        .expect("runs")
        .json_body();
    // RFC 6070 vector 2; the SHA-256 value is Python hashlib.pbkdf2_hmac("sha256", b"password", b"salt", 1, 32).
    assert_eq!(r["h"], "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957");
    assert_eq!(r["b"], "Eg+2z/z4syxD5yJSVsT4N6hlSMkszDVICAWYfLcL4Xs=");
}
