//! Protocol-level tests with a minimal Rust client (no Python needed): legacy `OP_QUERY`
//! handshake → `OP_REPLY`, `OP_MSG` with checksums, document sequences and `moreToCome`,
//! the authentication gate, a SCRAM-SHA-256 client conversation, cursors (getMore,
//! killCursors, idle reaping), error codes, and many concurrent connections.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use bson::spec::BinarySubtype;
use bson::{Binary, Bson, Document, doc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use stratus_docstore::Store;
use stratus_server::wire::message::{self, FLAG_MORE_TO_COME, OP_MSG, OP_QUERY, OP_REPLY};
use stratus_server::wire::{self, DatabaseAccess, StaticCredentials, WireState};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn start() -> (std::net::SocketAddr, WireState) {
    start_with(wire::WireOptions::default()).await
}

async fn start_with(options: wire::WireOptions) -> (std::net::SocketAddr, WireState) {
    let store = Store::open_in_memory().expect("store");
    let mut creds = StaticCredentials::new();
    creds.add_user("alice", "secret", DatabaseAccess::All);
    creds.add_user(
        "bob",
        "builder",
        DatabaseAccess::Only(std::collections::BTreeSet::from(["db1".to_string()])),
    );
    let state = WireState::with_options(store, Arc::new(creds), options);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let s = state.clone();
    tokio::spawn(async move { wire::serve(listener, s, std::future::pending()).await });
    (addr, state)
}

async fn read_reply(s: &mut TcpStream) -> (i32, Document) {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).await.expect("reply length");
    let n = i32::from_le_bytes(len) as usize;
    let mut rest = vec![0u8; n - 4];
    s.read_exact(&mut rest).await.expect("reply body");
    let op = i32::from_le_bytes(rest[8..12].try_into().expect("4 bytes"));
    let doc_at = if op == OP_REPLY { 32 } else { 17 };
    let doc = Document::from_reader(&rest[doc_at..]).expect("reply document");
    (op, doc)
}

async fn cmd(s: &mut TcpStream, body: Document) -> Document {
    let bytes = message::encode_op_msg_request(1, &body, &[], 0, false).expect("encode");
    s.write_all(&bytes).await.expect("write");
    read_reply(s).await.1
}

fn bin(b: &[u8]) -> Bson {
    Bson::Binary(Binary {
        subtype: BinarySubtype::Generic,
        bytes: b.to_vec(),
    })
}

fn hmac256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("hmac");
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

/// A SCRAM-SHA-256 client conversation; returns the final reply. With `speculative`, the
/// first step rides in `hello.speculativeAuthenticate` as pymongo does.
async fn login(s: &mut TcpStream, user: &str, password: &str) -> Document {
    login_with(s, user, password, false).await
}

/// A connection authenticated as `alice` (the login must succeed).
async fn alice(addr: std::net::SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let d = login(&mut s, "alice", "secret").await;
    assert_eq!(d.get_f64("ok").expect("ok"), 1.0, "{d}");
    s
}

async fn login_with(s: &mut TcpStream, user: &str, password: &str, speculative: bool) -> Document {
    let cnonce = "clientnonce123";
    let first_bare = format!("n={user},r={cnonce}");
    let start = doc! {"saslStart": 1, "mechanism": "SCRAM-SHA-256", "payload": bin(format!("n,,{first_bare}").as_bytes()), "db": "admin"};
    let r = if speculative {
        let h = cmd(s, doc! {"hello": 1, "speculativeAuthenticate": start, "saslSupportedMechs": format!("admin.{user}"), "$db": "admin"}).await;
        let mechs = h
            .get_array("saslSupportedMechs")
            .expect("saslSupportedMechs");
        assert!(mechs.contains(&Bson::String("SCRAM-SHA-256".into())), "{h}");
        let mut r = h
            .get_document("speculativeAuthenticate")
            .expect("speculative reply")
            .clone();
        r.insert("ok", 1.0);
        r
    } else {
        let mut start = start;
        start.remove("db");
        start.insert("$db", "admin");
        cmd(s, start).await
    };
    if r.get_f64("ok").unwrap_or(0.0) != 1.0 {
        return r;
    }
    let Some(Bson::Binary(p)) = r.get("payload") else {
        panic!("no payload: {r}")
    };
    let server_first = String::from_utf8(p.bytes.clone()).expect("utf8");
    let mut nonce = "";
    let mut salt = Vec::new();
    let mut iters = 0u32;
    for part in server_first.split(',') {
        match part.split_at(2) {
            ("r=", v) => nonce = v,
            ("s=", v) => salt = B64.decode(v).expect("salt"),
            ("i=", v) => iters = v.parse().expect("iterations"),
            _ => {}
        }
    }
    let mut salted = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), &salt, iters, &mut salted);
    let client_key = hmac256(&salted, b"Client Key");
    let stored = Sha256::digest(&client_key);
    let without_proof = format!("c=biws,r={nonce}");
    let auth_message = format!("{first_bare},{server_first},{without_proof}");
    let sig = hmac256(&stored, auth_message.as_bytes());
    let proof: Vec<u8> = client_key.iter().zip(&sig).map(|(a, b)| a ^ b).collect();
    let final_msg = format!("{without_proof},p={}", B64.encode(proof));
    let mut r = cmd(s, doc! {"saslContinue": 1, "conversationId": 1, "payload": bin(final_msg.as_bytes()), "$db": "admin"}).await;
    if r.get_f64("ok").unwrap_or(0.0) == 1.0 {
        // Verify the server signature.
        let Some(Bson::Binary(p)) = r.get("payload") else {
            panic!("no final payload")
        };
        let server_key = hmac256(&salted, b"Server Key");
        let expected = format!(
            "v={}",
            B64.encode(hmac256(&server_key, auth_message.as_bytes()))
        );
        assert_eq!(String::from_utf8(p.bytes.clone()).expect("utf8"), expected);
        while !r.get_bool("done").unwrap_or(true) {
            r = cmd(
                s,
                doc! {"saslContinue": 1, "conversationId": 1, "payload": bin(b""), "$db": "admin"},
            )
            .await;
        }
    }
    r
}

fn code(d: &Document) -> i32 {
    d.get_i32("code").unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_handshake_gate_and_errors() {
    let (addr, _) = start().await;
    let mut s = TcpStream::connect(addr).await.expect("connect");
    // Legacy OP_QUERY isMaster → OP_REPLY.
    let mut q = Vec::new();
    q.extend_from_slice(&0i32.to_le_bytes());
    q.extend_from_slice(&9i32.to_le_bytes());
    q.extend_from_slice(&0i32.to_le_bytes());
    q.extend_from_slice(&OP_QUERY.to_le_bytes());
    q.extend_from_slice(&0i32.to_le_bytes());
    q.extend_from_slice(b"admin.$cmd\0");
    q.extend_from_slice(&0i32.to_le_bytes());
    q.extend_from_slice(&(-1i32).to_le_bytes());
    doc! {"isMaster": 1}.to_writer(&mut q).expect("encode");
    let n = q.len() as i32;
    q[..4].copy_from_slice(&n.to_le_bytes());
    s.write_all(&q).await.expect("write");
    let (op, d) = read_reply(&mut s).await;
    assert_eq!(op, OP_REPLY);
    assert!(d.get_bool("ismaster").expect("ismaster"));
    assert_eq!(d.get_i32("maxWireVersion").expect("wire"), 21);
    assert_eq!(d.get_i32("maxMessageSizeBytes").expect("max"), 48_000_000);
    assert_eq!(d.get_i32("logicalSessionTimeoutMinutes").expect("lstm"), 30);

    // OP_MSG hello; ping with a checksum; unauthenticated find refused.
    let d = cmd(&mut s, doc! {"hello": 1, "$db": "admin"}).await;
    assert!(d.get_bool("isWritablePrimary").expect("iwp"));
    let bytes = message::encode_op_msg_request(2, &doc! {"ping": 1, "$db": "admin"}, &[], 0, true)
        .expect("encode");
    s.write_all(&bytes).await.expect("write");
    let (op, d) = read_reply(&mut s).await;
    assert_eq!((op, d.get_f64("ok").expect("ok")), (OP_MSG, 1.0));
    let d = cmd(&mut s, doc! {"find": "c", "$db": "x"}).await;
    assert_eq!(
        (code(&d), d.get_str("codeName").expect("name")),
        (13, "Unauthorized")
    );
    let d = cmd(&mut s, doc! {"ping": 1}).await;
    assert_eq!(code(&d), 40571);

    // Wrong password → 18; right password → authenticated.
    let d = login(&mut s, "alice", "nope").await;
    assert_eq!(code(&d), 18, "{d}");
    let d = login(&mut s, "bob", "secret").await;
    assert_eq!(code(&d), 18, "{d}");
    let d = login(&mut s, "alice", "secret").await;
    assert_eq!(d.get_f64("ok").expect("ok"), 1.0, "{d}");
    let d = cmd(&mut s, doc! {"frobnicate": 1, "$db": "x"}).await;
    assert_eq!(
        (code(&d), d.get_str("codeName").expect("name")),
        (59, "CommandNotFound")
    );
    let d = cmd(
        &mut s,
        doc! {"saslStart": 1, "mechanism": "PLAIN", "payload": bin(b"x"), "$db": "admin"},
    )
    .await;
    assert_eq!(code(&d), 334);
    let d = cmd(
        &mut s,
        doc! {"getMore": 12345i64, "collection": "c", "$db": "x"},
    )
    .await;
    assert_eq!(code(&d), 43);
    let d = cmd(&mut s, doc! {"insert": "c", "$db": "x"}).await;
    assert_eq!(code(&d), 40414, "{d}");
    let d = cmd(&mut s, doc! {"find": "c", "limit": "x", "$db": "x"}).await;
    assert_eq!(code(&d), 14, "{d}");
    let d = cmd(&mut s, doc! {"find": 5, "$db": "x"}).await;
    assert_eq!(code(&d), 73, "{d}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequences_more_to_come_cursors_and_reaping() {
    let (addr, state) = start().await;
    let mut s = alice(addr).await;
    // Insert via a kind-1 document sequence with a checksum.
    let docs: Vec<Document> = (0..10).map(|i| doc! {"_id": i}).collect();
    let bytes = message::encode_op_msg_request(
        3,
        &doc! {"insert": "c", "$db": "db1", "ordered": false},
        &[("documents", docs)],
        0,
        true,
    )
    .expect("encode");
    s.write_all(&bytes).await.expect("write");
    let (_, d) = read_reply(&mut s).await;
    assert_eq!(d.get_i32("n").expect("n"), 10, "{d}");
    // moreToCome: no reply; the next command's reply is the next message read.
    let bytes = message::encode_op_msg_request(
        4,
        &doc! {"insert": "c", "$db": "db1", "documents": [{"_id": 100}]},
        &[],
        FLAG_MORE_TO_COME,
        false,
    )
    .expect("encode");
    s.write_all(&bytes).await.expect("write");
    let d = cmd(&mut s, doc! {"count": "c", "$db": "db1"}).await;
    assert_eq!(d.get_i64("n").expect("n"), 11, "{d}");
    // Cursor: batches of 4 → 4, 4, 3 (closed).
    let d = cmd(&mut s, doc! {"find": "c", "batchSize": 4, "$db": "db1"}).await;
    let c = d.get_document("cursor").expect("cursor");
    let id = c.get_i64("id").expect("id");
    assert!(id != 0);
    assert_eq!(c.get_array("firstBatch").expect("fb").len(), 4);
    assert_eq!(c.get_str("ns").expect("ns"), "db1.c");
    let d = cmd(
        &mut s,
        doc! {"getMore": id, "collection": "c", "batchSize": 4, "$db": "db1"},
    )
    .await;
    assert_eq!(
        d.get_document("cursor")
            .expect("c")
            .get_array("nextBatch")
            .expect("nb")
            .len(),
        4
    );
    let d = cmd(
        &mut s,
        doc! {"getMore": id, "collection": "other", "$db": "db1"},
    )
    .await;
    assert_eq!(code(&d), 13, "{d}");
    let d = cmd(
        &mut s,
        doc! {"getMore": id, "collection": "c", "$db": "db1"},
    )
    .await;
    let c = d.get_document("cursor").expect("c");
    assert_eq!(c.get_array("nextBatch").expect("nb").len(), 3);
    assert_eq!(c.get_i64("id").expect("id"), 0);
    // Idle cursors are reaped.
    let d = cmd(&mut s, doc! {"find": "c", "batchSize": 1, "$db": "db1"}).await;
    let id = d
        .get_document("cursor")
        .expect("c")
        .get_i64("id")
        .expect("id");
    assert_eq!(state.open_cursors(), 1);
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(state.reap_cursors(Duration::from_millis(1)), 1);
    let d = cmd(
        &mut s,
        doc! {"getMore": id, "collection": "c", "$db": "db1"},
    )
    .await;
    assert_eq!(code(&d), 43);
    // Duplicate in an ordered insert: writeErrors at index 1, n = 1.
    let d = cmd(
        &mut s,
        doc! {"insert": "c", "documents": [{"_id": 200}, {"_id": 0}, {"_id": 201}], "$db": "db1"},
    )
    .await;
    assert_eq!(d.get_i32("n").expect("n"), 1);
    let we = d.get_array("writeErrors").expect("writeErrors");
    let e = we[0].as_document().expect("doc");
    assert_eq!(
        (
            e.get_i32("index").expect("i"),
            e.get_i32("code").expect("c")
        ),
        (1, 11000)
    );
}

/// Opens a `find` cursor of batch size 1 on `db1.c`; returns the cursor id or the error reply.
async fn open_cursor(s: &mut TcpStream) -> Result<i64, Document> {
    let d = cmd(s, doc! {"find": "c", "batchSize": 1, "$db": "db1"}).await;
    match d.get_document("cursor") {
        Ok(c) => Ok(c.get_i64("id").expect("id")),
        Err(_) => Err(d),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_cursors_are_limited_per_user_and_in_all() {
    let options = wire::WireOptions {
        cursor_limits: wire::cursors::CursorLimits {
            max_total: 4,
            max_per_user: 3,
        },
        ..wire::WireOptions::default()
    };
    let (addr, state) = start_with(options).await;
    let mut a = alice(addr).await;
    let docs: Vec<Document> = (0..5).map(|i| doc! {"_id": i}).collect();
    let d = cmd(
        &mut a,
        doc! {"insert": "c", "documents": docs, "$db": "db1"},
    )
    .await;
    assert_eq!(d.get_i32("n").expect("n"), 5, "{d}");
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(
            open_cursor(&mut a)
                .await
                .expect("within the per-user limit"),
        );
    }
    // A fourth cursor of alice's (a find or a change stream) is refused, clearly.
    let d = open_cursor(&mut a)
        .await
        .expect_err("over the per-user limit");
    assert_eq!(
        (code(&d), d.get_str("codeName").expect("name")),
        (96, "OperationFailed")
    );
    assert!(
        d.get_str("errmsg")
            .expect("errmsg")
            .contains("mongo.max_cursors_per_user"),
        "{d}"
    );
    let d = cmd(
        &mut a,
        doc! {"aggregate": "c", "pipeline": [{"$changeStream": {}}], "cursor": {}, "$db": "db1"},
    )
    .await;
    assert_eq!(code(&d), 96, "{d}");
    // A finished query needs no cursor, so it still works.
    let d = cmd(&mut a, doc! {"find": "c", "$db": "db1"}).await;
    assert_eq!(
        d.get_document("cursor")
            .expect("c")
            .get_i64("id")
            .expect("id"),
        0
    );
    // Bob gets the last cursor the server allows; then the server-wide limit refuses him.
    let mut b = TcpStream::connect(addr).await.expect("connect");
    let d = login(&mut b, "bob", "builder").await;
    assert_eq!(d.get_f64("ok").expect("ok"), 1.0, "{d}");
    let bobs = open_cursor(&mut b).await.expect("bob's first cursor");
    let d = open_cursor(&mut b)
        .await
        .expect_err("over the server-wide limit");
    assert_eq!(code(&d), 96, "{d}");
    assert!(
        d.get_str("errmsg")
            .expect("errmsg")
            .contains("(mongo.max_cursors)"),
        "{d}"
    );
    assert_eq!(state.open_cursors(), 4);
    // Killing a cursor frees its place.
    let d = cmd(
        &mut a,
        doc! {"killCursors": "c", "cursors": [ids[0]], "$db": "db1"},
    )
    .await;
    assert_eq!(
        d.get_array("cursorsKilled").expect("killed").len(),
        1,
        "{d}"
    );
    ids[0] = open_cursor(&mut a)
        .await
        .expect("a place was freed by killCursors");
    // Exhausting a cursor frees its place too.
    let d = cmd(
        &mut b,
        doc! {"getMore": bobs, "collection": "c", "batchSize": 100, "$db": "db1"},
    )
    .await;
    assert_eq!(
        d.get_document("cursor")
            .expect("c")
            .get_i64("id")
            .expect("id"),
        0,
        "{d}"
    );
    assert_eq!(state.open_cursors(), 3);
    open_cursor(&mut b)
        .await
        .expect("a place was freed by exhausting a cursor");
    // A getMore on an open cursor is never refused by the limits.
    let d = cmd(
        &mut a,
        doc! {"getMore": ids[1], "collection": "c", "$db": "db1"},
    )
    .await;
    assert!(d.get_document("cursor").is_ok(), "{d}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_idle_timeout_is_configurable_and_frees_cursor_places() {
    let options = wire::WireOptions {
        cursor_limits: wire::cursors::CursorLimits {
            max_total: 2,
            max_per_user: 2,
        },
        cursor_idle_timeout: Duration::from_secs(2),
        ..wire::WireOptions::default()
    };
    let (addr, state) = start_with(options).await;
    let mut a = alice(addr).await;
    let docs: Vec<Document> = (0..3).map(|i| doc! {"_id": i}).collect();
    cmd(
        &mut a,
        doc! {"insert": "c", "documents": docs, "$db": "db1"},
    )
    .await;
    let opened = std::time::Instant::now();
    let id = open_cursor(&mut a).await.expect("first");
    open_cursor(&mut a).await.expect("second");
    let refused = open_cursor(&mut a).await;
    // (Only meaningful while the first two are surely still open.)
    if opened.elapsed() < Duration::from_secs(2) {
        assert_eq!(code(&refused.expect_err("full")), 96);
    }
    // The server's own reaper closes them (it runs every half timeout).
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while state.open_cursors() > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "idle cursors were not reaped"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let d = cmd(
        &mut a,
        doc! {"getMore": id, "collection": "c", "$db": "db1"},
    )
    .await;
    assert_eq!(code(&d), 43, "{d}");
    open_cursor(&mut a).await.expect("places are free again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_limit_are_closed_and_the_others_keep_working() {
    let options = wire::WireOptions {
        max_connections: 2,
        ..wire::WireOptions::default()
    };
    let (addr, state) = start_with(options).await;
    let mut a = alice(addr).await;
    let b = alice(addr).await;
    // The third connection is accepted by the kernel and closed by the server at once.
    let mut c = TcpStream::connect(addr).await.expect("connect");
    let hello =
        message::encode_op_msg_request(1, &doc! {"hello": 1, "$db": "admin"}, &[], 0, false)
            .expect("encode");
    let _ = c.write_all(&hello).await;
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(10), c.read(&mut buf))
        .await
        .expect("closed, not left hanging");
    assert!(matches!(read, Ok(0) | Err(_)), "got a reply: {read:?}");
    // The open ones are unaffected; serverStatus tells the truth about the limit.
    let d = cmd(&mut a, doc! {"serverStatus": 1, "$db": "admin"}).await;
    let conns = d.get_document("connections").expect("connections");
    assert_eq!(conns.get_i64("current").expect("current"), 2, "{conns}");
    assert_eq!(conns.get_i64("available").expect("available"), 0, "{conns}");
    assert!(conns.get_i64("rejected").expect("rejected") >= 1, "{conns}");
    // Closing one frees its place.
    drop(b);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while state
        .counters()
        .current_connections
        .load(std::sync::atomic::Ordering::Relaxed)
        > 1
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the closed connection was not released"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut again = alice(addr).await;
    let d = cmd(&mut again, doc! {"ping": 1, "$db": "admin"}).await;
    assert_eq!(d.get_f64("ok").expect("ok"), 1.0, "{d}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_connections_and_a_stalled_one() {
    let (addr, state) = start().await;
    // A client that starts a message and stalls.
    let mut stalled = TcpStream::connect(addr).await.expect("connect");
    stalled.write_all(&[200, 0, 0]).await.expect("write");
    let mut tasks = Vec::new();
    for _ in 0..64 {
        tasks.push(tokio::spawn(async move {
            let mut s = TcpStream::connect(addr).await.expect("connect");
            for _ in 0..5 {
                let d = cmd(&mut s, doc! {"ping": 1, "$db": "admin"}).await;
                assert_eq!(d.get_f64("ok").expect("ok"), 1.0);
            }
        }));
    }
    for t in tasks {
        tokio::time::timeout(Duration::from_secs(20), t)
            .await
            .expect("no stall")
            .expect("task");
    }
    assert!(
        state
            .counters()
            .total_connections
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 65
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn speculative_auth_access_and_cursor_ownership() {
    let (addr, _) = start().await;
    let mut a = TcpStream::connect(addr).await.expect("connect");
    assert_eq!(
        login_with(&mut a, "alice", "secret", true)
            .await
            .get_f64("ok")
            .expect("ok"),
        1.0
    );
    let mut b = TcpStream::connect(addr).await.expect("connect");
    assert_eq!(
        login_with(&mut b, "bob", "builder", true)
            .await
            .get_f64("ok")
            .expect("ok"),
        1.0
    );
    // Unknown user in speculative auth: hello still answers, without the field.
    let mut c = TcpStream::connect(addr).await.expect("connect");
    let h = cmd(&mut c, doc! {"hello": 1, "speculativeAuthenticate": {"saslStart": 1, "mechanism": "SCRAM-SHA-256", "payload": bin(b"n,,n=nobody,r=abc"), "db": "admin"}, "$db": "admin"}).await;
    assert!(h.get("speculativeAuthenticate").is_none() && h.get_f64("ok").expect("ok") == 1.0);

    let docs: Vec<Bson> = (0..5).map(|i| Bson::Document(doc! {"_id": i})).collect();
    let d = cmd(
        &mut a,
        doc! {"insert": "c", "documents": docs.clone(), "$db": "db1"},
    )
    .await;
    assert_eq!(d.get_i32("n").expect("n"), 5);
    cmd(
        &mut a,
        doc! {"insert": "c", "documents": docs, "$db": "db2"},
    )
    .await;
    // bob: db1 only.
    let d = cmd(&mut b, doc! {"count": "c", "$db": "db2"}).await;
    assert_eq!(code(&d), 13, "{d}");
    let d = cmd(
        &mut b,
        doc! {"listDatabases": 1, "nameOnly": true, "$db": "admin"},
    )
    .await;
    let names: Vec<&str> = d
        .get_array("databases")
        .expect("dbs")
        .iter()
        .filter_map(|x| x.as_document()?.get_str("name").ok())
        .collect();
    assert_eq!(names, vec!["db1"]);
    let d = cmd(
        &mut b,
        doc! {"renameCollection": "db1.c", "to": "db2.c", "$db": "admin"},
    )
    .await;
    assert_eq!(code(&d), 13, "{d}");
    // A cursor opened by alice cannot be continued or killed by bob.
    let d = cmd(&mut a, doc! {"find": "c", "batchSize": 1, "$db": "db1"}).await;
    let id = d
        .get_document("cursor")
        .expect("cursor")
        .get_i64("id")
        .expect("id");
    let d = cmd(
        &mut b,
        doc! {"getMore": id, "collection": "c", "$db": "db1"},
    )
    .await;
    assert_eq!(code(&d), 13, "{d}");
    let d = cmd(
        &mut b,
        doc! {"killCursors": "c", "cursors": [id], "$db": "db1"},
    )
    .await;
    assert_eq!(code(&d), 13, "{d}");
    let d = cmd(
        &mut a,
        doc! {"killCursors": "c", "cursors": [id], "$db": "db1"},
    )
    .await;
    assert_eq!(
        d.get_array("cursorsKilled").expect("killed"),
        &vec![Bson::Int64(id)]
    );
    assert_eq!(wire::project_database_name("shop", "prod"), "shop__prod");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn framing_split_pipelined_and_large_messages() {
    let (addr, _state) = start().await;
    let mut s = alice(addr).await;
    // A message sent a few bytes at a time (the length itself split) is read whole.
    let bytes = message::encode_op_msg_request(
        7,
        &doc! {"insert": "f", "documents": [{"_id": 1, "a": "x"}], "$db": "db1"},
        &[],
        0,
        false,
    )
    .expect("encode");
    for chunk in bytes.chunks(3) {
        s.write_all(chunk).await.expect("write");
        s.flush().await.expect("flush");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let (_, d) = read_reply(&mut s).await;
    assert_eq!(d.get_i32("n").expect("n"), 1, "{d}");
    // Three messages in one write: three replies, in order, answering each request id.
    let mut pipelined = Vec::new();
    for (rid, id) in [(11, 1), (12, 2), (13, 1)] {
        pipelined.extend(
            message::encode_op_msg_request(
                rid,
                &doc! {"find": "f", "filter": {"_id": id}, "$db": "db1"},
                &[],
                0,
                false,
            )
            .expect("encode"),
        );
    }
    s.write_all(&pipelined).await.expect("write");
    for (rid, found) in [(11, 1), (12, 0), (13, 1)] {
        let mut len = [0u8; 4];
        s.read_exact(&mut len).await.expect("len");
        let mut rest = vec![0u8; i32::from_le_bytes(len) as usize - 4];
        s.read_exact(&mut rest).await.expect("body");
        let response_to = i32::from_le_bytes(rest[4..8].try_into().expect("4 bytes"));
        assert_eq!(response_to, rid);
        let d = Document::from_reader(&rest[17..]).expect("doc");
        let batch = d
            .get_document("cursor")
            .and_then(|c| c.get_array("firstBatch"))
            .expect("firstBatch");
        assert_eq!(batch.len(), found, "{d}");
    }
    // A request larger than the read buffer, and a reply carrying it back.
    let big = "y".repeat(wire::READ_BUFFER_BYTES * 3);
    let d = cmd(
        &mut s,
        doc! {"insert": "f", "documents": [{"_id": 2, "big": &big}], "$db": "db1"},
    )
    .await;
    assert_eq!(d.get_i32("n").expect("n"), 1, "{d}");
    let d = cmd(
        &mut s,
        doc! {"find": "f", "filter": {"_id": 2}, "$db": "db1"},
    )
    .await;
    let c = d.get_document("cursor").expect("cursor");
    let got = c.get_array("firstBatch").expect("fb")[0]
        .as_document()
        .expect("doc")
        .get_str("big")
        .expect("big");
    assert_eq!(got.len(), big.len());
    // The connection still answers small requests after the large ones.
    let d = cmd(&mut s, doc! {"ping": 1, "$db": "admin"}).await;
    assert_eq!(d.get_f64("ok").expect("ok"), 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finds_by_id_inline_and_general_agree() {
    let (addr, _state) = start().await;
    let mut s = alice(addr).await;
    let d = cmd(
        &mut s,
        doc! {"insert": "g", "documents": [
            {"_id": 1, "a": 1, "b": "one"},
            {"_id": "k", "a": 2},
            {"_id": {"x": 1}, "a": 3},
            {"_id": 2.5, "a": 4},
        ], "$db": "db1"},
    )
    .await;
    assert_eq!(d.get_i32("n").expect("n"), 4, "{d}");
    // (find command, expected firstBatch) — the first ones run inline ({_id: v}), the
    // others on the blocking pool; answers must not depend on the path.
    let cases: Vec<(Document, Vec<Document>)> = vec![
        (
            doc! {"find": "g", "filter": {"_id": 1}},
            vec![doc! {"_id": 1, "a": 1, "b": "one"}],
        ),
        (
            doc! {"find": "g", "filter": {"_id": 1}, "projection": {"b": 1, "_id": 0}},
            vec![doc! {"b": "one"}],
        ),
        (
            doc! {"find": "g", "filter": {"_id": "k"}, "limit": 1, "singleBatch": true},
            vec![doc! {"_id": "k", "a": 2}],
        ),
        (
            doc! {"find": "g", "filter": {"_id": {"x": 1}}},
            vec![doc! {"_id": {"x": 1}, "a": 3}],
        ),
        (doc! {"find": "g", "filter": {"_id": 99}}, vec![]),
        (doc! {"find": "g", "filter": {"_id": 1}, "skip": 1}, vec![]),
        (
            doc! {"find": "g", "filter": {"_id": {"$in": [1, 2.5]}}, "sort": {"a": -1}},
            vec![
                doc! {"_id": 2.5, "a": 4},
                doc! {"_id": 1, "a": 1, "b": "one"},
            ],
        ),
        (
            doc! {"find": "g", "filter": {"_id": 1}, "hint": {"_id": 1}},
            vec![doc! {"_id": 1, "a": 1, "b": "one"}],
        ),
        (doc! {"find": "missing", "filter": {"_id": 1}}, vec![]),
    ];
    for (mut find, want) in cases {
        find.insert("$db", "db1");
        let d = cmd(&mut s, find.clone()).await;
        let c = d.get_document("cursor").expect("cursor");
        assert_eq!(c.get_i64("id").expect("id"), 0, "{find}");
        let got: Vec<Document> = c
            .get_array("firstBatch")
            .expect("fb")
            .iter()
            .map(|b| b.as_document().expect("doc").clone())
            .collect();
        assert_eq!(got, want, "{find}");
    }
    // Bad input on the inline path still answers with MongoDB's errors.
    let d = cmd(
        &mut s,
        doc! {"find": "g", "filter": {"_id": 1}, "projection": {"a": 1, "b": 0}, "$db": "db1"},
    )
    .await;
    assert_eq!(d.get_f64("ok").expect("ok"), 0.0, "{d}");
    let d = cmd(
        &mut s,
        doc! {"find": "g", "filter": {"_id": 1}, "limit": -1, "$db": "db1"},
    )
    .await;
    assert_eq!(code(&d), 2, "{d}");
}

/// Sends `body` and returns the reply's bytes after the header (flags and sections).
async fn reply_bytes(s: &mut TcpStream, body: &Document, checksum: bool) -> Vec<u8> {
    let bytes = message::encode_op_msg_request(9, body, &[], 0, checksum).expect("encode");
    s.write_all(&bytes).await.expect("write");
    let mut len = [0u8; 4];
    s.read_exact(&mut len).await.expect("len");
    let mut rest = vec![0u8; i32::from_le_bytes(len) as usize - 4];
    s.read_exact(&mut rest).await.expect("body");
    rest[12..].to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn point_find_fast_path_answers_like_the_general_path() {
    let (addr, state) = start().await;
    // A request with a checksum never takes the fast path (it needs the general parser), so
    // the same command with and without one compares the two paths byte for byte.
    let mut anon = TcpStream::connect(addr).await.expect("connect");
    let find = doc! {"find": "p", "filter": {"_id": 1}, "$db": "db1"};
    let (fast, general) = (
        reply_bytes(&mut anon, &find, false).await,
        reply_bytes(&mut anon, &find, true).await,
    );
    assert_eq!(fast, general, "unauthenticated");
    let mut bob = TcpStream::connect(addr).await.expect("connect");
    login(&mut bob, "bob", "builder").await;
    let other_db = doc! {"find": "p", "filter": {"_id": 1}, "$db": "db2"};
    let (fast, general) = (
        reply_bytes(&mut bob, &other_db, false).await,
        reply_bytes(&mut bob, &other_db, true).await,
    );
    assert_eq!(fast, general, "not authorised on db2");
    let d = Document::from_reader(&fast[5..]).expect("doc");
    assert_eq!(code(&d), 13, "{d}");

    let mut s = alice(addr).await;
    let d = cmd(
        &mut s,
        doc! {"insert": "p", "documents": [
            {"_id": 1, "a": "one", "nested": {"x": [1, 2]}},
            {"_id": "k", "a": "kay"},
            {"_id": {"c": 1}, "a": "doc"},
            {"_id": 7_i64, "a": "long"},
        ], "$db": "db1"},
    )
    .await;
    assert_eq!(d.get_i32("n").expect("n"), 4, "{d}");
    let uuid = Bson::Binary(Binary {
        subtype: BinarySubtype::Uuid,
        bytes: vec![7; 16],
    });
    let cases = vec![
        doc! {"find": "p", "filter": {"_id": 1}, "$db": "db1"},
        doc! {"find": "p", "filter": {"_id": 1}, "limit": 1, "singleBatch": true, "$db": "db1"},
        doc! {"find": "p", "filter": {"_id": "k"}, "batchSize": 5, "$db": "db1", "lsid": {"id": uuid}},
        doc! {"find": "p", "filter": {"_id": {"c": 1}}, "$db": "db1", "$readPreference": {"mode": "primary"}},
        doc! {"find": "p", "filter": {"_id": 7}, "$db": "db1"},
        doc! {"find": "p", "filter": {"_id": 7.0}, "limit": 0_i64, "$db": "db1"},
        doc! {"find": "p", "filter": {"_id": 404}, "$db": "db1"},
        doc! {"find": "missing", "filter": {"_id": 1}, "$db": "db1"},
        doc! {"find": "p", "filter": {"_id": 1}, "$db": "nodb"},
        // Not covered by the fast path (general both times): must still agree.
        doc! {"find": "p", "filter": {"_id": 1}, "projection": {"a": 1}, "$db": "db1"},
        doc! {"find": "p", "filter": {"_id": 1}, "limit": -1, "$db": "db1"},
        doc! {"find": "p", "filter": {"_id": {"$in": [1, "k"]}}, "$db": "db1"},
    ];
    let queries_before = state
        .counters()
        .query
        .load(std::sync::atomic::Ordering::Relaxed);
    for find in &cases {
        let fast = reply_bytes(&mut s, find, false).await;
        let general = reply_bytes(&mut s, find, true).await;
        assert_eq!(fast, general, "{find}");
    }
    let d = Document::from_reader(&reply_bytes(&mut s, &cases[0], false).await[5..]).expect("doc");
    let batch = d
        .get_document("cursor")
        .and_then(|c| c.get_array("firstBatch"))
        .expect("firstBatch");
    assert_eq!(
        batch[0].as_document().expect("doc"),
        &doc! {"_id": 1, "a": "one", "nested": {"x": [1, 2]}}
    );
    // Every find counts once in serverStatus, whichever path answered it.
    let queries_after = state
        .counters()
        .query
        .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(queries_after - queries_before, 2 * cases.len() as u64 + 1);
}
