//! One WebSocket connection: authentication outcome, then a single `select!` loop over
//! shutdown, slow-consumer eviction, token expiry, the ping timer, queued frames, results
//! of background work (authorization, forwarded actions) and client commands.
//!
//! Every frame to the client goes through the connection's [`Outbox`], so the order a
//! client sees is the order frames were queued; the loop writes bursts with one flush,
//! under the write timeout. Work that may wait on the network (ownership callbacks,
//! forwarded actions) runs in spawned tasks, so the loop never stops reading or writing.

mod limits;
mod on_subscribe;
mod subscribe;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::actions::{self, Performer};
use crate::app::App;
use crate::auth::{AuthError, Principal};
use crate::channels::ChannelDescriptor;
use crate::engine::Leases;
use crate::history::sessions::{self, KeptSession, KeptSubscription};
use crate::hub::outbox::{self, Inbox};
use crate::hub::{Outbox, SessionId, Subscriber};
use crate::protocol::command::{self, Command};
use crate::protocol::{frame, Dialect, DisconnectReason, Farewell};
use limits::{CommandRate, ErrorBudget};

pub use subscribe::SubscribeOutcome;

/// Protocol errors tolerated in [`ERROR_WINDOW`] before the connection is dropped.
const MAX_PROTOCOL_ERRORS: u32 = 10;
const ERROR_WINDOW: Duration = Duration::from_secs(10);
/// Most frames written per flush.
const MAX_BATCH: usize = 256;

/// What the upgrade handler learned before handing over the socket.
pub struct Handshake {
    /// The negotiated dialect.
    pub dialect: Dialect,
    /// The authentication outcome.
    pub auth: Result<Principal, AuthError>,
    /// The request path and query, tokens redacted, for logs.
    pub request: String,
    /// Ext protocol: the session to resume (`?sid=` or `X-AnyCable-Restore-SID`).
    pub restore_sid: Option<String>,
}

/// One active subscription.
pub(crate) struct Subscription {
    pub channel: &'static ChannelDescriptor,
    pub identifier: Arc<str>,
    pub params: Value,
    pub streams: Vec<String>,
    /// Registered in the hub. A restored subscription waits for the client's `history`.
    pub live: bool,
    /// A restored subscription's join is being prepared (in a task).
    pub joining: bool,
    /// Keeps the node subscribed to the streams (the Redis engine) while this lives.
    pub leases: Leases,
    /// When it was added.
    pub since: Instant,
    /// Counts it in `websocket_active_subscriptions` while it lives (held for its `Drop`).
    #[allow(dead_code)]
    pub counted: crate::metrics::ActiveSubscription,
}

/// Messages from background tasks back into the loop.
pub(crate) enum Internal {
    Subscribed(SubscribeOutcome),
    Joined(subscribe::JoinOutcome),
}

/// Per-connection state the loop owns.
pub(crate) struct Session {
    pub app: Arc<App>,
    pub id: SessionId,
    pub dialect: Dialect,
    pub principal: Principal,
    pub claims_json: Value,
    pub outbox: Outbox,
    /// Cancelled when the engine evicts this connection from a stream.
    pub evict: CancellationToken,
    pub internal: mpsc::UnboundedSender<Internal>,
    pub subs: HashMap<Arc<str>, Subscription>,
    pub pending: HashSet<Arc<str>>,
    errors: ErrorBudget,
    commands: CommandRate,
}

impl Session {
    /// Queues a frame; an overflow is handled by the loop (it watches the inbox).
    pub fn send(&self, text: String) {
        let _ = self.outbox.push(Utf8Bytes::from(text));
    }

    /// This connection as a listener of streams.
    pub fn subscriber(&self) -> Subscriber {
        Subscriber { session: self.id, outbox: self.outbox.clone(), dialect: self.dialect, evict: self.evict.clone() }
    }

    /// Counts a protocol error; true when the connection should be dropped.
    fn protocol_error(&mut self, what: &str) -> bool {
        tracing::debug!(session = self.id.0, error = what, "protocol error");
        self.errors.spend()
    }

    /// Who performs an action on `sub`.
    fn performer(&self, sub: &Subscription) -> Performer {
        Performer {
            session: self.id,
            outbox: self.outbox.clone(),
            identifier: sub.identifier.clone(),
            channel: sub.channel,
            params: sub.params.clone(),
            streams: sub.streams.clone(),
            principal: self.claims_json.clone(),
        }
    }
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Runs a connection to its end.
pub async fn run(app: Arc<App>, socket: WebSocket, hs: Handshake) {
    let (mut sink, mut stream) = socket.split();
    let principal = match hs.auth {
        Ok(p) => p,
        Err(e) => {
            let reason = e.disconnect_reason();
            tracing::info!(request = %hs.request, reason = reason.as_str(), error = %e, "connection refused");
            let _ = finish(&mut sink, reason, app.config.timeouts.write_timeout).await;
            return;
        }
    };
    let id = SessionId::next();
    crate::logging::record_connection(id.0);
    let (outbox, mut inbox) = outbox::channel(app.config.limits.max_outbound_queue_bytes);
    let overflow = inbox.watch();
    let (internal, mut internal_rx) = mpsc::unbounded_channel();
    let claims_json = serde_json::to_value(&principal.claims).unwrap_or(Value::Null);
    tracing::info!(session = id.0, request = %hs.request, sub = %principal.claims.sub, account = %principal.claims.account_id, "connected");
    let expires_in = principal.expires_at.saturating_sub(unix_now() as i64).max(0) as u64;
    let mut s = Session {
        app: app.clone(),
        id,
        dialect: hs.dialect,
        principal,
        claims_json,
        outbox,
        evict: CancellationToken::new(),
        internal,
        subs: HashMap::new(),
        pending: HashSet::new(),
        errors: ErrorBudget::new(MAX_PROTOCOL_ERRORS, ERROR_WINDOW),
        commands: CommandRate::new(app.config.limits.commands_per_second, app.config.limits.command_burst),
    };
    app.connections.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let sid = (s.dialect == Dialect::Ext).then(sessions::new_sid);
    let restored = match (&sid, hs.restore_sid.as_deref()) {
        (Some(_), Some(old)) => restore(&mut s, old).await,
        _ => None,
    };
    let evicted = s.evict.clone();
    s.send(frame::welcome(sid.as_deref(), restored.as_deref()));

    let write_timeout = app.config.timeouts.write_timeout;
    let ping_every = app.config.timeouts.ping_interval;
    let mut ping = tokio::time::interval_at(Instant::now() + ping_every, ping_every);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let expiry = tokio::time::sleep(Duration::from_secs(expires_in));
    tokio::pin!(expiry);

    let reason = loop {
        tokio::select! {
            biased;
            _ = app.shutdown.cancelled() => break DisconnectReason::ServerRestart,
            _ = overflow.overflowed() => break DisconnectReason::TooSlow,
            _ = evicted.cancelled() => break DisconnectReason::InsufficientState,
            _ = &mut expiry => break DisconnectReason::TokenExpired,
            Some(first) = inbox.recv() => {
                // A write stalls while the client does not read, which is exactly when its
                // outbox overflows (or the server drains): watch both during the write, or a
                // slow client would end as a write timeout, without its reason.
                tokio::select! {
                    biased;
                    _ = app.shutdown.cancelled() => break DisconnectReason::ServerRestart,
                    _ = overflow.overflowed() => break DisconnectReason::TooSlow,
                    written = write_batch(&mut sink, &mut inbox, first, write_timeout) => if written.is_err() {
                        break DisconnectReason::WriteFailed;
                    },
                }
            }
            _ = ping.tick() => {
                s.send(frame::ping(unix_now()));
                go_live_unclaimed(&mut s);
            }
            Some(msg) = internal_rx.recv() => match msg {
                Internal::Subscribed(outcome) => subscribe::complete(&mut s, outcome),
                Internal::Joined(outcome) => subscribe::finish_join(&mut s, outcome),
            },
            msg = stream.next() => match msg {
                None | Some(Ok(Message::Close(_))) => break DisconnectReason::ClientClosed,
                Some(Ok(Message::Text(text))) => {
                    if let Some(end) = handle_text(&mut s, &text) {
                        break end;
                    }
                }
                Some(Ok(Message::Binary(_))) => {
                    if s.protocol_error("binary frame") {
                        break DisconnectReason::InvalidRequest;
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => break read_error(e),
            },
        }
    };
    for sub in s.subs.values() {
        for stream in &sub.streams {
            app.hub.unsubscribe(stream, &sub.identifier, s.dialect, s.id);
        }
    }
    // A draining node's sessions are worth keeping when they outlive it (in Redis): its
    // clients resume on another node.
    let keep = reason.resumable() || (reason == DisconnectReason::ServerRestart && app.engine.shares_sessions());
    if let (Some(sid), true) = (sid, keep) {
        let subscriptions = s
            .subs
            .values()
            .map(|sub| KeptSubscription { identifier: sub.identifier.clone(), channel: sub.channel, params: sub.params.clone(), streams: sub.streams.clone() })
            .collect();
        let kept = KeptSession { sub: s.principal.claims.sub.clone(), account_id: s.principal.claims.account_id.clone(), expires_at: s.principal.expires_at, subscriptions };
        app.engine.keep_session(sid, kept).await;
    }
    app.connections.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    tracing::info!(session = id.0, reason = reason.as_str(), subscriptions = s.subs.len(), "disconnected");
    let _ = finish(&mut sink, reason, write_timeout).await;
}

/// A message over the size limit ends the connection as [`DisconnectReason::MessageTooBig`];
/// any other read error means the socket is broken. axum boxes tungstenite's error, which
/// says which it was.
fn read_error(e: axum::Error) -> DisconnectReason {
    match e.into_inner().downcast::<tungstenite::Error>() {
        Ok(e) if matches!(*e, tungstenite::Error::Capacity(_)) => DisconnectReason::MessageTooBig,
        Ok(e) => {
            tracing::debug!(error = %e, "read error");
            DisconnectReason::ClientClosed
        }
        Err(e) => {
            tracing::debug!(error = %e, "read error");
            DisconnectReason::ClientClosed
        }
    }
}

async fn write_batch(sink: &mut SplitSink<WebSocket, Message>, inbox: &mut Inbox, first: Utf8Bytes, timeout: Duration) -> Result<(), ()> {
    let write = async {
        sink.feed(Message::Text(first)).await?;
        for _ in 1..MAX_BATCH {
            match inbox.try_recv() {
                Some(f) => sink.feed(Message::Text(f)).await?,
                None => break,
            }
        }
        sink.flush().await
    };
    match tokio::time::timeout(timeout, write).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}

/// Tells the client why (see [`Farewell`]) and closes the socket, under the write timeout.
async fn finish(sink: &mut SplitSink<WebSocket, Message>, reason: DisconnectReason, timeout: Duration) -> Result<(), ()> {
    let work = async {
        match reason.farewell() {
            Farewell::Disconnect => {
                sink.send(Message::Text(frame::disconnect(reason).into())).await?;
                sink.send(Message::Close(Some(CloseFrame { code: 1000, reason: reason.as_str().into() }))).await?;
            }
            Farewell::Close { code, text } => sink.send(Message::Close(Some(CloseFrame { code, reason: text.into() }))).await?,
            Farewell::Silent => {}
        }
        sink.close().await
    };
    tokio::time::timeout(timeout, work).await.map_err(|_| ())?.map_err(|_| ())
}

/// How long a restored subscription waits for the client's `history` before it goes live
/// without a replay.
const RESTORE_GRACE: Duration = Duration::from_secs(5);

/// Resumes a kept session: its subscriptions come back without re-authorization and wait
/// for the client's `history` to replay and go live. Returns the restored identifiers.
async fn restore(s: &mut Session, sid: &str) -> Option<Vec<String>> {
    let kept = s.app.engine.take_session(sid, &s.principal.claims.sub, &s.principal.claims.account_id, crate::auth::unix_now()).await?;
    let mut ids = Vec::with_capacity(kept.subscriptions.len());
    for k in kept.subscriptions {
        ids.push(k.identifier.to_string());
        let sub = Subscription { counted: crate::metrics::ActiveSubscription::new(crate::metrics::ChannelLabel::of(k.channel)), channel: k.channel, identifier: k.identifier.clone(), params: k.params, streams: k.streams, live: false, joining: false, leases: Leases::default(), since: Instant::now() };
        s.subs.insert(k.identifier, sub);
    }
    tracing::info!(session = s.id.0, restored = ids.len(), "session restored");
    Some(ids)
}

/// Restored subscriptions whose client never asked for history go live without a replay.
fn go_live_unclaimed(s: &mut Session) {
    let waiting: Vec<Arc<str>> = s.subs.values().filter(|sub| !sub.live && !sub.joining && sub.since.elapsed() > RESTORE_GRACE).map(|sub| sub.identifier.clone()).collect();
    for id in waiting {
        subscribe::join_later(s, &id, None);
    }
}

/// Handles one text frame; `Some` ends the connection.
fn handle_text(s: &mut Session, text: &str) -> Option<DisconnectReason> {
    let cmd = match command::parse(text) {
        Ok(c) => c,
        Err(e) => {
            return s.protocol_error(&e.to_string()).then_some(DisconnectReason::InvalidRequest);
        }
    };
    if !matches!(cmd, Command::Pong) && !s.commands.admit() {
        if let Command::Message { identifier, data } = cmd {
            if let Some(sub) = s.subs.get(identifier.as_str()) {
                actions::refuse_rate_limited(&s.performer(sub), data);
            }
        }
        tracing::debug!(session = s.id.0, "command dropped by the rate limit");
        return None;
    }
    match cmd {
        Command::Subscribe { identifier, history } => subscribe::start(s, identifier, history),
        Command::Unsubscribe { identifier } => {
            s.pending.remove(identifier.as_str());
            if let Some(sub) = s.subs.remove(identifier.as_str()) {
                if sub.live {
                    for stream in &sub.streams {
                        s.app.hub.unsubscribe(stream, &sub.identifier, s.dialect, s.id);
                    }
                }
            }
        }
        Command::Message { identifier, data } => match s.subs.get(identifier.as_str()) {
            Some(sub) => actions::perform(&s.app, s.performer(sub), data),
            None => tracing::debug!(session = s.id.0, "message for an identifier that is not subscribed"),
        },
        Command::History { identifier, history } => {
            if let Some(sub) = s.subs.get(identifier.as_str()) {
                let id = sub.identifier.clone();
                subscribe::history(s, &id, &history);
            } else {
                tracing::debug!(session = s.id.0, "history for an identifier that is not subscribed");
            }
        }
        Command::Pong => {}
        Command::Whisper { .. } => tracing::debug!(session = s.id.0, "whisper is not declared by any channel; ignored"),
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_errors_are_told_apart_by_type() {
        let too_long = tungstenite::error::CapacityError::MessageTooLong { size: 70_000, max_size: 65_536 };
        assert_eq!(read_error(axum::Error::new(tungstenite::Error::Capacity(too_long))), DisconnectReason::MessageTooBig);
        assert_eq!(read_error(axum::Error::new(tungstenite::Error::ConnectionClosed)), DisconnectReason::ClientClosed);
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert_eq!(read_error(axum::Error::new(tungstenite::Error::Io(reset))), DisconnectReason::ClientClosed);
        assert_eq!(read_error(axum::Error::new(std::fmt::Error)), DisconnectReason::ClientClosed);
    }
}
