//! The body of every JSON error answer: `{"error": "<stable code>", "message": "<why>"}`,
//! plus `errors` (JSON pointers and reasons, the first [`MAX_LISTED_VIOLATIONS`]) and
//! `error_count` (all of them) when a payload is invalid, so that a 10,000-item invalid
//! batch is answered in a few KiB, not megabytes. Each handler's
//! error type picks the status and the code; the code is what publishers match on, the
//! message is for people.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::validation::Violation;

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a [Violation]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_count: Option<usize>,
}

/// Violations listed in an answer; `error_count` says how many there were in all.
pub const MAX_LISTED_VIOLATIONS: usize = 20;

/// The `error` code of an answer, kept in its extensions for the access log.
#[derive(Clone, Debug)]
pub(super) struct ErrorCode(pub(super) String);

/// `status` with `{"error": code, "message": message}`.
pub(super) fn json_error(status: StatusCode, code: &str, message: impl ToString) -> Response {
    with_code((status, Json(ErrorBody { error: code, message: message.to_string(), errors: None, error_count: None })).into_response(), code)
}

/// `status` with `{"error": code, "message": message, "errors": <the first violations>,
/// "error_count": <how many>}`.
pub(super) fn json_error_with_violations(status: StatusCode, code: &str, message: impl ToString, violations: &[Violation]) -> Response {
    let listed = &violations[..violations.len().min(MAX_LISTED_VIOLATIONS)];
    let body = ErrorBody { error: code, message: message.to_string(), errors: Some(listed), error_count: Some(violations.len()) };
    with_code((status, Json(body)).into_response(), code)
}

fn with_code(mut response: Response, code: &str) -> Response {
    response.extensions_mut().insert(ErrorCode(code.to_owned()));
    response
}

/// The status and body of an answer, for tests.
#[cfg(test)]
pub(super) async fn answer(response: impl IntoResponse) -> (u16, String) {
    let response = response.into_response();
    let status = response.status().as_u16();
    let body = axum::body::to_bytes(response.into_body(), 64 * 1024).await.expect("body");
    (status, String::from_utf8(body.to_vec()).expect("utf-8"))
}
