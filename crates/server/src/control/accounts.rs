//! Accounts: creation, password login with throttling, refresh, logout, password change,
//! and turning a bearer token into a [`Principal`].
//!
//! Invariants: an account stores its password only as an argon2id hash plus derived SCRAM
//! keys (for the wire protocol); a password change bumps the account's token generation,
//! revoking every session; an unknown e-mail costs the same argon2 work as a wrong password;
//! session state is persisted in the store, and fails closed (a store error reads as revoked).

use std::net::IpAddr;
use std::sync::OnceLock;

use bson::{Binary, Bson, Document, doc, spec::BinarySubtype};
use serde::Serialize;
use stratus_auth::AuthError;
use stratus_auth::password::{hash_password, verify_password};
use stratus_auth::roles::{
    Authorized, ManageOrg, ManageOrgMembers, OrgRole, Principal, Subject, ViewOrg,
};
use stratus_auth::session::{ACCESS_TOKEN_TTL, SessionState, TokenPair};
use stratus_types::ErrorCode;

use super::db::{self, ACCOUNTS, REVOKED, SYSTEM_DB, find_all, find_one, int, text};
use super::projects::{org_role_name, parse_org_role};
use super::{ControlError, ControlPlane};
use crate::wire::auth::{Mechanism, ScramCredential, mongo_sha1_password};

/// The account id of the local-admin (system) principal.
pub(crate) const SYSTEM_ACCOUNT: &str = "__system__";
/// Longest e-mail address accepted.
pub const MAX_EMAIL_BYTES: usize = 254;

/// An account as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountInfo {
    /// Account id.
    pub id: String,
    /// E-mail (the login name, lower case).
    pub email: String,
    /// Organisation roles: `{org id: role}`.
    pub org_roles: std::collections::BTreeMap<String, String>,
}

/// The tokens of a login (answered as `{"token", "refreshToken", "expiresIn"}`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginTokens {
    /// The access (bearer) token.
    pub token: String,
    /// The refresh token.
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

impl From<TokenPair> for LoginTokens {
    fn from(p: TokenPair) -> Self {
        LoginTokens {
            token: p.access_token,
            refresh_token: p.refresh_token,
            expires_in: ACCESS_TOKEN_TTL.as_secs(),
        }
    }
}

/// Lower-cases and trims an e-mail.
pub(crate) fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

fn check_email(email: &str) -> Result<(), ControlError> {
    let ok = email.len() <= MAX_EMAIL_BYTES
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        })
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(ControlError::field(
            "email",
            "must be an e-mail address",
            "value_error",
        ))
    }
}

fn account_info(doc: &Document) -> AccountInfo {
    let org_roles = doc
        .get_document("orgRoles")
        .map(|d| {
            d.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default();
    AccountInfo {
        id: text(doc, "_id"),
        email: text(doc, "email"),
        org_roles,
    }
}

fn scram_doc(c: &ScramCredential) -> Document {
    let bin = |b: &[u8]| {
        Bson::Binary(Binary {
            subtype: BinarySubtype::Generic,
            bytes: b.to_vec(),
        })
    };
    doc! {"salt": bin(&c.salt), "iterations": i64::from(c.iterations),
    "storedKey": bin(&c.stored_key), "serverKey": bin(&c.server_key)}
}

/// The stored password material for `email`/`password`: argon2id hash and SCRAM keys.
fn password_fields(email: &str, password: &str) -> Result<Document, ControlError> {
    let hash = hash_password(password).map_err(|e| match e {
        AuthError::WeakPassword(why) => {
            ControlError::field("password", format!("too weak: {why}"), "value_error")
        }
        other => ControlError::Auth(other),
    })?;
    let sha256 = ScramCredential::derive(password, Mechanism::ScramSha256);
    let sha1 = ScramCredential::derive(&mongo_sha1_password(email, password), Mechanism::ScramSha1);
    Ok(doc! {"passwordHash": hash,
    "scram": {"sha256": scram_doc(&sha256), "sha1": scram_doc(&sha1)}})
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_password("timing-equaliser-password").unwrap_or_default())
}

/// [`SessionState`] persisted in the system database.
pub(crate) struct StoreSessions<'a> {
    store: &'a stratus_docstore::Store,
}

impl SessionState for StoreSessions<'_> {
    fn generation(&self, account_id: &str) -> Option<u64> {
        let d = find_one(self.store, ACCOUNTS, doc! {"_id": account_id}).ok()??;
        u64::try_from(int(&d, "generation")).ok()
    }

    fn is_revoked(&self, session_id: &str) -> bool {
        !matches!(
            find_one(self.store, REVOKED, doc! {"_id": session_id}),
            Ok(None)
        )
    }

    fn revoke(&self, session_id: &str, until: i64) {
        let r = self.store.replace_one(
            SYSTEM_DB,
            REVOKED,
            doc! {"_id": session_id},
            doc! {"_id": session_id, "until": until},
            true,
        );
        if let Err(e) = r {
            tracing::error!(error = %e, "could not record a session revocation");
        }
    }
}

impl ControlPlane {
    /// Drops revocation entries whose tokens have expired anyway (called at start).
    pub(crate) fn prune_revoked_sessions(&self) -> Result<u64, ControlError> {
        Ok(self
            .store
            .delete_many(SYSTEM_DB, REVOKED, doc! {"until": {"$lt": self.now_secs()}})?)
    }

    pub(crate) fn session_state(&self) -> StoreSessions<'_> {
        StoreSessions { store: &self.store }
    }

    pub(crate) fn account_doc(&self, id: &str) -> Result<Option<Document>, ControlError> {
        find_one(&self.store, ACCOUNTS, doc! {"_id": id})
    }

    pub(crate) fn account_by_email(&self, email: &str) -> Result<Option<Document>, ControlError> {
        find_one(
            &self.store,
            ACCOUNTS,
            doc! {"email": normalize_email(email)},
        )
    }

    /// Creates an account in the default organisation; `owner` makes it an organisation
    /// owner (else a plain member). Used by `stratus admin create`.
    pub fn create_account(
        &self,
        email: &str,
        password: &str,
        owner: bool,
    ) -> Result<AccountInfo, ControlError> {
        let role = if owner {
            OrgRole::Owner
        } else {
            OrgRole::Member
        };
        self.insert_account(&self.default_org.clone(), email, password, role)
    }

    fn insert_account(
        &self,
        org: &str,
        email: &str,
        password: &str,
        role: OrgRole,
    ) -> Result<AccountInfo, ControlError> {
        let email = normalize_email(email);
        check_email(&email)?;
        if self.account_by_email(&email)?.is_some() {
            return Err(ControlError::AlreadyExists(format!(
                "an account '{email}' already exists"
            )));
        }
        let id = db::new_id();
        let mut d = doc! {"_id": &id, "email": &email, "generation": 0_i64,
        "orgRoles": {org: org_role_name(role)}, "createdAt": self.now_secs()};
        d.extend(password_fields(&email, password)?);
        self.store.insert_one(SYSTEM_DB, ACCOUNTS, d).map_err(|e| {
            if e.code() == stratus_types::Code::DuplicateKey {
                ControlError::AlreadyExists(format!("an account '{email}' already exists"))
            } else {
                ControlError::from(e)
            }
        })?;
        let mut org_roles = std::collections::BTreeMap::new();
        org_roles.insert(org.to_string(), org_role_name(role).to_string());
        Ok(AccountInfo {
            id,
            email,
            org_roles,
        })
    }

    /// Creates a user in the authorised organisation with `role`; creating an owner also
    /// needs `owner` (the caller's own ownership).
    pub fn create_user(
        &self,
        auth: &Authorized<ManageOrgMembers>,
        owner: Option<&Authorized<ManageOrg>>,
        email: &str,
        password: &str,
        role: &str,
    ) -> Result<AccountInfo, ControlError> {
        let role = parse_org_role(role).ok_or_else(|| {
            ControlError::field(
                "orgRole",
                "must be member, project-creator, manager, billing-admin or owner",
                "value_error",
            )
        })?;
        if role == OrgRole::Owner && owner.is_none() {
            return Err(ControlError::Forbidden(
                "only an organisation owner can create owners".into(),
            ));
        }
        self.insert_account(auth.org(), email, password, role)
    }

    /// The accounts of the authorised organisation.
    pub fn list_users(&self, auth: &Authorized<ViewOrg>) -> Result<Vec<AccountInfo>, ControlError> {
        let key = format!("orgRoles.{}", auth.org());
        Ok(find_all(
            &self.store,
            ACCOUNTS,
            doc! {key: {"$exists": true}},
            doc! {"email": 1},
        )?
        .iter()
        .map(account_info)
        .collect())
    }

    /// The caller's account (`forbidden` for API keys and the local admin token).
    pub fn me(&self, principal: &Principal) -> Result<AccountInfo, ControlError> {
        let id = self.own_account(principal)?;
        self.account_doc(&id)?
            .map(|d| account_info(&d))
            .ok_or_else(|| ControlError::not_found("the account no longer exists"))
    }

    fn own_account(&self, principal: &Principal) -> Result<String, ControlError> {
        match principal.subject() {
            Subject::Account(id) if id != SYSTEM_ACCOUNT => Ok(id.clone()),
            Subject::Account(_) | Subject::ApiKey(_) => Err(ControlError::Forbidden(
                "this credential is not an account".into(),
            )),
        }
    }

    /// Logs in with e-mail and password from client address `addr` (throttled per account and
    /// per address).
    pub fn login(
        &self,
        email: &str,
        password: &str,
        addr: IpAddr,
    ) -> Result<LoginTokens, ControlError> {
        let email = normalize_email(email);
        self.limiter.check(&email, addr)?;
        let account = self.account_by_email(&email)?;
        let hash = account
            .as_ref()
            .map(|a| text(a, "passwordHash"))
            .unwrap_or_else(|| dummy_hash().to_string());
        let ok = verify_password(password, &hash);
        let account = match account {
            Some(a) if ok => a,
            Some(_) | None => return Err(AuthError::InvalidCredentials.into()),
        };
        self.limiter.reset_account(&email);
        let generation = u64::try_from(int(&account, "generation")).unwrap_or(0);
        Ok(self
            .sessions
            .issue(&text(&account, "_id"), generation)?
            .into())
    }

    /// Exchanges a refresh token for new tokens (the old session is revoked).
    pub fn refresh(&self, refresh_token: &str) -> Result<LoginTokens, ControlError> {
        Ok(self
            .sessions
            .refresh(refresh_token, &self.session_state())?
            .into())
    }

    /// Logs out the session of an access token.
    pub fn logout(&self, access_token: &str) -> Result<(), ControlError> {
        let state = self.session_state();
        let session = self.sessions.verify_access(access_token, &state)?;
        self.sessions.logout(&session, &state);
        Ok(())
    }

    /// Changes the caller's password after checking the current one; every existing session
    /// of the account is revoked and a new one is returned.
    pub fn change_password(
        &self,
        principal: &Principal,
        current: &str,
        new: &str,
    ) -> Result<LoginTokens, ControlError> {
        let id = self.own_account(principal)?;
        let account = self
            .account_doc(&id)?
            .ok_or_else(|| ControlError::not_found("the account no longer exists"))?;
        if !verify_password(current, &text(&account, "passwordHash")) {
            return Err(ControlError::field(
                "current",
                "the current password is wrong",
                "value_error",
            ));
        }
        let fields = password_fields(&text(&account, "email"), new).map_err(|e| match e {
            ControlError::Invalid(mut problems) => {
                for p in &mut problems {
                    p.loc = vec!["body".into(), "new".into()];
                }
                ControlError::Invalid(problems)
            }
            other => other,
        })?;
        let after = self
            .store
            .find_one_and_update(
                SYSTEM_DB,
                ACCOUNTS,
                doc! {"_id": &id},
                &Bson::Document(doc! {"$set": fields, "$inc": {"generation": 1_i64}}),
                stratus_docstore::FindAndModifyOptions {
                    return_document: stratus_docstore::ReturnDocument::After,
                    ..Default::default()
                },
            )?
            .ok_or_else(|| ControlError::not_found("the account no longer exists"))?;
        let generation = u64::try_from(int(&after, "generation")).unwrap_or(0);
        tracing::info!(target: "control", action = "change_password", account = %id);
        Ok(self.sessions.issue(&id, generation)?.into())
    }

    /// The principal of a bearer token: the local admin token, an API key (`stk_…`), or a
    /// session access token.
    pub fn authenticate_bearer(&self, token: &str) -> Result<Principal, ControlError> {
        if token.is_empty() {
            return Err(AuthError::MissingToken.into());
        }
        if constant_time_eq(token.as_bytes(), self.admin_token.as_bytes()) {
            return self.system_principal();
        }
        if stratus_auth::apikey::lookup_prefix(token).is_some() {
            return self.authenticate_api_key(token);
        }
        let session = self.sessions.verify_access(token, &self.session_state())?;
        self.principal_for_account(&session.account_id)
    }

    /// The system principal (what the local admin token authenticates as): owner of every
    /// organisation. For the server's own actions (dev-mode deploys, the CLI).
    pub fn system_principal(&self) -> Result<Principal, ControlError> {
        let mut p = Principal::account(SYSTEM_ACCOUNT);
        for org in self.all_org_ids()? {
            p = p.with_org_role(org, OrgRole::Owner);
        }
        Ok(p)
    }

    /// The principal of an account with all its organisation and project roles.
    pub(crate) fn principal_for_account(&self, id: &str) -> Result<Principal, ControlError> {
        let account = self
            .account_doc(id)?
            .ok_or(ControlError::Auth(AuthError::Revoked))?;
        let mut p = Principal::account(id);
        for (org, role) in account_info(&account).org_roles {
            if let Some(role) = parse_org_role(&role) {
                p = p.with_org_role(org, role);
            }
        }
        for (project, role) in self.memberships(id)? {
            p = p.with_project_role(project, role);
        }
        Ok(p)
    }

    /// A display name of who acted: the account's e-mail, `api-key:<prefix>` or `system`.
    pub(crate) fn actor_name(&self, subject: &Subject) -> String {
        match subject {
            Subject::Account(id) if id == SYSTEM_ACCOUNT => "system".to_string(),
            Subject::Account(id) => self
                .account_doc(id)
                .ok()
                .flatten()
                .map(|d| text(&d, "email"))
                .unwrap_or_else(|| id.clone()),
            Subject::ApiKey(prefix) => format!("api-key:{prefix}"),
        }
    }
}

/// Compares two byte strings in time independent of where they differ.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        for ok in ["a@b", "ada@example.com"] {
            assert!(check_email(ok).is_ok(), "{ok}");
        }
        for bad in ["", "ab", "@b", "a@", "a@b@c", "a b@c"] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
        assert_eq!(normalize_email(" Ada@X.org "), "ada@x.org");
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd") && !constant_time_eq(b"ab", b"abc"));
    }
}
