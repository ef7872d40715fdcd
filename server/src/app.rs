//! Shared server state: one [`App`] behind an `Arc`, handed to every handler and session.

use std::sync::atomic::AtomicUsize;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use std::sync::Arc;

use crate::auth::Verifier;
use crate::config::{Config, ResolverKind};
use crate::engine::{Engine, EngineStartError};
use crate::hub::Hub;
use crate::resolver::registry::OwnerStore;
use crate::resolver::{http::Callback, Ownership};

/// Everything the server shares.
pub struct App {
    /// Settings.
    pub config: Config,
    /// Verifies connection tokens.
    pub verifier: Verifier,
    /// This node's streams and their subscribers.
    pub hub: Arc<Hub>,
    /// Publishing, history, resumable sessions and the ownership registry: in memory, or
    /// shared by several nodes over Redis.
    pub engine: Engine,
    /// Who owns which resource.
    pub ownership: Ownership,
    /// HTTP client for forwarded actions (with the forward timeout).
    pub backend: reqwest::Client,
    /// Cancelled on SIGTERM/SIGINT: sessions drain and the listener stops.
    pub shutdown: CancellationToken,
    /// Every session and background task, so drain can wait for them (axum does not).
    pub sessions: TaskTracker,
    /// Open, authenticated connections.
    pub connections: AtomicUsize,
}

/// Why the server cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The JWT settings are unusable.
    #[error("JWT settings: {0}")]
    Auth(String),
    /// `resolver = "http"` without a backend URL.
    #[error("resolver `http` needs `backend_url` (CABLEWAY_BACKEND_URL)")]
    NoBackend,
    /// An HTTP client to the backend cannot be built (its TLS or DNS setup failed); building a
    /// default one instead would silently drop its timeout.
    #[error("cannot build the HTTP client for {purpose}: {source}")]
    HttpClient {
        /// What the client is for.
        purpose: &'static str,
        /// Why reqwest refused.
        source: reqwest::Error,
    },
    /// The engine cannot start.
    #[error(transparent)]
    Engine(#[from] EngineStartError),
}

impl App {
    /// Builds the state from a loaded config.
    ///
    /// # Errors
    /// [`StartError`] for unusable settings.
    pub fn new(config: Config) -> Result<Self, StartError> {
        let verifier = Verifier::new(&config.auth).map_err(|e| StartError::Auth(e.to_string()))?;
        let hub = Arc::new(Hub::default());
        let registry = config.backend.resolver == ResolverKind::Registry;
        let engine = Engine::new(&config, hub.clone(), registry)?;
        let timeouts = &config.timeouts;
        let ownership = match config.backend.resolver {
            ResolverKind::Registry => Ownership::Registry(engine.owners()),
            ResolverKind::Http => {
                let url = config.backend.url.as_deref().ok_or(StartError::NoBackend)?;
                let callback = Callback::new(url, timeouts.resolver_timeout, timeouts.resolver_cache_ttl).map_err(|source| StartError::HttpClient { purpose: "the http resolver", source })?;
                Ownership::Http(callback)
            }
        };
        let backend = reqwest::Client::builder().timeout(timeouts.forward_timeout).build().map_err(|source| StartError::HttpClient { purpose: "forwarded actions", source })?;
        crate::validation::warm_up();
        Ok(App {
            config,
            verifier,
            hub,
            engine,
            ownership,
            backend,
            shutdown: CancellationToken::new(),
            sessions: TaskTracker::new(),
            connections: AtomicUsize::new(0),
        })
    }

    /// Drops expired history and resumable sessions; run periodically.
    pub fn sweep(&self) {
        self.engine.sweep();
    }

    /// The ownership registry, when it is the configured resolver.
    pub fn registry(&self) -> Option<&dyn OwnerStore> {
        match &self.ownership {
            Ownership::Registry(r) => Some(r.as_ref()),
            Ownership::Http(_) => None,
        }
    }
}
