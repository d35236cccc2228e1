//! Write commands: `insert`, `update`, `delete`, `findAndModify`.
//!
//! Invariants: statements run in order on one blocking thread; a failing statement becomes a
//! `writeErrors` entry `{index, code, codeName, errmsg}` (the command itself still answers
//! `ok: 1`), and with `ordered: true` (the default) the remaining statements are skipped.
//! `writeConcern` is accepted and ignored (every write is durable when acknowledged).

use std::sync::atomic::Ordering;

use bson::{Bson, Document, doc};
use stratus_docstore::crud::let_vars::{bind_filter, bind_update};
use stratus_docstore::{DocstoreError, FindAndModifyOptions, ReturnDocument, UpdateOptions};

use super::args::{docs_of, opt_bool, opt_doc, refuse_unsupported, req_array};
use super::{CmdResult, Ctx};
use crate::wire::MAX_WRITE_BATCH_SIZE;
use crate::wire::error::CommandError;

fn write_error(index: usize, e: &CommandError) -> Bson {
    Bson::Document(doc! {
        "index": index as i32,
        "code": e.code,
        "codeName": &e.code_name,
        "errmsg": &e.message,
    })
}

fn check_batch(n: usize, cmd: &str) -> Result<(), CommandError> {
    if n > MAX_WRITE_BATCH_SIZE {
        return Err(CommandError::invalid_options(format!(
            "{cmd}: write batch sizes must be between 1 and {MAX_WRITE_BATCH_SIZE}. Got {n} operations."
        )));
    }
    Ok(())
}

/// `insert`.
pub(super) async fn insert(ctx: &Ctx<'_>) -> CmdResult {
    let coll = ctx.collection()?;
    let docs = docs_of(
        req_array(ctx.body, "insert", "documents")?,
        "insert",
        "documents",
    )?;
    check_batch(docs.len(), "insert")?;
    let ordered = opt_bool(ctx.body, "insert", "ordered")?.unwrap_or(true);
    // No thread waits for the group commit: the store's writer completes the future.
    let result = ctx
        .state
        .shared
        .store
        .insert_many_pending(&ctx.db, &coll, docs, ordered)
        .await?;
    let n = result.inserted_ids.len();
    ctx.state
        .shared
        .counters
        .insert
        .fetch_add(n as u64, Ordering::Relaxed);
    let mut reply = doc! {"n": n as i32};
    if !result.write_errors.is_empty() {
        let errors: Vec<Bson> = result
            .write_errors
            .iter()
            .map(|w| {
                Bson::Document(doc! {
                    "index": w.index as i32,
                    "code": w.code,
                    "codeName": &w.code_name,
                    "errmsg": &w.message,
                })
            })
            .collect();
        reply.insert("writeErrors", errors);
    }
    Ok(reply)
}

fn is_replacement(u: &Bson) -> bool {
    match u {
        Bson::Document(d) => d.keys().next().is_none_or(|k| !k.starts_with('$')),
        _ => false,
    }
}

/// One parsed `updates` statement.
struct UpdateStmt {
    q: Document,
    u: Bson,
    multi: bool,
    options: UpdateOptions,
}

fn parse_update_stmt(d: &Document) -> Result<UpdateStmt, CommandError> {
    refuse_unsupported(d, "update.updates", true)?;
    let q = opt_doc(d, "update.updates", "q")?.unwrap_or_default();
    let u = d
        .get("u")
        .cloned()
        .ok_or_else(|| CommandError::missing_field("update.updates", "u"))?;
    if !matches!(u, Bson::Document(_) | Bson::Array(_)) {
        return Err(CommandError::failed_to_parse(
            "Update argument must be either an object or an array",
        ));
    }
    let multi = opt_bool(d, "update.updates", "multi")?.unwrap_or(false);
    if multi && is_replacement(&u) {
        return Err(CommandError::failed_to_parse(
            "multi update is not supported for replacement-style update",
        ));
    }
    let array_filters = match d.get("arrayFilters") {
        None | Some(Bson::Null) => None,
        Some(Bson::Array(a)) => Some(docs_of(a, "update.updates", "arrayFilters")?),
        Some(_) => {
            return Err(CommandError::type_mismatch(
                "BSON field 'update.updates.arrayFilters' must be an array",
            ));
        }
    };
    Ok(UpdateStmt {
        q,
        u,
        multi,
        options: UpdateOptions {
            upsert: opt_bool(d, "update.updates", "upsert")?.unwrap_or(false),
            array_filters,
            sort: opt_doc(d, "update.updates", "sort")?,
            hint: d.get("hint").filter(|h| !matches!(h, Bson::Null)).cloned(),
        },
    })
}

/// A replacement with `sort` (the store's `replace_one` has none): done as
/// find-one-and-replace with the sort; `modified` compares the before and after documents.
fn replace_sorted(
    s: &stratus_docstore::Store,
    db: &str,
    coll: &str,
    q: Document,
    rep: Document,
    sort: Document,
    options: UpdateOptions,
) -> Result<stratus_docstore::UpdateResult, CommandError> {
    let fam = FindAndModifyOptions {
        sort: Some(sort),
        upsert: options.upsert,
        return_document: ReturnDocument::Before,
        hint: options.hint,
        ..Default::default()
    };
    let before = s.find_one_and_replace(db, coll, q, rep.clone(), fam)?;
    Ok(match before {
        Some(b) => {
            let mut after = rep;
            if let Some(id) = b.get("_id") {
                after.insert("_id", id.clone());
            }
            let changed = b.iter().ne(after.iter()) || b.len() != after.len();
            stratus_docstore::UpdateResult {
                matched: 1,
                modified: u64::from(changed),
                upserted_id: None,
            }
        }
        None if options.upsert => stratus_docstore::UpdateResult {
            matched: 0,
            modified: 0,
            upserted_id: rep.get("_id").cloned(),
        },
        None => stratus_docstore::UpdateResult::default(),
    })
}

/// `update`.
pub(super) async fn update(ctx: &Ctx<'_>) -> CmdResult {
    let coll = ctx.collection()?;
    refuse_unsupported(ctx.body, "update", true)?;
    let let_vars = opt_doc(ctx.body, "update", "let")?.unwrap_or_default();
    let stmts = docs_of(
        req_array(ctx.body, "update", "updates")?,
        "update",
        "updates",
    )?;
    check_batch(stmts.len(), "update")?;
    ctx.state
        .shared
        .counters
        .update
        .fetch_add(stmts.len() as u64, Ordering::Relaxed);
    let ordered = opt_bool(ctx.body, "update", "ordered")?.unwrap_or(true);
    let db = ctx.db.clone();
    ctx.blocking(move |s| {
        let (mut n, mut modified) = (0i64, 0i64);
        let mut upserted = Vec::new();
        let mut errors = Vec::new();
        for (index, raw) in stmts.iter().enumerate() {
            let run = || -> Result<stratus_docstore::UpdateResult, CommandError> {
                let mut st = parse_update_stmt(raw)?;
                st.q = bind_filter(&st.q, &let_vars);
                st.u = bind_update(&st.u, &let_vars);
                let r = if is_replacement(&st.u) {
                    let Bson::Document(rep) = st.u else {
                        return Err(CommandError::internal("replacement is a document"));
                    };
                    match st.options.sort.take() {
                        Some(sort) => replace_sorted(s, &db, &coll, st.q, rep, sort, st.options)?,
                        None => s.replace_one(&db, &coll, st.q, rep, st.options.upsert)?,
                    }
                } else if st.multi {
                    s.update_many(&db, &coll, st.q, &st.u, st.options)?
                } else {
                    s.update_one(&db, &coll, st.q, &st.u, st.options)?
                };
                Ok(r)
            };
            match run() {
                Ok(r) => {
                    n += r.matched as i64;
                    modified += r.modified as i64;
                    if let Some(id) = r.upserted_id {
                        n += 1;
                        upserted.push(Bson::Document(doc! {"index": index as i32, "_id": id}));
                    }
                }
                Err(e) => {
                    errors.push(write_error(index, &e));
                    if ordered {
                        break;
                    }
                }
            }
        }
        let mut reply = doc! {"n": n as i32, "nModified": modified as i32};
        if !upserted.is_empty() {
            reply.insert("upserted", upserted);
        }
        if !errors.is_empty() {
            reply.insert("writeErrors", errors);
        }
        Ok(reply)
    })
    .await
}

/// `delete`.
pub(super) async fn delete(ctx: &Ctx<'_>) -> CmdResult {
    let coll = ctx.collection()?;
    refuse_unsupported(ctx.body, "delete", true)?;
    let let_vars = opt_doc(ctx.body, "delete", "let")?.unwrap_or_default();
    let stmts = docs_of(
        req_array(ctx.body, "delete", "deletes")?,
        "delete",
        "deletes",
    )?;
    check_batch(stmts.len(), "delete")?;
    ctx.state
        .shared
        .counters
        .delete
        .fetch_add(stmts.len() as u64, Ordering::Relaxed);
    let ordered = opt_bool(ctx.body, "delete", "ordered")?.unwrap_or(true);
    let db = ctx.db.clone();
    ctx.blocking(move |s| {
        let mut n = 0i64;
        let mut errors = Vec::new();
        for (index, raw) in stmts.iter().enumerate() {
            let run = || -> Result<u64, CommandError> {
                refuse_unsupported(raw, "delete.deletes", true)?;
                let q = opt_doc(raw, "delete.deletes", "q")?
                    .ok_or_else(|| CommandError::missing_field("delete.deletes", "q"))?;
                let q = bind_filter(&q, &let_vars);
                let limit = super::args::opt_i64(raw, "delete.deletes", "limit")?
                    .ok_or_else(|| CommandError::missing_field("delete.deletes", "limit"))?;
                match limit {
                    0 => Ok(s.delete_many(&db, &coll, q)?),
                    1 => Ok(s.delete_one(&db, &coll, q)?),
                    other => Err(CommandError::failed_to_parse(format!(
                        "The limit field in delete objects must be 0 or 1. Got {other}"
                    ))),
                }
            };
            match run() {
                Ok(k) => n += k as i64,
                Err(e) => {
                    errors.push(write_error(index, &e));
                    if ordered {
                        break;
                    }
                }
            }
        }
        let mut reply = doc! {"n": n as i32};
        if !errors.is_empty() {
            reply.insert("writeErrors", errors);
        }
        Ok(reply)
    })
    .await
}

/// `findAndModify`.
pub(super) async fn find_and_modify(ctx: &Ctx<'_>) -> CmdResult {
    let cmd = "findAndModify";
    let coll = ctx.collection()?;
    refuse_unsupported(ctx.body, cmd, true)?;
    let let_vars = opt_doc(ctx.body, cmd, "let")?.unwrap_or_default();
    let query = bind_filter(
        &opt_doc(ctx.body, cmd, "query")?.unwrap_or_default(),
        &let_vars,
    );
    let remove = opt_bool(ctx.body, cmd, "remove")?.unwrap_or(false);
    let update = ctx
        .body
        .get("update")
        .filter(|u| !matches!(u, Bson::Null))
        .map(|u| bind_update(u, &let_vars));
    let upsert = opt_bool(ctx.body, cmd, "upsert")?.unwrap_or(false);
    let new = opt_bool(ctx.body, cmd, "new")?.unwrap_or(false);
    match (&update, remove) {
        (Some(_), true) => {
            return Err(CommandError::failed_to_parse(
                "Cannot specify both an update and remove=true",
            ));
        }
        (None, false) => {
            return Err(CommandError::failed_to_parse(
                "Either an update or remove=true must be specified",
            ));
        }
        _ => {}
    }
    if remove && (upsert || new) {
        return Err(CommandError::failed_to_parse(
            "Cannot specify both upsert=true and remove=true, or new=true and remove=true",
        ));
    }
    let array_filters = match ctx.body.get("arrayFilters") {
        None | Some(Bson::Null) => None,
        Some(Bson::Array(a)) => Some(docs_of(a, cmd, "arrayFilters")?),
        Some(_) => return Err(CommandError::type_mismatch("arrayFilters must be an array")),
    };
    let options = FindAndModifyOptions {
        sort: opt_doc(ctx.body, cmd, "sort")?,
        projection: opt_doc(ctx.body, cmd, "fields")?,
        upsert,
        return_document: if new {
            ReturnDocument::After
        } else {
            ReturnDocument::Before
        },
        array_filters,
        hint: ctx
            .body
            .get("hint")
            .filter(|h| !matches!(h, Bson::Null))
            .cloned(),
    };
    let db = ctx.db.clone();
    ctx.blocking(move |s| {
        if remove {
            let value = s.find_one_and_delete(&db, &coll, query, options)?;
            let n = i32::from(value.is_some());
            return Ok(doc! {"lastErrorObject": {"n": n}, "value": value.map_or(Bson::Null, Bson::Document)});
        }
        let Some(update) = update else {
            return Err(CommandError::internal("update checked above"));
        };
        // Whether something matched decides updatedExisting (checked first; a concurrent
        // writer between the two calls can make this flag stale).
        let existed = !upsert || s.count_documents(&db, &coll, &query, 0, 1)? > 0;
        let value = if is_replacement(&update) {
            let Bson::Document(rep) = update else {
                return Err(CommandError::internal("replacement is a document"));
            };
            s.find_one_and_replace(&db, &coll, query, rep, options)
        } else {
            s.find_one_and_update(&db, &coll, query, &update, options)
        }
        .map_err(|e: DocstoreError| CommandError::from(e))?;
        let mut leo = doc! {};
        if existed {
            leo.insert("n", i32::from(value.is_some()));
            leo.insert("updatedExisting", value.is_some());
        } else {
            leo.insert("n", 1);
            leo.insert("updatedExisting", false);
            if let Some(id) = value.as_ref().and_then(|v| v.get("_id")) {
                leo.insert("upserted", id.clone());
            }
        }
        Ok(doc! {"lastErrorObject": leo, "value": value.map_or(Bson::Null, Bson::Document)})
    })
    .await
}
