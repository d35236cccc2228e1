//! Document operations of the [`crate::Store`], one file per operation family.
//!
//! Shared helpers: decoding stored documents, compiling filters ([`Matcher`]) and the
//! primitive document writes ([`insert_doc`], [`remove_doc`], [`replace_doc`]) that keep the
//! stats, the secondary indexes and the change feed in step with the data.

pub mod aggregate;
pub mod bulk;
pub mod count_distinct;
pub mod delete;
pub mod find;
pub mod find_and_modify;
mod find_exact;
pub mod indexes;
pub mod insert;
pub mod let_vars;
pub mod modify;
pub mod update;

use bson::{Bson, Document};
use stratus_query::filter::Filter;

use crate::catalog::{CollectionMeta, ID_INDEX_NAME};
use crate::changefeed::{ChangeEvent, ChangeOp};
use crate::error::{DocstoreError, Result};
use crate::keys::primary_key;
use crate::kv::KvRead;
use crate::limits::MAX_DOCUMENT_SIZE;
use crate::secondary;
use crate::store::dup_key_display;
use crate::writer::WriteCtx;

/// Decodes a stored document.
pub(crate) fn decode(table: &str, raw: &[u8]) -> Result<Document> {
    Document::from_reader(raw).map_err(|e| DocstoreError::Corrupt {
        table: table.to_string(),
        detail: e.to_string(),
    })
}

/// A stored document as raw BSON (checked, not decoded).
pub(crate) fn raw_document(table: &str, raw: Vec<u8>) -> Result<bson::RawDocumentBuf> {
    bson::RawDocumentBuf::from_bytes(raw).map_err(|e| DocstoreError::Corrupt {
        table: table.to_string(),
        detail: e.to_string(),
    })
}

/// Decodes only the top-level fields of a stored document named in `fields` (in stored
/// order); used when the reader is known to need nothing else (see
/// `Pipeline::input_fields`).
pub(crate) fn decode_fields(table: &str, raw: &[u8], fields: &[String]) -> Result<Document> {
    let corrupt = |detail: String| DocstoreError::Corrupt {
        table: table.to_string(),
        detail,
    };
    let doc = bson::RawDocument::from_bytes(raw).map_err(|e| corrupt(e.to_string()))?;
    let mut out = Document::new();
    // Fast path: only the wanted elements are built (see `stratus_query::raw`).
    if let Some(selected) = stratus_query::raw::select(doc, fields) {
        for (key, value) in selected {
            let value = Bson::try_from(value).map_err(|e| corrupt(e.to_string()))?;
            out.insert(key, value);
        }
        return Ok(out);
    }
    for element in doc.iter() {
        let (key, value) = element.map_err(|e| corrupt(e.to_string()))?;
        let key = key.as_str();
        if fields.iter().any(|f| f == key) {
            let value = Bson::try_from(value).map_err(|e| corrupt(e.to_string()))?;
            out.insert(key, value);
        }
    }
    Ok(out)
}

/// Encodes a document for storage, enforcing [`MAX_DOCUMENT_SIZE`].
pub(crate) fn encode(doc: &Document) -> Result<Vec<u8>> {
    let raw = doc.to_vec()?;
    if raw.len() > MAX_DOCUMENT_SIZE {
        return Err(DocstoreError::DocumentTooLarge {
            size: raw.len(),
            max: MAX_DOCUMENT_SIZE,
        });
    }
    Ok(raw)
}

/// A compiled filter.
#[derive(Debug, Clone)]
pub(crate) enum Matcher {
    /// `{}`: everything.
    All,
    /// `{_id: <scalar>}` (see [`id_point`]): `_id` equal to the value under MongoDB's rules,
    /// checked without compiling a filter (`_id` is never an array, so equality is all there
    /// is to it).
    IdEq(Bson),
    /// Anything else.
    Filter(Box<Filter>),
}

impl Matcher {
    /// Compiles `filter`.
    pub(crate) fn new(filter: &Document) -> Result<Matcher> {
        if filter.is_empty() {
            Ok(Matcher::All)
        } else if let Some(v) = id_point(filter) {
            Ok(Matcher::IdEq(v.clone()))
        } else {
            Ok(Matcher::Filter(Box::new(Filter::parse(filter)?)))
        }
    }

    /// Whether the stored (raw BSON) document matches, without decoding it.
    pub(crate) fn matches_raw(&self, table: &str, raw: &[u8]) -> Result<bool> {
        match self {
            Matcher::All => Ok(true),
            Matcher::Filter(f) => {
                let doc =
                    bson::RawDocument::from_bytes(raw).map_err(|e| DocstoreError::Corrupt {
                        table: table.to_string(),
                        detail: e.to_string(),
                    })?;
                Ok(f.matches_raw(doc))
            }
            Matcher::IdEq(v) => id_matches_raw(v, table, raw),
        }
    }

    /// Whether the decoded document matches.
    fn id_matches(v: &Bson, doc: &Document) -> bool {
        doc.get("_id")
            .is_some_and(|id| stratus_query::compare::values_equal(id, v))
    }

    /// The match details of `doc` (`None` when it does not match).
    pub(crate) fn details(&self, doc: &Document) -> Option<stratus_query::filter::MatchDetails> {
        match self {
            Matcher::All => Some(stratus_query::filter::MatchDetails::default()),
            Matcher::IdEq(v) => {
                Self::id_matches(v, doc).then(stratus_query::filter::MatchDetails::default)
            }
            Matcher::Filter(f) => f.matches_with_details(doc),
        }
    }

    /// `None` when `doc` does not match; otherwise the array position the positional `$`
    /// operator refers to, if any.
    pub(crate) fn match_details(&self, doc: &Document) -> Option<Option<usize>> {
        match self {
            Matcher::All => Some(None),
            Matcher::IdEq(v) => Self::id_matches(v, doc).then_some(None),
            Matcher::Filter(f) => f.matches_with_details(doc).map(|d| d.elem_match_index),
        }
    }
}

/// A hint must name an existing index (by name or key pattern). The planner still chooses
/// the access path; the hint is validated, not enforced.
pub(crate) fn check_hint(meta: &CollectionMeta, hint: &Bson) -> Result<()> {
    let known = meta.specs().iter().any(|s| match hint {
        Bson::String(name) => &s.name == name,
        Bson::Document(key) => &s.key == key,
        _ => false,
    });
    if known || matches!(hint, Bson::Document(d) if d.contains_key("$natural")) {
        Ok(())
    } else {
        Err(crate::error::DocstoreError::bad_value(
            "hint provided does not correspond to an existing index",
        ))
    }
}

/// Whether the stored document's `_id` equals `v` under MongoDB's rules.
pub(crate) fn id_matches_raw(v: &Bson, table: &str, raw: &[u8]) -> Result<bool> {
    let corrupt = |detail: String| DocstoreError::Corrupt {
        table: table.to_string(),
        detail,
    };
    let doc = bson::RawDocument::from_bytes(raw).map_err(|e| corrupt(e.to_string()))?;
    let Some(id) = stratus_query::raw::raw_get(doc, "_id") else {
        return Ok(false);
    };
    let id = Bson::try_from(id).map_err(|e| corrupt(e.to_string()))?;
    Ok(stratus_query::compare::values_equal(&id, v))
}

/// Checks that `filter` parses (point lookups by `_id` need no parsing).
pub(crate) fn validate_filter(filter: &Document) -> Result<()> {
    if id_point(filter).is_none() {
        Matcher::new(filter)?;
    }
    Ok(())
}

/// The `_id` value when `filter` is exactly `{_id: <scalar>}` (a point lookup).
pub(crate) fn id_point(filter: &Document) -> Option<&Bson> {
    if filter.len() != 1 {
        return None;
    }
    match filter.get("_id")? {
        Bson::Document(_) | Bson::Array(_) | Bson::RegularExpression(_) => None,
        v => Some(v),
    }
}

/// Checks that `id` may be an `_id` (MongoDB refuses arrays, regexes and undefined).
pub(crate) fn validate_id(id: &Bson) -> Result<()> {
    match id {
        Bson::Array(_) => Err(DocstoreError::bad_value("can't use an array for _id")),
        Bson::RegularExpression(_) => Err(DocstoreError::bad_value("can't use a regex for _id")),
        Bson::Undefined => Err(DocstoreError::bad_value("can't use a undefined for _id")),
        Bson::Document(d) => match d.keys().find(|k| k.starts_with('$')) {
            Some(k) => Err(DocstoreError::mongo(
                stratus_query::MongoCode::DollarPrefixedFieldName,
                format!(
                    "_id fields may not contain '$'-prefixed fields: {k} is not valid for storage."
                ),
            )),
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

/// Inserts a new document (with its `_id`) into the collection: unique `_id` check, size
/// limit, stats, secondary indexes and the change event.
pub(crate) fn insert_doc(
    ctx: &mut WriteCtx<'_>,
    meta: &CollectionMeta,
    doc: &Document,
    op: ChangeOp,
) -> Result<()> {
    let id = doc
        .get("_id")
        .ok_or_else(|| DocstoreError::bad_value("document has no _id"))?;
    validate_id(id)?;
    let raw = encode(doc)?;
    let pk = primary_key(id)?;
    let table = meta.docs_table();
    if ctx.kv.get(&table, &pk)?.is_some() {
        return Err(DocstoreError::DuplicateKey {
            ns: meta.ns(),
            index: ID_INDEX_NAME.to_string(),
            key: dup_key_display(&[("_id", id)]),
        });
    }
    ctx.kv.put(&table, &pk, &raw)?;
    ctx.add_stats(meta.id, 1, raw.len() as i64);
    secondary::on_insert(ctx.kv, meta, doc, &pk)?;
    ctx.record(|| ChangeEvent::document(op, &meta.db, &meta.name, id, Some(doc.clone())));
    Ok(())
}

/// Deletes the stored document `old` (stored under `pk`, `old_size` bytes).
pub(crate) fn remove_doc(
    ctx: &mut WriteCtx<'_>,
    meta: &CollectionMeta,
    old: &Document,
    pk: &[u8],
    old_size: usize,
) -> Result<()> {
    ctx.kv.delete(&meta.docs_table(), pk)?;
    ctx.add_stats(meta.id, -1, -(old_size as i64));
    secondary::on_remove(ctx.kv, meta, old, pk)?;
    let id = old.get("_id").cloned().unwrap_or(Bson::Null);
    ctx.record(|| ChangeEvent::document(ChangeOp::Delete, &meta.db, &meta.name, &id, None));
    Ok(())
}

/// Replaces the stored document `old` (under `pk`, `old_size` bytes) by `new` (same `_id`).
pub(crate) fn replace_doc(
    ctx: &mut WriteCtx<'_>,
    meta: &CollectionMeta,
    old: &Document,
    pk: &[u8],
    old_size: usize,
    new: &Document,
    op: ChangeOp,
) -> Result<()> {
    let raw = encode(new)?;
    secondary::on_replace(ctx.kv, meta, old, new, pk)?;
    ctx.kv.put(&meta.docs_table(), pk, &raw)?;
    ctx.add_stats(meta.id, 0, raw.len() as i64 - old_size as i64);
    let id = new.get("_id").cloned().unwrap_or(Bson::Null);
    ctx.record(|| ChangeEvent::document(op, &meta.db, &meta.name, &id, Some(new.clone())));
    Ok(())
}

/// The plan the index module chooses for `filter` (and `sort`) on this collection.
pub(crate) fn plan_for(
    meta: &CollectionMeta,
    filter: &Document,
    sort: Option<&Document>,
) -> crate::index::Plan {
    crate::index::plan(filter, sort, &meta.defs)
}

/// All `(pk, size, doc)` of the collection matching `filter`, read through `kv` (a snapshot
/// or the writer's view) via the chosen plan, in plan order. Stops after `limit` matches.
pub(crate) fn matching_docs(
    kv: &dyn KvRead,
    meta: &CollectionMeta,
    filter: &Document,
    limit: Option<usize>,
) -> Result<Vec<(Vec<u8>, usize, Document)>> {
    let table = meta.docs_table();
    let mut out = Vec::new();
    if limit == Some(0) {
        return Ok(out);
    }
    let matcher = Matcher::new(filter)?;
    let plan = plan_for(meta, filter, None);
    let wanted = limit.map(|l| l as u64);
    for item in crate::index::execute_expecting(&plan, kv, &table, wanted)? {
        let (pk, raw) = item?;
        if matcher.matches_raw(&table, &raw)? {
            let doc = decode(&table, &raw)?;
            out.push((pk, raw.len(), doc));
            if limit.is_some_and(|l| out.len() >= l) {
                break;
            }
        }
    }
    Ok(out)
}
