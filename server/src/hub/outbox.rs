//! One connection's outbound queue, bounded in bytes.
//!
//! Publishers push without waiting; the connection's writer drains. When the queued bytes
//! would pass the limit, the outbox flags the connection as too slow instead of growing
//! (AnyCable's `too_slow`): the session then disconnects it with `reconnect:true`. A slow
//! client never slows a publisher and never costs more than the limit.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use tokio::sync::{mpsc, Notify};

/// The sending half, shared by every stream the connection listens to.
#[derive(Debug, Clone)]
pub struct Outbox {
    inner: Arc<Inner>,
    tx: mpsc::UnboundedSender<Utf8Bytes>,
}

#[derive(Debug)]
struct Inner {
    queued: AtomicUsize,
    limit: usize,
    overflowed: AtomicBool,
    overflow: Notify,
}

/// What happened to a pushed frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Push {
    /// Queued for writing.
    Queued,
    /// Over the byte budget: the connection is being dropped as too slow.
    Overflow,
    /// The connection is gone.
    Closed,
}

/// The receiving half, owned by the connection's writer.
#[derive(Debug)]
pub struct Inbox {
    inner: Arc<Inner>,
    rx: mpsc::UnboundedReceiver<Utf8Bytes>,
}

/// A new outbox/inbox pair with a byte budget.
pub fn channel(limit_bytes: usize) -> (Outbox, Inbox) {
    let inner = Arc::new(Inner { queued: AtomicUsize::new(0), limit: limit_bytes, overflowed: AtomicBool::new(false), overflow: Notify::new() });
    let (tx, rx) = mpsc::unbounded_channel();
    (Outbox { inner: inner.clone(), tx }, Inbox { inner, rx })
}

impl Outbox {
    /// Queues a frame unless that would pass the byte budget. Never waits.
    pub fn push(&self, frame: Utf8Bytes) -> Push {
        if self.inner.overflowed.load(Ordering::Relaxed) {
            return Push::Overflow;
        }
        let len = frame.len();
        let before = self.inner.queued.fetch_add(len, Ordering::AcqRel);
        if before + len > self.inner.limit {
            self.inner.queued.fetch_sub(len, Ordering::AcqRel);
            if !self.inner.overflowed.swap(true, Ordering::AcqRel) {
                self.inner.overflow.notify_one();
            }
            return Push::Overflow;
        }
        if self.tx.send(frame).is_err() {
            self.inner.queued.fetch_sub(len, Ordering::AcqRel);
            return Push::Closed;
        }
        Push::Queued
    }

    /// Bytes waiting to be written.
    pub fn queued_bytes(&self) -> usize {
        self.inner.queued.load(Ordering::Relaxed)
    }
}

impl Inbox {
    /// The next frame (cancel-safe).
    pub async fn recv(&mut self) -> Option<Utf8Bytes> {
        let f = self.rx.recv().await?;
        self.inner.queued.fetch_sub(f.len(), Ordering::AcqRel);
        Some(f)
    }

    /// A frame that is already queued, without waiting (to write bursts in one go).
    pub fn try_recv(&mut self) -> Option<Utf8Bytes> {
        let f = self.rx.try_recv().ok()?;
        self.inner.queued.fetch_sub(f.len(), Ordering::AcqRel);
        Some(f)
    }

    /// A handle that completes once the outbox overflows, usable beside [`Inbox::recv`].
    pub fn watch(&self) -> OverflowWatch {
        OverflowWatch { inner: self.inner.clone() }
    }
}

/// Watches one outbox for overflow.
#[derive(Debug)]
pub struct OverflowWatch {
    inner: Arc<Inner>,
}

impl OverflowWatch {
    /// Completes once the outbox has overflowed (cancel-safe).
    pub async fn overflowed(&self) {
        loop {
            if self.inner.overflowed.load(Ordering::Acquire) {
                return;
            }
            let notified = self.inner.overflow.notified();
            if self.inner.overflowed.load(Ordering::Acquire) {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn overflow_is_reported_once_and_bytes_are_accounted() {
        let (out, mut inbox) = channel(10);
        assert_eq!(out.push("12345".into()), Push::Queued);
        assert_eq!(out.push("12345".into()), Push::Queued);
        assert_eq!(out.queued_bytes(), 10);
        assert_eq!(out.push("1".into()), Push::Overflow);
        inbox.watch().overflowed().await;
        assert_eq!(inbox.recv().await.unwrap().as_str(), "12345");
        assert_eq!(out.queued_bytes(), 5);
        assert_eq!(out.push("1".into()), Push::Overflow, "an overflowed connection stays dropped");
        drop(inbox);
    }
}
