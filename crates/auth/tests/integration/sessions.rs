//! Control-plane login: password, token pair, refresh rotation, logout, password change,
//! rate limiting, API keys as bearer credentials.

use std::net::IpAddr;
use std::sync::Arc;

use stratus_auth::apikey::ApiKeyRegistry;
use stratus_auth::clock::{Clock, ManualClock};
use stratus_auth::password::{hash_password, verify_password};
use stratus_auth::ratelimit::LoginLimiter;
use stratus_auth::roles::{self, Deploy, ManageSecrets, Principal, ProjectRef, ProjectRole};
use stratus_auth::session::{MemorySessions, SessionIssuer, SessionState, generate_session_key};

fn issuer(clock: &Arc<ManualClock>) -> SessionIssuer {
    let key = generate_session_key().expect("key");
    let c: Arc<dyn Clock> = clock.clone();
    SessionIssuer::new(&key, c).expect("issuer")
}

#[test]
fn login_refresh_logout_password_change() {
    let clock = Arc::new(ManualClock::at_system_now());
    let iss = issuer(&clock);
    let state = MemorySessions::default();
    state.add_account("acc-1");
    let stored = hash_password("s3cret-passw0rd").expect("hash");
    assert!(verify_password("s3cret-passw0rd", &stored));

    let pair = iss
        .issue("acc-1", state.generation("acc-1").expect("gen"))
        .expect("issue");
    let s = iss
        .verify_access(&pair.access_token, &state)
        .expect("access ok");
    assert_eq!(s.account_id, "acc-1");
    // A refresh token is not an access token and vice versa.
    assert_eq!(
        iss.verify_access(&pair.refresh_token, &state)
            .expect_err("typ")
            .reason(),
        "bad_token_use"
    );
    assert_eq!(
        iss.refresh(&pair.access_token, &state)
            .expect_err("typ")
            .reason(),
        "bad_token_use"
    );
    // Access tokens are short-lived.
    clock.advance_secs(15 * 60 + 10);
    assert_eq!(
        iss.verify_access(&pair.access_token, &state)
            .expect_err("exp")
            .reason(),
        "expired"
    );
    // Refresh rotates: the new pair works, the old refresh token is dead (replay).
    let pair2 = iss.refresh(&pair.refresh_token, &state).expect("refresh");
    iss.verify_access(&pair2.access_token, &state)
        .expect("new access ok");
    assert_eq!(
        iss.refresh(&pair.refresh_token, &state)
            .expect_err("replay")
            .reason(),
        "revoked"
    );
    // Logout kills the session.
    iss.logout(
        &iss.verify_access(&pair2.access_token, &state).expect("ok"),
        &state,
    );
    assert_eq!(
        iss.verify_access(&pair2.access_token, &state)
            .expect_err("logout")
            .reason(),
        "revoked"
    );
    assert_eq!(
        iss.refresh(&pair2.refresh_token, &state)
            .expect_err("logout")
            .reason(),
        "revoked"
    );
    // Password change bumps the generation: every earlier token dies.
    let pair3 = iss
        .issue("acc-1", state.generation("acc-1").expect("gen"))
        .expect("issue");
    let pair4 = iss
        .issue("acc-1", state.generation("acc-1").expect("gen"))
        .expect("issue");
    state.bump_generation("acc-1");
    for t in [&pair3.access_token, &pair4.access_token] {
        assert_eq!(
            iss.verify_access(t, &state).expect_err("gen").reason(),
            "revoked"
        );
    }
    assert!(iss.refresh(&pair3.refresh_token, &state).is_err());
    // Unknown accounts and tokens of another server key are refused.
    let other = issuer(&clock);
    let foreign = other.issue("acc-1", 1).expect("issue");
    assert_eq!(
        iss.verify_access(&foreign.access_token, &state)
            .expect_err("key")
            .reason(),
        "bad_signature"
    );
    let ghost = iss.issue("nobody", 0).expect("issue");
    assert_eq!(
        iss.verify_access(&ghost.access_token, &state)
            .expect_err("ghost")
            .reason(),
        "revoked"
    );
    // Revocation entries are pruned once the tokens have expired anyway.
    assert!(state.revoked_len() >= 2);
    state.prune(clock.now_secs() + 31 * 24 * 3600);
    assert_eq!(state.revoked_len(), 0);
}

#[test]
fn short_session_key_is_refused() {
    let c: Arc<dyn Clock> = Arc::new(ManualClock::new(0));
    assert_eq!(
        SessionIssuer::new(&[1u8; 16], c)
            .expect_err("short")
            .reason(),
        "invalid_config"
    );
}

#[test]
fn brute_force_is_rate_limited_per_account_and_address() {
    let clock = Arc::new(ManualClock::new(1_000_000));
    let limiter = LoginLimiter::new(clock);
    let attacker: IpAddr = "203.0.113.9".parse().expect("ip");
    let mut allowed = 0;
    for i in 0..100 {
        // Password spraying: many accounts from one address.
        if limiter.check(&format!("user{i}@x"), attacker).is_ok() {
            allowed += 1;
        }
    }
    assert_eq!(allowed, stratus_auth::ratelimit::DEFAULT_ADDRESS_BURST);
    // Credential stuffing on one account from many addresses.
    let mut allowed = 0;
    for i in 0..100u8 {
        let addr: IpAddr = format!("198.51.100.{i}").parse().expect("ip");
        if limiter.check("victim@x", addr).is_ok() {
            allowed += 1;
        }
    }
    assert_eq!(allowed, stratus_auth::ratelimit::DEFAULT_ACCOUNT_BURST);
    let e = limiter
        .check("victim@x", "192.0.2.1".parse().expect("ip"))
        .expect_err("limited");
    assert_eq!(stratus_types::ErrorCode::code(&e).http_status(), 429);
}

#[test]
fn api_key_acts_only_in_its_project_with_its_role() {
    let reg = ApiKeyRegistry::default();
    let key = reg
        .create("proj-a", ProjectRole::Developer, "ci", 10)
        .expect("create");
    let rec = reg.authenticate(&key.plaintext, 20).expect("auth");
    let p = Principal::api_key(rec.prefix.clone(), rec.project.clone(), rec.role);
    let a = ProjectRef {
        org: "org-1",
        project: "proj-a",
    };
    let b = ProjectRef {
        org: "org-1",
        project: "proj-b",
    };
    let ok = roles::authorize_project::<Deploy>(&p, a).expect("developer deploys");
    assert_eq!(ok.project(), Some("proj-a"));
    assert_eq!(
        roles::authorize_project::<ManageSecrets>(&p, a)
            .expect_err("x")
            .reason(),
        "forbidden"
    );
    assert_eq!(
        roles::authorize_project::<Deploy>(&p, b)
            .expect_err("x")
            .reason(),
        "not_found"
    );
    assert!(roles::authorize_org::<roles::CreateProject>(&p, "org-1").is_err());
    assert_eq!(reg.list("proj-a")[0].last_used_at, Some(20));
}
