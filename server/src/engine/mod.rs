//! The engine: the one thing that differs between one node and many.
//!
//! It owns what must be shared when several nodes serve one deployment: publishing a
//! checked publication (positions, history, delivery to every node), replay, resumable
//! sessions and the ownership registry, and whether the node is ready. The [`Hub`] stays
//! local: which connection of this node listens to which stream.
//!
//! - [`memory`]: the embedded engine, the default. Everything in this process; nothing to
//!   install, nothing shared.
//! - [`redis`]: several nodes over one Redis. Offsets are assigned by one script per
//!   publication, history is a Redis Stream per stream, and each node delivers from pub/sub
//!   in offset order, filling gaps from the stream (Centrifugo's model).
//!
//! The session asks for a subscription's streams in two steps: [`Engine::prepare_join`]
//! does what needs the network (the Redis engine subscribes the node and reads the replay;
//! the embedded one needs nothing, see [`Engine::is_local`]), then [`Engine::join`], back in
//! the session loop, replays and registers with nothing lost or repeated at the boundary.

pub mod error;
pub mod memory;
pub mod redis;

use std::sync::Arc;

use serde::Serialize;

pub use error::EngineError;

use crate::broker::{DeliveryReport, Publication};
use crate::config::Config;
use crate::history::sessions::{KeptSession, SessionStore};
use crate::codegen_support::HistoryPolicy;
use crate::history::{Gap, ReplayRequest};
use crate::hub::{Hub, SessionId, Subscriber};
use crate::metrics::{self, EventLabel, PublicationOutcome};
use crate::resolver::registry::OwnerStore;

/// The configured engine.
pub enum Engine {
    /// One node, in memory.
    Memory(memory::MemoryEngine),
    /// Several nodes over Redis.
    Redis(redis::RedisEngine),
}

/// What a publish did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Published {
    /// The streams, and the local deliveries when the engine knows them as it answers (the
    /// embedded one; the Redis engine delivers from pub/sub, after answering).
    pub report: DeliveryReport,
    /// The positions Redis assigned, per stream of each publication, in order (the Redis
    /// engine).
    pub positions: Vec<AssignedPosition>,
}

/// One stream's position as a publish assigned it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AssignedPosition {
    /// The stream.
    pub stream: String,
    /// Its epoch.
    pub epoch: String,
    /// The publication's offset in it.
    pub offset: u64,
}

/// What [`Engine::prepare_join`] got ready for [`Engine::join`].
#[derive(Debug, Default)]
pub struct Joining {
    /// Keeps this node subscribed to the streams while the subscription lives.
    pub leases: Leases,
    /// The Redis engine's replay, read before joining; `None` when there is none to read
    /// or the engine reads it at join time (the embedded one).
    pub replay: Option<Result<Vec<redis::history::StreamRead>, Gap>>,
}

/// This node's interest in some streams; dropping it releases them (the Redis engine
/// unsubscribes the node from a stream when its last local subscription is gone).
#[derive(Debug, Default)]
pub struct Leases(#[allow(dead_code, reason = "held for its Drop")] pub(crate) Vec<redis::streams::Lease>);

/// One subscription joining its streams.
pub struct Join<'a> {
    /// Who listens.
    pub subscriber: Subscriber,
    /// The subscription's identifier, echoed in its frames.
    pub identifier: &'a Arc<str>,
    /// Its streams.
    pub streams: &'a [String],
    /// What the client asked to replay, if anything.
    pub request: Option<&'a ReplayRequest>,
    /// Whether to register it in the hub (false: an already live subscription's `history`).
    pub register: bool,
}

/// Counts each publication once, as the engine took it (delivered) or did not (unavailable).
fn count_outcome(pubs: &[Publication], published: &Result<Published, EngineError>) {
    let outcome = if published.is_ok() { PublicationOutcome::Delivered } else { PublicationOutcome::Unavailable };
    for p in pubs {
        metrics::publication(EventLabel::of(p.channel, p.event), outcome);
    }
}

impl Engine {
    /// The engine the configuration asks for: Redis when `redis.url` is set. The Redis engine
    /// connects in the background (a node starts while Redis is down, and is not ready).
    pub fn new(config: &Config, hub: Arc<Hub>, owners: bool) -> Result<Engine, EngineStartError> {
        match config.redis.url() {
            None => Ok(Engine::Memory(memory::MemoryEngine::new(config, hub, owners))),
            Some(_) => redis::RedisEngine::start(config, hub, owners).map(Engine::Redis),
        }
    }

    /// `memory` or `redis`.
    pub fn name(&self) -> &'static str {
        match self {
            Engine::Memory(_) => "memory",
            Engine::Redis(_) => "redis",
        }
    }

    /// Whether everything is at hand in this process: joins and publishes finish at once,
    /// without a task.
    pub fn is_local(&self) -> bool {
        matches!(self, Engine::Memory(_))
    }

    /// Publishes checked publications to every node: ownership facts first, then per stream a
    /// position and the delivery to every subscriber but `exclude`. All or nothing: an error
    /// means nothing was published (or, after a timeout, that it is unknown).
    ///
    /// # Errors
    /// [`EngineError`] when Redis did not take it.
    pub async fn publish(&self, pubs: &[Publication], exclude: Option<SessionId>) -> Result<Published, EngineError> {
        let published = match self {
            Engine::Memory(m) => Ok(m.publish(pubs, exclude)),
            Engine::Redis(r) => r.publish(pubs, exclude).await,
        };
        count_outcome(pubs, &published);
        published
    }

    /// [`Engine::publish`] from code that cannot wait (a relay in the session loop): the
    /// embedded engine publishes and calls `done` before returning; the Redis engine queues
    /// the publication in order and calls `done` from a task.
    pub fn publish_then(&self, pubs: Vec<Publication>, exclude: Option<SessionId>, done: impl FnOnce(Result<Published, EngineError>) + Send + 'static) {
        match self {
            Engine::Memory(m) => {
                let published = Ok(m.publish(&pubs, exclude));
                count_outcome(&pubs, &published);
                done(published)
            }
            Engine::Redis(r) => {
                let labels: Vec<EventLabel> = pubs.iter().map(|p| EventLabel::of(p.channel, p.event)).collect();
                r.publish_then(pubs, exclude, move |published| {
                    let outcome = if published.is_ok() { PublicationOutcome::Delivered } else { PublicationOutcome::Unavailable };
                    labels.into_iter().for_each(|l| metrics::publication(l, outcome));
                    done(published)
                })
            }
        }
    }

    /// What must happen before `streams` can be joined: the Redis engine subscribes this node
    /// to them (waiting for Redis to confirm) and reads what `request` asks to replay.
    ///
    /// # Errors
    /// [`EngineError`] when Redis cannot subscribe the node (the subscribe is rejected).
    pub async fn prepare_join(&self, streams: &[String], request: Option<&ReplayRequest>, policy: HistoryPolicy) -> Result<Joining, EngineError> {
        match self {
            Engine::Memory(_) => Ok(Joining::default()),
            Engine::Redis(r) => r.prepare_join(streams, request, policy).await,
        }
    }

    /// Replays what the join asks for, then registers it, so that the last replayed message
    /// and the first live one meet exactly. A gap anywhere means no replay at all. Returns
    /// whether the history was confirmed (when asked), and the leases to keep.
    pub fn join(&self, joining: Joining, join: Join<'_>) -> (Option<bool>, Leases) {
        match self {
            Engine::Memory(m) => (m.join(&join), joining.leases),
            Engine::Redis(r) => r.join(joining, &join),
        }
    }

    /// Whether kept sessions outlive this node (they are in Redis), so that a client of a
    /// draining node can resume on another.
    pub fn shares_sessions(&self) -> bool {
        matches!(self, Engine::Redis(_))
    }

    /// Keeps a closed connection's session for a resume (`?sid=`), for the session TTL.
    pub async fn keep_session(&self, sid: String, session: KeptSession) {
        match self {
            Engine::Memory(m) => m.sessions.keep(sid, session),
            Engine::Redis(r) => r.keep_session(sid, session).await,
        }
    }

    /// Takes a kept session, if it is fresh and this principal's (see
    /// [`SessionStore::take`](crate::history::sessions::SessionStore::take)). A Redis failure
    /// counts as "not found": the client resubscribes.
    pub async fn take_session(&self, sid: &str, sub: &str, account_id: &str, now: i64) -> Option<KeptSession> {
        match self {
            Engine::Memory(m) => m.sessions.take(sid, sub, account_id, now),
            Engine::Redis(r) => r.take_session(sid, sub, account_id, now).await,
        }
    }

    /// The ownership registry publishers and events feed.
    pub fn owners(&self) -> Arc<dyn OwnerStore> {
        match self {
            Engine::Memory(m) => m.owners.clone(),
            Engine::Redis(r) => r.owners(),
        }
    }

    /// Drops what expired; Redis expires its keys itself.
    pub fn sweep(&self) {
        if let Engine::Memory(m) = self {
            m.sweep();
        }
    }

    /// Why the node should not get traffic now, if it should not (Redis is unreachable).
    pub fn unready(&self) -> Option<&'static str> {
        match self {
            Engine::Memory(_) => None,
            Engine::Redis(r) => r.unready(),
        }
    }

    /// What `/health` reports about the engine.
    pub fn health(&self) -> serde_json::Value {
        match self {
            Engine::Memory(m) => serde_json::json!({ "engine": "memory", "sessions": m.sessions.stats() }),
            Engine::Redis(r) => serde_json::json!({ "engine": "redis", "redis": r.health() }),
        }
    }

    /// The Redis engine's counters, for metrics.
    pub fn redis_stats(&self) -> Option<&redis::stats::RedisStats> {
        match self {
            Engine::Memory(_) => None,
            Engine::Redis(r) => Some(r.stats()),
        }
    }

    /// Stops background work (the Redis engine's connections).
    pub fn shutdown(&self) {
        if let Engine::Redis(r) = self {
            r.shutdown();
        }
    }
}

/// Why an engine cannot start.
#[derive(Debug, thiserror::Error)]
pub enum EngineStartError {
    /// The Redis URL is not usable.
    #[error("CABLEWAY_REDIS_URL is not a usable Redis URL")]
    BadUrl,
}
