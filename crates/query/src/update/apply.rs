//! Applying a parsed operator-style update to a document.
//!
//! Steps: expand every modification path against the original document into concrete paths
//! ([`super::positional`]); refuse overlapping concrete paths ("Update created a conflict at
//! 'a.0'", `ConflictingUpdateOperators` 40); apply the modifications in the order of their
//! concrete paths ([`path::compare_paths`]: MongoDB 5.0+ order, names lexicographic and
//! numeric names numeric, which decides the order of newly created fields); finally check
//! that nothing inside `_id` changed (`ImmutableField` 66).
//!
//! Invariant: the input document is never modified; the result is a new document and
//! "modified" means the result differs from the input bit for bit (field order, types and
//! values), which is what MongoDB's `nModified` counts.

use bson::{Bson, Document};

use super::arithmetic;
use super::arrays;
use super::fields;
use super::parse::{Op, OperatorUpdate};
use super::path::{self, ConcretePath};
use super::positional::{self, ExpandCtx};
use crate::error::{MongoCode, QueryError, Result};

/// What a single modification sees besides the document it changes.
pub(crate) struct LeafCtx<'a> {
    /// The document before the update (for messages naming its `_id`).
    pub(crate) original: &'a Document,
    /// The operation time (`$currentDate`).
    pub(crate) now: bson::DateTime,
}

/// Applies an operator update; `positional` is the query's matched index for `$`.
pub(crate) fn apply_operators(
    u: &OperatorUpdate,
    doc: &Document,
    positional: Option<usize>,
    is_insert: bool,
    now: bson::DateTime,
) -> Result<Document> {
    let ectx = ExpandCtx {
        positional,
        filters: &u.filters,
    };
    let mut work: Vec<(ConcretePath, usize)> = Vec::with_capacity(u.mods.len());
    let mut claimed: Vec<ConcretePath> = Vec::new();
    let mut dynamic = false;
    for (i, m) in u.mods.iter().enumerate() {
        if matches!(m.op, Op::SetOnInsert(_)) && !is_insert {
            continue;
        }
        dynamic |= m.path.is_dynamic();
        for cp in positional::expand(doc, &m.path, &ectx)? {
            if let Op::Rename { from } = &m.op {
                claimed.push(from.clone());
            }
            claimed.push(cp.clone());
            work.push((cp, i));
        }
    }
    if dynamic {
        claimed.sort_by(|a, b| path::compare_paths(a, b));
        for w in claimed.windows(2) {
            if path::is_prefix(&w[0], &w[1]) {
                return Err(QueryError::new(
                    MongoCode::ConflictingUpdateOperators,
                    format!("Update created a conflict at '{}'", w[0].join(".")),
                ));
            }
        }
    }
    work.sort_by(|a, b| path::compare_paths(&a.0, &b.0));
    let lc = LeafCtx { original: doc, now };
    let mut out = doc.clone();
    for (cp, i) in &work {
        apply_leaf(&mut out, cp, &u.mods[*i].op, &lc)?;
    }
    let id_path = work
        .iter()
        .map(|(cp, _)| cp)
        .chain(u.mods.iter().filter_map(|m| match &m.op {
            Op::Rename { from } => Some(from),
            _ => None,
        }))
        .find(|cp| cp.first().map(String::as_str) == Some("_id"))
        .map(|cp| cp.join("."));
    check_immutable_id(doc, &out, id_path.as_deref().unwrap_or("_id"))?;
    Ok(out)
}

fn apply_leaf(doc: &mut Document, p: &[String], op: &Op, lc: &LeafCtx<'_>) -> Result<()> {
    match op {
        Op::Set(v) | Op::SetOnInsert(v) => fields::apply_set(doc, p, v),
        Op::Unset => {
            fields::apply_unset(doc, p);
            Ok(())
        }
        Op::Rename { from } => fields::apply_rename(doc, from, p, lc),
        Op::CurrentDate(kind) => fields::apply_current_date(doc, p, *kind, lc),
        Op::Arith(kind, v) => arithmetic::apply_arith(doc, p, *kind, v, lc),
        Op::MinMax { is_min, value } => arithmetic::apply_min_max(doc, p, *is_min, value),
        Op::Bit(ops) => arithmetic::apply_bit(doc, p, ops, lc),
        Op::Push(spec) => arrays::apply_push(doc, p, spec, lc),
        Op::AddToSet(values) => arrays::apply_add_to_set(doc, p, values),
        Op::Pop { first } => arrays::apply_pop(doc, p, *first),
        Op::Pull(cond) => arrays::apply_pull(doc, p, cond),
        Op::PullAll(values) => arrays::apply_pull_all(doc, p, values),
    }
}

/// Refuses a change of `_id` by an operator update (`path` names the offending path).
pub(crate) fn check_immutable_id(before: &Document, after: &Document, path: &str) -> Result<()> {
    let Some(old) = before.get("_id") else {
        return Ok(());
    };
    match after.get("_id") {
        // Any real change counts, even to an equal value of another type (1 → 1.0), as
        // mongod refuses every non-no-op modification of a path inside `_id`.
        Some(new) if identical(old, new) => Ok(()),
        _ => Err(QueryError::new(
            MongoCode::ImmutableField,
            format!(
                "Performing an update on the path '{path}' would modify the immutable field '_id'"
            ),
        )),
    }
}

/// Bit-for-bit equality: same types, same field order, doubles compared by bits.
pub(crate) fn identical(a: &Bson, b: &Bson) -> bool {
    match (a, b) {
        (Bson::Double(x), Bson::Double(y)) => x.to_bits() == y.to_bits(),
        (Bson::Document(x), Bson::Document(y)) => identical_docs(x, y),
        (Bson::Array(x), Bson::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| identical(p, q))
        }
        _ => a == b,
    }
}

/// [`identical`] for documents.
pub(crate) fn identical_docs(x: &Document, y: &Document) -> bool {
    x.len() == y.len()
        && x.iter()
            .zip(y.iter())
            .all(|((ka, va), (kb, vb))| ka == kb && identical(va, vb))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::{bson, doc};

    #[test]
    fn identical_is_order_and_type_sensitive() {
        assert!(identical(
            &bson!({"a": 1, "b": 2}),
            &bson!({"a": 1, "b": 2})
        ));
        assert!(!identical(
            &bson!({"a": 1, "b": 2}),
            &bson!({"b": 2, "a": 1})
        ));
        assert!(!identical(&bson!(1), &bson!(1.0)));
        assert!(identical(&bson!(f64::NAN), &bson!(f64::NAN)));
        assert!(!identical(&bson!([1, 2]), &bson!([1])));
    }

    #[test]
    fn id_changes_are_refused() {
        let e = check_immutable_id(&doc! {"_id": 1}, &doc! {"_id": 2}, "_id").expect_err("id");
        assert_eq!(e.code, MongoCode::ImmutableField);
        assert!(check_immutable_id(&doc! {"_id": 1}, &doc! {"_id": 1}, "_id").is_ok());
        assert!(check_immutable_id(&doc! {}, &doc! {"_id": 1}, "_id").is_ok());
        assert!(check_immutable_id(&doc! {"_id": 1}, &doc! {}, "_id").is_err());
    }
}
