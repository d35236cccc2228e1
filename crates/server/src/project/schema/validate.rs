//! Validation of request values against compiled field schemas ([`super::Field`],
//! [`super::ObjectSchema`]): type checks and conversions (JSON → BSON), constraints
//! (`min`/`max`, lengths, `pattern`, enum `values`), defaults, strict objects; and query
//! parameter text → typed JSON ([`query_value`]). Every refusal is a [`FieldError`] at the
//! value's location; nothing panics on any input.

use bson::oid::ObjectId;
use bson::{Bson, Document};
use serde_json::{Map, Value};
use stratus_flow::output::from_json;

use super::{Field, ObjectSchema, Ty};
use crate::project::error::{EXTRA_FORBIDDEN, FieldError, MISSING, TYPE_ERROR, VALUE_ERROR};

fn err(loc: &[Value], kind: &'static str, msg: impl Into<String>, errors: &mut Vec<FieldError>) {
    errors.push(FieldError::new(loc.to_vec(), kind, msg));
}

fn fmt_num(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

fn check_bounds(
    x: f64,
    min: Option<f64>,
    max: Option<f64>,
    loc: &[Value],
    errors: &mut Vec<FieldError>,
) -> bool {
    if let Some(m) = min
        && x < m
    {
        err(
            loc,
            VALUE_ERROR,
            format!("must be at least {}", fmt_num(m)),
            errors,
        );
        return false;
    }
    if let Some(m) = max
        && x > m
    {
        err(
            loc,
            VALUE_ERROR,
            format!("must be at most {}", fmt_num(m)),
            errors,
        );
        return false;
    }
    true
}

fn check_len(
    n: usize,
    min: Option<u64>,
    max: Option<u64>,
    unit: &str,
    loc: &[Value],
    errors: &mut Vec<FieldError>,
) -> bool {
    let n = n as u64;
    if let Some(m) = min
        && n < m
    {
        err(
            loc,
            VALUE_ERROR,
            format!("must have at least {m} {unit}"),
            errors,
        );
        return false;
    }
    if let Some(m) = max
        && n > m
    {
        err(
            loc,
            VALUE_ERROR,
            format!("must have at most {m} {unit}"),
            errors,
        );
        return false;
    }
    true
}

fn enum_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// Largest integer magnitude accepted from a JSON float with no fractional part (2^53).
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_992.0;

fn int_bson(i: i64) -> Bson {
    i32::try_from(i).map(Bson::Int32).unwrap_or(Bson::Int64(i))
}

/// Validates and converts `v` against `field` (its `required` flag is the caller's business);
/// errors are recorded at `loc`. Returns `None` when the value was refused.
pub(crate) fn validate_value(
    field: &Field,
    v: &Value,
    loc: &mut Vec<Value>,
    errors: &mut Vec<FieldError>,
) -> Option<Bson> {
    match &field.ty {
        Ty::Any => Some(from_json(v)),
        Ty::String {
            min_len,
            max_len,
            pattern,
        } => {
            let Value::String(s) = v else {
                err(loc, TYPE_ERROR, "expected a string", errors);
                return None;
            };
            if !check_len(
                s.chars().count(),
                *min_len,
                *max_len,
                "characters",
                loc,
                errors,
            ) {
                return None;
            }
            if let Some(p) = pattern
                && !p.re.is_match(s)
            {
                err(
                    loc,
                    VALUE_ERROR,
                    format!("must match the pattern {}", p.source),
                    errors,
                );
                return None;
            }
            Some(Bson::String(s.clone()))
        }
        Ty::Int { min, max } => {
            let i = match v {
                Value::Number(n) => match n.as_i64() {
                    Some(i) => Some(i),
                    None => n
                        .as_f64()
                        .filter(|f| f.fract() == 0.0 && f.abs() <= MAX_SAFE_INTEGER)
                        .map(|f| f as i64),
                },
                _ => None,
            };
            let Some(i) = i else {
                err(loc, TYPE_ERROR, "expected an integer", errors);
                return None;
            };
            check_bounds(i as f64, *min, *max, loc, errors).then(|| int_bson(i))
        }
        Ty::Number { min, max } => {
            let Value::Number(n) = v else {
                err(loc, TYPE_ERROR, "expected a number", errors);
                return None;
            };
            let x = n.as_f64().unwrap_or(f64::NAN);
            check_bounds(x, *min, *max, loc, errors).then(|| from_json(v))
        }
        Ty::Boolean => match v {
            Value::Bool(b) => Some(Bson::Boolean(*b)),
            _ => {
                err(loc, TYPE_ERROR, "expected a boolean", errors);
                None
            }
        },
        Ty::Datetime => match v {
            Value::String(s) => match bson::DateTime::parse_rfc3339_str(s) {
                Ok(d) => Some(Bson::DateTime(d)),
                Err(_) => {
                    err(
                        loc,
                        VALUE_ERROR,
                        "expected an ISO-8601 date-time such as 2024-03-27T10:00:00Z",
                        errors,
                    );
                    None
                }
            },
            _ => {
                err(
                    loc,
                    TYPE_ERROR,
                    "expected an ISO-8601 date-time string",
                    errors,
                );
                None
            }
        },
        Ty::ObjectId => match v {
            Value::String(s) => match (s.len() == 24).then(|| ObjectId::parse_str(s)) {
                Some(Ok(o)) => Some(Bson::ObjectId(o)),
                _ => {
                    err(
                        loc,
                        VALUE_ERROR,
                        "expected an ObjectId: 24 hexadecimal characters",
                        errors,
                    );
                    None
                }
            },
            _ => {
                err(loc, TYPE_ERROR, "expected an ObjectId string", errors);
                None
            }
        },
        Ty::Enum(values) => {
            if values.iter().any(|x| enum_eq(x, v)) {
                Some(from_json(v))
            } else {
                let list: Vec<String> = values.iter().map(Value::to_string).collect();
                err(
                    loc,
                    VALUE_ERROR,
                    format!("must be one of {}", list.join(", ")),
                    errors,
                );
                None
            }
        }
        Ty::Object(schema) => {
            let Value::Object(map) = v else {
                err(loc, TYPE_ERROR, "expected an object", errors);
                return None;
            };
            match schema {
                None => Some(from_json(v)),
                Some(s) => {
                    let before = errors.len();
                    let d = validate_object(s, map, loc, false, errors);
                    (errors.len() == before).then_some(Bson::Document(d))
                }
            }
        }
        Ty::Array {
            items,
            min_len,
            max_len,
        } => {
            let Value::Array(arr) = v else {
                err(loc, TYPE_ERROR, "expected an array", errors);
                return None;
            };
            if !check_len(arr.len(), *min_len, *max_len, "items", loc, errors) {
                return None;
            }
            let before = errors.len();
            let mut out = Vec::with_capacity(arr.len());
            for (i, item) in arr.iter().enumerate() {
                loc.push(Value::from(i));
                if item.is_null() {
                    if items.required {
                        err(loc, TYPE_ERROR, "must not be null", errors);
                    } else {
                        out.push(Bson::Null);
                    }
                } else if let Some(b) = validate_value(items, item, loc, errors) {
                    out.push(b);
                }
                loc.pop();
            }
            (errors.len() == before).then_some(Bson::Array(out))
        }
    }
}

/// Validates an object against `schema`: declared fields in order (required, defaults,
/// `null` only for optional fields), then undeclared keys (`extra_forbidden`). In `partial`
/// mode no top-level field is required and no default is applied.
pub(crate) fn validate_object(
    schema: &ObjectSchema,
    map: &Map<String, Value>,
    loc: &mut Vec<Value>,
    partial: bool,
    errors: &mut Vec<FieldError>,
) -> Document {
    let mut out = Document::new();
    let mut present = 0usize;
    for (name, field) in &schema.fields {
        loc.push(Value::String(name.clone()));
        let value = map.get(name);
        present += usize::from(value.is_some());
        match value {
            None => {
                if partial {
                } else if let Some(d) = &field.default {
                    out.insert(name.clone(), d.clone());
                } else if field.required {
                    err(loc, MISSING, "field required", errors);
                }
            }
            Some(Value::Null) => {
                if field.required {
                    err(
                        loc,
                        TYPE_ERROR,
                        "must not be null (the field is required)",
                        errors,
                    );
                } else {
                    out.insert(name.clone(), Bson::Null);
                }
            }
            Some(v) => {
                if let Some(b) = validate_value(field, v, loc, errors) {
                    out.insert(name.clone(), b);
                }
            }
        }
        loc.pop();
    }
    if present == map.len() {
        return out;
    }
    for k in map.keys() {
        if !schema.fields.iter().any(|(n, _)| n == k) {
            loc.push(Value::String(k.clone()));
            err(loc, EXTRA_FORBIDDEN, "extra fields not permitted", errors);
            loc.pop();
        }
    }
    out
}

/// Converts a query-string value to the JSON value `field` validates: numbers for `int` and
/// `number`, `true`/`false`/`1`/`0` (any case) for `boolean`, numbers for numeric enum values;
/// strings otherwise. `None` when the text cannot be that type.
pub(crate) fn query_value(field: &Field, raw: &str) -> Result<Value, &'static str> {
    match &field.ty {
        Ty::Int { .. } => raw
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| "expected an integer"),
        Ty::Number { .. } => {
            if let Ok(i) = raw.parse::<i64>() {
                return Ok(Value::from(i));
            }
            match raw.parse::<f64>() {
                Ok(f) if f.is_finite() => serde_json::Number::from_f64(f)
                    .map(Value::Number)
                    .ok_or("expected a number"),
                _ => Err("expected a number"),
            }
        }
        Ty::Boolean => {
            if raw.eq_ignore_ascii_case("true") || raw == "1" {
                Ok(Value::Bool(true))
            } else if raw.eq_ignore_ascii_case("false") || raw == "0" {
                Ok(Value::Bool(false))
            } else {
                Err("expected a boolean: true, false, 1 or 0")
            }
        }
        Ty::Enum(values) => {
            if values.iter().any(|v| v.as_str() == Some(raw)) {
                return Ok(Value::String(raw.to_string()));
            }
            match raw.parse::<f64>() {
                Ok(f) if f.is_finite() => {
                    Ok(raw.parse::<i64>().map(Value::from).unwrap_or_else(|_| {
                        serde_json::Number::from_f64(f)
                            .map_or(Value::String(raw.to_string()), Value::Number)
                    }))
                }
                _ => Ok(Value::String(raw.to_string())),
            }
        }
        _ => Ok(Value::String(raw.to_string())),
    }
}
