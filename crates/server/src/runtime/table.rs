//! One deployed project environment: its compiled definition turned into an immutable routing
//! table plus everything a request needs (flow services bound to the environment's database,
//! the JWT authenticator, secrets, CORS).
//!
//! Invariant: an [`EnvRuntime`] never changes after it is built. A deploy builds a new one and
//! swaps it in ([`super::registry`]); requests that already hold the old one finish on it.

use std::collections::HashMap;
use std::sync::Arc;

use bson::{Bson, Document};
use stratus_auth::jwks::JwksCache;
use stratus_auth::verifier::Authenticator;
use stratus_flow::Services;

use crate::metrics::{ApiMetrics, Metrics};
use crate::project::{CompiledApi, CompiledProject};

/// Methods of one endpoint pattern.
#[derive(Debug)]
struct Route {
    methods: Vec<(String, Arc<CompiledApi>)>,
}

/// What a path and method resolve to.
#[derive(Debug)]
pub enum Lookup<'a> {
    /// An API, with the path parameters (name, raw value).
    Found(&'a Arc<CompiledApi>, Vec<(String, String)>),
    /// The path exists with other methods (the `Allow` list).
    MethodNotAllowed(Vec<String>),
    /// Nothing at this path.
    NotFound,
}

/// The deployed state of one project environment.
pub struct EnvRuntime {
    /// Project slug.
    pub project: String,
    /// Environment slug.
    pub env: String,
    /// The compiled definition.
    pub compiled: Arc<CompiledProject>,
    /// Deploy sequence number (increases with every deploy of this environment).
    pub generation: u64,
    router: matchit::Router<usize>,
    routes: Vec<Route>,
    /// Flow services (database bound to this environment, sub-flows, HTTP client, budgets).
    pub services: Services,
    /// JWT verification of `auth` APIs (`None` when the project has no providers).
    pub authenticator: Option<Authenticator>,
    /// `$.secrets` of flows.
    pub secrets: Document,
    /// The OpenAPI document of the environment's APIs.
    pub openapi: serde_json::Value,
    /// Metrics per API name (created at deploy, so the request path allocates nothing for
    /// them).
    metrics: HashMap<String, Arc<ApiMetrics>>,
    /// Metrics of requests that matched no API.
    unmatched: Arc<ApiMetrics>,
}

impl std::fmt::Debug for EnvRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnvRuntime")
            .field("project", &self.project)
            .field("env", &self.env)
            .field("generation", &self.generation)
            .field("routes", &self.routes.len())
            .finish_non_exhaustive()
    }
}

/// Why an environment could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct BuildError {
    /// JSON path in the definition.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// Resolves `$.secrets.<name>.<key>` against `secrets`.
pub fn resolve_secret<'a>(reference: &str, secrets: &'a Document) -> Option<&'a Bson> {
    let rest = reference.strip_prefix("$.secrets.")?;
    let mut parts = rest.split('.');
    let mut cur = secrets.get(parts.next()?)?;
    for p in parts {
        cur = cur.as_document()?.get(p)?;
    }
    Some(cur)
}

/// Everything [`EnvRuntime::build`] needs besides the definition.
pub struct BuildInput {
    /// Project slug.
    pub project: String,
    /// Environment slug.
    pub env: String,
    /// Deploy sequence number.
    pub generation: u64,
    /// Services with the environment's database already set.
    pub services: Services,
    /// Shared JWKS cache.
    pub jwks: Arc<JwksCache>,
    /// The environment's decrypted secrets.
    pub secrets: Document,
    /// Base path of the environment's APIs (for OpenAPI), e.g. `/shop/development/api`.
    pub base_path: String,
    /// The process's metrics.
    pub metrics: Arc<Metrics>,
}

impl EnvRuntime {
    /// Builds the routing table, the authenticator and the services of `compiled`.
    pub fn build(compiled: Arc<CompiledProject>, input: BuildInput) -> Result<Self, BuildError> {
        let mut router = matchit::Router::new();
        let mut routes: Vec<Route> = Vec::new();
        let mut by_endpoint: HashMap<String, usize> = HashMap::new();
        for (i, api) in compiled.apis.iter().enumerate() {
            let idx = match by_endpoint.get(&api.endpoint) {
                Some(&idx) => idx,
                None => {
                    let idx = routes.len();
                    router
                        .insert(api.endpoint.clone(), idx)
                        .map_err(|e| BuildError {
                            path: format!("$.apis[{i}].endpoint"),
                            message: format!("endpoint '{}' conflicts: {e}", api.endpoint),
                        })?;
                    routes.push(Route {
                        methods: Vec::new(),
                    });
                    by_endpoint.insert(api.endpoint.clone(), idx);
                    idx
                }
            };
            routes[idx].methods.push((api.method.clone(), api.clone()));
        }
        let authenticator = if compiled.auth_providers.is_empty() {
            None
        } else {
            let mut providers = Vec::new();
            for (i, p) in compiled.auth_providers.iter().enumerate() {
                let secret = match &p.kind {
                    stratus_auth::provider::ProviderKind::Hmac { secret, .. } => {
                        let v =
                            resolve_secret(secret, &input.secrets).ok_or_else(|| BuildError {
                                path: format!("$.auth.providers[{i}].secret"),
                                message: format!(
                                    "secret '{secret}' is not set in environment '{}'",
                                    input.env
                                ),
                            })?;
                        match v {
                            Bson::String(s) => Some(s.clone().into_bytes()),
                            _ => {
                                return Err(BuildError {
                                    path: format!("$.auth.providers[{i}].secret"),
                                    message: "the secret value must be a string".into(),
                                });
                            }
                        }
                    }
                    _ => None,
                };
                let provider = p.build(secret.as_deref()).map_err(|e| BuildError {
                    path: format!("$.auth.providers[{i}]"),
                    message: e.detail(),
                })?;
                providers.push(provider);
            }
            let clock: Arc<dyn stratus_auth::clock::Clock> =
                Arc::new(stratus_auth::clock::SystemClock);
            Some(
                Authenticator::new(providers, input.jwks.clone(), clock).map_err(|e| {
                    BuildError {
                        path: "$.auth.providers".into(),
                        message: e.detail(),
                    }
                })?,
            )
        };
        let openapi = crate::project::openapi(&compiled, &input.base_path);
        let unmatched = input.metrics.api(&input.project, &input.env, "");
        let mut metrics = HashMap::new();
        for api in &compiled.apis {
            metrics.insert(
                api.name.clone(),
                input.metrics.api(&input.project, &input.env, &api.name),
            );
        }
        Ok(EnvRuntime {
            project: input.project,
            env: input.env,
            compiled,
            generation: input.generation,
            router,
            routes,
            services: input.services,
            authenticator,
            secrets: input.secrets,
            openapi,
            metrics,
            unmatched,
        })
    }

    /// Resolves `method path` (path relative to the environment's `/api`, starting with `/`).
    pub fn lookup(&self, method: &str, path: &str) -> Lookup<'_> {
        let Ok(m) = self.router.at(path) else {
            return Lookup::NotFound;
        };
        let route = &self.routes[*m.value];
        let params: Vec<(String, String)> = m
            .params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let want = if method == "HEAD" { "GET" } else { method };
        match route.methods.iter().find(|(meth, _)| meth == want) {
            Some((_, api)) => Lookup::Found(api, params),
            None => {
                Lookup::MethodNotAllowed(route.methods.iter().map(|(m, _)| m.clone()).collect())
            }
        }
    }

    /// The metrics of API `name` (`None`, or a name not deployed here: unmatched requests).
    pub fn metrics(&self, name: Option<&str>) -> &Arc<ApiMetrics> {
        name.and_then(|n| self.metrics.get(n))
            .unwrap_or(&self.unmatched)
    }

    /// Number of APIs.
    pub fn api_count(&self) -> usize {
        self.routes.iter().map(|r| r.methods.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    #[test]
    fn secrets_resolve_by_path() {
        let s = doc! {"auth": {"key": "k1"}, "flat": "v"};
        assert_eq!(
            resolve_secret("$.secrets.auth.key", &s),
            Some(&Bson::String("k1".into()))
        );
        assert_eq!(
            resolve_secret("$.secrets.flat", &s),
            Some(&Bson::String("v".into()))
        );
        assert_eq!(resolve_secret("$.secrets.auth.nope", &s), None);
        assert_eq!(resolve_secret("$.variables.x", &s), None);
    }
}
