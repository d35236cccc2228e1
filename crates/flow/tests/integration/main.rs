//! Integration tests of the flow engine: golden flows (request in → response out) for every
//! node kind and error path, apiCall against a real local HTTP server, PBKDF2 against the
//! Wycheproof vectors, the trace, budgets, static analysis and property tests.

mod common;
mod golden;
mod http_calls;
mod pbkdf2_vectors;
mod props;
mod runs;
