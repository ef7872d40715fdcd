//! `POST /broadcast`: publish one event, or a batch (a JSON array), with the publisher key.
//! Every publication is validated before anything is delivered; a batch is all or nothing.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::Value;

use super::error::{json_error, json_error_with_violations};
use crate::app::App;
use crate::broker::{self, PublishError, PublishRequest};
use crate::engine::{AssignedPosition, EngineError};
use crate::validation::Violation;

/// The success answer.
#[derive(Debug, Serialize)]
pub struct PublishResponse {
    /// Publications accepted.
    pub published: usize,
    /// Streams targeted.
    pub streams: Vec<String>,
    /// Frames queued to connections (the embedded engine; the Redis engine delivers on every
    /// node after answering, so it cannot count them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deliveries: Option<usize>,
    /// The position each stream of each publication got (the Redis engine).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub positions: Vec<AssignedPosition>,
}

/// Why nothing was published. The variant decides the status and the `error` code.
#[derive(Debug, thiserror::Error)]
pub enum BroadcastError {
    /// 503 `draining`: the server is shutting down.
    #[error("the server is shutting down")]
    Draining,
    /// 400 `invalid_json`.
    #[error("the body is not JSON: {0}")]
    InvalidJson(serde_json::Error),
    /// 400 `empty_batch`.
    #[error("the batch holds no publication")]
    EmptyBatch,
    /// 400 `invalid_request`: a publication is not `{channel?, event, payload}`.
    #[error("publication {index}: {source}; expected {{\"channel\"?, \"event\", \"payload\"}}")]
    InvalidRequest {
        /// Its place in the batch (0 for a single publication).
        index: usize,
        /// What serde found.
        source: serde_json::Error,
    },
    /// 422 `invalid_payload`, listing every violation of every publication.
    #[error("nothing was published: the payload does not match the event's schema")]
    InvalidPayload {
        /// The violations, with pointers into the body.
        violations: Vec<Violation>,
    },
    /// 413 `batch_too_large`: the publications would pass one connection's outbound bound,
    /// so a subscriber of their streams would be dropped as `too_slow` however fast it reads.
    #[error(
        "nothing was published: the batch would queue {bytes} bytes to a subscriber of all its streams, over one connection's outbound bound of {limit} bytes (limits.max_outbound_queue_bytes); send it in smaller batches"
    )]
    OverOutboundBound {
        /// What the batch costs one connection ([`broker::outbound_bytes`]).
        bytes: usize,
        /// The bound.
        limit: usize,
    },
    /// 404 `unknown_event`, 400 `ambiguous_event` or 422 `invalid_stream_key`.
    #[error(transparent)]
    Refused(PublishError),
    /// 503 `unavailable`: the engine (Redis) did not take the publication.
    #[error("not published: {0}; retry later")]
    Unavailable(EngineError),
}

impl IntoResponse for BroadcastError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            BroadcastError::Draining => (StatusCode::SERVICE_UNAVAILABLE, "draining"),
            BroadcastError::Unavailable(_) => {
                let mut response = json_error(StatusCode::SERVICE_UNAVAILABLE, "unavailable", &self);
                response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static("1"));
                return response;
            }
            BroadcastError::InvalidJson(_) => (StatusCode::BAD_REQUEST, "invalid_json"),
            BroadcastError::EmptyBatch => (StatusCode::BAD_REQUEST, "empty_batch"),
            BroadcastError::OverOutboundBound { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "batch_too_large"),
            BroadcastError::InvalidRequest { .. } => (StatusCode::BAD_REQUEST, "invalid_request"),
            BroadcastError::InvalidPayload { violations } => {
                return json_error_with_violations(StatusCode::UNPROCESSABLE_ENTITY, "invalid_payload", &self, violations);
            }
            BroadcastError::Refused(refused) => match refused {
                PublishError::UnknownChannel(_) | PublishError::UnknownEvent(_) => (StatusCode::NOT_FOUND, "unknown_event"),
                PublishError::Ambiguous { .. } => (StatusCode::BAD_REQUEST, "ambiguous_event"),
                PublishError::Key { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_stream_key"),
                PublishError::Invalid { violations, .. } => {
                    let all = BroadcastError::InvalidPayload { violations: violations.clone() };
                    return all.into_response();
                }
            },
        };
        json_error(status, code, self)
    }
}

pub(super) async fn broadcast(State(app): State<Arc<App>>, body: Bytes) -> Result<Json<PublishResponse>, BroadcastError> {
    if app.shutdown.is_cancelled() {
        return Err(BroadcastError::Draining);
    }
    let doc: Value = serde_json::from_slice(&body).map_err(BroadcastError::InvalidJson)?;
    let (items, batch) = match doc {
        Value::Array(items) => (items, true),
        other => (vec![other], false),
    };
    if items.is_empty() {
        return Err(BroadcastError::EmptyBatch);
    }
    let mut pubs = Vec::with_capacity(items.len());
    let mut violations = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        let pointer = if batch { format!("/{index}") } else { String::new() };
        let req: PublishRequest = serde_json::from_value(item).map_err(|source| BroadcastError::InvalidRequest { index, source })?;
        match broker::prepare(req, &pointer) {
            Ok(p) => pubs.push(p),
            // Keep checking: the answer lists what is wrong with every publication.
            Err(PublishError::Invalid { event, violations: v }) => {
                tracing::info!(event, count = v.len(), "publication refused: payload invalid");
                violations.extend(v);
            }
            Err(refused) => return Err(BroadcastError::Refused(refused)),
        }
    }
    if !violations.is_empty() {
        return Err(BroadcastError::InvalidPayload { violations });
    }
    within_outbound_bound(&app, &pubs)?;
    let published = app.engine.publish(&pubs, None).await.map_err(|e| {
        tracing::warn!(error = %e, publications = pubs.len(), "publish refused: the engine did not take it");
        BroadcastError::Unavailable(e)
    })?;
    let report = published.report;
    tracing::debug!(published = pubs.len(), deliveries = report.deliveries, "published");
    let deliveries = app.engine.is_local().then_some(report.deliveries);
    Ok(Json(PublishResponse { published: pubs.len(), streams: report.streams, deliveries, positions: published.positions }))
}

/// Refuses publications that would not fit one connection's outbound queue
/// ([`broker::outbound_bytes`]): refused whole, the publisher can split them; delivered, they
/// would be lost for every subscriber.
pub(super) fn within_outbound_bound(app: &App, pubs: &[broker::Publication]) -> Result<(), BroadcastError> {
    let limit = app.config.limits.max_outbound_queue_bytes;
    let bytes = broker::outbound_bytes(pubs);
    if bytes > limit {
        tracing::info!(publications = pubs.len(), bytes, limit, "publish refused: over one connection's outbound bound");
        return Err(BroadcastError::OverOutboundBound { bytes, limit });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::error::answer;

    #[tokio::test]
    async fn each_error_has_its_status_and_stable_body() {
        assert_eq!(answer(BroadcastError::Draining).await, (503, r#"{"error":"draining","message":"the server is shutting down"}"#.into()));
        assert_eq!(answer(BroadcastError::EmptyBatch).await, (400, r#"{"error":"empty_batch","message":"the batch holds no publication"}"#.into()));
        let not_json = serde_json::from_slice::<Value>(b"{x").unwrap_err();
        assert_eq!(answer(BroadcastError::InvalidJson(not_json)).await, (400, r#"{"error":"invalid_json","message":"the body is not JSON: key must be a string at line 1 column 2"}"#.into()));
        let source = serde_json::from_value::<PublishRequest>(serde_json::json!({"payload": {}})).unwrap_err();
        assert_eq!(
            answer(BroadcastError::InvalidRequest { index: 2, source }).await,
            (400, r#"{"error":"invalid_request","message":"publication 2: missing field `event`; expected {\"channel\"?, \"event\", \"payload\"}"}"#.into())
        );
        let violations = vec![Violation { path: "/0/payload/id".into(), message: "is required".into() }];
        assert_eq!(
            answer(BroadcastError::InvalidPayload { violations }).await,
            (422, r#"{"error":"invalid_payload","message":"nothing was published: the payload does not match the event's schema","errors":[{"path":"/0/payload/id","message":"is required"}],"error_count":1}"#.into())
        );
        let many: Vec<Violation> = (0..10_000).map(|i| Violation { path: format!("/{i}/payload/id"), message: "is required".into() }).collect();
        let (status, body) = answer(BroadcastError::InvalidPayload { violations: many }).await;
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!((status, body["errors"].as_array().map(Vec::len), &body["error_count"]), (422, Some(20), &serde_json::json!(10_000)), "the first 20 and the count");
        assert_eq!(body["errors"][19]["path"], "/19/payload/id");
        assert_eq!(answer(BroadcastError::Refused(PublishError::UnknownChannel("X".into()))).await, (404, r#"{"error":"unknown_event","message":"unknown channel `X`"}"#.into()));
        let ambiguous = PublishError::Ambiguous { event: "e".into(), channels: "A, B".into() };
        assert_eq!(answer(BroadcastError::Refused(ambiguous)).await.0, 400);
        assert_eq!(
            answer(BroadcastError::OverOutboundBound { bytes: 2_000_000, limit: 1_048_576 }).await,
            (413, r#"{"error":"batch_too_large","message":"nothing was published: the batch would queue 2000000 bytes to a subscriber of all its streams, over one connection's outbound bound of 1048576 bytes (limits.max_outbound_queue_bytes); send it in smaller batches"}"#.into())
        );
        let key = PublishError::Key { template: "t:{id}".into(), reason: "r".into() };
        assert_eq!(answer(BroadcastError::Refused(key)).await, (422, r#"{"error":"invalid_stream_key","message":"cannot build stream `t:{id}`: r"}"#.into()));
        let down = BroadcastError::Unavailable(EngineError::Unreachable("connection refused".into()));
        assert_eq!(answer(down).await, (503, r#"{"error":"unavailable","message":"not published: Redis is unreachable: connection refused; retry later"}"#.into()));
    }
}
