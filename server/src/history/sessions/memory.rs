//! The in-memory [`SessionStore`]: kept sessions in a map, bounded in count and in bytes,
//! timed with tokio's clock (so tests with paused time see them expire). A session that
//! does not fit pushes out the oldest kept ones: the newest are the likeliest to come back.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::{KeptSession, SessionStore};

/// Most sessions kept; past it the oldest are dropped first.
const CAPACITY: usize = 100_000;

/// What one kept entry costs besides its text: the map slots, the allocations' headers, the
/// parsed params' nodes (an estimate; the bound is on the order of the store, not exact).
const ENTRY_OVERHEAD: usize = 256;
/// What one kept subscription costs besides its text.
const SUBSCRIPTION_OVERHEAD: usize = 128;

/// The bytes a kept session holds, as the store counts them against its bound.
pub fn kept_bytes(sid: &str, session: &KeptSession) -> usize {
    let subscriptions: usize = session
        .subscriptions
        .iter()
        .map(|k| SUBSCRIPTION_OVERHEAD + k.identifier.len() + k.params.to_string().len() + k.streams.iter().map(|s| s.len() + 24).sum::<usize>())
        .sum();
    ENTRY_OVERHEAD + sid.len() + session.sub.len() + session.account_id.len() + subscriptions
}

/// Kept sessions by sid, each with the instant it was kept.
#[derive(Debug)]
pub struct MemorySessions {
    ttl: Duration,
    max_bytes: usize,
    evicted: std::sync::atomic::AtomicU64,
    // A std mutex: nothing awaits while it is held, and each use is a few map operations.
    kept: Mutex<Kept>,
}

#[derive(Debug, Default)]
struct Kept {
    by_sid: HashMap<String, Entry>,
    /// Sids by the order they were kept in: the oldest first.
    order: BTreeMap<u64, String>,
    next: u64,
    bytes: usize,
}

#[derive(Debug)]
struct Entry {
    session: KeptSession,
    at: Instant,
    seq: u64,
    bytes: usize,
}

impl Kept {
    fn remove(&mut self, sid: &str) -> Option<Entry> {
        let entry = self.by_sid.remove(sid)?;
        self.order.remove(&entry.seq);
        self.bytes -= entry.bytes;
        Some(entry)
    }
}

/// What the store holds, for `/health`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SessionsStats {
    /// Sessions kept.
    pub kept: usize,
    /// Their bytes, as counted against the bound.
    pub bytes: usize,
    /// The bound.
    pub max_bytes: usize,
    /// Kept sessions dropped to make room, since start.
    pub evicted: u64,
}

impl MemorySessions {
    /// An empty store keeping sessions for `ttl`, in at most `max_bytes`.
    pub fn new(ttl: Duration, max_bytes: usize) -> Self {
        MemorySessions { ttl, max_bytes, kept: Mutex::new(Kept::default()), evicted: std::sync::atomic::AtomicU64::new(0) }
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.kept.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What the store holds now.
    pub fn stats(&self) -> SessionsStats {
        let kept = self.kept();
        SessionsStats { kept: kept.by_sid.len(), bytes: kept.bytes, max_bytes: self.max_bytes, evicted: self.evicted.load(std::sync::atomic::Ordering::Relaxed) }
    }
}

impl SessionStore for MemorySessions {
    fn keep(&self, sid: String, session: KeptSession) {
        let bytes = kept_bytes(&sid, &session);
        if bytes > self.max_bytes {
            tracing::info!(bytes, max_bytes = self.max_bytes, "session not kept: larger than the whole store");
            return;
        }
        let mut kept = self.kept();
        kept.remove(&sid);
        let mut evicted = 0;
        while kept.bytes + bytes > self.max_bytes || kept.by_sid.len() >= CAPACITY {
            let Some(oldest) = kept.order.first_key_value().map(|(_, sid)| sid.clone()) else { break };
            kept.remove(&oldest);
            evicted += 1;
        }
        if evicted > 0 {
            self.evicted.fetch_add(evicted, std::sync::atomic::Ordering::Relaxed);
            tracing::debug!(evicted, "oldest kept sessions dropped to make room");
        }
        let seq = kept.next;
        kept.next += 1;
        kept.order.insert(seq, sid.clone());
        kept.bytes += bytes;
        kept.by_sid.insert(sid, Entry { session, at: Instant::now(), seq, bytes });
    }

    fn take(&self, sid: &str, sub: &str, account_id: &str, now: i64) -> Option<KeptSession> {
        let mut kept = self.kept();
        let entry = kept.by_sid.get(sid)?;
        if entry.at.elapsed() > self.ttl || entry.session.expires_at <= now {
            kept.remove(sid);
            return None;
        }
        // Someone else presenting the sid gets nothing, and does not spoil it for its owner.
        if entry.session.sub != sub || entry.session.account_id != account_id {
            return None;
        }
        kept.remove(sid).map(|e| e.session)
    }

    fn sweep(&self) -> usize {
        let mut kept = self.kept();
        let stale: Vec<String> = kept.by_sid.iter().filter(|(_, e)| e.at.elapsed() > self.ttl).map(|(sid, _)| sid.clone()).collect();
        for sid in &stale {
            kept.remove(sid);
        }
        stale.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(sub: &str, expires_at: i64) -> KeptSession {
        KeptSession { sub: sub.into(), account_id: "acc1".into(), expires_at, subscriptions: Vec::new() }
    }

    const NOW: i64 = 1_800_000_000;

    #[tokio::test(start_paused = true)]
    async fn a_session_is_resumed_once_by_its_owner_within_the_ttl() {
        let store = MemorySessions::new(Duration::from_secs(60), 1 << 20);
        store.keep("s1".into(), kept("u1", NOW + 3600));
        assert!(store.take("s1", "u2", "acc1", NOW).is_none(), "another principal gets nothing");
        assert!(store.take("s1", "u1", "acc2", NOW).is_none(), "another account gets nothing");
        assert_eq!(store.take("s1", "u1", "acc1", NOW).map(|s| s.sub), Some("u1".into()), "the owner still gets it");
        assert!(store.take("s1", "u1", "acc1", NOW).is_none(), "only once");
    }

    #[tokio::test(start_paused = true)]
    async fn sessions_expire_with_the_ttl_and_with_the_token() {
        let store = MemorySessions::new(Duration::from_secs(60), 1 << 20);
        store.keep("fresh".into(), kept("u1", NOW + 3600));
        store.keep("stale".into(), kept("u1", NOW + 3600));
        store.keep("expired-token".into(), kept("u1", NOW));
        assert!(store.take("expired-token", "u1", "acc1", NOW).is_none());
        tokio::time::advance(Duration::from_secs(61)).await;
        store.keep("fresh".into(), kept("u1", NOW + 3600));
        assert_eq!(store.sweep(), 1, "the stale one is swept");
        assert!(store.take("stale", "u1", "acc1", NOW).is_none());
        assert!(store.take("fresh", "u1", "acc1", NOW).is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn the_store_stays_under_its_byte_bound_by_dropping_the_oldest() {
        let one = kept_bytes("s0000", &kept("u1", NOW + 3600));
        let store = MemorySessions::new(Duration::from_secs(60), one * 3);
        for i in 0..10 {
            store.keep(format!("s{i:04}"), kept("u1", NOW + 3600));
            assert!(store.stats().bytes <= one * 3, "{:?}", store.stats());
        }
        assert_eq!(store.stats(), SessionsStats { kept: 3, bytes: one * 3, max_bytes: one * 3, evicted: 7 });
        assert!(store.take("s0006", "u1", "acc1", NOW).is_none(), "the oldest went first");
        assert!(store.take("s0009", "u1", "acc1", NOW).is_some(), "the newest is kept");
        assert_eq!(store.stats().bytes, one * 2, "a taken session gives its bytes back");
        store.keep("s0007".into(), kept("u1", NOW + 3600));
        assert_eq!(store.stats().kept, 2, "kept again under the same sid: replaced, not doubled");
    }

    #[test]
    fn sids_are_long_and_distinct() {
        let (a, b) = (crate::history::sessions::new_sid(), crate::history::sessions::new_sid());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }
}
