//! Copying the request logs for a backup: every environment's segments, each up to the
//! length the catalog lists (so a segment being appended to is copied as a consistent prefix
//! of whole records), into the same layout under a new directory, every file fsync'd; sealed
//! segments get their summary ([`super::summary`]) beside the copy.
//!
//! Invariants: the source files are only read; a segment deleted by retention during the
//! copy is left out (its entries had expired); the copy never contains a torn record.

use std::io::{self, Write};
use std::path::Path;

use super::catalog::{Catalog, SegmentMeta};
use super::{segment, summary};

/// Copies every environment of `catalog` into `out`; returns the entries copied.
pub(crate) fn copy(catalog: &Catalog, out: &Path) -> io::Result<u64> {
    std::fs::create_dir_all(out)?;
    let mut entries = 0;
    let mut buf = Vec::new();
    for env in catalog.env_names() {
        let snap = catalog.snapshot(&env);
        let dir = out.join(&env);
        std::fs::create_dir_all(&dir)?;
        let newest = snap.segments.last().map(|s| s.number);
        for seg in &snap.segments {
            if !segment::read_prefix(&seg.path, seg.len, &mut buf)? {
                continue;
            }
            let copy = dir.join(segment::file_name(seg.number));
            let mut f = std::fs::File::create(&copy)?;
            f.write_all(&buf)?;
            f.sync_all()?;
            entries += seg.entries;
            // Sealed segments carry their summary, so a restored server starts without
            // reading them (best effort: a missing summary only costs a scan).
            if Some(seg.number) != newest && buf.len() as u64 == seg.len {
                let meta = SegmentMeta {
                    path: copy,
                    ..seg.clone()
                };
                let _ = summary::write(&meta);
            }
        }
        std::fs::File::open(&dir)?.sync_all()?;
    }
    std::fs::File::open(out)?.sync_all()?;
    Ok(entries)
}
