//! String nodes. `appendString` modifies the string variable `variable` in place (appends
//! `value`, converted with [`display`]). The others read `value` and write `result` (and the
//! optional `variable`): `concatStrings` (`values` array, optional `separator`), `toString`,
//! `stringLength` (Unicode scalar values), `sliceString` (`start`, optional `end`; character
//! positions, negative counts from the end, clamped), `splitString` (`separator`, non-empty),
//! `stringOperation` (`operation` = `contains` | `startsWith` | `endsWith` | `indexOf`
//! (character position or -1) | `replace` (first) | `replaceAll`, with `search` and
//! `replacement`), `toLower`, `toUpper`, `trimString`.
//!
//! Conversion to text ([`display`]): strings as is, integers in decimal, doubles in Rust's
//! shortest round-trip form (`2.5`, `3` for 3.0 is `3`), booleans `true`/`false`, `null` as
//! `null`, ObjectIds as 24-hex, dates as ISO-8601, objects and arrays as JSON.

use std::borrow::Cow;

use bson::{Bson, DateTime};

use super::json::type_error;
use super::{Op, PureOp, pure};
use crate::compile::{Compiler, Fields};
use crate::context::Frame;
use crate::error::{Result, RunError};
use crate::value::Tmpl;

/// The text form of a value (see the module docs).
pub(crate) fn display(v: &Bson) -> String {
    match v {
        Bson::String(s) => s.clone(),
        Bson::Int32(i) => i.to_string(),
        Bson::Int64(i) => i.to_string(),
        Bson::Double(d) => {
            if d.fract() == 0.0 && d.abs() < 1e15 {
                format!("{}", *d as i64)
            } else {
                d.to_string()
            }
        }
        Bson::Decimal128(d) => d.to_string(),
        Bson::Boolean(b) => b.to_string(),
        Bson::Null | Bson::Undefined => "null".to_string(),
        Bson::ObjectId(o) => o.to_hex(),
        Bson::DateTime(d) => crate::output::iso(*d),
        other => crate::output::to_json(other.clone()).to_string(),
    }
}

/// Appends the text form of `v` (see [`display`]) to `out`.
fn display_into(out: &mut String, v: &Bson) {
    match v {
        Bson::String(s) => out.push_str(s),
        other => out.push_str(&display(other)),
    }
}

fn string_of(v: Bson, field: &str) -> Result<String> {
    match v {
        Bson::String(s) => Ok(s),
        other => Err(type_error(field, "a string", &other)),
    }
}

fn str_of<'a>(v: &'a Bson, field: &str) -> Result<&'a str> {
    match v {
        Bson::String(s) => Ok(s),
        other => Err(type_error(field, "a string", other)),
    }
}

#[derive(Debug)]
struct Append {
    var: usize,
    value: Tmpl,
}

impl PureOp for Append {
    fn eval(&self, f: &Frame, now: DateTime) -> Result<Bson> {
        let mut s = match f.var(self.var) {
            Some(Bson::String(s)) => s.clone(),
            Some(Bson::Null) | None => String::new(),
            Some(other) => return Err(type_error("variable", "a string", other)),
        };
        s.push_str(&display(&self.value.eval(f, now)?));
        Ok(Bson::String(s))
    }

    /// Same as `eval`, appending to the variable's string in place (same checks, same order).
    fn eval_mut(&self, f: &mut Frame<'_>, now: DateTime) -> Result<Bson> {
        match f.var(self.var) {
            Some(Bson::String(_) | Bson::Null) | None => {}
            Some(other) => return Err(type_error("variable", "a string", other)),
        }
        let v = self.value.eval_cow(f, now)?;
        let mut add = String::new();
        display_into(&mut add, &v);
        drop(v);
        let mut s = match f.take_var(self.var) {
            Some(Bson::String(s)) => s,
            _ => String::new(),
        };
        s.push_str(&add);
        Ok(Bson::String(s))
    }
}

pub(crate) fn compile_append(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    let value = c.req_value(f, "value");
    let var = c.in_place_var(f, "variable");
    pure(Append { var, value }, Some(var))
}

#[derive(Debug)]
struct Concat {
    values: Tmpl,
    separator: Option<Tmpl>,
}

impl PureOp for Concat {
    fn eval(&self, f: &Frame, now: DateTime) -> Result<Bson> {
        // Element-wise when `values` is an array of inputs: each element is borrowed.
        let parts: Vec<Cow<'_, Bson>> = match &self.values {
            Tmpl::Arr(items) => items
                .iter()
                .map(|t| t.eval_cow(f, now))
                .collect::<Result<_>>()?,
            t => match t.eval_cow(f, now)? {
                Cow::Borrowed(Bson::Array(items)) => items.iter().map(Cow::Borrowed).collect(),
                Cow::Owned(Bson::Array(items)) => items.into_iter().map(Cow::Owned).collect(),
                _ => return Err(RunError::node_failed("`values` must be an array")),
            },
        };
        let sep = match &self.separator {
            Some(t) => t.eval_cow(f, now)?,
            None => Cow::Owned(Bson::String(String::new())),
        };
        let sep = str_of(&sep, "separator")?;
        let mut out = String::new();
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                out.push_str(sep);
            }
            display_into(&mut out, p);
        }
        Ok(Bson::String(out))
    }
}

pub(crate) fn compile_concat(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    let values = c.req_value(f, "values");
    let separator = c.opt_value(f, "separator");
    let target = c.target_var(f);
    pure(Concat { values, separator }, target)
}

#[derive(Debug, Clone, Copy)]
enum Unary {
    ToString,
    Length,
    Lower,
    Upper,
    Trim,
}

#[derive(Debug)]
struct UnaryOp {
    value: Tmpl,
    op: Unary,
}

impl PureOp for UnaryOp {
    fn eval(&self, f: &Frame, now: DateTime) -> Result<Bson> {
        let v = self.value.eval_cow(f, now)?;
        Ok(match self.op {
            Unary::ToString => Bson::String(display(&v)),
            Unary::Length => {
                Bson::Int64(i64::try_from(str_of(&v, "value")?.chars().count()).unwrap_or(i64::MAX))
            }
            Unary::Lower => Bson::String(str_of(&v, "value")?.to_lowercase()),
            Unary::Upper => Bson::String(str_of(&v, "value")?.to_uppercase()),
            Unary::Trim => Bson::String(str_of(&v, "value")?.trim().to_string()),
        })
    }
}

fn compile_unary(c: &mut Compiler<'_>, f: &mut Fields<'_>, op: Unary) -> Op {
    let value = c.req_value(f, "value");
    let target = c.target_var(f);
    pure(UnaryOp { value, op }, target)
}

pub(crate) fn compile_to_string(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    compile_unary(c, f, Unary::ToString)
}
pub(crate) fn compile_length(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    compile_unary(c, f, Unary::Length)
}
pub(crate) fn compile_to_lower(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    compile_unary(c, f, Unary::Lower)
}
pub(crate) fn compile_to_upper(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    compile_unary(c, f, Unary::Upper)
}
pub(crate) fn compile_trim(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    compile_unary(c, f, Unary::Trim)
}

fn int_of(v: &Bson, field: &str) -> Result<i64> {
    match stratus_query::compare::Number::of(v) {
        Some(stratus_query::compare::Number::Int(i)) => Ok(i),
        Some(n) if n.as_f64().fract() == 0.0 && n.as_f64().is_finite() => Ok(n.as_f64() as i64),
        _ => Err(type_error(field, "an integer", v)),
    }
}

#[derive(Debug)]
struct Slice {
    value: Tmpl,
    start: Tmpl,
    end: Option<Tmpl>,
}

impl PureOp for Slice {
    fn eval(&self, f: &Frame, now: DateTime) -> Result<Bson> {
        let s = string_of(self.value.eval(f, now)?, "value")?;
        let chars: Vec<char> = s.chars().collect();
        let len = i64::try_from(chars.len()).unwrap_or(i64::MAX);
        let norm = |i: i64| -> usize {
            let p = if i < 0 { len + i } else { i };
            usize::try_from(p.clamp(0, len)).unwrap_or(0)
        };
        let start = norm(int_of(&self.start.eval(f, now)?, "start")?);
        let end = match &self.end {
            Some(t) => match t.eval(f, now)? {
                Bson::Null => chars.len(),
                v => norm(int_of(&v, "end")?),
            },
            None => chars.len(),
        };
        Ok(Bson::String(if start < end {
            chars[start..end].iter().collect()
        } else {
            String::new()
        }))
    }
}

pub(crate) fn compile_slice(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    let value = c.req_value(f, "value");
    let start = c.req_value(f, "start");
    let end = c.opt_value(f, "end");
    let target = c.target_var(f);
    pure(Slice { value, start, end }, target)
}

#[derive(Debug)]
struct Split {
    value: Tmpl,
    separator: Tmpl,
}

impl PureOp for Split {
    fn eval(&self, f: &Frame, now: DateTime) -> Result<Bson> {
        let s = string_of(self.value.eval(f, now)?, "value")?;
        let sep = string_of(self.separator.eval(f, now)?, "separator")?;
        if sep.is_empty() {
            return Err(RunError::node_failed("`separator` must not be empty"));
        }
        Ok(Bson::Array(
            s.split(sep.as_str())
                .map(|p| Bson::String(p.to_string()))
                .collect(),
        ))
    }
}

pub(crate) fn compile_split(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    let value = c.req_value(f, "value");
    let separator = c.req_value(f, "separator");
    let target = c.target_var(f);
    pure(Split { value, separator }, target)
}

#[derive(Debug)]
struct Operation {
    value: Tmpl,
    op: &'static str,
    search: Tmpl,
    replacement: Option<Tmpl>,
}

impl PureOp for Operation {
    fn eval(&self, f: &Frame, now: DateTime) -> Result<Bson> {
        let s = string_of(self.value.eval(f, now)?, "value")?;
        let search = string_of(self.search.eval(f, now)?, "search")?;
        let replacement = || -> Result<String> {
            match &self.replacement {
                Some(t) => Ok(display(&t.eval(f, now)?)),
                None => Ok(String::new()),
            }
        };
        Ok(match self.op {
            "contains" => Bson::Boolean(s.contains(&search)),
            "startsWith" => Bson::Boolean(s.starts_with(&search)),
            "endsWith" => Bson::Boolean(s.ends_with(&search)),
            "indexOf" => Bson::Int64(match s.find(&search) {
                Some(b) => i64::try_from(s[..b].chars().count()).unwrap_or(i64::MAX),
                None => -1,
            }),
            "replace" => Bson::String(s.replacen(&search, &replacement()?, 1)),
            _ => Bson::String(s.replace(&search, &replacement()?)),
        })
    }
}

pub(crate) fn compile_operation(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    let value = c.req_value(f, "value");
    let op = c.choice(
        f,
        "operation",
        &[
            "contains",
            "startsWith",
            "endsWith",
            "indexOf",
            "replace",
            "replaceAll",
        ],
    );
    if !f.map.contains_key("operation") {
        c.error(&f.path, "missing field `operation` (stringOperation)");
    }
    let search = c.req_value(f, "search");
    let replacement = c.opt_value(f, "replacement");
    if matches!(op, "replace" | "replaceAll") && replacement.is_none() {
        c.error(
            &f.path,
            format!("missing field `replacement` (operation {op})"),
        );
    }
    let target = c.target_var(f);
    pure(
        Operation {
            value,
            op,
            search,
            replacement,
        },
        target,
    )
}
