//! Conditions as the executor evaluates them (`ifElse`, `ifElseV2`, `whileLoop`, `buildMap`):
//! the shared CQL [`Condition`], parsed by `stratus_query`, with its `$.` references compiled
//! to context slots ([`Ref`]) and its literals kept, so a comparison borrows both operands
//! instead of resolving names and copying values.
//!
//! The semantics are the shared ones: the same tree walk as [`Condition::eval`] (short-circuit
//! `$and`/`$or`), comparisons by [`CmpOp::apply`], truthiness by [`is_truthy`]; any other
//! operand is the shared [`Expr`], evaluated against the frame. A reference resolves to the
//! same value as through the frame's [`stratus_query::expr::ExternalResolver`] impl.
//! `tests/integration/props.rs` checks that both evaluations agree.

use std::borrow::Cow;

use bson::{Bson, DateTime};
use stratus_query::expr::cql::{CmpOp, Condition, is_truthy};
use stratus_query::expr::{EvalContext, Expr};

use crate::compile::Compiler;
use crate::context::{Frame, Ref};
use crate::error::Result;

/// A compiled condition (see the module docs).
#[derive(Debug, Clone)]
pub(crate) enum Cond {
    Const(bool),
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    Compare {
        op: CmpOp,
        left: Operand,
        right: Operand,
    },
    Truthy(Operand),
}

/// One side of a comparison.
#[derive(Debug, Clone)]
pub(crate) enum Operand {
    Lit(Bson),
    Ref(Ref),
    Expr(Expr),
}

impl Cond {
    /// Compiles a parsed condition found at `path`. Its references were checked (and their
    /// errors reported) with the condition's JSON, so they are compiled here without
    /// reporting anything again.
    pub(crate) fn compile(c: &mut Compiler<'_>, cond: Condition, path: &str) -> Cond {
        let all = |cs: Vec<Condition>, c: &mut Compiler<'_>| {
            cs.into_iter().map(|x| Cond::compile(c, x, path)).collect()
        };
        match cond {
            Condition::Const(b) => Cond::Const(b),
            Condition::And(cs) => Cond::And(all(cs, c)),
            Condition::Or(cs) => Cond::Or(all(cs, c)),
            Condition::Not(x) => Cond::Not(Box::new(Cond::compile(c, *x, path))),
            Condition::Compare { op, left, right } => Cond::Compare {
                op,
                left: Operand::compile(c, left, path),
                right: Operand::compile(c, right, path),
            },
            Condition::Truthy(e) => Cond::Truthy(Operand::compile(c, e, path)),
        }
    }

    /// Evaluates the condition against the frame.
    pub(crate) fn eval(&self, f: &Frame<'_>, now: DateTime) -> Result<bool> {
        Ok(match self {
            Cond::Const(b) => *b,
            Cond::And(cs) => {
                for c in cs {
                    if !c.eval(f, now)? {
                        return Ok(false);
                    }
                }
                true
            }
            Cond::Or(cs) => {
                for c in cs {
                    if c.eval(f, now)? {
                        return Ok(true);
                    }
                }
                false
            }
            Cond::Not(c) => !c.eval(f, now)?,
            Cond::Compare { op, left, right } => {
                let a = left.eval(f, now)?;
                let b = right.eval(f, now)?;
                op.apply(a.as_deref(), b.as_deref())
            }
            Cond::Truthy(e) => is_truthy(e.eval(f, now)?.as_deref()),
        })
    }
}

impl Operand {
    fn compile(c: &mut Compiler<'_>, e: Expr, path: &str) -> Operand {
        match e {
            Expr::Literal(b) => Operand::Lit(b),
            Expr::External(p) => match c.quiet_reference(&format!("$.{}", p.join(".")), path) {
                Some(r) => Operand::Ref(r),
                None => Operand::Expr(Expr::External(p)),
            },
            other => Operand::Expr(other),
        }
    }

    /// The operand's value (`None` = missing), borrowed when it is stored.
    fn eval<'a>(&'a self, f: &'a Frame<'_>, now: DateTime) -> Result<Option<Cow<'a, Bson>>> {
        Ok(match self {
            Operand::Lit(b) => Some(Cow::Borrowed(b)),
            Operand::Ref(r) => match f.get_ref(r) {
                Some(v) => Some(Cow::Borrowed(v)),
                None => f.computed(r).map(Cow::Owned),
            },
            Operand::Expr(e) => {
                let mut ctx = EvalContext::cql(f, now);
                e.eval(&mut ctx)?.map(Cow::Owned)
            }
        })
    }
}
