//! The executor: runs a [`CompiledFlow`] against a request within the run's [`Budgets`], and
//! records a [`Trace`].
//!
//! Nodes run sequentially (reference §7.2); a branching node runs the chosen branch and then
//! continues with the next node of its sequence unless the branch responded. Database calls
//! and PBKDF2 run on tokio's blocking pool; `apiCall` awaits the HTTP client.
//!
//! Nodes that cannot await (no database, HTTP, PBKDF2 or sub-flow call in them or nested in
//! them; fixed at compile time) run on a plain synchronous path ([`Run::block_sync`]): no
//! future is built or boxed for them. A flow with no awaiting node at all runs entirely on
//! it. The wall-clock budget is enforced both by a `tokio::time::timeout` around a flow that
//! awaits and by a check before every node (for CPU-bound loops), so the runtime must have its
//! time driver enabled.
//!
//! Timing: the clock is read when a block starts and when a node ends; a node's start time is
//! the latest reading (the end of the previous node, or the start of its block), so each node
//! costs one clock reading.
//!
//! Outputs nobody reads: a node's outputs (`$.<node>…`) are stored only when some reference
//! of the flow reads them ([`crate::context::Layout::is_read`]); the others are never built.
//!
//! Invariant: errors leaving [`run`] and trace entries have secrets redacted.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use bson::{Bson, DateTime, Document, doc};

use crate::budgets::Budgets;
use crate::compile::{Block, CNode, CompiledFlow};
use crate::context::{Frame, Inputs, RequestFields};
use crate::error::{Result, RunError, RunErrorCode};
use crate::nodes::control::{IfElse, IfElseV2, Respond, Switch, case_matches, status_of};
use crate::nodes::json::{eval_condition, type_error};
use crate::nodes::loops::{ForLoop, ForSource, While};
use crate::nodes::subflow::coerce;
use crate::nodes::{Op, api_call, db};
use crate::output::{json_len, to_json};
use crate::services::Services;
use crate::trace::{Redactor, Trace, TraceEntry, micros};
use crate::value::{Tmpl, json_to_bson};

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

/// What a node tells its block. The response is boxed: every node returns a `Result<Next>`,
/// and a small one is cheaper to move.
enum Next {
    Continue,
    Respond(Box<FlowResponse>),
}

type BoxFut<'a> = Pin<Box<dyn Future<Output = Result<Next>> + Send + 'a>>;

struct Run<'s> {
    services: &'s Services,
    budgets: Budgets,
    steps: u64,
    start: Instant,
    /// `start` + the wall-clock budget (`None`: beyond what the clock can represent).
    deadline: Option<Instant>,
    /// The latest clock reading (see the module docs).
    clock: Instant,
    now: DateTime,
    trace: Trace,
    redactor: Redactor,
    depth: usize,
}

/// Runs `flow` for `input`.
pub async fn run(flow: &CompiledFlow, input: RunInput, services: &Services) -> RunOutcome {
    let start = Instant::now();
    let budgets = services.budgets;
    let RunInput {
        request: r,
        token_data,
        secrets,
    } = input;
    let inputs = Inputs {
        request: Some(RequestFields {
            body: r.body,
            query_params: Bson::Document(r.query_params),
            path_params: Bson::Document(r.path_params),
            headers: Bson::Document(r.headers),
            method: Bson::String(r.method),
            path: Bson::String(r.path),
        }),
        token: token_data.map(Bson::Document).unwrap_or(Bson::Null),
        secrets: Bson::Document(secrets),
    };
    let mut run = Run {
        services,
        budgets,
        steps: 0,
        start,
        deadline: start.checked_add(budgets.timeout),
        clock: start,
        now: DateTime::now(),
        trace: Trace {
            entries: Vec::with_capacity(
                flow.trace_hint
                    .load(Ordering::Relaxed)
                    .min(budgets.max_trace_entries),
            ),
            ..Trace::default()
        },
        redactor: Redactor::new(&inputs.secrets),
        depth: 0,
    };
    let mut frame = Frame::new(&flow.layout, &inputs);
    let timeout = budgets.timeout;
    let outcome = if flow.has_io {
        tokio::time::timeout(timeout, run.block(&flow.block, &mut frame)).await
    } else {
        // Nothing awaits: the per-node deadline check enforces the budget.
        Ok(run.block_sync(&flow.block, &mut frame))
    };
    let result = match outcome {
        Err(_) => Err(timeout_error(timeout)),
        Ok(Err(e)) => Err(e),
        Ok(Ok(Next::Continue)) => Err(RunError::new(
            RunErrorCode::FlowEndedWithoutResponse,
            "the flow ended without reaching an httpResponse node",
        )),
        Ok(Ok(Next::Respond(resp))) => check_size(*resp, budgets.max_response_bytes),
    };
    let result = result.map_err(|mut e| {
        e.message = run.redactor.text(&e.message);
        e
    });
    flow.trace_hint
        .store(run.trace.entries.len(), Ordering::Relaxed);
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
    let len = json_len(&resp.body);
    if len > max {
        return Err(RunError::new(
            RunErrorCode::ResponseTooLarge,
            format!("the response body is {len} bytes, more than the limit of {max}"),
        ));
    }
    Ok(resp)
}

impl Run<'_> {
    /// Runs a block whose nodes may await.
    fn block<'a, 'i: 'a>(&'a mut self, block: &'a Block, frame: &'a mut Frame<'i>) -> BoxFut<'a> {
        Box::pin(async move {
            self.clock = Instant::now();
            for node in &block.nodes {
                let (t0, idx) = self.begin(node)?;
                let r = if node.io {
                    self.op(node, frame, idx).await
                } else {
                    self.op_sync(node, frame, idx)
                };
                if let Next::Respond(r) = self.end(node, t0, idx, r)? {
                    return Ok(Next::Respond(r));
                }
            }
            Ok(Next::Continue)
        })
    }

    /// Runs a block none of whose nodes awaits.
    fn block_sync(&mut self, block: &Block, frame: &mut Frame<'_>) -> Result<Next> {
        self.clock = Instant::now();
        for node in &block.nodes {
            let (t0, idx) = self.begin(node)?;
            let r = self.op_sync(node, frame, idx);
            if let Next::Respond(r) = self.end(node, t0, idx, r)? {
                return Ok(Next::Respond(r));
            }
        }
        Ok(Next::Continue)
    }

    /// Budget checks and the trace entry of a node about to run; returns its start time.
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
        let t0 = self.clock;
        if self.deadline.is_some_and(|d| t0 > d) {
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
        let t1 = Instant::now();
        self.clock = t1;
        if let Some(i) = idx {
            let e = &mut self.trace.entries[i];
            e.duration_us = micros(t1.saturating_duration_since(t0));
            if let Err(err) = &r
                && err.node.is_none()
            {
                e.error = Some(self.redactor.text(&err.message));
            }
        }
        r.map_err(|e| e.at_node(&node.name))
    }

    /// Runs a node that does not await (see [`CNode::io`]).
    fn op_sync(&mut self, node: &CNode, frame: &mut Frame<'_>, idx: Option<usize>) -> Result<Next> {
        let now = self.now;
        match &node.op {
            Op::Pure(p) => {
                let v = p.imp.eval_mut(frame, now)?;
                frame.store(node.slot, p.target, v);
                Ok(Next::Continue)
            }
            Op::Respond(r) => Ok(Next::Respond(Box::new(respond(r, frame, now)?))),
            Op::IfElse(n) => match if_else_branch(n, node.slot, frame, now)? {
                Some(b) => self.block_sync(b, frame),
                None => Ok(Next::Continue),
            },
            Op::IfElseV2(n) => match if_else_v2_branch(n, node.slot, frame, now)? {
                Some(b) => self.block_sync(b, frame),
                None => Ok(Next::Continue),
            },
            Op::Switch(n) => match switch_branch(n, node.slot, frame, now)? {
                Some(b) => self.block_sync(b, frame),
                None => Ok(Next::Continue),
            },
            Op::ForLoop(n) => {
                let mut count: u64 = 0;
                for (i, item) in loop_items(n, frame, now, &self.budgets)?.enumerate() {
                    bind_iteration(n, node.slot, frame, i, item);
                    count += 1;
                    if let Next::Respond(r) = self.block_sync(&n.body, frame)? {
                        return Ok(Next::Respond(r));
                    }
                }
                finish_loop(node.slot, frame, count);
                Ok(Next::Continue)
            }
            Op::While(n) => {
                let mut i: u64 = 0;
                while while_step(n, node.slot, frame, now, &self.budgets, &mut i)? {
                    if let Next::Respond(r) = self.block_sync(&n.body, frame)? {
                        return Ok(Next::Respond(r));
                    }
                }
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
            Op::Pbkdf2(_) | Op::Db(_) | Op::ApiCall(_) | Op::Subflow(_) => {
                Err(RunError::node_failed(
                    "internal error: an awaiting node reached the synchronous path",
                ))
            }
        }
    }

    /// Runs a node that awaits, or contains one that does.
    async fn op(
        &mut self,
        node: &CNode,
        frame: &mut Frame<'_>,
        idx: Option<usize>,
    ) -> Result<Next> {
        let now = self.now;
        match &node.op {
            Op::IfElse(n) => match if_else_branch(n, node.slot, frame, now)? {
                Some(b) => self.block(b, frame).await,
                None => Ok(Next::Continue),
            },
            Op::IfElseV2(n) => match if_else_v2_branch(n, node.slot, frame, now)? {
                Some(b) => self.block(b, frame).await,
                None => Ok(Next::Continue),
            },
            Op::Switch(n) => match switch_branch(n, node.slot, frame, now)? {
                Some(b) => self.block(b, frame).await,
                None => Ok(Next::Continue),
            },
            Op::ForLoop(n) => Box::pin(self.for_loop(node, n, frame)).await,
            Op::While(n) => {
                let mut i: u64 = 0;
                while while_step(n, node.slot, frame, now, &self.budgets, &mut i)? {
                    if let Next::Respond(r) = self.block(&n.body, frame).await? {
                        return Ok(Next::Respond(r));
                    }
                }
                Ok(Next::Continue)
            }
            Op::Pbkdf2(p) => {
                let job = p.prepare(frame, now)?;
                let v = tokio::task::spawn_blocking(move || job.run())
                    .await
                    .map_err(|e| RunError::node_failed(format!("hashing task failed: {e}")))?;
                frame.store(node.slot, p.target, v);
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
                    frame.store(node.slot, None, v);
                    return Ok(Next::Continue);
                }
                let call = match call {
                    // `insertOne` waits for durability without holding a thread when the
                    // database offers it.
                    db::Call::InsertOne(doc) => {
                        match db_service.insert_one_async(d.collection(), doc) {
                            Ok(write) => {
                                let v = db::finish_insert(write).await?;
                                frame.store(node.slot, None, v);
                                return Ok(Next::Continue);
                            }
                            Err(doc) => db::Call::InsertOne(doc),
                        }
                    }
                    other => other,
                };
                let coll = d.collection().to_string();
                let v = tokio::task::spawn_blocking(move || {
                    db::execute(db_service.as_ref(), &coll, call)
                })
                .await
                .map_err(|e| RunError::node_failed(format!("database task failed: {e}")))??;
                frame.store(node.slot, None, v);
                Ok(Next::Continue)
            }
            Op::ApiCall(a) => {
                let p = a.prepare(frame, now)?;
                // Boxed: the HTTP client's future is large and would bloat every node's future.
                let out = Box::pin(api_call::send(p, &self.services.http)).await?;
                if frame.output_read(node.slot) {
                    frame.set_output(node.slot, out);
                }
                Ok(Next::Continue)
            }
            Op::Subflow(s) => {
                let v = Box::pin(self.subflow(s, frame)).await?;
                frame.store(node.slot, None, v);
                Ok(Next::Continue)
            }
            Op::Pure(_) | Op::Respond(_) | Op::Debug(_) | Op::Invalid => {
                self.op_sync(node, frame, idx)
            }
        }
    }

    async fn for_loop(&mut self, node: &CNode, n: &ForLoop, frame: &mut Frame<'_>) -> Result<Next> {
        let mut count: u64 = 0;
        for (i, item) in loop_items(n, frame, self.now, &self.budgets)?.enumerate() {
            bind_iteration(n, node.slot, frame, i, item);
            count += 1;
            if let Next::Respond(r) = self.block(&n.body, frame).await? {
                return Ok(Next::Respond(r));
            }
        }
        finish_loop(node.slot, frame, count);
        Ok(Next::Continue)
    }

    async fn subflow(
        &mut self,
        s: &crate::nodes::subflow::ExecSubflow,
        frame: &mut Frame<'_>,
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
        let sub_inputs = Inputs {
            request: None,
            token: Bson::Null,
            secrets: frame.inputs.secrets.clone(),
        };
        let mut sub_frame = Frame::new(&sub.layout, &sub_inputs);
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
        let r = if sub.has_io {
            self.block(&sub.block, &mut sub_frame).await
        } else {
            self.block_sync(&sub.block, &mut sub_frame)
        };
        self.depth -= 1;
        Ok(match r? {
            Next::Respond(resp) => resp.body,
            Next::Continue => Bson::Null,
        })
    }
}

/// Evaluates an `httpResponse`. A body that is a plain reference is moved out of the frame
/// rather than copied (nothing reads the frame after a response); it is taken after
/// `headers`, which changes nothing since evaluating a reference cannot fail.
fn respond(r: &Respond, frame: &mut Frame<'_>, now: DateTime) -> Result<FlowResponse> {
    let status = match &r.status {
        Some(t) => {
            let v = t.eval_cow(frame, now)?;
            status_of(&v).ok_or_else(|| type_error("status", "an integer from 100 to 599", &v))?
        }
        None => 200,
    };
    let body_ref = match &r.body {
        Some(Tmpl::Ref(rf)) => Some(rf),
        _ => None,
    };
    let mut body = match (&r.body, body_ref) {
        (Some(t), None) => t.eval(frame, now)?,
        _ => Bson::Null,
    };
    let mut headers = Vec::new();
    if let Some(t) = &r.headers {
        match &*t.eval_cow(frame, now)? {
            Bson::Document(d) => {
                for (k, v) in d {
                    headers.push((k.clone(), crate::nodes::strings::display(v)));
                }
            }
            Bson::Null => {}
            other => return Err(type_error("headers", "an object", other)),
        }
    }
    if let Some(rf) = body_ref {
        body = frame.take(rf);
    }
    Ok(FlowResponse {
        status,
        headers,
        body,
    })
}

/// Evaluates an `ifElse` condition, records the node's output and returns the branch to run.
fn if_else_branch<'b>(
    n: &'b IfElse,
    slot: usize,
    frame: &mut Frame<'_>,
    now: DateTime,
) -> Result<Option<&'b Block>> {
    let b = eval_condition(&n.condition, frame, now)?;
    if frame.output_read(slot) {
        frame.set_output(slot, doc! {"condition": b});
    }
    Ok(if b { Some(&n.then) } else { n.els.as_ref() })
}

/// Picks the first `ifElseV2` branch whose condition holds (or `else`), recording the
/// node's output.
fn if_else_v2_branch<'b>(
    n: &'b IfElseV2,
    slot: usize,
    frame: &mut Frame<'_>,
    now: DateTime,
) -> Result<Option<&'b Block>> {
    let read = frame.output_read(slot);
    for (i, (cond, block)) in n.branches.iter().enumerate() {
        if eval_condition(cond, frame, now)? {
            if read {
                frame.set_output(
                    slot,
                    doc! {"condition": true, "branch": i64::try_from(i).unwrap_or(-1)},
                );
            }
            return Ok(Some(block));
        }
    }
    if read {
        frame.set_output(slot, doc! {"condition": false, "branch": -1_i64});
    }
    Ok(n.els.as_ref())
}

/// Picks the first matching `switchCase` case (or `default`), recording the node's output.
fn switch_branch<'b>(
    n: &'b Switch,
    slot: usize,
    frame: &mut Frame<'_>,
    now: DateTime,
) -> Result<Option<&'b Block>> {
    let v = n.value.eval(frame, now)?;
    for (case, block) in &n.cases {
        let cv = case.eval(frame, now)?;
        if case_matches(&v, &cv, n.value_type) {
            if frame.output_read(slot) {
                frame.set_output(slot, doc! {"condition": true, "matched": cv});
            }
            return Ok(Some(block));
        }
    }
    if frame.output_read(slot) {
        frame.set_output(slot, doc! {"condition": false, "matched": Bson::Null});
    }
    Ok(n.default.as_ref())
}

/// The elements a `forLoop` iterates over: borrowed when they are part of the run's inputs
/// (they cannot change during the run), owned otherwise.
enum LoopItems<'i> {
    Borrowed(std::slice::Iter<'i, Bson>),
    Owned(std::vec::IntoIter<Bson>),
}

impl<'i> Iterator for LoopItems<'i> {
    type Item = Cow<'i, Bson>;

    fn next(&mut self) -> Option<Cow<'i, Bson>> {
        match self {
            LoopItems::Borrowed(it) => it.next().map(Cow::Borrowed),
            LoopItems::Owned(it) => it.next().map(Cow::Owned),
        }
    }
}

/// Evaluates the source of a `forLoop` and checks the iteration budget.
fn loop_items<'i>(
    n: &ForLoop,
    frame: &Frame<'i>,
    now: DateTime,
    budgets: &Budgets,
) -> Result<LoopItems<'i>> {
    let borrowed = match &n.source {
        ForSource::Items(Tmpl::Ref(r)) => frame.input_ref(r),
        _ => None,
    };
    let items = match (borrowed, &n.source) {
        (Some(Bson::Array(a)), _) => LoopItems::Borrowed(a.iter()),
        (Some(Bson::Null), _) => LoopItems::Owned(Vec::new().into_iter()),
        (Some(other), _) => return Err(type_error("items", "an array", other)),
        (None, ForSource::Items(t)) => match t.eval(frame, now)? {
            Bson::Array(a) => LoopItems::Owned(a.into_iter()),
            Bson::Null => LoopItems::Owned(Vec::new().into_iter()),
            other => return Err(type_error("items", "an array", &other)),
        },
        (None, ForSource::Range(r)) => {
            let num = |t: Option<&Tmpl>, name: &str, default: i64| -> Result<Bson> {
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
            LoopItems::Owned(
                range(
                    &num(r.from.as_ref(), "from", 0)?,
                    &num(Some(&r.to), "to", 0)?,
                    &num(r.step.as_ref(), "step", 1)?,
                    budgets.max_loop_iterations,
                )?
                .into_iter(),
            )
        }
    };
    let len = match &items {
        LoopItems::Borrowed(it) => it.len(),
        LoopItems::Owned(it) => it.len(),
    };
    let max = budgets.max_loop_iterations;
    if len as u64 > max {
        return Err(RunError::new(
            RunErrorCode::LoopLimitExceeded,
            format!("forLoop over {len} items exceeds the limit of {max} iterations"),
        ));
    }
    Ok(items)
}

/// Binds the loop variables of iteration `i` (and the node's `index`/`item` outputs when
/// something reads them).
fn bind_iteration<'i>(
    n: &ForLoop,
    slot: usize,
    frame: &mut Frame<'i>,
    i: usize,
    item: Cow<'i, Bson>,
) {
    let index = Bson::Int64(i64::try_from(i).unwrap_or(i64::MAX));
    if frame.output_read(slot) {
        let out = doc! {"index": index.clone(), "item": item.clone().into_owned()};
        frame.set_output(slot, out);
    }
    match item {
        Cow::Borrowed(b) => frame.set_var_ref(n.item_var, b),
        Cow::Owned(b) => frame.set_var(n.item_var, b),
    }
    if let Some(iv) = n.index_var {
        frame.set_var(iv, index);
    }
}

/// Records a finished `forLoop`'s `iterations` output.
fn finish_loop(slot: usize, frame: &mut Frame<'_>, count: u64) {
    if frame.output_read(slot) {
        let mut out = frame.output_doc(slot).unwrap_or_default();
        out.insert("iterations", u64_bson(count));
        frame.set_output(slot, out);
    }
}

/// Before each `whileLoop` iteration: evaluates the condition, checks the bound, counts the
/// iteration in `i` and records the output; `false` = the loop is over.
fn while_step(
    n: &While,
    slot: usize,
    frame: &mut Frame<'_>,
    now: DateTime,
    budgets: &Budgets,
    i: &mut u64,
) -> Result<bool> {
    let max = n.max_iterations.min(budgets.max_loop_iterations);
    let go = eval_condition(&n.condition, frame, now)?;
    if go {
        if *i >= max {
            return Err(RunError::new(
                RunErrorCode::LoopLimitExceeded,
                format!("whileLoop ran {max} iterations and its condition still holds"),
            ));
        }
        *i += 1;
    }
    if frame.output_read(slot) {
        frame.set_output(slot, doc! {"iterations": u64_bson(*i)});
    }
    Ok(go)
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
