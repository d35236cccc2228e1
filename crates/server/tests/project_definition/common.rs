//! Shared helpers: the CONTRACT §4 shop definition and an in-memory [`Database`] on the
//! query crate's engines (the idea of the flow crate's test store, written again here).

use std::sync::Mutex;

use bson::oid::ObjectId;
use bson::{Bson, Document};
use serde_json::Value;
use stratus_flow::Database;
use stratus_flow::services::{
    FindQuery, ServiceError, ServiceErrorKind, UpdateOutcome, UpdateSpec,
};
use stratus_query::filter::Filter;
use stratus_query::pipeline::{MemoryCollections, Pipeline, PipelineOptions};
use stratus_query::sort::SortSpec;
use stratus_query::update::{ApplyContext, Update, UpdateOptions};

/// The shop example of CONTRACT §4 (`tests/fixtures/shop.json`, shared with the runtime and
/// end-to-end tests).
pub(crate) fn shop() -> Value {
    serde_json::from_str(include_str!("../fixtures/shop.json")).expect("the shop fixture is JSON")
}

const DB: &str = "app";

fn bad(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::new(ServiceErrorKind::BadQuery, e.to_string())
}

/// An in-memory store (projection ignored); counts `count` calls.
#[derive(Default)]
pub(crate) struct MemDb {
    mem: MemoryCollections,
    lock: Mutex<()>,
    pub(crate) counts: Mutex<u32>,
}

impl MemDb {
    pub(crate) fn docs(&self, coll: &str) -> Vec<Document> {
        self.mem.documents(DB, coll)
    }
}

impl Database for MemDb {
    fn insert_one(&self, collection: &str, doc: Document) -> Result<Bson, ServiceError> {
        Ok(self.insert_many(collection, vec![doc])?.remove(0))
    }

    fn insert_many(
        &self,
        collection: &str,
        docs: Vec<Document>,
    ) -> Result<Vec<Bson>, ServiceError> {
        let _g = self.lock.lock().expect("lock");
        let mut all = self.docs(collection);
        let mut ids = Vec::new();
        for mut d in docs {
            if !d.contains_key("_id") {
                let mut with = Document::new();
                with.insert("_id", ObjectId::new());
                with.extend(d);
                d = with;
            }
            ids.push(d.get("_id").cloned().unwrap_or(Bson::Null));
            all.push(d);
        }
        self.mem.insert_collection(DB, collection, all);
        Ok(ids)
    }

    fn find(&self, collection: &str, q: &FindQuery) -> Result<Vec<Document>, ServiceError> {
        let f = Filter::parse(&q.filter).map_err(bad)?;
        let mut docs: Vec<Document> = self
            .docs(collection)
            .into_iter()
            .filter(|d| f.matches(d))
            .collect();
        if let Some(s) = &q.sort {
            let spec = SortSpec::parse(s).map_err(bad)?;
            docs.sort_by(|a, b| spec.compare(a, b));
        }
        let skip = usize::try_from(q.skip).unwrap_or(usize::MAX);
        let limit = q
            .limit
            .map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
        Ok(docs.into_iter().skip(skip).take(limit).collect())
    }

    fn count(&self, collection: &str, filter: &Document) -> Result<u64, ServiceError> {
        *self.counts.lock().expect("lock") += 1;
        let f = Filter::parse(filter).map_err(bad)?;
        Ok(self
            .docs(collection)
            .iter()
            .filter(|d| f.matches(d))
            .count() as u64)
    }

    fn aggregate(
        &self,
        collection: &str,
        pipeline: &[Document],
    ) -> Result<Vec<Document>, ServiceError> {
        let stages: Vec<Bson> = pipeline.iter().cloned().map(Bson::Document).collect();
        let p = Pipeline::parse(&stages, &PipelineOptions::default()).map_err(bad)?;
        p.run(self.docs(collection).into_iter(), &self.mem, DB)
            .map_err(bad)
    }

    fn update(
        &self,
        collection: &str,
        filter: &Document,
        update: &UpdateSpec,
        multi: bool,
        _upsert: bool,
    ) -> Result<UpdateOutcome, ServiceError> {
        let _g = self.lock.lock().expect("lock");
        let f = Filter::parse(filter).map_err(bad)?;
        let ub = match update {
            UpdateSpec::Document(d) => Bson::Document(d.clone()),
            UpdateSpec::Pipeline(p) => Bson::Array(p.iter().cloned().map(Bson::Document).collect()),
        };
        let u = Update::parse(&ub, &UpdateOptions::default()).map_err(bad)?;
        let ctx = ApplyContext {
            positional: None,
            is_insert: false,
            now: bson::DateTime::now(),
        };
        let mut all = self.docs(collection);
        let mut out = UpdateOutcome::default();
        for d in all.iter_mut() {
            if f.matches(d) {
                out.matched += 1;
                let r = u.apply(d, &ctx).map_err(bad)?;
                if r.modified {
                    out.modified += 1;
                    *d = r.document;
                }
                if !multi {
                    break;
                }
            }
        }
        self.mem.insert_collection(DB, collection, all);
        Ok(out)
    }

    fn delete(
        &self,
        collection: &str,
        filter: &Document,
        multi: bool,
    ) -> Result<u64, ServiceError> {
        let _g = self.lock.lock().expect("lock");
        let f = Filter::parse(filter).map_err(bad)?;
        let mut n = 0;
        let all: Vec<Document> = self
            .docs(collection)
            .into_iter()
            .filter(|d| {
                if f.matches(d) && (multi || n == 0) {
                    n += 1;
                    false
                } else {
                    true
                }
            })
            .collect();
        self.mem.insert_collection(DB, collection, all);
        Ok(n)
    }
}
