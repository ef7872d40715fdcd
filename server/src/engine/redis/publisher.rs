//! Publishing: one script call per publish request (a publication or a batch), made by one
//! task per node in the order requests arrived, so that what one client relays, or one
//! publisher sends, keeps its order across Redis. The queue is bounded and every request
//! carries a deadline: while Redis is slow or gone, requests fail within the call timeout
//! (503) instead of piling up.
//!
//! A request is sent to Redis only while it can still be answered in time and Redis is not
//! known to be unreachable. What is written to a connection runs in Redis whenever the bytes
//! arrive, even after the caller stopped waiting: sending the requests queued behind a call
//! that hangs (a blackholed network) would have them all run once the network heals, each
//! one already answered 503. So after a call found Redis unreachable or silent, requests
//! are refused without a call until the readiness probe's `PING` gets through again (within
//! a second of Redis answering).
//!
//! A publish may carry a [`Claim`] (an ingested broadcast, see [`ingest`](super::ingest)):
//! the script then publishes only if no node claimed the same broadcast before, in the same
//! atomic step, so that a broadcast every node receives is published once.

use std::sync::Arc;
use std::time::Duration;

use redis::Value;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::calls::Calls;
use super::keys::Keys;
use super::stats::RedisStats;
use crate::broker::{DeliveryReport, Publication};
use crate::engine::{AssignedPosition, EngineError, Published};
use crate::hub::SessionId;

const PUBLISH: &str = include_str!("lua/publish.lua");

/// Requests waiting for Redis on one node; past it, publishes fail at once (`Busy`).
const QUEUE: usize = 1024;

/// `None`: the claim was taken by another node, nothing was published.
type Done = Box<dyn FnOnce(Result<Option<Published>, EngineError>) + Send>;

struct Job {
    pubs: Vec<Publication>,
    exclude: Option<SessionId>,
    claim: Option<Claim>,
    deadline: Instant,
    done: Done,
}

/// Publish only if nobody did: field `field` of the hash `key` is set by the first publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The claims hash.
    pub key: String,
    /// The broadcast's field in it.
    pub field: String,
    /// How long the hash outlives its last claim.
    pub ttl: Duration,
}

/// The sending side of the queue.
#[derive(Clone)]
pub struct Publisher {
    tx: mpsc::Sender<Job>,
    timeout: Duration,
    stats: Arc<RedisStats>,
}

/// What the script needs besides the publications.
#[derive(Clone)]
pub struct ScriptContext {
    /// Key names.
    pub keys: Keys,
    /// This node's id.
    pub node: Arc<str>,
    /// How long a stream's epoch and offset outlive its last publication.
    pub meta_ttl: Duration,
    /// Whether events' ownership facts are recorded.
    pub record_owners: bool,
}

impl Publisher {
    /// Starts the publishing task.
    pub fn start(calls: Calls, context: ScriptContext, stats: Arc<RedisStats>) -> Self {
        let (tx, mut rx) = mpsc::channel::<Job>(QUEUE);
        let timeout = calls.timeout();
        let counters = stats.clone();
        tokio::spawn(async move {
            let script = redis::Script::new(PUBLISH);
            while let Some(job) = rx.recv().await {
                // The budget runs from when the request was queued, not from its turn.
                let result = if Instant::now() >= job.deadline {
                    RedisStats::bump(&counters.publishes_refused);
                    Err(EngineError::Timeout(timeout))
                } else if calls.failing() {
                    RedisStats::bump(&counters.publishes_refused);
                    Err(EngineError::Unreachable("Redis did not answer the last call".into()))
                } else {
                    let sent = Instant::now();
                    match tokio::time::timeout_at(job.deadline, run(&calls, &script, &context, &job.pubs, job.exclude, job.claim.as_ref())).await {
                        Ok(result) => result,
                        Err(_) => {
                            // The budget ran out before the call's own timeout could (it started
                            // later): the call is dropped unanswered, so it is counted here as
                            // what it is, a call Redis did not answer. Otherwise nothing would
                            // record the silence and every queued publish would wait its full
                            // budget in turn.
                            counters.call(sent.elapsed().as_micros() as u64, false);
                            Err(EngineError::Timeout(timeout))
                        }
                    }
                };
                counters.publishes_waiting.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
                (job.done)(result);
            }
        });
        Publisher { tx, timeout, stats }
    }

    /// Queues a publish; `done` is called with its outcome, from the publishing task.
    pub fn submit(&self, pubs: Vec<Publication>, exclude: Option<SessionId>, done: impl FnOnce(Result<Published, EngineError>) + Send + 'static) {
        let unclaimed = move |r: Result<Option<Published>, EngineError>| done(r.and_then(|p| p.ok_or_else(|| EngineError::Reply("a publish without a claim was answered as claimed".into()))));
        self.enqueue(pubs, exclude, None, Box::new(unclaimed));
    }

    /// Publishes unless `claim` was taken; `Ok(None)` when it was (nothing was published).
    ///
    /// # Errors
    /// [`EngineError`] when Redis did not take it (the claim is then not taken either).
    pub async fn publish_claimed(&self, pubs: Vec<Publication>, claim: Claim) -> Result<Option<Published>, EngineError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.enqueue(pubs, None, Some(claim), Box::new(move |r| {
            let _ = tx.send(r);
        }));
        rx.await.unwrap_or(Err(EngineError::Busy))
    }

    fn enqueue(&self, pubs: Vec<Publication>, exclude: Option<SessionId>, claim: Option<Claim>, done: Done) {
        let job = Job { pubs, exclude, claim, deadline: Instant::now() + self.timeout, done };
        self.stats.publishes_waiting.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Err(e) = self.tx.try_send(job) {
            let job = match e {
                mpsc::error::TrySendError::Full(j) | mpsc::error::TrySendError::Closed(j) => j,
            };
            self.stats.publishes_waiting.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            RedisStats::bump(&self.stats.publishes_refused);
            (job.done)(Err(EngineError::Busy));
        }
    }

    /// Publishes and waits for the outcome.
    ///
    /// # Errors
    /// [`EngineError`] when Redis did not take it.
    pub async fn publish(&self, pubs: Vec<Publication>, exclude: Option<SessionId>) -> Result<Published, EngineError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.submit(pubs, exclude, move |r| {
            let _ = tx.send(r);
        });
        rx.await.unwrap_or(Err(EngineError::Busy))
    }
}

/// One script call for the whole request; `None` when its claim was taken.
async fn run(calls: &Calls, script: &redis::Script, cx: &ScriptContext, pubs: &[Publication], exclude: Option<SessionId>, claim: Option<&Claim>) -> Result<Option<Published>, EngineError> {
    let now = crate::auth::unix_now().max(0) as u64;
    let epoch = format!("{now:x}{:04x}", rand::random::<u16>());
    let messages: Vec<Arc<str>> = pubs.iter().map(Publication::message).collect();
    let facts: Vec<(&str, String, String)> = if cx.record_owners { pubs.iter().filter_map(Publication::owner_fact).collect() } else { Vec::new() };
    let entries: Vec<(usize, &str)> = pubs.iter().enumerate().flat_map(|(i, p)| p.streams.iter().map(move |s| (i, s.as_str()))).collect();

    let mut invocation = script.prepare_invoke();
    for (_, stream) in &entries {
        invocation.key(cx.keys.meta(stream)).key(cx.keys.log(stream));
    }
    for (kind, id, _) in &facts {
        invocation.key(cx.keys.owner(kind, id));
    }
    if let Some(claim) = claim {
        invocation.key(&claim.key);
    }
    invocation.arg(&epoch).arg(&*cx.node).arg(exclude.map(|s| s.0.to_string()).unwrap_or_default()).arg(now).arg(cx.meta_ttl.as_secs().max(1));
    invocation.arg(messages.len()).arg(entries.len()).arg(facts.len());
    invocation.arg(claim.map_or("", |c| c.field.as_str())).arg(claim.map_or(1, |c| c.ttl.as_secs().max(1)));
    for m in &messages {
        invocation.arg(&**m);
    }
    for (i, stream) in &entries {
        let policy = pubs[*i].channel.history;
        invocation.arg(i + 1).arg(policy.size).arg(policy.ttl_seconds.max(1)).arg(cx.keys.channel(stream));
    }
    for (_, _, account) in &facts {
        invocation.arg(account);
    }
    let reply: Value = calls.script(&invocation).await?;
    if claim.is_some() && matches!(reply, Value::Int(0)) {
        return Ok(None);
    }
    let reply: Vec<Vec<Value>> = redis::from_redis_value(reply).map_err(|e| EngineError::Reply(format!("the publish script answered {e}")))?;
    if reply.len() != entries.len() {
        return Err(EngineError::Reply(format!("the publish script answered {} positions for {} streams", reply.len(), entries.len())));
    }
    let mut positions = Vec::with_capacity(entries.len());
    for ((_, stream), r) in entries.iter().zip(reply) {
        let epoch = r.first().and_then(|v| redis::from_redis_value_ref::<String>(v).ok());
        let offset = r.get(1).and_then(|v| redis::from_redis_value_ref::<u64>(v).ok());
        let (Some(epoch), Some(offset)) = (epoch, offset) else {
            return Err(EngineError::Reply("the publish script answered an unreadable position".into()));
        };
        positions.push(AssignedPosition { stream: (*stream).to_owned(), epoch, offset });
    }
    let report = DeliveryReport { streams: Publication::streams_of(pubs), ..DeliveryReport::default() };
    Ok(Some(Published { report, positions }))
}
