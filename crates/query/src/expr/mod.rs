//! Aggregation expressions: one operator library, two path dialects (ARCHITECTURE decision 5).
//!
//! An expression is parsed once into an [`Expr`] tree and evaluated many times against an
//! [`EvalContext`]. What differs between the dialects is only which strings are references:
//!
//! - [`Dialect::Mql`] (MongoDB): `"$a.b"` is a field path into `$$CURRENT`, `"$$name.x"` a
//!   variable (`$$ROOT`, `$$CURRENT`, `$$NOW`, `$$REMOVE`, `$let`/`$map`/`$filter` variables).
//! - [`Dialect::Cql`] (Stratus flows): `"$.variables.a"` is a reference resolved by the caller's
//!   [`ExternalResolver`] (the flow context); `"$a"` is an ordinary string.
//!
//! Evaluation yields `Option<Bson>`: `None` is a *missing* value, distinct from `Null`
//! (MongoDB omits missing fields from `$project` output; most operators treat missing as null).
//!
//! Operators (see [`operators`] for the dispatcher and how to add one): [`arithmetic`],
//! [`comparison`], [`boolean`], [`conditional`], [`string`](mod@string), [`array`](mod@array), [`set`], [`object`],
//! [`types`] (`$type`/`$convert`), [`variables`] (`$let`), [`date`] and [`date_format`], and
//! the `$group` accumulators in [`accumulator`]. Numbers promote int32 → int64 → double →
//! decimal ([`num`]); Decimal128 arithmetic is exact ([`decimal`]). Errors carry MongoDB's
//! codes (e.g. 16554 for `$add` on a string, 31325 for an unknown operator, 16020 for a wrong
//! argument count).

pub mod accumulator;
pub mod accumulator_n;
pub mod arithmetic;
pub mod array;
pub mod boolean;
pub mod comparison;
pub mod conditional;
pub mod cql;
pub mod date;
pub mod date_format;
pub mod decimal;
pub mod num;
pub mod object;
pub mod operators;
pub mod path;
pub mod percentile;
pub mod set;
pub mod string;
pub mod types;
pub mod variables;
pub mod zone;

use bson::{Bson, Document};

use crate::error::{QueryError, Result};
use crate::limits::Limits;

pub use operators::{Call, Operator};

/// Which strings are references (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    /// MongoDB aggregation expressions.
    #[default]
    Mql,
    /// Stratus flow expressions (CQL).
    Cql,
}

/// Options for [`Expr::parse`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ParseOptions {
    /// The path dialect.
    pub dialect: Dialect,
    /// Depth and size limits.
    pub limits: Limits,
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A constant (also the result of `$literal`).
    Literal(Bson),
    /// `"$a.b"`: a field path relative to `$$CURRENT` (MQL only).
    FieldPath(Vec<String>),
    /// `"$$name.a.b"`: a variable and an optional path below it (MQL only).
    Variable {
        /// Variable name without the `$$`.
        name: String,
        /// Path below the variable's value.
        path: Vec<String>,
    },
    /// `"$.a.b"`: a reference resolved by the [`ExternalResolver`] (CQL only).
    External(Vec<String>),
    /// `{k: expr, ...}` with no operator key: an object built from expressions.
    Document(Vec<(String, Expr)>),
    /// `[expr, ...]`.
    Array(Vec<Expr>),
    /// `{"$op": args}`.
    Operator(Box<Operator>),
}

/// Resolves CQL `$.` references against the caller's context (the flow engine's run state).
pub trait ExternalResolver {
    /// The value at `path` (already split on dots, without the leading `$`), or `None` when
    /// the path does not exist.
    fn resolve(&self, path: &[String]) -> Option<Bson>;
}

/// What an expression is evaluated against.
pub struct EvalContext<'a> {
    /// `$$ROOT`: the document the pipeline stage is processing.
    pub root: &'a Bson,
    /// `$$CURRENT` (usually the same as `root`).
    pub current: &'a Bson,
    /// User variables (`$let`, `$map`'s `as`, `let` of `$lookup`), innermost last.
    pub vars: Vec<(String, Bson)>,
    /// `$$NOW`, fixed for the whole operation.
    pub now: bson::DateTime,
    /// Resolver for CQL `$.` references; `None` in the MQL dialect.
    pub external: Option<&'a dyn ExternalResolver>,
}

impl<'a> EvalContext<'a> {
    /// A context whose `$$ROOT` and `$$CURRENT` are `doc`, with `$$NOW` read from the clock.
    pub fn new(doc: &'a Bson) -> Self {
        Self::at(doc, bson::DateTime::now())
    }

    /// A CQL context: `$.` references go to `resolver`, `$$ROOT`/`$$CURRENT` are `null`.
    pub fn cql(resolver: &'a dyn ExternalResolver, now: bson::DateTime) -> Self {
        static NULL: Bson = Bson::Null;
        EvalContext {
            external: Some(resolver),
            ..Self::at(&NULL, now)
        }
    }

    /// Like [`EvalContext::new`] with a given `$$NOW` (an operation's fixed time; reading the
    /// clock per document would cost more than evaluating a simple expression).
    pub fn at(doc: &'a Bson, now: bson::DateTime) -> Self {
        EvalContext {
            root: doc,
            current: doc,
            vars: Vec::new(),
            now,
            external: None,
        }
    }

    /// The value of variable `name` (`ROOT`, `CURRENT`, `NOW`, `CLUSTER_TIME`, user variables).
    pub fn variable(&self, name: &str) -> Option<Bson> {
        if let Some((_, v)) = self.vars.iter().rev().find(|(n, _)| n == name) {
            return Some(v.clone());
        }
        match name {
            "ROOT" => Some(self.root.clone()),
            "CURRENT" => Some(self.current.clone()),
            "NOW" => Some(Bson::DateTime(self.now)),
            // A single node has no cluster clock: the timestamp of `$$NOW`.
            "CLUSTER_TIME" => Some(Bson::Timestamp(bson::Timestamp {
                time: u32::try_from(self.now.timestamp_millis().div_euclid(1000)).unwrap_or(0),
                increment: 1,
            })),
            _ => None,
        }
    }
}

impl Expr {
    /// Parses an expression in the given dialect.
    pub fn parse(v: &Bson, opts: &ParseOptions) -> Result<Expr> {
        parse_at_depth(v, opts, 0)
    }

    /// Evaluates the expression; `None` means *missing*.
    pub fn eval(&self, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
        match self {
            Expr::Literal(b) => Ok(Some(b.clone())),
            Expr::FieldPath(p) => Ok(path::get_path(ctx.current, p)),
            Expr::Variable { name, path: p } => {
                if name == "REMOVE" {
                    return Ok(None);
                }
                let v = ctx.variable(name).ok_or_else(|| {
                    QueryError::location(17276, format!("Use of undefined variable: {name}"))
                })?;
                Ok(if p.is_empty() {
                    Some(v)
                } else {
                    path::get_path(&v, p)
                })
            }
            Expr::External(p) => Ok(ctx.external.and_then(|r| r.resolve(p))),
            Expr::Document(fields) => {
                let mut out = Document::new();
                for (k, e) in fields {
                    if let Some(v) = e.eval(ctx)? {
                        out.insert(k.clone(), v);
                    }
                }
                Ok(Some(Bson::Document(out)))
            }
            Expr::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for e in items {
                    // A missing element becomes null inside an array literal, as in MongoDB.
                    out.push(e.eval(ctx)?.unwrap_or(Bson::Null));
                }
                Ok(Some(Bson::Array(out)))
            }
            Expr::Operator(op) => op.eval(ctx),
        }
    }

    /// Adds to `out` the top-level fields of `$$CURRENT` this expression reads. Returns `false`
    /// when the expression may read the whole document (`$$ROOT`, `$$CURRENT`, `$getField` and
    /// friends), in which case `out` is incomplete and must not be used.
    pub fn collect_top_level_fields(&self, out: &mut std::collections::BTreeSet<String>) -> bool {
        match self {
            Expr::Literal(_) | Expr::External(_) => true,
            Expr::FieldPath(p) => {
                if let Some(first) = p.first() {
                    out.insert(first.clone());
                }
                true
            }
            Expr::Variable { name, .. } => name != "ROOT" && name != "CURRENT",
            Expr::Document(fields) => fields.iter().all(|(_, e)| e.collect_top_level_fields(out)),
            Expr::Array(items) => items.iter().all(|e| e.collect_top_level_fields(out)),
            Expr::Operator(op) => match op.as_ref() {
                Operator::Literal(_) => true,
                Operator::Call(call) => {
                    !matches!(call.name, "$getField" | "$setField" | "$unsetField")
                        && call
                            .args
                            .iter()
                            .flatten()
                            .all(|e| e.collect_top_level_fields(out))
                }
            },
        }
    }

    /// Evaluates the expression with *missing* mapped to `Null`.
    pub fn eval_or_null(&self, ctx: &mut EvalContext<'_>) -> Result<Bson> {
        Ok(self.eval(ctx)?.unwrap_or(Bson::Null))
    }
}

/// Parses at a nesting depth, refusing anything deeper than the limit.
pub(crate) fn parse_at_depth(v: &Bson, opts: &ParseOptions, depth: usize) -> Result<Expr> {
    if depth > opts.limits.max_nesting_depth {
        return Err(QueryError::bad_value(format!(
            "expression nesting exceeds the limit of {} levels",
            opts.limits.max_nesting_depth
        )));
    }
    match v {
        Bson::String(s) => parse_string(s, opts.dialect),
        Bson::Array(items) => Ok(Expr::Array(
            items
                .iter()
                .map(|i| parse_at_depth(i, opts, depth + 1))
                .collect::<Result<_>>()?,
        )),
        Bson::Document(d) => {
            let first = d.keys().next();
            match first {
                Some(k) if k.starts_with('$') && !is_reference(k, opts.dialect) => {
                    if d.len() != 1 {
                        return Err(QueryError::location(
                            15983,
                            format!(
                                "an expression specification must contain exactly one field, the name of the expression. Found {} fields in {}",
                                d.len(),
                                Bson::Document(d.clone()).into_relaxed_extjson()
                            ),
                        ));
                    }
                    let (name, arg) = d.iter().next().expect("invariant: len is 1");
                    Ok(Expr::Operator(Box::new(operators::parse_operator(
                        name,
                        arg,
                        opts,
                        depth + 1,
                    )?)))
                }
                _ => {
                    let mut fields = Vec::with_capacity(d.len());
                    for (k, val) in d {
                        if k.starts_with('$') && opts.dialect == Dialect::Mql {
                            return Err(QueryError::location(
                                16410,
                                format!("FieldPath field names may not start with '$'. Given: {k}"),
                            ));
                        }
                        fields.push((k.clone(), parse_at_depth(val, opts, depth + 1)?));
                    }
                    Ok(Expr::Document(fields))
                }
            }
        }
        other => Ok(Expr::Literal(other.clone())),
    }
}

fn is_reference(key: &str, dialect: Dialect) -> bool {
    dialect == Dialect::Cql && key.starts_with("$.")
}

fn parse_string(s: &str, dialect: Dialect) -> Result<Expr> {
    match dialect {
        Dialect::Cql => match s.strip_prefix("$.") {
            Some(rest) => Ok(Expr::External(split_path(rest))),
            None => Ok(Expr::Literal(Bson::String(s.to_string()))),
        },
        Dialect::Mql => {
            if let Some(var) = s.strip_prefix("$$") {
                let mut parts = split_path(var);
                if parts.is_empty() || parts[0].is_empty() {
                    return Err(QueryError::location(16869, "empty variable name"));
                }
                let name = parts.remove(0);
                Ok(Expr::Variable { name, path: parts })
            } else if let Some(p) = s.strip_prefix('$') {
                if p.is_empty() {
                    return Err(QueryError::location(
                        16872,
                        "'$' by itself is not a valid FieldPath",
                    ));
                }
                let parts = split_path(p);
                if parts.iter().any(|x| x.is_empty()) {
                    return Err(QueryError::location(
                        15998,
                        "FieldPath field names may not be empty strings.",
                    ));
                }
                Ok(Expr::FieldPath(parts))
            } else {
                Ok(Expr::Literal(Bson::String(s.to_string())))
            }
        }
    }
}

fn split_path(p: &str) -> Vec<String> {
    if p.is_empty() {
        return Vec::new();
    }
    p.split('.').map(str::to_string).collect()
}
