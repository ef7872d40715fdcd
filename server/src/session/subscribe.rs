//! `subscribe`: parse the identifier, read its params into their canonical form and
//! validate them, authorize (in a spawned task, since ownership may ask the backend),
//! compute the streams, then — back in the loop — queue `confirm_subscription`, register
//! the streams and send the `on_subscribe` steps ([`super::on_subscribe`]).

use std::sync::Arc;

use serde_json::Value;

use super::on_subscribe::{self, Subscribed};
use super::{Internal, Session, Subscription};
use crate::channels::ChannelDescriptor;
use crate::history::ReplayRequest;
use crate::hub::Outbox;
use crate::protocol::command::HistoryRequest;
use crate::protocol::{frame, identifier, Dialect};
use crate::resolver::Scoped;
use crate::validation;

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
    // Canonical before anything reads them: validation, authorization, stream keys, the
    // backend. The identifier itself stays as the client wrote it.
    let canonical = validation::params::canonicalize(&channel.params, parsed.params);
    if !canonical.ignored.is_empty() {
        tracing::debug!(session = s.id.0, channel = channel.name, ignored = %canonical.ignored_for_log(), "undeclared params ignored");
    }
    if let Err(v) = validation::validate(channel.params_schema, &canonical.params) {
        let detail = v.iter().map(|v| format!("{} {}", if v.path.is_empty() { "/" } else { &v.path }, v.message)).collect::<Vec<_>>().join("; ");
        return reject(s, &raw, "invalid_params", &detail);
    }
    let identifier: Arc<str> = Arc::from(raw);
    s.pending.insert(identifier.clone());
    let app = s.app.clone();
    let claims = s.principal.claims.clone();
    let claims_json = s.claims_json.clone();
    let tx = s.internal.clone();
    let params = canonical.params;
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
    // A channel that fetches on subscribe listens through a hold until its status is queued.
    let hold = on_subscribe::hold(s, o.channel);
    let target = hold.as_ref().map_or_else(|| s.outbox.clone(), |h| h.outbox.clone());
    let history = go_live_to(s, &o.identifier, &streams, request, Some(&target));
    drop(target);
    tracing::debug!(session = s.id.0, channel = o.channel.name, streams = ?streams, "subscribed");
    if let Some(confirmed) = history {
        s.send(frame::history(&o.identifier, confirmed));
    }
    on_subscribe::send(s, Subscribed { identifier: &o.identifier, channel: o.channel, params: &o.params, streams: &streams }, hold);
    let identifier = o.identifier.clone();
    s.subs.insert(o.identifier, Subscription { counted: crate::metrics::ActiveSubscription::new(crate::metrics::ChannelLabel::of(o.channel)), channel: o.channel, identifier, params: o.params, streams, live: true, since: tokio::time::Instant::now() });
}

/// Registers a subscription's streams in the hub, after replaying what the client missed
/// when it asks. Replay and registration happen while the history holds every stream, so
/// nothing is lost or sent twice in between; a gap anywhere means no replay at all.
/// Returns whether the history was confirmed, when it was asked for.
pub(crate) fn go_live(s: &Session, identifier: &Arc<str>, streams: &[String], request: Option<&HistoryRequest>, register: bool) -> Option<bool> {
    go_live_to(s, identifier, streams, request, register.then_some(&s.outbox))
}

/// [`go_live`], registering the streams with `register` (the connection's outbox, or the
/// hold of a subscription whose status is being fetched), or not at all.
fn go_live_to(s: &Session, identifier: &Arc<str>, streams: &[String], request: Option<&HistoryRequest>, register: Option<&Outbox>) -> Option<bool> {
    let register_all = || {
        if let Some(outbox) = register {
            let sub = crate::hub::Subscriber { session: s.id, outbox: outbox.clone(), dialect: s.dialect };
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
