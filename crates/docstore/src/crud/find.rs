//! `find`: filter, sort, skip, limit, projection, batching.
//!
//! The index module's planner picks the access path (`_id` lookups, index scans, or a
//! collection scan). Collection scans are lazy, batch by batch, over one snapshot; index plans
//! collect their (few) matches. The full filter is always applied to every candidate.

use bson::{Bson, Document};

use crate::catalog;
use crate::crud::{Matcher, decode, plan_for};
use crate::cursor::Cursor;
use crate::error::{DocstoreError, Result};
use crate::index::Access;
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
        FindOptions {
            filter,
            ..Default::default()
        }
    }
}

impl Store {
    /// Runs a query; the cursor reads from a snapshot taken now.
    pub fn find(&self, db: &str, coll: &str, options: FindOptions) -> Result<Cursor> {
        let snapshot = self.snapshot()?;
        let limit = match options.limit {
            0 => None,
            l => Some(l.unsigned_abs()),
        };
        let Some(meta) = catalog::get(snapshot.as_ref(), db, coll)? else {
            // Validate the filter even when the collection does not exist, as MongoDB does.
            Matcher::new(&options.filter)?;
            return Ok(Cursor::from_documents(Vec::new(), options.batch_size));
        };
        if options.sort.is_some() || options.projection.is_some() {
            return Err(DocstoreError::bad_value(
                "sort and projection need the query crate's sort/projection modules",
            ));
        }
        let table = meta.docs_table();
        let matcher = Matcher::new(&options.filter)?;
        let plan = plan_for(&meta, &options.filter, options.sort.as_ref());
        if matches!(plan.access, Access::CollScan) {
            // Lazy, batch by batch, over the snapshot.
            return Ok(Cursor::scan(
                snapshot,
                table,
                matcher,
                options.skip,
                limit,
                options.batch_size,
            ));
        }
        // Index plans select few documents: collect the matches, then skip/limit.
        let mut docs = Vec::new();
        let mut skip = options.skip;
        for item in crate::index::execute(&plan, snapshot.as_ref(), &table)? {
            let (_, raw) = item?;
            if !matcher.matches_raw(&table, &raw)? {
                continue;
            }
            if skip > 0 {
                skip -= 1;
                continue;
            }
            if limit.is_some_and(|l| docs.len() as u64 >= l) {
                break;
            }
            docs.push(decode(&table, &raw)?);
        }
        Ok(Cursor::from_documents(docs, options.batch_size))
    }

    /// The first document matching `filter`, if any.
    pub fn find_one(&self, db: &str, coll: &str, filter: Document) -> Result<Option<Document>> {
        let mut c = self.find(
            db,
            coll,
            FindOptions {
                filter,
                limit: 1,
                ..Default::default()
            },
        )?;
        c.next().transpose()
    }
}
