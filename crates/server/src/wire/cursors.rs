//! Server-side cursors: the registry `find`/`aggregate` cursors live in between `getMore`s,
//! and the batching of their documents. Documents stay the raw BSON the store hands out
//! ([`Cursor::next_batch_raw`]); a batch's byte budget counts their stored size.
//!
//! Invariants: a cursor is *checked out* (removed from the map) while a `getMore` runs on a
//! blocking thread and put back afterwards, so two commands never use one cursor at once (the
//! second sees CursorNotFound); ids are random positive `i64`s, never 0 (0 = "exhausted");
//! cursors idle for [`CURSOR_IDLE_TIMEOUT`] are dropped by the reaper.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bson::{Document, RawDocumentBuf};
use stratus_docstore::{ChangeSubscription, Cursor};

/// A cursor unused for this long is closed (MongoDB's `cursorTimeoutMillis` default).
pub const CURSOR_IDLE_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// Documents in a first batch when the client gives no `batchSize` (MongoDB's default).
pub const DEFAULT_FIRST_BATCH: usize = 101;
/// Byte budget of one batch (MongoDB caps a reply batch at 16 MiB).
pub const MAX_BATCH_BYTES: usize = 16 * 1024 * 1024;

/// What a server cursor reads from.
pub enum CursorSource {
    /// Results of `find`/`aggregate`/`listX`.
    Query(QueryCursor),
    /// A change stream.
    Change(ChangeCursor),
}

/// A registered cursor.
pub struct ServerCursor {
    /// `db.collection` the cursor belongs to.
    pub ns: String,
    /// The user that opened it (`None` if opened unauthenticated — never happens today).
    pub owner: Option<String>,
    /// Last time a command used it.
    pub last_used: Instant,
    /// Its source.
    pub source: CursorSource,
}

/// Batches documents (raw BSON) out of a store [`Cursor`].
pub struct QueryCursor {
    cursor: Option<Cursor>,
    buffer: VecDeque<RawDocumentBuf>,
}

impl QueryCursor {
    /// Wraps a store cursor.
    pub fn new(cursor: Cursor) -> Self {
        QueryCursor {
            cursor: Some(cursor),
            buffer: VecDeque::new(),
        }
    }

    /// Wraps already computed documents.
    pub fn from_documents(docs: Vec<RawDocumentBuf>) -> Self {
        QueryCursor {
            cursor: None,
            buffer: docs.into(),
        }
    }

    /// Up to `n` documents within [`MAX_BATCH_BYTES`] (at least one when any remain).
    /// May read from the store: call from a blocking thread unless the query is known to be
    /// bounded (see `commands::read`).
    pub fn take(&mut self, n: usize) -> stratus_docstore::Result<Vec<RawDocumentBuf>> {
        let mut out = Vec::new();
        let mut bytes = 0usize;
        while out.len() < n {
            if let Some(d) = self.buffer.pop_front() {
                let size = d.as_bytes().len();
                if !out.is_empty() && bytes + size > MAX_BATCH_BYTES {
                    self.buffer.push_front(d);
                    break;
                }
                bytes += size;
                out.push(d);
                continue;
            }
            let Some(c) = self.cursor.as_mut() else { break };
            let batch = c.next_batch_raw()?;
            if batch.is_empty() {
                self.cursor = None;
                break;
            }
            self.buffer.extend(batch);
        }
        if self.buffer.is_empty() && self.cursor.as_ref().is_some_and(Cursor::is_exhausted) {
            self.cursor = None;
        }
        Ok(out)
    }

    /// Whether nothing remains.
    pub fn is_exhausted(&self) -> bool {
        self.buffer.is_empty() && self.cursor.is_none()
    }
}

/// A change stream on one collection (or a whole database when `coll` is `None`).
pub struct ChangeCursor {
    /// The feed follower (its token is the resume point).
    pub subscription: ChangeSubscription,
    /// Watched database.
    pub db: String,
    /// Watched collection.
    pub coll: Option<String>,
    /// Include `fullDocument` in update events (`fullDocument: "updateLookup"`).
    pub update_lookup: bool,
    /// `$match` stages after `$changeStream`, applied to each event document.
    pub filters: Vec<stratus_query::filter::Filter>,
    /// Matching events read from the feed but not yet returned (batch size reached).
    pub pending: VecDeque<Document>,
}

/// The cursor registry.
#[derive(Default)]
pub struct CursorRegistry {
    map: Mutex<HashMap<i64, ServerCursor>>,
}

impl CursorRegistry {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, ServerCursor>> {
        // A panic while holding this lock cannot leave the map inconsistent (single calls).
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers a cursor and returns its new id.
    pub fn insert(&self, cursor: ServerCursor) -> i64 {
        let mut map = self.lock();
        loop {
            let id = (rand::random::<u64>() >> 2) as i64 + 1;
            if let std::collections::hash_map::Entry::Vacant(e) = map.entry(id) {
                e.insert(cursor);
                return id;
            }
        }
    }

    /// Puts a checked-out cursor back under its id.
    pub fn put_back(&self, id: i64, mut cursor: ServerCursor) {
        cursor.last_used = Instant::now();
        self.lock().insert(id, cursor);
    }

    /// Checks a cursor out (removes it) for use.
    pub fn check_out(&self, id: i64) -> Option<ServerCursor> {
        self.lock().remove(&id)
    }

    /// The namespace and owner of cursor `id` without checking it out.
    pub fn peek(&self, id: i64) -> Option<(String, Option<String>)> {
        self.lock()
            .get(&id)
            .map(|c| (c.ns.clone(), c.owner.clone()))
    }

    /// Number of open cursors.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no cursor is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops cursors unused for longer than `idle`; returns how many.
    pub fn reap(&self, idle: Duration) -> usize {
        let mut map = self.lock();
        let before = map.len();
        map.retain(|_, c| c.last_used.elapsed() <= idle);
        before - map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    #[test]
    fn batches_and_reaping() {
        let docs: Vec<RawDocumentBuf> = (0..10)
            .map(|i| RawDocumentBuf::try_from(&doc! {"i": i}).unwrap())
            .collect();
        let mut q = QueryCursor::from_documents(docs);
        assert_eq!(q.take(4).unwrap().len(), 4);
        assert_eq!(q.take(4).unwrap().len(), 4);
        assert!(!q.is_exhausted());
        assert_eq!(q.take(4).unwrap().len(), 2);
        assert!(q.is_exhausted());

        let reg = CursorRegistry::default();
        let id = reg.insert(ServerCursor {
            ns: "a.b".into(),
            owner: None,
            last_used: Instant::now(),
            source: CursorSource::Query(QueryCursor::from_documents(vec![])),
        });
        assert!(id > 0);
        assert_eq!(reg.reap(Duration::from_secs(60)), 0);
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(reg.reap(Duration::from_millis(5)), 1);
        assert!(reg.check_out(id).is_none());
    }

    #[test]
    fn byte_budget_counts_stored_size() {
        // Three documents of 6 MiB: two fit in 16 MiB, the third starts the next batch; a
        // single document over the budget still goes out alone.
        let big = |i: i32, mib: usize| {
            RawDocumentBuf::try_from(&doc! {"_id": i, "pad": "x".repeat(mib * 1024 * 1024)})
                .unwrap()
        };
        let mut q = QueryCursor::from_documents(vec![big(1, 6), big(2, 6), big(3, 6)]);
        let first = q.take(10).unwrap();
        assert_eq!(first.len(), 2);
        assert!(first.iter().map(|d| d.as_bytes().len()).sum::<usize>() <= MAX_BATCH_BYTES);
        assert_eq!(q.take(10).unwrap().len(), 1);
        assert!(q.is_exhausted());
        let mut q = QueryCursor::from_documents(vec![big(1, 17), big(2, 1)]);
        assert_eq!(q.take(10).unwrap().len(), 1);
        assert_eq!(q.take(10).unwrap().len(), 1);
        assert!(q.is_exhausted());
    }
}
