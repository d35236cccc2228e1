//! `$facet`: runs several sub-pipelines over the same input and outputs one document
//! `{name: [results], ...}`. Sub-pipelines may not contain `$facet`, `$out` or `$merge`.

use bson::{Bson, Document};

use super::lookup::parse_sub_pipeline;
use super::util::type_name;
use super::{Nesting, ParseCtx, RunCtx, Stage, run_stages};
use crate::error::{QueryError, Result};

/// A parsed `$facet` stage.
#[derive(Debug, Clone)]
pub struct FacetStage {
    facets: Vec<(String, Vec<Stage>)>,
}

impl FacetStage {
    /// Parses `{name: [stages], ...}`: a non-empty object (40169) of non-empty arrays (40170,
    /// 40171) with valid names (40172).
    pub(crate) fn parse(spec: &Bson, pc: &ParseCtx) -> Result<FacetStage> {
        let d = match spec {
            Bson::Document(d) if !d.is_empty() => d,
            _ => {
                return Err(QueryError::location(
                    40169,
                    "the $facet specification must be a non-empty object",
                ));
            }
        };
        let mut facets = Vec::with_capacity(d.len());
        for (name, v) in d {
            if name.is_empty() || name.starts_with('$') || name.contains('.') {
                return Err(QueryError::location(
                    40172,
                    format!(
                        "$facet field names may not be empty, start with '$' or contain '.': '{name}'"
                    ),
                ));
            }
            let Bson::Array(items) = v else {
                return Err(QueryError::location(
                    40170,
                    format!(
                        "arguments to $facet must be arrays, {name} is type {}",
                        type_name(v)
                    ),
                ));
            };
            if items.is_empty() {
                return Err(QueryError::location(
                    40171,
                    format!("sub-pipeline in $facet stage cannot be empty: {name}"),
                ));
            }
            facets.push((
                name.clone(),
                parse_sub_pipeline(v, pc, Nesting::Facet, "$facet")?,
            ));
        }
        Ok(FacetStage { facets })
    }

    /// The facets' sub-pipelines.
    pub(crate) fn sub_pipelines(&self) -> Vec<&[Stage]> {
        self.facets.iter().map(|(_, s)| s.as_slice()).collect()
    }

    /// Runs every facet over the input.
    pub(crate) fn apply(&self, docs: Vec<Document>, rc: &RunCtx<'_>) -> Result<Vec<Document>> {
        let mut out = Document::new();
        for (name, stages) in &self.facets {
            let results = run_stages(stages, docs.clone(), rc)?;
            out.insert(
                name.clone(),
                Bson::Array(results.into_iter().map(Bson::Document).collect()),
            );
        }
        Ok(vec![out])
    }
}
