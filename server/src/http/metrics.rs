//! `GET /metrics` on its own listener (`metrics_bind`, see
//! [`Observability`](crate::config::Observability) for why not behind the publisher key):
//! the Prometheus text exposition, with the sampled gauges read from the server's state.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;

use crate::app::App;
use crate::metrics::{self, RedisSample, Sample};

/// The exposition now.
pub(super) fn exposition(app: &App) -> Response {
    let transport = crate::transport::stats::snapshot();
    let redis = app.engine.redis_stats().map(|r| {
        let get = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
        let up = r.commands_up.load(std::sync::atomic::Ordering::Relaxed) && r.pubsub_up.load(std::sync::atomic::Ordering::Relaxed);
        RedisSample { up, gaps_detected: get(&r.gaps_detected), gaps_filled: get(&r.gaps_filled), gaps_unfilled: get(&r.gaps_unfilled) }
    });
    let sample = Sample {
        connections: app.connections.load(std::sync::atomic::Ordering::Relaxed),
        streams: app.hub.stream_count(),
        sent_bytes: transport.bytes,
        slow_evictions: transport.too_slow,
        redis,
    };
    ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE), (header::CACHE_CONTROL, "no-store")], metrics::render(sample)).into_response()
}

async fn scrape(State(app): State<Arc<App>>) -> Response {
    exposition(&app)
}

/// Serves `/metrics` on `listener` until the server drains.
///
/// # Errors
/// An I/O error of the listener.
pub async fn serve_metrics(listener: TcpListener, app: Arc<App>) -> std::io::Result<()> {
    let stop = app.shutdown.clone();
    let router = Router::new().route("/metrics", get(scrape)).with_state(app);
    axum::serve(listener, router).with_graceful_shutdown(stop.cancelled_owned()).await
}
