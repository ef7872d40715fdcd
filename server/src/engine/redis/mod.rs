//! The Redis engine: several nodes over one Redis (Centrifugo's model, anycable's split).
//!
//! - [`publisher`]: a publish is one script (ownership facts, then per stream the next
//!   offset, the history entry and the pub/sub message), in order per node;
//! - [`pubsub`]: the subscriber connection, for the streams with local subscribers only;
//! - [`streams`] and [`tracker`]: delivering each stream in offset order, filling gaps from
//!   the history, the position check, joins;
//! - [`history`]: replays and gap reads; [`sessions`], [`owners`]: shared state;
//! - [`calls`]: the command connection, every call under the timeout; [`keys`], [`wire`]:
//!   names and the pub/sub payload; [`stats`]: what `/health` and metrics read;
//! - [`ingest`]: broadcasts Rails and AnyCable publish on Redis, each published once.
//!
//! A node delivers from pub/sub only, its own publications included, so every node
//! delivers a stream in the same order.

pub mod calls;
pub mod history;
pub mod ingest;
pub mod keys;
pub mod owners;
pub mod publisher;
pub mod pubsub;
pub mod sessions;
pub mod stats;
pub mod streams;
pub mod tracker;
pub mod wire;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::{EngineError, EngineStartError, Join, Joining, Leases, Published};
use crate::broker::Publication;
use crate::codegen_support::HistoryPolicy;
use crate::config::Config;
use crate::history::sessions::KeptSession;
use crate::history::ReplayRequest;
use crate::hub::{Hub, SessionId};
use crate::resolver::registry::OwnerStore;
use calls::Calls;
use keys::Keys;
use publisher::{Publisher, ScriptContext};
use stats::RedisStats;
use streams::Streams;

/// The Redis engine.
pub struct RedisEngine {
    calls: Calls,
    keys: Keys,
    stats: Arc<RedisStats>,
    streams: Arc<Streams>,
    publisher: Publisher,
    sessions: sessions::RedisSessions,
    owners: Arc<owners::RedisOwners>,
    url: String,
    ingest: Option<Arc<ingest::IngestStats>>,
    subscribe_wait: std::time::Duration,
    shutdown: CancellationToken,
}

/// How often a subscribe waiting for an unreachable Redis tries again: the readiness probe
/// pings every second, so this is about when the node can know Redis is back.
const SUBSCRIBE_RETRY: std::time::Duration = std::time::Duration::from_millis(500);

impl RedisEngine {
    /// Starts the connections and background tasks (pub/sub, position check) without
    /// waiting for Redis: the node serves, not ready, until Redis answers.
    ///
    /// # Errors
    /// [`EngineStartError::BadUrl`] when the client refuses the URL.
    pub fn start(config: &Config, hub: Arc<Hub>, record_owners: bool) -> Result<RedisEngine, EngineStartError> {
        install_crypto_provider();
        let redis = &config.redis;
        let url = redis.url().ok_or(EngineStartError::BadUrl)?;
        let client = match &redis.tls_ca_pem {
            Some(ca) => redis::Client::build_with_tls(url.expose(), redis::TlsCertificates { client_tls: None, root_cert: Some(ca.clone()) }),
            None => redis::Client::open(url.expose()),
        }
        .map_err(|_| EngineStartError::BadUrl)?;
        let stats = Arc::new(RedisStats::default());
        let calls = Calls::new(client.clone(), redis.call_timeout, stats.clone()).map_err(|_| EngineStartError::BadUrl)?;
        let keys = Keys::new(&redis.key_prefix);
        let node: Arc<str> = Arc::from(format!("{:016x}", rand::random::<u64>()));
        let (commands, commands_rx) = tokio::sync::mpsc::unbounded_channel();
        let streams = Streams::new(hub, node.clone(), stats.clone(), calls.clone(), keys.clone(), commands);
        let shutdown = CancellationToken::new();
        let task = pubsub::PubSubTask { client: client.clone(), streams: streams.clone(), keys: keys.clone(), calls: calls.clone(), stats: stats.clone(), timeout: redis.call_timeout, shutdown: shutdown.clone() };
        tokio::spawn(task.run(commands_rx));
        tokio::spawn(watch(streams.clone(), calls.clone(), stats.clone(), shutdown.clone(), redis.position_check_interval));
        let context = ScriptContext { keys: keys.clone(), node: node.clone(), meta_ttl: redis.meta_ttl, record_owners };
        let publisher = Publisher::start(calls.clone(), context, stats.clone());
        let ingest = config.rails.broadcasts.then(|| {
            let stats = Arc::new(ingest::IngestStats::default());
            let sources = ingest::Sources::of(&config.rails);
            ingest::Ingest { client: client.clone(), calls: calls.clone(), keys: keys.clone(), publisher: publisher.clone(), node, sources, stats: stats.clone(), shutdown: shutdown.clone() }.start();
            stats
        });
        let sessions = sessions::RedisSessions::new(calls.clone(), keys.clone(), config.timeouts.session_ttl);
        let owners = Arc::new(owners::RedisOwners { calls: calls.clone(), keys: keys.clone() });
        let url = redis.redacted_url().unwrap_or_default();
        tracing::info!(url = %url, prefix = %redis.key_prefix, "Redis engine: several nodes share this Redis");
        Ok(RedisEngine { calls, keys, stats, streams, publisher, sessions, owners, url, ingest, subscribe_wait: redis.subscribe_wait, shutdown })
    }

    /// See [`Engine::publish`](super::Engine::publish).
    pub async fn publish(&self, pubs: &[Publication], exclude: Option<SessionId>) -> Result<Published, EngineError> {
        self.publisher.publish(pubs.to_vec(), exclude).await
    }

    /// See [`Engine::publish_then`](super::Engine::publish_then).
    pub fn publish_then(&self, pubs: Vec<Publication>, exclude: Option<SessionId>, done: impl FnOnce(Result<Published, EngineError>) + Send + 'static) {
        self.publisher.submit(pubs, exclude, done);
    }

    /// Subscribes the node to every stream (waiting for Redis), then reads the replay. While
    /// Redis is unreachable it tries again every [`SUBSCRIBE_RETRY`], for `subscribe_wait_ms`.
    ///
    /// # Errors
    /// [`EngineError`] when a stream cannot be subscribed or the replay cannot be read (and
    /// Redis did not come back within the wait).
    pub async fn prepare_join(&self, streams: &[String], request: Option<&ReplayRequest>, policy: HistoryPolicy) -> Result<Joining, EngineError> {
        // Waiting out an outage instead of refusing at once: a client told `unavailable`
        // would stay unsubscribed after Redis returns (the official clients don't retry).
        let deadline = tokio::time::Instant::now() + self.subscribe_wait;
        let mut waiting = None;
        loop {
            match self.try_prepare_join(streams, request, policy).await {
                Err(EngineError::Unreachable(_) | EngineError::Timeout(_)) if tokio::time::Instant::now() + SUBSCRIBE_RETRY < deadline => {
                    waiting.get_or_insert_with(|| calls::InFlight::enter(&self.stats.subscribes_waiting));
                    tokio::time::sleep(SUBSCRIBE_RETRY).await;
                }
                done => return done,
            }
        }
    }

    /// One attempt of [`RedisEngine::prepare_join`].
    async fn try_prepare_join(&self, streams: &[String], request: Option<&ReplayRequest>, policy: HistoryPolicy) -> Result<Joining, EngineError> {
        let mut leases = Vec::with_capacity(streams.len());
        for stream in streams {
            leases.push(self.streams.acquire(stream).await?);
        }
        let replay = match request {
            Some(request) => {
                let now = crate::auth::unix_now().max(0) as u64;
                let before = self.streams.epochs(streams);
                let read = history::read_replay(&self.calls, &self.keys, streams, request, policy, now).await?;
                Some(read.map(|reads| reads.into_iter().zip(before).map(|(r, tracked_before)| history::StreamRead { tracked_before, ..r }).collect()))
            }
            None => None,
        };
        Ok(Joining { leases: Leases(leases), replay })
    }

    /// See [`Streams::join`].
    pub fn join(&self, joining: Joining, join: &Join<'_>) -> (Option<bool>, Leases) {
        self.streams.join(joining, join)
    }

    /// Keeps a session; a failure is logged (the client will resubscribe instead).
    pub async fn keep_session(&self, sid: String, session: KeptSession) {
        if let Err(e) = self.sessions.keep(&sid, &session, crate::auth::unix_now()).await {
            tracing::warn!(error = %e, "session not kept for resume");
        }
    }

    /// Takes a kept session; a failure counts as not found.
    pub async fn take_session(&self, sid: &str, sub: &str, account_id: &str, now: i64) -> Option<KeptSession> {
        match self.sessions.take(sid, sub, account_id, now).await {
            Ok(kept) => kept,
            Err(e) => {
                tracing::warn!(error = %e, "kept session not read; the client resubscribes");
                None
            }
        }
    }

    /// The shared ownership registry.
    pub fn owners(&self) -> Arc<dyn OwnerStore> {
        self.owners.clone()
    }

    /// Not ready while either connection to Redis is down.
    pub fn unready(&self) -> Option<&'static str> {
        if !self.stats.pubsub_up.load(Ordering::Relaxed) {
            Some("the Redis pub/sub connection is down")
        } else if !self.stats.commands_up.load(Ordering::Relaxed) {
            Some("Redis calls are failing")
        } else {
            None
        }
    }

    /// What `/health` shows.
    pub fn health(&self) -> serde_json::Value {
        let mut v = self.stats.to_json();
        v["url"] = serde_json::json!(self.url);
        v["streams_subscribed"] = serde_json::json!(self.streams.len());
        if let Some(ingest) = &self.ingest {
            v["ingest"] = ingest.to_json();
        }
        v
    }

    /// The counters.
    pub fn stats(&self) -> &RedisStats {
        &self.stats
    }

    /// Stops the background tasks.
    pub fn shutdown(&self) {
        self.shutdown.cancel();
    }
}

/// The position check every `every`, and a `PING` every second while calls fail, so that
/// readiness comes back with Redis even when nothing else calls it.
async fn watch(streams: Arc<Streams>, calls: Calls, stats: Arc<RedisStats>, shutdown: CancellationToken, every: std::time::Duration) {
    let mut check = tokio::time::interval(every);
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    check.tick().await;
    let mut probe = tokio::time::interval(std::time::Duration::from_secs(1));
    probe.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = check.tick() => if stats.pubsub_up.load(Ordering::Relaxed) { streams.check().await },
            _ = probe.tick() => if !stats.commands_up.load(Ordering::Relaxed) {
                let _ = calls.query::<String>(&redis::cmd("PING")).await;
            },
        }
    }
}

/// rustls needs one process-wide crypto provider for `rediss://`; ring is the one built in
/// (rustls deprecates it for lacking post-quantum key exchange; aws-lc-rs, which has it,
/// needs CMake to build).
#[allow(deprecated)]
fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
