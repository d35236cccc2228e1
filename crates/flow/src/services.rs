//! The services a flow run uses, each behind a small capability trait so that `flow` never
//! imports the engines (ARCHITECTURE §3): the document store ([`Database`]), sub-flows
//! ([`SubflowRegistry`]), outbound HTTP ([`crate::http::HttpConfig`]), and the extension
//! points of node kinds not in this build ([`EventSink`], [`Mailer`], [`SmsSender`],
//! [`ObjectStore`]).
//!
//! [`Database`] is synchronous (the engines are): the executor calls it on tokio's blocking
//! pool. Implementations must be cheap to share (`Arc`).

use std::collections::HashMap;
use std::sync::Arc;

use bson::{Bson, Document};

use crate::budgets::Budgets;
use crate::compile::CompiledFlow;
use crate::http::{HttpClient, HttpConfig};

/// Why a service call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceErrorKind {
    /// The query/update/pipeline is malformed (answers 400).
    BadQuery,
    /// A unique index refused a write (answers 409).
    DuplicateKey,
    /// The database is momentarily overloaded (its write queue is full); retry (answers 503).
    Busy,
    /// Anything else (answers 500).
    Internal,
}

/// A failed service call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ServiceError {
    /// Category.
    pub kind: ServiceErrorKind,
    /// Message (must not contain secrets).
    pub message: String,
}

impl ServiceError {
    /// An error of `kind`.
    pub fn new(kind: ServiceErrorKind, message: impl Into<String>) -> Self {
        ServiceError {
            kind,
            message: message.into(),
        }
    }
}

/// A `find` request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FindQuery {
    /// The filter (`{}` = all).
    pub filter: Document,
    /// Projection, if any.
    pub projection: Option<Document>,
    /// Sort specification, if any.
    pub sort: Option<Document>,
    /// Documents to skip.
    pub skip: u64,
    /// Maximum documents to return (`None` = no limit).
    pub limit: Option<u64>,
}

/// An update: an update document (`{"$set": …}` or a replacement) or a pipeline.
#[derive(Debug, Clone, PartialEq)]
pub enum UpdateSpec {
    /// Update operators or a replacement document.
    Document(Document),
    /// An aggregation-pipeline update.
    Pipeline(Vec<Document>),
}

/// Outcome of an update.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpdateOutcome {
    /// Documents matched.
    pub matched: u64,
    /// Documents modified.
    pub modified: u64,
    /// `_id` of the upserted document, if one was inserted.
    pub upserted_id: Option<Bson>,
}

/// The document store as flows see it (the server implements it on `docstore`; tests use an
/// in-memory one). Collection names are the models' collections of the running environment.
pub trait Database: Send + Sync {
    /// Inserts one document (adding an ObjectId `_id` if absent) and returns its `_id`.
    fn insert_one(&self, collection: &str, doc: Document) -> Result<Bson, ServiceError>;
    /// Starts [`Database::insert_one`] without holding a thread while the write becomes
    /// durable: the future resolves with the `_id` once it is. Engines that cannot give the
    /// document back (`Err(doc)`, the default), and the executor runs the blocking call on the
    /// blocking pool instead.
    fn insert_one_async(
        &self,
        collection: &str,
        doc: Document,
    ) -> std::result::Result<WriteFuture<Bson>, Document> {
        let _ = collection;
        Err(doc)
    }
    /// Inserts documents in order; returns their `_id`s.
    fn insert_many(&self, collection: &str, docs: Vec<Document>)
    -> Result<Vec<Bson>, ServiceError>;
    /// Finds documents.
    fn find(&self, collection: &str, query: &FindQuery) -> Result<Vec<Document>, ServiceError>;
    /// Counts the documents matching `filter`.
    fn count(&self, collection: &str, filter: &Document) -> Result<u64, ServiceError>;
    /// Runs an aggregation pipeline.
    fn aggregate(
        &self,
        collection: &str,
        pipeline: &[Document],
    ) -> Result<Vec<Document>, ServiceError>;
    /// Updates the first (`multi = false`) or every matching document.
    fn update(
        &self,
        collection: &str,
        filter: &Document,
        update: &UpdateSpec,
        multi: bool,
        upsert: bool,
    ) -> Result<UpdateOutcome, ServiceError>;
    /// Deletes the first (`multi = false`) or every matching document; returns the count.
    fn delete(&self, collection: &str, filter: &Document, multi: bool)
    -> Result<u64, ServiceError>;
}

/// A database write in flight ([`Database::insert_one_async`]).
pub type WriteFuture<T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, ServiceError>> + Send>>;

/// Compiled sub-flows by name, for `executeSubflow`.
pub trait SubflowRegistry: Send + Sync {
    /// The compiled sub-flow called `name`.
    fn get(&self, name: &str) -> Option<Arc<CompiledFlow>>;
}

impl SubflowRegistry for HashMap<String, Arc<CompiledFlow>> {
    fn get(&self, name: &str) -> Option<Arc<CompiledFlow>> {
        HashMap::get(self, name).cloned()
    }
}

/// Extension point of `fireEvent` (queues such as SQS): not implemented in this build.
pub trait EventSink: Send + Sync {
    /// Sends `message` to `queue`; returns the message id.
    fn send(&self, queue: &str, message: &Bson) -> Result<String, ServiceError>;
}

/// Extension point of `sendEmail` (SMTP/SES): not implemented in this build.
pub trait Mailer: Send + Sync {
    /// Sends a message; returns its id.
    fn send(
        &self,
        from: &str,
        to: &[String],
        subject: &str,
        body: &str,
    ) -> Result<String, ServiceError>;
}

/// Extension point of `sendSms` (SNS): not implemented in this build.
pub trait SmsSender: Send + Sync {
    /// Sends `message` to an E.164 number; returns the message id.
    fn send(&self, phone: &str, message: &str) -> Result<String, ServiceError>;
}

/// Extension point of `getPresignedUrl`, `postPresignedUrl`, `deleteStorageObjects`: not
/// implemented in this build.
pub trait ObjectStore: Send + Sync {
    /// A presigned GET URL for `key`, valid `expires_secs`.
    fn presign_get(
        &self,
        bucket: &str,
        key: &str,
        expires_secs: u64,
    ) -> Result<String, ServiceError>;
    /// Deletes objects; returns the keys deleted.
    fn delete(&self, bucket: &str, keys: &[String]) -> Result<Vec<String>, ServiceError>;
}

/// Everything a run may use. Cheap to clone (all `Arc`s).
#[derive(Clone)]
pub struct Services {
    /// The document store (database nodes fail with `service_unavailable` without one).
    pub db: Option<Arc<dyn Database>>,
    /// Compiled sub-flows.
    pub subflows: Option<Arc<dyn SubflowRegistry>>,
    /// Outbound HTTP client of `apiCall`.
    pub http: HttpClient,
    /// Per-run budgets.
    pub budgets: Budgets,
    /// Run bounded reads (`fetchById`, `findOne`, `findMany`, `listRecords`) on the calling
    /// async worker instead of the blocking pool. Right for stores whose reads never block
    /// (the embedded store: MVCC snapshots); wrong for a network database.
    pub inline_reads: bool,
}

impl Services {
    /// Services with no database and no sub-flows, default budgets and the default (strict)
    /// outbound policy.
    pub fn new() -> Result<Self, String> {
        Ok(Services {
            db: None,
            subflows: None,
            http: HttpClient::new(HttpConfig::default())?,
            budgets: Budgets::default(),
            inline_reads: false,
        })
    }

    /// Sets the database.
    pub fn with_db(mut self, db: Arc<dyn Database>) -> Self {
        self.db = Some(db);
        self
    }

    /// Sets the sub-flow registry.
    pub fn with_subflows(mut self, s: Arc<dyn SubflowRegistry>) -> Self {
        self.subflows = Some(s);
        self
    }

    /// Sets the outbound HTTP configuration.
    pub fn with_http(mut self, config: HttpConfig) -> Result<Self, String> {
        self.http = HttpClient::new(config)?;
        Ok(self)
    }

    /// Runs bounded reads on the calling worker (see [`Services::inline_reads`]).
    pub fn with_inline_reads(mut self, inline: bool) -> Self {
        self.inline_reads = inline;
        self
    }

    /// Sets the budgets.
    pub fn with_budgets(mut self, b: Budgets) -> Self {
        self.budgets = b;
        self
    }
}
