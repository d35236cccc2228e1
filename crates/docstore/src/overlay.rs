//! A write buffer over another [`KvWrite`]: the unit of per-operation atomicity.
//!
//! Group commit runs many callers' operations in one storage transaction. Each operation (and
//! each document of an unordered `insert_many`) writes into its own [`Overlay`]; only when it
//! succeeds is the overlay applied to the layer below with [`Overlay::apply`]. A failing
//! operation simply drops its overlay, so it leaves nothing half-written and cannot poison the
//! other operations of the group.
//!
//! Invariant: reads through an overlay see the base with the overlay's pending writes on top,
//! with the same ordering and snapshot semantics as the [`KvRead`] contract.

use std::collections::BTreeMap;
use std::iter::Peekable;
use std::ops::Bound;

use crate::kv::{KvIter, KvPair, KvRead, KvResult, KvWrite};

/// Pending writes of one table.
#[derive(Debug, Default)]
struct TableWrites {
    /// The table was dropped: the base's content is invisible.
    cleared: bool,
    /// Key → new value, or `None` for a deletion.
    entries: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

/// Buffered writes on top of `base`.
pub struct Overlay<'a> {
    base: &'a mut dyn KvWrite,
    tables: BTreeMap<String, TableWrites>,
}

impl<'a> Overlay<'a> {
    /// An empty overlay over `base`.
    pub fn new(base: &'a mut dyn KvWrite) -> Self {
        Overlay {
            base,
            tables: BTreeMap::new(),
        }
    }

    /// Writes everything buffered into the base.
    pub fn apply(self) -> KvResult<()> {
        for (name, t) in self.tables {
            if t.cleared {
                self.base.drop_table(&name)?;
            }
            let mut batch = t.entries.iter().map(|(k, v)| (k.as_slice(), v.as_deref()));
            self.base.write_batch(&name, &mut batch)?;
        }
        Ok(())
    }

    fn table_mut(&mut self, table: &str) -> &mut TableWrites {
        if !self.tables.contains_key(table) {
            self.tables
                .insert(table.to_string(), TableWrites::default());
        }
        self.tables
            .get_mut(table)
            .expect("invariant: the table entry was just inserted")
    }

    /// Whether nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }
}

impl KvRead for Overlay<'_> {
    fn get(&self, table: &str, key: &[u8]) -> KvResult<Option<Vec<u8>>> {
        if let Some(t) = self.tables.get(table) {
            if let Some(v) = t.entries.get(key) {
                return Ok(v.clone());
            }
            if t.cleared {
                return Ok(None);
            }
        }
        self.base.get(table, key)
    }

    fn range<'b>(
        &'b self,
        table: &str,
        lo: Bound<&[u8]>,
        hi: Bound<&[u8]>,
        reverse: bool,
    ) -> KvResult<KvIter<'b>> {
        let Some(t) = self.tables.get(table) else {
            return self.base.range(table, lo, hi, reverse);
        };
        let base: KvIter<'b> = if t.cleared {
            Box::new(std::iter::empty())
        } else {
            self.base.range(table, lo, hi, reverse)?
        };
        let in_range = |k: &Vec<u8>| {
            let above = match lo {
                Bound::Included(l) => k.as_slice() >= l,
                Bound::Excluded(l) => k.as_slice() > l,
                Bound::Unbounded => true,
            };
            let below = match hi {
                Bound::Included(h) => k.as_slice() <= h,
                Bound::Excluded(h) => k.as_slice() < h,
                Bound::Unbounded => true,
            };
            above && below
        };
        let mut pending: Vec<(Vec<u8>, Option<Vec<u8>>)> = t
            .entries
            .iter()
            .filter(|(k, _)| in_range(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if reverse {
            pending.reverse();
        }
        Ok(Box::new(Merge {
            base: base.peekable(),
            pending: pending.into_iter().peekable(),
            reverse,
        }))
    }
}

/// A buffered write: key and new value (`None` = deleted).
type PendingEntry = (Vec<u8>, Option<Vec<u8>>);

/// Merges the base's pairs with the overlay's pending entries (which win on equal keys).
struct Merge<'b> {
    base: Peekable<KvIter<'b>>,
    pending: Peekable<std::vec::IntoIter<PendingEntry>>,
    reverse: bool,
}

impl Iterator for Merge<'_> {
    type Item = KvResult<KvPair>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let take_pending = match (self.base.peek(), self.pending.peek()) {
                (_, None) => false,
                (None, Some(_)) => true,
                (Some(Err(_)), Some(_)) => false,
                (Some(Ok((bk, _))), Some((pk, _))) => {
                    if bk == pk {
                        // The pending entry replaces the base's pair.
                        self.base.next();
                        true
                    } else {
                        (pk < bk) != self.reverse
                    }
                }
            };
            if take_pending {
                let (k, v) = self.pending.next()?;
                match v {
                    Some(v) => return Some(Ok((k, v))),
                    None => continue,
                }
            }
            return self.base.next();
        }
    }
}

impl KvWrite for Overlay<'_> {
    fn put(&mut self, table: &str, key: &[u8], value: &[u8]) -> KvResult<()> {
        self.table_mut(table)
            .entries
            .insert(key.to_vec(), Some(value.to_vec()));
        Ok(())
    }

    fn delete(&mut self, table: &str, key: &[u8]) -> KvResult<bool> {
        let existed = self.get(table, key)?.is_some();
        self.table_mut(table).entries.insert(key.to_vec(), None);
        Ok(existed)
    }

    fn write_batch(
        &mut self,
        table: &str,
        batch: &mut dyn Iterator<Item = crate::kv::BatchEntry<'_>>,
    ) -> KvResult<()> {
        let t = self.table_mut(table);
        for (k, v) in batch {
            t.entries.insert(k.to_vec(), v.map(<[u8]>::to_vec));
        }
        Ok(())
    }

    fn drop_table(&mut self, table: &str) -> KvResult<()> {
        let t = self.tables.entry(table.to_string()).or_default();
        t.cleared = true;
        t.entries.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::MemoryKv;

    fn all(kv: &dyn KvRead, reverse: bool) -> Vec<(Vec<u8>, Vec<u8>)> {
        kv.range("t", Bound::Unbounded, Bound::Unbounded, reverse)
            .expect("range")
            .map(|r| r.expect("pair"))
            .collect()
    }

    #[test]
    fn overlay_reads_merge_and_apply_matches_direct_writes() {
        let mut base = MemoryKv::new();
        for k in [b"a", b"c", b"e"] {
            base.put("t", k, b"base").expect("put");
        }
        let mut expected = base.clone();
        {
            let mut o = Overlay::new(&mut base);
            o.put("t", b"b", b"new").expect("put");
            o.put("t", b"c", b"over").expect("put");
            assert!(o.delete("t", b"e").expect("del"));
            assert!(!o.delete("t", b"zz").expect("del"));
            for (k, v) in [(b"b", b"new".as_slice()), (b"c", b"over")] {
                expected.put("t", k, v).expect("put");
            }
            expected.delete("t", b"e").expect("del");
            assert_eq!(all(&o, false), all(&expected, false));
            assert_eq!(all(&o, true), all(&expected, true));
            assert_eq!(o.get("t", b"e").expect("get"), None);
            let mid: Vec<_> = o
                .range("t", Bound::Excluded(b"a"), Bound::Included(b"c"), false)
                .expect("r")
                .map(|r| r.expect("p").0)
                .collect();
            assert_eq!(mid, vec![b"b".to_vec(), b"c".to_vec()]);
            o.apply().expect("apply");
        }
        assert_eq!(all(&base, false), all(&expected, false));
    }

    #[test]
    fn dropped_overlay_leaves_base_untouched_and_drop_table_hides_base() {
        let mut base = MemoryKv::new();
        base.put("t", b"a", b"1").expect("put");
        {
            let mut o = Overlay::new(&mut base);
            o.put("t", b"z", b"2").expect("put");
        }
        assert_eq!(all(&base, false).len(), 1);
        let mut o = Overlay::new(&mut base);
        o.drop_table("t").expect("drop");
        assert!(all(&o, false).is_empty());
        o.put("t", b"q", b"3").expect("put");
        assert_eq!(all(&o, false).len(), 1);
        o.apply().expect("apply");
        assert_eq!(all(&base, false), vec![(b"q".to_vec(), b"3".to_vec())]);
    }
}
