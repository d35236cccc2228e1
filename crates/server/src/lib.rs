//! Stratus's network servers: the MongoDB wire protocol ([`wire`]), serving the embedded
//! document store to MongoDB drivers and tools, and the request logs of user APIs ([`logs`]).

pub mod logs;
pub mod wire;
