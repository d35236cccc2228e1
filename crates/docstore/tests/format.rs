//! The on-disk format version: a file stamped with an unknown (newer) version is refused with
//! a clear error by both engines, and the committed version-1 fixture (a redb file, from
//! before LMDB became the default engine) still opens, with redb.

use std::path::PathBuf;

use bson::doc;
use stratus_docstore::format::{FORMAT_KEY, FORMAT_VERSION, META_TABLE};
use stratus_docstore::kv::KvStore;
use stratus_docstore::kv_lmdb::{DEFAULT_MAP_BYTES, LmdbStore};
use stratus_docstore::kv_redb::RedbStore;
use stratus_docstore::{DocstoreError, Engine, FindOptions, Store, StoreOptions};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/format-v1.redb")
}

#[test]
fn newer_format_version_is_refused_clearly() {
    for engine in [Engine::Redb, Engine::Lmdb] {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.db");
        let options = StoreOptions {
            engine,
            ..StoreOptions::default()
        };
        drop(Store::open(&path, options.clone()).expect("create"));
        assert_eq!(Engine::of_file(&path), Some(engine));
        let kv: Box<dyn KvStore> = match engine {
            Engine::Redb => Box::new(RedbStore::open(&path).expect("raw open")),
            Engine::Lmdb => {
                Box::new(LmdbStore::open(&path, DEFAULT_MAP_BYTES, None).expect("raw open"))
            }
        };
        kv.write(&mut |w| w.put(META_TABLE, FORMAT_KEY, &(FORMAT_VERSION + 1).to_be_bytes()))
            .expect("bump version");
        drop(kv);
        // The engine of an existing file is the file's, whatever the options say.
        let other = match engine {
            Engine::Redb => Engine::Lmdb,
            Engine::Lmdb => Engine::Redb,
        };
        let err = Store::open(
            &path,
            StoreOptions {
                engine: other,
                ..StoreOptions::default()
            },
        )
        .expect_err("newer format");
        assert_newer(&err);
    }
}

fn assert_newer(err: &DocstoreError) {
    assert!(
        matches!(err, DocstoreError::UnsupportedFormat { found, supported } if *found == FORMAT_VERSION + 1 && *supported == FORMAT_VERSION)
    );
    assert!(err.to_string().contains("upgrade Stratus"), "{err}");
}

#[test]
fn version_1_fixture_opens() {
    // The fixture was written by this build's format 1 (see `write_fixture` below); copying
    // keeps the committed file pristine.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("v1.redb");
    std::fs::copy(fixture(), &path).expect("copy fixture");
    assert_eq!(Engine::of_file(&path), Some(Engine::Redb));
    let store = Store::open(&path, StoreOptions::default()).expect("open v1 fixture");
    let docs = store
        .find("app", "users", FindOptions::default())
        .expect("find")
        .to_vec()
        .expect("read");
    assert_eq!(
        docs,
        vec![
            doc! {"_id": 1, "name": "ada"},
            doc! {"_id": 2, "name": "grace"}
        ]
    );
    assert!(
        store
            .verify_integrity()
            .expect("verify")
            .problems
            .is_empty()
    );
}

/// Regenerates the fixture: `STRATUS_WRITE_FIXTURE=1 cargo test -p stratus-docstore --test format write_fixture`.
#[test]
fn write_fixture() {
    if std::env::var("STRATUS_WRITE_FIXTURE").is_err() {
        return;
    }
    let path = fixture();
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    let _ = std::fs::remove_file(&path);
    let store = Store::open(
        &path,
        StoreOptions {
            engine: Engine::Redb,
            ..StoreOptions::default()
        },
    )
    .expect("create");
    store
        .insert_many(
            "app",
            "users",
            vec![
                doc! {"_id": 1, "name": "ada"},
                doc! {"_id": 2, "name": "grace"},
            ],
            true,
        )
        .expect("insert");
}
