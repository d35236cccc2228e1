//! Shared test helpers: an in-memory [`Database`] on the query crate's engines, and a golden
//! case runner.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bson::oid::ObjectId;
use bson::{Bson, Document};
use stratus_flow::services::{
    FindQuery, ServiceError, ServiceErrorKind, UpdateOutcome, UpdateSpec,
};
use stratus_flow::{Database, RequestData, RunInput, Services};
use stratus_query::filter::Filter;
use stratus_query::pipeline::{MemoryCollections, Pipeline, PipelineOptions};
use stratus_query::sort::SortSpec;
use stratus_query::update::{ApplyContext, Update, UpdateOptions};

/// The database name of the in-memory store.
const DB: &str = "app";

/// An in-memory store (projection is ignored; everything else uses the real engines).
#[derive(Default)]
pub(crate) struct MemDb {
    pub(crate) mem: MemoryCollections,
    lock: Mutex<()>,
}

fn bad(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::new(ServiceErrorKind::BadQuery, e.to_string())
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
            let id = d.get("_id").cloned().unwrap_or(Bson::Null);
            if all.iter().any(|x| x.get("_id") == Some(&id)) {
                return Err(ServiceError::new(
                    ServiceErrorKind::DuplicateKey,
                    format!("E11000 duplicate key: _id {id}"),
                ));
            }
            ids.push(id);
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
        upsert: bool,
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
        if out.matched == 0 && upsert {
            let mut d = u.upsert_document(filter, &ctx).map_err(bad)?;
            if !d.contains_key("_id") {
                d.insert("_id", ObjectId::new());
            }
            out.upserted_id = d.get("_id").cloned();
            all.push(d);
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

/// Converts JSON (Extended JSON allowed) to a document.
pub(crate) fn doc(v: &serde_json::Value) -> Document {
    match Bson::try_from(v.clone()).expect("valid Extended JSON") {
        Bson::Document(d) => d,
        other => panic!("expected an object, got {other}"),
    }
}

/// A run input from a golden case's `request`, `secrets`, `tokenData`.
pub(crate) fn input(case: &serde_json::Value) -> RunInput {
    let r = &case["request"];
    let obj = |k: &str| {
        if r[k].is_object() {
            doc(&r[k])
        } else {
            Document::new()
        }
    };
    RunInput {
        request: RequestData {
            method: r["method"].as_str().unwrap_or("POST").to_string(),
            path: r["path"].as_str().unwrap_or("/").to_string(),
            body: if r["body"].is_null() {
                Bson::Null
            } else {
                stratus_flow::output::from_json(&r["body"])
            },
            query_params: obj("queryParams"),
            path_params: obj("pathParams"),
            headers: obj("headers"),
        },
        token_data: case["tokenData"]
            .is_object()
            .then(|| doc(&case["tokenData"])),
        secrets: if case["secrets"].is_object() {
            doc(&case["secrets"])
        } else {
            Document::new()
        },
    }
}

/// Services with an in-memory database seeded from `case.seed` and the case's sub-flows.
pub(crate) fn services(case: &serde_json::Value) -> (Services, Arc<MemDb>) {
    let db = Arc::new(MemDb::default());
    if let Some(seed) = case["seed"].as_object() {
        for (coll, docs) in seed {
            let docs: Vec<Document> = docs
                .as_array()
                .expect("seed array")
                .iter()
                .map(doc)
                .collect();
            db.mem.insert_collection(DB, coll, docs);
        }
    }
    let mut s = Services::new().expect("services").with_db(db.clone());
    if let Some(subs) = case["subflows"].as_array() {
        let specs: Vec<stratus_flow::SubflowSpec> = subs
            .iter()
            .map(|v| serde_json::from_value(v.clone()).expect("subflow spec"))
            .collect();
        let set: HashMap<String, Arc<stratus_flow::CompiledFlow>> =
            stratus_flow::compile_subflows(&specs).unwrap_or_else(|e| panic!("sub-flows: {e:?}"));
        s = s.with_subflows(Arc::new(set));
    }
    if let Some(b) = case["budgets"].as_object() {
        let mut budgets = stratus_flow::Budgets::default();
        if let Some(n) = b
            .get("maxNodeExecutions")
            .and_then(serde_json::Value::as_u64)
        {
            budgets.max_node_executions = n;
        }
        if let Some(n) = b
            .get("maxLoopIterations")
            .and_then(serde_json::Value::as_u64)
        {
            budgets.max_loop_iterations = n;
        }
        if let Some(n) = b.get("timeoutMs").and_then(serde_json::Value::as_u64) {
            budgets.timeout = std::time::Duration::from_millis(n);
        }
        if let Some(n) = b
            .get("maxResponseBytes")
            .and_then(serde_json::Value::as_u64)
        {
            budgets.max_response_bytes = usize::try_from(n).expect("size");
        }
        s = s.with_budgets(budgets);
    }
    (s, db)
}
