//! Command errors in MongoDB's shape: `{ok: 0, errmsg, code, codeName}` with the codes MongoDB
//! uses for the same situation. Every code the wire layer itself produces is a constructor
//! here (the table in `docs/mongodb-wire.md` lists them); store errors keep their own code.

use bson::{Document, doc};
use stratus_docstore::DocstoreError;
use stratus_query::error::QueryError;

/// A failed command.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code_name} ({code}): {message}")]
pub struct CommandError {
    /// MongoDB's numeric code.
    pub code: i32,
    /// MongoDB's `codeName`.
    pub code_name: String,
    /// The message (`errmsg`).
    pub message: String,
}

impl CommandError {
    /// An error with an explicit code and name.
    pub fn new(code: i32, code_name: &str, message: impl Into<String>) -> Self {
        CommandError {
            code,
            code_name: code_name.to_string(),
            message: message.into(),
        }
    }

    /// The reply document.
    pub fn to_document(&self) -> Document {
        doc! {"ok": 0.0, "errmsg": &self.message, "code": self.code, "codeName": &self.code_name}
    }

    /// InternalError (1).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(1, "InternalError", message)
    }
    /// BadValue (2).
    pub fn bad_value(message: impl Into<String>) -> Self {
        Self::new(2, "BadValue", message)
    }
    /// FailedToParse (9).
    pub fn failed_to_parse(message: impl Into<String>) -> Self {
        Self::new(9, "FailedToParse", message)
    }
    /// Unauthorized (13).
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(13, "Unauthorized", message)
    }
    /// TypeMismatch (14).
    pub fn type_mismatch(message: impl Into<String>) -> Self {
        Self::new(14, "TypeMismatch", message)
    }
    /// AuthenticationFailed (18).
    pub fn authentication_failed() -> Self {
        Self::new(18, "AuthenticationFailed", "Authentication failed.")
    }
    /// IllegalOperation (20).
    pub fn illegal_operation(message: impl Into<String>) -> Self {
        Self::new(20, "IllegalOperation", message)
    }
    /// NamespaceNotFound (26).
    pub fn namespace_not_found(message: impl Into<String>) -> Self {
        Self::new(26, "NamespaceNotFound", message)
    }
    /// CursorNotFound (43).
    pub fn cursor_not_found(id: i64) -> Self {
        Self::new(43, "CursorNotFound", format!("cursor id {id} not found"))
    }
    /// CommandNotFound (59).
    pub fn command_not_found(name: &str) -> Self {
        Self::new(59, "CommandNotFound", format!("no such command: '{name}'"))
    }
    /// InvalidOptions (72).
    pub fn invalid_options(message: impl Into<String>) -> Self {
        Self::new(72, "InvalidOptions", message)
    }
    /// InvalidNamespace (73).
    pub fn invalid_namespace(message: impl Into<String>) -> Self {
        Self::new(73, "InvalidNamespace", message)
    }
    /// OperationFailed (96): opening a cursor past `mongo.max_cursors` or
    /// `mongo.max_cursors_per_user` (MongoDB has no limit of its own, so no dedicated code).
    pub fn too_many_cursors(message: impl Into<String>) -> Self {
        Self::new(96, "OperationFailed", message)
    }
    /// CommandNotSupported (115).
    pub fn not_supported(message: impl Into<String>) -> Self {
        Self::new(115, "CommandNotSupported", message)
    }
    /// MechanismUnavailable (334).
    pub fn mechanism_unavailable(mechanism: &str) -> Self {
        Self::new(
            334,
            "MechanismUnavailable",
            format!("Received authentication for mechanism {mechanism} which is not enabled"),
        )
    }
    /// A required field is absent (MongoDB's IDL error, Location40414).
    pub fn missing_field(command: &str, field: &str) -> Self {
        Self::new(
            40414,
            "Location40414",
            format!("BSON field '{command}.{field}' is missing but a required field"),
        )
    }
}

impl From<DocstoreError> for CommandError {
    fn from(e: DocstoreError) -> Self {
        CommandError {
            code: e.mongo_code(),
            code_name: e.code_name(),
            message: e.to_string(),
        }
    }
}

impl From<QueryError> for CommandError {
    fn from(e: QueryError) -> Self {
        CommandError::from(DocstoreError::Query(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_codes() {
        let d = CommandError::command_not_found("frob").to_document();
        assert_eq!(d.get_f64("ok").unwrap(), 0.0);
        assert_eq!(d.get_i32("code").unwrap(), 59);
        assert_eq!(d.get_str("codeName").unwrap(), "CommandNotFound");
        let e: CommandError = DocstoreError::NamespaceNotFound { ns: "a.b".into() }.into();
        assert_eq!((e.code, e.code_name.as_str()), (26, "NamespaceNotFound"));
        assert_eq!(CommandError::unauthorized("x").code, 13);
        assert_eq!(CommandError::authentication_failed().code, 18);
        assert_eq!(CommandError::cursor_not_found(5).code, 43);
    }
}
