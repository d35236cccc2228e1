//! `$redact`: restricts documents by an expression that evaluates to `$$KEEP` (keep this level
//! as is), `$$PRUNE` (drop it) or `$$DESCEND` (keep this level's scalar fields and apply the
//! expression to embedded documents, also inside arrays). `$$ROOT` stays the whole document;
//! `$$CURRENT` is the level being examined.

use bson::{Bson, Document};

use super::util::show;
use super::{ParseCtx, RunCtx};
use crate::error::{QueryError, Result};
use crate::expr::{EvalContext, Expr};

/// Values the three `$redact` variables stand for while evaluating.
const KEEP: &str = "$$KEEP";
const PRUNE: &str = "$$PRUNE";
const DESCEND: &str = "$$DESCEND";

/// A parsed `$redact` stage.
#[derive(Debug, Clone)]
pub struct RedactStage {
    expr: Expr,
}

enum Decision {
    Keep,
    Prune,
    Descend,
}

impl RedactStage {
    /// Parses the expression.
    pub(crate) fn parse(spec: &Bson, pc: &ParseCtx) -> Result<RedactStage> {
        Ok(RedactStage {
            expr: Expr::parse(spec, &pc.expr_opts())?,
        })
    }

    /// Redacts every document; pruned documents are dropped.
    pub(crate) fn apply(&self, docs: Vec<Document>, rc: &RunCtx<'_>) -> Result<Vec<Document>> {
        let mut out = Vec::with_capacity(docs.len());
        for d in docs {
            let root = Bson::Document(d);
            if let Some(r) = self.redact(&root, &root, rc)? {
                out.push(r);
            }
        }
        Ok(out)
    }

    fn decide(&self, root: &Bson, current: &Bson, rc: &RunCtx<'_>) -> Result<Decision> {
        let mut ctx = EvalContext::at(root, rc.now);
        ctx.current = current;
        ctx.vars = rc.vars.clone();
        for (n, v) in [("KEEP", KEEP), ("PRUNE", PRUNE), ("DESCEND", DESCEND)] {
            ctx.vars.push((n.to_string(), Bson::String(v.to_string())));
        }
        match self.expr.eval(&mut ctx)? {
            Some(Bson::String(s)) if s == KEEP => Ok(Decision::Keep),
            Some(Bson::String(s)) if s == PRUNE => Ok(Decision::Prune),
            Some(Bson::String(s)) if s == DESCEND => Ok(Decision::Descend),
            other => Err(QueryError::location(
                17053,
                format!(
                    "$redact's expression should not return anything aside from the variables $$KEEP, $$DESCEND, and $$PRUNE, but returned {}",
                    other.as_ref().map_or_else(|| "MISSING".to_string(), show)
                ),
            )),
        }
    }

    fn redact(&self, root: &Bson, current: &Bson, rc: &RunCtx<'_>) -> Result<Option<Document>> {
        let Bson::Document(d) = current else {
            return Ok(None);
        };
        match self.decide(root, current, rc)? {
            Decision::Keep => Ok(Some(d.clone())),
            Decision::Prune => Ok(None),
            Decision::Descend => {
                let mut out = Document::new();
                for (k, v) in d {
                    match v {
                        Bson::Document(_) => {
                            if let Some(sub) = self.redact(root, v, rc)? {
                                out.insert(k.clone(), sub);
                            }
                        }
                        Bson::Array(items) => {
                            out.insert(k.clone(), self.redact_array(root, items, rc)?);
                        }
                        other => {
                            out.insert(k.clone(), other.clone());
                        }
                    }
                }
                Ok(Some(out))
            }
        }
    }

    fn redact_array(&self, root: &Bson, items: &[Bson], rc: &RunCtx<'_>) -> Result<Bson> {
        let mut out = Vec::with_capacity(items.len());
        for i in items {
            match i {
                Bson::Document(_) => {
                    if let Some(sub) = self.redact(root, i, rc)? {
                        out.push(Bson::Document(sub));
                    }
                }
                Bson::Array(inner) => out.push(self.redact_array(root, inner, rc)?),
                other => out.push(other.clone()),
            }
        }
        Ok(Bson::Array(out))
    }
}
