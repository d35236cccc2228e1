//! Summaries of sealed segments: `<number>.sum` beside `<number>.seg`, written when the writer
//! seals a segment (rotation), so that start-up ([`super::catalog::Catalog::open`]) learns a
//! sealed segment's length, entry count and time span without reading the segment.
//!
//! Format: [`MAGIC`], then `len: u64`, `entries: u64`, `min_ms: i64`, `max_ms: i64` (all little
//! endian), then `crc: u32 LE`, the CRC-32 of everything before it — 48 bytes.
//!
//! Invariants:
//! - a summary is only a cache of what scanning the segment would find: any doubt (missing,
//!   wrong size, wrong magic or checksum, or a segment whose length on disk differs from the
//!   summary's) means "scan the segment", never an error;
//! - it is written to a temporary name and renamed into place, so a crash leaves either no
//!   summary or a whole one; it is not fsynced (losing it only costs a scan);
//! - the segment it describes was synced before its summary is written, and sealed segments
//!   are never appended to again.

use std::io;
use std::path::{Path, PathBuf};

use super::catalog::SegmentMeta;

/// First bytes of a summary file; the last byte is the format version.
pub(super) const MAGIC: &[u8; 8] = b"STRSUM\x00\x01";

/// File extension of summary files.
pub(super) const EXTENSION: &str = "sum";

/// Bytes of a summary file.
const SIZE: usize = 8 + 4 * 8 + 4;

/// The summary path of the segment at `segment`.
pub(super) fn path_of(segment: &Path) -> PathBuf {
    segment.with_extension(EXTENSION)
}

/// Writes the summary of the sealed segment `meta` (see the module invariants).
pub(super) fn write(meta: &SegmentMeta) -> io::Result<()> {
    let mut data = Vec::with_capacity(SIZE);
    data.extend_from_slice(MAGIC);
    data.extend_from_slice(&meta.len.to_le_bytes());
    data.extend_from_slice(&meta.entries.to_le_bytes());
    data.extend_from_slice(&meta.min_ms.to_le_bytes());
    data.extend_from_slice(&meta.max_ms.to_le_bytes());
    data.extend_from_slice(&crc32fast::hash(&data).to_le_bytes());
    let path = path_of(&meta.path);
    let tmp = path.with_extension("sum.tmp");
    std::fs::write(&tmp, &data)?;
    std::fs::rename(&tmp, &path)
}

/// The summary of segment `number` at `segment`, when one exists, is intact and agrees with
/// the segment's length on disk; `None` otherwise (then the caller scans the segment).
pub(super) fn read(number: u64, segment: &Path) -> Option<SegmentMeta> {
    let data = std::fs::read(path_of(segment)).ok()?;
    if data.len() != SIZE || &data[..8] != MAGIC {
        return None;
    }
    let (body, crc) = data.split_at(SIZE - 4);
    if crc32fast::hash(body).to_le_bytes() != crc {
        return None;
    }
    let word = |i: usize| -> Option<[u8; 8]> { body.get(8 + i * 8..16 + i * 8)?.try_into().ok() };
    let len = u64::from_le_bytes(word(0)?);
    let entries = u64::from_le_bytes(word(1)?);
    let min_ms = i64::from_le_bytes(word(2)?);
    let max_ms = i64::from_le_bytes(word(3)?);
    if std::fs::metadata(segment).ok()?.len() != len {
        return None;
    }
    Some(SegmentMeta {
        number,
        path: segment.to_path_buf(),
        len,
        entries,
        min_ms,
        max_ms,
    })
}

/// Removes the summary of the segment at `segment`, if any.
pub(super) fn remove(segment: &Path) {
    // A summary left behind is harmless: it is only read beside an existing segment of the
    // same length, and new segments get new numbers.
    let _ = std::fs::remove_file(path_of(segment));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(dir: &Path, len: u64) -> io::Result<SegmentMeta> {
        let path = dir.join(super::super::segment::file_name(7));
        std::fs::write(&path, vec![0u8; len as usize])?;
        Ok(SegmentMeta {
            number: 7,
            path,
            len,
            entries: 42,
            min_ms: -5,
            max_ms: 1_700_000_000_000,
        })
    }

    #[test]
    fn round_trip_and_every_doubt_means_none() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let m = meta(dir.path(), 100)?;
        assert_eq!(read(7, &m.path), None, "no summary yet");
        write(&m)?;
        assert_eq!(read(7, &m.path), Some(m.clone()));
        assert!(!path_of(&m.path).with_extension("sum.tmp").exists());
        // The segment's length on disk disagrees: not trusted.
        std::fs::write(&m.path, vec![0u8; 101])?;
        assert_eq!(read(7, &m.path), None);
        std::fs::write(&m.path, vec![0u8; 100])?;
        // Any flipped byte fails the checksum or the magic.
        let good = std::fs::read(path_of(&m.path))?;
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x40;
            std::fs::write(path_of(&m.path), &bad)?;
            assert_eq!(read(7, &m.path), None, "byte {i}");
        }
        std::fs::write(path_of(&m.path), &good[..good.len() - 1])?;
        assert_eq!(read(7, &m.path), None, "short file");
        std::fs::write(path_of(&m.path), &good)?;
        assert!(read(7, &m.path).is_some());
        remove(&m.path);
        assert_eq!(read(7, &m.path), None);
        remove(&m.path); // twice is fine
        Ok(())
    }
}
