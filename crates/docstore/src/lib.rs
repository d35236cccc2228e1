//! The embedded document store: databases and collections of BSON documents on redb, with
//! secondary indexes, a query planner, group commit and a change feed. Synchronous.

pub mod kv;
