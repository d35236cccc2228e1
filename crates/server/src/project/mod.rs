//! Project definitions (CONTRACT §4, §6): loading a definition from a file or a split
//! directory ([`load`]), validating it with every error reported at once ([`DefError`] with
//! file and JSON path), and compiling it into an immutable [`CompiledProject`]: models with
//! compiled validators, APIs with compiled flows and request schemas, sub-flows, auth
//! providers, CORS and indexes. The CRUD template ([`crud`]) expands into ordinary APIs;
//! [`openapi()`] describes the user APIs. See `docs/project-definition.md`.
//!
//! ```text
//! dir/ or text ──load──▶ Loaded ──compile──▶ CompiledProject (Arc, shared by the router)
//! ```
//!
//! No HTTP here: the runtime router calls [`CompiledApi::coerce_path`],
//! [`CompiledApi::coerce_query`] and [`CompiledApi::validate_body`], then runs the flow.

pub mod api;
mod api_compile;
pub mod compile;
pub mod crud;
pub mod error;
pub mod flowcheck;
pub mod limits;
pub mod load;
pub mod model;
pub mod openapi;
pub mod schema;
pub mod settings;

pub use api::{ApiAuth, CompiledApi};
pub use compile::{
    CompiledProject, compile, compile_dir, compile_dir_with, compile_value, compile_value_with,
    compile_with, is_slug,
};
pub use error::{DefError, FieldError, SourceMap};
pub use limits::DefinitionLimits;
pub use load::{Loaded, load_dir, load_dir_with, parse_definition, parse_definition_with};
pub use model::{CompiledModel, IndexDef};
pub use openapi::openapi;
pub use settings::CorsConfig;
