//! Session resume (`?sid=`, ext protocol): a dropped connection's subscriptions are kept
//! for a while, bound to its principal, so a client that comes back within the TTL gets
//! them back without re-authorization, then asks for the history it missed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::channels::ChannelDescriptor;

/// Most sessions kept; beyond it the oldest are not kept (the client resubscribes).
const CAPACITY: usize = 100_000;

/// One subscription as kept.
#[derive(Debug, Clone)]
pub struct KeptSubscription {
    /// Identifier, as the client sent it.
    pub identifier: Arc<str>,
    /// Channel.
    pub channel: &'static ChannelDescriptor,
    /// Params.
    pub params: Value,
    /// Streams.
    pub streams: Vec<String>,
}

/// A session as kept after its connection closed.
#[derive(Debug, Clone)]
pub struct KeptSession {
    /// The principal it belonged to.
    pub sub: String,
    /// Its account.
    pub account_id: String,
    /// When its token expires (Unix seconds): after that it cannot be resumed.
    pub expires_at: i64,
    /// Its subscriptions.
    pub subscriptions: Vec<KeptSubscription>,
}

/// Kept sessions by sid.
#[derive(Debug)]
pub struct SessionStore {
    ttl: Duration,
    map: Mutex<HashMap<String, (KeptSession, Instant)>>,
}

impl SessionStore {
    /// An empty store keeping sessions for `ttl`.
    pub fn new(ttl: Duration) -> Self {
        SessionStore { ttl, map: Mutex::new(HashMap::new()) }
    }

    /// A fresh, unguessable session id.
    pub fn new_sid() -> String {
        format!("{:032x}", rand::random::<u128>())
    }

    /// Keeps a session under `sid`.
    pub fn keep(&self, sid: String, session: KeptSession) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= CAPACITY {
            return;
        }
        map.insert(sid, (session, Instant::now()));
    }

    /// Takes the session `sid` if it is still fresh, belongs to this principal and its
    /// token has not expired. A session can be resumed once.
    pub fn take(&self, sid: &str, sub: &str, account_id: &str, now: i64) -> Option<KeptSession> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
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

    /// Drops sessions past the TTL; returns how many.
    pub fn sweep(&self) -> usize {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let before = map.len();
        map.retain(|_, (_, at)| at.elapsed() <= self.ttl);
        before - map.len()
    }
}
