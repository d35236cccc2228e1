//! The stored form of a log entry: environment directory naming, [`LogRecord`] → BSON
//! document, and stored document → API JSON.
//!
//! Layout (docs/request-logs.md): one directory of segment files per project environment,
//! named by [`env_dir_name`]; each entry is a BSON document with an `_id` unique per entry
//! ([`entry_id`]). The trace and the debug values are kept as JSON text (`trace`, `debug`) so
//! they round-trip exactly (no Extended-JSON reinterpretation of `$` keys) whatever the flow
//! produced. `search` is a derived field the text filter scans; it is never returned.

use bson::raw::{RawArrayBuf, RawBsonRef, RawDocumentBuf, cstr};
use bson::{Bson, DateTime, Document};
use serde_json::{Map, Value};

use super::LogRecord;
use super::error::LogError;

/// Longest `project` + `env` (bytes, after encoding) an environment directory name may be
/// built from.
pub const MAX_NAMESPACE_PART_LEN: usize = 100;

/// Largest stored JSON text of a trace or of the debug values, in bytes; a larger one is
/// replaced by `{"truncated": true, "bytes": N}` so one request cannot bloat the log.
pub const MAX_JSON_FIELD_BYTES: usize = 256 * 1024;

/// Largest derived text (`search`) the `q` filter scans per entry, in bytes.
pub const MAX_SEARCH_TEXT_BYTES: usize = 64 * 1024;

/// Length of [`time_prefix`].
pub const TIME_PREFIX_LEN: usize = 16;

/// The leading part of the `_id` of entries logged at `t`: the milliseconds since the epoch
/// with the sign bit flipped, as 16 lower-case hex digits, so that string order is time order.
pub(crate) fn time_prefix(t: DateTime) -> String {
    let ordered = (t.timestamp_millis() as u64) ^ (1 << 63);
    format!("{ordered:016x}")
}

/// The `_id` of an entry: [`time_prefix`] of its time, the writer instance (random per start,
/// 8 hex digits) and the writer's sequence number (16 hex digits): unique, and ordered like
/// the entries' times (ties in arrival order within one writer).
pub(crate) fn entry_id(t: DateTime, instance: u32, seq: u64) -> String {
    format!("{}{instance:08x}{seq:016x}", time_prefix(t))
}

/// The log directory name of the environment `env` of `project`: `<project>__<env>` where
/// bytes outside `[A-Za-z0-9-]` (including `_`) are written `_xx` (hex), so distinct pairs
/// never share a directory and a name can never contain a path separator or `..`.
pub fn env_dir_name(project: &str, env: &str) -> Result<String, LogError> {
    let bad = |reason: &str| LogError::InvalidNamespace {
        name: format!("{project}/{env}"),
        reason: reason.to_string(),
    };
    if project.is_empty() || env.is_empty() {
        return Err(bad("project and environment must not be empty"));
    }
    let name = format!("{}__{}", encode(project), encode(env));
    if name.len() > MAX_NAMESPACE_PART_LEN {
        return Err(bad(&format!(
            "project and environment names are too long (at most {MAX_NAMESPACE_PART_LEN} bytes encoded)"
        )));
    }
    Ok(name)
}

fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' {
            out.push(b as char);
        } else {
            out.push_str(&format!("_{b:02x}"));
        }
    }
    out
}

/// JSON text of `v`, or the truncation marker when longer than [`MAX_JSON_FIELD_BYTES`].
fn bounded_json(v: &Value) -> String {
    bounded_text(v.to_string())
}

/// `text`, or the truncation marker when longer than [`MAX_JSON_FIELD_BYTES`].
fn bounded_text(text: String) -> String {
    if text.len() <= MAX_JSON_FIELD_BYTES {
        text
    } else {
        serde_json::json!({"truncated": true, "bytes": text.len()}).to_string()
    }
}

/// Appends the string leaves (and numbers/booleans as text) of `v` to `out`, one per line.
fn leaf_text(v: &Value, out: &mut String) {
    match v {
        Value::String(s) => {
            out.push_str(s);
            out.push('\n');
        }
        Value::Number(n) => {
            out.push_str(&n.to_string());
            out.push('\n');
        }
        Value::Bool(b) => {
            out.push_str(if *b { "true\n" } else { "false\n" });
        }
        Value::Array(items) => items.iter().for_each(|i| leaf_text(i, out)),
        Value::Object(map) => map.values().for_each(|i| leaf_text(i, out)),
        Value::Null => {}
    }
}

fn truncate_at_char(s: &mut String, max: usize) {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
}

/// The text the `q` filter scans: path, API, error, request id and the Debug values' leaves,
/// at most [`MAX_SEARCH_TEXT_BYTES`].
fn search_text(rec: &LogRecord) -> String {
    let mut search = String::new();
    for part in [
        Some(rec.path.as_str()),
        rec.api.as_deref(),
        rec.error.as_deref(),
        Some(rec.request_id.as_str()),
    ]
    .into_iter()
    .flatten()
    {
        search.push_str(part);
        search.push('\n');
    }
    for d in &rec.debug {
        leaf_text(d, &mut search);
    }
    truncate_at_char(&mut search, MAX_SEARCH_TEXT_BYTES);
    search
}

fn opt(s: &Option<String>) -> RawBsonRef<'_> {
    s.as_deref().map_or(RawBsonRef::Null, RawBsonRef::String)
}

/// The stored document of an (already scrubbed) record, with its `_id` ([`entry_id`]),
/// encoded straight into BSON.
pub(crate) fn to_raw(rec: &LogRecord, id: &str) -> RawDocumentBuf {
    let mut headers = RawArrayBuf::new();
    for (n, v) in &rec.request_headers {
        let mut pair = RawArrayBuf::new();
        pair.push(n.as_str());
        pair.push(v.as_str());
        headers.push(pair);
    }
    let trace = bounded_text(rec.trace.to_json_text());
    let debug = bounded_json(&Value::Array(rec.debug.clone()));
    let search = search_text(rec);
    let mut d = RawDocumentBuf::new();
    d.append(cstr!("_id"), id);
    d.append(cstr!("time"), rec.time);
    d.append(cstr!("requestId"), rec.request_id.as_str());
    d.append(cstr!("project"), rec.project.as_str());
    d.append(cstr!("env"), rec.env.as_str());
    d.append(cstr!("api"), opt(&rec.api));
    d.append(cstr!("method"), rec.method.as_str());
    d.append(cstr!("path"), rec.path.as_str());
    d.append(cstr!("status"), i32::from(rec.status));
    d.append(
        cstr!("durationUs"),
        i64::try_from(rec.duration_us).unwrap_or(i64::MAX),
    );
    d.append(cstr!("error"), opt(&rec.error));
    d.append(cstr!("requestHeaders"), headers);
    d.append(cstr!("trace"), trace.as_str());
    d.append(cstr!("debug"), debug.as_str());
    d.append(cstr!("search"), search.as_str());
    d
}

/// ISO-8601 UTC with milliseconds (`2024-03-27T00:00:00.000Z`).
pub(crate) fn iso(d: DateTime) -> String {
    d.try_to_rfc3339_string()
        .unwrap_or_else(|_| d.timestamp_millis().to_string())
}

fn bson_str(doc: &Document, key: &str) -> Value {
    match doc.get(key) {
        Some(Bson::String(s)) => Value::String(s.clone()),
        _ => Value::Null,
    }
}

fn parse_json_text(doc: &Document, key: &str, default: Value) -> Value {
    match doc.get(key) {
        Some(Bson::String(s)) => serde_json::from_str(s).unwrap_or(Value::String(s.clone())),
        _ => default,
    }
}

/// The API JSON of a stored entry (see docs/request-logs.md for the fields). Headers become
/// an object; a repeated header's values are joined with `", "`.
pub(crate) fn to_json(doc: &Document) -> Value {
    let mut out = Map::new();
    let time = match doc.get("time") {
        Some(Bson::DateTime(d)) => Value::String(iso(*d)),
        _ => Value::Null,
    };
    out.insert("time".into(), time);
    for (key, name) in [
        ("requestId", "requestId"),
        ("project", "project"),
        ("env", "env"),
        ("api", "api"),
        ("method", "method"),
        ("path", "path"),
    ] {
        out.insert(name.into(), bson_str(doc, key));
    }
    let int = |key: &str| match doc.get(key) {
        Some(Bson::Int32(i)) => Value::from(*i),
        Some(Bson::Int64(i)) => Value::from(*i),
        _ => Value::Null,
    };
    out.insert("status".into(), int("status"));
    out.insert("durationUs".into(), int("durationUs"));
    out.insert("error".into(), bson_str(doc, "error"));
    let mut headers = Map::new();
    if let Some(Bson::Array(items)) = doc.get("requestHeaders") {
        for item in items {
            if let Bson::Array(pair) = item
                && let [Bson::String(n), Bson::String(v)] = pair.as_slice()
            {
                match headers.get_mut(n) {
                    Some(Value::String(prev)) => {
                        prev.push_str(", ");
                        prev.push_str(v);
                    }
                    _ => {
                        headers.insert(n.clone(), Value::String(v.clone()));
                    }
                }
            }
        }
    }
    out.insert("requestHeaders".into(), Value::Object(headers));
    out.insert(
        "debug".into(),
        parse_json_text(doc, "debug", Value::Array(vec![])),
    );
    out.insert("trace".into(), parse_json_text(doc, "trace", Value::Null));
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::logs::LogTrace;

    fn record() -> LogRecord {
        LogRecord {
            time: DateTime::from_millis(1_711_065_600_123),
            request_id: "req-1".into(),
            project: "shop".into(),
            env: "development".into(),
            api: Some("listProducts".into()),
            method: "GET".into(),
            path: "/shop/development/api/products?page=2".into(),
            status: 200,
            duration_us: 1234,
            trace: json!([{"node": "found", "ms": 1, "$weird.key": {"$oid": "x"}}]).into(),
            debug: vec![
                json!({"label": "count", "value": 42}),
                json!({"label": "who", "value": "Ada"}),
            ],
            error: None,
            request_headers: vec![
                ("accept".into(), "a".into()),
                ("accept".into(), "b".into()),
                ("x-y".into(), "z".into()),
            ],
        }
    }

    fn stored(rec: &LogRecord) -> Document {
        Document::try_from(to_raw(rec, "id").as_ref()).unwrap_or_default()
    }

    #[test]
    fn env_dir_names_are_injective_and_valid() {
        let cases = [
            ("shop", "development", "shop__development"),
            ("my-shop", "prod", "my-shop__prod"),
            ("a_b", "c", "a_5fb__c"),
            ("a", "b_c", "a__b_5fc"),
            ("a$b", "c.d", "a_24b__c_2ed"),
        ];
        for (p, e, want) in cases {
            assert_eq!(env_dir_name(p, e).ok().as_deref(), Some(want), "{p}/{e}");
        }
        assert_ne!(
            env_dir_name("a__b", "c").ok(),
            env_dir_name("a", "b__c").ok()
        );
        assert!(env_dir_name("", "x").is_err());
        assert!(env_dir_name("x", "").is_err());
        assert!(env_dir_name(&"p".repeat(60), &"e".repeat(60)).is_err());
        let e = env_dir_name("", "x").err().map(|e| e.code());
        assert_eq!(e, Some("invalid_log_namespace"));
    }

    #[test]
    fn a_record_round_trips_to_api_json() {
        let doc = stored(&record());
        let v = to_json(&doc);
        assert_eq!(v["time"], "2024-03-22T00:00:00.123Z");
        assert_eq!(v["requestId"], "req-1");
        assert_eq!(v["api"], "listProducts");
        assert_eq!(v["status"], 200);
        assert_eq!(v["durationUs"], 1234);
        assert_eq!(v["error"], Value::Null);
        assert_eq!(v["requestHeaders"], json!({"accept": "a, b", "x-y": "z"}));
        assert_eq!(v["debug"][1]["value"], "Ada");
        assert_eq!(
            LogTrace::Json(v["trace"].clone()),
            record().trace,
            "the trace round-trips exactly"
        );
        assert!(v.get("search").is_none() && v.get("_id").is_none());
        let search = doc.get_str("search").unwrap_or_default();
        for needle in [
            "/shop/development/api/products",
            "listProducts",
            "req-1",
            "42",
            "Ada",
        ] {
            assert!(search.contains(needle), "{needle} in {search:?}");
        }
    }

    #[test]
    fn entry_ids_sort_like_times_then_sequence() {
        let times = [i64::MIN, -1_000, -1, 0, 1, 999, 1_711_065_600_000, i64::MAX];
        let ids: Vec<String> = times
            .iter()
            .map(|t| entry_id(DateTime::from_millis(*t), 7, 0))
            .collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
        assert!(ids.iter().all(|i| i.len() == TIME_PREFIX_LEN + 24));
        let t = DateTime::from_millis(5);
        assert!(entry_id(t, 1, 9) < entry_id(t, 1, 10));
        assert!(entry_id(t, u32::MAX, u64::MAX) < time_prefix(DateTime::from_millis(6)));
        assert!(entry_id(t, 0, 0) >= time_prefix(t));
    }

    #[test]
    fn oversized_trace_is_replaced_by_a_marker() {
        let mut rec = record();
        rec.trace = json!("x".repeat(MAX_JSON_FIELD_BYTES + 1)).into();
        let v = to_json(&stored(&rec));
        assert_eq!(v["trace"]["truncated"], true);
        assert_eq!(v["trace"]["bytes"], MAX_JSON_FIELD_BYTES + 3);
    }

    #[test]
    fn search_text_is_bounded_on_a_char_boundary() {
        let mut rec = record();
        rec.debug = vec![json!({"value": "é".repeat(MAX_SEARCH_TEXT_BYTES)})];
        let doc = stored(&rec);
        let s = doc.get_str("search").unwrap_or_default();
        assert!(s.len() <= MAX_SEARCH_TEXT_BYTES && s.len() > MAX_SEARCH_TEXT_BYTES - 4);
    }
}
