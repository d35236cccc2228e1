//! Math nodes. `addVariable`, `subtractVariable`, `multiplyVariable`, `divideVariable`
//! (`variable`, `value`) and `incrementVariable`, `decrementVariable` (`variable`, optional
//! `by`, default 1) modify a numeric variable in place; `complexMathExpr` stores the CQL
//! expression `value` in `variable`.
//!
//! They are compiled to the shared expression operators (`$add`, `$subtract`, `$multiply`,
//! `$divide`), so the numeric policy is exactly CQL's (docs/cql.md): integer arithmetic stays
//! integer (widening to 64 bits, then double on overflow), `$divide` yields a double, division
//! by zero fails the node.
//!
//! Fast path: when the variable and a literal or referenced operand are both integers and the
//! 64-bit result does not overflow, `$add`/`$subtract`/`$multiply` give that result as int32
//! when both inputs are int32 and it fits, int64 otherwise — computed here directly; every
//! other case (doubles, decimals, dates, null, overflow, errors) goes through the shared
//! expression. `tests/integration/props.rs` checks both agree.

use bson::{Bson, DateTime};
use serde_json::{Value, json};

use super::{Op, PureOp, pure};
use crate::compile::{Compiler, Fields};
use crate::context::Frame;
use crate::error::Result;
use crate::value::{Tmpl, compile_expression};

#[derive(Debug)]
struct Compute(Tmpl);

impl PureOp for Compute {
    fn eval(&self, f: &Frame, now: DateTime) -> Result<Bson> {
        self.0.eval(f, now)
    }
}

/// The integer operation of an in-place node with a fast path.
#[derive(Debug, Clone, Copy)]
enum IntOp {
    Add,
    Sub,
    Mul,
}

/// An in-place math node: the integer fast path (see the module docs), else the shared
/// expression `{op: ["$.variables.<var>", operand]}`.
#[derive(Debug)]
struct InPlace {
    var: usize,
    /// The operand, when it is a literal or a reference (cheap and infallible to evaluate)
    /// and the operator has a fast path.
    fast: Option<(IntOp, Tmpl)>,
    general: Tmpl,
}

impl PureOp for InPlace {
    fn eval(&self, f: &Frame, now: DateTime) -> Result<Bson> {
        if let Some((op, operand)) = &self.fast
            && let Some(r) = int_fast(*op, f.var(self.var), &*operand.eval_cow(f, now)?)
        {
            return Ok(r);
        }
        self.general.eval(f, now)
    }
}

/// An integer operand: its value and whether it is an int32.
fn int_operand(v: &Bson) -> Option<(i64, bool)> {
    match v {
        Bson::Int32(i) => Some((i64::from(*i), true)),
        Bson::Int64(i) => Some((*i, false)),
        _ => None,
    }
}

/// `a op b` for integers without overflow, typed like the shared operators; `None` otherwise.
fn int_fast(op: IntOp, a: Option<&Bson>, b: &Bson) -> Option<Bson> {
    let (x, x32) = int_operand(a?)?;
    let (y, y32) = int_operand(b)?;
    let r = match op {
        IntOp::Add => x.checked_add(y),
        IntOp::Sub => x.checked_sub(y),
        IntOp::Mul => x.checked_mul(y),
    }?;
    Some(match i32::try_from(r) {
        Ok(small) if x32 && y32 => Bson::Int32(small),
        _ => Bson::Int64(r),
    })
}

fn in_place(
    c: &mut Compiler<'_>,
    f: &mut Fields<'_>,
    op: &str,
    operand: Option<&'static str>,
) -> Op {
    let var_name = match f.map.get("variable") {
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    };
    let operand_json = match operand {
        Some(name) => match f.get(name) {
            Some(v) => v.clone(),
            None => {
                c.error(&f.path, format!("missing field `{name}` ({})", f.kind));
                json!(0)
            }
        },
        None => f.get("by").cloned().unwrap_or(json!(1)),
    };
    let var = c.in_place_var(f, "variable");
    let field = operand.unwrap_or("by");
    let int_op = match op {
        "$add" => Some(IntOp::Add),
        "$subtract" => Some(IntOp::Sub),
        "$multiply" => Some(IntOp::Mul),
        _ => None,
    };
    // The expression below reports the operand's errors.
    let fast = match (int_op, &operand_json) {
        (Some(o), Value::Number(_)) => Some((o, c.quiet_value(&operand_json, &f.at(field)))),
        (Some(o), Value::String(s)) if s.starts_with("$.") => {
            Some((o, c.quiet_value(&operand_json, &f.at(field))))
        }
        _ => None,
    };
    let expr = json!({ op: [format!("$.variables.{var_name}"), operand_json] });
    let general = compile_expression(c, &expr, &f.at(field), true).unwrap_or(Tmpl::Lit(Bson::Null));
    pure(InPlace { var, fast, general }, Some(var))
}

pub(crate) fn compile_add(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    in_place(c, f, "$add", Some("value"))
}
pub(crate) fn compile_subtract(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    in_place(c, f, "$subtract", Some("value"))
}
pub(crate) fn compile_multiply(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    in_place(c, f, "$multiply", Some("value"))
}
pub(crate) fn compile_divide(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    in_place(c, f, "$divide", Some("value"))
}
pub(crate) fn compile_increment(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    in_place(c, f, "$add", None)
}
pub(crate) fn compile_decrement(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    in_place(c, f, "$subtract", None)
}

pub(crate) fn compile_complex(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    let value = c.expression(f, "value");
    let target = c.ident(f, "variable", true).map(|v| c.writes_var(&v));
    pure(Compute(value), target)
}
