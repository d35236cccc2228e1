//! Streaming execution of a pipeline's leading per-document stages.
//!
//! `$match`, `$project`/`$addFields`/`$set`/`$unset`, `$replaceRoot`/`$replaceWith`,
//! `$unwind`, `$redact`, `$skip` and `$limit` look at one document at a time, so the longest
//! prefix of such stages runs document by document while the input is being read: filtered
//! out documents are never held, and once a `$limit` in the prefix is satisfied no further
//! input is read (a `$match` + `$limit` over a large collection stops early). The remaining
//! stages then run over the materialised result, except a `$group` right after the prefix,
//! which takes the documents one at a time too.

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
/// stops the run. When the first stage after that prefix is a `$group`, documents are also
/// fed into its groups one at a time, so the input is never materialised.
pub(crate) fn run_streaming(
    stages: &[Stage],
    input: impl Iterator<Item = Result<Document>>,
    rc: &RunCtx<'_>,
) -> Result<Vec<Document>> {
    let prefix_len = stages.iter().take_while(|s| streamable(s)).count();
    let (prefix, rest) = stages.split_at(prefix_len);
    if let Some((Stage::Group(g), after)) = rest.split_first() {
        let mut grouper = g.grouper(rc);
        stream_prefix(prefix, input, rc, |d| g.add(&mut grouper, d, rc))?;
        return run_stages(after, grouper.finish()?, rc);
    }
    if prefix_len == 0 {
        return run_stages(stages, input.collect::<Result<_>>()?, rc);
    }
    let mut out = Vec::new();
    stream_prefix(prefix, input, rc, |d| {
        out.push(d);
        Ok(())
    })?;
    run_stages(rest, out, rc)
}

/// Runs the streamable `prefix` over `input` document by document, handing every output
/// document to `sink`; stops reading input once a `$limit` of the prefix is satisfied.
fn stream_prefix(
    prefix: &[Stage],
    input: impl Iterator<Item = Result<Document>>,
    rc: &RunCtx<'_>,
    mut sink: impl FnMut(Document) -> Result<()>,
) -> Result<()> {
    if prefix.is_empty() {
        for doc in input {
            sink(doc?)?;
        }
        return Ok(());
    }
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
        for d in batch {
            sink(d)?;
        }
        let exhausted = prefix
            .iter()
            .zip(&seen)
            .any(|(s, n)| matches!(s, Stage::Limit(l) if n >= l));
        if exhausted {
            break 'input;
        }
    }
    Ok(())
}
