//! `$replaceRoot` (`{newRoot: <expr>}`) and `$replaceWith` (`<expr>`): the document becomes
//! the value of an expression, which must be a document (40228).

use bson::{Bson, Document};

use super::util::{eval_doc, show, type_name};
use super::{ParseCtx, RunCtx};
use crate::error::{QueryError, Result};
use crate::expr::Expr;

/// A parsed `$replaceRoot` / `$replaceWith` stage.
#[derive(Debug, Clone)]
pub struct ReplaceRootStage {
    name: &'static str,
    new_root: Expr,
}

impl ReplaceRootStage {
    /// The stage name as written.
    pub(crate) fn stage_name(&self) -> &'static str {
        self.name
    }

    /// Parses `$replaceRoot: {newRoot: <expr>}`.
    pub(crate) fn parse_replace_root(spec: &Bson, pc: &ParseCtx) -> Result<ReplaceRootStage> {
        let Bson::Document(d) = spec else {
            return Err(QueryError::location(
                40229,
                format!(
                    "expected an object as specification for $replaceRoot stage, got {}",
                    type_name(spec)
                ),
            ));
        };
        let mut new_root = None;
        for (k, v) in d {
            if k == "newRoot" {
                new_root = Some(Expr::parse(v, &pc.expr_opts())?);
            } else {
                return Err(QueryError::location(
                    40415,
                    format!("BSON field '$replaceRoot.{k}' is an unknown field."),
                ));
            }
        }
        let Some(new_root) = new_root else {
            return Err(QueryError::location(
                40414,
                "BSON field '$replaceRoot.newRoot' is missing but a required field",
            ));
        };
        Ok(ReplaceRootStage {
            name: "$replaceRoot",
            new_root,
        })
    }

    /// Parses `$replaceWith: <expr>`.
    pub(crate) fn parse_replace_with(spec: &Bson, pc: &ParseCtx) -> Result<ReplaceRootStage> {
        Ok(ReplaceRootStage {
            name: "$replaceWith",
            new_root: Expr::parse(spec, &pc.expr_opts())?,
        })
    }

    /// Replaces one document.
    pub(crate) fn apply_one(&self, doc: Document, rc: &RunCtx<'_>) -> Result<Document> {
        let (doc, r) = eval_doc(&self.new_root, doc, rc);
        match r? {
            Some(Bson::Document(d)) => Ok(d),
            other => {
                let (shown, ty) = match &other {
                    Some(v) => (show(v), type_name(v)),
                    None => ("MISSING".to_string(), "missing"),
                };
                Err(QueryError::location(
                    40228,
                    format!(
                        "'newRoot' expression must evaluate to an object, but resulting value was: {shown}. Type of resulting value: '{ty}'. Input document: {}",
                        show(&Bson::Document(doc))
                    ),
                ))
            }
        }
    }
}
