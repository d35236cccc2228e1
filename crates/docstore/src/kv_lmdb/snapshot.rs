//! Read snapshots of the LMDB engine: one read-only transaction behind a re-entrant lock (see
//! the parent module's invariants), its range iterator read in chunks, and its getter, which
//! walks forward over ascending keys ([`crate::kv_walk`]) while holding the lock.
#![expect(
    unsafe_code,
    reason = "a getter's borrow of its locked snapshot (house style: docstore only)"
)]

use std::cell::RefCell;
use std::ops::Bound;

use heed::types::Bytes;
use heed::{RoTxn, WithoutTls};
use parking_lot::{ReentrantMutex, ReentrantMutexGuard};

use super::{
    Db, RANGE_CHUNK, TableId, cached_id, engine, get_prefixed, lookup, names, prefixed,
    prefixed_bounds, walk, walk_full,
};
use crate::kv::{KvGetter, KvIter, KvPair, KvRead, KvResult, bound_slice};
use crate::kv_walk::{WalkState, Walker};
use crate::memo::{FxHashMap, Memo};

/// What a snapshot's lock guards: the read transaction and the table ids it looked up.
pub(super) struct SnapInner {
    pub(super) txn: RoTxn<'static, WithoutTls>,
    pub(super) max_key: usize,
    pub(super) data: Db,
    pub(super) tables: Db,
    pub(super) ids: RefCell<FxHashMap<String, Option<TableId>>>,
}

impl SnapInner {
    fn id(&self, table: &str) -> KvResult<Option<TableId>> {
        cached_id(&self.ids, &self.txn, self.tables, table)
    }
}

/// A read snapshot (see the module docs).
pub(super) struct LmdbSnapshot {
    pub(super) inner: ReentrantMutex<SnapInner>,
    pub(super) memo: Memo,
}

impl KvRead for LmdbSnapshot {
    fn get(&self, table: &str, key: &[u8]) -> KvResult<Option<Vec<u8>>> {
        let s = self.inner.lock();
        let Some(id) = s.id(table)? else {
            return Ok(None);
        };
        lookup(&s.txn, s.data, &id, key, s.max_key)
    }

    fn range<'a>(
        &'a self,
        table: &str,
        lo: Bound<&[u8]>,
        hi: Bound<&[u8]>,
        reverse: bool,
    ) -> KvResult<KvIter<'a>> {
        let s = self.inner.lock();
        let Some(id) = s.id(table)? else {
            return Ok(Box::new(std::iter::empty()));
        };
        let (lo, hi) = prefixed_bounds(&id, lo, hi, s.max_key);
        Ok(Box::new(Chunked {
            snap: self,
            lo,
            hi,
            reverse,
            buf: std::collections::VecDeque::new(),
            done: false,
        }))
    }

    fn table_names(&self) -> KvResult<Vec<String>> {
        let s = self.inner.lock();
        names(&s.txn, s.tables)
    }

    fn memo(&self) -> Option<&Memo> {
        Some(&self.memo)
    }

    fn getter<'a>(&'a self, table: &str) -> KvResult<Box<dyn KvGetter + 'a>> {
        let guard = self.inner.lock();
        let id = guard.id(table)?;
        Ok(Box::new(LmdbGetter {
            walk: WalkState::default(),
            id,
            guard,
        }))
    }

    fn scan(
        &self,
        table: &str,
        lo: Bound<&[u8]>,
        hi: Bound<&[u8]>,
        reverse: bool,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> KvResult<()> {
        let s = self.inner.lock();
        let Some(id) = s.id(table)? else {
            return Ok(());
        };
        let (lo, hi) = prefixed_bounds(&id, lo, hi, s.max_key);
        walk(
            &s.txn,
            s.data,
            bound_slice(&lo),
            bound_slice(&hi),
            reverse,
            f,
        )
    }
}

/// A snapshot's range, read [`RANGE_CHUNK`] pairs per lock.
struct Chunked<'a> {
    snap: &'a LmdbSnapshot,
    lo: Bound<Vec<u8>>,
    hi: Bound<Vec<u8>>,
    reverse: bool,
    buf: std::collections::VecDeque<KvPair>,
    done: bool,
}

impl Chunked<'_> {
    fn refill(&mut self) -> KvResult<()> {
        let s = self.snap.inner.lock();
        let mut chunk: Vec<(Vec<u8>, Vec<u8>)> = Vec::with_capacity(RANGE_CHUNK);
        let mut last_full: Option<Vec<u8>> = None;
        walk_full(
            &s.txn,
            s.data,
            bound_slice(&self.lo),
            bound_slice(&self.hi),
            self.reverse,
            &mut |k, v| {
                chunk.push((k[4..].to_vec(), v.to_vec()));
                if chunk.len() == RANGE_CHUNK {
                    last_full = Some(k.to_vec());
                    false
                } else {
                    true
                }
            },
        )?;
        match last_full {
            Some(k) if self.reverse => self.hi = Bound::Excluded(k),
            Some(k) => self.lo = Bound::Excluded(k),
            None => self.done = true,
        }
        self.buf.extend(chunk);
        Ok(())
    }
}

impl Iterator for Chunked<'_> {
    type Item = KvResult<KvPair>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.buf.is_empty()
            && !self.done
            && let Err(e) = self.refill()
        {
            self.done = true;
            return Some(Err(e));
        }
        self.buf.pop_front().map(Ok)
    }
}

/// A forward walk of a getter: the range iterator and the entry it is positioned on (full,
/// prefixed keys).
struct Walk<'a> {
    range: heed::RoRange<'a, Bytes, Bytes>,
    at: (&'a [u8], &'a [u8]),
}

impl Walker for Walk<'_> {
    fn key(&self) -> &[u8] {
        self.at.0
    }

    fn value(&self) -> &[u8] {
        self.at.1
    }

    fn advance(&mut self) -> KvResult<bool> {
        match self.range.next() {
            Some(item) => {
                self.at = item.map_err(engine)?;
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

/// The [`KvGetter`] of a snapshot, walking forward over ascending keys
/// ([`crate::kv_walk`]). It holds the snapshot's lock for its whole life.
struct LmdbGetter<'a> {
    // Declared before `guard`: dropped before the lock is released.
    walk: WalkState<Walk<'a>>,
    id: Option<TableId>,
    guard: ReentrantMutexGuard<'a, SnapInner>,
}

impl<'a> LmdbGetter<'a> {
    /// The locked snapshot, for the getter's whole life.
    fn inner(&self) -> &'a SnapInner {
        let p: *const SnapInner = &*self.guard;
        // SAFETY: the `SnapInner` lives inside the `LmdbSnapshot` this getter borrows for
        // `'a`, so it is neither moved nor dropped during `'a`. The getter holds the
        // snapshot's lock (`guard`) as long as it exists, so no other thread uses the
        // transaction meanwhile, and the only things that keep the `'a` reference (the walk's
        // iterator and entry) are fields of the getter declared before `guard`, dropped
        // before the lock is released. Only shared access is ever made.
        unsafe { &*p }
    }
}

/// Starts a walk of table `id` at the first entry with a (prefixed) key `>= key`; `None` when
/// the table has none.
fn start_walk<'a>(s: &'a SnapInner, id: &TableId, key: &[u8]) -> KvResult<Option<Walk<'a>>> {
    let (_, end) = prefixed_bounds(id, Bound::Unbounded, Bound::Unbounded, s.max_key);
    let mut range = s
        .data
        .range(&s.txn, &(Bound::Included(key), bound_slice(&end)))
        .map_err(engine)?;
    Ok(match range.next() {
        Some(item) => Some(Walk {
            at: item.map_err(engine)?,
            range,
        }),
        None => None,
    })
}

impl KvGetter for LmdbGetter<'_> {
    fn get(&mut self, key: &[u8]) -> KvResult<Option<Vec<u8>>> {
        let Some(id) = self.id else {
            return Ok(None);
        };
        let s = self.inner();
        if 4 + key.len() > s.max_key {
            return Ok(None);
        }
        self.walk.get(
            &prefixed(&id, key),
            |k| get_prefixed(&s.txn, s.data, k),
            |k| start_walk(s, &id, k),
        )
    }
}
