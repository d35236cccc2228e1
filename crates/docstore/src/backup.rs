//! Online backups: [`Store::backup_to`] copies the whole store, as of one MVCC read snapshot,
//! into a fresh redb file.
//!
//! Invariants:
//! - The copy is consistent: every table is read from the same snapshot, so writes committed
//!   while the backup runs are either entirely in it or entirely absent (they are absent —
//!   the snapshot is taken first). Writers are never blocked.
//! - The copy carries the format version: the `meta` table (see [`crate::format`]) is copied
//!   like every other table, and the copy is checked to hold [`FORMAT_VERSION`].
//! - The destination appears atomically: the copy is written to `<dest>.partial`, committed
//!   with redb's immediate durability (fsync), closed, renamed onto `dest`, and the parent
//!   directory is fsynced. A crash leaves either no `dest` or a complete one (plus perhaps a
//!   stale `.partial`, which the next backup overwrites).
//! - Memory stays bounded: pairs are written in transactions of at most
//!   [`BACKUP_BATCH_PAIRS`] pairs.

use std::ops::Bound;
use std::path::{Path, PathBuf};

use crate::Engine;
use crate::catalog;
use crate::error::{DocstoreError, Result};
use crate::format::{self, FORMAT_VERSION};
use crate::kv::{KvPair, KvStore};
use crate::kv_lmdb::{LmdbStore, lock_path};
use crate::kv_redb::RedbStore;
use crate::store::Store;

/// Pairs copied per write transaction of the backup file.
pub const BACKUP_BATCH_PAIRS: usize = 4096;

/// Suffix of the temporary file a backup is written to before its rename.
pub const PARTIAL_SUFFIX: &str = ".partial";

/// What [`Store::backup_to`] copied.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BackupInfo {
    /// The format version of the copy (always [`FORMAT_VERSION`]).
    pub format_version: u32,
    /// Tables copied.
    pub tables: u64,
    /// Key-value pairs copied.
    pub pairs: u64,
    /// Collections in the copy.
    pub collections: u64,
    /// Documents in the copy (sum of the collections' counts).
    pub documents: u64,
    /// Size of the backup file, bytes.
    pub bytes: u64,
}

fn io_err(what: &str, path: &Path, e: std::io::Error) -> DocstoreError {
    DocstoreError::Storage(format!("backup: {what} {}: {e}", path.display()))
}

/// `<dest>.partial`, next to `dest`.
fn partial_path(dest: &Path) -> PathBuf {
    let mut s = dest.as_os_str().to_os_string();
    s.push(PARTIAL_SUFFIX);
    PathBuf::from(s)
}

impl Store {
    /// Copies every table of one consistent read snapshot into a new store file at `dest`
    /// (which must not exist), fsyncs it and renames it into place atomically. The copy has
    /// this store's engine (the default engine for an in-memory store). The running store
    /// keeps serving reads and writes meanwhile.
    pub fn backup_to(&self, dest: &Path) -> Result<BackupInfo> {
        if dest.exists() {
            return Err(DocstoreError::Storage(format!(
                "backup: {} already exists",
                dest.display()
            )));
        }
        let snap = self.snapshot()?;
        let version = format::stored_version(snap.as_ref())?;
        if version != Some(FORMAT_VERSION) {
            return Err(DocstoreError::Storage(format!(
                "backup: the store has format version {version:?}, expected {FORMAT_VERSION}"
            )));
        }
        let tmp = partial_path(dest);
        if tmp.exists() {
            std::fs::remove_file(&tmp).map_err(|e| io_err("removing stale", &tmp, e))?;
        }
        let mut info = BackupInfo {
            format_version: FORMAT_VERSION,
            ..BackupInfo::default()
        };
        let engine = self.engine().unwrap_or_default();
        {
            let out: Box<dyn KvStore> = match engine {
                Engine::Redb => Box::new(RedbStore::open(&tmp)?),
                Engine::Lmdb => Box::new(LmdbStore::open(&tmp, self.inner.max_size_bytes, None)?),
            };
            let mut names = snap.table_names()?;
            names.sort();
            for table in &names {
                info.tables += 1;
                let mut it = snap.range(table, Bound::Unbounded, Bound::Unbounded, false)?;
                loop {
                    let mut batch: Vec<KvPair> = Vec::with_capacity(BACKUP_BATCH_PAIRS);
                    for pair in it.by_ref().take(BACKUP_BATCH_PAIRS) {
                        batch.push(pair?);
                    }
                    if batch.is_empty() {
                        break;
                    }
                    info.pairs += batch.len() as u64;
                    let full = batch.len() == BACKUP_BATCH_PAIRS;
                    out.write(&mut |kv| {
                        let mut entries = batch
                            .iter()
                            .map(|(k, v)| (k.as_slice(), Some(v.as_slice())));
                        kv.write_batch(table, &mut entries)
                    })?;
                    if !full {
                        break;
                    }
                }
            }
            // The copy must read back as a store of this format.
            let copy = out.snapshot()?;
            if format::stored_version(copy.as_ref())? != Some(FORMAT_VERSION) {
                return Err(DocstoreError::Storage(
                    "backup: the copy lacks the format version".into(),
                ));
            }
            for meta in catalog::list(copy.as_ref(), None)? {
                info.collections += 1;
                let (count, _) = catalog::stats(copy.as_ref(), meta.id)?;
                info.documents += count.max(0) as u64;
            }
            // Writes were committed with immediate durability; closing releases the file lock.
        }
        // LMDB's lock table of the copy (a scratch file, rebuilt by whoever opens the copy).
        let lock = lock_path(&tmp);
        if engine == Engine::Lmdb && lock.exists() {
            std::fs::remove_file(&lock).map_err(|e| io_err("removing", &lock, e))?;
        }
        let f = std::fs::File::open(&tmp).map_err(|e| io_err("opening", &tmp, e))?;
        f.sync_all().map_err(|e| io_err("syncing", &tmp, e))?;
        info.bytes = f.metadata().map_err(|e| io_err("reading", &tmp, e))?.len();
        drop(f);
        std::fs::rename(&tmp, dest).map_err(|e| io_err("renaming onto", dest, e))?;
        sync_parent(dest)?;
        Ok(info)
    }
}

/// Fsyncs the directory holding `path` so a rename into it is durable.
fn sync_parent(path: &Path) -> Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let d = std::fs::File::open(&parent).map_err(|e| io_err("opening", &parent, e))?;
    d.sync_all().map_err(|e| io_err("syncing", &parent, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FindOptions, StoreOptions};
    use bson::doc;

    fn fill(store: &Store, n: i64) {
        let docs: Vec<_> = (0..n)
            .map(|i| doc! {"_id": i, "n": i, "s": format!("v{i}")})
            .collect();
        store
            .insert_many("app", "items", docs, true)
            .expect("insert");
        store
            .insert_many("other", "x", vec![doc! {"_id": "a"}], true)
            .expect("insert");
    }

    #[test]
    fn backup_copies_everything_and_verifies() {
        let dir = tempfile::tempdir().expect("tmp");
        let store =
            Store::open(dir.path().join("data.redb"), StoreOptions::default()).expect("open");
        // More pairs than one batch, so batching is exercised.
        fill(&store, (BACKUP_BATCH_PAIRS as i64) + 17);
        let spec = crate::index::spec::IndexSpec::parse(&doc! {"key": {"s": 1}, "name": "s_1"})
            .expect("spec");
        store.create_index("app", "items", spec).expect("index");
        let dest = dir.path().join("copy.redb");
        let info = store.backup_to(&dest).expect("backup");
        assert_eq!(info.format_version, FORMAT_VERSION);
        assert_eq!(info.collections, 2);
        assert_eq!(info.documents, BACKUP_BATCH_PAIRS as u64 + 18);
        assert!(info.pairs > info.documents);
        assert!(info.bytes > 0);
        assert!(!partial_path(&dest).exists());

        let copy = Store::open(&dest, StoreOptions::default()).expect("open copy");
        let report = copy.verify_integrity().expect("verify");
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        assert_eq!(report.collections, 2);
        assert_eq!(report.documents, info.documents);
        let got = copy
            .find("app", "items", FindOptions::filter(doc! {"_id": 5}))
            .expect("find")
            .to_vec()
            .expect("docs");
        assert_eq!(got, vec![doc! {"_id": 5_i64, "n": 5_i64, "s": "v5"}]);
        assert_eq!(
            copy.list_databases().expect("dbs").len(),
            store.list_databases().expect("dbs").len()
        );
    }

    #[test]
    fn backup_is_a_snapshot_and_writers_continue() {
        let dir = tempfile::tempdir().expect("tmp");
        let store =
            Store::open(dir.path().join("data.redb"), StoreOptions::default()).expect("open");
        fill(&store, 10);
        let first = dir.path().join("one.redb");
        store.backup_to(&first).expect("backup");
        store
            .insert_many("app", "items", vec![doc! {"_id": 100}], true)
            .expect("write after backup");
        let second = dir.path().join("two.redb");
        let info2 = store.backup_to(&second).expect("backup");
        assert_eq!(info2.documents, 12);
        let one = Store::open(&first, StoreOptions::default()).expect("open");
        assert_eq!(
            one.collection_stats("app", "items").expect("stats").count,
            10
        );
    }

    #[test]
    fn backup_refuses_existing_destination_and_in_memory_works() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open_in_memory().expect("mem");
        fill(&store, 3);
        let dest = dir.path().join("mem.redb");
        let info = store.backup_to(&dest).expect("backup of memory store");
        assert_eq!(info.documents, 4);
        let err = store.backup_to(&dest).expect_err("exists");
        assert!(err.to_string().contains("already exists"), "{err}");
        // A stale partial file from a crashed backup is replaced.
        let dest2 = dir.path().join("again.redb");
        std::fs::write(partial_path(&dest2), b"garbage").expect("write");
        store.backup_to(&dest2).expect("backup over stale partial");
        let copy = Store::open(&dest2, StoreOptions::default()).expect("open");
        assert!(copy.verify_integrity().expect("verify").problems.is_empty());
    }
}
