//! `$sample: {size: n}`: `n` documents chosen uniformly at random without replacement, in
//! random order (all of them, shuffled, when the input is smaller). The input is already
//! materialised, so a full shuffle (O(n)) is as cheap as reservoir sampling here.

use bson::{Bson, Document};
use rand::SeedableRng;
use rand::seq::SliceRandom;

use super::util::type_name;
use crate::compare::Number;
use crate::error::{QueryError, Result};

/// Parses `{size: n}`: an object (28745) with only `size` (28748), a number (28746) that is not
/// negative (28747).
pub(crate) fn parse_sample(spec: &Bson) -> Result<u64> {
    let Bson::Document(d) = spec else {
        return Err(QueryError::location(
            28745,
            "the $sample stage specification must be an object",
        ));
    };
    let mut size = None;
    for (k, v) in d {
        if k != "size" {
            return Err(QueryError::location(
                28748,
                format!("unrecognized option to $sample: {k}"),
            ));
        }
        let Some(n) = Number::of(v) else {
            return Err(QueryError::location(
                28746,
                format!(
                    "size argument to $sample must be a number, got {}",
                    type_name(v)
                ),
            ));
        };
        let f = n.as_f64();
        if f < 0.0 || f.is_nan() {
            return Err(QueryError::location(
                28747,
                "size argument to $sample must not be negative",
            ));
        }
        size = Some(match n {
            Number::Int(i) => u64::try_from(i).unwrap_or(0),
            Number::Double(d) | Number::Decimal(d) => d as u64,
        });
    }
    size.ok_or_else(|| QueryError::location(28749, "$sample stage must specify a size"))
}

/// Picks the sample.
pub(crate) fn apply_sample(mut docs: Vec<Document>, n: u64, seed: Option<u64>) -> Vec<Document> {
    let n = usize::try_from(n).unwrap_or(usize::MAX).min(docs.len());
    match seed {
        Some(s) => {
            let mut rng = rand::rngs::StdRng::seed_from_u64(s);
            docs.shuffle(&mut rng);
        }
        None => {
            let mut rng = rand::rng();
            docs.shuffle(&mut rng);
        }
    }
    docs.truncate(n);
    docs
}
