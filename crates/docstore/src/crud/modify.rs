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
    /// Index hint (name or key pattern); it must name an existing index. The planner still
    /// chooses the access path.
    pub hint: Option<Bson>,
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
    let wanted = limit.filter(|_| in_order).map(|l| l as u64);
    for item in crate::index::execute_expecting(&plan, kv, table, wanted)? {
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
        let prepared = PreparedUpdate::new(filter, update, options, multi)?;
        catalog::validate_coll_name(db, coll)?;
        let (db, coll) = (db.to_string(), coll.to_string());
        self.write(move |ctx| prepared.run(ctx, &db, &coll))
    }
}

/// A parsed and validated update, ready to run inside a write.
pub(crate) struct PreparedUpdate {
    filter: Document,
    parsed: Update,
    matcher: Matcher,
    sort: Option<(stratus_query::sort::SortSpec, Document)>,
    upsert: bool,
    multi: bool,
    hint: Option<Bson>,
}

impl PreparedUpdate {
    /// Parses and checks everything up front, so bad input fails before any write.
    pub(crate) fn new(
        filter: Document,
        update: &Bson,
        options: UpdateOptions,
        multi: bool,
    ) -> Result<PreparedUpdate> {
        // Replacements go through `replace_one` (as in MongoDB's driver API).
        if let Bson::Document(d) = update
            && !d.keys().next().is_some_and(|k| k.starts_with('$'))
        {
            return Err(DocstoreError::mongo(
                stratus_query::MongoCode::FailedToParse,
                "update document requires atomic operators (use replace_one for a replacement)",
            ));
        }
        let parsed = parse_update(update, options.array_filters.as_deref())?;
        let matcher = Matcher::new(&filter)?;
        let sort = match options.sort {
            Some(s) if !s.is_empty() => Some((stratus_query::sort::SortSpec::parse(&s)?, s)),
            _ => None,
        };
        Ok(PreparedUpdate {
            filter,
            parsed,
            matcher,
            sort,
            upsert: options.upsert,
            multi,
            hint: options.hint,
        })
    }

    /// Runs the update inside a write operation.
    pub(crate) fn run(&self, ctx: &mut WriteCtx<'_>, db: &str, coll: &str) -> Result<UpdateResult> {
        let now = bson::DateTime::now();
        let meta = match catalog::get(ctx.kv, db, coll)? {
            Some(m) => m,
            None if self.upsert => catalog::create(ctx.kv, db, coll)?,
            None => return Ok(UpdateResult::default()),
        };
        if let Some(h) = &self.hint {
            crate::crud::check_hint(&meta, h)?;
        }
        let limit = if self.multi { None } else { Some(1) };
        let sort_pair = self.sort.as_ref().map(|(s, d)| (s, d));
        let matches = find_matches(ctx.kv, &meta, &self.matcher, &self.filter, sort_pair, limit)?;
        if matches.is_empty() {
            if !self.upsert {
                return Ok(UpdateResult::default());
            }
            let doc = upsert_insert(ctx, &meta, &self.parsed, &self.filter, now)?;
            return Ok(UpdateResult {
                matched: 0,
                modified: 0,
                upserted_id: doc.get("_id").cloned(),
            });
        }
        let mut modified = 0;
        for m in &matches {
            if apply_to(ctx, &meta, &self.parsed, m, now)?.is_some() {
                modified += 1;
            }
        }
        Ok(UpdateResult {
            matched: matches.len() as u64,
            modified,
            upserted_id: None,
        })
    }
}
