//! HTTP: the router. `GET /cable` (WebSocket), `POST /broadcast`, `PUT /resources/{kind}/{id}`,
//! `GET /health`. Request logs carry the path only, never the query (tokens travel there).

mod cable;
mod error;
mod publish;
mod publisher_key;
mod resources;

use std::sync::Arc;

use axum::routing::{get, post, put};
use axum::Router;

use crate::app::App;

pub use cable::UpgradeError;
pub use publish::{BroadcastError, PublishResponse};
pub use publisher_key::PublisherKeyRequired;
pub use resources::ResourceError;

/// The application router.
pub fn router(app: Arc<App>) -> Router {
    let body_limit = app.config.limits.max_publish_body_bytes;
    Router::new()
        .route("/cable", get(cable::upgrade))
        .route("/broadcast", post(publish::broadcast))
        .route("/resources/{kind}/{id}", put(resources::record))
        .route("/health", get(health))
        .layer(axum::extract::DefaultBodyLimit::max(body_limit))
        .with_state(app)
}

async fn health(axum::extract::State(app): axum::extract::State<Arc<App>>) -> axum::Json<serde_json::Value> {
    let draining = app.shutdown.is_cancelled();
    axum::Json(serde_json::json!({
        "status": if draining { "draining" } else { "ok" },
        "connections": app.connections.load(std::sync::atomic::Ordering::Relaxed),
        "streams": app.hub.stream_count(),
        "channels": crate::channels::REGISTRY.len(),
        "schema_version": crate::channels::SCHEMA_VERSION,
        "transport": crate::transport::stats::snapshot(),
    }))
}
