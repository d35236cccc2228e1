//! Stratus's server: the HTTP runtime of user APIs, the admin API, request logs ([`http`]),
//! and the MongoDB wire protocol ([`wire`]) serving the embedded document store to drivers.

pub mod admin;
pub mod control;
pub mod http;
pub mod wire;
