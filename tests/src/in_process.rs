//! The server inside the test's own tokio runtime, for tests where time matters: the ping
//! period, token expiry, the command rate limit. Run them under paused time,
//! `#[tokio::test(start_paused = true)]`, and they take no wall time and cannot race the
//! clock of a loaded machine.
//!
//! # Why in-memory connections
//!
//! With the clock paused, tokio moves it to the next timer as soon as no task can run.
//! That rule cannot see bytes on a real socket: loopback delivery may lag behind the
//! `write()` (on a busy machine the kernel hands it to `ksoftirqd`), so for a moment the
//! reader has nothing to do, the runtime looks idle, and a receive timeout, the next ping
//! or token expiry fires before a frame that was already sent. Here each connection is a
//! [`tokio::io::duplex`] pipe instead: a write wakes the reader at once, so "no task can
//! run" really means nothing is on its way, and the clock only ever jumps to the next thing
//! that is due. Tests may also move it explicitly with [`tokio::time::advance`].
//!
//! Everything else is production code: [`App::new`], the router, the session loop, and
//! [`cableway::server::serve`] (what `server::run` does after its TCP setup).
//!
//! Not for this harness: anything that waits on I/O outside the runtime (a forward to an HTTP
//! backend, the resolver callback, `spawn_blocking` aside): while it waits, the runtime is
//! idle and paused time would jump. Those tests use the real binary ([`crate::server`]).

use std::sync::Arc;
use std::time::Duration;

use cableway::app::App;
use cableway::config::Config;
use serde_json::Value;
use tokio::io::DuplexStream;
use tokio::sync::{mpsc, oneshot};

use crate::client::{self, Client};
use crate::server::{claims, sign};

/// A client of an [`InProcess`] server.
pub type MemoryClient = Client<DuplexStream>;

/// Bytes a connection's pipe holds in each direction, about what loopback socket buffers
/// take before a writer stalls.
const PIPE_BYTES: usize = 1024 * 1024;

/// Settings a test changes; `None` keeps the server's default.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Interval between `ping` frames.
    pub ping_interval: Option<Duration>,
    /// Budget of one socket write.
    pub write_timeout: Option<Duration>,
    /// Sustained client commands per second per connection.
    pub commands_per_second: Option<u32>,
    /// Commands a connection may send in a burst.
    pub command_burst: Option<u32>,
}

/// The one place tests build a server [`Config`] in code; returns it with its HS256 secret.
fn config(settings: &Settings) -> (Config, String) {
    let mut config = Config::for_tests();
    if let Some(d) = settings.ping_interval {
        config.timeouts.ping_interval = d;
    }
    if let Some(d) = settings.write_timeout {
        config.timeouts.write_timeout = d;
    }
    if let Some(n) = settings.commands_per_second {
        config.limits.commands_per_second = n;
    }
    if let Some(n) = settings.command_burst {
        config.limits.command_burst = n;
    }
    (config, Config::TEST_JWT_SECRET.to_owned())
}

/// The listener of the in-memory server: each connection arrives as the server's end of a pipe.
struct Pipes(mpsc::UnboundedReceiver<DuplexStream>);

impl axum::serve::Listener for Pipes {
    type Io = DuplexStream;
    type Addr = &'static str;

    async fn accept(&mut self) -> (DuplexStream, &'static str) {
        match self.0.recv().await {
            Some(pipe) => (pipe, "in-memory"),
            // The harness is gone: nothing more will connect.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<&'static str> {
        Ok("in-memory")
    }
}

/// A server running in this runtime, stopped (drained) when dropped.
pub struct InProcess {
    /// The server's shared state, e.g. for the ownership registry.
    pub app: Arc<App>,
    secret: String,
    dial: mpsc::UnboundedSender<DuplexStream>,
    stop: Option<oneshot::Sender<()>>,
}

impl InProcess {
    /// Starts a server with default settings. Call it inside a tokio runtime.
    pub fn start() -> InProcess {
        InProcess::start_with(&Settings::default())
    }

    /// Starts a server with `settings`.
    pub fn start_with(settings: &Settings) -> InProcess {
        let (config, secret) = config(settings);
        let app = Arc::new(App::new(config).expect("a valid test configuration"));
        let (dial, incoming) = mpsc::unbounded_channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        tokio::spawn(cableway::server::serve(Pipes(incoming), app.clone(), shutdown));
        InProcess { app, secret, dial, stop: Some(stop) }
    }

    /// Signs claims with the server's key.
    pub fn sign(&self, claims: &Value) -> String {
        sign(&self.secret, claims)
    }

    /// A valid user token for `sub` in `account` with `permissions`, valid one hour.
    pub fn token(&self, sub: &str, account: &str, permissions: &[&str]) -> String {
        self.sign(&claims(sub, account, permissions, "user", 3600))
    }

    /// Records an ownership fact in the embedded registry.
    pub async fn own(&self, kind: &str, id: &str, account: &str) {
        self.app.registry().expect("the embedded registry").record_owner(kind, id, account).await.unwrap_or_else(|e| panic!("recording {kind}/{id}: {e}"));
    }

    /// Connects with `token` in the query, offering the Rails client's subprotocols.
    pub async fn connect(&self, token: &str) -> MemoryClient {
        let (ours, theirs) = tokio::io::duplex(PIPE_BYTES);
        self.dial.send(theirs).expect("the server accepts connections");
        let request = client::request(&format!("ws://in-memory/cable?token={token}"), &client::RAILS_PROTOCOLS, &[]).expect("request");
        Client::handshake(request, ours).await.expect("upgrade")
    }

    /// Connects and waits for `welcome`.
    pub async fn connect_welcomed(&self, token: &str) -> MemoryClient {
        self.connect(token).await.welcomed().await
    }

    /// A connected, welcomed client of `sub` in `account`.
    pub async fn user(&self, sub: &str, account: &str) -> MemoryClient {
        self.connect_welcomed(&self.token(sub, account, &[])).await
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
