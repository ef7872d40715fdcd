//! HTTP: the router. `GET /cable` (WebSocket), `POST /broadcast`, `POST /_broadcast` (AnyCable's format), `PUT /resources/{kind}/{id}`,
//! `GET /health` (liveness, with the engine's state), `GET /ready` (whether a load balancer
//! should send traffic here); the debug page at `/` when it is on; `GET /metrics` on its own listener.
//! Request logs carry the path only, never the query (tokens travel there); the publisher
//! endpoints log one access line each, with outcome and time.

mod access_log;
mod anycable;
mod cable;
mod connection_caps;
mod debug;
mod error;
mod metrics;
mod publish;
mod publish_gate;
mod publisher_key;
mod resources;

use std::sync::Arc;

use axum::middleware::from_fn_with_state;
use axum::routing::{get, post, put, MethodRouter};
use axum::Router;

use crate::app::App;

pub use cable::UpgradeError;
pub use metrics::serve_metrics;
pub use publish::{BroadcastError, PublishResponse};
pub use publish_gate::GateRefusal;
pub use publisher_key::PublisherKeyRequired;
pub use resources::ResourceError;

/// The application router.
pub fn router(app: Arc<App>) -> Router {
    let body_limit = app.config.limits.max_publish_body_bytes;
    let debug_page = debug::routes(&app).unwrap_or_default();
    // Keyed routes: logged, then the key (nothing read without it), then a slot and the body.
    let gate = publish_gate::Gate::new(app.config.limits.max_concurrent_publishes, app.config.timeouts.body_read_timeout, body_limit);
    let keyed = |route: MethodRouter<Arc<App>>, success: &'static str| {
        route.layer(from_fn_with_state(gate.clone(), publish_gate::gate)).layer(from_fn_with_state(app.clone(), publisher_key::guard)).layer(from_fn_with_state(success, access_log::access_log))
    };
    Router::new()
        .merge(debug_page)
        .route("/cable", get(cable::upgrade).layer(axum::Extension(connection_caps::ConnectionCaps::new(&app.config.limits))))
        .route("/broadcast", keyed(post(publish::broadcast), "published"))
        .route("/_broadcast", keyed(post(anycable::broadcast), "published"))
        .route("/resources/{kind}/{id}", keyed(put(resources::record), "recorded"))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .layer(axum::extract::DefaultBodyLimit::max(body_limit))
        .with_state(app)
}

async fn health(axum::extract::State(app): axum::extract::State<Arc<App>>) -> axum::Json<serde_json::Value> {
    let draining = app.shutdown.is_cancelled();
    let mut body = serde_json::json!({
        "status": if draining { "draining" } else { "ok" },
        "connections": app.connections.load(std::sync::atomic::Ordering::Relaxed),
        // Tasks alive in the runtime: flat while idle, and bounded under faults.
        "tasks": tokio::runtime::Handle::current().metrics().num_alive_tasks(),
        "streams": app.hub.stream_count(),
        "channels": crate::channels::REGISTRY.len(),
        "schema_version": crate::channels::SCHEMA_VERSION,
        "transport": crate::transport::stats::snapshot(),
    });
    if let (Some(body), serde_json::Value::Object(engine)) = (body.as_object_mut(), app.engine.health()) {
        body.extend(engine);
    }
    axum::Json(body)
}

/// 200 while the node serves and its engine can reach what it shares; 503 while it drains
/// or Redis is unreachable, so a load balancer sends new connections elsewhere.
async fn ready(axum::extract::State(app): axum::extract::State<Arc<App>>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let unavailable = |status: &str, reason: &str| (axum::http::StatusCode::SERVICE_UNAVAILABLE, axum::Json(serde_json::json!({ "status": status, "reason": reason }))).into_response();
    if app.shutdown.is_cancelled() {
        return unavailable("draining", "the server is shutting down");
    }
    if let Some(reason) = app.engine.unready() {
        return unavailable("unavailable", reason);
    }
    axum::Json(serde_json::json!({ "status": "ready", "engine": app.engine.name() })).into_response()
}
