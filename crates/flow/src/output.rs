//! BSON → HTTP JSON (relaxed Extended JSON with Stratus' API conventions, ARCHITECTURE
//! decision 2): ObjectId → 24-hex string, date → ISO-8601 UTC string with milliseconds,
//! Int64 → number, Decimal128 → string, other special types → relaxed Extended JSON.

use bson::{Bson, DateTime};
use serde_json::{Map, Value};

/// The ISO-8601 form of a date (`2024-03-27T00:00:00.000Z`).
pub fn iso(d: DateTime) -> String {
    d.try_to_rfc3339_string()
        .unwrap_or_else(|_| d.timestamp_millis().to_string())
}

/// Converts a value to its API JSON form.
pub fn to_json(v: Bson) -> Value {
    match v {
        Bson::ObjectId(o) => Value::String(o.to_hex()),
        Bson::DateTime(d) => Value::String(iso(d)),
        Bson::Int64(i) => Value::from(i),
        Bson::Int32(i) => Value::from(i),
        Bson::Decimal128(d) => Value::String(d.to_string()),
        Bson::Document(d) => {
            let mut m = Map::with_capacity(d.len());
            for (k, v) in d {
                m.insert(k, to_json(v));
            }
            Value::Object(m)
        }
        Bson::Array(a) => Value::Array(a.into_iter().map(to_json).collect()),
        other => other.into_relaxed_extjson(),
    }
}

/// Converts request JSON to BSON (plain JSON: no Extended JSON decoding of user data).
pub fn from_json(v: &Value) -> Bson {
    match v {
        Value::Null => Bson::Null,
        Value::Bool(b) => Bson::Boolean(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i32::try_from(i).map(Bson::Int32).unwrap_or(Bson::Int64(i))
            } else {
                Bson::Double(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(s) => Bson::String(s.clone()),
        Value::Array(a) => Bson::Array(a.iter().map(from_json).collect()),
        Value::Object(m) => {
            let mut d = bson::Document::new();
            for (k, v) in m {
                d.insert(k.clone(), from_json(v));
            }
            Bson::Document(d)
        }
    }
}

#[cfg(test)]
mod tests {
    use bson::{doc, oid::ObjectId};
    use serde_json::json;

    use super::*;

    #[test]
    fn api_json_forms() {
        let id = ObjectId::parse_str("65f000000000000000000001").expect("hex");
        let v = Bson::Document(doc! {
            "_id": id, "at": DateTime::from_millis(1_711_065_600_000), "n": 5_i64, "f": 2.5, "s": "x"
        });
        assert_eq!(
            to_json(v),
            json!({"_id": "65f000000000000000000001", "at": "2024-03-22T00:00:00Z", "n": 5, "f": 2.5, "s": "x"})
        );
        assert_eq!(
            from_json(&json!({"a": [1, 2.5, 5000000000_i64]})),
            Bson::Document(doc! {"a": [1, 2.5, 5_000_000_000_i64]})
        );
    }
}
