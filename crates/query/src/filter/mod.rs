//! Query filters (`{"a.b": {"$gt": 1}, "$or": [...]}`): parsing into a typed tree and matching
//! documents with MongoDB's semantics (dotted paths through arrays, any-element matching,
//! null-vs-missing, BSON comparison order).
//!
//! A filter is parsed once ([`Filter::parse`]) into a tree of typed predicates with pre-split
//! paths, pre-compiled regexes and sorted `$in` sets, then matched many times against owned
//! documents ([`Filter::matches`]) or raw BSON ([`Filter::matches_raw`], the collection-scan
//! path, which reads only the fields the filter visits).
//!
//! Invariant: `matches_raw(raw) == matches(doc)` whenever `raw` encodes `doc` (property-tested).
//!
//! Layout: `parse` (grammar and errors), `node` (tree and single-value tests), `path`
//! (traversal), `regex`, `types` (`$type`), `bits` (bitwise operators).
//!
//! Supported operators: `$eq $ne $gt $gte $lt $lte $in $nin $exists $type $regex/$options
//! $mod $all $elemMatch $size $not $bitsAllSet $bitsAllClear $bitsAnySet $bitsAnyClear` on
//! fields; `$and $or $nor $expr $comment $alwaysTrue $alwaysFalse` at the top level. Refused
//! with `BadValue`: `$where`, `$text`, `$jsonSchema`, geospatial operators.
//!
//! Deviations from MongoDB: `$expr` evaluation errors make the document not match (MongoDB
//! fails the query); regexes use the `regex` crate's syntax (no look-around or
//! backreferences); a missing field satisfies `$gt/$gte: MinKey` and `$lt/$lte: MaxKey`
//! (MinKey/MaxKey bound every value, and missing compares as null).

mod bits;
mod node;
mod parse;
mod path;
mod regex;
mod types;

use bson::{Bson, Document, RawDocument};

use crate::error::Result;
use crate::expr::{EvalContext, Expr};
use crate::limits::MAX_NESTING_DEPTH;

pub use self::bits::MAX_BIT_POSITION;
pub use self::regex::{MAX_REGEX_COMPILED_SIZE, MAX_REGEX_LENGTH};
pub use self::types::{type_alias, type_code};
use node::{FieldPath, Node, Pred};

/// A parsed filter.
#[derive(Debug, Clone)]
pub struct Filter {
    root: Node,
    empty: bool,
    /// `let` variables visible to `$expr` as `$$name`.
    vars: Vec<(String, Bson)>,
}

/// Extra facts a successful match reports (for the positional `$` update/projection operator).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MatchDetails {
    /// The array index of the element that satisfied the query on the first array on the
    /// matched path, if any.
    pub elem_match_index: Option<usize>,
}

impl Filter {
    /// Parses a filter document.
    ///
    /// Errors: `BadValue` (2) for unknown operators (`unknown operator: $foo`), unknown
    /// top-level operators, malformed operands (`$in needs an array`, `$and/$or/$nor must be a
    /// nonempty array`, `$size`, `$mod`, `$type` aliases) and nesting beyond
    /// [`MAX_NESTING_DEPTH`]; `Location51091` for invalid regexes.
    pub fn parse(filter: &Document) -> Result<Filter> {
        Self::parse_with_depth(filter, MAX_NESTING_DEPTH)
    }

    /// [`Filter::parse`] with a custom nesting limit (from [`crate::limits::Limits`]).
    pub fn parse_with_depth(filter: &Document, max_depth: usize) -> Result<Filter> {
        let parser = parse::Parser { max_depth };
        let root = parser.parse_doc(filter, 0)?;
        let empty = matches!(&root, Node::And(c) if c.is_empty());
        Ok(Filter {
            root,
            empty,
            vars: Vec::new(),
        })
    }

    /// Binds variables for `$expr` (the `let` option of `find`, `update`, `delete`, `$lookup`):
    /// `$$name` evaluates to `vars[name]`. The values are used as given (the caller evaluates
    /// `let` expressions once, before matching).
    pub fn with_variables(mut self, vars: &Document) -> Filter {
        self.vars = vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        self
    }

    /// A filter that matches every document (`{}`).
    pub fn match_all() -> Filter {
        Filter {
            root: Node::And(Vec::new()),
            empty: true,
            vars: Vec::new(),
        }
    }

    /// Whether the filter has no predicates (`{}` or only `$comment`/`$alwaysTrue`): it matches
    /// every document.
    pub fn is_empty(&self) -> bool {
        self.empty
    }

    /// Whether `doc` matches.
    pub fn matches(&self, doc: &Document) -> bool {
        eval(&self.root, &DocSubject(doc, &self.vars), &mut None)
    }

    /// `Some(details)` when `doc` matches; `details.elem_match_index` is the position in the
    /// first array traversed on the matching path (MongoDB's "elemMatchKey", which the
    /// positional `$` operator of updates and projections uses).
    pub fn matches_with_details(&self, doc: &Document) -> Option<MatchDetails> {
        let mut key = None;
        eval(&self.root, &DocSubject(doc, &self.vars), &mut key).then_some(MatchDetails {
            elem_match_index: key,
        })
    }

    /// Whether the raw document matches, reading only the fields the filter visits (no full
    /// decode unless the filter has `$expr`). Agrees with [`Filter::matches`]; a malformed
    /// field reads as missing.
    pub fn matches_raw(&self, doc: &RawDocument) -> bool {
        eval(&self.root, &RawSubject(doc, &self.vars), &mut None)
    }
}

/// MongoDB's truthiness of an expression result: false for missing, `null`, `undefined`,
/// `false` and numeric zero; true for everything else (including `""`, `[]` and `{}`).
pub fn expr_truthy(v: Option<&Bson>) -> bool {
    match v {
        None | Some(Bson::Null) | Some(Bson::Undefined) | Some(Bson::Boolean(false)) => false,
        Some(other) => match crate::compare::Number::of(other) {
            Some(n) => n.as_f64() != 0.0,
            None => true,
        },
    }
}

/// What a node is evaluated against: a document (owned or raw) or, in `$elemMatch`'s value
/// form, a single value.
trait Subject {
    /// Some candidate at `path` satisfies `pred`.
    fn walk(&self, path: &FieldPath, pred: &Pred, key: &mut Option<usize>) -> bool;
    /// Evaluates `$expr` against the subject as a document (false when it is not one).
    fn eval_expr(&self, e: &Expr) -> bool;
}

struct DocSubject<'a>(&'a Document, &'a [(String, Bson)]);
struct RawSubject<'a>(&'a RawDocument, &'a [(String, Bson)]);
struct ValueSubject<'a>(&'a Bson);

impl Subject for DocSubject<'_> {
    fn walk(&self, path: &FieldPath, pred: &Pred, key: &mut Option<usize>) -> bool {
        path::walk_doc(self.0, path, pred, key)
    }
    fn eval_expr(&self, e: &Expr) -> bool {
        eval_expr_on(e, self.0, self.1)
    }
}

impl Subject for RawSubject<'_> {
    fn walk(&self, path: &FieldPath, pred: &Pred, key: &mut Option<usize>) -> bool {
        path::walk_raw(self.0, path, pred, key)
    }
    fn eval_expr(&self, e: &Expr) -> bool {
        match Document::try_from(self.0) {
            Ok(d) => eval_expr_on(e, &d, self.1),
            Err(_) => false,
        }
    }
}

impl Subject for ValueSubject<'_> {
    fn walk(&self, path: &FieldPath, pred: &Pred, key: &mut Option<usize>) -> bool {
        if path.parts.is_empty() {
            // `$elemMatch` value form: the element itself, no array expansion.
            pred.test(Some(self.0), key)
        } else {
            path::walk_value(Some(self.0), path, 0, pred, key)
        }
    }
    fn eval_expr(&self, e: &Expr) -> bool {
        match self.0 {
            Bson::Document(d) => eval_expr_on(e, d, &[]),
            _ => false,
        }
    }
}

/// `$expr`: evaluation errors (e.g. `$divide` by zero, an unbound `$$variable`) make the
/// document not match.
fn eval_expr_on(e: &Expr, doc: &Document, vars: &[(String, Bson)]) -> bool {
    let root = Bson::Document(doc.clone());
    let mut ctx = EvalContext::new(&root);
    ctx.vars = vars.to_vec();
    match e.eval(&mut ctx) {
        Ok(v) => expr_truthy(v.as_ref()),
        Err(_) => false,
    }
}

/// Matches a sub-filter against a document (object form of `$elemMatch`).
pub(crate) fn eval_doc(node: &Node, doc: &Document, key: &mut Option<usize>) -> bool {
    eval(node, &DocSubject(doc, &[]), key)
}

/// Matches path-less nodes against one value (value form of `$elemMatch`).
pub(crate) fn eval_value(node: &Node, v: &Bson) -> bool {
    eval(node, &ValueSubject(v), &mut None)
}

fn eval<S: Subject>(node: &Node, s: &S, key: &mut Option<usize>) -> bool {
    match node {
        Node::And(children) => {
            for c in children {
                let mut k = None;
                if !eval(c, s, &mut k) {
                    return false;
                }
                if key.is_none() {
                    *key = k;
                }
            }
            true
        }
        Node::Or(children) => {
            for c in children {
                let mut k = None;
                if eval(c, s, &mut k) {
                    if key.is_none() {
                        *key = k;
                    }
                    return true;
                }
            }
            false
        }
        Node::Nor(children) => !children.iter().any(|c| eval(c, s, &mut None)),
        Node::Not(c) => !eval(c, s, &mut None),
        Node::Path { path, pred } => s.walk(path, pred, key),
        Node::Expr(e) => s.eval_expr(e),
        Node::False => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::{bson, doc};

    fn m(filter: Document, d: Document) -> bool {
        let f = Filter::parse(&filter).expect("valid filter");
        let raw = bson::RawDocumentBuf::try_from(&d).expect("encodable");
        let a = f.matches(&d);
        assert_eq!(a, f.matches_raw(&raw), "raw disagrees: {filter} on {d}");
        a
    }

    #[test]
    fn basic_matching() {
        assert!(m(doc! {"a": 1}, doc! {"a": 1}));
        assert!(m(doc! {"a": 1}, doc! {"a": [2, 1]}));
        assert!(m(doc! {"a.b": 1}, doc! {"a": [{"b": 2}, {"b": 1}]}));
        assert!(!m(doc! {"a": {"$ne": 1}}, doc! {"a": [2, 1]}));
        assert!(m(doc! {"a": null}, doc! {}));
        assert!(m(doc! {"a.1": 5}, doc! {"a": [4, 5]}));
    }

    #[test]
    fn details_report_first_array_position() {
        let f = Filter::parse(&doc! {"a.b": 2}).expect("valid");
        let d = f
            .matches_with_details(&doc! {"a": [{"b": 1}, {"b": [0, 2]}]})
            .expect("matches");
        assert_eq!(d.elem_match_index, Some(1));
        let f = Filter::parse(&doc! {"x": 1}).expect("valid");
        assert_eq!(
            f.matches_with_details(&doc! {"x": 1}),
            Some(MatchDetails::default())
        );
    }

    #[test]
    fn truthiness() {
        assert!(!expr_truthy(None));
        assert!(!expr_truthy(Some(&Bson::Null)));
        assert!(!expr_truthy(Some(&bson!(0.0))));
        assert!(!expr_truthy(Some(&bson!(false))));
        assert!(expr_truthy(Some(&bson!(""))));
        assert!(expr_truthy(Some(&bson!([]))));
        assert!(expr_truthy(Some(&bson!(-1))));
    }

    #[test]
    fn parsed_forms_are_shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Filter>();
        assert_send_sync::<crate::projection::Projection>();
        assert_send_sync::<crate::sort::SortSpec>();
    }

    #[test]
    fn empty_filters() {
        assert!(Filter::parse(&doc! {}).expect("valid").is_empty());
        assert!(
            Filter::parse(&doc! {"$comment": "x"})
                .expect("valid")
                .is_empty()
        );
        assert!(!Filter::parse(&doc! {"a": 1}).expect("valid").is_empty());
        assert!(Filter::match_all().matches(&doc! {"a": 1}));
    }
}
