//! Parsing a filter document into the [`Node`] tree, with MongoDB's error codes and messages.
//!
//! Grammar (MongoDB's): a filter is a document whose keys are either top-level operators
//! (`$and`, `$or`, `$nor`, `$expr`, `$comment`, `$alwaysTrue`, `$alwaysFalse`) or dotted field
//! paths. A field's value is an *operator document* when its first key starts with `$` (and is
//! not a DBRef key `$ref`/`$id`/`$db`), a regex (pattern match), or else a literal for
//! equality. Nesting (`$and`/`$or`/`$nor`/`$not`/`$elemMatch`) is capped at the depth limit.

use bson::{Bson, Document};

use super::bits::{BitsOp, BitsTest};
use super::node::{CmpOp, FieldPath, InSet, Node, Pred};
use super::regex::FilterRegex;
use super::types::TypeSet;
use crate::error::{QueryError, Result};
use crate::expr::{Dialect, Expr, ParseOptions};
use crate::limits::Limits;

/// Parse state: the nesting limit.
pub(crate) struct Parser {
    /// Maximum nesting of logical operators, `$not` and `$elemMatch`.
    pub(crate) max_depth: usize,
}

/// Operators that make an `$elemMatch` argument the object form although they start with `$`.
const OBJECT_FORM_OPERATORS: &[&str] = &[
    "$and",
    "$or",
    "$nor",
    "$expr",
    "$where",
    "$comment",
    "$alwaysTrue",
    "$alwaysFalse",
    "$jsonSchema",
    "$text",
];

/// Recognised operators we refuse (rather than calling them unknown).
const UNSUPPORTED_OPERATORS: &[&str] = &[
    "$near",
    "$nearSphere",
    "$geoWithin",
    "$geoIntersects",
    "$within",
];

/// Whether a field's value is an operator document (`{$gt: 1}`) rather than a literal.
pub(crate) fn is_operator_doc(d: &Document) -> bool {
    match d.keys().next() {
        Some(k) => k.starts_with('$') && !matches!(k.as_str(), "$ref" | "$id" | "$db"),
        None => false,
    }
}

impl Parser {
    fn check_depth(&self, depth: usize) -> Result<()> {
        if depth > self.max_depth {
            return Err(QueryError::bad_value(format!(
                "exceeded depth limit of {} when parsing the filter",
                self.max_depth
            )));
        }
        Ok(())
    }

    /// Parses a filter document (top level, or the object form of `$elemMatch` when
    /// `in_elem_match`, where `$expr` is refused as in MongoDB).
    pub(crate) fn parse_doc(&self, doc: &Document, depth: usize) -> Result<Node> {
        self.parse_doc_in(doc, depth, false)
    }

    fn parse_doc_in(&self, doc: &Document, depth: usize, in_elem_match: bool) -> Result<Node> {
        self.check_depth(depth)?;
        let mut out = Vec::with_capacity(doc.len());
        for (k, v) in doc {
            if let Some(op) = k.strip_prefix('$') {
                match op {
                    "and" | "or" | "nor" => {
                        out.push(self.parse_logical(k, v, depth, in_elem_match)?);
                    }
                    "expr" if in_elem_match => {
                        return Err(QueryError::bad_value(
                            "$expr can only be applied to the top-level document",
                        ));
                    }
                    "expr" => {
                        let opts = ParseOptions {
                            dialect: Dialect::Mql,
                            limits: Limits {
                                max_nesting_depth: self.max_depth,
                                ..Limits::default()
                            },
                        };
                        let e = Expr::parse(v, &opts)?;
                        out.push(Node::Expr(Box::new(e)));
                    }
                    "comment" => {}
                    "alwaysTrue" | "alwaysFalse" => {
                        if !matches!(crate::compare::Number::of(v), Some(n) if n.as_f64() == 1.0) {
                            return Err(QueryError::failed_to_parse(format!(
                                "{k} must be an integer value of 1"
                            )));
                        }
                        if op == "alwaysFalse" {
                            out.push(Node::False);
                        }
                    }
                    "where" | "text" | "jsonSchema" | "sampleRate" => {
                        return Err(QueryError::bad_value(format!(
                            "{k} is not supported by Stratus"
                        )));
                    }
                    _ => {
                        return Err(QueryError::bad_value(format!(
                            "unknown top level operator: {k}. If you have a field name that starts with a '$' symbol, consider using $getField or $setField."
                        )));
                    }
                }
            } else {
                self.parse_field(k, v, depth, &mut out)?;
            }
        }
        Ok(simplify_and(out))
    }

    fn parse_logical(
        &self,
        name: &str,
        v: &Bson,
        depth: usize,
        in_elem_match: bool,
    ) -> Result<Node> {
        let Bson::Array(items) = v else {
            return Err(QueryError::bad_value(format!("{name} must be an array")));
        };
        if items.is_empty() {
            return Err(QueryError::bad_value(format!(
                "{name} must be a nonempty array"
            )));
        }
        let mut children = Vec::with_capacity(items.len());
        for item in items {
            let Bson::Document(d) = item else {
                return Err(QueryError::bad_value(format!(
                    "{name} argument's entries must be objects"
                )));
            };
            children.push(self.parse_doc_in(d, depth + 1, in_elem_match)?);
        }
        Ok(match name {
            "$and" => Node::And(children),
            "$or" => Node::Or(children),
            _ => Node::Nor(children),
        })
    }

    /// Parses `path: value` into `out` (several nodes when the value has several operators).
    fn parse_field(&self, path: &str, v: &Bson, depth: usize, out: &mut Vec<Node>) -> Result<()> {
        let fp = FieldPath::new(path);
        match v {
            Bson::Document(d) if is_operator_doc(d) => self.parse_operators(&fp, d, depth, out),
            Bson::RegularExpression(r) => {
                let re = FilterRegex::new(r.pattern.as_str(), r.options.as_str())?;
                out.push(path_node(&fp, Pred::Regex(re)));
                Ok(())
            }
            other => {
                out.push(path_node(&fp, Pred::Eq(other.clone())));
                Ok(())
            }
        }
    }

    /// Parses an operator document (`{$gt: 1, $lt: 5}`) applying to `fp`.
    fn parse_operators(
        &self,
        fp: &FieldPath,
        ops: &Document,
        depth: usize,
        out: &mut Vec<Node>,
    ) -> Result<()> {
        let regex_given = ops.get("$regex");
        let options_given = ops.get("$options");
        if options_given.is_some() && regex_given.is_none() {
            return Err(QueryError::bad_value(format!(
                "$options needs a $regex (field {})",
                fp.dotted
            )));
        }
        for (op, arg) in ops {
            match op.as_str() {
                "$eq" => out.push(path_node(fp, Pred::Eq(arg.clone()))),
                "$ne" => {
                    if matches!(arg, Bson::RegularExpression(_)) {
                        return Err(QueryError::bad_value("Can't have regex as arg to $ne."));
                    }
                    out.push(not(path_node(fp, Pred::Eq(arg.clone()))));
                }
                "$lt" => out.push(path_node(fp, Pred::Cmp(CmpOp::Lt, arg.clone()))),
                "$lte" => out.push(path_node(fp, Pred::Cmp(CmpOp::Lte, arg.clone()))),
                "$gt" => out.push(path_node(fp, Pred::Cmp(CmpOp::Gt, arg.clone()))),
                "$gte" => out.push(path_node(fp, Pred::Cmp(CmpOp::Gte, arg.clone()))),
                "$in" => out.push(path_node(fp, Pred::In(parse_in("$in", arg)?))),
                "$nin" => out.push(not(path_node(fp, Pred::In(parse_in("$nin", arg)?)))),
                "$exists" => {
                    let node = path_node(fp, Pred::Exists);
                    out.push(if true_value(arg) { node } else { not(node) });
                }
                "$type" => out.push(path_node(fp, Pred::Type(TypeSet::parse(arg)?))),
                "$regex" => {
                    let re = parse_regex(arg, options_given)?;
                    out.push(path_node(fp, Pred::Regex(re)));
                }
                "$options" => {}
                "$mod" => {
                    let (d, r) = parse_mod(arg)?;
                    out.push(path_node(fp, Pred::Mod(d, r)));
                }
                "$size" => out.push(path_node(fp, Pred::Size(parse_size(arg)?))),
                "$bitsAllSet" | "$bitsAllClear" | "$bitsAnySet" | "$bitsAnyClear" => {
                    let kind = match op.as_str() {
                        "$bitsAllSet" => BitsOp::AllSet,
                        "$bitsAllClear" => BitsOp::AllClear,
                        "$bitsAnySet" => BitsOp::AnySet,
                        _ => BitsOp::AnyClear,
                    };
                    let test = BitsTest::parse(op, kind, arg)?;
                    out.push(path_node(fp, Pred::Bits(test)));
                }
                "$all" => out.push(self.parse_all(fp, arg, depth)?),
                "$elemMatch" => out.push(self.parse_elem_match(fp, arg, depth)?),
                "$not" => out.push(self.parse_not(fp, arg, depth)?),
                other if UNSUPPORTED_OPERATORS.contains(&other) => {
                    return Err(QueryError::bad_value(format!(
                        "{other} is not supported by Stratus"
                    )));
                }
                other => {
                    return Err(QueryError::bad_value(format!("unknown operator: {other}")));
                }
            }
        }
        Ok(())
    }

    fn parse_not(&self, fp: &FieldPath, arg: &Bson, depth: usize) -> Result<Node> {
        self.check_depth(depth + 1)?;
        match arg {
            Bson::RegularExpression(r) => {
                let re = FilterRegex::new(r.pattern.as_str(), r.options.as_str())?;
                Ok(not(path_node(fp, Pred::Regex(re))))
            }
            Bson::Document(d) => {
                if d.is_empty() {
                    return Err(QueryError::bad_value("$not cannot be empty"));
                }
                if !d.keys().all(|k| k.starts_with('$')) {
                    let k = d.keys().find(|k| !k.starts_with('$')).map(String::as_str);
                    return Err(QueryError::bad_value(format!(
                        "unknown operator: {}",
                        k.unwrap_or_default()
                    )));
                }
                let mut inner = Vec::new();
                self.parse_operators(fp, d, depth + 1, &mut inner)?;
                Ok(not(simplify_and(inner)))
            }
            _ => Err(QueryError::bad_value("$not needs a regex or a document")),
        }
    }

    fn parse_all(&self, fp: &FieldPath, arg: &Bson, depth: usize) -> Result<Node> {
        let Bson::Array(items) = arg else {
            return Err(QueryError::bad_value("$all needs an array"));
        };
        if items.is_empty() {
            return Ok(Node::False);
        }
        let first_is_elem_match = matches!(items.first(),
            Some(Bson::Document(d)) if d.keys().next().map(String::as_str) == Some("$elemMatch"));
        let mut children = Vec::with_capacity(items.len());
        for item in items {
            match item {
                Bson::Document(d) if first_is_elem_match => match (d.len(), d.get("$elemMatch")) {
                    (1, Some(em)) => children.push(self.parse_elem_match(fp, em, depth)?),
                    _ => {
                        return Err(QueryError::bad_value(
                            "$all/$elemMatch has to be consistent",
                        ));
                    }
                },
                _ if first_is_elem_match => {
                    return Err(QueryError::bad_value(
                        "$all/$elemMatch has to be consistent",
                    ));
                }
                Bson::RegularExpression(r) => {
                    let re = FilterRegex::new(r.pattern.as_str(), r.options.as_str())?;
                    children.push(path_node(fp, Pred::Regex(re)));
                }
                Bson::Document(d) if is_operator_doc(d) => {
                    return Err(QueryError::bad_value("no $ expressions in $all"));
                }
                other => children.push(path_node(fp, Pred::Eq(other.clone()))),
            }
        }
        Ok(simplify_and(children))
    }

    fn parse_elem_match(&self, fp: &FieldPath, arg: &Bson, depth: usize) -> Result<Node> {
        self.check_depth(depth + 1)?;
        let Bson::Document(d) = arg else {
            return Err(QueryError::bad_value("$elemMatch needs an Object"));
        };
        let value_form =
            d.keys().next().is_some_and(|k| {
                k.starts_with('$') && !OBJECT_FORM_OPERATORS.contains(&k.as_str())
            }) && is_operator_doc(d);
        let pred = if value_form {
            let mut inner = Vec::new();
            self.parse_operators(&FieldPath::empty(), d, depth + 1, &mut inner)?;
            Pred::ElemMatchValue(Box::new(simplify_and(inner)))
        } else {
            Pred::ElemMatchObject(Box::new(self.parse_doc_in(d, depth + 1, true)?))
        };
        Ok(path_node(fp, pred))
    }
}

fn path_node(fp: &FieldPath, pred: Pred) -> Node {
    Node::Path {
        path: fp.clone(),
        pred,
    }
}

fn not(n: Node) -> Node {
    Node::Not(Box::new(n))
}

/// One child stays itself; several become an `And`.
fn simplify_and(mut nodes: Vec<Node>) -> Node {
    if nodes.len() == 1
        && let Some(n) = nodes.pop()
    {
        return n;
    }
    Node::And(nodes)
}

/// MongoDB's `trueValue()`: false for `false`, zero, null, undefined; true otherwise.
fn true_value(v: &Bson) -> bool {
    match v {
        Bson::Boolean(b) => *b,
        Bson::Null | Bson::Undefined => false,
        other => match crate::compare::Number::of(other) {
            Some(n) => n.as_f64() != 0.0,
            None => true,
        },
    }
}

fn parse_in(name: &str, arg: &Bson) -> Result<InSet> {
    let Bson::Array(items) = arg else {
        return Err(QueryError::bad_value(format!("{name} needs an array")));
    };
    let mut values = Vec::with_capacity(items.len());
    let mut regexes = Vec::new();
    for item in items {
        match item {
            Bson::RegularExpression(r) => {
                regexes.push(FilterRegex::new(r.pattern.as_str(), r.options.as_str())?);
            }
            Bson::Document(d) if is_operator_doc(d) => {
                return Err(QueryError::bad_value(format!("cannot nest $ under {name}")));
            }
            other => values.push(other.clone()),
        }
    }
    Ok(InSet::new(values, regexes))
}

fn parse_regex(arg: &Bson, options: Option<&Bson>) -> Result<FilterRegex> {
    let opts = match options {
        None => None,
        Some(Bson::String(s)) => Some(s.as_str()),
        Some(_) => return Err(QueryError::bad_value("$options has to be a string")),
    };
    match arg {
        Bson::String(p) => FilterRegex::new(p, opts.unwrap_or("")),
        Bson::RegularExpression(r) => {
            if !r.options.as_str().is_empty() && opts.is_some_and(|o| !o.is_empty()) {
                return Err(QueryError::location(
                    51075,
                    "options set in both $regex and $options",
                ));
            }
            let o = if r.options.as_str().is_empty() {
                opts.unwrap_or("")
            } else {
                r.options.as_str()
            };
            FilterRegex::new(r.pattern.as_str(), o)
        }
        _ => Err(QueryError::bad_value("$regex has to be a string")),
    }
}

fn parse_mod(arg: &Bson) -> Result<(i64, i64)> {
    let Bson::Array(items) = arg else {
        return Err(QueryError::bad_value("malformed mod, needs to be an array"));
    };
    if items.len() < 2 {
        return Err(QueryError::bad_value("malformed mod, not enough elements"));
    }
    if items.len() > 2 {
        return Err(QueryError::bad_value("malformed mod, too many elements"));
    }
    let int = |v: &Bson, what: &str| -> Result<i64> {
        let n = crate::compare::Number::of(v)
            .ok_or_else(|| QueryError::bad_value(format!("malformed mod, {what} not a number")))?;
        match n {
            crate::compare::Number::Int(i) => Ok(i),
            crate::compare::Number::Double(d) | crate::compare::Number::Decimal(d) => {
                if !d.is_finite() || d.trunc().abs() >= 9.223_372_036_854_776e18 {
                    return Err(QueryError::bad_value(format!(
                        "malformed mod, {what} value is invalid :: caused by :: Out of bounds coercing to integral value"
                    )));
                }
                Ok(d.trunc() as i64)
            }
        }
    };
    let divisor = int(&items[0], "divisor")?;
    let remainder = int(&items[1], "remainder")?;
    if divisor == 0 {
        return Err(QueryError::bad_value("divisor cannot be 0"));
    }
    Ok((divisor, remainder))
}

fn parse_size(arg: &Bson) -> Result<i64> {
    let shown = arg.clone().into_relaxed_extjson().to_string();
    let n = crate::compare::Number::of(arg).ok_or_else(|| {
        QueryError::bad_value(format!(
            "Failed to parse $size. Expected a number in: $size: {shown}"
        ))
    })?;
    let v = match n {
        crate::compare::Number::Int(i) => i,
        crate::compare::Number::Double(d) | crate::compare::Number::Decimal(d) => {
            if d.fract() != 0.0 || !d.is_finite() {
                return Err(QueryError::bad_value(format!(
                    "Failed to parse $size. Expected an integer in: $size: {shown}"
                )));
            }
            d as i64
        }
    };
    if v < 0 {
        return Err(QueryError::bad_value(format!(
            "Failed to parse $size. Expected a non-negative number in: $size: {shown}"
        )));
    }
    Ok(v)
}
