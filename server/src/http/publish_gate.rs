//! What a keyed request (`/broadcast`, `/_broadcast`, `/resources`) may take before its
//! handler runs: one of `limits.max_concurrent_publishes` slots, and its body, read to the end
//! within `timeouts.body_read_timeout` and `limits.max_publish_body_bytes`. It runs after the
//! key check, so a request without the key costs neither; a body that stalls is cut and its
//! memory freed, and a flood of requests with the key holds at most the slots' bodies.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use tokio::sync::Semaphore;

use super::error::json_error;

/// The slots and the body's budgets, shared by the keyed routes.
pub(super) struct Gate {
    slots: Arc<Semaphore>,
    body_read_timeout: Duration,
    max_body_bytes: usize,
}

impl Gate {
    pub(super) fn new(slots: usize, body_read_timeout: Duration, max_body_bytes: usize) -> Arc<Gate> {
        Arc::new(Gate { slots: Arc::new(Semaphore::new(slots)), body_read_timeout, max_body_bytes })
    }
}

/// Why a keyed request is answered before its handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GateRefusal {
    /// 503 `busy`, with `Retry-After: 1`: every slot is taken.
    #[error("too many publish requests at once; retry later")]
    Busy,
    /// 408 `body_timeout`: the body did not arrive within the body read timeout.
    #[error("the request body did not arrive in time")]
    BodyTimeout,
    /// 413 `body_too_large`: the body is over the limit.
    #[error("the request body is over the limit of {0} bytes")]
    BodyTooLarge(usize),
    /// 400 `body_unreadable`: the connection broke while the body was read.
    #[error("the request body could not be read")]
    BodyUnreadable,
}

impl IntoResponse for GateRefusal {
    fn into_response(self) -> Response {
        let (status, code) = match self {
            GateRefusal::Busy => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
            GateRefusal::BodyTimeout => (StatusCode::REQUEST_TIMEOUT, "body_timeout"),
            GateRefusal::BodyTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
            GateRefusal::BodyUnreadable => (StatusCode::BAD_REQUEST, "body_unreadable"),
        };
        let mut response = json_error(status, code, self);
        if self == GateRefusal::Busy {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

/// Takes a slot, reads the body, then runs the handler with it; the slot is held until the
/// answer is ready.
pub(super) async fn gate(State(gate): State<Arc<Gate>>, request: Request, next: Next) -> Response {
    let Ok(_slot) = gate.slots.clone().try_acquire_owned() else {
        return GateRefusal::Busy.into_response();
    };
    let (parts, body) = request.into_parts();
    let declared = parts.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > gate.max_body_bytes as u64) {
        return GateRefusal::BodyTooLarge(gate.max_body_bytes).into_response();
    }
    let body = match tokio::time::timeout(gate.body_read_timeout, read(body, gate.max_body_bytes)).await {
        Ok(Ok(body)) => body,
        Ok(Err(refused)) => return refused.into_response(),
        Err(_) => {
            tracing::info!(path = parts.uri.path(), "request body cut: it did not arrive within the body read timeout");
            return GateRefusal::BodyTimeout.into_response();
        }
    };
    next.run(Request::from_parts(parts, Body::from(body))).await
}

/// The whole body, up to `limit` bytes.
async fn read(body: Body, limit: usize) -> Result<Bytes, GateRefusal> {
    let mut chunks = body.into_data_stream();
    let mut buf = Vec::new();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|_| GateRefusal::BodyUnreadable)?;
        if buf.len() + chunk.len() > limit {
            return Err(GateRefusal::BodyTooLarge(limit));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(buf))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::error::answer;

    #[tokio::test]
    async fn each_refusal_has_its_status_and_stable_body() {
        assert_eq!(answer(GateRefusal::Busy).await, (503, r#"{"error":"busy","message":"too many publish requests at once; retry later"}"#.into()));
        assert_eq!(GateRefusal::Busy.into_response().headers().get(header::RETRY_AFTER).map(HeaderValue::as_bytes), Some(&b"1"[..]));
        assert_eq!(answer(GateRefusal::BodyTimeout).await, (408, r#"{"error":"body_timeout","message":"the request body did not arrive in time"}"#.into()));
        assert_eq!(answer(GateRefusal::BodyTooLarge(10)).await, (413, r#"{"error":"body_too_large","message":"the request body is over the limit of 10 bytes"}"#.into()));
    }

    #[tokio::test]
    async fn a_body_is_read_up_to_its_limit() {
        assert_eq!(read(Body::from("0123456789"), 10).await, Ok(Bytes::from_static(b"0123456789")));
        assert_eq!(read(Body::from("0123456789x"), 10).await, Err(GateRefusal::BodyTooLarge(10)));
    }
}
