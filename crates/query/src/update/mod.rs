//! Updates: operator documents (`$set`, `$inc`, `$push`, …, positional `$`, `$[]`,
//! `$[<id>]` with `arrayFilters`), replacement documents and pipeline-style updates.
