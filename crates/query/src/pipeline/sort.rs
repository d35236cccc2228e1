//! `$sort`: a stable sort by one or more keys, with MongoDB's rules for arrays and mixed types
//! (delegated to [`SortSpec`]).

use bson::{Bson, Document};

use crate::error::{QueryError, Result};
use crate::sort::SortSpec;

/// A parsed `$sort` stage.
#[derive(Debug, Clone)]
pub struct SortStage {
    spec: SortSpec,
    raw: Document,
}

impl SortStage {
    /// Parses the `$sort` argument: a non-empty object (15973, 15976); key values are checked
    /// by [`SortSpec::parse`].
    pub(crate) fn parse(spec: &Bson) -> Result<SortStage> {
        let Bson::Document(d) = spec else {
            return Err(QueryError::location(
                15973,
                "the $sort key specification must be an object",
            ));
        };
        if d.is_empty() {
            return Err(QueryError::location(
                15976,
                "$sort stage must have at least one sort key",
            ));
        }
        Ok(SortStage {
            spec: SortSpec::parse(d)?,
            raw: d.clone(),
        })
    }

    /// The sort specification as written.
    pub fn spec(&self) -> &Document {
        &self.raw
    }

    /// The first `n` documents of the sorted order, without sorting the rest: O(len + n log n)
    /// instead of O(len log len). Same result as [`SortStage::apply`] then truncating (ties
    /// are broken by input position, which keeps it stable).
    pub(crate) fn apply_top(&self, docs: Vec<Document>, n: usize) -> Result<Vec<Document>> {
        if n >= docs.len() {
            return self.apply(docs);
        }
        if n == 0 {
            return Ok(Vec::new());
        }
        let mut keyed: Vec<(Vec<Bson>, usize, Document)> = docs
            .into_iter()
            .enumerate()
            .map(|(i, d)| (self.spec.sort_key(&d), i, d))
            .collect();
        let cmp = |a: &(Vec<Bson>, usize, Document), b: &(Vec<Bson>, usize, Document)| {
            self.spec.compare_keys(&a.0, &b.0).then(a.1.cmp(&b.1))
        };
        keyed.select_nth_unstable_by(n - 1, cmp);
        keyed.truncate(n);
        keyed.sort_by(cmp);
        Ok(keyed.into_iter().map(|(_, _, d)| d).collect())
    }

    /// Sorts `docs` (stable: equal keys keep their input order).
    pub(crate) fn apply(&self, docs: Vec<Document>) -> Result<Vec<Document>> {
        // Keys are computed once per document, not once per comparison.
        let mut keyed: Vec<(Vec<Bson>, Document)> = docs
            .into_iter()
            .map(|d| (self.spec.sort_key(&d), d))
            .collect();
        keyed.sort_by(|a, b| self.spec.compare_keys(&a.0, &b.0));
        Ok(keyed.into_iter().map(|(_, d)| d).collect())
    }
}
