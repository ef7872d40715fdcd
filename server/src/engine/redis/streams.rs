//! The streams this node is subscribed to in Redis, and delivering them in order.
//!
//! A stream is subscribed while at least one local subscription holds a [`Lease`] on it:
//! the first lease SUBSCRIBEs the node (and waits for Redis to confirm it, then for the
//! position Redis held at that moment), the last one to go UNSUBSCRIBEs it. So a node
//! never receives streams nobody listens to on it.
//!
//! Each stream has a [`Tracker`] behind a lock. Deliveries from pub/sub, gap fills, position
//! checks and joins all take that lock, so a subscriber joins exactly between two
//! deliveries: its replay is what Redis held when it read it, plus what was delivered
//! since (the tracker's recent deliveries), and everything after comes live.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::calls::Calls;
use super::history::{self, Meta, StreamRead};
use super::keys::Keys;
use super::stats::RedisStats;
use super::tracker::{EvictCause, Next, Top, Tracker};
use super::wire::{self, Delivery};
use crate::broker;
use crate::engine::{EngineError, Join, Joining, Leases};
use crate::history::{Gap, Position};
use crate::hub::{Hub, SessionId};
use crate::protocol::frame;

/// What the pub/sub task is asked to do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// SUBSCRIBE a stream's channel.
    Subscribe(Arc<str>),
    /// UNSUBSCRIBE it.
    Unsubscribe(Arc<str>),
}

/// Streams checked per pipeline.
const CHECK_BATCH: usize = 256;

/// One subscribed stream.
pub struct StreamEntry {
    name: Arc<str>,
    tracker: Mutex<Tracker>,
    /// Redis confirmed the SUBSCRIBE (reset while the pub/sub connection is down).
    acked: std::sync::atomic::AtomicBool,
    /// True once the position at subscribe time is known: leases wait for it.
    ready: watch::Sender<bool>,
}

impl StreamEntry {
    /// The stream.
    pub fn name(&self) -> Arc<str> {
        self.name.clone()
    }
}

struct Slot {
    refs: usize,
    entry: Arc<StreamEntry>,
}

/// The subscribed streams.
pub struct Streams {
    map: Mutex<HashMap<Arc<str>, Slot>>,
    hub: Arc<Hub>,
    node: Arc<str>,
    stats: Arc<RedisStats>,
    calls: Calls,
    keys: Keys,
    commands: mpsc::UnboundedSender<Command>,
}

/// A local subscription's hold on a stream; dropping it may unsubscribe the node.
pub struct Lease {
    streams: Arc<Streams>,
    name: Arc<str>,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Lease({})", self.name)
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.streams.release(&self.name);
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Streams {
    /// No streams yet; SUBSCRIBE and UNSUBSCRIBE go to the pub/sub task through `commands`.
    pub fn new(hub: Arc<Hub>, node: Arc<str>, stats: Arc<RedisStats>, calls: Calls, keys: Keys, commands: mpsc::UnboundedSender<Command>) -> Arc<Self> {
        Arc::new(Streams { map: Mutex::new(HashMap::new()), hub, node, stats, calls, keys, commands })
    }

    /// This node's id, as publications name their origin.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Holds `stream`: subscribes the node when it is the first, and waits until the stream
    /// is delivered in order from a known position.
    ///
    /// # Errors
    /// [`EngineError`] when the pub/sub connection is down or Redis does not confirm in time.
    pub async fn acquire(self: &Arc<Self>, stream: &str) -> Result<Lease, EngineError> {
        let (lease, mut ready) = {
            let mut map = lock(&self.map);
            let slot = map.entry(Arc::from(stream)).or_insert_with(|| {
                let name: Arc<str> = Arc::from(stream);
                let (ready, _) = watch::channel(false);
                let entry = Arc::new(StreamEntry { name: name.clone(), tracker: Mutex::new(Tracker::default()), acked: false.into(), ready });
                let _ = self.commands.send(Command::Subscribe(name));
                Slot { refs: 0, entry }
            });
            slot.refs += 1;
            (Lease { streams: self.clone(), name: slot.entry.name.clone() }, slot.entry.ready.subscribe())
        };
        if *ready.borrow() {
            return Ok(lease);
        }
        if !self.stats.pubsub_up.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(EngineError::Unreachable("the pub/sub connection is down".into()));
        }
        let timeout = self.calls.timeout();
        let confirmed = tokio::time::timeout(timeout, ready.wait_for(|r| *r)).await.is_ok_and(|r| r.is_ok());
        if confirmed {
            Ok(lease)
        } else {
            Err(EngineError::Timeout(timeout))
        }
    }

    fn release(&self, name: &str) {
        let mut map = lock(&self.map);
        let Some(slot) = map.get_mut(name) else { return };
        slot.refs -= 1;
        if slot.refs == 0 {
            map.remove(name);
            let _ = self.commands.send(Command::Unsubscribe(Arc::from(name)));
        }
    }

    /// Every subscribed stream.
    pub fn entries(&self) -> Vec<Arc<StreamEntry>> {
        lock(&self.map).values().map(|s| s.entry.clone()).collect()
    }

    /// How many streams the node is subscribed to.
    pub fn len(&self) -> usize {
        lock(&self.map).len()
    }

    /// Whether the node is subscribed to no stream.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn entry(&self, stream: &str) -> Option<Arc<StreamEntry>> {
        lock(&self.map).get(stream).map(|s| s.entry.clone())
    }

    /// The pub/sub connection went away: nothing is subscribed until it is back.
    pub fn disconnected(&self) {
        for e in self.entries() {
            e.acked.store(false, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Redis confirmed the SUBSCRIBE of `names`: learn where each stream stood (a stream seen
    /// before catches up on what it missed meanwhile, at once).
    pub fn subscribed(self: &Arc<Self>, names: &[Arc<str>]) {
        let entries: Vec<Arc<StreamEntry>> = names.iter().filter_map(|n| self.entry(n)).collect();
        for e in &entries {
            e.acked.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        let me = self.clone();
        tokio::spawn(async move { me.check_entries(&entries, true).await });
    }

    /// Compares every subscribed stream with the position Redis holds, filling what this
    /// node missed (a silent pub/sub connection).
    pub async fn check(self: &Arc<Self>) {
        let entries = self.entries();
        self.check_entries(&entries, false).await;
        RedisStats::bump(&self.stats.position_checks);
    }

    async fn check_entries(self: &Arc<Self>, entries: &[Arc<StreamEntry>], immediately: bool) {
        for chunk in entries.chunks(CHECK_BATCH) {
            let chunk: Vec<&Arc<StreamEntry>> = chunk.iter().filter(|e| e.acked.load(std::sync::atomic::Ordering::Relaxed)).collect();
            if chunk.is_empty() {
                continue;
            }
            let mut pipe = redis::pipe();
            for e in &chunk {
                pipe.add_command(history::hmget_meta(&self.keys, &e.name));
            }
            let metas: Vec<Vec<Option<String>>> = match self.calls.pipeline(&pipe).await {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(error = %e, streams = chunk.len(), "position check failed");
                    return;
                }
            };
            for (entry, meta) in chunk.into_iter().zip(metas) {
                let meta = Meta::from_hmget(meta);
                let top = meta.epoch.map(|epoch| Top { epoch: Arc::from(epoch), offset: meta.top });
                let next = {
                    let mut t = lock(&entry.tracker);
                    let next = if t.initialized() {
                        t.checked(top, immediately)
                    } else {
                        let next = t.init(top, &mut self.fanout(&entry.name));
                        entry.ready.send_replace(true);
                        next
                    };
                    self.evict_if(&entry.name, &next)
                };
                self.spawn_fill(entry, next);
            }
        }
    }

    /// A message on one of our pub/sub channels.
    pub fn deliver(self: &Arc<Self>, channel: &str, payload: &[u8]) {
        let Some(stream) = self.keys.stream_of_channel(channel) else { return };
        let Some(entry) = self.entry(stream) else { return };
        let delivery = match wire::decode(payload) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(stream, error = %e, "ignored a pub/sub message");
                return;
            }
        };
        let next = {
            let mut t = lock(&entry.tracker);
            if t.is_duplicate(&delivery) {
                RedisStats::bump(&self.stats.duplicates);
            }
            let next = t.offer(delivery, &mut self.fanout(stream));
            self.evict_if(stream, &next)
        };
        self.spawn_fill(&entry, next);
    }

    /// Delivers to this node's subscribers of `stream`, sparing the relay's sender when it
    /// is ours.
    fn fanout<'a>(&'a self, stream: &'a str) -> impl FnMut(&Delivery) + 'a {
        move |d: &Delivery| {
            let exclude = if *d.node == *self.node { d.exclude.map(SessionId) } else { None };
            broker::fanout(&self.hub, stream, &d.message, &Position { epoch: d.epoch.clone(), offset: d.offset }, exclude);
        }
    }

    /// Evicts the stream's subscribers when `next` says so; called with the tracker locked,
    /// so that nothing more of the stream reaches them.
    fn evict_if(&self, stream: &str, next: &Next) -> Next {
        if let Next::Evict(cause) = next {
            let evicted = self.hub.evict(stream);
            self.stats.evictions.fetch_add(evicted as u64, std::sync::atomic::Ordering::Relaxed);
            match cause {
                EvictCause::Unfilled => RedisStats::bump(&self.stats.gaps_unfilled),
                EvictCause::NewEpoch => RedisStats::bump(&self.stats.epoch_changes),
            }
            tracing::warn!(stream, evicted, cause = ?cause, "stream cannot be delivered in order: its subscribers resume through history");
        }
        next.clone()
    }

    /// Fills a gap from the stream's history, in a task, as long as the tracker asks.
    fn spawn_fill(self: &Arc<Self>, entry: &Arc<StreamEntry>, next: Next) {
        let Next::Fill { mut from, mut to } = next else { return };
        let (me, entry) = (self.clone(), entry.clone());
        tokio::spawn(async move {
            loop {
                RedisStats::bump(&me.stats.gaps_detected);
                tracing::info!(stream = &*entry.name, from, to, "offset gap: filling from the history");
                let read = me.read_range(&entry.name, from, to).await;
                let next = {
                    let mut t = lock(&entry.tracker);
                    let next = t.filled(read, to, &mut me.fanout(&entry.name));
                    me.evict_if(&entry.name, &next)
                };
                if !matches!(next, Next::Evict(_)) {
                    RedisStats::bump(&me.stats.gaps_filled);
                }
                match next {
                    Next::Fill { from: f, to: t } => (from, to) = (f, t),
                    _ => break,
                }
            }
        });
    }

    /// One retry after a short pause, then give up (the subscribers resume through history).
    async fn read_range(&self, stream: &str, from: u64, to: u64) -> Option<(Option<Arc<str>>, Vec<Delivery>)> {
        for attempt in 0..2 {
            match history::read_range(&self.calls, &self.keys, stream, from, to).await {
                Ok(read) => return Some(read),
                Err(e) => {
                    tracing::warn!(stream, attempt, error = %e, "gap fill read failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        None
    }

    /// The epoch each stream's tracker has now (before a replay read).
    pub fn epochs(&self, streams: &[String]) -> Vec<Option<Arc<str>>> {
        streams.iter().map(|s| self.entry(s).and_then(|e| lock(&e.tracker).position().0.cloned())).collect()
    }

    /// Replays, then registers, with every stream's tracker held: the replay is what Redis
    /// held at the read plus what this node delivered since; everything later comes live.
    pub fn join(&self, joining: Joining, j: &Join<'_>) -> (Option<bool>, Leases) {
        let mut names: Vec<&String> = j.streams.iter().collect();
        names.sort();
        names.dedup();
        let entries: Vec<Arc<StreamEntry>> = names.iter().filter_map(|n| self.entry(n)).collect();
        let guards: Vec<MutexGuard<'_, Tracker>> = entries.iter().map(|e| lock(&e.tracker)).collect();
        let confirmed = j.request.map(|request| {
            let reads = match joining.replay {
                Some(Ok(reads)) => reads,
                Some(Err(gap)) => return self.rejected(j, gap),
                None => return self.rejected(j, Gap::UnknownEpoch),
            };
            let mut frames = Vec::new();
            for read in &reads {
                let wants = request.positions.contains_key(&read.stream) || request.since.is_some();
                let Some(i) = entries.iter().position(|e| *e.name == *read.stream) else { continue };
                if !wants {
                    continue;
                }
                match replay_frames(read, &guards[i], request.since, j.identifier) {
                    Some(f) => frames.extend(f),
                    None => return self.rejected(j, Gap::Evicted),
                }
            }
            for f in frames {
                let _ = j.subscriber.outbox.push(j.subscriber.replayed(&f));
            }
            true
        });
        if j.register {
            for stream in j.streams {
                self.hub.subscribe(stream, j.identifier, j.subscriber.clone());
            }
        }
        drop(guards);
        (confirmed, joining.leases)
    }

    fn rejected(&self, j: &Join<'_>, gap: Gap) -> bool {
        tracing::info!(session = j.subscriber.session.0, identifier = &**j.identifier, %gap, "history rejected");
        false
    }
}

/// The frames of one stream's replay: what was read up to what this node has delivered, plus
/// what it delivered after the read. `None` when that cannot be told exactly.
fn replay_frames(read: &StreamRead, t: &Tracker, since: Option<u64>, identifier: &str) -> Option<Vec<String>> {
    let (epoch, last) = t.position();
    if read.epoch.is_empty() {
        // Redis held nothing of the stream at the read. What this node delivered in the
        // epoch it had before belongs to a history that is gone; an epoch it took up after
        // the read is the stream's new history, all of it missed by this subscriber.
        return match epoch {
            Some(now) if read.tracked_before.as_ref() != Some(now) => {
                let newer = t.recent_from(1)?;
                Some(newer.iter().filter(|r| since.is_none_or(|s| r.at >= s)).map(|r| frame::data_at(identifier, &r.message, &read.stream, now, r.offset)).collect())
            }
            _ => Some(Vec::new()),
        };
    }
    if epoch.is_some_and(|e| **e != *read.epoch) {
        return None;
    }
    let epoch: Arc<str> = epoch.cloned().unwrap_or_else(|| read.epoch.clone());
    let mut frames: Vec<String> = read.entries.iter().filter(|e| e.offset <= last).map(|e| frame::data_at(identifier, &e.message, &read.stream, &epoch, e.offset)).collect();
    if last > read.top {
        let newer = t.recent_from(read.top + 1)?;
        let from = read.entries.last().map_or(0, |e| e.offset);
        for r in newer.iter().filter(|r| r.offset > from && since.is_none_or(|s| r.at >= s)) {
            frames.push(frame::data_at(identifier, &r.message, &read.stream, &epoch, r.offset));
        }
    }
    Some(frames)
}

#[cfg(test)]
mod tests {
    use super::super::tracker::RECENT;
    use super::*;
    use crate::history::Entry;

    fn tracker_at(epoch: &str, offsets: std::ops::RangeInclusive<u64>) -> Tracker {
        let mut t = Tracker::default();
        let start = *offsets.start();
        t.init(Some(Top { epoch: Arc::from(epoch), offset: start - 1 }), &mut |_| {});
        for o in offsets {
            t.offer(Delivery { offset: o, epoch: Arc::from(epoch), node: String::new(), exclude: None, at: 100, message: Arc::from(format!("\"m{o}\"")) }, &mut |_| {});
        }
        t
    }

    fn read(epoch: &str, top: u64, entries: impl IntoIterator<Item = u64>, before: Option<&str>) -> StreamRead {
        let entries = entries.into_iter().map(|o| Entry { offset: o, at: 100, message: Arc::from(format!("\"m{o}\"")) }).collect();
        StreamRead { stream: "s".into(), epoch: Arc::from(epoch), top, entries, tracked_before: before.map(Arc::from) }
    }

    fn offsets(frames: Option<Vec<String>>) -> Option<Vec<u64>> {
        frames.map(|f| f.iter().map(|f| serde_json::from_str::<serde_json::Value>(f).expect("json")["offset"].as_u64().expect("offset")).collect())
    }

    #[test]
    fn a_join_gets_the_read_and_what_was_delivered_since_exactly_once() {
        // Delivered 4 and 5 after the read (top 3): they come from the recent deliveries.
        let t = tracker_at("e", 1..=5);
        assert_eq!(offsets(replay_frames(&read("e", 3, 2..=3, Some("e")), &t, None, "id")), Some(vec![2, 3, 4, 5]));
        // The read is ahead of what was delivered: the rest comes live, not twice.
        let t = tracker_at("e", 1..=3);
        assert_eq!(offsets(replay_frames(&read("e", 5, 2..=5, Some("e")), &t, None, "id")), Some(vec![2, 3]));
        // Another epoch than the one delivered: not told exactly.
        assert_eq!(replay_frames(&read("f", 5, 2..=5, Some("e")), &t, None, "id"), None);
        // Delivered after the read, but no longer held: not told exactly.
        let t = tracker_at("e", 1..=(RECENT as u64 + 20));
        assert_eq!(replay_frames(&read("e", 3, 2..=3, Some("e")), &t, None, "id"), None);
    }

    #[test]
    fn a_stream_redis_does_not_hold_replays_only_a_history_begun_after_the_read() {
        let t = tracker_at("e", 1..=2);
        assert_eq!(offsets(replay_frames(&read("", 0, [], None), &t, None, "id")), Some(vec![1, 2]), "begun after the read");
        assert_eq!(offsets(replay_frames(&read("", 0, [], Some("e")), &t, None, "id")), Some(vec![]), "a history Redis lost");
    }
}
