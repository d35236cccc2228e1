//! Command dispatch: name lookup, the authentication gate, per-database authorisation and the
//! `{ok: 1}` / `{ok: 0, code, …}` reply shape. One file per command group.
//!
//! Invariants: only [`UNAUTHENTICATED_COMMANDS`] run before a successful SCRAM conversation;
//! a command on database `db` runs only if the user's access allows `db` (commands on
//! `admin` that are server-wide — listed in [`SERVER_WIDE_COMMANDS`] — run for any
//! authenticated user and filter their output themselves); store work runs on blocking threads,
//! except a bounded read (a `find` that can match at most one document through the `_id`
//! index, see `read::is_bounded_find`), which runs on the connection's async worker like the
//! HTTP runtime's bounded flow reads — a thread hand-off would cost more than the read.

mod admin;
mod args;
pub mod change_stream;
mod handshake;
mod point_find;
mod read;
mod write;

use std::sync::atomic::Ordering;

use bson::{Bson, Document, doc};
use stratus_docstore::Store;

use super::error::CommandError;
use super::reply::Reply;
use super::{Connection, WireState};

pub(crate) use handshake::SaslState;

/// Commands allowed before authentication.
pub const UNAUTHENTICATED_COMMANDS: &[&str] = &[
    "hello",
    "isMaster",
    "ismaster",
    "ping",
    "buildInfo",
    "buildinfo",
    "saslStart",
    "saslContinue",
    "endSessions",
];

/// Commands that are not about one database's data (any authenticated user may run them).
pub const SERVER_WIDE_COMMANDS: &[&str] = &[
    "listDatabases",
    "getParameter",
    "connectionStatus",
    "hostInfo",
    "whatsmyuri",
    "getLog",
    "serverStatus",
    "startSession",
    "endSessions",
    "killCursors",
    "getMore",
    "renameCollection",
    "logout",
    "getCmdLineOpts",
    "getFreeMonitoringStatus",
    "atlasVersion",
    "features",
];

pub(crate) type CmdResult = Result<Document, CommandError>;

/// Runs one `OP_MSG` command and returns the reply.
pub async fn run(state: &WireState, conn: &mut Connection, body: Document) -> Reply {
    match dispatch(state, conn, body).await {
        Ok(Reply::Doc(mut reply)) => {
            if !reply.contains_key("ok") {
                reply.insert("ok", 1.0);
            }
            Reply::Doc(reply)
        }
        Ok(cursor @ Reply::Cursor(_)) => cursor,
        Err(e) => Reply::Doc(e.to_document()),
    }
}

/// Answers a `find` by `_id` straight from the raw request body when the fast path covers it
/// (see [`point_find`]); `None` means: run the request the general way ([`run`]).
pub fn try_point_find(
    state: &WireState,
    conn: &Connection,
    body: &bson::RawDocument,
) -> Option<Reply> {
    point_find::try_answer(state, conn, body)
}

/// Runs a legacy `OP_QUERY` (only `hello`/`isMaster` on `<db>.$cmd` are answered).
pub async fn run_legacy(
    state: &WireState,
    conn: &mut Connection,
    full_collection_name: &str,
    query: Document,
) -> Document {
    // Drivers may wrap the command as {$query: {...}, $readPreference: ...}.
    let query = match query.get_document("$query") {
        Ok(q) => q.clone(),
        Err(_) => query,
    };
    let name = query.keys().next().cloned().unwrap_or_default();
    let Some(db) = full_collection_name.strip_suffix(".$cmd") else {
        return CommandError::new(
            352,
            "UnsupportedOpQueryCommand",
            "OP_QUERY is only supported for the handshake",
        )
        .to_document();
    };
    if !matches!(name.as_str(), "hello" | "isMaster" | "ismaster") {
        return CommandError::new(
            352,
            "UnsupportedOpQueryCommand",
            format!("Unsupported OP_QUERY command: {name}. Use OP_MSG."),
        )
        .to_document();
    }
    let mut body = query;
    body.insert("$db", db);
    match run(state, conn, body).await {
        Reply::Doc(d) => d,
        Reply::Cursor(_) => {
            CommandError::internal("handshake answered with a cursor").to_document()
        }
    }
}

async fn dispatch(
    state: &WireState,
    conn: &mut Connection,
    body: Document,
) -> Result<Reply, CommandError> {
    let name = body
        .keys()
        .next()
        .cloned()
        .ok_or_else(|| CommandError::failed_to_parse("empty command document"))?;
    let db = match body.get("$db") {
        Some(Bson::String(s)) => s.clone(),
        Some(_) => {
            return Err(CommandError::type_mismatch(
                "BSON field '$db' must be a string",
            ));
        }
        None => {
            return Err(CommandError::new(
                40571,
                "Location40571",
                "OP_MSG requests require a $db argument",
            ));
        }
    };
    let counters = &state.shared.counters;
    match name.as_str() {
        "find" => counters.query.fetch_add(1, Ordering::Relaxed),
        "getMore" => counters.getmore.fetch_add(1, Ordering::Relaxed),
        "insert" | "update" | "delete" => 0,
        _ => counters.command.fetch_add(1, Ordering::Relaxed),
    };
    if !UNAUTHENTICATED_COMMANDS.contains(&name.as_str()) {
        let Some(user) = &conn.user else {
            return Err(CommandError::unauthorized(format!(
                "Command {name} requires authentication"
            )));
        };
        if !SERVER_WIDE_COMMANDS.contains(&name.as_str()) && !user.access.allows(&db) {
            return Err(CommandError::unauthorized(format!(
                "not authorized on {db} to execute command {{ {name}: ... }}"
            )));
        }
    }
    let ctx = Ctx {
        state,
        db,
        body: &body,
        name: &name,
    };
    // Query cursors answer with raw documents.
    match name.as_str() {
        "find" => return read::find(&ctx, conn).await,
        "getMore" => return read::get_more(&ctx, conn).await,
        "aggregate" => return read::aggregate(&ctx, conn).await,
        _ => {}
    }
    dispatch_document(&ctx, conn).await.map(Reply::Doc)
}

/// Runs the commands that answer with a plain document.
async fn dispatch_document(ctx: &Ctx<'_>, conn: &mut Connection) -> CmdResult {
    let state = ctx.state;
    match ctx.name {
        "hello" | "isMaster" | "ismaster" => handshake::hello(ctx, conn).await,
        "ping" => Ok(doc! {}),
        "buildInfo" | "buildinfo" => Ok(handshake::build_info()),
        "saslStart" => handshake::sasl_start(ctx, conn).await,
        "saslContinue" => handshake::sasl_continue(ctx, conn),
        "logout" => {
            conn.user = None;
            Ok(doc! {})
        }
        "endSessions" => Ok(doc! {}),
        "startSession" => Ok(handshake::start_session()),
        "getParameter" => handshake::get_parameter(ctx),
        "connectionStatus" => Ok(handshake::connection_status(conn)),
        "hostInfo" => Ok(handshake::host_info()),
        "whatsmyuri" => Ok(doc! {"you": conn.peer.to_string()}),
        "getLog" => handshake::get_log(ctx),
        "serverStatus" => Ok(handshake::server_status(state)),
        "getCmdLineOpts" => Ok(doc! {"argv": ["stratus"], "parsed": {}}),
        "listDatabases" => admin::list_databases(ctx, conn).await,
        "listCollections" => admin::list_collections(ctx).await,
        "create" => admin::create(ctx).await,
        "drop" => admin::drop(ctx).await,
        "dropDatabase" => admin::drop_database(ctx).await,
        "renameCollection" => admin::rename_collection(ctx, conn).await,
        "createIndexes" => admin::create_indexes(ctx).await,
        "listIndexes" => admin::list_indexes(ctx).await,
        "dropIndexes" | "deleteIndexes" => admin::drop_indexes(ctx).await,
        "collStats" => admin::coll_stats(ctx).await,
        "dbStats" => admin::db_stats(ctx).await,
        "insert" => write::insert(ctx).await,
        "update" => write::update(ctx).await,
        "delete" => write::delete(ctx).await,
        "findAndModify" | "findandmodify" => write::find_and_modify(ctx).await,
        "killCursors" => read::kill_cursors(ctx, conn),
        "count" => read::count(ctx).await,
        "distinct" => read::distinct(ctx).await,
        "explain" => read::explain(ctx).await,
        other => Err(CommandError::command_not_found(other)),
    }
}

/// What a command handler gets.
pub(crate) struct Ctx<'a> {
    pub(crate) state: &'a WireState,
    pub(crate) db: String,
    pub(crate) body: &'a Document,
    pub(crate) name: &'a str,
}

impl Ctx<'_> {
    /// Runs `f` on the store on a blocking thread.
    pub(crate) async fn blocking<T, F>(&self, f: F) -> Result<T, CommandError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, CommandError> + Send + 'static,
    {
        let store = self.state.shared.store.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| CommandError::internal(format!("store task failed: {e}")))?
    }

    /// Runs `f` on the store: on the calling async worker when `inline` (only for work known
    /// to be bounded — a few microseconds, no waiting on the writer), else on a blocking
    /// thread.
    pub(crate) async fn store_call<T, F>(&self, inline: bool, f: F) -> Result<T, CommandError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, CommandError> + Send + 'static,
    {
        if inline {
            f(&self.state.shared.store)
        } else {
            self.blocking(f).await
        }
    }

    /// The collection named by the command's first field.
    pub(crate) fn collection(&self) -> Result<String, CommandError> {
        match self.body.get(self.name) {
            Some(Bson::String(s)) if !s.is_empty() => Ok(s.clone()),
            Some(Bson::String(_)) => Err(CommandError::invalid_namespace(format!(
                "Invalid namespace specified '{}.'",
                self.db
            ))),
            Some(other) => Err(CommandError::invalid_namespace(format!(
                "collection name has invalid type {}",
                args::type_name(other)
            ))),
            None => Err(CommandError::missing_field(self.name, self.name)),
        }
    }
}
