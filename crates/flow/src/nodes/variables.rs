//! Variable nodes: `setVariable`, `existsCheck`, `setCurrentDatetime`.
//!
//! - `setVariable`: `variable` (required), `value` → `$.variables.<variable>` (and `result`).
//! - `existsCheck`: `value`; `result` is `true` unless the value is missing or `null`;
//!   optional `variable`.
//! - `setCurrentDatetime`: `format` = `ISO_DATETIME` (default: a BSON date, rendered as an
//!   ISO-8601 string in HTTP responses), `EPOCH_SECOND` or `EPOCH_MILLISECOND` (integers);
//!   the time is the run's start time (fixed for the whole run); optional `variable`.

use bson::{Bson, DateTime};

use super::{Op, PureOp, pure};
use crate::compile::{Compiler, Fields};
use crate::context::Frame;
use crate::error::Result;
use crate::value::Tmpl;

#[derive(Debug)]
struct SetVariable(Tmpl);

impl PureOp for SetVariable {
    fn eval(&self, f: &Frame, now: DateTime) -> Result<Bson> {
        self.0.eval(f, now)
    }
}

pub(crate) fn compile_set_variable(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    let value = c.req_value(f, "value");
    let target = c.ident(f, "variable", true).map(|v| c.writes_var(&v));
    pure(SetVariable(value), target)
}

#[derive(Debug)]
struct ExistsCheck(Tmpl);

impl PureOp for ExistsCheck {
    fn eval(&self, f: &Frame, now: DateTime) -> Result<Bson> {
        Ok(Bson::Boolean(!matches!(
            *self.0.eval_cow(f, now)?,
            Bson::Null | Bson::Undefined
        )))
    }
}

pub(crate) fn compile_exists_check(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    let value = c.req_value(f, "value");
    let target = c.target_var(f);
    pure(ExistsCheck(value), target)
}

#[derive(Debug, Clone, Copy)]
enum DateFormat {
    Iso,
    EpochSecond,
    EpochMilli,
}

#[derive(Debug)]
struct SetCurrentDatetime(DateFormat);

impl PureOp for SetCurrentDatetime {
    fn eval(&self, _f: &Frame, now: DateTime) -> Result<Bson> {
        Ok(match self.0 {
            DateFormat::Iso => Bson::DateTime(now),
            DateFormat::EpochSecond => Bson::Int64(now.timestamp_millis().div_euclid(1000)),
            DateFormat::EpochMilli => Bson::Int64(now.timestamp_millis()),
        })
    }
}

pub(crate) fn compile_set_current_datetime(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    let format = match c.choice(
        f,
        "format",
        &["ISO_DATETIME", "EPOCH_SECOND", "EPOCH_MILLISECOND"],
    ) {
        "EPOCH_SECOND" => DateFormat::EpochSecond,
        "EPOCH_MILLISECOND" => DateFormat::EpochMilli,
        _ => DateFormat::Iso,
    };
    let target = c.target_var(f);
    pure(SetCurrentDatetime(format), target)
}
