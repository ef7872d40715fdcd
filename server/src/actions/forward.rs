//! `forward` actions: the request goes to the app backend, which answers a reply, an error
//! code, and events to publish.

use serde_json::{json, Value};

use super::reply::{ActionError, ErrorCode};
use super::Performer;
use crate::app::App;
use crate::backend::{self, BackendError};
use crate::broker;
use crate::codegen_support::ActionDescriptor;
use crate::validation;

/// Posts the request to the backend at `path` and turns its answer into the action's
/// outcome, after publishing the events it carries.
pub(super) async fn forward(app: &App, p: &Performer, action: &ActionDescriptor, path: &str, request: Value) -> Result<Value, ActionError> {
    let unavailable = |message: &str| ActionError::new(ErrorCode::BackendUnavailable, message);
    let body = json!({ "principal": p.principal, "channel": p.channel.name, "params": p.params, "action": action.name, "payload": request });
    let answer = backend::post(app, path, &body).await.map_err(|e| {
        match &e {
            BackendError::NotConfigured => {}
            BackendError::Status(status) => tracing::warn!(action = action.name, status, "backend refused a forwarded action"),
            BackendError::NotJson => tracing::warn!(action = action.name, "backend answered a forwarded action with something that is not JSON"),
            other => tracing::warn!(action = action.name, error = %other, "backend unreachable"),
        }
        match e {
            BackendError::NotConfigured => unavailable("no backend is configured for forwarded actions"),
            BackendError::Timeout | BackendError::Unreachable(_) => unavailable("the backend did not answer"),
            BackendError::Status(status) => unavailable(&format!("the backend answered {status}")),
            BackendError::NotJson => unavailable("the backend's answer is not JSON"),
        }
    })?;
    // Events first: they are facts the backend wants published whatever the reply says.
    if let Some(events) = answer.get("events").and_then(Value::as_array) {
        let mut pubs = Vec::new();
        for (i, e) in events.iter().enumerate() {
            match serde_json::from_value::<broker::PublishRequest>(e.clone()).map_err(|e| e.to_string()).and_then(|r| broker::prepare(r, &format!("/events/{i}")).map_err(|e| e.to_string())) {
                Ok(p) => pubs.push(p),
                Err(reason) => {
                    tracing::error!(action = action.name, index = i, %reason, "backend answered an invalid event; none of its events were published");
                    return Err(unavailable("the backend answered an invalid event"));
                }
            }
        }
        if let Err(e) = app.engine.publish(&pubs, None).await {
            tracing::warn!(action = action.name, error = %e, "the backend's events were not published");
            return Err(unavailable("the backend's events could not be published; retry later"));
        }
    }
    if let Some(error) = answer.get("error") {
        let answered = error.get("code").and_then(Value::as_str).unwrap_or(ErrorCode::BackendUnavailable.as_str());
        let code = ErrorCode::answerable(action, answered).unwrap_or_else(|| {
            tracing::warn!(action = action.name, code = answered, "backend answered an undeclared error code");
            ErrorCode::BackendUnavailable
        });
        let message = error.get("message").and_then(Value::as_str).unwrap_or("the action failed");
        return Err(ActionError::new(code, message));
    }
    let reply = answer.get("reply").cloned().unwrap_or(Value::Null);
    if let Some(schema) = action.reply_schema {
        if let Err(v) = validation::validate(schema, &reply) {
            tracing::error!(action = action.name, violations = ?v, "backend reply does not match the declared reply schema");
            return Err(unavailable("the backend's reply does not match the schema"));
        }
    }
    Ok(reply)
}
