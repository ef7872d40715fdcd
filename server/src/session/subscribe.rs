//! `subscribe`: parse the identifier, validate the params, authorize (in a spawned task,
//! since ownership may ask the backend), compute the streams, then — back in the loop —
//! queue `confirm_subscription`, register the streams and send any on-subscribe messages.

use std::sync::Arc;

use serde_json::Value;

use super::{Internal, Session, Subscription};
use crate::channels::ChannelDescriptor;
use crate::codegen_support::OnSubscribeDescriptor;
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
    history: Option<HistoryRequest>,
    result: Result<Vec<String>, &'static str>,
}

fn reject(s: &Session, identifier: &str, reason: &'static str, detail: &str) {
    tracing::info!(session = s.id.0, identifier, reason, detail, "subscription rejected");
    crate::metrics::subscription_rejected(crate::metrics::ChannelLabel::of_identifier(identifier), reason);
    s.send(frame::reject(identifier, reason));
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
    s.app.sessions.spawn(async move {
        let scoped = Scoped { inner: &app.ownership, principal: &claims_json, params: &params };
        let result = match (channel.authorize)(&params, &claims, &scoped).await {
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
        let _ = tx.send(Internal::Subscribed(SubscribeOutcome { identifier, channel, params, history, result }));
    });
}

/// Applies an authorization outcome, unless the client unsubscribed meanwhile.
pub(crate) fn complete(s: &mut Session, o: SubscribeOutcome) {
    if !s.pending.remove(&o.identifier) {
        return;
    }
    let streams = match o.result {
        Ok(streams) => streams,
        Err(reason) => return reject(s, &o.identifier, reason, o.channel.name),
    };
    // Queue the confirmation, then (replay and) register, with no await in between: the
    // writer runs after this returns, so the client never sees the confirmation before the
    // streams are live, and every broadcast to them is queued after it.
    s.send(frame::confirm(&o.identifier));
    let request = if s.dialect == Dialect::Ext { o.history.as_ref() } else { None };
    let history = go_live(s, &o.identifier, &streams, request, true);
    tracing::debug!(session = s.id.0, channel = o.channel.name, streams = ?streams, "subscribed");
    if let Some(confirmed) = history {
        s.send(frame::history(&o.identifier, confirmed));
    }
    for msg in o.channel.on_subscribe {
        send_on_subscribe(s, &o.identifier, o.channel, msg, &o.params);
    }
    let identifier = o.identifier.clone();
    s.subs.insert(o.identifier, Subscription { counted: crate::metrics::ActiveSubscription::new(crate::metrics::ChannelLabel::of(o.channel)), channel: o.channel, identifier, params: o.params, streams, live: true, since: tokio::time::Instant::now() });
}

/// Registers a subscription's streams in the hub, after replaying what the client missed
/// when it asks. Replay and registration happen while the history holds every stream, so
/// nothing is lost or sent twice in between; a gap anywhere means no replay at all.
/// Returns whether the history was confirmed, when it was asked for.
pub(crate) fn go_live(s: &Session, identifier: &Arc<str>, streams: &[String], request: Option<&HistoryRequest>, register: bool) -> Option<bool> {
    let sub = crate::hub::Subscriber { session: s.id, outbox: s.outbox.clone(), dialect: s.dialect };
    let register_all = || {
        if register {
            for stream in streams {
                s.app.hub.subscribe(stream, identifier, sub.clone());
            }
        }
    };
    let Some(req) = request else {
        register_all();
        return None;
    };
    // Positions of streams this subscription does not listen to are ignored: a client can
    // only read history it is authorized for.
    let positions = req.streams.iter().filter(|(k, _)| streams.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect();
    let replay = ReplayRequest { since: req.since.map(|t| t.max(0) as u64), positions };
    let now = crate::auth::unix_now().max(0) as u64;
    let mut confirmed = false;
    s.app.history.replay(streams, &replay, now, &mut |result| {
        match result {
            Ok(replays) => {
                for r in &replays {
                    for e in &r.entries {
                        s.send(frame::data_at(identifier, &e.message, &r.stream, &r.epoch, e.offset));
                    }
                }
                confirmed = true;
            }
            Err(gap) => tracing::info!(session = s.id.0, identifier = &**identifier, %gap, "history rejected"),
        }
        register_all();
    });
    Some(confirmed)
}

/// Answers a `history` command on a subscription: a restored one goes live here (replay,
/// then registration); a live one only gets the replay.
pub(crate) fn history(s: &mut Session, identifier: &Arc<str>, request: &HistoryRequest) {
    if s.dialect != Dialect::Ext {
        return;
    }
    let Some(sub) = s.subs.get(identifier) else { return };
    let register = !sub.live;
    let streams = sub.streams.clone();
    let confirmed = go_live(s, identifier, &streams, Some(request), register).unwrap_or(false);
    s.send(frame::history(identifier, confirmed));
    if let Some(sub) = s.subs.get_mut(identifier) {
        sub.live = true;
    }
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
