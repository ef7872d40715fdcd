//! The body of every JSON error answer: `{"error": "<stable code>", "message": "<why>"}`,
//! plus `errors` (JSON pointers and reasons) when a payload is invalid. Each handler's
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
}

/// The `error` code of an answer, kept in its extensions for the access log.
#[derive(Clone, Debug)]
pub(super) struct ErrorCode(pub(super) String);

/// `status` with `{"error": code, "message": message}`.
pub(super) fn json_error(status: StatusCode, code: &str, message: impl ToString) -> Response {
    with_code((status, Json(ErrorBody { error: code, message: message.to_string(), errors: None })).into_response(), code)
}

/// `status` with `{"error": code, "message": message, "errors": violations}`.
pub(super) fn json_error_with_violations(status: StatusCode, code: &str, message: impl ToString, violations: &[Violation]) -> Response {
    with_code((status, Json(ErrorBody { error: code, message: message.to_string(), errors: Some(violations) })).into_response(), code)
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
