//! `$out` and `$merge`: write the pipeline's results to a collection (always the last stage).
//!
//! `$out` replaces the target collection's contents atomically
//! ([`CollectionSource::replace_collection`]). `$merge` matches each result against the target
//! on the `on` fields (default `_id`) and computes the writes (`whenMatched`:
//! replace/keepExisting/merge/fail/pipeline; `whenNotMatched`: insert/discard/fail) against
//! the target's contents plus the writes planned so far, then applies them in one atomic call
//! ([`CollectionSource::apply_merge`]). Any error (e.g. `fail` modes) is raised before anything
//! is written. Results without `_id` get a new ObjectId. Both stages output no documents.
//!
//! Known deviation: MongoDB requires a unique index on non-`_id` `on` fields (51183); the
//! pipeline cannot see indexes, so it instead refuses a result that matches more than one
//! target document.

use std::collections::BTreeMap;

use bson::oid::ObjectId;
use bson::{Bson, Document};

use super::env::{CollectionSource, MergeWrite};
use super::lookup::parse_let;
use super::util::{OrdBson, eval_on, get_nested, show, split_field_path, type_name};
use super::{Nesting, ParseCtx, RunCtx, Stage, parse_stages, run_update_stages};
use crate::compare::values_equal;
use crate::error::{MongoCode, QueryError, Result};
use crate::expr::Expr;

/// Parses a target namespace: `"coll"` or `{db, coll}`.
fn parse_target(stage: &str, v: &Bson, field: &str) -> Result<(Option<String>, String)> {
    let (db, coll) = match v {
        Bson::String(s) => (None, s.clone()),
        Bson::Document(d) => {
            let mut db = None;
            let mut coll = None;
            for (k, x) in d {
                match (k.as_str(), x) {
                    ("db", Bson::String(s)) => db = Some(s.clone()),
                    ("coll", Bson::String(s)) => coll = Some(s.clone()),
                    ("db" | "coll", other) => {
                        return Err(QueryError::type_mismatch(format!(
                            "BSON field '{stage}.{field}.{k}' is the wrong type '{}', expected type 'string'",
                            type_name(other)
                        )));
                    }
                    _ => {
                        return Err(QueryError::location(
                            40415,
                            format!("BSON field '{stage}.{field}.{k}' is an unknown field."),
                        ));
                    }
                }
            }
            let Some(coll) = coll else {
                return Err(QueryError::location(
                    40414,
                    format!("BSON field '{stage}.{field}.coll' is missing but a required field"),
                ));
            };
            (db, coll)
        }
        other => {
            return Err(QueryError::location(
                if stage == "$out" { 16990 } else { 51178 },
                format!(
                    "{stage} only supports a string or object argument, but found {}",
                    type_name(other)
                ),
            ));
        }
    };
    if coll.is_empty() || coll.contains('$') || coll.starts_with("system.") || coll.contains('\0') {
        return Err(QueryError::new(
            MongoCode::InvalidNamespace,
            format!("Invalid {stage} target namespace: '{coll}'"),
        ));
    }
    Ok((db, coll))
}

/// Ensures `doc` has an `_id`, generating an ObjectId in first position when missing.
fn with_id(doc: Document) -> Document {
    if doc.contains_key("_id") {
        return doc;
    }
    let mut out = Document::new();
    out.insert("_id", ObjectId::new());
    out.extend(doc);
    out
}

/// A parsed `$out` stage.
#[derive(Debug, Clone)]
pub struct OutStage {
    db: Option<String>,
    coll: String,
}

impl OutStage {
    /// Parses `"coll"` or `{db, coll}`.
    pub(crate) fn parse(spec: &Bson) -> Result<OutStage> {
        let (db, coll) = parse_target("$out", spec, "$out")?;
        Ok(OutStage { db, coll })
    }

    /// The target `(db, collection)`.
    pub(crate) fn target(&self, default_db: &str) -> (String, String) {
        (
            self.db.clone().unwrap_or_else(|| default_db.to_string()),
            self.coll.clone(),
        )
    }

    /// Replaces the target with the results; outputs nothing.
    pub(crate) fn apply(&self, docs: Vec<Document>, rc: &RunCtx<'_>) -> Result<Vec<Document>> {
        let (db, coll) = self.target(rc.db);
        let docs: Vec<Document> = docs.into_iter().map(with_id).collect();
        rc.env.replace_collection(&db, &coll, docs)?;
        Ok(Vec::new())
    }
}

/// `whenMatched` of `$merge`.
#[derive(Debug, Clone)]
enum WhenMatched {
    Replace,
    KeepExisting,
    Merge,
    Fail,
    Pipeline(Vec<Stage>),
}

/// `whenNotMatched` of `$merge`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WhenNotMatched {
    Insert,
    Discard,
    Fail,
}

/// A parsed `$merge` stage.
#[derive(Debug, Clone)]
pub struct MergeStage {
    db: Option<String>,
    coll: String,
    on: Vec<Vec<String>>,
    on_names: Vec<String>,
    let_vars: Option<Vec<(String, Expr)>>,
    when_matched: WhenMatched,
    when_not_matched: WhenNotMatched,
}

impl MergeStage {
    /// Parses `"coll"` or `{into, on, let, whenMatched, whenNotMatched}`.
    pub(crate) fn parse(spec: &Bson, pc: &ParseCtx) -> Result<MergeStage> {
        let mut stage = MergeStage {
            db: None,
            coll: String::new(),
            on: vec![vec!["_id".to_string()]],
            on_names: vec!["_id".to_string()],
            let_vars: None,
            when_matched: WhenMatched::Merge,
            when_not_matched: WhenNotMatched::Insert,
        };
        let d = match spec {
            Bson::String(_) => {
                (stage.db, stage.coll) = parse_target("$merge", spec, "into")?;
                return Ok(stage);
            }
            Bson::Document(d) => d,
            other => {
                return Err(QueryError::location(
                    51182,
                    format!(
                        "$merge only supports a string or object argument, but found {}",
                        type_name(other)
                    ),
                ));
            }
        };
        let mut into = None;
        for (k, v) in d {
            match k.as_str() {
                "into" => into = Some(parse_target("$merge", v, "into")?),
                "on" => {
                    let names: Vec<String> = match v {
                        Bson::String(s) => vec![s.clone()],
                        Bson::Array(items) if !items.is_empty() => items
                            .iter()
                            .map(|i| match i {
                                Bson::String(s) => Ok(s.clone()),
                                _ => Err(QueryError::location(
                                    51134,
                                    "$merge 'on' array elements must be strings",
                                )),
                            })
                            .collect::<Result<_>>()?,
                        Bson::Array(_) => {
                            return Err(QueryError::location(
                                51187,
                                "If explicitly specifying $merge 'on', must include at least one field",
                            ));
                        }
                        _ => {
                            return Err(QueryError::location(
                                51186,
                                "$merge 'on' field must be either a string or an array of strings",
                            ));
                        }
                    };
                    stage.on = names
                        .iter()
                        .map(|n| split_field_path(n))
                        .collect::<Result<_>>()?;
                    stage.on_names = names;
                }
                "let" => stage.let_vars = Some(parse_let(v, pc, "$merge")?),
                "whenMatched" => {
                    stage.when_matched = match v {
                        Bson::String(s) => match s.as_str() {
                            "replace" => WhenMatched::Replace,
                            "keepExisting" => WhenMatched::KeepExisting,
                            "merge" => WhenMatched::Merge,
                            "fail" => WhenMatched::Fail,
                            other => {
                                return Err(QueryError::bad_value(format!(
                                    "Enumeration value '{other}' for field '$merge.whenMatched' is not a valid value."
                                )));
                            }
                        },
                        Bson::Array(items) => WhenMatched::Pipeline(parse_stages(
                            items,
                            &pc.nested(Nesting::Update)?,
                        )?),
                        other => {
                            return Err(QueryError::type_mismatch(format!(
                                "BSON field '$merge.whenMatched' is the wrong type '{}', expected types '[string, array]'",
                                type_name(other)
                            )));
                        }
                    }
                }
                "whenNotMatched" => {
                    stage.when_not_matched = match v {
                        Bson::String(s) => match s.as_str() {
                            "insert" => WhenNotMatched::Insert,
                            "discard" => WhenNotMatched::Discard,
                            "fail" => WhenNotMatched::Fail,
                            other => {
                                return Err(QueryError::bad_value(format!(
                                    "Enumeration value '{other}' for field '$merge.whenNotMatched' is not a valid value."
                                )));
                            }
                        },
                        other => {
                            return Err(QueryError::type_mismatch(format!(
                                "BSON field '$merge.whenNotMatched' is the wrong type '{}', expected type 'string'",
                                type_name(other)
                            )));
                        }
                    }
                }
                other => {
                    return Err(QueryError::location(
                        40415,
                        format!("BSON field '$merge.{other}' is an unknown field."),
                    ));
                }
            }
        }
        let Some((db, coll)) = into else {
            return Err(QueryError::location(
                40414,
                "BSON field '$merge.into' is missing but a required field",
            ));
        };
        stage.db = db;
        stage.coll = coll;
        if stage.let_vars.is_some() && !matches!(stage.when_matched, WhenMatched::Pipeline(_)) {
            return Err(QueryError::location(
                51199,
                "Cannot use 'let' variables with 'whenMatched' other than a pipeline",
            ));
        }
        Ok(stage)
    }

    /// The target `(db, collection)`.
    pub(crate) fn target(&self, default_db: &str) -> (String, String) {
        (
            self.db.clone().unwrap_or_else(|| default_db.to_string()),
            self.coll.clone(),
        )
    }

    /// The `on` values of a result document (51132 when missing, null or an array).
    fn on_values(&self, doc: &Document) -> Result<Vec<Bson>> {
        let mut out = Vec::with_capacity(self.on.len());
        for (path, name) in self.on.iter().zip(&self.on_names) {
            match get_nested(doc, path) {
                Some(Bson::Null | Bson::Undefined | Bson::Array(_)) | None => {
                    return Err(QueryError::location(
                        51132,
                        format!(
                            "$merge write error: 'on' field '{name}' cannot be missing, null, undefined or an array"
                        ),
                    ));
                }
                Some(v) => out.push(v.clone()),
            }
        }
        Ok(out)
    }

    /// Finds the target document matching `values`, if any.
    fn find_target(
        &self,
        env: &dyn CollectionSource,
        db: &str,
        coll: &str,
        values: &[Bson],
    ) -> Result<Option<Document>> {
        let mut filter = Document::new();
        for (name, v) in self.on_names.iter().zip(values) {
            let mut eq = Document::new();
            eq.insert("$eq", v.clone());
            filter.insert(name.clone(), eq);
        }
        let mut found = env.find(db, coll, &filter)?;
        if found.len() > 1 {
            return Err(QueryError::location(
                51183,
                format!(
                    "$merge: more than one document of {db}.{coll} matches the 'on' fields {}",
                    show(&Bson::Array(values.to_vec()))
                ),
            ));
        }
        Ok(found.pop())
    }

    /// Computes the new content of a matched target document (`None` keeps it unchanged).
    fn merged(
        &self,
        existing: &Document,
        new: Document,
        rc: &RunCtx<'_>,
    ) -> Result<Option<Document>> {
        let existing_id = existing.get("_id").cloned().unwrap_or(Bson::Null);
        let out = match &self.when_matched {
            WhenMatched::KeepExisting => return Ok(None),
            WhenMatched::Fail => {
                return Err(QueryError::new(
                    MongoCode::DuplicateKey,
                    format!(
                        "E11000 duplicate key error: $merge with whenMatched: fail found an existing document with the same values for the 'on' field: {}",
                        show(&existing_id)
                    ),
                ));
            }
            WhenMatched::Replace => {
                let mut out = Document::new();
                out.insert("_id", existing_id.clone());
                for (k, v) in new {
                    out.insert(k, v);
                }
                out
            }
            WhenMatched::Merge => {
                let mut out = existing.clone();
                for (k, v) in new {
                    out.insert(k, v);
                }
                out
            }
            WhenMatched::Pipeline(stages) => {
                let new_b = Bson::Document(new);
                let mut vars = Vec::new();
                match &self.let_vars {
                    Some(lv) => {
                        for (name, e) in lv {
                            vars.push((
                                name.clone(),
                                eval_on(e, &new_b, rc)?.unwrap_or(Bson::Null),
                            ));
                        }
                    }
                    None => vars.push(("new".to_string(), new_b)),
                }
                let sub_rc = rc.with_vars(vars);
                run_update_stages(stages, existing.clone(), &sub_rc)?
            }
        };
        if !out
            .get("_id")
            .is_some_and(|id| values_equal(id, &existing_id))
        {
            return Err(QueryError::new(
                MongoCode::ImmutableField,
                "$merge failed to update the matching document, did you attempt to modify the _id or the shard key?",
            ));
        }
        Ok(Some(out))
    }

    /// Merges the results into the target; outputs nothing.
    pub(crate) fn apply(&self, docs: Vec<Document>, rc: &RunCtx<'_>) -> Result<Vec<Document>> {
        let (db, coll) = self.target(rc.db);
        let on_id_only = self.on_names.len() == 1 && self.on_names[0] == "_id";
        let mut writes: Vec<MergeWrite> = Vec::new();
        // on-key → (current content, index of the planned write for it).
        let mut planned: BTreeMap<OrdBson, (Document, Option<usize>)> = BTreeMap::new();
        for doc in docs {
            let doc = if on_id_only { with_id(doc) } else { doc };
            let values = self.on_values(&doc)?;
            let key = OrdBson(Bson::Array(values.clone()));
            let current = match planned.get(&key) {
                Some((d, w)) => Some((d.clone(), *w)),
                None => self
                    .find_target(rc.env, &db, &coll, &values)?
                    .map(|d| (d, None)),
            };
            match current {
                Some((existing, write_ix)) => {
                    let Some(new) = self.merged(&existing, doc, rc)? else {
                        continue;
                    };
                    let ix = match write_ix {
                        Some(i) => {
                            match &mut writes[i] {
                                MergeWrite::Insert(d) | MergeWrite::Replace { doc: d, .. } => {
                                    *d = new.clone();
                                }
                            }
                            i
                        }
                        None => {
                            let id = existing.get("_id").cloned().unwrap_or(Bson::Null);
                            writes.push(MergeWrite::Replace {
                                id,
                                doc: new.clone(),
                            });
                            writes.len() - 1
                        }
                    };
                    planned.insert(key, (new, Some(ix)));
                }
                None => match self.when_not_matched {
                    WhenNotMatched::Discard => {}
                    WhenNotMatched::Fail => {
                        return Err(QueryError::location(
                            13113,
                            "$merge could not find a matching document in the target collection for at least one document in the source collection",
                        ));
                    }
                    WhenNotMatched::Insert => {
                        let new = with_id(doc);
                        writes.push(MergeWrite::Insert(new.clone()));
                        planned.insert(key, (new, Some(writes.len() - 1)));
                    }
                },
            }
        }
        if !writes.is_empty() {
            rc.env.apply_merge(&db, &coll, writes)?;
        }
        Ok(Vec::new())
    }
}
