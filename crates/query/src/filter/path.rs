//! Path traversal for matching: MongoDB's rules for dotted paths through embedded documents and
//! arrays, on owned documents and directly on raw BSON bytes.
//!
//! For a path `a.b` the candidates offered to a predicate are: the value of `a.b` when `a` is a
//! document; for each document element of an array `a`, its `b`; when a component is numeric
//! (`a.0.b`), also the array element at that position. A missing field offers `None` (which
//! `{$eq: null}` and `$exists` care about); scalars in the middle of a path offer `None`; arrays
//! directly nested in a non-leaf array are not descended. At the end of the path a leaf array
//! offers each element (when the predicate expands arrays) and then the array itself.
//!
//! Invariant: the raw walk ([`walk_raw`]) offers exactly the candidates the owned walk
//! ([`walk_doc`]) offers; it descends raw documents in place and converts only the first array
//! or leaf value it reaches.

use bson::{Bson, RawBsonRef, RawDocument};

use super::node::{CmpOp, FieldPath, Pred};

/// Whether some candidate at `path` in `doc` satisfies `pred`; records in `key` the position
/// in the first (outermost) array traversed when the match came through one.
pub(crate) fn walk_doc(
    doc: &bson::Document,
    path: &FieldPath,
    pred: &Pred,
    key: &mut Option<usize>,
) -> bool {
    walk_doc_from(doc, path, 0, pred, key)
}

fn walk_doc_from(
    doc: &bson::Document,
    path: &FieldPath,
    at: usize,
    pred: &Pred,
    key: &mut Option<usize>,
) -> bool {
    let Some(head) = path.parts.get(at) else {
        // An empty path is only used on values (see `walk_value`); a document itself is the
        // candidate.
        return pred.test(None, key);
    };
    walk_value(doc.get(head), path, at + 1, pred, key)
}

/// Continues the walk at component `at` with the value reached so far (`None` = missing).
pub(crate) fn walk_value(
    v: Option<&Bson>,
    path: &FieldPath,
    at: usize,
    pred: &Pred,
    key: &mut Option<usize>,
) -> bool {
    if at >= path.parts.len() {
        return leaf(v, pred, key);
    }
    match v {
        Some(Bson::Document(d)) => walk_doc_from(d, path, at, pred, key),
        Some(Bson::Array(items)) => {
            if let Some(i) = path.index[at]
                && let Some(e) = items.get(i)
            {
                let mut inner = None;
                if walk_value(Some(e), path, at + 1, pred, &mut inner) {
                    *key = inner;
                    return true;
                }
            }
            for (i, e) in items.iter().enumerate() {
                if let Bson::Document(d) = e
                    && walk_doc_from(d, path, at, pred, &mut None)
                {
                    *key = Some(i);
                    return true;
                }
            }
            false
        }
        // A scalar or a missing value in the middle of a path: the rest is missing.
        Some(_) | None => pred.test(None, key),
    }
}

/// The end of the path: a leaf array offers its elements, then itself.
fn leaf(v: Option<&Bson>, pred: &Pred, key: &mut Option<usize>) -> bool {
    if let Some(Bson::Array(items)) = v
        && pred.expands_arrays()
    {
        for (i, e) in items.iter().enumerate() {
            if pred.test(Some(e), &mut None) {
                *key = Some(i);
                return true;
            }
        }
    }
    pred.test(v, key)
}

/// [`walk_doc`] on raw BSON. A malformed document reads as missing fields; with duplicate
/// field names the first occurrence counts.
pub(crate) fn walk_raw(
    doc: &RawDocument,
    path: &FieldPath,
    pred: &Pred,
    key: &mut Option<usize>,
) -> bool {
    walk_raw_from(doc, path, 0, pred, key)
}

fn walk_raw_from(
    doc: &RawDocument,
    path: &FieldPath,
    at: usize,
    pred: &Pred,
    key: &mut Option<usize>,
) -> bool {
    let Some(head) = path.parts.get(at) else {
        return pred.test(None, key);
    };
    walk_raw_value(crate::raw::raw_get(doc, head), path, at + 1, pred, key)
}

/// [`walk_value`] on raw BSON: documents and arrays are descended in place.
fn walk_raw_value(
    v: Option<RawBsonRef<'_>>,
    path: &FieldPath,
    at: usize,
    pred: &Pred,
    key: &mut Option<usize>,
) -> bool {
    if at >= path.parts.len() {
        return leaf_raw(v, pred, key);
    }
    match v {
        Some(RawBsonRef::Document(d)) => walk_raw_from(d, path, at, pred, key),
        Some(RawBsonRef::Array(items)) => {
            if let Some(i) = path.index[at]
                && let Some(e) = items.get(i).ok().flatten()
            {
                let mut inner = None;
                if walk_raw_value(Some(e), path, at + 1, pred, &mut inner) {
                    *key = inner;
                    return true;
                }
            }
            for (i, e) in items.into_iter().enumerate() {
                if let Ok(RawBsonRef::Document(d)) = e
                    && walk_raw_from(d, path, at, pred, &mut None)
                {
                    *key = Some(i);
                    return true;
                }
            }
            false
        }
        Some(_) | None => pred.test(None, key),
    }
}

/// [`leaf`] on raw BSON: leaf-array elements are decoded one at a time, and the whole array
/// only when the predicate could match an array at all.
fn leaf_raw(v: Option<RawBsonRef<'_>>, pred: &Pred, key: &mut Option<usize>) -> bool {
    let Some(raw) = v else {
        return pred.test(None, key);
    };
    if let RawBsonRef::Array(items) = raw {
        if pred.expands_arrays() {
            for (i, e) in items.into_iter().enumerate() {
                let Ok(e) = e else {
                    continue;
                };
                if test_raw(pred, e, &mut None) {
                    *key = Some(i);
                    return true;
                }
            }
        }
        if !pred.may_match_array() {
            return false;
        }
    }
    test_raw(pred, raw, key)
}

/// [`Pred::test`] of a raw value; strings are tested in place when possible.
fn test_raw(pred: &Pred, raw: RawBsonRef<'_>, key: &mut Option<usize>) -> bool {
    if let RawBsonRef::String(s) = raw
        && let Some(answer) = pred.test_str(s)
    {
        return answer;
    }
    // An integer compared with an integer bound: the comparison `compare_match` would make
    // (same type bracket, no NaN, exact integer order), without building the value.
    if let Pred::Cmp(op, rhs) = pred {
        let lhs = match raw {
            RawBsonRef::Int32(v) => Some(i64::from(v)),
            RawBsonRef::Int64(v) => Some(v),
            _ => None,
        };
        let bound = match rhs {
            Bson::Int32(v) => Some(i64::from(*v)),
            Bson::Int64(v) => Some(*v),
            _ => None,
        };
        if let (Some(a), Some(b)) = (lhs, bound) {
            return match op {
                CmpOp::Lt => a < b,
                CmpOp::Lte => a <= b,
                CmpOp::Gt => a > b,
                CmpOp::Gte => a >= b,
            };
        }
    }
    // Scalars are built directly (the general conversion goes through `RawBson`).
    let scalar = match raw {
        RawBsonRef::Int32(v) => Some(Bson::Int32(v)),
        RawBsonRef::Int64(v) => Some(Bson::Int64(v)),
        RawBsonRef::Double(v) => Some(Bson::Double(v)),
        RawBsonRef::Boolean(v) => Some(Bson::Boolean(v)),
        RawBsonRef::Null => Some(Bson::Null),
        RawBsonRef::DateTime(v) => Some(Bson::DateTime(v)),
        _ => None,
    };
    if let Some(v) = scalar {
        return pred.test(Some(&v), key);
    }
    match Bson::try_from(raw) {
        Ok(owned) => pred.test(Some(&owned), key),
        Err(_) => pred.test(None, key),
    }
}
