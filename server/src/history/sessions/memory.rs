//! The in-memory [`SessionStore`]: kept sessions in a map, bounded in count, timed with
//! tokio's clock (so tests with paused time see them expire).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::{KeptSession, SessionStore};

/// Most sessions kept; beyond it new ones are not kept (the client resubscribes).
const CAPACITY: usize = 100_000;

/// Kept sessions by sid, each with the instant it was kept.
#[derive(Debug)]
pub struct MemorySessions {
    ttl: Duration,
    // A std mutex: nothing awaits while it is held, and each use is one map operation.
    map: Mutex<HashMap<String, (KeptSession, Instant)>>,
}

impl MemorySessions {
    /// An empty store keeping sessions for `ttl`.
    pub fn new(ttl: Duration) -> Self {
        MemorySessions { ttl, map: Mutex::new(HashMap::new()) }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, (KeptSession, Instant)>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl SessionStore for MemorySessions {
    fn keep(&self, sid: String, session: KeptSession) {
        let mut map = self.map();
        if map.len() >= CAPACITY {
            return;
        }
        map.insert(sid, (session, Instant::now()));
    }

    fn take(&self, sid: &str, sub: &str, account_id: &str, now: i64) -> Option<KeptSession> {
        let mut map = self.map();
        let (session, at) = map.get(sid)?;
        if at.elapsed() > self.ttl || session.expires_at <= now {
            map.remove(sid);
            return None;
        }
        // Someone else presenting the sid gets nothing, and does not spoil it for its owner.
        if session.sub != sub || session.account_id != account_id {
            return None;
        }
        map.remove(sid).map(|(s, _)| s)
    }

    fn sweep(&self) -> usize {
        let mut map = self.map();
        let before = map.len();
        map.retain(|_, (_, at)| at.elapsed() <= self.ttl);
        before - map.len()
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
        let store = MemorySessions::new(Duration::from_secs(60));
        store.keep("s1".into(), kept("u1", NOW + 3600));
        assert!(store.take("s1", "u2", "acc1", NOW).is_none(), "another principal gets nothing");
        assert!(store.take("s1", "u1", "acc2", NOW).is_none(), "another account gets nothing");
        assert_eq!(store.take("s1", "u1", "acc1", NOW).map(|s| s.sub), Some("u1".into()), "the owner still gets it");
        assert!(store.take("s1", "u1", "acc1", NOW).is_none(), "only once");
    }

    #[tokio::test(start_paused = true)]
    async fn sessions_expire_with_the_ttl_and_with_the_token() {
        let store = MemorySessions::new(Duration::from_secs(60));
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

    #[test]
    fn sids_are_long_and_distinct() {
        let (a, b) = (crate::history::sessions::new_sid(), crate::history::sessions::new_sid());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }
}
