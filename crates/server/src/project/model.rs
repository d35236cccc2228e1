//! Models: a name, the collection its documents live in, a compiled field schema and index
//! declarations (`{"fields": {"name": 1}, "unique": true, "name": "by_name"}`).
//!
//! Invariants: model names and collections are unique within a project (checked by the
//! compiler); an index's key fields start with a declared field or `_id`.

use bson::Document;
use serde_json::Value;

use super::error::{DefError, FieldError, TYPE_ERROR};
use super::limits::DefinitionLimits;
use super::schema::{self, Nest, ObjectSchema};

/// Most models one project may declare.
pub const MAX_MODELS: usize = 500;
/// Most indexes one model may declare.
pub const MAX_INDEXES_PER_MODEL: usize = 32;
/// Longest model name, in bytes.
pub const MAX_MODEL_NAME_BYTES: usize = 64;
/// Longest collection name, in bytes.
pub const MAX_COLLECTION_NAME_BYTES: usize = 120;

/// A model, compiled: validate documents against it with [`CompiledModel::validate`].
#[derive(Debug)]
pub struct CompiledModel {
    /// The model's name (`^[A-Za-z][A-Za-z0-9_]*$`).
    pub name: String,
    /// The collection its documents live in (defaults to the model name).
    pub collection: String,
    /// Free text from the definition.
    pub description: Option<String>,
    pub(crate) schema: ObjectSchema,
}

impl CompiledModel {
    /// Validates a request-body document against the model (strict: undeclared fields are
    /// refused). `partial` makes every top-level field optional and applies no defaults (the
    /// PATCH form). Error locations start with `"body"`.
    pub fn validate(&self, v: &Value, partial: bool) -> Result<Document, Vec<FieldError>> {
        validate_body_object(&self.schema, v, partial)
    }
}

/// Validates `v` as a body object against `schema` (locations under `"body"`).
pub(crate) fn validate_body_object(
    schema: &ObjectSchema,
    v: &Value,
    partial: bool,
) -> Result<Document, Vec<FieldError>> {
    let mut loc = vec![Value::from("body")];
    let mut errors = Vec::new();
    let Value::Object(map) = v else {
        return Err(vec![FieldError::new(
            loc,
            TYPE_ERROR,
            "expected a JSON object",
        )]);
    };
    let d = schema::validate_object(schema, map, &mut loc, partial, &mut errors);
    if errors.is_empty() {
        Ok(d)
    } else {
        Err(errors)
    }
}

/// An index to create on a model's collection.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexDef {
    /// The collection.
    pub collection: String,
    /// Key specification (`{"name": 1, "added": -1}`), values Int32 1 or -1.
    pub keys: Document,
    /// Whether the index refuses duplicate keys.
    pub unique: bool,
    /// The index name, if the definition gives one.
    pub name: Option<String>,
}

/// Whether `s` is a valid model name.
pub(crate) fn valid_model_name(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(x) if x.is_ascii_alphabetic())
        && s.len() <= MAX_MODEL_NAME_BYTES
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}

/// Whether `s` is a valid collection name.
pub(crate) fn valid_collection(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(x) if x.is_ascii_alphanumeric() || x == '_')
        && s.len() <= MAX_COLLECTION_NAME_BYTES
        && !s.starts_with("system.")
        && c.all(|x| x.is_ascii_alphanumeric() || matches!(x, '_' | '-' | '.'))
}

const MODEL_KEYS: &[&str] = &["name", "collection", "description", "fields", "indexes"];
const INDEX_KEYS: &[&str] = &["fields", "unique", "name"];

/// Compiles the model at `path`; indexes are appended to `indexes`.
pub(crate) fn compile_model(
    v: &Value,
    path: &str,
    limits: &DefinitionLimits,
    indexes: &mut Vec<IndexDef>,
    errors: &mut Vec<DefError>,
) -> Option<CompiledModel> {
    let Value::Object(map) = v else {
        errors.push(DefError::new(
            path,
            "invalid_type",
            "a model must be an object",
        ));
        return None;
    };
    for k in map.keys() {
        if !MODEL_KEYS.contains(&k.as_str()) {
            errors.push(DefError::new(
                format!("{path}.{k}"),
                "unknown_field",
                format!(
                    "unknown member {k:?} of a model (expected {})",
                    MODEL_KEYS.join(", ")
                ),
            ));
        }
    }
    let name = match map.get("name") {
        Some(Value::String(s)) if valid_model_name(s) => Some(s.clone()),
        Some(Value::String(s)) => {
            errors.push(DefError::new(
                format!("{path}.name"),
                "invalid_name",
                format!("invalid model name {s:?}: must match ^[A-Za-z][A-Za-z0-9_]*$ (at most {MAX_MODEL_NAME_BYTES} bytes)"),
            ));
            None
        }
        Some(_) => {
            errors.push(DefError::new(
                format!("{path}.name"),
                "invalid_type",
                "must be a string",
            ));
            None
        }
        None => {
            errors.push(DefError::new(path, "missing_field", "missing field `name`"));
            None
        }
    };
    let collection = match map.get("collection") {
        None => name.clone(),
        Some(Value::String(s)) if valid_collection(s) => Some(s.clone()),
        Some(_) => {
            errors.push(DefError::new(
                format!("{path}.collection"),
                "invalid_name",
                format!("invalid collection name: must match ^[A-Za-z0-9_][A-Za-z0-9_.-]*$, at most {MAX_COLLECTION_NAME_BYTES} bytes, not start with system."),
            ));
            None
        }
    };
    let description = schema::description(map, path, errors);
    let schema = match map.get("fields") {
        Some(f) => schema::compile_object(f, &format!("{path}.fields"), Nest::top(limits), errors),
        None => {
            errors.push(DefError::new(
                path,
                "missing_field",
                "missing field `fields`",
            ));
            ObjectSchema::default()
        }
    };
    if let Some(ix) = map.get("indexes") {
        let coll = collection.clone().unwrap_or_default();
        compile_indexes(
            ix,
            &format!("{path}.indexes"),
            &coll,
            &schema,
            indexes,
            errors,
        );
    }
    Some(CompiledModel {
        name: name?,
        collection: collection?,
        description,
        schema,
    })
}

fn compile_indexes(
    v: &Value,
    path: &str,
    collection: &str,
    schema: &ObjectSchema,
    out: &mut Vec<IndexDef>,
    errors: &mut Vec<DefError>,
) {
    let Value::Array(items) = v else {
        errors.push(DefError::new(
            path,
            "invalid_type",
            "must be an array of index declarations",
        ));
        return;
    };
    if items.len() > MAX_INDEXES_PER_MODEL {
        errors.push(DefError::new(
            path,
            "too_many",
            format!("more than {MAX_INDEXES_PER_MODEL} indexes"),
        ));
    }
    for (i, item) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let Value::Object(map) = item else {
            errors.push(DefError::new(
                &p,
                "invalid_index",
                "an index must be an object",
            ));
            continue;
        };
        let mut ok = true;
        for k in map.keys() {
            if !INDEX_KEYS.contains(&k.as_str()) {
                errors.push(DefError::new(
                    format!("{p}.{k}"),
                    "unknown_field",
                    format!("unknown member {k:?} of an index (expected fields, unique, name)"),
                ));
                ok = false;
            }
        }
        let mut keys = Document::new();
        match map.get("fields") {
            Some(Value::Object(f)) if !f.is_empty() => {
                for (field, dir) in f {
                    let fp = format!("{p}.fields.{field}");
                    let top = field.split('.').next().unwrap_or("");
                    if top != "_id" && !schema.fields.iter().any(|(n, _)| n == top) {
                        errors.push(DefError::new(
                            &fp,
                            "invalid_index",
                            format!("index field {field:?} is not a field of the model"),
                        ));
                        ok = false;
                    }
                    match dir.as_i64() {
                        Some(d @ (1 | -1)) => {
                            keys.insert(field.clone(), d as i32);
                        }
                        _ => {
                            errors.push(DefError::new(
                                &fp,
                                "invalid_index",
                                "an index direction must be 1 or -1",
                            ));
                            ok = false;
                        }
                    }
                }
            }
            _ => {
                errors.push(DefError::new(
                    &p,
                    "invalid_index",
                    "an index needs `fields`: a non-empty object such as {\"name\": 1}",
                ));
                ok = false;
            }
        }
        let unique = match map.get("unique") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                errors.push(DefError::new(
                    format!("{p}.unique"),
                    "invalid_type",
                    "must be a boolean",
                ));
                false
            }
        };
        let name = match map.get("name") {
            None => None,
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(_) => {
                errors.push(DefError::new(
                    format!("{p}.name"),
                    "invalid_type",
                    "must be a non-empty string",
                ));
                None
            }
        };
        if ok {
            out.push(IndexDef {
                collection: collection.to_string(),
                keys,
                unique,
                name,
            });
        }
    }
}
