//! Shared by the integration tests that run on both disk engines: stores on disk, one per
//! engine, each in its own temporary directory. Each test binary uses only some of it.
#![allow(dead_code, reason = "each test binary uses a different part")]

use stratus_docstore::{Engine, Store, StoreOptions};

/// A store on disk with `engine`, in a fresh temporary directory (kept alive by the caller).
pub(crate) fn disk_store(engine: Engine) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(
        dir.path().join("s.db"),
        StoreOptions {
            engine,
            ..StoreOptions::default()
        },
    )
    .expect("open");
    (dir, store)
}

/// A store on disk with each engine (redb, the default, then LMDB): the tests run on both.
pub(crate) fn disk_stores() -> Vec<(tempfile::TempDir, Store)> {
    [Engine::Redb, Engine::Lmdb]
        .into_iter()
        .map(disk_store)
        .collect()
}
