//! Handshake, authentication and server-information commands: `hello`/`isMaster`,
//! `buildInfo`, `saslStart`/`saslContinue` (and `speculativeAuthenticate`), `getParameter`,
//! `connectionStatus`, `hostInfo`, `getLog`, `serverStatus`, `startSession`.
//!
//! Invariants: a SASL conversation authenticates the connection only after the client proof
//! verified; any failure clears the conversation and answers AuthenticationFailed (18).

use std::sync::atomic::Ordering;

use bson::spec::BinarySubtype;
use bson::{Binary, Bson, Document, doc};

use super::args::{opt_bool, opt_str};
use super::{CmdResult, Ctx};
use crate::wire::auth::{Mechanism, ScramServer, server_nonce};
use crate::wire::error::CommandError;
use crate::wire::{
    Connection, LOGICAL_SESSION_TIMEOUT_MINUTES, MAX_BSON_OBJECT_SIZE, MAX_MESSAGE_SIZE_BYTES,
    MAX_WIRE_VERSION, MAX_WRITE_BATCH_SIZE, MIN_WIRE_VERSION, SERVER_VERSION, WireState,
};

/// The only SASL conversation id we hand out (one conversation per connection at a time).
const CONVERSATION_ID: i32 = 1;

/// A SCRAM conversation in progress on a connection.
#[derive(Debug)]
pub(crate) struct SaslState {
    conversation: ScramServer,
    /// Proof verified and server-final sent; waiting for the client's empty final message.
    verified: bool,
    /// The client asked (`options.skipEmptyExchange`) to finish with server-final.
    skip_empty: bool,
}

fn binary(bytes: Vec<u8>) -> Bson {
    Bson::Binary(Binary {
        subtype: BinarySubtype::Generic,
        bytes,
    })
}

fn payload_bytes(body: &Document, cmd: &str) -> Result<Vec<u8>, CommandError> {
    match body.get("payload") {
        Some(Bson::Binary(b)) => Ok(b.bytes.clone()),
        Some(Bson::String(s)) => Ok(s.as_bytes().to_vec()),
        None => Err(CommandError::missing_field(cmd, "payload")),
        Some(_) => Err(CommandError::type_mismatch(format!(
            "BSON field '{cmd}.payload' must be binData or string"
        ))),
    }
}

/// `hello` / `isMaster`.
pub(super) async fn hello(ctx: &Ctx<'_>, conn: &mut Connection) -> CmdResult {
    let legacy = ctx.name != "hello";
    let mut reply = doc! {};
    if legacy {
        reply.insert("ismaster", true);
    } else {
        reply.insert("isWritablePrimary", true);
    }
    reply.insert("maxBsonObjectSize", MAX_BSON_OBJECT_SIZE as i32);
    reply.insert("maxMessageSizeBytes", MAX_MESSAGE_SIZE_BYTES as i32);
    reply.insert("maxWriteBatchSize", MAX_WRITE_BATCH_SIZE as i32);
    reply.insert("localTime", bson::DateTime::now());
    reply.insert(
        "logicalSessionTimeoutMinutes",
        LOGICAL_SESSION_TIMEOUT_MINUTES,
    );
    reply.insert("connectionId", conn.id);
    reply.insert("minWireVersion", MIN_WIRE_VERSION);
    reply.insert("maxWireVersion", MAX_WIRE_VERSION);
    reply.insert("readOnly", false);
    if let Some(mechs) = opt_str(ctx.body, ctx.name, "saslSupportedMechs")? {
        let user = mechs.split_once('.').map_or(mechs, |(_, u)| u).to_string();
        let creds = ctx.state.shared.credentials.clone();
        let found = tokio::task::spawn_blocking(move || creds.lookup(&user))
            .await
            .ok()
            .flatten();
        if let Some(u) = found {
            let names: Vec<Bson> = u
                .credentials
                .iter()
                .map(|c| Bson::String(c.mechanism.name().to_string()))
                .collect();
            reply.insert("saslSupportedMechs", names);
        }
    }
    if let Ok(spec) = ctx.body.get_document("speculativeAuthenticate") {
        // Failure is silent: the driver then authenticates normally and sees the error.
        if let Ok(first) = start_conversation(ctx, conn, spec).await {
            reply.insert("speculativeAuthenticate", first);
        }
    }
    Ok(reply)
}

async fn start_conversation(ctx: &Ctx<'_>, conn: &mut Connection, body: &Document) -> CmdResult {
    conn.sasl = None;
    let mechanism_name = opt_str(body, "saslStart", "mechanism")?
        .ok_or_else(|| CommandError::missing_field("saslStart", "mechanism"))?;
    let mechanism = Mechanism::parse(mechanism_name)
        .ok_or_else(|| CommandError::mechanism_unavailable(mechanism_name))?;
    let payload = payload_bytes(body, "saslStart")?;
    let creds = ctx.state.shared.credentials.clone();
    let started = tokio::task::spawn_blocking(move || {
        ScramServer::start(mechanism, &payload, creds.as_ref(), &server_nonce())
    })
    .await
    .map_err(|e| CommandError::internal(format!("authentication task failed: {e}")))?;
    let (conversation, server_first) =
        started.map_err(|_| CommandError::authentication_failed())?;
    let skip_empty = body
        .get_document("options")
        .ok()
        .and_then(|o| opt_bool(o, "saslStart", "skipEmptyExchange").ok().flatten())
        .unwrap_or(false);
    conn.sasl = Some(SaslState {
        conversation,
        verified: false,
        skip_empty,
    });
    Ok(doc! {
        "conversationId": CONVERSATION_ID,
        "done": false,
        "payload": binary(server_first.into_bytes()),
    })
}

/// `saslStart`.
pub(super) async fn sasl_start(ctx: &Ctx<'_>, conn: &mut Connection) -> CmdResult {
    start_conversation(ctx, conn, ctx.body).await
}

/// `saslContinue`.
pub(super) fn sasl_continue(ctx: &Ctx<'_>, conn: &mut Connection) -> CmdResult {
    let Some(state) = conn.sasl.take() else {
        return Err(CommandError {
            code: 17,
            code_name: "ProtocolError".into(),
            message: "No SASL session state found".into(),
        });
    };
    if state.verified {
        return Ok(
            doc! {"conversationId": CONVERSATION_ID, "done": true, "payload": binary(vec![])},
        );
    }
    let payload = payload_bytes(ctx.body, "saslContinue")?;
    let server_final = state
        .conversation
        .finish(&payload)
        .map_err(|_| CommandError::authentication_failed())?;
    conn.user = Some(state.conversation.user().clone());
    let done = state.skip_empty;
    if !done {
        conn.sasl = Some(SaslState {
            verified: true,
            ..state
        });
    }
    Ok(doc! {
        "conversationId": CONVERSATION_ID,
        "done": done,
        "payload": binary(server_final.into_bytes()),
    })
}

/// `buildInfo`.
pub(super) fn build_info() -> Document {
    doc! {
        "version": SERVER_VERSION,
        "gitVersion": "stratus",
        "versionArray": [8, 0, 0, 0],
        "bits": 64,
        "debug": false,
        "maxBsonObjectSize": MAX_BSON_OBJECT_SIZE as i32,
        "modules": [],
        "allocator": "system",
        "javascriptEngine": "none",
        "sysInfo": "deprecated",
        "storageEngines": ["stratus"],
        "openssl": {"running": "disabled"},
    }
}

/// `startSession` (sessions are accepted and ignored).
pub(super) fn start_session() -> Document {
    let id = bson::Uuid::new();
    doc! {"id": {"id": id}, "timeoutMinutes": LOGICAL_SESSION_TIMEOUT_MINUTES}
}

/// `getParameter`: the parameters tools ask for.
pub(super) fn get_parameter(ctx: &Ctx<'_>) -> CmdResult {
    let known = |name: &str| -> Option<Bson> {
        Some(match name {
            "featureCompatibilityVersion" => Bson::Document(doc! {"version": "8.0"}),
            "authenticationMechanisms" => {
                Bson::Array(vec!["SCRAM-SHA-1".into(), "SCRAM-SHA-256".into()])
            }
            "maxBSONObjectSize" => Bson::Int32(MAX_BSON_OBJECT_SIZE as i32),
            "cursorTimeoutMillis" => {
                Bson::Int64(crate::wire::cursors::CURSOR_IDLE_TIMEOUT.as_millis() as i64)
            }
            "internalQueryMaxBlockingSortMemoryUsageBytes" => Bson::Int64(100 * 1024 * 1024),
            "logLevel" => Bson::Int32(0),
            "quiet" => Bson::Boolean(false),
            _ => return None,
        })
    };
    let all = matches!(ctx.body.get("getParameter"), Some(Bson::String(s)) if s == "*")
        || ctx
            .body
            .get_document("getParameter")
            .is_ok_and(|d| d.get_bool("allParameters").unwrap_or(false));
    let mut reply = doc! {};
    if all {
        for n in [
            "featureCompatibilityVersion",
            "authenticationMechanisms",
            "maxBSONObjectSize",
            "cursorTimeoutMillis",
            "logLevel",
            "quiet",
        ] {
            if let Some(v) = known(n) {
                reply.insert(n, v);
            }
        }
        return Ok(reply);
    }
    for key in ctx.body.keys().skip(1) {
        if key.starts_with('$') || key == "lsid" || key == "comment" {
            continue;
        }
        if let Some(v) = known(key) {
            reply.insert(key.clone(), v);
        }
    }
    if reply.is_empty() {
        return Err(CommandError::invalid_options("no option found to get"));
    }
    Ok(reply)
}

/// `connectionStatus`.
pub(super) fn connection_status(conn: &Connection) -> Document {
    let users: Vec<Bson> = conn
        .user
        .iter()
        .map(|u| Bson::Document(doc! {"user": &u.user, "db": "admin"}))
        .collect();
    doc! {"authInfo": {"authenticatedUsers": users, "authenticatedUserRoles": []}}
}

/// `hostInfo`.
pub(super) fn host_info() -> Document {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as i32;
    doc! {
        "system": {
            "currentTime": bson::DateTime::now(),
            "hostname": "stratus",
            "cpuAddrSize": 64,
            "numCores": cores,
            "cpuArch": std::env::consts::ARCH,
        },
        "os": {"type": std::env::consts::OS, "name": std::env::consts::OS},
        "extra": {},
    }
}

/// `getLog` (Stratus keeps no MongoDB-style log: empty).
pub(super) fn get_log(ctx: &Ctx<'_>) -> CmdResult {
    match ctx.body.get("getLog") {
        Some(Bson::String(s)) if s == "*" => Ok(doc! {"names": ["global", "startupWarnings"]}),
        Some(Bson::String(_)) => Ok(doc! {"totalLinesWritten": 0, "log": []}),
        _ => Err(CommandError::type_mismatch(
            "Argument to getLog must be of type String",
        )),
    }
}

/// `serverStatus`: uptime, connections and operation counters (all real).
pub(super) fn server_status(state: &WireState) -> Document {
    let c = &state.shared.counters;
    let up = state.shared.started.elapsed();
    let get = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed) as i64;
    doc! {
        "host": "stratus",
        "version": SERVER_VERSION,
        "process": "stratus",
        "pid": i64::from(std::process::id()),
        "uptime": up.as_secs_f64().floor(),
        "uptimeMillis": up.as_millis() as i64,
        "uptimeEstimate": up.as_secs() as i64,
        "localTime": bson::DateTime::now(),
        "connections": {
            "current": c.current_connections.load(Ordering::Relaxed),
            "available": (state.shared.max_connections as i64)
                .saturating_sub(c.current_connections.load(Ordering::Relaxed))
                .max(0),
            "rejected": get(&c.refused_connections),
            "totalCreated": get(&c.total_connections),
        },
        "opcounters": {
            "insert": get(&c.insert),
            "query": get(&c.query),
            "update": get(&c.update),
            "delete": get(&c.delete),
            "getmore": get(&c.getmore),
            "command": get(&c.command),
        },
        "metrics": {"cursor": {"open": {"total": state.open_cursors() as i64}}},
    }
}
