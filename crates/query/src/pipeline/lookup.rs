//! `$lookup`: joins each input document with documents of another collection, stored as an
//! array in the `as` field.
//!
//! Forms: equality (`localField`/`foreignField`), pipeline (`let` + `pipeline`), and the
//! concise form with both (equality first, then the pipeline on the matches).
//!
//! Equality joins run in batches of [`LOOKUP_BATCH_SIZE`] input documents: one `find` per
//! batch, then the matches are assigned to each input document in memory.
//!
//! Equality semantics: the local values are all values at `localField`, expanding arrays on the
//! way and at the end (a missing field, or no value at all, means `null`); a foreign document
//! matches when its `foreignField` (with query semantics: array elements, null matching missing)
//! equals any local value. The match runs as a `find` with `{foreignField: {$in: [...]}}`, so
//! the document store can use an index on `foreignField`.
//!
//! The joined array may not exceed the document size limit (4568).
//!
//! An uncorrelated pipeline (no `let`, no equality) runs once per stage run, not per document.

use std::collections::{BTreeMap, BTreeSet};

use bson::{Bson, Document};

use super::util::{
    OrdBson, approx_doc_size, eval_on, set_nested, split_field_path, type_name,
    validate_variable_name,
};
use super::{Nesting, ParseCtx, RunCtx, Stage, parse_stages, run_stages};
use crate::error::{QueryError, Result};
use crate::expr::Expr;

/// How many input documents an equality `$lookup` joins with one `find` (bounds the size of
/// the `$in` list and of the fetched candidates held at once).
pub const LOOKUP_BATCH_SIZE: usize = 1000;

/// A parsed `$lookup` stage.
#[derive(Debug, Clone)]
pub struct LookupStage {
    from: Option<(Option<String>, String)>,
    as_path: Vec<String>,
    equality: Option<(Vec<String>, String)>,
    let_vars: Vec<(String, Expr)>,
    pipeline: Option<Vec<Stage>>,
}

fn string_field(k: &str, v: &Bson) -> Result<String> {
    match v {
        Bson::String(s) => Ok(s.clone()),
        other => Err(QueryError::failed_to_parse(format!(
            "$lookup argument '{k}: {}' must be a string, is type {}",
            super::util::show(other),
            type_name(other)
        ))),
    }
}

/// Parses `from`: a collection name or `{db, coll}`.
pub(crate) fn parse_namespace(stage: &str, v: &Bson) -> Result<(Option<String>, String)> {
    match v {
        Bson::String(s) if !s.is_empty() => Ok((None, s.clone())),
        Bson::Document(d) => {
            let db = d.get_str("db").ok().map(str::to_string);
            let coll = d.get_str("coll").map_err(|_| {
                QueryError::failed_to_parse(format!("{stage}: 'from' must have a string 'coll'"))
            })?;
            if d.keys().any(|k| k != "db" && k != "coll") {
                return Err(QueryError::failed_to_parse(format!(
                    "{stage}: 'from' may only have the fields 'db' and 'coll'"
                )));
            }
            Ok((db, coll.to_string()))
        }
        other => Err(QueryError::failed_to_parse(format!(
            "{stage}: 'from' must be a non-empty string or an object, is type {}",
            type_name(other)
        ))),
    }
}

/// Parses a `let` document into variable name → expression.
pub(crate) fn parse_let(v: &Bson, pc: &ParseCtx, stage: &str) -> Result<Vec<(String, Expr)>> {
    let Bson::Document(d) = v else {
        return Err(QueryError::failed_to_parse(format!(
            "{stage} argument 'let' must be an object, is type {}",
            type_name(v)
        )));
    };
    let mut out = Vec::with_capacity(d.len());
    for (name, e) in d {
        validate_variable_name(name)?;
        out.push((name.clone(), Expr::parse(e, &pc.expr_opts())?));
    }
    Ok(out)
}

/// Parses a sub-pipeline array.
pub(crate) fn parse_sub_pipeline(
    v: &Bson,
    pc: &ParseCtx,
    nesting: Nesting,
    what: &str,
) -> Result<Vec<Stage>> {
    let Bson::Array(items) = v else {
        return Err(QueryError::failed_to_parse(format!(
            "{what} must be an array, is type {}",
            type_name(v)
        )));
    };
    parse_stages(items, &pc.nested(nesting)?)
}

impl LookupStage {
    /// Parses the `$lookup` argument.
    pub(crate) fn parse(spec: &Bson, pc: &ParseCtx) -> Result<LookupStage> {
        let Bson::Document(d) = spec else {
            return Err(QueryError::failed_to_parse(format!(
                "the $lookup specification must be an Object, but found {}",
                type_name(spec)
            )));
        };
        let mut from = None;
        let mut as_field = None;
        let mut local = None;
        let mut foreign = None;
        let mut let_vars = None;
        let mut pipeline = None;
        for (k, v) in d {
            match k.as_str() {
                "from" => from = Some(parse_namespace("$lookup", v)?),
                "as" => as_field = Some(string_field(k, v)?),
                "localField" => local = Some(string_field(k, v)?),
                "foreignField" => foreign = Some(string_field(k, v)?),
                "let" => let_vars = Some(parse_let(v, pc, "$lookup")?),
                "pipeline" => {
                    pipeline = Some(parse_sub_pipeline(
                        v,
                        pc,
                        Nesting::Lookup,
                        "$lookup argument 'pipeline'",
                    )?)
                }
                other => {
                    return Err(QueryError::failed_to_parse(format!(
                        "unknown argument to $lookup: {other}"
                    )));
                }
            }
        }
        let Some(as_field) = as_field else {
            return Err(QueryError::failed_to_parse(
                "must specify 'as' field for a $lookup",
            ));
        };
        let as_path = split_field_path(&as_field)?;
        let equality = match (local, foreign) {
            (Some(l), Some(f)) => Some((split_field_path(&l)?, {
                split_field_path(&f)?;
                f
            })),
            (None, None) => None,
            _ => {
                return Err(QueryError::failed_to_parse(
                    "$lookup requires both or neither of 'localField' and 'foreignField' to be specified",
                ));
            }
        };
        if equality.is_none() && pipeline.is_none() {
            return Err(QueryError::failed_to_parse(
                "$lookup requires either 'pipeline' or both 'localField' and 'foreignField' to be specified",
            ));
        }
        if let_vars.is_some() && pipeline.is_none() {
            return Err(QueryError::failed_to_parse(
                "$lookup with 'let' must also specify 'pipeline'",
            ));
        }
        let starts_with_documents = pipeline
            .as_ref()
            .is_some_and(|p: &Vec<Stage>| matches!(p.first(), Some(Stage::Documents(_))));
        if from.is_none() && !starts_with_documents {
            return Err(QueryError::failed_to_parse(
                "must specify 'from' field for a $lookup",
            ));
        }
        Ok(LookupStage {
            from,
            as_path,
            equality,
            let_vars: let_vars.unwrap_or_default(),
            pipeline,
        })
    }

    /// The foreign `(db, collection)`, `db` defaulting to the run's database.
    pub(crate) fn foreign(&self, db: &str) -> Option<(String, String)> {
        self.from
            .as_ref()
            .map(|(d, c)| (d.clone().unwrap_or_else(|| db.to_string()), c.clone()))
    }

    /// The sub-pipeline, if any.
    pub(crate) fn sub_pipeline(&self) -> Option<&[Stage]> {
        self.pipeline.as_deref()
    }

    /// Joins every document.
    pub(crate) fn apply(&self, docs: Vec<Document>, rc: &RunCtx<'_>) -> Result<Vec<Document>> {
        let uncorrelated = self.equality.is_none() && self.let_vars.is_empty();
        let cached = if uncorrelated {
            Some(self.joined(None, rc)?)
        } else {
            None
        };
        let mut out = Vec::with_capacity(docs.len());
        let mut docs = docs.into_iter().peekable();
        while docs.peek().is_some() {
            let batch: Vec<Document> = docs.by_ref().take(LOOKUP_BATCH_SIZE).collect();
            let candidates = match &self.equality {
                Some((local, foreign)) => Some(self.equality_batch(local, foreign, &batch, rc)?),
                None => None,
            };
            for (i, doc) in batch.into_iter().enumerate() {
                let b = Bson::Document(doc);
                let matches = match (&cached, &candidates) {
                    (Some(c), _) => c.clone(),
                    (None, Some(cands)) => self.joined_equality(&b, cands, i, rc)?,
                    (None, None) => self.joined(Some(&b), rc)?,
                };
                let Bson::Document(mut d) = b else {
                    unreachable!("invariant: wrapped a document")
                };
                let size: usize = matches.iter().map(approx_doc_size).sum();
                if size > rc.limits.max_document_size {
                    return Err(QueryError::location(
                        4568,
                        format!(
                            "Total size of documents in {} matching pipeline's $lookup stage exceeds {} bytes",
                            self.from.as_ref().map_or("$documents", |(_, c)| c.as_str()),
                            rc.limits.max_document_size
                        ),
                    ));
                }
                set_nested(
                    &mut d,
                    &self.as_path,
                    Bson::Array(matches.into_iter().map(Bson::Document).collect()),
                );
                out.push(d);
            }
        }
        Ok(out)
    }

    /// Fetches the foreign documents matching any local value of a batch (one `find`) and
    /// indexes which of them each input document matches.
    fn equality_batch(
        &self,
        local: &[String],
        foreign: &str,
        batch: &[Document],
        rc: &RunCtx<'_>,
    ) -> Result<EqualityBatch> {
        let mut per_doc: Vec<Vec<Bson>> = Vec::with_capacity(batch.len());
        let mut all: BTreeSet<OrdBson> = BTreeSet::new();
        for d in batch {
            let mut values = Vec::new();
            for (k, v) in d {
                if let Some((first, rest)) = local.split_first()
                    && k == first
                {
                    collect_values(v, rest, &mut values);
                }
            }
            if values.is_empty() {
                values.push(Bson::Null);
            }
            all.extend(values.iter().cloned().map(OrdBson));
            per_doc.push(values);
        }
        let filter = in_filter(foreign, all.into_iter().map(|o| o.0).collect());
        let found = match self.foreign(rc.db) {
            Some((db, coll)) => rc.env.find(&db, &coll, &filter)?,
            None => Vec::new(),
        };
        let foreign_path: Vec<String> = foreign.split('.').map(str::to_string).collect();
        let mut index: BTreeMap<OrdBson, Vec<usize>> = BTreeMap::new();
        for (j, fd) in found.iter().enumerate() {
            let mut keys = Vec::new();
            foreign_keys_doc(fd, &foreign_path, &mut keys);
            for k in keys {
                index.entry(OrdBson(k)).or_default().push(j);
            }
        }
        let matches = per_doc
            .into_iter()
            .map(|values| {
                let mut idx: Vec<usize> = values
                    .into_iter()
                    .filter_map(|v| index.get(&OrdBson(v)))
                    .flatten()
                    .copied()
                    .collect();
                idx.sort_unstable();
                idx.dedup();
                idx
            })
            .collect();
        Ok(EqualityBatch {
            docs: found,
            matches,
        })
    }

    /// The joined documents of input `i` of an equality batch, through the pipeline if any.
    fn joined_equality(
        &self,
        doc: &Bson,
        batch: &EqualityBatch,
        i: usize,
        rc: &RunCtx<'_>,
    ) -> Result<Vec<Document>> {
        let matched: Vec<Document> = batch.matches[i]
            .iter()
            .map(|&j| batch.docs[j].clone())
            .collect();
        let Some(stages) = &self.pipeline else {
            return Ok(matched);
        };
        let mut extra = Vec::with_capacity(self.let_vars.len());
        for (name, e) in &self.let_vars {
            extra.push((name.clone(), eval_on(e, doc, rc)?.unwrap_or(Bson::Null)));
        }
        run_stages(stages, matched, &rc.with_vars(extra))
    }

    /// The joined documents for one input document (`None` for an uncorrelated pipeline).
    fn joined(&self, doc: Option<&Bson>, rc: &RunCtx<'_>) -> Result<Vec<Document>> {
        let mut extra = Vec::with_capacity(self.let_vars.len());
        if let Some(doc) = doc {
            for (name, e) in &self.let_vars {
                let v = eval_on(e, doc, rc)?.unwrap_or(Bson::Null);
                extra.push((name.clone(), v));
            }
        }
        let sub_rc = rc.with_vars(extra);
        let stages: &[Stage] = self.pipeline.as_deref().unwrap_or(&[]);
        let (mut filter, mut skip) = (Document::new(), 0);
        if let Some(Stage::Match(m)) = stages.first() {
            filter = m.resolved_filter(&sub_rc);
            skip = 1;
        }
        let input = match self.foreign(rc.db) {
            Some((db, coll)) if !matches!(stages.first(), Some(Stage::Documents(_))) => {
                rc.env.find(&db, &coll, &filter)?
            }
            _ => {
                skip = 0;
                Vec::new()
            }
        };
        run_stages(&stages[skip..], input, &sub_rc)
    }
}

/// `{foreignField: {$in: values}}` (an `$or` of `$eq` when a value is a regex, which `$in`
/// would treat as a pattern).
fn in_filter(foreign: &str, values: Vec<Bson>) -> Document {
    let mut f = Document::new();
    if values
        .iter()
        .any(|v| matches!(v, Bson::RegularExpression(_)))
    {
        let ors: Vec<Bson> = values
            .into_iter()
            .map(|v| {
                let mut eq = Document::new();
                eq.insert("$eq", v);
                let mut one = Document::new();
                one.insert(foreign, eq);
                Bson::Document(one)
            })
            .collect();
        f.insert("$or", ors);
    } else {
        let mut inn = Document::new();
        inn.insert("$in", values);
        f.insert(foreign, inn);
    }
    f
}

/// The foreign documents of one batch and, per input document, the indexes of those it
/// matches (ascending, so natural order is kept).
struct EqualityBatch {
    docs: Vec<Document>,
    matches: Vec<Vec<usize>>,
}

/// The values a foreign document offers for matching at `path`, as query equality sees them:
/// the value itself and, for an array, each element; a missing field is null.
fn foreign_keys_doc(d: &Document, path: &[String], out: &mut Vec<Bson>) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    match d.get(first) {
        Some(x) => foreign_keys(x, rest, out),
        None => out.push(Bson::Null),
    }
}

fn foreign_keys(v: &Bson, path: &[String], out: &mut Vec<Bson>) {
    match path.split_first() {
        None => {
            out.push(v.clone());
            if let Bson::Array(items) = v {
                out.extend(items.iter().cloned());
            }
        }
        Some(_) => match v {
            Bson::Document(d) => foreign_keys_doc(d, path, out),
            Bson::Array(items) => {
                for i in items {
                    if let Bson::Document(d) = i {
                        foreign_keys_doc(d, path, out);
                    }
                }
            }
            _ => {}
        },
    }
}

/// All values at `path`, expanding arrays on the way and at the end; missing fields add
/// nothing (the caller turns "no value at all" into null).
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
            Bson::Array(items) => {
                for i in items {
                    if let Bson::Document(_) = i {
                        collect_values(i, path, out);
                    }
                }
            }
            _ => {}
        },
    }
}
