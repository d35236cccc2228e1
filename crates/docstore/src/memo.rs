//! Per-snapshot memoisation and the shared-snapshot cache.
//!
//! A read snapshot never changes, so anything derived from it (a decoded catalog entry, an
//! opened table handle) stays valid for as long as the snapshot lives. [`Memo`] keeps such
//! derived values on the snapshot itself; [`SnapshotCache`] hands the same snapshot to every
//! reader until the next commit, so the work of opening a snapshot (and of filling its memo)
//! is shared by all reads between two commits.
//!
//! Invariant of [`SnapshotCache`]: a cached snapshot is handed out only while the generation it
//! was taken under is still current. The engine bumps the generation after every commit and
//! before the commit is acknowledged, and a snapshot is taken after reading the generation, so
//! a reader never gets a snapshot older than the last acknowledged commit (read-your-writes).

use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use arc_swap::ArcSwapOption;

/// The maps of the read path hash with rustc's Fx hash (`rustc-hash`): their keys are table
/// names and catalog keys chosen by the store, not by users of the network protocols (no
/// flooding concern).
pub use rustc_hash::FxHashMap;

/// A value memoised on a snapshot.
pub type MemoValue = Arc<dyn Any + Send + Sync>;

/// Derived values of one immutable snapshot, keyed by bytes chosen by the caller.
#[derive(Default)]
pub struct Memo {
    values: RwLock<FxHashMap<Vec<u8>, MemoValue>>,
}

impl std::fmt::Debug for Memo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memo").finish_non_exhaustive()
    }
}

impl Memo {
    /// The value memoised under `key`, computing and storing it with `make` when absent.
    /// Concurrent callers may both compute it; the first stored value wins.
    pub fn get_or_try_insert<E>(
        &self,
        key: &[u8],
        make: impl FnOnce() -> Result<MemoValue, E>,
    ) -> Result<MemoValue, E> {
        if let Some(v) = self
            .values
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(key)
        {
            return Ok(v.clone());
        }
        let v = make()?;
        let mut map = self
            .values
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(map.entry(key.to_vec()).or_insert(v).clone())
    }
}

/// Shares one snapshot among all readers between two commits.
pub struct SnapshotCache<S> {
    generation: AtomicU64,
    cached: ArcSwapOption<(u64, Arc<S>)>,
}

impl<S> Default for SnapshotCache<S> {
    fn default() -> Self {
        SnapshotCache {
            generation: AtomicU64::new(0),
            cached: ArcSwapOption::empty(),
        }
    }
}

impl<S> SnapshotCache<S> {
    /// The current snapshot: the cached one when no commit happened since it was taken,
    /// otherwise a new one from `take` (then cached).
    pub fn get<E>(&self, take: impl FnOnce() -> Result<S, E>) -> Result<Arc<S>, E> {
        let generation = self.generation.load(Ordering::Acquire);
        if let Some(c) = self.cached.load().as_ref()
            && c.0 == generation
        {
            return Ok(c.1.clone());
        }
        let snap = Arc::new(take()?);
        // A commit since `generation` was read makes this entry stale at once (its generation
        // no longer matches), so storing it is harmless either way.
        self.cached
            .store(Some(Arc::new((generation, snap.clone()))));
        Ok(snap)
    }

    /// Called after every commit, before it is acknowledged: later readers take a new
    /// snapshot, and the old one is released as soon as its last reader is done.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.cached.store(None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memo_computes_once_and_keeps_errors_out() {
        let memo = Memo::default();
        let mut calls = 0;
        for _ in 0..3 {
            let v = memo
                .get_or_try_insert::<()>(b"k", || {
                    calls += 1;
                    Ok(Arc::new(7u32))
                })
                .expect("value");
            assert_eq!(v.downcast_ref::<u32>(), Some(&7));
        }
        assert_eq!(calls, 1);
        let failed = memo.get_or_try_insert(b"e", || Err("boom"));
        assert_eq!(failed.err(), Some("boom"));
        let later = memo
            .get_or_try_insert::<()>(b"e", || Ok(Arc::new(1u8)))
            .expect("value");
        assert_eq!(later.downcast_ref::<u8>(), Some(&1));
    }

    #[test]
    fn snapshot_cache_is_shared_until_invalidated() {
        let cache: SnapshotCache<u32> = SnapshotCache::default();
        let mut taken = 0;
        let a = cache
            .get::<()>(|| {
                taken += 1;
                Ok(1)
            })
            .expect("a");
        let b = cache.get::<()>(|| Ok(2)).expect("b");
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(taken, 1);
        cache.invalidate();
        let c = cache.get::<()>(|| Ok(3)).expect("c");
        assert_eq!(*c, 3);
    }
}
