//! Loop nodes (execution in [`crate::exec`]).
//!
//! - `forLoop`: either `items` (an array) or a numeric range `from` (default 0) / `to`
//!   (exclusive) / `step` (default 1, may be negative, never 0); `as` (default `item`) names
//!   the variable holding the current element, `index` optionally names one holding its
//!   0-based position; `steps` is the body. Outputs `index`, `item` (current, readable in the
//!   body) and `iterations` (after the loop).
//! - `whileLoop`: `condition` is evaluated before each iteration and the body runs while it
//!   is true; `maxIterations` (default [`DEFAULT_WHILE_MAX_ITERATIONS`]) bounds it — reaching
//!   the bound with the condition still true fails the run with `loop_limit_exceeded`.
//!
//! Both are further bounded by the run's [`crate::Budgets::max_loop_iterations`].

use super::Op;
use crate::compile::{Block, Compiler, Fields};
use crate::cond::Cond;
use crate::value::Tmpl;

/// Default `maxIterations` of `whileLoop` (CONTRACT §5).
pub const DEFAULT_WHILE_MAX_ITERATIONS: i64 = 1000;

/// What a `forLoop` iterates over.
#[derive(Debug)]
pub(crate) enum ForSource {
    Items(Tmpl),
    Range(Box<Range>),
}

/// A numeric range of a `forLoop`.
#[derive(Debug)]
pub(crate) struct Range {
    pub(crate) from: Option<Tmpl>,
    pub(crate) to: Tmpl,
    pub(crate) step: Option<Tmpl>,
}

/// `forLoop`
#[derive(Debug)]
pub(crate) struct ForLoop {
    pub(crate) source: ForSource,
    pub(crate) item_var: usize,
    pub(crate) index_var: Option<usize>,
    pub(crate) body: Block,
}

pub(crate) fn compile_for(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    let has_items = f.map.get("items").is_some_and(|v| !v.is_null());
    let has_range = ["from", "to", "step"]
        .iter()
        .any(|k| f.map.get(*k).is_some_and(|v| !v.is_null()));
    let source = if has_items {
        if has_range {
            c.error(
                &f.path,
                "forLoop takes either `items` or `from`/`to`/`step`, not both",
            );
        }
        let items = c.req_value(f, "items");
        if let Some(b) = items.literal()
            && !matches!(b, bson::Bson::Array(_))
        {
            c.error(&f.at("items"), "must be an array");
        }
        f.get("from");
        f.get("to");
        f.get("step");
        ForSource::Items(items)
    } else if has_range {
        let from = c.opt_value(f, "from");
        let to = c.req_value(f, "to");
        let step = c.opt_value(f, "step");
        if let Some(b) = step.as_ref().and_then(Tmpl::literal)
            && stratus_query::compare::Number::of(b).is_none_or(|n| n.as_f64() == 0.0)
        {
            c.error(&f.at("step"), "must be a non-zero number");
        }
        f.get("items");
        ForSource::Range(Box::new(Range { from, to, step }))
    } else {
        c.error(
            &f.path,
            "forLoop needs `items` or `to` (with optional `from`/`step`)",
        );
        ForSource::Items(Tmpl::Lit(bson::Bson::Array(Vec::new())))
    };
    let as_name = if f.map.contains_key("as") {
        c.ident(f, "as", true).unwrap_or_else(|| "item".to_string())
    } else {
        f.get("as");
        "item".to_string()
    };
    let index_name = c.ident(f, "index", false);
    let before = c.scope.clone();
    let item_var = c.layout.var_slot(&as_name);
    c.scope.vars.insert(as_name.clone());
    let index_var = index_name.map(|n| {
        c.scope.vars.insert(n.clone());
        c.layout.var_slot(&n)
    });
    let outputs = super::kind_info("forLoop")
        .map(|k| k.outputs)
        .unwrap_or(&[]);
    c.declare(&f.name, outputs);
    let body = match f.get("steps") {
        Some(v) => c.loop_body(v, &f.at("steps")),
        None => {
            c.error(&f.path, "missing field `steps` (forLoop)");
            Block::default()
        }
    };
    // After the loop: whatever the body may have written, plus the loop variables.
    let mut after = c.scope.clone();
    after.vars.extend(before.vars);
    c.scope = after;
    Op::ForLoop(ForLoop {
        source,
        item_var,
        index_var,
        body,
    })
}

/// `whileLoop`
#[derive(Debug)]
pub(crate) struct While {
    pub(crate) condition: Cond,
    pub(crate) max_iterations: u64,
    pub(crate) body: Block,
}

pub(crate) fn compile_while(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    // The condition is re-evaluated after each iteration, so what the body writes is in
    // scope for it too: compile the body's scope first.
    let steps = f.get("steps").cloned();
    let outputs = super::kind_info("whileLoop")
        .map(|k| k.outputs)
        .unwrap_or(&[]);
    c.declare(&f.name, outputs);
    let body = match &steps {
        Some(v) => c.loop_body(v, &f.at("steps")),
        None => {
            c.error(&f.path, "missing field `steps` (whileLoop)");
            Block::default()
        }
    };
    let condition = c.condition(f, "condition");
    let max = c
        .int(f, "maxIterations", 1, i64::from(u32::MAX))
        .unwrap_or(DEFAULT_WHILE_MAX_ITERATIONS);
    Op::While(While {
        condition,
        max_iterations: u64::try_from(max).unwrap_or(1),
        body,
    })
}
