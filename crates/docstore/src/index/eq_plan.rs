//! The planner's shortcut for the most common secondary-index query, `{field: value}` with one
//! top-level field and a plain value, without a sort: the same [`Plan`] the general planner
//! makes for it, built without its machinery (no conjunct list, no per-field condition map,
//! no interval copies, no generic key-range builder).
//!
//! Invariant: whenever [`single_equality`] answers a plan, it is equal (`==`) to the general
//! planner's plan for the same filter and indexes (tested below against `plan_general` over
//! many filters and index sets). It declines (answers `None`, so the general planner runs)
//! whenever the general planner's choice could depend on more than the field name and the
//! index list: `_id`, values that are not one point (null, undefined, arrays, documents,
//! regexes), a sort, and partial indexes on the field (whether their filter is implied
//! depends on the value).

use bson::{Bson, Document};

use super::bounds::{Interval, KeyRange};
use super::keycodec::{Direction, invert, prefix_successor};
use super::keys::IndexDef;
use super::planner::{Access, IndexScan, Plan};

/// The plan of `{field: value}` (see the module docs), or `None` when the general planner
/// must decide.
pub(super) fn single_equality(
    filter: &Document,
    sort: Option<&Document>,
    indexes: &[(String, IndexDef)],
) -> Option<Plan> {
    if filter.len() != 1 || sort.is_some_and(|s| !s.is_empty()) {
        return None;
    }
    let (field, value) = filter.iter().next()?;
    if field == "_id" || field.starts_with('$') {
        return None;
    }
    match value {
        Bson::Null
        | Bson::Undefined
        | Bson::Array(_)
        | Bson::Document(_)
        | Bson::RegularExpression(_) => return None,
        _ => {}
    }
    let (table, def) = eq_index(field, indexes)??;
    let first = def.fields.first()?;
    let interval = Interval::point(value);
    let range = point_range(interval.point.as_deref()?, first.direction)?;
    let mut field_bounds = Vec::with_capacity(def.fields.len());
    let mut rest = def.fields.iter();
    rest.next();
    field_bounds.push((first.path.clone(), vec![interval], first.direction));
    field_bounds.extend(rest.map(|f| (f.path.clone(), vec![Interval::all()], f.direction)));
    Some(Plan {
        access: Access::IndexScan(Box::new(IndexScan {
            table: table.clone(),
            primary: false,
            index_name: def.name().to_string(),
            key_pattern: def.spec.key.clone(),
            ranges: vec![range],
            reverse: false,
            dedupe: def.multikey,
            field_bounds,
            multikey: def.multikey,
            unique: def.spec.unique,
            sparse: def.spec.sparse,
            partial: false,
            eq_fields: 1,
            has_range: false,
        })),
        sort: None,
        sort_provided: true,
    })
}

/// The general planner's choice for an equality with a one-point value on `field` among the
/// indexes led by `field`: every such index has one equality field and no range and provides
/// the (absent) sort, so its cost key reduces to (unique, shorter key pattern); the first of
/// equal keys wins. `Some(None)`: no index is led by `field`; `None`: a partial index is, and
/// whether it may be used depends on the value (the general planner decides).
fn eq_index<'i>(
    field: &str,
    indexes: &'i [(String, IndexDef)],
) -> Option<Option<&'i (String, IndexDef)>> {
    let mut best: Option<&(String, IndexDef)> = None;
    for entry in indexes {
        let def = &entry.1;
        if def.fields.first().is_none_or(|f| f.path != field) || def.is_id() {
            continue;
        }
        if def.spec.partial_filter.is_some() {
            return None;
        }
        let key = |d: &IndexDef| (d.spec.unique, usize::MAX - d.spec.key.len());
        if best.is_none_or(|b| key(def) > key(&b.1)) {
            best = Some(entry);
        }
    }
    Some(best)
}

/// An equality filter that one single-field index answers exactly (see [`exact_equality`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ExactEquality<'i> {
    /// The index table.
    pub table: &'i str,
    /// The key range of the value's entries: from `lo` (included) ...
    pub lo: Vec<u8>,
    /// ... to `hi` (excluded; `None`: to the end of the table).
    pub hi: Option<Vec<u8>>,
}

/// For `{field: value}` that the planner answers with a plan exact for the filter
/// ([`Plan::is_exact_for`]: a top-level field, a string, ObjectId, boolean or 32-bit integer
/// value, one point on a single-field index of that field), the index table and key range the
/// plan scans; `None` otherwise. Every entry in the range is a match: its document needs no
/// filter check, and the entries of one value have distinct primary keys in ascending order
/// (an index entry is `key ‖ pk`, one per distinct key of a document), so none is repeated
/// even on a multikey index. For reading without building the plan.
pub fn exact_equality<'i>(
    filter: &Document,
    indexes: &'i [(String, IndexDef)],
) -> Option<ExactEquality<'i>> {
    if filter.len() != 1 {
        return None;
    }
    let (field, value) = filter.iter().next()?;
    if field.is_empty() || field == "_id" || field.starts_with('$') || field.contains('.') {
        return None;
    }
    if !matches!(
        value,
        Bson::String(_) | Bson::ObjectId(_) | Bson::Boolean(_) | Bson::Int32(_)
    ) {
        return None;
    }
    let (table, def) = eq_index(field, indexes)??;
    let [only] = def.fields.as_slice() else {
        return None;
    };
    // The key range `point_range` builds, encoded straight into its lower bound.
    let mut lo = Vec::with_capacity(16);
    super::keycodec::encode_component(value, only.direction, &mut lo);
    if lo.is_empty() {
        return None;
    }
    let hi = prefix_successor(&lo);
    Some(ExactEquality { table, lo, hi })
}

/// The key range of the index entries whose leading component is the point `encoded` (the
/// ascending encoding of the value) in direction `dir`: what `bounds::key_ranges` builds for
/// one point of the first field.
fn point_range(encoded: &[u8], dir: Direction) -> Option<KeyRange> {
    if encoded.is_empty() {
        return None;
    }
    let mut lo = encoded.to_vec();
    if dir == Direction::Descending {
        invert(&mut lo);
    }
    let hi = match prefix_successor(&lo) {
        Some(s) => std::ops::Bound::Excluded(s),
        None => std::ops::Bound::Unbounded,
    };
    Some(KeyRange {
        lo: std::ops::Bound::Included(lo),
        hi,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::IndexSpec;
    use crate::index::planner::plan_general;
    use bson::{doc, oid::ObjectId};

    fn def(key: Document, unique: bool, sparse: bool, multikey: bool) -> (String, IndexDef) {
        let mut spec = IndexSpec::new(key).expect("spec");
        spec.unique = unique;
        spec.sparse = sparse;
        let mut d = IndexDef::compile(&spec).expect("def");
        d.multikey = multikey;
        (format!("t.{}", spec.name), d)
    }

    fn partial(key: Document, filter: Document) -> (String, IndexDef) {
        let mut spec = IndexSpec::new(key).expect("spec");
        spec.partial_filter = Some(filter);
        (
            format!("t.{}", spec.name),
            IndexDef::compile(&spec).expect("def"),
        )
    }

    /// Index sets covering the choice rules: none, single, descending, multikey, compound,
    /// unique beating shorter, shorter beating longer, ties (first wins), sparse, dotted paths.
    fn index_sets() -> Vec<Vec<(String, IndexDef)>> {
        vec![
            vec![],
            vec![def(doc! {"cat": 1}, false, false, false)],
            vec![def(doc! {"cat": -1}, false, false, false)],
            vec![def(doc! {"cat": 1}, false, false, true)],
            vec![def(doc! {"cat": 1, "n": -1}, false, false, false)],
            vec![
                def(doc! {"cat": 1, "n": 1}, false, false, false),
                def(doc! {"cat": 1}, false, false, true),
            ],
            vec![
                def(doc! {"cat": 1}, false, false, false),
                def(doc! {"cat": 1, "n": 1}, true, false, false),
            ],
            vec![
                def(doc! {"cat": -1}, false, false, false),
                def(doc! {"cat": 1}, false, false, false),
            ],
            vec![
                def(doc! {"cat": 1}, false, true, false),
                def(doc! {"n": 1, "cat": 1}, false, false, false),
            ],
            vec![
                def(doc! {"n": 1}, true, false, false),
                def(doc! {"a.b": 1}, false, false, true),
                def(doc! {"cat": 1, "a.b": -1, "n": 1}, false, true, false),
            ],
        ]
    }

    fn values() -> Vec<Bson> {
        vec![
            Bson::String("c123".into()),
            Bson::String(String::new()),
            Bson::String("\u{ff}\u{10ffff}".into()),
            Bson::Int32(7),
            Bson::Int32(-1),
            Bson::Int64(1 << 40),
            Bson::Double(2.5),
            Bson::Double(f64::NAN),
            Bson::Double(f64::INFINITY),
            Bson::Boolean(true),
            Bson::ObjectId(ObjectId::from_bytes([0xFF; 12])),
            Bson::DateTime(bson::DateTime::from_millis(5)),
            Bson::MinKey,
            Bson::MaxKey,
            Bson::Decimal128(bson::Decimal128::from_bytes([0; 16])),
        ]
    }

    #[test]
    fn shortcut_makes_the_general_plan() {
        let mut answered = 0;
        for indexes in index_sets() {
            for field in ["cat", "a.b", "n", "other"] {
                for v in values() {
                    let mut filter = Document::new();
                    filter.insert(field, v.clone());
                    let general = plan_general(&filter, None, &indexes);
                    match single_equality(&filter, None, &indexes) {
                        Some(fast) => {
                            answered += 1;
                            // Debug text as well: NaN bounds are not `==` to themselves.
                            assert_eq!(format!("{fast:?}"), format!("{general:?}"), "{filter}");
                            if !matches!(v, Bson::Double(d) if d.is_nan()) {
                                assert_eq!(fast, general, "{filter} on {indexes:?}");
                            }
                        }
                        // Declines only when no index is led by the field.
                        None => assert_eq!(general.access, Access::CollScan, "{filter}"),
                    }
                    let empty_sort = doc! {};
                    assert_eq!(
                        format!(
                            "{:?}",
                            single_equality(&filter, Some(&empty_sort), &indexes)
                        ),
                        format!("{:?}", single_equality(&filter, None, &indexes)),
                    );
                }
            }
        }
        assert!(answered > 100, "{answered}");
    }

    #[test]
    fn exact_equality_is_the_exact_plans_scan() {
        let mut answered = 0;
        for indexes in index_sets() {
            for field in ["cat", "a.b", "n", "other", "_id"] {
                for v in values() {
                    let mut filter = Document::new();
                    filter.insert(field, v.clone());
                    let plan = crate::index::plan(&filter, None, &indexes);
                    let exact = exact_equality(&filter, &indexes);
                    assert_eq!(exact.is_some(), plan.is_exact_for(&filter), "{filter}");
                    let (Some(exact), Access::IndexScan(scan)) = (exact, &plan.access) else {
                        continue;
                    };
                    answered += 1;
                    assert_eq!(exact.table, scan.table, "{filter}");
                    let hi = match &exact.hi {
                        Some(h) => std::ops::Bound::Excluded(h.clone()),
                        None => std::ops::Bound::Unbounded,
                    };
                    let range = KeyRange {
                        lo: std::ops::Bound::Included(exact.lo.clone()),
                        hi,
                    };
                    assert_eq!(scan.ranges, vec![range], "{filter}");
                }
            }
        }
        assert!(answered > 20, "{answered}");
    }

    #[test]
    fn declines_what_the_general_planner_must_decide() {
        let indexes = vec![
            def(doc! {"cat": 1}, false, false, false),
            def(doc! {"_id": 1, "cat": 1}, false, false, false),
        ];
        let declined = [
            doc! {"cat": null},
            doc! {"cat": Bson::Undefined},
            doc! {"cat": [1, 2]},
            doc! {"cat": {"$gt": 1}},
            doc! {"cat": {"a": 1}},
            doc! {"cat": bson::Regex { pattern: "^a".to_string().try_into().expect("cstring"), options: String::new().try_into().expect("cstring") }},
            doc! {"cat": "a", "n": 1},
            doc! {"_id": 5},
            doc! {"$and": [{"cat": "a"}]},
            doc! {},
        ];
        for f in &declined {
            assert!(single_equality(f, None, &indexes).is_none(), "{f}");
        }
        let sort = doc! {"cat": 1};
        assert!(single_equality(&doc! {"cat": "a"}, Some(&sort), &indexes).is_none());
        // A partial index on the field: its use depends on the value.
        let with_partial = vec![
            def(doc! {"cat": 1, "n": 1}, false, false, false),
            partial(doc! {"cat": 1}, doc! {"cat": "a"}),
        ];
        assert!(single_equality(&doc! {"cat": "a"}, None, &with_partial).is_none());
        // A partial index on another field does not matter.
        let other_partial = vec![
            def(doc! {"cat": 1}, false, false, false),
            partial(doc! {"n": 1}, doc! {"n": {"$gt": 5}}),
        ];
        let f = doc! {"cat": "a"};
        assert_eq!(
            single_equality(&f, None, &other_partial),
            Some(plan_general(&f, None, &other_partial))
        );
    }
}
