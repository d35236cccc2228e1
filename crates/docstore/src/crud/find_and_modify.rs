//! `find_one_and_update`, `find_one_and_replace`, `find_one_and_delete` (MongoDB's
//! `findAndModify`): pick the first match (by `sort` when given), modify it atomically and
//! return it as it was before or after, shaped by `projection`.

use bson::{Bson, Document};
use stratus_query::projection::Projection;
use stratus_query::sort::SortSpec;

use crate::catalog;
use crate::crud::modify::{apply_to, find_matches, parse_update, upsert_insert};
use crate::crud::update::check_replacement;
use crate::crud::{Matcher, remove_doc};
use crate::error::Result;
use crate::store::Store;

/// Which version of the document a find-and-modify returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReturnDocument {
    /// The document as it was before the change (MongoDB's default).
    #[default]
    Before,
    /// The document after the change (or the upserted document).
    After,
}

/// Options of the find-and-modify family.
#[derive(Debug, Clone, Default)]
pub struct FindAndModifyOptions {
    /// Which match to modify first.
    pub sort: Option<Document>,
    /// Shape of the returned document.
    pub projection: Option<Document>,
    /// Insert when nothing matches (update/replace only).
    pub upsert: bool,
    /// Before or after.
    pub return_document: ReturnDocument,
    /// `arrayFilters` (update only).
    pub array_filters: Option<Vec<Document>>,
    /// Index hint; it must name an existing index (validated, not enforced).
    pub hint: Option<Bson>,
}

struct Prepared {
    hint: Option<Bson>,
    matcher: Matcher,
    sort: Option<(SortSpec, Document)>,
    projection: Option<Projection>,
}

fn prepare(filter: &Document, options: &FindAndModifyOptions) -> Result<Prepared> {
    Ok(Prepared {
        hint: options.hint.clone(),
        matcher: Matcher::new(filter)?,
        sort: match &options.sort {
            Some(s) if !s.is_empty() => Some((SortSpec::parse(s)?, s.clone())),
            _ => None,
        },
        projection: options
            .projection
            .as_ref()
            .map(Projection::parse)
            .transpose()?,
    })
}

fn shape(p: &Option<Projection>, doc: Option<Document>) -> Result<Option<Document>> {
    match (p, doc) {
        (Some(p), Some(d)) => Ok(Some(p.apply(&d, None)?)),
        (_, d) => Ok(d),
    }
}

impl Store {
    /// Updates the first match with an update document or pipeline and returns it.
    pub fn find_one_and_update(
        &self,
        db: &str,
        coll: &str,
        filter: Document,
        update: &Bson,
        options: FindAndModifyOptions,
    ) -> Result<Option<Document>> {
        let parsed = parse_update(update, options.array_filters.as_deref())?;
        self.find_and_modify_with(db, coll, filter, parsed, options)
    }

    /// Replaces the first match and returns it.
    pub fn find_one_and_replace(
        &self,
        db: &str,
        coll: &str,
        filter: Document,
        replacement: Document,
        options: FindAndModifyOptions,
    ) -> Result<Option<Document>> {
        check_replacement(&replacement)?;
        let parsed = parse_update(&Bson::Document(replacement), None)?;
        self.find_and_modify_with(db, coll, filter, parsed, options)
    }

    fn find_and_modify_with(
        &self,
        db: &str,
        coll: &str,
        filter: Document,
        update: stratus_query::update::Update,
        options: FindAndModifyOptions,
    ) -> Result<Option<Document>> {
        let p = prepare(&filter, &options)?;
        catalog::validate_coll_name(db, coll)?;
        let (db, coll) = (db.to_string(), coll.to_string());
        let upsert = options.upsert;
        let after = options.return_document == ReturnDocument::After;
        let result = self.write(move |ctx| {
            let now = bson::DateTime::now();
            let meta = match catalog::get(ctx.kv, &db, &coll)? {
                Some(m) => m,
                None if upsert => catalog::create(ctx.kv, &db, &coll)?,
                None => return Ok(None),
            };
            if let Some(h) = &p.hint {
                crate::crud::check_hint(&meta, h)?;
            }
            let sort = p.sort.as_ref().map(|(s, d)| (s, d));
            let found = find_matches(ctx.kv, &meta, &p.matcher, &filter, sort, Some(1))?;
            let Some(m) = found.into_iter().next() else {
                if !upsert {
                    return Ok(None);
                }
                let doc = upsert_insert(ctx, &meta, &update, &filter, now)?;
                return Ok(if after { Some(doc) } else { None });
            };
            let new = apply_to(ctx, &meta, &update, &m, now)?;
            Ok(Some(if after { new.unwrap_or(m.2) } else { m.2 }))
        })?;
        shape(&p.projection, result)
    }

    /// Deletes the first match and returns it.
    pub fn find_one_and_delete(
        &self,
        db: &str,
        coll: &str,
        filter: Document,
        options: FindAndModifyOptions,
    ) -> Result<Option<Document>> {
        let p = prepare(&filter, &options)?;
        let (db, coll) = (db.to_string(), coll.to_string());
        let result = self.write(move |ctx| {
            let Some(meta) = catalog::get(ctx.kv, &db, &coll)? else {
                return Ok(None);
            };
            if let Some(h) = &p.hint {
                crate::crud::check_hint(&meta, h)?;
            }
            let sort = p.sort.as_ref().map(|(s, d)| (s, d));
            let found = find_matches(ctx.kv, &meta, &p.matcher, &filter, sort, Some(1))?;
            let Some((pk, size, doc, _)) = found.into_iter().next() else {
                return Ok(None);
            };
            remove_doc(ctx, &meta, &doc, &pk, size)?;
            Ok(Some(doc))
        })?;
        shape(&p.projection, result)
    }
}
