//! A redb storage backend that serves page reads from a shared, read-only memory map of the
//! database file instead of one `pread` system call per page.
//!
//! redb keeps its own page cache ([`crate::StoreOptions::cache_bytes`]); every page it does
//! not hold is read from the file. With the default backend that is a `pread` per page, which
//! on a data set larger than the cache costs more than the rest of a point read together. Here a
//! cache miss is a `memcpy` out of the kernel's page cache through a `MAP_SHARED` mapping.
//! Everything else (writes, `fsync`, length changes, redb's file locks) is delegated to redb's
//! own [`FileBackend`], so durability and locking are exactly those of the default backend.
//!
//! Invariants:
//! - The mapping reserves more address space than the file is long ([`MIN_RESERVE`], then
//!   doubling), so a growing file needs no new mapping until it outgrows the reservation.
//! - A read copies from the mapping only when it lies wholly inside the file length known to
//!   this backend (`len`, updated under the write lock by [`StorageBackend::set_len`]); any
//!   other read goes to the file. Pages past the end of the file are never touched (touching
//!   them would raise `SIGBUS`).
//! - Shrinking the file happens under the write lock, after `len` is lowered, so no read is
//!   copying from the cut-off range while it is cut off.
//! - The file is redb's, locked by it against other redb opens; nothing else may truncate it
//!   while the store is open (the same rule as for any memory-mapped database, e.g. LMDB). On
//!   a file system where that cannot be promised, turn the map off
//!   ([`crate::StoreOptions::mmap_reads`]).
#![expect(
    unsafe_code,
    reason = "memory-mapping the database file (house style: docstore only)"
)]

use std::fs::File;
use std::ops::Bound;
use std::sync::RwLock;

use memmap2::{Mmap, MmapOptions};
use redb::backends::FileBackend;
use redb::{BackendError, StorageBackend};

/// Smallest address-space reservation of the mapping (virtual memory only; nothing is read
/// or resident until a page is touched).
pub const MIN_RESERVE: u64 = 1 << 30;

/// The map and the file length it may be read up to.
#[derive(Debug)]
struct Mapping {
    /// `None` when mapping failed (then every read goes to the file) or after close.
    map: Option<Mmap>,
    /// Length of the file as last set through this backend.
    len: u64,
}

/// redb's [`FileBackend`] with reads served from a memory map (see the module docs).
#[derive(Debug)]
pub struct MappedFile {
    inner: FileBackend,
    /// A second handle of the same file, for (re)mapping.
    file: File,
    mapping: RwLock<Mapping>,
}

/// Bytes to reserve for a file of `len` bytes.
fn reserve_for(len: u64) -> u64 {
    len.saturating_mul(2).next_power_of_two().max(MIN_RESERVE)
}

/// Maps `reserve` bytes of `file`, or `None` when the system refuses (the reads then use the
/// file).
fn map(file: &File, reserve: u64) -> Option<Mmap> {
    let reserve = usize::try_from(reserve).ok()?;
    // SAFETY: a shared read-only mapping of redb's own file. Reads go only below the file
    // length this backend set (see the module invariants), and no one truncates the file
    // behind redb's lock while it is open. Concurrent writes are redb's copy-on-write page
    // writes, which never target a page a live reader can reach — the same guarantee the
    // `pread` path relies on.
    unsafe { MmapOptions::new().len(reserve).map(file) }.ok()
}

impl MappedFile {
    /// Wraps `file` (opened read-write) for redb.
    pub fn new(file: File) -> std::io::Result<MappedFile> {
        let map_handle = file.try_clone()?;
        let len = map_handle.metadata()?.len();
        let map = map(&map_handle, reserve_for(len));
        let inner = FileBackend::new(file).map_err(std::io::Error::other)?;
        Ok(MappedFile {
            inner,
            file: map_handle,
            mapping: RwLock::new(Mapping { map, len }),
        })
    }

    /// Whether reads are currently served from the map (false when the system refused it).
    pub fn is_mapped(&self) -> bool {
        self.mapping
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .map
            .is_some()
    }
}

impl StorageBackend for MappedFile {
    fn len(&self) -> Result<u64, std::io::Error> {
        self.inner.len()
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), std::io::Error> {
        {
            let mapping = self
                .mapping
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let end = offset.checked_add(out.len() as u64);
            if let (Some(map), Some(end)) = (&mapping.map, end)
                && end <= mapping.len
                && end <= map.len() as u64
            {
                // In bounds of both the file and the map (checked above), so the indexes fit
                // in usize.
                let start = offset as usize;
                out.copy_from_slice(&map[start..start + out.len()]);
                return Ok(());
            }
        }
        self.inner.read(offset, out)
    }

    fn set_len(&self, len: u64) -> Result<(), std::io::Error> {
        let mut mapping = self
            .mapping
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if len < mapping.len {
            // Lower the readable length before cutting the file (module invariants).
            mapping.len = len;
            return self.inner.set_len(len);
        }
        self.inner.set_len(len)?;
        mapping.len = len;
        let outgrown = mapping.map.as_ref().is_some_and(|m| len > m.len() as u64);
        if outgrown {
            mapping.map = map(&self.file, reserve_for(len));
        }
        Ok(())
    }

    fn sync_data(&self) -> Result<(), std::io::Error> {
        self.inner.sync_data()
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), std::io::Error> {
        self.inner.write(offset, data)
    }

    fn close(&self) -> Result<(), std::io::Error> {
        let mut mapping = self
            .mapping
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        mapping.map = None;
        mapping.len = 0;
        self.inner.close()
    }

    fn try_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.inner.try_lock_range(start, end)
    }

    fn try_lock_shared_range(
        &self,
        start: Bound<u64>,
        end: Bound<u64>,
    ) -> Result<bool, BackendError> {
        self.inner.try_lock_shared_range(start, end)
    }

    fn lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.inner.lock_range(start, end)
    }

    fn lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.inner.lock_shared_range(start, end)
    }

    fn unlock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.inner.unlock_range(start, end)
    }

    fn query_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.inner.query_lock_range(start, end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(dir: &tempfile::TempDir) -> (MappedFile, File) {
        let path = dir.path().join("f");
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .expect("open");
        let check = File::open(&path).expect("second handle");
        (MappedFile::new(file).expect("backend"), check)
    }

    fn read(b: &MappedFile, offset: u64, len: usize) -> std::io::Result<Vec<u8>> {
        let mut out = vec![0u8; len];
        b.read(offset, &mut out)?;
        Ok(out)
    }

    #[test]
    fn reads_see_writes_growth_and_shrink() {
        let dir = tempfile::tempdir().expect("dir");
        let (b, _) = open(&dir);
        assert!(b.is_mapped());
        b.set_len(8192).expect("grow");
        b.write(4096, &[7u8; 4096]).expect("write");
        assert_eq!(read(&b, 4096, 4096).expect("read"), vec![7u8; 4096]);
        assert_eq!(read(&b, 0, 4096).expect("read"), vec![0u8; 4096]);
        // Overwrite in place: the map shows the new bytes at once.
        b.write(4096, &[9u8; 16]).expect("overwrite");
        assert_eq!(read(&b, 4096, 16).expect("read"), vec![9u8; 16]);
        // Past the end: an error from the file, never a fault from the map.
        assert!(read(&b, 8192, 1).is_err());
        b.set_len(4096).expect("shrink");
        assert!(read(&b, 4096, 16).is_err());
        assert_eq!(b.len().expect("len"), 4096);
    }

    #[test]
    fn growth_past_the_reservation_remaps() {
        let dir = tempfile::tempdir().expect("dir");
        let (b, _) = open(&dir);
        let big = MIN_RESERVE + 8192;
        b.set_len(big).expect("grow sparse");
        b.write(big - 4096, &[5u8; 4096]).expect("write at the end");
        assert_eq!(read(&b, big - 4096, 4096).expect("read"), vec![5u8; 4096]);
        let mapping = b.mapping.read().expect("lock");
        assert!(mapping.map.as_ref().is_some_and(|m| m.len() as u64 >= big));
    }

    #[test]
    fn bytes_written_outside_the_backend_length_are_read_from_the_file() {
        let dir = tempfile::tempdir().expect("dir");
        let (b, _) = open(&dir);
        // A write past the known length extends the file without set_len: the read must go
        // to the file (the map's length is not trusted past `len`).
        b.write(0, &[3u8; 100]).expect("write");
        assert_eq!(read(&b, 0, 100).expect("read"), vec![3u8; 100]);
    }

    #[test]
    fn close_stops_mapped_reads() {
        let dir = tempfile::tempdir().expect("dir");
        let (b, _) = open(&dir);
        b.set_len(4096).expect("grow");
        b.close().expect("close");
        assert!(!b.is_mapped());
    }
}
