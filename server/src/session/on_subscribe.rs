//! What a subscriber receives right after `confirm_subscription`, before any live event of
//! the subscription: the channel's `on_subscribe` steps, in order. A step is a message the
//! server builds from a template, or a fetch: the backend is asked (`POST {principal,
//! channel, params}`) and what it answers goes to this subscriber only ("sends current
//! status on connect").
//!
//! # Holding live events during a fetch
//! The subscription's streams are registered at once, so nothing published meanwhile is
//! lost, but into a [`Hold`]: a queue of its own instead of the connection's outbox. A task
//! asks the backend while it collects what the hold receives; then it queues, in this
//! order, the answered events (or the channel's `unavailable` message), the steps after
//! the fetch, what the hold collected, and from then on forwards the hold as it fills. Live
//! events of the subscription therefore always come after its status, in publish order.
//! When the hold collects more than the connection's outbox may queue before the backend
//! answers, the fetch counts as failed (the `unavailable` message, then the events), so a
//! slow backend never costs more memory than a slow client. The hold's own queue has no
//! byte limit of its own: it only passes frames on to the connection's outbox, whose limit
//! (and `too_slow`) applies as for any other subscription.
//!
//! An unsubscribe (or the end of the connection) removes the hold from the hub; the task
//! sees its queue close, drops the backend call, and sends nothing.
//!
//! # What the backend may answer
//! `{"events": [{"event": "...", "payload": {...}}, ...]}`: only events the fetch declares,
//! each payload valid against its event's schema and published (by its `publish_to`) to one
//! of this subscription's streams, so a backend bug cannot hand one account's status to
//! another. Anything else, or no answer within the forward timeout, or a status other than
//! 2xx, is a failure: logged, and answered with the declared `unavailable` message.

use std::collections::VecDeque;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Value};

use super::Session;
use crate::app::App;
use crate::backend::{self, BackendError};
use crate::broker;
use crate::channels::ChannelDescriptor;
use crate::codegen_support::{FetchDescriptor, MessageDescriptor, OnSubscribeDescriptor};
use crate::hub::outbox::{self, Inbox};
use crate::hub::{Outbox, Push};
use crate::metrics::{ChannelLabel, SentKind, SentLabel};
use crate::protocol::frame;
use crate::transport::Frame;
use crate::validation::{self, Violation};

/// Most events one fetch may answer.
const MAX_FETCHED_EVENTS: usize = 64;

/// Where a subscription with a fetch is registered until its status is queued.
pub(super) struct Hold {
    /// What the hub pushes into (registered in place of the connection's outbox).
    pub outbox: Outbox,
    inbox: Inbox,
    /// Bytes the hold may collect while the backend is asked.
    limit: usize,
}

/// A hold when the channel fetches on subscribe.
pub(super) fn hold(s: &Session, channel: &ChannelDescriptor) -> Option<Hold> {
    channel.on_subscribe.iter().any(|step| matches!(step, OnSubscribeDescriptor::Fetch(_))).then(|| {
        let (outbox, inbox) = outbox::channel(usize::MAX, None);
        Hold { outbox, inbox, limit: s.app.config.limits.max_outbound_queue_bytes }
    })
}

/// What one subscription's `on_subscribe` steps need.
pub(super) struct Subscribed<'a> {
    /// The identifier, echoed as the client sent it.
    pub identifier: &'a Arc<str>,
    /// The channel.
    pub channel: &'static ChannelDescriptor,
    /// The canonical params.
    pub params: &'a Value,
    /// The subscription's streams.
    pub streams: &'a [String],
}

/// Sends the steps up to a fetch; from the fetch on, a task takes over with `hold`, whose
/// outbox must be the one the streams were registered with (and is dropped here).
pub(super) fn send(s: &Session, sub: Subscribed<'_>, hold: Option<Hold>) {
    let mut steps = sub.channel.on_subscribe.iter();
    while let Some(step) = steps.next() {
        match step {
            OnSubscribeDescriptor::Message(m) => {
                if let Some(f) = message_frame(sub.identifier, sub.channel, m, sub.params, &s.claims_json()) {
                    s.send(SentLabel::new(ChannelLabel::of(sub.channel), SentKind::Data), f);
                }
            }
            OnSubscribeDescriptor::Fetch(fetch) => {
                let Some(Hold { outbox: registered, inbox, limit }) = hold else {
                    tracing::error!(channel = sub.channel.name, "a fetch without a hold; the subscription gets no status");
                    return;
                };
                // Only the hub may keep the hold's sending half, or it would never close.
                drop(registered);
                let task = Fetch {
                    app: s.app.clone(),
                    to: s.outbox.clone(),
                    identifier: sub.identifier.clone(),
                    channel: sub.channel,
                    params: sub.params.clone(),
                    claims: s.claims_json(),
                    streams: sub.streams.to_vec(),
                    fetch,
                    rest: steps.collect(),
                    session: s.id.0,
                };
                s.app.sessions.spawn(task.run(inbox, limit));
                return;
            }
        }
    }
}

/// A fetch in flight, and everything it needs to finish the subscription's steps.
struct Fetch {
    app: Arc<App>,
    /// The connection's outbox.
    to: Outbox,
    identifier: Arc<str>,
    channel: &'static ChannelDescriptor,
    params: Value,
    claims: Value,
    streams: Vec<String>,
    fetch: &'static FetchDescriptor,
    /// The steps after the fetch (messages only: a channel fetches at most once).
    rest: Vec<&'static OnSubscribeDescriptor>,
    session: u64,
}

/// Why the backend's answer is not sent.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error("live events outgrew the hold ({0} bytes) before the backend answered")]
    Outgrown(usize),
    #[error("the answer is not {{\"events\": [{{\"event\", \"payload\"}}, ...]}}: {0}")]
    Shape(String),
    #[error("the answer holds {0} events, more than {MAX_FETCHED_EVENTS}")]
    TooMany(usize),
    #[error("answered event {index} is `{event}`, which the fetch does not declare")]
    Undeclared { index: usize, event: String },
    #[error("answered event {index} (`{event}`) does not match its schema: {violations:?}")]
    Invalid { index: usize, event: &'static str, violations: Vec<Violation> },
    #[error("answered event {index} (`{event}`) is not published to this subscription's streams")]
    Elsewhere { index: usize, event: &'static str },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Answer {
    events: Vec<Answered>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Answered {
    event: String,
    payload: Value,
}

impl Fetch {
    async fn run(self, inbox: Inbox, limit: usize) {
        let body = json!({ "principal": self.claims, "channel": self.channel.name, "params": self.params });
        let call = backend::post(&self.app, self.fetch.path, &body);
        tokio::pin!(call);
        let mut held: VecDeque<Frame> = VecDeque::new();
        let mut held_bytes = 0;
        let answer = loop {
            tokio::select! {
                biased;
                frame = inbox.recv() => match frame {
                    Some(frame) => {
                        held_bytes += frame.len();
                        held.push_back(frame);
                        if held_bytes > limit {
                            break Err(Failure::Outgrown(limit));
                        }
                    }
                    // Unsubscribed, or the connection ended, while the backend was asked.
                    None => return,
                },
                answer = &mut call => break answer.map_err(Failure::from),
            }
        };
        let first = match answer.and_then(|a| self.answered(a)) {
            Ok(frames) => frames,
            Err(failure) => {
                tracing::warn!(session = self.session, channel = self.channel.name, path = self.fetch.path, reason = %failure, "on-subscribe fetch failed; the subscriber is told its status is unavailable");
                message_frame(&self.identifier, self.channel, &self.fetch.unavailable, &self.params, &self.claims).into_iter().collect()
            }
        };
        let rest = self.rest.iter().filter_map(|step| match step {
            OnSubscribeDescriptor::Message(m) => message_frame(&self.identifier, self.channel, m, &self.params, &self.claims),
            OnSubscribeDescriptor::Fetch(_) => None,
        });
        for f in first.into_iter().chain(rest) {
            self.to.push(Frame::text(&f).labelled(SentLabel::new(ChannelLabel::of(self.channel), SentKind::Data)));
        }
        for f in held {
            self.to.push(f);
        }
        // From now on the hold only passes live events through, in order.
        while let Some(f) = inbox.recv().await {
            if self.to.push(f) == Push::Closed {
                return;
            }
        }
    }

    /// The data frames of a valid answer.
    fn answered(&self, answer: Value) -> Result<Vec<String>, Failure> {
        let answer: Answer = serde_json::from_value(answer).map_err(|e| Failure::Shape(e.to_string()))?;
        if answer.events.len() > MAX_FETCHED_EVENTS {
            return Err(Failure::TooMany(answer.events.len()));
        }
        let mut frames = Vec::with_capacity(answer.events.len());
        for (index, a) in answer.events.into_iter().enumerate() {
            let event = self.fetch.events.iter().find(|e| **e == a.event).and_then(|e| self.channel.event(e)).ok_or_else(|| Failure::Undeclared { index, event: a.event.chars().take(64).collect() })?;
            validation::validate(event.payload_schema, &a.payload).map_err(|violations| Failure::Invalid { index, event: event.name, violations })?;
            let reaches = event.publish_to.iter().any(|t| t.target(&a.payload).ok().flatten().is_some_and(|k| self.streams.contains(&k)));
            if !reaches {
                return Err(Failure::Elsewhere { index, event: event.name });
            }
            frames.push(frame::data(&self.identifier, &broker::envelope::encode(event, &a.payload)));
        }
        Ok(frames)
    }
}

/// The data frame of a message step, its placeholders filled; `None` (logged) when the
/// result does not match the event's schema.
fn message_frame(identifier: &str, channel: &ChannelDescriptor, m: &MessageDescriptor, params: &Value, claims: &Value) -> Option<String> {
    let event = channel.event(m.event)?;
    let template: Value = serde_json::from_str(m.payload).unwrap_or(Value::Null);
    let payload = fill(&template, params, claims);
    if let Err(v) = validation::validate(event.payload_schema, &payload) {
        tracing::error!(channel = channel.name, event = m.event, violations = ?v, "on-subscribe payload does not match its schema; not sent");
        return None;
    }
    Some(frame::data(identifier, &broker::envelope::encode(event, &payload)))
}

/// Replaces `{params.x}` / `{claims.x}` in string values; a string that is exactly one
/// placeholder takes the referenced value with its JSON type.
fn fill(template: &Value, params: &Value, claims: &Value) -> Value {
    let lookup = |path: &str| -> Option<Value> {
        let (root, key) = path.split_once('.')?;
        match root {
            "params" => params.get(key).cloned(),
            "claims" => claims.get(key).cloned(),
            _ => None,
        }
    };
    match template {
        Value::String(t) => {
            if let Some(inner) = t.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
                if !inner.contains(['{', '}']) {
                    return lookup(inner).unwrap_or(Value::Null);
                }
            }
            let mut out = String::new();
            let mut rest = t.as_str();
            while let Some(start) = rest.find('{') {
                out.push_str(&rest[..start]);
                match rest[start..].find('}') {
                    Some(end) => {
                        let key = &rest[start + 1..start + end];
                        match lookup(key) {
                            Some(Value::String(v)) => out.push_str(&v),
                            Some(v) => out.push_str(&v.to_string()),
                            None => {}
                        }
                        rest = &rest[start + end + 1..];
                    }
                    None => {
                        out.push_str(&rest[start..]);
                        rest = "";
                    }
                }
            }
            out.push_str(rest);
            Value::String(out)
        }
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), fill(v, params, claims))).collect()),
        Value::Array(a) => Value::Array(a.iter().map(|v| fill(v, params, claims)).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn on_subscribe_templates_keep_types() {
        let params = json!({"account_id": "a1", "n": 3});
        let claims = json!({"sub": "u1"});
        let t = json!({"account_id": "{params.account_id}", "n": "{params.n}", "who": "user {claims.sub} of {params.account_id}"});
        assert_eq!(fill(&t, &params, &claims), json!({"account_id": "a1", "n": 3, "who": "user u1 of a1"}));
    }
}
