//! Placeholder (being written).

use bson::Bson;

use super::ParseOptions;
use super::operators::Call;
use crate::error::Result;

/// Parses `$sum`… used as expressions.
pub(crate) fn parse_expression(
    _name: &str,
    _arg: &Bson,
    _opts: &ParseOptions,
    _depth: usize,
) -> Result<Option<Call>> {
    Ok(None)
}
