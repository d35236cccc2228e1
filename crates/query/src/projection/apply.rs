//! Applying a parsed projection tree to a document (inclusion and exclusion modes).
//!
//! Through arrays: an inclusion sub-projection keeps the projected documents (and nested
//! arrays) of an array and drops its scalars; an exclusion sub-projection projects the
//! documents and keeps everything else.

use bson::{Bson, Document};

use super::ProjNode;
use crate::error::{QueryError, Result};
use crate::expr::EvalContext;
use crate::filter::MatchDetails;

/// What every level of the walk needs.
pub(super) struct Ctx<'a> {
    /// The whole input document (`$$ROOT` of expressions, subject of `$elemMatch`).
    pub(super) root: &'a Document,
    /// The query's match details (positional `$`).
    pub(super) details: Option<&'a MatchDetails>,
}

fn find<'t>(tree: &'t [(String, ProjNode)], key: &str) -> Option<&'t ProjNode> {
    tree.iter().find(|(k, _)| k == key).map(|(_, n)| n)
}

fn has_computed(tree: &[(String, ProjNode)]) -> bool {
    tree.iter().any(|(_, n)| match n {
        ProjNode::Computed(_) => true,
        ProjNode::Sub(c) => has_computed(c),
        _ => false,
    })
}

/// Inclusion mode at one level.
pub(super) fn inclusion(
    tree: &[(String, ProjNode)],
    input: &Document,
    ctx: &Ctx<'_>,
    top: bool,
) -> Result<Document> {
    let mut out = Document::new();
    for (k, v) in input {
        let Some(node) = find(tree, k) else {
            continue;
        };
        match node {
            ProjNode::Include => {
                out.insert(k.clone(), v.clone());
            }
            ProjNode::Exclude | ProjNode::Computed(_) => {}
            ProjNode::Slice { skip, limit } => {
                out.insert(k.clone(), slice(v, *skip, *limit));
            }
            ProjNode::ElemMatch(filter) => {
                if let (true, Bson::Array(items)) = (top, v)
                    && let Some(d) = filter.matches_with_details(ctx.root)
                    && let Some(e) = d.elem_match_index.and_then(|i| items.get(i))
                {
                    out.insert(k.clone(), Bson::Array(vec![e.clone()]));
                }
            }
            ProjNode::Positional => {
                out.insert(k.clone(), positional(k, v, ctx)?);
            }
            ProjNode::Sub(children) => match v {
                Bson::Document(d) => {
                    out.insert(k.clone(), inclusion(children, d, ctx, false)?);
                }
                Bson::Array(items) => {
                    out.insert(k.clone(), include_array(children, items, ctx)?);
                }
                _ => {}
            },
        }
    }
    for (k, node) in tree {
        match node {
            ProjNode::Computed(e) => {
                let root = Bson::Document(ctx.root.clone());
                let mut ectx = EvalContext::new(&root);
                if let Some(v) = e.eval(&mut ectx)? {
                    out.insert(k.clone(), v);
                }
            }
            ProjNode::Sub(children) if has_computed(children) && !out.contains_key(k) => {
                let sub = inclusion(children, &Document::new(), ctx, false)?;
                out.insert(k.clone(), sub);
            }
            _ => {}
        }
    }
    Ok(out)
}

fn include_array(tree: &[(String, ProjNode)], items: &[Bson], ctx: &Ctx<'_>) -> Result<Bson> {
    let mut out = Vec::with_capacity(items.len());
    for e in items {
        match e {
            Bson::Document(d) => out.push(Bson::Document(inclusion(tree, d, ctx, false)?)),
            Bson::Array(inner) => out.push(include_array(tree, inner, ctx)?),
            _ => {}
        }
    }
    Ok(Bson::Array(out))
}

/// Exclusion mode at one level.
pub(super) fn exclusion(
    tree: &[(String, ProjNode)],
    input: &Document,
    ctx: &Ctx<'_>,
) -> Result<Document> {
    let mut out = Document::new();
    for (k, v) in input {
        match find(tree, k) {
            Some(ProjNode::Exclude) => {}
            Some(ProjNode::Slice { skip, limit }) => {
                out.insert(k.clone(), slice(v, *skip, *limit));
            }
            Some(ProjNode::Sub(children)) => {
                let projected = match v {
                    Bson::Document(d) => Bson::Document(exclusion(children, d, ctx)?),
                    Bson::Array(items) => exclude_array(children, items, ctx)?,
                    other => other.clone(),
                };
                out.insert(k.clone(), projected);
            }
            // Inclusion-only nodes never reach an exclusion projection (the parser fixes the
            // mode); `_id: 1` keeps the field.
            Some(
                ProjNode::Include
                | ProjNode::Computed(_)
                | ProjNode::ElemMatch(_)
                | ProjNode::Positional,
            )
            | None => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Ok(out)
}

fn exclude_array(tree: &[(String, ProjNode)], items: &[Bson], ctx: &Ctx<'_>) -> Result<Bson> {
    let mut out = Vec::with_capacity(items.len());
    for e in items {
        out.push(match e {
            Bson::Document(d) => Bson::Document(exclusion(tree, d, ctx)?),
            Bson::Array(inner) => exclude_array(tree, inner, ctx)?,
            other => other.clone(),
        });
    }
    Ok(Bson::Array(out))
}

/// `$slice`: `limit: None` with a negative `skip` keeps the last `-skip` elements.
fn slice(v: &Bson, skip: i64, limit: Option<i64>) -> Bson {
    let Bson::Array(items) = v else {
        return v.clone();
    };
    let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
    let start = if skip < 0 {
        (len + skip).max(0)
    } else {
        skip.min(len)
    };
    let end = match limit {
        Some(l) => start.saturating_add(l).min(len),
        None => len,
    };
    let (start, end) = (
        usize::try_from(start).unwrap_or(0),
        usize::try_from(end).unwrap_or(0),
    );
    Bson::Array(items[start..end.max(start)].to_vec())
}

/// Positional `field.$`: the array element the query matched.
fn positional(field: &str, v: &Bson, ctx: &Ctx<'_>) -> Result<Bson> {
    let idx = ctx.details.and_then(|d| d.elem_match_index);
    match (v, idx) {
        (Bson::Array(items), Some(i)) if i < items.len() => Ok(Bson::Array(vec![items[i].clone()])),
        _ => Err(QueryError::location(
            51246,
            format!(
                "positional operator '{field}.$' couldn't find a matching element in the array (the query must match an element of {field})"
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::bson;

    #[test]
    fn slices() {
        let a = bson!([1, 2, 3, 4, 5]);
        assert_eq!(slice(&a, 0, Some(2)), bson!([1, 2]));
        assert_eq!(slice(&a, -2, None), bson!([4, 5]));
        assert_eq!(slice(&a, 1, Some(2)), bson!([2, 3]));
        assert_eq!(slice(&a, -2, Some(1)), bson!([4]));
        assert_eq!(slice(&a, -10, Some(2)), bson!([1, 2]));
        assert_eq!(slice(&a, 10, Some(2)), bson!([]));
        assert_eq!(slice(&a, 0, Some(0)), bson!([]));
        assert_eq!(slice(&bson!("x"), 0, Some(1)), bson!("x"));
    }
}
