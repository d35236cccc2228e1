//! Copying the request logs for a backup: every environment's segments, each up to the
//! length the catalog lists (so a segment being appended to is copied as a consistent prefix
//! of whole records), into the same layout under a new directory, every file fsync'd.
//!
//! Invariants: the source files are only read; a segment deleted by retention during the
//! copy is left out (its entries had expired); the copy never contains a torn record.

use std::io::{self, Write};
use std::path::Path;

use super::catalog::Catalog;
use super::segment;

/// Copies every environment of `catalog` into `out`; returns the entries copied.
pub(crate) fn copy(catalog: &Catalog, out: &Path) -> io::Result<u64> {
    std::fs::create_dir_all(out)?;
    let mut entries = 0;
    let mut buf = Vec::new();
    for env in catalog.env_names() {
        let snap = catalog.snapshot(&env);
        let dir = out.join(&env);
        std::fs::create_dir_all(&dir)?;
        for seg in &snap.segments {
            if !segment::read_prefix(&seg.path, seg.len, &mut buf)? {
                continue;
            }
            let mut f = std::fs::File::create(dir.join(segment::file_name(seg.number)))?;
            f.write_all(&buf)?;
            f.sync_all()?;
            entries += seg.entries;
        }
        std::fs::File::open(&dir)?.sync_all()?;
    }
    std::fs::File::open(out)?.sync_all()?;
    Ok(entries)
}
