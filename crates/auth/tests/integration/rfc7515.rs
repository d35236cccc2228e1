//! RFC 7515 Appendix A examples (A.1 HS256, A.2 RS256, A.3 ES256), IETF code components.
//! All three share the payload `{"iss":"joe",\r\n "exp":1300819380,\r\n
//! "http://example.com/is_root":true}`.

use serde_json::{Value, json};
use stratus_auth::claims::{self, ClaimRules};
use stratus_auth::jose::{KeySet, verify_compact};

const PAYLOAD_B64: &str = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";

const A1_KEY: &str =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
const A1_JWS_HEADER: &str = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9";
const A1_SIG: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

const A2_N: &str = "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";
const A2_HEADER: &str = "eyJhbGciOiJSUzI1NiJ9";
const A2_SIG: &str = "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";

const A3_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
const A3_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
const A3_HEADER: &str = "eyJhbGciOiJFUzI1NiJ9";
const A3_SIG: &str =
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

fn set(jwk: Value, symmetric: bool) -> KeySet {
    KeySet::from_jwks(&json!({"keys": [jwk]}), symmetric).expect("key set")
}

fn cases() -> Vec<(&'static str, String, KeySet)> {
    vec![
        (
            "A.1 HS256",
            format!("{A1_JWS_HEADER}.{PAYLOAD_B64}.{A1_SIG}"),
            set(json!({"kty": "oct", "k": A1_KEY}), true),
        ),
        (
            "A.2 RS256",
            format!("{A2_HEADER}.{PAYLOAD_B64}.{A2_SIG}"),
            set(json!({"kty": "RSA", "n": A2_N, "e": "AQAB"}), false),
        ),
        (
            "A.3 ES256",
            format!("{A3_HEADER}.{PAYLOAD_B64}.{A3_SIG}"),
            set(
                json!({"kty": "EC", "crv": "P-256", "x": A3_X, "y": A3_Y}),
                false,
            ),
        ),
    ]
}

#[test]
fn rfc7515_appendix_a_examples_verify() {
    for (name, jws, keys) in cases() {
        let payload =
            verify_compact(&jws, &keys, None).unwrap_or_else(|e| panic!("{name}: {}", e.reason()));
        let c = claims::parse_claims(&payload).expect("claims");
        assert_eq!(c.get("iss"), Some(&json!("joe")), "{name}");
        assert_eq!(
            c.get("http://example.com/is_root"),
            Some(&json!(true)),
            "{name}"
        );
        // The example expired in 2011.
        let rules = ClaimRules {
            issuer: Some("joe".into()),
            ..ClaimRules::default()
        };
        assert_eq!(
            claims::validate(&c, &rules, 1_700_000_000)
                .expect_err("expired")
                .reason(),
            "expired",
            "{name}"
        );
        claims::validate(&c, &rules, 1_300_819_000).expect("valid before exp");
    }
}

#[test]
fn rfc7515_examples_tampered_fail() {
    for (name, jws, keys) in cases() {
        // Change the payload (exp pushed by 1 s), keep the signature.
        let tampered_payload = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODEsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
        let t = jws.replace(PAYLOAD_B64, tampered_payload);
        assert_eq!(
            verify_compact(&t, &keys, None).expect_err(name).reason(),
            "bad_signature",
            "{name}"
        );
    }
    // A.1's key is refused for the RS256 example and vice versa (family mismatch).
    let all = cases();
    assert_eq!(
        verify_compact(&all[1].1, &all[0].2, None)
            .expect_err("x")
            .reason(),
        "algorithm_not_allowed"
    );
    assert_eq!(
        verify_compact(&all[0].1, &all[1].2, None)
            .expect_err("x")
            .reason(),
        "algorithm_not_allowed"
    );
}
