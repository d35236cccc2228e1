//! The executor: runs a [`CompiledFlow`] against a request, asynchronously, within the run's
//! [`Budgets`], and records a [`Trace`].
//!
//! Nodes run sequentially (reference §7.2); a branching node runs the chosen branch and then
//! continues with the next node of its sequence unless the branch responded. Database calls
//! and PBKDF2 run on tokio's blocking pool; `apiCall` awaits the HTTP client. The wall-clock
//! budget is enforced both by a `tokio::time::timeout` around the run (for awaits) and by a
//! check before every node (for CPU-bound loops), so the runtime must have its time driver
//! enabled.
//!
//! Invariant: errors leaving [`run`] and trace entries have secrets redacted.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use bson::{Bson, DateTime, Document, doc};

use crate::budgets::Budgets;
use crate::compile::{Block, CNode, CompiledFlow};
use crate::context::Frame;
use crate::error::{Result, RunError, RunErrorCode};
use crate::nodes::control::{case_matches, status_of};
use crate::nodes::json::{eval_condition, type_error};
use crate::nodes::loops::ForSource;
use crate::nodes::subflow::coerce;
use crate::nodes::{Op, api_call, db};
use crate::output::to_json;
use crate::services::Services;
use crate::trace::{Redactor, Trace, TraceEntry, micros};
use crate::value::json_to_bson;

/// The request as a flow sees it (`$.request…`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestData {
    /// HTTP method.
    pub method: String,
    /// Request path.
    pub path: String,
    /// The (validated) body; `Null` when there is none.
    pub body: Bson,
    /// Query parameters (typed per the API's declaration).
    pub query_params: Document,
    /// Path parameters.
    pub path_params: Document,
    /// Headers (lower-case names).
    pub headers: Document,
}

/// Everything a run starts from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunInput {
    /// The request.
    pub request: RequestData,
    /// Verified token claims plus `rawToken` (`$.tokenData`), if authenticated.
    pub token_data: Option<Document>,
    /// Secrets of the environment: secret name → {key → value} (`$.secrets`).
    pub secrets: Document,
}

/// The response a flow produced.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowResponse {
    /// HTTP status.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// The body (`Null` = no body).
    pub body: Bson,
}

impl FlowResponse {
    /// The body in API JSON form (ObjectIds as hex, dates as ISO-8601).
    pub fn json_body(&self) -> serde_json::Value {
        to_json(self.body.clone())
    }
}

/// The outcome of a run: the response or the error, and the trace.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// The response, or why the run failed.
    pub result: Result<FlowResponse>,
    /// The per-node trace.
    pub trace: Trace,
}

enum Next {
    Continue,
    Respond(FlowResponse),
}

type BoxFut<'a> = Pin<Box<dyn Future<Output = Result<Next>> + Send + 'a>>;

struct Run<'s> {
    services: &'s Services,
    budgets: Budgets,
    steps: u64,
    start: Instant,
    now: DateTime,
    trace: Trace,
    redactor: Redactor,
    secrets: Bson,
    depth: usize,
}

/// Runs `flow` for `input`.
pub async fn run(flow: &CompiledFlow, input: RunInput, services: &Services) -> RunOutcome {
    let secrets = Bson::Document(input.secrets);
    let mut run = Run {
        services,
        budgets: services.budgets,
        steps: 0,
        start: Instant::now(),
        now: DateTime::now(),
        trace: Trace::default(),
        redactor: Redactor::new(&secrets),
        secrets: secrets.clone(),
        depth: 0,
    };
    let r = input.request;
    let request = Bson::Document(doc! {
        "body": r.body,
        "queryParams": r.query_params,
        "pathParams": r.path_params,
        "headers": r.headers,
        "method": r.method,
        "path": r.path,
    });
    let token = input.token_data.map(Bson::Document).unwrap_or(Bson::Null);
    let mut frame = Frame::new(flow.layout.clone(), request, token, secrets);
    let timeout = run.budgets.timeout;
    let outcome = {
        let fut = run.block(&flow.block, &mut frame);
        if flow.has_io {
            tokio::time::timeout(timeout, fut).await
        } else {
            // Nothing awaits: the per-node deadline check enforces the budget.
            Ok(fut.await)
        }
    };
    let result = match outcome {
        Err(_) => Err(timeout_error(timeout)),
        Ok(Err(e)) => Err(e),
        Ok(Ok(Next::Continue)) => Err(RunError::new(
            RunErrorCode::FlowEndedWithoutResponse,
            "the flow ended without reaching an httpResponse node",
        )),
        Ok(Ok(Next::Respond(resp))) => check_size(resp, run.budgets.max_response_bytes),
    };
    let result = result.map_err(|mut e| {
        e.message = run.redactor.text(&e.message);
        e
    });
    run.trace.node_executions = run.steps;
    run.trace.duration_us = micros(run.start.elapsed());
    RunOutcome {
        result,
        trace: run.trace,
    }
}

fn timeout_error(t: std::time::Duration) -> RunError {
    RunError::new(
        RunErrorCode::FlowTimeout,
        format!("the flow ran longer than {} ms", t.as_millis()),
    )
}

fn check_size(resp: FlowResponse, max: usize) -> Result<FlowResponse> {
    let len = serde_json::to_vec(&resp.json_body())
        .map(|v| v.len())
        .unwrap_or(usize::MAX);
    if len > max {
        return Err(RunError::new(
            RunErrorCode::ResponseTooLarge,
            format!("the response body is {len} bytes, more than the limit of {max}"),
        ));
    }
    Ok(resp)
}

impl Run<'_> {
    fn block<'a>(&'a mut self, block: &'a Block, frame: &'a mut Frame) -> BoxFut<'a> {
        Box::pin(async move {
            for node in &block.nodes {
                let (t0, idx) = self.begin(node)?;
                // Synchronous nodes (most of them) run without building the async state
                // machine of `op`, whose size would otherwise be moved for every node.
                let r = match self.op_sync(node, frame, idx) {
                    Some(r) => r,
                    None => self.op(node, frame, idx).await,
                };
                if let Next::Respond(r) = self.end(node, t0, idx, r)? {
                    return Ok(Next::Respond(r));
                }
            }
            Ok(Next::Continue)
        })
    }

    /// Budget checks and the trace entry of a node about to run.
    fn begin(&mut self, node: &CNode) -> Result<(Instant, Option<usize>)> {
        self.steps += 1;
        if self.steps > self.budgets.max_node_executions {
            return Err(RunError::new(
                RunErrorCode::StepLimitExceeded,
                format!(
                    "the flow executed more than {} nodes",
                    self.budgets.max_node_executions
                ),
            )
            .at_node(&node.name));
        }
        let t0 = Instant::now();
        if t0.duration_since(self.start) > self.budgets.timeout {
            return Err(timeout_error(self.budgets.timeout).at_node(&node.name));
        }
        let idx = if self.trace.entries.len() < self.budgets.max_trace_entries {
            self.trace.entries.push(TraceEntry {
                name: node.name.clone(),
                kind: node.kind,
                depth: self.depth,
                duration_us: 0,
                error: None,
                label: None,
                value: None,
            });
            Some(self.trace.entries.len() - 1)
        } else {
            self.trace.dropped += 1;
            None
        };
        Ok((t0, idx))
    }

    /// Completes the trace entry of a node.
    fn end(
        &mut self,
        node: &CNode,
        t0: Instant,
        idx: Option<usize>,
        r: Result<Next>,
    ) -> Result<Next> {
        if let Some(i) = idx {
            let e = &mut self.trace.entries[i];
            e.duration_us = micros(t0.elapsed());
            if let Err(err) = &r
                && err.node.is_none()
            {
                e.error = Some(self.redactor.text(&err.message));
            }
        }
        r.map_err(|e| e.at_node(&node.name))
    }

    /// Runs the node if it needs no `await`; `None` otherwise.
    fn op_sync(
        &mut self,
        node: &CNode,
        frame: &mut Frame,
        idx: Option<usize>,
    ) -> Option<Result<Next>> {
        let now = self.now;
        match &node.op {
            Op::Pure(p) => Some((|| {
                let v = p.imp.eval(frame, now)?;
                if let Some(t) = p.target {
                    frame.set_var(t, v.clone());
                }
                frame.set_result(node.slot, v);
                Ok(Next::Continue)
            })()),
            Op::Debug(d) => Some((|| {
                let v = d.value.eval(frame, now)?;
                if let Some(i) = idx {
                    let e = &mut self.trace.entries[i];
                    e.label = d.label.as_ref().map(|l| self.redactor.text(l));
                    e.value = Some(self.redactor.value(to_json(v)));
                }
                Ok(Next::Continue)
            })()),
            _ => None,
        }
    }

    async fn op(&mut self, node: &CNode, frame: &mut Frame, idx: Option<usize>) -> Result<Next> {
        let now = self.now;
        match &node.op {
            Op::Pure(p) => {
                let v = p.imp.eval(frame, now)?;
                if let Some(t) = p.target {
                    frame.set_var(t, v.clone());
                }
                frame.set_result(node.slot, v);
                Ok(Next::Continue)
            }
            Op::Respond(r) => {
                let status = match &r.status {
                    Some(t) => {
                        let v = t.eval(frame, now)?;
                        status_of(&v)
                            .ok_or_else(|| type_error("status", "an integer from 100 to 599", &v))?
                    }
                    None => 200,
                };
                let body = match &r.body {
                    Some(t) => t.eval(frame, now)?,
                    None => Bson::Null,
                };
                let mut headers = Vec::new();
                if let Some(t) = &r.headers {
                    match t.eval(frame, now)? {
                        Bson::Document(d) => {
                            for (k, v) in d {
                                headers.push((k, crate::nodes::strings::display(&v)));
                            }
                        }
                        Bson::Null => {}
                        other => return Err(type_error("headers", "an object", &other)),
                    }
                }
                Ok(Next::Respond(FlowResponse {
                    status,
                    headers,
                    body,
                }))
            }
            Op::IfElse(n) => {
                let b = eval_condition(&n.condition, frame, now)?;
                frame.set_output(node.slot, doc! {"condition": b});
                if b {
                    self.block(&n.then, frame).await
                } else if let Some(e) = &n.els {
                    self.block(e, frame).await
                } else {
                    Ok(Next::Continue)
                }
            }
            Op::IfElseV2(n) => {
                for (i, (cond, block)) in n.branches.iter().enumerate() {
                    if eval_condition(cond, frame, now)? {
                        frame.set_output(
                            node.slot,
                            doc! {"condition": true, "branch": i64::try_from(i).unwrap_or(-1)},
                        );
                        return self.block(block, frame).await;
                    }
                }
                frame.set_output(node.slot, doc! {"condition": false, "branch": -1_i64});
                match &n.els {
                    Some(e) => self.block(e, frame).await,
                    None => Ok(Next::Continue),
                }
            }
            Op::Switch(n) => {
                let v = n.value.eval(frame, now)?;
                for (case, block) in &n.cases {
                    let cv = case.eval(frame, now)?;
                    if case_matches(&v, &cv, n.value_type) {
                        frame.set_output(node.slot, doc! {"condition": true, "matched": cv});
                        return self.block(block, frame).await;
                    }
                }
                frame.set_output(node.slot, doc! {"condition": false, "matched": Bson::Null});
                match &n.default {
                    Some(d) => self.block(d, frame).await,
                    None => Ok(Next::Continue),
                }
            }
            Op::ForLoop(n) => Box::pin(self.for_loop(node, n, frame)).await,
            Op::While(n) => {
                let max = n.max_iterations.min(self.budgets.max_loop_iterations);
                let mut i: u64 = 0;
                loop {
                    if !eval_condition(&n.condition, frame, now)? {
                        break;
                    }
                    if i >= max {
                        return Err(RunError::new(
                            RunErrorCode::LoopLimitExceeded,
                            format!("whileLoop ran {max} iterations and its condition still holds"),
                        ));
                    }
                    i += 1;
                    frame.set_output(node.slot, doc! {"iterations": u64_bson(i)});
                    if let Next::Respond(r) = self.block(&n.body, frame).await? {
                        return Ok(Next::Respond(r));
                    }
                }
                frame.set_output(node.slot, doc! {"iterations": u64_bson(i)});
                Ok(Next::Continue)
            }
            Op::Pbkdf2(p) => {
                let job = p.prepare(frame, now)?;
                let v = tokio::task::spawn_blocking(move || job.run())
                    .await
                    .map_err(|e| RunError::node_failed(format!("hashing task failed: {e}")))?;
                if let Some(t) = p.target {
                    frame.set_var(t, v.clone());
                }
                frame.set_result(node.slot, v);
                Ok(Next::Continue)
            }
            Op::Db(d) => {
                let db_service = self.services.db.clone().ok_or_else(|| {
                    RunError::new(
                        RunErrorCode::ServiceUnavailable,
                        "no database is configured",
                    )
                })?;
                let call = d.prepare(frame, now)?;
                if self.services.inline_reads && d.is_bounded_read() {
                    // Short reads on an MVCC snapshot never wait for a writer: running them on
                    // the async worker saves two thread hand-offs per call.
                    let v = db::execute(db_service.as_ref(), d.collection(), call)?;
                    frame.set_result(node.slot, v);
                    return Ok(Next::Continue);
                }
                let coll = d.collection().to_string();
                let v = tokio::task::spawn_blocking(move || {
                    db::execute(db_service.as_ref(), &coll, call)
                })
                .await
                .map_err(|e| RunError::node_failed(format!("database task failed: {e}")))??;
                frame.set_result(node.slot, v);
                Ok(Next::Continue)
            }
            Op::ApiCall(a) => {
                let p = a.prepare(frame, now)?;
                // Boxed: the HTTP client's future is large and would bloat every node's future.
                let out = Box::pin(api_call::send(p, &self.services.http)).await?;
                frame.set_output(node.slot, out);
                Ok(Next::Continue)
            }
            Op::Subflow(s) => {
                let v = Box::pin(self.subflow(s, frame)).await?;
                frame.set_result(node.slot, v);
                Ok(Next::Continue)
            }
            Op::Debug(d) => {
                let v = d.value.eval(frame, now)?;
                if let Some(i) = idx {
                    let e = &mut self.trace.entries[i];
                    e.label = d.label.as_ref().map(|l| self.redactor.text(l));
                    e.value = Some(self.redactor.value(to_json(v)));
                }
                Ok(Next::Continue)
            }
            Op::Invalid => Err(RunError::node_failed("this node failed validation")),
        }
    }

    async fn for_loop(
        &mut self,
        node: &CNode,
        n: &crate::nodes::loops::ForLoop,
        frame: &mut Frame,
    ) -> Result<Next> {
        let now = self.now;
        let items: Vec<Bson> = match &n.source {
            ForSource::Items(t) => match t.eval(frame, now)? {
                Bson::Array(a) => a,
                Bson::Null => Vec::new(),
                other => return Err(type_error("items", "an array", &other)),
            },
            ForSource::Range(r) => {
                let (from, to, step) = (&r.from, &r.to, &r.step);
                let num =
                    |t: Option<&crate::value::Tmpl>, name: &str, default: i64| -> Result<Bson> {
                        match t {
                            Some(t) => {
                                let v = t.eval(frame, now)?;
                                match v {
                                    Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) => Ok(v),
                                    other => Err(type_error(name, "a number", &other)),
                                }
                            }
                            None => Ok(Bson::Int64(default)),
                        }
                    };
                range(
                    &num(from.as_ref(), "from", 0)?,
                    &num(Some(to), "to", 0)?,
                    &num(step.as_ref(), "step", 1)?,
                    self.budgets.max_loop_iterations,
                )?
            }
        };
        let max = self.budgets.max_loop_iterations;
        if items.len() as u64 > max {
            return Err(RunError::new(
                RunErrorCode::LoopLimitExceeded,
                format!(
                    "forLoop over {} items exceeds the limit of {max} iterations",
                    items.len()
                ),
            ));
        }
        let mut count: u64 = 0;
        for (i, item) in items.into_iter().enumerate() {
            let index = Bson::Int64(i64::try_from(i).unwrap_or(i64::MAX));
            frame.set_var(n.item_var, item.clone());
            if let Some(iv) = n.index_var {
                frame.set_var(iv, index.clone());
            }
            frame.set_output(node.slot, doc! {"index": index, "item": item});
            count += 1;
            if let Next::Respond(r) = self.block(&n.body, frame).await? {
                return Ok(Next::Respond(r));
            }
        }
        let mut out = frame.output_doc(node.slot).unwrap_or_default();
        out.insert("iterations", u64_bson(count));
        frame.set_output(node.slot, out);
        Ok(Next::Continue)
    }

    async fn subflow(
        &mut self,
        s: &crate::nodes::subflow::ExecSubflow,
        frame: &mut Frame,
    ) -> Result<Bson> {
        let limit = s.max_depth.map_or(self.budgets.max_subflow_depth, |d| {
            d.min(self.budgets.max_subflow_depth)
        });
        if self.depth + 1 > limit {
            return Err(RunError::new(
                RunErrorCode::SubflowDepthExceeded,
                format!("sub-flow calls nested deeper than {limit}"),
            ));
        }
        let registry = self.services.subflows.clone().ok_or_else(|| {
            RunError::new(
                RunErrorCode::ServiceUnavailable,
                "no sub-flows are configured",
            )
        })?;
        let sub: Arc<CompiledFlow> = registry.get(&s.subflow).ok_or_else(|| {
            RunError::node_failed(format!("sub-flow {:?} is not deployed", s.subflow))
        })?;
        let mut given = Vec::with_capacity(s.args.len());
        for (k, t) in &s.args {
            given.push((k.as_str(), t.eval(frame, self.now)?));
        }
        let mut sub_frame = Frame::new(
            sub.layout.clone(),
            Bson::Document(Document::new()),
            Bson::Null,
            self.secrets.clone(),
        );
        for (spec, slot) in &sub.arguments {
            let v = match given.iter().position(|(k, _)| *k == spec.name) {
                Some(i) => std::mem::replace(&mut given[i].1, Bson::Null),
                None => match &spec.default {
                    Some(d) => json_to_bson(d).map_err(RunError::node_failed)?,
                    None if spec.required => {
                        return Err(RunError::new(
                            RunErrorCode::InvalidArgument,
                            format!(
                                "missing required argument {:?} of sub-flow {:?}",
                                spec.name, s.subflow
                            ),
                        ));
                    }
                    None => Bson::Null,
                },
            };
            let v = coerce(spec, v).map_err(|m| {
                RunError::new(
                    RunErrorCode::InvalidArgument,
                    format!("sub-flow {:?}: {m}", s.subflow),
                )
            })?;
            sub_frame.set_var(*slot, v);
        }
        self.depth += 1;
        let r = self.block(&sub.block, &mut sub_frame).await;
        self.depth -= 1;
        Ok(match r? {
            Next::Respond(resp) => resp.body,
            Next::Continue => Bson::Null,
        })
    }
}

fn u64_bson(n: u64) -> Bson {
    Bson::Int64(i64::try_from(n).unwrap_or(i64::MAX))
}

/// The values of a numeric range `[from, to)` by `step` (integers when all three are).
fn range(from: &Bson, to: &Bson, step: &Bson, max: u64) -> Result<Vec<Bson>> {
    let too_many = || {
        RunError::new(
            RunErrorCode::LoopLimitExceeded,
            format!("forLoop range has more than {max} iterations"),
        )
    };
    let as_int = |b: &Bson| match b {
        Bson::Int32(i) => Some(i64::from(*i)),
        Bson::Int64(i) => Some(*i),
        _ => None,
    };
    if let (Some(a), Some(b), Some(s)) = (as_int(from), as_int(to), as_int(step)) {
        if s == 0 {
            return Err(RunError::node_failed("`step` must not be 0"));
        }
        let mut out = Vec::new();
        let mut i = a;
        while (s > 0 && i < b) || (s < 0 && i > b) {
            if out.len() as u64 >= max {
                return Err(too_many());
            }
            out.push(Bson::Int64(i));
            i = match i.checked_add(s) {
                Some(n) => n,
                None => break,
            };
        }
        return Ok(out);
    }
    let f = |b: &Bson| {
        stratus_query::compare::Number::of(b)
            .map(|n| n.as_f64())
            .unwrap_or(0.0)
    };
    let (a, b, s) = (f(from), f(to), f(step));
    if s == 0.0 || !s.is_finite() || !a.is_finite() || !b.is_finite() {
        return Err(RunError::node_failed(
            "`step` must be a non-zero finite number",
        ));
    }
    let mut out = Vec::new();
    let mut k: u64 = 0;
    loop {
        let x = a + s * k as f64;
        if !((s > 0.0 && x < b) || (s < 0.0 && x > b)) {
            break;
        }
        if k >= max {
            return Err(too_many());
        }
        out.push(Bson::Double(x));
        k += 1;
    }
    Ok(out)
}
