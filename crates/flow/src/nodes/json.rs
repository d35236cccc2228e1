//! JSON nodes: `buildMap`, `buildJsonObject`, `mergeJsonObjects`, `objectToString`,
//! `updateJsonObject`. Each writes `result` and, when given, `$.variables.<variable>`.
//!
//! - `buildMap`: `entries: [{condition, key, value}]` — `key: value` is included when the
//!   condition holds; later entries win on duplicate keys (reference §8.2.6).
//! - `buildJsonObject`: `value` (an object; values may be references or expressions).
//! - `mergeJsonObjects`: `objects` (array of objects, or a reference to one); shallow merge,
//!   later objects win; `null` entries are skipped.
//! - `objectToString`: `value` → its relaxed Extended JSON text (ObjectIds as `{"$oid"}`
//!   objects are rendered as 24-hex strings, dates as ISO-8601 strings, like HTTP output).
//! - `updateJsonObject`: modifies the object variable `variable` in place: `set` (object of
//!   dotted paths → values; missing intermediate objects are created) and `unset` (array of
//!   dotted paths).

use bson::{Bson, DateTime, Document};
use serde_json::Value;

use super::{Op, PureOp, pure};
use crate::compile::{Compiler, Fields};
use crate::cond::Cond;
use crate::context::Frame;
use crate::error::{Result, RunError};
use crate::value::{Mode, Tmpl, compile as compile_value};

/// Evaluates a condition against the frame.
pub(crate) fn eval_condition(c: &Cond, f: &Frame, now: DateTime) -> Result<bool> {
    c.eval(f, now)
}

/// A run-time type error naming the field.
pub(crate) fn type_error(field: &str, expected: &str, got: &Bson) -> RunError {
    RunError::node_failed(format!(
        "`{field}` must be {expected}, got {}",
        type_name(got)
    ))
}

/// A short name of a value's type for error messages.
pub(crate) fn type_name(v: &Bson) -> &'static str {
    match v {
        Bson::Null | Bson::Undefined => "null",
        Bson::Boolean(_) => "a boolean",
        Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) | Bson::Decimal128(_) => "a number",
        Bson::String(_) => "a string",
        Bson::Document(_) => "an object",
        Bson::Array(_) => "an array",
        Bson::ObjectId(_) => "an ObjectId",
        Bson::DateTime(_) => "a date",
        _ => "a BSON value of another type",
    }
}

#[derive(Debug)]
struct BuildMap(Vec<(Cond, String, Tmpl)>);

impl PureOp for BuildMap {
    fn eval(&self, f: &Frame, now: DateTime) -> Result<Bson> {
        let mut d = Document::new();
        for (cond, key, value) in &self.0 {
            if eval_condition(cond, f, now)? {
                d.insert(key.clone(), value.eval(f, now)?);
            }
        }
        Ok(Bson::Document(d))
    }
}

pub(crate) fn compile_build_map(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    let ep = f.at("entries");
    let mut entries = Vec::new();
    match f.get("entries") {
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let ip = format!("{ep}[{i}]");
                let Value::Object(o) = item else {
                    c.error(&ip, "must be an object {condition, key, value}");
                    continue;
                };
                for k in o.keys() {
                    if !matches!(k.as_str(), "condition" | "key" | "value") {
                        c.error(
                            &format!("{ip}.{k}"),
                            format!("unknown field {k:?} of a buildMap entry"),
                        );
                    }
                }
                let cond = match o.get("condition") {
                    Some(v) => c.condition_value(v, &format!("{ip}.condition")),
                    None => {
                        c.error(&ip, "missing field `condition`");
                        Cond::Const(false)
                    }
                };
                let key = match o.get("key") {
                    Some(Value::String(s)) => s.clone(),
                    _ => {
                        c.error(&format!("{ip}.key"), "must be a string");
                        String::new()
                    }
                };
                let value = match o.get("value") {
                    Some(v) => compile_value(c, v, &format!("{ip}.value"), Mode::Cql),
                    None => {
                        c.error(&ip, "missing field `value`");
                        Tmpl::Lit(Bson::Null)
                    }
                };
                entries.push((cond, key, value));
            }
        }
        Some(_) => c.error(&ep, "must be an array of {condition, key, value}"),
        None => c.error(&f.path, "missing field `entries` (buildMap)"),
    }
    let target = c.target_var(f);
    pure(BuildMap(entries), target)
}

#[derive(Debug)]
struct BuildObject(Tmpl);

impl PureOp for BuildObject {
    fn eval(&self, f: &Frame, now: DateTime) -> Result<Bson> {
        match self.0.eval(f, now)? {
            v @ Bson::Document(_) => Ok(v),
            other => Err(type_error("value", "an object", &other)),
        }
    }
}

pub(crate) fn compile_build_json_object(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    let value = c.req_value(f, "value");
    if let Some(b) = value.literal()
        && !matches!(b, Bson::Document(_))
    {
        c.error(&f.at("value"), "must be an object");
    }
    let target = c.target_var(f);
    pure(BuildObject(value), target)
}

#[derive(Debug)]
struct Merge(Tmpl);

impl PureOp for Merge {
    fn eval(&self, f: &Frame, now: DateTime) -> Result<Bson> {
        let Bson::Array(items) = self.0.eval(f, now)? else {
            return Err(RunError::node_failed(
                "`objects` must be an array of objects",
            ));
        };
        let mut out = Document::new();
        for item in items {
            match item {
                Bson::Document(d) => {
                    for (k, v) in d {
                        out.insert(k, v);
                    }
                }
                Bson::Null => {}
                other => return Err(type_error("objects[]", "an object", &other)),
            }
        }
        Ok(Bson::Document(out))
    }
}

pub(crate) fn compile_merge_json_objects(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    let objects = c.req_value(f, "objects");
    let target = c.target_var(f);
    pure(Merge(objects), target)
}

#[derive(Debug)]
struct ToJsonString(Tmpl);

impl PureOp for ToJsonString {
    fn eval(&self, f: &Frame, now: DateTime) -> Result<Bson> {
        let v = crate::output::to_json(self.0.eval(f, now)?);
        Ok(Bson::String(v.to_string()))
    }
}

pub(crate) fn compile_object_to_string(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    let value = c.req_value(f, "value");
    let target = c.target_var(f);
    pure(ToJsonString(value), target)
}

#[derive(Debug)]
struct UpdateObject {
    var: usize,
    set: Vec<(Vec<String>, Tmpl)>,
    unset: Vec<Vec<String>>,
}

impl PureOp for UpdateObject {
    fn eval(&self, f: &Frame, now: DateTime) -> Result<Bson> {
        let mut d = match f.var(self.var) {
            Some(Bson::Document(d)) => d.clone(),
            Some(other) => return Err(type_error("variable", "an object", other)),
            None => Document::new(),
        };
        for (path, t) in &self.set {
            let v = t.eval(f, now)?;
            set_path(&mut d, path, v)?;
        }
        for path in &self.unset {
            unset_path(&mut d, path);
        }
        Ok(Bson::Document(d))
    }
}

fn set_path(d: &mut Document, path: &[String], v: Bson) -> Result<()> {
    let Some((first, rest)) = path.split_first() else {
        return Ok(());
    };
    if rest.is_empty() {
        d.insert(first.clone(), v);
        return Ok(());
    }
    if !d.contains_key(first) {
        d.insert(first.clone(), Document::new());
    }
    match d.get_mut(first) {
        Some(Bson::Document(inner)) => set_path(inner, rest, v),
        _ => Err(RunError::node_failed(format!(
            "cannot set {}: {first:?} is not an object",
            path.join(".")
        ))),
    }
}

fn unset_path(d: &mut Document, path: &[String]) {
    match path.split_first() {
        Some((first, [])) => {
            d.remove(first);
        }
        Some((first, rest)) => {
            if let Some(Bson::Document(inner)) = d.get_mut(first) {
                unset_path(inner, rest);
            }
        }
        None => {}
    }
}

pub(crate) fn compile_update_json_object(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    let mut set = Vec::new();
    match f.get("set") {
        Some(Value::Object(m)) => {
            for (k, v) in m {
                let p = format!("{}.set.{k}", f.path);
                if k.is_empty() || k.split('.').any(str::is_empty) {
                    c.error(&p, "invalid path");
                }
                set.push((
                    k.split('.').map(str::to_string).collect(),
                    compile_value(c, v, &p, Mode::Cql),
                ));
            }
        }
        Some(_) => c.error(&f.at("set"), "must be an object of path → value"),
        None => {}
    }
    let mut unset = Vec::new();
    match f.get("unset") {
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                match item.as_str() {
                    Some(s) if !s.is_empty() => {
                        unset.push(s.split('.').map(str::to_string).collect())
                    }
                    _ => c.error(
                        &format!("{}.unset[{i}]", f.path),
                        "must be a non-empty string",
                    ),
                }
            }
        }
        Some(_) => c.error(&f.at("unset"), "must be an array of paths"),
        None => {}
    }
    if set.is_empty() && unset.is_empty() {
        c.error(&f.path, "updateJsonObject needs `set` and/or `unset`");
    }
    let var = c.in_place_var(f, "variable");
    pure(UpdateObject { var, set, unset }, Some(var))
}
