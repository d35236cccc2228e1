//! How a pipeline reaches collections other than its input: the [`CollectionSource`] trait
//! (implemented by the document store) and [`MemoryCollections`], an in-memory implementation
//! for tests and embedders.
//!
//! Atomicity contract: [`CollectionSource::replace_collection`] and
//! [`CollectionSource::apply_merge`] are all-or-nothing. When they return an error, the target
//! collection is exactly as it was before the call; when they return `Ok`, every write is
//! visible to later reads.

use std::collections::BTreeMap;
use std::sync::Mutex;

use bson::{Bson, Document};

use crate::compare::values_equal;
use crate::error::{MongoCode, QueryError, Result};
use crate::filter::Filter;

/// One write of a `$merge` stage, computed by the pipeline against the target's current
/// contents.
#[derive(Debug, Clone, PartialEq)]
pub enum MergeWrite {
    /// Insert a new document (it always has an `_id`). Must fail with DuplicateKey (11000)
    /// when a document with the same `_id` (or unique index key) exists.
    Insert(Document),
    /// Replace the whole existing document whose `_id` is `id` with `doc` (`doc._id == id`).
    Replace {
        /// `_id` of the existing document.
        id: Bson,
        /// The new content, including `_id`.
        doc: Document,
    },
}

/// Access to the collections of a database, as `$lookup`, `$unionWith`, `$out` and `$merge`
/// need it.
pub trait CollectionSource {
    /// All documents of `coll` in database `db` that match `filter` (a MongoDB query filter;
    /// `{}` for all), in natural order. A collection that does not exist has no documents.
    /// Implementations may use indexes; the result must equal a full scan filtered with
    /// [`Filter::matches`].
    fn find(&self, db: &str, coll: &str, filter: &Document) -> Result<Vec<Document>>;

    /// Atomically replaces the contents of `coll` with `docs` (`$out`), creating the
    /// collection if needed and keeping its indexes. Every document has an `_id`; two equal
    /// `_id`s (or a unique index violation) fail with DuplicateKey 11000 and change nothing.
    fn replace_collection(&self, db: &str, coll: &str, docs: Vec<Document>) -> Result<()>;

    /// Applies `$merge`'s writes to `coll` in order, atomically (all or none), creating the
    /// collection if needed.
    fn apply_merge(&self, db: &str, coll: &str, writes: Vec<MergeWrite>) -> Result<()>;
}

/// An in-memory [`CollectionSource`]: a map of `(db, collection)` → documents.
#[derive(Debug, Default)]
pub struct MemoryCollections {
    inner: Mutex<BTreeMap<(String, String), Vec<Document>>>,
}

impl MemoryCollections {
    /// An empty set of collections.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces the contents of `db.coll` (test setup; no `_id` checks).
    pub fn insert_collection(&self, db: &str, coll: &str, docs: Vec<Document>) {
        self.lock().insert((db.to_string(), coll.to_string()), docs);
    }

    /// The documents of `db.coll` in natural order (empty when it does not exist).
    pub fn documents(&self, db: &str, coll: &str) -> Vec<Document> {
        self.lock()
            .get(&(db.to_string(), coll.to_string()))
            .cloned()
            .unwrap_or_default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, String), Vec<Document>>> {
        // A poisoned lock only means another thread panicked mid-test; the map is still valid.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn duplicate_key(db: &str, coll: &str, id: &Bson) -> QueryError {
    QueryError::new(
        MongoCode::DuplicateKey,
        format!(
            "E11000 duplicate key error collection: {db}.{coll} index: _id_ dup key: {{ _id: {} }}",
            id.clone().into_relaxed_extjson()
        ),
    )
}

impl CollectionSource for MemoryCollections {
    fn find(&self, db: &str, coll: &str, filter: &Document) -> Result<Vec<Document>> {
        let docs = self.documents(db, coll);
        if filter.is_empty() {
            return Ok(docs);
        }
        let f = Filter::parse(filter)?;
        Ok(docs.into_iter().filter(|d| f.matches(d)).collect())
    }

    fn replace_collection(&self, db: &str, coll: &str, docs: Vec<Document>) -> Result<()> {
        for (i, d) in docs.iter().enumerate() {
            let Some(id) = d.get("_id") else {
                return Err(QueryError::bad_value("$out: document without _id"));
            };
            if docs[..i]
                .iter()
                .any(|o| o.get("_id").is_some_and(|x| values_equal(x, id)))
            {
                return Err(duplicate_key(db, coll, id));
            }
        }
        self.insert_collection(db, coll, docs);
        Ok(())
    }

    fn apply_merge(&self, db: &str, coll: &str, writes: Vec<MergeWrite>) -> Result<()> {
        let mut map = self.lock();
        let mut docs = map
            .get(&(db.to_string(), coll.to_string()))
            .cloned()
            .unwrap_or_default();
        let pos = |docs: &[Document], id: &Bson| {
            docs.iter()
                .position(|d| d.get("_id").is_some_and(|x| values_equal(x, id)))
        };
        for w in writes {
            match w {
                MergeWrite::Insert(d) => {
                    let id = d.get("_id").cloned().unwrap_or(Bson::Null);
                    if pos(&docs, &id).is_some() {
                        return Err(duplicate_key(db, coll, &id));
                    }
                    docs.push(d);
                }
                MergeWrite::Replace { id, doc } => match pos(&docs, &id) {
                    Some(i) => docs[i] = doc,
                    None => {
                        return Err(QueryError::new(
                            MongoCode::NoSuchKey,
                            format!(
                                "$merge: no document with _id {} to replace",
                                id.into_relaxed_extjson()
                            ),
                        ));
                    }
                },
            }
        }
        map.insert((db.to_string(), coll.to_string()), docs);
        Ok(())
    }
}
