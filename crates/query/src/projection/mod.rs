//! Projections of `find` (inclusion, exclusion, `_id` rules, nested paths, `$slice`,
//! `$elemMatch`, positional `$`, aggregation expressions).
//!
//! A projection is parsed once into a tree keyed by path component (`ProjNode`); `{"a.b": 1}`
//! and `{a: {b: 1}}` build the same tree. Its mode is *inclusion* when any field is included,
//! computed, `$elemMatch`-ed or positional, otherwise *exclusion*; `$slice` alone does not fix
//! the mode. `_id` is included unless excluded explicitly, in either mode.
//!
//! Invariants: inclusion output keeps the input's field order for kept fields and appends
//! computed fields (in specification order) after them at each level; exclusion output is the
//! input minus the excluded paths. Expressions see the whole document as `$$ROOT`.

mod apply;
mod parse;

use bson::Document;

use crate::error::Result;
use crate::expr::Expr;
use crate::filter::{Filter, MatchDetails};

/// A parsed `find` projection.
#[derive(Debug, Clone)]
pub struct Projection {
    tree: Vec<(String, ProjNode)>,
    inclusion: bool,
    identity: bool,
}

/// What a projection does at one path component.
#[derive(Debug, Clone)]
enum ProjNode {
    /// Keep the field (inclusion mode).
    Include,
    /// Drop the field.
    Exclude,
    /// Replace the field with an expression's value (omitted when the value is missing).
    Computed(Expr),
    /// `$slice`: keep part of an array (`skip` may count from the end when negative).
    Slice {
        /// Elements to skip (negative: count from the end).
        skip: i64,
        /// Elements to keep; `None` with a negative `skip` means "the last -skip elements".
        limit: Option<i64>,
    },
    /// `$elemMatch`: keep the first matching element (top-level fields only). The filter is
    /// `{field: {$elemMatch: ...}}`, so its match details give the position.
    ElemMatch(Box<Filter>),
    /// `field.$`: keep the element the query matched.
    Positional,
    /// A sub-projection of an embedded document (or of each document in an array).
    Sub(Vec<(String, ProjNode)>),
}

impl Projection {
    /// Parses a projection document.
    ///
    /// Errors: `Location31254` ("Cannot do exclusion on field x in inclusion projection"),
    /// `Location31253` (inclusion in an exclusion projection), `Location31249`/`31250` (path
    /// collisions), `Location51270` (empty sub-projection), `BadValue` for malformed `$slice`,
    /// `$elemMatch` on a nested field, several positional operators and `$meta`; expression
    /// errors from [`crate::expr`].
    pub fn parse(spec: &Document) -> Result<Projection> {
        parse::parse(spec)
    }

    /// Whether the projection returns documents unchanged (`{}`).
    pub fn is_identity(&self) -> bool {
        self.identity
    }

    /// Whether this is an inclusion projection (only listed fields are returned).
    pub fn is_inclusion(&self) -> bool {
        self.inclusion
    }

    /// Projects `doc`. `details` are the query's match details, needed by positional `a.$`
    /// projections.
    ///
    /// Errors: `Location51246` when a positional projection has no matched array element;
    /// expression evaluation errors.
    pub fn apply(&self, doc: &Document, details: Option<&MatchDetails>) -> Result<Document> {
        if self.identity {
            return Ok(doc.clone());
        }
        let ctx = apply::Ctx { root: doc, details };
        if self.inclusion {
            apply::inclusion(&self.tree, doc, &ctx, true)
        } else {
            apply::exclusion(&self.tree, doc, &ctx)
        }
    }
}
