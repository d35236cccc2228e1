//! Server-side cursors: the registry `find`/`aggregate` cursors live in between `getMore`s,
//! and the batching of their documents. Documents stay the raw BSON the store hands out
//! ([`Cursor::next_batch_raw`]); a batch's byte budget counts their stored size.
//!
//! Invariants: a cursor is *checked out* (removed from the map) while a `getMore` runs on a
//! blocking thread and put back afterwards, so two commands never use one cursor at once (the
//! second sees CursorNotFound); ids are random positive `i64`s, never 0 (0 = "exhausted");
//! cursors idle for longer than the idle timeout ([`CURSOR_IDLE_TIMEOUT`] by default) are
//! dropped by the reaper.
//!
//! Limits: at most [`CursorLimits::max_total`] cursors are open at once, and at most
//! [`CursorLimits::max_per_user`] of one user; opening one more fails with
//! [`CommandError::too_many_cursors`]. Each open cursor holds a store read snapshot (on LMDB,
//! one of its reader slots) and its buffered documents, so without the limits one client
//! could exhaust memory or the reader table for everyone. A cursor counts from registration
//! until it is dropped — exhausted, killed, reaped, or its command failed — including while it
//! is checked out: the count lives in a [`CursorSlot`] the cursor owns, released on drop.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bson::{Document, RawDocumentBuf};
use stratus_docstore::{ChangeSubscription, Cursor};

use super::error::CommandError;

/// A cursor unused for this long is closed (MongoDB's `cursorTimeoutMillis` default);
/// `mongo.cursor_idle_timeout_secs` overrides it.
pub const CURSOR_IDLE_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// Default of [`CursorLimits::max_total`] (`mongo.max_cursors`).
pub const DEFAULT_MAX_CURSORS: usize = 10_000;
/// Default of [`CursorLimits::max_per_user`] (`mongo.max_cursors_per_user`).
pub const DEFAULT_MAX_CURSORS_PER_USER: usize = 1_000;
/// Largest accepted [`CursorLimits::max_total`]: half of LMDB's reader table
/// (`stratus_docstore::kv_lmdb::MAX_READERS`, 32,768), so open cursors never take the read
/// snapshots the HTTP runtime and the other connections need.
pub const MAX_CURSORS_LIMIT: usize = 16_384;
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
    /// Its place in the registry's counts (set by [`CursorRegistry::insert`]).
    slot: Option<CursorSlot>,
}

impl ServerCursor {
    /// A cursor on `ns` opened by `owner`, not yet registered.
    pub fn new(ns: String, owner: Option<String>, source: CursorSource) -> Self {
        ServerCursor {
            ns,
            owner,
            last_used: Instant::now(),
            source,
            slot: None,
        }
    }
}

/// How many cursors may be open at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CursorLimits {
    /// All users together (`mongo.max_cursors`).
    pub max_total: usize,
    /// One user (`mongo.max_cursors_per_user`).
    pub max_per_user: usize,
}

impl Default for CursorLimits {
    fn default() -> Self {
        CursorLimits {
            max_total: DEFAULT_MAX_CURSORS,
            max_per_user: DEFAULT_MAX_CURSORS_PER_USER,
        }
    }
}

/// Open cursors, in all and per owner.
#[derive(Debug, Default)]
struct Occupancy {
    total: usize,
    per_owner: HashMap<String, usize>,
}

/// One open cursor's share of the counts; dropping it releases the share.
struct CursorSlot {
    occupancy: Arc<Mutex<Occupancy>>,
    owner: String,
}

impl Drop for CursorSlot {
    fn drop(&mut self) {
        let mut o = lock_occupancy(&self.occupancy);
        o.total = o.total.saturating_sub(1);
        if let Some(n) = o.per_owner.get_mut(&self.owner) {
            *n -= 1;
            if *n == 0 {
                o.per_owner.remove(&self.owner);
            }
        }
    }
}

fn lock_occupancy(m: &Mutex<Occupancy>) -> std::sync::MutexGuard<'_, Occupancy> {
    // Counter updates are single statements: a panic elsewhere cannot leave them half-done.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
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
    limits: CursorLimits,
    occupancy: Arc<Mutex<Occupancy>>,
}

impl CursorRegistry {
    /// An empty registry enforcing `limits`.
    pub fn new(limits: CursorLimits) -> Self {
        CursorRegistry {
            limits,
            ..Default::default()
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, ServerCursor>> {
        // A panic while holding this lock cannot leave the map inconsistent (single calls).
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers a cursor and returns its new id; refused (and the cursor dropped) when its
    /// owner or the server already has as many open cursors as the limits allow.
    pub fn insert(&self, mut cursor: ServerCursor) -> Result<i64, CommandError> {
        let owner = cursor.owner.clone().unwrap_or_default();
        {
            let mut o = lock_occupancy(&self.occupancy);
            let mine = o.per_owner.get(&owner).copied().unwrap_or(0);
            if mine >= self.limits.max_per_user {
                return Err(CommandError::too_many_cursors(format!(
                    "user '{owner}' has {mine} open cursors, the most allowed \
                     (mongo.max_cursors_per_user); exhaust or kill some (killCursors) first"
                )));
            }
            if o.total >= self.limits.max_total {
                return Err(CommandError::too_many_cursors(format!(
                    "the server has {} open cursors, the most allowed (mongo.max_cursors); \
                     exhaust or kill some (killCursors) first",
                    o.total
                )));
            }
            o.total += 1;
            *o.per_owner.entry(owner.clone()).or_insert(0) += 1;
        }
        cursor.slot = Some(CursorSlot {
            occupancy: Arc::clone(&self.occupancy),
            owner,
        });
        let mut map = self.lock();
        loop {
            let id = (rand::random::<u64>() >> 2) as i64 + 1;
            if let std::collections::hash_map::Entry::Vacant(e) = map.entry(id) {
                e.insert(cursor);
                return Ok(id);
            }
        }
    }

    /// Open cursors of all users, including checked-out ones.
    pub fn open_total(&self) -> usize {
        lock_occupancy(&self.occupancy).total
    }

    /// Open cursors of `owner`, including checked-out ones.
    pub fn open_of(&self, owner: &str) -> usize {
        let o = lock_occupancy(&self.occupancy);
        o.per_owner.get(owner).copied().unwrap_or(0)
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
        let id = reg
            .insert(ServerCursor::new(
                "a.b".into(),
                None,
                CursorSource::Query(QueryCursor::from_documents(vec![])),
            ))
            .unwrap();
        assert!(id > 0);
        assert_eq!(reg.reap(Duration::from_secs(60)), 0);
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(reg.reap(Duration::from_millis(5)), 1);
        assert!(reg.check_out(id).is_none());
    }

    fn empty(owner: &str) -> ServerCursor {
        ServerCursor::new(
            "a.b".into(),
            Some(owner.into()),
            CursorSource::Query(QueryCursor::from_documents(vec![])),
        )
    }

    #[test]
    fn limits_count_open_cursors_until_they_are_dropped() {
        let reg = CursorRegistry::new(CursorLimits {
            max_total: 5,
            max_per_user: 3,
        });
        let a: Vec<i64> = (0..3).map(|_| reg.insert(empty("ann")).unwrap()).collect();
        let err = reg.insert(empty("ann")).unwrap_err();
        assert_eq!((err.code, err.code_name.as_str()), (96, "OperationFailed"));
        assert!(err.message.contains("mongo.max_cursors_per_user"), "{err}");
        assert_eq!((reg.open_total(), reg.open_of("ann")), (3, 3));
        // Another user still gets cursors, up to the server-wide limit.
        reg.insert(empty("bob")).unwrap();
        reg.insert(empty("bob")).unwrap();
        let err = reg.insert(empty("cy")).unwrap_err();
        assert!(err.message.contains("(mongo.max_cursors)"), "{err}");
        assert_eq!(reg.open_of("cy"), 0);
        // A checked-out cursor still counts; dropping it (exhausted, killed) frees the slot.
        let out = reg.check_out(a[0]).unwrap();
        assert_eq!(reg.open_total(), 5);
        assert!(reg.insert(empty("cy")).is_err());
        reg.put_back(a[0], out);
        assert_eq!(reg.open_total(), 5);
        drop(reg.check_out(a[1]));
        assert_eq!((reg.open_total(), reg.open_of("ann")), (4, 2));
        reg.insert(empty("cy")).unwrap();
        // Reaping frees slots too.
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(reg.reap(Duration::from_millis(5)), 5);
        assert_eq!((reg.open_total(), reg.open_of("ann")), (0, 0));
        reg.insert(empty("ann")).unwrap();
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
