//! Authentication and access control for Stratus.
//!
//! Two doors (see `docs/auth.md`):
//! - **user APIs**: bearer JWTs from the project's identity providers (CONTRACT §6) —
//!   [`provider`] (configuration), [`verifier::Authenticator`] (verification),
//!   [`jwks::JwksCache`] (remote keys), [`jose`] (JWS/JWK primitives), [`claims`];
//! - **the control plane**: Stratus accounts and roles — [`password`] (argon2id),
//!   [`session`] (login access/refresh tokens with revocation), [`apikey`] (hashed API keys),
//!   [`roles`] (organisation and project roles, and the [`roles::Authorized`] capability only
//!   a permission check can mint), [`ratelimit`] (login throttling), and [`secretbox`]
//!   (secrets encrypted at rest).
//!
//! Every failure is an [`AuthError`] with a stable reason and a [`stratus_types::Code`].
//! Nothing here logs or returns a token, key or secret in clear.

pub mod apikey;
pub mod claims;
pub mod clock;
pub mod error;
pub mod jose;
pub mod jwks;
pub mod password;
pub mod provider;
mod random;
pub mod ratelimit;
pub mod roles;
pub mod secretbox;
pub mod session;
pub mod verifier;

pub use error::{AuthError, Result};
pub use jsonwebtoken::Algorithm;
pub use verifier::{Authenticator, ProviderSelection, VerifiedToken, bearer_token};
