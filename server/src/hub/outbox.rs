//! One connection's outbound queue, bounded in bytes.
//!
//! Publishers push pre-encoded frames without waiting; the connection's task takes
//! everything queued at once and writes it in one go. When the queued bytes would pass the
//! limit, the outbox flags the connection as too slow instead of growing (AnyCable's
//! `too_slow`): the session then disconnects it with `reconnect:true`. A slow client never
//! slows a publisher and never costs more than the limit.
//!
//! Bytes count from the push until the socket took them, so frames being written count
//! too. The queue is a `VecDeque` under a `std::sync::Mutex` (held for a push or a swap,
//! never across an `.await`); an idle connection's queue holds no allocation, because the
//! writer takes the whole deque each time.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Waker;

use futures_util::task::AtomicWaker;

use crate::transport::Frame;

const OVERFLOWED: u8 = 1;
const CLOSED: u8 = 2;

/// The sending half, shared by every stream the connection listens to.
#[derive(Debug)]
pub struct Outbox {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    frames: Mutex<VecDeque<Frame>>,
    /// The connection's task, woken by a push.
    waker: AtomicWaker,
    queued: AtomicUsize,
    limit: usize,
    state: AtomicU8,
    /// Live sending halves: when the last one goes, [`Inbox::recv`] ends.
    senders: AtomicUsize,
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

/// The receiving half, owned by the connection's task. Dropping it closes the outbox.
#[derive(Debug)]
pub struct Inbox {
    inner: Arc<Inner>,
}

/// A new outbox/inbox pair with a byte budget.
pub fn channel(limit_bytes: usize) -> (Outbox, Inbox) {
    let inner = Arc::new(Inner { frames: Mutex::new(VecDeque::new()), waker: AtomicWaker::new(), queued: AtomicUsize::new(0), limit: limit_bytes, state: AtomicU8::new(0), senders: AtomicUsize::new(1) });
    (Outbox { inner: inner.clone() }, Inbox { inner })
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Frame>> {
        // Pushing and taking cannot leave the deque half-updated.
        self.frames.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Outbox {
    /// Queues a frame unless that would pass the byte budget, and wakes the connection.
    /// Never waits.
    pub fn push(&self, frame: Frame) -> Push {
        let pushed = self.push_quiet(frame);
        if pushed != Push::Closed {
            self.inner.waker.wake();
        }
        pushed
    }

    /// [`Outbox::push`] without waking the connection: for its own task, which writes
    /// before it waits again.
    pub fn push_quiet(&self, frame: Frame) -> Push {
        match self.inner.state.load(Ordering::Acquire) {
            0 => {}
            CLOSED => return Push::Closed,
            _ => return Push::Overflow,
        }
        let len = frame.len();
        let before = self.inner.queued.fetch_add(len, Ordering::AcqRel);
        if before + len > self.inner.limit {
            self.inner.queued.fetch_sub(len, Ordering::AcqRel);
            if self.inner.state.compare_exchange(0, OVERFLOWED, Ordering::AcqRel, Ordering::Acquire).is_ok() {
                crate::transport::stats::too_slow();
            }
            return Push::Overflow;
        }
        self.inner.lock().push_back(frame);
        Push::Queued
    }

    /// Bytes waiting to be written.
    pub fn queued_bytes(&self) -> usize {
        self.inner.queued.load(Ordering::Relaxed)
    }
}

impl Clone for Outbox {
    fn clone(&self) -> Self {
        self.inner.senders.fetch_add(1, Ordering::Relaxed);
        Outbox { inner: self.inner.clone() }
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        if self.inner.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.inner.waker.wake();
        }
    }
}

impl Inbox {
    /// The next queued frame, waiting for one; `None` once every sending half is gone and
    /// the queue is empty. For a queue read frame by frame (a hold), not a connection's.
    pub async fn recv(&self) -> Option<Frame> {
        std::future::poll_fn(|cx| {
            self.inner.waker.register(cx.waker());
            if let Some(frame) = self.inner.lock().pop_front() {
                self.inner.queued.fetch_sub(frame.len(), Ordering::AcqRel);
                return std::task::Poll::Ready(Some(frame));
            }
            if self.inner.senders.load(Ordering::Acquire) == 0 {
                return std::task::Poll::Ready(None);
            }
            std::task::Poll::Pending
        })
        .await
    }

    /// Makes `waker` the one a push wakes. Call before [`Inbox::take`] so that no push falls
    /// between the two unseen.
    pub fn register(&self, waker: &Waker) {
        self.inner.waker.register(waker);
    }

    /// Everything queued, oldest first, or `None`.
    pub fn take(&self) -> Option<VecDeque<Frame>> {
        let mut q = self.inner.lock();
        (!q.is_empty()).then(|| std::mem::take(&mut *q))
    }

    /// The socket took `bytes` of queued frames.
    pub fn written(&self, bytes: usize) {
        if bytes > 0 {
            self.inner.queued.fetch_sub(bytes, Ordering::AcqRel);
        }
    }

    /// Whether a push passed the byte budget: the connection is too slow.
    pub fn overflowed(&self) -> bool {
        self.inner.state.load(Ordering::Acquire) == OVERFLOWED
    }
}

impl Drop for Inbox {
    fn drop(&mut self) {
        self.inner.state.store(CLOSED, Ordering::Release);
        self.inner.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(n: usize) -> Frame {
        Frame::text(&"x".repeat(n))
    }

    #[test]
    fn overflow_is_reported_once_and_bytes_count_until_written() {
        // A 5-byte text frame is 7 bytes on the wire.
        let (out, inbox) = channel(14);
        assert_eq!(out.push(text(5)), Push::Queued);
        assert_eq!(out.push(text(5)), Push::Queued);
        assert_eq!(out.queued_bytes(), 14);
        assert!(!inbox.overflowed());
        let batch = inbox.take().expect("two frames");
        assert_eq!(batch.len(), 2);
        assert_eq!(out.queued_bytes(), 14, "taken but not yet written: still counted");
        inbox.written(7);
        assert_eq!(out.push(text(5)), Push::Queued);
        assert_eq!(out.push(text(1)), Push::Overflow);
        assert!(inbox.overflowed());
        inbox.written(7);
        assert_eq!(out.push(text(1)), Push::Overflow, "an overflowed connection stays dropped");
        drop(inbox);
        assert_eq!(out.push(text(1)), Push::Closed);
    }

    #[test]
    fn an_idle_outbox_holds_no_queue() {
        let (out, inbox) = channel(1 << 20);
        assert!(inbox.take().is_none());
        out.push(text(10));
        let batch = inbox.take().expect("queued");
        assert_eq!(batch.len(), 1);
        assert_eq!(inbox.inner.lock().capacity(), 0, "the writer took the deque with its allocation");
    }
}
