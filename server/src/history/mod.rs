//! Per-stream history: what lets a client that dropped off come back with nothing lost
//! and nothing duplicated, or be told plainly that it must reload.
//!
//! Every message published to a stream gets a position `(epoch, offset)`: offsets rise by
//! one within an epoch, and an epoch names one lifetime of the stream's history (a restart
//! or an expired history starts a new one, so old positions are never mistaken for new).
//! A replay is all or nothing: when any part of a gap is gone, the answer is a [`Gap`].
//!
//! Ordering is the store's job: [`HistoryStore::append`] calls `deliver` while it still
//! holds the stream, and [`HistoryStore::replay`] calls `register` while it holds every
//! stream of the subscription, so a subscriber is registered exactly between the last
//! replayed message and the first live one.
//!
//! [`sessions`] keeps a dropped connection's subscriptions for a resume (`?sid=`): the
//! other half of coming back with nothing lost.

pub mod memory;
pub mod sessions;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::codegen_support::HistoryPolicy;
use crate::protocol::command::StreamPosition;

/// Where a message sits in its stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// The history lifetime.
    pub epoch: Arc<str>,
    /// Rises by one per message within the epoch.
    pub offset: u64,
}

/// One stored message.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its offset.
    pub offset: u64,
    /// Unix seconds when it was published.
    pub at: u64,
    /// The encoded envelope.
    pub message: Arc<str>,
}

/// Why a gap cannot be filled (the client must reload).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Gap {
    /// The client's epoch is not the stream's current one (restart, or history expired).
    #[error("unknown epoch")]
    UnknownEpoch,
    /// Messages after the client's offset were evicted.
    #[error("messages after the offset were evicted")]
    Evicted,
    /// The offset is ahead of the stream.
    #[error("offset is ahead of the stream")]
    Future,
    /// `since` is older than what the history still covers.
    #[error("`since` is older than the history")]
    TooOld,
}

/// What a subscription asks to replay.
#[derive(Debug, Clone, Default)]
pub struct ReplayRequest {
    /// Unix seconds; for streams without a position.
    pub since: Option<u64>,
    /// Known positions per stream.
    pub positions: BTreeMap<String, StreamPosition>,
}

/// The missed messages of one stream.
#[derive(Debug, Clone)]
pub struct StreamReplay {
    /// The stream.
    pub stream: String,
    /// Its epoch.
    pub epoch: Arc<str>,
    /// Missed messages, in offset order.
    pub entries: Vec<Entry>,
}

/// A history store. The in-memory one is the default; a shared (Redis) one can follow
/// behind the same trait.
pub trait HistoryStore: Send + Sync {
    /// Appends `message` to `stream` and calls `deliver` with its position before any later
    /// message of the stream can be appended.
    fn append(&self, stream: &str, message: &Arc<str>, policy: HistoryPolicy, now: u64, deliver: &mut dyn FnMut(&Position));

    /// Computes the replay for `streams` and calls `register` with it (or the first gap)
    /// while no message can be appended to any of them.
    fn replay(&self, streams: &[String], request: &ReplayRequest, now: u64, register: &mut dyn FnMut(Result<Vec<StreamReplay>, Gap>));

    /// Drops expired messages and idle streams; returns the streams dropped.
    fn sweep(&self, now: u64) -> usize;

    /// Messages held and their bytes, for the memory bound.
    fn usage(&self) -> (usize, usize);
}
