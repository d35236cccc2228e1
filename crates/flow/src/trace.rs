//! The per-run trace recorded for the request log: one entry per node execution (name, type,
//! duration, error), the values of `debug` nodes, and run totals.
//!
//! Invariant: no secret value appears in a trace — error messages and debug values are passed
//! through [`Redactor`] before they are stored.

use std::time::Duration;

use bson::Bson;
use serde::Serialize;

/// The text that replaces a secret value.
pub const REDACTED: &str = "[REDACTED]";

/// One node execution.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TraceEntry {
    /// Node name.
    pub name: std::sync::Arc<str>,
    /// Node type.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Sub-flow depth (0 = the API flow).
    pub depth: usize,
    /// Wall-clock duration, microseconds (nested nodes included).
    pub duration_us: u64,
    /// The error raised by this node, if it failed here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// `debug` nodes: the label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// `debug` nodes: the value (API JSON form, secrets redacted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
}

/// The trace of one run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Trace {
    /// Node executions in start order (at most the budget's `max_trace_entries`).
    pub entries: Vec<TraceEntry>,
    /// Entries not kept because the trace was full.
    pub dropped: u64,
    /// Total node executions.
    pub node_executions: u64,
    /// Wall-clock duration of the run, microseconds.
    pub duration_us: u64,
}

impl Trace {
    /// Entries of `debug` nodes.
    pub fn debug_values(&self) -> impl Iterator<Item = &TraceEntry> {
        self.entries.iter().filter(|e| e.kind == "debug")
    }
}

/// Replaces secret values in text and values.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    /// Collects every non-empty string (and number, as text) found in `secrets`.
    pub fn new(secrets: &Bson) -> Self {
        let mut out = Vec::new();
        collect(secrets, &mut out);
        out.sort_by_key(|s| std::cmp::Reverse(s.len()));
        out.dedup();
        Redactor { secrets: out }
    }

    /// Whether there is nothing to redact.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// `s` with every secret replaced by [`REDACTED`].
    pub fn text(&self, s: &str) -> String {
        let mut out = s.to_string();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
        }
        out
    }

    /// `v` with every secret inside strings replaced.
    pub fn value(&self, v: serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        if self.secrets.is_empty() {
            return v;
        }
        match v {
            Value::String(s) => Value::String(self.text(&s)),
            Value::Number(n) => {
                let t = n.to_string();
                if self.secrets.contains(&t) {
                    Value::String(REDACTED.to_string())
                } else {
                    Value::Number(n)
                }
            }
            Value::Array(a) => Value::Array(a.into_iter().map(|x| self.value(x)).collect()),
            Value::Object(m) => Value::Object(
                m.into_iter()
                    .map(|(k, x)| (self.text(&k), self.value(x)))
                    .collect(),
            ),
            other => other,
        }
    }
}

fn collect(v: &Bson, out: &mut Vec<String>) {
    match v {
        Bson::String(s) if !s.is_empty() => out.push(s.clone()),
        Bson::Int32(i) => out.push(i.to_string()),
        Bson::Int64(i) => out.push(i.to_string()),
        Bson::Document(d) => d.values().for_each(|x| collect(x, out)),
        Bson::Array(a) => a.iter().for_each(|x| collect(x, out)),
        _ => {}
    }
}

/// Duration in whole microseconds.
pub(crate) fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use bson::doc;
    use serde_json::json;

    use super::*;

    #[test]
    fn redacts_nested_and_embedded() {
        let r = Redactor::new(&Bson::Document(
            doc! {"stripe": {"key": "sk_live_123", "n": 4242}},
        ));
        assert_eq!(r.text("Bearer sk_live_123!"), "Bearer [REDACTED]!");
        assert_eq!(
            r.value(json!({"a": ["sk_live_123", 4242, 5], "sk_live_123": 1})),
            json!({"a": ["[REDACTED]", "[REDACTED]", 5], "[REDACTED]": 1})
        );
    }
}
