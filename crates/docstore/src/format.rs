//! The on-disk format version, stored in the file.
//!
//! The `meta` table holds `format_version` (u32, big-endian). A new file gets
//! [`FORMAT_VERSION`]; opening a file with a different version fails with
//! [`DocstoreError::UnsupportedFormat`] instead of misreading it. Upgrades will live in
//! `upgrade/vN_to_vM.rs`; version 1 is the first released format and has a fixture test
//! (`tests/format.rs`).

use crate::error::{DocstoreError, Result};
use crate::kv::{KvRead, KvStore, KvWrite};

/// The format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// Table of store-wide metadata.
pub const META_TABLE: &str = "meta";

/// Key of the format version in [`META_TABLE`].
pub const FORMAT_KEY: &[u8] = b"format_version";

/// Reads the version stored in the file, if any.
pub fn stored_version(kv: &dyn KvRead) -> Result<Option<u32>> {
    let Some(raw) = kv.get(META_TABLE, FORMAT_KEY)? else {
        return Ok(None);
    };
    let bytes: [u8; 4] = raw
        .as_slice()
        .try_into()
        .map_err(|_| DocstoreError::Corrupt {
            table: META_TABLE.to_string(),
            detail: format!("format_version has {} bytes, expected 4", raw.len()),
        })?;
    Ok(Some(u32::from_be_bytes(bytes)))
}

/// Writes `version` as the file's format version.
pub fn write_version(kv: &mut dyn KvWrite, version: u32) -> Result<()> {
    kv.put(META_TABLE, FORMAT_KEY, &version.to_be_bytes())?;
    Ok(())
}

/// Stamps a new file with [`FORMAT_VERSION`], or checks an existing file's version.
pub fn check_or_init(store: &dyn KvStore) -> Result<()> {
    let snap = store.snapshot()?;
    match stored_version(snap.as_ref())? {
        Some(FORMAT_VERSION) => Ok(()),
        Some(found) => Err(DocstoreError::UnsupportedFormat {
            found,
            supported: FORMAT_VERSION,
        }),
        None => {
            let mut out = Ok(());
            store.write(&mut |kv| {
                // A concurrent opener may have stamped it meanwhile; re-check inside.
                match stored_version(kv) {
                    Ok(None) => write_version(kv, FORMAT_VERSION)
                        .map_err(|e| crate::kv::KvError::Engine(e.to_string())),
                    Ok(Some(v)) if v == FORMAT_VERSION => Ok(()),
                    Ok(Some(found)) => {
                        out = Err(DocstoreError::UnsupportedFormat {
                            found,
                            supported: FORMAT_VERSION,
                        });
                        Ok(())
                    }
                    Err(e) => Err(crate::kv::KvError::Engine(e.to_string())),
                }
            })?;
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::MemoryStore;

    #[test]
    fn new_store_is_stamped_and_other_versions_are_refused() {
        let store = MemoryStore::new();
        check_or_init(&store).expect("init");
        let snap = store.snapshot().expect("snap");
        assert_eq!(
            stored_version(snap.as_ref()).expect("v"),
            Some(FORMAT_VERSION)
        );
        check_or_init(&store).expect("reopen");
        store
            .write(&mut |kv| kv.put(META_TABLE, FORMAT_KEY, &(FORMAT_VERSION + 1).to_be_bytes()))
            .expect("bump");
        let err = check_or_init(&store).expect_err("newer version must fail");
        assert!(
            matches!(err, DocstoreError::UnsupportedFormat { found, .. } if found == FORMAT_VERSION + 1)
        );
        assert!(
            err.to_string()
                .contains("unsupported docstore format version 2")
        );
        store
            .write(&mut |kv| kv.put(META_TABLE, FORMAT_KEY, b"xy"))
            .expect("garble");
        assert!(matches!(
            check_or_init(&store),
            Err(DocstoreError::Corrupt { .. })
        ));
    }
}
