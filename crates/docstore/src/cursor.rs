//! Cursors: batches of query results read from one snapshot.
//!
//! A cursor keeps the read snapshot it was opened on, so it never sees writes committed after
//! it was opened (snapshot isolation) and never blocks the writer. Unsorted scans are lazy:
//! each [`Cursor::next_batch`] resumes the key range after the last key it returned and reads
//! only until the batch is full, so a huge result is never materialised. Results that must be
//! materialised anyway (sorted results, aggregation output) are held as a buffer.
//!
//! Documents stay the stored raw BSON bytes until they are handed out: [`Cursor::next_batch`]
//! decodes them into [`Document`]s, [`Cursor::next_batch_raw`] hands the bytes out as they are
//! (for callers that only re-encode them, like the wire protocol) unless a transform
//! (projection) needs the decoded document.

use std::collections::VecDeque;
use std::ops::Bound;

use bson::{Document, RawDocumentBuf};

use crate::crud::{Matcher, decode, raw_document};
use crate::error::Result;
use crate::kv::Snapshot;
use crate::limits::DEFAULT_BATCH_SIZE;

/// A per-document transformation applied to results (e.g. a projection).
pub type Transform = Box<dyn Fn(Document) -> Result<Document> + Send + Sync>;

enum Source {
    /// A lazy scan of a collection table.
    Scan {
        table: String,
        /// Resume after this key.
        after: Option<Vec<u8>>,
        matcher: Matcher,
        /// Matches still to skip.
        skip: u64,
        /// Matches still to return (`None` = unlimited).
        remaining: Option<u64>,
        done: bool,
    },
    /// Already computed results.
    Buffered(VecDeque<Document>),
    /// Stored documents already read (raw BSON, in order).
    Raw(VecDeque<Vec<u8>>),
    /// Primary keys of the results (already filtered, in order); documents are read from the
    /// snapshot batch by batch.
    Keys {
        table: String,
        pks: VecDeque<Vec<u8>>,
    },
}

/// A cursor over query results.
pub struct Cursor {
    snapshot: Option<Snapshot>,
    source: Source,
    batch_size: usize,
    transform: Option<Transform>,
    /// Documents of the current batch not yet handed out by the `Iterator` impl.
    pending: VecDeque<Document>,
    /// Table the raw documents come from (for corruption errors).
    table: String,
}

/// One result before it is handed out: stored bytes or an already decoded document.
enum Item {
    Raw(Vec<u8>),
    Doc(Document),
}

impl std::fmt::Debug for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cursor")
            .field("batch_size", &self.batch_size)
            .field("exhausted", &self.is_exhausted())
            .finish_non_exhaustive()
    }
}

impl Cursor {
    /// A lazy scan of `table` in `snapshot`, keeping documents that match.
    pub(crate) fn scan(
        snapshot: Snapshot,
        table: String,
        matcher: Matcher,
        skip: u64,
        limit: Option<u64>,
        batch_size: Option<usize>,
    ) -> Cursor {
        Cursor {
            table: table.clone(),
            snapshot: Some(snapshot),
            source: Source::Scan {
                table,
                after: None,
                matcher,
                skip,
                remaining: limit,
                done: limit == Some(0),
            },
            batch_size: normalize_batch(batch_size),
            transform: None,
            pending: VecDeque::new(),
        }
    }

    /// A cursor over the documents of `table` with primary keys `pks` (in this order), read
    /// lazily from `snapshot`.
    pub(crate) fn keys(
        snapshot: Snapshot,
        table: String,
        pks: Vec<Vec<u8>>,
        batch_size: Option<usize>,
    ) -> Cursor {
        Cursor {
            table: table.clone(),
            snapshot: Some(snapshot),
            source: Source::Keys {
                table,
                pks: pks.into(),
            },
            batch_size: normalize_batch(batch_size),
            transform: None,
            pending: VecDeque::new(),
        }
    }

    /// A cursor over already computed documents.
    pub fn from_documents(docs: Vec<Document>, batch_size: Option<usize>) -> Cursor {
        Cursor {
            table: String::new(),
            snapshot: None,
            source: Source::Buffered(docs.into()),
            batch_size: normalize_batch(batch_size),
            transform: None,
            pending: VecDeque::new(),
        }
    }

    /// A cursor over stored documents of `table` already read (raw BSON, in order); they are
    /// decoded only when handed out as [`Document`]s.
    pub(crate) fn from_raw(table: String, docs: Vec<Vec<u8>>, batch_size: Option<usize>) -> Cursor {
        Cursor {
            table,
            snapshot: None,
            source: Source::Raw(docs.into()),
            batch_size: normalize_batch(batch_size),
            transform: None,
            pending: VecDeque::new(),
        }
    }

    /// Applies `t` to every document this cursor returns.
    pub fn with_transform(mut self, t: Transform) -> Cursor {
        self.transform = Some(t);
        self
    }

    /// Documents per batch.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Whether no more documents can come.
    pub fn is_exhausted(&self) -> bool {
        self.pending.is_empty()
            && match &self.source {
                Source::Scan { done, .. } => *done,
                Source::Buffered(b) => b.is_empty(),
                Source::Raw(b) => b.is_empty(),
                Source::Keys { pks, .. } => pks.is_empty(),
            }
    }

    /// The next batch of up to `batch_size` documents (empty when exhausted).
    pub fn next_batch(&mut self) -> Result<Vec<Document>> {
        let n = self.batch_size;
        let mut out: Vec<Document> = Vec::with_capacity(n.min(1024));
        while out.len() < n {
            match self.pending.pop_front() {
                Some(d) => out.push(d),
                None => break,
            }
        }
        for item in self.fill(n - out.len())? {
            let d = match item {
                Item::Raw(raw) => decode(&self.table, &raw)?,
                Item::Doc(d) => d,
            };
            out.push(match &self.transform {
                Some(t) => t(d)?,
                None => d,
            });
        }
        Ok(out)
    }

    /// Like [`Cursor::next_batch`], but as raw BSON: stored documents are handed out as read,
    /// without decoding (unless a transform has to run on them).
    pub fn next_batch_raw(&mut self) -> Result<Vec<RawDocumentBuf>> {
        let n = self.batch_size;
        // Stored documents already read and nothing to transform: handed out as they are,
        // without an intermediate list.
        if self.pending.is_empty()
            && self.transform.is_none()
            && let Source::Raw(b) = &mut self.source
        {
            let take = n.min(b.len());
            let mut out = Vec::with_capacity(take);
            for raw in b.drain(..take) {
                out.push(raw_document(&self.table, raw)?);
            }
            return Ok(out);
        }
        let mut out: Vec<RawDocumentBuf> = Vec::with_capacity(n.min(1024));
        while out.len() < n {
            match self.pending.pop_front() {
                Some(d) => out.push(RawDocumentBuf::try_from(&d)?),
                None => break,
            }
        }
        for item in self.fill(n - out.len())? {
            let raw = match (item, &self.transform) {
                (Item::Raw(raw), None) => raw_document(&self.table, raw)?,
                (Item::Raw(raw), Some(t)) => {
                    RawDocumentBuf::try_from(&t(decode(&self.table, &raw)?)?)?
                }
                (Item::Doc(d), None) => RawDocumentBuf::try_from(&d)?,
                (Item::Doc(d), Some(t)) => RawDocumentBuf::try_from(&t(d)?)?,
            };
            out.push(raw);
        }
        Ok(out)
    }

    /// Reads up to `n` more documents from the source (before the transform).
    fn fill(&mut self, n: usize) -> Result<Vec<Item>> {
        let mut out = Vec::new();
        if n == 0 {
            return Ok(out);
        }
        match &mut self.source {
            Source::Buffered(b) => {
                let take = n.min(b.len());
                out.extend(b.drain(..take).map(Item::Doc));
            }
            Source::Raw(b) => {
                let take = n.min(b.len());
                out.extend(b.drain(..take).map(Item::Raw));
            }
            Source::Keys { table, pks } => {
                let Some(snapshot) = &self.snapshot else {
                    pks.clear();
                    return Ok(out);
                };
                // The keys are in result order, often ascending: one getter per batch walks
                // forward through the table where it can.
                let mut docs = snapshot.getter(table)?;
                while out.len() < n {
                    let Some(pk) = pks.pop_front() else { break };
                    // The snapshot is the one the keys were selected from: the document is there.
                    if let Some(raw) = docs.get(&pk)? {
                        out.push(Item::Raw(raw));
                    }
                }
            }
            Source::Scan {
                table,
                after,
                matcher,
                skip,
                remaining,
                done,
            } => {
                if *done {
                    return Ok(out);
                }
                let Some(snapshot) = &self.snapshot else {
                    *done = true;
                    return Ok(out);
                };
                let lo = match after {
                    Some(k) => Bound::Excluded(k.as_slice()),
                    None => Bound::Unbounded,
                };
                let mut any = false;
                let mut finished = true;
                let mut failed: Option<crate::error::DocstoreError> = None;
                let mut last_key: Vec<u8> = Vec::new();
                snapshot.scan(table, lo, Bound::Unbounded, false, &mut |k, v| {
                    last_key.clear();
                    last_key.extend_from_slice(k);
                    any = true;
                    match matcher.matches_raw(table, v) {
                        Ok(true) => {}
                        Ok(false) => return true,
                        Err(e) => {
                            failed = Some(e);
                            return false;
                        }
                    }
                    if *skip > 0 {
                        *skip -= 1;
                        return true;
                    }
                    out.push(Item::Raw(v.to_vec()));
                    if let Some(r) = remaining {
                        *r -= 1;
                        if *r == 0 {
                            return false;
                        }
                    }
                    if out.len() >= n {
                        finished = false;
                        return false;
                    }
                    true
                })?;
                if let Some(e) = failed {
                    return Err(e);
                }
                if remaining == &Some(0) {
                    finished = true;
                }
                if any {
                    *after = Some(last_key);
                }
                *done = finished;
            }
        }
        Ok(out)
    }

    /// Reads everything that is left.
    pub fn to_vec(mut self) -> Result<Vec<Document>> {
        let mut all = Vec::new();
        loop {
            let batch = self.next_batch()?;
            if batch.is_empty() {
                return Ok(all);
            }
            all.extend(batch);
        }
    }
}

impl Iterator for Cursor {
    type Item = Result<Document>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pending.is_empty() {
            match self.next_batch() {
                Ok(b) => self.pending.extend(b),
                Err(e) => return Some(Err(e)),
            }
        }
        self.pending.pop_front().map(Ok)
    }
}

fn normalize_batch(b: Option<usize>) -> usize {
    match b {
        Some(0) | None => DEFAULT_BATCH_SIZE,
        Some(n) => n,
    }
}
