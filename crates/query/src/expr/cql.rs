//! CQL-only operators and aliases (Stratus flows; reference §8.2), layered on the shared
//! operator library. Consulted first when parsing in [`super::Dialect::Cql`].

use bson::Bson;

use super::{Operator, ParseOptions};
use crate::error::Result;

/// Parses a CQL-specific operator; `Ok(None)` means "not CQL-specific, use the shared one".
pub fn parse_cql_operator(
    _name: &str,
    _arg: &Bson,
    _opts: &ParseOptions,
    _depth: usize,
) -> Result<Option<Operator>> {
    Ok(None)
}
