//! Remote key sets: HTTP fetching with limits, and the shared cache with rotation,
//! rate-limited refresh and bounded stale serving.

pub mod cache;
pub mod http;

pub use cache::{EntryStats, JwksCache, JwksPolicy};
pub use http::{FetchError, HttpFetcher, MAX_DOCUMENT_BYTES, check_url};
