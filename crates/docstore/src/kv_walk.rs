//! The forward walk behind both disk engines' [`crate::kv::KvGetter`]s.
//!
//! A getter is asked for a series of keys of one table (the documents behind an index range,
//! a sorted list of `_id`s). While the keys ascend and lie close together, each is reached
//! from the previous one by stepping a range iterator forward, which costs a fraction of a
//! descent from the root; a key behind the walk's position is looked up with a descent (the
//! walk is kept for the keys after it), a key further than [`GETTER_MAX_STEPS`] entries ahead
//! starts a new walk at it, and after [`GETTER_MAX_JUMPS`] such far jumps in a row the getter
//! only descends (the keys are scattered, so stepping would be wasted work).
//!
//! Invariant of a [`Walker`]: every entry with a key smaller than the one it is on has been
//! passed, so the first entry at or after its position with a key `>= k` answers `k`.

use std::cmp::Ordering;

use crate::kv::KvResult;

/// Entries a getter steps over, looking for the next key ahead of its position, before it
/// gives up and starts a new walk at the key instead (a step within a leaf costs a fraction
/// of a descent; a key further away is better reached from the root).
pub const GETTER_MAX_STEPS: usize = 2;

/// Consecutive far jumps after which a getter stops walking and only descends.
pub const GETTER_MAX_JUMPS: u32 = 2;

/// A range iterator positioned on an entry of one table.
pub(crate) trait Walker {
    /// The key of the entry the walk is on.
    fn key(&self) -> &[u8];
    /// Its value.
    fn value(&self) -> &[u8];
    /// Steps to the next entry; `false` at the end of the table (the position is then
    /// undefined and the walk must not be used again).
    fn advance(&mut self) -> KvResult<bool>;
}

/// A getter's walk and its count of far jumps.
pub(crate) struct WalkState<W> {
    walk: Option<W>,
    jumps: u32,
}

impl<W> Default for WalkState<W> {
    fn default() -> Self {
        WalkState {
            walk: None,
            jumps: 0,
        }
    }
}

impl<W: Walker> WalkState<W> {
    /// The value under `key` (see the module docs): `descend` looks a key up from the root,
    /// `start` opens a walk at the first entry with a key `>= key` (`None`: there is none).
    pub(crate) fn get(
        &mut self,
        key: &[u8],
        descend: impl FnOnce(&[u8]) -> KvResult<Option<Vec<u8>>>,
        start: impl FnOnce(&[u8]) -> KvResult<Option<W>>,
    ) -> KvResult<Option<Vec<u8>>> {
        if let Some(w) = &mut self.walk {
            // Each entry's key is compared with `key` once.
            let mut ord = w.key().cmp(key);
            if ord == Ordering::Greater {
                // Behind the walk: a plain lookup keeps the walk for the keys after it.
                return descend(key);
            }
            let mut steps = 0;
            loop {
                match ord {
                    Ordering::Equal => {
                        self.jumps = 0;
                        return Ok(Some(w.value().to_vec()));
                    }
                    Ordering::Greater => {
                        self.jumps = 0;
                        return Ok(None);
                    }
                    Ordering::Less if steps > GETTER_MAX_STEPS => break,
                    Ordering::Less => {}
                }
                if !w.advance()? {
                    // The table ends before `key`.
                    self.walk = None;
                    return Ok(None);
                }
                steps += 1;
                ord = w.key().cmp(key);
            }
            self.jumps += 1;
        }
        if self.jumps >= GETTER_MAX_JUMPS {
            self.walk = None;
            return descend(key);
        }
        self.walk = start(key)?;
        Ok(match &self.walk {
            Some(w) if w.key() == key => Some(w.value().to_vec()),
            _ => None,
        })
    }
}
