//! The fast path for the most common command: `find` by `_id` equality, answered straight from
//! the raw request bytes without decoding the command into a [`Document`].
//!
//! Invariant: the fast path answers only requests whose answer it gives exactly as the general
//! path ([`super::read::find`]) would; anything else — an unusual field, an unusual type, a
//! duplicate field, a missing or unauthorised user — returns `None`, and the request goes the
//! general way (which also produces every error). It covers: the first field `find` (a
//! non-empty string); `filter` exactly `{_id: <scalar>}`; `limit` (int ≥ 0); `batchSize`
//! (int ≥ 1); `singleBatch` (bool); `$db` (string); and fields the general path ignores
//! ([`IGNORED_FIELDS`], still fully validated as BSON). Such a find reads at most one document,
//! so its cursor is always exhausted in the first batch (id 0), and it runs on the calling
//! async worker (see `read::is_bounded_find`).

use std::sync::atomic::Ordering;

use bson::{Bson, Document, RawBsonRef, RawDocument};

use crate::wire::error::CommandError;
use crate::wire::reply::{CursorReply, Reply};
use crate::wire::{Connection, WireState};

/// Fields drivers send with a `find` that the general path ignores too.
pub(crate) const IGNORED_FIELDS: &[&str] = &[
    "lsid",
    "$clusterTime",
    "$readPreference",
    "apiVersion",
    "apiStrict",
    "apiDeprecationErrors",
    "txnNumber",
    "comment",
    "maxTimeMS",
    "readConcern",
];

/// What the fast path needs from the request.
struct PointFind<'a> {
    coll: &'a str,
    db: &'a str,
    id: Bson,
}

/// Answers `body` if it is a `find` by `_id` the fast path covers (see the module doc).
pub(crate) fn try_answer(
    state: &WireState,
    conn: &Connection,
    body: &RawDocument,
) -> Option<Reply> {
    let user = conn.user.as_ref()?;
    let find = parse(body)?;
    if !user.access.allows(find.db) {
        return None;
    }
    state.shared.counters.query.fetch_add(1, Ordering::Relaxed);
    let mut filter = Document::new();
    filter.insert("_id", find.id);
    let ns = format!("{}.{}", find.db, find.coll);
    Some(
        match state.shared.store.find_one_raw(find.db, find.coll, filter) {
            Ok(found) => Reply::Cursor(CursorReply {
                id: 0,
                ns,
                first: true,
                batch: found.into_iter().collect(),
                post_batch_resume_token: None,
            }),
            Err(e) => Reply::Doc(CommandError::from(e).to_document()),
        },
    )
}

/// The request as a point find, or `None` when it is anything else.
fn parse(body: &RawDocument) -> Option<PointFind<'_>> {
    let mut elements = body.iter();
    let coll = match elements.next()?.ok()? {
        (name, RawBsonRef::String(coll)) if name.as_str() == "find" && !coll.is_empty() => coll,
        _ => return None,
    };
    let (mut db, mut id) = (None, None);
    let mut seen: Vec<&str> = Vec::with_capacity(8);
    for element in elements {
        let (key, value) = element.ok()?;
        let key = key.as_str();
        if seen.contains(&key) {
            return None;
        }
        seen.push(key);
        match (key, value) {
            ("$db", RawBsonRef::String(s)) => db = Some(s),
            ("filter", RawBsonRef::Document(filter)) => id = Some(id_of(filter)?),
            ("limit", v) => {
                int_of(v).filter(|n| *n >= 0)?;
            }
            ("batchSize", v) => {
                int_of(v).filter(|n| *n >= 1)?;
            }
            ("singleBatch", RawBsonRef::Boolean(_)) => {}
            (key, value) if IGNORED_FIELDS.contains(&key) => {
                // Decoded only to validate it, as the general path would.
                Bson::try_from(value).ok()?;
            }
            _ => return None,
        }
    }
    Some(PointFind {
        coll,
        db: db?,
        id: id?,
    })
}

/// The value of a filter that is exactly `{_id: <value>}` the `_id` index matches by equality
/// (the same rule as `read::is_bounded_find`: not an operator document, array, regex, null or
/// undefined).
fn id_of(filter: &RawDocument) -> Option<Bson> {
    let mut elements = filter.iter();
    let (key, value) = elements.next()?.ok()?;
    if key.as_str() != "_id" || elements.next().is_some() {
        return None;
    }
    match value {
        RawBsonRef::Document(d) => {
            if let Some(first) = d.iter().next()
                && first.ok()?.0.as_str().starts_with('$')
            {
                return None;
            }
        }
        RawBsonRef::Array(_)
        | RawBsonRef::RegularExpression(_)
        | RawBsonRef::Null
        | RawBsonRef::Undefined => return None,
        _ => {}
    }
    Bson::try_from(value).ok()
}

fn int_of(v: RawBsonRef<'_>) -> Option<i64> {
    match v {
        RawBsonRef::Int32(i) => Some(i64::from(i)),
        RawBsonRef::Int64(i) => Some(i),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::{RawDocumentBuf, doc};

    fn raw(d: Document) -> RawDocumentBuf {
        RawDocumentBuf::try_from(&d).unwrap()
    }

    #[test]
    fn covered_and_not_covered_requests() {
        let covered = [
            doc! {"find": "c", "filter": {"_id": 1}, "$db": "d"},
            doc! {"find": "c", "filter": {"_id": "k"}, "limit": 1, "singleBatch": true, "$db": "d"},
            doc! {"find": "c", "filter": {"_id": 2.5}, "limit": 0_i64, "batchSize": 101, "$db": "d"},
            doc! {"find": "c", "filter": {"_id": {"a": 1}}, "$db": "d", "lsid": {"id": 1}},
        ];
        for d in covered {
            let r = raw(d.clone());
            assert!(parse(&r).is_some(), "{d}");
        }
        let not_covered = [
            doc! {"$db": "d", "find": "c", "filter": {"_id": 1}},
            doc! {"find": "c", "filter": {"_id": 1}},
            doc! {"find": "", "filter": {"_id": 1}, "$db": "d"},
            doc! {"find": 1, "filter": {"_id": 1}, "$db": "d"},
            doc! {"find": "c", "$db": "d"},
            doc! {"find": "c", "filter": {}, "$db": "d"},
            doc! {"find": "c", "filter": {"_id": 1, "a": 1}, "$db": "d"},
            doc! {"find": "c", "filter": {"a": 1}, "$db": "d"},
            doc! {"find": "c", "filter": {"_id": {"$gt": 1}}, "$db": "d"},
            doc! {"find": "c", "filter": {"_id": [1]}, "$db": "d"},
            doc! {"find": "c", "filter": {"_id": Bson::Null}, "$db": "d"},
            doc! {"find": "c", "filter": {"_id": 1}, "limit": -1, "$db": "d"},
            doc! {"find": "c", "filter": {"_id": 1}, "limit": 1.0, "$db": "d"},
            doc! {"find": "c", "filter": {"_id": 1}, "batchSize": 0, "$db": "d"},
            doc! {"find": "c", "filter": {"_id": 1}, "singleBatch": 1, "$db": "d"},
            doc! {"find": "c", "filter": {"_id": 1}, "projection": {"a": 1}, "$db": "d"},
            doc! {"find": "c", "filter": {"_id": 1}, "sort": {"a": 1}, "$db": "d"},
            doc! {"find": "c", "filter": {"_id": 1}, "hint": {"_id": 1}, "$db": "d"},
            doc! {"find": "c", "filter": {"_id": 1}, "skip": 1, "$db": "d"},
            doc! {"find": "c", "filter": {"_id": 1}, "let": {}, "$db": "d"},
            doc! {"find": "c", "filter": {"_id": 1}, "collation": {"locale": "fr"}, "$db": "d"},
            doc! {"find": "c", "filter": {"_id": 1}, "$db": 1},
        ];
        for d in not_covered {
            let r = raw(d.clone());
            assert!(parse(&r).is_none(), "{d}");
        }
    }

    #[test]
    fn id_rule_matches_is_bounded_find() {
        use crate::wire::commands::read::is_bounded_find;
        let values = [
            Bson::Int32(1),
            Bson::Int64(2),
            Bson::Double(2.5),
            Bson::String("k".into()),
            Bson::Boolean(true),
            Bson::Document(doc! {}),
            Bson::Document(doc! {"a": 1}),
            Bson::Document(doc! {"$gt": 1}),
            Bson::Document(doc! {"a": 1, "$b": 2}),
            Bson::Array(vec![]),
            Bson::Null,
            Bson::Undefined,
            Bson::ObjectId(bson::oid::ObjectId::new()),
            Bson::DateTime(bson::DateTime::from_millis(5)),
        ];
        for v in values {
            let filter = doc! {"_id": v.clone()};
            let ours = id_of(&raw(filter.clone()));
            assert_eq!(ours.is_some(), is_bounded_find(&filter, None, false), "{v}");
            if let Some(got) = ours {
                assert_eq!(got, v);
            }
        }
    }

    #[test]
    fn duplicate_fields_are_not_covered() {
        // {find: "c", filter: {_id: 1}, $db: "d", $db: "e"} built by hand.
        let mut r = RawDocumentBuf::new();
        r.append(bson::raw::cstr!("find"), "c");
        let filter = raw(doc! {"_id": 1});
        r.append(bson::raw::cstr!("filter"), &filter);
        r.append(bson::raw::cstr!("$db"), "d");
        assert!(parse(&r).is_some());
        r.append(bson::raw::cstr!("$db"), "e");
        assert!(parse(&r).is_none());
    }

    #[test]
    fn answers_only_authorised_users() {
        use crate::wire::{DatabaseAccess, StaticCredentials, UserCredentials};
        let store = stratus_docstore::Store::open_in_memory().unwrap();
        store
            .insert_one("d", "c", doc! {"_id": 1, "v": "x"})
            .unwrap();
        let state = WireState::new(store, std::sync::Arc::new(StaticCredentials::new()));
        let mut conn = Connection {
            id: 1,
            peer: "127.0.0.1:1".parse().unwrap(),
            user: None,
            sasl: None,
        };
        let body = raw(doc! {"find": "c", "filter": {"_id": 1}, "$db": "d"});
        assert!(
            try_answer(&state, &conn, &body).is_none(),
            "unauthenticated"
        );
        let user = |access| UserCredentials {
            user: "u".into(),
            credentials: vec![],
            access,
        };
        conn.user = Some(user(DatabaseAccess::Only(["e".to_string()].into())));
        assert!(try_answer(&state, &conn, &body).is_none(), "other database");
        conn.user = Some(user(DatabaseAccess::All));
        let Some(Reply::Cursor(c)) = try_answer(&state, &conn, &body) else {
            panic!("not answered");
        };
        assert_eq!((c.id, c.ns.as_str(), c.first), (0, "d.c", true));
        assert_eq!(c.batch, vec![raw(doc! {"_id": 1, "v": "x"})]);
        assert_eq!(state.counters().query.load(Ordering::Relaxed), 1);
    }
}
