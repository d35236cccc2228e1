//! `find`: filter, sort, skip, limit, projection, batching.
//!
//! The index module's planner picks the access path (`_id` lookups, index scans, or a
//! collection scan). Collection scans are lazy, batch by batch, over one snapshot; index plans
//! collect their (few) matches. The full filter is always applied to every candidate.

use bson::{Bson, Document};

use crate::catalog;
use stratus_query::projection::Projection;
use stratus_query::sort::SortSpec;

use crate::crud::{Matcher, decode, plan_for};
use crate::cursor::Cursor;
use crate::error::{DocstoreError, Result};
use crate::index::Access;
use crate::kv::Snapshot;
use crate::limits::MAX_SORT_MEMORY;
use crate::store::Store;

/// Options of [`Store::find`] (MongoDB's `find` command fields).
#[derive(Debug, Clone, Default)]
pub struct FindOptions {
    /// The query filter (`{}` = everything).
    pub filter: Document,
    /// Projection document.
    pub projection: Option<Document>,
    /// Sort specification.
    pub sort: Option<Document>,
    /// Documents to skip.
    pub skip: u64,
    /// Maximum documents to return; 0 = no limit; negative = its absolute value.
    pub limit: i64,
    /// Documents per batch (0/None = default).
    pub batch_size: Option<usize>,
    /// Index hint (name or key pattern).
    pub hint: Option<Bson>,
}

impl FindOptions {
    /// Options with only a filter.
    pub fn filter(filter: Document) -> Self {
        // Every field spelled out: `..Default::default()` would build (and drop) a second,
        // empty filter document.
        FindOptions {
            filter,
            projection: None,
            sort: None,
            skip: 0,
            limit: 0,
            batch_size: None,
            hint: None,
        }
    }
}

/// Results of at most this many documents in their final order are decoded from the bytes the
/// plan read instead of being read a second time through their keys; larger results keep only
/// their keys in memory.
pub const SMALL_RESULT_LIMIT: u64 = 101;

impl Store {
    /// Runs a query; the cursor reads from a snapshot taken now.
    pub fn find(&self, db: &str, coll: &str, options: FindOptions) -> Result<Cursor> {
        // Parse everything first: bad input fails even on a missing collection. (A plain
        // `{field: scalar}` cannot fail; its matcher is built only if something needs it.)
        let mut matcher = LazyMatcher::new(&options.filter)?;
        let sort = match &options.sort {
            Some(s) if !s.is_empty() => Some(SortSpec::parse(s)?),
            _ => None,
        };
        let projection = match &options.projection {
            Some(p) => Some(Projection::parse(p)?),
            None => None,
        };
        let snapshot = self.snapshot()?;
        let limit = match options.limit {
            0 => None,
            l => Some(l.unsigned_abs()),
        };
        let Some(meta) = catalog::get_shared(snapshot.as_ref(), db, coll)? else {
            return Ok(Cursor::from_documents(Vec::new(), options.batch_size));
        };
        if let Some(hint) = &options.hint {
            crate::crud::check_hint(&meta, hint)?;
        }
        let table = meta.docs_table();
        // `{_id: v}` alone: one lookup, no planning.
        if let (Some(id), None, None, 0) = (
            crate::crud::id_point(&options.filter),
            &sort,
            &options.hint,
            options.skip,
        ) {
            let found: Vec<Vec<u8>> = lookup_id(&snapshot, &table, id)?.into_iter().collect();
            let cursor = Cursor::from_raw(table, found, options.batch_size);
            return projected(cursor, projection, &mut matcher);
        }
        // `{field: value}` answered exactly by a single-field index: read without a plan (the
        // plan would be the same; explain builds it). A hint takes the general path.
        if sort.is_none()
            && options.hint.is_none()
            && let Some(probe) = crate::index::exact_equality(&options.filter, &meta.defs)
        {
            let cursor = crate::crud::find_exact::find_exact(
                snapshot,
                &table,
                &probe,
                options.skip,
                limit,
                options.batch_size,
            )?;
            return projected(cursor, projection, &mut matcher);
        }
        let sort_doc = sort.as_ref().and(options.sort.as_ref());
        let plan = plan_for(&meta, &options.filter, sort_doc);
        let cursor = if matches!(plan.access, Access::CollScan) && sort.is_none() {
            // Lazy, batch by batch, over the snapshot.
            Cursor::scan(
                snapshot,
                table,
                matcher.get()?.clone(),
                options.skip,
                limit,
                options.batch_size,
            )
        } else if sort.is_none() || plan.sort_provided {
            // Results come in their final order. Small results (a point lookup, a small limit,
            // or simply few matches) are decoded from the bytes the plan already read; larger
            // ones keep only the keys and read the documents batch by batch.
            let mut first_raw: Vec<Vec<u8>> = Vec::with_capacity(first_capacity(limit));
            // Candidates of an exact plan match by construction: skip re-checking them.
            let check = if plan.is_exact_for(&options.filter) {
                &Matcher::All
            } else {
                matcher.get()?
            };
            let pks = collect_ordered(
                &snapshot,
                &table,
                check,
                &plan,
                options.skip,
                limit,
                |pk, raw| {
                    if first_raw.len() as u64 <= SMALL_RESULT_LIMIT {
                        first_raw.push(raw);
                    }
                    Ok(pk)
                },
            )?;
            if pks.len() as u64 <= SMALL_RESULT_LIMIT {
                Cursor::from_raw(table, first_raw, options.batch_size)
            } else {
                Cursor::keys(snapshot, table, pks, options.batch_size)
            }
        } else {
            let docs = collect_sorted(
                &snapshot,
                &table,
                matcher.get()?,
                &plan,
                sort.as_ref(),
                options.skip,
                limit,
            )?;
            Cursor::from_documents(docs, options.batch_size)
        };
        projected(cursor, projection, &mut matcher)
    }

    /// The first document matching `filter`, if any.
    pub fn find_one(&self, db: &str, coll: &str, filter: Document) -> Result<Option<Document>> {
        if let Some(found) = self.by_id(db, coll, &filter)? {
            return found
                .map(|(meta, raw)| decode(&meta.docs, &raw))
                .transpose();
        }
        let mut c = self.find(
            db,
            coll,
            FindOptions {
                limit: 1,
                ..FindOptions::filter(filter)
            },
        )?;
        c.next().transpose()
    }

    /// Like [`Store::find_one`], but the document as stored (raw BSON), not decoded.
    pub fn find_one_raw(
        &self,
        db: &str,
        coll: &str,
        filter: Document,
    ) -> Result<Option<bson::RawDocumentBuf>> {
        if let Some(found) = self.by_id(db, coll, &filter)? {
            return found
                .map(|(meta, raw)| crate::crud::raw_document(&meta.docs, raw))
                .transpose();
        }
        let mut c = self.find(
            db,
            coll,
            FindOptions {
                limit: 1,
                batch_size: Some(1),
                ..FindOptions::filter(filter)
            },
        )?;
        Ok(c.next_batch_raw()?.into_iter().next())
    }
}

/// A document found by `_id`: its collection and stored bytes.
type Found = (std::sync::Arc<catalog::CollectionMeta>, Vec<u8>);

impl Store {
    /// For a `{_id: v}` filter, the document (with its table name) looked up directly:
    /// `Some(None)` when there is none; `None` when `filter` is not such a filter.
    fn by_id(&self, db: &str, coll: &str, filter: &Document) -> Result<Option<Option<Found>>> {
        let Some(id) = crate::crud::id_point(filter) else {
            return Ok(None);
        };
        let snapshot = self.snapshot()?;
        let Some(meta) = catalog::get_shared(snapshot.as_ref(), db, coll)? else {
            return Ok(Some(None));
        };
        let found = lookup_id(&snapshot, &meta.docs, id)?;
        Ok(Some(found.map(|raw| (meta, raw))))
    }
}

/// The stored document of `table` whose `_id` is `id`, if any (one key lookup).
fn lookup_id(snapshot: &Snapshot, table: &str, id: &Bson) -> Result<Option<Vec<u8>>> {
    match snapshot.get(table, &crate::keys::primary_key(id)?)? {
        Some(raw) if key_identifies(id) || crate::crud::id_matches_raw(id, table, &raw)? => {
            Ok(Some(raw))
        }
        _ => Ok(None),
    }
}

/// Whether finding `id`'s primary key proves the stored `_id` equals `id`, so re-reading the
/// stored `_id` to compare it can be skipped. The key encoding gives equal keys exactly to
/// values that compare equal (`index::keycodec`, property-tested); this shortcut is taken only
/// for the plain, most common `_id` types, whose encodings are simple and exact (32/64-bit
/// integers, strings, ObjectIds); every other type is re-checked.
fn key_identifies(id: &Bson) -> bool {
    matches!(
        id,
        Bson::Int32(_) | Bson::Int64(_) | Bson::String(_) | Bson::ObjectId(_)
    )
}

/// `cursor` with `projection` applied to each document (positional projections see the
/// match details of `matcher`).
fn projected(
    cursor: Cursor,
    projection: Option<Projection>,
    matcher: &mut LazyMatcher<'_>,
) -> Result<Cursor> {
    Ok(match projection {
        Some(p) if !p.is_identity() => {
            let matcher = matcher.get()?.clone();
            cursor.with_transform(Box::new(move |doc| {
                let details = matcher.details(&doc);
                Ok(p.apply(&doc, details.as_ref())?)
            }))
        }
        _ => cursor,
    })
}

/// The compiled filter of a query, compiled when first needed: a plain `{field: scalar}`
/// (see [`plain_equality`]) always compiles, and a query answered by an exact index plan
/// without a projection never needs it. Any other filter is compiled at once, so its errors
/// come before any reading.
struct LazyMatcher<'f> {
    filter: &'f Document,
    compiled: Option<Matcher>,
}

impl<'f> LazyMatcher<'f> {
    fn new(filter: &'f Document) -> Result<Self> {
        let compiled = if plain_equality(filter) {
            None
        } else {
            Some(Matcher::new(filter)?)
        };
        Ok(LazyMatcher { filter, compiled })
    }

    fn get(&mut self) -> Result<&Matcher> {
        let m = match self.compiled.take() {
            Some(m) => m,
            None => Matcher::new(self.filter)?,
        };
        Ok(self.compiled.insert(m))
    }
}

/// Whether `filter` is one equality of a plain field name (not empty, no `$` prefix) with a
/// string, ObjectId, boolean or 32-bit integer: the filter parser accepts every such filter
/// (a field with a non-document, non-regex value is an equality).
fn plain_equality(filter: &Document) -> bool {
    let mut it = filter.iter();
    let (Some((field, value)), None) = (it.next(), it.next()) else {
        return false;
    };
    !field.is_empty()
        && !field.starts_with('$')
        && matches!(
            value,
            Bson::String(_) | Bson::ObjectId(_) | Bson::Boolean(_) | Bson::Int32(_)
        )
}

/// Results room is made for before the first match: the limit when it is small, otherwise a
/// few, so small results never grow their list (larger ones double from there).
pub(crate) const FIRST_RESULT_CAPACITY: u64 = 16;

/// The starting capacity of a result list of at most `limit` items.
pub(crate) fn first_capacity(limit: Option<u64>) -> usize {
    limit.map_or(FIRST_RESULT_CAPACITY, |l| l.min(FIRST_RESULT_CAPACITY)) as usize
}

/// The matches of a plan whose order is final, after skip/limit, each turned into an item by
/// `take(pk, raw document)`.
fn collect_ordered<T>(
    snapshot: &Snapshot,
    table: &str,
    matcher: &Matcher,
    plan: &crate::index::Plan,
    skip: u64,
    limit: Option<u64>,
    mut take: impl FnMut(Vec<u8>, Vec<u8>) -> Result<T>,
) -> Result<Vec<T>> {
    if limit == Some(0) {
        return Ok(Vec::new());
    }
    let mut out = Vec::with_capacity(first_capacity(limit));
    let mut to_skip = skip;
    let wanted = limit.map(|l| skip.saturating_add(l));
    for item in crate::index::execute_expecting(plan, snapshot.as_ref(), table, wanted)? {
        let (pk, raw) = item?;
        if !matcher.matches_raw(table, &raw)? {
            continue;
        }
        if to_skip > 0 {
            to_skip -= 1;
            continue;
        }
        out.push(take(pk, raw)?);
        // Stop as soon as the limit is reached: the next candidate is never read.
        if limit.is_some_and(|l| out.len() as u64 >= l) {
            break;
        }
    }
    Ok(out)
}

/// Runs a plan whose order is not final: matching documents are sorted in memory, keeping
/// only the best `skip + limit` when there is a limit, within [`MAX_SORT_MEMORY`].
fn collect_sorted(
    snapshot: &Snapshot,
    table: &str,
    matcher: &Matcher,
    plan: &crate::index::Plan,
    sort: Option<&SortSpec>,
    skip: u64,
    limit: Option<u64>,
) -> Result<Vec<Document>> {
    let keep = limit.map(|l| (skip + l) as usize);
    let mut docs: Vec<(usize, Document)> = Vec::new();
    let mut bytes = 0usize;
    let cmp = |a: &(usize, Document), b: &(usize, Document)| match sort {
        Some(s) => s.compare(&a.1, &b.1),
        None => std::cmp::Ordering::Equal,
    };
    for item in crate::index::execute(plan, snapshot.as_ref(), table)? {
        let (_, raw) = item?;
        if !matcher.matches_raw(table, &raw)? {
            continue;
        }
        bytes += raw.len();
        docs.push((raw.len(), decode(table, &raw)?));
        if let Some(k) = keep
            && docs.len() >= 2 * k.max(1)
        {
            // Top-k: sort (stable) and drop what can no longer be in the result.
            docs.sort_by(cmp);
            for (size, _) in docs.drain(k..) {
                bytes -= size;
            }
        }
        if bytes > MAX_SORT_MEMORY {
            return Err(DocstoreError::mongo(
                stratus_query::MongoCode::Location(292),
                format!(
                    "Sort exceeded memory limit of {MAX_SORT_MEMORY} bytes; add an index on the sort fields or a limit"
                ),
            ));
        }
    }
    docs.sort_by(cmp);
    let start = (skip as usize).min(docs.len());
    let mut out: Vec<Document> = docs.into_iter().skip(start).map(|(_, d)| d).collect();
    if let Some(l) = limit {
        out.truncate(l as usize);
    }
    Ok(out)
}
