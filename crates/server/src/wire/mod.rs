//! The MongoDB wire protocol over the embedded document store, so MongoDB drivers and tools
//! (pymongo, mongosh, Compass, mongodump) work against Stratus.
//!
//! [`serve`] accepts TCP connections and runs one task per connection. A connection reads one
//! message at a time ([`message`]), runs the command ([`commands`]; a `find` by `_id` is
//! answered from the undecoded request by `commands::try_point_find`) — store calls go through
//! `tokio::task::spawn_blocking`, except bounded point reads (a `find` by `_id`), which run on
//! the connection's async worker — and writes the reply ([`reply`]) with one write from a
//! buffer the connection reuses. Invariants:
//! - a message larger than [`MAX_MESSAGE_SIZE_BYTES`], malformed, or not completed within
//!   [`PARTIAL_MESSAGE_TIMEOUT`] closes *that* connection only;
//! - every command except the handshake ones requires a SCRAM-authenticated user
//!   ([`auth`]), and touches only the databases the user's [`auth::DatabaseAccess`] allows;
//! - cursors ([`cursors`]) idle longer than [`WireOptions::cursor_idle_timeout`] are closed,
//!   and at most [`cursors::CursorLimits`] of them are open at once;
//! - at most [`WireOptions::max_connections`] connections are open at once (a permit taken
//!   at `accept`, released when the connection's task ends).
//!
//! A project environment's data lives in the database named by [`project_database_name`].

pub mod auth;
pub mod commands;
pub mod cursors;
pub mod error;
pub mod message;
pub mod reply;
pub mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use stratus_docstore::Store;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

pub use auth::{
    CredentialStore, DatabaseAccess, Mechanism, ScramCredential, StaticCredentials, UserCredentials,
};
pub use error::CommandError;

/// Largest message accepted or sent (MongoDB's default `maxMessageSizeBytes`).
pub const MAX_MESSAGE_SIZE_BYTES: usize = 48_000_000;
/// Largest BSON document (MongoDB's `maxBsonObjectSize`, 16 MiB).
pub const MAX_BSON_OBJECT_SIZE: usize = 16 * 1024 * 1024;
/// Most statements in one write command (MongoDB's `maxWriteBatchSize`).
pub const MAX_WRITE_BATCH_SIZE: usize = 100_000;
/// Highest wire version spoken (21 = MongoDB 7.0; drivers treat 8.0 servers alike).
pub const MAX_WIRE_VERSION: i32 = 21;
/// Lowest wire version spoken.
pub const MIN_WIRE_VERSION: i32 = 0;
/// The MongoDB version reported by `buildInfo`/`serverStatus`.
pub const SERVER_VERSION: &str = "8.0.0";
/// `logicalSessionTimeoutMinutes` in `hello` (its presence makes drivers use sessions).
pub const LOGICAL_SESSION_TIMEOUT_MINUTES: i32 = 30;
/// Once the first byte of a message arrived, the rest must arrive within this time, or the
/// connection is closed (a slow client cannot hold a connection task forever).
pub const PARTIAL_MESSAGE_TIMEOUT: Duration = Duration::from_secs(30);
/// Per-connection read buffer.
pub const READ_BUFFER_BYTES: usize = 64 * 1024;
/// A connection's reused message buffers (request and reply) shrink back to this capacity
/// after a larger message, so one big message does not pin memory for the connection's life.
pub const RETAINED_BUFFER_BYTES: usize = 64 * 1024;
/// How often the idle-cursor reaper runs.
pub const CURSOR_REAP_INTERVAL: Duration = Duration::from_secs(10);
/// Default of [`WireOptions::max_connections`] (`mongo.max_connections`). Each connection
/// keeps a read buffer of [`READ_BUFFER_BYTES`] and reusable buffers of up to
/// [`RETAINED_BUFFER_BYTES`], so this bounds the idle connections' memory to a few hundred MB.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4_096;
/// Largest accepted `mongo.max_connections` (MongoDB's `maxIncomingConnections` default).
pub const MAX_CONNECTIONS_LIMIT: usize = 1_000_000;

/// The database name under which a project environment's data is reachable:
/// `<project>__<env>` (two underscores), e.g. `shop__prod`.
pub fn project_database_name(project: &str, env: &str) -> String {
    format!("{project}__{env}")
}

/// Counters reported by `serverStatus`.
#[derive(Debug, Default)]
pub struct Counters {
    /// Connections open now.
    pub current_connections: AtomicI64,
    /// Connections accepted since start.
    pub total_connections: AtomicU64,
    /// Connections closed at once because [`WireOptions::max_connections`] were open.
    pub refused_connections: AtomicU64,
    /// Documents inserted.
    pub insert: AtomicU64,
    /// `find` commands.
    pub query: AtomicU64,
    /// Update statements.
    pub update: AtomicU64,
    /// Delete statements.
    pub delete: AtomicU64,
    /// `getMore` commands.
    pub getmore: AtomicU64,
    /// Other commands.
    pub command: AtomicU64,
}

/// How the wire server runs (`[mongo]` in the server configuration).
#[derive(Debug, Clone)]
pub struct WireOptions {
    /// Accept only TLS connections with this certificate (`mongo.tls_cert_file`,
    /// `mongo.tls_key_file`); plain TCP when `None`.
    pub tls: Option<tls::TlsConfig>,
    /// Open-cursor limits (`mongo.max_cursors`, `mongo.max_cursors_per_user`).
    pub cursor_limits: cursors::CursorLimits,
    /// A cursor unused for this long is closed (`mongo.cursor_idle_timeout_secs`).
    pub cursor_idle_timeout: Duration,
    /// Most connections open at once, counted from `accept` (TLS handshakes included);
    /// one more is closed right after it is accepted (`mongo.max_connections`).
    pub max_connections: usize,
}

impl Default for WireOptions {
    fn default() -> Self {
        WireOptions {
            tls: None,
            cursor_limits: cursors::CursorLimits::default(),
            cursor_idle_timeout: cursors::CURSOR_IDLE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

pub(crate) struct Shared {
    pub(crate) store: Store,
    pub(crate) credentials: Arc<dyn CredentialStore>,
    pub(crate) cursors: cursors::CursorRegistry,
    pub(crate) counters: Counters,
    pub(crate) started: Instant,
    next_connection_id: AtomicI64,
    tls: Option<tls::TlsConfig>,
    cursor_idle_timeout: Duration,
    /// One permit per open connection ([`WireOptions::max_connections`]).
    connection_slots: Arc<tokio::sync::Semaphore>,
    pub(crate) max_connections: usize,
}

/// Everything the wire server shares between connections (cheap to clone).
#[derive(Clone)]
pub struct WireState {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for WireState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WireState").finish_non_exhaustive()
    }
}

impl WireState {
    /// State serving `store`, authenticating users against `credentials`, with the default
    /// [`WireOptions`] (plain TCP).
    pub fn new(store: Store, credentials: Arc<dyn CredentialStore>) -> WireState {
        WireState::with_options(store, credentials, WireOptions::default())
    }

    /// State like [`WireState::new`] whose connections must use TLS.
    pub fn with_tls(
        store: Store,
        credentials: Arc<dyn CredentialStore>,
        tls: tls::TlsConfig,
    ) -> WireState {
        let options = WireOptions {
            tls: Some(tls),
            ..WireOptions::default()
        };
        WireState::with_options(store, credentials, options)
    }

    /// State serving `store` with the given options.
    pub fn with_options(
        store: Store,
        credentials: Arc<dyn CredentialStore>,
        options: WireOptions,
    ) -> WireState {
        let max_connections = options.max_connections.clamp(1, MAX_CONNECTIONS_LIMIT);
        WireState {
            shared: Arc::new(Shared {
                store,
                credentials,
                cursors: cursors::CursorRegistry::new(options.cursor_limits),
                counters: Counters::default(),
                started: Instant::now(),
                next_connection_id: AtomicI64::new(1),
                tls: options.tls,
                cursor_idle_timeout: options.cursor_idle_timeout,
                connection_slots: Arc::new(tokio::sync::Semaphore::new(max_connections)),
                max_connections,
            }),
        }
    }

    /// The `serverStatus` counters.
    pub fn counters(&self) -> &Counters {
        &self.shared.counters
    }

    /// Number of open cursors (including those a command is using right now).
    pub fn open_cursors(&self) -> usize {
        self.shared.cursors.open_total()
    }

    /// Closes cursors idle for longer than `idle`; returns how many were closed.
    pub fn reap_cursors(&self, idle: Duration) -> usize {
        self.shared.cursors.reap(idle)
    }
}

/// Serves the wire protocol on `listener` until `shutdown` completes. Each connection runs in
/// its own task; a failing connection never stops the server. Returns when shut down (open
/// connections finish their current command and are dropped with the runtime).
pub async fn serve(
    listener: TcpListener,
    state: WireState,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let reaper_state = state.clone();
    let idle = state.shared.cursor_idle_timeout;
    let reaper = tokio::spawn(async move {
        // Often enough that a short timeout is honoured within half of itself.
        let every = CURSOR_REAP_INTERVAL
            .min(idle / 2)
            .max(Duration::from_millis(10));
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            reaper_state.reap_cursors(idle);
        }
    });
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    // Over the limit: the connection is closed at once (dropped), as MongoDB
                    // does past `maxIncomingConnections`; the others are unaffected.
                    let Ok(slot) = state.shared.connection_slots.clone().try_acquire_owned() else {
                        state.shared.counters.refused_connections.fetch_add(1, Ordering::Relaxed);
                        drop(stream);
                        continue;
                    };
                    let state = state.clone();
                    tokio::spawn(async move {
                        accept_connection(stream, peer, state).await;
                        drop(slot);
                    });
                }
                // Transient accept failures (EMFILE, aborted handshakes): keep serving.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }
    reaper.abort();
    Ok(())
}

/// Per-connection state.
#[derive(Debug)]
pub struct Connection {
    /// Server-assigned connection id (`hello.connectionId`).
    pub id: i64,
    /// The client's address.
    pub peer: SocketAddr,
    /// The authenticated user, if any.
    pub user: Option<UserCredentials>,
    /// A SCRAM conversation in progress.
    pub(crate) sasl: Option<commands::SaslState>,
}

async fn accept_connection(stream: TcpStream, peer: SocketAddr, state: WireState) {
    let _ = stream.set_nodelay(true);
    match state.shared.tls.clone() {
        None => handle_connection(stream, peer, state).await,
        Some(tls) => {
            let handshake =
                tokio::time::timeout(tls::TLS_HANDSHAKE_TIMEOUT, tls.acceptor.accept(stream)).await;
            if let Ok(Ok(stream)) = handshake {
                handle_connection(stream, peer, state).await;
            }
        }
    }
}

async fn handle_connection<S>(stream: S, peer: SocketAddr, state: WireState)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    // Buffered reads: a whole small request usually arrives in one read syscall.
    let mut stream = BufReader::with_capacity(READ_BUFFER_BYTES, stream);
    let counters = &state.shared.counters;
    counters.current_connections.fetch_add(1, Ordering::Relaxed);
    counters.total_connections.fetch_add(1, Ordering::Relaxed);
    let mut conn = Connection {
        id: state
            .shared
            .next_connection_id
            .fetch_add(1, Ordering::Relaxed),
        peer,
        user: None,
        sasl: None,
    };
    let mut next_request_id: i32 = 1;
    let mut input = Vec::new();
    let mut output = Vec::new();
    while let Ok(true) = read_message(&mut stream, &mut input).await {
        // The common point find is answered from the raw bytes; everything else is decoded.
        let fast = message::simple_op_msg_body(&input).and_then(|(header, body, more)| {
            commands::try_point_find(&state, &conn, body).map(|r| (header, r, more))
        });
        let (header, reply, legacy, silent) = match fast {
            Some((header, reply, more_to_come)) => (header, reply, false, more_to_come),
            None => {
                let Ok((header, request)) = message::parse_request(&input) else {
                    break;
                };
                match request {
                    message::Request::Msg { body, more_to_come } => (
                        header,
                        commands::run(&state, &mut conn, body).await,
                        false,
                        more_to_come,
                    ),
                    message::Request::Query {
                        full_collection_name,
                        query,
                    } => (
                        header,
                        reply::Reply::Doc(
                            commands::run_legacy(&state, &mut conn, &full_collection_name, query)
                                .await,
                        ),
                        true,
                        false,
                    ),
                }
            }
        };
        if silent {
            continue;
        }
        next_request_id = next_request_id.wrapping_add(1);
        let encoded = match (&reply, legacy) {
            (reply::Reply::Doc(d), true) => {
                message::encode_op_reply(next_request_id, header.request_id, d).map(|b| output = b)
            }
            _ => message::write_op_msg(&mut output, next_request_id, header.request_id, &reply),
        };
        if encoded.is_err() || output.len() > MAX_MESSAGE_SIZE_BYTES {
            let err = CommandError::new(
                10334,
                "BSONObjectTooLarge",
                "reply exceeds the maximum message size",
            )
            .to_document();
            let err = reply::Reply::Doc(err);
            if message::write_op_msg(&mut output, next_request_id, header.request_id, &err).is_err()
            {
                break;
            }
        }
        // One write per reply (flush matters for TLS, is free for plain TCP).
        let socket = stream.get_mut();
        if socket.write_all(&output).await.is_err() || socket.flush().await.is_err() {
            break;
        }
        for buf in [&mut input, &mut output] {
            if buf.capacity() > RETAINED_BUFFER_BYTES {
                buf.clear();
                buf.shrink_to(RETAINED_BUFFER_BYTES);
            }
        }
    }
    counters.current_connections.fetch_sub(1, Ordering::Relaxed);
}

/// Reads one whole message into `buf` (replacing its contents); `Ok(false)` at a clean end of
/// stream. Waiting for the first byte has no time limit (idle connections are fine); the rest
/// must come within [`PARTIAL_MESSAGE_TIMEOUT`] — when the whole message is already buffered
/// (the usual case for small requests) no timer is armed. Lengths outside
/// `16..=MAX_MESSAGE_SIZE_BYTES` are errors.
async fn read_message<S: AsyncRead + Unpin>(
    stream: &mut BufReader<S>,
    buf: &mut Vec<u8>,
) -> std::io::Result<bool> {
    buf.clear();
    let available = stream.fill_buf().await?;
    if available.is_empty() {
        return Ok(false);
    }
    if let Some(len_bytes) = available.get(..4).and_then(|b| <[u8; 4]>::try_from(b).ok()) {
        let len = message_length(len_bytes)?;
        if let Some(whole) = available.get(..len) {
            buf.extend_from_slice(whole);
            stream.consume(len);
            return Ok(true);
        }
    }
    let rest = async {
        let mut len_bytes = [0u8; 4];
        stream.read_exact(&mut len_bytes).await?;
        let len = message_length(len_bytes)?;
        buf.resize(len, 0);
        buf[..4].copy_from_slice(&len_bytes);
        stream.read_exact(&mut buf[4..]).await?;
        Ok(())
    };
    match tokio::time::timeout(PARTIAL_MESSAGE_TIMEOUT, rest).await {
        Ok(r) => r.map(|()| true),
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "partial message not completed in time",
        )),
    }
}

/// The message length in a header's first four bytes, checked against
/// `16..=MAX_MESSAGE_SIZE_BYTES`.
fn message_length(len_bytes: [u8; 4]) -> std::io::Result<usize> {
    let len = i32::from_le_bytes(len_bytes);
    if len < message::HEADER_LEN as i32 || len as usize > MAX_MESSAGE_SIZE_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("message length {len} outside 16..={MAX_MESSAGE_SIZE_BYTES}"),
        ));
    }
    Ok(len as usize)
}
