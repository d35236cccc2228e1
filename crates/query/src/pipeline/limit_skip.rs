//! `$limit` and `$skip`: parsing (MongoDB's codes 15958, 5107200, 5107201) and application.

use bson::{Bson, Document};

use super::util::show;
use crate::compare::Number;
use crate::error::{QueryError, Result};

/// The non-negative integral value of a `$limit`/`$skip` argument, or an error message part.
fn non_negative_integer(v: &Bson, stage: &str, code: u32) -> Result<u64> {
    let n = Number::of(v).ok_or_else(|| {
        QueryError::location(
            code,
            format!(
                "invalid argument to {stage} stage: Expected a number in: {stage}: {}",
                show(v)
            ),
        )
    })?;
    let f = match n {
        Number::Int(i) => {
            return u64::try_from(i).map_err(|_| {
                QueryError::location(
                    code,
                    format!(
                        "invalid argument to {stage} stage: Expected a non-negative number in: {stage}: {i}"
                    ),
                )
            });
        }
        Number::Double(d) | Number::Decimal(d) => d,
    };
    if f.fract() != 0.0 || !f.is_finite() {
        return Err(QueryError::location(
            code,
            format!(
                "invalid argument to {stage} stage: Expected an integer in: {stage}: {}",
                show(v)
            ),
        ));
    }
    if f < 0.0 {
        return Err(QueryError::location(
            code,
            format!(
                "invalid argument to {stage} stage: Expected a non-negative number in: {stage}: {}",
                show(v)
            ),
        ));
    }
    // Saturating cast: a limit above u64::MAX means "everything".
    Ok(f as u64)
}

/// Parses `$limit`: a positive integer (0 is 15958, negative or non-number is 5107201).
pub(crate) fn parse_limit(spec: &Bson) -> Result<u64> {
    let n = non_negative_integer(spec, "$limit", 5107201)?;
    if n == 0 {
        return Err(QueryError::location(15958, "the limit must be positive"));
    }
    Ok(n)
}

/// Parses `$skip`: a non-negative integer (5107200 otherwise).
pub(crate) fn parse_skip(spec: &Bson) -> Result<u64> {
    non_negative_integer(spec, "$skip", 5107200)
}

/// Keeps the first `n` documents.
pub(crate) fn apply_limit(mut docs: Vec<Document>, n: u64) -> Vec<Document> {
    docs.truncate(usize::try_from(n).unwrap_or(usize::MAX));
    docs
}

/// Drops the first `n` documents.
pub(crate) fn apply_skip(docs: Vec<Document>, n: u64) -> Vec<Document> {
    docs.into_iter()
        .skip(usize::try_from(n).unwrap_or(usize::MAX))
        .collect()
}
