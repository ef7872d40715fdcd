//! The pub/sub connection: its own connection to Redis (a subscribed connection can do
//! nothing else), kept up by this task. It SUBSCRIBEs and UNSUBSCRIBEs as [`Streams`]
//! asks, in order, hands every message to [`Streams::deliver`], and pings Redis every
//! second so that a dead connection is noticed within the call timeout. When the
//! connection is lost it reconnects with backoff, SUBSCRIBEs every stream again and lets
//! each catch up on what it missed meanwhile.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::PubSubSink;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::calls::Calls;
use super::keys::Keys;
use super::stats::RedisStats;
use super::streams::{Command, Streams};

/// Channels per SUBSCRIBE command.
const BATCH: usize = 512;
/// How often the connection is pinged.
const PING_EVERY: Duration = Duration::from_secs(1);
/// Reconnect backoff bounds.
const BACKOFF_MIN: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_secs(2);

/// Everything the task needs.
pub struct PubSubTask {
    /// Where to connect.
    pub client: redis::Client,
    /// The subscribed streams.
    pub streams: Arc<Streams>,
    /// Channel names.
    pub keys: Keys,
    /// The command connection (to mark when this Redis' data began).
    pub calls: Calls,
    /// Counters and state.
    pub stats: Arc<RedisStats>,
    /// Budget of a connect, a SUBSCRIBE and a ping.
    pub timeout: Duration,
    /// Stops the task.
    pub shutdown: CancellationToken,
}

impl PubSubTask {
    /// Runs until shutdown.
    pub async fn run(self, mut commands: mpsc::UnboundedReceiver<Command>) {
        let mut backoff = BACKOFF_MIN;
        let mut connected_before = false;
        loop {
            let lost = tokio::select! {
                _ = self.shutdown.cancelled() => return,
                lost = self.session(&mut commands, connected_before) => lost,
            };
            self.stats.pubsub_up.store(false, Ordering::Relaxed);
            self.streams.disconnected();
            match lost {
                Lost::AfterUp(why) => {
                    tracing::warn!(error = %why, "Redis pub/sub connection lost; reconnecting");
                    connected_before = true;
                    backoff = BACKOFF_MIN;
                }
                Lost::BeforeUp(why) => {
                    tracing::warn!(error = %why, retry_in_ms = backoff.as_millis() as u64, "cannot connect the Redis pub/sub connection");
                }
            }
            let jitter = Duration::from_millis(u64::from(rand::random::<u8>()) % (backoff.as_millis() as u64 / 2 + 1));
            tokio::select! {
                _ = self.shutdown.cancelled() => return,
                _ = tokio::time::sleep(backoff + jitter) => {}
            }
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
    }

    /// One connection, from connect to loss.
    async fn session(&self, commands: &mut mpsc::UnboundedReceiver<Command>, connected_before: bool) -> Lost {
        let pubsub = match tokio::time::timeout(self.timeout, self.client.get_async_pubsub()).await {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => return Lost::BeforeUp(e.to_string()),
            Err(_) => return Lost::BeforeUp(format!("no answer within {:?}", self.timeout)),
        };
        let (mut sink, mut messages) = pubsub.split();
        // The streams map is the truth: what was asked while disconnected is in it.
        while commands.try_recv().is_ok() {}
        let names: Vec<Arc<str>> = self.streams.entries().iter().map(|e| e.name()).collect();
        for chunk in names.chunks(BATCH) {
            if let Err(e) = self.send(&mut sink, true, chunk).await {
                return Lost::BeforeUp(e);
            }
        }
        // The first node to reach this Redis' data says when it began: a `since` older than
        // that cannot be served (the data of a Redis restarted without persistence is new).
        let mut boot = redis::cmd("SET");
        boot.arg(self.keys.boot()).arg(crate::auth::unix_now().max(0)).arg("NX");
        let _ = self.calls.query::<redis::Value>(&boot).await;
        self.stats.pubsub_up.store(true, Ordering::Relaxed);
        if connected_before {
            RedisStats::bump(&self.stats.resubscribes);
            tracing::info!(streams = names.len(), "Redis pub/sub connection back: streams subscribed again");
        } else {
            tracing::info!(streams = names.len(), "Redis pub/sub connection up");
        }
        self.streams.subscribed(&names);
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                msg = messages.next() => match msg {
                    Some(m) => self.streams.deliver(m.get_channel_name(), m.get_payload_bytes()),
                    None => return Lost::AfterUp("the connection closed".into()),
                },
                Some(first) = commands.recv() => {
                    let mut batch = vec![first];
                    while batch.len() < BATCH {
                        match commands.try_recv() {
                            Ok(c) => batch.push(c),
                            Err(_) => break,
                        }
                    }
                    if let Err(e) = self.apply(&mut sink, batch).await {
                        return Lost::AfterUp(e);
                    }
                }
                _ = ping.tick() => {
                    match tokio::time::timeout(self.timeout, sink.ping::<redis::Value>()).await {
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => return Lost::AfterUp(e.to_string()),
                        Err(_) => return Lost::AfterUp(format!("no answer to a ping within {:?}", self.timeout)),
                    }
                }
            }
        }
    }

    /// Runs commands in order, each run of the same kind as one Redis command.
    async fn apply(&self, sink: &mut PubSubSink, batch: Vec<Command>) -> Result<(), String> {
        let mut i = 0;
        while i < batch.len() {
            let subscribe = matches!(batch[i], Command::Subscribe(_));
            let mut names = Vec::new();
            while let Some(c) = batch.get(i) {
                match (c, subscribe) {
                    (Command::Subscribe(n), true) | (Command::Unsubscribe(n), false) => names.push(n.clone()),
                    _ => break,
                }
                i += 1;
            }
            self.send(sink, subscribe, &names).await?;
            if subscribe {
                self.streams.subscribed(&names);
            }
        }
        Ok(())
    }

    async fn send(&self, sink: &mut PubSubSink, subscribe: bool, names: &[Arc<str>]) -> Result<(), String> {
        if names.is_empty() {
            return Ok(());
        }
        let channels: Vec<String> = names.iter().map(|n| self.keys.channel(n)).collect();
        let call = async {
            if subscribe {
                sink.subscribe(&channels).await
            } else {
                sink.unsubscribe(&channels).await
            }
        };
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer to {} within {:?}", if subscribe { "SUBSCRIBE" } else { "UNSUBSCRIBE" }, self.timeout)),
        }
    }
}

/// How a connection ended.
enum Lost {
    /// It never got its streams subscribed.
    BeforeUp(String),
    /// It was up, then went away.
    AfterUp(String),
}
