//! `aggregate`: runs a `stratus_query::pipeline` over one snapshot of a collection.
//!
//! The store implements the pipeline's [`CollectionSource`]: `$lookup`/`$unionWith` read other
//! collections from the SAME snapshot as the aggregated collection (a consistent view), and
//! `$out`/`$merge` write through the writer as one atomic operation each (with index
//! maintenance, stats and change events like any other write).
//!
//! A pipeline that `Pipeline::runs_on_raw` (leading `$match`es and a `$group` on field paths)
//! reads the stored documents in place through `KvRead::scan`, without copying or decoding
//! them; any other pipeline gets decoded documents (only the fields it reads, when known).

use std::cell::RefCell;

use bson::{Bson, Document};
use stratus_query::error::{MongoCode, QueryError};
use stratus_query::pipeline::{CollectionSource, MergeWrite, Pipeline, PipelineOptions};

use crate::catalog;
use crate::changefeed::ChangeOp;
use crate::crud::{
    Matcher, decode, decode_fields, insert_doc, matching_docs, remove_doc, replace_doc,
};
use crate::cursor::Cursor;
use crate::error::{DocstoreError, Result};
use crate::keys::primary_key;
use crate::kv::Snapshot;
use crate::store::Store;

/// Options of [`Store::aggregate`].
#[derive(Debug, Clone, Default)]
pub struct AggregateOptions {
    /// Documents per cursor batch.
    pub batch_size: Option<usize>,
    /// The `let` option: variables visible to every stage as `$$name`.
    pub let_vars: Option<Document>,
}

/// Converts a store error into the pipeline's error type, keeping MongoDB's code.
pub(crate) fn to_query_error(e: DocstoreError) -> QueryError {
    match e {
        DocstoreError::Query(q) => q,
        DocstoreError::DuplicateKey { .. } => {
            QueryError::new(MongoCode::DuplicateKey, e.to_string())
        }
        DocstoreError::NamespaceNotFound { .. } => {
            QueryError::new(MongoCode::NamespaceNotFound, e.to_string())
        }
        DocstoreError::InvalidNamespace { .. } => {
            QueryError::new(MongoCode::InvalidNamespace, e.to_string())
        }
        DocstoreError::DocumentTooLarge { .. } => QueryError::location(10334, e.to_string()),
        other => QueryError::new(MongoCode::InternalError, other.to_string()),
    }
}

/// The store as seen by a running pipeline.
struct StoreSource<'a> {
    store: &'a Store,
    snapshot: Snapshot,
}

impl CollectionSource for StoreSource<'_> {
    fn find(
        &self,
        db: &str,
        coll: &str,
        filter: &Document,
    ) -> stratus_query::Result<Vec<Document>> {
        let run = || -> Result<Vec<Document>> {
            let Some(meta) = catalog::get_shared(self.snapshot.as_ref(), db, coll)? else {
                return Ok(Vec::new());
            };
            Ok(matching_docs(self.snapshot.as_ref(), &meta, filter, None)?
                .into_iter()
                .map(|(_, _, d)| d)
                .collect())
        };
        run().map_err(to_query_error)
    }

    fn replace_collection(
        &self,
        db: &str,
        coll: &str,
        docs: Vec<Document>,
    ) -> stratus_query::Result<()> {
        catalog::validate_coll_name(db, coll).map_err(to_query_error)?;
        let (db, coll) = (db.to_string(), coll.to_string());
        self.store
            .write(move |ctx| {
                let meta = catalog::get_or_create(ctx.kv, &db, &coll)?;
                for (pk, size, doc) in matching_docs(ctx.kv, &meta, &Document::new(), None)? {
                    remove_doc(ctx, &meta, &doc, &pk, size)?;
                }
                for doc in &docs {
                    insert_doc(ctx, &meta, doc, ChangeOp::Insert)?;
                }
                Ok(())
            })
            .map_err(to_query_error)
    }

    fn apply_merge(
        &self,
        db: &str,
        coll: &str,
        writes: Vec<MergeWrite>,
    ) -> stratus_query::Result<()> {
        catalog::validate_coll_name(db, coll).map_err(to_query_error)?;
        let (db, coll) = (db.to_string(), coll.to_string());
        self.store
            .write(move |ctx| {
                let meta = catalog::get_or_create(ctx.kv, &db, &coll)?;
                let table = meta.docs_table();
                for w in &writes {
                    match w {
                        MergeWrite::Insert(doc) => insert_doc(ctx, &meta, doc, ChangeOp::Insert)?,
                        MergeWrite::Replace { id, doc } => {
                            let pk = primary_key(id)?;
                            let Some(raw) = ctx.kv.get(&table, &pk)? else {
                                return Err(DocstoreError::mongo(
                                    MongoCode::NoSuchKey,
                                    format!("$merge: no document with _id {id} to replace"),
                                ));
                            };
                            let old = decode(&table, &raw)?;
                            replace_doc(ctx, &meta, &old, &pk, raw.len(), doc, ChangeOp::Replace)?;
                        }
                    }
                }
                Ok(())
            })
            .map_err(to_query_error)
    }
}

impl Store {
    /// Runs the aggregation `pipeline` (an array of stage documents) on `db.coll`.
    pub fn aggregate(
        &self,
        db: &str,
        coll: &str,
        pipeline: &[Bson],
        options: AggregateOptions,
    ) -> Result<Cursor> {
        let parsed = Pipeline::parse(
            pipeline,
            &PipelineOptions {
                default_db: db.to_string(),
                let_vars: options.let_vars.clone().unwrap_or_default(),
                ..Default::default()
            },
        )?;
        let snapshot = self.snapshot()?;
        let meta = catalog::get_shared(snapshot.as_ref(), db, coll)?;
        let source = StoreSource {
            store: self,
            snapshot: snapshot.clone(),
        };
        let scan_error: RefCell<Option<DocstoreError>> = RefCell::new(None);
        let docs = match &meta {
            None => parsed.run(std::iter::empty(), &source, db)?,
            Some(meta) => {
                let table = meta.docs_table();
                // `$match`es and a `$group` that read the stored bytes in place (no copy, no
                // decode); a storage error is kept aside and ends the scan.
                let scan =
                    |sink: &mut dyn FnMut(&bson::RawDocument) -> stratus_query::Result<()>| {
                        let mut sink_error = None;
                        let scanned = snapshot.scan(
                            &table,
                            std::ops::Bound::Unbounded,
                            std::ops::Bound::Unbounded,
                            false,
                            &mut |_, raw| match bson::RawDocument::from_bytes(raw) {
                                Ok(doc) => match sink(doc) {
                                    Ok(()) => true,
                                    Err(e) => {
                                        sink_error = Some(e);
                                        false
                                    }
                                },
                                Err(e) => {
                                    *scan_error.borrow_mut() = Some(DocstoreError::Corrupt {
                                        table: table.clone(),
                                        detail: e.to_string(),
                                    });
                                    false
                                }
                            },
                        );
                        if let Err(e) = scanned {
                            *scan_error.borrow_mut() = Some(e.into());
                        }
                        sink_error.map_or(Ok(()), Err)
                    };
                if let Some(out) = parsed.try_run_raw_scan(scan, &source, db) {
                    if let Some(e) = scan_error.into_inner() {
                        return Err(e);
                    }
                    return Ok(Cursor::from_documents(out?, options.batch_size));
                }
                let range = snapshot.range(
                    &table,
                    std::ops::Bound::Unbounded,
                    std::ops::Bound::Unbounded,
                    false,
                )?;
                // A leading $match is applied on the raw bytes before decoding.
                let pre = match parsed.leading_match() {
                    Some(f) => Matcher::new(f)?,
                    None => Matcher::All,
                };
                // When the pipeline reads only some top-level fields (e.g. a `$group`), decode
                // only those.
                let needed: Option<Vec<String>> =
                    parsed.input_fields().map(|f| f.into_iter().collect());
                let input = range.map_while(|pair| {
                    let step = || -> Result<Option<Document>> {
                        let (_, raw) = pair?;
                        if !pre.matches_raw(&table, &raw)? {
                            return Ok(None);
                        }
                        Ok(Some(match &needed {
                            Some(fields) => decode_fields(&table, &raw, fields)?,
                            None => decode(&table, &raw)?,
                        }))
                    };
                    match step() {
                        Ok(d) => Some(d),
                        Err(e) => {
                            *scan_error.borrow_mut() = Some(e);
                            None
                        }
                    }
                });
                let out = parsed.run(input.flatten(), &source, db)?;
                if let Some(e) = scan_error.into_inner() {
                    return Err(e);
                }
                out
            }
        };
        Ok(Cursor::from_documents(docs, options.batch_size))
    }
}
