//! Shared by the profiling drivers in `examples/`: the documents of
//! `benches/store_vs_sqlite`'s shape, generated without a dependency, and the bulk load.
//! Each driver uses only some of it.
#![allow(dead_code, reason = "each example uses a different part")]

use bson::{Document, doc};
use stratus_docstore::Store;

/// Documents per `cat` value, as in the bench.
pub(crate) const DOCS_PER_CAT: usize = 10;
/// Groups of the bench's `g` field.
pub(crate) const GROUPS: i64 = 16;
/// Range of `n`, as in the bench.
pub(crate) const N_RANGE: u64 = 1_000_000;
/// Database and collection the drivers load into.
pub(crate) const DB: &str = "bench";
/// See [`DB`].
pub(crate) const COLL: &str = "docs";

/// The drivers' error type.
pub(crate) type BoxError = Box<dyn std::error::Error>;

/// xorshift: deterministic, no dependency.
pub(crate) fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Document number `i` of the bench's shape.
pub(crate) fn make_doc(i: usize, state: &mut u64) -> Document {
    let r = next(state);
    let id = i as i64;
    doc! {
        "_id": id,
        "cat": format!("c{}", i / DOCS_PER_CAT),
        "g": id % GROUPS,
        "n": (r % N_RANGE) as i64,
        "name": format!("user-{i}"),
        "score": (r % 10_000) as f64 / 100.0,
        "tags": ["alpha", "beta"],
    }
}

/// Inserts documents `0..docs` into [`DB`].[`COLL`] in batches of 10,000; returns the
/// generator state for the caller's further random choices.
pub(crate) fn load(store: &Store, docs: usize) -> Result<u64, BoxError> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut i = 0;
    while i < docs {
        let end = (i + 10_000).min(docs);
        let batch: Vec<_> = (i..end).map(|k| make_doc(k, &mut state)).collect();
        store.insert_many(DB, COLL, batch, true)?;
        i = end;
    }
    Ok(state)
}

/// The `n`th command-line argument parsed, or `default`.
pub(crate) fn arg<T: std::str::FromStr>(n: usize, default: T) -> T {
    std::env::args()
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}
