//! Database nodes (CONTRACT §5). All take `collection` (a literal name) and write
//! `$.<name>.result`:
//!
//! | node | fields | result |
//! |---|---|---|
//! | `insertOne` | `document` | the new `_id` (ObjectId as 24-hex string) |
//! | `insertMany` | `documents` | array of the new ids |
//! | `fetchById` | `id` | the document or `null` |
//! | `findOne` | `filter`, `projection`, `sort`, `offset` | the first document or `null` |
//! | `findMany` | + `limit` (default [`DEFAULT_FIND_LIMIT`]) | array |
//! | `listRecords` | + `limit` (default [`DEFAULT_LIST_LIMIT`]), `count` (default `true`) | `{data, page: {total, limit, offset}}` (no `total` when `count` is `false`) |
//! | `aggregate` | `pipeline` | array |
//! | `updateOne` / `updateMany` | `filter`, `update`, `upsert` | `{matched, modified}` (+ `upsertedId`) |
//! | `updateById` | `id`, `update` | `{matched, modified}` |
//! | `deleteOne` / `deleteMany` | `filter` | `{deleted}` |
//!
//! `document(s)`, `id`, `limit`, `offset`, `count` and `upsert` are CQL values; `filter`, `update`,
//! `pipeline`, `projection` and `sort` are raw MongoDB inputs (path substitution only, Extended
//! JSON decoded). `id`: a 24-hex string is converted to an ObjectId, anything else is used as
//! is. Limits are capped at [`MAX_LIMIT`]. A plain-JSON filter does not convert 24-hex strings
//! to ObjectIds: write `{"_id": {"$oid": "$.request.pathParams.id"}}` or use `fetchById`.

use bson::oid::ObjectId;
use bson::{Bson, DateTime, Document};

use super::Op;
use super::json::type_error;
use crate::compile::{Compiler, Fields};
use crate::context::Frame;
use crate::error::{Result, RunError, RunErrorCode};
use crate::services::{
    Database, FindQuery, ServiceError, ServiceErrorKind, UpdateSpec, WriteFuture,
};
use crate::value::Tmpl;

/// Default `limit` of `findMany`.
pub const DEFAULT_FIND_LIMIT: u64 = 1_000;
/// Default `limit` of `listRecords`.
pub const DEFAULT_LIST_LIMIT: u64 = 20;
/// Largest accepted `limit`.
pub const MAX_LIMIT: u64 = 10_000;

#[derive(Debug)]
enum Kind {
    InsertOne(Tmpl),
    InsertMany(Tmpl),
    FetchById(Tmpl),
    Find {
        q: FindTmpl,
        one: bool,
    },
    List {
        q: FindTmpl,
        count: Option<Tmpl>,
    },
    Aggregate(Tmpl),
    Update {
        filter: Tmpl,
        update: Tmpl,
        upsert: Option<Tmpl>,
        multi: bool,
    },
    UpdateById {
        id: Tmpl,
        update: Tmpl,
    },
    Delete {
        filter: Tmpl,
        multi: bool,
    },
}

#[derive(Debug)]
struct FindTmpl {
    filter: Option<Tmpl>,
    projection: Option<Tmpl>,
    sort: Option<Tmpl>,
    limit: Option<Tmpl>,
    offset: Option<Tmpl>,
    default_limit: u64,
}

/// A database node.
#[derive(Debug)]
pub(crate) struct DbNode {
    collection: String,
    kind: Kind,
}

fn collection(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> String {
    c.string(f, "collection", true).unwrap_or_default()
}

fn node(collection: String, kind: Kind) -> Op {
    Op::Db(DbNode { collection, kind })
}

pub(crate) fn compile_insert_one(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    let coll = collection(c, f);
    let d = c.req_value(f, "document");
    if let Some(b) = d.literal()
        && !matches!(b, Bson::Document(_))
    {
        c.error(&f.at("document"), "must be an object");
    }
    node(coll, Kind::InsertOne(d))
}

pub(crate) fn compile_insert_many(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    let coll = collection(c, f);
    let d = c.req_value(f, "documents");
    if let Some(b) = d.literal()
        && !matches!(b, Bson::Array(items) if items.iter().all(|i| matches!(i, Bson::Document(_))))
    {
        c.error(&f.at("documents"), "must be an array of objects");
    }
    node(coll, Kind::InsertMany(d))
}

pub(crate) fn compile_fetch_by_id(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    let coll = collection(c, f);
    let id = c.req_value(f, "id");
    node(coll, Kind::FetchById(id))
}

fn find_tmpl(
    c: &mut Compiler<'_>,
    f: &mut Fields<'_>,
    with_limit: bool,
    default_limit: u64,
) -> FindTmpl {
    let filter = c.mongo(f, "filter", false);
    let projection = c.mongo(f, "projection", false);
    let sort = c.mongo(f, "sort", false);
    let limit = if with_limit {
        c.opt_value(f, "limit")
    } else {
        None
    };
    let offset = c.opt_value(f, "offset");
    for (name, t) in [
        ("filter", &filter),
        ("projection", &projection),
        ("sort", &sort),
    ] {
        if let Some(b) = t.as_ref().and_then(Tmpl::literal)
            && !matches!(b, Bson::Document(_))
        {
            c.error(&f.at(name), "must be an object");
        }
    }
    FindTmpl {
        filter,
        projection,
        sort,
        limit,
        offset,
        default_limit,
    }
}

pub(crate) fn compile_find_one(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    let coll = collection(c, f);
    let q = find_tmpl(c, f, false, 1);
    node(coll, Kind::Find { q, one: true })
}

pub(crate) fn compile_find_many(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    let coll = collection(c, f);
    let q = find_tmpl(c, f, true, DEFAULT_FIND_LIMIT);
    node(coll, Kind::Find { q, one: false })
}

pub(crate) fn compile_list_records(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    let coll = collection(c, f);
    let q = find_tmpl(c, f, true, DEFAULT_LIST_LIMIT);
    let count = c.opt_value(f, "count");
    if let Some(b) = count.as_ref().and_then(Tmpl::literal)
        && !matches!(b, Bson::Boolean(_))
    {
        c.error(&f.at("count"), "must be a boolean");
    }
    node(coll, Kind::List { q, count })
}

pub(crate) fn compile_aggregate(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    let coll = collection(c, f);
    let p = c
        .mongo(f, "pipeline", true)
        .unwrap_or(Tmpl::Lit(Bson::Array(Vec::new())));
    if let Some(b) = p.literal()
        && !matches!(b, Bson::Array(items) if items.iter().all(|i| matches!(i, Bson::Document(_))))
    {
        c.error(&f.at("pipeline"), "must be an array of stage objects");
    }
    node(coll, Kind::Aggregate(p))
}

fn update_tmpl(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Tmpl {
    let u = c
        .mongo(f, "update", true)
        .unwrap_or(Tmpl::Lit(Bson::Document(Document::new())));
    if let Some(b) = u.literal()
        && !matches!(b, Bson::Document(_) | Bson::Array(_))
    {
        c.error(&f.at("update"), "must be an update document or a pipeline");
    }
    u
}

fn compile_update(c: &mut Compiler<'_>, f: &mut Fields<'_>, multi: bool) -> Op {
    let coll = collection(c, f);
    let filter = c
        .mongo(f, "filter", true)
        .unwrap_or(Tmpl::Lit(Bson::Document(Document::new())));
    let update = update_tmpl(c, f);
    let upsert = c.opt_value(f, "upsert");
    node(
        coll,
        Kind::Update {
            filter,
            update,
            upsert,
            multi,
        },
    )
}

pub(crate) fn compile_update_one(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    compile_update(c, f, false)
}

pub(crate) fn compile_update_many(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    compile_update(c, f, true)
}

pub(crate) fn compile_update_by_id(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    let coll = collection(c, f);
    let id = c.req_value(f, "id");
    let update = update_tmpl(c, f);
    node(coll, Kind::UpdateById { id, update })
}

fn compile_delete(c: &mut Compiler<'_>, f: &mut Fields<'_>, multi: bool) -> Op {
    let coll = collection(c, f);
    let filter = c
        .mongo(f, "filter", true)
        .unwrap_or(Tmpl::Lit(Bson::Document(Document::new())));
    node(coll, Kind::Delete { filter, multi })
}

pub(crate) fn compile_delete_one(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    compile_delete(c, f, false)
}

pub(crate) fn compile_delete_many(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    compile_delete(c, f, true)
}

/// A database call with every input evaluated (owned, so it can move to the blocking pool).
#[derive(Debug)]
pub(crate) enum Call {
    InsertOne(Document),
    InsertMany(Vec<Document>),
    FetchById(Bson),
    Find(FindQuery, bool),
    /// The query and whether to count all matches (`page.total`).
    List(FindQuery, bool),
    Aggregate(Vec<Document>),
    Update {
        filter: Document,
        update: UpdateSpec,
        upsert: bool,
        multi: bool,
    },
    Delete {
        filter: Document,
        multi: bool,
    },
}

fn doc_of(v: Bson, field: &str) -> Result<Document> {
    match v {
        Bson::Document(d) => Ok(d),
        other => Err(type_error(field, "an object", &other)),
    }
}

fn docs_of(v: Bson, field: &str) -> Result<Vec<Document>> {
    match v {
        Bson::Array(items) => items.into_iter().map(|i| doc_of(i, field)).collect(),
        other => Err(type_error(field, "an array of objects", &other)),
    }
}

fn count_of(v: Bson, field: &str) -> Result<u64> {
    let n = match stratus_query::compare::Number::of(&v) {
        Some(n) if n.as_f64() >= 0.0 && n.as_f64().fract() == 0.0 => n.as_f64() as u64,
        _ => return Err(type_error(field, "a non-negative integer", &v)),
    };
    Ok(n)
}

/// Converts an id input (24-hex string → ObjectId).
pub(crate) fn id_of(v: Bson) -> Bson {
    match v {
        Bson::String(s) if s.len() == 24 => match ObjectId::parse_str(&s) {
            Ok(o) => Bson::ObjectId(o),
            Err(_) => Bson::String(s),
        },
        other => other,
    }
}

fn update_of(v: Bson) -> Result<UpdateSpec> {
    match v {
        Bson::Document(d) => Ok(UpdateSpec::Document(d)),
        Bson::Array(_) => Ok(UpdateSpec::Pipeline(docs_of(v, "update")?)),
        other => Err(type_error(
            "update",
            "an update document or a pipeline",
            &other,
        )),
    }
}

impl FindTmpl {
    fn eval(&self, f: &Frame, now: DateTime) -> Result<FindQuery> {
        let opt_doc = |t: &Option<Tmpl>, name: &str| -> Result<Option<Document>> {
            match t {
                Some(t) => match t.eval(f, now)? {
                    Bson::Null => Ok(None),
                    v => Ok(Some(doc_of(v, name)?)),
                },
                None => Ok(None),
            }
        };
        let opt_count = |t: &Option<Tmpl>, name: &str| -> Result<Option<u64>> {
            match t {
                Some(t) => match t.eval(f, now)? {
                    Bson::Null => Ok(None),
                    v => Ok(Some(count_of(v, name)?)),
                },
                None => Ok(None),
            }
        };
        let limit = opt_count(&self.limit, "limit")?
            .unwrap_or(self.default_limit)
            .min(MAX_LIMIT);
        Ok(FindQuery {
            filter: opt_doc(&self.filter, "filter")?.unwrap_or_default(),
            projection: opt_doc(&self.projection, "projection")?,
            sort: opt_doc(&self.sort, "sort")?,
            skip: opt_count(&self.offset, "offset")?.unwrap_or(0),
            limit: Some(limit),
        })
    }
}

impl DbNode {
    /// The collection.
    pub(crate) fn collection(&self) -> &str {
        &self.collection
    }

    /// Whether the node only reads through `find`/`count` (bounded by its limit). Aggregations
    /// are not counted as reads here: they can scan without bound or write (`$out`, `$merge`).
    pub(crate) fn is_bounded_read(&self) -> bool {
        matches!(
            self.kind,
            Kind::FetchById(_) | Kind::Find { .. } | Kind::List { .. }
        )
    }

    /// Evaluates the inputs.
    pub(crate) fn prepare(&self, f: &Frame, now: DateTime) -> Result<Call> {
        Ok(match &self.kind {
            Kind::InsertOne(t) => Call::InsertOne(doc_of(t.eval(f, now)?, "document")?),
            Kind::InsertMany(t) => Call::InsertMany(docs_of(t.eval(f, now)?, "documents")?),
            Kind::FetchById(t) => Call::FetchById(id_of(t.eval(f, now)?)),
            Kind::Find { q, one } => Call::Find(q.eval(f, now)?, *one),
            Kind::List { q, count } => {
                let with_total = match count {
                    Some(t) => match t.eval(f, now)? {
                        Bson::Boolean(b) => b,
                        Bson::Null => true,
                        other => return Err(type_error("count", "a boolean", &other)),
                    },
                    None => true,
                };
                Call::List(q.eval(f, now)?, with_total)
            }
            Kind::Aggregate(t) => Call::Aggregate(docs_of(t.eval(f, now)?, "pipeline")?),
            Kind::Update {
                filter,
                update,
                upsert,
                multi,
            } => Call::Update {
                filter: doc_of(filter.eval(f, now)?, "filter")?,
                update: update_of(update.eval(f, now)?)?,
                upsert: match upsert {
                    Some(t) => match t.eval(f, now)? {
                        Bson::Boolean(b) => b,
                        Bson::Null => false,
                        other => return Err(type_error("upsert", "a boolean", &other)),
                    },
                    None => false,
                },
                multi: *multi,
            },
            Kind::UpdateById { id, update } => {
                let mut filter = Document::new();
                filter.insert("_id", id_of(id.eval(f, now)?));
                Call::Update {
                    filter,
                    update: update_of(update.eval(f, now)?)?,
                    upsert: false,
                    multi: false,
                }
            }
            Kind::Delete { filter, multi } => Call::Delete {
                filter: doc_of(filter.eval(f, now)?, "filter")?,
                multi: *multi,
            },
        })
    }
}

/// Maps a service error to a run error.
pub(crate) fn service_error(e: ServiceError) -> RunError {
    match e.kind {
        ServiceErrorKind::DuplicateKey => RunError::new(RunErrorCode::DuplicateKey, e.message),
        ServiceErrorKind::BadQuery => {
            let mut r = RunError::new(RunErrorCode::DatabaseError, e.message);
            r.status = Some(400);
            r
        }
        ServiceErrorKind::Busy => {
            let mut r = RunError::new(RunErrorCode::DatabaseError, e.message);
            r.status = Some(503);
            r
        }
        ServiceErrorKind::Internal => RunError::new(RunErrorCode::DatabaseError, e.message),
    }
}

fn id_output(id: Bson) -> Bson {
    match id {
        Bson::ObjectId(o) => Bson::String(o.to_hex()),
        other => other,
    }
}

fn u64_bson(n: u64) -> Bson {
    Bson::Int64(i64::try_from(n).unwrap_or(i64::MAX))
}

/// Awaits an insert started with [`Database::insert_one_async`]: the `insertOne` result.
pub(crate) async fn finish_insert(write: WriteFuture<Bson>) -> Result<Bson> {
    write.await.map(id_output).map_err(service_error)
}

/// Runs a prepared call (synchronously: call it on the blocking pool).
pub(crate) fn execute(db: &dyn Database, collection: &str, call: Call) -> Result<Bson> {
    let r = match call {
        Call::InsertOne(d) => db.insert_one(collection, d).map(id_output),
        Call::InsertMany(ds) => db
            .insert_many(collection, ds)
            .map(|ids| Bson::Array(ids.into_iter().map(id_output).collect())),
        Call::FetchById(id) => {
            let mut filter = Document::new();
            filter.insert("_id", id);
            let q = FindQuery {
                filter,
                limit: Some(1),
                ..Default::default()
            };
            db.find(collection, &q)
                .map(|mut v| v.drain(..).next().map(Bson::Document).unwrap_or(Bson::Null))
        }
        Call::Find(q, true) => {
            let q = FindQuery {
                limit: Some(1),
                ..q
            };
            db.find(collection, &q)
                .map(|mut v| v.drain(..).next().map(Bson::Document).unwrap_or(Bson::Null))
        }
        Call::Find(q, false) => db
            .find(collection, &q)
            .map(|v| Bson::Array(v.into_iter().map(Bson::Document).collect())),
        Call::List(q, with_total) => {
            let data = db.find(collection, &q).map_err(service_error)?;
            let mut page = Document::new();
            if with_total {
                let total = db.count(collection, &q.filter).map_err(service_error)?;
                page.insert("total", u64_bson(total));
            }
            page.insert("limit", u64_bson(q.limit.unwrap_or(0)));
            page.insert("offset", u64_bson(q.skip));
            let mut out = Document::new();
            out.insert(
                "data",
                Bson::Array(data.into_iter().map(Bson::Document).collect()),
            );
            out.insert("page", page);
            Ok(Bson::Document(out))
        }
        Call::Aggregate(p) => db
            .aggregate(collection, &p)
            .map(|v| Bson::Array(v.into_iter().map(Bson::Document).collect())),
        Call::Update {
            filter,
            update,
            upsert,
            multi,
        } => db
            .update(collection, &filter, &update, multi, upsert)
            .map(|o| {
                let mut d = Document::new();
                d.insert("matched", u64_bson(o.matched));
                d.insert("modified", u64_bson(o.modified));
                if let Some(id) = o.upserted_id {
                    d.insert("upsertedId", id_output(id));
                }
                Bson::Document(d)
            }),
        Call::Delete { filter, multi } => db.delete(collection, &filter, multi).map(|n| {
            let mut d = Document::new();
            d.insert("deleted", u64_bson(n));
            Bson::Document(d)
        }),
    };
    r.map_err(service_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_errors_map_to_stable_codes_and_statuses() {
        let cases = [
            (ServiceErrorKind::DuplicateKey, "duplicate_key", 409),
            (ServiceErrorKind::BadQuery, "database_error", 400),
            (ServiceErrorKind::Busy, "database_error", 503),
            (ServiceErrorKind::Internal, "database_error", 500),
        ];
        for (kind, code, status) in cases {
            let e = service_error(ServiceError::new(kind, "x"));
            assert_eq!((e.code.name(), e.http_status()), (code, status), "{kind:?}");
        }
    }
}
