//! The document store's error type, with MongoDB's code and code name for every variant.
//!
//! User errors (duplicate keys, missing namespaces, bad input from the query language) carry
//! MongoDB's numeric code and `codeName` so the wire protocol and the HTTP layer can answer
//! like MongoDB; internal errors (storage engine, corrupt data) say so and are routed to
//! [`stratus_types::Code::Internal`].

use stratus_query::{MongoCode, QueryError};
use stratus_types::{Code, ErrorCode};

use crate::kv::KvError;

/// Result alias of the document store.
pub type Result<T, E = DocstoreError> = std::result::Result<T, E>;

/// Everything that can go wrong in the document store.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DocstoreError {
    /// The query language refused a filter, update, projection, sort or pipeline.
    #[error(transparent)]
    Query(#[from] QueryError),
    /// The storage engine failed (I/O, corruption); the message is for the log.
    #[error("{0}")]
    Storage(String),
    /// A stored value could not be decoded.
    #[error("corrupt data in {table}: {detail}")]
    Corrupt {
        /// The table holding the bad value.
        table: String,
        /// What was wrong.
        detail: String,
    },
    /// The file was written by an unknown (newer) format version.
    #[error(
        "unsupported docstore format version {found} (this build reads version {supported}); \
         upgrade Stratus to open this file"
    )]
    UnsupportedFormat {
        /// Version found in the file.
        found: u32,
        /// The newest version this build understands.
        supported: u32,
    },
    /// A unique index (including `_id_`) refused a write.
    #[error("E11000 duplicate key error collection: {ns} index: {index} dup key: {key}")]
    DuplicateKey {
        /// `db.collection`.
        ns: String,
        /// Index name.
        index: String,
        /// The duplicate key, shown like MongoDB: `{ _id: 1 }`.
        key: String,
    },
    /// A document exceeds [`crate::limits::MAX_DOCUMENT_SIZE`].
    #[error("object to insert too large. size in bytes: {size}, max size: {max}")]
    DocumentTooLarge {
        /// Its encoded size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The database or collection does not exist.
    #[error("ns does not exist: {ns}")]
    NamespaceNotFound {
        /// `db.collection` or `db`.
        ns: String,
    },
    /// The collection already exists.
    #[error("Collection {ns} already exists.")]
    NamespaceExists {
        /// `db.collection`.
        ns: String,
    },
    /// A database or collection name is not valid.
    #[error("Invalid namespace specified '{name}': {reason}")]
    InvalidNamespace {
        /// The rejected name.
        name: String,
        /// Why.
        reason: String,
    },
    /// No index with that name.
    #[error("index not found with name [{name}]")]
    IndexNotFound {
        /// The index name asked for.
        name: String,
    },
    /// An index could not be created (bad spec, or a unique build found duplicates).
    #[error("{message}")]
    CannotCreateIndex {
        /// What was wrong.
        message: String,
    },
    /// The writer thread has stopped (the store is shutting down or crashed).
    #[error("the document store writer has stopped")]
    WriterStopped,
    /// The writer's queue is full ([`crate::limits::WRITE_QUEUE_CAPACITY`] writes waiting);
    /// only non-blocking submissions see this — retry later.
    #[error("the document store has too many writes waiting; retry")]
    WriterBusy,
    /// A change-feed token points before the oldest retained event (trimmed history).
    #[error(
        "resume token {token} is no longer in the change feed (oldest retained event: {oldest})"
    )]
    ChangeHistoryLost {
        /// The token asked for.
        token: u64,
        /// The oldest retained sequence number.
        oldest: u64,
    },
    /// A cursor id is not known (expired or exhausted).
    #[error("cursor id {id} not found")]
    CursorNotFound {
        /// The cursor id.
        id: i64,
    },
    /// An `_id` or index key is longer than the storage engine stores (the LMDB engine's key
    /// limit; MongoDB before 4.2 refused index keys over 1024 bytes the same way).
    #[error(
        "key too large to index: an _id or indexed value encodes to {len} bytes, the storage \
         engine's limit is {max}"
    )]
    KeyTooLong {
        /// The encoded key's length.
        len: usize,
        /// The engine's limit.
        max: usize,
    },
}

impl From<KvError> for DocstoreError {
    fn from(e: KvError) -> Self {
        match e {
            KvError::KeyTooLong { len, max, .. } => DocstoreError::KeyTooLong { len, max },
            KvError::Engine(_) => DocstoreError::Storage(e.to_string()),
        }
    }
}

impl From<bson::error::Error> for DocstoreError {
    fn from(e: bson::error::Error) -> Self {
        DocstoreError::Corrupt {
            table: "<bson>".to_string(),
            detail: e.to_string(),
        }
    }
}

impl DocstoreError {
    /// A `BadValue` (2) error from the query language's error type.
    pub fn bad_value(message: impl Into<String>) -> Self {
        DocstoreError::Query(QueryError::bad_value(message))
    }

    /// An error with an explicit MongoDB code.
    pub fn mongo(code: MongoCode, message: impl Into<String>) -> Self {
        DocstoreError::Query(QueryError::new(code, message))
    }

    /// MongoDB's numeric error code.
    pub fn mongo_code(&self) -> i32 {
        match self {
            DocstoreError::Query(q) => q.code.code(),
            DocstoreError::Storage(_) => MongoCode::InternalError.code(),
            DocstoreError::Corrupt { .. } => MongoCode::InvalidBson.code(),
            DocstoreError::UnsupportedFormat { .. } => MongoCode::InternalError.code(),
            DocstoreError::DuplicateKey { .. } => MongoCode::DuplicateKey.code(),
            DocstoreError::DocumentTooLarge { .. } => 10334,
            DocstoreError::NamespaceNotFound { .. } => MongoCode::NamespaceNotFound.code(),
            DocstoreError::NamespaceExists { .. } => MongoCode::NamespaceExists.code(),
            DocstoreError::InvalidNamespace { .. } => MongoCode::InvalidNamespace.code(),
            DocstoreError::IndexNotFound { .. } => 27,
            DocstoreError::CannotCreateIndex { .. } => 67,
            DocstoreError::WriterStopped => 91,
            DocstoreError::WriterBusy => 462,
            DocstoreError::CursorNotFound { .. } => 43,
            DocstoreError::ChangeHistoryLost { .. } => 286,
            DocstoreError::KeyTooLong { .. } => 17280,
        }
    }

    /// MongoDB's `codeName`.
    pub fn code_name(&self) -> String {
        match self {
            DocstoreError::Query(q) => q.code.name(),
            DocstoreError::Storage(_) | DocstoreError::UnsupportedFormat { .. } => {
                MongoCode::InternalError.name()
            }
            DocstoreError::Corrupt { .. } => MongoCode::InvalidBson.name(),
            DocstoreError::DuplicateKey { .. } => MongoCode::DuplicateKey.name(),
            DocstoreError::DocumentTooLarge { .. } => "BSONObjectTooLarge".to_string(),
            DocstoreError::NamespaceNotFound { .. } => MongoCode::NamespaceNotFound.name(),
            DocstoreError::NamespaceExists { .. } => MongoCode::NamespaceExists.name(),
            DocstoreError::InvalidNamespace { .. } => MongoCode::InvalidNamespace.name(),
            DocstoreError::IndexNotFound { .. } => "IndexNotFound".to_string(),
            DocstoreError::CannotCreateIndex { .. } => "CannotCreateIndex".to_string(),
            DocstoreError::WriterStopped => "ShutdownInProgress".to_string(),
            DocstoreError::WriterBusy => "IngressRequestRateLimitExceeded".to_string(),
            DocstoreError::CursorNotFound { .. } => "CursorNotFound".to_string(),
            DocstoreError::ChangeHistoryLost { .. } => "ChangeStreamHistoryLost".to_string(),
            DocstoreError::KeyTooLong { .. } => "KeyTooLong".to_string(),
        }
    }
}

impl ErrorCode for DocstoreError {
    fn code(&self) -> Code {
        match self {
            DocstoreError::Query(q) => q.code(),
            DocstoreError::Storage(_)
            | DocstoreError::Corrupt { .. }
            | DocstoreError::UnsupportedFormat { .. } => Code::Internal,
            DocstoreError::DuplicateKey { .. } => Code::DuplicateKey,
            DocstoreError::DocumentTooLarge { .. } | DocstoreError::KeyTooLong { .. } => {
                Code::PayloadTooLarge
            }
            DocstoreError::NamespaceNotFound { .. }
            | DocstoreError::IndexNotFound { .. }
            | DocstoreError::CursorNotFound { .. }
            | DocstoreError::ChangeHistoryLost { .. } => Code::NotFound,
            DocstoreError::NamespaceExists { .. } => Code::AlreadyExists,
            DocstoreError::InvalidNamespace { .. } | DocstoreError::CannotCreateIndex { .. } => {
                Code::BadQuery
            }
            DocstoreError::WriterStopped | DocstoreError::WriterBusy => Code::Unavailable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_match_mongodb() {
        let cases: Vec<(DocstoreError, i32, &str, Code)> = vec![
            (
                DocstoreError::DuplicateKey {
                    ns: "db.c".into(),
                    index: "_id_".into(),
                    key: "{ _id: 1 }".into(),
                },
                11000,
                "DuplicateKey",
                Code::DuplicateKey,
            ),
            (
                DocstoreError::NamespaceNotFound { ns: "db.c".into() },
                26,
                "NamespaceNotFound",
                Code::NotFound,
            ),
            (
                DocstoreError::NamespaceExists { ns: "db.c".into() },
                48,
                "NamespaceExists",
                Code::AlreadyExists,
            ),
            (
                DocstoreError::IndexNotFound { name: "a_1".into() },
                27,
                "IndexNotFound",
                Code::NotFound,
            ),
            (
                DocstoreError::DocumentTooLarge { size: 1, max: 0 },
                10334,
                "BSONObjectTooLarge",
                Code::PayloadTooLarge,
            ),
            (DocstoreError::bad_value("x"), 2, "BadValue", Code::BadQuery),
            (
                DocstoreError::UnsupportedFormat {
                    found: 9,
                    supported: 1,
                },
                1,
                "InternalError",
                Code::Internal,
            ),
        ];
        let mut cases = cases;
        cases.push((
            DocstoreError::WriterBusy,
            462,
            "IngressRequestRateLimitExceeded",
            Code::Unavailable,
        ));
        cases.push((
            DocstoreError::WriterStopped,
            91,
            "ShutdownInProgress",
            Code::Unavailable,
        ));
        for (err, code, name, http) in cases {
            assert_eq!(err.mongo_code(), code, "{err}");
            assert_eq!(err.code_name(), name, "{err}");
            assert_eq!(ErrorCode::code(&err), http, "{err}");
        }
        let dup = DocstoreError::DuplicateKey {
            ns: "db.coll".into(),
            index: "_id_".into(),
            key: "{ _id: 1 }".into(),
        };
        assert_eq!(
            dup.to_string(),
            "E11000 duplicate key error collection: db.coll index: _id_ dup key: { _id: 1 }"
        );
    }
}
