//! `POST /_broadcast`: AnyCable's HTTP broadcast format, so that an app using anycable-rails
//! points its HTTP broadcaster (`http_broadcast_url`, with `broadcast_key` set to the
//! publisher key: it sends `Authorization: Bearer <key>`) at Cableway unchanged.
//!
//! The body is `{"stream": "...", "data": "<the message as JSON text>"}` (anycable's `meta`
//! is accepted and ignored), or an array of them (anycable-rails' batching). Each is checked
//! as [`broker::addressed`] says; a batch is all or nothing, like `POST /broadcast`. A refused
//! broadcast is counted and logged ([`broker::refused`]) and answered with the reason:
//! anycable-go answers 201 whatever happens, which is how broadcasts get lost unseen.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::Value;

use super::error::{json_error, json_error_with_violations};
use super::publish::{BroadcastError, PublishResponse};
use crate::app::App;
use crate::broker::addressed::{self, Reason, Refusal};
use crate::broker::{self, refused};
use crate::metrics::BroadcastSource;
use crate::validation::Violation;

/// One broadcast in AnyCable's format.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StreamBroadcast {
    stream: String,
    /// The message, JSON-encoded into a string (as anycable-rails sends it).
    data: String,
    /// anycable's delivery options (`exclude_socket`, ...): its socket ids mean nothing here.
    #[serde(default)]
    #[allow(dead_code, reason = "accepted for compatibility, not acted on")]
    meta: Option<Value>,
}

/// Why nothing was published.
#[derive(Debug, thiserror::Error)]
pub enum StreamBroadcastError {
    /// What `POST /broadcast` also answers (key, draining, JSON, empty batch, Redis).
    #[error(transparent)]
    Publish(#[from] BroadcastError),
    /// 400 `invalid_request`: an item is not `{stream, data, meta?}` with `data` a string.
    #[error("broadcast {index}: {source}; expected {{\"stream\": \"...\", \"data\": \"<JSON text>\"}}")]
    InvalidRequest {
        /// Its place in the batch.
        index: usize,
        /// What serde found.
        source: serde_json::Error,
    },
    /// 404, 400 or 422 with the [`Reason`]'s code: the schema refuses a broadcast.
    #[error("broadcast {index} to `{stream}` refused: {reason}")]
    Refused {
        /// Its place in the batch.
        index: usize,
        /// Its stream.
        stream: String,
        /// Why.
        reason: Reason,
    },
}

impl IntoResponse for StreamBroadcastError {
    fn into_response(self) -> Response {
        let (status, code) = match self {
            StreamBroadcastError::Publish(e) => return e.into_response(),
            StreamBroadcastError::InvalidRequest { .. } => (StatusCode::BAD_REQUEST, "invalid_request"),
            StreamBroadcastError::Refused { index, ref reason, .. } => {
                let code = reason.outcome().as_str();
                match reason {
                    Reason::UnknownStream | Reason::UnknownEvent(_) => (StatusCode::NOT_FOUND, code),
                    Reason::NotAnEvent(_) | Reason::Ambiguous { .. } => (StatusCode::BAD_REQUEST, code),
                    Reason::InvalidPayload { violations, .. } => {
                        let at: Vec<Violation> = violations.iter().map(|v| Violation { path: format!("/{index}/data{}", v.path), message: v.message.clone() }).collect();
                        return json_error_with_violations(StatusCode::UNPROCESSABLE_ENTITY, code, &self, &at);
                    }
                    Reason::UndeclaredField(_) | Reason::InvalidStreamKey { .. } | Reason::StreamMismatch { .. } => (StatusCode::UNPROCESSABLE_ENTITY, code),
                }
            }
        };
        json_error(status, code, self)
    }
}

pub(super) async fn broadcast(State(app): State<Arc<App>>, body: Bytes) -> Result<(StatusCode, Json<PublishResponse>), StreamBroadcastError> {
    if app.shutdown.is_cancelled() {
        return Err(BroadcastError::Draining.into());
    }
    let doc: Value = serde_json::from_slice(&body).map_err(BroadcastError::InvalidJson)?;
    let items = match doc {
        Value::Array(items) => items,
        other => vec![other],
    };
    if items.is_empty() {
        return Err(BroadcastError::EmptyBatch.into());
    }
    let mut accepted = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let b: StreamBroadcast = serde_json::from_value(item).map_err(|source| StreamBroadcastError::InvalidRequest { index, source })?;
        match addressed::prepare(&b.stream, &b.data) {
            Ok(a) => accepted.push(a),
            Err(Refusal { template, reason }) => {
                refused::refused(BroadcastSource::AnycableHttp, &b.stream, &Refusal { template, reason: reason.clone() });
                return Err(StreamBroadcastError::Refused { index, stream: b.stream, reason });
            }
        }
    }
    let pubs: Vec<_> = accepted.iter().map(|a| a.publication.clone()).collect();
    super::publish::within_outbound_bound(&app, &pubs)?;
    let published = app.engine.publish(&pubs, None).await.map_err(|e| {
        tracing::warn!(error = %e, publications = pubs.len(), "stream broadcast not published: the engine did not take it");
        accepted.iter().for_each(|a| refused::unavailable(BroadcastSource::AnycableHttp, a.template));
        BroadcastError::Unavailable(e)
    })?;
    accepted.iter().for_each(|a| refused::delivered(BroadcastSource::AnycableHttp, a.template));
    let report = published.report;
    let deliveries = app.engine.is_local().then_some(report.deliveries);
    Ok((StatusCode::CREATED, Json(PublishResponse { published: pubs.len(), streams: broker::Publication::streams_of(&pubs), deliveries, positions: published.positions })))
}
