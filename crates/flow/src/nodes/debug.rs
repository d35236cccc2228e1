//! `debug`: evaluates `value` (and optional literal `label`) and records it in the run's
//! trace (the request log); it has no outputs and never changes the response. Secret values
//! are redacted from the trace.

use super::Op;
use crate::compile::{Compiler, Fields};
use crate::value::Tmpl;

/// `debug`
#[derive(Debug)]
pub(crate) struct Debug {
    pub(crate) value: Tmpl,
    pub(crate) label: Option<String>,
}

pub(crate) fn compile(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    let value = c.req_value(f, "value");
    let label = c.string(f, "label", false);
    Op::Debug(Debug { value, label })
}
