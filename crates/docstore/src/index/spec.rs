//! Index specifications as `createIndexes` receives them (`{key: {a: 1, b: -1}, name, unique,
//! sparse, partialFilterExpression}`), their validation with MongoDB's error codes, default
//! names (`a_1_b_-1`), conflicts with existing indexes, and the `listIndexes` document form.
//!
//! Invariant: a parsed [`IndexSpec`] has a non-empty key pattern of valid dotted field names
//! with directions `1`/`-1`, a non-empty name, and never both `sparse` and a partial filter.

use bson::{Bson, Document, doc};
use stratus_query::error::{MongoCode, QueryError, Result};

/// The name of the primary-key index every collection has.
pub const ID_INDEX_NAME: &str = "_id_";

/// The most indexes one collection may have (MongoDB's limit, `_id_` included).
pub const MAX_INDEXES_PER_COLLECTION: usize = 64;

/// The most fields in one compound key pattern (MongoDB's limit).
pub const MAX_INDEX_KEY_FIELDS: usize = 32;

/// Index format version reported by `listIndexes` (`v`).
pub const INDEX_VERSION: i32 = 2;

/// Options of an index specification that are accepted and have no effect here.
const IGNORED_OPTIONS: &[&str] = &["v", "background", "ns"];

/// One index as the user specified it.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexSpec {
    /// The index name (unique within its collection).
    pub name: String,
    /// The key pattern: field paths to `1` (ascending) or `-1` (descending), in order.
    pub key: Document,
    /// Whether two documents may not share a key.
    pub unique: bool,
    /// Whether documents lacking every key field are left out of the index.
    pub sparse: bool,
    /// Only documents matching this filter are indexed.
    pub partial_filter: Option<Document>,
}

fn cannot_create(message: impl Into<String>) -> QueryError {
    QueryError::new(MongoCode::CannotCreateIndex, message)
}

fn invalid_option(message: impl Into<String>) -> QueryError {
    QueryError::new(MongoCode::InvalidIndexSpecificationOption, message)
}

/// The default index name of a key pattern: `field_dir` pairs joined by `_` (`a_1_b_-1`).
pub fn default_index_name(key: &Document) -> String {
    let parts: Vec<String> = key
        .iter()
        .map(|(field, dir)| {
            let dir = match dir {
                Bson::Int32(i) => i.to_string(),
                Bson::Int64(i) => i.to_string(),
                Bson::Double(d) if d.fract() == 0.0 => format!("{}", *d as i64),
                Bson::String(s) => s.clone(),
                other => other.to_string(),
            };
            format!("{field}_{dir}")
        })
        .collect();
    parts.join("_")
}

/// Whether `v` is truthy the way MongoDB reads boolean index options (`true`, non-zero number).
fn option_flag(field: &str, v: &Bson) -> Result<bool> {
    match v {
        Bson::Boolean(b) => Ok(*b),
        Bson::Int32(i) => Ok(*i != 0),
        Bson::Int64(i) => Ok(*i != 0),
        Bson::Double(d) => Ok(*d != 0.0),
        other => Err(QueryError::type_mismatch(format!(
            "The field '{field}' must be a boolean, not {}",
            type_name(other)
        ))),
    }
}

fn type_name(v: &Bson) -> &'static str {
    match v {
        Bson::Double(_) => "double",
        Bson::String(_) => "string",
        Bson::Document(_) => "object",
        Bson::Array(_) => "array",
        Bson::Boolean(_) => "bool",
        Bson::Null => "null",
        Bson::Int32(_) => "int",
        Bson::Int64(_) => "long",
        Bson::Decimal128(_) => "decimal",
        _ => "an unsupported type",
    }
}

/// Validates one key pattern and normalises its directions to `1` / `-1`.
fn parse_key_pattern(key: &Document) -> Result<Document> {
    if key.is_empty() {
        return Err(cannot_create("Index keys cannot be empty."));
    }
    if key.len() > MAX_INDEX_KEY_FIELDS {
        return Err(cannot_create(format!(
            "Index key pattern has {} fields; the limit is {MAX_INDEX_KEY_FIELDS}",
            key.len()
        )));
    }
    let mut out = Document::new();
    for (field, dir) in key {
        if field.is_empty() {
            return Err(cannot_create("Index keys cannot be an empty field."));
        }
        if field.split('.').any(str::is_empty) {
            return Err(cannot_create(format!(
                "Index keys cannot contain an empty field: '{field}'"
            )));
        }
        if field.split('.').any(|p| p.starts_with('$')) {
            return Err(cannot_create(format!(
                "Index key contains an illegal field name: field name starts with '$': '{field}'"
            )));
        }
        let n = match dir {
            Bson::Int32(i) => f64::from(*i),
            Bson::Int64(i) => *i as f64,
            Bson::Double(d) => *d,
            Bson::Decimal128(d) => stratus_query::compare::decimal_to_f64(d),
            Bson::String(s) => {
                return Err(cannot_create(format!(
                    "Index type '{s}' of field '{field}' is not supported (only ascending 1 and \
                     descending -1 keys)"
                )));
            }
            other => {
                return Err(cannot_create(format!(
                    "Values in v:2 index key pattern cannot be of type {}. Only numbers > 0, \
                     numbers < 0, and strings are allowed. (field '{field}')",
                    type_name(other)
                )));
            }
        };
        if n.is_nan() || n == 0.0 {
            return Err(cannot_create(format!(
                "Values in the index key pattern can't be 0 or NaN (field '{field}')"
            )));
        }
        out.insert(field.clone(), if n > 0.0 { 1 } else { -1 });
    }
    Ok(out)
}

impl IndexSpec {
    /// The `_id_` index every collection has.
    pub fn id_index() -> IndexSpec {
        IndexSpec {
            name: ID_INDEX_NAME.to_string(),
            key: doc! {"_id": 1},
            unique: true,
            sparse: false,
            partial_filter: None,
        }
    }

    /// An ascending/descending index on `key` with the default name and no options.
    pub fn new(key: Document) -> Result<IndexSpec> {
        IndexSpec::parse(&doc! {"key": key})
    }

    /// Whether this is the primary-key index (`_id_`), which lives in the document table.
    pub fn is_id(&self) -> bool {
        self.name == ID_INDEX_NAME
    }

    /// Parses one element of `createIndexes.indexes` (a name defaults to `a_1_b_-1`).
    pub fn parse(spec: &Document) -> Result<IndexSpec> {
        let key = match spec.get("key") {
            Some(Bson::Document(k)) => parse_key_pattern(k)?,
            Some(other) => {
                return Err(QueryError::type_mismatch(format!(
                    "The field 'key' must be an object, but got {}",
                    type_name(other)
                )));
            }
            None => {
                return Err(QueryError::failed_to_parse(
                    "The 'key' field is a required property of an index specification",
                ));
            }
        };
        let mut out = IndexSpec {
            name: default_index_name(&key),
            key,
            unique: false,
            sparse: false,
            partial_filter: None,
        };
        for (field, v) in spec {
            match field.as_str() {
                "key" => {}
                "name" => match v {
                    Bson::String(s) if s.is_empty() => {
                        return Err(cannot_create("The index name cannot be empty"));
                    }
                    Bson::String(s) if s.contains('\0') => {
                        return Err(cannot_create(format!(
                            "The index name '{s}' cannot contain a null character"
                        )));
                    }
                    Bson::String(s) => out.name = s.clone(),
                    other => {
                        return Err(QueryError::type_mismatch(format!(
                            "The field 'name' must be a string, but got {}",
                            type_name(other)
                        )));
                    }
                },
                "unique" => out.unique = option_flag(field, v)?,
                "sparse" => out.sparse = option_flag(field, v)?,
                "partialFilterExpression" => match v {
                    Bson::Document(d) => out.partial_filter = Some(d.clone()),
                    other => {
                        return Err(QueryError::type_mismatch(format!(
                            "The field 'partialFilterExpression' must be an object, but got {}",
                            type_name(other)
                        )));
                    }
                },
                f if IGNORED_OPTIONS.contains(&f) => {}
                f => {
                    return Err(invalid_option(format!(
                        "The field '{f}' is not valid for an index specification. \
                         Specification: {spec}"
                    )));
                }
            }
        }
        if out.sparse && out.partial_filter.is_some() {
            return Err(cannot_create(
                "cannot mix \"partialFilterExpression\" and \"sparse\" options",
            ));
        }
        let is_id_key = out.key == doc! {"_id": 1};
        if out.name == ID_INDEX_NAME && !is_id_key {
            return Err(cannot_create(format!(
                "The index name '_id_' is reserved for the _id index, which must have key pattern \
                 {{_id: 1}}, but found key: {}",
                out.key
            )));
        }
        if is_id_key && out.name == ID_INDEX_NAME {
            for (flag, set) in [
                ("unique", out.unique),
                ("sparse", out.sparse),
                ("partialFilterExpression", out.partial_filter.is_some()),
            ] {
                if set {
                    return Err(invalid_option(format!(
                        "The field '{flag}' is not valid for an _id index specification. \
                         Specification: {spec}"
                    )));
                }
            }
            out.unique = true;
        }
        Ok(out)
    }

    /// The `listIndexes` form: `{v: 2, key, name, unique?, sparse?, partialFilterExpression?}`.
    /// [`IndexSpec::parse`] reads it back unchanged (the catalog stores this form).
    pub fn to_document(&self) -> Document {
        let mut d = doc! {"v": INDEX_VERSION, "key": self.key.clone(), "name": self.name.clone()};
        if self.unique && !self.is_id() {
            d.insert("unique", true);
        }
        if self.sparse {
            d.insert("sparse", true);
        }
        if let Some(p) = &self.partial_filter {
            d.insert("partialFilterExpression", p.clone());
        }
        d
    }

    /// Whether both specs describe the same index apart from the name.
    fn same_options(&self, other: &IndexSpec) -> bool {
        self.unique == other.unique
            && self.sparse == other.sparse
            && self.partial_filter == other.partial_filter
    }

    /// Checks this new spec against a collection's `existing` indexes (`_id_` included).
    /// `Ok(true)`: an identical index exists (creating it again is a no-op); `Ok(false)`: it
    /// may be created. Errors: IndexKeySpecsConflict (86) for a known name with another key,
    /// IndexOptionsConflict (85) for a known key or name with other options or another name,
    /// CannotCreateIndex (67) past [`MAX_INDEXES_PER_COLLECTION`].
    pub fn check_against(&self, existing: &[IndexSpec]) -> Result<bool> {
        for e in existing {
            if e.name == self.name {
                if e.key != self.key {
                    return Err(QueryError::new(
                        MongoCode::IndexKeySpecsConflict,
                        format!(
                            "An existing index has the same name as the requested index. When \
                             index names are not specified, they are auto generated and can \
                             cause conflicts. Please refer to our documentation. Requested \
                             index: {}, existing index: {}",
                            self.to_document(),
                            e.to_document()
                        ),
                    ));
                }
                if !e.same_options(self) {
                    return Err(QueryError::new(
                        MongoCode::IndexOptionsConflict,
                        format!(
                            "An existing index has the same name as the requested index. \
                             Requested index: {}, existing index: {}",
                            self.to_document(),
                            e.to_document()
                        ),
                    ));
                }
                return Ok(true);
            }
            if e.key == self.key && e.partial_filter == self.partial_filter {
                return Err(QueryError::new(
                    MongoCode::IndexOptionsConflict,
                    format!("Index already exists with a different name: {}", e.name),
                ));
            }
        }
        if existing.len() >= MAX_INDEXES_PER_COLLECTION {
            return Err(cannot_create(format!(
                "add index fails, too many indexes (limit {MAX_INDEXES_PER_COLLECTION}) for key \
                 {}",
                self.key
            )));
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names_and_normalised_directions() {
        let s = IndexSpec::parse(&doc! {"key": {"a": 1, "b.c": -1.0}}).expect("valid");
        assert_eq!(s.name, "a_1_b.c_-1");
        assert_eq!(s.key, doc! {"a": 1, "b.c": -1});
        let back = IndexSpec::parse(&s.to_document()).expect("round trip");
        assert_eq!(back, s);
    }

    #[test]
    fn bad_specs_get_mongodb_codes() {
        let cases: Vec<(Document, i32)> = vec![
            (doc! {}, 9),
            (doc! {"key": 1}, 14),
            (doc! {"key": {}}, 67),
            (doc! {"key": {"a": 0}}, 67),
            (doc! {"key": {"a": "text"}}, 67),
            (doc! {"key": {"a": true}}, 67),
            (doc! {"key": {"$a": 1}}, 67),
            (doc! {"key": {"a..b": 1}}, 67),
            (doc! {"key": {"a": 1}, "name": ""}, 67),
            (doc! {"key": {"a": 1}, "name": 3}, 14),
            (
                doc! {"key": {"a": 1}, "sparse": true, "partialFilterExpression": {"a": 1}},
                67,
            ),
            (doc! {"key": {"a": 1}, "bogus": 1}, 197),
            (
                doc! {"key": {"_id": 1}, "name": "_id_", "unique": true},
                197,
            ),
            (doc! {"key": {"a": 1}, "name": "_id_"}, 67),
        ];
        for (spec, code) in cases {
            let err = IndexSpec::parse(&spec).expect_err("must be rejected");
            assert_eq!(err.code.code(), code, "{spec}: {err}");
        }
    }

    #[test]
    fn conflicts_with_existing_indexes() {
        let existing = vec![
            IndexSpec::id_index(),
            IndexSpec::new(doc! {"a": 1}).expect("valid"),
        ];
        let same = IndexSpec::new(doc! {"a": 1}).expect("valid");
        assert_eq!(same.check_against(&existing), Ok(true));
        let other_name = IndexSpec::parse(&doc! {"key": {"a": 1}, "name": "x"}).expect("valid");
        assert_eq!(
            other_name
                .check_against(&existing)
                .map_err(|e| e.code.code()),
            Err(85)
        );
        let other_key = IndexSpec::parse(&doc! {"key": {"b": 1}, "name": "a_1"}).expect("valid");
        assert_eq!(
            other_key
                .check_against(&existing)
                .map_err(|e| e.code.code()),
            Err(86)
        );
        let unique = IndexSpec::parse(&doc! {"key": {"a": 1}, "unique": true}).expect("valid");
        assert_eq!(
            unique.check_against(&existing).map_err(|e| e.code.code()),
            Err(85)
        );
        let fresh = IndexSpec::new(doc! {"b": -1}).expect("valid");
        assert_eq!(fresh.check_against(&existing), Ok(false));
    }
}
