//! Answering a [`LogQuery`] from the segment files of one environment: the segments of a
//! [`Catalog::snapshot`] are read oldest first (segments outside the query's time range or
//! wholly expired are skipped without reading), every visible entry is matched against the
//! query's filter on its raw BSON, the matches are ordered newest first, and only the
//! requested page is decoded.
//!
//! Invariants:
//! - visibility is exact even between retention passes: entries older than the age limit and
//!   entries beyond the newest `max_entries_per_env` (in write order) are never returned or
//!   counted, whether or not retention has deleted their segment yet;
//! - memory is bounded by one segment's bytes plus 24 bytes per match, whatever the log size;
//! - a segment deleted by retention while the query runs is treated as empty.

use std::collections::HashMap;
use std::fs::File;
use std::io;

use bson::Document;
use stratus_query::filter::Filter;

use super::catalog::{Catalog, entry_time_ms};
use super::entry::to_json;
use super::error::LogError;
use super::query::{LogPage, LogQuery};
use super::segment;

/// Which entries a query may see (the retention policy as of the query).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Visibility {
    /// Entries with an earlier `time` (milliseconds) are expired.
    pub(crate) cutoff_ms: i64,
    /// Only the newest this many entries (write order) are visible.
    pub(crate) max_entries: u64,
}

/// A matching entry: its time and where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Hit {
    time_ms: i64,
    segment: u64,
    offset: u64,
}

/// Runs `q` over environment `env` of `catalog`.
pub(crate) fn run(
    catalog: &Catalog,
    env: &str,
    q: &LogQuery,
    vis: Visibility,
) -> Result<LogPage, LogError> {
    let filter =
        Filter::parse(&q.to_filter()).map_err(|e| LogError::InvalidQuery(e.to_string()))?;
    let from_ms = q.from.map(|d| d.timestamp_millis());
    let to_ms = q.to.map(|d| d.timestamp_millis());
    let snap = catalog.snapshot(env);
    // Entries before this many (in write order) are beyond the count limit.
    let mut hidden = snap.entries().saturating_sub(vis.max_entries);
    let mut hits: Vec<Hit> = Vec::new();
    let mut buf = Vec::new();
    for seg in &snap.segments {
        let wholly_hidden = hidden >= seg.entries;
        let outside = seg.entries == 0
            || seg.max_ms < vis.cutoff_ms
            || from_ms.is_some_and(|f| seg.max_ms < f)
            || to_ms.is_some_and(|t| seg.min_ms >= t);
        if wholly_hidden || outside {
            hidden = hidden.saturating_sub(seg.entries);
            continue;
        }
        if !segment::read_prefix(&seg.path, seg.len, &mut buf)? {
            hidden = hidden.saturating_sub(seg.entries);
            continue;
        }
        segment::scan_each(&buf, |r| {
            if hidden > 0 {
                hidden -= 1;
                return;
            }
            let time_ms = entry_time_ms(r.doc);
            if time_ms >= vis.cutoff_ms && filter.matches_raw(r.doc) {
                hits.push(Hit {
                    time_ms,
                    segment: seg.number,
                    offset: r.offset,
                });
            }
        });
    }
    let total = hits.len() as u64;
    // Newest first; equal times in reverse write order.
    hits.sort_unstable_by(|a, b| b.cmp(a));
    let start = usize::try_from(q.offset).unwrap_or(usize::MAX);
    let limit = usize::try_from(q.limit).unwrap_or(usize::MAX);
    let page = hits.iter().skip(start).take(limit);
    let paths: HashMap<u64, &std::path::Path> = snap
        .segments
        .iter()
        .map(|s| (s.number, s.path.as_path()))
        .collect();
    let mut files: HashMap<u64, Option<File>> = HashMap::new();
    let mut data = Vec::new();
    for hit in page {
        let file = files
            .entry(hit.segment)
            .or_insert_with(|| paths.get(&hit.segment).and_then(|p| File::open(p).ok()));
        let Some(file) = file.as_mut() else {
            continue; // deleted by retention meanwhile
        };
        match segment::read_record_at(file, hit.offset, &mut buf) {
            Ok(Some(raw)) => {
                let doc = Document::try_from(raw)
                    .map_err(|e| LogError::Io(io::Error::new(io::ErrorKind::InvalidData, e)))?;
                data.push(to_json(&doc));
            }
            Ok(None) => {}
            Err(e) => return Err(LogError::Io(e)),
        }
    }
    Ok(LogPage { data, total })
}
