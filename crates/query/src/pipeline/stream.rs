//! Streaming execution of a pipeline's leading per-document stages.
//!
//! `$match`, `$project`/`$addFields`/`$set`/`$unset`, `$replaceRoot`/`$replaceWith`,
//! `$unwind`, `$redact`, `$skip` and `$limit` look at one document at a time, so the longest
//! prefix of such stages runs document by document while the input is being read: filtered
//! out documents are never held, and once a `$limit` in the prefix is satisfied no further
//! input is read (a `$match` + `$limit` over a large collection stops early). The remaining
//! stages then run over the materialised result.

use bson::Document;

use super::{RunCtx, Stage, run_stage, run_stages};
use crate::error::Result;
use crate::filter::Filter;

/// Whether `stage` can run one document at a time.
fn streamable(stage: &Stage) -> bool {
    matches!(
        stage,
        Stage::Match(_)
            | Stage::Project(_)
            | Stage::ReplaceRoot(_)
            | Stage::Unwind(_)
            | Stage::Redact(_)
            | Stage::Skip(_)
            | Stage::Limit(_)
    )
}

/// Runs `stages` over `input`, streaming the per-document prefix; the first input error
/// stops the run.
pub(crate) fn run_streaming(
    stages: &[Stage],
    input: impl Iterator<Item = Result<Document>>,
    rc: &RunCtx<'_>,
) -> Result<Vec<Document>> {
    let prefix_len = stages.iter().take_while(|s| streamable(s)).count();
    if prefix_len == 0 {
        return run_stages(stages, input.collect::<Result<_>>()?, rc);
    }
    let (prefix, rest) = stages.split_at(prefix_len);
    // Filters with substituted variables are resolved once per run, not per document.
    let mut filters: Vec<Option<Filter>> = Vec::with_capacity(prefix.len());
    for s in prefix {
        filters.push(match s {
            Stage::Match(m) => m.filter_for(rc)?,
            _ => None,
        });
    }
    // Documents that passed each $skip/$limit so far.
    let mut seen = vec![0u64; prefix.len()];
    let mut out = Vec::new();
    'input: for doc in input {
        let mut batch = vec![doc?];
        for (i, stage) in prefix.iter().enumerate() {
            batch = match stage {
                Stage::Match(m) => {
                    let f = filters[i].as_ref().unwrap_or_else(|| m.compiled());
                    batch.retain(|d| f.matches(d));
                    batch
                }
                Stage::Skip(n) => {
                    let mut kept = Vec::with_capacity(batch.len());
                    for d in batch {
                        if seen[i] < *n {
                            seen[i] += 1;
                        } else {
                            kept.push(d);
                        }
                    }
                    kept
                }
                Stage::Limit(n) => {
                    let room = usize::try_from(n.saturating_sub(seen[i])).unwrap_or(usize::MAX);
                    batch.truncate(room);
                    seen[i] += batch.len() as u64;
                    batch
                }
                other => run_stage(other, batch, rc)?,
            };
            if batch.is_empty() {
                break;
            }
        }
        out.extend(batch);
        let exhausted = prefix
            .iter()
            .zip(&seen)
            .any(|(s, n)| matches!(s, Stage::Limit(l) if n >= l));
        if exhausted {
            break 'input;
        }
    }
    run_stages(rest, out, rc)
}
