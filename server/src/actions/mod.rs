//! Client actions (`perform`): validation, then the declared behaviour — `relay` to the
//! subscription's streams, or `forward` to the app backend — and a reply to the sender.
//!
//! Replies and errors travel as data messages on the sender's identifier:
//! `{"$reply":{"ref":"<client id>","action":"send_message","ok":true,"data":{...}}}`.
//! Success replies are sent when the client asked (`$ref`) or the action declares a reply;
//! errors always are, so an unknown action or a bad payload is never met with silence.
//! The session only decides whether a perform is admitted; what the client is answered,
//! and with which code, is decided here.
//!
//! - [`reply`]: the `$reply` message and the error codes;
//! - `relay`: stamping and publishing of `relay` actions;
//! - `forward`: the backend call of `forward` actions.

mod forward;
mod relay;
pub mod reply;

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::app::App;
use crate::channels::ChannelDescriptor;
use crate::codegen_support::ActionBehaviour;
use crate::hub::{Outbox, SessionId};
use crate::metrics::{ChannelLabel, SentKind, SentLabel};
use crate::protocol::frame;
use crate::transport::Frame;
use crate::validation;

pub use reply::{ActionError, ErrorCode};

/// Error codes any action may answer (mirrored in the generated TypeScript).
pub use crate::channels::BUILTIN_ERRORS;

/// The key of a `perform` payload that carries the client's correlation id.
pub const REF_KEY: &str = "$ref";

/// Longest correlation id echoed back; a longer one is dropped.
const MAX_REF_BYTES: usize = 128;

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
        let message = reply::message(reference, action, outcome);
        let text = frame::data(&self.identifier, &message.to_string());
        let label = SentLabel::new(ChannelLabel::of(self.channel), SentKind::Reply);
        let _ = self.outbox.push(Frame::text(&text).labelled(label));
    }
}

/// A `perform` payload, taken apart.
struct Perform {
    /// The action name, when `data.action` is a string.
    action: Option<String>,
    /// The client's correlation id.
    reference: Option<String>,
    /// Everything else: the action's request.
    request: Value,
}

impl Perform {
    fn split(data: Value) -> Self {
        let mut obj = match data {
            Value::Object(o) => o,
            _ => Map::new(),
        };
        let action = match obj.remove("action") {
            Some(Value::String(a)) => Some(a),
            _ => None,
        };
        let reference = match obj.remove(REF_KEY) {
            Some(Value::String(r)) if r.len() <= MAX_REF_BYTES => Some(r),
            _ => None,
        };
        Perform { action, reference, request: Value::Object(obj) }
    }
}

/// Answers a `message` command the session's command limit did not admit.
pub fn refuse_rate_limited(performer: &Performer, data: Value) {
    let perform = Perform::split(data);
    performer.reply(perform.reference.as_deref(), perform.action.as_deref().unwrap_or_default(), Err(ActionError::rate_limited()));
}

/// Handles one `message` command. Relays run inline; forwards are spawned, because the
/// backend may be slow and the connection must keep reading and writing meanwhile.
pub fn perform(app: &Arc<App>, performer: Performer, data: Value) {
    let Perform { action, reference, request } = Perform::split(data);
    let Some(name) = action else {
        performer.reply(reference.as_deref(), "", Err(ActionError::new(ErrorCode::UnknownAction, "`data.action` is missing")));
        return;
    };
    let Some(action) = performer.channel.action(&name) else {
        let msg = format!("{} has no action `{}`", performer.channel.name, name.chars().take(64).collect::<String>());
        performer.reply(reference.as_deref(), &name, Err(ActionError::new(ErrorCode::UnknownAction, msg)));
        return;
    };
    if let Err(details) = validation::validate(action.request_schema, &request) {
        let err = ActionError::invalid(format!("the request does not match the schema of `{}`", action.name), details);
        performer.reply(reference.as_deref(), action.name, Err(err));
        return;
    }
    match action.behaviour {
        ActionBehaviour::Relay { event, exclude_sender, stamp } => match relay::relayed(&performer, event, request, stamp) {
            Ok(publication) => {
                let exclude = exclude_sender.then_some(performer.session);
                app.engine.publish_then(vec![publication], exclude, move |published| {
                    let result = published.map(|_| Value::Null).map_err(|e| {
                        tracing::warn!(action = action.name, error = %e, "relay not published");
                        ActionError::new(ErrorCode::BackendUnavailable, "the message could not be published; retry later")
                    });
                    if result.is_err() || reference.is_some() {
                        performer.reply(reference.as_deref(), action.name, result);
                    }
                });
            }
            Err(e) => performer.reply(reference.as_deref(), action.name, Err(e)),
        },
        ActionBehaviour::Forward { path } => {
            let app = app.clone();
            app.sessions.clone().spawn(async move {
                let result = forward::forward(&app, &performer, action, path, request).await;
                if result.is_err() || reference.is_some() || action.reply_schema.is_some() {
                    performer.reply(reference.as_deref(), action.name, result);
                }
            });
        }
    }
}
