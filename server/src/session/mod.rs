//! One WebSocket connection: authentication outcome, then a loop over shutdown, slow-consumer
//! eviction, the connection's clock (ping, token expiry, liveness, a stalled write), results
//! of background work (authorization, forwarded actions), queued frames and client messages.
//!
//! Every frame to the client goes through the connection's [`Outbox`], so the order a
//! client sees is the order frames were queued; each turn writes everything queued in one
//! vectored write. The loop is a hand-written poll ([`turn`]) rather than a `select!`: its
//! long-lived parts (the shutdown signal, one timer for every deadline) are built once, a
//! wake-up costs only what changed, and the socket is read only when it has bytes.
//! Work that may wait on the network (ownership callbacks, forwarded actions) runs in
//! spawned tasks, so the loop never stops reading or writing.
//!
//! Liveness: ActionCable's JSON `ping` is not answered by clients, but a WebSocket ping is
//! (browsers and every client library answer it). When a client has sent nothing for a
//! whole ping interval, a WebSocket ping goes out with the JSON one; a connection that then
//! sends nothing for `timeouts.liveness_timeout_ms` (by default 2 intervals + the write timeout)
//! is closed as `unresponsive`.
//!
//! The end: queued frames (a welcome, confirmations) are written before the `disconnect`
//! frame, within the write timeout, whatever the reason, except for a client too slow to
//! take them.

mod limits;
mod mailbox;
mod on_subscribe;
mod subscribe;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::future::Either;
use litemap::LiteMap;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{Instant, Sleep};

use crate::actions::{self, Performer};
use crate::app::App;
use crate::auth::{AuthError, Principal};
use crate::channels::ChannelDescriptor;
use crate::engine::Leases;
use crate::history::sessions::{self, KeptSession, KeptSubscription};
use crate::hub::outbox::{self, Inbox};
use crate::hub::{Outbox, SessionId, Subscriber};
use crate::metrics::{self, ChannelLabel, CommandLabel, ResumeOutcome, SentKind, SentLabel};
use crate::protocol::command::{self, Command};
use crate::protocol::{frame, Dialect, DisconnectReason, Farewell};
use crate::transport::codec::close_code;
use crate::transport::{Connection, Frame, Goodbye, Inbound, ReadEnd, Violation};
use limits::{CommandRate, ErrorBudget};
use mailbox::Mailbox;

pub use subscribe::SubscribeOutcome;

/// Protocol errors tolerated in [`ERROR_WINDOW`] before the connection is dropped.
const MAX_PROTOCOL_ERRORS: u32 = 10;
const ERROR_WINDOW: Duration = Duration::from_secs(10);
/// A tick later than this is a missed one: the next comes one interval after it.
const TICK_TOLERANCE: Duration = Duration::from_millis(5);

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
    pub counted: metrics::ActiveSubscription,
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
    pub outbox: Outbox,
    pub internal: Mailbox<Internal>,
    /// A sorted vector, not a hash map: a connection holds a few subscriptions at most (the
    /// limit is small), and one entry costs a pointer, not a table's worth of slots. Boxed, as
    /// a vector allocates room for several entries at once and most connections hold one.
    pub subs: LiteMap<Arc<str>, Box<Subscription>>,
    /// Subscribes being authorized, with their [canonical](crate::protocol::identifier::canonical) form.
    /// Emptied back to no allocation once the last one completes.
    pub pending: LiteMap<Arc<str>, String>,
    errors: ErrorBudget,
    commands: CommandRate,
}

impl Session {
    /// Queues a frame, counted as `label` once written; an overflow is handled by the loop
    /// (it watches the inbox). Called from the session's own task, which writes before it
    /// waits, so it wakes nobody.
    pub fn send(&self, label: SentLabel, text: String) {
        let _ = self.outbox.push_quiet(Frame::text(&text).labelled(label));
    }

    /// Takes a subscribe off the pending ones; the map lets go of its allocation when empty.
    pub fn forget_pending(&mut self, identifier: &str) -> Option<String> {
        let key = self.pending.remove(identifier);
        if self.pending.is_empty() {
            self.pending = LiteMap::new();
        }
        key
    }

    /// The principal's claims as JSON, for the resolver and stamps: made when asked, since
    /// kept it would cost every connection its own map.
    pub fn claims_json(&self) -> Value {
        serde_json::to_value(&self.principal.claims).unwrap_or(Value::Null)
    }

    /// This connection as a listener of streams of `channel`.
    pub fn subscriber(&self, channel: &ChannelDescriptor) -> Subscriber {
        Subscriber { session: self.id, outbox: self.outbox.clone(), dialect: self.dialect, channel: ChannelLabel::of(channel) }
    }

    /// Counts a protocol error of `kind` (a fixed name, for metrics); true when the
    /// connection should be dropped.
    fn protocol_error(&mut self, kind: &'static str, what: &dyn std::fmt::Display) -> bool {
        tracing::debug!(session = self.id.0, error = %what, "protocol error");
        metrics::protocol_error(kind);
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
            principal: self.claims_json(),
        }
    }
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// What the client is told at the end (see [`Farewell`]), as the transport writes it.
fn goodbye(reason: DisconnectReason) -> Goodbye {
    // A client too slow to read its queue would not read it now either.
    let flush_queued = reason != DisconnectReason::TooSlow;
    match reason.farewell() {
        Farewell::Disconnect => Goodbye { flush_queued, last: Some(Frame::text(&frame::disconnect(reason)).labelled(SentLabel::connection(SentKind::Disconnect))), close: Some((close_code::NORMAL, reason.as_str())) },
        Farewell::Close { code, text } => Goodbye { flush_queued, last: None, close: Some((code, text)) },
        // Nothing of ours; the client's own close is still answered.
        Farewell::Silent => Goodbye { flush_queued, last: None, close: None },
    }
}

/// Runs a connection to its end.
///
/// The setup is synchronous and the returned future holds only what the loop needs: a
/// future's arguments and what they are moved into would otherwise both live in its state,
/// for the connection's whole life.
///
/// With `socket` (the connection's own, shared), broadcasts write to it directly while the
/// loop sleeps with nothing to write (see [`crate::hub::outbox`]).
pub fn run<IO>(app: Arc<App>, io: IO, socket: Option<Arc<tokio::net::TcpStream>>, hs: Handshake) -> impl Future<Output = ()> + Send
where
    IO: AsyncRead + AsyncWrite + Unpin + Send,
{
    let limits = &app.config.limits;
    let write_timeout = app.config.timeouts.write_timeout;
    let conn = Connection::new(io, limits.max_inbound_message_bytes, limits.read_buffer_bytes);
    match hs.auth {
        Ok(principal) => {
            let (s, inbox, sid) = start(&app, principal, hs.dialect, &hs.request, socket);
            Either::Left(live(s, conn, inbox, sid, hs.restore_sid, write_timeout))
        }
        Err(e) => {
            let reason = e.disconnect_reason();
            tracing::info!(request = %hs.request, reason = reason.as_str(), error = %e, "connection refused");
            Either::Right(finish(conn, goodbye(reason), write_timeout))
        }
    }
}

/// A connection refused after its upgrade, before any session exists (a foreign `Origin`,
/// a connection cap): the client reads why in a `disconnect` frame, then the socket is
/// closed. Nothing the client sends is read as a command, and no state is created.
pub fn refuse<IO>(app: &App, io: IO, reason: DisconnectReason, request: &str) -> impl Future<Output = ()> + Send
where
    IO: AsyncRead + AsyncWrite + Unpin + Send,
{
    let limits = &app.config.limits;
    tracing::info!(request, reason = reason.as_str(), "connection refused");
    let conn = Connection::new(io, limits.max_inbound_message_bytes, limits.read_buffer_bytes);
    finish(conn, goodbye(reason), app.config.timeouts.write_timeout)
}

/// A new session for an authenticated principal, and its sid (ext protocol).
fn start(app: &Arc<App>, principal: Principal, dialect: Dialect, request: &str, socket: Option<Arc<tokio::net::TcpStream>>) -> (Session, Inbox, Option<String>) {
    let limits = &app.config.limits;
    let id = SessionId::next();
    crate::logging::record_connection(id.0);
    let (outbox, inbox) = outbox::channel(limits.max_outbound_queue_bytes, socket);
    tracing::info!(session = id.0, request = %request, sub = %principal.claims.sub, account = %principal.claims.account_id, "connected");
    let s = Session {
        app: app.clone(),
        id,
        dialect,
        principal,
        outbox,
        internal: Mailbox::new(),
        subs: LiteMap::new(),
        pending: LiteMap::new(),
        errors: ErrorBudget::new(MAX_PROTOCOL_ERRORS, ERROR_WINDOW),
        commands: CommandRate::new(limits.commands_per_second, limits.command_burst),
    };
    app.connections.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let sid = (s.dialect == Dialect::Ext).then(sessions::new_sid);
    (s, inbox, sid)
}

/// The session's welcome (after resuming `restore_sid`, when asked), its loop, then its end.
///
/// A function returning a block rather than an `async fn`: an `async fn` moves its arguments
/// from their slots into locals, and its future keeps room for both.
#[allow(clippy::manual_async_fn)] // on purpose: see above
fn live<IO>(mut s: Session, mut conn: Connection<IO>, inbox: Inbox, sid: Option<String>, restore_sid: Option<String>, write_timeout: Duration) -> impl Future<Output = ()> + Send
where
    IO: AsyncRead + AsyncWrite + Unpin + Send,
{
    async move {
        // Restoring may wait on the engine (Redis). Boxed, its state takes no room in the
        // future every session keeps for its whole life.
        let restored = match (&sid, restore_sid) {
            (Some(_), Some(old)) => Box::pin(restore(&mut s, &old)).await,
            _ => None,
        };
        s.send(SentLabel::connection(SentKind::Welcome), frame::welcome(sid.as_deref(), restored.as_deref()));
        let app = s.app.clone();
        let expires_in = s.principal.expires_at.saturating_sub(unix_now() as i64).max(0) as u64;
        let now = Instant::now();
        let mut clock = Clock::new(now, app.config.timeouts.ping_interval, now + Duration::from_secs(expires_in), write_timeout, app.config.timeouts.liveness());
        let shutdown = app.shutdown.cancelled();
        let timer = tokio::time::sleep_until(clock.next(&conn));
        tokio::pin!(shutdown, timer);
        let mut parts = Parts { inbox: &inbox, shutdown: shutdown.as_mut(), timer: timer.as_mut(), clock: &mut clock, first: true };
        let reason = std::future::poll_fn(|cx| turn(cx, &mut s, &mut conn, &mut parts)).await;

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
            // Boxed: it runs once, and inline its state (a Redis call) would take room in
            // every live session's future.
            Box::pin(app.engine.keep_session(sid, kept)).await;
        }
        app.connections.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        tracing::info!(session = s.id.0, reason = reason.as_str(), subscriptions = s.subs.len(), "disconnected");
        let bye = goodbye(reason);
        if let Some((mut queued, head_written)) = inbox.take() {
            if !bye.flush_queued {
                // Only a frame already partly on the socket is completed.
                queued.truncate(usize::from(head_written > 0));
            }
            conn.queue(queued, head_written);
        }
        drop(inbox);
        drop(s);
        finish(conn, bye, write_timeout).await;
    }
}

/// The connection's end, boxed: it runs once, and built inline its state would take room
/// in every live session's future.
fn finish<IO>(conn: Connection<IO>, bye: Goodbye, budget: Duration) -> Pin<Box<impl Future<Output = ()> + Send>>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send,
{
    Box::pin(async move {
        conn.finish(bye, budget).await;
    })
}

/// The loop's long-lived parts, built once.
struct Parts<'a, S> {
    /// Also says when the engine evicted the connection ([`Inbox::evicted`]).
    inbox: &'a Inbox,
    shutdown: Pin<&'a mut S>,
    /// One timer for every deadline of the [`Clock`].
    timer: Pin<&'a mut Sleep>,
    clock: &'a mut Clock,
    /// Nothing registered yet.
    first: bool,
}

/// One turn of the connection's loop: everything that is ready, until nothing is; `Ready`
/// with the reason when the connection ends.
fn turn<IO, S>(cx: &mut Context<'_>, s: &mut Session, conn: &mut Connection<IO>, p: &mut Parts<'_, S>) -> Poll<DisconnectReason>
where
    IO: AsyncRead + AsyncWrite + Unpin,
    S: Future<Output = ()>,
{
    // Polling the shutdown future takes a lock every time; once it holds the task's waker
    // (which does not change), the token's flag says the same for a load.
    // A push takes the waker it wakes, so it is handed over again on every turn.
    p.inbox.register(cx.waker());
    s.internal.register(cx.waker());
    // The socket is the loop's again (broadcasts may have written to it while it slept),
    // before anything below writes to it.
    if let Some((queued, head_written)) = p.inbox.take() {
        conn.queue(queued, head_written);
    }
    if (p.first && p.shutdown.as_mut().poll(cx).is_ready()) || s.app.shutdown.is_cancelled() {
        return Poll::Ready(DisconnectReason::ServerRestart);
    }
    p.first = false;
    loop {
        if p.inbox.overflowed() {
            return Poll::Ready(DisconnectReason::TooSlow);
        }
        if p.inbox.evicted() {
            return Poll::Ready(DisconnectReason::InsufficientState);
        }
        let due = p.clock.next(conn);
        if p.timer.deadline() != due {
            p.timer.as_mut().reset(due);
        }
        if p.timer.as_mut().poll(cx).is_ready() {
            if let Some(end) = p.clock.fire(Instant::now(), s, conn) {
                return Poll::Ready(end);
            }
            // Now and then, make sure the shutdown future holds the current waker.
            if p.shutdown.as_mut().poll(cx).is_ready() {
                return Poll::Ready(DisconnectReason::ServerRestart);
            }
            continue;
        }
        for msg in s.internal.take() {
            match msg {
                Internal::Subscribed(outcome) => subscribe::complete(s, outcome),
                Internal::Joined(outcome) => subscribe::finish_join(s, outcome),
            }
        }

        // Write everything queued, in one go.
        if conn.is_idle() {
            if let Some((queued, head_written)) = p.inbox.take() {
                conn.queue(queued, head_written);
            }
        }
        let sent = conn.poll_send(cx);
        p.inbox.written(conn.take_sent());
        if let Poll::Ready(Err(_)) = sent {
            return Poll::Ready(DisconnectReason::WriteFailed);
        }

        // Read what the client sent.
        let mut end = None;
        let mut answered = false;
        let read = conn.poll_receive(cx, &mut |event| {
            answered = true;
            let stop = match event {
                Inbound::Text(text) => handle_text(s, text),
                Inbound::Binary(_) => {
                    metrics::message_received(CommandLabel::Invalid);
                    s.protocol_error("binary_frame", &"binary frame").then_some(DisconnectReason::InvalidRequest)
                }
                Inbound::Ping(_) | Inbound::Pong | Inbound::Close(_) => None,
            };
            match stop {
                Some(reason) => {
                    end = Some(reason);
                    crate::transport::codec::Flow::Stop
                }
                None => crate::transport::codec::Flow::Continue,
            }
        });
        if let Some(reason) = end {
            return Poll::Ready(reason);
        }
        match read {
            Poll::Ready(ReadEnd::Violation(v)) => {
                metrics::protocol_error(violation_kind(v));
                return Poll::Ready(violation_reason(v));
            }
            Poll::Ready(_) => return Poll::Ready(DisconnectReason::ClientClosed),
            Poll::Pending => {}
        }
        // What the messages queued (answers, pongs) goes out before the task waits; so
        // does a write stall, which the timer must watch.
        if answered || p.clock.next(conn) != p.timer.deadline() {
            continue;
        }
        // Nothing left to write: broadcasts may write to the socket until the next turn.
        if conn.is_idle() && !p.inbox.park() {
            continue;
        }
        return Poll::Pending;
    }
}

/// A transport violation as a `cableway_protocol_errors_total` kind.
fn violation_kind(v: Violation) -> &'static str {
    match v {
        Violation::TooBig => "message_too_big",
        Violation::InvalidUtf8 => "invalid_utf8",
        Violation::Protocol => "framing",
    }
}

fn violation_reason(v: Violation) -> DisconnectReason {
    match v {
        Violation::TooBig => DisconnectReason::MessageTooBig,
        Violation::InvalidUtf8 => DisconnectReason::InvalidUtf8,
        Violation::Protocol => DisconnectReason::ProtocolViolation,
    }
}

/// Every deadline of a connection, behind one timer.
#[derive(Debug)]
struct Clock {
    every: Duration,
    next_ping: Instant,
    expiry: Instant,
    write_timeout: Duration,
    /// How long a client may stay silent after a WebSocket ping.
    liveness: Duration,
    /// A WebSocket ping went out at this time, with nothing heard from the client since.
    unanswered: Option<Instant>,
    /// Something arrived from the client since the last ping tick.
    heard_since_tick: bool,
}

impl Clock {
    fn new(now: Instant, every: Duration, expiry: Instant, write_timeout: Duration, liveness: Duration) -> Self {
        Clock { every, next_ping: now + every, expiry, write_timeout, liveness, unanswered: None, heard_since_tick: true }
    }

    /// The earliest deadline.
    fn next<IO>(&self, conn: &Connection<IO>) -> Instant {
        let mut at = self.next_ping.min(self.expiry);
        if let Some(sent) = self.unanswered {
            at = at.min(sent + self.liveness);
        }
        if let Some(since) = conn.stalled_since() {
            at = at.min(since + self.write_timeout);
        }
        at
    }

    /// Handles what is due at `now`; `Some` ends the connection.
    fn fire<IO: AsyncRead + AsyncWrite + Unpin>(&mut self, now: Instant, s: &mut Session, conn: &mut Connection<IO>) -> Option<DisconnectReason> {
        if now >= self.expiry {
            return Some(DisconnectReason::TokenExpired);
        }
        if conn.stalled_since().is_some_and(|since| now >= since + self.write_timeout) {
            return Some(DisconnectReason::WriteFailed);
        }
        if conn.take_heard() {
            self.heard_since_tick = true;
            self.unanswered = None;
        }
        if self.unanswered.is_some_and(|sent| now >= sent + self.liveness) {
            return Some(DisconnectReason::Unresponsive);
        }
        if now >= self.next_ping {
            s.send(SentLabel::connection(SentKind::Ping), frame::ping(unix_now()));
            if !self.heard_since_tick && self.unanswered.is_none() {
                // Written with the JSON ping, in the same write.
                let _ = s.outbox.push_quiet(Frame::ping(b""));
                self.unanswered = Some(now);
            }
            self.heard_since_tick = false;
            go_live_unclaimed(s);
            self.next_ping = if now > self.next_ping + TICK_TOLERANCE { now + self.every } else { self.next_ping + self.every };
        }
        None
    }
}

/// How long a restored subscription waits for the client's `history` before it goes live
/// without a replay.
const RESTORE_GRACE: Duration = Duration::from_secs(5);

/// Resumes a kept session: its subscriptions come back without re-authorization and wait
/// for the client's `history` to replay and go live. Returns the restored identifiers.
async fn restore(s: &mut Session, sid: &str) -> Option<Vec<String>> {
    let kept = s.app.engine.take_session(sid, &s.principal.claims.sub, &s.principal.claims.account_id, crate::auth::unix_now()).await;
    metrics::session_resume(if kept.is_some() { ResumeOutcome::Restored } else { ResumeOutcome::NotRestored });
    let kept = kept?;
    let mut ids = Vec::with_capacity(kept.subscriptions.len());
    for k in kept.subscriptions {
        ids.push(k.identifier.to_string());
        let sub = Subscription { counted: metrics::ActiveSubscription::new(ChannelLabel::of(k.channel)), channel: k.channel, identifier: k.identifier.clone(), params: k.params, streams: k.streams, live: false, joining: false, leases: Leases::default(), since: Instant::now() };
        s.subs.insert(k.identifier, Box::new(sub));
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

/// A command as a `websocket_messages_received_total` label.
fn command_label(cmd: &Command) -> CommandLabel {
    match cmd {
        Command::Subscribe { .. } => CommandLabel::Subscribe,
        Command::Unsubscribe { .. } => CommandLabel::Unsubscribe,
        Command::Message { .. } => CommandLabel::Message,
        Command::History { .. } => CommandLabel::History,
        Command::Pong => CommandLabel::Pong,
        Command::Whisper { .. } => CommandLabel::Whisper,
    }
}

/// Handles one text frame; `Some` ends the connection.
fn handle_text(s: &mut Session, text: &str) -> Option<DisconnectReason> {
    let cmd = match command::parse(text) {
        Ok(c) => c,
        Err(e) => {
            metrics::message_received(CommandLabel::Invalid);
            return s.protocol_error(e.kind(), &e).then_some(DisconnectReason::InvalidRequest);
        }
    };
    metrics::message_received(command_label(&cmd));
    if !matches!(cmd, Command::Pong) && !s.commands.admit() {
        metrics::rate_limited();
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
            s.forget_pending(identifier.as_str());
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
mod size {
    /// Every live connection keeps its session's future for its whole life, so its size is
    /// memory per connection: an argument kept twice, or a rarely used await stored inline,
    /// shows here (the future was 2,976 bytes before both were fixed, 1,248 with a token
    /// and a future per connection for evictions, now about 1,120).
    #[tokio::test]
    async fn a_sessions_future_stays_small() {
        let app = std::sync::Arc::new(crate::app::App::new(crate::config::Config::for_tests()).expect("app"));
        let (io, _peer) = tokio::io::duplex(64);
        let hs = super::Handshake { dialect: crate::protocol::Dialect::V1, auth: Err(crate::auth::AuthError::Missing), request: String::new(), restore_sid: None };
        let future = super::run(app, io, None, hs);
        let bytes = std::mem::size_of_val(&future);
        assert!(bytes <= 1280, "the session's future takes {bytes} bytes per connection");
    }
}
