//! `POST /broadcast`: publish one event, or a batch (a JSON array), with the publisher key.
//! Every publication is validated before anything is delivered; a batch is all or nothing.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::{json, Value};

use crate::app::App;
use crate::broker::{self, PublishError, PublishRequest};

/// The success answer.
#[derive(Debug, Serialize)]
pub struct PublishResponse {
    /// Publications accepted.
    pub published: usize,
    /// Streams targeted.
    pub streams: Vec<String>,
    /// Frames queued to connections.
    pub deliveries: usize,
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": code, "message": message.into() }))).into_response()
}

pub(super) async fn broadcast(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    if !super::publisher_authorized(&app, &headers) {
        return error(StatusCode::UNAUTHORIZED, "unauthorized", "send the publisher key as `Authorization: Bearer <key>`");
    }
    if app.shutdown.is_cancelled() {
        return error(StatusCode::SERVICE_UNAVAILABLE, "draining", "the server is shutting down");
    }
    let doc: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return error(StatusCode::BAD_REQUEST, "invalid_json", format!("the body is not JSON: {e}")),
    };
    let (items, batch) = match doc {
        Value::Array(items) => (items, true),
        other => (vec![other], false),
    };
    if items.is_empty() {
        return error(StatusCode::BAD_REQUEST, "empty_batch", "the batch holds no publication");
    }
    let mut pubs = Vec::with_capacity(items.len());
    let mut violations = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let pointer = if batch { format!("/{i}") } else { String::new() };
        let req: PublishRequest = match serde_json::from_value(item) {
            Ok(r) => r,
            Err(e) => return error(StatusCode::BAD_REQUEST, "invalid_request", format!("publication {}: {e}; expected {{\"channel\"?, \"event\", \"payload\"}}", if batch { i.to_string() } else { "0".into() })),
        };
        match broker::prepare(req, &pointer) {
            Ok(p) => pubs.push(p),
            Err(PublishError::Invalid { event, violations: v }) => {
                tracing::info!(event, count = v.len(), "publication refused: payload invalid");
                violations.extend(v);
            }
            Err(e @ (PublishError::UnknownChannel(_) | PublishError::UnknownEvent(_))) => return error(StatusCode::NOT_FOUND, "unknown_event", e.to_string()),
            Err(e @ PublishError::Ambiguous { .. }) => return error(StatusCode::BAD_REQUEST, "ambiguous_event", e.to_string()),
            Err(e @ PublishError::Key { .. }) => return error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_stream_key", e.to_string()),
        }
    }
    if !violations.is_empty() {
        let body = json!({ "error": "invalid_payload", "message": "nothing was published: the payload does not match the event's schema", "errors": violations });
        return (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response();
    }
    let report = broker::deliver(&app.sinks(), &pubs, None);
    tracing::debug!(published = pubs.len(), deliveries = report.deliveries, "published");
    (StatusCode::OK, Json(PublishResponse { published: pubs.len(), streams: report.streams, deliveries: report.deliveries })).into_response()
}
