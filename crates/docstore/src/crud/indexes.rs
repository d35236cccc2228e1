//! Index management of the [`Store`]: `create_index`, `list_indexes`, `drop_index` and
//! `explain`, delegating key extraction, builds and planning to [`crate::index`].
//!
//! Creating an index builds it over the existing documents inside one writer operation: a
//! unique build that finds duplicates fails with DuplicateKey (11000) naming the key and leaves
//! neither the index nor its metadata behind.

use bson::Document;

use crate::catalog;
use crate::crud::plan_for;
use crate::error::{DocstoreError, Result};
use crate::index::{IndexDef, IndexSpec, build_index_from_table};
use crate::store::Store;

impl Store {
    /// Creates an index (and the collection when absent); returns its name. Creating an
    /// identical index again is a no-op; conflicting ones fail with 85/86.
    pub fn create_index(&self, db: &str, coll: &str, spec: IndexSpec) -> Result<String> {
        catalog::validate_coll_name(db, coll)?;
        let def = IndexDef::compile(&spec)?;
        let (db, coll) = (db.to_string(), coll.to_string());
        self.write(move |ctx| {
            let mut meta = catalog::get_or_create(ctx.kv, &db, &coll)?;
            if spec.check_against(&meta.specs())? {
                return Ok(spec.name);
            }
            let table = meta.index_table(&spec.name);
            // Stale entries cannot exist (ids are never reused), but start from nothing anyway.
            ctx.kv.drop_table(&table)?;
            build_index_from_table(ctx.kv, &table, &meta.ns(), &def, &meta.docs_table())?;
            let mut specs = meta.indexes.clone();
            specs.push(spec.to_document());
            meta.set_indexes(specs)?;
            catalog::put(ctx.kv, &meta)?;
            Ok(spec.name)
        })
    }

    /// The indexes of `db.coll` in `listIndexes` form, `_id_` first.
    pub fn list_indexes(&self, db: &str, coll: &str) -> Result<Vec<Document>> {
        let snap = self.snapshot()?;
        let meta = catalog::require(snap.as_ref(), db, coll)?;
        Ok(meta.specs().iter().map(IndexSpec::to_document).collect())
    }

    /// Drops index `name`; `_id_` cannot be dropped (InvalidOptions 72), an unknown name is
    /// IndexNotFound (27).
    pub fn drop_index(&self, db: &str, coll: &str, name: &str) -> Result<()> {
        if name == catalog::ID_INDEX_NAME {
            return Err(DocstoreError::mongo(
                stratus_query::MongoCode::InvalidOptions,
                "cannot drop _id index",
            ));
        }
        let (db, coll, name) = (db.to_string(), coll.to_string(), name.to_string());
        self.write(move |ctx| {
            let mut meta = catalog::require(ctx.kv, &db, &coll)?;
            let before = meta.indexes.len();
            let specs: Vec<Document> = meta
                .indexes
                .iter()
                .filter(|d| d.get_str("name").ok() != Some(name.as_str()))
                .cloned()
                .collect();
            if specs.len() == before {
                return Err(DocstoreError::IndexNotFound { name });
            }
            ctx.kv.drop_table(&meta.index_table(&name))?;
            meta.set_indexes(specs)?;
            catalog::put(ctx.kv, &meta)?;
            Ok(())
        })
    }

    /// The plan `find(filter, sort)` would use, as MongoDB-shaped explain output
    /// (`{queryPlanner: {winningPlan: …}}`).
    pub fn explain(
        &self,
        db: &str,
        coll: &str,
        filter: &Document,
        sort: Option<&Document>,
    ) -> Result<Document> {
        crate::crud::Matcher::new(filter)?;
        let snap = self.snapshot()?;
        // The entry `find` plans with (its multikey flags are the snapshot's).
        let meta = catalog::get_shared(snap.as_ref(), db, coll)?.ok_or_else(|| {
            crate::error::DocstoreError::NamespaceNotFound {
                ns: format!("{db}.{coll}"),
            }
        })?;
        let plan = plan_for(&meta, filter, sort);
        Ok(crate::index::explain(&plan))
    }
}
