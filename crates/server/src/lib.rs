//! Stratus's network servers: the MongoDB wire protocol ([`wire`]), serving the embedded
//! document store to MongoDB drivers and tools, and project definitions ([`project`]), the
//! compiled form the user-API runtime serves.

pub mod project;
pub mod wire;
