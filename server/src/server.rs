//! Starting and stopping: bind with the configured backlog, serve, and drain on a signal.
//!
//! Order on shutdown (anycable's): stop accepting, tell every session `server_restart`
//! with `reconnect:true` (they see the cancelled token), wait for the tracked sessions up
//! to the drain timeout, then return. axum does not wait for upgraded sockets by itself,
//! which is why sessions run under [`App::sessions`].

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::Listener;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpSocket};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::app::App;
use crate::pending::{Peer, PeerAddr, Pending, Shedding};

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
    let pending = Pending::new(app.config.limits.max_pending_connections);
    serve_with(Shedding::new(listener, pending.clone()), app, shutdown, pending).await
}

/// [`run`] on any listener: in-process tests hand it in-memory connections.
///
/// # Errors
/// An I/O error of the listener.
pub async fn serve<L>(listener: L, app: Arc<App>, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()>
where
    L: Listener,
    L::Addr: PeerAddr,
{
    let pending = Pending::new(app.config.limits.max_pending_connections);
    serve_with(listener, app, shutdown, pending).await
}

async fn serve_with<L>(listener: L, app: Arc<App>, shutdown: impl Future<Output = ()> + Send + 'static, pending: Arc<Pending>) -> std::io::Result<()>
where
    L: Listener,
    L::Addr: PeerAddr,
{
    let router = crate::http::router(app.clone());
    let token = app.shutdown.clone();
    let server = tokio::spawn(accept(listener, router, pending, app.config.timeouts.header_read_timeout, token.clone()));
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
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(std::io::Error::other(e)),
        Err(_) => Ok(()),
    }
}

/// Accepts connections and serves HTTP/1.1 on each until `stop`, then lets the open ones
/// finish their request. Like `axum::serve`, plus a timer: a client gets `header_read_timeout`
/// to send a request's headers (counted from the first byte it may send, not reset by each
/// one), so connections that never finish a handshake (silent, slowloris) cost nothing for
/// long; and each connection is [`Pending`] until it upgrades, so their number is bounded.
/// An upgraded socket leaves this loop's care for its session's.
async fn accept<L>(mut listener: L, router: axum::Router, pending: Arc<Pending>, header_read_timeout: Duration, stop: CancellationToken)
where
    L: Listener,
    L::Addr: PeerAddr,
{
    let connections = TaskTracker::new();
    loop {
        let (io, addr) = tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let registered = pending.admit();
        let routes = TowerToHyperService::new(router.clone());
        let peer = addr.ip().map(Peer);
        let service = hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            if let Some(peer) = peer {
                request.extensions_mut().insert(peer);
            }
            hyper::service::Service::call(&routes, request)
        });
        let stop = stop.clone();
        connections.spawn(async move {
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new()).header_read_timeout(header_read_timeout);
            let conn = http.serve_connection(TokioIo::new(io), service).with_upgrades();
            tokio::pin!(conn);
            tokio::select! {
                served = conn.as_mut() => {
                    if let Err(e) = served {
                        tracing::debug!(error = %e, "HTTP connection ended with an error");
                    }
                    return;
                }
                // Closed to make room (see `Pending`): dropping it closes the socket.
                () = registered.shed.cancelled() => {
                    tracing::debug!("connection shed before its upgrade");
                    return;
                }
                () = stop.cancelled() => conn.as_mut().graceful_shutdown(),
            }
            let _ = conn.await;
        });
    }
    connections.close();
    connections.wait().await;
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
