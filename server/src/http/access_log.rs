//! Access logs of the publisher endpoints: one line per request with its method, path,
//! status, outcome (the answer's `error` code, or what a success did) and how long it took.
//! Never the body: it holds payloads, and the key travels in a header that is not logged.

use std::time::Instant;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::error::ErrorCode;

/// Logs the request once it is answered; `success` names the outcome of a 2xx answer
/// (`published`, `recorded`).
pub(super) async fn access_log(State(success): State<&'static str>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    // The path only: a query could carry anything, and these endpoints take none.
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    let status = response.status();
    let outcome = match response.extensions().get::<ErrorCode>() {
        Some(ErrorCode(code)) => code.as_str(),
        None if status.is_success() => success,
        None if status == axum::http::StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
        None => status.canonical_reason().unwrap_or("error"),
    };
    tracing::info!(%method, path, status = status.as_u16(), outcome, elapsed_ms, "access");
    response
}
