//! `$match`: keeps the documents that match a query filter (including `$expr`).
//!
//! The filter is parsed once. When its `$expr` parts use pipeline variables (`let` of the
//! command or of an enclosing `$lookup`), the variables are substituted as literals and the
//! filter re-parsed once per run of the (sub-)pipeline, since [`Filter`] evaluates `$expr`
//! without the pipeline's variables.

use bson::{Bson, Document};

use super::RunCtx;
use super::util::{filter_uses_variables, substitute_filter_variables};
use crate::error::{QueryError, Result};
use crate::filter::Filter;

/// A parsed `$match` stage.
#[derive(Debug, Clone)]
pub struct MatchStage {
    raw: Document,
    filter: Filter,
    uses_variables: bool,
}

impl MatchStage {
    /// Parses the `$match` argument (15959 when it is not an object).
    pub(crate) fn parse(spec: &Bson) -> Result<MatchStage> {
        let Bson::Document(d) = spec else {
            return Err(QueryError::location(
                15959,
                "the match filter must be an expression in an object",
            ));
        };
        Ok(MatchStage {
            raw: d.clone(),
            filter: Filter::parse(d)?,
            uses_variables: filter_uses_variables(d),
        })
    }

    /// The filter document as written.
    pub fn filter(&self) -> &Document {
        &self.raw
    }

    /// Whether the filter's `$expr` refers to pipeline variables.
    pub fn uses_variables(&self) -> bool {
        self.uses_variables
    }

    /// The filter with the run's variables substituted (see the module docs); `raw` when none.
    pub(crate) fn resolved_filter(&self, rc: &RunCtx<'_>) -> Document {
        if self.uses_variables {
            substitute_filter_variables(&self.raw, rc)
        } else {
            self.raw.clone()
        }
    }

    /// The filter to use in this run: `Some` re-parsed one when variables were substituted,
    /// `None` to use [`MatchStage::compiled`].
    pub(crate) fn filter_for(&self, rc: &RunCtx<'_>) -> Result<Option<Filter>> {
        if self.uses_variables {
            Ok(Some(Filter::parse(&substitute_filter_variables(
                &self.raw, rc,
            ))?))
        } else {
            Ok(None)
        }
    }

    /// The filter parsed at pipeline parse time.
    pub(crate) fn compiled(&self) -> &Filter {
        &self.filter
    }

    /// Keeps the matching documents.
    pub(crate) fn apply(&self, docs: Vec<Document>, rc: &RunCtx<'_>) -> Result<Vec<Document>> {
        self.filter_iter(docs.into_iter(), rc)
    }

    /// Keeps the matching documents of an iterator.
    pub(crate) fn filter_iter(
        &self,
        docs: impl Iterator<Item = Document>,
        rc: &RunCtx<'_>,
    ) -> Result<Vec<Document>> {
        let resolved = self.filter_for(rc)?;
        let f = resolved.as_ref().unwrap_or(&self.filter);
        Ok(docs.filter(|d| f.matches(d)).collect())
    }
}
