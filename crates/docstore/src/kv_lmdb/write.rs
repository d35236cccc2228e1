//! Write transactions of the LMDB engine: tables are created by their first `put` (a new
//! 4-byte id in the `tables` database), dropped by deleting their key range and name; keys
//! over LMDB's limit are refused before LMDB sees them.

use std::cell::RefCell;
use std::ops::Bound;

use heed::RwTxn;

use super::{
    Db, NEXT_ID_KEY, TableId, cached_id, engine, lookup, names, prefixed, prefixed_bounds, walk,
};
use crate::kv::{BatchEntry, KvError, KvIter, KvRead, KvResult, KvWrite, bound_slice, empty_range};
use crate::memo::FxHashMap;

/// A write transaction.
pub(super) struct LmdbWrite<'e> {
    pub(super) txn: RwTxn<'e>,
    pub(super) max_key: usize,
    pub(super) data: Db,
    pub(super) tables: Db,
    /// Table ids looked up or created in this transaction (`None`: no such table), so the
    /// `tables` database is read once per table and transaction.
    pub(super) ids: RefCell<FxHashMap<String, Option<TableId>>>,
}

impl LmdbWrite<'_> {
    /// Refuses a key LMDB could not store, before LMDB sees it.
    fn check_len(&self, table: &str, full_len: usize) -> KvResult<()> {
        if full_len > self.max_key {
            return Err(KvError::KeyTooLong {
                table: table.to_string(),
                len: full_len,
                max: self.max_key,
            });
        }
        Ok(())
    }

    fn id(&self, table: &str) -> KvResult<Option<TableId>> {
        cached_id(&self.ids, &self.txn, self.tables, table)
    }

    /// The id of `table`, creating the table when it does not exist.
    fn id_or_create(&mut self, table: &str) -> KvResult<TableId> {
        if let Some(id) = self.id(table)? {
            return Ok(id);
        }
        if table.is_empty() || table.starts_with('\0') {
            return Err(KvError::Engine(format!(
                "lmdb: invalid table name {table:?}"
            )));
        }
        let next =
            match self.tables.get(&self.txn, NEXT_ID_KEY).map_err(engine)? {
                Some(v) => u32::from_be_bytes(v.try_into().map_err(|_| {
                    KvError::Engine("lmdb: the next table id is not 4 bytes".into())
                })?),
                None => 1,
            };
        let after = next
            .checked_add(1)
            .ok_or_else(|| KvError::Engine("lmdb: table ids exhausted".into()))?;
        let id = next.to_be_bytes();
        self.tables
            .put(&mut self.txn, NEXT_ID_KEY, &after.to_be_bytes())
            .map_err(engine)?;
        self.tables
            .put(&mut self.txn, table.as_bytes(), &id)
            .map_err(engine)?;
        self.ids.borrow_mut().insert(table.to_string(), Some(id));
        Ok(id)
    }
}

impl KvRead for LmdbWrite<'_> {
    fn get(&self, table: &str, key: &[u8]) -> KvResult<Option<Vec<u8>>> {
        let Some(id) = self.id(table)? else {
            return Ok(None);
        };
        lookup(&self.txn, self.data, &id, key, self.max_key)
    }

    fn range<'a>(
        &'a self,
        table: &str,
        lo: Bound<&[u8]>,
        hi: Bound<&[u8]>,
        reverse: bool,
    ) -> KvResult<KvIter<'a>> {
        let Some(id) = self.id(table)? else {
            return Ok(Box::new(std::iter::empty()));
        };
        let (lo, hi) = prefixed_bounds(&id, lo, hi, self.max_key);
        if empty_range(bound_slice(&lo), bound_slice(&hi)) {
            return Ok(Box::new(std::iter::empty()));
        }
        let owned = |item: heed::Result<(&[u8], &[u8])>| {
            item.map(|(k, v)| (k[4..].to_vec(), v.to_vec()))
                .map_err(engine)
        };
        let range = (bound_slice(&lo), bound_slice(&hi));
        if reverse {
            let it = self.data.rev_range(&self.txn, &range).map_err(engine)?;
            Ok(Box::new(it.map(owned)))
        } else {
            let it = self.data.range(&self.txn, &range).map_err(engine)?;
            Ok(Box::new(it.map(owned)))
        }
    }

    fn table_names(&self) -> KvResult<Vec<String>> {
        names(&self.txn, self.tables)
    }

    fn scan(
        &self,
        table: &str,
        lo: Bound<&[u8]>,
        hi: Bound<&[u8]>,
        reverse: bool,
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> KvResult<()> {
        let Some(id) = self.id(table)? else {
            return Ok(());
        };
        let (lo, hi) = prefixed_bounds(&id, lo, hi, self.max_key);
        walk(
            &self.txn,
            self.data,
            bound_slice(&lo),
            bound_slice(&hi),
            reverse,
            f,
        )
    }
}

impl KvWrite for LmdbWrite<'_> {
    fn put(&mut self, table: &str, key: &[u8], value: &[u8]) -> KvResult<()> {
        self.check_len(table, 4 + key.len())?;
        let id = self.id_or_create(table)?;
        self.data
            .put(&mut self.txn, &prefixed(&id, key), value)
            .map_err(engine)
    }

    fn delete(&mut self, table: &str, key: &[u8]) -> KvResult<bool> {
        let Some(id) = self.id(table)? else {
            return Ok(false);
        };
        if 4 + key.len() > self.max_key {
            return Ok(false);
        }
        self.data
            .delete(&mut self.txn, &prefixed(&id, key))
            .map_err(engine)
    }

    fn write_batch(
        &mut self,
        table: &str,
        batch: &mut dyn Iterator<Item = BatchEntry<'_>>,
    ) -> KvResult<()> {
        let id = self.id_or_create(table)?;
        let mut key = Vec::with_capacity(64);
        for (k, v) in batch {
            key.clear();
            key.extend_from_slice(&id);
            key.extend_from_slice(k);
            if key.len() > self.max_key {
                // No key this long can have been stored: nothing to delete.
                if v.is_none() {
                    continue;
                }
                self.check_len(table, key.len())?;
            }
            match v {
                Some(v) => self.data.put(&mut self.txn, &key, v).map_err(engine)?,
                None => {
                    self.data.delete(&mut self.txn, &key).map_err(engine)?;
                }
            }
        }
        Ok(())
    }

    fn drop_table(&mut self, table: &str) -> KvResult<()> {
        let Some(id) = self.id(table)? else {
            return Ok(());
        };
        let (lo, hi) = prefixed_bounds(&id, Bound::Unbounded, Bound::Unbounded, self.max_key);
        self.data
            .delete_range(&mut self.txn, &(bound_slice(&lo), bound_slice(&hi)))
            .map_err(engine)?;
        self.tables
            .delete(&mut self.txn, table.as_bytes())
            .map_err(engine)?;
        self.ids.borrow_mut().insert(table.to_string(), None);
        Ok(())
    }
}
