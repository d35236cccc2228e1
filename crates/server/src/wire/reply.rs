//! Command replies and their BSON encoding.
//!
//! Most commands answer with a [`Document`]. Query cursors (`find`, `getMore`, `aggregate`)
//! answer with a [`CursorReply`] whose documents stay the raw BSON the store handed out: the
//! reply is written straight into the connection's output buffer, so a stored document is
//! copied once on its way to the socket and never decoded or re-encoded.
//!
//! Invariant: a [`CursorReply`] encodes to exactly the bytes of the equivalent [`Document`]
//! `{cursor: {id, ns, firstBatch|nextBatch: [...], postBatchResumeToken?}, ok: 1.0}` (the
//! unit tests compare them byte for byte).

use bson::{Document, RawDocumentBuf};

/// BSON element type bytes used by the hand-written encoder.
const BSON_DOUBLE: u8 = 0x01;
const BSON_STRING: u8 = 0x02;
const BSON_DOCUMENT: u8 = 0x03;
const BSON_ARRAY: u8 = 0x04;
const BSON_INT64: u8 = 0x12;

/// A command's reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// A reply document (`ok` is added by the dispatcher when missing).
    Doc(Document),
    /// A query cursor's batch (always `ok: 1`).
    Cursor(CursorReply),
}

impl From<Document> for Reply {
    fn from(d: Document) -> Self {
        Reply::Doc(d)
    }
}

/// A `{cursor: {id, ns, firstBatch|nextBatch}, ok: 1}` reply carrying raw documents.
#[derive(Debug, Clone, PartialEq)]
pub struct CursorReply {
    /// The cursor id (0 = exhausted).
    pub id: i64,
    /// `db.collection`.
    pub ns: String,
    /// `firstBatch` (true) or `nextBatch` (false).
    pub first: bool,
    /// The documents, as stored.
    pub batch: Vec<RawDocumentBuf>,
    /// `cursor.postBatchResumeToken` (change streams).
    pub post_batch_resume_token: Option<Document>,
}

impl Reply {
    /// Appends the reply's BSON document to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), bson::error::Error> {
        match self {
            Reply::Doc(d) => d.to_writer(out),
            Reply::Cursor(c) => c.write_to(out),
        }
    }
}

impl CursorReply {
    /// Appends the reply's BSON document to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) -> Result<(), bson::error::Error> {
        let top = open_document(out);
        out.push(BSON_DOCUMENT);
        out.extend_from_slice(b"cursor\0");
        let cursor = open_document(out);
        out.push(BSON_INT64);
        out.extend_from_slice(b"id\0");
        out.extend_from_slice(&self.id.to_le_bytes());
        out.push(BSON_STRING);
        out.extend_from_slice(b"ns\0");
        write_string(out, &self.ns);
        out.push(BSON_ARRAY);
        out.extend_from_slice(if self.first {
            b"firstBatch\0"
        } else {
            b"nextBatch\0"
        });
        let array = open_document(out);
        let mut index = itoa_buffer();
        for (i, d) in self.batch.iter().enumerate() {
            out.push(BSON_DOCUMENT);
            out.extend_from_slice(format_index(&mut index, i));
            out.push(0);
            out.extend_from_slice(d.as_bytes());
        }
        close_document(out, array);
        if let Some(token) = &self.post_batch_resume_token {
            out.push(BSON_DOCUMENT);
            out.extend_from_slice(b"postBatchResumeToken\0");
            token.to_writer(&mut *out)?;
        }
        close_document(out, cursor);
        out.push(BSON_DOUBLE);
        out.extend_from_slice(b"ok\0");
        out.extend_from_slice(&1.0f64.to_le_bytes());
        close_document(out, top);
        Ok(())
    }
}

/// Starts a document at the end of `out`; returns where its length goes.
fn open_document(out: &mut Vec<u8>) -> usize {
    let start = out.len();
    out.extend_from_slice(&0i32.to_le_bytes());
    start
}

/// Terminates the document started at `start` and writes its length.
fn close_document(out: &mut Vec<u8>, start: usize) {
    out.push(0);
    // A reply above i32::MAX bytes is refused later by the message size check; saturating
    // here keeps the length field well-defined until then.
    let len = i32::try_from(out.len() - start).unwrap_or(i32::MAX);
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
}

/// A BSON string: length (with the terminating NUL), bytes, NUL.
fn write_string(out: &mut Vec<u8>, s: &str) {
    let len = i32::try_from(s.len() + 1).unwrap_or(i32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(s.as_bytes());
    out.push(0);
}

/// Scratch space for an array index in decimal (`usize::MAX` has 20 digits).
fn itoa_buffer() -> [u8; 20] {
    [0u8; 20]
}

/// `i` in decimal, written into `buf`, without allocating.
fn format_index(buf: &mut [u8; 20], mut i: usize) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (i % 10) as u8;
        i /= 10;
        if i == 0 {
            break;
        }
    }
    &buf[at..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::{Bson, doc, oid::ObjectId};

    fn equivalent(c: &CursorReply) -> Document {
        let key = if c.first { "firstBatch" } else { "nextBatch" };
        let batch: Vec<Bson> = c
            .batch
            .iter()
            .map(|d| Bson::Document(Document::try_from(d.as_ref()).unwrap()))
            .collect();
        let mut cursor = doc! {"id": c.id, "ns": &c.ns, key: batch};
        if let Some(t) = &c.post_batch_resume_token {
            cursor.insert("postBatchResumeToken", t.clone());
        }
        doc! {"cursor": cursor, "ok": 1.0}
    }

    fn raw(d: Document) -> RawDocumentBuf {
        RawDocumentBuf::try_from(&d).unwrap()
    }

    #[test]
    fn cursor_reply_bytes_equal_the_document_encoding() {
        let many: Vec<RawDocumentBuf> = (0..1234).map(|i| raw(doc! {"_id": i})).collect();
        let cases = vec![
            CursorReply {
                id: 0,
                ns: "db.c".into(),
                first: true,
                batch: vec![],
                post_batch_resume_token: None,
            },
            CursorReply {
                id: i64::MAX,
                ns: "shop__prod.orders".into(),
                first: false,
                batch: vec![
                    raw(doc! {"_id": ObjectId::new(), "a": {"b": [1, 2, "x"]}}),
                    raw(doc! {}),
                    raw(doc! {"ünï": "cödé", "n": Bson::Null}),
                ],
                post_batch_resume_token: None,
            },
            CursorReply {
                id: 42,
                ns: "db.$cmd.aggregate".into(),
                first: true,
                batch: many,
                post_batch_resume_token: Some(doc! {"_data": "00000000000000ff"}),
            },
            CursorReply {
                id: -7,
                ns: String::new(),
                first: false,
                batch: vec![raw(doc! {"x": 1})],
                post_batch_resume_token: Some(doc! {}),
            },
        ];
        for c in &cases {
            let mut ours = vec![0xAA];
            Reply::Cursor(c.clone()).write_to(&mut ours).unwrap();
            let mut theirs = vec![0xAA];
            equivalent(c).to_writer(&mut theirs).unwrap();
            assert_eq!(ours, theirs, "{c:?}");
        }
    }

    #[test]
    fn array_indexes_in_decimal() {
        let mut buf = itoa_buffer();
        for (i, s) in [
            (0usize, "0"),
            (9, "9"),
            (10, "10"),
            (101, "101"),
            (usize::MAX, "18446744073709551615"),
        ] {
            assert_eq!(format_index(&mut buf, i), s.as_bytes());
        }
    }
}
