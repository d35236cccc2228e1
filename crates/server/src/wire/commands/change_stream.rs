//! `$changeStream` as the first stage of `aggregate`: a tailing cursor over the store's
//! change feed, filtered to one collection (or one database), resumable with the resume token
//! of any event (`resumeAfter` / `startAfter`).
//!
//! Invariants: the resume token is `{_data: "<16 hex digits of the feed seq>"}`; an event is
//! handed out at most once per cursor (events beyond the batch size wait in `pending`, and
//! `postBatchResumeToken` never moves past an event not yet returned); `getMore` waits at
//! most `maxAwaitTimeMS` ([`DEFAULT_MAX_AWAIT`] when absent) for new events.

use std::time::{Duration, Instant};

use bson::{Bson, Document, doc};
use stratus_docstore::{ChangeEvent, ChangeOp};
use stratus_query::filter::Filter;

use super::admin::cursor_reply;
use super::{CmdResult, Ctx};
use crate::wire::Connection;
use crate::wire::cursors::{ChangeCursor, CursorSource, ServerCursor};
use crate::wire::error::CommandError;

/// How long a change-stream `getMore` waits for events without `maxAwaitTimeMS`
/// (MongoDB's default).
pub const DEFAULT_MAX_AWAIT: Duration = Duration::from_secs(1);
/// Upper bound for `maxAwaitTimeMS` (a blocking thread is held that long).
pub const MAX_AWAIT_LIMIT: Duration = Duration::from_secs(60);

/// The resume token of feed position `seq`.
pub fn resume_token(seq: u64) -> Document {
    doc! {"_data": format!("{seq:016X}")}
}

/// The feed position a resume token stands for.
pub fn parse_resume_token(token: &Bson) -> Result<u64, CommandError> {
    let bad = || CommandError::new(260, "InvalidResumeToken", "invalid resume token");
    let d = token.as_document().ok_or_else(bad)?;
    let data = d.get_str("_data").map_err(|_| bad())?;
    u64::from_str_radix(data, 16).map_err(|_| bad())
}

fn event_document(e: &ChangeEvent, update_lookup: bool) -> Document {
    let mut d = doc! {
        "_id": resume_token(e.seq),
        "operationType": e.op.as_str(),
        "ns": if e.coll.is_empty() { doc! {"db": &e.db} } else { doc! {"db": &e.db, "coll": &e.coll} },
    };
    if let Some(k) = &e.document_key {
        d.insert("documentKey", k.clone());
    }
    let with_full = match e.op {
        ChangeOp::Insert | ChangeOp::Replace => true,
        ChangeOp::Update => update_lookup,
        _ => false,
    };
    if let (true, Some(f)) = (with_full, &e.full_document) {
        d.insert("fullDocument", f.clone());
    }
    if let Some((db, coll)) = &e.to {
        d.insert("to", doc! {"db": db, "coll": coll});
    }
    d
}

/// Opens a change stream (`aggregate` whose first stage is `$changeStream`).
pub(super) fn open(
    ctx: &Ctx<'_>,
    conn: &Connection,
    coll: Option<String>,
    pipeline: &[Bson],
    _requested: Option<u64>,
) -> CmdResult {
    let spec = pipeline
        .first()
        .and_then(Bson::as_document)
        .and_then(|d| d.get_document("$changeStream").ok())
        .ok_or_else(|| CommandError::type_mismatch("$changeStream must be an object"))?
        .clone();
    let mut start = None;
    for key in spec.keys() {
        match key.as_str() {
            "resumeAfter" | "startAfter" => {
                start = Some(parse_resume_token(spec.get(key).unwrap_or(&Bson::Null))?);
            }
            "fullDocument"
            | "fullDocumentBeforeChange"
            | "allChangesForCluster"
            | "showExpandedEvents" => {}
            other => {
                return Err(CommandError::not_supported(format!(
                    "$changeStream option '{other}' is not supported by Stratus"
                )));
            }
        }
    }
    let update_lookup = matches!(
        spec.get_str("fullDocument"),
        Ok("updateLookup" | "whenAvailable" | "required")
    );
    let mut filters = Vec::new();
    for stage in &pipeline[1..] {
        let d = stage
            .as_document()
            .ok_or_else(|| CommandError::type_mismatch("each pipeline stage must be an object"))?;
        match d.get_document("$match") {
            Ok(m) if d.len() == 1 => filters.push(Filter::parse(m)?),
            _ => {
                return Err(CommandError::not_supported(
                    "only $match stages may follow $changeStream in Stratus",
                ));
            }
        }
    }
    let db = ctx.db.clone();
    let store = ctx.state.shared.store.clone();
    let token = start.unwrap_or_else(|| store.last_change_seq());
    let ns = match &coll {
        Some(c) => format!("{db}.{c}"),
        None => format!("{db}.$cmd.aggregate"),
    };
    let cursor = ChangeCursor {
        subscription: store.subscribe(token),
        db,
        coll,
        update_lookup,
        filters,
        pending: Default::default(),
    };
    let id = ctx.state.shared.cursors.insert(ServerCursor::new(
        ns.clone(),
        conn.user.as_ref().map(|u| u.user.clone()),
        CursorSource::Change(cursor),
    ))?;
    let mut reply = cursor_reply(id, &ns, vec![], true);
    if let Ok(c) = reply.get_document_mut("cursor") {
        c.insert("postBatchResumeToken", resume_token(token));
    }
    Ok(reply)
}

/// The next batch of a change stream: waits up to `max_await_ms` for matching events.
/// Returns the cursor, the events and the `postBatchResumeToken`.
pub(super) async fn next_batch(
    ctx: &Ctx<'_>,
    mut c: ChangeCursor,
    n: usize,
    max_await_ms: Option<u64>,
) -> Result<(ChangeCursor, Vec<Document>, Document), CommandError> {
    let wait = max_await_ms
        .map_or(DEFAULT_MAX_AWAIT, Duration::from_millis)
        .min(MAX_AWAIT_LIMIT);
    ctx.blocking(move |_| {
        let deadline = Instant::now() + wait;
        while c.pending.is_empty() {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let events = c.subscription.next_batch(remaining)?;
            for e in &events {
                if e.db != c.db {
                    continue;
                }
                if c.coll.as_ref().is_some_and(|coll| &e.coll != coll) {
                    continue;
                }
                let d = event_document(e, c.update_lookup);
                if c.filters.iter().all(|f| f.matches(&d)) {
                    c.pending.push_back(d);
                }
            }
            if Instant::now() >= deadline {
                break;
            }
        }
        let take = n.min(c.pending.len());
        let batch: Vec<Document> = c.pending.drain(..take).collect();
        let token = match c.pending.front() {
            // Events remain: resume right after the last one returned.
            Some(_) => batch
                .last()
                .and_then(|d| d.get_document("_id").ok().cloned())
                .unwrap_or_else(|| resume_token(c.subscription.token())),
            None => resume_token(c.subscription.token()),
        };
        Ok((c, batch, token))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        for seq in [0u64, 1, 255, u64::MAX] {
            assert_eq!(
                parse_resume_token(&Bson::Document(resume_token(seq))).unwrap(),
                seq
            );
        }
        assert_eq!(parse_resume_token(&Bson::Int32(1)).unwrap_err().code, 260);
        assert!(parse_resume_token(&Bson::Document(doc! {"_data": "zz"})).is_err());
    }
}
