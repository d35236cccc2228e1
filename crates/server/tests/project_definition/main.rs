//! Integration tests of project definitions: loading (single file and split directory),
//! validation errors (paths, codes, files, several at once), request validation (body,
//! query, path), CRUD-template expansion run against an in-memory database, OpenAPI output.

mod common;
mod compile_errors;
mod crud_runs;
mod loading;
mod openapi_doc;
mod requests;
mod robustness;
