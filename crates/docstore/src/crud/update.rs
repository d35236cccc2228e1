//! `update_one` / `update_many` / `replace_one`.
//!
//! Every call is one atomic writer operation: all matched documents are updated or none
//! (e.g. when one update would violate a unique index or the size limit). Upserts insert the
//! document built from the filter's equality fields and the update.

use bson::{Bson, Document};
use stratus_query::sort::SortSpec;

use crate::catalog;
use crate::changefeed::ChangeOp;
use crate::crud::insert::with_id;
use crate::crud::modify::find_matches;
use crate::crud::{Matcher, insert_doc, replace_doc};
use crate::error::{DocstoreError, Result};
use crate::store::Store;
use crate::writer::WriteCtx;

/// Result of an update or replace.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UpdateResult {
    /// Documents that matched the filter.
    pub matched: u64,
    /// Documents actually changed.
    pub modified: u64,
    /// `_id` of the inserted document when an upsert inserted.
    pub upserted_id: Option<Bson>,
}

/// Checks a replacement document: no update operators, and the `_id` (when given) unchanged.
pub(crate) fn check_replacement(replacement: &Document) -> Result<()> {
    if let Some(k) = replacement.keys().find(|k| k.starts_with('$')) {
        return Err(DocstoreError::mongo(
            stratus_query::MongoCode::DollarPrefixedFieldName,
            format!(
                "The dollar ($) prefixed field '{k}' in '{k}' is not allowed in the context of an update's replacement document. Consider using an aggregation pipeline with $replaceWith."
            ),
        ));
    }
    Ok(())
}

/// The replacement stored for `old`: `_id` first (kept from `old`), then the new fields.
pub(crate) fn replaced(old: &Document, replacement: &Document) -> Result<Document> {
    let id = old.get("_id").cloned().unwrap_or(Bson::Null);
    if let Some(new_id) = replacement.get("_id")
        && !stratus_query::compare::values_equal(new_id, &id)
    {
        return Err(DocstoreError::mongo(
            stratus_query::MongoCode::ImmutableField,
            format!(
                "After applying the update, the (immutable) field '_id' was found to have been altered to _id: {new_id}"
            ),
        ));
    }
    let mut out = Document::new();
    out.insert("_id", id);
    for (k, v) in replacement {
        if k != "_id" {
            out.insert(k.clone(), v.clone());
        }
    }
    Ok(out)
}

/// The document an upsert inserts for a replacement: filter equality `_id` (if any) + the
/// replacement.
fn upsert_replacement(filter: &Document, replacement: &Document) -> Document {
    let mut d = Document::new();
    if let Some(id) = replacement.get("_id") {
        d.insert("_id", id.clone());
    } else if let Some(id) = filter.get("_id").filter(|v| !is_operator_doc(v)) {
        d.insert("_id", id.clone());
    }
    for (k, v) in replacement {
        if k != "_id" {
            d.insert(k.clone(), v.clone());
        }
    }
    with_id(d)
}

fn is_operator_doc(v: &Bson) -> bool {
    matches!(v, Bson::Document(d) if d.keys().next().is_some_and(|k| k.starts_with('$')))
}

impl Store {
    /// Replaces the first document matching `filter` by `replacement` (its `_id` is kept).
    pub fn replace_one(
        &self,
        db: &str,
        coll: &str,
        filter: Document,
        replacement: Document,
        upsert: bool,
    ) -> Result<UpdateResult> {
        self.replace_one_with(
            db,
            coll,
            filter,
            replacement,
            ReplaceOptions {
                upsert,
                ..Default::default()
            },
        )
    }

    /// [`Store::replace_one`] with all options (sort picks which match is replaced).
    pub fn replace_one_with(
        &self,
        db: &str,
        coll: &str,
        filter: Document,
        replacement: Document,
        options: ReplaceOptions,
    ) -> Result<UpdateResult> {
        let prepared = PreparedReplace::new(filter, replacement, options)?;
        catalog::validate_coll_name(db, coll)?;
        let (db, coll) = (db.to_string(), coll.to_string());
        self.write(move |ctx| prepared.run(ctx, &db, &coll))
    }
}

/// Options of [`Store::replace_one_with`].
#[derive(Debug, Clone, Default)]
pub struct ReplaceOptions {
    /// Insert when nothing matches.
    pub upsert: bool,
    /// Which matching document to replace first.
    pub sort: Option<Document>,
    /// Index hint; it must name an existing index (validated, not enforced).
    pub hint: Option<Bson>,
}

/// A validated replacement, ready to run inside a write.
pub(crate) struct PreparedReplace {
    filter: Document,
    replacement: Document,
    upsert: bool,
    matcher: Matcher,
    sort: Option<(SortSpec, Document)>,
    hint: Option<Bson>,
}

impl PreparedReplace {
    /// Checks the replacement and the filter.
    pub(crate) fn new(
        filter: Document,
        replacement: Document,
        options: ReplaceOptions,
    ) -> Result<Self> {
        check_replacement(&replacement)?;
        let matcher = Matcher::new(&filter)?;
        let sort = match options.sort {
            Some(s) if !s.is_empty() => Some((SortSpec::parse(&s)?, s)),
            _ => None,
        };
        Ok(PreparedReplace {
            filter,
            replacement,
            upsert: options.upsert,
            matcher,
            sort,
            hint: options.hint,
        })
    }

    /// Runs the replacement inside a write operation.
    pub(crate) fn run(&self, ctx: &mut WriteCtx<'_>, db: &str, coll: &str) -> Result<UpdateResult> {
        let meta = match (catalog::get(ctx.kv, db, coll)?, self.upsert) {
            (Some(m), _) => m,
            (None, true) => catalog::create(ctx.kv, db, coll)?,
            (None, false) => return Ok(UpdateResult::default()),
        };
        if let Some(h) = &self.hint {
            crate::crud::check_hint(&meta, h)?;
        }
        let sort = self.sort.as_ref().map(|(s, d)| (s, d));
        let found = find_matches(ctx.kv, &meta, &self.matcher, &self.filter, sort, Some(1))?;
        let Some((pk, size, old, _)) = found.into_iter().next() else {
            if !self.upsert {
                return Ok(UpdateResult::default());
            }
            let doc = upsert_replacement(&self.filter, &self.replacement);
            let id = doc.get("_id").cloned();
            insert_doc(ctx, &meta, &doc, ChangeOp::Insert)?;
            return Ok(UpdateResult {
                matched: 0,
                modified: 0,
                upserted_id: id,
            });
        };
        let new = replaced(&old, &self.replacement)?;
        let modified = new != old;
        if modified {
            replace_doc(ctx, &meta, &old, &pk, size, &new, ChangeOp::Replace)?;
        }
        Ok(UpdateResult {
            matched: 1,
            modified: u64::from(modified),
            upserted_id: None,
        })
    }
}
