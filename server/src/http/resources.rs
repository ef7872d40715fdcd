//! `PUT /resources/{kind}/{id}` with `{"account_id": "..."}`: publishers tell the embedded
//! registry who owns what, so `owns` rules hold for resources no event has announced yet.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::error::json_error;
use crate::app::App;
use crate::codegen_support::is_key_safe;
use crate::resolver::registry::RegistryError;

/// Why an ownership fact was not recorded. The variant decides the status and the code.
#[derive(Debug, thiserror::Error)]
pub enum ResourceError {
    /// 409 `registry_disabled`: ownership comes from the backend callback.
    #[error("ownership is resolved by the backend callback (resolver = http)")]
    RegistryDisabled,
    /// 400 `invalid_request`: the body is not `{"account_id": "..."}`.
    #[error("the body must be {{\"account_id\": \"...\"}}")]
    InvalidBody,
    /// 400 `invalid_request`: a name is not key-safe.
    #[error("kind, id and account_id must match [A-Za-z0-9_-]{{1,128}}")]
    UnsafeName,
    /// 507 `registry_full`, or 503 `unavailable` when the shared registry (Redis) is unreachable.
    #[error(transparent)]
    Full(#[from] RegistryError),
}

impl IntoResponse for ResourceError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            ResourceError::RegistryDisabled => (StatusCode::CONFLICT, "registry_disabled"),
            ResourceError::InvalidBody | ResourceError::UnsafeName => (StatusCode::BAD_REQUEST, "invalid_request"),
            ResourceError::Full(RegistryError::Full(_)) => (StatusCode::INSUFFICIENT_STORAGE, "registry_full"),
            ResourceError::Full(RegistryError::Unavailable(_)) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        };
        json_error(status, code, self)
    }
}

pub(super) async fn record(State(app): State<Arc<App>>, Path((kind, id)): Path<(String, String)>, body: axum::body::Bytes) -> Result<StatusCode, ResourceError> {
    let registry = app.registry().ok_or(ResourceError::RegistryDisabled)?;
    let account = serde_json::from_slice::<Value>(&body).ok().and_then(|v| v.get("account_id").and_then(Value::as_str).map(str::to_owned));
    let account = account.ok_or(ResourceError::InvalidBody)?;
    if !is_key_safe(&kind) || !is_key_safe(&id) || !is_key_safe(&account) {
        return Err(ResourceError::UnsafeName);
    }
    registry.record_owner(&kind, &id, &account).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::error::answer;

    #[tokio::test]
    async fn each_error_has_its_status_and_stable_body() {
        assert_eq!(answer(ResourceError::RegistryDisabled).await, (409, r#"{"error":"registry_disabled","message":"ownership is resolved by the backend callback (resolver = http)"}"#.into()));
        assert_eq!(answer(ResourceError::InvalidBody).await, (400, r#"{"error":"invalid_request","message":"the body must be {\"account_id\": \"...\"}"}"#.into()));
        assert_eq!(answer(ResourceError::UnsafeName).await, (400, r#"{"error":"invalid_request","message":"kind, id and account_id must match [A-Za-z0-9_-]{1,128}"}"#.into()));
        assert_eq!(answer(ResourceError::Full(RegistryError::Full(3))).await, (507, r#"{"error":"registry_full","message":"the ownership registry holds 3 entries, its limit"}"#.into()));
        let down = RegistryError::Unavailable(crate::engine::EngineError::Unreachable("connection refused".into()).to_string());
        assert_eq!(answer(ResourceError::Full(down)).await, (503, r#"{"error":"unavailable","message":"Redis is unreachable: connection refused"}"#.into()));
    }
}
