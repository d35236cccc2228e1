//! The system database layout and small helpers shared by the control-plane modules.
//!
//! Collections of [`SYSTEM_DB`]: `orgs`, `accounts` (unique `email`), `projects` (unique
//! `slug`), `members` (`_id` = `<project>:<account>`), `api_keys` (`_id` = lookup prefix),
//! `secrets` (`_id` = `<project>:<env>:<name>`), `drafts` (`_id` = project), `releases`
//! (`_id` = `<project>:<n>`), `deployments` (`_id` = `<project>:<env>`),
//! `revoked_sessions` (`_id` = session id). Definitions are kept as JSON text so that any
//! key (`$gte`, dotted names) round-trips byte for byte.

use bson::{Bson, Document, doc};
use stratus_docstore::index::IndexSpec;
use stratus_docstore::{FindOptions, Store};

use super::ControlError;

/// The system database holding the control plane.
pub const SYSTEM_DB: &str = "__stratus";

pub(crate) const ORGS: &str = "orgs";
pub(crate) const ACCOUNTS: &str = "accounts";
pub(crate) const PROJECTS: &str = "projects";
pub(crate) const MEMBERS: &str = "members";
pub(crate) const API_KEYS: &str = "api_keys";
pub(crate) const SECRETS: &str = "secrets";
pub(crate) const DRAFTS: &str = "drafts";
pub(crate) const RELEASES: &str = "releases";
pub(crate) const DEPLOYMENTS: &str = "deployments";
pub(crate) const REVOKED: &str = "revoked_sessions";

/// Creates the unique indexes (idempotent).
pub(crate) fn ensure_indexes(store: &Store) -> Result<(), ControlError> {
    let unique = |coll: &str, key: Document| -> Result<(), ControlError> {
        let mut spec = IndexSpec::new(key).map_err(stratus_docstore::DocstoreError::from)?;
        spec.unique = true;
        store.create_index(SYSTEM_DB, coll, spec)?;
        Ok(())
    };
    unique(ACCOUNTS, doc! {"email": 1})?;
    unique(PROJECTS, doc! {"slug": 1})?;
    unique(ORGS, doc! {"slug": 1})?;
    unique(RELEASES, doc! {"project": 1, "number": 1})?;
    let mut by_project =
        IndexSpec::new(doc! {"project": 1}).map_err(stratus_docstore::DocstoreError::from)?;
    by_project.unique = false;
    store.create_index(SYSTEM_DB, MEMBERS, by_project.clone())?;
    // Every request of an account reads its memberships.
    let by_account =
        IndexSpec::new(doc! {"account": 1}).map_err(stratus_docstore::DocstoreError::from)?;
    store.create_index(SYSTEM_DB, MEMBERS, by_account)?;
    store.create_index(SYSTEM_DB, SECRETS, by_project)?;
    Ok(())
}

pub(crate) fn find_one(
    store: &Store,
    coll: &str,
    filter: Document,
) -> Result<Option<Document>, ControlError> {
    Ok(store.find_one(SYSTEM_DB, coll, filter)?)
}

pub(crate) fn find_all(
    store: &Store,
    coll: &str,
    filter: Document,
    sort: Document,
) -> Result<Vec<Document>, ControlError> {
    let opts = FindOptions {
        filter,
        sort: Some(sort),
        ..FindOptions::default()
    };
    Ok(store.find(SYSTEM_DB, coll, opts)?.to_vec()?)
}

/// A string field (empty when absent or not a string).
pub(crate) fn text(doc: &Document, key: &str) -> String {
    doc.get_str(key).map(str::to_string).unwrap_or_default()
}

/// An integer field (0 when absent).
pub(crate) fn int(doc: &Document, key: &str) -> i64 {
    match doc.get(key) {
        Some(Bson::Int64(i)) => *i,
        Some(Bson::Int32(i)) => i64::from(*i),
        Some(Bson::Double(d)) => *d as i64,
        _ => 0,
    }
}

/// A time field (seconds since the epoch) as ISO-8601 UTC, `None` when absent.
pub(crate) fn iso_time(secs: i64) -> String {
    bson::DateTime::from_millis(secs.saturating_mul(1000))
        .try_to_rfc3339_string()
        .unwrap_or_default()
}

/// A fresh 24-hex id.
pub(crate) fn new_id() -> String {
    bson::oid::ObjectId::new().to_hex()
}

/// Whether `s` is a valid slug (`^[a-z0-9][a-z0-9-]{0,62}$`), the project definition's rule.
pub(crate) use crate::project::is_slug;

/// Words a project slug may not be (they are top-level paths of the server).
pub(crate) use crate::project::compile::RESERVED_PROJECT_NAMES as RESERVED_SLUGS;

/// Whether `s` is a valid identifier (`^[A-Za-z_][A-Za-z0-9_]{0,99}$`): secret names,
/// secret keys.
pub(crate) fn is_identifier(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 100
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        for ok in ["a", "shop", "my-shop-2", "0x", &"a".repeat(63)] {
            assert!(is_slug(ok), "{ok}");
        }
        for bad in ["", "-a", "A", "a_b", "a.b", "é", &"a".repeat(64)] {
            assert!(!is_slug(bad), "{bad}");
        }
    }

    #[test]
    fn identifiers() {
        assert!(is_identifier("auth_Key1"));
        assert!(!is_identifier("1a") && !is_identifier("a-b") && !is_identifier(""));
    }
}
