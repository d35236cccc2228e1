//! Compiled node inputs ("templates"): literals, `$.` references, CQL expressions and raw
//! MongoDB inputs, and their evaluation against a [`Frame`].
//!
//! Two input kinds (reference §8.5, ARCHITECTURE decision 5):
//! - [`Mode::Cql`]: a string `"$.…"` is a reference (keeps the value's type); an object whose
//!   single key is a CQL/shared expression operator is an expression (parsed once into the
//!   shared [`Expr`]); other objects are built key by key (keys literal); arrays element-wise.
//!   Objects whose single key is a MongoDB *query*, *update* or *stage* operator (`$gt`,
//!   `$in`, `$set`, `$match` …) are data, not expressions, so filters built with
//!   `buildJsonObject` keep them.
//! - [`Mode::Mongo`]: `filter`, `update`, `pipeline`, `projection`, `sort` of database nodes:
//!   `$.` substitution only — MongoDB operators (`{"$add": ["$price", 1]}`) reach the database
//!   untouched.
//!
//! In both modes MongoDB Extended JSON wrappers (`{"$oid": …}`, `{"$date": …}` …) are decoded;
//! a wrapper containing a reference (`{"$oid": "$.request.pathParams.id"}`) is substituted
//! first and decoded at run time.
//!
//! Invariant: a subtree without references or expressions is folded into one literal at
//! compile time, so evaluating it is a clone.

use std::borrow::Cow;

use bson::{Bson, Document};
use serde_json::Value;
use stratus_query::expr::{Dialect, EvalContext, Expr, ExternalResolver, ParseOptions};

use crate::compile::Compiler;
use crate::context::{Frame, Ref};
use crate::error::{Result, RunError};

/// How an input is interpreted (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// CQL value: references and expressions.
    Cql,
    /// Raw MongoDB input: references only.
    Mongo,
}

/// A compiled input.
#[derive(Debug, Clone)]
pub(crate) enum Tmpl {
    /// A constant.
    Lit(Bson),
    /// A `$.` reference.
    Ref(Ref),
    /// A CQL expression.
    Expr(Box<Expr>),
    /// An object built from templates (keys literal).
    Doc(Vec<(String, Tmpl)>),
    /// An array built from templates.
    Arr(Vec<Tmpl>),
    /// An Extended-JSON wrapper containing references: substituted, then decoded.
    Ejson(Value),
}

/// Extended JSON wrapper keys (decoded, never treated as operators).
const EJSON_KEYS: &[&str] = &[
    "$oid",
    "$date",
    "$numberLong",
    "$numberInt",
    "$numberDouble",
    "$numberDecimal",
    "$binary",
    "$uuid",
    "$regularExpression",
    "$timestamp",
    "$minKey",
    "$maxKey",
    "$symbol",
    "$code",
    "$undefined",
    "$dbPointer",
];

/// MongoDB query, update and stage operators: in a CQL value an object with one of these as
/// its single key is data (a filter or update being built), not an expression.
const DATA_OPERATORS: &[&str] = &[
    // query
    "$eq",
    "$ne",
    "$neq",
    "$gt",
    "$gte",
    "$ge",
    "$lt",
    "$lte",
    "$le",
    "$in",
    "$nin",
    "$exists",
    "$type",
    "$size",
    "$all",
    "$elemMatch",
    "$regex",
    "$options",
    "$not",
    "$nor",
    "$and",
    "$or",
    "$expr",
    "$where",
    "$text",
    "$search",
    "$jsonSchema",
    "$bitsAllSet",
    "$bitsAnySet",
    "$bitsAllClear",
    "$bitsAnyClear",
    "$geoWithin",
    "$geoIntersects",
    "$near",
    "$nearSphere",
    // update
    "$set",
    "$unset",
    "$inc",
    "$mul",
    "$rename",
    "$setOnInsert",
    "$push",
    "$pull",
    "$pullAll",
    "$addToSet",
    "$pop",
    "$currentDate",
    "$bit",
    "$each",
    "$position",
    "$sort",
    // stages
    "$match",
    "$project",
    "$group",
    "$limit",
    "$skip",
    "$unwind",
    "$lookup",
    "$addFields",
    "$replaceRoot",
    "$replaceWith",
    "$count",
    "$facet",
    "$sample",
    "$sortByCount",
    "$bucket",
    "$bucketAuto",
    "$unionWith",
    "$out",
    "$merge",
    "$vectorSearch",
];

/// Whether `key` is an Extended JSON wrapper key.
pub(crate) fn is_ejson_key(key: &str) -> bool {
    EJSON_KEYS.contains(&key)
}

/// The parse options of CQL expressions.
pub(crate) fn cql_options() -> ParseOptions {
    ParseOptions {
        dialect: Dialect::Cql,
        ..Default::default()
    }
}

/// Converts literal JSON (possibly Extended JSON) to BSON.
pub(crate) fn json_to_bson(v: &Value) -> std::result::Result<Bson, String> {
    match v {
        Value::Null => Ok(Bson::Null),
        Value::Bool(b) => Ok(Bson::Boolean(*b)),
        Value::String(s) => Ok(Bson::String(s.clone())),
        Value::Number(_) | Value::Array(_) | Value::Object(_) => {
            Bson::try_from(v.clone()).map_err(|e| format!("invalid Extended JSON: {e}"))
        }
    }
}

/// Whether the JSON contains a `$.` reference (in a string value or an object key).
pub(crate) fn has_refs(v: &Value) -> bool {
    match v {
        Value::String(s) => s.starts_with("$."),
        Value::Array(items) => items.iter().any(has_refs),
        Value::Object(m) => m.iter().any(|(k, v)| k.starts_with("$.") || has_refs(v)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// Compiles an input at JSON path `path`; errors go to the compiler.
pub(crate) fn compile(c: &mut Compiler<'_>, v: &Value, path: &str, mode: Mode) -> Tmpl {
    match v {
        Value::String(s) if s.starts_with("$.") => match c.reference(s, path) {
            Some(r) => Tmpl::Ref(r),
            None => Tmpl::Lit(Bson::Null),
        },
        Value::Array(items) => {
            let parts: Vec<Tmpl> = items
                .iter()
                .enumerate()
                .map(|(i, x)| compile(c, x, &format!("{path}[{i}]"), mode))
                .collect();
            if parts.iter().all(|p| matches!(p, Tmpl::Lit(_))) {
                Tmpl::Lit(Bson::Array(
                    parts
                        .into_iter()
                        .map(|p| match p {
                            Tmpl::Lit(b) => b,
                            _ => Bson::Null,
                        })
                        .collect(),
                ))
            } else {
                Tmpl::Arr(parts)
            }
        }
        Value::Object(m) => {
            if m.len() == 1 {
                let (k, arg) = m.iter().next().expect("invariant: one entry");
                if is_ejson_key(k) {
                    if has_refs(v) {
                        c.check_refs(v, path);
                        return Tmpl::Ejson(v.clone());
                    }
                    return match json_to_bson(v) {
                        Ok(b) => Tmpl::Lit(b),
                        Err(e) => {
                            c.error(path, e);
                            Tmpl::Lit(Bson::Null)
                        }
                    };
                }
                if mode == Mode::Cql
                    && is_expression_key(k, arg)
                    && let Some(t) = compile_expression(c, v, path, false)
                {
                    return t;
                }
            }
            let mut parts = Vec::with_capacity(m.len());
            for (k, x) in m {
                parts.push((k.clone(), compile(c, x, &format!("{path}.{k}"), mode)));
            }
            if parts.iter().all(|(_, p)| matches!(p, Tmpl::Lit(_))) {
                let mut d = Document::new();
                for (k, p) in parts {
                    if let Tmpl::Lit(b) = p {
                        d.insert(k, b);
                    }
                }
                Tmpl::Lit(Bson::Document(d))
            } else {
                Tmpl::Doc(parts)
            }
        }
        other => match json_to_bson(other) {
            Ok(b) => Tmpl::Lit(b),
            Err(e) => {
                c.error(path, e);
                Tmpl::Lit(Bson::Null)
            }
        },
    }
}

/// Whether `{key: arg}` in a CQL value is an expression (see [`DATA_OPERATORS`]).
fn is_expression_key(key: &str, arg: &Value) -> bool {
    if !key.starts_with('$') || key.starts_with("$.") || DATA_OPERATORS.contains(&key) {
        return false;
    }
    // `{"$min": {"score": 1}}` is an update document, `{"$min": [..]}` an expression.
    !(matches!(key, "$min" | "$max") && arg.is_object())
}

/// Compiles `v` (an object with one operator key) as a CQL expression. With `required`, an
/// unknown operator is an error; otherwise `None` lets the caller treat the object as data.
pub(crate) fn compile_expression(
    c: &mut Compiler<'_>,
    v: &Value,
    path: &str,
    required: bool,
) -> Option<Tmpl> {
    let b = match json_to_bson(v) {
        Ok(b) => b,
        Err(e) => {
            c.error(path, e);
            return Some(Tmpl::Lit(Bson::Null));
        }
    };
    match Expr::parse(&b, &cql_options()) {
        Ok(e) => {
            c.check_refs(v, path);
            Some(Tmpl::Expr(Box::new(e)))
        }
        Err(e) if !required && e.code == stratus_query::MongoCode::Location(31325) => None,
        Err(e) => {
            c.error(path, format!("invalid CQL expression: {}", e.message));
            Some(Tmpl::Lit(Bson::Null))
        }
    }
}

impl Tmpl {
    /// Evaluates the input; a missing reference is `null`.
    pub(crate) fn eval(&self, f: &Frame, now: bson::DateTime) -> Result<Bson> {
        match self {
            Tmpl::Lit(b) => Ok(b.clone()),
            Tmpl::Ref(r) => Ok(f.get(r).unwrap_or(Bson::Null)),
            Tmpl::Expr(e) => {
                let mut ctx = EvalContext::cql(f, now);
                Ok(e.eval(&mut ctx)?.unwrap_or(Bson::Null))
            }
            Tmpl::Doc(parts) => {
                let mut d = Document::new();
                for (k, p) in parts {
                    d.insert(k.clone(), p.eval(f, now)?);
                }
                Ok(Bson::Document(d))
            }
            Tmpl::Arr(items) => Ok(Bson::Array(
                items
                    .iter()
                    .map(|p| p.eval(f, now))
                    .collect::<Result<_>>()?,
            )),
            Tmpl::Ejson(v) => {
                let substituted = substitute_json(v, f);
                json_to_bson(&substituted)
                    .map_err(|e| RunError::node_failed(format!("after substitution: {e}")))
            }
        }
    }

    /// Evaluates the input, borrowing a literal or a stored referenced value instead of
    /// copying it (same value as [`Tmpl::eval`]).
    pub(crate) fn eval_cow<'a>(
        &'a self,
        f: &'a Frame<'_>,
        now: bson::DateTime,
    ) -> Result<Cow<'a, Bson>> {
        match self {
            Tmpl::Lit(b) => Ok(Cow::Borrowed(b)),
            Tmpl::Ref(r) => Ok(match f.get_ref(r) {
                Some(v) => Cow::Borrowed(v),
                None => Cow::Owned(f.computed(r).unwrap_or(Bson::Null)),
            }),
            other => other.eval(f, now).map(Cow::Owned),
        }
    }

    /// The constant value, when the input is one.
    pub(crate) fn literal(&self) -> Option<&Bson> {
        match self {
            Tmpl::Lit(b) => Some(b),
            _ => None,
        }
    }
}

/// Replaces `$.` strings in JSON by their values rendered as relaxed Extended JSON.
fn substitute_json(v: &Value, f: &Frame) -> Value {
    match v {
        Value::String(s) if s.starts_with("$.") => {
            let path: Vec<String> = s[2..].split('.').map(str::to_string).collect();
            f.resolve(&path)
                .map(Bson::into_relaxed_extjson)
                .unwrap_or(Value::Null)
        }
        Value::Array(items) => Value::Array(items.iter().map(|x| substitute_json(x, f)).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), substitute_json(x, f)))
                .collect(),
        ),
        other => other.clone(),
    }
}
