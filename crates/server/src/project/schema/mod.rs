//! Field schemas of models, request bodies and query parameters: compiled once from the
//! definition's field syntax (`{"type": "int", "required": true, "min": 0}`), then used to
//! validate and convert request values without re-reading JSON or recompiling regexes.
//!
//! Field types: `string`, `int`, `number`, `boolean`, `datetime`, `objectId`, `object`
//! (with `fields`; without `fields` any object), `array` (with `items`), `enum` (with
//! `values`), `any`. Constraints: `required`, `default`, `min`/`max` (int, number),
//! `minLength`/`maxLength` (string characters, array items), `pattern` (string, unanchored
//! regex search), `values` (enum), `description` (documentation only).
//!
//! Invariants: a compiled [`Field`]'s `default` already passed its own validation (and is
//! stored converted); objects are strict (undeclared keys are `extra_forbidden`); validated
//! output follows the schema's field order.
//!
//! This module compiles declarations; [`validate`] checks and converts values against them.

use bson::Bson;
use regex::Regex;
use serde_json::{Map, Value};

use super::error::DefError;
use super::limits::DefinitionLimits;

mod validate;
pub(crate) use validate::{query_value, validate_object, validate_value};

/// Deepest nesting of `object`/`array` field declarations.
pub const MAX_SCHEMA_DEPTH: usize = 16;
/// Most fields one object (model, body, nested object) may declare.
pub const MAX_FIELDS_PER_OBJECT: usize = 500;
/// Longest field name, in bytes.
pub const MAX_FIELD_NAME_BYTES: usize = 256;
/// Longest `pattern`, in bytes.
pub const MAX_PATTERN_BYTES: usize = 1024;
/// Largest compiled `pattern` (the regex crate's size limit), in bytes.
pub const MAX_PATTERN_COMPILED_BYTES: usize = 1 << 20;
/// Most `values` an `enum` field may list.
pub const MAX_ENUM_VALUES: usize = 1000;

/// Where a declaration sits: its nesting depth and the limits that apply.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Nest {
    depth: usize,
    max_depth: usize,
    max_fields: usize,
}

impl Nest {
    /// The top level of a declaration compiled under `limits`.
    pub(crate) fn top(limits: &DefinitionLimits) -> Nest {
        Nest {
            depth: 0,
            max_depth: limits.max_schema_depth,
            max_fields: limits.max_fields_per_object,
        }
    }

    fn deeper(self) -> Nest {
        Nest {
            depth: self.depth + 1,
            ..self
        }
    }
}

/// The type names of fields, as written in definitions.
pub const FIELD_TYPES: &[&str] = &[
    "string", "int", "number", "boolean", "datetime", "objectId", "object", "array", "enum", "any",
];

/// Type names allowed for query parameters (scalars).
pub const QUERY_PARAM_TYPES: &[&str] = &[
    "string", "int", "number", "boolean", "datetime", "objectId", "enum",
];

/// A compiled regex with its source (shown in errors and OpenAPI).
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    pub(crate) source: String,
    re: Regex,
}

/// A compiled field type with its constraints.
#[derive(Debug, Clone)]
pub(crate) enum Ty {
    String {
        min_len: Option<u64>,
        max_len: Option<u64>,
        pattern: Option<Pattern>,
    },
    Int {
        min: Option<f64>,
        max: Option<f64>,
    },
    Number {
        min: Option<f64>,
        max: Option<f64>,
    },
    Boolean,
    Datetime,
    ObjectId,
    /// `None` = any object (no declared fields).
    Object(Option<ObjectSchema>),
    Array {
        items: Box<Field>,
        min_len: Option<u64>,
        max_len: Option<u64>,
    },
    Enum(Vec<Value>),
    Any,
}

/// One compiled field.
#[derive(Debug, Clone)]
pub(crate) struct Field {
    pub(crate) ty: Ty,
    pub(crate) required: bool,
    /// The default, converted (applied when the field is absent, outside partial mode).
    pub(crate) default: Option<Bson>,
    /// The default as written (for OpenAPI).
    pub(crate) default_json: Option<Value>,
    pub(crate) description: Option<String>,
}

/// A compiled object: its fields in declaration order.
#[derive(Debug, Clone, Default)]
pub(crate) struct ObjectSchema {
    pub(crate) fields: Vec<(String, Field)>,
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The optional `description` member of the object at `path` (a string).
pub(crate) fn description(
    map: &Map<String, Value>,
    path: &str,
    errors: &mut Vec<DefError>,
) -> Option<String> {
    match map.get("description") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            errors.push(DefError::new(
                format!("{path}.description"),
                "invalid_type",
                "must be a string",
            ));
            None
        }
    }
}

/// Whether `name` may be a field name (not empty, no leading `$`, no `.`, no NUL).
pub(crate) fn valid_field_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_FIELD_NAME_BYTES
        && !name.starts_with('$')
        && !name.contains(['.', '\0'])
}

/// Compiles the fields of an object declaration (`{"name": {...}, ...}`) found at `path`.
pub(crate) fn compile_object(
    v: &Value,
    path: &str,
    nest: Nest,
    errors: &mut Vec<DefError>,
) -> ObjectSchema {
    let Value::Object(map) = v else {
        errors.push(DefError::new(
            path,
            "invalid_type",
            "must be an object of field declarations",
        ));
        return ObjectSchema::default();
    };
    if map.len() > nest.max_fields {
        errors.push(DefError::new(
            path,
            "too_many",
            format!(
                "declares {} fields, more than the limit of {}",
                map.len(),
                nest.max_fields
            ),
        ));
    }
    let mut fields = Vec::with_capacity(map.len());
    for (name, spec) in map {
        let p = format!("{path}.{name}");
        if !valid_field_name(name) {
            errors.push(DefError::new(
                &p,
                "invalid_name",
                format!(
                    "invalid field name {name:?}: must be 1..={MAX_FIELD_NAME_BYTES} bytes, \
                     not start with '$' and not contain '.'"
                ),
            ));
            continue;
        }
        if let Some(f) = compile_field(spec, &p, nest, false, errors) {
            fields.push((name.clone(), f));
        }
    }
    ObjectSchema { fields }
}

fn constraint_keys(ty: &str) -> &'static [&'static str] {
    match ty {
        "string" => &["minLength", "maxLength", "pattern"],
        "int" | "number" => &["min", "max"],
        "array" => &["items", "minLength", "maxLength"],
        "object" => &["fields"],
        "enum" => &["values"],
        _ => &[],
    }
}

const COMMON_KEYS: &[&str] = &["type", "required", "default", "description"];
const ALL_CONSTRAINTS: &[&str] = &[
    "minLength",
    "maxLength",
    "pattern",
    "min",
    "max",
    "items",
    "fields",
    "values",
];

fn length(
    map: &Map<String, Value>,
    key: &str,
    path: &str,
    errors: &mut Vec<DefError>,
) -> Option<u64> {
    let v = map.get(key)?;
    match v.as_u64() {
        Some(n) => Some(n),
        None => {
            errors.push(DefError::new(
                format!("{path}.{key}"),
                "invalid_constraint",
                format!("{key} must be a non-negative integer"),
            ));
            None
        }
    }
}

fn bound(
    map: &Map<String, Value>,
    key: &str,
    path: &str,
    errors: &mut Vec<DefError>,
) -> Option<f64> {
    let v = map.get(key)?;
    match v.as_f64() {
        Some(n) if n.is_finite() => Some(n),
        _ => {
            errors.push(DefError::new(
                format!("{path}.{key}"),
                "invalid_constraint",
                format!("{key} must be a number"),
            ));
            None
        }
    }
}

/// Compiles one field declaration at `path`. `scalar_only` restricts the type to
/// [`QUERY_PARAM_TYPES`]. Returns `None` when the type itself is unusable.
pub(crate) fn compile_field(
    spec: &Value,
    path: &str,
    nest: Nest,
    scalar_only: bool,
    errors: &mut Vec<DefError>,
) -> Option<Field> {
    if nest.depth > nest.max_depth {
        errors.push(DefError::new(
            path,
            "too_deep",
            format!(
                "field declarations nest deeper than {} levels",
                nest.max_depth
            ),
        ));
        return None;
    }
    let owned;
    let map = match spec {
        Value::Object(m) => m,
        // Shorthand: `"price": "number"`.
        Value::String(s) => {
            let mut m = Map::new();
            m.insert("type".into(), Value::String(s.clone()));
            owned = m;
            &owned
        }
        other => {
            errors.push(DefError::new(
                path,
                "invalid_type",
                format!(
                    "a field declaration must be an object or a type name, not {}",
                    type_name(other)
                ),
            ));
            return None;
        }
    };
    let ty_name = match map.get("type") {
        Some(Value::String(s)) => s.as_str(),
        Some(_) => {
            errors.push(DefError::new(
                format!("{path}.type"),
                "invalid_type",
                "must be a string",
            ));
            return None;
        }
        None => {
            errors.push(DefError::new(path, "missing_field", "missing field `type`"));
            return None;
        }
    };
    let allowed: &[&str] = if scalar_only {
        QUERY_PARAM_TYPES
    } else {
        FIELD_TYPES
    };
    if !allowed.contains(&ty_name) {
        let (code, msg) = if scalar_only && FIELD_TYPES.contains(&ty_name) {
            (
                "invalid_query_param",
                format!(
                    "query parameters are scalars: type {ty_name:?} is not allowed (use one of {})",
                    allowed.join(", ")
                ),
            )
        } else {
            (
                "invalid_field_type",
                format!(
                    "unknown field type {ty_name:?} (expected one of {})",
                    allowed.join(", ")
                ),
            )
        };
        errors.push(DefError::new(format!("{path}.type"), code, msg));
        return None;
    }
    let own = constraint_keys(ty_name);
    for k in map.keys() {
        if COMMON_KEYS.contains(&k.as_str()) || own.contains(&k.as_str()) {
            continue;
        }
        if ALL_CONSTRAINTS.contains(&k.as_str()) {
            errors.push(DefError::new(
                format!("{path}.{k}"),
                "invalid_constraint",
                format!("{k} does not apply to a field of type {ty_name}"),
            ));
        } else {
            errors.push(DefError::new(
                format!("{path}.{k}"),
                "unknown_field",
                format!("unknown member {k:?} of a field declaration"),
            ));
        }
    }
    let required = match map.get("required") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            errors.push(DefError::new(
                format!("{path}.required"),
                "invalid_type",
                "must be a boolean",
            ));
            false
        }
    };
    let description = match map.get("description") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            errors.push(DefError::new(
                format!("{path}.description"),
                "invalid_type",
                "must be a string",
            ));
            None
        }
    };
    let lengths = |errors: &mut Vec<DefError>| {
        let min = length(map, "minLength", path, errors);
        let max = length(map, "maxLength", path, errors);
        if let (Some(a), Some(b)) = (min, max)
            && a > b
        {
            errors.push(DefError::new(
                format!("{path}.minLength"),
                "invalid_constraint",
                "minLength is greater than maxLength",
            ));
        }
        (min, max)
    };
    let bounds = |errors: &mut Vec<DefError>| {
        let min = bound(map, "min", path, errors);
        let max = bound(map, "max", path, errors);
        if let (Some(a), Some(b)) = (min, max)
            && a > b
        {
            errors.push(DefError::new(
                format!("{path}.min"),
                "invalid_constraint",
                "min is greater than max",
            ));
        }
        (min, max)
    };
    let ty = match ty_name {
        "string" => {
            let (min_len, max_len) = lengths(errors);
            let pattern = match map.get("pattern") {
                None => None,
                Some(Value::String(src)) if src.len() > MAX_PATTERN_BYTES => {
                    errors.push(DefError::new(
                        format!("{path}.pattern"),
                        "invalid_pattern",
                        format!("the pattern is longer than {MAX_PATTERN_BYTES} bytes"),
                    ));
                    None
                }
                Some(Value::String(src)) => {
                    match regex::RegexBuilder::new(src)
                        .size_limit(MAX_PATTERN_COMPILED_BYTES)
                        .build()
                    {
                        Ok(re) => Some(Pattern {
                            source: src.clone(),
                            re,
                        }),
                        Err(e) => {
                            errors.push(DefError::new(
                                format!("{path}.pattern"),
                                "invalid_pattern",
                                format!("invalid regular expression: {e}"),
                            ));
                            None
                        }
                    }
                }
                Some(_) => {
                    errors.push(DefError::new(
                        format!("{path}.pattern"),
                        "invalid_type",
                        "must be a string",
                    ));
                    None
                }
            };
            Ty::String {
                min_len,
                max_len,
                pattern,
            }
        }
        "int" => {
            let (min, max) = bounds(errors);
            Ty::Int { min, max }
        }
        "number" => {
            let (min, max) = bounds(errors);
            Ty::Number { min, max }
        }
        "boolean" => Ty::Boolean,
        "datetime" => Ty::Datetime,
        "objectId" => Ty::ObjectId,
        "object" => match map.get("fields") {
            None => Ty::Object(None),
            Some(f) => Ty::Object(Some(compile_object(
                f,
                &format!("{path}.fields"),
                nest.deeper(),
                errors,
            ))),
        },
        "array" => {
            let (min_len, max_len) = lengths(errors);
            let items = match map.get("items") {
                None => {
                    errors.push(DefError::new(
                        path,
                        "missing_field",
                        "an array field needs `items` (use {\"type\": \"any\"} for mixed arrays)",
                    ));
                    return None;
                }
                Some(i) => {
                    compile_field(i, &format!("{path}.items"), nest.deeper(), false, errors)?
                }
            };
            Ty::Array {
                items: Box::new(items),
                min_len,
                max_len,
            }
        }
        "enum" => match map.get("values") {
            Some(Value::Array(vals))
                if !vals.is_empty()
                    && vals.len() <= MAX_ENUM_VALUES
                    && vals.iter().all(|v| v.is_string() || v.is_number()) =>
            {
                Ty::Enum(vals.clone())
            }
            Some(_) => {
                errors.push(DefError::new(format!("{path}.values"), "invalid_constraint", format!("values must be a non-empty array (at most {MAX_ENUM_VALUES}) of strings or numbers")));
                return None;
            }
            None => {
                errors.push(DefError::new(
                    path,
                    "missing_field",
                    "an enum field needs `values`",
                ));
                return None;
            }
        },
        _ => Ty::Any,
    };
    let mut field = Field {
        ty,
        required,
        default: None,
        default_json: None,
        description,
    };
    if let Some(d) = map.get("default") {
        let mut errs = Vec::new();
        let mut loc = Vec::new();
        match validate_value(&field, d, &mut loc, &mut errs) {
            Some(b) if errs.is_empty() && !d.is_null() => {
                field.default = Some(b);
                field.default_json = Some(d.clone());
            }
            _ => {
                let why = errs
                    .first()
                    .map_or_else(|| "must not be null".to_string(), |e| e.msg.clone());
                errors.push(DefError::new(
                    format!("{path}.default"),
                    "invalid_default",
                    format!("the default does not fit the field: {why}"),
                ));
            }
        }
    }
    Some(field)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::project::error::VALUE_ERROR;

    fn top() -> Nest {
        Nest::top(&DefinitionLimits::default())
    }

    fn field(spec: Value) -> Field {
        let mut errors = Vec::new();
        let f = compile_field(&spec, "$.f", top(), false, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        f.expect("compiles")
    }

    #[test]
    fn query_text_becomes_typed_json() {
        let cases = [
            (json!({"type": "int"}), "42", Ok(json!(42))),
            (json!({"type": "int"}), "4.2", Err("expected an integer")),
            (json!({"type": "number"}), "4.5", Ok(json!(4.5))),
            (json!({"type": "number"}), "-3", Ok(json!(-3))),
            (json!({"type": "number"}), "NaN", Err("expected a number")),
            (json!({"type": "boolean"}), "False", Ok(json!(false))),
            (
                json!({"type": "boolean"}),
                "on",
                Err("expected a boolean: true, false, 1 or 0"),
            ),
            (
                json!({"type": "enum", "values": ["a", 2]}),
                "2",
                Ok(json!(2)),
            ),
            (
                json!({"type": "enum", "values": ["a", 2]}),
                "a",
                Ok(json!("a")),
            ),
            (json!({"type": "string"}), "007", Ok(json!("007"))),
        ];
        for (spec, raw, want) in cases {
            assert_eq!(query_value(&field(spec.clone()), raw), want, "{spec} {raw}");
        }
    }

    #[test]
    fn patterns_search_unanchored_and_defaults_are_converted() {
        let f = field(json!({"type": "string", "pattern": "b+"}));
        let mut errors = Vec::new();
        assert!(validate_value(&f, &json!("abbc"), &mut Vec::new(), &mut errors).is_some());
        assert!(validate_value(&f, &json!("ac"), &mut Vec::new(), &mut errors).is_none());
        assert_eq!(errors[0].kind, VALUE_ERROR);
        let f = field(json!({"type": "datetime", "default": "2024-01-01T00:00:00Z"}));
        assert!(matches!(f.default, Some(Bson::DateTime(_))));
        let mut errors = Vec::new();
        compile_field(
            &json!({"type": "string", "pattern": "x".repeat(MAX_PATTERN_BYTES + 1)}),
            "$.f",
            top(),
            false,
            &mut errors,
        );
        assert_eq!(errors[0].code, "invalid_pattern");
    }

    #[test]
    fn nesting_is_bounded() {
        let mut spec = json!({"type": "int"});
        for _ in 0..=MAX_SCHEMA_DEPTH {
            spec = json!({"type": "array", "items": spec});
        }
        let mut errors = Vec::new();
        assert!(compile_field(&spec, "$.f", top(), false, &mut errors).is_none());
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].code, "too_deep");
    }
}
