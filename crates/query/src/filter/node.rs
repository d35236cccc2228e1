//! The parsed filter tree: logical nodes over path predicates, and the single-value tests of
//! every leaf operator.
//!
//! Invariant: a [`Pred`] never sees array expansion itself; [`super::path`] walks the document
//! and calls [`Pred::test`] once per candidate value (each leaf-array element, then the array
//! itself, or `None` for a missing field). Negating operators (`$ne`, `$nin`, `$not`,
//! `$exists: false`) are [`Node::Not`] *outside* the path walk, as in MongoDB, so
//! `{a: {$ne: 1}}` refuses `{a: [1, 2]}`.

use std::cmp::Ordering;

use bson::Bson;

use super::bits::BitsTest;
use super::regex::FilterRegex;
use super::types::TypeSet;
use crate::compare::{Number, compare, type_rank};
use crate::expr::Expr;

/// A pre-split dotted path; `index[i]` is the array index component `i` denotes, if numeric.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FieldPath {
    /// The dotted path as written (for messages).
    pub(crate) dotted: String,
    /// Components.
    pub(crate) parts: Vec<String>,
    /// For each component, its value as an array index when it is all digits.
    pub(crate) index: Vec<Option<usize>>,
}

impl FieldPath {
    /// Splits `dotted` on dots.
    pub(crate) fn new(dotted: &str) -> FieldPath {
        let parts: Vec<String> = dotted.split('.').map(str::to_string).collect();
        let index = parts.iter().map(|p| array_index(p)).collect();
        FieldPath {
            dotted: dotted.to_string(),
            parts,
            index,
        }
    }

    /// The empty path: the predicate applies to the value itself (`$elemMatch` value form).
    pub(crate) fn empty() -> FieldPath {
        FieldPath {
            dotted: String::new(),
            parts: Vec::new(),
            index: Vec::new(),
        }
    }
}

/// `"12"` → `Some(12)`; MongoDB only treats plain decimal digits (no sign, no leading zeros
/// except `"0"` itself) as positional components.
fn array_index(p: &str) -> Option<usize> {
    if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) || (p.len() > 1 && p.starts_with('0'))
    {
        return None;
    }
    p.parse().ok()
}

/// A node of the filter tree.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    /// All children match (an empty `And` matches everything).
    And(Vec<Node>),
    /// Some child matches.
    Or(Vec<Node>),
    /// No child matches.
    Nor(Vec<Node>),
    /// The child does not match.
    Not(Box<Node>),
    /// Some value reached along `path` satisfies `pred`.
    Path {
        /// Where to look.
        path: FieldPath,
        /// What to test.
        pred: Pred,
    },
    /// `$expr`: an aggregation expression whose result is truthy.
    Expr(Box<Expr>),
    /// `$alwaysFalse`.
    False,
}

/// Comparison operators with MongoDB's type-bracketing rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    /// `$lt`.
    Lt,
    /// `$lte`.
    Lte,
    /// `$gt`.
    Gt,
    /// `$gte`.
    Gte,
}

/// A test of one value (`None` = missing field).
#[derive(Debug, Clone)]
pub(crate) enum Pred {
    /// `$eq` / implicit equality.
    Eq(Bson),
    /// `$lt`, `$lte`, `$gt`, `$gte`.
    Cmp(CmpOp, Bson),
    /// `$in`.
    In(InSet),
    /// `$exists: true` (false is `Not` of this).
    Exists,
    /// `$type`.
    Type(TypeSet),
    /// `$regex`, or a regex value in implicit equality.
    Regex(FilterRegex),
    /// `$mod: [divisor, remainder]`.
    Mod(i64, i64),
    /// `$size`.
    Size(i64),
    /// `$bitsAllSet`, `$bitsAllClear`, `$bitsAnySet`, `$bitsAnyClear`.
    Bits(BitsTest),
    /// `$elemMatch` object form: some element (a document) matches the sub-filter.
    ElemMatchObject(Box<Node>),
    /// `$elemMatch` value form: some element satisfies all the path-less sub-nodes.
    ElemMatchValue(Box<Node>),
}

/// The operand of `$in`: values sorted by BSON order (binary search) and regexes.
#[derive(Debug, Clone)]
pub(crate) struct InSet {
    /// Sorted, deduplicated by [`compare`].
    pub(crate) values: Vec<Bson>,
    /// Regexes among the operands.
    pub(crate) regexes: Vec<FilterRegex>,
    /// Whether `null` is among the operands (then a missing field matches).
    pub(crate) has_null: bool,
}

impl InSet {
    /// Builds the set; `values` must not contain regexes.
    pub(crate) fn new(mut values: Vec<Bson>, regexes: Vec<FilterRegex>) -> InSet {
        values.sort_by(compare);
        values.dedup_by(|a, b| compare(a, b) == Ordering::Equal);
        let has_null = values.iter().any(|v| matches!(v, Bson::Null));
        InSet {
            values,
            regexes,
            has_null,
        }
    }

    fn contains(&self, v: Option<&Bson>) -> bool {
        let Some(v) = v else {
            return self.has_null;
        };
        if matches!(v, Bson::Undefined) {
            return false;
        }
        if self.values.binary_search_by(|x| compare(x, v)).is_ok() {
            return true;
        }
        self.regexes.iter().any(|r| r.test(v))
    }
}

impl Pred {
    /// Whether the path walk also offers each element of a leaf array to this predicate
    /// (`$size` and `$elemMatch` look at the array itself only).
    pub(crate) fn expands_arrays(&self) -> bool {
        !matches!(
            self,
            Pred::Size(_) | Pred::ElemMatchObject(_) | Pred::ElemMatchValue(_)
        )
    }

    /// Whether an array value itself could satisfy the predicate (used to skip decoding a
    /// whole raw array); `false` only when [`Pred::test`] is certainly false for every array.
    pub(crate) fn may_match_array(&self) -> bool {
        match self {
            Pred::Eq(rhs) => matches!(rhs, Bson::Array(_)),
            Pred::Cmp(_, rhs) => matches!(rhs, Bson::Array(_) | Bson::MinKey | Bson::MaxKey),
            Pred::In(set) => set.values.iter().any(|v| matches!(v, Bson::Array(_))),
            Pred::Regex(_) | Pred::Mod(..) | Pred::Bits(_) => false,
            Pred::Exists
            | Pred::Type(_)
            | Pred::Size(_)
            | Pred::ElemMatchObject(_)
            | Pred::ElemMatchValue(_) => true,
        }
    }

    /// [`Pred::test`] of a string value without allocating it, when the answer is cheap
    /// (`None`: decode the value and call [`Pred::test`]).
    pub(crate) fn test_str(&self, s: &str) -> Option<bool> {
        const STRING_RANK: u8 = 4;
        match self {
            Pred::Eq(Bson::String(r) | Bson::Symbol(r)) => Some(r == s),
            Pred::Eq(_) => Some(false),
            Pred::Cmp(op, rhs) => Some(match rhs {
                Bson::String(r) | Bson::Symbol(r) => {
                    let o = s.cmp(r.as_str());
                    match op {
                        CmpOp::Lt => o == Ordering::Less,
                        CmpOp::Lte => o != Ordering::Greater,
                        CmpOp::Gt => o == Ordering::Greater,
                        CmpOp::Gte => o != Ordering::Less,
                    }
                }
                Bson::MinKey => matches!(op, CmpOp::Gt | CmpOp::Gte),
                Bson::MaxKey => matches!(op, CmpOp::Lt | CmpOp::Lte),
                _ => false,
            }),
            Pred::In(set) => {
                let found = set
                    .values
                    .binary_search_by(|x| {
                        type_rank(x).cmp(&STRING_RANK).then_with(|| match x {
                            Bson::String(y) | Bson::Symbol(y) => y.as_str().cmp(s),
                            _ => Ordering::Equal,
                        })
                    })
                    .is_ok();
                Some(found || set.regexes.iter().any(|r| r.is_match(s)))
            }
            Pred::Regex(r) => Some(r.is_match(s)),
            Pred::Exists => Some(true),
            _ => None,
        }
    }

    /// Tests one candidate value.
    pub(crate) fn test(&self, v: Option<&Bson>, key: &mut Option<usize>) -> bool {
        match self {
            Pred::Eq(rhs) => equal_match(v, rhs),
            Pred::Cmp(op, rhs) => compare_match(*op, v, rhs),
            Pred::In(set) => set.contains(v),
            Pred::Exists => v.is_some(),
            Pred::Type(t) => v.is_some_and(|v| t.matches(v)),
            Pred::Regex(r) => v.is_some_and(|v| r.test(v)),
            Pred::Mod(d, r) => v.is_some_and(|v| mod_match(v, *d, *r)),
            Pred::Bits(b) => v.is_some_and(|v| b.test(v)),
            Pred::Size(n) => match v {
                Some(Bson::Array(a)) => i64::try_from(a.len()).is_ok_and(|l| l == *n),
                _ => false,
            },
            Pred::ElemMatchObject(node) => match v {
                Some(Bson::Array(items)) => {
                    for (i, item) in items.iter().enumerate() {
                        let hit = match item {
                            Bson::Document(d) => super::eval_doc(node, d, &mut None),
                            Bson::Array(inner) => {
                                let as_doc = array_as_document(inner);
                                super::eval_doc(node, &as_doc, &mut None)
                            }
                            _ => false,
                        };
                        if hit {
                            *key = Some(i);
                            return true;
                        }
                    }
                    false
                }
                _ => false,
            },
            Pred::ElemMatchValue(node) => match v {
                Some(Bson::Array(items)) => {
                    for (i, item) in items.iter().enumerate() {
                        if super::eval_value(node, item) {
                            *key = Some(i);
                            return true;
                        }
                    }
                    false
                }
                _ => false,
            },
        }
    }
}

/// An array seen as a document with keys `"0"`, `"1"`, … (how `$elemMatch`'s object form
/// looks into nested arrays).
fn array_as_document(items: &[Bson]) -> bson::Document {
    items
        .iter()
        .enumerate()
        .map(|(i, v)| (i.to_string(), v.clone()))
        .collect()
}

/// `$eq`: BSON equality; `null` also matches a missing field (not `undefined`, as of
/// MongoDB 6.0).
pub(crate) fn equal_match(v: Option<&Bson>, rhs: &Bson) -> bool {
    match v {
        None => matches!(rhs, Bson::Null),
        Some(Bson::Undefined) => false,
        Some(v) => type_rank(v) == type_rank(rhs) && compare(v, rhs) == Ordering::Equal,
    }
}

fn is_nan(v: &Bson) -> bool {
    Number::of(v).is_some_and(|n| n.as_f64().is_nan())
}

/// `$lt`/`$lte`/`$gt`/`$gte`: only within the same type bracket, except that `MinKey` and
/// `MaxKey` bound everything and `null` bounds (with equality) a missing field.
pub(crate) fn compare_match(op: CmpOp, v: Option<&Bson>, rhs: &Bson) -> bool {
    let inclusive = matches!(op, CmpOp::Lte | CmpOp::Gte);
    let Some(v) = v else {
        // A missing field compares as null.
        return match rhs {
            Bson::Null => inclusive,
            Bson::MinKey => matches!(op, CmpOp::Gt | CmpOp::Gte),
            Bson::MaxKey => matches!(op, CmpOp::Lt | CmpOp::Lte),
            _ => false,
        };
    };
    if type_rank(v) != type_rank(rhs) {
        // MinKey and MaxKey bound every value, `undefined` included.
        return match rhs {
            Bson::MinKey => matches!(op, CmpOp::Gt | CmpOp::Gte),
            Bson::MaxKey => matches!(op, CmpOp::Lt | CmpOp::Lte),
            _ => false,
        };
    }
    if matches!(v, Bson::Undefined) {
        return false;
    }
    if is_nan(v) || is_nan(rhs) {
        return inclusive && is_nan(v) && is_nan(rhs);
    }
    let o = compare(v, rhs);
    match op {
        CmpOp::Lt => o == Ordering::Less,
        CmpOp::Lte => o != Ordering::Greater,
        CmpOp::Gt => o == Ordering::Greater,
        CmpOp::Gte => o != Ordering::Less,
    }
}

/// `$mod`: the value truncated to an integer, modulo the divisor, equals the remainder.
fn mod_match(v: &Bson, divisor: i64, remainder: i64) -> bool {
    let Some(n) = Number::of(v) else {
        return false;
    };
    let x = match n {
        Number::Int(i) => i,
        Number::Double(d) | Number::Decimal(d) => {
            if !d.is_finite() {
                return false;
            }
            // Saturating cast, as MongoDB's truncation of out-of-range doubles.
            d.trunc() as i64
        }
    };
    x.wrapping_rem(divisor) == remainder
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::bson;

    #[test]
    fn array_index_components() {
        assert_eq!(array_index("0"), Some(0));
        assert_eq!(array_index("12"), Some(12));
        assert_eq!(array_index("01"), None);
        assert_eq!(array_index("-1"), None);
        assert_eq!(array_index("a"), None);
        assert_eq!(array_index(""), None);
    }

    #[test]
    fn comparison_brackets() {
        assert!(compare_match(CmpOp::Gt, Some(&bson!(6)), &bson!(5)));
        assert!(!compare_match(CmpOp::Gt, Some(&bson!("6")), &bson!(5)));
        assert!(compare_match(CmpOp::Gt, Some(&bson!("6")), &Bson::MinKey));
        assert!(compare_match(CmpOp::Lte, None, &Bson::Null));
        assert!(!compare_match(CmpOp::Lt, None, &Bson::Null));
        assert!(!compare_match(
            CmpOp::Lt,
            Some(&Bson::Double(f64::NAN)),
            &bson!(5)
        ));
        assert!(compare_match(
            CmpOp::Gte,
            Some(&Bson::Double(f64::NAN)),
            &Bson::Double(f64::NAN)
        ));
    }

    #[test]
    fn string_fast_path_agrees_with_test() {
        let re = FilterRegex::new("^a", "").expect("valid");
        let preds = vec![
            Pred::Eq(bson!("ab")),
            Pred::Eq(bson!(1)),
            Pred::Eq(Bson::Symbol("ab".into())),
            Pred::Cmp(CmpOp::Gt, bson!("a")),
            Pred::Cmp(CmpOp::Lte, bson!("ab")),
            Pred::Cmp(CmpOp::Lt, bson!(5)),
            Pred::Cmp(CmpOp::Gte, Bson::MinKey),
            Pred::Cmp(CmpOp::Lt, Bson::MaxKey),
            Pred::Cmp(CmpOp::Gt, Bson::MaxKey),
            Pred::In(InSet::new(
                vec![bson!(1), bson!("b"), Bson::Null, bson!({"x": 1}), bson!("")],
                vec![],
            )),
            Pred::In(InSet::new(vec![bson!(2)], vec![re.clone()])),
            Pred::Regex(re),
            Pred::Exists,
        ];
        for p in &preds {
            for s in ["", "a", "ab", "b", "ba", "z"] {
                if let Some(fast) = p.test_str(s) {
                    let slow = p.test(Some(&Bson::String(s.to_string())), &mut None);
                    assert_eq!(fast, slow, "{p:?} on {s:?}");
                }
            }
        }
    }

    #[test]
    fn modulo() {
        assert!(mod_match(&bson!(10), 4, 2));
        assert!(mod_match(&bson!(10.9), 4, 2));
        assert!(mod_match(&bson!(-10), 4, -2));
        assert!(!mod_match(&Bson::Double(f64::NAN), 4, 0));
        assert!(!mod_match(&bson!("10"), 4, 2));
    }
}
