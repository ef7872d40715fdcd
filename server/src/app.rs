//! Shared server state: one [`App`] behind an `Arc`, handed to every handler and session.

use std::sync::atomic::AtomicUsize;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::Verifier;
use crate::broker::Sinks;
use crate::history::memory::MemoryHistory;
use crate::history::HistoryStore;
use crate::history::sessions::{memory::MemorySessions, SessionStore};
use crate::config::{Config, ResolverKind};
use crate::hub::Hub;
use crate::resolver::registry::Registry;
use crate::resolver::{http::Callback, Ownership};

/// Everything the server shares.
pub struct App {
    /// Settings.
    pub config: Config,
    /// Verifies connection tokens.
    pub verifier: Verifier,
    /// Streams and their subscribers.
    pub hub: Hub,
    /// Who owns which resource.
    pub ownership: Ownership,
    /// Per-stream history for replay after reconnect.
    pub history: Box<dyn HistoryStore>,
    /// Sessions kept for resume (`?sid=`).
    pub resume: Box<dyn SessionStore>,
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
}

impl App {
    /// Builds the state from a loaded config.
    ///
    /// # Errors
    /// [`StartError`] for unusable settings.
    pub fn new(config: Config) -> Result<Self, StartError> {
        let verifier = Verifier::new(&config.auth).map_err(|e| StartError::Auth(e.to_string()))?;
        let timeouts = &config.timeouts;
        let ownership = match config.backend.resolver {
            ResolverKind::Registry => Ownership::Registry(Registry::default()),
            ResolverKind::Http => {
                let url = config.backend.url.as_deref().ok_or(StartError::NoBackend)?;
                let callback = Callback::new(url, timeouts.resolver_timeout, timeouts.resolver_cache_ttl).map_err(|source| StartError::HttpClient { purpose: "the http resolver", source })?;
                Ownership::Http(callback)
            }
        };
        let backend = reqwest::Client::builder().timeout(timeouts.forward_timeout).build().map_err(|source| StartError::HttpClient { purpose: "forwarded actions", source })?;
        crate::validation::warm_up();
        let now = crate::auth::unix_now().max(0) as u64;
        let resume = Box::new(MemorySessions::new(timeouts.session_ttl));
        Ok(App {
            config,
            verifier,
            hub: Hub::default(),
            ownership,
            history: Box::new(MemoryHistory::new(now)),
            resume,
            backend,
            shutdown: CancellationToken::new(),
            sessions: TaskTracker::new(),
            connections: AtomicUsize::new(0),
        })
    }

    /// Where publications are delivered.
    pub fn sinks(&self) -> Sinks<'_> {
        Sinks { hub: &self.hub, history: self.history.as_ref(), registry: self.registry() }
    }

    /// Drops expired history and resumable sessions; run periodically.
    pub fn sweep(&self) {
        let now = crate::auth::unix_now().max(0) as u64;
        let streams = self.history.sweep(now);
        let sessions = self.resume.sweep();
        let (messages, bytes) = self.history.usage();
        tracing::debug!(streams_dropped = streams, sessions_dropped = sessions, messages, bytes, "history swept");
    }

    /// The embedded registry, when it is the configured resolver.
    pub fn registry(&self) -> Option<&Registry> {
        match &self.ownership {
            Ownership::Registry(r) => Some(r),
            Ownership::Http(_) => None,
        }
    }
}
