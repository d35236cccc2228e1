//! [`Catalog`]: the in-memory list of every environment's segment files — what exists, how
//! many bytes of each are written, how many entries each holds and their time span. The
//! writer thread updates it after each append, rotation or deletion; queries take a
//! [`Catalog::snapshot`] and read the files without holding the lock.
//!
//! Invariants:
//! - a segment's `len` only grows, and every byte below it is a complete, checksummed record
//!   (the writer publishes `len` after the bytes are written), so a reader that reads `len`
//!   bytes never sees a torn record;
//! - `segments` is oldest first and numbers increase; `entries` of an environment is the sum
//!   of its segments' entries;
//! - the catalog is rebuilt from the files at start ([`Catalog::open`]), so it never disagrees
//!   with the disk for longer than one writer step; sealed segments are taken from their
//!   summaries ([`super::summary`]) when those are intact, without reading the segment.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{PoisonError, RwLock};

use bson::RawDocument;

use super::{segment, summary};

/// What the catalog knows about one segment file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SegmentMeta {
    /// The segment's number (its file name, [`segment::file_name`]).
    pub(crate) number: u64,
    /// The file.
    pub(crate) path: PathBuf,
    /// Bytes written and complete (magic included).
    pub(crate) len: u64,
    /// Entries in the first `len` bytes.
    pub(crate) entries: u64,
    /// Smallest and largest entry `time` (milliseconds since the epoch); meaningless when
    /// `entries` is 0.
    pub(crate) min_ms: i64,
    /// See `min_ms`.
    pub(crate) max_ms: i64,
}

impl SegmentMeta {
    /// A segment holding only the magic bytes.
    pub(crate) fn empty(number: u64, path: PathBuf) -> SegmentMeta {
        SegmentMeta {
            number,
            path,
            len: segment::MAGIC.len() as u64,
            entries: 0,
            min_ms: i64::MAX,
            max_ms: i64::MIN,
        }
    }

    /// Accounts for one more entry at `time_ms`, ending at byte `len`.
    pub(crate) fn add(&mut self, time_ms: i64, len: u64) {
        self.entries += 1;
        self.min_ms = self.min_ms.min(time_ms);
        self.max_ms = self.max_ms.max(time_ms);
        self.len = len;
    }
}

/// One environment's segments, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct EnvLog {
    /// The segments, oldest first.
    pub(crate) segments: Vec<SegmentMeta>,
    /// Highest segment number present in the directory, valid or not (new segments get
    /// higher numbers, so a file this build cannot read is never appended to or replaced).
    pub(crate) last_number: u64,
}

impl EnvLog {
    /// Entries in all segments.
    pub(crate) fn entries(&self) -> u64 {
        self.segments.iter().map(|s| s.entries).sum()
    }

    /// Bytes in all segments.
    pub(crate) fn bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.len).sum()
    }
}

/// The `time` of an entry in milliseconds (entries without one count as the epoch).
pub(crate) fn entry_time_ms(doc: &RawDocument) -> i64 {
    doc.get_datetime("time")
        .map(|d| d.timestamp_millis())
        .unwrap_or(0)
}

/// Every environment's segments, by environment directory name.
#[derive(Debug)]
pub(crate) struct Catalog {
    root: PathBuf,
    envs: RwLock<HashMap<String, EnvLog>>,
}

/// What [`Catalog::open`] found that it could not use (reported by the server's log).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct OpenReport {
    /// Segments whose tail after the last valid record will be cut by the writer.
    pub(crate) torn_tails: Vec<PathBuf>,
    /// Files with a segment name that hold no readable record (another format version, or
    /// corrupt from the start); left untouched.
    pub(crate) unreadable: Vec<PathBuf>,
    /// Sealed segments that had to be scanned for want of an intact summary (written before
    /// summaries existed, or restored from a backup); the request logs write their summaries
    /// so the next start skips them. Whole segments only (no torn tail).
    pub(crate) unsummarized: Vec<SegmentMeta>,
}

impl Catalog {
    /// Scans `root` (created if missing): every subdirectory is an environment, every
    /// segment file in it is read to count its entries and find its valid length — except
    /// sealed segments with an intact summary ([`summary`]), whose summary is used instead.
    pub(crate) fn open(root: &Path) -> io::Result<(Catalog, OpenReport)> {
        std::fs::create_dir_all(root)?;
        let mut envs = HashMap::new();
        let mut report = OpenReport::default();
        let mut buf = Vec::new();
        for entry in std::fs::read_dir(root)? {
            let entry = entry?;
            if !entry.file_type()?.is_dir() {
                continue;
            }
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let mut env = EnvLog::default();
            let files = segment::list(&entry.path())?;
            let newest = files.last().map(|(n, _)| *n);
            for (number, path) in files {
                env.last_number = env.last_number.max(number);
                // A sealed segment (not the newest, which may still be appended to) with an
                // intact summary is not read (summary.rs).
                if Some(number) != newest
                    && let Some(meta) = summary::read(number, &path)
                {
                    env.segments.push(meta);
                    continue;
                }
                if !segment::read_prefix(&path, u64::MAX, &mut buf)? {
                    continue;
                }
                let mut meta = SegmentMeta::empty(number, path.clone());
                let valid = segment::scan_each(&buf, |r| {
                    let end = r.offset + (segment::RECORD_HEADER + r.doc.as_bytes().len()) as u64;
                    meta.add(entry_time_ms(r.doc), end);
                });
                if valid == 0 {
                    report.unreadable.push(path);
                    continue;
                }
                meta.len = valid;
                if valid < buf.len() as u64 {
                    report.torn_tails.push(path);
                } else if Some(number) != newest {
                    report.unsummarized.push(meta.clone());
                }
                env.segments.push(meta);
            }
            envs.insert(name, env);
        }
        Ok((
            Catalog {
                root: root.to_path_buf(),
                envs: RwLock::new(envs),
            },
            report,
        ))
    }

    /// The directory of environment `env`.
    pub(crate) fn env_dir(&self, env: &str) -> PathBuf {
        self.root.join(env)
    }

    /// A copy of `env`'s segment list (empty when the environment has no log yet).
    pub(crate) fn snapshot(&self, env: &str) -> EnvLog {
        let envs = self.envs.read().unwrap_or_else(PoisonError::into_inner);
        envs.get(env).cloned().unwrap_or_default()
    }

    /// Names of the environments with a log.
    pub(crate) fn env_names(&self) -> Vec<String> {
        let envs = self.envs.read().unwrap_or_else(PoisonError::into_inner);
        let mut names: Vec<String> = envs.keys().cloned().collect();
        names.sort();
        names
    }

    /// Runs `f` on `env`'s entry (created empty if missing) under the write lock.
    pub(crate) fn update<R>(&self, env: &str, f: impl FnOnce(&mut EnvLog) -> R) -> R {
        let mut envs = self.envs.write().unwrap_or_else(PoisonError::into_inner);
        match envs.get_mut(env) {
            Some(e) => f(e),
            None => f(envs.entry(env.to_string()).or_default()),
        }
    }

    /// The highest segment number of `env`'s directory (0 when it has none).
    pub(crate) fn last_number(&self, env: &str) -> u64 {
        let envs = self.envs.read().unwrap_or_else(PoisonError::into_inner);
        envs.get(env).map_or(0, |e| e.last_number)
    }

    /// Entries in every environment.
    pub(crate) fn total_entries(&self) -> u64 {
        let envs = self.envs.read().unwrap_or_else(PoisonError::into_inner);
        envs.values().map(EnvLog::entries).sum()
    }

    /// Bytes of the segments of every environment.
    pub(crate) fn total_bytes(&self) -> u64 {
        let envs = self.envs.read().unwrap_or_else(PoisonError::into_inner);
        envs.values().map(EnvLog::bytes).sum()
    }
}

#[cfg(test)]
mod tests {
    use bson::{DateTime, rawdoc};

    use super::*;

    #[test]
    fn open_counts_entries_and_reports_torn_and_unreadable_files() -> io::Result<()> {
        let root = std::env::temp_dir().join(format!("stratus-cat-{}", rand::random::<u64>()));
        let env = root.join("shop__dev");
        std::fs::create_dir_all(&env)?;
        let mut data = segment::MAGIC.to_vec();
        for ms in [30, 10, 20] {
            let d = rawdoc! {"time": DateTime::from_millis(ms)};
            segment::encode_record(d.as_bytes(), &mut data);
        }
        let full = data.len() as u64;
        std::fs::write(env.join(segment::file_name(3)), &data)?;
        data.extend_from_slice(&[1, 2, 3]); // torn tail
        std::fs::write(env.join(segment::file_name(4)), &data)?;
        std::fs::write(env.join(segment::file_name(9)), b"STRLOG\x00\x09later")?;
        std::fs::write(env.join("notes.txt"), b"ignored")?;
        let (cat, report) = Catalog::open(&root)?;
        let snap = cat.snapshot("shop__dev");
        assert_eq!(snap.last_number, 9);
        let got: Vec<_> = snap
            .segments
            .iter()
            .map(|s| (s.number, s.len, s.entries, s.min_ms, s.max_ms))
            .collect();
        assert_eq!(got, vec![(3, full, 3, 10, 30), (4, full, 3, 10, 30)]);
        assert_eq!(report.torn_tails, vec![env.join(segment::file_name(4))]);
        assert_eq!(report.unreadable, vec![env.join(segment::file_name(9))]);
        // 3 is whole and sealed (9 is newer): its summary is missing; 4 is torn.
        let unsummarized: Vec<_> = report.unsummarized.iter().map(|m| m.number).collect();
        assert_eq!(unsummarized, vec![3]);
        assert_eq!(cat.total_entries(), 6);
        assert_eq!(cat.total_bytes(), 2 * full);
        assert_eq!(cat.last_number("shop__dev"), 9);
        assert_eq!(cat.last_number("other"), 0);
        assert_eq!(cat.env_names(), vec!["shop__dev".to_string()]);
        assert_eq!(cat.snapshot("other"), EnvLog::default());
        std::fs::remove_dir_all(&root)
    }

    #[test]
    fn sealed_segments_are_taken_from_intact_summaries_without_reading_them() -> io::Result<()> {
        let root = tempfile::tempdir()?;
        let env = root.path().join("shop__dev");
        std::fs::create_dir_all(&env)?;
        let mut data = segment::MAGIC.to_vec();
        for ms in [10, 20] {
            let d = rawdoc! {"time": DateTime::from_millis(ms)};
            segment::encode_record(d.as_bytes(), &mut data);
        }
        let full = data.len() as u64;
        for n in [1, 2, 3] {
            std::fs::write(env.join(segment::file_name(n)), &data)?;
        }
        // Summaries that differ from what a scan finds (entries 99, span 5..6), so the test
        // sees which one the catalog used.
        let claimed = |n: u64, len: u64| SegmentMeta {
            number: n,
            path: env.join(segment::file_name(n)),
            len,
            entries: 99,
            min_ms: 5,
            max_ms: 6,
        };
        summary::write(&claimed(1, full))?; // sealed, intact: used
        summary::write(&claimed(2, full + 1))?; // sealed, wrong length: scanned
        summary::write(&claimed(3, full))?; // newest segment: always scanned
        let (cat, report) = Catalog::open(root.path())?;
        let unsummarized: Vec<_> = report.unsummarized.iter().map(|m| m.number).collect();
        assert_eq!(unsummarized, vec![2]);
        let got: Vec<_> = cat
            .snapshot("shop__dev")
            .segments
            .iter()
            .map(|s| (s.number, s.len, s.entries, s.min_ms, s.max_ms))
            .collect();
        assert_eq!(
            got,
            vec![
                (1, full, 99, 5, 6),
                (2, full, 2, 10, 20),
                (3, full, 2, 10, 20)
            ]
        );
        Ok(())
    }
}
