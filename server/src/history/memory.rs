//! The embedded history store: a bounded ring per stream, in memory.
//!
//! Each stream keeps at most `size` messages for at most `ttl` seconds; a stream whose
//! messages have all expired is dropped, and its next message starts a new epoch. So
//! memory is bounded by the live streams' rings, whatever the publish volume.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{Entry, Gap, HistoryStore, Position, ReplayRequest, StreamReplay};
use crate::codegen_support::HistoryPolicy;

#[derive(Debug)]
struct Log {
    epoch: Arc<str>,
    /// Offset of the last appended message (0: none yet).
    last: u64,
    entries: VecDeque<Entry>,
    /// Publish time of the newest message evicted or expired: `since` at or before it
    /// cannot be served in full.
    lost_upto: Option<u64>,
    policy: HistoryPolicy,
}

const SHARDS: usize = 16;

/// One shard of the stream logs, by stream name.
type Shard = Mutex<HashMap<String, Arc<Mutex<Log>>>>;

/// The in-memory store.
#[derive(Debug)]
pub struct MemoryHistory {
    /// Process-unique prefix of every epoch, so epochs never repeat across restarts.
    boot: String,
    /// Unix seconds when the store started: nothing published before is known.
    started: u64,
    next_epoch: AtomicU64,
    shards: Box<[Shard]>,
    held: AtomicUsize,
    bytes: AtomicUsize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl MemoryHistory {
    /// An empty store started at `now`.
    pub fn new(now: u64) -> Self {
        let boot = format!("{:x}{:04x}", now, rand::random::<u16>());
        MemoryHistory {
            boot,
            started: now,
            next_epoch: AtomicU64::new(1),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            held: AtomicUsize::new(0),
            bytes: AtomicUsize::new(0),
        }
    }

    fn shard(&self, stream: &str) -> &Mutex<HashMap<String, Arc<Mutex<Log>>>> {
        let mut h = DefaultHasher::new();
        stream.hash(&mut h);
        &self.shards[(h.finish() as usize) % SHARDS]
    }

    fn log(&self, stream: &str, policy: HistoryPolicy) -> Arc<Mutex<Log>> {
        let mut map = lock(self.shard(stream));
        map.entry(stream.to_owned())
            .or_insert_with(|| {
                let n = self.next_epoch.fetch_add(1, Ordering::Relaxed);
                Arc::new(Mutex::new(Log { epoch: Arc::from(format!("{}-{n}", self.boot)), last: 0, entries: VecDeque::new(), lost_upto: None, policy }))
            })
            .clone()
    }

    fn existing(&self, stream: &str) -> Option<Arc<Mutex<Log>>> {
        lock(self.shard(stream)).get(stream).cloned()
    }

    fn drop_front(&self, log: &mut Log) {
        if let Some(e) = log.entries.pop_front() {
            log.lost_upto = Some(log.lost_upto.map_or(e.at, |t| t.max(e.at)));
            self.held.fetch_sub(1, Ordering::Relaxed);
            self.bytes.fetch_sub(e.message.len(), Ordering::Relaxed);
        }
    }

    fn expire(&self, log: &mut Log, now: u64) {
        let ttl = u64::from(log.policy.ttl_seconds);
        while log.entries.front().is_some_and(|e| e.at + ttl < now) {
            self.drop_front(log);
        }
    }

    fn replay_one(&self, stream: &str, log: Option<&mut Log>, request: &ReplayRequest, now: u64) -> Result<StreamReplay, Gap> {
        let position = request.positions.get(stream);
        let Some(log) = log else {
            // No history: fine for a `since` we can vouch for (we were up), a gap otherwise.
            return match (position, request.since) {
                (Some(_), _) => Err(Gap::UnknownEpoch),
                (None, Some(since)) if since < self.started => Err(Gap::TooOld),
                _ => Ok(StreamReplay { stream: stream.to_owned(), epoch: Arc::from(""), entries: Vec::new() }),
            };
        };
        self.expire(log, now);
        let entries: Vec<Entry> = match (position, request.since) {
            (Some(p), _) => {
                if *p.epoch != *log.epoch {
                    return Err(Gap::UnknownEpoch);
                }
                if p.offset > log.last {
                    return Err(Gap::Future);
                }
                let oldest = log.entries.front().map_or(log.last + 1, |e| e.offset);
                if p.offset + 1 < oldest {
                    return Err(Gap::Evicted);
                }
                log.entries.iter().filter(|e| e.offset > p.offset).cloned().collect()
            }
            (None, Some(since)) => {
                if since < self.started || log.lost_upto.is_some_and(|t| since <= t) {
                    return Err(Gap::TooOld);
                }
                log.entries.iter().filter(|e| e.at >= since).cloned().collect()
            }
            (None, None) => Vec::new(),
        };
        Ok(StreamReplay { stream: stream.to_owned(), epoch: log.epoch.clone(), entries })
    }
}

impl HistoryStore for MemoryHistory {
    fn append(&self, stream: &str, message: &Arc<str>, policy: HistoryPolicy, now: u64, deliver: &mut dyn FnMut(&Position)) {
        let log = self.log(stream, policy);
        let mut log = lock(&log);
        log.policy = policy;
        log.last += 1;
        let offset = log.last;
        log.entries.push_back(Entry { offset, at: now, message: message.clone() });
        self.held.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(message.len(), Ordering::Relaxed);
        while log.entries.len() > policy.size as usize {
            self.drop_front(&mut log);
        }
        self.expire(&mut log, now);
        let position = Position { epoch: log.epoch.clone(), offset };
        deliver(&position);
    }

    fn replay(&self, streams: &[String], request: &ReplayRequest, now: u64, register: &mut dyn FnMut(Result<Vec<StreamReplay>, Gap>)) {
        // Lock every stream, in name order so two replays cannot deadlock; publishers lock
        // one stream at a time.
        let mut names: Vec<&String> = streams.iter().collect();
        names.sort();
        names.dedup();
        let logs: Vec<(&String, Option<Arc<Mutex<Log>>>)> = names.iter().map(|s| (*s, self.existing(s))).collect();
        let mut guards: Vec<(&String, Option<MutexGuard<'_, Log>>)> = logs.iter().map(|(s, l)| (*s, l.as_ref().map(|l| lock(l)))).collect();
        let mut out = Vec::with_capacity(guards.len());
        let mut result = Ok(());
        for (stream, guard) in guards.iter_mut() {
            match self.replay_one(stream, guard.as_deref_mut(), request, now) {
                Ok(r) => out.push(r),
                Err(g) => {
                    result = Err(g);
                    break;
                }
            }
        }
        register(result.map(|()| out));
        drop(guards);
    }

    fn sweep(&self, now: u64) -> usize {
        let mut dropped = 0;
        for shard in self.shards.iter() {
            let mut map = lock(shard);
            map.retain(|_, log| {
                let mut l = lock(log);
                self.expire(&mut l, now);
                let keep = !l.entries.is_empty();
                if !keep {
                    dropped += 1;
                }
                keep
            });
        }
        dropped
    }

    fn usage(&self) -> (usize, usize) {
        (self.held.load(Ordering::Relaxed), self.bytes.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::command::StreamPosition;

    const P: HistoryPolicy = HistoryPolicy { size: 3, ttl_seconds: 300 };

    fn append(h: &MemoryHistory, s: &str, m: &str, now: u64) -> Position {
        let mut pos = None;
        h.append(s, &Arc::from(m), P, now, &mut |p| pos = Some(p.clone()));
        pos.unwrap()
    }

    fn replay(h: &MemoryHistory, streams: &[&str], req: &ReplayRequest, now: u64) -> Result<Vec<StreamReplay>, Gap> {
        let streams: Vec<String> = streams.iter().map(|s| s.to_string()).collect();
        let mut out = None;
        h.replay(&streams, req, now, &mut |r| out = Some(r));
        out.unwrap()
    }

    fn at(epoch: &str, offset: u64) -> StreamPosition {
        StreamPosition { epoch: epoch.into(), offset }
    }

    #[test]
    fn offsets_rise_and_gaps_are_all_or_nothing() {
        let h = MemoryHistory::new(1000);
        let p1 = append(&h, "s", "a", 1000);
        let p2 = append(&h, "s", "b", 1001);
        assert_eq!((p1.offset, p2.offset), (1, 2));
        assert_eq!(p1.epoch, p2.epoch);
        let req = ReplayRequest { since: None, positions: [("s".to_string(), at(&p1.epoch, 1))].into() };
        let r = replay(&h, &["s"], &req, 1002).unwrap();
        assert_eq!(r[0].entries.iter().map(|e| &*e.message).collect::<Vec<_>>(), ["b"]);
        // Evicted: size 3, so after 5 messages offset 1 cannot be continued.
        for m in ["c", "d", "e"] {
            append(&h, "s", m, 1003);
        }
        assert_eq!(replay(&h, &["s"], &req, 1004).unwrap_err(), Gap::Evicted);
        let stale = ReplayRequest { since: None, positions: [("s".to_string(), at("other", 4))].into() };
        assert_eq!(replay(&h, &["s"], &stale, 1004).unwrap_err(), Gap::UnknownEpoch);
        let future = ReplayRequest { since: None, positions: [("s".to_string(), at(&p1.epoch, 99))].into() };
        assert_eq!(replay(&h, &["s"], &future, 1004).unwrap_err(), Gap::Future);
        // One bad stream rejects the whole replay.
        append(&h, "t", "x", 1004);
        let mixed = ReplayRequest { since: None, positions: [("s".to_string(), at(&p1.epoch, 1)), ("t".to_string(), at("zz", 0))].into() };
        assert!(replay(&h, &["s", "t"], &mixed, 1005).is_err());
    }

    #[test]
    fn since_is_served_only_when_the_history_covers_it() {
        let h = MemoryHistory::new(1000);
        append(&h, "s", "a", 1010);
        append(&h, "s", "b", 1020);
        let since = |t| ReplayRequest { since: Some(t), positions: Default::default() };
        assert_eq!(replay(&h, &["s"], &since(1015), 1021).unwrap()[0].entries.len(), 1);
        assert_eq!(replay(&h, &["s"], &since(999), 1021).unwrap_err(), Gap::TooOld, "before the store started");
        for m in ["c", "d"] {
            append(&h, "s", m, 1030);
        }
        assert_eq!(replay(&h, &["s"], &since(1005), 1031).unwrap_err(), Gap::TooOld, "a was evicted");
        assert_eq!(replay(&h, &["s"], &since(1025), 1031).unwrap()[0].entries.len(), 2);
        assert!(replay(&h, &["never"], &since(1025), 1031).unwrap()[0].entries.is_empty());
    }

    #[test]
    fn ttl_expiry_drops_streams_and_starts_a_new_epoch() {
        let h = MemoryHistory::new(1000);
        let p = append(&h, "s", "a", 1000);
        assert_eq!(h.sweep(1000 + 301), 1);
        assert_eq!(h.usage(), (0, 0));
        let q = append(&h, "s", "b", 1400);
        assert_ne!(p.epoch, q.epoch);
        assert_eq!(q.offset, 1);
    }

    #[test]
    fn memory_is_flat_under_a_million_messages() {
        // 1,000 streams, 100 messages each at most: the store holds at most 100,000
        // messages whatever is published, and its byte count stops growing.
        let h = MemoryHistory::new(0);
        let policy = HistoryPolicy { size: 100, ttl_seconds: 300 };
        let msg: Arc<str> = Arc::from("x".repeat(200));
        let mut samples = Vec::new();
        for i in 0..1_000_000u64 {
            let stream = format!("stream:{}", i % 1000);
            h.append(&stream, &msg, policy, i / 10_000, &mut |_| {});
            if (i + 1) % 200_000 == 0 {
                samples.push(h.usage());
            }
        }
        assert_eq!(samples.len(), 5);
        assert!(samples.iter().all(|&(n, b)| n == 100_000 && b == 100_000 * 200), "{samples:?}");
    }
}
