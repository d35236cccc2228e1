//! The flow engine's [`Database`] implemented on the embedded store: one instance per project
//! environment, bound to that environment's database (`<project>__<env>`), so a flow can only
//! ever reach its own environment's collections (tenant isolation by construction).
//!
//! Error mapping: query-language refusals → `BadQuery` (400), unique-index refusals →
//! `DuplicateKey` (409), everything else → `Internal` (500, cause logged, not answered).

use bson::{Bson, Document};
use stratus_docstore::crud::aggregate::AggregateOptions;
use stratus_docstore::{DocstoreError, FindOptions, Store, UpdateOptions};
use stratus_flow::services::{
    Database, FindQuery, ServiceError, ServiceErrorKind, UpdateOutcome, UpdateSpec,
};

/// The store seen through one environment's database.
#[derive(Debug, Clone)]
pub struct EnvDatabase {
    store: Store,
    db: String,
}

impl EnvDatabase {
    /// Flows of this environment read and write database `db` of `store`.
    pub fn new(store: Store, db: String) -> Self {
        EnvDatabase { store, db }
    }

    /// The database name.
    pub fn name(&self) -> &str {
        &self.db
    }
}

fn service_error(e: DocstoreError) -> ServiceError {
    if e.mongo_code() == DUPLICATE_KEY_CODE {
        return ServiceError::new(ServiceErrorKind::DuplicateKey, e.to_string());
    }
    match e {
        DocstoreError::Query(q) => ServiceError::new(ServiceErrorKind::BadQuery, q.to_string()),
        DocstoreError::DuplicateKey { .. } => {
            ServiceError::new(ServiceErrorKind::DuplicateKey, e.to_string())
        }
        DocstoreError::DocumentTooLarge { .. } | DocstoreError::InvalidNamespace { .. } => {
            ServiceError::new(ServiceErrorKind::BadQuery, e.to_string())
        }
        DocstoreError::WriterBusy => ServiceError::new(ServiceErrorKind::Busy, e.to_string()),
        other => ServiceError::new(ServiceErrorKind::Internal, other.to_string()),
    }
}

/// MongoDB's duplicate-key error code (E11000), however the store wraps it.
const DUPLICATE_KEY_CODE: i32 = 11000;

fn limit_of(limit: Option<u64>) -> i64 {
    limit.map_or(0, |l| i64::try_from(l).unwrap_or(i64::MAX))
}

impl Database for EnvDatabase {
    fn insert_one(&self, collection: &str, doc: Document) -> Result<Bson, ServiceError> {
        self.store
            .insert_one(&self.db, collection, doc)
            .map_err(service_error)
    }

    fn insert_one_async(
        &self,
        collection: &str,
        doc: Document,
    ) -> Result<stratus_flow::services::WriteFuture<Bson>, Document> {
        let pending = self.store.insert_one_pending(&self.db, collection, doc);
        Ok(Box::pin(
            async move { pending.await.map_err(service_error) },
        ))
    }

    fn insert_many(
        &self,
        collection: &str,
        docs: Vec<Document>,
    ) -> Result<Vec<Bson>, ServiceError> {
        let r = self
            .store
            .insert_many(&self.db, collection, docs, true)
            .map_err(service_error)?;
        if let Some(w) = r.write_errors.first() {
            let kind = if w.code == DUPLICATE_KEY_CODE {
                ServiceErrorKind::DuplicateKey
            } else {
                ServiceErrorKind::BadQuery
            };
            return Err(ServiceError::new(kind, w.message.clone()));
        }
        Ok(r.inserted_ids.into_iter().map(|(_, id)| id).collect())
    }

    fn find(&self, collection: &str, query: &FindQuery) -> Result<Vec<Document>, ServiceError> {
        let options = FindOptions {
            filter: query.filter.clone(),
            projection: query.projection.clone(),
            sort: query.sort.clone(),
            skip: query.skip,
            limit: limit_of(query.limit),
            ..FindOptions::default()
        };
        self.store
            .find(&self.db, collection, options)
            .and_then(|c| c.to_vec())
            .map_err(service_error)
    }

    fn count(&self, collection: &str, filter: &Document) -> Result<u64, ServiceError> {
        if filter.is_empty() {
            // The catalog keeps an exact document count: O(1).
            return self
                .store
                .estimated_count(&self.db, collection)
                .map_err(service_error);
        }
        self.store
            .count_documents(&self.db, collection, filter, 0, 0)
            .map_err(service_error)
    }

    fn aggregate(
        &self,
        collection: &str,
        pipeline: &[Document],
    ) -> Result<Vec<Document>, ServiceError> {
        let stages: Vec<Bson> = pipeline.iter().cloned().map(Bson::Document).collect();
        // Tenancy: a flow's pipeline may only name its own environment's database.
        if let Some(other) = stratus_query::pipeline::namespaces::named_databases(&stages)
            .into_iter()
            .find(|d| d != &self.db)
        {
            return Err(ServiceError::new(
                ServiceErrorKind::BadQuery,
                format!(
                    "a pipeline may only use collections of this environment; it names database '{other}'"
                ),
            ));
        }
        self.store
            .aggregate(&self.db, collection, &stages, AggregateOptions::default())
            .and_then(|c| c.to_vec())
            .map_err(service_error)
    }

    fn update(
        &self,
        collection: &str,
        filter: &Document,
        update: &UpdateSpec,
        multi: bool,
        upsert: bool,
    ) -> Result<UpdateOutcome, ServiceError> {
        if let UpdateSpec::Document(d) = update
            && d.keys().next().is_some_and(|k| !k.starts_with('$'))
        {
            // A replacement document (no update operators).
            if multi {
                return Err(ServiceError::new(
                    ServiceErrorKind::BadQuery,
                    "a replacement document can only replace one document (use update operators for updateMany)",
                ));
            }
            let r = self
                .store
                .replace_one(&self.db, collection, filter.clone(), d.clone(), upsert)
                .map_err(service_error)?;
            return Ok(UpdateOutcome {
                matched: r.matched,
                modified: r.modified,
                upserted_id: r.upserted_id,
            });
        }
        let update = match update {
            UpdateSpec::Document(d) => Bson::Document(d.clone()),
            UpdateSpec::Pipeline(p) => Bson::Array(p.iter().cloned().map(Bson::Document).collect()),
        };
        let options = UpdateOptions {
            upsert,
            ..UpdateOptions::default()
        };
        let r = if multi {
            self.store
                .update_many(&self.db, collection, filter.clone(), &update, options)
        } else {
            self.store
                .update_one(&self.db, collection, filter.clone(), &update, options)
        }
        .map_err(service_error)?;
        Ok(UpdateOutcome {
            matched: r.matched,
            modified: r.modified,
            upserted_id: r.upserted_id,
        })
    }

    fn delete(
        &self,
        collection: &str,
        filter: &Document,
        multi: bool,
    ) -> Result<u64, ServiceError> {
        if multi {
            self.store.delete_many(&self.db, collection, filter.clone())
        } else {
            self.store.delete_one(&self.db, collection, filter.clone())
        }
        .map_err(service_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    fn db() -> EnvDatabase {
        EnvDatabase::new(
            Store::open_in_memory().expect("store"),
            "shop__development".into(),
        )
    }

    #[test]
    fn crud_round_trip_and_exact_count() {
        let d = db();
        let id = d.insert_one("p", doc! {"n": 1}).expect("insert");
        assert!(matches!(id, Bson::ObjectId(_)));
        d.insert_many("p", vec![doc! {"n": 2}, doc! {"n": 3}])
            .expect("many");
        assert_eq!(d.count("p", &doc! {}).expect("count"), 3);
        assert_eq!(d.count("p", &doc! {"n": {"$gt": 1}}).expect("count"), 2);
        let q = FindQuery {
            filter: doc! {},
            sort: Some(doc! {"n": -1}),
            limit: Some(2),
            ..FindQuery::default()
        };
        let found = d.find("p", &q).expect("find");
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].get_i32("n").ok(), Some(3));
        let u = d
            .update(
                "p",
                &doc! {"n": 1},
                &UpdateSpec::Document(doc! {"$set": {"m": true}}),
                false,
                false,
            )
            .expect("update");
        assert_eq!((u.matched, u.modified), (1, 1));
        let r = d
            .update(
                "p",
                &doc! {"n": 2},
                &UpdateSpec::Document(doc! {"n": 20}),
                false,
                false,
            )
            .expect("replace");
        assert_eq!((r.matched, r.modified), (1, 1));
        assert_eq!(d.count("p", &doc! {"n": 20}).expect("count"), 1);
        let e = d
            .update(
                "p",
                &doc! {},
                &UpdateSpec::Document(doc! {"n": 0}),
                true,
                false,
            )
            .unwrap_err();
        assert_eq!(e.kind, ServiceErrorKind::BadQuery);
        assert_eq!(d.delete("p", &doc! {}, true).expect("delete"), 3);
    }

    #[test]
    fn pipelines_cannot_name_another_database() {
        let d = db();
        d.insert_one("p", doc! {"n": 1}).expect("insert");
        for stage in [
            doc! {"$lookup": {"from": {"db": "other__development", "coll": "x"}, "as": "y"}},
            doc! {"$out": {"db": "other__development", "coll": "x"}},
            doc! {"$merge": {"into": {"db": "other__development", "coll": "x"}}},
        ] {
            let e = d.aggregate("p", &[stage]).unwrap_err();
            assert_eq!(e.kind, ServiceErrorKind::BadQuery);
            assert!(e.message.contains("other__development"));
        }
        // Naming its own database is fine.
        let own = doc! {"$lookup": {"from": {"db": "shop__development", "coll": "p"}, "localField": "n", "foreignField": "n", "as": "y"}};
        assert_eq!(d.aggregate("p", &[own]).expect("own db").len(), 1);
    }

    #[test]
    fn errors_are_classified() {
        let d = db();
        d.insert_one("p", doc! {"_id": 1}).expect("insert");
        let e = d.insert_one("p", doc! {"_id": 1}).unwrap_err();
        assert_eq!(e.kind, ServiceErrorKind::DuplicateKey);
        assert_eq!(
            service_error(DocstoreError::WriterBusy).kind,
            ServiceErrorKind::Busy
        );
        let e = d
            .find(
                "p",
                &FindQuery {
                    filter: doc! {"a": {"$nope": 1}},
                    ..FindQuery::default()
                },
            )
            .unwrap_err();
        assert_eq!(e.kind, ServiceErrorKind::BadQuery);
        let e = d
            .insert_many("p", vec![doc! {"_id": 2}, doc! {"_id": 1}])
            .unwrap_err();
        assert_eq!(e.kind, ServiceErrorKind::DuplicateKey);
    }
}
