//! Aggregation pipelines: parsing stages and running them over a stream of documents.
//!
//! A pipeline is parsed once ([`Pipeline::parse`]) into typed [`Stage`]s, then run any number
//! of times ([`Pipeline::run`]) over the documents of a collection. Stages that read or write
//! other collections (`$lookup`, `$unionWith`, `$out`, `$merge`) reach them through the
//! [`env::CollectionSource`] trait, which the document store implements.
//!
//! Invariants:
//! - Parsing never panics on any input; every mistake is a [`QueryError`] with MongoDB's code.
//! - `$out` and `$merge` can only be the last stage (40601), never inside `$lookup`, `$facet`
//!   or `$unionWith` sub-pipelines.
//! - Stages run in order; the leading per-document stages stream over the input (see
//!   `stream`), the rest run over a materialised `Vec<Document>`; `$sort` is stable.
//! - Expressions see the pipeline's `let` variables, `$lookup`'s `let` variables and one `$$NOW`
//!   fixed for the whole run.
//!
//! Supported stages: `$match $project $addFields $set $unset $group $sort $limit $skip
//! $count $unwind $lookup $graphLookup $facet $replaceRoot $replaceWith $sortByCount $sample
//! $bucket $bucketAuto $setWindowFields $unionWith $out $merge $documents $redact`, plus
//! caller-run leading stages such as `$search` ([`PipelineOptions::external_stages`]).
//!
//! Known deviations from MongoDB (each documented in its stage's module):
//! - No collation (strings compare by bytes) and no spilling to disk: `$group` (and
//!   `$graphLookup`) fail with 292/40099 past [`crate::limits::Limits::max_group_memory`],
//!   measured approximately.
//! - `$group`/`$sortByCount` output groups in first-seen order (MongoDB: unspecified).
//! - `$merge` cannot check for a unique index on non-`_id` `on` fields (it refuses a result
//!   matching several targets instead).
//! - `$bucketAuto` has no `granularity`; `$setWindowFields` has `documents` windows only and
//!   the accumulator, rank, `$documentNumber` and `$shift` functions.
//! - `$match` inside a `$lookup` sub-pipeline sees `let` variables by literal substitution into
//!   `$expr`; a `$let`/`$map` there that rebinds the same name sees the outer value.
//! - Server-only stages (`$geoNear`, `$changeStream`, `$collStats`, `$indexStats`,
//!   `$currentOp`, `$listSessions`, `$planCacheStats`, `$densify`, `$fill`, …) are unknown
//!   stages (40324).

pub mod env;
pub mod namespaces;

mod bucket;
mod bucket_auto;
mod count;
mod documents;
mod facet;
mod graph_lookup;
mod group;
mod limit_skip;
mod lookup;
mod match_stage;
mod out_merge;
mod project;
mod raw_group;
mod redact;
mod replace_root;
mod sample;
mod set_window_fields;
mod sort;
mod sort_by_count;
mod stream;
mod union_with;
mod unwind;
mod util;

use bson::{Bson, Document};

use crate::error::{QueryError, Result};
use crate::expr::{Dialect, Expr, ParseOptions};
use crate::limits::Limits;

pub use env::{CollectionSource, MemoryCollections, MergeWrite};
pub use lookup::LOOKUP_BATCH_SIZE;

/// Maximum nesting of sub-pipelines (`$lookup`, `$facet`, `$unionWith` inside each other);
/// MongoDB's limit is also 20. Keeps parsing and running far from the thread's stack limit.
pub const MAX_SUB_PIPELINE_DEPTH: usize = 20;

/// Options for [`Pipeline::parse`].
#[derive(Debug, Clone, Default)]
pub struct PipelineOptions {
    /// Depth, length and memory limits.
    pub limits: Limits,
    /// The database of `$lookup`/`$unionWith`/`$out`/`$merge` targets named without one
    /// (informational: [`Pipeline::run`] takes the database to use).
    pub default_db: String,
    /// The aggregate command's `let` option: variable name → expression, evaluated once per
    /// run and visible to every stage as `$$name`.
    pub let_vars: Document,
    /// Seed for `$sample`'s random choice; `None` draws from the thread's generator. Tests set
    /// it to get reproducible samples.
    pub seed: Option<u64>,
    /// Names of stages another component runs (e.g. `"$search"`, `"$vectorSearch"` by the
    /// search engine). Allowed only as the first stage: [`Pipeline::parse`] keeps it aside
    /// ([`Pipeline::leading_external`]) and [`Pipeline::run`] expects its output as input.
    pub external_stages: Vec<String>,
}

/// One parsed stage.
#[derive(Debug, Clone)]
pub enum Stage {
    /// `$match`.
    Match(match_stage::MatchStage),
    /// `$project`, `$addFields`/`$set`, `$unset`.
    Project(project::ProjectStage),
    /// `$group`.
    Group(group::GroupStage),
    /// `$sort`.
    Sort(sort::SortStage),
    /// `$limit`.
    Limit(u64),
    /// `$skip`.
    Skip(u64),
    /// `$count`: the name of the output field.
    Count(String),
    /// `$unwind`.
    Unwind(unwind::UnwindStage),
    /// `$lookup`.
    Lookup(Box<lookup::LookupStage>),
    /// `$graphLookup`.
    GraphLookup(Box<graph_lookup::GraphLookupStage>),
    /// `$facet`.
    Facet(facet::FacetStage),
    /// `$replaceRoot` / `$replaceWith`.
    ReplaceRoot(replace_root::ReplaceRootStage),
    /// `$sortByCount`.
    SortByCount(sort_by_count::SortByCountStage),
    /// `$sample`: the sample size.
    Sample(u64),
    /// `$bucket`.
    Bucket(bucket::BucketStage),
    /// `$bucketAuto`.
    BucketAuto(bucket_auto::BucketAutoStage),
    /// `$setWindowFields`.
    SetWindowFields(Box<set_window_fields::SetWindowFieldsStage>),
    /// `$unionWith`.
    UnionWith(Box<union_with::UnionWithStage>),
    /// `$out`.
    Out(out_merge::OutStage),
    /// `$merge`.
    Merge(Box<out_merge::MergeStage>),
    /// `$documents`.
    Documents(documents::DocumentsStage),
    /// `$redact`.
    Redact(redact::RedactStage),
}

impl Stage {
    /// The stage's name as written in a pipeline (`"$match"`, …).
    pub fn name(&self) -> &'static str {
        match self {
            Stage::Match(_) => "$match",
            Stage::Project(p) => p.stage_name(),
            Stage::Group(_) => "$group",
            Stage::Sort(_) => "$sort",
            Stage::Limit(_) => "$limit",
            Stage::Skip(_) => "$skip",
            Stage::Count(_) => "$count",
            Stage::Unwind(_) => "$unwind",
            Stage::Lookup(_) => "$lookup",
            Stage::GraphLookup(_) => "$graphLookup",
            Stage::Facet(_) => "$facet",
            Stage::ReplaceRoot(r) => r.stage_name(),
            Stage::SortByCount(_) => "$sortByCount",
            Stage::Sample(_) => "$sample",
            Stage::Bucket(_) => "$bucket",
            Stage::BucketAuto(_) => "$bucketAuto",
            Stage::SetWindowFields(_) => "$setWindowFields",
            Stage::UnionWith(_) => "$unionWith",
            Stage::Out(_) => "$out",
            Stage::Merge(_) => "$merge",
            Stage::Documents(_) => "$documents",
            Stage::Redact(_) => "$redact",
        }
    }

    /// Whether the stage writes to a collection (`$out`, `$merge`).
    pub fn is_write(&self) -> bool {
        matches!(self, Stage::Out(_) | Stage::Merge(_))
    }

    /// Whether the stage may run on a single document in a pipeline-style update
    /// (`$addFields`/`$set`, `$project`, `$unset`, `$replaceRoot`/`$replaceWith`).
    pub fn allowed_in_update(&self) -> bool {
        matches!(self, Stage::Project(_) | Stage::ReplaceRoot(_))
    }
}

/// A parsed aggregation pipeline.
#[derive(Debug, Clone)]
pub struct Pipeline {
    external: Option<(String, Bson)>,
    stages: Vec<Stage>,
    let_vars: Vec<(String, Expr)>,
    limits: Limits,
    seed: Option<u64>,
}

/// Where a sub-pipeline sits, for the rules on which stages it may contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nesting {
    /// The top-level pipeline of an aggregate command.
    Top,
    /// Inside `$lookup`.
    Lookup,
    /// Inside `$facet`.
    Facet,
    /// Inside `$unionWith`.
    UnionWith,
    /// A pipeline-style update, or `$merge`'s `whenMatched` pipeline.
    Update,
}

/// Shared state while parsing: limits and the sub-pipeline depth.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ParseCtx {
    /// Limits in force.
    pub limits: Limits,
    /// How many sub-pipelines enclose the one being parsed.
    pub depth: usize,
    /// Where this pipeline sits.
    pub nesting: Nesting,
}

impl ParseCtx {
    /// Expression parse options for this pipeline (MQL dialect).
    pub(crate) fn expr_opts(&self) -> ParseOptions {
        ParseOptions {
            dialect: Dialect::Mql,
            limits: self.limits,
        }
    }

    /// The context of a sub-pipeline nested in this one.
    pub(crate) fn nested(&self, nesting: Nesting) -> Result<ParseCtx> {
        if self.depth + 1 > MAX_SUB_PIPELINE_DEPTH {
            return Err(QueryError::bad_value(format!(
                "Maximum number of nested sub-pipelines exceeded. Limit is {MAX_SUB_PIPELINE_DEPTH}"
            )));
        }
        Ok(ParseCtx {
            limits: self.limits,
            depth: self.depth + 1,
            nesting,
        })
    }
}

/// What a running pipeline needs besides its input: storage, variables, the clock.
pub(crate) struct RunCtx<'a> {
    /// Access to other collections.
    pub env: &'a dyn CollectionSource,
    /// The database of the aggregated collection.
    pub db: &'a str,
    /// User variables in scope (`let` of the command and of enclosing `$lookup`s).
    pub vars: Vec<(String, Bson)>,
    /// `$$NOW` for the whole run.
    pub now: bson::DateTime,
    /// Limits in force.
    pub limits: Limits,
    /// Seed for `$sample`.
    pub seed: Option<u64>,
}

impl RunCtx<'_> {
    /// A context for a nested pipeline with extra variables (the `let` of a `$lookup`).
    pub(crate) fn with_vars(&self, extra: Vec<(String, Bson)>) -> RunCtx<'_> {
        let mut vars = self.vars.clone();
        vars.extend(extra);
        RunCtx {
            env: self.env,
            db: self.db,
            vars,
            now: self.now,
            limits: self.limits,
            seed: self.seed,
        }
    }
}

impl Pipeline {
    /// Parses a pipeline (the `pipeline` array of an aggregate command).
    ///
    /// Errors: a stage that is not an object with exactly one field (40323), an unknown stage
    /// (40324), `$out`/`$merge` not last (40601), more than
    /// [`crate::limits::MAX_PIPELINE_LENGTH`] stages (7749501), and each stage's own errors.
    pub fn parse(stages: &[Bson], opts: &PipelineOptions) -> Result<Pipeline> {
        let pc = ParseCtx {
            limits: opts.limits,
            depth: 0,
            nesting: Nesting::Top,
        };
        let external = leading_external(stages, opts)?;
        let rest = if external.is_some() {
            &stages[1..]
        } else {
            stages
        };
        if external.is_some() && rest.len() + 1 > opts.limits.max_pipeline_length {
            return Err(QueryError::location(
                7749501,
                format!(
                    "Pipeline length must be no longer than {} stages.",
                    opts.limits.max_pipeline_length
                ),
            ));
        }
        let parsed = parse_stages(rest, &pc)?;
        let mut let_vars = Vec::with_capacity(opts.let_vars.len());
        for (name, value) in &opts.let_vars {
            util::validate_variable_name(name)?;
            let_vars.push((name.clone(), Expr::parse(value, &pc.expr_opts())?));
        }
        Ok(Pipeline {
            external,
            stages: parsed,
            let_vars,
            limits: opts.limits,
            seed: opts.seed,
        })
    }

    /// The leading stage run by another component (see [`PipelineOptions::external_stages`]):
    /// its name and specification. The caller runs it and passes its output to
    /// [`Pipeline::run`] as the input.
    pub fn leading_external(&self) -> Option<(&str, &Bson)> {
        self.external.as_ref().map(|(n, s)| (n.as_str(), s))
    }

    /// Parses the stages of a pipeline-style update (`updateOne(filter, [stages])`): only
    /// `$addFields`/`$set`, `$project`, `$unset` and `$replaceRoot`/`$replaceWith` are allowed
    /// (InvalidOptions 72 otherwise). Run it with [`Pipeline::run_on_document`].
    pub fn parse_update(stages: &[Bson], opts: &PipelineOptions) -> Result<Pipeline> {
        let pc = ParseCtx {
            limits: opts.limits,
            depth: 0,
            nesting: Nesting::Update,
        };
        let parsed = parse_stages(stages, &pc)?;
        let mut let_vars = Vec::with_capacity(opts.let_vars.len());
        for (name, value) in &opts.let_vars {
            util::validate_variable_name(name)?;
            let_vars.push((name.clone(), Expr::parse(value, &pc.expr_opts())?));
        }
        Ok(Pipeline {
            external: None,
            stages: parsed,
            let_vars,
            limits: opts.limits,
            seed: opts.seed,
        })
    }

    /// The parsed stages, in order.
    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    /// The filter of a leading `$match` stage, for the planner to pick an index.
    ///
    /// Contract: the caller may pre-filter the input with it (it must pass at least the
    /// matching documents); [`Pipeline::run`] applies the `$match` again, so a planner that
    /// passes a superset is still correct. `None` when the first stage is not `$match`, or when
    /// its filter refers to `let` variables (which only the pipeline can resolve).
    pub fn leading_match(&self) -> Option<&Document> {
        if self.external.is_some() {
            // The input is the external stage's output, not the collection.
            return None;
        }
        match self.stages.first() {
            Some(Stage::Match(m)) if !m.uses_variables() => Some(m.filter()),
            _ => None,
        }
    }

    /// The top-level fields of the input documents the pipeline can read, when that is
    /// known: the pipeline starts with `$match`/`$sort`/`$skip`/`$limit` stages followed by a
    /// `$group` or `$count` that replaces the documents. `None` means every field may be read.
    /// A caller may hand the pipeline documents reduced to these fields (the result is the
    /// same) — the store uses it to decode less.
    pub fn input_fields(&self) -> Option<std::collections::BTreeSet<String>> {
        if self.external.is_some() {
            return None;
        }
        let mut out = std::collections::BTreeSet::new();
        for stage in &self.stages {
            match stage {
                Stage::Match(m) => {
                    if m.uses_variables() || !filter_fields(m.filter(), &mut out) {
                        return None;
                    }
                }
                Stage::Sort(s) => {
                    for path in s.spec().keys() {
                        out.insert(path.split('.').next().unwrap_or(path).to_string());
                    }
                }
                Stage::Limit(_) | Stage::Skip(_) => {}
                Stage::Count(_) => return Some(out),
                Stage::Group(g) => return g.collect_input_fields(&mut out).then_some(out),
                _ => return None,
            }
        }
        None
    }

    /// The `(db, collection)` a trailing `$out`/`$merge` writes to, if any (`db` defaults to
    /// `default_db`).
    pub fn output_collection(&self, default_db: &str) -> Option<(String, String)> {
        match self.stages.last() {
            Some(Stage::Out(o)) => Some(o.target(default_db)),
            Some(Stage::Merge(m)) => Some(m.target(default_db)),
            _ => None,
        }
    }

    /// Every `(db, collection)` the pipeline reads besides its input (`$lookup`, `$unionWith`,
    /// also inside sub-pipelines), in stage order, without duplicates; `db` defaults to
    /// `default_db`. For planners (read snapshots) and permission checks.
    pub fn foreign_collections(&self, default_db: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        collect_foreign(&self.stages, default_db, &mut out);
        out
    }

    /// Runs the pipeline over `input` (the documents of the aggregated collection in database
    /// `db`). Returns the output documents; a pipeline ending in `$out`/`$merge` returns none.
    pub fn run(
        &self,
        input: impl Iterator<Item = Document>,
        env: &dyn CollectionSource,
        db: &str,
    ) -> Result<Vec<Document>> {
        self.try_run(input.map(Ok), env, db)
    }

    /// The context of one run: `$$NOW` read once, the command's `let` variables evaluated.
    fn run_ctx<'a>(&self, env: &'a dyn CollectionSource, db: &'a str) -> Result<RunCtx<'a>> {
        let now = bson::DateTime::now();
        Ok(RunCtx {
            env,
            db,
            vars: self.eval_let_vars(now)?,
            now,
            limits: self.limits,
            seed: self.seed,
        })
    }

    /// Like [`Pipeline::run`] over an input that can fail (a storage scan): the first input
    /// error ends the run with that error, and no further input is read.
    pub fn try_run(
        &self,
        input: impl Iterator<Item = Result<Document>>,
        env: &dyn CollectionSource,
        db: &str,
    ) -> Result<Vec<Document>> {
        let rc = self.run_ctx(env, db)?;
        stream::run_streaming(&self.stages, input, &rc)
    }

    /// Whether [`Pipeline::try_run_raw`] and [`Pipeline::try_run_raw_scan`] read the stored
    /// documents without decoding them: the pipeline starts with `$match` stages (without
    /// variables) and a `$group` whose `_id` and accumulator arguments are field paths or
    /// constants (see `raw_group`).
    pub fn runs_on_raw(&self) -> bool {
        self.raw_plan().is_some()
    }

    fn raw_plan(&self) -> Option<raw_group::RawGroupPlan<'_>> {
        if self.external.is_some() {
            return None;
        }
        raw_group::RawGroupPlan::of(&self.stages)
    }

    /// Like [`Pipeline::try_run`] over raw BSON documents (a storage scan); same result. When
    /// [`Pipeline::runs_on_raw`] holds, the documents are never decoded; otherwise each is
    /// decoded and run as by [`Pipeline::try_run`]. A document that fails to decode ends the
    /// run with an `InternalError`.
    pub fn try_run_raw(
        &self,
        input: impl Iterator<Item = Result<bson::RawDocumentBuf>>,
        env: &dyn CollectionSource,
        db: &str,
    ) -> Result<Vec<Document>> {
        if let Some(plan) = self.raw_plan() {
            let scan = |sink: &mut dyn FnMut(&bson::RawDocument) -> Result<()>| {
                for doc in input {
                    sink(&doc?)?;
                }
                Ok(())
            };
            return self.run_raw_plan(&plan, scan, env, db);
        }
        let decoded = input.map(|r| {
            r.and_then(|raw| {
                Document::try_from(raw.as_ref()).map_err(|e| {
                    QueryError::new(
                        crate::error::MongoCode::InternalError,
                        format!("malformed stored document: {e}"),
                    )
                })
            })
        });
        self.try_run(decoded, env, db)
    }

    /// Runs the pipeline over the raw documents that `scan` hands, one at a time and
    /// borrowed, to the sink it is given (a storage scan that does not copy documents);
    /// `scan` must stop at the first error the sink returns and return it. Same result as
    /// [`Pipeline::try_run`] over the decoded documents. `None` (and `scan` is not called)
    /// when [`Pipeline::runs_on_raw`] does not hold: the caller then decodes the documents.
    pub fn try_run_raw_scan(
        &self,
        scan: impl FnOnce(&mut dyn FnMut(&bson::RawDocument) -> Result<()>) -> Result<()>,
        env: &dyn CollectionSource,
        db: &str,
    ) -> Option<Result<Vec<Document>>> {
        let plan = self.raw_plan()?;
        Some(self.run_raw_plan(&plan, scan, env, db))
    }

    fn run_raw_plan(
        &self,
        plan: &raw_group::RawGroupPlan<'_>,
        scan: impl FnOnce(&mut dyn FnMut(&bson::RawDocument) -> Result<()>) -> Result<()>,
        env: &dyn CollectionSource,
        db: &str,
    ) -> Result<Vec<Document>> {
        let rc = self.run_ctx(env, db)?;
        plan.run_scan(scan, &rc)
    }

    /// Runs a pipeline-style update on one document (see [`Pipeline::parse_update`]);
    /// `extra_vars` are added to the pipeline's `let` variables (e.g. `$merge`'s `$$new`).
    pub fn run_on_document(
        &self,
        doc: Document,
        extra_vars: &[(String, Bson)],
    ) -> Result<Document> {
        let empty = MemoryCollections::default();
        let mut rc = self.run_ctx(&empty, "")?;
        rc.vars.extend(extra_vars.iter().cloned());
        run_update_stages(&self.stages, doc, &rc)
    }

    /// Evaluates the `let` variables (against an empty document).
    fn eval_let_vars(&self, now: bson::DateTime) -> Result<Vec<(String, Bson)>> {
        let empty = Bson::Document(Document::new());
        let mut vars: Vec<(String, Bson)> = Vec::with_capacity(self.let_vars.len());
        for (name, e) in &self.let_vars {
            let mut ctx = crate::expr::EvalContext::new(&empty);
            ctx.now = now;
            ctx.vars = vars.clone();
            let v = e.eval_or_null(&mut ctx)?;
            vars.push((name.clone(), v));
        }
        Ok(vars)
    }
}

/// Collects the foreign collections of `stages` (see [`Pipeline::foreign_collections`]).
fn collect_foreign(stages: &[Stage], db: &str, out: &mut Vec<(String, String)>) {
    for stage in stages {
        let (own, subs): (Option<(String, String)>, Vec<&[Stage]>) = match stage {
            Stage::Lookup(l) => (l.foreign(db), l.sub_pipeline().into_iter().collect()),
            Stage::UnionWith(u) => (u.foreign(db), vec![u.sub_pipeline()]),
            Stage::GraphLookup(g) => (Some(g.foreign(db)), Vec::new()),
            Stage::Facet(f) => (None, f.sub_pipelines()),
            _ => (None, Vec::new()),
        };
        if let Some(ns) = own
            && !out.contains(&ns)
        {
            out.push(ns);
        }
        for sub in subs {
            collect_foreign(sub, db, out);
        }
    }
}

/// Splits off a leading external stage; an external stage anywhere else is refused (40602).
fn leading_external(stages: &[Bson], opts: &PipelineOptions) -> Result<Option<(String, Bson)>> {
    if opts.external_stages.is_empty() {
        return Ok(None);
    }
    let mut found = None;
    for (i, s) in stages.iter().enumerate() {
        let Bson::Document(d) = s else { continue };
        let Some((name, spec)) = d.iter().next() else {
            continue;
        };
        if d.len() == 1 && opts.external_stages.iter().any(|e| e == name) {
            if i != 0 {
                return Err(QueryError::location(
                    40602,
                    format!("{name} is only valid as the first stage in a pipeline"),
                ));
            }
            found = Some((name.clone(), spec.clone()));
        }
    }
    Ok(found)
}

/// Runs update-style stages on one document.
pub(crate) fn run_update_stages(
    stages: &[Stage],
    doc: Document,
    rc: &RunCtx<'_>,
) -> Result<Document> {
    let mut doc = doc;
    for stage in stages {
        doc = match stage {
            Stage::Project(p) => p.apply_one(doc, rc)?,
            Stage::ReplaceRoot(r) => r.apply_one(doc, rc)?,
            other => {
                return Err(QueryError::new(
                    crate::error::MongoCode::InvalidOptions,
                    format!(
                        "{} is not allowed to be used within an update",
                        other.name()
                    ),
                ));
            }
        };
    }
    Ok(doc)
}

/// Parses a list of stages in the given context.
pub(crate) fn parse_stages(stages: &[Bson], pc: &ParseCtx) -> Result<Vec<Stage>> {
    if stages.len() > pc.limits.max_pipeline_length {
        return Err(QueryError::location(
            7749501,
            format!(
                "Pipeline length must be no longer than {} stages.",
                pc.limits.max_pipeline_length
            ),
        ));
    }
    let mut out = Vec::with_capacity(stages.len());
    for (i, s) in stages.iter().enumerate() {
        let Bson::Document(d) = s else {
            return Err(QueryError::type_mismatch(
                "Each element of the 'pipeline' array must be an object",
            ));
        };
        let stage = parse_stage(d, pc, i == 0)?;
        if stage.is_write() {
            match pc.nesting {
                Nesting::Top => {}
                Nesting::Lookup => {
                    return Err(QueryError::location(
                        51047,
                        format!(
                            "{} is not allowed to be used within a $lookup stage",
                            stage.name()
                        ),
                    ));
                }
                Nesting::Facet => {
                    return Err(QueryError::location(
                        40600,
                        format!(
                            "{} is not allowed to be used within a $facet stage",
                            stage.name()
                        ),
                    ));
                }
                Nesting::UnionWith => {
                    return Err(QueryError::location(
                        31441,
                        format!(
                            "{} is not allowed within a $unionWith's sub-pipeline",
                            stage.name()
                        ),
                    ));
                }
                Nesting::Update => {}
            }
            if i + 1 != stages.len() {
                return Err(QueryError::location(
                    40601,
                    format!(
                        "{} can only be the final stage in the pipeline",
                        stage.name()
                    ),
                ));
            }
        }
        if pc.nesting == Nesting::Update && !stage.allowed_in_update() {
            return Err(QueryError::new(
                crate::error::MongoCode::InvalidOptions,
                format!(
                    "{} is not allowed to be used within an update",
                    stage.name()
                ),
            ));
        }
        if pc.nesting == Nesting::Facet && matches!(stage, Stage::Facet(_)) {
            return Err(QueryError::location(
                40600,
                "$facet is not allowed to be used within a $facet stage",
            ));
        }
        out.push(stage);
    }
    Ok(out)
}

/// Parses one `{"$stage": spec}` document.
fn parse_stage(d: &Document, pc: &ParseCtx, first: bool) -> Result<Stage> {
    let mut it = d.iter();
    let (Some((name, spec)), None) = (it.next(), it.next()) else {
        return Err(QueryError::location(
            40323,
            "A pipeline stage specification object must contain exactly one field.",
        ));
    };
    match name.as_str() {
        "$match" => Ok(Stage::Match(match_stage::MatchStage::parse(spec)?)),
        "$project" => Ok(Stage::Project(project::ProjectStage::parse_project(
            spec, pc,
        )?)),
        "$addFields" | "$set" => Ok(Stage::Project(project::ProjectStage::parse_add_fields(
            name, spec, pc,
        )?)),
        "$unset" => Ok(Stage::Project(project::ProjectStage::parse_unset(spec)?)),
        "$group" => Ok(Stage::Group(group::GroupStage::parse(spec, pc)?)),
        "$sort" => Ok(Stage::Sort(sort::SortStage::parse(spec)?)),
        "$limit" => Ok(Stage::Limit(limit_skip::parse_limit(spec)?)),
        "$skip" => Ok(Stage::Skip(limit_skip::parse_skip(spec)?)),
        "$count" => Ok(Stage::Count(count::parse_count(spec)?)),
        "$unwind" => Ok(Stage::Unwind(unwind::UnwindStage::parse(spec)?)),
        "$lookup" => Ok(Stage::Lookup(Box::new(lookup::LookupStage::parse(
            spec, pc,
        )?))),
        "$graphLookup" => Ok(Stage::GraphLookup(Box::new(
            graph_lookup::GraphLookupStage::parse(spec, pc)?,
        ))),
        "$facet" => Ok(Stage::Facet(facet::FacetStage::parse(spec, pc)?)),
        "$replaceRoot" => Ok(Stage::ReplaceRoot(
            replace_root::ReplaceRootStage::parse_replace_root(spec, pc)?,
        )),
        "$replaceWith" => Ok(Stage::ReplaceRoot(
            replace_root::ReplaceRootStage::parse_replace_with(spec, pc)?,
        )),
        "$sortByCount" => Ok(Stage::SortByCount(sort_by_count::SortByCountStage::parse(
            spec, pc,
        )?)),
        "$sample" => Ok(Stage::Sample(sample::parse_sample(spec)?)),
        "$bucket" => Ok(Stage::Bucket(bucket::BucketStage::parse(spec, pc)?)),
        "$bucketAuto" => Ok(Stage::BucketAuto(bucket_auto::BucketAutoStage::parse(
            spec, pc,
        )?)),
        "$setWindowFields" => Ok(Stage::SetWindowFields(Box::new(
            set_window_fields::SetWindowFieldsStage::parse(spec, pc)?,
        ))),
        "$unionWith" => Ok(Stage::UnionWith(Box::new(
            union_with::UnionWithStage::parse(spec, pc)?,
        ))),
        "$out" => Ok(Stage::Out(out_merge::OutStage::parse(spec)?)),
        "$merge" => Ok(Stage::Merge(Box::new(out_merge::MergeStage::parse(
            spec, pc,
        )?))),
        "$documents" => {
            if !first {
                return Err(QueryError::location(
                    40602,
                    "$documents is only valid as the first stage in a pipeline",
                ));
            }
            Ok(Stage::Documents(documents::DocumentsStage::parse(
                spec, pc,
            )?))
        }
        "$redact" => Ok(Stage::Redact(redact::RedactStage::parse(spec, pc)?)),
        other => Err(QueryError::location(
            40324,
            format!("Unrecognized pipeline stage name: '{other}'"),
        )),
    }
}

/// Runs stages in order over `docs`.
pub(crate) fn run_stages(
    stages: &[Stage],
    docs: Vec<Document>,
    rc: &RunCtx<'_>,
) -> Result<Vec<Document>> {
    let mut docs = docs;
    for (i, stage) in stages.iter().enumerate() {
        docs = match (stage, top_k(&stages[i + 1..])) {
            // `$sort` followed by `$limit` (maybe after `$skip`) only needs the first k.
            (Stage::Sort(s), Some(k)) => s.apply_top(docs, k)?,
            _ => run_stage(stage, docs, rc)?,
        };
    }
    Ok(docs)
}

/// How many leading documents the stages after a `$sort` can use: `skip + limit` when they
/// start with `$skip`s and then a `$limit`.
fn top_k(after: &[Stage]) -> Option<usize> {
    let mut skipped: u64 = 0;
    for s in after {
        match s {
            Stage::Skip(n) => skipped = skipped.saturating_add(*n),
            Stage::Limit(n) => return usize::try_from(skipped.saturating_add(*n)).ok(),
            _ => return None,
        }
    }
    None
}

/// Runs one stage.
fn run_stage(stage: &Stage, docs: Vec<Document>, rc: &RunCtx<'_>) -> Result<Vec<Document>> {
    match stage {
        Stage::Match(m) => m.apply(docs, rc),
        Stage::Project(p) => docs.into_iter().map(|d| p.apply_one(d, rc)).collect(),
        Stage::Group(g) => g.apply(docs, rc),
        Stage::Sort(s) => s.apply(docs),
        Stage::Limit(n) => Ok(limit_skip::apply_limit(docs, *n)),
        Stage::Skip(n) => Ok(limit_skip::apply_skip(docs, *n)),
        Stage::Count(field) => Ok(count::apply_count(docs, field)),
        Stage::Unwind(u) => Ok(u.apply(docs)),
        Stage::Lookup(l) => l.apply(docs, rc),
        Stage::GraphLookup(g) => g.apply(docs, rc),
        Stage::Facet(f) => f.apply(docs, rc),
        Stage::ReplaceRoot(r) => docs.into_iter().map(|d| r.apply_one(d, rc)).collect(),
        Stage::SortByCount(s) => s.apply(docs, rc),
        Stage::Sample(n) => Ok(sample::apply_sample(docs, *n, rc.seed)),
        Stage::Bucket(b) => b.apply(docs, rc),
        Stage::BucketAuto(b) => b.apply(docs, rc),
        Stage::SetWindowFields(w) => w.apply(docs, rc),
        Stage::UnionWith(u) => u.apply(docs, rc),
        Stage::Out(o) => o.apply(docs, rc),
        Stage::Merge(m) => m.apply(docs, rc),
        Stage::Documents(d) => d.apply(rc),
        Stage::Redact(r) => r.apply(docs, rc),
    }
}

/// Adds the top-level fields a filter document reads; `false` for `$expr` (may read anything)
/// and for operators whose fields are not keys (`$where`, `$text`).
fn filter_fields(filter: &Document, out: &mut std::collections::BTreeSet<String>) -> bool {
    filter.iter().all(|(k, v)| match k.as_str() {
        "$and" | "$or" | "$nor" => match v {
            Bson::Array(items) => items.iter().all(|i| match i {
                Bson::Document(d) => filter_fields(d, out),
                _ => true,
            }),
            _ => true,
        },
        "$comment" | "$alwaysTrue" | "$alwaysFalse" => true,
        k if k.starts_with('$') => false,
        k => {
            out.insert(k.split('.').next().unwrap_or(k).to_string());
            true
        }
    })
}
