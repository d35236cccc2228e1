//! Updates: parsing arbitrary update specs and applying them never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stratus_query::update::{ApplyContext, Update, UpdateOptions};

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Some((spec, doc)) = common::spec_and_doc(data) else { return };
    if let Ok(u) = Update::parse(&spec, &UpdateOptions::default()) {
        let ctx = ApplyContext { positional: None, is_insert: false, now: bson::DateTime::from_millis(0) };
        let _ = u.apply(&doc, &ctx);
    }
});
