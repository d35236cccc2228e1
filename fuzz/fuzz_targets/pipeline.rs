//! Pipelines: parsing arbitrary stage arrays and running them on one document never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stratus_query::pipeline::{Pipeline, PipelineOptions};

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Some((bson::Bson::Array(stages), doc)) = common::spec_and_doc(data) else { return };
    if let Ok(p) = Pipeline::parse(&stages, &PipelineOptions::default()) {
        let env = stratus_query::pipeline::env::MemoryCollections::default();
        let _ = p.run(std::iter::once(doc), &env, "fuzz");
    }
});
