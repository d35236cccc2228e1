//! `$sortByCount: <expr>`: groups by the expression's value and outputs `{_id: value, count}`
//! sorted by count, descending (ties keep first-seen order). Missing values group as null.

use std::collections::BTreeMap;

use bson::{Bson, Document};

use super::util::{OrdBson, count_value, eval_on, is_path_or_operator};
use super::{ParseCtx, RunCtx};
use crate::error::{QueryError, Result};
use crate::expr::Expr;

/// A parsed `$sortByCount` stage.
#[derive(Debug, Clone)]
pub struct SortByCountStage {
    expr: Expr,
}

impl SortByCountStage {
    /// Parses the argument: a `$`-prefixed path or an operator object (40148).
    pub(crate) fn parse(spec: &Bson, pc: &ParseCtx) -> Result<SortByCountStage> {
        if !is_path_or_operator(spec) {
            return Err(QueryError::location(
                40148,
                "the sortByCount field must be defined as a $-prefixed path or an expression",
            ));
        }
        Ok(SortByCountStage {
            expr: Expr::parse(spec, &pc.expr_opts())?,
        })
    }

    /// Counts and sorts.
    pub(crate) fn apply(&self, docs: Vec<Document>, rc: &RunCtx<'_>) -> Result<Vec<Document>> {
        let mut index: BTreeMap<OrdBson, usize> = BTreeMap::new();
        let mut groups: Vec<(Bson, usize)> = Vec::new();
        for d in docs {
            let key = eval_on(&self.expr, &Bson::Document(d), rc)?.unwrap_or(Bson::Null);
            match index.get(&OrdBson(key.clone())) {
                Some(&i) => groups[i].1 += 1,
                None => {
                    index.insert(OrdBson(key.clone()), groups.len());
                    groups.push((key, 1));
                }
            }
        }
        groups.sort_by_key(|g| std::cmp::Reverse(g.1));
        Ok(groups
            .into_iter()
            .map(|(k, n)| {
                let mut d = Document::new();
                d.insert("_id", k);
                d.insert("count", count_value(n));
                d
            })
            .collect())
    }
}
