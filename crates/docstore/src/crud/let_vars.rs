//! The `let` option of find/update/delete/findAndModify/bulkWrite: command-level variables
//! (`$$name`) visible to `$expr` in filters and to pipeline-style updates.
//!
//! The query crate's filter has no variable scope, so the store binds them by rewriting:
//! every `"$$name…"` string inside an expression context becomes
//! `{$let: {vars: {name: <value>}, in: "$$name…"}}`, which the expression evaluator resolves
//! (including dotted paths such as `$$name.a`). Outside expression contexts (`$expr`,
//! pipeline update stages) `"$$…"` strings are plain data and stay untouched. System
//! variables (`$$ROOT`, `$$NOW`, …) are never shadowed.

use bson::{Bson, Document, doc};

/// Binds `vars` in the `$expr` parts of `filter`.
pub fn bind_filter(filter: &Document, vars: &Document) -> Document {
    if vars.is_empty() {
        return filter.clone();
    }
    filter
        .iter()
        .map(|(k, v)| {
            let v = match (k.as_str(), v) {
                ("$expr", v) => bind_expr(v, vars),
                ("$and" | "$or" | "$nor", Bson::Array(items)) => Bson::Array(
                    items
                        .iter()
                        .map(|i| match i {
                            Bson::Document(d) => Bson::Document(bind_filter(d, vars)),
                            other => other.clone(),
                        })
                        .collect(),
                ),
                _ => v.clone(),
            };
            (k.clone(), v)
        })
        .collect()
}

/// Binds `vars` in a pipeline-style update (an array of stages); operator and replacement
/// documents are returned unchanged (they have no variables).
pub fn bind_update(update: &Bson, vars: &Document) -> Bson {
    match update {
        Bson::Array(stages) if !vars.is_empty() => {
            Bson::Array(stages.iter().map(|s| bind_expr(s, vars)).collect())
        }
        other => other.clone(),
    }
}

/// Rewrites every `"$$name…"` reference to a bound variable inside an expression.
fn bind_expr(v: &Bson, vars: &Document) -> Bson {
    match v {
        Bson::String(s) => {
            let Some(rest) = s.strip_prefix("$$") else {
                return v.clone();
            };
            let name = rest.split('.').next().unwrap_or_default();
            match vars.get(name) {
                Some(value) => Bson::Document(doc! {
                    "$let": {
                        "vars": {name: literal(value)},
                        "in": s.clone(),
                    }
                }),
                None => v.clone(),
            }
        }
        Bson::Document(d) => {
            // `$literal` content is data, never expressions.
            if d.contains_key("$literal") {
                return v.clone();
            }
            Bson::Document(
                d.iter()
                    .map(|(k, x)| (k.clone(), bind_expr(x, vars)))
                    .collect(),
            )
        }
        Bson::Array(items) => Bson::Array(items.iter().map(|x| bind_expr(x, vars)).collect()),
        other => other.clone(),
    }
}

/// A variable's value as an expression: operator documents stay expressions, anything else
/// is wrapped in `$literal` so strings like `"$x"` are not read as field paths.
fn literal(value: &Bson) -> Bson {
    match value {
        Bson::Document(d) if d.keys().next().is_some_and(|k| k.starts_with('$')) => value.clone(),
        other => Bson::Document(doc! {"$literal": other.clone()}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stratus_query::filter::Filter;

    #[test]
    fn bound_variables_reach_expr_and_nothing_else() {
        let vars = doc! {"id": 2, "tag": "$notAPath"};
        let filter = doc! {
            "$expr": {"$eq": ["$_id", "$$id"]},
            "s": "$$id",
            "$or": [{"$expr": {"$eq": ["$t", "$$tag"]}}, {"x": 1}],
        };
        let bound = bind_filter(&filter, &vars);
        assert_eq!(bound.get_str("s").ok(), Some("$$id"));
        let f = Filter::parse(&bound).expect("parse");
        assert!(f.matches(&doc! {"_id": 2, "s": "$$id", "t": "$notAPath"}));
        assert!(!f.matches(&doc! {"_id": 3, "s": "$$id", "x": 1}));
        let f = Filter::parse(&bind_filter(
            &doc! {"$expr": {"$eq": ["$_id", "$$id"]}},
            &vars,
        ))
        .expect("parse");
        assert!(f.matches(&doc! {"_id": 2}));
        // Operator updates are data; pipelines are expressions.
        let op = Bson::Document(doc! {"$set": {"a": "$$id"}});
        assert_eq!(bind_update(&op, &vars), op);
        let pipe = bind_update(&bson::bson!([{"$set": {"a": "$$id"}}]), &vars);
        assert!(format!("{pipe}").contains("$let"));
    }
}
