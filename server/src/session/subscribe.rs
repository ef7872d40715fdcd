//! `subscribe`: parse the identifier, validate the params, authorize (in a spawned task,
//! since ownership may ask the backend), compute the streams and let the engine prepare
//! them (the Redis engine subscribes the node and reads the replay), then — back in the
//! loop — queue `confirm_subscription`, join the streams (replay, then register) and send
//! any on-subscribe messages.
//!
//! A restored subscription (`?sid=`) joins later: when the client sends `history`, or
//! after a grace period without it. With the embedded engine a join needs no task; with
//! the Redis engine its preparation runs in one and reports back through `Internal`.

use std::sync::Arc;

use serde_json::Value;

use super::{Internal, Session, Subscription};
use crate::channels::ChannelDescriptor;
use crate::codegen_support::OnSubscribeDescriptor;
use crate::engine::{Join, Joining};
use crate::history::ReplayRequest;
use crate::protocol::command::HistoryRequest;
use crate::protocol::{frame, identifier, Dialect};
use crate::resolver::Scoped;
use crate::{broker, validation};

/// The result of authorizing one subscribe.
pub struct SubscribeOutcome {
    identifier: Arc<str>,
    channel: &'static ChannelDescriptor,
    params: Value,
    request: Option<ReplayRequest>,
    result: Result<(Vec<String>, Joining), &'static str>,
}

/// A later join of an existing subscription got ready (`history`, or a restored one going
/// live), or could not.
pub struct JoinOutcome {
    identifier: Arc<str>,
    request: Option<ReplayRequest>,
    result: Result<Joining, crate::engine::EngineError>,
}

fn reject(s: &Session, identifier: &str, reason: &'static str, detail: &str) {
    tracing::info!(session = s.id.0, identifier, reason, detail, "subscription rejected");
    s.send(frame::reject(identifier, reason));
}

/// What to replay, from an ext client's `history`: positions of streams this subscription
/// does not listen to are ignored (a client can only read history it is authorized for).
fn replay_request(streams: &[String], req: &HistoryRequest) -> ReplayRequest {
    let positions = req.streams.iter().filter(|(k, _)| streams.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect();
    ReplayRequest { since: req.since.map(|t| t.max(0) as u64), positions }
}

/// Checks what can be checked at once and spawns the authorization.
pub(crate) fn start(s: &mut Session, raw: String, history: Option<HistoryRequest>) {
    // Clients re-send `subscribe` until confirmed (Rails' guarantor): duplicates are normal.
    if s.subs.contains_key(raw.as_str()) || s.pending.contains(raw.as_str()) {
        return;
    }
    let parsed = match identifier::parse(&raw) {
        Ok(p) => p,
        Err(e) => return reject(s, &raw, "invalid_identifier", &e.to_string()),
    };
    let Some(channel) = crate::channels::find(&parsed.channel) else {
        let name: String = parsed.channel.chars().take(64).collect();
        return reject(s, &raw, "unknown_channel", &name);
    };
    if s.subs.len() + s.pending.len() >= s.app.config.limits.max_subscriptions_per_connection {
        return reject(s, &raw, "too_many_subscriptions", "per-connection limit reached");
    }
    if let Err(v) = validation::validate(channel.params_schema, &parsed.params) {
        let detail = v.iter().map(|v| format!("{} {}", if v.path.is_empty() { "/" } else { &v.path }, v.message)).collect::<Vec<_>>().join("; ");
        return reject(s, &raw, "invalid_params", &detail);
    }
    let identifier: Arc<str> = Arc::from(raw);
    s.pending.insert(identifier.clone());
    let app = s.app.clone();
    let claims = s.principal.claims.clone();
    let claims_json = s.claims_json.clone();
    let tx = s.internal.clone();
    let params = parsed.params;
    let history = if s.dialect == Dialect::Ext { history } else { None };
    s.app.sessions.spawn(async move {
        let scoped = Scoped { inner: &app.ownership, principal: &claims_json, params: &params };
        let streams = match (channel.authorize)(&params, &claims, &scoped).await {
            Ok(true) => (channel.stream_keys)(&params, &claims).map_err(|e| {
                tracing::warn!(channel = channel.name, error = %e, "stream key refused");
                "invalid_params"
            }),
            Ok(false) => Err("forbidden"),
            Err(e) => {
                tracing::warn!(channel = channel.name, error = %e, "ownership could not be resolved");
                Err("resolver_unavailable")
            }
        };
        let request = match (&streams, &history) {
            (Ok(streams), Some(h)) => Some(replay_request(streams, h)),
            _ => None,
        };
        let result = match streams {
            Ok(streams) => match app.engine.prepare_join(&streams, request.as_ref(), channel.history).await {
                Ok(joining) => Ok((streams, joining)),
                Err(e) => {
                    tracing::warn!(channel = channel.name, error = %e, "the engine cannot subscribe this node to the streams");
                    Err("unavailable")
                }
            },
            Err(reason) => Err(reason),
        };
        let _ = tx.send(Internal::Subscribed(SubscribeOutcome { identifier, channel, params, request, result }));
    });
}

/// Applies an authorization outcome, unless the client unsubscribed meanwhile.
pub(crate) fn complete(s: &mut Session, o: SubscribeOutcome) {
    if !s.pending.remove(&o.identifier) {
        return;
    }
    let (streams, joining) = match o.result {
        Ok(ready) => ready,
        Err(reason) => return reject(s, &o.identifier, reason, o.channel.name),
    };
    // Queue the confirmation, then (replay and) register, with no await in between: the
    // writer runs after this returns, so the client never sees the confirmation before the
    // streams are live, and every broadcast to them is queued after it.
    s.send(frame::confirm(&o.identifier));
    let join = Join { subscriber: s.subscriber(), identifier: &o.identifier, streams: &streams, request: o.request.as_ref(), register: true };
    let (history, leases) = s.app.engine.join(joining, join);
    tracing::debug!(session = s.id.0, channel = o.channel.name, streams = ?streams, "subscribed");
    if let Some(confirmed) = history {
        s.send(frame::history(&o.identifier, confirmed));
    }
    for msg in o.channel.on_subscribe {
        send_on_subscribe(s, &o.identifier, o.channel, msg, &o.params);
    }
    let identifier = o.identifier.clone();
    s.subs.insert(o.identifier, Subscription { channel: o.channel, identifier, params: o.params, streams, live: true, joining: false, leases, since: tokio::time::Instant::now() });
}

/// Joins an existing subscription: a restored one goes live (replay, then registration);
/// a live one only gets the replay. `request` is what a `history` command asks (answered
/// with `confirm_history` or `reject_history`); none for a restored subscription whose client
/// never asked.
pub(crate) fn join_later(s: &mut Session, identifier: &Arc<str>, request: Option<ReplayRequest>) {
    if s.app.engine.is_local() {
        return finish_join(s, JoinOutcome { identifier: identifier.clone(), request, result: Ok(Joining::default()) });
    }
    let Some(sub) = s.subs.get_mut(identifier) else { return };
    if !sub.live {
        sub.joining = true;
    }
    let (app, tx, streams, identifier, policy) = (s.app.clone(), s.internal.clone(), sub.streams.clone(), identifier.clone(), sub.channel.history);
    s.app.sessions.spawn(async move {
        let result = app.engine.prepare_join(&streams, request.as_ref(), policy).await;
        let _ = tx.send(Internal::Joined(JoinOutcome { identifier, request, result }));
    });
}

/// Applies a later join, unless the client unsubscribed meanwhile.
pub(crate) fn finish_join(s: &mut Session, o: JoinOutcome) {
    let Some(sub) = s.subs.get_mut(&o.identifier) else { return };
    sub.joining = false;
    let joining = match o.result {
        Ok(joining) => joining,
        Err(e) => {
            // A restored subscription stays waiting and is tried again after the grace.
            tracing::warn!(session = s.id.0, identifier = &*o.identifier, error = %e, "the engine cannot join the streams");
            sub.since = tokio::time::Instant::now();
            if o.request.is_some() {
                s.send(frame::history(&o.identifier, false));
            }
            return;
        }
    };
    let register = !sub.live;
    let streams = sub.streams.clone();
    let join = Join { subscriber: s.subscriber(), identifier: &o.identifier, streams: &streams, request: o.request.as_ref(), register };
    let (confirmed, leases) = s.app.engine.join(joining, join);
    if let Some(confirmed) = confirmed {
        s.send(frame::history(&o.identifier, confirmed));
    }
    if let Some(sub) = s.subs.get_mut(&o.identifier) {
        if register {
            sub.leases = leases;
        }
        sub.live = true;
    }
}

/// Answers a `history` command on a subscription (see [`join_later`]).
pub(crate) fn history(s: &mut Session, identifier: &Arc<str>, request: &HistoryRequest) {
    if s.dialect != Dialect::Ext {
        return;
    }
    let Some(sub) = s.subs.get(identifier) else { return };
    let request = replay_request(&sub.streams, request);
    join_later(s, identifier, Some(request));
}

fn send_on_subscribe(s: &Session, identifier: &str, channel: &ChannelDescriptor, msg: &OnSubscribeDescriptor, params: &Value) {
    let Some(event) = channel.event(msg.event) else { return };
    let template: Value = serde_json::from_str(msg.payload).unwrap_or(Value::Null);
    let payload = fill(&template, params, &s.claims_json);
    if let Err(v) = validation::validate(event.payload_schema, &payload) {
        tracing::error!(channel = channel.name, event = msg.event, violations = ?v, "on-subscribe payload does not match its schema; not sent");
        return;
    }
    let message = broker::envelope::encode(event, &payload);
    s.send(frame::data(identifier, &message));
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
