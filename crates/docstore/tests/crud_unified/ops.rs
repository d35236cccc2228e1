//! Executes unified-format operations on a [`Store`] and shapes the results the way MongoDB
//! drivers report them (`insertedId`, `matchedCount`, …).

use std::collections::HashMap;

use bson::{Bson, Document, doc};
use stratus_docstore::crud::aggregate::AggregateOptions;
use stratus_docstore::crud::find_and_modify::{FindAndModifyOptions, ReturnDocument};
use stratus_docstore::crud::let_vars;
use stratus_docstore::crud::modify::UpdateOptions;
use stratus_docstore::index::IndexSpec;
use stratus_docstore::{DocstoreError, FindOptions, ReplaceOptions, Store};

use crate::matcher::matches;

/// Entity ids of the file mapped to (database, collection) names.
pub(crate) struct Entities {
    databases: HashMap<String, String>,
    collections: HashMap<String, (String, String)>,
    /// Collection entities created with `writeConcern: {w: 0}`: drivers report no result.
    unacknowledged: Vec<String>,
}

impl Entities {
    pub(crate) fn from_spec(spec: &Document) -> Entities {
        let mut databases = HashMap::new();
        let mut collections = HashMap::new();
        let mut unacknowledged = Vec::new();
        for e in spec.get_array("createEntities").into_iter().flatten() {
            let Bson::Document(e) = e else { continue };
            if let Ok(d) = e.get_document("database") {
                databases.insert(
                    d.get_str("id").unwrap_or_default().to_string(),
                    d.get_str("databaseName").unwrap_or_default().to_string(),
                );
            }
            if let Ok(c) = e.get_document("collection") {
                let db = databases
                    .get(c.get_str("database").unwrap_or_default())
                    .cloned()
                    .unwrap_or_default();
                let id = c.get_str("id").unwrap_or_default().to_string();
                let w0 = c
                    .get_document("collectionOptions")
                    .and_then(|o| o.get_document("writeConcern"))
                    .is_ok_and(|w| matches!(w.get("w"), Some(Bson::Int32(0))));
                if w0 {
                    unacknowledged.push(id.clone());
                }
                collections.insert(
                    id,
                    (
                        db,
                        c.get_str("collectionName").unwrap_or_default().to_string(),
                    ),
                );
            }
        }
        Entities {
            databases,
            collections,
            unacknowledged,
        }
    }
}

/// Why a test cannot run against an embedded store, if it cannot.
pub(crate) fn unsupported(test: &Document) -> Option<String> {
    for op in test.get_array("operations").into_iter().flatten() {
        let Bson::Document(op) = op else { continue };
        let name = op.get_str("name").unwrap_or_default();
        let args = op.get_document("arguments").ok();
        match name {
            "failPoint" => {
                return Some(
                    "server fail points are a test hook of mongod (driver retry behaviour)".into(),
                );
            }
            "clientBulkWrite" => {
                return Some("client-level bulkWrite is a driver API over the 8.0 bulkWrite command; served by the wire protocol (issue 3)".into());
            }
            "createCollection" if args.is_some_and(|a| a.contains_key("viewOn")) => {
                return Some("views are not supported (documented deviation)".into());
            }
            "modifyCollection" => {
                return Some("collMod/validators are not supported (documented deviation)".into());
            }
            _ => {}
        }
        let in_requests = |key: &str| {
            args.and_then(|a| a.get_array("requests").ok())
                .is_some_and(|reqs| {
                    reqs.iter().filter_map(|r| r.as_document()).any(|r| {
                        r.values()
                            .filter_map(|b| b.as_document())
                            .any(|b| b.contains_key(key))
                    })
                })
        };
        if in_requests("collation") {
            return Some(
                "collations are not supported; strings compare by bytes (documented deviation)"
                    .into(),
            );
        }
        if let Some(a) = args
            && a.contains_key("collation")
        {
            return Some(
                "collations are not supported; strings compare by bytes (documented deviation)"
                    .into(),
            );
        }
        let lists_sessions = args
            .and_then(|a| a.get_array("pipeline").ok())
            .is_some_and(|p| {
                p.iter()
                    .filter_map(|s| s.as_document())
                    .any(|s| s.contains_key("$listLocalSessions"))
            });
        if lists_sessions {
            return Some("$listLocalSessions lists the server's logical sessions, which exist only on the wire protocol (issue 3)".into());
        }
        if op.get_str("object").ok() == Some("collection0View") {
            return Some("views are not supported (documented deviation)".into());
        }
    }
    None
}

/// Outcome of one operation: a value, or an error with MongoDB's code.
struct OpError {
    code: Option<i32>,
    code_name: Option<String>,
    message: String,
}

impl From<DocstoreError> for OpError {
    fn from(e: DocstoreError) -> Self {
        OpError {
            code: Some(e.mongo_code()),
            code_name: Some(e.code_name()),
            message: e.to_string(),
        }
    }
}

type OpResult = Result<Option<Bson>, OpError>;

pub(crate) fn run_test(
    entities: &Entities,
    spec: &Document,
    test: &Document,
) -> Result<(), String> {
    let store = Store::open_in_memory().map_err(|e| format!("open: {e}"))?;
    for init in spec.get_array("initialData").into_iter().flatten() {
        let Bson::Document(init) = init else { continue };
        let db = init.get_str("databaseName").unwrap_or_default();
        let coll = init.get_str("collectionName").unwrap_or_default();
        store
            .create_collection(db, coll)
            .map_err(|e| format!("initialData: {e}"))?;
        let docs: Vec<Document> = init
            .get_array("documents")
            .into_iter()
            .flatten()
            .filter_map(|d| d.as_document().cloned())
            .collect();
        if !docs.is_empty() {
            let r = store
                .insert_many(db, coll, docs, true)
                .map_err(|e| format!("initialData: {e}"))?;
            if let Some(w) = r.write_errors.first() {
                return Err(format!("initialData: {}", w.message));
            }
        }
    }
    for (i, op) in test
        .get_array("operations")
        .into_iter()
        .flatten()
        .enumerate()
    {
        let Bson::Document(op) = op else { continue };
        let name = op.get_str("name").unwrap_or_default();
        let result = run_op(&store, entities, op);
        let at = format!("operation {i} ({name})");
        match (op.get_document("expectError"), result) {
            (Ok(expected), Err(e)) => {
                check_error(expected, &e).map_err(|m| format!("{at}: {m}"))?
            }
            (Ok(_), Ok(v)) => return Err(format!("{at}: expected an error, got {v:?}")),
            (Err(_), Err(e)) => {
                return Err(format!("{at}: unexpected error {:?} {}", e.code, e.message));
            }
            (Err(_), Ok(v)) => {
                if let Some(expected) = op.get("expectResult") {
                    let root = !matches!(name, "distinct");
                    check_result(expected, v.as_ref(), root).map_err(|m| format!("{at}: {m}"))?;
                }
            }
        }
    }
    for out in test.get_array("outcome").into_iter().flatten() {
        let Bson::Document(out) = out else { continue };
        let db = out.get_str("databaseName").unwrap_or_default();
        let coll = out.get_str("collectionName").unwrap_or_default();
        let actual = store
            .find(
                db,
                coll,
                FindOptions {
                    sort: Some(doc! {"_id": 1}),
                    ..Default::default()
                },
            )
            .and_then(|c| c.to_vec())
            .map_err(|e| format!("outcome read: {e}"))?;
        let expected = Bson::Array(out.get_array("documents").cloned().unwrap_or_default());
        let actual = Bson::Array(actual.into_iter().map(Bson::Document).collect());
        matches(
            &expected,
            Some(&actual),
            false,
            &format!("outcome {db}.{coll}"),
        )?;
    }
    Ok(())
}

/// Results that are lists of documents match element-wise as root documents.
fn check_result(expected: &Bson, actual: Option<&Bson>, root: bool) -> Result<(), String> {
    match (expected, actual) {
        (Bson::Array(e), Some(Bson::Array(a))) if root => {
            if e.len() != a.len() {
                return Err(format!(
                    "expected {} results, got {}: {:?}",
                    e.len(),
                    a.len(),
                    a
                ));
            }
            for (i, (x, y)) in e.iter().zip(a).enumerate() {
                matches(x, Some(y), true, &format!("result.{i}"))?;
            }
            Ok(())
        }
        _ => matches(expected, actual, root, "result"),
    }
}

fn check_error(expected: &Document, e: &OpError) -> Result<(), String> {
    if expected.get_bool("isClientError").ok() == Some(true) {
        // A client-side validation error of a driver is a server-side error here; both refuse.
        return Ok(());
    }
    if let Ok(code) = expected.get_i32("errorCode")
        && e.code != Some(code)
    {
        return Err(format!(
            "expected error code {code}, got {:?}: {}",
            e.code, e.message
        ));
    }
    if let Ok(name) = expected.get_str("errorCodeName")
        && !e
            .code_name
            .as_deref()
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
    {
        return Err(format!(
            "expected code name {name}, got {:?}: {}",
            e.code_name, e.message
        ));
    }
    if let Ok(s) = expected.get_str("errorContains")
        && !e.message.to_lowercase().contains(&s.to_lowercase())
    {
        return Err(format!(
            "expected an error containing `{s}`, got `{}`",
            e.message
        ));
    }
    Ok(())
}

fn target<'a>(entities: &'a Entities, op: &Document) -> Result<(&'a str, &'a str), OpError> {
    let object = op.get_str("object").unwrap_or_default();
    if let Some((db, coll)) = entities.collections.get(object) {
        return Ok((db, coll));
    }
    if let Some(db) = entities.databases.get(object) {
        return Ok((db, ""));
    }
    Err(OpError {
        code: None,
        code_name: None,
        message: format!("unknown entity {object}"),
    })
}

fn client_error(message: impl Into<String>) -> OpError {
    OpError {
        code: None,
        code_name: None,
        message: message.into(),
    }
}

fn arg_doc(args: &Document, key: &str) -> Document {
    args.get_document(key).cloned().unwrap_or_default()
}

fn num(args: &Document, key: &str) -> i64 {
    match args.get(key) {
        Some(Bson::Int32(i)) => i64::from(*i),
        Some(Bson::Int64(i)) => *i,
        Some(Bson::Double(d)) => *d as i64,
        _ => 0,
    }
}

fn update_result(r: stratus_docstore::UpdateResult) -> Bson {
    let mut d = doc! {
        "matchedCount": r.matched as i64,
        "modifiedCount": r.modified as i64,
        "upsertedCount": i64::from(r.upserted_id.is_some()),
    };
    if let Some(id) = r.upserted_id {
        d.insert("upsertedId", id);
    }
    Bson::Document(d)
}

fn run_op(store: &Store, entities: &Entities, op: &Document) -> OpResult {
    let result = run_op_acknowledged(store, entities, op)?;
    let object = op.get_str("object").unwrap_or_default();
    if entities.unacknowledged.iter().any(|u| u == object) {
        // An unacknowledged write (w: 0): the driver reports nothing back.
        let name = op.get_str("name").unwrap_or_default();
        return Ok(Some(if name.starts_with("findOneAnd") {
            Bson::Null
        } else {
            Bson::Document(Document::new())
        }));
    }
    Ok(result)
}

/// What drivers refuse before sending: an update without operators, a replacement with them.
fn driver_validation(kind: &str, body: &Document) -> Result<(), OpError> {
    let first_key_is_operator = |key: &str| match body.get(key) {
        Some(Bson::Document(d)) => d.keys().next().map(|k| k.starts_with('$')),
        _ => None,
    };
    match kind {
        "updateOne" | "updateMany" | "findOneAndUpdate"
            if first_key_is_operator("update") == Some(false) =>
        {
            return Err(client_error(
                "update document must contain atomic operators",
            ));
        }
        "replaceOne" | "findOneAndReplace"
            if first_key_is_operator("replacement") == Some(true) =>
        {
            return Err(client_error(
                "replacement document must not contain atomic operators",
            ));
        }
        _ => {}
    }
    Ok(())
}

fn run_op_acknowledged(store: &Store, entities: &Entities, op: &Document) -> OpResult {
    let name = op.get_str("name").unwrap_or_default();
    let args = arg_doc(op, "arguments");
    driver_validation(name, &args)?;
    let (db, coll) = target(entities, op)?;
    let let_vars = args.get_document("let").cloned().unwrap_or_default();
    let filter = let_vars::bind_filter(&arg_doc(&args, "filter"), &let_vars);
    match name {
        "insertOne" => {
            let id = store.insert_one(db, coll, arg_doc(&args, "document"))?;
            Ok(Some(Bson::Document(doc! {"insertedId": id})))
        }
        "insertMany" => {
            let docs: Vec<Document> = args
                .get_array("documents")
                .into_iter()
                .flatten()
                .filter_map(|d| d.as_document().cloned())
                .collect();
            let ordered = args.get_bool("ordered").unwrap_or(true);
            let r = store.insert_many(db, coll, docs, ordered)?;
            if let Some(w) = r.write_errors.first() {
                return Err(OpError {
                    code: Some(w.code),
                    code_name: Some(w.code_name.clone()),
                    message: w.message.clone(),
                });
            }
            let mut ids = Document::new();
            for (i, id) in r.inserted_ids {
                ids.insert(i.to_string(), id);
            }
            Ok(Some(Bson::Document(doc! {"insertedIds": ids})))
        }
        "find" | "findOne" => {
            let mut opts = FindOptions {
                filter,
                projection: args.get_document("projection").ok().cloned(),
                sort: args.get_document("sort").ok().cloned(),
                skip: num(&args, "skip").max(0) as u64,
                limit: if name == "findOne" {
                    1
                } else {
                    num(&args, "limit")
                },
                batch_size: None,
                hint: args.get("hint").cloned(),
            };
            if let Ok(b) = args.get_i32("batchSize") {
                opts.batch_size = usize::try_from(b).ok().filter(|b| *b > 0);
            }
            let docs = store.find(db, coll, opts)?.to_vec()?;
            if name == "findOne" {
                return Ok(Some(
                    docs.into_iter().next().map_or(Bson::Null, Bson::Document),
                ));
            }
            Ok(Some(Bson::Array(
                docs.into_iter().map(Bson::Document).collect(),
            )))
        }
        "updateOne" | "updateMany" => {
            let update = let_vars::bind_update(
                &args.get("update").cloned().unwrap_or(Bson::Null),
                &let_vars,
            );
            let options = UpdateOptions {
                upsert: args.get_bool("upsert").unwrap_or(false),
                array_filters: array_filters(&args),
                sort: args.get_document("sort").ok().cloned(),
                hint: args.get("hint").cloned(),
            };
            let r = if name == "updateOne" {
                store.update_one(db, coll, filter, &update, options)?
            } else {
                store.update_many(db, coll, filter, &update, options)?
            };
            Ok(Some(update_result(r)))
        }
        "replaceOne" => {
            let r = store.replace_one_with(
                db,
                coll,
                filter,
                arg_doc(&args, "replacement"),
                ReplaceOptions {
                    upsert: args.get_bool("upsert").unwrap_or(false),
                    sort: args.get_document("sort").ok().cloned(),
                    hint: args.get("hint").cloned(),
                },
            )?;
            Ok(Some(update_result(r)))
        }
        "deleteOne" => Ok(Some(Bson::Document(
            doc! {"deletedCount": store.delete_one(db, coll, filter)? as i64},
        ))),
        "deleteMany" => Ok(Some(Bson::Document(
            doc! {"deletedCount": store.delete_many(db, coll, filter)? as i64},
        ))),
        "countDocuments" | "count" => {
            let limit = num(&args, "limit").max(0) as u64;
            Ok(Some(Bson::Int64(store.count_documents(
                db,
                coll,
                &filter,
                num(&args, "skip").max(0) as u64,
                limit,
            )? as i64)))
        }
        "estimatedDocumentCount" => Ok(Some(Bson::Int64(store.estimated_count(db, coll)? as i64))),
        "distinct" => {
            let key = args.get_str("fieldName").unwrap_or_default();
            Ok(Some(Bson::Array(store.distinct(db, coll, key, &filter)?)))
        }
        "findOneAndUpdate" | "findOneAndReplace" | "findOneAndDelete" => {
            let options = FindAndModifyOptions {
                sort: args.get_document("sort").ok().cloned(),
                projection: args.get_document("projection").ok().cloned(),
                upsert: args.get_bool("upsert").unwrap_or(false),
                return_document: if args.get_str("returnDocument").ok() == Some("After") {
                    ReturnDocument::After
                } else {
                    ReturnDocument::Before
                },
                array_filters: array_filters(&args),
                hint: args.get("hint").cloned(),
            };
            let found = match name {
                "findOneAndUpdate" => {
                    let update = let_vars::bind_update(
                        &args.get("update").cloned().unwrap_or(Bson::Null),
                        &let_vars,
                    );
                    store.find_one_and_update(db, coll, filter, &update, options)?
                }
                "findOneAndReplace" => store.find_one_and_replace(
                    db,
                    coll,
                    filter,
                    arg_doc(&args, "replacement"),
                    options,
                )?,
                _ => store.find_one_and_delete(db, coll, filter, options)?,
            };
            Ok(Some(found.map_or(Bson::Null, Bson::Document)))
        }
        "bulkWrite" => bulk_write(store, db, coll, &args),
        "aggregate" => {
            let pipeline = args.get_array("pipeline").cloned().unwrap_or_default();
            let options = AggregateOptions {
                batch_size: args
                    .get_i32("batchSize")
                    .ok()
                    .and_then(|b| usize::try_from(b).ok())
                    .filter(|b| *b > 0),
                let_vars: args.get_document("let").ok().cloned(),
            };
            // A database-level aggregate has no collection (`$documents`, `$listLocalSessions`).
            let docs = store.aggregate(db, coll, &pipeline, options)?.to_vec()?;
            Ok(Some(Bson::Array(
                docs.into_iter().map(Bson::Document).collect(),
            )))
        }
        "createIndex" => {
            let mut spec = doc! {"key": arg_doc(&args, "keys")};
            for k in ["name", "unique", "sparse", "partialFilterExpression"] {
                if let Some(v) = args.get(k) {
                    spec.insert(k, v.clone());
                }
            }
            let spec = IndexSpec::parse(&spec).map_err(DocstoreError::from)?;
            Ok(Some(Bson::String(store.create_index(db, coll, spec)?)))
        }
        "dropCollection" => {
            let c = args.get_str("collection").unwrap_or(coll);
            store.drop_collection(db, c)?;
            Ok(None)
        }
        "createCollection" => {
            let c = args.get_str("collection").unwrap_or(coll);
            store.create_collection(db, c)?;
            Ok(None)
        }
        other => Err(client_error(format!(
            "operation {other} is not supported by this runner yet"
        ))),
    }
}

fn array_filters(args: &Document) -> Option<Vec<Document>> {
    args.get_array("arrayFilters")
        .ok()
        .map(|a| a.iter().filter_map(|d| d.as_document().cloned()).collect())
}

fn bulk_write(store: &Store, db: &str, coll: &str, args: &Document) -> OpResult {
    let bulk_vars = args.get_document("let").cloned().unwrap_or_default();
    let ordered = args.get_bool("ordered").unwrap_or(true);
    let mut totals = doc! {
        "deletedCount": 0i64, "insertedCount": 0i64, "matchedCount": 0i64,
        "modifiedCount": 0i64, "upsertedCount": 0i64,
    };
    let mut inserted = Document::new();
    let mut upserted = Document::new();
    let mut first_error: Option<OpError> = None;
    let add = |totals: &mut Document, key: &str, n: i64| {
        let v = totals.get_i64(key).unwrap_or(0) + n;
        totals.insert(key, v);
    };
    for (i, req) in args.get_array("requests").into_iter().flatten().enumerate() {
        let Some(req) = req.as_document() else {
            continue;
        };
        let Some((kind, body)) = req.iter().next() else {
            continue;
        };
        let body = body.as_document().cloned().unwrap_or_default();
        let filter = let_vars::bind_filter(&arg_doc(&body, "filter"), &bulk_vars);
        let r: Result<(), OpError> = (|| {
            driver_validation(kind, &body)?;
            match kind.as_str() {
                "insertOne" => {
                    let id = store.insert_one(db, coll, arg_doc(&body, "document"))?;
                    add(&mut totals, "insertedCount", 1);
                    inserted.insert(i.to_string(), id);
                }
                "updateOne" | "updateMany" | "replaceOne" => {
                    let upsert = body.get_bool("upsert").unwrap_or(false);
                    let r = if kind == "replaceOne" {
                        store.replace_one_with(
                            db,
                            coll,
                            filter,
                            arg_doc(&body, "replacement"),
                            ReplaceOptions {
                                upsert,
                                sort: body.get_document("sort").ok().cloned(),
                                hint: body.get("hint").cloned(),
                            },
                        )?
                    } else {
                        let update = let_vars::bind_update(
                            &body.get("update").cloned().unwrap_or(Bson::Null),
                            &bulk_vars,
                        );
                        let options = UpdateOptions {
                            upsert,
                            array_filters: array_filters(&body),
                            sort: body.get_document("sort").ok().cloned(),
                            hint: body.get("hint").cloned(),
                        };
                        if kind == "updateOne" {
                            store.update_one(db, coll, filter, &update, options)?
                        } else {
                            store.update_many(db, coll, filter, &update, options)?
                        }
                    };
                    add(&mut totals, "matchedCount", r.matched as i64);
                    add(&mut totals, "modifiedCount", r.modified as i64);
                    if let Some(id) = r.upserted_id {
                        add(&mut totals, "upsertedCount", 1);
                        upserted.insert(i.to_string(), id);
                    }
                }
                "deleteOne" => add(
                    &mut totals,
                    "deletedCount",
                    store.delete_one(db, coll, filter)? as i64,
                ),
                "deleteMany" => add(
                    &mut totals,
                    "deletedCount",
                    store.delete_many(db, coll, filter)? as i64,
                ),
                other => return Err(client_error(format!("unknown bulk request {other}"))),
            }
            Ok(())
        })();
        if let Err(e) = r {
            if first_error.is_none() {
                first_error = Some(e);
            }
            if ordered {
                break;
            }
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    totals.insert("insertedIds", inserted);
    totals.insert("upsertedIds", upserted);
    Ok(Some(Bson::Document(totals)))
}
