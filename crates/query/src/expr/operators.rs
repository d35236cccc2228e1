//! Expression operators (`{"$add": [...]}` …): the dispatcher and the shared argument helpers.
//!
//! Every operator except `$literal` parses into a [`Call`]: its name, its argument expressions
//! (positional, or named arguments stored in fixed slots), optional binding names (`$let`,
//! `$map`'s `as` …) and the function that evaluates it. The function receives the unevaluated
//! arguments, so it decides what to evaluate and when (`$cond`, `$and`, `$switch` are lazy).
//! The operator groups live in sibling files (`arithmetic.rs`, `string.rs` …); each exposes a
//! `parse` that returns `Ok(None)` for names it does not own.
//!
//! Invariant: operators evaluate sub-expressions only through [`Expr::eval`] and parse them
//! only through `parse_at_depth`, so they work unchanged in both dialects.
//!
//! Adding an operator (e.g. a CQL-only one in `cql.rs`): parse the argument with `fixed`
//! (positional, with an argument count range) or `named` (an object of named arguments) and
//! return `Operator::Call(call)`; the `func` receives the [`Call`] and the context and
//! evaluates what it needs with [`Call::eval_arg`].

use std::fmt;

use bson::{Bson, Document};

use super::{EvalContext, Expr, ParseOptions, parse_at_depth};
use crate::error::{QueryError, Result};

/// Largest string an operator may build (MongoDB's 16 MiB document limit); `$concat`,
/// `$replaceOne`/`$replaceAll` refuse to go beyond it (so `$reduce` cannot double a string
/// without bound).
pub const MAX_STRING_BYTES: usize = crate::limits::MAX_DOCUMENT_SIZE;
/// Largest array an operator may build (`$concatArrays`, `$range`, `$regexFindAll`). A 16 MiB
/// document cannot hold many more elements than this; in memory it is ~100 MiB of values.
pub const MAX_ARRAY_ELEMENTS: usize = 1_000_000;

/// Error unless a string of `len` bytes built by `op` stays within [`MAX_STRING_BYTES`].
pub(crate) fn check_string_len(op: &str, len: usize) -> Result<()> {
    if len > MAX_STRING_BYTES {
        return Err(QueryError::new(
            crate::error::MongoCode::BsonObjectTooLarge,
            format!(
                "{op} would build a string of {len} bytes, more than the limit of {MAX_STRING_BYTES}"
            ),
        ));
    }
    Ok(())
}

/// Error unless an array of `len` elements built by `op` stays within [`MAX_ARRAY_ELEMENTS`].
pub(crate) fn check_array_len(op: &str, len: usize) -> Result<()> {
    if len > MAX_ARRAY_ELEMENTS {
        return Err(QueryError::new(
            crate::error::MongoCode::BsonObjectTooLarge,
            format!(
                "{op} would build an array of {len} elements, more than the limit of {MAX_ARRAY_ELEMENTS}"
            ),
        ));
    }
    Ok(())
}

/// The evaluation function of a [`Call`].
pub type OpFn = fn(&Call, &mut EvalContext<'_>) -> Result<Option<Bson>>;

/// A parsed operator call.
#[derive(Debug, Clone, PartialEq)]
pub enum Operator {
    /// `$literal`: its argument, unevaluated.
    Literal(Bson),
    /// Any other operator.
    Call(Call),
}

/// A parsed operator other than `$literal`.
#[derive(Clone)]
pub struct Call {
    /// The operator name with its `$` (`"$add"`).
    pub name: &'static str,
    /// Argument expressions: positional, or named ones in the operator's fixed slot order
    /// (`None` = the optional argument was not given).
    pub args: Vec<Option<Expr>>,
    /// Names the operator binds (`$let` variables, `$map`/`$filter` `as`, …) or other
    /// constant parameters fixed at parse time.
    pub names: Vec<String>,
    /// Evaluates the call.
    pub func: OpFn,
}

impl fmt::Debug for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("name", &self.name)
            .field("args", &self.args)
            .field("names", &self.names)
            .finish_non_exhaustive()
    }
}

impl PartialEq for Call {
    fn eq(&self, other: &Self) -> bool {
        // Two calls of the same operator with the same arguments evaluate alike; the function
        // is determined by the name.
        self.name == other.name && self.args == other.args && self.names == other.names
    }
}

impl Call {
    /// A call with positional arguments.
    pub fn positional(name: &'static str, args: Vec<Expr>, func: OpFn) -> Call {
        Call {
            name,
            args: args.into_iter().map(Some).collect(),
            names: Vec::new(),
            func,
        }
    }

    /// Number of argument slots.
    pub fn len(&self) -> usize {
        self.args.len()
    }

    /// Whether there are no argument slots.
    pub fn is_empty(&self) -> bool {
        self.args.is_empty()
    }

    /// Whether the optional argument in slot `i` was given.
    pub fn has(&self, i: usize) -> bool {
        matches!(self.args.get(i), Some(Some(_)))
    }

    /// Evaluates slot `i`; an absent slot evaluates to *missing*.
    pub fn eval_arg(&self, i: usize, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
        match self.args.get(i) {
            Some(Some(e)) => e.eval(ctx),
            _ => Ok(None),
        }
    }

    /// Evaluates every slot in order.
    pub fn eval_all(&self, ctx: &mut EvalContext<'_>) -> Result<Vec<Option<Bson>>> {
        self.args
            .iter()
            .map(|a| match a {
                Some(e) => e.eval(ctx),
                None => Ok(None),
            })
            .collect()
    }

    /// Evaluates slot `i` with *missing* as null.
    pub fn eval_arg_or_null(&self, i: usize, ctx: &mut EvalContext<'_>) -> Result<Bson> {
        Ok(self.eval_arg(i, ctx)?.unwrap_or(Bson::Null))
    }
}

/// Parses `{name: arg}`.
pub fn parse_operator(
    name: &str,
    arg: &Bson,
    opts: &ParseOptions,
    depth: usize,
) -> Result<Operator> {
    if opts.dialect == super::Dialect::Cql
        && let Some(op) = super::cql::parse_cql_operator(name, arg, opts, depth)?
    {
        return Ok(op);
    }
    if name == "$literal" {
        return Ok(Operator::Literal(arg.clone()));
    }
    type GroupParser = fn(&str, &Bson, &ParseOptions, usize) -> Result<Option<Call>>;
    const GROUPS: &[GroupParser] = &[
        super::arithmetic::parse,
        super::comparison::parse,
        super::boolean::parse,
        super::conditional::parse,
        super::accumulator::parse_expression,
        super::accumulator_n::parse_expression,
        super::percentile::parse_expression,
        super::string::parse,
        super::array::parse,
        super::set::parse,
        super::object::parse,
        super::types::parse,
        super::variables::parse,
        super::date::parse,
    ];
    for group in GROUPS {
        if let Some(call) = group(name, arg, opts, depth)? {
            return Ok(Operator::Call(call));
        }
    }
    Err(unrecognized(name))
}

/// Location 31325 "Unrecognized expression '$foo'".
pub fn unrecognized(name: &str) -> QueryError {
    QueryError::location(31325, format!("Unrecognized expression '{name}'"))
}

impl Operator {
    /// Evaluates the operator; `None` is *missing*.
    pub fn eval(&self, ctx: &mut EvalContext<'_>) -> Result<Option<Bson>> {
        match self {
            Operator::Literal(b) => Ok(Some(b.clone())),
            Operator::Call(c) => (c.func)(c, ctx),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Argument parsing helpers shared by the operator groups.

/// The argument list of a positional operator: an array is the list, anything else is a single
/// argument (`{$abs: "$x"}` = `{$abs: ["$x"]}`).
pub(crate) fn parse_list(arg: &Bson, opts: &ParseOptions, depth: usize) -> Result<Vec<Expr>> {
    match arg {
        Bson::Array(items) => items
            .iter()
            .map(|i| parse_at_depth(i, opts, depth + 1))
            .collect(),
        other => Ok(vec![parse_at_depth(other, opts, depth)?]),
    }
}

/// Error 16020 "Expression $abs takes exactly 1 arguments. 2 were passed in.".
pub(crate) fn arg_count_error(name: &str, min: usize, max: usize, got: usize) -> QueryError {
    if min == max {
        QueryError::location(
            16020,
            format!("Expression {name} takes exactly {min} arguments. {got} were passed in."),
        )
    } else if max == usize::MAX {
        QueryError::location(
            16020,
            format!("Expression {name} takes at least {min} arguments. {got} were passed in."),
        )
    } else {
        QueryError::location(
            16020,
            format!(
                "Expression {name} takes at least {min} arguments, and at most {max}. {got} were passed in."
            ),
        )
    }
}

/// Parses a positional operator taking between `min` and `max` arguments.
pub(crate) fn fixed(
    name: &'static str,
    arg: &Bson,
    opts: &ParseOptions,
    depth: usize,
    min: usize,
    max: usize,
    func: OpFn,
) -> Result<Call> {
    let args = parse_list(arg, opts, depth)?;
    if args.len() < min || args.len() > max {
        return Err(arg_count_error(name, min, max, args.len()));
    }
    Ok(Call::positional(name, args, func))
}

/// Parses an operator whose argument is an object of named arguments: `fields` lists the
/// accepted names (their slot order), `required` those that must be present. Unknown and
/// missing fields are errors naming the operator.
pub(crate) fn named(
    name: &'static str,
    arg: &Bson,
    opts: &ParseOptions,
    depth: usize,
    fields: &[&str],
    required: &[&str],
    func: OpFn,
) -> Result<Call> {
    let Bson::Document(d) = arg else {
        return Err(QueryError::location(
            40057,
            format!(
                "{name} expects an object of named arguments but found: {}",
                type_name(arg)
            ),
        ));
    };
    let args = named_slots(name, d, opts, depth, fields, required)?;
    Ok(Call {
        name,
        args,
        names: Vec::new(),
        func,
    })
}

/// The named-argument slots of `d` (see [`named`]).
pub(crate) fn named_slots(
    name: &str,
    d: &Document,
    opts: &ParseOptions,
    depth: usize,
    fields: &[&str],
    required: &[&str],
) -> Result<Vec<Option<Expr>>> {
    let mut slots: Vec<Option<Expr>> = vec![None; fields.len()];
    for (k, v) in d {
        let Some(i) = fields.iter().position(|f| f == k) else {
            return Err(QueryError::location(
                40058,
                format!("{name} found an unknown argument: {k}"),
            ));
        };
        slots[i] = Some(parse_at_depth(v, opts, depth + 1)?);
    }
    for r in required {
        let i = fields
            .iter()
            .position(|f| f == r)
            .expect("invariant: required names are among the fields");
        if slots[i].is_none() {
            return Err(QueryError::location(
                40059,
                format!("{name} requires '{r}' to be specified"),
            ));
        }
    }
    Ok(slots)
}

/// MongoDB's type name of a value (`$type` names; `"missing"` for `None`).
pub fn type_name(v: &Bson) -> &'static str {
    match v {
        Bson::Double(_) => "double",
        Bson::String(_) => "string",
        Bson::Document(_) => "object",
        Bson::Array(_) => "array",
        Bson::Binary(_) => "binData",
        Bson::Undefined => "undefined",
        Bson::ObjectId(_) => "objectId",
        Bson::Boolean(_) => "bool",
        Bson::DateTime(_) => "date",
        Bson::Null => "null",
        Bson::RegularExpression(_) => "regex",
        Bson::DbPointer(_) => "dbPointer",
        Bson::JavaScriptCode(_) => "javascript",
        Bson::Symbol(_) => "symbol",
        Bson::JavaScriptCodeWithScope(_) => "javascriptWithScope",
        Bson::Int32(_) => "int",
        Bson::Timestamp(_) => "timestamp",
        Bson::Int64(_) => "long",
        Bson::Decimal128(_) => "decimal",
        Bson::MinKey => "minKey",
        Bson::MaxKey => "maxKey",
    }
}

/// [`type_name`] with `"missing"` for a missing value.
pub fn type_name_opt(v: Option<&Bson>) -> &'static str {
    v.map_or("missing", type_name)
}

/// Whether a value is null, undefined or missing (the "nullish" values most operators map to
/// a null result).
pub fn is_nullish(v: Option<&Bson>) -> bool {
    matches!(v, None | Some(Bson::Null | Bson::Undefined))
}

/// `v` with null and undefined mapped to missing (`None`), for matching on the argument.
pub(crate) fn present(v: Option<Bson>) -> Option<Bson> {
    match v {
        None | Some(Bson::Null | Bson::Undefined) => None,
        v => v,
    }
}

/// Evaluates `f` with extra variable bindings in scope, removing them afterwards.
pub(crate) fn with_vars<T>(
    ctx: &mut EvalContext<'_>,
    bindings: impl IntoIterator<Item = (String, Bson)>,
    f: impl FnOnce(&mut EvalContext<'_>) -> Result<T>,
) -> Result<T> {
    let mark = ctx.vars.len();
    ctx.vars.extend(bindings);
    let r = f(ctx);
    ctx.vars.truncate(mark);
    r
}

/// Checks a user variable name (`$let` names, `as`): non-empty, starting with a lowercase
/// letter or a non-ASCII character, then letters, digits and `_` (MongoDB's rules).
pub(crate) fn check_var_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return Err(QueryError::location(
            16866,
            "empty variable names are not allowed",
        ));
    };
    if !first.is_ascii_lowercase() && first.is_ascii() {
        return Err(QueryError::location(
            16867,
            format!("'{name}' starts with an invalid character for a user variable name"),
        ));
    }
    if let Some(bad) = chars.find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || !c.is_ascii())) {
        return Err(QueryError::location(
            16868,
            format!("'{name}' contains an invalid character for a variable name: '{bad}'"),
        ));
    }
    Ok(())
}

/// MongoDB truthiness: false, null, undefined, missing and numeric zero are false.
pub fn truthy(v: Option<&Bson>) -> bool {
    match v {
        None | Some(Bson::Null | Bson::Undefined) => false,
        Some(Bson::Boolean(b)) => *b,
        Some(Bson::Int32(i)) => *i != 0,
        Some(Bson::Int64(i)) => *i != 0,
        Some(Bson::Double(d)) => *d != 0.0,
        Some(Bson::Decimal128(d)) => crate::compare::decimal_to_f64(d) != 0.0,
        Some(_) => true,
    }
}

/// The ordinary string value of `v` in messages (relaxed Extended JSON).
pub(crate) fn show(v: &Bson) -> String {
    v.clone().into_relaxed_extjson().to_string()
}
