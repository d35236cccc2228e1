//! CQL-only operators, aliases and conditions (Stratus flows; reference §8.2–§8.3), layered on
//! the shared operator library. Consulted first when parsing in [`super::Dialect::Cql`].
//!
//! Conditions ([`Condition`]) are CQL's boolean language, used by flow nodes (`ifElse`,
//! `whileLoop` …) and by the CQL operators that take one (`$cond`, `$buildMap`). Two shapes
//! are accepted (reference §8.2.8): the *building-conditions* form
//! `{"$.variables.age": {"$gte": 18}}` and the *aggregation* form `{"$gte": [a, b]}`, combined
//! with `$and` / `$or` (and `$not`). Operators: `$eq`, `$neq` (alias `$ne`), `$gt`, `$gte`
//! (alias `$ge`), `$lt`, `$lte` (alias `$le`).
//!
//! Comparison semantics (documented in `docs/cql.md`): equality is MongoDB's
//! ([`crate::compare::values_equal`]: `1 == 1.0`, deep equality of documents and arrays, a
//! missing value is `null`); the ordering operators compare only values of the same type
//! bracket (numbers with numbers, strings with strings, dates with dates …) in MongoDB's order
//! and are `false` for mismatched types — MongoDB's query-language type bracketing.

use std::cmp::Ordering;

use bson::Bson;

use super::{EvalContext, Expr, Operator, ParseOptions, parse_at_depth};
use crate::compare::{compare, type_rank, values_equal};
use crate::error::{QueryError, Result};

/// Parses a CQL-specific operator; `Ok(None)` means "not CQL-specific, use the shared one".
pub fn parse_cql_operator(
    _name: &str,
    _arg: &Bson,
    _opts: &ParseOptions,
    _depth: usize,
) -> Result<Option<Operator>> {
    Ok(None)
}

/// A comparison operator of CQL conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `$eq`
    Eq,
    /// `$neq` / `$ne`
    Ne,
    /// `$gt`
    Gt,
    /// `$gte` / `$ge`
    Gte,
    /// `$lt`
    Lt,
    /// `$lte` / `$le`
    Lte,
}

impl CmpOp {
    /// The operator for a name, with CQL's aliases.
    pub fn from_name(name: &str) -> Option<CmpOp> {
        Some(match name {
            "$eq" => CmpOp::Eq,
            "$neq" | "$ne" => CmpOp::Ne,
            "$gt" => CmpOp::Gt,
            "$gte" | "$ge" => CmpOp::Gte,
            "$lt" => CmpOp::Lt,
            "$lte" | "$le" => CmpOp::Lte,
            _ => return None,
        })
    }

    /// Applies the operator to two values (`None` = missing = null).
    pub fn apply(self, a: Option<&Bson>, b: Option<&Bson>) -> bool {
        let a = a.unwrap_or(&Bson::Null);
        let b = b.unwrap_or(&Bson::Null);
        match self {
            CmpOp::Eq => values_equal(a, b),
            CmpOp::Ne => !values_equal(a, b),
            CmpOp::Gt | CmpOp::Gte | CmpOp::Lt | CmpOp::Lte => {
                if type_rank(a) != type_rank(b) {
                    return false;
                }
                let ord = compare(a, b);
                match self {
                    CmpOp::Gt => ord == Ordering::Greater,
                    CmpOp::Gte => ord != Ordering::Less,
                    CmpOp::Lt => ord == Ordering::Less,
                    _ => ord != Ordering::Greater,
                }
            }
        }
    }
}

/// A parsed CQL condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// A constant (`true` / `false` literal).
    Const(bool),
    /// All must hold (short-circuit; `[]` is true).
    And(Vec<Condition>),
    /// One must hold (short-circuit; `[]` is false).
    Or(Vec<Condition>),
    /// Negation.
    Not(Box<Condition>),
    /// `left <op> right`.
    Compare {
        /// The operator.
        op: CmpOp,
        /// Left operand.
        left: Expr,
        /// Right operand.
        right: Expr,
    },
    /// The truthiness of a value (a `$.` path or an expression): everything except `false`,
    /// `null`, missing and numeric zero is true (MongoDB's `$cond` rule).
    Truthy(Expr),
}

/// Whether a value counts as true (MongoDB's rule for `$cond`, `$and` …).
pub fn is_truthy(v: Option<&Bson>) -> bool {
    match v {
        None | Some(Bson::Null) | Some(Bson::Undefined) | Some(Bson::Boolean(false)) => false,
        Some(Bson::Int32(0)) | Some(Bson::Int64(0)) => false,
        Some(Bson::Double(d)) => *d != 0.0,
        Some(Bson::Decimal128(d)) => crate::compare::decimal_to_f64(d) != 0.0,
        Some(_) => true,
    }
}

/// Parses a condition (depth 0).
pub fn parse_condition(v: &Bson, opts: &ParseOptions) -> Result<Condition> {
    parse_condition_at(v, opts, 0)
}

/// Parses a condition at a nesting depth (for operators that embed conditions).
pub fn parse_condition_at(v: &Bson, opts: &ParseOptions, depth: usize) -> Result<Condition> {
    if depth > opts.limits.max_nesting_depth {
        return Err(QueryError::bad_value(format!(
            "condition nesting exceeds the limit of {} levels",
            opts.limits.max_nesting_depth
        )));
    }
    match v {
        Bson::Boolean(b) => Ok(Condition::Const(*b)),
        Bson::String(s) if s.starts_with("$.") => {
            Ok(Condition::Truthy(parse_at_depth(v, opts, depth + 1)?))
        }
        Bson::Document(d) if !d.is_empty() => {
            let mut parts = Vec::with_capacity(d.len());
            for (k, body) in d {
                parts.push(parse_condition_entry(k, body, opts, depth + 1)?);
            }
            Ok(if parts.len() == 1 {
                parts.pop().expect("invariant: one part")
            } else {
                Condition::And(parts)
            })
        }
        Bson::Document(_) => Err(QueryError::failed_to_parse(
            "a condition must not be an empty object",
        )),
        other => Err(QueryError::failed_to_parse(format!(
            "a condition must be an object, a `$.` path or a boolean, got {}",
            other.clone().into_relaxed_extjson()
        ))),
    }
}

fn parse_condition_entry(
    key: &str,
    body: &Bson,
    opts: &ParseOptions,
    depth: usize,
) -> Result<Condition> {
    match key {
        "$and" | "$or" => {
            let Bson::Array(items) = body else {
                return Err(QueryError::failed_to_parse(format!(
                    "{key} takes an array of conditions"
                )));
            };
            let subs = items
                .iter()
                .map(|c| parse_condition_at(c, opts, depth + 1))
                .collect::<Result<Vec<_>>>()?;
            Ok(if key == "$and" {
                Condition::And(subs)
            } else {
                Condition::Or(subs)
            })
        }
        "$not" => {
            let inner = match body {
                Bson::Array(items) if items.len() == 1 => &items[0],
                other => other,
            };
            Ok(Condition::Not(Box::new(parse_condition_at(
                inner,
                opts,
                depth + 1,
            )?)))
        }
        _ if key.starts_with("$.") => {
            let left = parse_at_depth(&Bson::String(key.to_string()), opts, depth + 1)?;
            let Bson::Document(ops) = body else {
                // `{"$.x": 5}` is shorthand for `{"$.x": {"$eq": 5}}`.
                return Ok(Condition::Compare {
                    op: CmpOp::Eq,
                    left,
                    right: parse_at_depth(body, opts, depth + 1)?,
                });
            };
            if ops.is_empty() {
                return Err(QueryError::failed_to_parse(format!(
                    "condition on {key} has no operator"
                )));
            }
            let mut parts = Vec::with_capacity(ops.len());
            for (op_name, rhs) in ops {
                let op = CmpOp::from_name(op_name).ok_or_else(|| {
                    QueryError::bad_value(format!(
                        "unknown condition operator: {op_name} (expected $eq, $neq, $gt, $gte, $lt or $lte)"
                    ))
                })?;
                parts.push(Condition::Compare {
                    op,
                    left: left.clone(),
                    right: parse_at_depth(rhs, opts, depth + 1)?,
                });
            }
            Ok(if parts.len() == 1 {
                parts.pop().expect("invariant: one part")
            } else {
                Condition::And(parts)
            })
        }
        _ => {
            if let Some(op) = CmpOp::from_name(key) {
                // Aggregation form: {"$gt": [a, b]}.
                return match body {
                    Bson::Array(items) if items.len() == 2 => Ok(Condition::Compare {
                        op,
                        left: parse_at_depth(&items[0], opts, depth + 1)?,
                        right: parse_at_depth(&items[1], opts, depth + 1)?,
                    }),
                    _ => Err(QueryError::failed_to_parse(format!(
                        "{key} in a condition takes a `$.` path key ({{\"$.x\": {{\"{key}\": v}}}}) or exactly two operands ({{\"{key}\": [a, b]}})"
                    ))),
                };
            }
            if key.starts_with('$') {
                // Another expression operator whose value is used as a boolean.
                let mut d = bson::Document::new();
                d.insert(key, body.clone());
                return Ok(Condition::Truthy(parse_at_depth(
                    &Bson::Document(d),
                    opts,
                    depth + 1,
                )?));
            }
            Err(QueryError::failed_to_parse(format!(
                "condition key {key:?} must be a `$.` path, $and, $or, $not or a comparison operator"
            )))
        }
    }
}

impl Condition {
    /// Evaluates the condition.
    pub fn eval(&self, ctx: &mut EvalContext<'_>) -> Result<bool> {
        match self {
            Condition::Const(b) => Ok(*b),
            Condition::And(cs) => {
                for c in cs {
                    if !c.eval(ctx)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Condition::Or(cs) => {
                for c in cs {
                    if c.eval(ctx)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Condition::Not(c) => Ok(!c.eval(ctx)?),
            Condition::Compare { op, left, right } => {
                let a = left.eval(ctx)?;
                let b = right.eval(ctx)?;
                Ok(op.apply(a.as_ref(), b.as_ref()))
            }
            Condition::Truthy(e) => Ok(is_truthy(e.eval(ctx)?.as_ref())),
        }
    }
}

#[cfg(test)]
mod tests {
    use bson::doc;

    use super::*;
    use crate::expr::{Dialect, ExternalResolver};

    struct Vars(bson::Document);
    impl ExternalResolver for Vars {
        fn resolve(&self, path: &[String]) -> Option<Bson> {
            let mut cur = Bson::Document(self.0.clone());
            for p in path {
                cur = match cur {
                    Bson::Document(d) => d.get(p)?.clone(),
                    _ => return None,
                };
            }
            Some(cur)
        }
    }

    fn cql() -> ParseOptions {
        ParseOptions {
            dialect: Dialect::Cql,
            ..Default::default()
        }
    }

    fn check(cond: Bson, vars: bson::Document) -> bool {
        let c = parse_condition(&cond, &cql()).expect("parses");
        let r = Vars(doc! {"variables": vars.clone(), "request": {"queryParams": {}}});
        let null = Bson::Null;
        let mut ctx = EvalContext::new(&null);
        ctx.external = Some(&r);
        c.eval(&mut ctx).expect("evaluates")
    }

    #[test]
    fn reference_examples() {
        // Reference §18.1.
        assert!(check(
            Bson::Document(doc! {"$.variables.name": {"$eq": "Shrey"}}),
            doc! {"name": "Shrey"}
        ));
        let compound = Bson::Document(doc! {"$or": [
            {"$.variables.name": {"$eq": "Shrey"}},
            {"$and": [{"$.variables.age": {"$gt": 25}}, {"$.variables.marks": {"$gte": 80}}]}
        ]});
        assert!(check(
            compound.clone(),
            doc! {"name": "X", "age": 30, "marks": 80}
        ));
        assert!(!check(compound, doc! {"name": "X", "age": 30, "marks": 79}));
        assert!(!check(
            Bson::Document(doc! {"$.request.queryParams.name": {"$neq": null}}),
            doc! {}
        ));
        assert!(check(
            Bson::Document(doc! {"$.variables.n": {"$ne": null}}),
            doc! {"n": 1}
        ));
    }

    #[test]
    fn aggregation_form_and_aliases() {
        let v = doc! {"country": "US", "age": 10};
        assert!(!check(
            Bson::Document(doc! {"$eq": ["$.variables.country", "India"]}),
            v.clone()
        ));
        assert!(check(
            Bson::Document(doc! {"$.variables.age": {"$ge": 10}}),
            v.clone()
        ));
        assert!(check(
            Bson::Document(doc! {"$.variables.age": {"$le": 10, "$gt": 9}}),
            v.clone()
        ));
        assert!(check(
            Bson::Document(doc! {"$not": {"$.variables.age": {"$lt": 10}}}),
            v.clone()
        ));
        assert!(check(Bson::Document(doc! {"$.variables.age": 10.0}), v));
    }

    #[test]
    fn type_bracketing() {
        let v = doc! {"s": "5", "n": 5, "z": null};
        assert!(!check(
            Bson::Document(doc! {"$.variables.s": {"$gt": 1}}),
            v.clone()
        ));
        assert!(!check(
            Bson::Document(doc! {"$.variables.z": {"$lt": 1}}),
            v.clone()
        ));
        assert!(check(
            Bson::Document(doc! {"$.variables.z": {"$gte": null}}),
            v.clone()
        ));
        assert!(check(
            Bson::Document(doc! {"$.variables.s": {"$lt": "6"}}),
            v.clone()
        ));
        assert!(!check(
            Bson::Document(doc! {"$.variables.s": {"$eq": 5}}),
            v.clone()
        ));
        assert!(check(
            Bson::Document(doc! {"$.variables.missing": {"$eq": null}}),
            v
        ));
    }

    #[test]
    fn truthy_paths_and_errors() {
        assert!(check(
            Bson::String("$.variables.t".into()),
            doc! {"t": true}
        ));
        assert!(!check(Bson::String("$.variables.t".into()), doc! {"t": 0}));
        assert!(!check(Bson::String("$.variables.none".into()), doc! {}));
        for bad in [
            Bson::Document(doc! {}),
            Bson::Int32(1),
            Bson::Document(doc! {"$.x": {"$foo": 1}}),
            Bson::Document(doc! {"$gt": [1]}),
            Bson::Document(doc! {"bare": {"$eq": 1}}),
            Bson::Document(doc! {"$and": 1}),
        ] {
            assert!(parse_condition(&bad, &cql()).is_err(), "{bad}");
        }
    }
}
