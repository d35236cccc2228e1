//! Updates: operator documents (`$set`, `$inc`, `$push`, …, positional `$`, `$[]`,
//! `$[<id>]` with `arrayFilters`), replacement documents and pipeline-style updates.
//!
//! An update is parsed once ([`Update::parse`]) and applied to any number of documents
//! ([`Update::apply`]). The three forms are told apart as MongoDB does: an array is a pipeline;
//! a document whose first field starts with `$` is an operator update; any other document
//! (including `{}`) is a replacement.
//!
//! Semantics follow MongoDB 5.0+: operators apply in the order of their paths (names in
//! lexicographic order, numeric names in numeric order), an empty operand (`{$set: {}}`) is a
//! no-op, missing paths are created as documents, numeric path components index arrays (or
//! name fields in documents), `$`-prefixed names are allowed below the top level, `_id` is
//! immutable, and an update that changes nothing reports `modified: false` (MongoDB's
//! `nModified`). Errors carry mongod's codes and messages.
//!
//! Known deviations from mongod:
//! - Decimal128 arithmetic (`$inc`/`$mul` with a decimal operand) goes through `f64`.
//! - The fields an upsert takes from its filter are created in lexicographic path order
//!   (`_id` first); mongod's order is an artefact of its internal maps.
//! - `$currentDate: {$type: "timestamp"}` writes increment 1 (mongod uses its cluster clock),
//!   and a replacement's `Timestamp(0, 0)` is stored as given (mongod fills in the time).
//! - No collation: strings compare by bytes.
//! - A positional `$` and a literal index that resolve to the same element are refused
//!   ("Update created a conflict at 'a.1'") where mongod merges the two modifications.
//!
//! Module map: `parse` checks operator documents, `path` navigates and creates
//! paths, `positional` expands `$`/`$[]`/`$[<id>]`, `fields`/`arithmetic`/`arrays` hold the
//! operator groups, `apply` runs them, `replacement`, `pipeline` and `upsert` handle the other
//! forms and upsert documents, `render` formats values in messages.

mod apply;
mod arithmetic;
mod arrays;
mod fields;
mod parse;
mod path;
mod pipeline;
mod positional;
mod render;
mod replacement;
mod upsert;

use bson::{Bson, Document};

use crate::error::{MongoCode, QueryError, Result};
use crate::limits::Limits;

/// Options for [`Update::parse`].
#[derive(Debug, Clone, Copy, Default)]
pub struct UpdateOptions<'a> {
    /// `arrayFilters` of the update command (only for operator updates using `$[<id>]`).
    pub array_filters: Option<&'a [Document]>,
    /// Size and depth limits.
    pub limits: Limits,
    /// The command's `let` option: constants visible as `$$name` in pipeline-style updates
    /// (operator and replacement updates have no expressions to use them).
    pub let_vars: Option<&'a Document>,
}

/// What an update is applied with, besides the document.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ApplyContext {
    /// The array index the query matched, for the positional `$` operator
    /// ([`crate::filter::MatchDetails::elem_match_index`]).
    pub positional: Option<usize>,
    /// Whether the update builds a document to insert (upsert): enables `$setOnInsert`.
    pub is_insert: bool,
    /// The operation time: `$currentDate` and `$$NOW` use it.
    pub now: bson::DateTime,
}

/// The result of applying an update to one document.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateOutcome {
    /// The updated document.
    pub document: Document,
    /// Whether the document changed (MongoDB's `nModified` counts these).
    pub modified: bool,
}

/// A parsed update, reusable across documents.
#[derive(Debug, Clone)]
pub struct Update {
    kind: Kind,
    limits: Limits,
}

#[derive(Debug, Clone)]
enum Kind {
    Operators(parse::OperatorUpdate),
    Replacement(Document),
    Pipeline(pipeline::PipelineUpdate),
}

impl Update {
    /// Parses an update: a document (operators or replacement) or an array (pipeline).
    pub fn parse(update: &Bson, opts: &UpdateOptions<'_>) -> Result<Update> {
        let has_filters = opts.array_filters.is_some_and(|f| !f.is_empty());
        let kind = match update {
            Bson::Document(d) => {
                if d.keys().next().is_some_and(|k| k.starts_with('$')) {
                    Kind::Operators(parse::parse_operator_update(
                        d,
                        opts.array_filters,
                        &opts.limits,
                    )?)
                } else {
                    if has_filters {
                        return Err(QueryError::failed_to_parse(
                            "arrayFilters may not be specified for replacement-style updates",
                        ));
                    }
                    Kind::Replacement(replacement::parse_replacement(d)?)
                }
            }
            Bson::Array(stages) => {
                if has_filters {
                    return Err(QueryError::failed_to_parse(
                        "arrayFilters may not be specified for pipeline-style updates",
                    ));
                }
                Kind::Pipeline(pipeline::PipelineUpdate::parse(
                    stages,
                    &opts.limits,
                    opts.let_vars,
                )?)
            }
            other => {
                return Err(QueryError::failed_to_parse(format!(
                    "Update argument must be either an object or an array, not {}",
                    render::type_name(other)
                )));
            }
        };
        Ok(Update {
            kind,
            limits: opts.limits,
        })
    }

    /// Whether this is a replacement-style update.
    pub fn is_replacement(&self) -> bool {
        matches!(self.kind, Kind::Replacement(_))
    }

    /// Whether this is a pipeline-style update.
    pub fn is_pipeline(&self) -> bool {
        matches!(self.kind, Kind::Pipeline(_))
    }

    /// Applies the update to `doc`; `doc` itself is not changed.
    pub fn apply(&self, doc: &Document, ctx: &ApplyContext) -> Result<UpdateOutcome> {
        let (out, modified) = self.apply_unchecked(doc, ctx)?;
        self.check_size(&out, false)?;
        Ok(UpdateOutcome {
            document: out,
            modified,
        })
    }

    /// [`Update::apply`] without the size check: the result and whether it was modified.
    fn apply_unchecked(&self, doc: &Document, ctx: &ApplyContext) -> Result<(Document, bool)> {
        match &self.kind {
            Kind::Operators(u) => {
                let out = apply::apply_operators(u, doc, ctx.positional, ctx.is_insert, ctx.now)?;
                let modified = !apply::identical_docs(doc, &out);
                Ok((out, modified))
            }
            Kind::Replacement(r) => replacement::apply_replacement(doc, r),
            Kind::Pipeline(p) => p.apply(doc, ctx.now),
        }
    }

    /// The document to insert for an upsert that matched nothing: the filter's equality
    /// predicates (operator and pipeline updates) or the replacement (plus `_id` from the
    /// filter), with the update applied as an insert. Does not generate a missing `_id`.
    pub fn upsert_document(&self, filter: &Document, ctx: &ApplyContext) -> Result<Document> {
        let ctx = ApplyContext {
            is_insert: true,
            ..*ctx
        };
        let base = upsert::equality_document(filter, &self.limits)?;
        let out = match &self.kind {
            Kind::Replacement(r) => {
                // Only `_id` comes from the filter; it may not differ from the replacement's.
                let mut id_only = Document::new();
                if let Some(id) = base.get("_id") {
                    id_only.insert("_id", id.clone());
                }
                let (doc, _) = replacement::apply_replacement(&id_only, r)?;
                let id = doc.get("_id").cloned();
                replacement::id_first(id, doc)
            }
            Kind::Operators(_) | Kind::Pipeline(_) => {
                let (doc, _) = self.apply_unchecked(&base, &ctx)?;
                let id = doc.get("_id").cloned();
                replacement::id_first(id, doc)
            }
        };
        if matches!(out.get("_id"), Some(Bson::Array(_))) {
            return Err(QueryError::new(
                MongoCode::NotSingleValueField,
                "After applying the update to the document, the field '_id' was found to be an array or array descendant.",
            ));
        }
        self.check_size(&out, true)?;
        Ok(out)
    }

    /// Refuses documents larger than the size limit: `BSONObjectTooLarge` after an update,
    /// `Location17420` for a document to upsert (mongod's codes and messages).
    fn check_size(&self, doc: &Document, upsert: bool) -> Result<()> {
        let size = doc.to_vec().map_err(|e| {
            QueryError::new(
                MongoCode::InvalidBson,
                format!("the updated document cannot be encoded as BSON: {e}"),
            )
        })?;
        let max = self.limits.max_document_size;
        if size.len() <= max {
            return Ok(());
        }
        Err(if upsert {
            QueryError::location(17420, format!("Document to upsert is larger than {max}"))
        } else {
            QueryError::new(
                MongoCode::BsonObjectTooLarge,
                format!("Resulting document after update is larger than {max}"),
            )
        })
    }
}
