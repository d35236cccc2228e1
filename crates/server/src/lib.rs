//! Stratus's server: the HTTP runtime of user APIs, the admin API, request logs ([`logs`]),
//! and the MongoDB wire protocol ([`wire`]) serving the embedded document store to drivers.

pub mod config;
pub mod http;
pub mod logs;
pub mod metrics;
pub mod runtime;
pub mod wire;
