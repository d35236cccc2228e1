//! Limits of project definitions, gathered so the server's configuration can override them
//! (each default is a named constant documented where it applies).

use super::api::MAX_APIS;
use super::compile::MAX_SUBFLOWS;
use super::load::{MAX_DEFINITION_FILE_BYTES, MAX_DEFINITION_FILES};
use super::model::MAX_MODELS;
use super::schema::{MAX_FIELDS_PER_OBJECT, MAX_SCHEMA_DEPTH};

/// The limits a definition is loaded and compiled under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefinitionLimits {
    /// Largest definition file, in bytes ([`MAX_DEFINITION_FILE_BYTES`]).
    pub max_file_bytes: u64,
    /// Most files read from the split folders ([`MAX_DEFINITION_FILES`]).
    pub max_files: usize,
    /// Most models ([`MAX_MODELS`]).
    pub max_models: usize,
    /// Most APIs after template expansion ([`MAX_APIS`]).
    pub max_apis: usize,
    /// Most sub-flows ([`MAX_SUBFLOWS`]).
    pub max_subflows: usize,
    /// Deepest nesting of field declarations ([`MAX_SCHEMA_DEPTH`]).
    pub max_schema_depth: usize,
    /// Most fields one object declares ([`MAX_FIELDS_PER_OBJECT`]).
    pub max_fields_per_object: usize,
}

impl Default for DefinitionLimits {
    fn default() -> Self {
        DefinitionLimits {
            max_file_bytes: MAX_DEFINITION_FILE_BYTES,
            max_files: MAX_DEFINITION_FILES,
            max_models: MAX_MODELS,
            max_apis: MAX_APIS,
            max_subflows: MAX_SUBFLOWS,
            max_schema_depth: MAX_SCHEMA_DEPTH,
            max_fields_per_object: MAX_FIELDS_PER_OBJECT,
        }
    }
}
