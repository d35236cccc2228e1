//! Database and collection administration: `listDatabases`, `listCollections`, `create`,
//! `drop`, `dropDatabase`, `renameCollection`, `createIndexes`, `listIndexes`,
//! `dropIndexes`, `collStats`, `dbStats`.
//!
//! Invariants: `listDatabases` shows only databases the user may access; `renameCollection`
//! needs access to both namespaces; list commands answer in cursor form with every entry in
//! `firstBatch` (cursor id 0).

use bson::{Bson, Document, doc};
use stratus_docstore::index::IndexSpec;
use stratus_query::filter::Filter;

use super::args::{opt_bool, opt_doc, opt_str, req_array};
use super::{CmdResult, Ctx};
use crate::wire::Connection;
use crate::wire::error::CommandError;

/// A `{cursor: {id, ns, firstBatch|nextBatch}}` reply.
pub(crate) fn cursor_reply(id: i64, ns: &str, batch: Vec<Document>, first: bool) -> Document {
    let key = if first { "firstBatch" } else { "nextBatch" };
    let batch: Vec<Bson> = batch.into_iter().map(Bson::Document).collect();
    doc! {"cursor": {"id": id, "ns": ns, key: batch}}
}

/// `listDatabases` (filtered to the user's databases).
pub(super) async fn list_databases(ctx: &Ctx<'_>, conn: &Connection) -> CmdResult {
    let name_only = opt_bool(ctx.body, "listDatabases", "nameOnly")?.unwrap_or(false);
    let filter = opt_doc(ctx.body, "listDatabases", "filter")?
        .map(|f| Filter::parse(&f))
        .transpose()?;
    let access = conn
        .user
        .as_ref()
        .map(|u| u.access.clone())
        .ok_or_else(|| CommandError::unauthorized("listDatabases requires authentication"))?;
    let dbs = ctx.blocking(|s| Ok(s.list_databases()?)).await?;
    let mut out = Vec::new();
    let mut total: i64 = 0;
    for d in dbs.into_iter().filter(|d| access.allows(&d.name)) {
        let entry = if name_only {
            doc! {"name": &d.name}
        } else {
            doc! {"name": &d.name, "sizeOnDisk": d.size_on_disk as i64, "empty": d.empty}
        };
        if filter.as_ref().is_some_and(|f| !f.matches(&entry)) {
            continue;
        }
        total += d.size_on_disk as i64;
        out.push(Bson::Document(entry));
    }
    if name_only {
        return Ok(doc! {"databases": out});
    }
    Ok(doc! {"databases": out, "totalSize": total, "totalSizeMb": total / (1024 * 1024)})
}

/// `listCollections` (cursor form; `filter`, `nameOnly`).
pub(super) async fn list_collections(ctx: &Ctx<'_>) -> CmdResult {
    let name_only = opt_bool(ctx.body, "listCollections", "nameOnly")?.unwrap_or(false);
    let filter = opt_doc(ctx.body, "listCollections", "filter")?
        .map(|f| Filter::parse(&f))
        .transpose()?;
    let db = ctx.db.clone();
    let colls = ctx.blocking(move |s| Ok(s.list_collections(&db)?)).await?;
    let mut out = Vec::new();
    for c in colls {
        let entry = if name_only {
            doc! {"name": &c.name, "type": "collection"}
        } else {
            doc! {
                "name": &c.name,
                "type": "collection",
                "options": {},
                "info": {"readOnly": false},
                "idIndex": {"v": 2, "key": {"_id": 1}, "name": "_id_"},
            }
        };
        if filter.as_ref().is_some_and(|f| !f.matches(&entry)) {
            continue;
        }
        out.push(entry);
    }
    Ok(cursor_reply(
        0,
        &format!("{}.$cmd.listCollections", ctx.db),
        out,
        true,
    ))
}

/// `create`.
pub(super) async fn create(ctx: &Ctx<'_>) -> CmdResult {
    let coll = ctx.collection()?;
    for unsupported in ["capped", "timeseries", "viewOn", "clusteredIndex"] {
        if ctx
            .body
            .get(unsupported)
            .is_some_and(|v| v != &Bson::Boolean(false))
        {
            return Err(CommandError::not_supported(format!(
                "create option '{unsupported}' is not supported by Stratus"
            )));
        }
    }
    let db = ctx.db.clone();
    ctx.blocking(move |s| Ok(s.create_collection(&db, &coll)?))
        .await?;
    Ok(doc! {})
}

/// `drop` (a missing collection is not an error, as in MongoDB 7+).
pub(super) async fn drop(ctx: &Ctx<'_>) -> CmdResult {
    let coll = ctx.collection()?;
    let db = ctx.db.clone();
    let ns = format!("{db}.{coll}");
    let n_indexes = ctx
        .blocking(move |s| {
            let n = s.list_indexes(&db, &coll).map(|v| v.len() as i32).ok();
            s.drop_collection(&db, &coll)?;
            Ok(n)
        })
        .await?;
    Ok(match n_indexes {
        Some(n) => doc! {"ns": ns, "nIndexesWas": n},
        None => doc! {},
    })
}

/// `dropDatabase`.
pub(super) async fn drop_database(ctx: &Ctx<'_>) -> CmdResult {
    let db = ctx.db.clone();
    ctx.blocking(move |s| Ok(s.drop_database(&db)?)).await?;
    Ok(doc! {"dropped": &ctx.db})
}

fn split_ns(ns: &str) -> Result<(String, String), CommandError> {
    match ns.split_once('.') {
        Some((db, coll)) if !db.is_empty() && !coll.is_empty() => {
            Ok((db.to_string(), coll.to_string()))
        }
        _ => Err(CommandError::invalid_namespace(format!(
            "Invalid namespace specified '{ns}'"
        ))),
    }
}

/// `renameCollection` (admin command; `to`, `dropTarget`).
pub(super) async fn rename_collection(ctx: &Ctx<'_>, conn: &Connection) -> CmdResult {
    if ctx.db != "admin" {
        return Err(CommandError::unauthorized(
            "renameCollection may only be run against the admin database.",
        ));
    }
    let from = opt_str(ctx.body, "renameCollection", "renameCollection")?
        .ok_or_else(|| CommandError::missing_field("renameCollection", "renameCollection"))?;
    let to = opt_str(ctx.body, "renameCollection", "to")?
        .ok_or_else(|| CommandError::missing_field("renameCollection", "to"))?;
    let (from_db, from_coll) = split_ns(from)?;
    let (to_db, to_coll) = split_ns(to)?;
    let allowed = conn
        .user
        .as_ref()
        .is_some_and(|u| u.access.allows(&from_db) && u.access.allows(&to_db));
    if !allowed {
        return Err(CommandError::unauthorized(format!(
            "not authorized to rename {from} to {to}"
        )));
    }
    if from_db != to_db {
        return Err(CommandError::not_supported(
            "renameCollection across databases is not supported by Stratus",
        ));
    }
    let drop_target = opt_bool(ctx.body, "renameCollection", "dropTarget")?.unwrap_or(false);
    ctx.blocking(move |s| Ok(s.rename_collection(&from_db, &from_coll, &to_coll, drop_target)?))
        .await?;
    Ok(doc! {})
}

/// `createIndexes`.
pub(super) async fn create_indexes(ctx: &Ctx<'_>) -> CmdResult {
    let coll = ctx.collection()?;
    let specs = req_array(ctx.body, "createIndexes", "indexes")?;
    if specs.is_empty() {
        return Err(CommandError::bad_value(
            "Must specify at least one index to create",
        ));
    }
    let mut parsed = Vec::new();
    for s in specs {
        let Bson::Document(d) = s else {
            return Err(CommandError::type_mismatch(
                "BSON field 'createIndexes.indexes.0' is the wrong type, expected type 'object'",
            ));
        };
        parsed.push(IndexSpec::parse(d)?);
    }
    let db = ctx.db.clone();
    let (before, after, created) = ctx
        .blocking(move |s| {
            let existing = s.list_indexes(&db, &coll).ok();
            let created = existing.is_none();
            let before = existing.map_or(1, |v| v.len() as i32);
            for spec in parsed {
                s.create_index(&db, &coll, spec)?;
            }
            let after = s.list_indexes(&db, &coll)?.len() as i32;
            Ok((before, after, created))
        })
        .await?;
    Ok(doc! {
        "numIndexesBefore": before,
        "numIndexesAfter": after,
        "createdCollectionAutomatically": created,
    })
}

/// `listIndexes`.
pub(super) async fn list_indexes(ctx: &Ctx<'_>) -> CmdResult {
    let coll = ctx.collection()?;
    let db = ctx.db.clone();
    let ns = format!("{db}.{coll}");
    let list = ctx
        .blocking(move |s| Ok(s.list_indexes(&db, &coll)?))
        .await?;
    Ok(cursor_reply(0, &ns, list, true))
}

/// `dropIndexes` (`index`: name, `"*"`, key pattern, or array of names).
pub(super) async fn drop_indexes(ctx: &Ctx<'_>) -> CmdResult {
    let coll = ctx.collection()?;
    let index = ctx
        .body
        .get("index")
        .cloned()
        .ok_or_else(|| CommandError::missing_field(ctx.name, "index"))?;
    let db = ctx.db.clone();
    let was = ctx
        .blocking(move |s| {
            let list = s.list_indexes(&db, &coll)?;
            let names: Vec<String> = match &index {
                Bson::String(n) if n == "*" => list
                    .iter()
                    .filter_map(|d| d.get_str("name").ok())
                    .filter(|n| *n != "_id_")
                    .map(str::to_string)
                    .collect(),
                Bson::String(n) => vec![n.clone()],
                Bson::Array(a) => a
                    .iter()
                    .map(|b| match b {
                        Bson::String(n) => Ok(n.clone()),
                        _ => Err(CommandError::type_mismatch(
                            "dropIndexes: index names must be strings",
                        )),
                    })
                    .collect::<Result<_, _>>()?,
                Bson::Document(key) => {
                    let found = list
                        .iter()
                        .find(|d| d.get_document("key").ok() == Some(key))
                        .and_then(|d| d.get_str("name").ok())
                        .ok_or_else(|| {
                            CommandError::new(
                                27,
                                "IndexNotFound",
                                format!("can't find index with key: {key}"),
                            )
                        })?;
                    vec![found.to_string()]
                }
                _ => {
                    return Err(CommandError::type_mismatch(
                        "BSON field 'dropIndexes.index' must be a string, array or object",
                    ));
                }
            };
            for n in names {
                s.drop_index(&db, &coll, &n)?;
            }
            Ok(list.len() as i32)
        })
        .await?;
    Ok(doc! {"nIndexesWas": was})
}

/// `collStats` (count, size, avgObjSize, nindexes; storage figures equal the logical size).
pub(super) async fn coll_stats(ctx: &Ctx<'_>) -> CmdResult {
    let coll = ctx.collection()?;
    let db = ctx.db.clone();
    let ns = format!("{db}.{coll}");
    let st = ctx
        .blocking(move |s| Ok(s.collection_stats(&db, &coll)?))
        .await?;
    Ok(doc! {
        "ns": ns,
        "count": st.count as i64,
        "size": st.size as i64,
        "avgObjSize": st.avg_obj_size as i64,
        "storageSize": st.size as i64,
        "nindexes": st.index_count as i64,
        "capped": false,
    })
}

/// `dbStats`.
pub(super) async fn db_stats(ctx: &Ctx<'_>) -> CmdResult {
    let db = ctx.db.clone();
    let (collections, objects, size, indexes) = ctx
        .blocking(move |s| {
            let mut t = (0i64, 0i64, 0i64, 0i64);
            for c in s.list_collections(&db)? {
                let st = s.collection_stats(&db, &c.name)?;
                t.0 += 1;
                t.1 += st.count as i64;
                t.2 += st.size as i64;
                t.3 += st.index_count as i64;
            }
            Ok(t)
        })
        .await?;
    Ok(doc! {
        "db": &ctx.db,
        "collections": collections,
        "views": 0,
        "objects": objects,
        "avgObjSize": if objects > 0 { size as f64 / objects as f64 } else { 0.0 },
        "dataSize": size as f64,
        "storageSize": size as f64,
        "indexes": indexes,
        "scaleFactor": 1,
    })
}
