//! The on-disk format of the request logs: append-only **segment files**, one directory per
//! project environment (`<data-dir>/logs/<env-dir>/<number>.seg`, see
//! [`super::entry::env_dir_name`]).
//!
//! A segment starts with [`MAGIC`] (format version included) followed by records:
//! `len: u32 LE` (body bytes), `crc: u32 LE` (CRC-32 of the body), `body` (one entry as a BSON
//! document, [`super::entry::to_bson`]). Records are only ever appended; a segment is never
//! rewritten, and retention deletes whole files.
//!
//! Invariants:
//! - a record is valid only when it is complete and its checksum matches; [`scan_each`] stops at
//!   the first invalid record, so a torn tail (crash while appending) ends the segment there
//!   and never yields half an entry;
//! - segment numbers increase in write order, so the file names sort oldest first;
//! - nothing here knows about queries or retention: this file reads and writes bytes.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use bson::RawDocument;

/// First bytes of every segment file; the last byte is the format version.
pub const MAGIC: &[u8; 8] = b"STRLOG\x00\x01";

/// Bytes before a record's body: length and checksum.
pub const RECORD_HEADER: usize = 8;

/// Largest record body accepted (a BSON document's own limit); a larger entry is refused
/// and counted as failed.
pub const MAX_RECORD_BYTES: usize = 16 * 1024 * 1024;

/// File extension of segment files.
pub const EXTENSION: &str = "seg";

/// File name of segment `number`: 20 digits, so names sort like numbers.
pub fn file_name(number: u64) -> String {
    format!("{number:020}.{EXTENSION}")
}

/// The segment number of a file name made by [`file_name`], `None` for any other file.
pub fn parse_file_name(name: &str) -> Option<u64> {
    let stem = name.strip_suffix(&format!(".{EXTENSION}"))?;
    if stem.len() != 20 || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    stem.parse().ok()
}

/// The segment files of an environment directory as `(number, path)`, oldest first. A
/// missing directory has none.
pub fn list(dir: &Path) -> io::Result<Vec<(u64, PathBuf)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry?;
        if let Some(n) = entry.file_name().to_str().and_then(parse_file_name) {
            out.push((n, entry.path()));
        }
    }
    out.sort_unstable_by_key(|(n, _)| *n);
    Ok(out)
}

/// Appends the framed record of `body` to `out`.
pub fn encode_record(body: &[u8], out: &mut Vec<u8>) {
    // Callers refuse bodies over MAX_RECORD_BYTES, so the length fits in u32.
    let len = u32::try_from(body.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
    out.extend_from_slice(body);
}

/// One valid record found by [`scan_each`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Record<'a> {
    /// Offset of the record (its header) in the segment.
    pub offset: u64,
    /// The entry as a BSON document.
    pub doc: &'a RawDocument,
}

/// Calls `f` for every valid record of a segment's bytes (`data` starts with [`MAGIC`]), in
/// file order, and returns the length of the valid prefix. Stops at the first incomplete or
/// corrupt record. A file that does not start with [`MAGIC`] has no valid prefix at all.
pub fn scan_each<'a>(data: &'a [u8], mut f: impl FnMut(Record<'a>)) -> u64 {
    if data.len() < MAGIC.len() || &data[..MAGIC.len()] != MAGIC {
        return 0;
    }
    let mut pos = MAGIC.len();
    while let Some(header) = data.get(pos..pos + RECORD_HEADER) {
        let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        let start = pos + RECORD_HEADER;
        let Some(body) = data.get(start..start + len) else {
            break;
        };
        if len > MAX_RECORD_BYTES || crc32fast::hash(body) != crc {
            break;
        }
        let Ok(doc) = RawDocument::from_bytes(body) else {
            break;
        };
        f(Record {
            offset: pos as u64,
            doc,
        });
        pos = start + len;
    }
    pos as u64
}

/// Reads the first `len` bytes of the segment at `path` into `buf` (replacing its contents).
/// `Ok(false)` when the file no longer exists (retention deleted it).
pub fn read_prefix(path: &Path, len: u64, buf: &mut Vec<u8>) -> io::Result<bool> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    buf.clear();
    file.take(len).read_to_end(buf)?;
    Ok(true)
}

/// Reads the record at `offset` of `file` (a record [`scan_each`] found earlier) into `buf`;
/// `Ok(None)` when it is not a valid record.
pub fn read_record_at<'b>(
    file: &mut File,
    offset: u64,
    buf: &'b mut Vec<u8>,
) -> io::Result<Option<&'b RawDocument>> {
    file.seek(SeekFrom::Start(offset))?;
    let mut header = [0u8; RECORD_HEADER];
    file.read_exact(&mut header)?;
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if len > MAX_RECORD_BYTES {
        return Ok(None);
    }
    buf.clear();
    buf.resize(len, 0);
    file.read_exact(buf)?;
    if crc32fast::hash(buf) != crc {
        return Ok(None);
    }
    Ok(RawDocument::from_bytes(buf).ok())
}

/// Creates segment `path` (which must not exist) holding only [`MAGIC`]; returns it open for
/// appending.
pub fn create(path: &Path) -> io::Result<File> {
    let mut f = OpenOptions::new()
        .create_new(true)
        .append(true)
        .open(path)?;
    io::Write::write_all(&mut f, MAGIC)?;
    Ok(f)
}

/// Opens an existing segment for appending after truncating it to `valid` bytes (dropping a
/// torn tail).
pub fn open_for_append(path: &Path, valid: u64) -> io::Result<File> {
    let f = OpenOptions::new().append(true).open(path)?;
    if f.metadata()?.len() != valid {
        f.set_len(valid)?;
        f.sync_data()?;
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use bson::rawdoc;

    use super::*;

    /// The valid records of `data` and the valid length.
    fn scan(data: &[u8]) -> (Vec<Record<'_>>, u64) {
        let mut records = Vec::new();
        let valid = scan_each(data, |r| records.push(r));
        (records, valid)
    }

    fn segment(bodies: &[bson::RawDocumentBuf]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        for b in bodies {
            encode_record(b.as_bytes(), &mut out);
        }
        out
    }

    #[test]
    fn records_round_trip_in_order() {
        let docs = [rawdoc! {"a": 1}, rawdoc! {"b": "two"}, rawdoc! {"c": [3]}];
        let data = segment(&docs);
        let (records, valid) = scan(&data);
        assert_eq!(valid, data.len() as u64);
        let got: Vec<_> = records.iter().map(|r| r.doc.to_owned()).collect();
        assert_eq!(got, docs.to_vec());
        assert_eq!(records[0].offset, MAGIC.len() as u64);
    }

    #[test]
    fn a_torn_or_corrupt_tail_ends_the_segment_at_the_last_good_record() {
        let docs = [rawdoc! {"a": 1}, rawdoc! {"b": 2}];
        let data = segment(&docs);
        let first_end = MAGIC.len() + RECORD_HEADER + docs[0].as_bytes().len();
        // Every truncation point inside the second record keeps exactly the first one.
        for cut in first_end..data.len() {
            let (records, valid) = scan(&data[..cut]);
            assert_eq!(records.len(), 1, "cut at {cut}");
            assert_eq!(valid, first_end as u64);
        }
        // A flipped byte in the second body fails its checksum.
        let mut bad = data.clone();
        let last = bad.len() - 2;
        bad[last] ^= 0x40;
        assert_eq!(scan(&bad).0.len(), 1);
        // A length larger than the data is a torn tail too.
        let mut long = data[..first_end].to_vec();
        long.extend_from_slice(&u32::MAX.to_le_bytes());
        long.extend_from_slice(&[0; 4]);
        assert_eq!(scan(&long).1, first_end as u64);
    }

    #[test]
    fn files_without_the_magic_have_no_records() {
        assert_eq!(scan(b"").1, 0);
        assert_eq!(scan(b"STRLOG\x00\x02").1, 0, "a newer format version");
        let mut other = segment(&[rawdoc! {"a": 1}]);
        other[0] = b'X';
        assert_eq!(scan(&other), (Vec::new(), 0));
    }

    #[test]
    fn file_names_sort_like_numbers_and_parse_back() {
        assert_eq!(file_name(7), "00000000000000000007.seg");
        for n in [0, 1, 9, 10, 123_456, u64::MAX] {
            assert_eq!(parse_file_name(&file_name(n)), Some(n));
        }
        assert!(file_name(9) < file_name(10));
        for bad in [
            "7.seg",
            "00000000000000000007.log",
            "0000000000000000000x.seg",
            "",
        ] {
            assert_eq!(parse_file_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn files_are_created_appended_truncated_and_read_back() -> io::Result<()> {
        let dir = std::env::temp_dir().join(format!("stratus-seg-{}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(file_name(1));
        let mut f = create(&path)?;
        let body = rawdoc! {"x": 1}.into_bytes();
        let mut rec = Vec::new();
        encode_record(&body, &mut rec);
        io::Write::write_all(&mut f, &rec)?;
        io::Write::write_all(&mut f, &rec[..5])?; // a torn second record
        drop(f);
        let mut buf = Vec::new();
        assert!(read_prefix(&path, u64::MAX, &mut buf)?);
        let (records, valid) = scan(&buf);
        assert_eq!(records.len(), 1);
        drop(open_for_append(&path, valid)?);
        assert_eq!(std::fs::metadata(&path)?.len(), valid);
        let mut file = File::open(&path)?;
        let mut body_buf = Vec::new();
        let got = read_record_at(&mut file, MAGIC.len() as u64, &mut body_buf)?;
        assert_eq!(got.map(|d| d.to_owned()), Some(rawdoc! {"x": 1}));
        assert_eq!(list(&dir)?, vec![(1, path.clone())]);
        assert!(!read_prefix(&dir.join(file_name(2)), 10, &mut buf)?);
        assert!(create(&path).is_err(), "never overwrites a segment");
        std::fs::remove_dir_all(&dir)
    }
}
