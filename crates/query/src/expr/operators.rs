//! Expression operators (`{"$add": [...]}` …): parsing and evaluation.

use bson::Bson;

use super::{EvalContext, ParseOptions, parse_at_depth};
use crate::error::{QueryError, Result};

/// A parsed operator call.
#[derive(Debug, Clone, PartialEq)]
pub enum Operator {
    /// `$literal`: its argument, unevaluated.
    Literal(Bson),
}

/// Parses `{name: arg}`.
pub fn parse_operator(
    name: &str,
    arg: &Bson,
    opts: &ParseOptions,
    depth: usize,
) -> Result<Operator> {
    if opts.dialect == super::Dialect::Cql {
        if let Some(op) = super::cql::parse_cql_operator(name, arg, opts, depth)? {
            return Ok(op);
        }
    }
    let _ = parse_at_depth; // used by the operator groups as they are added
    match name {
        "$literal" => Ok(Operator::Literal(arg.clone())),
        _ => Err(QueryError::location(
            31325,
            format!("Unrecognized expression '{name}'"),
        )),
    }
}

impl Operator {
    /// Evaluates the operator; `None` is *missing*.
    pub fn eval(&self, _ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
        match self {
            Operator::Literal(b) => Ok(Some(b.clone())),
        }
    }
}
