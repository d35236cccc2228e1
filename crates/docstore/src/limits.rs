//! Named limits of the document store. Each is documented with the MongoDB behaviour it mirrors.

/// Maximum encoded size of one stored document (MongoDB's 16 MiB `maxBsonObjectSize`).
pub const MAX_DOCUMENT_SIZE: usize = stratus_query::limits::MAX_DOCUMENT_SIZE;

/// Maximum number of queued write operations the writer folds into one transaction (one
/// fsync). Larger groups amortise the fsync further but delay the first caller's ack.
pub const MAX_GROUP_SIZE: usize = 512;

/// Capacity of the writer's submission queue; callers block when it is full (back-pressure).
pub const WRITE_QUEUE_CAPACITY: usize = 4096;

/// How long the writer thread waits after its last commit, with no new write queued, before
/// it asks the engine to settle ([`crate::kv::KvStore::settle`]; for redb one empty durable
/// commit, see [`crate::kv_redb`]).
pub const SETTLE_AFTER: std::time::Duration = std::time::Duration::from_millis(50);

/// Default number of documents per cursor batch (MongoDB's default first batch is 101).
pub const DEFAULT_BATCH_SIZE: usize = 101;

/// Maximum number of change events returned by one `changes_since` call.
pub const MAX_CHANGES_PER_CALL: usize = 10_000;

/// Default of [`crate::StoreOptions::change_retention`]: the change feed keeps the newest this
/// many events; older ones are deleted as new ones arrive (like MongoDB's oplog, a capped
/// window: a follower further behind gets `ChangeHistoryLost`, code 286).
pub const DEFAULT_CHANGE_RETENTION: u64 = 1_000_000;

/// The writer trims the change feed once it holds this many events more than the retention,
/// so the deletes come in runs rather than one per commit.
pub const CHANGE_TRIM_CHUNK: u64 = 1_024;

/// Most change events one commit deletes while trimming (a large backlog — e.g. after the
/// retention was lowered — is worked off over the following commits).
pub const MAX_CHANGE_TRIM_PER_COMMIT: u64 = 8_192;

/// Maximum length of a database name in bytes (MongoDB: 64).
pub const MAX_DATABASE_NAME_LEN: usize = 64;

/// Maximum length of a `db.collection` namespace in bytes (MongoDB: 255).
pub const MAX_NAMESPACE_LEN: usize = 255;

/// Memory a blocking (in-memory) sort of `find` may use, in bytes of BSON (MongoDB: 100 MiB
/// without `allowDiskUse`). Sorts with a limit keep only the best `skip + limit` documents.
pub const MAX_SORT_MEMORY: usize = 100 * 1024 * 1024;
