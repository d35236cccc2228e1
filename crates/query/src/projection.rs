//! Projections of `find` (inclusion, exclusion, `_id` rules, nested paths, `$slice`,
//! `$elemMatch`, positional `$`, aggregation expressions).
