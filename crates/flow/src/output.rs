//! BSON → HTTP JSON (relaxed Extended JSON with Stratus' API conventions, ARCHITECTURE
//! decision 2): ObjectId → 24-hex string, date → ISO-8601 UTC string with milliseconds,
//! Int64 → number, Decimal128 → string, other special types → relaxed Extended JSON.

use std::io;

use bson::{Bson, DateTime};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
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

/// A value serialized in its API JSON form without building that form first: the bytes are
/// exactly those of serializing [`to_json`]'s result.
#[derive(Debug, Clone, Copy)]
pub struct ApiJson<'a>(pub &'a Bson);

impl Serialize for ApiJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Bson::ObjectId(o) => s.serialize_str(&o.to_hex()),
            Bson::DateTime(d) => s.serialize_str(&iso(*d)),
            Bson::Int64(i) => s.serialize_i64(*i),
            Bson::Int32(i) => s.serialize_i64(i64::from(*i)),
            Bson::Decimal128(d) => s.serialize_str(&d.to_string()),
            Bson::String(x) => s.serialize_str(x),
            Bson::Boolean(b) => s.serialize_bool(*b),
            Bson::Null => s.serialize_unit(),
            Bson::Double(f) if f.is_finite() => s.serialize_f64(*f),
            Bson::Document(d) => {
                let mut m = s.serialize_map(Some(d.len()))?;
                for (k, v) in d {
                    m.serialize_entry(k, &ApiJson(v))?;
                }
                m.end()
            }
            Bson::Array(a) => {
                let mut q = s.serialize_seq(Some(a.len()))?;
                for v in a {
                    q.serialize_element(&ApiJson(v))?;
                }
                q.end()
            }
            other => other.clone().into_relaxed_extjson().serialize(s),
        }
    }
}

/// Counts the bytes written to it.
struct ByteCount(usize);

impl io::Write for ByteCount {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The length in bytes of the compact JSON text of `v`'s API JSON form (what
/// `serde_json::to_vec(&to_json(v.clone()))` would produce), computed without building it;
/// `usize::MAX` if it cannot be serialized.
pub fn json_len(v: &Bson) -> usize {
    let mut count = ByteCount(0);
    match serde_json::to_writer(&mut count, &ApiJson(v)) {
        Ok(()) => count.0,
        Err(_) => usize::MAX,
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

    #[test]
    fn api_json_matches_to_json_byte_for_byte() {
        let id = ObjectId::parse_str("65f000000000000000000001").expect("hex");
        let cases = [
            Bson::Null,
            Bson::Int32(-7),
            Bson::Int64(i64::MIN),
            Bson::Double(2.5),
            Bson::Double(3.0),
            Bson::Double(1e300),
            Bson::Double(f64::NAN),
            Bson::Double(f64::NEG_INFINITY),
            Bson::String("quote \" backslash \\ tab \t é 😀 \u{1}".into()),
            Bson::Boolean(true),
            Bson::ObjectId(id),
            Bson::DateTime(DateTime::from_millis(1_711_065_600_123)),
            Bson::Decimal128("12.50".parse().expect("decimal")),
            Bson::Binary(bson::Binary {
                subtype: bson::spec::BinarySubtype::Generic,
                bytes: vec![1, 2, 3],
            }),
            Bson::RegularExpression(bson::Regex {
                pattern: "a+".try_into().expect("pattern"),
                options: "xi".try_into().expect("options"),
            }),
            Bson::Timestamp(bson::Timestamp {
                time: 5,
                increment: 6,
            }),
            Bson::Document(doc! {}),
            Bson::Array(vec![]),
            Bson::Document(doc! {
                "a": [1, {"b": null, "c": [2.5, "x"]}], "é": {"$oid": "nope"}, "n": 5_i64, "id": id
            }),
        ];
        for v in cases {
            let built = serde_json::to_vec(&to_json(v.clone())).expect("serializes");
            let direct = serde_json::to_vec(&ApiJson(&v)).expect("serializes");
            assert_eq!(
                String::from_utf8_lossy(&direct),
                String::from_utf8_lossy(&built),
                "{v:?}"
            );
            assert_eq!(json_len(&v), built.len(), "{v:?}");
        }
    }
}
