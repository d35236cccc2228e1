//! Stratus's network servers. For now only the MongoDB wire protocol ([`wire`]), serving the
//! embedded document store to MongoDB drivers and tools.

pub mod logs;
pub mod wire;
