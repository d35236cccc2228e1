//! Placeholder for the types operator group (being written).

use bson::Bson;

use super::ParseOptions;
use super::operators::Call;
use crate::error::Result;

/// Parses an operator of this group; `Ok(None)` when `name` is not one.
pub(crate) fn parse(
    _name: &str,
    _arg: &Bson,
    _opts: &ParseOptions,
    _depth: usize,
) -> Result<Option<Call>> {
    Ok(None)
}
