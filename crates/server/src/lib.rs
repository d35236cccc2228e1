//! Stratus's server: the HTTP runtime of user APIs, the admin API, request logs ([`logs`]),
//! project definitions ([`project`]), and the MongoDB wire protocol ([`wire`]) serving the
//! embedded document store to drivers.

pub mod admin;
pub mod app;
pub mod backup;
pub mod config;
pub mod control;
pub mod devmode;
pub mod http;
pub mod logs;
pub mod metrics;
pub mod ops;
pub mod project;
pub mod runtime;
pub mod serve;
pub mod wire;
