//! Session resume (`?sid=`, ext protocol): a dropped connection's subscriptions are kept
//! for a while, bound to its principal, so a client that comes back within the TTL gets
//! them back without re-authorization, then asks [`HistoryStore`](super::HistoryStore)
//! for what it missed.
//!
//! [`SessionStore`] is the seam; [`memory::MemorySessions`] is the single-node store. A
//! shared store lets a client resume on another node.

pub mod memory;

use std::sync::Arc;

use serde_json::Value;

use crate::channels::ChannelDescriptor;

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

/// Where kept sessions wait for their client, by session id.
pub trait SessionStore: Send + Sync {
    /// Keeps a session under `sid` for the store's TTL. A full store may decline (the
    /// client then resubscribes).
    fn keep(&self, sid: String, session: KeptSession);

    /// Takes the session `sid` if it is still fresh, belongs to this principal (`sub` of
    /// `account_id`) and its token has not expired at `now` (Unix seconds). A session can be
    /// resumed once; a different principal presenting the sid gets nothing and leaves it to
    /// its owner.
    fn take(&self, sid: &str, sub: &str, account_id: &str, now: i64) -> Option<KeptSession>;

    /// Drops sessions past the TTL; returns how many.
    fn sweep(&self) -> usize;
}

/// A fresh, unguessable session id.
pub fn new_sid() -> String {
    format!("{:032x}", rand::random::<u128>())
}
