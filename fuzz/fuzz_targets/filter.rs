//! Filters: parsing arbitrary filter documents and matching them (owned and raw paths must
//! agree) never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stratus_query::filter::Filter;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Some((bson::Bson::Document(spec), doc)) = common::spec_and_doc(data) else { return };
    if let Ok(f) = Filter::parse(&spec) {
        let owned = f.matches(&doc);
        let raw = bson::RawDocumentBuf::try_from(&doc).map(|r| f.matches_raw(&r));
        if let Ok(raw) = raw {
            assert_eq!(owned, raw, "matches and matches_raw disagree");
        }
    }
});
