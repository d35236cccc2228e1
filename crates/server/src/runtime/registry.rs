//! The registry of deployed environments: `(project, env)` → [`EnvRuntime`] behind one atomic
//! pointer ([`arc_swap::ArcSwap`]), so the request path takes no lock and a deploy is a single
//! pointer swap. Deploys are serialised by a mutex; readers never wait for it.
//!
//! A deploy compiles the definition, creates the models' indexes in the environment's
//! database, builds the new [`EnvRuntime`] and only then swaps it in: a failing deploy leaves
//! the previous one serving.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;
use bson::Document;
use stratus_auth::jwks::JwksCache;
use stratus_docstore::Store;
use stratus_docstore::index::spec::IndexSpec;
use stratus_flow::Services;

use super::db::EnvDatabase;
use super::table::{BuildError, BuildInput, EnvRuntime};
use crate::metrics::Metrics;
use crate::project::CompiledProject;
use crate::wire::project_database_name;

type Envs = HashMap<(String, String), Arc<EnvRuntime>>;

/// Deployed environments and what deploying needs.
pub struct Runtime {
    envs: ArcSwap<Envs>,
    deploy_lock: Mutex<()>,
    generation: AtomicU64,
    store: Store,
    base_services: Services,
    jwks: Arc<JwksCache>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("environments", &self.envs.load().len())
            .finish_non_exhaustive()
    }
}

/// What a deploy did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeployReport {
    /// Project slug.
    pub project: String,
    /// Environment slug.
    pub env: String,
    /// The environment's database name.
    pub database: String,
    /// APIs now served.
    pub apis: usize,
    /// Indexes created (or already present).
    pub indexes: usize,
    /// Deploy sequence number.
    pub generation: u64,
}

impl Runtime {
    /// A runtime deploying onto `store`; flows get `base_services` (HTTP client, budgets) plus
    /// their environment's database and sub-flows.
    pub fn new(
        store: Store,
        base_services: Services,
        jwks: Arc<JwksCache>,
        metrics: Arc<Metrics>,
    ) -> Runtime {
        Runtime {
            envs: ArcSwap::from_pointee(HashMap::new()),
            deploy_lock: Mutex::new(()),
            generation: AtomicU64::new(0),
            store,
            base_services,
            jwks,
            metrics,
        }
    }

    /// The active runtime of `project`/`env`.
    pub fn get(&self, project: &str, env: &str) -> Option<Arc<EnvRuntime>> {
        self.envs
            .load()
            .get(&(project.to_string(), env.to_string()))
            .cloned()
    }

    /// Every deployed environment.
    pub fn list(&self) -> Vec<Arc<EnvRuntime>> {
        self.envs.load().values().cloned().collect()
    }

    /// Deploys `compiled` to `project`/`env` with `secrets` (blocking: creates indexes).
    pub fn deploy(
        &self,
        project: &str,
        env: &str,
        compiled: CompiledProject,
        secrets: Document,
    ) -> Result<DeployReport, BuildError> {
        self.deploy_shared(project, env, Arc::new(compiled), secrets)
    }

    fn deploy_shared(
        &self,
        project: &str,
        env: &str,
        compiled: Arc<CompiledProject>,
        secrets: Document,
    ) -> Result<DeployReport, BuildError> {
        let _guard = self
            .deploy_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let database = project_database_name(project, env);
        let mut indexes = 0;
        for (i, ix) in compiled.indexes.iter().enumerate() {
            let mut spec = IndexSpec::new(ix.keys.clone()).map_err(|e| BuildError {
                path: format!("$.indexes[{i}]"),
                message: e.to_string(),
            })?;
            spec.unique = ix.unique;
            if let Some(n) = &ix.name {
                spec.name = n.clone();
            }
            self.store
                .create_index(&database, &ix.collection, spec)
                .map_err(|e| BuildError {
                    path: format!("$.models[collection={}].indexes", ix.collection),
                    message: e.to_string(),
                })?;
            indexes += 1;
        }
        for m in &compiled.models {
            // Creating the collection makes it visible (wire protocol, stats) before data.
            if let Err(e) = self.store.create_collection(&database, &m.collection)
                && !matches!(e, stratus_docstore::DocstoreError::NamespaceExists { .. })
            {
                return Err(BuildError {
                    path: format!("$.models[{}]", m.name),
                    message: e.to_string(),
                });
            }
        }
        let db = Arc::new(EnvDatabase::new(self.store.clone(), database.clone()));
        let services = self
            .base_services
            .clone()
            .with_db(db)
            .with_subflows(compiled.subflows.clone());
        let generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
        let env_rt = EnvRuntime::build(
            compiled,
            BuildInput {
                project: project.to_string(),
                env: env.to_string(),
                generation,
                services,
                jwks: self.jwks.clone(),
                secrets,
                base_path: format!("/{project}/{env}/api"),
                metrics: self.metrics.clone(),
            },
        )?;
        let apis = env_rt.api_count();
        let mut next: Envs = (**self.envs.load()).clone();
        next.insert((project.to_string(), env.to_string()), Arc::new(env_rt));
        self.envs.store(Arc::new(next));
        Ok(DeployReport {
            project: project.to_string(),
            env: env.to_string(),
            database,
            apis,
            indexes,
            generation,
        })
    }

    /// Rebuilds `project`/`env` with new secrets (same definition); no-op when not deployed.
    pub fn update_secrets(
        &self,
        project: &str,
        env: &str,
        secrets: Document,
    ) -> Result<(), BuildError> {
        let Some(current) = self.get(project, env) else {
            return Ok(());
        };
        self.deploy_shared(project, env, current.compiled.clone(), secrets)
            .map(|_| ())
    }

    /// Stops serving `project`/`env`.
    pub fn undeploy(&self, project: &str, env: &str) {
        let _guard = self
            .deploy_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut next: Envs = (**self.envs.load()).clone();
        next.remove(&(project.to_string(), env.to_string()));
        self.envs.store(Arc::new(next));
    }
}
