//! Read commands: `find`, `getMore`, `killCursors`, `aggregate` (with `$changeStream`
//! delegated to [`super::change_stream`]), `count`, `distinct`, `explain`.
//!
//! Invariants: a cursor is registered only when documents may remain (otherwise id 0);
//! `getMore`/`killCursors` only touch cursors opened by the same user on the same namespace
//! (else Unauthorized 13); a cursor is checked out for the duration of a `getMore`. Query
//! results travel as the raw BSON the store holds ([`CursorReply`]); only a `find` that
//! [`is_bounded_find`] runs on the async worker, everything else on a blocking thread.

use bson::{Bson, Document, RawDocumentBuf, doc};
use stratus_docstore::crud::let_vars::bind_filter;
use stratus_docstore::{AggregateOptions, Cursor, FindOptions};

use super::admin::cursor_reply;
use super::args::{
    cursor_batch_size, opt_bool, opt_doc, opt_i64, opt_str, opt_u64, refuse_unsupported, req_array,
};
use super::{CmdResult, Ctx, change_stream};
use crate::wire::Connection;
use crate::wire::cursors::{CursorSource, DEFAULT_FIRST_BATCH, QueryCursor, ServerCursor};
use crate::wire::error::CommandError;
use crate::wire::reply::{CursorReply, Reply};

fn owner(conn: &Connection) -> Option<String> {
    conn.user.as_ref().map(|u| u.user.clone())
}

/// A query cursor's reply.
fn cursor_batch(id: i64, ns: String, batch: Vec<RawDocumentBuf>, first: bool) -> Reply {
    Reply::Cursor(CursorReply {
        id,
        ns,
        first,
        batch,
        post_batch_resume_token: None,
    })
}

/// Opens a cursor with `open` and takes its first batch in the same store call (at most one
/// thread hop per command; none when `inline`), registering the cursor when more may follow.
pub(super) async fn first_batch<F>(
    ctx: &Ctx<'_>,
    conn: &Connection,
    ns: String,
    open: F,
    n: usize,
    single_batch: bool,
    inline: bool,
) -> Result<Reply, CommandError>
where
    F: FnOnce(&stratus_docstore::Store) -> Result<Cursor, CommandError> + Send + 'static,
{
    let (q, batch) = ctx
        .store_call(inline, move |s| {
            let mut q = QueryCursor::new(open(s)?);
            let batch = q.take(n)?;
            Ok((q, batch))
        })
        .await?;
    let id = if single_batch || q.is_exhausted() {
        0
    } else {
        ctx.state.shared.cursors.insert(ServerCursor::new(
            ns.clone(),
            owner(conn),
            CursorSource::Query(q),
        ))?
    };
    Ok(cursor_batch(id, ns, batch, true))
}

/// Whether a `find` reads at most one document through the `_id` index, so its whole work
/// is a point lookup of a few microseconds: the filter is exactly `{_id: <value>}` with a
/// value the `_id` index matches by equality (not an operator document, regex, null, array
/// or undefined, which may match more or need a scan), and no sort or hint that could
/// change the plan. Such a find runs on the async worker instead of a blocking thread.
pub(crate) fn is_bounded_find(filter: &Document, sort: Option<&Document>, hint: bool) -> bool {
    if hint || sort.is_some_and(|s| !s.is_empty()) || filter.len() != 1 {
        return false;
    }
    match filter.get("_id") {
        None => false,
        Some(Bson::Document(d)) => d.keys().next().is_none_or(|k| !k.starts_with('$')),
        Some(Bson::RegularExpression(_) | Bson::Null | Bson::Array(_) | Bson::Undefined) => false,
        Some(_) => true,
    }
}

fn batch_size(n: Option<u64>) -> usize {
    n.map_or(DEFAULT_FIRST_BATCH, |n| {
        usize::try_from(n).unwrap_or(usize::MAX)
    })
}

/// `find`.
pub(super) async fn find(ctx: &Ctx<'_>, conn: &Connection) -> Result<Reply, CommandError> {
    let cmd = "find";
    let coll = ctx.collection()?;
    refuse_unsupported(ctx.body, cmd, true)?;
    let let_vars = opt_doc(ctx.body, cmd, "let")?.unwrap_or_default();
    let limit = opt_i64(ctx.body, cmd, "limit")?.unwrap_or(0);
    if limit < 0 {
        return Err(CommandError::bad_value(format!(
            "BSON field 'limit' value must be >= 0, actual value '{limit}'"
        )));
    }
    let requested = opt_u64(ctx.body, cmd, "batchSize")?;
    let single_batch = opt_bool(ctx.body, cmd, "singleBatch")?.unwrap_or(false);
    let filter = opt_doc(ctx.body, cmd, "filter")?.unwrap_or_default();
    let options = FindOptions {
        // Without `let` there is nothing to bind (and no copy to make).
        filter: if let_vars.is_empty() {
            filter
        } else {
            bind_filter(&filter, &let_vars)
        },
        projection: opt_doc(ctx.body, cmd, "projection")?,
        sort: opt_doc(ctx.body, cmd, "sort")?,
        skip: opt_u64(ctx.body, cmd, "skip")?.unwrap_or(0),
        limit,
        batch_size: Some(batch_size(requested).clamp(1, DEFAULT_FIRST_BATCH * 10)),
        hint: ctx
            .body
            .get("hint")
            .filter(|h| !matches!(h, Bson::Null))
            .cloned(),
    };
    let mut n = batch_size(requested);
    if limit > 0 {
        n = n.min(limit as usize);
    }
    let inline = is_bounded_find(
        &options.filter,
        options.sort.as_ref(),
        options.hint.is_some(),
    );
    let db = ctx.db.clone();
    let ns = format!("{db}.{coll}");
    let open = move |s: &stratus_docstore::Store| Ok(s.find(&db, &coll, options)?);
    first_batch(ctx, conn, ns, open, n, single_batch, inline).await
}

/// `getMore`.
pub(super) async fn get_more(ctx: &Ctx<'_>, conn: &Connection) -> Result<Reply, CommandError> {
    let cmd = "getMore";
    let id = match ctx.body.get("getMore") {
        Some(Bson::Int64(i)) => *i,
        Some(Bson::Int32(i)) => i64::from(*i),
        _ => {
            return Err(CommandError::type_mismatch(
                "BSON field 'getMore.getMore' is the wrong type, expected type 'long'",
            ));
        }
    };
    let coll = opt_str(ctx.body, cmd, "collection")?
        .ok_or_else(|| CommandError::missing_field(cmd, "collection"))?;
    let ns = format!("{}.{coll}", ctx.db);
    let n = opt_u64(ctx.body, cmd, "batchSize")?
        .filter(|n| *n > 0)
        .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
    let max_await = opt_u64(ctx.body, cmd, "maxAwaitTimeMS")?;
    let registry = &ctx.state.shared.cursors;
    let mut cursor = registry
        .check_out(id)
        .ok_or_else(|| CommandError::cursor_not_found(id))?;
    if cursor.ns != ns || cursor.owner != owner(conn) {
        let msg = if cursor.ns != ns {
            format!(
                "Requested getMore on namespace '{ns}', but cursor belongs to a different namespace {}",
                cursor.ns
            )
        } else {
            format!("cursor id {id} was not created by the authenticated user")
        };
        registry.put_back(id, cursor);
        return Err(CommandError::unauthorized(msg));
    }
    let placeholder = CursorSource::Query(QueryCursor::from_documents(Vec::new()));
    match std::mem::replace(&mut cursor.source, placeholder) {
        CursorSource::Query(mut q) => {
            let out = ctx
                .blocking(move |_| {
                    let batch = q.take(n);
                    Ok((q, batch))
                })
                .await;
            let (q, batch) = match out {
                Ok((q, Ok(batch))) => (q, batch),
                Ok((_, Err(e))) => return Err(CommandError::from(e)),
                Err(e) => return Err(e),
            };
            let returned_id = if q.is_exhausted() {
                0
            } else {
                cursor.source = CursorSource::Query(q);
                registry.put_back(id, cursor);
                id
            };
            Ok(cursor_batch(returned_id, ns, batch, false))
        }
        CursorSource::Change(c) => {
            let (c, batch, token) = change_stream::next_batch(ctx, c, n, max_await).await?;
            cursor.source = CursorSource::Change(c);
            registry.put_back(id, cursor);
            let mut reply = cursor_reply(id, &ns, batch, false);
            if let Ok(c) = reply.get_document_mut("cursor") {
                c.insert("postBatchResumeToken", token);
            }
            Ok(Reply::Doc(reply))
        }
    }
}

/// `killCursors`.
pub(super) fn kill_cursors(ctx: &Ctx<'_>, conn: &Connection) -> CmdResult {
    let coll = ctx.collection()?;
    let ns = format!("{}.{coll}", ctx.db);
    let ids = req_array(ctx.body, "killCursors", "cursors")?;
    let registry = &ctx.state.shared.cursors;
    let (mut killed, mut not_found) = (Vec::new(), Vec::new());
    for b in ids {
        let id = match b {
            Bson::Int64(i) => *i,
            Bson::Int32(i) => i64::from(*i),
            _ => {
                return Err(CommandError::type_mismatch(
                    "BSON field 'killCursors.cursors' must be an array of longs",
                ));
            }
        };
        match registry.peek(id) {
            Some((cns, cowner)) if cns == ns && cowner == owner(conn) => {
                registry.check_out(id);
                killed.push(Bson::Int64(id));
            }
            Some(_) => {
                return Err(CommandError::unauthorized(format!(
                    "not authorized to kill cursor {id}"
                )));
            }
            None => not_found.push(Bson::Int64(id)),
        }
    }
    Ok(doc! {
        "cursorsKilled": killed,
        "cursorsNotFound": not_found,
        "cursorsAlive": [],
        "cursorsUnknown": [],
    })
}

/// `aggregate` (cursor form; `$changeStream` as the first stage opens a change stream).
pub(super) async fn aggregate(ctx: &Ctx<'_>, conn: &Connection) -> Result<Reply, CommandError> {
    let cmd = "aggregate";
    let pipeline = req_array(ctx.body, cmd, "pipeline")?.clone();
    // Stages may name other databases ($lookup/$unionWith/$graphLookup from, $out, $merge):
    // each must be allowed to the user like the command's own database.
    if let Some(user) = &conn.user {
        for other in stratus_query::pipeline::namespaces::named_databases(&pipeline) {
            if !user.access.allows(&other) {
                return Err(CommandError::unauthorized(format!(
                    "not authorized on {other} to execute command {{ aggregate: ... }}"
                )));
            }
        }
    }
    refuse_unsupported(ctx.body, cmd, true)?;
    if opt_bool(ctx.body, cmd, "explain")?.unwrap_or(false) {
        return Err(CommandError::not_supported(
            "aggregate with explain: true is not supported; use the explain command on find",
        ));
    }
    if ctx.body.get("cursor").is_none() {
        return Err(CommandError::failed_to_parse(
            "The 'cursor' option is required, except for aggregate with the explain argument",
        ));
    }
    let requested = cursor_batch_size(ctx.body, cmd)?;
    let is_change_stream = pipeline
        .first()
        .and_then(Bson::as_document)
        .is_some_and(|d| d.contains_key("$changeStream"));
    let coll = match ctx.body.get("aggregate") {
        Some(Bson::String(s)) => Some(s.clone()),
        _ if is_change_stream => None,
        Some(Bson::Int32(1)) | Some(Bson::Int64(1)) | Some(Bson::Double(1.0)) => {
            return Err(CommandError::not_supported(
                "database-level aggregate (aggregate: 1) is not supported by Stratus",
            ));
        }
        _ => {
            return Err(CommandError::invalid_namespace(
                "aggregate needs a collection name",
            ));
        }
    };
    if is_change_stream {
        return change_stream::open(ctx, conn, coll, &pipeline, requested).map(Reply::Doc);
    }
    let coll = coll.ok_or_else(|| CommandError::internal("collection checked above"))?;
    let options = AggregateOptions {
        batch_size: Some(batch_size(requested).clamp(1, DEFAULT_FIRST_BATCH * 10)),
        let_vars: opt_doc(ctx.body, cmd, "let")?,
    };
    let db = ctx.db.clone();
    let ns = format!("{db}.{coll}");
    let open = move |s: &stratus_docstore::Store| Ok(s.aggregate(&db, &coll, &pipeline, options)?);
    first_batch(ctx, conn, ns, open, batch_size(requested), false, false).await
}

/// `count`.
pub(super) async fn count(ctx: &Ctx<'_>) -> CmdResult {
    let coll = ctx.collection()?;
    refuse_unsupported(ctx.body, "count", false)?;
    let query = opt_doc(ctx.body, "count", "query")?.unwrap_or_default();
    let skip = opt_i64(ctx.body, "count", "skip")?.unwrap_or(0);
    if skip < 0 {
        return Err(CommandError::bad_value(
            "skip value is negative in count query",
        ));
    }
    let limit = opt_i64(ctx.body, "count", "limit")?
        .unwrap_or(0)
        .unsigned_abs();
    let db = ctx.db.clone();
    let n = ctx
        .blocking(move |s| Ok(s.count_documents(&db, &coll, &query, skip as u64, limit)?))
        .await?;
    Ok(doc! {"n": n as i64})
}

/// `distinct`.
pub(super) async fn distinct(ctx: &Ctx<'_>) -> CmdResult {
    let coll = ctx.collection()?;
    refuse_unsupported(ctx.body, "distinct", false)?;
    let key = opt_str(ctx.body, "distinct", "key")?
        .ok_or_else(|| CommandError::missing_field("distinct", "key"))?
        .to_string();
    let query = opt_doc(ctx.body, "distinct", "query")?.unwrap_or_default();
    let db = ctx.db.clone();
    let values = ctx
        .blocking(move |s| Ok(s.distinct(&db, &coll, &key, &query)?))
        .await?;
    Ok(doc! {"values": values})
}

/// `explain` of `find`, `count`, `distinct`, `delete`, `update`, `findAndModify`, `aggregate`
/// (the plan of the filter/sort they would run).
pub(super) async fn explain(ctx: &Ctx<'_>) -> CmdResult {
    let inner = opt_doc(ctx.body, "explain", "explain")?
        .ok_or_else(|| CommandError::missing_field("explain", "explain"))?;
    let name = inner.keys().next().cloned().unwrap_or_default();
    let coll = match inner.get(&name) {
        Some(Bson::String(s)) => s.clone(),
        _ => {
            return Err(CommandError::invalid_namespace(
                "explain: collection name must be a string",
            ));
        }
    };
    let first = |arr: Option<&Bson>, key: &str| -> Option<Document> {
        match arr {
            Some(Bson::Array(a)) => a
                .first()
                .and_then(Bson::as_document)
                .and_then(|d| d.get_document(key).ok())
                .cloned(),
            _ => None,
        }
    };
    let (filter, sort) = match name.as_str() {
        "find" => (
            opt_doc(&inner, "find", "filter")?,
            opt_doc(&inner, "find", "sort")?,
        ),
        "count" | "distinct" | "findAndModify" => (
            opt_doc(&inner, &name, "query")?,
            opt_doc(&inner, &name, "sort")?,
        ),
        "delete" => (first(inner.get("deletes"), "q"), None),
        "update" => (first(inner.get("updates"), "q"), None),
        "aggregate" => (first(inner.get("pipeline"), "$match"), None),
        other => {
            return Err(CommandError::not_supported(format!(
                "explain of '{other}' is not supported"
            )));
        }
    };
    let filter = filter.unwrap_or_default();
    let db = ctx.db.clone();
    let ns = format!("{db}.{coll}");
    let winning = ctx
        .blocking(move |s| Ok(s.explain(&db, &coll, &filter, sort.as_ref())?))
        .await?;
    let mut plan = if winning.contains_key("queryPlanner") {
        winning
    } else {
        doc! {"queryPlanner": {"namespace": ns, "winningPlan": winning, "rejectedPlans": []}}
    };
    plan.insert("command", inner.clone());
    plan.insert(
        "serverInfo",
        doc! {"host": "stratus", "version": crate::wire::SERVER_VERSION},
    );
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::oid::ObjectId;
    use bson::{Regex, Timestamp};

    #[test]
    fn bounded_finds_are_single_id_equalities() {
        let oid = ObjectId::new();
        let regex = Bson::RegularExpression(Regex {
            pattern: "^a".to_string().try_into().unwrap(),
            options: String::new().try_into().unwrap(),
        });
        // (filter, sort, hint, bounded)
        let cases: Vec<(Document, Option<Document>, bool, bool)> = vec![
            (doc! {"_id": 1}, None, false, true),
            (doc! {"_id": "k"}, None, false, true),
            (doc! {"_id": oid}, None, false, true),
            (doc! {"_id": 1.5}, Some(doc! {}), false, true),
            (doc! {"_id": {"a": 1}}, None, false, true),
            (doc! {"_id": {}}, None, false, true),
            (
                doc! {"_id": Timestamp { time: 1, increment: 2 }},
                None,
                false,
                true,
            ),
            (doc! {"_id": 1}, Some(doc! {"x": 1}), false, false),
            (doc! {"_id": 1}, None, true, false),
            (doc! {"_id": {"$gt": 1}}, None, false, false),
            (doc! {"_id": {"$eq": 1}}, None, false, false),
            (doc! {"_id": {"$in": [1, 2]}}, None, false, false),
            (doc! {"_id": [1, 2]}, None, false, false),
            (doc! {"_id": Bson::Null}, None, false, false),
            (doc! {"_id": Bson::Undefined}, None, false, false),
            (doc! {"_id": regex}, None, false, false),
            (doc! {"_id": 1, "a": 2}, None, false, false),
            (doc! {"a": 1}, None, false, false),
            (doc! {}, None, false, false),
            (doc! {"$or": [{"_id": 1}]}, None, false, false),
        ];
        for (filter, sort, hint, want) in cases {
            assert_eq!(
                is_bounded_find(&filter, sort.as_ref(), hint),
                want,
                "{filter} sort {sort:?} hint {hint}"
            );
        }
    }
}
