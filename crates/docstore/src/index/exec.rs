//! Executing a [`Plan`]: a lazy iterator of candidate `(primary key, raw BSON document)` pairs
//! read from the document table (key = `encode_id(_id)`, value = raw BSON).
//!
//! Invariants: ranges are opened one at a time and only when the previous one is exhausted,
//! so a caller that stops early (sort + limit) reads little; a document reached through
//! several entries (multikey, overlapping points) is yielded once; an index entry pointing at
//! a missing document is reported as an InternalError (the index disagrees with the data).

use std::collections::{HashSet, VecDeque};
use std::ops::Bound;

use stratus_query::error::{MongoCode, QueryError, Result};

use super::bounds::KeyRange;
use super::maintain::storage_error;
use super::planner::{Access, Plan};
use crate::kv::{KvGetter, KvIter, KvRead};

/// Candidate `(primary key, raw document)` pairs.
pub type Candidates<'a> = Box<dyn Iterator<Item = Result<(Vec<u8>, Vec<u8>)>> + 'a>;

fn as_bound(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(k) => Bound::Included(k.as_slice()),
        Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// Runs `plan` against a snapshot: yields candidates from `docs_table`. The candidates borrow
/// the plan (its key ranges and table names) instead of copying them.
pub fn execute<'a>(
    plan: &'a Plan,
    kv: &'a dyn KvRead,
    docs_table: &'a str,
) -> Result<Candidates<'a>> {
    execute_expecting(plan, kv, docs_table, None)
}

/// [`execute`] for a caller that expects to take about `wanted` candidates (skip + limit;
/// `None`: unknown): the first read of each secondary index range reads that many entries
/// (at most [`INDEX_CHUNK_FIRST`]), so a `limit: 1` query reads one index entry, not a chunk.
pub fn execute_expecting<'a>(
    plan: &'a Plan,
    kv: &'a dyn KvRead,
    docs_table: &'a str,
    wanted: Option<u64>,
) -> Result<Candidates<'a>> {
    let first_chunk = wanted.map_or(INDEX_CHUNK_FIRST, |w| {
        usize::try_from(w).map_or(INDEX_CHUNK_FIRST, |w| w.clamp(1, INDEX_CHUNK_FIRST))
    });
    match &plan.access {
        Access::CollScan => {
            let it = kv
                .range(docs_table, Bound::Unbounded, Bound::Unbounded, false)
                .map_err(storage_error)?;
            Ok(Box::new(it.map(|r| r.map_err(storage_error))))
        }
        Access::IdPoint { ids, .. } => {
            // The ids are sorted: one getter walks forward through the table.
            let mut docs = kv.getter(docs_table).map_err(storage_error)?;
            let ids = ids.clone();
            Ok(Box::new(ids.into_iter().filter_map(
                move |id| match docs.get(&id) {
                    Ok(Some(doc)) => Some(Ok((id, doc))),
                    Ok(None) => None,
                    Err(e) => Some(Err(storage_error(e))),
                },
            )))
        }
        Access::IndexScan(scan) => Ok(Box::new(RangeScan {
            kv,
            pks: VecDeque::new(),
            open: None,
            chunk: first_chunk,
            first_chunk,
            table: if scan.primary {
                docs_table
            } else {
                &scan.table
            },
            docs_table,
            docs: None,
            primary: scan.primary,
            reverse: scan.reverse,
            ranges: &scan.ranges,
            next_range: 0,
            current: None,
            seen: scan.dedupe.then(HashSet::new),
            failed: false,
        })),
    }
}

/// Index entries read by the first read of an index range when the caller does not say how
/// many it wants (see [`execute_expecting`]); each further read of the same range reads twice
/// as many, up to [`INDEX_CHUNK_MAX`] (a caller that stops early has read few entries; a long
/// range is read in few calls).
pub const INDEX_CHUNK_FIRST: usize = 16;

/// The most index entries read at once.
pub const INDEX_CHUNK_MAX: usize = 1024;

/// Lazy scan over a list of key ranges.
struct RangeScan<'a> {
    kv: &'a dyn KvRead,
    /// Secondary index: primary keys read from the open range, not yet handed out.
    pks: VecDeque<Vec<u8>>,
    /// Secondary index: the range being read and the key its next read resumes after
    /// (`None`: from its start).
    open: Option<(&'a KeyRange, Option<Vec<u8>>)>,
    /// Secondary index: entries to read by the next read of the open range.
    chunk: usize,
    /// Secondary index: entries read by the first read of each range.
    first_chunk: usize,
    table: &'a str,
    docs_table: &'a str,
    /// Reads the documents behind the index entries (opened on the first entry); the entries
    /// of one index key come in primary-key order, so it mostly walks forward.
    docs: Option<Box<dyn KvGetter + 'a>>,
    primary: bool,
    reverse: bool,
    /// The plan's key ranges (ascending; a backward scan takes them from the end).
    ranges: &'a [KeyRange],
    /// How many of `ranges` have been opened.
    next_range: usize,
    current: Option<KvIter<'a>>,
    seen: Option<HashSet<Vec<u8>>>,
    failed: bool,
}

impl<'a> RangeScan<'a> {
    /// The next range to open, if any.
    fn pop_range(&mut self) -> Option<&'a KeyRange> {
        let at = if self.reverse {
            self.ranges.len().checked_sub(self.next_range + 1)?
        } else {
            self.next_range
        };
        let r = self.ranges.get(at)?;
        self.next_range += 1;
        Some(r)
    }

    /// The next primary key of a secondary index scan, in index order. Entries are read a
    /// chunk at a time (without copying their keys); the multikey marker is skipped.
    fn next_pk(&mut self) -> Option<Result<Vec<u8>>> {
        loop {
            if let Some(pk) = self.pks.pop_front() {
                return Some(Ok(pk));
            }
            if self.open.is_none() {
                let r = self.pop_range()?;
                if r.is_empty() {
                    continue;
                }
                self.open = Some((r, None));
                self.chunk = self.first_chunk;
            }
            let (r, resume) = self.open.as_ref()?;
            let (lo, hi) = match (resume.as_deref(), self.reverse) {
                (Some(k), false) => (Bound::Excluded(k), as_bound(&r.hi)),
                (Some(k), true) => (as_bound(&r.lo), Bound::Excluded(k)),
                (None, _) => (as_bound(&r.lo), as_bound(&r.hi)),
            };
            let want = self.chunk;
            let mut read = 0;
            let mut last: Option<Vec<u8>> = None;
            let pks = &mut self.pks;
            pks.reserve(want);
            let scanned = self.kv.scan(self.table, lo, hi, self.reverse, &mut |k, v| {
                read += 1;
                // The empty key is the multikey marker, not an entry.
                if !k.is_empty() {
                    pks.push_back(v.to_vec());
                }
                if read == want {
                    last = Some(k.to_vec());
                    return false;
                }
                true
            });
            if let Err(e) = scanned {
                return Some(Err(storage_error(e)));
            }
            match last {
                // A full chunk: the range may go on after its last key.
                Some(k) => {
                    self.open = self.open.take().map(|(r, _)| (r, Some(k)));
                    self.chunk = (self.chunk * 2).min(INDEX_CHUNK_MAX);
                }
                None => self.open = None,
            }
        }
    }

    fn next_entry(&mut self) -> Option<Result<(Vec<u8>, Vec<u8>)>> {
        loop {
            if let Some(it) = &mut self.current {
                match it.next() {
                    Some(Ok(pair)) => return Some(Ok(pair)),
                    Some(Err(e)) => return Some(Err(storage_error(e))),
                    None => self.current = None,
                }
            }
            let r = self.pop_range()?;
            if r.is_empty() {
                continue;
            }
            match self
                .kv
                .range(self.table, as_bound(&r.lo), as_bound(&r.hi), self.reverse)
            {
                Ok(it) => self.current = Some(it),
                Err(e) => return Some(Err(storage_error(e))),
            }
        }
    }
}

impl Iterator for RangeScan<'_> {
    type Item = Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        if self.primary {
            let entry = self.next_entry()?;
            self.failed = entry.is_err();
            return Some(entry);
        }
        loop {
            let pk = match self.next_pk()? {
                Ok(pk) => pk,
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            };
            if let Some(seen) = &mut self.seen
                && !seen.insert(pk.clone())
            {
                continue;
            }
            let docs = match &mut self.docs {
                Some(d) => d,
                None => match self.kv.getter(self.docs_table) {
                    Ok(d) => self.docs.insert(d),
                    Err(e) => {
                        self.failed = true;
                        return Some(Err(storage_error(e)));
                    }
                },
            };
            return match docs.get(&pk) {
                Ok(Some(doc)) => Some(Ok((pk, doc))),
                Ok(None) => {
                    self.failed = true;
                    Some(Err(QueryError::new(
                        MongoCode::InternalError,
                        format!(
                            "index table {} has an entry for a document missing from {}",
                            self.table, self.docs_table
                        ),
                    )))
                }
                Err(e) => {
                    self.failed = true;
                    Some(Err(storage_error(e)))
                }
            };
        }
    }
}
