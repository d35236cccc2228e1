//! Stratus flows: the flow spec (v1), its validator and static analysis, the compiler and the
//! async executor, and CQL — the expression and condition language of flows (reference §7,
//! §8; CONTRACT §5).
//!
//! ```text
//! JSON spec ──validate/compile──▶ CompiledFlow ──run(input, services)──▶ response + trace
//! ```
//!
//! - [`spec`]: serde types of the spec; [`validate`]: every error with its JSON path, and
//!   [`validate::available_paths`] for autocomplete.
//! - [`compile()`] turns a spec into a [`CompiledFlow`] once (references pre-split, CQL
//!   expressions pre-parsed into the shared `stratus_query::expr::Expr`, variables in slots).
//! - [`run`] executes it within [`Budgets`] and returns a [`RunOutcome`] with a [`Trace`].
//! - Services are traits ([`services`]): the store ([`Database`]), sub-flows, outbound HTTP
//!   ([`http`]); `flow` never imports the engines.
//!
//! CQL expressions are the shared MongoDB expression operators in the CQL path dialect plus
//! the CQL-only operators of `stratus_query::expr::cql`; see `docs/cql.md`.

pub mod budgets;
pub mod compile;
pub(crate) mod cond;
pub mod context;
pub mod error;
pub mod exec;
pub mod http;
pub mod nodes;
pub mod output;
pub mod services;
pub mod spec;
pub mod trace;
pub mod validate;
pub(crate) mod value;

use std::collections::HashMap;
use std::sync::Arc;

pub use budgets::Budgets;
pub use compile::CompiledFlow;
pub use error::{RunError, RunErrorCode, ValidationError};
pub use exec::{FlowResponse, RequestData, RunInput, RunOutcome, run};
pub use nodes::crypto::{Algorithm as Pbkdf2Algorithm, derive as pbkdf2_derive};
pub use nodes::{node_outputs, node_types};
pub use services::{Database, Services, SubflowRegistry};
pub use spec::{SubflowLookup, SubflowSpec};
pub use trace::Trace;
pub use validate::{available_paths, validate};

/// Compiles an API flow (validating it).
pub fn compile(
    flow: &serde_json::Value,
    subflows: &dyn SubflowLookup,
) -> Result<CompiledFlow, Vec<ValidationError>> {
    compile::Compiler::new(subflows, Vec::new()).flow(flow, &[])
}

/// Compiles a sub-flow (validating it and its argument declarations).
pub fn compile_subflow(
    spec: &SubflowSpec,
    subflows: &dyn SubflowLookup,
) -> Result<CompiledFlow, Vec<ValidationError>> {
    let errors = validate::argument_errors(spec);
    let r =
        compile::Compiler::new(subflows, vec![spec.name.clone()]).flow(&spec.flow, &spec.arguments);
    match r {
        Ok(f) if errors.is_empty() => Ok(f),
        Ok(_) => Err(errors),
        Err(mut e) => {
            e.splice(0..0, errors);
            Err(e)
        }
    }
}

/// Compiled sub-flows by name.
pub type SubflowSet = HashMap<String, Arc<CompiledFlow>>;

/// Compiles every sub-flow of a project into a registry for [`Services::with_subflows`];
/// errors are reported per sub-flow name.
pub fn compile_subflows(
    specs: &[SubflowSpec],
) -> Result<SubflowSet, Vec<(String, ValidationError)>> {
    let mut out = HashMap::new();
    let mut errors = Vec::new();
    for s in specs {
        match compile_subflow(s, &specs) {
            Ok(f) => {
                out.insert(s.name.clone(), Arc::new(f));
            }
            Err(e) => errors.extend(e.into_iter().map(|e| (s.name.clone(), e))),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}
