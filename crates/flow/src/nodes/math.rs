//! Math nodes. `addVariable`, `subtractVariable`, `multiplyVariable`, `divideVariable`
//! (`variable`, `value`) and `incrementVariable`, `decrementVariable` (`variable`, optional
//! `by`, default 1) modify a numeric variable in place; `complexMathExpr` stores the CQL
//! expression `value` in `variable`.
//!
//! They are compiled to the shared expression operators (`$add`, `$subtract`, `$multiply`,
//! `$divide`), so the numeric policy is exactly CQL's (docs/cql.md): integer arithmetic stays
//! integer (widening to 64 bits, then double on overflow), `$divide` yields a double, division
//! by zero fails the node.

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
    let expr = json!({ op: [format!("$.variables.{var_name}"), operand_json] });
    let field = operand.unwrap_or("by");
    let t = compile_expression(c, &expr, &f.at(field), true).unwrap_or(Tmpl::Lit(Bson::Null));
    pure(Compute(t), Some(var))
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
