//! The crate's integration test binary (house style habit 15): one binary, modules by topic.

mod integration {
    pub(crate) mod common;
    mod jwks_cache;
    mod jwt_refusals;
    mod jwt_valid;
    mod moto_cognito;
    mod rfc7515;
    mod roles_matrix;
    mod sessions;
    mod wycheproof;
}
