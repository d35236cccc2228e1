//! The embedded document store: databases and collections of BSON documents on redb, with
//! secondary indexes, a query planner, group commit and a change feed. Synchronous.
//!
//! Layers, bottom up: [`kv`] (ordered key-value trait; [`kv_redb`] is the engine) →
//! [`overlay`] (per-operation write buffers) → [`writer`] (one writer thread, group commit) →
//! [`catalog`], [`changefeed`], [`index`], [`crud`] → [`store::Store`] (the public API).
//!
//! Guarantees: every write call is atomic (all or nothing, including its index entries and
//! change events) and returns only once durable; reads work on MVCC snapshots and never block
//! or get blocked by writes; the file carries a format version ([`format`]).
//!
//! ```
//! use bson::{bson, doc};
//! use stratus_docstore::{FindOptions, Store, UpdateOptions};
//!
//! # fn main() -> stratus_docstore::Result<()> {
//! let store = Store::open_in_memory()?; // Store::open(path, StoreOptions::default()) on disk
//! store.insert_many("app", "users", vec![doc! {"_id": 1, "n": "ada"}, doc! {"_id": 2, "n": "bob"}], true)?;
//! store.update_one("app", "users", doc! {"_id": 2}, &bson!({"$set": {"admin": true}}), UpdateOptions::default())?;
//! let admins = store.find("app", "users", FindOptions::filter(doc! {"admin": true}))?.to_vec()?;
//! assert_eq!(admins, vec![doc! {"_id": 2, "n": "bob", "admin": true}]);
//! assert_eq!(store.changes_since(0, 10)?.len(), 3); // two inserts and an update
//! # Ok(())
//! # }
//! ```

pub mod backup;
pub mod catalog;
pub mod changefeed;
pub mod crud;
pub mod cursor;
pub mod error;
pub mod format;
pub mod index;
pub mod keys;
pub mod kv;
pub mod kv_lmdb;
pub mod kv_redb;
pub mod kv_walk;
pub mod limits;
#[cfg(unix)]
pub mod mapped_file;
pub mod memo;
pub mod overlay;
pub mod pending;
mod secondary;
pub mod store;
pub mod writer;

pub use backup::BackupInfo;
pub use changefeed::{ChangeEvent, ChangeOp};
pub use crud::aggregate::AggregateOptions;
pub use crud::bulk::{BulkWriteResult, WriteModel};
pub use crud::find::FindOptions;
pub use crud::find_and_modify::{FindAndModifyOptions, ReturnDocument};
pub use crud::insert::{InsertManyResult, WriteError};
pub use crud::modify::UpdateOptions;
pub use crud::update::{ReplaceOptions, UpdateResult};
pub use cursor::Cursor;
pub use error::{DocstoreError, Result};
pub use store::{
    ChangeSubscription, CollectionInfo, CollectionStats, DatabaseInfo, Engine, IntegrityReport,
    Store, StoreOptions,
};
