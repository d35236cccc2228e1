//! `update_one` / `update_many` with update operators, replacement documents or pipelines
//! (parsed by `stratus_query::update`).
//!
//! One call is one atomic writer operation: either every matched document is updated (with
//! its indexes, stats and change events) or, if any of them fails (immutable `_id`, unique
//! index, size limit), none is. An upsert that matches nothing inserts the document built
//! from the filter's equality fields and the update.

use bson::{Bson, Document};
use stratus_query::update::{ApplyContext, Update, UpdateOptions as QueryUpdateOptions};

use crate::catalog;
use crate::changefeed::ChangeOp;
use crate::crud::insert::with_id;
use crate::crud::update::UpdateResult;
use crate::crud::{Matcher, decode, insert_doc, replace_doc};
use crate::error::{DocstoreError, Result};
use crate::kv::KvRead;
use crate::store::Store;
use crate::writer::WriteCtx;

/// Options of [`Store::update_one`] / [`Store::update_many`].
#[derive(Debug, Clone, Default)]
pub struct UpdateOptions {
    /// Insert a document when nothing matches.
    pub upsert: bool,
    /// `arrayFilters` for `$[<id>]`.
    pub array_filters: Option<Vec<Document>>,
    /// For `update_one`: which matching document to update first.
    pub sort: Option<Document>,
}

/// A matched document: primary key, stored size, document, positional match index.
pub(crate) type Matched = (Vec<u8>, usize, Document, Option<usize>);

/// Documents matching `filter` read through `kv`, ordered by `sort` when given, at most
/// `limit`.
pub(crate) fn find_matches(
    kv: &dyn KvRead,
    meta: &catalog::CollectionMeta,
    matcher: &Matcher,
    filter: &Document,
    sort: Option<(&stratus_query::sort::SortSpec, &Document)>,
    limit: Option<usize>,
) -> Result<Vec<Matched>> {
    let table = &meta.docs_table();
    let sort_doc = sort.map(|(_, d)| d);
    let sort = sort.map(|(s, _)| s);
    let mut out: Vec<Matched> = Vec::new();
    if limit == Some(0) {
        return Ok(out);
    }
    let plan = crate::index::plan(filter, sort_doc, &meta.defs);
    let in_order = sort.is_none() || plan.sort_provided;
    for item in crate::index::execute(&plan, kv, table)? {
        let (pk, raw) = item?;
        if !matcher.matches_raw(table, &raw)? {
            continue;
        }
        let doc = decode(table, &raw)?;
        if let Some(details) = matcher.match_details(&doc) {
            out.push((pk, raw.len(), doc, details));
            if in_order && limit.is_some_and(|l| out.len() >= l) {
                break;
            }
        }
    }
    if let (Some(s), false) = (sort, in_order) {
        out.sort_by(|a, b| s.compare(&a.2, &b.2));
        if let Some(l) = limit {
            out.truncate(l);
        }
    }
    Ok(out)
}

/// Applies `update` to one matched document inside a write; returns the new document when it
/// changed.
pub(crate) fn apply_to(
    ctx: &mut WriteCtx<'_>,
    meta: &catalog::CollectionMeta,
    update: &Update,
    m: &Matched,
    now: bson::DateTime,
) -> Result<Option<Document>> {
    let (pk, size, old, positional) = m;
    let outcome = update.apply(
        old,
        &ApplyContext {
            positional: *positional,
            is_insert: false,
            now,
        },
    )?;
    if !outcome.modified {
        return Ok(None);
    }
    let new = outcome.document;
    let old_id = old.get("_id").unwrap_or(&Bson::Null);
    match new.get("_id") {
        Some(id) if stratus_query::compare::values_equal(id, old_id) && same_type(id, old_id) => {}
        Some(id) => {
            return Err(DocstoreError::mongo(
                stratus_query::MongoCode::ImmutableField,
                format!(
                    "Performing an update on the path '_id' would modify the immutable field '_id' (to {id})"
                ),
            ));
        }
        None => {
            return Err(DocstoreError::mongo(
                stratus_query::MongoCode::ImmutableField,
                "Performing an update on the path '_id' would modify the immutable field '_id'",
            ));
        }
    }
    let op = if update.is_replacement() {
        ChangeOp::Replace
    } else {
        ChangeOp::Update
    };
    replace_doc(ctx, meta, old, pk, *size, &new, op)?;
    Ok(Some(new))
}

fn same_type(a: &Bson, b: &Bson) -> bool {
    a.element_type() == b.element_type()
}

/// Inserts the upsert document for `filter` + `update`; returns it.
pub(crate) fn upsert_insert(
    ctx: &mut WriteCtx<'_>,
    meta: &catalog::CollectionMeta,
    update: &Update,
    filter: &Document,
    now: bson::DateTime,
) -> Result<Document> {
    let doc = update.upsert_document(
        filter,
        &ApplyContext {
            positional: None,
            is_insert: true,
            now,
        },
    )?;
    let doc = with_id(doc);
    insert_doc(ctx, meta, &doc, ChangeOp::Insert)?;
    Ok(doc)
}

/// Parses an update with its options.
pub(crate) fn parse_update(update: &Bson, array_filters: Option<&[Document]>) -> Result<Update> {
    Ok(Update::parse(
        update,
        &QueryUpdateOptions {
            array_filters,
            ..Default::default()
        },
    )?)
}

impl Store {
    /// Updates the first document matching `filter` (by `options.sort` when given).
    pub fn update_one(
        &self,
        db: &str,
        coll: &str,
        filter: Document,
        update: &Bson,
        options: UpdateOptions,
    ) -> Result<UpdateResult> {
        self.update(db, coll, filter, update, options, false)
    }

    /// Updates every document matching `filter`, atomically.
    pub fn update_many(
        &self,
        db: &str,
        coll: &str,
        filter: Document,
        update: &Bson,
        options: UpdateOptions,
    ) -> Result<UpdateResult> {
        if matches!(update, Bson::Document(d) if !d.keys().next().is_some_and(|k| k.starts_with('$')) && !d.is_empty())
        {
            return Err(DocstoreError::mongo(
                stratus_query::MongoCode::FailedToParse,
                "multi update is not supported for replacement-style update",
            ));
        }
        self.update(db, coll, filter, update, options, true)
    }

    fn update(
        &self,
        db: &str,
        coll: &str,
        filter: Document,
        update: &Bson,
        options: UpdateOptions,
        multi: bool,
    ) -> Result<UpdateResult> {
        let parsed = parse_update(update, options.array_filters.as_deref())?;
        let matcher = Matcher::new(&filter)?;
        let sort = options
            .sort
            .as_ref()
            .map(stratus_query::sort::SortSpec::parse)
            .transpose()?;
        catalog::validate_coll_name(db, coll)?;
        let (db, coll) = (db.to_string(), coll.to_string());
        let upsert = options.upsert;
        let sort_doc = options.sort;
        self.write(move |ctx| {
            let now = bson::DateTime::now();
            let meta = match catalog::get(ctx.kv, &db, &coll)? {
                Some(m) => m,
                None if upsert => catalog::create(ctx.kv, &db, &coll)?,
                None => return Ok(UpdateResult::default()),
            };
            let limit = if multi { None } else { Some(1) };
            let sort_pair = sort.as_ref().zip(sort_doc.as_ref());
            let matches = find_matches(ctx.kv, &meta, &matcher, &filter, sort_pair, limit)?;
            if matches.is_empty() {
                if !upsert {
                    return Ok(UpdateResult::default());
                }
                let doc = upsert_insert(ctx, &meta, &parsed, &filter, now)?;
                return Ok(UpdateResult {
                    matched: 0,
                    modified: 0,
                    upserted_id: doc.get("_id").cloned(),
                });
            }
            let mut modified = 0;
            for m in &matches {
                if apply_to(ctx, &meta, &parsed, m, now)?.is_some() {
                    modified += 1;
                }
            }
            Ok(UpdateResult {
                matched: matches.len() as u64,
                modified,
                upserted_id: None,
            })
        })
    }
}
