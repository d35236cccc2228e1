//! Wire-protocol framing: parsing `OP_MSG` and legacy `OP_QUERY` requests and encoding
//! `OP_MSG` / `OP_REPLY` responses.
//!
//! Invariants: every length field is checked against the bytes actually present before it is
//! used (a lying length is a [`ProtocolError`], never a panic or an out-of-bounds read);
//! `OP_MSG` checksums are CRC-32C over the whole message minus the trailing 4 bytes; unknown
//! *required* flag bits (bits 0–15 other than checksumPresent and moreToCome) are refused as
//! the MongoDB specification demands.

use bson::{Bson, Document, RawDocument};

use super::reply::Reply;

/// `OP_REPLY` (legacy reply to `OP_QUERY`).
pub const OP_REPLY: i32 = 1;
/// `OP_QUERY` (legacy; accepted only for the handshake).
pub const OP_QUERY: i32 = 2004;
/// `OP_COMPRESSED` (not supported: compression is never negotiated).
pub const OP_COMPRESSED: i32 = 2012;
/// `OP_MSG`.
pub const OP_MSG: i32 = 2013;
/// Size of the standard message header (length, requestID, responseTo, opCode).
pub const HEADER_LEN: usize = 16;

/// `OP_MSG` flag: a CRC-32C checksum follows the sections.
pub const FLAG_CHECKSUM_PRESENT: u32 = 1;
/// `OP_MSG` flag: the sender will send another message without waiting for a reply.
pub const FLAG_MORE_TO_COME: u32 = 1 << 1;
/// `OP_MSG` flag: the client accepts exhaust replies (optional bit; we never use exhaust).
pub const FLAG_EXHAUST_ALLOWED: u32 = 1 << 16;
/// Required bits are 0–15: any set bit there we do not know means the message is refused.
const REQUIRED_BITS_MASK: u32 = 0xFFFF;

/// A malformed message: the connection that sent it is closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("protocol error: {0}")]
pub struct ProtocolError(pub String);

fn perr(msg: impl Into<String>) -> ProtocolError {
    ProtocolError(msg.into())
}

/// The standard message header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Total message length including the header.
    pub length: i32,
    /// Identifier of this message.
    pub request_id: i32,
    /// `request_id` of the message this one answers.
    pub response_to: i32,
    /// Operation code.
    pub op_code: i32,
}

impl Header {
    /// Parses the first 16 bytes of `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<Header, ProtocolError> {
        if bytes.len() < HEADER_LEN {
            return Err(perr("message shorter than its header"));
        }
        Ok(Header {
            length: i32_at(bytes, 0)?,
            request_id: i32_at(bytes, 4)?,
            response_to: i32_at(bytes, 8)?,
            op_code: i32_at(bytes, 12)?,
        })
    }
}

/// A parsed client request.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// An `OP_MSG` command.
    Msg {
        /// The command body with document sequences merged in as arrays.
        body: Document,
        /// The sender does not want a reply (`moreToCome`).
        more_to_come: bool,
    },
    /// A legacy `OP_QUERY` (only `<db>.$cmd` handshakes are answered).
    Query {
        /// `db.collection` it was sent to.
        full_collection_name: String,
        /// The query document (the command).
        query: Document,
    },
}

fn i32_at(bytes: &[u8], at: usize) -> Result<i32, ProtocolError> {
    let slice = bytes
        .get(at..at + 4)
        .ok_or_else(|| perr("truncated integer"))?;
    let mut a = [0u8; 4];
    a.copy_from_slice(slice);
    Ok(i32::from_le_bytes(a))
}

fn u32_at(bytes: &[u8], at: usize) -> Result<u32, ProtocolError> {
    Ok(i32_at(bytes, at)? as u32)
}

/// Reads one BSON document starting at `at`; returns it and its length.
fn document_at(bytes: &[u8], at: usize) -> Result<(Document, usize), ProtocolError> {
    let len = i32_at(bytes, at)?;
    if len < 5 {
        return Err(perr("BSON document length below 5"));
    }
    let len = len as usize;
    let slice = bytes
        .get(at..at + len)
        .ok_or_else(|| perr("BSON document runs past the end of the section"))?;
    let raw = RawDocument::from_bytes(slice).map_err(|e| perr(format!("invalid BSON: {e}")))?;
    let doc = Document::try_from(raw).map_err(|e| perr(format!("invalid BSON: {e}")))?;
    Ok((doc, len))
}

fn cstring_at(bytes: &[u8], at: usize) -> Result<(String, usize), ProtocolError> {
    let rest = bytes.get(at..).ok_or_else(|| perr("truncated string"))?;
    let nul = rest
        .iter()
        .position(|b| *b == 0)
        .ok_or_else(|| perr("unterminated C string"))?;
    let s = std::str::from_utf8(&rest[..nul]).map_err(|_| perr("C string is not UTF-8"))?;
    Ok((s.to_string(), nul + 1))
}

/// Parses a complete message (header included, `bytes.len()` equal to the header length).
pub fn parse_request(bytes: &[u8]) -> Result<(Header, Request), ProtocolError> {
    let header = Header::parse(bytes)?;
    if header.length as usize != bytes.len() {
        return Err(perr("message length does not match its header"));
    }
    let request = match header.op_code {
        OP_MSG => parse_op_msg(bytes)?,
        OP_QUERY => parse_op_query(bytes)?,
        OP_COMPRESSED => return Err(perr("OP_COMPRESSED is not supported (never negotiated)")),
        other => return Err(perr(format!("unsupported opCode {other}"))),
    };
    Ok((header, request))
}

fn parse_op_msg(bytes: &[u8]) -> Result<Request, ProtocolError> {
    let flags = u32_at(bytes, HEADER_LEN)?;
    let known = FLAG_CHECKSUM_PRESENT | FLAG_MORE_TO_COME;
    if flags & REQUIRED_BITS_MASK & !known != 0 {
        return Err(perr(format!(
            "unknown required OP_MSG flag bits {flags:#x}"
        )));
    }
    let mut end = bytes.len();
    if flags & FLAG_CHECKSUM_PRESENT != 0 {
        if end < HEADER_LEN + 4 + 4 {
            return Err(perr("OP_MSG too short for its checksum"));
        }
        end -= 4;
        let expected = u32_at(bytes, end)?;
        let actual = crc32c(&bytes[..end]);
        if expected != actual {
            return Err(perr(format!(
                "OP_MSG checksum mismatch (sent {expected:#010x}, computed {actual:#010x})"
            )));
        }
    }
    let mut at = HEADER_LEN + 4;
    let mut body: Option<Document> = None;
    let mut sequences: Vec<(String, Vec<Document>)> = Vec::new();
    while at < end {
        let kind = bytes[at];
        at += 1;
        match kind {
            0 => {
                if body.is_some() {
                    return Err(perr("OP_MSG has more than one body section"));
                }
                let (doc, len) = document_at(&bytes[..end], at)?;
                body = Some(doc);
                at += len;
            }
            1 => {
                let size = i32_at(&bytes[..end], at)?;
                if size < 5 || at + size as usize > end {
                    return Err(perr("OP_MSG document sequence size out of bounds"));
                }
                let section_end = at + size as usize;
                let (ident, n) = cstring_at(&bytes[..section_end], at + 4)?;
                let mut pos = at + 4 + n;
                let mut docs = Vec::new();
                while pos < section_end {
                    let (doc, len) = document_at(&bytes[..section_end], pos)?;
                    docs.push(doc);
                    pos += len;
                }
                sequences.push((ident, docs));
                at = section_end;
            }
            other => return Err(perr(format!("unknown OP_MSG section kind {other}"))),
        }
    }
    let mut body = body.ok_or_else(|| perr("OP_MSG without a body section"))?;
    for (ident, docs) in sequences {
        if body.contains_key(&ident) {
            return Err(perr(format!(
                "OP_MSG field '{ident}' is both in the body and a document sequence"
            )));
        }
        body.insert(
            ident,
            Bson::Array(docs.into_iter().map(Bson::Document).collect()),
        );
    }
    Ok(Request::Msg {
        body,
        more_to_come: flags & FLAG_MORE_TO_COME != 0,
    })
}

/// The body of an `OP_MSG` made of exactly one kind-0 section and no checksum, borrowed and
/// not decoded, with the header and the `moreToCome` flag; `None` for any other message (the
/// caller then uses [`parse_request`], which also reports every malformation). Only the
/// framing is checked here: the body's elements are validated by whoever reads them.
pub fn simple_op_msg_body(bytes: &[u8]) -> Option<(Header, &RawDocument, bool)> {
    let header = Header::parse(bytes).ok()?;
    if header.length as usize != bytes.len() || header.op_code != OP_MSG {
        return None;
    }
    let flags = u32_at(bytes, HEADER_LEN).ok()?;
    if flags & REQUIRED_BITS_MASK & !FLAG_MORE_TO_COME != 0 {
        return None;
    }
    let at = HEADER_LEN + 4;
    if *bytes.get(at)? != 0 {
        return None;
    }
    let body = bytes.get(at + 1..)?;
    if i32_at(body, 0).ok()? as usize != body.len() {
        return None;
    }
    let body = RawDocument::from_bytes(body).ok()?;
    Some((header, body, flags & FLAG_MORE_TO_COME != 0))
}

fn parse_op_query(bytes: &[u8]) -> Result<Request, ProtocolError> {
    let mut at = HEADER_LEN + 4; // flags
    let (name, n) = cstring_at(bytes, at)?;
    at += n + 8; // numberToSkip, numberToReturn
    let (query, _) = document_at(bytes, at)?;
    Ok(Request::Query {
        full_collection_name: name,
        query,
    })
}

fn write_header(out: &mut Vec<u8>, request_id: i32, response_to: i32, op_code: i32) {
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&request_id.to_le_bytes());
    out.extend_from_slice(&response_to.to_le_bytes());
    out.extend_from_slice(&op_code.to_le_bytes());
}

fn finish_length(out: &mut [u8]) {
    // Longer replies are refused by the caller's MAX_MESSAGE_SIZE_BYTES check.
    let len = i32::try_from(out.len()).unwrap_or(i32::MAX);
    out[..4].copy_from_slice(&len.to_le_bytes());
}

fn doc_bytes(doc: &Document) -> Result<Vec<u8>, ProtocolError> {
    let mut v = Vec::new();
    doc.to_writer(&mut v)
        .map_err(|e| perr(format!("cannot encode reply: {e}")))?;
    Ok(v)
}

/// Encodes an `OP_MSG` reply with one body section (no checksum, no flags).
pub fn encode_op_msg(
    request_id: i32,
    response_to: i32,
    body: &Document,
) -> Result<Vec<u8>, ProtocolError> {
    let mut out = Vec::with_capacity(256);
    write_header(&mut out, request_id, response_to, OP_MSG);
    out.extend_from_slice(&0u32.to_le_bytes());
    out.push(0);
    body.to_writer(&mut out)
        .map_err(|e| perr(format!("cannot encode reply: {e}")))?;
    finish_length(&mut out);
    Ok(out)
}

/// Replaces the contents of `out` with an `OP_MSG` reply carrying `reply` as its one body
/// section (no checksum, no flags). `out` is the connection's reused output buffer.
pub fn write_op_msg(
    out: &mut Vec<u8>,
    request_id: i32,
    response_to: i32,
    reply: &Reply,
) -> Result<(), ProtocolError> {
    out.clear();
    write_header(out, request_id, response_to, OP_MSG);
    out.extend_from_slice(&0u32.to_le_bytes());
    out.push(0);
    reply
        .write_to(out)
        .map_err(|e| perr(format!("cannot encode reply: {e}")))?;
    finish_length(out);
    Ok(())
}

/// Encodes an `OP_MSG` request (used by tests and benches acting as a client); with
/// `checksum` the CRC-32C is appended and the flag set.
pub fn encode_op_msg_request(
    request_id: i32,
    body: &Document,
    sequences: &[(&str, Vec<Document>)],
    flags: u32,
    checksum: bool,
) -> Result<Vec<u8>, ProtocolError> {
    let mut out = Vec::with_capacity(256);
    write_header(&mut out, request_id, 0, OP_MSG);
    let flags = if checksum {
        flags | FLAG_CHECKSUM_PRESENT
    } else {
        flags
    };
    out.extend_from_slice(&flags.to_le_bytes());
    out.push(0);
    out.extend_from_slice(&doc_bytes(body)?);
    for (ident, docs) in sequences {
        out.push(1);
        let start = out.len();
        out.extend_from_slice(&0i32.to_le_bytes());
        out.extend_from_slice(ident.as_bytes());
        out.push(0);
        for d in docs {
            out.extend_from_slice(&doc_bytes(d)?);
        }
        let size = (out.len() - start) as i32;
        out[start..start + 4].copy_from_slice(&size.to_le_bytes());
    }
    if checksum {
        out.extend_from_slice(&0u32.to_le_bytes());
        finish_length(&mut out);
        let end = out.len() - 4;
        let sum = crc32c(&out[..end]);
        out[end..].copy_from_slice(&sum.to_le_bytes());
    } else {
        finish_length(&mut out);
    }
    Ok(out)
}

/// Encodes an `OP_REPLY` carrying one document (the answer to a legacy `OP_QUERY`).
pub fn encode_op_reply(
    request_id: i32,
    response_to: i32,
    doc: &Document,
) -> Result<Vec<u8>, ProtocolError> {
    let mut out = Vec::with_capacity(256);
    write_header(&mut out, request_id, response_to, OP_REPLY);
    out.extend_from_slice(&0i32.to_le_bytes()); // responseFlags
    out.extend_from_slice(&0i64.to_le_bytes()); // cursorID
    out.extend_from_slice(&0i32.to_le_bytes()); // startingFrom
    out.extend_from_slice(&1i32.to_le_bytes()); // numberReturned
    out.extend_from_slice(&doc_bytes(doc)?);
    finish_length(&mut out);
    Ok(out)
}

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as `OP_MSG` checksums use.
pub fn crc32c(data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = crc32c_table();
    let mut crc = !0u32;
    for b in data {
        crc = TABLE[((crc ^ u32::from(*b)) & 0xFF) as usize] ^ (crc >> 8);
    }
    !crc
}

const fn crc32c_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0x82F6_3B78 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    #[test]
    fn crc32c_known_vectors() {
        // RFC 3720 appendix B.4 vectors and the standard check value.
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
        assert_eq!(crc32c(&[0xFFu8; 32]), 0x62A8_AB43);
    }

    #[test]
    fn op_msg_round_trip_with_sequence_and_checksum() {
        let bytes = encode_op_msg_request(
            7,
            &doc! {"insert": "c", "$db": "d"},
            &[("documents", vec![doc! {"a": 1}, doc! {"a": 2}])],
            0,
            true,
        )
        .unwrap();
        let (h, r) = parse_request(&bytes).unwrap();
        assert_eq!(h.request_id, 7);
        let Request::Msg { body, more_to_come } = r else {
            panic!("not a msg")
        };
        assert!(!more_to_come);
        assert_eq!(body.get_array("documents").unwrap().len(), 2);
    }

    #[test]
    fn bad_checksum_refused() {
        let mut bytes =
            encode_op_msg_request(1, &doc! {"ping": 1, "$db": "a"}, &[], 0, true).unwrap();
        let n = bytes.len();
        bytes[n - 1] ^= 0xFF;
        assert!(parse_request(&bytes).unwrap_err().0.contains("checksum"));
    }

    #[test]
    fn malformed_messages_are_errors_not_panics() {
        let good = encode_op_msg_request(1, &doc! {"ping": 1}, &[], 0, false).unwrap();
        let seq =
            encode_op_msg_request(1, &doc! {"ping": 1}, &[("x", vec![doc! {}])], 0, false).unwrap();
        // Every truncation, with the header length patched to match, must be an error.
        for cut in 0..good.len() {
            let mut b = good[..cut].to_vec();
            if b.len() >= 4 {
                let l = b.len() as i32;
                b[..4].copy_from_slice(&l.to_le_bytes());
            }
            assert!(parse_request(&b).is_err(), "cut {cut}");
        }
        // Flipping each byte must never panic.
        for i in 0..seq.len() {
            let mut b = seq.clone();
            b[i] ^= 0x5A;
            let _ = parse_request(&b);
        }
        // Unknown required flag bit.
        let b = encode_op_msg_request(1, &doc! {"ping": 1}, &[], 1 << 4, false).unwrap();
        assert!(parse_request(&b).is_err());
        // Optional bit 16 is fine.
        let b =
            encode_op_msg_request(1, &doc! {"ping": 1}, &[], FLAG_EXHAUST_ALLOWED, false).unwrap();
        assert!(parse_request(&b).is_ok());
    }

    #[test]
    fn simple_bodies_only() {
        let body = doc! {"find": "c", "$db": "d"};
        let plain = encode_op_msg_request(3, &body, &[], 0, false).unwrap();
        let (h, raw, more) = simple_op_msg_body(&plain).unwrap();
        assert_eq!((h.request_id, more), (3, false));
        assert_eq!(Document::try_from(raw).unwrap(), body);
        let more_to_come = encode_op_msg_request(3, &body, &[], FLAG_MORE_TO_COME, false).unwrap();
        assert!(simple_op_msg_body(&more_to_come).unwrap().2);
        let exhaust = encode_op_msg_request(3, &body, &[], FLAG_EXHAUST_ALLOWED, false).unwrap();
        assert!(simple_op_msg_body(&exhaust).is_some());
        // Checksums, document sequences, trailing bytes, truncation: the general parser's job.
        let checksum = encode_op_msg_request(3, &body, &[], 0, true).unwrap();
        assert!(simple_op_msg_body(&checksum).is_none());
        let seq =
            encode_op_msg_request(3, &body, &[("documents", vec![doc! {}])], 0, false).unwrap();
        assert!(simple_op_msg_body(&seq).is_none());
        let mut trailing = plain.clone();
        trailing.push(0);
        let l = trailing.len() as i32;
        trailing[..4].copy_from_slice(&l.to_le_bytes());
        assert!(simple_op_msg_body(&trailing).is_none());
        for cut in 0..plain.len() {
            let mut b = plain[..cut].to_vec();
            if b.len() >= 4 {
                let l = b.len() as i32;
                b[..4].copy_from_slice(&l.to_le_bytes());
            }
            assert!(simple_op_msg_body(&b).is_none(), "cut {cut}");
        }
        let query = encode_op_reply(1, 2, &body).unwrap();
        assert!(simple_op_msg_body(&query).is_none());
    }

    #[test]
    fn op_reply_layout() {
        let b = encode_op_reply(5, 9, &doc! {"ok": 1.0}).unwrap();
        let h = Header::parse(&b).unwrap();
        assert_eq!(
            (h.length as usize, h.response_to, h.op_code),
            (b.len(), 9, OP_REPLY)
        );
        assert_eq!(i32_at(&b, 32).unwrap(), 1);
    }
}
