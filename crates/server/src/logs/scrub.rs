//! Redaction of request-log entries before they are stored (defence in depth: the flow engine
//! already redacts secrets in its trace; these rules run again on everything we store).
//!
//! Rules, each applied by [`scrub_record`]:
//! 1. header values of [`SENSITIVE_HEADERS`] and of headers whose name looks like a
//!    credential ([`is_sensitive_param`]: `x-auth-token`, `x-goog-api-key`, …) become
//!    [`REDACTED`];
//! 2. any JWT-looking substring (three base64url segments separated by dots, the first starting
//!    with `eyJ`) in the path, the error, header values and every string (and object key) of
//!    the trace and debug values becomes [`REDACTED_TOKEN`];
//! 3. `Bearer <credential>` (any case) keeps the word and loses the credential, when the
//!    credential looks like one ([`looks_like_credential`]: prose such as "missing bearer
//!    token" is left alone);
//!    Stratus API keys (`stk_…`, docs/auth.md) anywhere in those strings become
//!    [`REDACTED_TOKEN`] too;
//! 4. query-string parameters of the path whose name looks like a credential
//!    ([`is_sensitive_param`]) keep their name and lose their value.
//!
//! Invariant: scrubbing never grows a JSON value's structure and is idempotent.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::LogRecord;

/// What a redacted header or query-parameter value is replaced with.
pub const REDACTED: &str = "[redacted]";

/// What a JWT-looking substring is replaced with.
pub const REDACTED_TOKEN: &str = "[redacted-token]";

/// Request headers whose values are never stored (compared case-insensitively).
pub const SENSITIVE_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
];

/// Fragments of a query-parameter name (lower-cased) that mark its value as a credential.
const SENSITIVE_PARAM_FRAGMENTS: &[&str] = &[
    "token",
    "password",
    "passwd",
    "secret",
    "credential",
    "signature",
];

/// Applies every rule of the module docs to `rec`, in place.
pub(crate) fn scrub_record(rec: &mut LogRecord) {
    rec.path = scrub_path(&rec.path);
    if let Some(e) = rec.error.take() {
        rec.error = Some(scrub_text(&e).into_owned());
    }
    if let Some(a) = rec.api.take() {
        rec.api = Some(scrub_text(&a).into_owned());
    }
    rec.request_id = scrub_text(&rec.request_id).into_owned();
    let headers = std::mem::take(&mut rec.request_headers);
    rec.request_headers = scrub_headers(headers);
    match &mut rec.trace {
        crate::logs::LogTrace::Json(v) => scrub_json(v),
        crate::logs::LogTrace::Flow(t) => scrub_trace(t),
    }
    for d in &mut rec.debug {
        scrub_json(d);
    }
}

/// [`scrub_text`] on every text of a flow trace, [`scrub_json`] on its debug values.
pub fn scrub_trace(t: &mut stratus_flow::trace::Trace) {
    let owned = |s: &mut String| {
        if let Cow::Owned(o) = scrub_text(s) {
            *s = o;
        }
    };
    for e in &mut t.entries {
        if let Cow::Owned(o) = scrub_text(&e.name) {
            e.name = o.into();
        }
        if let Some(err) = &mut e.error {
            owned(err);
        }
        if let Some(label) = &mut e.label {
            owned(label);
        }
        if let Some(v) = &mut e.value {
            scrub_json(v);
        }
    }
}

/// Header names lower-cased; values of [`SENSITIVE_HEADERS`] and of credential-like names
/// ([`is_sensitive_param`]) replaced, others token-scrubbed.
pub fn scrub_headers(headers: Vec<(String, String)>) -> Vec<(String, String)> {
    headers
        .into_iter()
        .map(|(name, value)| {
            let name = name.to_ascii_lowercase();
            let value = if SENSITIVE_HEADERS.contains(&name.as_str()) || is_sensitive_param(&name) {
                REDACTED.to_string()
            } else {
                scrub_text(&value).into_owned()
            };
            (name, value)
        })
        .collect()
}

/// Whether a query parameter named `name` carries a credential: its lower-cased name contains
/// one of `token`, `password`, `passwd`, `secret`, `credential`, `signature`, or ends in `key`
/// (`key`, `apiKey`, `api_key`, `x-api-key`).
pub fn is_sensitive_param(name: &str) -> bool {
    let lower = percent_decode(name).to_ascii_lowercase();
    lower.ends_with("key") || SENSITIVE_PARAM_FRAGMENTS.iter().any(|f| lower.contains(f))
}

/// Redacts credential-like query parameters ([`is_sensitive_param`]) and then tokens
/// ([`scrub_text`]) in a request path with its query string.
pub fn scrub_path(path: &str) -> String {
    let out = match path.split_once('?') {
        None => path.to_string(),
        Some((base, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|pair| {
                    let name = pair.split_once('=').map_or(pair, |(n, _)| n);
                    if pair.contains('=') && is_sensitive_param(name) {
                        format!("{name}={REDACTED}")
                    } else {
                        pair.to_string()
                    }
                })
                .collect();
            format!("{base}?{}", params.join("&"))
        }
    };
    scrub_text(&out).into_owned()
}

/// Replaces JWT-looking substrings and Stratus API keys by [`REDACTED_TOKEN`] and the
/// credential after `Bearer ` by [`REDACTED`]. Borrows when nothing changes.
pub fn scrub_text(s: &str) -> Cow<'_, str> {
    if !may_hold_secret(s.as_bytes()) {
        return Cow::Borrowed(s);
    }
    scrub_all_rules(s)
}

/// [`scrub_text`] without the pre-check.
fn scrub_all_rules(s: &str) -> Cow<'_, str> {
    let s = match scrub_jwts(s) {
        Cow::Borrowed(b) => scrub_api_keys(b),
        Cow::Owned(o) => Cow::Owned(scrub_api_keys(&o).into_owned()),
    };
    match scrub_bearer(&s) {
        Cow::Borrowed(_) => s,
        Cow::Owned(o) => Cow::Owned(o),
    }
}

/// Whether `b` contains a trigger of one of [`scrub_text`]'s rules (`eyJ`, the API-key
/// prefix, `bearer` in any case). One pass; most strings have none and are left as they are.
fn may_hold_secret(b: &[u8]) -> bool {
    (0..b.len()).any(|i| match b[i] {
        b'e' => b[i..].starts_with(b"eyJ"),
        b's' => b[i..].starts_with(API_KEY_PREFIX),
        b'b' | b'B' => b
            .get(i..i + 6)
            .is_some_and(|w| w.eq_ignore_ascii_case(b"bearer")),
        _ => false,
    })
}

/// Scrubs every string and object key of a JSON value with [`scrub_text`], in place.
pub fn scrub_json(v: &mut Value) {
    match v {
        Value::String(s) => {
            if let Cow::Owned(o) = scrub_text(s) {
                *s = o;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(scrub_json),
        Value::Object(map) => {
            if map.keys().any(|k| matches!(scrub_text(k), Cow::Owned(_))) {
                let old = std::mem::take(map);
                let mut new = Map::new();
                for (k, mut val) in old {
                    scrub_json(&mut val);
                    new.insert(scrub_text(&k).into_owned(), val);
                }
                *map = new;
            } else {
                map.values_mut().for_each(scrub_json);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// Length of the run of base64url bytes of `bytes` starting at `at`.
fn run_len(bytes: &[u8], at: usize) -> usize {
    bytes[at.min(bytes.len())..]
        .iter()
        .take_while(|b| is_b64url(**b))
        .count()
}

/// If a JWT-like token starts at `at`, its length.
fn jwt_at(bytes: &[u8], at: usize) -> Option<usize> {
    if !bytes[at..].starts_with(b"eyJ") {
        return None;
    }
    if at > 0 && is_b64url(bytes[at - 1]) {
        return None; // in the middle of a longer word
    }
    let first = run_len(bytes, at);
    let mut end = at + first;
    if first < 4 || bytes.get(end) != Some(&b'.') {
        return None;
    }
    let second = run_len(bytes, end + 1);
    if second == 0 || bytes.get(end + 1 + second) != Some(&b'.') {
        return None;
    }
    end += 1 + second + 1;
    // The signature may be empty (`alg: none`), still a token.
    end += run_len(bytes, end);
    Some(end - at)
}

fn scrub_jwts(s: &str) -> Cow<'_, str> {
    let bytes = s.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i + 3 <= bytes.len() {
        if let Some(len) = jwt_at(bytes, i) {
            // Token bytes are ASCII, so `i` and `i + len` are char boundaries.
            let o = out.get_or_insert_with(|| String::with_capacity(s.len()));
            o.push_str(&s[copied..i]);
            o.push_str(REDACTED_TOKEN);
            i += len;
            copied = i;
        } else {
            i += 1;
        }
    }
    match out {
        None => Cow::Borrowed(s),
        Some(mut o) => {
            o.push_str(&s[copied..]);
            Cow::Owned(o)
        }
    }
}

/// Prefix of Stratus API keys (`stk_<prefix>_<secret>`).
const API_KEY_PREFIX: &[u8] = b"stk_";

/// Shortest run of key characters after [`API_KEY_PREFIX`] that counts as a key.
const MIN_API_KEY_BODY: usize = 8;

fn scrub_api_keys(s: &str) -> Cow<'_, str> {
    let bytes = s.as_bytes();
    let mut out: Option<String> = None;
    let (mut copied, mut i) = (0, 0);
    while i + API_KEY_PREFIX.len() <= bytes.len() {
        if !bytes[i..].starts_with(API_KEY_PREFIX) || (i > 0 && is_b64url(bytes[i - 1])) {
            i += 1;
            continue;
        }
        let body = run_len(bytes, i + API_KEY_PREFIX.len());
        if body >= MIN_API_KEY_BODY {
            let o = out.get_or_insert_with(|| String::with_capacity(s.len()));
            o.push_str(&s[copied..i]);
            o.push_str(REDACTED_TOKEN);
            i += API_KEY_PREFIX.len() + body;
            copied = i;
        } else {
            i += 1;
        }
    }
    match out {
        None => Cow::Borrowed(s),
        Some(mut o) => {
            o.push_str(&s[copied..]);
            Cow::Owned(o)
        }
    }
}

fn scrub_bearer(s: &str) -> Cow<'_, str> {
    const WORD: &[u8] = b"bearer ";
    let bytes = s.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i + WORD.len() <= bytes.len() {
        if bytes[i..i + WORD.len()].eq_ignore_ascii_case(WORD)
            && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric())
        {
            let start = i + WORD.len();
            let cred = bytes[start..]
                .iter()
                .take_while(|b| !b.is_ascii_whitespace() && !matches!(b, b'"' | b'\'' | b','))
                .count();
            let value = &s[start..start + cred];
            if looks_like_credential(value) && value != REDACTED && value != REDACTED_TOKEN {
                let o = out.get_or_insert_with(|| String::with_capacity(s.len()));
                o.push_str(&s[copied..start]);
                o.push_str(REDACTED);
                copied = start + cred;
            }
            i = start + cred;
        } else {
            i += 1;
        }
    }
    match out {
        None => Cow::Borrowed(s),
        Some(mut o) => {
            o.push_str(&s[copied..]);
            Cow::Owned(o)
        }
    }
}

/// Shortest word after `Bearer ` that is taken for a credential.
const MIN_BEARER_CREDENTIAL: usize = 8;

/// Whether the word after `Bearer ` is a credential rather than prose: at least
/// [`MIN_BEARER_CREDENTIAL`] bytes with a digit or one of `._-~+/=`.
fn looks_like_credential(word: &str) -> bool {
    word.len() >= MIN_BEARER_CREDENTIAL
        && word
            .bytes()
            .any(|b| b.is_ascii_digit() || b"._-~+/=".contains(&b))
}

/// Minimal `%XX` decoding of a query-parameter name (invalid escapes are kept as they are).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                let v = hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0);
                out.push(v as u8);
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const JWT: &str =
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    #[test]
    fn sensitive_headers_are_redacted_case_insensitively() {
        let cases = [
            ("Authorization", "Bearer abc", REDACTED),
            ("authorization", "Basic dXNlcjpwYXNz", REDACTED),
            ("PROXY-AUTHORIZATION", "x", REDACTED),
            ("Cookie", "session=abc", REDACTED),
            ("set-cookie", "a=b", REDACTED),
            ("X-Api-Key", "k-123", REDACTED),
            ("content-type", "application/json", "application/json"),
            ("X-Forwarded-For", "10.0.0.1", "10.0.0.1"),
            ("X-Auth-Token", "opaque", REDACTED),
            ("x-amz-security-token", "opaque", REDACTED),
            ("x-goog-api-key", "k", REDACTED),
            ("x-client-secret", "s", REDACTED),
            ("keep-alive", "timeout=5", "timeout=5"),
            ("x-custom", JWT, REDACTED_TOKEN),
            ("x-other", "Bearer opaque1234", "Bearer [redacted]"),
        ];
        for (name, value, want) in cases {
            let out = scrub_headers(vec![(name.to_string(), value.to_string())]);
            assert_eq!(out[0].0, name.to_ascii_lowercase());
            assert_eq!(out[0].1, want, "header {name}");
        }
    }

    #[test]
    fn jwt_like_substrings_are_redacted() {
        let cases: Vec<(String, String)> = vec![
            (JWT.to_string(), REDACTED_TOKEN.to_string()),
            (
                format!("token was {JWT} ok"),
                format!("token was {REDACTED_TOKEN} ok"),
            ),
            (
                format!("a={JWT}&b={JWT}"),
                format!("a={REDACTED_TOKEN}&b={REDACTED_TOKEN}"),
            ),
            // alg none: empty signature
            (
                "x eyJhbGciOiJub25lIn0.eyJhIjoxfQ. y".into(),
                format!("x {REDACTED_TOKEN} y"),
            ),
            // not tokens
            ("eyJ".into(), "eyJ".into()),
            ("eyJabc".into(), "eyJabc".into()),
            ("eyJabc.def".into(), "eyJabc.def".into()),
            ("keyJabc.def.ghi".into(), "keyJabc.def.ghi".into()),
            ("a.b.c".into(), "a.b.c".into()),
            ("héllo eyJ wörld".into(), "héllo eyJ wörld".into()),
            (String::new(), String::new()),
        ];
        for (input, want) in cases {
            assert_eq!(scrub_text(&input), want, "input {input:?}");
        }
    }

    #[test]
    fn stratus_api_keys_are_redacted() {
        let cases = [
            ("stk_ab12cd34_QmFzZTY0VXJsU2VjcmV0", REDACTED_TOKEN),
            ("key=stk_ab12cd34_x-y_z rest", "key=[redacted-token] rest"),
            ("stk_short", "stk_short"),
            ("mystk_ab12cd34_QmFz", "mystk_ab12cd34_QmFz"),
        ];
        for (input, want) in cases {
            assert_eq!(scrub_text(input), want, "input {input:?}");
        }
    }

    #[test]
    fn bearer_credentials_are_redacted() {
        let cases = [
            ("Bearer abc.def.ghi", "Bearer [redacted]"),
            (
                "auth failed: bearer xyz12345, retry",
                "auth failed: bearer [redacted], retry",
            ),
            (
                "BEARER k1k1k1k1 and Bearer k2/k2+k2=",
                "BEARER [redacted] and Bearer [redacted]",
            ),
            ("no bearer here", "no bearer here"),
            ("missing bearer credentials", "missing bearer credentials"),
            ("Bearer short1", "Bearer short1"),
            ("forbearer text", "forbearer text"),
            ("Bearer [redacted]", "Bearer [redacted]"),
        ];
        for (input, want) in cases {
            assert_eq!(scrub_text(input), want, "input {input:?}");
        }
    }

    #[test]
    fn credential_query_parameters_are_redacted_in_paths() {
        let cases = [
            ("/p/e/api/x", "/p/e/api/x"),
            ("/x?page=2&limit=10", "/x?page=2&limit=10"),
            ("/x?token=abc&page=2", "/x?token=[redacted]&page=2"),
            ("/x?access_token=abc", "/x?access_token=[redacted]"),
            ("/x?refreshToken=abc", "/x?refreshToken=[redacted]"),
            (
                "/x?password=hunter2&user=a",
                "/x?password=[redacted]&user=a",
            ),
            ("/x?client_secret=s", "/x?client_secret=[redacted]"),
            (
                "/x?key=k&apiKey=k2&api_key=k3",
                "/x?key=[redacted]&apiKey=[redacted]&api_key=[redacted]",
            ),
            ("/x?pass%77ord=p", "/x?pass%77ord=[redacted]"),
            ("/x?token", "/x?token"),
            (
                "/x?sig=1&X-Amz-Signature=abc",
                "/x?sig=1&X-Amz-Signature=[redacted]",
            ),
            (
                "/x?id=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",
                "/x?id=[redacted-token]",
            ),
            (
                "/t/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln/x",
                "/t/[redacted-token]/x",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(scrub_path(input), want, "path {input:?}");
        }
    }

    #[test]
    fn json_strings_and_keys_are_scrubbed_recursively() {
        let mut v = json!({
            "label": "jwt",
            "value": {"nested": [JWT, 1, true, null, {"k": format!("Bearer {JWT}")}]},
            JWT: "key is a token"
        });
        scrub_json(&mut v);
        let text = v.to_string();
        assert!(!text.contains("eyJ"), "{text}");
        assert_eq!(v["value"]["nested"][0], REDACTED_TOKEN);
        assert_eq!(v["value"]["nested"][1], 1);
        assert_eq!(v["value"]["nested"][4]["k"], "Bearer [redacted-token]");
        assert_eq!(v[REDACTED_TOKEN], "key is a token");
        assert_eq!(v["label"], "jwt");
    }

    #[test]
    fn scrubbing_is_idempotent() {
        let inputs = [
            format!("/x?token={JWT}&q=Bearer%20abc"),
            format!("error: Bearer {JWT} rejected"),
        ];
        for input in inputs {
            let once = scrub_path(&input);
            assert_eq!(scrub_path(&once), once);
            let once = scrub_text(&input).into_owned();
            assert_eq!(scrub_text(&once), once);
        }
    }

    #[test]
    fn the_pre_check_never_skips_a_string_a_rule_would_change() {
        use rand::{Rng, SeedableRng};
        let pieces = [
            "eyJ",
            "eyJhbGciOiJIUzI1NiJ9",
            ".",
            "abc",
            "stk_",
            "stk_live_12345678",
            "Bearer ",
            "bEaReR ",
            "bearer",
            " ",
            "x",
            "9",
            "_",
            "-",
            "\"",
            ",",
            "token=",
            "é",
        ];
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..20_000 {
            let n = rng.random_range(0..8);
            let s: String = (0..n)
                .map(|_| pieces[rng.random_range(0..pieces.len())])
                .collect();
            assert_eq!(scrub_text(&s), scrub_all_rules(&s), "{s:?}");
            if !may_hold_secret(s.as_bytes()) {
                assert!(matches!(scrub_all_rules(&s), Cow::Borrowed(_)), "{s:?}");
            }
        }
    }
}
