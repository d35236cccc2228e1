//! `$documents`: the first stage of a pipeline that produces literal documents (an expression
//! that must evaluate to an array of objects), ignoring the input.

use bson::{Bson, Document};

use super::util::{eval_on, type_name};
use super::{ParseCtx, RunCtx};
use crate::error::{QueryError, Result};
use crate::expr::Expr;

/// A parsed `$documents` stage.
#[derive(Debug, Clone)]
pub struct DocumentsStage {
    expr: Expr,
}

impl DocumentsStage {
    /// Parses the expression.
    pub(crate) fn parse(spec: &Bson, pc: &ParseCtx) -> Result<DocumentsStage> {
        Ok(DocumentsStage {
            expr: Expr::parse(spec, &pc.expr_opts())?,
        })
    }

    /// Evaluates the documents (5858203 when not an array of objects).
    pub(crate) fn apply(&self, rc: &RunCtx<'_>) -> Result<Vec<Document>> {
        let empty = Bson::Document(Document::new());
        let v = eval_on(&self.expr, &empty, rc)?;
        let Some(Bson::Array(items)) = v else {
            return Err(QueryError::location(
                5858203,
                format!(
                    "error during $documents: expected an array, got {}",
                    v.as_ref().map_or("missing", type_name)
                ),
            ));
        };
        items
            .into_iter()
            .map(|i| match i {
                Bson::Document(d) => Ok(d),
                other => Err(QueryError::location(
                    5858203,
                    format!(
                        "error during $documents: expected an array of objects, found {}",
                        type_name(&other)
                    ),
                )),
            })
            .collect()
    }
}
