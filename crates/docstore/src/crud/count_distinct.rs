//! `count_documents`, `estimated_count` and `distinct`.
//!
//! `count_documents` counts matches of a filter on one snapshot (with skip/limit);
//! `estimated_count` reads the maintained collection stats (no scan). `distinct` collects the
//! distinct values of a dotted path with MongoDB's rules: arrays on the path are traversed,
//! an array at the end contributes each of its elements, equal values of different numeric
//! types count once, and the result is in BSON order.

use bson::{Bson, Document};
use stratus_query::compare::{compare, values_equal};

use crate::catalog;
use crate::crud::{Matcher, decode, validate_filter};
use crate::error::Result;
use crate::store::Store;

impl Store {
    /// Number of documents matching `filter`, after skipping `skip`, at most `limit` (0 = no
    /// limit).
    pub fn count_documents(
        &self,
        db: &str,
        coll: &str,
        filter: &Document,
        skip: u64,
        limit: u64,
    ) -> Result<u64> {
        validate_filter(filter)?;
        let snap = self.snapshot()?;
        let Some(meta) = catalog::get_shared(snap.as_ref(), db, coll)? else {
            return Ok(0);
        };
        let n = if filter.is_empty() {
            catalog::stats(snap.as_ref(), meta.id)?.0.max(0) as u64
        } else {
            let matched = crate::crud::matching_docs(snap.as_ref(), &meta, filter, None)?;
            matched.len() as u64
        };
        let n = n.saturating_sub(skip);
        Ok(if limit > 0 { n.min(limit) } else { n })
    }

    /// The number of documents from the collection's stats (0 for a missing collection).
    pub fn estimated_count(&self, db: &str, coll: &str) -> Result<u64> {
        let snap = self.snapshot()?;
        match catalog::get_shared(snap.as_ref(), db, coll)? {
            Some(meta) => Ok(catalog::stats(snap.as_ref(), meta.id)?.0.max(0) as u64),
            None => Ok(0),
        }
    }

    /// The distinct values of `key` (a dotted path) among documents matching `filter`.
    pub fn distinct(
        &self,
        db: &str,
        coll: &str,
        key: &str,
        filter: &Document,
    ) -> Result<Vec<Bson>> {
        if key.is_empty() {
            return Err(crate::error::DocstoreError::mongo(
                stratus_query::MongoCode::Location(18511),
                "distinct: key must not be empty",
            ));
        }
        let matcher = Matcher::new(filter)?;
        let snap = self.snapshot()?;
        let Some(meta) = catalog::get_shared(snap.as_ref(), db, coll)? else {
            return Ok(Vec::new());
        };
        let table = meta.docs_table();
        let parts: Vec<&str> = key.split('.').collect();
        let mut out: Vec<Bson> = Vec::new();
        for pair in snap.range(
            &table,
            std::ops::Bound::Unbounded,
            std::ops::Bound::Unbounded,
            false,
        )? {
            let (_, raw) = pair?;
            if !matcher.matches_raw(&table, &raw)? {
                continue;
            }
            let doc = decode(&table, &raw)?;
            let mut vals = Vec::new();
            collect_path(&Bson::Document(doc), &parts, &mut vals);
            for v in vals {
                if !out.iter().any(|o| values_equal(o, &v)) {
                    out.push(v);
                }
            }
        }
        out.sort_by(compare);
        Ok(out)
    }
}

/// Collects the values at `parts` below `v`, unwinding arrays MongoDB-style.
fn collect_path(v: &Bson, parts: &[&str], out: &mut Vec<Bson>) {
    let Some((first, rest)) = parts.split_first() else {
        match v {
            Bson::Array(items) => out.extend(items.iter().cloned()),
            other => out.push(other.clone()),
        }
        return;
    };
    match v {
        Bson::Document(d) => {
            if let Some(child) = d.get(*first) {
                collect_path(child, rest, out);
            }
        }
        Bson::Array(items) => {
            if let Ok(i) = first.parse::<usize>() {
                if let Some(child) = items.get(i) {
                    collect_path(child, rest, out);
                }
            } else {
                for item in items {
                    if matches!(item, Bson::Document(_)) {
                        collect_path(item, parts, out);
                    }
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::{bson, doc};

    #[test]
    fn distinct_unwinds_arrays_and_dedupes_numbers() {
        let store = Store::open_in_memory().expect("mem");
        store
            .insert_many(
                "db",
                "c",
                vec![
                    doc! {"_id": 1, "a": 1, "b": {"c": [1, 2]}},
                    doc! {"_id": 2, "a": 1.0, "b": [{"c": 3}, {"c": [4, [5]]}]},
                    doc! {"_id": 3, "a": "x"},
                    doc! {"_id": 4, "a": [2, 3]},
                ],
                true,
            )
            .expect("insert");
        let a = store.distinct("db", "c", "a", &doc! {}).expect("distinct");
        assert_eq!(a, vec![bson!(1), bson!(2), bson!(3), bson!("x")]);
        let c = store
            .distinct("db", "c", "b.c", &doc! {})
            .expect("distinct");
        assert_eq!(c, vec![bson!(1), bson!(2), bson!(3), bson!(4), bson!([5])]);
        assert!(
            store
                .distinct("db", "none", "a", &doc! {})
                .expect("d")
                .is_empty()
        );
        assert_eq!(
            store
                .count_documents("db", "c", &doc! {}, 1, 2)
                .expect("count"),
            2
        );
        assert_eq!(
            store
                .count_documents("db", "c", &doc! {"_id": 3}, 0, 0)
                .expect("count"),
            1
        );
        assert_eq!(store.estimated_count("db", "c").expect("est"), 4);
        assert_eq!(store.estimated_count("db", "nope").expect("est"), 0);
    }
}
