//! API keys: created per project and role, shown once, stored as SHA-256 (lookup by prefix),
//! listed without secrets, revoked by deletion.
//!
//! Invariant: the plaintext key exists only in the creation response; the store holds the
//! record of [`stratus_auth::apikey`] (prefix, hash, project, role, name, times).

use bson::{Bson, Document, doc};
use serde::Serialize;
use stratus_auth::AuthError;
use stratus_auth::apikey::{self, ApiKeyRecord};
use stratus_auth::roles::{Authorized, ManageApiKeys, Principal, ProjectRole};

use super::db::{API_KEYS, SYSTEM_DB, find_all, find_one, int, iso_time, text};
use super::projects::{parse_project_role, project_role_name};
use super::{API_KEY_TOUCH_INTERVAL_SECS, ControlError, ControlPlane};

/// An API key as listed (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyInfo {
    /// The key's id (its lookup prefix, visible in the key itself).
    pub id: String,
    /// Label.
    pub name: String,
    /// Project slug.
    pub project: String,
    /// Role in the project.
    pub role: ProjectRole,
    /// Creation time (ISO-8601 UTC).
    pub created_at: String,
    /// Last use (ISO-8601 UTC), if ever used.
    pub last_used_at: Option<String>,
}

/// A newly created key: `key` is shown once.
#[derive(Debug, Clone, Serialize)]
pub struct CreatedApiKey {
    /// The plaintext key (shown once, then only its hash exists).
    pub key: String,
    /// Its listing.
    #[serde(flatten)]
    pub info: ApiKeyInfo,
}

fn record_from(d: &Document) -> Option<ApiKeyRecord> {
    Some(ApiKeyRecord {
        prefix: text(d, "_id"),
        hash: text(d, "hash"),
        project: text(d, "project"),
        role: parse_project_role(&text(d, "role"))?,
        name: text(d, "name"),
        created_at: int(d, "createdAt"),
        last_used_at: d.get_i64("lastUsedAt").ok(),
        revoked: false,
    })
}

impl ControlPlane {
    fn key_info(&self, r: &ApiKeyRecord) -> ApiKeyInfo {
        ApiKeyInfo {
            id: r.prefix.clone(),
            name: r.name.clone(),
            project: self
                .find_project(&r.project)
                .ok()
                .flatten()
                .map(|p| p.slug)
                .unwrap_or_default(),
            role: r.role,
            created_at: iso_time(r.created_at),
            last_used_at: r.last_used_at.map(iso_time),
        }
    }

    /// Creates a key for the authorised project.
    pub fn create_api_key(
        &self,
        auth: &Authorized<ManageApiKeys>,
        role: ProjectRole,
        name: &str,
    ) -> Result<CreatedApiKey, ControlError> {
        let project = self.authorized_project(auth.project())?;
        if name.trim().is_empty() || name.len() > apikey::MAX_KEY_NAME_BYTES {
            return Err(ControlError::field(
                "name",
                format!("1 to {} bytes", apikey::MAX_KEY_NAME_BYTES),
                "value_error",
            ));
        }
        let new = apikey::generate(&project.id, role, name, self.now_secs())?;
        let r = &new.record;
        self.store.insert_one(
            SYSTEM_DB,
            API_KEYS,
            doc! {"_id": &r.prefix, "hash": &r.hash, "project": &r.project,
            "role": project_role_name(r.role), "name": &r.name, "createdAt": r.created_at,
            "createdBy": self.actor_name(auth.subject())},
        )?;
        let info = self.key_info(r);
        tracing::info!(target: "control", action = "create_api_key", project = %project.slug, key = %r.prefix, actor = %self.actor_name(auth.subject()));
        Ok(CreatedApiKey {
            key: new.plaintext,
            info,
        })
    }

    /// The authorised project's keys.
    pub fn list_api_keys(
        &self,
        auth: &Authorized<ManageApiKeys>,
    ) -> Result<Vec<ApiKeyInfo>, ControlError> {
        let project = self.authorized_project(auth.project())?;
        Ok(find_all(
            &self.store,
            API_KEYS,
            doc! {"project": &project.id},
            doc! {"createdAt": 1, "_id": 1},
        )?
        .iter()
        .filter_map(record_from)
        .map(|r| self.key_info(&r))
        .collect())
    }

    /// The project (id) of key `id`, to authorise its deletion; `not_found` when unknown.
    pub fn api_key_project(&self, id: &str) -> Result<String, ControlError> {
        find_one(&self.store, API_KEYS, doc! {"_id": id})?
            .map(|d| text(&d, "project"))
            .ok_or_else(|| ControlError::not_found(format!("no API key '{id}'")))
    }

    /// Revokes (deletes) key `id` of the authorised project.
    pub fn delete_api_key(
        &self,
        auth: &Authorized<ManageApiKeys>,
        id: &str,
    ) -> Result<(), ControlError> {
        let project = self.authorized_project(auth.project())?;
        let n = self.store.delete_one(
            SYSTEM_DB,
            API_KEYS,
            doc! {"_id": id, "project": &project.id},
        )?;
        if n == 0 {
            return Err(ControlError::not_found(format!("no API key '{id}'")));
        }
        Ok(())
    }

    pub(crate) fn authenticate_api_key(&self, token: &str) -> Result<Principal, ControlError> {
        let prefix = apikey::lookup_prefix(token).ok_or(AuthError::InvalidCredentials)?;
        let doc = find_one(&self.store, API_KEYS, doc! {"_id": prefix})?
            .ok_or(AuthError::InvalidCredentials)?;
        let record = record_from(&doc).ok_or(AuthError::InvalidCredentials)?;
        if !record.matches(token) {
            return Err(AuthError::InvalidCredentials.into());
        }
        let now = self.now_secs();
        if record
            .last_used_at
            .is_none_or(|t| now - t >= API_KEY_TOUCH_INTERVAL_SECS)
        {
            self.store.update_one(
                SYSTEM_DB,
                API_KEYS,
                doc! {"_id": prefix},
                &Bson::Document(doc! {"$set": {"lastUsedAt": now}}),
                Default::default(),
            )?;
        }
        Ok(Principal::api_key(prefix, record.project, record.role))
    }
}
