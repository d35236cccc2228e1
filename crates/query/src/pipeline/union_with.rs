//! `$unionWith`: the input documents followed by the documents of another collection (after an
//! optional pipeline). Spec: `"coll"` or `{coll, pipeline}`; `coll` may be omitted when the
//! pipeline starts with `$documents`.

use bson::{Bson, Document};

use super::lookup::{parse_namespace, parse_sub_pipeline};
use super::util::type_name;
use super::{Nesting, ParseCtx, RunCtx, Stage, run_stages};
use crate::error::{QueryError, Result};

/// A parsed `$unionWith` stage.
#[derive(Debug, Clone)]
pub struct UnionWithStage {
    coll: Option<(Option<String>, String)>,
    pipeline: Vec<Stage>,
}

impl UnionWithStage {
    /// Parses the `$unionWith` argument.
    pub(crate) fn parse(spec: &Bson, pc: &ParseCtx) -> Result<UnionWithStage> {
        match spec {
            Bson::String(_) => Ok(UnionWithStage {
                coll: Some(parse_namespace("$unionWith", spec)?),
                pipeline: Vec::new(),
            }),
            Bson::Document(d) => {
                let mut coll = None;
                let mut pipeline = Vec::new();
                for (k, v) in d {
                    match k.as_str() {
                        "coll" => coll = Some(parse_namespace("$unionWith", v)?),
                        "pipeline" => {
                            pipeline = parse_sub_pipeline(
                                v,
                                pc,
                                Nesting::UnionWith,
                                "$unionWith argument 'pipeline'",
                            )?
                        }
                        other => {
                            return Err(QueryError::location(
                                40415,
                                format!("BSON field '$unionWith.{other}' is an unknown field."),
                            ));
                        }
                    }
                }
                if coll.is_none() && !matches!(pipeline.first(), Some(Stage::Documents(_))) {
                    return Err(QueryError::location(
                        40414,
                        "BSON field '$unionWith.coll' is missing but a required field",
                    ));
                }
                Ok(UnionWithStage { coll, pipeline })
            }
            other => Err(QueryError::location(
                31408,
                format!(
                    "the $unionWith stage specification must be an object or string, but found {}",
                    type_name(other)
                ),
            )),
        }
    }

    /// Appends the other collection's documents.
    pub(crate) fn apply(&self, mut docs: Vec<Document>, rc: &RunCtx<'_>) -> Result<Vec<Document>> {
        let (input, skip) = match (&self.coll, self.pipeline.first()) {
            (_, Some(Stage::Documents(_))) | (None, _) => (Vec::new(), 0),
            (Some((db, coll)), first) => {
                let db = db.as_deref().unwrap_or(rc.db);
                match first {
                    Some(Stage::Match(m)) => (rc.env.find(db, coll, &m.resolved_filter(rc))?, 1),
                    _ => (rc.env.find(db, coll, &Document::new())?, 0),
                }
            }
        };
        docs.extend(run_stages(&self.pipeline[skip..], input, rc)?);
        Ok(docs)
    }

    /// The sub-pipeline (empty when none).
    pub(crate) fn sub_pipeline(&self) -> &[Stage] {
        &self.pipeline
    }

    /// The other `(db, collection)`, if any.
    pub(crate) fn foreign(&self, db: &str) -> Option<(String, String)> {
        self.coll
            .as_ref()
            .map(|(d, c)| (d.clone().unwrap_or_else(|| db.to_string()), c.clone()))
    }
}
