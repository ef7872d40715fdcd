//! Ingesting broadcasts that arrive on Redis pub/sub rather than through an API: Rails'
//! ActionCable Redis adapter (`PUBLISH <channel_prefix>:<stream> <message>`) and AnyCable's
//! broadcast channel (`PUBLISH __anycable__ {"stream", "data"}`), with `rails.broadcasts` on.
//!
//! # Exactly once, although every node receives every broadcast
//! Every node listens on a connection of its own, and each broadcast is published (history,
//! offset, fan-out) by exactly one of them:
//!
//! - **The same name on every node.** Redis delivers the messages of one connection's
//!   subscriptions in the order it executed the `PUBLISH`es, the same order for every
//!   subscriber. A node that (re)connects publishes a *marker* on `<prefix>:ingest:markers`
//!   (the lease holder also does every 5 s); every node sees it at the same point of that
//!   order. So "the n-th message on channel C after marker M" names one broadcast on every node
//!   that was connected since M. A node counts from its own marker on, which it publishes
//!   once every subscription of the connection is confirmed (an earlier marker could be
//!   followed by a broadcast it never received); what it receives before names nothing and
//!   is left to the others (a lone node misses what arrives in the one round trip between
//!   its `SUBSCRIBE` and its marker).
//! - **A claim in the publish.** The name is a field of the marker's claims hash; the publish
//!   script sets it with `HSETNX` in the same atomic step as the offset, the history entry and
//!   the fan-out, and publishes nothing when it was set (see [`publisher`](super::publisher)).
//!   A refused broadcast takes the claim too, so that it is counted and logged once.
//! - **A lease for the cost, not for correctness.** The node holding `<prefix>:ingest:lease`
//!   (3 s TTL, renewed every second) ingests at once; the others wait [`STANDBY_DELAY`] and
//!   then ingest only what is still unclaimed (one `HEXISTS` each). Each node works through
//!   its broadcasts in order, and a broadcast is attempted only after the previous one was
//!   published or claimed, so the order Rails published in is kept on every stream.
//!
//! When the lease holder dies, the others still hold everything it had not published, and
//! publish it [`STANDBY_DELAY`] after receiving it. When it drains (SIGTERM) it goes on
//! ingesting while its sessions drain, then stops and tries to release the lease before the
//! process exits (else it expires within 3 s); what it left is published by
//! the others the same way. Nothing is lost either way while another node listens; a
//! broadcast it published and then died is claimed, so it is not published again. What Redis pub/sub delivered to no
//! node (Redis restarting, every node down) is gone, as it is for Rails itself.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use serde::Deserialize;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::calls::Calls;
use super::keys::Keys;
use super::publisher::{Claim, Publisher};
use crate::broker::addressed::{self, Addressed, Reason, Refusal};
use crate::broker::refused;
use crate::config::RailsConfig;
use crate::engine::EngineError;
use crate::metrics::{BroadcastSource, TemplateLabel};

/// How long a node without the lease waits before it ingests what is still unclaimed: how
/// late broadcasts are while the lease holder is gone.
pub const STANDBY_DELAY: Duration = Duration::from_secs(1);
/// The lease's time to live, and how often its holder renews it.
const LEASE_TTL: Duration = Duration::from_secs(3);
const LEASE_RENEW: Duration = Duration::from_secs(1);
/// How often the lease holder publishes a marker, so that claims hashes stay small.
const MARKER_EVERY: Duration = Duration::from_secs(5);
/// How long a claims hash outlives its last claim. Longer than any broadcast waits here.
const CLAIM_TTL: Duration = Duration::from_secs(300);
/// A broadcast still waiting after this long is dropped unattempted: its claim may have
/// expired, so publishing it could publish it twice.
const STALE_AFTER: Duration = Duration::from_secs(120);
/// Broadcasts waiting on one node; past it, new ones are dropped (and counted).
const QUEUE: usize = 10_000;
/// Reconnect backoff of the listening connection.
const BACKOFF_MIN: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_secs(2);

/// Where to listen.
#[derive(Debug, Clone)]
pub struct Sources {
    /// Rails' `channel_prefix`, if it has one.
    pub rails_prefix: Option<String>,
    /// The `PSUBSCRIBE` patterns of Rails' channels.
    pub rails_patterns: Vec<String>,
    /// AnyCable's broadcast channel, if it is listened to.
    pub anycable: Option<String>,
}

impl Sources {
    /// With a prefix every channel under it (so that broadcasts to undeclared streams are seen
    /// and counted); without one, a pattern per distinct literal start of a declared stream
    /// template, none covering another (a message matching two patterns would arrive twice).
    pub fn of(rails: &RailsConfig) -> Sources {
        let rails_patterns = match rails.prefix() {
            Some(prefix) => vec![format!("{prefix}:*")],
            None => {
                let mut kept: Vec<&str> = Vec::new();
                for lit in addressed::leading_literals() {
                    if !kept.iter().any(|k| lit.starts_with(k)) {
                        kept.push(lit);
                    }
                }
                kept.into_iter().map(|l| format!("{l}*")).collect()
            }
        };
        Sources { rails_prefix: rails.prefix().map(str::to_owned), rails_patterns, anycable: rails.anycable().map(str::to_owned) }
    }
}

/// Counters, for `/health`.
#[derive(Debug, Default)]
pub struct IngestStats {
    /// The listening connection is up, its subscriptions confirmed.
    pub connected: AtomicBool,
    /// This node holds the lease.
    pub primary: AtomicBool,
    /// Broadcasts received (with a position).
    pub received: AtomicU64,
    /// Broadcasts received before this node's first marker: left to the others.
    pub unpositioned: AtomicU64,
    /// Broadcasts this node published.
    pub ingested: AtomicU64,
    /// Broadcasts this node refused (and counted and logged).
    pub refused: AtomicU64,
    /// Broadcasts another node had published or refused already.
    pub claimed_elsewhere: AtomicU64,
    /// Publishes that failed and were tried again.
    pub retries: AtomicU64,
    /// Broadcasts dropped: the queue was full, or they waited past the claims' life.
    pub dropped: AtomicU64,
}

impl IngestStats {
    /// As `/health` shows it.
    pub fn to_json(&self) -> serde_json::Value {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        serde_json::json!({
            "connection": if self.connected.load(Ordering::Relaxed) { "up" } else { "down" },
            "role": if self.primary.load(Ordering::Relaxed) { "primary" } else { "standby" },
            "received": get(&self.received),
            "unpositioned": get(&self.unpositioned),
            "ingested": get(&self.ingested),
            "refused": get(&self.refused),
            "claimed_elsewhere": get(&self.claimed_elsewhere),
            "retries": get(&self.retries),
            "dropped": get(&self.dropped),
        })
    }
}

/// What the tasks share.
#[derive(Clone)]
pub struct Ingest {
    /// For the listening connection.
    pub client: redis::Client,
    /// Commands (markers, the lease, claims).
    pub calls: Calls,
    /// Names.
    pub keys: Keys,
    /// Publishes with a claim.
    pub publisher: Publisher,
    /// This node's id (the lease's value).
    pub node: Arc<str>,
    /// Where to listen.
    pub sources: Sources,
    /// Counters.
    pub stats: Arc<IngestStats>,
    /// Stops everything; the lease is then released if the process lives long enough.
    pub shutdown: CancellationToken,
}

/// One broadcast as received, with its name.
struct Received {
    /// The claims hash of the marker it came after.
    claims: String,
    /// `<n>:<channel>`.
    field: String,
    source: BroadcastSource,
    channel: String,
    payload: Vec<u8>,
    at: Instant,
}

impl Ingest {
    /// Starts the listener, the worker and the lease.
    pub fn start(self) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let (role_tx, role_rx) = watch::channel(false);
        tracing::info!(patterns = ?self.sources.rails_patterns, anycable = ?self.sources.anycable, "ingesting Rails and AnyCable broadcasts from Redis");
        tokio::spawn(self.clone().listen(tx));
        tokio::spawn(self.clone().work(rx, role_rx));
        tokio::spawn(self.lease(role_tx));
    }

    /// The listening connection, reconnected with backoff until shutdown.
    async fn listen(self, queue: mpsc::Sender<Received>) {
        let mut backoff = BACKOFF_MIN;
        loop {
            let result = tokio::select! {
                _ = self.shutdown.cancelled() => return,
                r = self.connection(&queue) => r,
            };
            self.stats.connected.store(false, Ordering::Relaxed);
            let (up, why) = match result {
                Ok(()) => (true, "the connection closed".to_owned()),
                Err((up, why)) => (up, why),
            };
            if up {
                backoff = BACKOFF_MIN;
            }
            tracing::warn!(error = %why, retry_in_ms = backoff.as_millis() as u64, "Redis ingest connection lost; other nodes ingest meanwhile");
            tokio::select! {
                _ = self.shutdown.cancelled() => return,
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
    }

    /// One connection: subscribe, publish a marker, then name and queue every broadcast.
    /// `Err((was up, why))` when it failed.
    async fn connection(&self, queue: &mpsc::Sender<Received>) -> Result<(), (bool, String)> {
        let timeout = self.calls.timeout();
        let down = |e: String| (false, e);
        let pubsub = tokio::time::timeout(timeout, self.client.get_async_pubsub()).await.map_err(|_| down("no answer to connect".into()))?.map_err(|e| down(e.to_string()))?;
        let (mut sink, mut messages) = pubsub.split();
        let markers = self.keys.ingest_markers();
        let mut channels = vec![markers.clone()];
        channels.extend(self.sources.anycable.clone());
        let subscribed = async {
            sink.subscribe(&channels).await?;
            if !self.sources.rails_patterns.is_empty() {
                sink.psubscribe(&self.sources.rails_patterns).await?;
            }
            Ok::<(), redis::RedisError>(())
        };
        tokio::time::timeout(timeout, subscribed).await.map_err(|_| down("no answer to SUBSCRIBE".into()))?.map_err(|e| down(e.to_string()))?;
        let mine = self.marker().await.map_err(|e| down(e.to_string()))?;
        self.stats.connected.store(true, Ordering::Relaxed);
        tracing::info!(marker = %mine, "Redis ingest connection up");

        let mut names = Names::new(mine);
        let mut overflowing = false;
        let mut ping = tokio::time::interval(Duration::from_secs(1));
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                msg = messages.next() => {
                    let Some(msg) = msg else { return Err((true, "the connection closed".into())) };
                    let channel = msg.get_channel_name();
                    // A channel matched by a pattern too would arrive twice: only its own counts.
                    let own = channel == markers || self.sources.anycable.as_deref() == Some(channel);
                    if msg.from_pattern() && own {
                        continue;
                    }
                    if channel == markers {
                        names.marker(&String::from_utf8_lossy(msg.get_payload_bytes()));
                        continue;
                    }
                    let Some(source) = self.source_of(channel, msg.from_pattern()) else { continue };
                    let Some((marker, field)) = names.name(channel) else {
                        self.stats.unpositioned.fetch_add(1, Ordering::Relaxed);
                        continue;
                    };
                    self.stats.received.fetch_add(1, Ordering::Relaxed);
                    let item = Received { claims: self.keys.ingest_claims(marker), field, source, channel: channel.to_owned(), payload: msg.get_payload_bytes().to_vec(), at: Instant::now() };
                    match queue.try_send(item) {
                        Ok(()) => overflowing = false,
                        Err(_) => {
                            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                            if !overflowing {
                                tracing::warn!(queue = QUEUE, "ingest queue full: broadcasts dropped on this node (others may still ingest them)");
                            }
                            overflowing = true;
                        }
                    }
                }
                _ = ping.tick() => {
                    match tokio::time::timeout(timeout, sink.ping::<redis::Value>()).await {
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => return Err((true, e.to_string())),
                        Err(_) => return Err((true, format!("no answer to a ping within {timeout:?}"))),
                    }
                }
            }
        }
    }

    /// Which kind of broadcast a channel carries; `None` for what is no broadcast to a
    /// stream (Rails' own `action_cable/<connection>` remote-disconnect channel, and this
    /// deployment's own channels, which a pattern without a prefix may also match).
    fn source_of(&self, channel: &str, from_pattern: bool) -> Option<BroadcastSource> {
        if !from_pattern {
            return Some(BroadcastSource::AnycableRedis);
        }
        if self.keys.is_ours(channel) {
            return None;
        }
        let stream = rails_stream(self.sources.rails_prefix.as_deref(), channel)?;
        (!stream.starts_with("action_cable/")).then_some(BroadcastSource::Rails)
    }

    /// Publishes a new marker; returns its id.
    async fn marker(&self) -> Result<String, EngineError> {
        let id = format!("{}-{:016x}", self.node, rand::random::<u64>());
        self.calls.query::<i64>(redis::cmd("PUBLISH").arg(self.keys.ingest_markers()).arg(&id)).await?;
        Ok(id)
    }

    /// Works through the queue in order: at once on the lease holder, after
    /// [`STANDBY_DELAY`] and only if still unclaimed elsewhere.
    async fn work(self, mut queue: mpsc::Receiver<Received>, mut primary: watch::Receiver<bool>) {
        loop {
            let item = tokio::select! {
                _ = self.shutdown.cancelled() => return,
                item = queue.recv() => match item { Some(i) => i, None => return },
            };
            let due = item.at + STANDBY_DELAY;
            while !*primary.borrow() && Instant::now() < due {
                tokio::select! {
                    _ = self.shutdown.cancelled() => return,
                    _ = tokio::time::sleep_until(due) => {}
                    _ = primary.changed() => {}
                }
            }
            let standby = !*primary.borrow();
            self.ingest(item, standby).await;
        }
    }

    /// Ingests one broadcast: checks it, then publishes it under its claim, or records its
    /// refusal under its claim. Redis failures are retried until the broadcast is stale.
    async fn ingest(&self, item: Received, standby: bool) {
        let mut backoff = Duration::from_millis(50);
        loop {
            if item.at.elapsed() > STALE_AFTER {
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(channel = %item.channel, "broadcast dropped unattempted: it waited past {STALE_AFTER:?} (Redis unreachable)");
                return;
            }
            match self.attempt(&item, standby).await {
                Ok(()) => return,
                Err(e) => {
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(error = %e, channel = %item.channel, "broadcast not ingested yet; retrying");
                    tokio::select! {
                        _ = self.shutdown.cancelled() => return,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
            }
        }
    }

    async fn attempt(&self, item: &Received, standby: bool) -> Result<(), EngineError> {
        if standby && self.calls.query::<bool>(redis::cmd("HEXISTS").arg(&item.claims).arg(&item.field)).await? {
            self.stats.claimed_elsewhere.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        let (accepted, refusals) = self.check(item);
        let claim = Claim { key: item.claims.clone(), field: item.field.clone(), ttl: CLAIM_TTL };
        let won = if accepted.is_empty() {
            let mut claim_it = redis::pipe();
            claim_it.atomic().cmd("HSETNX").arg(&claim.key).arg(&claim.field).arg(&*self.node).cmd("EXPIRE").arg(&claim.key).arg(CLAIM_TTL.as_secs()).ignore();
            let (set,): (bool,) = self.calls.pipeline(&claim_it).await?;
            set
        } else {
            let pubs = accepted.iter().map(|a| a.publication.clone()).collect();
            match self.publisher.publish_claimed(pubs, claim).await {
                Ok(published) => published.is_some(),
                Err(e) => {
                    accepted.iter().for_each(|a| refused::unavailable(item.source, a.template));
                    return Err(e);
                }
            }
        };
        if !won {
            self.stats.claimed_elsewhere.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        for a in &accepted {
            self.stats.ingested.fetch_add(1, Ordering::Relaxed);
            refused::delivered(item.source, a.template);
        }
        for (stream, refusal) in &refusals {
            self.stats.refused.fetch_add(1, Ordering::Relaxed);
            refused::refused(item.source, stream, refusal);
        }
        Ok(())
    }

    /// The broadcasts a message carries, checked: Rails' one, or AnyCable's one or many.
    fn check(&self, item: &Received) -> (Vec<Addressed>, Vec<(String, Refusal)>) {
        let text = String::from_utf8_lossy(&item.payload);
        let broadcasts: Vec<(String, String)> = match item.source {
            BroadcastSource::Rails => vec![(rails_stream(self.sources.rails_prefix.as_deref(), &item.channel).unwrap_or_default().to_owned(), text.into_owned())],
            _ => match anycable_broadcasts(&text) {
                Ok(list) => list,
                Err(why) => return (Vec::new(), vec![(String::new(), Refusal { template: TemplateLabel::UNMATCHED, reason: Reason::NotAnEvent(why) })]),
            },
        };
        let (mut accepted, mut refusals) = (Vec::new(), Vec::new());
        for (stream, message) in broadcasts {
            match addressed::prepare(&stream, &message) {
                Ok(a) => accepted.push(a),
                Err(r) => refusals.push((stream, r)),
            }
        }
        (accepted, refusals)
    }

    /// Holds or waits for the lease; the holder publishes markers. Releases it on shutdown.
    async fn lease(self, role: watch::Sender<bool>) {
        let key = self.keys.ingest_lease();
        let renew = redis::Script::new("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end");
        let release = redis::Script::new("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end");
        let mut tick = tokio::time::interval(LEASE_RENEW);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_marker = Instant::now();
        loop {
            tokio::select! {
                _ = self.shutdown.cancelled() => break,
                _ = tick.tick() => {}
            }
            let held = *role.borrow();
            let now_held = if held {
                let mut call = renew.prepare_invoke();
                call.key(&key).arg(&*self.node).arg(LEASE_TTL.as_millis() as u64);
                matches!(self.calls.script::<i64>(&call).await, Ok(1))
            } else {
                let mut set = redis::cmd("SET");
                set.arg(&key).arg(&*self.node).arg("NX").arg("PX").arg(LEASE_TTL.as_millis() as u64);
                matches!(self.calls.query::<Option<String>>(&set).await, Ok(Some(_)))
            };
            if now_held != held {
                tracing::info!(role = if now_held { "primary" } else { "standby" }, "Redis ingest lease {}", if now_held { "taken" } else { "lost" });
                self.stats.primary.store(now_held, Ordering::Relaxed);
                let _ = role.send(now_held);
            }
            if now_held && last_marker.elapsed() >= MARKER_EVERY && self.stats.connected.load(Ordering::Relaxed) {
                last_marker = Instant::now();
                let _ = self.marker().await;
            }
        }
        if *role.borrow() {
            let mut call = release.prepare_invoke();
            call.key(&key).arg(&*self.node);
            let _ = self.calls.script::<i64>(&call).await;
            tracing::info!("Redis ingest lease released");
        }
    }
}

/// Names the broadcasts one ingest connection receives: `<n>:<channel>` under the last marker.
///
/// Markers count only from this connection's own one on, which it published after every
/// subscription was confirmed: a marker that arrived before (while a `PSUBSCRIBE` was still
/// on its way) could be followed by a broadcast this connection never received, and every
/// name after it would then differ from the other nodes'.
struct Names {
    mine: String,
    current: Option<String>,
    counts: HashMap<String, u64>,
}

impl Names {
    fn new(mine: String) -> Names {
        Names { mine, current: None, counts: HashMap::new() }
    }

    /// A marker arrived.
    fn marker(&mut self, id: &str) {
        if self.current.is_none() && id != self.mine {
            return;
        }
        self.current = Some(id.to_owned());
        self.counts.clear();
    }

    /// The marker and field of the next broadcast on `channel`; `None` before this
    /// connection's own marker.
    fn name(&mut self, channel: &str) -> Option<(&str, String)> {
        let marker = self.current.as_deref()?;
        let n = self.counts.entry(channel.to_owned()).or_insert(0);
        let field = format!("{n}:{channel}");
        *n += 1;
        Some((marker, field))
    }
}

/// The stream of a Rails channel: the name after `<prefix>:` (the whole name without a prefix).
fn rails_stream<'a>(prefix: Option<&str>, channel: &'a str) -> Option<&'a str> {
    match prefix {
        Some(p) => channel.strip_prefix(p)?.strip_prefix(':'),
        None => Some(channel),
    }
}

/// AnyCable's pub/sub payload: one `{"stream", "data"}` or an array of them.
fn anycable_broadcasts(text: &str) -> Result<Vec<(String, String)>, &'static str> {
    #[derive(Deserialize)]
    struct One {
        stream: String,
        data: String,
    }
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Payload {
        Many(Vec<One>),
        One(One),
    }
    let value: serde_json::Value = serde_json::from_str(text).map_err(|_| "not JSON")?;
    if value.get("command").is_some() {
        return Err("an AnyCable command, not a broadcast");
    }
    match serde_json::from_value::<Payload>(value).map_err(|_| "not {\"stream\", \"data\"} with `data` a string")? {
        Payload::Many(list) => Ok(list.into_iter().map(|o| (o.stream, o.data)).collect()),
        Payload::One(o) => Ok(vec![(o.stream, o.data)]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rails_channels_and_anycable_payloads() {
        assert_eq!(rails_stream(Some("app"), "app:notifications:1"), Some("notifications:1"));
        assert_eq!(rails_stream(Some("app"), "apple:x"), None);
        assert_eq!(rails_stream(None, "notifications:1"), Some("notifications:1"));
        assert_eq!(anycable_broadcasts(r#"{"stream":"s","data":"{}"}"#), Ok(vec![("s".into(), "{}".into())]));
        assert_eq!(anycable_broadcasts(r#"[{"stream":"a","data":"1"},{"stream":"b","data":"2","meta":{}}]"#).map(|v| v.len()), Ok(2));
        assert!(anycable_broadcasts(r#"{"command":"disconnect","payload":{}}"#).is_err());
        assert!(anycable_broadcasts(r#"{"stream":"s","data":{}}"#).is_err());
        assert!(anycable_broadcasts("nope").is_err());
    }

    #[test]
    fn names_count_per_channel_from_the_own_marker_on() {
        let mut names = Names::new("mine".into());
        names.marker("earlier");
        assert_eq!(names.name("app:a"), None, "a marker before the own one names nothing");
        names.marker("mine");
        assert_eq!(names.name("app:a"), Some(("mine", "0:app:a".to_owned())));
        assert_eq!(names.name("app:b"), Some(("mine", "0:app:b".to_owned())));
        assert_eq!(names.name("app:a"), Some(("mine", "1:app:a".to_owned())));
        names.marker("later");
        assert_eq!(names.name("app:a"), Some(("later", "0:app:a".to_owned())), "every later marker restarts the counts");
    }

    #[test]
    fn patterns_without_a_prefix_never_overlap() {
        let with = Sources::of(&RailsConfig { broadcasts: true, channel_prefix: Some("app".into()), ..RailsConfig::default() });
        assert_eq!(with.rails_patterns, vec!["app:*".to_owned()]);
        let without = Sources::of(&RailsConfig { broadcasts: true, ..RailsConfig::default() });
        assert!(without.rails_patterns.contains(&"ai_orchestration:workflow_run:*".to_owned()), "{:?}", without.rails_patterns);
        for a in &without.rails_patterns {
            for b in &without.rails_patterns {
                assert!(a == b || !b.starts_with(a.trim_end_matches('*')), "{a} covers {b}");
            }
        }
    }
}
