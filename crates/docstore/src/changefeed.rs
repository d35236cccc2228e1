//! The change feed: an ordered, resumable log of every committed write.
//!
//! Each successful write operation appends [`ChangeEvent`]s to the `changes` table under a
//! sequence number (u64 BE key, strictly increasing, gap-free within the feed) in the same
//! transaction as the write itself, so an event exists exactly when its write is durable.
//! Followers (search indexes, change streams) read with [`changes_since`] from the last token
//! they processed and wait for new commits on a [`Notifier`].
//!
//! Retention: the writer keeps the newest `StoreOptions::change_retention` events, deleting
//! the oldest in the commits that record new ones (see `writer`); [`trim`] deletes more on
//! demand. Either way the feed stays one gap-free run of sequence numbers, the newest event
//! always survives, and a follower whose token falls before the oldest kept event gets
//! [`DocstoreError::ChangeHistoryLost`] instead of a silent gap.

use std::ops::Bound;
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use bson::{Bson, Document, doc};

use crate::error::{DocstoreError, Result};
use crate::kv::{KvRead, KvWrite};

/// Table of change events.
pub const CHANGES_TABLE: &str = "changes";

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeOp {
    /// A document was inserted (also an upsert that inserted).
    Insert,
    /// A document was modified by update operators.
    Update,
    /// A document was replaced by a replacement document.
    Replace,
    /// A document was deleted.
    Delete,
    /// A collection was dropped.
    Drop,
    /// A collection was renamed (to `ChangeEvent::to`).
    Rename,
    /// A database was dropped.
    DropDatabase,
}

impl ChangeOp {
    /// MongoDB's `operationType` string.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeOp::Insert => "insert",
            ChangeOp::Update => "update",
            ChangeOp::Replace => "replace",
            ChangeOp::Delete => "delete",
            ChangeOp::Drop => "drop",
            ChangeOp::Rename => "rename",
            ChangeOp::DropDatabase => "dropDatabase",
        }
    }

    fn parse(s: &str) -> Option<ChangeOp> {
        Some(match s {
            "insert" => ChangeOp::Insert,
            "update" => ChangeOp::Update,
            "replace" => ChangeOp::Replace,
            "delete" => ChangeOp::Delete,
            "drop" => ChangeOp::Drop,
            "rename" => ChangeOp::Rename,
            "dropDatabase" => ChangeOp::DropDatabase,
            _ => return None,
        })
    }
}

/// One committed change.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeEvent {
    /// Position in the feed; also the resume token (`changes_since(seq)` continues after it).
    pub seq: u64,
    /// What happened.
    pub op: ChangeOp,
    /// Database.
    pub db: String,
    /// Collection (empty for `DropDatabase`).
    pub coll: String,
    /// `{_id: …}` of the document, for document events.
    pub document_key: Option<Document>,
    /// The document after the change (insert/update/replace); `None` for deletes.
    pub full_document: Option<Document>,
    /// For renames: the new `(db, collection)`.
    pub to: Option<(String, String)>,
}

impl ChangeEvent {
    /// A document event (seq assigned at commit).
    pub fn document(op: ChangeOp, db: &str, coll: &str, id: &Bson, full: Option<Document>) -> Self {
        ChangeEvent {
            seq: 0,
            op,
            db: db.to_string(),
            coll: coll.to_string(),
            document_key: Some(doc! {"_id": id.clone()}),
            full_document: full,
            to: None,
        }
    }

    /// A collection/database event (seq assigned at commit).
    pub fn namespace(op: ChangeOp, db: &str, coll: &str, to: Option<(String, String)>) -> Self {
        ChangeEvent {
            seq: 0,
            op,
            db: db.to_string(),
            coll: coll.to_string(),
            document_key: None,
            full_document: None,
            to,
        }
    }

    /// The event as a change-stream-like document.
    pub fn to_document(&self) -> Document {
        self.clone().into_document()
    }

    /// Like [`ChangeEvent::to_document`], consuming the event (no copy of the document).
    pub fn into_document(self) -> Document {
        let mut d = doc! {
            "seq": self.seq as i64,
            "operationType": self.op.as_str(),
            "ns": {"db": &self.db, "coll": &self.coll},
        };
        if let Some(k) = self.document_key {
            d.insert("documentKey", k);
        }
        if let Some(f) = self.full_document {
            d.insert("fullDocument", f);
        }
        if let Some((db, coll)) = self.to {
            d.insert("to", doc! {"db": db, "coll": coll});
        }
        d
    }

    fn from_document(d: &Document) -> Result<ChangeEvent> {
        let corrupt = |detail: &str| DocstoreError::Corrupt {
            table: CHANGES_TABLE.to_string(),
            detail: detail.to_string(),
        };
        let ns = d.get_document("ns").map_err(|_| corrupt("missing ns"))?;
        let op = d
            .get_str("operationType")
            .ok()
            .and_then(ChangeOp::parse)
            .ok_or_else(|| corrupt("bad operationType"))?;
        let to = match d.get_document("to") {
            Ok(t) => Some((
                t.get_str("db")
                    .map_err(|_| corrupt("bad to.db"))?
                    .to_string(),
                t.get_str("coll")
                    .map_err(|_| corrupt("bad to.coll"))?
                    .to_string(),
            )),
            Err(_) => None,
        };
        Ok(ChangeEvent {
            seq: d.get_i64("seq").map_err(|_| corrupt("missing seq"))? as u64,
            op,
            db: ns
                .get_str("db")
                .map_err(|_| corrupt("bad ns.db"))?
                .to_string(),
            coll: ns
                .get_str("coll")
                .map_err(|_| corrupt("bad ns.coll"))?
                .to_string(),
            document_key: d.get_document("documentKey").ok().cloned(),
            full_document: d.get_document("fullDocument").ok().cloned(),
            to,
        })
    }
}

/// The sequence number of the last event in the feed (0 when empty).
pub fn last_seq(kv: &dyn KvRead) -> Result<u64> {
    let mut it = kv.range(CHANGES_TABLE, Bound::Unbounded, Bound::Unbounded, true)?;
    match it.next() {
        None => Ok(0),
        Some(pair) => {
            let (k, _) = pair?;
            let b: [u8; 8] = k
                .as_slice()
                .try_into()
                .map_err(|_| DocstoreError::Corrupt {
                    table: CHANGES_TABLE.to_string(),
                    detail: "change key is not 8 bytes".to_string(),
                })?;
            Ok(u64::from_be_bytes(b))
        }
    }
}

/// Appends `event` under `event.seq`.
pub fn append(kv: &mut dyn KvWrite, event: &ChangeEvent) -> Result<()> {
    append_owned(kv, event.clone())
}

/// Appends `event` under `event.seq`, consuming it.
pub fn append_owned(kv: &mut dyn KvWrite, event: ChangeEvent) -> Result<()> {
    let key = event.seq.to_be_bytes();
    kv.put(CHANGES_TABLE, &key, &event.into_document().to_vec()?)?;
    Ok(())
}

/// The sequence number of the oldest retained event, if any.
pub fn first_seq(kv: &dyn KvRead) -> Result<Option<u64>> {
    let mut it = kv.range(CHANGES_TABLE, Bound::Unbounded, Bound::Unbounded, false)?;
    match it.next() {
        None => Ok(None),
        Some(pair) => {
            let (k, _) = pair?;
            let b: [u8; 8] = k
                .as_slice()
                .try_into()
                .map_err(|_| DocstoreError::Corrupt {
                    table: CHANGES_TABLE.to_string(),
                    detail: "change key is not 8 bytes".to_string(),
                })?;
            Ok(Some(u64::from_be_bytes(b)))
        }
    }
}

/// Deletes the events with `seq <= upto` (followers have consumed them); returns how many.
/// The newest event is always kept: it anchors the sequence (numbers are never reused after a
/// restart) and lets [`changes_since`] detect tokens from before the trim.
pub fn trim(kv: &mut dyn KvWrite, upto: u64) -> Result<u64> {
    let upto = upto.min(last_seq(kv)?.saturating_sub(1));
    if upto == 0 {
        return Ok(0);
    }
    let hi = upto.to_be_bytes();
    let keys: Vec<Vec<u8>> = kv
        .range(CHANGES_TABLE, Bound::Unbounded, Bound::Included(&hi), false)?
        .map(|p| p.map(|(k, _)| k))
        .collect::<std::result::Result<_, _>>()?;
    for k in &keys {
        kv.delete(CHANGES_TABLE, k)?;
    }
    Ok(keys.len() as u64)
}

/// Up to `limit` events with `seq > after`, in order. Fails with
/// [`DocstoreError::ChangeHistoryLost`] when events after `after` were already trimmed.
pub fn changes_since(kv: &dyn KvRead, after: u64, limit: usize) -> Result<Vec<ChangeEvent>> {
    if let Some(first) = first_seq(kv)?
        && first > after + 1
    {
        return Err(DocstoreError::ChangeHistoryLost {
            token: after,
            oldest: first,
        });
    }
    let lo = after.to_be_bytes();
    let mut out = Vec::new();
    for pair in kv.range(CHANGES_TABLE, Bound::Excluded(&lo), Bound::Unbounded, false)? {
        if out.len() >= limit {
            break;
        }
        let (_, v) = pair?;
        out.push(ChangeEvent::from_document(&Document::from_reader(
            v.as_slice(),
        )?)?);
    }
    Ok(out)
}

/// Wakes followers when new events are committed.
#[derive(Debug, Default)]
pub struct Notifier {
    committed: Mutex<u64>,
    cv: Condvar,
}

impl Notifier {
    /// A notifier whose last committed sequence number is `seq`.
    pub fn new(seq: u64) -> Self {
        Notifier {
            committed: Mutex::new(seq),
            cv: Condvar::new(),
        }
    }

    /// Records that everything up to `seq` is committed and wakes all waiters.
    pub fn publish(&self, seq: u64) {
        let mut g = self.committed.lock().unwrap_or_else(|p| p.into_inner());
        if seq > *g {
            *g = seq;
        }
        drop(g);
        self.cv.notify_all();
    }

    /// The last committed sequence number.
    pub fn committed(&self) -> u64 {
        *self.committed.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Blocks until the committed sequence number exceeds `after` or `timeout` passes; returns
    /// the committed sequence number.
    pub fn wait_past(&self, after: u64, timeout: Duration) -> u64 {
        let g = self.committed.lock().unwrap_or_else(|p| p.into_inner());
        let (g, _) = self
            .cv
            .wait_timeout_while(g, timeout, |seq| *seq <= after)
            .unwrap_or_else(|p| p.into_inner());
        *g
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::MemoryKv;

    #[test]
    fn events_round_trip_in_order_and_resume() {
        let mut kv = MemoryKv::new();
        assert_eq!(last_seq(&kv).expect("seq"), 0);
        let mut e = ChangeEvent::document(
            ChangeOp::Insert,
            "db",
            "c",
            &Bson::Int32(1),
            Some(doc! {"_id": 1}),
        );
        for seq in 1..=5 {
            e.seq = seq;
            append(&mut kv, &e).expect("append");
        }
        let mut r =
            ChangeEvent::namespace(ChangeOp::Rename, "db", "c", Some(("db".into(), "d".into())));
        r.seq = 6;
        append(&mut kv, &r).expect("append");
        assert_eq!(last_seq(&kv).expect("seq"), 6);
        let first = changes_since(&kv, 0, 2).expect("since");
        assert_eq!(first.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2]);
        let rest = changes_since(&kv, 2, 100).expect("since");
        assert_eq!(
            rest.iter().map(|e| e.seq).collect::<Vec<_>>(),
            vec![3, 4, 5, 6]
        );
        assert_eq!(rest[3], r);
        assert_eq!(rest[0].full_document, Some(doc! {"_id": 1}));
        assert_eq!(trim(&mut kv, 3).expect("trim"), 3);
        // The newest event survives any trim.
        let mut copy = kv.clone();
        assert_eq!(trim(&mut copy, 100).expect("trim"), 2);
        assert_eq!(first_seq(&copy).expect("first"), Some(6));
        assert_eq!(first_seq(&kv).expect("first"), Some(4));
        assert_eq!(changes_since(&kv, 3, 10).expect("since").len(), 3);
        assert!(matches!(
            changes_since(&kv, 1, 10),
            Err(DocstoreError::ChangeHistoryLost {
                token: 1,
                oldest: 4
            })
        ));
    }

    #[test]
    fn notifier_wakes_waiters() {
        let n = std::sync::Arc::new(Notifier::new(3));
        let n2 = n.clone();
        let h = std::thread::spawn(move || n2.wait_past(3, Duration::from_secs(10)));
        std::thread::sleep(Duration::from_millis(20));
        n.publish(4);
        assert_eq!(h.join().expect("join"), 4);
        assert_eq!(n.wait_past(10, Duration::from_millis(5)), 4);
    }
}
