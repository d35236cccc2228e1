//! The embedded document store: databases and collections of BSON documents on redb, with
//! secondary indexes, a query planner, group commit and a change feed. Synchronous.
//!
//! Layers, bottom up: [`kv`] (ordered key-value trait; [`kv_redb`] is the engine) →
//! [`overlay`] (per-operation write buffers) → [`writer`] (one writer thread, group commit) →
//! [`catalog`], [`changefeed`], [`crud`] → [`store::Store`] (the public API).

pub mod catalog;
pub mod changefeed;
pub mod crud;
pub mod cursor;
pub mod error;
pub mod format;
pub mod index;
pub mod keys;
pub mod kv;
pub mod kv_redb;
pub mod limits;
pub mod overlay;
mod secondary;
pub mod store;
pub mod writer;

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
    ChangeSubscription, CollectionInfo, CollectionStats, DatabaseInfo, IntegrityReport, Store,
    StoreOptions,
};
