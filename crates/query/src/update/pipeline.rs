//! Pipeline-style updates: an array of `$addFields`/`$set`, `$project`/`$unset` and
//! `$replaceRoot`/`$replaceWith` stages, run by the aggregation engine
//! ([`crate::pipeline::Pipeline::parse_update`] / [`crate::pipeline::Pipeline::run_on_document`])
//! on the one document being updated.
//!
//! The stages see the document as `$$ROOT`/`$$CURRENT` and the command's `let` constants as
//! `$$name`; `$$NOW` is the operation time of the
//! [`super::ApplyContext`] (passed to the pipeline as a variable, which takes precedence over
//! the engine's clock). The final document is treated like a replacement, as mongod's
//! pipeline executor does ([`super::replacement`]): a result without `_id` keeps the original
//! one, a changed `_id` is refused (`ImmutableField` 66), and the document counts as modified
//! unless the result is bit-identical to the input. Stages other than the five above are
//! refused with `InvalidOptions` 72 ("$match is not allowed to be used within an update").

use bson::{Bson, Document};

use super::replacement;
use crate::error::Result;
use crate::limits::Limits;
use crate::pipeline::{Pipeline, PipelineOptions};

/// A parsed pipeline update.
#[derive(Debug, Clone)]
pub(crate) struct PipelineUpdate {
    pipeline: Pipeline,
}

impl PipelineUpdate {
    /// Parses the stages; `let_vars` are the command's `let` constants.
    pub(crate) fn parse(
        stages: &[Bson],
        limits: &Limits,
        let_vars: Option<&Document>,
    ) -> Result<PipelineUpdate> {
        let opts = PipelineOptions {
            limits: *limits,
            let_vars: let_vars.cloned().unwrap_or_default(),
            ..PipelineOptions::default()
        };
        Ok(PipelineUpdate {
            pipeline: Pipeline::parse_update(stages, &opts)?,
        })
    }

    /// Runs the stages over `doc`; returns the result and whether it differs from `doc`
    /// (compared before the original `_id` is restored, as mongod does).
    pub(crate) fn apply(&self, doc: &Document, now: bson::DateTime) -> Result<(Document, bool)> {
        let vars = [("NOW".to_string(), Bson::DateTime(now))];
        let out = self.pipeline.run_on_document(doc.clone(), &vars)?;
        replacement::apply_replacement(doc, &out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::MongoCode;
    use bson::{bson, doc};

    fn run(stages: Bson, d: Document) -> Result<Document> {
        let Bson::Array(s) = stages else {
            panic!("stages must be an array")
        };
        PipelineUpdate::parse(&s, &Limits::default(), None)?
            .apply(&d, bson::DateTime::from_millis(0))
            .map(|(doc, _)| doc)
    }

    #[test]
    fn now_is_the_operation_time_and_id_is_kept() {
        let out = run(bson!([{"$set": {"t": "$$NOW"}}]), doc! {"_id": 1}).expect("runs");
        assert_eq!(out, doc! {"_id": 1, "t": bson::DateTime::from_millis(0)});
        let out = run(bson!([{"$replaceWith": {"x": 1}}]), doc! {"_id": 1}).expect("runs");
        assert_eq!(out, doc! {"_id": 1, "x": 1});
        let e = run(bson!([{"$replaceWith": {"_id": 2}}]), doc! {"_id": 1}).expect_err("id");
        assert_eq!(e.code, MongoCode::ImmutableField);
        let e = run(bson!([{"$match": {}}]), doc! {"_id": 1}).expect_err("stage");
        assert_eq!(e.code, MongoCode::InvalidOptions);
    }
}
