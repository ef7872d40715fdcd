//! Client actions (`perform`): validation, then the declared behaviour — `relay` to the
//! subscription's streams, or `forward` to the app backend — and a reply to the sender.
//!
//! Replies and errors travel as data messages on the sender's identifier:
//! `{"$reply":{"ref":"<client id>","action":"send_message","ok":true,"data":{...}}}`.
//! Success replies are sent when the client asked (`$ref`) or the action declares a reply;
//! errors always are, so an unknown action or a bad payload is never met with silence.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::app::App;
use crate::broker::{self, Publication};
use crate::codegen_support::{ActionBehaviour, ActionDescriptor, ChannelDescriptor};
use crate::hub::{Outbox, SessionId};
use crate::protocol::frame;
use crate::validation::{self, Violation};

/// The key of a `perform` payload that carries the client's correlation id.
pub const REF_KEY: &str = "$ref";

/// A failed action, as the client sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionError {
    /// Stable code: a declared error or a built-in one.
    pub code: String,
    /// Human-readable reason.
    pub message: String,
    /// Invalid fields, for `invalid_request`.
    pub details: Vec<Violation>,
}

impl ActionError {
    /// An error without details.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        ActionError { code: code.to_owned(), message: message.into(), details: Vec::new() }
    }

    fn to_json(&self) -> Value {
        let mut v = json!({ "code": self.code, "message": self.message });
        if !self.details.is_empty() {
            v["details"] = json!(self.details);
        }
        v
    }
}

/// Who performs, and on which subscription.
pub struct Performer {
    /// The connection.
    pub session: SessionId,
    /// Where replies go.
    pub outbox: Outbox,
    /// The subscription's identifier, echoed as is.
    pub identifier: Arc<str>,
    /// Its channel.
    pub channel: &'static ChannelDescriptor,
    /// Its params.
    pub params: Value,
    /// Its streams.
    pub streams: Vec<String>,
    /// The principal's claims.
    pub principal: Value,
}

impl Performer {
    /// Sends a reply message to the performer.
    pub fn reply(&self, reference: Option<&str>, action: &str, outcome: Result<Value, ActionError>) {
        let message = frame::reply(reference, action, outcome.map_err(|e| e.to_json()));
        let text = frame::data(&self.identifier, &message.to_string());
        let _ = self.outbox.push(text.into());
    }
}

/// Splits `perform` data into action name, correlation id and request.
fn split(data: Value) -> (Option<String>, Option<String>, Value) {
    let mut obj = match data {
        Value::Object(o) => o,
        _ => Map::new(),
    };
    let action = match obj.remove("action") {
        Some(Value::String(a)) => Some(a),
        _ => None,
    };
    let reference = match obj.remove(REF_KEY) {
        Some(Value::String(r)) if r.len() <= 128 => Some(r),
        _ => None,
    };
    (action, reference, Value::Object(obj))
}

/// Handles one `message` command. Relays run inline; forwards are spawned, because the
/// backend may be slow and the connection must keep reading and writing meanwhile.
pub fn perform(app: &Arc<App>, performer: Performer, data: Value) {
    let (action, reference, request) = split(data);
    let Some(name) = action else {
        performer.reply(reference.as_deref(), "", Err(ActionError::new("unknown_action", "`data.action` is missing")));
        return;
    };
    let Some(action) = performer.channel.action(&name) else {
        let msg = format!("{} has no action `{}`", performer.channel.name, name.chars().take(64).collect::<String>());
        performer.reply(reference.as_deref(), &name, Err(ActionError::new("unknown_action", msg)));
        return;
    };
    if let Err(details) = validation::validate(action.request_schema, &request) {
        let err = ActionError { code: "invalid_request".into(), message: format!("the request does not match the schema of `{}`", action.name), details };
        performer.reply(reference.as_deref(), action.name, Err(err));
        return;
    }
    match action.behaviour {
        ActionBehaviour::Relay { event, exclude_sender } => {
            let result = relay(app, &performer, event, request, exclude_sender);
            if result.is_err() || reference.is_some() {
                performer.reply(reference.as_deref(), action.name, result.map(|_| Value::Null));
            }
        }
        ActionBehaviour::Forward { path } => {
            let app = app.clone();
            app.sessions.clone().spawn(async move {
                let result = forward(&app, &performer, action, path, request).await;
                if result.is_err() || reference.is_some() || action.reply_schema.is_some() {
                    performer.reply(reference.as_deref(), action.name, result);
                }
            });
        }
    }
}

fn relay(app: &App, p: &Performer, event: &str, payload: Value, exclude_sender: bool) -> Result<(), ActionError> {
    let ev = p.channel.event(event).ok_or_else(|| ActionError::new("invalid_request", format!("relay event `{event}` is not declared")))?;
    if let Err(details) = validation::validate(ev.payload_schema, &payload) {
        return Err(ActionError { code: "invalid_request".into(), message: format!("the request cannot be relayed as `{event}`"), details });
    }
    let publication = Publication { channel: p.channel, event: ev, payload, streams: p.streams.clone() };
    let exclude = exclude_sender.then_some(p.session);
    broker::deliver(&app.sinks(), std::slice::from_ref(&publication), exclude);
    Ok(())
}

async fn forward(app: &App, p: &Performer, action: &ActionDescriptor, path: &str, request: Value) -> Result<Value, ActionError> {
    let Some(base) = app.config.backend.url.as_deref() else {
        return Err(ActionError::new("backend_unavailable", "no backend is configured for forwarded actions"));
    };
    let url = format!("{}{}", base.trim_end_matches('/'), path);
    let body = json!({ "principal": p.principal, "channel": p.channel.name, "params": p.params, "action": action.name, "payload": request });
    let resp = app.backend.post(&url).json(&body).send().await.map_err(|e| {
        tracing::warn!(action = action.name, error = %e, "backend unreachable");
        ActionError::new("backend_unavailable", "the backend did not answer")
    })?;
    if !resp.status().is_success() {
        tracing::warn!(action = action.name, status = %resp.status(), "backend refused a forwarded action");
        return Err(ActionError::new("backend_unavailable", format!("the backend answered {}", resp.status().as_u16())));
    }
    let answer: Value = resp.json().await.map_err(|_| ActionError::new("backend_unavailable", "the backend's answer is not JSON"))?;
    // Events first: they are facts the backend wants published whatever the reply says.
    if let Some(events) = answer.get("events").and_then(Value::as_array) {
        let mut pubs = Vec::new();
        for (i, e) in events.iter().enumerate() {
            match serde_json::from_value::<broker::PublishRequest>(e.clone()).map_err(|e| e.to_string()).and_then(|r| broker::prepare(r, &format!("/events/{i}")).map_err(|e| e.to_string())) {
                Ok(p) => pubs.push(p),
                Err(reason) => {
                    tracing::error!(action = action.name, index = i, %reason, "backend answered an invalid event; none of its events were published");
                    return Err(ActionError::new("backend_unavailable", "the backend answered an invalid event"));
                }
            }
        }
        broker::deliver(&app.sinks(), &pubs, None);
    }
    if let Some(error) = answer.get("error") {
        let code = error.get("code").and_then(Value::as_str).unwrap_or("backend_unavailable");
        let known = action.errors.contains(&code) || crate::session::BUILTIN_ERRORS.contains(&code);
        if !known {
            tracing::warn!(action = action.name, code, "backend answered an undeclared error code");
        }
        let message = error.get("message").and_then(Value::as_str).unwrap_or("the action failed");
        return Err(ActionError::new(if known { code } else { "backend_unavailable" }, message));
    }
    let reply = answer.get("reply").cloned().unwrap_or(Value::Null);
    if let Some(schema) = action.reply_schema {
        if let Err(v) = validation::validate(schema, &reply) {
            tracing::error!(action = action.name, violations = ?v, "backend reply does not match the declared reply schema");
            return Err(ActionError::new("backend_unavailable", "the backend's reply does not match the schema"));
        }
    }
    Ok(reply)
}
