//! Extended JSON: parsing arbitrary text never panics, and what parses prints and re-parses to
//! the same value (canonical mode is lossless).
#![no_main]

use libfuzzer_sys::fuzz_target;
use stratus_query::ejson::{self, Mode};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(doc) = ejson::parse_document(text) else { return };
    let printed = ejson::document_to_json(&doc, Mode::Canonical);
    let back = ejson::from_json(printed).expect("canonical output re-parses");
    assert_eq!(bson::Bson::Document(doc), back);
});
