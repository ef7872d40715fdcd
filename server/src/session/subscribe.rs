//! `subscribe`: parse the identifier, read its params into their canonical form and
//! validate them, authorize (in a spawned task, since ownership may ask the backend; in
//! the loop itself when the embedded engine's registry answers),
//! compute the streams and let the engine prepare them (the Redis engine subscribes the
//! node and reads the replay), then — back in the loop — queue `confirm_subscription`,
//! join the streams (replay, then register) and send the `on_subscribe` steps
//! ([`super::on_subscribe`]).
//!
//! A restored subscription (`?sid=`) joins later: when the client sends `history`, or
//! after a grace period without it. With the embedded engine a join needs no task; with
//! the Redis engine its preparation runs in one and reports back through `Internal`.

use std::sync::Arc;

use futures_util::FutureExt;
use serde_json::Value;

use super::on_subscribe::{self, Subscribed};
use super::{Internal, Session, Subscription};
use crate::channels::{ChannelDescriptor, Claims};
use crate::codegen_support::ResolveError;
use crate::engine::{Join, Joining};
use crate::history::ReplayRequest;
use crate::metrics::{self, ChannelLabel, ReplayOutcome, SentKind, SentLabel};
use crate::protocol::command::HistoryRequest;
use crate::protocol::{frame, identifier, Dialect};
use crate::resolver::Scoped;
use crate::transport::Frame;
use crate::validation;

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
    let channel = ChannelLabel::of_identifier(identifier);
    metrics::subscription_rejected(channel, reason);
    s.send(SentLabel::new(channel, SentKind::Reject), frame::reject(identifier, reason));
}

/// The answer to a history request: `confirm_history` when the whole gap was replayed.
fn history_answer(channel: &ChannelDescriptor, identifier: &str, confirmed: bool) -> Frame {
    metrics::history_replay(if confirmed { ReplayOutcome::Confirmed } else { ReplayOutcome::Rejected });
    Frame::text(&frame::history(identifier, confirmed)).labelled(SentLabel::new(ChannelLabel::of(channel), SentKind::History))
}

/// What to replay, from an ext client's `history`: positions of streams this subscription
/// does not listen to are ignored (a client can only read history it is authorized for).
fn replay_request(streams: &[String], req: &HistoryRequest) -> ReplayRequest {
    let positions = req.streams.iter().filter(|(k, _)| streams.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect();
    ReplayRequest { since: req.since.map(|t| t.max(0) as u64), positions }
}

/// Checks what can be checked at once and spawns the authorization.
///
/// A connection holds a subscription once, whatever its spelling: identifiers that read
/// into the same [canonical](identifier::canonical) form (whitespace, key order, integer
/// ids, ignored keys) name one subscription. The first spelling is its name: confirmed,
/// and echoed in every frame. A second spelling is answered `reject_subscription` with
/// `duplicate_subscription`, so the client knows that name is not subscribed, and never
/// costs a second delivery of each event nor a place under the subscription limit. The
/// same spelling again is ignored, as before.
pub(crate) fn start(s: &mut Session, raw: String, history: Option<HistoryRequest>) {
    // Clients re-send `subscribe` until confirmed (Rails' guarantor): duplicates are normal.
    if s.subs.contains_key(raw.as_str()) || s.pending.contains_key(raw.as_str()) {
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
    // Canonical before anything reads them: validation, authorization, stream keys, the
    // backend. The identifier itself stays as the client wrote it.
    let canonical = validation::params::canonicalize(&channel.params, parsed.params);
    let key = identifier::canonical(channel.name, &canonical.params);
    let held = s.subs.values().find(|sub| identifier::canonical(sub.channel.name, &sub.params) == key).map(|sub| &sub.identifier);
    if let Some(first) = held.or_else(|| s.pending.iter().find(|(_, k)| **k == key).map(|(id, _)| id)) {
        let first: String = first.chars().take(256).collect();
        return reject(s, &raw, "duplicate_subscription", &format!("already subscribed as {first}"));
    }
    if s.subs.len() + s.pending.len() >= s.app.config.limits.max_subscriptions_per_connection {
        return reject(s, &raw, "too_many_subscriptions", "per-connection limit reached");
    }
    if !canonical.ignored.is_empty() {
        tracing::debug!(session = s.id.0, channel = channel.name, ignored = %canonical.ignored_for_log(), "undeclared params ignored");
    }
    if let Err(v) = validation::validate(channel.params_schema, &canonical.params) {
        let detail = v.iter().map(|v| format!("{} {}", if v.path.is_empty() { "/" } else { &v.path }, v.message)).collect::<Vec<_>>().join("; ");
        return reject(s, &raw, "invalid_params", &detail);
    }
    let identifier: Arc<str> = Arc::from(raw);
    s.pending.insert(identifier.clone(), key);
    let params = canonical.params;
    let history = if s.dialect == Dialect::Ext { history } else { None };
    if s.app.engine.is_local() && s.app.registry().is_some() {
        // The embedded engine and its registry answer from memory, so the authorization is
        // ready on its first poll: the confirm goes out in this turn, with no task to wake.
        let principal = s.claims_json();
        let scoped = Scoped { inner: &s.app.ownership, principal: &principal, params: &params };
        let ready = (channel.authorize)(&params, &s.principal.claims, &scoped).now_or_never();
        if let Some(authorized) = ready {
            let streams = streams_of(channel, &params, &s.principal.claims, authorized);
            let request = match (&streams, &history) {
                (Ok(streams), Some(h)) => Some(replay_request(streams, h)),
                _ => None,
            };
            let result = streams.map(|streams| (streams, Joining::default()));
            return complete(s, SubscribeOutcome { identifier, channel, params, request, result });
        }
    }
    let app = s.app.clone();
    let claims = s.principal.claims.clone();
    let claims_json = s.claims_json();
    let tx = s.internal.clone();
    s.app.sessions.spawn(async move {
        let scoped = Scoped { inner: &app.ownership, principal: &claims_json, params: &params };
        let authorized = (channel.authorize)(&params, &claims, &scoped).await;
        let streams = streams_of(channel, &params, &claims, authorized);
        let request = match (&streams, &history) {
            (Ok(streams), Some(h)) => Some(replay_request(streams, h)),
            _ => None,
        };
        let result = match streams {
            // A subscribe waiting for Redis gives up when the node drains: its session is
            // told to reconnect elsewhere, and the drain need not wait for it.
            Ok(streams) => match tokio::select! {
                joined = app.engine.prepare_join(&streams, request.as_ref(), channel.history) => joined,
                () = app.shutdown.cancelled() => Err(crate::engine::EngineError::Unreachable("the node is draining".into())),
            } {
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

/// The subscription's streams when `authorized` allows it, or the reason it is rejected.
fn streams_of(channel: &ChannelDescriptor, params: &Value, claims: &Claims, authorized: Result<bool, ResolveError>) -> Result<Vec<String>, &'static str> {
    match authorized {
        Ok(true) => (channel.stream_keys)(params, claims)
            .map(|mut streams| {
                // Kept for the subscription's whole life: no spare capacity.
                streams.iter_mut().for_each(String::shrink_to_fit);
                streams.shrink_to_fit();
                streams
            })
            .map_err(|e| {
                tracing::warn!(channel = channel.name, error = %e, "stream key refused");
                "invalid_params"
            }),
        Ok(false) => Err("forbidden"),
        Err(e) => {
            tracing::warn!(channel = channel.name, error = %e, "ownership could not be resolved");
            Err("resolver_unavailable")
        }
    }
}

/// Applies an authorization outcome, unless the client unsubscribed meanwhile.
pub(crate) fn complete(s: &mut Session, o: SubscribeOutcome) {
    if s.forget_pending(&o.identifier).is_none() {
        return;
    }
    let (streams, joining) = match o.result {
        Ok(ready) => ready,
        Err(reason) => return reject(s, &o.identifier, reason, o.channel.name),
    };
    // Queue the confirmation, then (replay and) register, with no await in between: the
    // writer runs after this returns, so the client never sees the confirmation before the
    // streams are live, and every broadcast to them is queued after it.
    s.send(SentLabel::new(ChannelLabel::of(o.channel), SentKind::Confirm), frame::confirm(&o.identifier));
    // A channel that fetches on subscribe listens through a hold until its status is queued:
    // the replay and `confirm_history` go there too, so they keep their order after it.
    let hold = on_subscribe::hold(s, o.channel);
    let mut subscriber = s.subscriber(o.channel);
    if let Some(h) = &hold {
        subscriber.outbox = h.outbox.clone();
    }
    let target = subscriber.outbox.clone();
    let join = Join { subscriber, identifier: &o.identifier, streams: &streams, request: o.request.as_ref(), register: true };
    let (history, leases) = s.app.engine.join(joining, join);
    tracing::debug!(session = s.id.0, channel = o.channel.name, streams = ?streams, "subscribed");
    if let Some(confirmed) = history {
        let _ = target.push(history_answer(o.channel, &o.identifier, confirmed));
    }
    drop(target);
    on_subscribe::send(s, Subscribed { identifier: &o.identifier, channel: o.channel, params: &o.params, streams: &streams }, hold);
    let identifier = o.identifier.clone();
    let counted = metrics::ActiveSubscription::new(ChannelLabel::of(o.channel));
    if s.subs.is_empty() {
        // Most connections hold one subscription: room for one, not the vector's default four.
        s.subs = litemap::LiteMap::with_capacity(1);
    }
    s.subs.insert(o.identifier, Box::new(Subscription { counted, channel: o.channel, identifier, params: o.params, streams, live: true, joining: false, leases, since: tokio::time::Instant::now() }));
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
                let _ = s.outbox.push_quiet(history_answer(sub.channel, &o.identifier, false));
            }
            return;
        }
    };
    let register = !sub.live;
    let (streams, channel) = (sub.streams.clone(), sub.channel);
    let join = Join { subscriber: s.subscriber(channel), identifier: &o.identifier, streams: &streams, request: o.request.as_ref(), register };
    let (confirmed, leases) = s.app.engine.join(joining, join);
    if let Some(confirmed) = confirmed {
        let _ = s.outbox.push_quiet(history_answer(channel, &o.identifier, confirmed));
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
