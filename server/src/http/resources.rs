//! `PUT /resources/{kind}/{id}` with `{"account_id": "..."}`: publishers tell the embedded
//! registry who owns what, so `owns` rules hold for resources no event has announced yet.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::app::App;
use crate::codegen_support::is_key_safe;

pub(super) async fn record(State(app): State<Arc<App>>, Path((kind, id)): Path<(String, String)>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    if !super::publisher_authorized(&app, &headers) {
        return (StatusCode::UNAUTHORIZED, Json(json!({"error": "unauthorized", "message": "send the publisher key as `Authorization: Bearer <key>`"}))).into_response();
    }
    let Some(registry) = app.registry() else {
        return (StatusCode::CONFLICT, Json(json!({"error": "registry_disabled", "message": "ownership is resolved by the backend callback (resolver = http)"}))).into_response();
    };
    let account = serde_json::from_slice::<Value>(&body).ok().and_then(|v| v.get("account_id").and_then(Value::as_str).map(str::to_owned));
    let Some(account) = account else {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": "invalid_request", "message": "the body must be {\"account_id\": \"...\"}"}))).into_response();
    };
    if !is_key_safe(&kind) || !is_key_safe(&id) || !is_key_safe(&account) {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": "invalid_request", "message": "kind, id and account_id must match [A-Za-z0-9_-]{1,128}"}))).into_response();
    }
    match registry.record(&kind, &id, &account) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => (StatusCode::INSUFFICIENT_STORAGE, Json(json!({"error": "registry_full", "message": e.to_string()}))).into_response(),
    }
}
