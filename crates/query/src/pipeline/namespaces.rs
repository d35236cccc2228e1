//! The databases a pipeline names besides the one it runs in: `$lookup`/`$graphLookup` `from`,
//! `$unionWith` `coll`, `$out`, `$merge` `into` (as `{db, coll}`), recursively through
//! `$lookup`/`$unionWith` sub-pipelines and `$facet` branches.
//!
//! Used by servers to enforce tenancy before running a pipeline (a user of one database must
//! not read or write another through a stage). Works on the raw stages, so it also sees
//! stages that would fail to parse; anything it cannot read as a namespace is ignored (the
//! parser refuses it later).

use bson::Bson;

/// Every explicitly named database in `pipeline` (duplicates removed, in order of appearance).
pub fn named_databases(pipeline: &[Bson]) -> Vec<String> {
    let mut out = Vec::new();
    walk(pipeline, &mut out, 0);
    out
}

/// Deepest nesting followed (deeper pipelines are refused by the parser anyway).
const MAX_DEPTH: usize = 64;

fn push(out: &mut Vec<String>, db: &str) {
    if !out.iter().any(|d| d == db) {
        out.push(db.to_string());
    }
}

/// `{db: "x", coll: "y"}` → `x`.
fn ns_db(v: &Bson, out: &mut Vec<String>) {
    if let Bson::Document(d) = v
        && let Ok(db) = d.get_str("db")
    {
        push(out, db);
    }
}

fn sub(v: Option<&Bson>, out: &mut Vec<String>, depth: usize) {
    if let Some(Bson::Array(stages)) = v {
        walk(stages, out, depth + 1);
    }
}

fn walk(pipeline: &[Bson], out: &mut Vec<String>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    for stage in pipeline {
        let Bson::Document(stage) = stage else {
            continue;
        };
        for (name, spec) in stage {
            match (name.as_str(), spec) {
                ("$lookup" | "$graphLookup", Bson::Document(d)) => {
                    if let Some(from) = d.get("from") {
                        ns_db(from, out);
                    }
                    sub(d.get("pipeline"), out, depth);
                }
                ("$unionWith", Bson::Document(d)) => {
                    if let Some(c) = d.get("coll") {
                        ns_db(c, out);
                    }
                    sub(d.get("pipeline"), out, depth);
                }
                ("$facet", Bson::Document(d)) => {
                    for (_, branch) in d {
                        sub(Some(branch), out, depth);
                    }
                }
                ("$out", v) => ns_db(v, out),
                ("$merge", Bson::Document(d)) => {
                    if let Some(into) = d.get("into") {
                        ns_db(into, out);
                    }
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::bson;

    fn dbs(p: Bson) -> Vec<String> {
        match p {
            Bson::Array(a) => named_databases(&a),
            _ => unreachable!("test pipelines are arrays"),
        }
    }

    #[test]
    fn finds_every_named_database() {
        assert!(dbs(bson!([{"$match": {}}, {"$lookup": {"from": "c", "as": "x"}}])).is_empty());
        assert_eq!(
            dbs(bson!([{"$lookup": {"from": {"db": "b", "coll": "c"}, "as": "x"}}])),
            vec!["b"]
        );
        assert_eq!(
            dbs(bson!([{"$graphLookup": {"from": {"db": "g", "coll": "c"}}}])),
            vec!["g"]
        );
        assert_eq!(
            dbs(bson!([{"$unionWith": {"coll": {"db": "u", "coll": "c"}}}])),
            vec!["u"]
        );
        assert_eq!(dbs(bson!([{"$out": {"db": "o", "coll": "c"}}])), vec!["o"]);
        assert!(dbs(bson!([{"$out": "c"}])).is_empty());
        assert_eq!(
            dbs(bson!([{"$merge": {"into": {"db": "m", "coll": "c"}}}])),
            vec!["m"]
        );
        assert!(dbs(bson!([{"$merge": {"into": "c"}}])).is_empty());
        assert!(dbs(bson!([{"$merge": "c"}])).is_empty());
        // Nested: lookup sub-pipeline, unionWith sub-pipeline, facet branches.
        assert_eq!(
            dbs(bson!([
                {"$lookup": {"from": "c", "as": "x", "pipeline": [{"$unionWith": {"coll": "d", "pipeline": [
                    {"$lookup": {"from": {"db": "deep", "coll": "c"}, "as": "y"}}]}}]}},
                {"$facet": {"a": [{"$lookup": {"from": {"db": "f", "coll": "c"}, "as": "z"}}], "b": []}},
                {"$merge": {"into": {"db": "deep", "coll": "c"}}}
            ])),
            vec!["deep", "f"]
        );
    }
}
