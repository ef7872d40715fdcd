//! The hub: which connection listens to which stream, and local fan-out.
//!
//! Streams are spread over shards by hash, each a `std::sync::Mutex` (no `.await` ever
//! happens under it). Within a stream, subscribers are grouped by identifier, because the
//! data frame embeds the identifier: a broadcast encodes one WebSocket frame (header and
//! payload: server frames are unmasked, so every subscriber writes the same bytes) per group
//! and shares it (a refcount bump) across the group. Pushing into an [`Outbox`] never
//! waits, so a slow client can only hurt itself.

mod direct;
pub mod outbox;

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};


pub use outbox::{Outbox, Push};

use crate::metrics::{ChannelLabel, SentKind, SentLabel, SentTally};
use crate::protocol::Dialect;
use crate::transport::Frame;

/// Identifies one connection for the hub's lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub u64);

static NEXT_SESSION: AtomicU64 = AtomicU64::new(1);

impl SessionId {
    /// A fresh id.
    pub fn next() -> Self {
        SessionId(NEXT_SESSION.fetch_add(1, Ordering::Relaxed))
    }
}

/// One listener of a stream.
#[derive(Debug, Clone)]
pub struct Subscriber {
    /// Its connection.
    pub session: SessionId,
    /// Where its frames go, and how it learns it was evicted (see [`Hub::evict`]).
    pub outbox: Outbox,
    /// Its protocol: ext subscribers get stream positions on every data frame.
    pub dialect: Dialect,
    /// The channel of its subscription, which its frames are counted under.
    pub channel: ChannelLabel,
}

impl Subscriber {
    /// The frame of one replayed event (history) for this subscriber.
    pub fn replayed(&self, text: &str) -> Frame {
        Frame::text(text).labelled(SentLabel::new(self.channel, SentKind::History))
    }
}

/// What a broadcast did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FanoutStats {
    /// Frames queued or written (deliveries).
    pub queued: usize,
    /// Of those, frames written to the socket directly.
    pub written: usize,
    /// Connections dropped as too slow by this broadcast.
    pub overflowed: usize,
}

impl FanoutStats {
    fn count(&mut self, pushed: Push) {
        match pushed {
            Push::Queued => self.queued += 1,
            Push::Written => {
                self.queued += 1;
                self.written += 1;
            }
            Push::Overflow => self.overflowed += 1,
            Push::Closed => {}
        }
    }
}

impl std::ops::AddAssign for FanoutStats {
    fn add_assign(&mut self, o: Self) {
        self.queued += o.queued;
        self.written += o.written;
        self.overflowed += o.overflowed;
    }
}

/// How a broadcast's message becomes the text of a frame for one group of subscribers.
pub trait Encode {
    /// The frame text for subscribers that used `identifier` and speak `dialect`.
    fn frame(&self, identifier: &str, dialect: Dialect) -> String;
}

impl<F: Fn(&str, Dialect) -> String> Encode for F {
    fn frame(&self, identifier: &str, dialect: Dialect) -> String {
        self(identifier, dialect)
    }
}

/// Subscribers grouped by what their frame depends on: the identifier and the dialect.
type Groups = HashMap<(Arc<str>, Dialect), Group>;

/// One group's subscribers, with where each session sits: adding and removing one costs the
/// same with 10 subscribers as with 10,000 (a scan per subscribe would make N connects cost N²).
#[derive(Debug, Default)]
struct Group {
    subs: Vec<Subscriber>,
    at: HashMap<SessionId, usize>,
}

impl Group {
    fn add(&mut self, sub: Subscriber) {
        if let std::collections::hash_map::Entry::Vacant(e) = self.at.entry(sub.session) {
            e.insert(self.subs.len());
            self.subs.push(sub);
        }
    }

    /// Removes `session`; the last subscriber takes its place (order within a group does not
    /// matter: each gets the same frame).
    fn remove(&mut self, session: SessionId) {
        let Some(i) = self.at.remove(&session) else { return };
        self.subs.swap_remove(i);
        if let Some(moved) = self.subs.get(i) {
            self.at.insert(moved.session, i);
        }
    }
}

#[derive(Debug, Default)]
struct Shard {
    streams: Mutex<HashMap<Arc<str>, Groups>>,
}

/// The registry of streams and their subscribers.
#[derive(Debug)]
pub struct Hub {
    shards: Box<[Shard]>,
    direct: direct::DirectWrites,
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new(16)
    }
}

impl Hub {
    /// A hub with `shards` shards.
    pub fn new(shards: usize) -> Self {
        Hub { shards: (0..shards.max(1)).map(|_| Shard::default()).collect(), direct: direct::DirectWrites::default() }
    }

    fn shard(&self, stream: &str) -> &Shard {
        let mut h = DefaultHasher::new();
        stream.hash(&mut h);
        &self.shards[(h.finish() as usize) % self.shards.len()]
    }

    fn lock<'a>(shard: &'a Shard) -> std::sync::MutexGuard<'a, HashMap<Arc<str>, Groups>> {
        // A panic while holding the lock cannot leave the map half-updated in a way that
        // matters more than losing every subscription, so keep serving.
        shard.streams.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a subscriber; the stream exists from now on for broadcasts.
    pub fn subscribe(&self, stream: &str, identifier: &Arc<str>, sub: Subscriber) {
        let mut map = Self::lock(self.shard(stream));
        let groups = map.entry(Arc::from(stream)).or_default();
        groups.entry((identifier.clone(), sub.dialect)).or_default().add(sub);
    }

    /// Removes a subscriber; empty streams are dropped.
    pub fn unsubscribe(&self, stream: &str, identifier: &Arc<str>, dialect: Dialect, session: SessionId) {
        let mut map = Self::lock(self.shard(stream));
        if let Some(groups) = map.get_mut(stream) {
            let key = (identifier.clone(), dialect);
            if let Some(group) = groups.get_mut(&key) {
                group.remove(session);
                if group.subs.is_empty() {
                    groups.remove(&key);
                }
            }
            if groups.is_empty() {
                map.remove(stream);
            }
        }
    }

    /// Delivers to every subscriber of `stream` but `exclude`; encodes once per identifier
    /// group. Idle connections get the frame on their socket at once, unless broadcasts come
    /// too fast for that (see [`direct`]).
    ///
    /// Queued, every push happens under the shard's lock; written directly, the subscribers
    /// are copied out first (a refcount each), so the writes never hold up subscribes to the
    /// shard's other streams. Broadcasts of one stream are in order either way: the engine
    /// makes them one at a time (the memory engine under the stream's history lock, the Redis
    /// engine from its one reader).
    pub fn broadcast(&self, stream: &str, encode: &dyn Encode, exclude: Option<SessionId>) -> FanoutStats {
        let mut stats = FanoutStats::default();
        let accepted = std::time::Instant::now();
        let direct = self.direct.allowed();
        let mut targets: Vec<(Frame, Vec<Outbox>)> = Vec::new();
        {
            let map = Self::lock(self.shard(stream));
            let Some(groups) = map.get(stream) else { return stats };
            for ((identifier, dialect), Group { subs, .. }) in groups {
                // One identifier names one channel: the group's first subscriber says which.
                let Some(channel) = subs.first().map(|s| s.channel) else { continue };
                let frame = Frame::text(&encode.frame(identifier, *dialect)).published_at(accepted).labelled(SentLabel::new(channel, SentKind::Data));
                let to = subs.iter().filter(|s| Some(s.session) != exclude).map(|s| &s.outbox);
                if direct {
                    targets.push((frame, to.cloned().collect()));
                } else {
                    for outbox in to {
                        stats.count(outbox.push(frame.clone()));
                    }
                }
            }
        }
        let mut sent = SentTally::default();
        for (frame, outboxes) in targets {
            for outbox in outboxes {
                stats.count(outbox.deliver(frame.clone(), &mut sent));
            }
        }
        self.direct.record(stats.queued, stats.written, accepted.elapsed());
        stats
    }

    /// Removes every subscriber of `stream` and tells each one's session it was evicted:
    /// nothing more of the stream reaches them from here on. For when the stream can no
    /// longer be delivered in order (a gap that cannot be filled, a new epoch). Returns how
    /// many were evicted.
    pub fn evict(&self, stream: &str) -> usize {
        let groups = Self::lock(self.shard(stream)).remove(stream);
        let subs: Vec<Subscriber> = groups.into_iter().flat_map(|g| g.into_values()).flat_map(|g| g.subs).collect();
        for s in &subs {
            s.outbox.evict();
        }
        subs.len()
    }

    /// Number of streams with at least one subscriber.
    pub fn stream_count(&self) -> usize {
        self.shards.iter().map(|s| Self::lock(s).len()).sum()
    }

    /// Number of subscribers of one stream.
    pub fn subscriber_count(&self, stream: &str) -> usize {
        Self::lock(self.shard(stream)).get(stream).map_or(0, |g| g.values().map(|g| g.subs.len()).sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fanout_encodes_once_per_identifier_and_skips_the_excluded() {
        let hub = Hub::new(4);
        let (a, ra) = outbox::channel(1 << 20, None);
        let (b, rb) = outbox::channel(1 << 20, None);
        let (c, rc) = outbox::channel(1 << 20, None);
        let id1: Arc<str> = Arc::from("id1");
        let id2: Arc<str> = Arc::from("id2");
        let (sa, sb, sc) = (SessionId::next(), SessionId::next(), SessionId::next());
        let sub = |session, outbox| Subscriber { session, outbox, dialect: Dialect::V1, channel: ChannelLabel::UNKNOWN };
        hub.subscribe("s", &id1, sub(sa, a));
        hub.subscribe("s", &id1, sub(sb, b));
        hub.subscribe("s", &id2, sub(sc, c));
        let encodes = std::cell::Cell::new(0);
        let enc = |id: &str, _: Dialect| {
            encodes.set(encodes.get() + 1);
            format!("frame:{id}")
        };
        let stats = hub.broadcast("s", &enc, Some(sb));
        assert_eq!(stats.queued, 2);
        assert_eq!(encodes.get(), 2);
        let only = |inbox: &outbox::Inbox| inbox.take().map(|(q, _)| q.iter().map(|f| f.as_bytes().to_vec()).collect::<Vec<_>>());
        assert_eq!(only(&ra), Some(vec![Frame::text("frame:id1").as_bytes().to_vec()]));
        assert_eq!(only(&rc), Some(vec![Frame::text("frame:id2").as_bytes().to_vec()]));
        assert!(rb.take().is_none());
        hub.unsubscribe("s", &id1, Dialect::V1, sa);
        hub.unsubscribe("s", &id1, Dialect::V1, sb);
        hub.unsubscribe("s", &id2, Dialect::V1, sc);
        assert_eq!(hub.stream_count(), 0);
    }

    #[tokio::test]
    async fn eviction_removes_the_stream_and_tells_each_session() {
        let hub = Hub::new(4);
        let (a, ra) = outbox::channel(1 << 20, None);
        let id: Arc<str> = Arc::from("id");
        hub.subscribe("s", &id, Subscriber { session: SessionId::next(), outbox: a.clone(), dialect: Dialect::Ext, channel: ChannelLabel::UNKNOWN });
        hub.subscribe("t", &id, Subscriber { session: SessionId::next(), outbox: a, dialect: Dialect::Ext, channel: ChannelLabel::UNKNOWN });
        assert_eq!(hub.evict("s"), 1);
        assert!(ra.evicted());
        assert_eq!((hub.subscriber_count("s"), hub.subscriber_count("t")), (0, 1));
        assert_eq!(hub.broadcast("s", &|_: &str, _: Dialect| String::from("x"), None).queued, 0);
    }

    #[test]
    fn subscribers_come_and_go_in_any_order_and_each_gets_one_frame() {
        let hub = Hub::new(1);
        let id: Arc<str> = Arc::from("id");
        let mut inboxes = Vec::new();
        let sessions: Vec<SessionId> = (0..6).map(|_| SessionId::next()).collect();
        for &session in &sessions {
            let (outbox, inbox) = outbox::channel(1 << 20, None);
            let sub = Subscriber { session, outbox, dialect: Dialect::V1, channel: ChannelLabel::UNKNOWN };
            hub.subscribe("s", &id, sub.clone());
            hub.subscribe("s", &id, sub);
            inboxes.push(inbox);
        }
        assert_eq!(hub.subscriber_count("s"), 6, "a session subscribed twice is listed once");
        for i in [0, 3, 5] {
            hub.unsubscribe("s", &id, Dialect::V1, sessions[i]);
        }
        hub.unsubscribe("s", &id, Dialect::V1, sessions[0]);
        assert_eq!(hub.subscriber_count("s"), 3);
        assert_eq!(hub.broadcast("s", &|_: &str, _: Dialect| String::from("x"), None).queued, 3);
        let got: Vec<usize> = inboxes.iter().map(|i| i.take().map_or(0, |(q, _)| q.len())).collect();
        assert_eq!(got, vec![0, 1, 1, 0, 1, 0], "exactly the ones still subscribed, once each");
        for i in [1, 2, 4] {
            hub.unsubscribe("s", &id, Dialect::V1, sessions[i]);
        }
        assert_eq!(hub.stream_count(), 0);
    }
}
