//! Index bounds: intervals of values per key field, in the encoded byte space, and their
//! translation into key ranges of an index table.
//!
//! An [`Edge`] is a position between encoded keys: `Before(p)` lies just before every key that
//! starts with `p`, `After(p)` just after all of them. Because component encodings are
//! prefix-free, a point `v` is the interval `[Before(enc v), After(enc v)]`, a type bracket is
//! `[Before(first tag), After(last tag)]`, and compound bounds are built by prefixing edges
//! with the bytes of the equality fields before them.
//!
//! Invariant: intervals of one field are sorted and disjoint in ascending byte order, so the
//! key ranges built from them are sorted and disjoint too, and scanning them in order yields
//! entries in index order.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::ops::Bound;

use bson::Bson;

use super::keycodec::{Direction, encode, invert, prefix_successor, rank_first_tag, rank_last_tag};

/// A position in the ordered space of encoded keys (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edge {
    /// Just before every key starting with these bytes.
    Before(Vec<u8>),
    /// Just after every key starting with these bytes.
    After(Vec<u8>),
}

impl Edge {
    fn bytes(&self) -> &[u8] {
        match self {
            Edge::Before(p) | Edge::After(p) => p,
        }
    }

    /// The same position in the byte-inverted (descending) space, which flips the side.
    fn inverted(&self) -> Edge {
        let mut b = self.bytes().to_vec();
        invert(&mut b);
        match self {
            Edge::Before(_) => Edge::After(b),
            Edge::After(_) => Edge::Before(b),
        }
    }

    fn prefixed(&self, prefix: &[u8]) -> Edge {
        let mut b = prefix.to_vec();
        b.extend_from_slice(self.bytes());
        match self {
            Edge::Before(_) => Edge::Before(b),
            Edge::After(_) => Edge::After(b),
        }
    }
}

/// Orders two edges by position.
pub fn edge_cmp(a: &Edge, b: &Edge) -> Ordering {
    let (p, q) = (a.bytes(), b.bytes());
    let common = p.len().min(q.len());
    match p[..common].cmp(&q[..common]) {
        Ordering::Equal => {}
        o => return o,
    }
    // One is a prefix of the other (or both are equal).
    let side = |e: &Edge| match e {
        Edge::Before(_) => Ordering::Less,
        Edge::After(_) => Ordering::Greater,
    };
    match p.len().cmp(&q.len()) {
        Ordering::Equal => match (a, b) {
            (Edge::Before(_), Edge::After(_)) => Ordering::Less,
            (Edge::After(_), Edge::Before(_)) => Ordering::Greater,
            _ => Ordering::Equal,
        },
        // `p` is a proper prefix of `q`: Before(p) is below everything under q, After(p) above.
        Ordering::Less => side(a),
        Ordering::Greater => side(b).reverse(),
    }
}

/// An interval of one key field's values, with its explain text.
#[derive(Debug, Clone, PartialEq)]
pub struct Interval {
    /// Lower edge (ascending encoded space).
    pub lo: Edge,
    /// Upper edge (ascending encoded space).
    pub hi: Edge,
    /// The lower end as explain shows it (`5`, `"a"`, `-inf.0`, `MinKey`).
    pub lo_show: Show,
    /// The upper end as explain shows it.
    pub hi_show: Show,
    /// Whether the lower end is included (`[` vs `(` in explain).
    pub lo_incl: bool,
    /// Whether the upper end is included.
    pub hi_incl: bool,
    /// The encoded value when this is a single point (an equality).
    pub point: Option<Vec<u8>>,
}

/// An end of an interval as explain shows it; rendered only when explain asks.
#[derive(Debug, Clone, PartialEq)]
pub enum Show {
    /// A bound value.
    Value(Bson),
    /// A fixed text (bracket ends, `MinKey`).
    Text(&'static str),
    /// A computed text (the end of a regex prefix range).
    Owned(String),
}

impl Show {
    /// The explain text.
    pub fn text(&self) -> String {
        match self {
            Show::Value(v) => value_text(v),
            Show::Text(t) => (*t).to_string(),
            Show::Owned(t) => t.clone(),
        }
    }
}

/// MongoDB-shell style text of a bound value.
pub fn value_text(v: &Bson) -> String {
    match v {
        Bson::String(s) => format!("{s:?}"),
        Bson::Null => "null".to_string(),
        Bson::Undefined => "undefined".to_string(),
        Bson::MinKey => "MinKey".to_string(),
        Bson::MaxKey => "MaxKey".to_string(),
        Bson::Double(d) if d.is_infinite() => if *d > 0.0 { "inf.0" } else { "-inf.0" }.to_string(),
        Bson::ObjectId(o) => format!("ObjectId('{o}')"),
        Bson::RegularExpression(r) => format!("/{}/{}", r.pattern.as_str(), r.options.as_str()),
        other => other.clone().into_relaxed_extjson().to_string(),
    }
}

/// Type rank of numbers.
const NUMBER_RANK: u8 = 3;

/// Explain text of the low and high ends of a type bracket.
fn bracket_text(rank: u8) -> (&'static str, &'static str) {
    match rank {
        3 => ("-inf.0", "inf.0"),
        4 => ("\"\"", "{}"),
        5 => ("{}", "[]"),
        6 => ("[]", "BinData(0, )"),
        10 => (
            "new Date(-9223372036854775808)",
            "new Date(9223372036854775807)",
        ),
        _ => ("MinKey", "MaxKey"),
    }
}

impl Interval {
    /// Every value: `[MinKey, MaxKey]`.
    pub fn all() -> Interval {
        Interval {
            lo: Edge::Before(Vec::new()),
            hi: Edge::After(Vec::new()),
            lo_show: Show::Text("MinKey"),
            hi_show: Show::Text("MaxKey"),
            lo_incl: true,
            hi_incl: true,
            point: None,
        }
    }

    /// Exactly the values equal to `v`.
    pub fn point(v: &Bson) -> Interval {
        let enc = encode(v);
        Interval {
            lo: Edge::Before(enc.clone()),
            hi: Edge::After(enc.clone()),
            lo_show: Show::Value(v.clone()),
            hi_show: Show::Value(v.clone()),
            lo_incl: true,
            hi_incl: true,
            point: Some(enc),
        }
    }

    /// Every value of `v`'s type bracket on the side(s) given: `lower` = `Some(inclusive)`
    /// bounds from below by `v`, `upper` likewise from above; the other side is the end of
    /// the bracket.
    pub fn bracketed(v: &Bson, lower: Option<bool>, upper: Option<bool>) -> Interval {
        let rank = stratus_query::compare::type_rank(v);
        let (blo, bhi) = bracket_text(rank);
        let enc = encode(v);
        let text = Show::Value(v.clone());
        let (lo, lo_show, lo_incl) = match lower {
            Some(true) => (Edge::Before(enc.clone()), text.clone(), true),
            Some(false) => (Edge::After(enc.clone()), text.clone(), false),
            None => (
                Edge::Before(vec![rank_first_tag(rank)]),
                Show::Text(blo),
                true,
            ),
        };
        let (hi, hi_show, hi_incl) = match upper {
            Some(true) => (Edge::After(enc), text, true),
            Some(false) => (Edge::Before(enc), text, false),
            // MongoDB shows number brackets closed (`inf.0]`), other brackets open (`{})`).
            None => (
                Edge::After(vec![rank_last_tag(rank)]),
                Show::Text(bhi),
                rank == NUMBER_RANK,
            ),
        };
        Interval {
            lo,
            hi,
            lo_show,
            hi_show,
            lo_incl,
            hi_incl,
            point: None,
        }
    }

    /// Every string starting with `prefix` (for an anchored regex `^prefix`); MongoDB shows
    /// it as `["abc", "abd")`.
    pub fn string_prefix(prefix: &str) -> Interval {
        let mut enc = encode(&Bson::String(prefix.to_string()));
        // Drop the string terminator: every longer string with this prefix starts with the rest.
        enc.truncate(enc.len().saturating_sub(2));
        let hi_show = match prefix.chars().last() {
            None => Show::Text("{}"),
            Some(c) => {
                let mut s: String = prefix.chars().take(prefix.chars().count() - 1).collect();
                s.push(char::from_u32(u32::from(c) + 1).unwrap_or(c));
                Show::Owned(format!("{s:?}"))
            }
        };
        Interval {
            lo: Edge::Before(enc.clone()),
            hi: Edge::After(enc),
            lo_show: Show::Value(Bson::String(prefix.to_string())),
            hi_show,
            lo_incl: true,
            hi_incl: false,
            point: None,
        }
    }

    /// Whether the interval contains no position.
    pub fn is_empty(&self) -> bool {
        edge_cmp(&self.lo, &self.hi) != Ordering::Less
    }

    /// The intersection of two intervals (possibly empty).
    pub fn intersect(&self, other: &Interval) -> Interval {
        let mut out = self.clone();
        if edge_cmp(&other.lo, &self.lo) == Ordering::Greater {
            out.lo = other.lo.clone();
            out.lo_show = other.lo_show.clone();
            out.lo_incl = other.lo_incl;
        }
        if edge_cmp(&other.hi, &self.hi) == Ordering::Less {
            out.hi = other.hi.clone();
            out.hi_show = other.hi_show.clone();
            out.hi_incl = other.hi_incl;
        }
        if out.lo != self.lo || out.hi != self.hi {
            out.point = None;
        }
        out
    }

    /// Explain text: `[1, 1]`, `(5, inf.0]`; for a descending field the ends are swapped as
    /// MongoDB shows them.
    pub fn text(&self, dir: Direction) -> String {
        let (lo, lo_incl, hi, hi_incl) = match dir {
            Direction::Ascending => (&self.lo_show, self.lo_incl, &self.hi_show, self.hi_incl),
            Direction::Descending => (&self.hi_show, self.hi_incl, &self.lo_show, self.lo_incl),
        };
        let (lo, hi) = (lo.text(), hi.text());
        format!(
            "{}{lo}, {hi}{}",
            if lo_incl { '[' } else { '(' },
            if hi_incl { ']' } else { ')' }
        )
    }

    /// The interval's edges in the component space of direction `dir` (borrowed when that is
    /// the ascending space they are stored in).
    fn edges(&self, dir: Direction) -> (Cow<'_, Edge>, Cow<'_, Edge>) {
        match dir {
            Direction::Ascending => (Cow::Borrowed(&self.lo), Cow::Borrowed(&self.hi)),
            Direction::Descending => (
                Cow::Owned(self.hi.inverted()),
                Cow::Owned(self.lo.inverted()),
            ),
        }
    }
}

/// A range of index-table keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRange {
    /// Lower bound.
    pub lo: Bound<Vec<u8>>,
    /// Upper bound.
    pub hi: Bound<Vec<u8>>,
}

impl KeyRange {
    fn from_edges(lo: &Edge, hi: &Edge) -> Option<KeyRange> {
        let lo = match lo {
            Edge::Before(p) if p.is_empty() => Bound::Unbounded,
            Edge::Before(p) => Bound::Included(p.clone()),
            Edge::After(p) => Bound::Included(prefix_successor(p)?),
        };
        let hi = match hi {
            Edge::Before(p) if p.is_empty() => return None,
            Edge::Before(p) => Bound::Excluded(p.clone()),
            Edge::After(p) => match prefix_successor(p) {
                Some(s) => Bound::Excluded(s),
                None => Bound::Unbounded,
            },
        };
        Some(KeyRange { lo, hi })
    }

    /// Whether the range certainly contains no key.
    pub fn is_empty(&self) -> bool {
        match (&self.lo, &self.hi) {
            (Bound::Included(l), Bound::Excluded(h)) => l >= h,
            (Bound::Included(l), Bound::Included(h)) => l > h,
            (Bound::Excluded(l), Bound::Excluded(h) | Bound::Included(h)) => l >= h,
            _ => false,
        }
    }
}

/// Builds the key ranges of a compound index from per-field intervals: `fields[i]` are the
/// sorted, disjoint intervals of field `i` with its direction. All fields but the last must be
/// single points (equality prefix); fields after the given ones are unconstrained.
pub fn key_ranges(fields: &[(Vec<Interval>, Direction)]) -> Vec<KeyRange> {
    // Prefixes: the byte concatenations of the equality points so far, in key order.
    let mut prefixes: Vec<Vec<u8>> = vec![Vec::new()];
    let Some(((last, last_dir), eq)) = fields.split_last() else {
        return KeyRange::from_edges(&Edge::Before(Vec::new()), &Edge::After(Vec::new()))
            .into_iter()
            .collect();
    };
    for (intervals, dir) in eq {
        let mut points: Vec<Vec<u8>> = intervals
            .iter()
            .filter_map(|i| i.point.clone())
            .map(|mut p| {
                if *dir == Direction::Descending {
                    invert(&mut p);
                }
                p
            })
            .collect();
        points.sort();
        points.dedup();
        let mut next = Vec::with_capacity(prefixes.len() * points.len());
        for pre in &prefixes {
            for p in &points {
                let mut k = pre.clone();
                k.extend_from_slice(p);
                next.push(k);
            }
        }
        prefixes = next;
    }
    let mut edges: Vec<(Cow<'_, Edge>, Cow<'_, Edge>)> =
        last.iter().map(|i| i.edges(*last_dir)).collect();
    edges.sort_by(|a, b| edge_cmp(&a.0, &b.0));
    let mut out = Vec::with_capacity(prefixes.len() * edges.len());
    for pre in &prefixes {
        for (lo, hi) in &edges {
            // Without an equality prefix the edges are the range's edges as they are.
            let r = if pre.is_empty() {
                KeyRange::from_edges(lo, hi)
            } else {
                KeyRange::from_edges(&lo.prefixed(pre), &hi.prefixed(pre))
            };
            if let Some(r) = r
                && !r.is_empty()
            {
                out.push(r);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use bson::bson;

    use super::*;

    #[test]
    fn edges_order_by_position() {
        let five = encode(&bson!(5));
        assert_eq!(
            edge_cmp(&Edge::Before(five.clone()), &Edge::After(five.clone())),
            Ordering::Less
        );
        assert_eq!(
            edge_cmp(&Edge::After(vec![five[0]]), &Edge::After(five.clone())),
            Ordering::Greater
        );
        assert_eq!(
            edge_cmp(&Edge::Before(vec![five[0]]), &Edge::Before(five.clone())),
            Ordering::Less
        );
        let gt5 = Interval::bracketed(&bson!(5), Some(false), None);
        let lt3 = Interval::bracketed(&bson!(3), None, Some(false));
        assert!(gt5.intersect(&lt3).is_empty());
        let lt9 = Interval::bracketed(&bson!(9), None, Some(true));
        let both = gt5.intersect(&lt9);
        assert!(!both.is_empty());
        assert_eq!(both.text(Direction::Ascending), "(5, 9]");
        assert_eq!(both.text(Direction::Descending), "[9, 5)");
    }
}
