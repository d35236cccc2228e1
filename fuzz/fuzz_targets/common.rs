//! Shared input decoding: the fuzzer's bytes are read as JSON text (Extended JSON), so the
//! corpus stays human-readable and mutations explore operator names and shapes.

use bson::{Bson, Document};

/// The input as an Extended JSON value, if it is one.
pub fn json_value(data: &[u8]) -> Option<Bson> {
    let text = std::str::from_utf8(data).ok()?;
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    stratus_query::ejson::from_json(v).ok()
}

/// The input as a document plus a second document to apply it to: `[spec, doc]`.
pub fn spec_and_doc(data: &[u8]) -> Option<(Bson, Document)> {
    match json_value(data)? {
        Bson::Array(mut a) if a.len() == 2 => {
            let doc = match a.pop()? {
                Bson::Document(d) => d,
                _ => return None,
            };
            Some((a.pop()?, doc))
        }
        _ => None,
    }
}
