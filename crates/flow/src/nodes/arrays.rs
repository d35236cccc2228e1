//! Array nodes. In-place nodes modify the array variable `variable` (which must be set
//! before): `appendArray` (`value`), `extendArray` (`values`: an array). The others read
//! `array` and write `result` (and the optional `variable`): `arrayContains` (`value`;
//! MongoDB equality, `1 == 1.0`), `arrayIsEmpty`, `getArrayItem` (`index`, 0-based, negative
//! counts from the end, out of range → `null`), `arrayLength`, `reverseArray`, `sortArray`
//! (`order` `asc`/`desc`, optional `key`: a dotted path inside object elements; MongoDB's
//! BSON order, stable).

use bson::{Bson, DateTime};
use stratus_query::compare::{Number, compare, values_equal};

use super::json::type_error;
use super::{Op, PureOp, pure};
use crate::compile::{Compiler, Fields};
use crate::context::{Frame, walk};
use crate::error::Result;
use crate::value::Tmpl;

fn array_of(v: Bson, field: &str) -> Result<Vec<Bson>> {
    match v {
        Bson::Array(a) => Ok(a),
        other => Err(type_error(field, "an array", &other)),
    }
}

fn var_array(f: &Frame, slot: usize) -> Result<Vec<Bson>> {
    check_var_array(f, slot)?;
    match f.var(slot) {
        Some(Bson::Array(a)) => Ok(a.clone()),
        _ => Ok(Vec::new()),
    }
}

/// Fails unless variable `slot` is an array, `null` or unset.
fn check_var_array(f: &Frame, slot: usize) -> Result<()> {
    match f.var(slot) {
        Some(Bson::Array(_) | Bson::Null) | None => Ok(()),
        Some(other) => Err(type_error("variable", "an array", other)),
    }
}

#[derive(Debug)]
struct Append {
    var: usize,
    value: Tmpl,
    extend: bool,
}

impl PureOp for Append {
    fn eval(&self, f: &Frame, now: DateTime) -> Result<Bson> {
        let mut a = var_array(f, self.var)?;
        let v = self.value.eval(f, now)?;
        if self.extend {
            a.extend(array_of(v, "values")?);
        } else {
            a.push(v);
        }
        Ok(Bson::Array(a))
    }

    /// Same as `eval`, appending to the variable's array in place (same checks, same order).
    fn eval_mut(&self, f: &mut Frame<'_>, now: DateTime) -> Result<Bson> {
        check_var_array(f, self.var)?;
        let v = self.value.eval(f, now)?;
        let extra = if self.extend {
            array_of(v, "values")?
        } else {
            vec![v]
        };
        let mut a = match f.take_var(self.var) {
            Some(Bson::Array(a)) => a,
            _ => Vec::new(),
        };
        a.extend(extra);
        Ok(Bson::Array(a))
    }
}

pub(crate) fn compile_append(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    let value = c.req_value(f, "value");
    let var = c.in_place_var(f, "variable");
    pure(
        Append {
            var,
            value,
            extend: false,
        },
        Some(var),
    )
}

pub(crate) fn compile_extend(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    let value = c.req_value(f, "values");
    let var = c.in_place_var(f, "variable");
    pure(
        Append {
            var,
            value,
            extend: true,
        },
        Some(var),
    )
}

#[derive(Debug, Clone, Copy)]
enum Query {
    Contains,
    IsEmpty,
    Length,
    Reverse,
}

#[derive(Debug)]
struct ArrayQuery {
    array: Tmpl,
    value: Option<Tmpl>,
    q: Query,
}

impl PureOp for ArrayQuery {
    fn eval(&self, f: &Frame, now: DateTime) -> Result<Bson> {
        let v = self.array.eval_cow(f, now)?;
        let Bson::Array(a) = &*v else {
            return Err(type_error("array", "an array", &v));
        };
        Ok(match self.q {
            Query::Contains => {
                let x = match &self.value {
                    Some(t) => t.eval_cow(f, now)?,
                    None => std::borrow::Cow::Owned(Bson::Null),
                };
                Bson::Boolean(a.iter().any(|e| values_equal(e, &x)))
            }
            Query::IsEmpty => Bson::Boolean(a.is_empty()),
            Query::Length => Bson::Int64(i64::try_from(a.len()).unwrap_or(i64::MAX)),
            Query::Reverse => Bson::Array(a.iter().rev().cloned().collect()),
        })
    }
}

fn compile_query(c: &mut Compiler<'_>, f: &mut Fields<'_>, q: Query) -> Op {
    let array = c.req_value(f, "array");
    let value = match q {
        Query::Contains => Some(c.req_value(f, "value")),
        Query::IsEmpty | Query::Length | Query::Reverse => None,
    };
    let target = c.target_var(f);
    pure(ArrayQuery { array, value, q }, target)
}

pub(crate) fn compile_contains(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    compile_query(c, f, Query::Contains)
}
pub(crate) fn compile_is_empty(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    compile_query(c, f, Query::IsEmpty)
}
pub(crate) fn compile_length(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    compile_query(c, f, Query::Length)
}
pub(crate) fn compile_reverse(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    compile_query(c, f, Query::Reverse)
}

#[derive(Debug)]
struct GetItem {
    array: Tmpl,
    index: Tmpl,
}

impl PureOp for GetItem {
    fn eval(&self, f: &Frame, now: DateTime) -> Result<Bson> {
        let v = self.array.eval_cow(f, now)?;
        let Bson::Array(a) = &*v else {
            return Err(type_error("array", "an array", &v));
        };
        let idx = self.index.eval_cow(f, now)?;
        let i = match Number::of(&idx) {
            Some(Number::Int(i)) => i,
            Some(Number::Double(d)) | Some(Number::Decimal(d)) if d.fract() == 0.0 => d as i64,
            _ => return Err(type_error("index", "an integer", &idx)),
        };
        let len = i64::try_from(a.len()).unwrap_or(i64::MAX);
        let pos = if i < 0 { len + i } else { i };
        Ok(usize::try_from(pos)
            .ok()
            .and_then(|p| a.get(p).cloned())
            .unwrap_or(Bson::Null))
    }
}

pub(crate) fn compile_get_item(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    let array = c.req_value(f, "array");
    let index = c.req_value(f, "index");
    let target = c.target_var(f);
    pure(GetItem { array, index }, target)
}

#[derive(Debug)]
struct Sort {
    array: Tmpl,
    desc: bool,
    key: Option<Vec<String>>,
}

impl PureOp for Sort {
    fn eval(&self, f: &Frame, now: DateTime) -> Result<Bson> {
        let mut a = array_of(self.array.eval(f, now)?, "array")?;
        let key_of = |v: &Bson| -> Bson {
            match &self.key {
                Some(k) => walk(v, k).cloned().unwrap_or(Bson::Null),
                None => v.clone(),
            }
        };
        let mut keyed: Vec<(Bson, Bson)> = a.drain(..).map(|v| (key_of(&v), v)).collect();
        keyed.sort_by(|x, y| {
            let o = compare(&x.0, &y.0);
            if self.desc { o.reverse() } else { o }
        });
        Ok(Bson::Array(keyed.into_iter().map(|(_, v)| v).collect()))
    }
}

pub(crate) fn compile_sort(c: &mut Compiler<'_>, f: &mut Fields<'_>) -> Op {
    let array = c.req_value(f, "array");
    let desc = c.choice(f, "order", &["asc", "desc"]) == "desc";
    let key = c
        .string(f, "key", false)
        .map(|k| k.split('.').map(str::to_string).collect());
    let target = c.target_var(f);
    pure(Sort { array, desc, key }, target)
}
