//! `$graphLookup`: a recursive `$lookup`. Starting from the values of `startWith`, it finds
//! the documents of `from` whose `connectToField` equals one of the values, then repeats with
//! the values of their `connectFromField`, up to `maxDepth` rounds, collecting every document
//! reached once (by `_id`) into the `as` array, optionally with its depth (Int64) in
//! `depthField`. `restrictSearchWithMatch` filters every round's search.
//!
//! Each round is one `find` with `{connectToField: {$in: [new values]}}`, so the document
//! store can use an index on `connectToField`. The documents held are bounded by
//! [`crate::limits::Limits::max_group_memory`] (40099). Results are in discovery order
//! (MongoDB leaves the order unspecified).

use std::collections::BTreeSet;

use bson::{Bson, Document};

use super::util::{
    OrdBson, approx_doc_size, eval_on, set_nested, show, split_field_path, type_name,
};
use super::{ParseCtx, RunCtx};
use crate::compare::Number;
use crate::error::{QueryError, Result};
use crate::expr::Expr;
use crate::filter::Filter;

/// A parsed `$graphLookup` stage.
#[derive(Debug, Clone)]
pub struct GraphLookupStage {
    from: (Option<String>, String),
    as_path: Vec<String>,
    start_with: Expr,
    connect_from: Vec<String>,
    connect_to: String,
    max_depth: Option<u64>,
    depth_field: Option<Vec<String>>,
    restrict: Option<Document>,
}

fn string_arg(name: &str, v: &Bson) -> Result<String> {
    match v {
        Bson::String(s) => Ok(s.clone()),
        other => Err(QueryError::location(
            40103,
            format!(
                "expected string as argument for {name}, found: {}",
                show(other)
            ),
        )),
    }
}

impl GraphLookupStage {
    /// Parses the `$graphLookup` argument (MongoDB codes 40100–40105, 40185).
    pub(crate) fn parse(spec: &Bson, pc: &ParseCtx) -> Result<GraphLookupStage> {
        let Bson::Document(d) = spec else {
            return Err(QueryError::failed_to_parse(format!(
                "the $graphLookup stage specification must be an object, but found {}",
                type_name(spec)
            )));
        };
        let mut from = None;
        let mut as_field = None;
        let mut start_with = None;
        let mut connect_from = None;
        let mut connect_to = None;
        let mut max_depth = None;
        let mut depth_field = None;
        let mut restrict = None;
        for (k, v) in d {
            match k.as_str() {
                "from" => from = Some(super::lookup::parse_namespace("$graphLookup", v)?),
                "as" => as_field = Some(split_field_path(&string_arg(k, v)?)?),
                "startWith" => start_with = Some(Expr::parse(v, &pc.expr_opts())?),
                "connectFromField" => {
                    connect_from = Some(split_field_path(&string_arg(k, v)?)?);
                }
                "connectToField" => {
                    let s = string_arg(k, v)?;
                    split_field_path(&s)?;
                    connect_to = Some(s);
                }
                "depthField" => depth_field = Some(split_field_path(&string_arg(k, v)?)?),
                "maxDepth" => {
                    let Some(n) = Number::of(v) else {
                        return Err(QueryError::location(
                            40100,
                            format!("maxDepth must be numeric, found type: {}", type_name(v)),
                        ));
                    };
                    let f = n.as_f64();
                    if f < 0.0 || f.is_nan() {
                        return Err(QueryError::location(
                            40101,
                            format!(
                                "maxDepth requires a nonnegative argument, found: {}",
                                show(v)
                            ),
                        ));
                    }
                    if f.fract() != 0.0 || f >= 9.2e18 {
                        return Err(QueryError::location(
                            40102,
                            format!(
                                "maxDepth could not be represented as a long long: {}",
                                show(v)
                            ),
                        ));
                    }
                    max_depth = Some(f as u64);
                }
                "restrictSearchWithMatch" => {
                    let Bson::Document(m) = v else {
                        return Err(QueryError::location(
                            40185,
                            format!(
                                "restrictSearchWithMatch must be an object, found {}",
                                type_name(v)
                            ),
                        ));
                    };
                    // Parsed now so a bad filter fails at parse time.
                    Filter::parse(m)?;
                    restrict = Some(m.clone());
                }
                other => {
                    return Err(QueryError::location(
                        40104,
                        format!("Unknown argument to $graphLookup: {other}"),
                    ));
                }
            }
        }
        let (Some(from), Some(as_path), Some(start_with), Some(connect_from), Some(connect_to)) =
            (from, as_field, start_with, connect_from, connect_to)
        else {
            return Err(QueryError::location(
                40105,
                "$graphLookup requires 'from', 'as', 'startWith', 'connectFromField', and 'connectToField' to be specified.",
            ));
        };
        Ok(GraphLookupStage {
            from,
            as_path,
            start_with,
            connect_from,
            connect_to,
            max_depth,
            depth_field,
            restrict,
        })
    }

    /// The foreign `(db, collection)`.
    pub(crate) fn foreign(&self, db: &str) -> (String, String) {
        (
            self.from.0.clone().unwrap_or_else(|| db.to_string()),
            self.from.1.clone(),
        )
    }

    /// Runs the search for every document.
    pub(crate) fn apply(&self, docs: Vec<Document>, rc: &RunCtx<'_>) -> Result<Vec<Document>> {
        let mut out = Vec::with_capacity(docs.len());
        for doc in docs {
            let b = Bson::Document(doc);
            let start = eval_on(&self.start_with, &b, rc)?.unwrap_or(Bson::Null);
            let found = self.search(start, rc)?;
            let Bson::Document(mut d) = b else {
                unreachable!("invariant: wrapped a document")
            };
            set_nested(
                &mut d,
                &self.as_path,
                Bson::Array(found.into_iter().map(Bson::Document).collect()),
            );
            out.push(d);
        }
        Ok(out)
    }

    /// Breadth-first search from the `startWith` value(s).
    fn search(&self, start: Bson, rc: &RunCtx<'_>) -> Result<Vec<Document>> {
        let (db, coll) = self.foreign(rc.db);
        let mut frontier: Vec<Bson> = match start {
            Bson::Array(items) => items,
            other => vec![other],
        };
        let mut queried: BTreeSet<OrdBson> = BTreeSet::new();
        let mut seen_ids: BTreeSet<OrdBson> = BTreeSet::new();
        let mut found: Vec<Document> = Vec::new();
        let mut memory = 0usize;
        let mut depth: u64 = 0;
        loop {
            frontier.retain(|v| queried.insert(OrdBson(v.clone())));
            if frontier.is_empty() {
                break;
            }
            let filter = self.round_filter(std::mem::take(&mut frontier));
            let mut next = Vec::new();
            for mut d in rc.env.find(&db, &coll, &filter)? {
                let id = d.get("_id").cloned().unwrap_or(Bson::Null);
                if !seen_ids.insert(OrdBson(id)) {
                    continue;
                }
                collect_values(&Bson::Document(d.clone()), &self.connect_from, &mut next);
                if let Some(df) = &self.depth_field {
                    set_nested(
                        &mut d,
                        df,
                        Bson::Int64(i64::try_from(depth).unwrap_or(i64::MAX)),
                    );
                }
                memory = memory.saturating_add(approx_doc_size(&d));
                if memory > rc.limits.max_group_memory {
                    return Err(QueryError::location(
                        40099,
                        format!(
                            "$graphLookup reached maximum memory consumption of {} bytes",
                            rc.limits.max_group_memory
                        ),
                    ));
                }
                found.push(d);
            }
            if self.max_depth.is_some_and(|m| depth >= m) {
                break;
            }
            depth += 1;
            frontier = next;
        }
        Ok(found)
    }

    /// `{connectToField: {$in: values}}`, and-ed with `restrictSearchWithMatch`.
    fn round_filter(&self, values: Vec<Bson>) -> Document {
        let mut inn = Document::new();
        inn.insert("$in", values);
        let mut f = Document::new();
        f.insert(self.connect_to.clone(), inn);
        match &self.restrict {
            Some(r) if !r.is_empty() => {
                let mut and = Document::new();
                and.insert("$and", vec![Bson::Document(f), Bson::Document(r.clone())]);
                and
            }
            _ => f,
        }
    }
}

/// All values at `path` (arrays expanded on the way and at the end; missing adds nothing).
fn collect_values(v: &Bson, path: &[String], out: &mut Vec<Bson>) {
    match path.split_first() {
        None => match v {
            Bson::Array(items) => out.extend(items.iter().cloned()),
            other => out.push(other.clone()),
        },
        Some((first, rest)) => match v {
            Bson::Document(d) => {
                if let Some(x) = d.get(first) {
                    collect_values(x, rest, out);
                }
            }
            Bson::Array(items) => items.iter().for_each(|i| collect_values(i, path, out)),
            _ => {}
        },
    }
}
