//! One connection's outbound queue, bounded in bytes, and the way a broadcast reaches the
//! socket of a connection with nothing queued.
//!
//! Publishers push pre-encoded frames without waiting; the connection's task takes
//! everything queued at once and writes it in one go. When the queued bytes would pass the
//! limit, the outbox flags the connection as too slow instead of growing (AnyCable's
//! `too_slow`): the session then disconnects it with `reconnect:true`. A slow client never
//! slows a publisher and never costs more than the limit.
//!
//! **Direct writes.** Waking a task to write one frame costs more than the write's own
//! user-space work: a broadcast to an idle connection (nothing queued, its task asleep with
//! nothing left to write, see [`Inbox::park`]) may instead write the frame to the socket
//! itself, with a non-blocking `send` under the queue's lock. The lock is what makes the
//! socket's writer one at a time: the task claims the socket back ([`Inbox::take`]) before
//! it writes anything. A frame the socket takes only in part stays queued, with how much of
//! it was written, and the task is woken to finish it; frames never interleave and never
//! reorder.
//!
//! Bytes count from the push until the socket took them, so frames being written count
//! too. The queue is a `VecDeque` under a `std::sync::Mutex` (held for a push, a direct
//! write or a swap, never across an `.await`); an idle connection's queue holds no
//! allocation, because the writer takes the whole deque each time.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Waker;

use futures_util::task::AtomicWaker;
use tokio::net::TcpStream;

use crate::metrics::SentTally;
use crate::transport::{stats, Frame};

const OVERFLOWED: u8 = 1;
const CLOSED: u8 = 2;

/// The sending half, shared by every stream the connection listens to.
#[derive(Debug)]
pub struct Outbox {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    queue: Mutex<Queue>,
    /// The connection's task, woken by a push.
    waker: AtomicWaker,
    queued: AtomicUsize,
    limit: usize,
    state: AtomicU8,
    /// Live sending halves: when the last one goes, [`Inbox::recv`] ends.
    senders: AtomicUsize,
    /// The engine evicted the connection from a stream (see [`Outbox::evict`]).
    evicted: AtomicBool,
}

#[derive(Debug, Default)]
struct Queue {
    frames: VecDeque<Frame>,
    /// Bytes of the first frame a direct write already put on the socket.
    head_written: usize,
    /// The connection's socket, for direct writes; dropped when the connection ends.
    socket: Option<Arc<TcpStream>>,
    /// The task has nothing left to write and sleeps: a push may write to the socket.
    parked: bool,
}

/// What happened to a pushed frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Push {
    /// Queued for writing.
    Queued,
    /// Written to the socket whole, directly.
    Written,
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

/// What [`Inbox::take`] hands the writer: the queued frames, oldest first, and how many
/// bytes of the first one are already on the socket.
pub type Taken = (VecDeque<Frame>, usize);

/// A new outbox/inbox pair with a byte budget; with a `socket`, pushes may write to it
/// directly while the connection is parked.
pub fn channel(limit_bytes: usize, socket: Option<Arc<TcpStream>>) -> (Outbox, Inbox) {
    let queue = Mutex::new(Queue { socket, ..Queue::default() });
    let inner = Arc::new(Inner { queue, waker: AtomicWaker::new(), queued: AtomicUsize::new(0), limit: limit_bytes, state: AtomicU8::new(0), senders: AtomicUsize::new(1), evicted: AtomicBool::new(false) });
    (Outbox { inner: inner.clone() }, Inbox { inner })
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        // Pushing and taking cannot leave the queue half-updated.
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Outbox {
    /// Queues a frame unless that would pass the byte budget, and wakes the connection.
    /// Never waits.
    pub fn push(&self, frame: Frame) -> Push {
        let pushed = self.push_quiet(frame);
        if pushed == Push::Queued || pushed == Push::Overflow {
            self.inner.waker.wake();
        }
        pushed
    }

    /// [`Outbox::push`], but written to the socket at once when the connection is parked
    /// with nothing queued; whole frames written are added to `sent`. Never waits.
    pub fn deliver(&self, frame: Frame, sent: &mut SentTally) -> Push {
        if self.inner.state.load(Ordering::Acquire) == 0 {
            let mut q = self.inner.lock();
            if let (true, true, Some(socket)) = (q.parked, q.frames.is_empty(), &q.socket) {
                match socket.try_write(frame.as_bytes()) {
                    Ok(n) if n == frame.len() => {
                        drop(q);
                        stats::wrote(1, n, frame.published());
                        sent.add(frame.label());
                        return Push::Written;
                    }
                    Ok(n) => {
                        // The rest is the task's to write; it is woken below.
                        q.head_written = n;
                        stats::wrote(0, n, None);
                    }
                    // Full, or failed: the task meets the same when it writes, and handles it.
                    Err(_) => {}
                }
                q.parked = false;
                return self.queue_locked(q, frame, true);
            }
        }
        self.push(frame)
    }

    /// [`Outbox::push`] without waking the connection: for its own task, which writes
    /// before it waits again.
    pub fn push_quiet(&self, frame: Frame) -> Push {
        if self.inner.state.load(Ordering::Acquire) == CLOSED {
            return Push::Closed;
        }
        self.queue_locked(self.inner.lock(), frame, false)
    }

    fn queue_locked(&self, mut q: std::sync::MutexGuard<'_, Queue>, frame: Frame, wake: bool) -> Push {
        let pushed = match self.inner.state.load(Ordering::Acquire) {
            0 => {
                let len = frame.len();
                let before = self.inner.queued.fetch_add(len, Ordering::AcqRel);
                if before + len > self.inner.limit && q.head_written == 0 {
                    self.inner.queued.fetch_sub(len, Ordering::AcqRel);
                    if self.inner.state.compare_exchange(0, OVERFLOWED, Ordering::AcqRel, Ordering::Acquire).is_ok() {
                        stats::too_slow();
                    }
                    Push::Overflow
                } else {
                    q.frames.push_back(frame);
                    Push::Queued
                }
            }
            CLOSED => return Push::Closed,
            _ => Push::Overflow,
        };
        drop(q);
        if wake {
            self.inner.waker.wake();
        }
        pushed
    }

    /// Tells the connection it was evicted from a stream (which can no longer be delivered
    /// in order): its session disconnects with `reconnect:true` and the client resumes
    /// through history. A flag and a wake-up, so a connection costs no token for it.
    pub fn evict(&self) {
        self.inner.evicted.store(true, Ordering::Release);
        self.inner.waker.wake();
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
            if let Some(frame) = self.inner.lock().frames.pop_front() {
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

    /// Claims the socket back from direct writes (the caller is about to write) and takes
    /// everything queued, or `None`.
    pub fn take(&self) -> Option<Taken> {
        let mut q = self.inner.lock();
        q.parked = false;
        (!q.frames.is_empty()).then(|| (std::mem::take(&mut q.frames), std::mem::take(&mut q.head_written)))
    }

    /// The caller has written everything and waits: pushes may write to the socket until
    /// the next [`Inbox::take`]. False when frames are queued: take them first.
    pub fn park(&self) -> bool {
        let mut q = self.inner.lock();
        q.parked = q.frames.is_empty();
        q.parked
    }

    /// The socket took `bytes` of queued frames.
    pub fn written(&self, bytes: usize) {
        if bytes > 0 {
            self.inner.queued.fetch_sub(bytes, Ordering::AcqRel);
        }
    }

    /// Whether the engine evicted the connection (see [`Outbox::evict`]).
    pub fn evicted(&self) -> bool {
        self.inner.evicted.load(Ordering::Acquire)
    }

    /// Whether a push passed the byte budget: the connection is too slow.
    pub fn overflowed(&self) -> bool {
        self.inner.state.load(Ordering::Acquire) == OVERFLOWED
    }
}

impl Drop for Inbox {
    fn drop(&mut self) {
        self.inner.state.store(CLOSED, Ordering::Release);
        // Under the lock: no direct write is under way or can start, and the socket closes
        // with the connection's own handle.
        let mut q = self.inner.lock();
        q.parked = false;
        q.socket = None;
        q.frames.clear();
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
        let (out, inbox) = channel(14, None);
        assert_eq!(out.push(text(5)), Push::Queued);
        assert_eq!(out.push(text(5)), Push::Queued);
        assert_eq!(out.queued_bytes(), 14);
        assert!(!inbox.overflowed());
        let (batch, _) = inbox.take().expect("two frames");
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
        let (out, inbox) = channel(1 << 20, None);
        assert!(inbox.take().is_none());
        out.push(text(10));
        let (batch, _) = inbox.take().expect("queued");
        assert_eq!(batch.len(), 1);
        assert_eq!(inbox.inner.lock().frames.capacity(), 0, "the writer took the deque with its allocation");
    }

    /// A connected pair on loopback: (the server side, shared as a session shares it; the peer).
    async fn socket_pair() -> (Arc<TcpStream>, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let peer = TcpStream::connect(listener.local_addr().expect("addr")).await.expect("connect");
        let (ours, _) = listener.accept().await.expect("accept");
        (Arc::new(ours), peer)
    }

    #[tokio::test]
    async fn only_a_parked_connection_is_written_directly_and_order_is_kept() {
        use tokio::io::AsyncReadExt;
        let (ours, mut peer) = socket_pair().await;
        let (out, inbox) = channel(1 << 20, Some(ours.clone()));
        let mut sent = SentTally::default();
        assert_eq!(out.deliver(text(3), &mut sent), Push::Queued, "not parked yet: the task owns the socket");
        assert!(!inbox.park(), "a frame is queued: the task must write it first");
        let (first, head) = inbox.take().expect("queued");
        assert_eq!((first.len(), head), (1, 0));
        ours.try_write(first[0].as_bytes()).expect("the task writes");
        inbox.written(first[0].len());
        assert!(inbox.park());
        assert_eq!(out.deliver(text(4), &mut sent), Push::Written);
        assert_eq!(out.queued_bytes(), 0, "a frame written whole is never counted as queued");
        // The task claims the socket back: pushes queue again.
        assert!(inbox.take().is_none());
        assert_eq!(out.deliver(text(5), &mut sent), Push::Queued);
        let mut got = [0u8; 5 + 6];
        peer.read_exact(&mut got).await.expect("read");
        assert_eq!(&got[..], [text(3).as_bytes(), text(4).as_bytes()].concat().as_slice(), "what was queued first, then what was written directly");
    }

    #[tokio::test]
    async fn a_frame_the_socket_takes_in_part_stays_queued_with_what_was_written() {
        use tokio::io::AsyncReadExt;
        let (ours, mut peer) = socket_pair().await;
        socket2::SockRef::from(&*ours).set_send_buffer_size(4096).expect("sndbuf");
        socket2::SockRef::from(&peer).set_recv_buffer_size(4096).expect("rcvbuf");
        let (out, inbox) = channel(1 << 24, Some(ours.clone()));
        let mut sent = SentTally::default();
        let big = text(64 * 1024);
        let mut expected = Vec::new();
        assert!(inbox.park());
        let mut pushes = 0;
        loop {
            pushes += 1;
            expected.extend_from_slice(big.as_bytes());
            match out.deliver(big.clone(), &mut sent) {
                Push::Written => continue,
                Push::Queued => break,
                other => panic!("{other:?}"),
            }
        }
        assert!(pushes < 100, "a small socket buffer fills");
        assert_eq!(out.deliver(text(1), &mut sent), Push::Queued, "behind a queued frame, never direct");
        expected.extend_from_slice(text(1).as_bytes());
        let (frames, head) = inbox.take().expect("queued");
        assert_eq!(frames.len(), 2);
        assert!(head < big.len(), "the head was written in part or not at all");
        // The task writes what is left of the head, then the rest, while the peer reads.
        let writer = tokio::spawn(async move {
            let mut skip = head;
            for f in frames {
                let mut bytes = &f.as_bytes()[skip..];
                skip = 0;
                while !bytes.is_empty() {
                    ours.writable().await.expect("writable");
                    match ours.try_write(bytes) {
                        Ok(n) => bytes = &bytes[n..],
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                        Err(e) => panic!("{e}"),
                    }
                }
            }
        });
        let mut got = vec![0u8; expected.len()];
        peer.read_exact(&mut got).await.expect("read");
        writer.await.expect("writer");
        assert!(got == expected, "the bytes on the wire are the frames in order, none cut or repeated");
    }

    #[tokio::test]
    async fn a_closed_inbox_lets_go_of_the_socket() {
        let (ours, _peer) = socket_pair().await;
        let (out, inbox) = channel(1 << 20, Some(ours.clone()));
        assert!(inbox.park());
        assert_eq!(Arc::strong_count(&ours), 2);
        drop(inbox);
        assert_eq!(Arc::strong_count(&ours), 1, "the outbox keeps no handle to a closed connection's socket");
        assert_eq!(out.deliver(text(1), &mut SentTally::default()), Push::Closed);
    }
}
