//! Starting and stopping: bind with the configured backlog, serve, and drain on a signal.
//!
//! Order on shutdown (anycable's): stop accepting, tell every session `server_restart`
//! with `reconnect:true` (they see the cancelled token), wait for the tracked sessions up
//! to the drain timeout, then return. axum does not wait for upgraded sockets by itself,
//! which is why sessions run under [`App::sessions`].

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::{Listener, ListenerExt};
use tokio::net::{TcpListener, TcpSocket};

use crate::app::App;

/// Binds `addr` with a listen backlog of `backlog`.
///
/// # Errors
/// The socket error, e.g. when the address is in use.
pub fn bind(addr: SocketAddr, backlog: u32) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

/// Serves until `shutdown` completes, then drains.
///
/// # Errors
/// An I/O error of the listener.
pub async fn run(listener: TcpListener, app: Arc<App>, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
    let listener = listener.tap_io(|tcp| {
        // Small frames (pings, confirmations) must not wait for Nagle.
        let _ = tcp.set_nodelay(true);
    });
    serve(listener, app, shutdown).await
}

/// [`run`] on any listener: in-process tests hand it in-memory connections.
///
/// # Errors
/// An I/O error of the listener.
pub async fn serve<L>(listener: L, app: Arc<App>, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()>
where
    L: Listener,
    L::Addr: std::fmt::Debug,
{
    let router = crate::http::router(app.clone());
    let token = app.shutdown.clone();
    let server = tokio::spawn(axum::serve(listener, router).with_graceful_shutdown(token.clone().cancelled_owned()).into_future());
    tokio::spawn(crate::metrics::upkeep(token.clone()));
    let sweeper = app.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(30));
        loop {
            tokio::select! {
                _ = sweeper.shutdown.cancelled() => break,
                _ = every.tick() => sweeper.sweep(),
            }
        }
    });
    let trigger = token.clone();
    tokio::spawn(async move {
        shutdown.await;
        trigger.cancel();
    });
    token.cancelled().await;
    let open = app.connections.load(std::sync::atomic::Ordering::Relaxed);
    tracing::info!(connections = open, "draining: sessions are told server_restart");
    app.sessions.close();
    if tokio::time::timeout(app.config.timeouts.drain_timeout, app.sessions.wait()).await.is_err() {
        tracing::warn!(left = app.sessions.len(), "drain timeout passed with sessions still open");
    }
    app.engine.shutdown();
    match tokio::time::timeout(Duration::from_secs(5), server).await {
        Ok(Ok(result)) => result,
        Ok(Err(e)) => Err(std::io::Error::other(e)),
        Err(_) => Ok(()),
    }
}

/// Completes on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
