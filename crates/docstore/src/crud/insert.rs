//! `insert_one` / `insert_many`.
//!
//! A missing `_id` gets a new ObjectId placed first in the document (as MongoDB does). Each
//! document is inserted atomically on its own; `ordered` stops at the first failure, unordered
//! continues, and every failure is reported as a [`WriteError`] with its index in the input.
//! The whole call is one writer operation, so the successful documents commit together.

use bson::oid::ObjectId;
use bson::{Bson, Document};

use crate::catalog;
use crate::changefeed::ChangeOp;
use crate::crud::insert_doc;
use crate::error::{DocstoreError, Result};
use crate::pending::Pending;
use crate::store::Store;
use crate::writer::WriteCtx;

/// One failed document of a multi-document write.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteError {
    /// Position of the document in the input.
    pub index: usize,
    /// MongoDB's error code (e.g. 11000).
    pub code: i32,
    /// MongoDB's code name (e.g. `DuplicateKey`).
    pub code_name: String,
    /// The error message.
    pub message: String,
}

impl WriteError {
    pub(crate) fn new(index: usize, e: &DocstoreError) -> Self {
        WriteError {
            index,
            code: e.mongo_code(),
            code_name: e.code_name(),
            message: e.to_string(),
        }
    }
}

/// Result of [`Store::insert_many`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InsertManyResult {
    /// `(input index, _id)` of every inserted document.
    pub inserted_ids: Vec<(usize, Bson)>,
    /// The documents that failed.
    pub write_errors: Vec<WriteError>,
}

/// Puts the `_id` first (as MongoDB stores it), generating an ObjectId when there is none.
pub(crate) fn with_id(mut doc: Document) -> Document {
    if doc.keys().next().is_some_and(|k| k == "_id") {
        return doc;
    }
    let id = doc
        .remove("_id")
        .unwrap_or_else(|| Bson::ObjectId(ObjectId::new()));
    let mut out = Document::new();
    out.insert("_id", id);
    out.extend(doc);
    out
}

/// The write operation of an insert of one document (arguments checked first).
fn insert_one_op(
    db: &str,
    coll: &str,
    doc: Document,
) -> Result<impl FnOnce(&mut WriteCtx<'_>) -> Result<Bson> + Send + 'static> {
    catalog::validate_coll_name(db, coll)?;
    let (db, coll) = (db.to_string(), coll.to_string());
    let doc = with_id(doc);
    let id = doc.get("_id").cloned().unwrap_or(Bson::Null);
    Ok(move |ctx: &mut WriteCtx<'_>| {
        let meta = catalog::get_or_create(ctx.kv, &db, &coll)?;
        insert_doc(ctx, &meta, &doc, ChangeOp::Insert)?;
        Ok(id)
    })
}

impl Store {
    /// Inserts one document and returns its `_id`.
    pub fn insert_one(&self, db: &str, coll: &str, doc: Document) -> Result<Bson> {
        self.write(insert_one_op(db, coll, doc)?)
    }

    /// [`Store::insert_one`] without blocking: the returned future resolves with the `_id`
    /// once the document is durable (see [`Pending`]).
    pub fn insert_one_pending(&self, db: &str, coll: &str, doc: Document) -> Pending<Bson> {
        match insert_one_op(db, coll, doc) {
            Ok(op) => self.inner.writer.submit_pending(op),
            Err(e) => Pending::ready(Err(e)),
        }
    }

    /// Inserts `docs`; see the module docs for `ordered`.
    pub fn insert_many(
        &self,
        db: &str,
        coll: &str,
        docs: Vec<Document>,
        ordered: bool,
    ) -> Result<InsertManyResult> {
        catalog::validate_coll_name(db, coll)?;
        let (db, coll) = (db.to_string(), coll.to_string());
        let docs: Vec<Document> = docs.into_iter().map(with_id).collect();
        self.write(move |ctx| {
            let meta = catalog::get_or_create(ctx.kv, &db, &coll)?;
            let mut result = InsertManyResult::default();
            for (index, doc) in docs.into_iter().enumerate() {
                let id = doc.get("_id").cloned().unwrap_or(Bson::Null);
                match ctx.nested(|c| insert_doc(c, &meta, &doc, ChangeOp::Insert)) {
                    Ok(()) => result.inserted_ids.push((index, id)),
                    Err(e) => {
                        result.write_errors.push(WriteError::new(index, &e));
                        if ordered {
                            break;
                        }
                    }
                }
            }
            Ok(result)
        })
    }
}
