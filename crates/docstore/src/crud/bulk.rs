//! `bulk_write`: a list of inserts, updates, replacements and deletes on one collection, run
//! as ONE writer operation (one commit). Each model is atomic on its own; `ordered` stops at
//! the first failing model, unordered runs them all, and failures are reported per model
//! index like MongoDB's `writeErrors`. Every model is parsed before anything is written.

use bson::{Bson, Document};

use crate::catalog;
use crate::changefeed::ChangeOp;
use crate::crud::delete::delete_in;
use crate::crud::insert::{WriteError, with_id};
use crate::crud::modify::{PreparedUpdate, UpdateOptions};
use crate::crud::update::{PreparedReplace, ReplaceOptions};
use crate::crud::{insert_doc, validate_filter};
use crate::error::Result;
use crate::store::Store;

/// One write of a [`Store::bulk_write`].
#[derive(Debug, Clone)]
pub enum WriteModel {
    /// Insert a document (an ObjectId `_id` is generated when absent).
    InsertOne {
        /// The document.
        document: Document,
    },
    /// Update the first match.
    UpdateOne {
        /// Filter.
        filter: Document,
        /// Update document or pipeline.
        update: Bson,
        /// Upsert, arrayFilters, sort.
        options: UpdateOptions,
    },
    /// Update every match.
    UpdateMany {
        /// Filter.
        filter: Document,
        /// Update document or pipeline.
        update: Bson,
        /// Upsert, arrayFilters.
        options: UpdateOptions,
    },
    /// Replace the first match.
    ReplaceOne {
        /// Filter.
        filter: Document,
        /// The new document.
        replacement: Document,
        /// Upsert, sort, hint.
        options: ReplaceOptions,
    },
    /// Delete the first match.
    DeleteOne {
        /// Filter.
        filter: Document,
    },
    /// Delete every match.
    DeleteMany {
        /// Filter.
        filter: Document,
    },
}

/// Result of [`Store::bulk_write`] (MongoDB's `BulkWriteResult`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BulkWriteResult {
    /// Documents inserted by insert models.
    pub inserted_count: u64,
    /// Documents matched by update/replace models.
    pub matched_count: u64,
    /// Documents changed by update/replace models.
    pub modified_count: u64,
    /// Documents deleted.
    pub deleted_count: u64,
    /// `(model index, _id)` of inserted documents.
    pub inserted_ids: Vec<(usize, Bson)>,
    /// `(model index, _id)` of upserted documents.
    pub upserted_ids: Vec<(usize, Bson)>,
    /// The failed models.
    pub write_errors: Vec<WriteError>,
}

enum Prepared {
    Insert(Document),
    Update(Box<PreparedUpdate>),
    Replace(Box<PreparedReplace>),
    Delete(Document, Option<usize>),
}

impl Store {
    /// Runs `models` on `db.coll` in one atomic-per-model, group-committed write.
    pub fn bulk_write(
        &self,
        db: &str,
        coll: &str,
        models: Vec<WriteModel>,
        ordered: bool,
    ) -> Result<BulkWriteResult> {
        catalog::validate_coll_name(db, coll)?;
        let mut prepared = Vec::with_capacity(models.len());
        for m in models {
            prepared.push(match m {
                WriteModel::InsertOne { document } => Prepared::Insert(with_id(document)),
                WriteModel::UpdateOne {
                    filter,
                    update,
                    options,
                } => Prepared::Update(Box::new(PreparedUpdate::new(
                    filter, &update, options, false,
                )?)),
                WriteModel::UpdateMany {
                    filter,
                    update,
                    options,
                } => Prepared::Update(Box::new(PreparedUpdate::new(
                    filter, &update, options, true,
                )?)),
                WriteModel::ReplaceOne {
                    filter,
                    replacement,
                    options,
                } => Prepared::Replace(Box::new(PreparedReplace::new(
                    filter,
                    replacement,
                    options,
                )?)),
                WriteModel::DeleteOne { filter } => {
                    validate_filter(&filter)?;
                    Prepared::Delete(filter, Some(1))
                }
                WriteModel::DeleteMany { filter } => {
                    validate_filter(&filter)?;
                    Prepared::Delete(filter, None)
                }
            });
        }
        let (db, coll) = (db.to_string(), coll.to_string());
        self.write(move |ctx| {
            let mut out = BulkWriteResult::default();
            for (index, p) in prepared.iter().enumerate() {
                let r = ctx.nested(|c| -> Result<()> {
                    match p {
                        Prepared::Insert(doc) => {
                            let meta = catalog::get_or_create(c.kv, &db, &coll)?;
                            insert_doc(c, &meta, doc, ChangeOp::Insert)?;
                            out.inserted_count += 1;
                            out.inserted_ids
                                .push((index, doc.get("_id").cloned().unwrap_or(Bson::Null)));
                        }
                        Prepared::Update(u) => {
                            let r = u.run(c, &db, &coll)?;
                            record_update(&mut out, index, r);
                        }
                        Prepared::Replace(rp) => {
                            let r = rp.run(c, &db, &coll)?;
                            record_update(&mut out, index, r);
                        }
                        Prepared::Delete(filter, limit) => {
                            out.deleted_count += delete_in(c, &db, &coll, filter, *limit)?;
                        }
                    }
                    Ok(())
                });
                if let Err(e) = r {
                    out.write_errors.push(WriteError::new(index, &e));
                    if ordered {
                        break;
                    }
                }
            }
            Ok(out)
        })
    }
}

fn record_update(out: &mut BulkWriteResult, index: usize, r: crate::crud::update::UpdateResult) {
    out.matched_count += r.matched;
    out.modified_count += r.modified;
    if let Some(id) = r.upserted_id {
        out.upserted_ids.push((index, id));
    }
}
