//! Per-run budgets (ARCHITECTURE decision 12): named defaults, overridable per server through
//! [`Budgets`]. Exceeding one fails the run with a stable error code.

use std::time::Duration;

/// Default maximum number of node executions per run (loop bodies count every iteration,
/// sub-flow nodes count too) → `step_limit_exceeded`.
pub const MAX_NODE_EXECUTIONS: u64 = 100_000;
/// Default maximum iterations of any single loop (`forLoop`, and the cap on `whileLoop`'s own
/// `maxIterations`) → `loop_limit_exceeded`.
pub const MAX_LOOP_ITERATIONS: u64 = 100_000;
/// Default wall-clock budget of a run, sub-flows included → `flow_timeout`.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(30);
/// Default maximum size of the response body, as JSON bytes → `response_too_large`.
pub const MAX_RESPONSE_BYTES: usize = 10 * 1024 * 1024;
/// Default maximum nesting of `executeSubflow` calls → `subflow_depth_exceeded`.
pub const MAX_SUBFLOW_DEPTH: usize = 16;
/// Default maximum number of trace entries kept per run (later ones are counted, not kept).
pub const MAX_TRACE_ENTRIES: usize = 1_000;

/// The budgets of a run (defaults: the constants of this module).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budgets {
    /// See [`MAX_NODE_EXECUTIONS`].
    pub max_node_executions: u64,
    /// See [`MAX_LOOP_ITERATIONS`].
    pub max_loop_iterations: u64,
    /// See [`RUN_TIMEOUT`].
    pub timeout: Duration,
    /// See [`MAX_RESPONSE_BYTES`].
    pub max_response_bytes: usize,
    /// See [`MAX_SUBFLOW_DEPTH`].
    pub max_subflow_depth: usize,
    /// See [`MAX_TRACE_ENTRIES`].
    pub max_trace_entries: usize,
}

impl Default for Budgets {
    fn default() -> Self {
        Budgets {
            max_node_executions: MAX_NODE_EXECUTIONS,
            max_loop_iterations: MAX_LOOP_ITERATIONS,
            timeout: RUN_TIMEOUT,
            max_response_bytes: MAX_RESPONSE_BYTES,
            max_subflow_depth: MAX_SUBFLOW_DEPTH,
            max_trace_entries: MAX_TRACE_ENTRIES,
        }
    }
}
