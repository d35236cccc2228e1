//! Handlers of `auth/*`, `users*` and `orgs*`: login, refresh, logout, accounts, password
//! change, organisations.

use axum::extract::State;
use serde::Deserialize;
use stratus_auth::roles::{ManageOrg, ManageOrgMembers, ViewOrg};

use super::AdminState;
use super::extract::{Body, Caller, ClientAddr, OrgAuth, Paging, blocking};
use super::respond::{Answer, created, list, no_content, ok};
use crate::control::ControlError;

/// `POST auth/login` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginBody {
    email: String,
    password: String,
}

/// `POST auth/refresh` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RefreshBody {
    refresh_token: String,
}

/// `POST users` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct NewUserBody {
    email: String,
    password: String,
    #[serde(default)]
    org_role: Option<String>,
}

/// `PUT users/me/password` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasswordBody {
    current: String,
    new: String,
}

pub(crate) async fn login(
    State(st): State<AdminState>,
    ClientAddr(addr): ClientAddr,
    Body(b): Body<LoginBody>,
) -> Answer {
    let control = st.control.clone();
    let addr = super::extract::throttle_addr(addr, &b.email);
    ok(blocking(move || control.login(&b.email, &b.password, addr)).await?)
}

pub(crate) async fn refresh(State(st): State<AdminState>, Body(b): Body<RefreshBody>) -> Answer {
    let control = st.control.clone();
    ok(blocking(move || control.refresh(&b.refresh_token)).await?)
}

pub(crate) async fn logout(State(st): State<AdminState>, caller: Caller) -> Answer {
    let control = st.control.clone();
    blocking(move || match control.logout(&caller.token) {
        // API keys and the local admin token have no session to end.
        Err(ControlError::Auth(_)) => Err(ControlError::Forbidden(
            "only a login session can be logged out".into(),
        )),
        other => other,
    })
    .await?;
    no_content()
}

pub(crate) async fn me(State(st): State<AdminState>, caller: Caller) -> Answer {
    let control = st.control.clone();
    ok(blocking(move || control.me(&caller.principal)).await?)
}

pub(crate) async fn change_password(
    State(st): State<AdminState>,
    caller: Caller,
    Body(b): Body<PasswordBody>,
) -> Answer {
    let control = st.control.clone();
    ok(blocking(move || control.change_password(&caller.principal, &b.current, &b.new)).await?)
}

pub(crate) async fn list_users(
    State(st): State<AdminState>,
    a: OrgAuth<ViewOrg>,
    paging: Paging,
) -> Answer {
    let control = st.control.clone();
    list(
        blocking(move || control.list_users(&a.auth)).await?,
        &paging,
    )
}

pub(crate) async fn create_user(
    State(st): State<AdminState>,
    a: OrgAuth<ManageOrgMembers>,
    Body(b): Body<NewUserBody>,
) -> Answer {
    let control = st.control.clone();
    let user = blocking(move || {
        let owner = control
            .authorize_in_org::<ManageOrg>(&a.caller.principal, Some(&a.org.id))
            .ok();
        control.create_user(
            &a.auth,
            owner.as_ref().map(|(_, cap)| cap),
            &b.email,
            &b.password,
            b.org_role.as_deref().unwrap_or("member"),
        )
    })
    .await?;
    created(user)
}

pub(crate) async fn list_orgs(
    State(st): State<AdminState>,
    caller: Caller,
    paging: Paging,
) -> Answer {
    let control = st.control.clone();
    list(
        blocking(move || control.list_orgs(&caller.principal)).await?,
        &paging,
    )
}

pub(crate) async fn get_org(a: OrgAuth<ViewOrg>) -> Answer {
    ok(a.org)
}
