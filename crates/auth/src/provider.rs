//! Identity-provider configuration (CONTRACT §6) and its resolved, ready-to-verify form.
//!
//! Invariants: a [`Provider`] is only built from a config that passed validation (known
//! algorithms of the right family, an HTTPS or loopback `jwksUri`, an HMAC secret at least as
//! long as the hash); Cognito's issuer and JWKS URL are derived from region and pool unless
//! `jwksUri` overrides the latter; OIDC providers find their JWKS through discovery unless
//! `jwksUri` is given.

use jsonwebtoken::Algorithm;
use serde::{Deserialize, Deserializer, Serialize};

use crate::claims::{AudienceClaim, ClaimRules, DEFAULT_LEEWAY_SECS, MAX_LEEWAY_SECS};
use crate::error::{AuthError, Result};
use crate::jose::{KeySet, VerifyingKey};
use crate::jwks::check_url;

/// Most providers one environment may configure.
pub const MAX_PROVIDERS: usize = 16;

/// Longest provider name, in bytes.
pub const MAX_PROVIDER_NAME_BYTES: usize = 64;

/// Asymmetric algorithms accepted by `jwks`, `cognito` and `oidc` providers by default.
pub const ASYMMETRIC_ALGORITHMS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Cognito token kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenUse {
    /// ID tokens: `aud` is the app client id.
    Id,
    /// Access tokens: `client_id` is the app client id, there is no `aud`.
    Access,
}

impl TokenUse {
    fn as_str(self) -> &'static str {
        match self {
            TokenUse::Id => "id",
            TokenUse::Access => "access",
        }
    }
}

fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

/// The type-specific part of a provider configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "lowercase",
    rename_all_fields = "camelCase"
)]
pub enum ProviderKind {
    /// A shared secret (HS256/384/512).
    Hmac {
        /// Reference to the secret, e.g. `$.secrets.auth.key` (resolved by the server).
        secret: String,
        /// Accepted algorithms (default `["HS256"]`).
        #[serde(default)]
        algorithms: Vec<Algorithm>,
        /// Expected `iss`, if any.
        #[serde(default)]
        issuer: Option<String>,
        /// Accepted audiences (string or list).
        #[serde(default, deserialize_with = "one_or_many")]
        audience: Vec<String>,
    },
    /// Public keys from a JWKS URL.
    Jwks {
        /// The JWKS URL.
        jwks_uri: String,
        /// Expected `iss`, if any.
        #[serde(default)]
        issuer: Option<String>,
        /// Accepted audiences (string or list).
        #[serde(default, deserialize_with = "one_or_many")]
        audience: Vec<String>,
        /// Accepted algorithms (default: every asymmetric one).
        #[serde(default)]
        algorithms: Vec<Algorithm>,
    },
    /// An AWS Cognito user pool.
    Cognito {
        /// AWS region, e.g. `eu-west-1`.
        region: String,
        /// User pool id, e.g. `eu-west-1_abc`.
        user_pool_id: String,
        /// Accepted app client ids.
        client_ids: Vec<String>,
        /// Which tokens are accepted.
        token_use: TokenUse,
        /// JWKS URL override (tests, private endpoints).
        #[serde(default)]
        jwks_uri: Option<String>,
    },
    /// An OpenID Connect issuer (keys found through discovery).
    Oidc {
        /// The issuer URL.
        issuer: String,
        /// Accepted audiences (string or list).
        #[serde(default, deserialize_with = "one_or_many")]
        audience: Vec<String>,
        /// JWKS URL override (skips discovery).
        #[serde(default)]
        jwks_uri: Option<String>,
        /// Accepted algorithms (default: every asymmetric one).
        #[serde(default)]
        algorithms: Vec<Algorithm>,
    },
}

/// One entry of `auth.providers` in a project definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderConfig {
    /// Name used by APIs' `"auth": {"providers": [...]}`.
    pub name: String,
    /// Type and type-specific settings.
    #[serde(flatten)]
    pub kind: ProviderKind,
    /// Clock-skew allowance in seconds (default [`DEFAULT_LEEWAY_SECS`], at most
    /// [`MAX_LEEWAY_SECS`]).
    #[serde(default)]
    pub leeway_secs: Option<u64>,
    /// Claims every accepted token must carry.
    #[serde(default)]
    pub required_claims: Vec<String>,
}

/// Where a provider's keys come from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// Fixed keys (an HMAC secret, or public keys given inline).
    Static(std::sync::Arc<KeySet>),
    /// A JWKS URL.
    Jwks(String),
    /// OpenID discovery from this issuer.
    Discovery(String),
}

/// A validated provider, ready to verify tokens.
#[derive(Debug, Clone)]
pub struct Provider {
    /// The provider's name.
    pub name: String,
    /// Where keys come from.
    pub keys: KeySource,
    /// Algorithms the provider accepts (a key must also allow the algorithm).
    pub algorithms: Vec<Algorithm>,
    /// The claim checks.
    pub rules: ClaimRules,
}

impl Provider {
    /// Whether this provider verifies HMAC tokens (and only those).
    pub fn is_symmetric(&self) -> bool {
        !self.algorithms.is_empty()
            && self
                .algorithms
                .iter()
                .all(|a| matches!(a, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512))
    }
}

fn check_algs(list: &[Algorithm], symmetric: bool) -> Result<()> {
    for alg in list {
        let hmac = matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512);
        if hmac != symmetric {
            return Err(AuthError::InvalidConfig(format!(
                "algorithm {alg:?} does not fit this provider type"
            )));
        }
    }
    Ok(())
}

fn checked_uri(uri: &str) -> Result<String> {
    check_url(uri).map_err(|e| AuthError::InvalidConfig(format!("jwksUri: {e}")))?;
    Ok(uri.to_string())
}

/// Members every provider type accepts.
const COMMON_MEMBERS: [&str; 4] = ["name", "type", "leewaySecs", "requiredClaims"];

/// The members a provider type accepts besides [`COMMON_MEMBERS`].
fn type_members(kind: &str) -> Option<&'static [&'static str]> {
    match kind {
        "hmac" => Some(&["secret", "algorithms", "issuer", "audience"]),
        "jwks" => Some(&["jwksUri", "issuer", "audience", "algorithms"]),
        "cognito" => Some(&["region", "userPoolId", "clientIds", "tokenUse", "jwksUri"]),
        "oidc" => Some(&["issuer", "audience", "jwksUri", "algorithms"]),
        _ => None,
    }
}

impl ProviderConfig {
    /// Parses one provider from a project definition, refusing unknown members (a misspelt
    /// `issuer` or `audience` must not silently disable a check).
    pub fn from_json(value: &serde_json::Value) -> Result<Self> {
        let obj = value
            .as_object()
            .ok_or_else(|| AuthError::InvalidConfig("a provider must be an object".into()))?;
        let kind = obj
            .get("type")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("");
        let members = type_members(kind).ok_or_else(|| {
            AuthError::InvalidConfig("'type' must be one of hmac, jwks, cognito, oidc".into())
        })?;
        if let Some(unknown) = obj
            .keys()
            .find(|k| !COMMON_MEMBERS.contains(&k.as_str()) && !members.contains(&k.as_str()))
        {
            return Err(AuthError::InvalidConfig(format!(
                "unknown member '{unknown}' for a {kind} provider"
            )));
        }
        serde_json::from_value(value.clone())
            .map_err(|e| AuthError::InvalidConfig(format!("provider: {e}")))
    }

    /// Validates the configuration and builds the provider. `hmac_secret` is the resolved
    /// value of `secret` for `hmac` providers (ignored otherwise).
    pub fn build(&self, hmac_secret: Option<&[u8]>) -> Result<Provider> {
        if self.name.is_empty() || self.name.len() > MAX_PROVIDER_NAME_BYTES {
            return Err(AuthError::InvalidConfig(format!(
                "a provider name must be 1..={MAX_PROVIDER_NAME_BYTES} bytes"
            )));
        }
        let leeway_secs = self.leeway_secs.unwrap_or(DEFAULT_LEEWAY_SECS);
        if leeway_secs > MAX_LEEWAY_SECS {
            return Err(AuthError::InvalidConfig(format!(
                "leewaySecs must be at most {MAX_LEEWAY_SECS}"
            )));
        }
        let mut rules = ClaimRules {
            leeway_secs,
            required: self.required_claims.clone(),
            ..ClaimRules::default()
        };
        let (keys, algorithms) = match &self.kind {
            ProviderKind::Hmac {
                algorithms,
                issuer,
                audience,
                ..
            } => {
                let algs = if algorithms.is_empty() {
                    vec![Algorithm::HS256]
                } else {
                    algorithms.clone()
                };
                check_algs(&algs, true)?;
                let secret = hmac_secret.ok_or_else(|| {
                    AuthError::InvalidConfig("the hmac secret could not be resolved".into())
                })?;
                let key = VerifyingKey::hmac(secret, &algs)?;
                rules.issuer = issuer.clone();
                rules.audiences = audience.clone();
                let set = KeySet::from_keys(vec![key]);
                (KeySource::Static(std::sync::Arc::new(set)), algs)
            }
            ProviderKind::Jwks {
                jwks_uri,
                issuer,
                audience,
                algorithms,
            } => {
                rules.issuer = issuer.clone();
                rules.audiences = audience.clone();
                (KeySource::Jwks(checked_uri(jwks_uri)?), asym(algorithms)?)
            }
            ProviderKind::Cognito {
                region,
                user_pool_id,
                client_ids,
                token_use,
                jwks_uri,
            } => {
                let ok = |s: &str| {
                    !s.is_empty()
                        && s.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                };
                if !ok(region) || !ok(user_pool_id) {
                    return Err(AuthError::InvalidConfig(
                        "cognito region and userPoolId must be [A-Za-z0-9_-]+".into(),
                    ));
                }
                if client_ids.is_empty() {
                    return Err(AuthError::InvalidConfig(
                        "a cognito provider needs at least one client id".into(),
                    ));
                }
                let issuer = cognito_issuer(region, user_pool_id);
                let uri = match jwks_uri {
                    Some(u) => checked_uri(u)?,
                    None => format!("{issuer}/.well-known/jwks.json"),
                };
                rules.issuer = Some(issuer);
                rules.audiences = client_ids.clone();
                rules.token_use = Some(token_use.as_str().to_string());
                rules.audience_claim = match token_use {
                    TokenUse::Id => AudienceClaim::Aud,
                    TokenUse::Access => AudienceClaim::ClientId,
                };
                (KeySource::Jwks(uri), vec![Algorithm::RS256])
            }
            ProviderKind::Oidc {
                issuer,
                audience,
                jwks_uri,
                algorithms,
            } => {
                check_url(issuer).map_err(|e| AuthError::InvalidConfig(format!("issuer: {e}")))?;
                rules.issuer = Some(issuer.clone());
                rules.audiences = audience.clone();
                let keys = match jwks_uri {
                    Some(u) => KeySource::Jwks(checked_uri(u)?),
                    None => KeySource::Discovery(issuer.clone()),
                };
                (keys, asym(algorithms)?)
            }
        };
        Ok(Provider {
            name: self.name.clone(),
            keys,
            algorithms,
            rules,
        })
    }
}

fn asym(list: &[Algorithm]) -> Result<Vec<Algorithm>> {
    if list.is_empty() {
        return Ok(ASYMMETRIC_ALGORITHMS.to_vec());
    }
    check_algs(list, false)?;
    Ok(list.to_vec())
}

/// The issuer of a Cognito user pool.
pub fn cognito_issuer(region: &str, user_pool_id: &str) -> String {
    format!("https://cognito-idp.{region}.amazonaws.com/{user_pool_id}")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn cfg(v: serde_json::Value) -> ProviderConfig {
        serde_json::from_value(v).expect("config parses")
    }

    #[test]
    fn contract_examples_parse_and_build() {
        let hmac = cfg(
            json!({"name": "shared", "type": "hmac", "secret": "$.secrets.auth.key", "algorithms": ["HS256"]}),
        );
        assert!(matches!(hmac.kind, ProviderKind::Hmac { .. }));
        let p = hmac.build(Some(&[7u8; 32])).expect("builds");
        assert!(p.is_symmetric());
        assert_eq!(
            hmac.build(Some(&[7u8; 8])).expect_err("short").reason(),
            "invalid_config"
        );

        let jwks = cfg(
            json!({"name": "idp", "type": "jwks", "jwksUri": "https://idp.example/jwks.json", "issuer": "https://idp.example/", "audience": ["my-api"]}),
        );
        let p = jwks.build(None).expect("builds");
        assert_eq!(p.rules.audiences, vec!["my-api".to_string()]);
        assert_eq!(p.algorithms.len(), ASYMMETRIC_ALGORITHMS.len());

        let cog = cfg(
            json!({"name": "cognito", "type": "cognito", "region": "eu-west-1", "userPoolId": "eu-west-1_abc", "clientIds": ["c1"], "tokenUse": "access"}),
        );
        let p = cog.build(None).expect("builds");
        assert_eq!(
            p.rules.issuer.as_deref(),
            Some("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc")
        );
        match &p.keys {
            KeySource::Jwks(u) => assert_eq!(
                u,
                "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc/.well-known/jwks.json"
            ),
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(p.rules.audience_claim, AudienceClaim::ClientId);
        assert_eq!(p.rules.token_use.as_deref(), Some("access"));

        let oidc = cfg(
            json!({"name": "o", "type": "oidc", "issuer": "https://accounts.example", "audience": "x"}),
        );
        let p = oidc.build(None).expect("builds");
        assert!(matches!(p.keys, KeySource::Discovery(_)));
        assert_eq!(p.rules.audiences, vec!["x".to_string()]);
    }

    #[test]
    fn bad_configs() {
        let bad = [
            json!({"name": "a", "type": "jwks", "jwksUri": "http://idp.example/jwks"}),
            json!({"name": "a", "type": "jwks", "jwksUri": "https://x/j", "algorithms": ["HS256"]}),
            json!({"name": "a", "type": "cognito", "region": "eu-west-1/..", "userPoolId": "p", "clientIds": ["c"], "tokenUse": "id"}),
            json!({"name": "a", "type": "cognito", "region": "r", "userPoolId": "p", "clientIds": [], "tokenUse": "id"}),
            json!({"name": "", "type": "oidc", "issuer": "https://i"}),
            json!({"name": "a", "type": "oidc", "issuer": "https://i", "leewaySecs": 100000}),
        ];
        for b in bad {
            let err = cfg(b.clone()).build(None).expect_err(&b.to_string());
            assert_eq!(err.reason(), "invalid_config", "{b}");
        }
        let unknown_type: std::result::Result<ProviderConfig, _> =
            serde_json::from_value(json!({"name": "a", "type": "saml"}));
        assert!(unknown_type.is_err());
        let strict = [
            json!({"name": "a", "type": "jwks", "jwksUri": "https://x/j", "isuer": "https://x"}),
            json!({"name": "a", "type": "hmac", "secret": "s", "jwksUri": "https://x/j"}),
            json!({"name": "a", "type": "saml"}),
            json!(["not an object"]),
            json!({"name": "a", "type": "cognito", "region": "r"}),
        ];
        for b in strict {
            let err = ProviderConfig::from_json(&b).expect_err(&b.to_string());
            assert_eq!(err.reason(), "invalid_config", "{b}");
        }
        let ok = ProviderConfig::from_json(&json!({"name": "a", "type": "oidc",
            "issuer": "https://i", "leewaySecs": 5, "requiredClaims": ["sub"]}))
        .expect("valid");
        assert_eq!(ok.required_claims, vec!["sub".to_string()]);
    }
}
