//! The wire protocol's [`CredentialStore`] over the control plane's accounts: console users
//! log in to the MongoDB endpoint with their e-mail and password (SCRAM keys derived when the
//! password was set); organisation owners reach every database, other users only the
//! `<project>__<env>` databases of the projects they are members of.

use std::collections::BTreeSet;
use std::sync::Arc;

use bson::{Bson, Document};

use super::db::{int, text};
use super::{ControlPlane, accounts::normalize_email};
use crate::wire::auth::{
    CredentialStore, DatabaseAccess, Mechanism, ScramCredential, UserCredentials,
};
use crate::wire::project_database_name;

/// [`CredentialStore`] backed by the control plane.
pub(crate) struct WireCredentials {
    plane: Arc<ControlPlane>,
}

fn bytes(d: &Document, key: &str) -> Vec<u8> {
    match d.get(key) {
        Some(Bson::Binary(b)) => b.bytes.clone(),
        _ => Vec::new(),
    }
}

fn credential(d: Option<&Document>, mechanism: Mechanism) -> Option<ScramCredential> {
    let d = d?;
    Some(ScramCredential {
        mechanism,
        salt: bytes(d, "salt"),
        iterations: u32::try_from(int(d, "iterations")).ok()?,
        stored_key: bytes(d, "storedKey"),
        server_key: bytes(d, "serverKey"),
    })
}

impl CredentialStore for WireCredentials {
    fn lookup(&self, user: &str) -> Option<UserCredentials> {
        let plane = &self.plane;
        let account = plane.account_by_email(&normalize_email(user)).ok()??;
        let scram = account.get_document("scram").ok()?;
        let credentials: Vec<ScramCredential> = [
            credential(scram.get_document("sha256").ok(), Mechanism::ScramSha256),
            credential(scram.get_document("sha1").ok(), Mechanism::ScramSha1),
        ]
        .into_iter()
        .flatten()
        .collect();
        if credentials.is_empty() {
            return None;
        }
        let owner = account
            .get_document("orgRoles")
            .map(|d| d.iter().any(|(_, r)| r.as_str() == Some("owner")))
            .unwrap_or(false);
        let access = if owner {
            DatabaseAccess::All
        } else {
            let member_of: BTreeSet<String> = plane
                .memberships(&text(&account, "_id"))
                .ok()?
                .into_iter()
                .map(|(p, _)| p)
                .collect();
            let mut dbs = BTreeSet::new();
            for project in plane.all_projects().ok()? {
                if member_of.contains(&project.id) {
                    for env in &project.environments {
                        dbs.insert(project_database_name(&project.slug, env));
                    }
                }
            }
            DatabaseAccess::Only(dbs)
        };
        Some(UserCredentials {
            // The name the client authenticates with (SCRAM-SHA-1 keys depend on it).
            user: user.to_string(),
            credentials,
            access,
        })
    }
}

impl ControlPlane {
    /// The credential store of the MongoDB wire endpoint (users = console accounts).
    pub fn wire_credentials(self: &Arc<Self>) -> Arc<dyn CredentialStore> {
        Arc::new(WireCredentials {
            plane: Arc::clone(self),
        })
    }
}
