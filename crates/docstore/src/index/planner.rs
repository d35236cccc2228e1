//! The query planner: reads a filter document (top-level fields, implicit and explicit `$and`)
//! and picks how to produce candidate documents: `_id` point lookups, an index scan with
//! bounds (equality, `$in`, ranges, compound prefixes) and possibly the requested sort order,
//! or a collection scan.
//!
//! Invariant: the candidates of every plan are a SUPERSET of the documents matching the
//! filter — the caller always re-applies the full filter. Whenever a condition's effect on
//! the index is subtle (regexes, `$ne`, arrays compared as wholes, multikey range
//! intersection, sparse/partial coverage) the planner widens the bounds or ignores the
//! condition rather than risk missing a document.
//!
//! Cost rule: `_id` equality wins; otherwise the index with the most equality-prefix fields,
//! then one with a range, then one that provides the sort, then unique, then the shorter key.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use bson::{Bson, Document};
use stratus_query::error::QueryError;

use super::bounds::{Interval, KeyRange, key_ranges};
use super::keycodec::Direction;
use super::keys::IndexDef;

/// The most point combinations an equality prefix may expand to; further fields are left
/// unconstrained beyond it.
pub const MAX_POINT_COMBINATIONS: usize = 4096;

/// The most nested `$and` levels the planner looks through.
pub const MAX_AND_DEPTH: usize = 32;

/// The compiled `_id_` index (the document table), built once.
static ID_DEF: LazyLock<Result<IndexDef, QueryError>> =
    LazyLock::new(|| IndexDef::compile(&super::spec::IndexSpec::id_index()));

/// The lower edges of the points undefined and null (the keys of missing fields), computed
/// once.
static MISSING_EDGES: LazyLock<[super::bounds::Edge; 2]> = LazyLock::new(|| {
    [
        Interval::point(&Bson::Undefined).lo,
        Interval::point(&Bson::Null).lo,
    ]
});

/// How candidates are produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Access {
    /// Every document of the collection, in `_id` order.
    CollScan,
    /// Look up these encoded `_id`s (sorted, distinct) in the document table.
    IdPoint {
        /// Encoded `_id` values ([`encode_id`]).
        ids: Vec<Vec<u8>>,
        /// The `_id` points as intervals (for explain).
        bounds: Vec<Interval>,
    },
    /// Scan ranges of an index (or of the document table for `_id_`).
    IndexScan(Box<IndexScan>),
}

/// An index scan.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexScan {
    /// The index's table; empty for the `_id_` index (the document table is scanned).
    pub table: String,
    /// Whether this is the `_id_` index, i.e. the document table itself.
    pub primary: bool,
    /// The index name.
    pub index_name: String,
    /// The index key pattern.
    pub key_pattern: Document,
    /// Key ranges, sorted and disjoint.
    pub ranges: Vec<KeyRange>,
    /// Whether to scan backwards (for a reversed sort).
    pub reverse: bool,
    /// Whether a document may be reached by several entries (multikey or several ranges).
    pub dedupe: bool,
    /// Per key field: its path, intervals (empty list = no value; fields past the used
    /// prefix are `[MinKey, MaxKey]`) and direction, for explain's `indexBounds`.
    pub field_bounds: Vec<(String, Vec<Interval>, Direction)>,
    /// Whether the index is multikey (for explain).
    pub multikey: bool,
    /// Whether the index is unique (for explain).
    pub unique: bool,
    /// Whether the index is sparse (for explain).
    pub sparse: bool,
    /// Whether the index is partial (for explain).
    pub partial: bool,
    /// How many leading key fields are constrained by equality (for cost comparisons).
    pub eq_fields: usize,
    /// Whether a range constrains the field after the equality prefix.
    pub has_range: bool,
}

/// A chosen plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// How candidates are produced.
    pub access: Access,
    /// The requested sort, if any.
    pub sort: Option<Document>,
    /// Whether candidates already come in the requested sort order (no in-memory sort needed).
    pub sort_provided: bool,
}

impl IndexScan {
    /// Explain's `indexBounds`: field → interval texts, in index order for the direction.
    pub fn bounds_document(&self) -> Document {
        let mut out = Document::new();
        for (path, intervals, dir) in &self.field_bounds {
            let mut texts: Vec<Bson> = intervals
                .iter()
                .map(|iv| Bson::String(iv.text(*dir)))
                .collect();
            if *dir == Direction::Descending {
                texts.reverse();
            }
            out.insert(path.clone(), texts);
        }
        out
    }
}

impl Plan {
    /// The name of the index used, if any (`_id_` for `_id` lookups).
    pub fn index_name(&self) -> Option<&str> {
        match &self.access {
            Access::CollScan => None,
            Access::IdPoint { .. } => Some(super::spec::ID_INDEX_NAME),
            Access::IndexScan(s) => Some(&s.index_name),
        }
    }
}

impl Plan {
    /// Whether every candidate this plan yields is known to match `filter`, so re-checking
    /// the filter on each fetched document can be skipped. True only in the plainest case:
    /// `filter` is `{field: v}` on a top-level field with `v` a string, ObjectId, boolean or
    /// 32-bit integer (index keys encode these exactly and without collisions), scanned as
    /// one point on a single-field index of that field. Array fields agree too: the index has
    /// an entry per element, and the filter matches an array holding an equal element.
    pub fn is_exact_for(&self, filter: &Document) -> bool {
        let Access::IndexScan(scan) = &self.access else {
            return false;
        };
        let mut it = filter.iter();
        let (Some((field, value)), None) = (it.next(), it.next()) else {
            return false;
        };
        let exact_value = matches!(
            value,
            Bson::String(_) | Bson::ObjectId(_) | Bson::Boolean(_) | Bson::Int32(_)
        );
        exact_value
            && !scan.primary
            && !field.contains('.')
            && !field.starts_with('$')
            && scan.key_pattern.len() == 1
            && scan.key_pattern.contains_key(field)
            && scan.ranges.len() == 1
            && scan.field_bounds.len() == 1
            && scan.field_bounds[0].1.len() == 1
            && scan.field_bounds[0].1[0].point.is_some()
    }
}

/// One condition on one field that the planner understood.
#[derive(Debug, Clone)]
enum Cond {
    /// Equality-like: any of these intervals (points, or the null/undefined pair).
    Points(Vec<Interval>),
    /// A one-sided or two-sided range within one type bracket.
    Range(Box<Interval>),
    /// Several non-point intervals (an anchored regex: its string prefix and the regex itself).
    Multi(Vec<Interval>),
}

/// Characters that end the literal prefix of an anchored regex.
const REGEX_META: &str = ".[]{}()*+?|^$\\";

/// Bounds of `{$regex: pattern, $options}`: `^literal…` without options that change what
/// the prefix matches gives the strings starting with the literal, plus the equal regex
/// value itself (MongoDB matches a stored regex equal to the query's). `None` otherwise.
fn regex_intervals(pattern: &str, options: &str) -> Option<Vec<Interval>> {
    if !options.chars().all(|c| c == 's') || pattern.contains('|') {
        return None;
    }
    let rest = pattern.strip_prefix('^')?;
    let mut prefix: String = rest
        .chars()
        .take_while(|c| !REGEX_META.contains(*c))
        .collect();
    let next = rest[prefix.len()..].chars().next();
    // `^ab*` / `^ab?` / `^ab{0,1}`: the last literal character is optional.
    if matches!(next, Some('*' | '?' | '{')) {
        prefix.pop();
    }
    let regex = bson::Regex {
        pattern: pattern.to_string().try_into().ok()?,
        options: options.to_string().try_into().ok()?,
    };
    Some(normalise(vec![
        Interval::string_prefix(&prefix),
        Interval::point(&Bson::RegularExpression(regex)),
    ]))
}

/// The top-level conjunction of a filter: `(path, condition)` pairs.
fn conjuncts<'f>(filter: &'f Document, depth: usize, out: &mut Vec<(&'f str, &'f Bson)>) {
    if depth > MAX_AND_DEPTH {
        return;
    }
    for (k, v) in filter {
        if k == "$and" {
            if let Bson::Array(items) = v {
                for item in items {
                    if let Bson::Document(d) = item {
                        conjuncts(d, depth + 1, out);
                    }
                }
            }
        } else if !k.starts_with('$') {
            out.push((k.as_str(), v));
        }
    }
}

/// Intervals for equality with `v`, or `None` when equality cannot be bounded (regex).
fn eq_intervals(v: &Bson) -> Option<Vec<Interval>> {
    match v {
        Bson::RegularExpression(_) => None,
        // `{a: null}` also matches a missing field, whose key is null; undefined is included
        // to stay a superset for legacy data.
        Bson::Null => Some(vec![
            Interval::point(&Bson::Undefined),
            Interval::point(&Bson::Null),
        ]),
        // Equality with an array matches the whole array (indexed through its first element)
        // or an element equal to the array; `[]` is indexed as undefined.
        Bson::Array(items) => Some(match items.first() {
            Some(first) => vec![Interval::point(first), Interval::point(v)],
            None => vec![Interval::point(&Bson::Undefined), Interval::point(v)],
        }),
        other => Some(vec![Interval::point(other)]),
    }
}

/// Sorts intervals by lower edge and drops duplicates (points may repeat in `$in`).
fn normalise(mut v: Vec<Interval>) -> Vec<Interval> {
    v.sort_by(|a, b| super::bounds::edge_cmp(&a.lo, &b.lo));
    v.dedup_by(|a, b| a.lo == b.lo && a.hi == b.hi);
    v
}

/// The conditions a field's filter value imposes that can bound an index.
fn field_conds(v: &Bson) -> Vec<Cond> {
    let ops = match v {
        Bson::Document(d) if d.keys().next().is_some_and(|k| k.starts_with('$')) => d,
        Bson::RegularExpression(r) => {
            return regex_intervals(r.pattern.as_str(), r.options.as_str())
                .map(|i| vec![Cond::Multi(i)])
                .unwrap_or_default();
        }
        other => {
            return eq_intervals(other)
                .map(|i| vec![Cond::Points(normalise(i))])
                .unwrap_or_default();
        }
    };
    let mut out = Vec::new();
    for (op, arg) in ops {
        match op.as_str() {
            "$regex" => {
                let options = match ops.get("$options") {
                    Some(Bson::String(o)) => o.as_str(),
                    Some(_) => continue,
                    None => "",
                };
                let found = match arg {
                    Bson::String(p) => regex_intervals(p, options),
                    Bson::RegularExpression(r) if options.is_empty() => {
                        regex_intervals(r.pattern.as_str(), r.options.as_str())
                    }
                    _ => None,
                };
                if let Some(i) = found {
                    out.push(Cond::Multi(i));
                }
            }
            "$eq" => {
                if let Some(i) = eq_intervals(arg) {
                    out.push(Cond::Points(normalise(i)));
                }
            }
            "$in" => {
                let Bson::Array(items) = arg else { continue };
                let mut all = Vec::new();
                let mut ok = true;
                for item in items {
                    match eq_intervals(item) {
                        Some(i) => all.extend(i),
                        None => ok = false,
                    }
                }
                if ok {
                    out.push(Cond::Points(normalise(all)));
                }
            }
            "$gt" | "$gte" | "$lt" | "$lte" => {
                let incl = op.ends_with('e');
                match arg {
                    // `$gte: null` / `$lte: null` mean equality with null; other null, MinKey,
                    // MaxKey, NaN, array and regex operands are left to the filter.
                    Bson::Null if incl => out.push(Cond::Points(normalise(
                        eq_intervals(arg).unwrap_or_default(),
                    ))),
                    Bson::Null | Bson::MinKey | Bson::MaxKey | Bson::Undefined => {}
                    Bson::Array(_) | Bson::RegularExpression(_) => {}
                    Bson::Double(d) if d.is_nan() => {}
                    _ => {
                        let lower = op.starts_with("$g");
                        let i = if lower {
                            Interval::bracketed(arg, Some(incl), None)
                        } else {
                            Interval::bracketed(arg, None, Some(incl))
                        };
                        out.push(Cond::Range(Box::new(i)));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// The combined bounds of one field: intervals, whether they are all points, and whether they
/// admit null/undefined keys (missing fields).
#[derive(Debug, Clone)]
struct FieldBounds {
    intervals: Vec<Interval>,
    points: bool,
    admits_null: bool,
}

fn combine(conds: &[Cond], multikey: bool) -> Option<FieldBounds> {
    // Equalities are the most selective; the filter re-checks the others.
    let best_points = conds
        .iter()
        .filter_map(|c| match c {
            Cond::Points(p) => Some(p),
            Cond::Range(_) | Cond::Multi(_) => None,
        })
        .min_by_key(|p| p.len());
    if let Some(p) = best_points {
        let missing = &*MISSING_EDGES;
        return Some(FieldBounds {
            admits_null: p.iter().any(|i| missing.contains(&i.lo)),
            intervals: p.clone(),
            points: true,
        });
    }
    if let Some(intervals) = conds.iter().find_map(|c| match c {
        Cond::Multi(m) => Some(m),
        Cond::Points(_) | Cond::Range(_) => None,
    }) {
        return Some(FieldBounds {
            intervals: intervals.clone(),
            points: false,
            admits_null: false,
        });
    }
    let mut ranges = conds.iter().filter_map(|c| match c {
        Cond::Range(r) => Some(r),
        Cond::Points(_) | Cond::Multi(_) => None,
    });
    let first = (**ranges.next()?).clone();
    // On a multikey index different elements may satisfy different bounds
    // (`{a: [1, 10]}` matches `{$gt: 3, $lt: 5}`), so only one bound is used there.
    let merged = if multikey {
        first
    } else {
        ranges.fold(first, |acc, r| acc.intersect(r))
    };
    let intervals = if merged.is_empty() {
        Vec::new()
    } else {
        vec![merged]
    };
    Some(FieldBounds {
        intervals,
        points: false,
        admits_null: false,
    })
}

/// Parses a sort document into `(path, direction)` pairs; `None` for `$meta` sorts.
fn sort_fields(sort: &Document) -> Option<Vec<(String, Direction)>> {
    sort.iter()
        .map(|(k, v)| {
            let n = match v {
                Bson::Int32(i) => f64::from(*i),
                Bson::Int64(i) => *i as f64,
                Bson::Double(d) => *d,
                _ => return None,
            };
            let dir = if n < 0.0 {
                Direction::Descending
            } else {
                Direction::Ascending
            };
            Some((k.clone(), dir))
        })
        .collect()
}

/// Whether an index scan over `def` with `single_point_prefix` leading single-point equality
/// fields yields the sort order; `Some(reverse)` if so.
fn sort_order(
    def: &IndexDef,
    single_point_prefix: usize,
    sort: &[(String, Direction)],
) -> Option<bool> {
    if sort.is_empty() {
        return Some(false);
    }
    for k in 0..=single_point_prefix {
        let Some(window) = def.fields.get(k..k + sort.len()) else {
            break;
        };
        if window.iter().zip(sort).all(|(f, (p, _))| f.path == *p) {
            let same = window.iter().zip(sort).all(|(f, (_, d))| f.direction == *d);
            let flipped = window.iter().zip(sort).all(|(f, (_, d))| f.direction != *d);
            if same {
                return Some(false);
            }
            if flipped {
                return Some(true);
            }
        }
    }
    None
}

/// Whether every top-level condition of the partial filter appears verbatim in the query.
fn implies_partial(conj: &[(&str, &Bson)], partial: &Document) -> bool {
    let mut needed = Vec::new();
    conjuncts(partial, 0, &mut needed);
    partial.keys().all(|k| k == "$and" || !k.starts_with('$'))
        && needed.iter().all(|n| conj.contains(n))
}

/// A candidate index scan with its cost key.
struct Candidate {
    scan: IndexScan,
    sort_provided: bool,
}

fn candidate(
    table: &str,
    def: &IndexDef,
    primary: bool,
    by_field: &BTreeMap<&str, Vec<Cond>>,
    conj: &[(&str, &Bson)],
    sort: Option<&[(String, Direction)]>,
) -> Option<Candidate> {
    if let Some(p) = &def.spec.partial_filter
        && !implies_partial(conj, p)
    {
        return None;
    }
    let multikey = def.multikey && !primary;
    let mut used: Vec<(Vec<Interval>, Direction)> = Vec::new();
    let mut eq_fields = 0;
    let mut single_point_prefix = 0;
    let mut has_range = false;
    let mut combinations = 1usize;
    let mut excludes_missing = false;
    for f in &def.fields {
        let Some(b) = by_field
            .get(f.path.as_str())
            .and_then(|c| combine(c, multikey))
        else {
            break;
        };
        excludes_missing |= !b.admits_null;
        if b.points {
            combinations = combinations.saturating_mul(b.intervals.len().max(1));
            if combinations > MAX_POINT_COMBINATIONS {
                break;
            }
            eq_fields += 1;
            if b.intervals.len() == 1 && single_point_prefix + 1 == eq_fields {
                single_point_prefix += 1;
            }
            used.push((b.intervals, f.direction));
        } else {
            has_range = true;
            used.push((b.intervals, f.direction));
            break;
        }
    }
    // A sparse index lacks documents missing every key field; use it only when the bounds
    // exclude missing (null) values.
    if def.spec.sparse && !excludes_missing {
        return None;
    }
    let sort_rev = match sort {
        Some(s) if !multikey => sort_order(def, single_point_prefix, s),
        Some(_) => None,
        None => Some(false),
    };
    if used.is_empty() && (sort.is_none() || sort_rev.is_none()) {
        return None;
    }
    let ranges = key_ranges(&used);
    // The bounds move into explain's per-field list (fields past the used prefix: all values).
    let mut used = used.into_iter();
    let field_bounds = def
        .fields
        .iter()
        .map(|f| {
            let intervals = match used.next() {
                Some((intervals, _)) => intervals,
                None => vec![Interval::all()],
            };
            (f.path.clone(), intervals, f.direction)
        })
        .collect();
    let scan = IndexScan {
        table: if primary {
            String::new()
        } else {
            table.to_string()
        },
        primary,
        index_name: def.name().to_string(),
        key_pattern: def.spec.key.clone(),
        dedupe: multikey || ranges.len() > 1,
        ranges,
        reverse: sort_rev.unwrap_or(false),
        field_bounds,
        multikey,
        unique: def.spec.unique,
        sparse: def.spec.sparse,
        partial: def.spec.partial_filter.is_some(),
        eq_fields,
        has_range,
    };
    Some(Candidate {
        scan,
        sort_provided: sort.is_none() || sort_rev.is_some(),
    })
}

/// Chooses a plan for `filter` (and the requested `sort`) among `indexes`, each given with the
/// name of its table. The `_id_` index is always available (the document table) and need not
/// be listed.
pub fn plan(filter: &Document, sort: Option<&Document>, indexes: &[(String, IndexDef)]) -> Plan {
    if let Some(p) = id_equality(filter, sort) {
        return p;
    }
    if let Some(p) = super::eq_plan::single_equality(filter, sort, indexes) {
        return p;
    }
    plan_general(filter, sort, indexes)
}

/// The most common query by far, `{_id: <value>}` without a sort, planned without the general
/// machinery: the same plan [`plan_general`] makes for it (one `_id` point).
fn id_equality(filter: &Document, sort: Option<&Document>) -> Option<Plan> {
    if filter.len() != 1 || sort.is_some_and(|s| !s.is_empty()) {
        return None;
    }
    let v = filter.get("_id")?;
    match v {
        // Operators, regexes, null (also matches missing) and arrays (element matching) take
        // the general path.
        Bson::Document(d) if d.keys().next().is_some_and(|k| k.starts_with('$')) => None,
        Bson::RegularExpression(_) | Bson::Null | Bson::Array(_) | Bson::Undefined => None,
        other => {
            let interval = Interval::point(other);
            let id = interval.point.clone()?;
            Some(Plan {
                access: Access::IdPoint {
                    ids: vec![id],
                    bounds: vec![interval],
                },
                sort: None,
                sort_provided: true,
            })
        }
    }
}

/// [`plan`] without its shortcuts (`_id` equality, [`super::eq_plan`]).
pub(super) fn plan_general(
    filter: &Document,
    sort: Option<&Document>,
    indexes: &[(String, IndexDef)],
) -> Plan {
    let mut conj = Vec::new();
    conjuncts(filter, 0, &mut conj);
    let mut by_field: BTreeMap<&str, Vec<Cond>> = BTreeMap::new();
    for (path, cond) in &conj {
        by_field.entry(path).or_default().extend(field_conds(cond));
    }
    let sort_spec = sort.filter(|s| !s.is_empty());
    let parsed_sort = sort_spec.and_then(sort_fields);
    let sort_unusable = sort_spec.is_some() && parsed_sort.is_none();
    // `_id` equality: direct lookups.
    if let Some(conds) = by_field.get("_id")
        && let Some(b) = combine(conds, false)
        && b.points
    {
        let mut ids: Vec<(Vec<u8>, Interval)> = b
            .intervals
            .iter()
            .filter_map(|i| i.point.clone().map(|p| (p, i.clone())))
            .collect();
        ids.sort_by(|a, b| a.0.cmp(&b.0));
        ids.dedup_by(|a, b| a.0 == b.0);
        let sort_provided = sort_spec.is_none()
            || ids.len() <= 1
            || parsed_sort.as_deref() == Some(&[("_id".to_string(), Direction::Ascending)][..]);
        return Plan {
            access: Access::IdPoint {
                bounds: ids.iter().map(|(_, t)| t.clone()).collect(),
                ids: ids.into_iter().map(|(k, _)| k).collect(),
            },
            sort: sort_spec.cloned(),
            sort_provided: sort_provided && !sort_unusable,
        };
    }
    let id_def = ID_DEF.as_ref();
    let mut best: Option<Candidate> = None;
    let sort_ref = if sort_unusable {
        None
    } else {
        parsed_sort.as_deref()
    };
    let all = id_def
        .ok()
        .map(|d| ("", d, true))
        .into_iter()
        .chain(indexes.iter().map(|(t, d)| (t.as_str(), d, d.is_id())));
    for (table, def, primary) in all {
        let Some(c) = candidate(table, def, primary, &by_field, &conj, sort_ref) else {
            continue;
        };
        let key = |c: &Candidate| {
            (
                c.scan.eq_fields,
                c.scan.has_range,
                c.sort_provided,
                c.scan.unique,
                usize::MAX - c.scan.key_pattern.len(),
            )
        };
        if best.as_ref().is_none_or(|b| key(&c) > key(b)) {
            best = Some(c);
        }
    }
    match best {
        Some(c) => Plan {
            access: Access::IndexScan(Box::new(c.scan)),
            sort: sort_spec.cloned(),
            sort_provided: c.sort_provided && !sort_unusable,
        },
        None => Plan {
            access: Access::CollScan,
            sort: sort_spec.cloned(),
            sort_provided: sort_spec.is_none(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    #[test]
    fn id_equality_shortcut_makes_the_general_plan() {
        let indexes = vec![(
            "t".to_string(),
            IndexDef::compile(&super::super::IndexSpec::new(doc! {"cat": 1}).expect("spec"))
                .expect("def"),
        )];
        let shortcut = [
            doc! {"_id": 5},
            doc! {"_id": 5.5},
            doc! {"_id": "x"},
            doc! {"_id": bson::oid::ObjectId::new()},
            doc! {"_id": {"a": 1, "b": [1, 2]}},
            doc! {"_id": {}},
            doc! {"_id": true},
        ];
        for f in &shortcut {
            let fast = id_equality(f, None).expect("shortcut applies");
            assert_eq!(fast, plan_general(f, None, &indexes), "{f}");
            assert_eq!(plan(f, Some(&doc! {}), &indexes), fast, "{f}");
        }
        let general = [
            doc! {"_id": {"$gt": 5}},
            doc! {"_id": null},
            doc! {"_id": [1, 2]},
            doc! {"_id": 5, "cat": "c"},
            doc! {"cat": "c"},
            doc! {"_id": bson::Regex { pattern: "^a".to_string().try_into().expect("cstring"), options: String::new().try_into().expect("cstring") }},
        ];
        for f in &general {
            assert!(id_equality(f, None).is_none(), "{f}");
        }
        assert!(id_equality(&doc! {"_id": 5}, Some(&doc! {"_id": -1})).is_none());
    }

    #[test]
    fn only_plain_equality_on_a_single_field_index_is_exact() {
        let def = |k: Document| {
            (
                "t".to_string(),
                IndexDef::compile(&super::super::IndexSpec::new(k).expect("spec")).expect("def"),
            )
        };
        let single = vec![def(doc! {"cat": 1})];
        let compound = vec![def(doc! {"cat": 1, "n": 1})];
        let nested = vec![def(doc! {"a.b": 1})];
        type Indexes<'a> = &'a [(String, IndexDef)];
        let cases: Vec<(Indexes<'_>, Document, bool)> = vec![
            (&single, doc! {"cat": "c1"}, true),
            (&single, doc! {"cat": bson::oid::ObjectId::new()}, true),
            (&single, doc! {"cat": 7}, true),
            (&single, doc! {"cat": true}, true),
            (&single, doc! {"cat": 7i64}, false),
            (&single, doc! {"cat": 7.5}, false),
            (&single, doc! {"cat": null}, false),
            (&single, doc! {"cat": ["c1"]}, false),
            (&single, doc! {"cat": {"$gt": "c1"}}, false),
            (&single, doc! {"cat": {"$in": ["a", "b"]}}, false),
            (&single, doc! {"cat": "c1", "x": 1}, false),
            (&single, doc! {"_id": "c1"}, false),
            (&compound, doc! {"cat": "c1"}, false),
            (&nested, doc! {"a.b": "c1"}, false),
            (&single, doc! {"other": "c1"}, false),
        ];
        for (defs, f, exact) in cases {
            assert_eq!(plan(&f, None, defs).is_exact_for(&f), exact, "{f}");
        }
    }
}
