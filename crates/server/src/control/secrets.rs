//! Environment secrets: `{name: {key: value}}` sealed with the master key; listed by name and
//! keys only; decrypted only for the runtime ([`ControlPlane::env_secrets`]).
//!
//! Invariant: a secret's values are stored only as one SecretBox ciphertext whose context
//! (`<project id>/<env>/<name>`) binds it to its place; no API answer carries a value.

use bson::{Binary, Bson, Document, doc, spec::BinarySubtype};
use serde::Serialize;
use stratus_auth::roles::{Authorized, ManageSecrets};

use super::db::{SECRETS, SYSTEM_DB, find_all, int, iso_time, text};
use super::{ControlError, ControlPlane};

/// A secret as listed: its name and keys, never values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretInfo {
    /// Secret name (`$.secrets.<name>.<key>` in flows).
    pub name: String,
    /// Its keys.
    pub keys: Vec<String>,
    /// Last change (ISO-8601 UTC).
    pub updated_at: String,
}

fn context(project: &str, env: &str, name: &str) -> String {
    format!("{project}/{env}/{name}")
}

fn info(d: &Document) -> SecretInfo {
    SecretInfo {
        name: text(d, "name"),
        keys: d
            .get_array("keys")
            .map(|a| {
                a.iter()
                    .filter_map(|k| k.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        updated_at: iso_time(int(d, "updatedAt")),
    }
}

impl ControlPlane {
    /// Sets secret `name` of environment `env` to `values` (replacing it).
    pub fn put_secret(
        &self,
        auth: &Authorized<ManageSecrets>,
        env: &str,
        name: &str,
        values: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<SecretInfo, ControlError> {
        let project = self.authorized_project(auth.project())?;
        self.require_env(&project, env)?;
        if !super::db::is_identifier(name) {
            return Err(ControlError::path(
                "name",
                "a secret name must match ^[A-Za-z_][A-Za-z0-9_]{0,99}$",
            ));
        }
        let max_keys = self.limits.max_secret_keys;
        if values.len() > max_keys {
            return Err(ControlError::field(
                "values",
                format!("at most {max_keys} keys"),
                "value_error",
            ));
        }
        let mut problems = Vec::new();
        for (k, v) in values {
            if !super::db::is_identifier(k) {
                problems.push(crate::http::FieldProblem {
                    loc: vec!["body".into(), "values".into(), k.clone().into()],
                    msg: "a key must match ^[A-Za-z_][A-Za-z0-9_]{0,99}$".into(),
                    kind: "value_error".into(),
                });
            } else if !v.is_string() {
                problems.push(crate::http::FieldProblem {
                    loc: vec!["body".into(), "values".into(), k.clone().into()],
                    msg: "expected a string".into(),
                    kind: "type_error".into(),
                });
            }
        }
        if !problems.is_empty() {
            return Err(ControlError::Invalid(problems));
        }
        let id = format!("{}:{env}:{name}", project.id);
        let existing = find_all(
            &self.store,
            SECRETS,
            doc! {"project": &project.id, "env": env},
            doc! {"_id": 1},
        )?;
        let max_secrets = self.limits.max_secrets_per_env;
        if existing.len() >= max_secrets && !existing.iter().any(|d| text(d, "_id") == id) {
            return Err(ControlError::path(
                "name",
                format!("an environment has at most {max_secrets} secrets"),
            ));
        }
        let plain = serde_json::to_vec(values).map_err(ControlError::internal)?;
        let sealed = self
            .secrets
            .seal(&context(&project.id, env, name), &plain)
            .map_err(|e| match e {
                stratus_auth::AuthError::InvalidConfig(msg) => {
                    ControlError::field("values", msg, "value_error")
                }
                other => ControlError::Auth(other),
            })?;
        let keys: Vec<Bson> = values.keys().map(|k| Bson::String(k.clone())).collect();
        let now = self.now_secs();
        let d = doc! {"_id": &id, "project": &project.id, "env": env, "name": name,
        "keys": keys, "updatedAt": now,
        "sealed": Bson::Binary(Binary {subtype: BinarySubtype::Generic, bytes: sealed})};
        self.store
            .replace_one(SYSTEM_DB, SECRETS, doc! {"_id": &id}, d.clone(), true)?;
        // The secret's name only; never its values.
        tracing::info!(target: "control", action = "put_secret", project = %project.slug, env, secret = name, actor = %self.actor_name(auth.subject()));
        Ok(info(&d))
    }

    /// Lists the secrets of environment `env` (names and keys).
    pub fn list_secrets(
        &self,
        auth: &Authorized<ManageSecrets>,
        env: &str,
    ) -> Result<Vec<SecretInfo>, ControlError> {
        let project = self.authorized_project(auth.project())?;
        self.require_env(&project, env)?;
        Ok(find_all(
            &self.store,
            SECRETS,
            doc! {"project": &project.id, "env": env},
            doc! {"name": 1},
        )?
        .iter()
        .map(info)
        .collect())
    }

    /// Deletes secret `name` of environment `env`.
    pub fn delete_secret(
        &self,
        auth: &Authorized<ManageSecrets>,
        env: &str,
        name: &str,
    ) -> Result<(), ControlError> {
        let project = self.authorized_project(auth.project())?;
        self.require_env(&project, env)?;
        let n = self.store.delete_one(
            SYSTEM_DB,
            SECRETS,
            doc! {"_id": format!("{}:{env}:{name}", project.id)},
        )?;
        if n == 0 {
            return Err(ControlError::not_found(format!("no secret '{name}'")));
        }
        Ok(())
    }

    /// The decrypted secrets of a project environment, `{name: {key: value}}`, for flows
    /// (`project` is an id or slug). No permission check: the runtime's own use.
    pub fn env_secrets(&self, project: &str, env: &str) -> Result<Document, ControlError> {
        let project = self
            .find_project(project)?
            .ok_or_else(|| ControlError::not_found(format!("no project '{project}'")))?;
        let mut out = Document::new();
        for d in find_all(
            &self.store,
            SECRETS,
            doc! {"project": &project.id, "env": env},
            doc! {"name": 1},
        )? {
            let name = text(&d, "name");
            let sealed = match d.get("sealed") {
                Some(Bson::Binary(b)) => b.bytes.clone(),
                _ => {
                    return Err(ControlError::internal(format!(
                        "secret {name}: no ciphertext"
                    )));
                }
            };
            let plain = self
                .secrets
                .open(&context(&project.id, env, &name), &sealed)?;
            let values: serde_json::Map<String, serde_json::Value> =
                serde_json::from_slice(&plain).map_err(ControlError::internal)?;
            let mut inner = Document::new();
            for (k, v) in values {
                if let serde_json::Value::String(s) = v {
                    inner.insert(k, s);
                }
            }
            out.insert(name, inner);
        }
        Ok(out)
    }
}
