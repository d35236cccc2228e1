//! Errors of the query language, carrying MongoDB's numeric error codes and code names.
//!
//! MongoDB answers the same mistakes with the same codes (e.g. `BadValue` = 2,
//! `ImmutableField` = 66); drivers and users rely on them, so we keep them. Codes MongoDB only
//! knows by number (its "location" codes such as 16020) use [`MongoCode::Location`].

use stratus_types::{Code, ErrorCode};

/// MongoDB's error codes used by the query language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MongoCode {
    /// 1: an internal failure.
    InternalError,
    /// 2: a value is not acceptable here (the most common parse error).
    BadValue,
    /// 4: a referenced key does not exist.
    NoSuchKey,
    /// 9: the query/update/pipeline could not be parsed.
    FailedToParse,
    /// 10: the document is too large.
    BsonObjectTooLarge,
    /// 14: an operand has the wrong type (e.g. `$inc` on a string).
    TypeMismatch,
    /// 15: an arithmetic overflow.
    Overflow,
    /// 16: invalid length.
    InvalidLength,
    /// 17: the BSON is invalid.
    InvalidBson,
    /// 26: the namespace does not exist.
    NamespaceNotFound,
    /// 28: a path cannot be created (e.g. setting `a.b` where `a` is a string).
    PathNotViable,
    /// 40: two update operators touch conflicting paths.
    ConflictingUpdateOperators,
    /// 48: the namespace already exists.
    NamespaceExists,
    /// 52: a field name starts with `$` where that is not allowed.
    DollarPrefixedFieldName,
    /// 54: the operation does not apply to a non-array field (e.g. `$push` on a string).
    NotSingleValueField,
    /// 56: an empty field name.
    EmptyFieldName,
    /// 57: a dotted field name where it is not allowed.
    DottedFieldName,
    /// 66: an update would modify an immutable field (`_id`).
    ImmutableField,
    /// 72: invalid options.
    InvalidOptions,
    /// 73: an invalid namespace (database or collection name).
    InvalidNamespace,
    /// 85: an index with the same name and different options exists.
    IndexOptionsConflict,
    /// 86: an index with the same key pattern and different name exists.
    IndexKeySpecsConflict,
    /// 96: the operation failed.
    OperationFailed,
    /// 11000: a unique index refused the write.
    DuplicateKey,
    /// 31254: a projection mixes inclusion and exclusion.
    ProjectionMixed,
    /// 241: a `$convert`/`$toX` conversion failed.
    ConversionFailure,
    /// 15998 etc.: a code MongoDB only knows by number (`Location<N>`).
    Location(u32),
    /// 67: an index cannot be created (bad key pattern, bad options, too many indexes).
    CannotCreateIndex,
    /// 171: a compound index key would need two parallel arrays.
    CannotIndexParallelArrays,
    /// 197: an index specification has an option that is not valid there.
    InvalidIndexSpecificationOption,
}

impl MongoCode {
    /// The numeric code.
    pub fn code(self) -> i32 {
        match self {
            MongoCode::InternalError => 1,
            MongoCode::BadValue => 2,
            MongoCode::NoSuchKey => 4,
            MongoCode::FailedToParse => 9,
            MongoCode::BsonObjectTooLarge => 10,
            MongoCode::TypeMismatch => 14,
            MongoCode::Overflow => 15,
            MongoCode::InvalidLength => 16,
            MongoCode::InvalidBson => 22,
            MongoCode::NamespaceNotFound => 26,
            MongoCode::PathNotViable => 28,
            MongoCode::ConflictingUpdateOperators => 40,
            MongoCode::NamespaceExists => 48,
            MongoCode::DollarPrefixedFieldName => 52,
            MongoCode::NotSingleValueField => 54,
            MongoCode::EmptyFieldName => 56,
            MongoCode::DottedFieldName => 57,
            MongoCode::ImmutableField => 66,
            MongoCode::InvalidOptions => 72,
            MongoCode::InvalidNamespace => 73,
            MongoCode::IndexOptionsConflict => 85,
            MongoCode::IndexKeySpecsConflict => 86,
            MongoCode::OperationFailed => 96,
            MongoCode::DuplicateKey => 11000,
            MongoCode::ProjectionMixed => 31254,
            MongoCode::ConversionFailure => 241,
            MongoCode::Location(n) => n as i32,
            MongoCode::CannotCreateIndex => 67,
            MongoCode::CannotIndexParallelArrays => 171,
            MongoCode::InvalidIndexSpecificationOption => 197,
        }
    }

    /// The code name (`codeName` in MongoDB's replies).
    pub fn name(self) -> String {
        let s = match self {
            MongoCode::InternalError => "InternalError",
            MongoCode::BadValue => "BadValue",
            MongoCode::NoSuchKey => "NoSuchKey",
            MongoCode::FailedToParse => "FailedToParse",
            MongoCode::BsonObjectTooLarge => "BSONObjectTooLarge",
            MongoCode::TypeMismatch => "TypeMismatch",
            MongoCode::Overflow => "Overflow",
            MongoCode::InvalidLength => "InvalidLength",
            MongoCode::InvalidBson => "InvalidBSON",
            MongoCode::NamespaceNotFound => "NamespaceNotFound",
            MongoCode::PathNotViable => "PathNotViable",
            MongoCode::ConflictingUpdateOperators => "ConflictingUpdateOperators",
            MongoCode::NamespaceExists => "NamespaceExists",
            MongoCode::DollarPrefixedFieldName => "DollarPrefixedFieldName",
            MongoCode::NotSingleValueField => "NotSingleValueField",
            MongoCode::EmptyFieldName => "EmptyFieldName",
            MongoCode::DottedFieldName => "DottedFieldName",
            MongoCode::ImmutableField => "ImmutableField",
            MongoCode::InvalidOptions => "InvalidOptions",
            MongoCode::InvalidNamespace => "InvalidNamespace",
            MongoCode::IndexOptionsConflict => "IndexOptionsConflict",
            MongoCode::IndexKeySpecsConflict => "IndexKeySpecsConflict",
            MongoCode::OperationFailed => "OperationFailed",
            MongoCode::DuplicateKey => "DuplicateKey",
            MongoCode::ProjectionMixed => "Location31254",
            MongoCode::ConversionFailure => "ConversionFailure",
            MongoCode::Location(n) => return format!("Location{n}"),
            MongoCode::CannotCreateIndex => "CannotCreateIndex",
            MongoCode::CannotIndexParallelArrays => "CannotIndexParallelArrays",
            MongoCode::InvalidIndexSpecificationOption => "InvalidIndexSpecificationOption",
        };
        s.to_string()
    }
}

/// An error of the query language: a MongoDB code and a message naming the offending path.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct QueryError {
    /// MongoDB's error code.
    pub code: MongoCode,
    /// Human-readable message; names the field or operator at fault.
    pub message: String,
}

/// Result alias of this crate.
pub type Result<T, E = QueryError> = std::result::Result<T, E>;

impl QueryError {
    /// An error with the given code and message.
    pub fn new(code: MongoCode, message: impl Into<String>) -> Self {
        QueryError {
            code,
            message: message.into(),
        }
    }
    /// `BadValue` (2).
    pub fn bad_value(message: impl Into<String>) -> Self {
        Self::new(MongoCode::BadValue, message)
    }
    /// `FailedToParse` (9).
    pub fn failed_to_parse(message: impl Into<String>) -> Self {
        Self::new(MongoCode::FailedToParse, message)
    }
    /// `TypeMismatch` (14).
    pub fn type_mismatch(message: impl Into<String>) -> Self {
        Self::new(MongoCode::TypeMismatch, message)
    }
    /// A numbered location code, e.g. `location(16020, "...")`.
    pub fn location(code: u32, message: impl Into<String>) -> Self {
        Self::new(MongoCode::Location(code), message)
    }
}

impl ErrorCode for QueryError {
    fn code(&self) -> Code {
        match self.code {
            MongoCode::InternalError => Code::Internal,
            MongoCode::DuplicateKey => Code::DuplicateKey,
            MongoCode::BsonObjectTooLarge => Code::PayloadTooLarge,
            MongoCode::NamespaceNotFound => Code::NotFound,
            MongoCode::NamespaceExists => Code::AlreadyExists,
            MongoCode::BadValue
            | MongoCode::NoSuchKey
            | MongoCode::FailedToParse
            | MongoCode::TypeMismatch
            | MongoCode::Overflow
            | MongoCode::InvalidLength
            | MongoCode::InvalidBson
            | MongoCode::PathNotViable
            | MongoCode::ConflictingUpdateOperators
            | MongoCode::DollarPrefixedFieldName
            | MongoCode::NotSingleValueField
            | MongoCode::EmptyFieldName
            | MongoCode::DottedFieldName
            | MongoCode::ImmutableField
            | MongoCode::InvalidOptions
            | MongoCode::InvalidNamespace
            | MongoCode::IndexOptionsConflict
            | MongoCode::IndexKeySpecsConflict
            | MongoCode::OperationFailed
            | MongoCode::ProjectionMixed
            | MongoCode::Location(_)
            | MongoCode::CannotCreateIndex
            | MongoCode::CannotIndexParallelArrays
            | MongoCode::InvalidIndexSpecificationOption
            | MongoCode::ConversionFailure => Code::BadQuery,
        }
    }
}
