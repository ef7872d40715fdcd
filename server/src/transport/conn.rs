//! One WebSocket connection's socket: reads into the worker thread's buffer, writes queued
//! frames together, and ends with a proper close handshake.
//!
//! - **Reads** go into a buffer owned by the worker thread, not the connection: an idle
//!   connection keeps no read buffer at all. Only bytes that straddle reads (a cut header,
//!   a partly received message) stay with the connection, in its [`Decoder`].
//! - **Writes** take every frame queued so far and hand them to the socket in one vectored
//!   write (`writev`), so a connection that fell behind by k frames pays one syscall, not k.
//!   Frames are shared, pre-encoded bytes; nothing is copied per connection.
//! - **The end** writes what is owed (the application's last frames, a close frame), shuts
//!   the write side, and reads until the client closes too, so the kernel never answers our
//!   close frame with a reset because unread input was left behind.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

use super::codec::{Decoder, Flow, Frame, Inbound, Violation};
use super::stats;
use crate::metrics::SentTally;

/// Most frames handed to one `writev` (well under `IOV_MAX`).
const MAX_IOVECS: usize = 64;
/// Reads per poll before yielding to other connections.
const MAX_READS_PER_POLL: usize = 4;
/// Pongs owed at once; a client pinging faster than it reads gets the latest only (RFC 6455 §5.5.3).
const MAX_OWED_PONGS: usize = 32;

thread_local! {
    /// The worker thread's read buffer, shared by every connection it runs.
    static READ_BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Why reading ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadEnd {
    /// The client sent a close frame (its code, if any).
    Closed(Option<u16>),
    /// The event handler asked to stop.
    Stopped,
    /// The client broke the protocol.
    Violation(Violation),
    /// The socket reached end of file or failed.
    Gone,
}

/// What the connection says last, after what is queued.
#[derive(Debug, Clone)]
pub struct Goodbye {
    /// Write the frames still queued first (false: they are dropped, e.g. for a client too
    /// slow to take them; a frame already partly written is still completed).
    pub flush_queued: bool,
    /// An application frame to send before closing (e.g. ActionCable's `disconnect`).
    pub last: Option<Frame>,
    /// The close frame's code and reason; `None`: answer the client's close if it sent
    /// one, else send none.
    pub close: Option<(u16, &'static str)>,
}

/// A socket speaking WebSocket frames.
pub struct Connection<IO> {
    io: IO,
    decoder: Decoder,
    max_message: usize,
    read_size: usize,
    /// Frames being written; the first may be partly on the socket (`offset` bytes).
    sending: VecDeque<Frame>,
    offset: usize,
    /// Budgeted bytes written since the last [`Connection::take_sent`].
    sent_counted: usize,
    /// Since when the socket has not taken what is owed.
    stalled: Option<Instant>,
    owed_pongs: usize,
    /// The client's close frame, once received.
    peer_close: Option<Option<u16>>,
    /// Bytes arrived since the last [`Connection::take_heard`] (proof of life).
    heard: bool,
}

impl<IO> Connection<IO> {
    /// Since when the socket has refused what is owed, if it has.
    pub fn stalled_since(&self) -> Option<Instant> {
        self.stalled
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> Connection<IO> {
    /// Wraps an upgraded socket. Messages over `max_message` bytes close it with 1009;
    /// `read_size` is how much one read takes (the worker's buffer grows to the largest).
    pub fn new(io: IO, max_message: usize, read_size: usize) -> Self {
        Connection {
            io,
            decoder: Decoder::default(),
            max_message,
            read_size: read_size.max(512),
            sending: VecDeque::new(),
            offset: 0,
            sent_counted: 0,
            stalled: None,
            owed_pongs: 0,
            peer_close: None,
            heard: false,
        }
    }

    /// Whether nothing is waiting to be written.
    pub fn is_idle(&self) -> bool {
        self.sending.is_empty()
    }

    /// Queues frames after those already queued; `head_written` bytes of the first are on
    /// the socket already (written directly, see [`crate::hub::outbox`]), which can only be
    /// so when nothing else is queued.
    pub fn queue(&mut self, frames: VecDeque<Frame>, head_written: usize) {
        if self.sending.is_empty() {
            self.sending = frames;
            self.offset = head_written;
        } else {
            debug_assert_eq!(head_written, 0, "a frame written in part while the connection was writing");
            self.sending.extend(frames);
        }
    }

    /// Queues one frame.
    pub fn push(&mut self, frame: Frame) {
        self.sending.push_back(frame);
    }

    /// Budgeted bytes fully written since the last call.
    pub fn take_sent(&mut self) -> usize {
        std::mem::take(&mut self.sent_counted)
    }

    /// Whether any byte arrived since the last call.
    pub fn take_heard(&mut self) -> bool {
        std::mem::take(&mut self.heard)
    }

    /// Whether the client sent a close frame.
    pub fn peer_closed(&self) -> bool {
        self.peer_close.is_some()
    }

    /// Writes queued frames until none is left (`Ready(Ok)`) or the socket is full
    /// (`Pending`; the stall time is noted).
    pub fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.sending.is_empty() {
            let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
            let mut n = 0;
            for (i, f) in self.sending.iter().take(MAX_IOVECS).enumerate() {
                slices[i] = IoSlice::new(if i == 0 { &f.as_bytes()[self.offset..] } else { f.as_bytes() });
                n += 1;
            }
            match Pin::new(&mut self.io).poll_write_vectored(cx, &slices[..n]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(written)) => self.advance(written),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {
                    self.stalled.get_or_insert_with(Instant::now);
                    return Poll::Pending;
                }
            }
        }
        self.stalled = None;
        Poll::Ready(Ok(()))
    }

    /// Accounts for `written` bytes off the front of the queue.
    fn advance(&mut self, mut written: usize) {
        let (mut frames, bytes) = (0, written);
        let mut oldest = None;
        let mut sent = SentTally::default();
        while let Some(front) = self.sending.front() {
            let left = front.len() - self.offset;
            if written < left {
                self.offset += written;
                break;
            }
            written -= left;
            self.offset = 0;
            frames += 1;
            if front.counted() {
                self.sent_counted += front.len();
            } else {
                self.owed_pongs = self.owed_pongs.saturating_sub(1);
            }
            if oldest.is_none() {
                oldest = front.published();
            }
            sent.add(front.label());
            self.sending.pop_front();
        }
        if self.sending.is_empty() && self.sending.capacity() > 0 {
            // An idle connection keeps no queue memory.
            self.sending = VecDeque::new();
        }
        stats::wrote(frames as u64, bytes, oldest);
    }

    /// Reads what the socket has and decodes it, handing each message or control frame to
    /// `on` (pings are answered here). `Pending` once the socket has nothing more; `Ready`
    /// when reading is over.
    pub fn poll_receive(&mut self, cx: &mut Context<'_>, on: &mut dyn FnMut(Inbound<'_>) -> Flow) -> Poll<ReadEnd> {
        if let Some(code) = self.peer_close {
            return Poll::Ready(ReadEnd::Closed(code));
        }
        for _ in 0..MAX_READS_PER_POLL {
            let outcome = READ_BUFFER.with(|cell| match cell.try_borrow_mut() {
                Ok(mut buf) => self.read_into(cx, &mut buf, on),
                // Only when a handler re-enters a read on this thread; never in practice.
                Err(_) => self.read_into(cx, &mut Vec::new(), on),
            });
            match outcome {
                Poll::Ready(None) => continue,
                Poll::Ready(Some(end)) => return Poll::Ready(end),
                Poll::Pending => return Poll::Pending,
            }
        }
        // Still readable: let other connections run first.
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    /// One read: `Ready(None)` to read on.
    fn read_into(&mut self, cx: &mut Context<'_>, buf: &mut Vec<u8>, on: &mut dyn FnMut(Inbound<'_>) -> Flow) -> Poll<Option<ReadEnd>> {
        if buf.len() < self.read_size {
            buf.resize(self.read_size, 0);
        }
        let mut rb = ReadBuf::new(&mut buf[..self.read_size]);
        match Pin::new(&mut self.io).poll_read(cx, &mut rb) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(_)) => Poll::Ready(Some(ReadEnd::Gone)),
            Poll::Ready(Ok(())) => {
                let n = rb.filled().len();
                if n == 0 {
                    return Poll::Ready(Some(ReadEnd::Gone));
                }
                self.heard = true;
                let mut pongs = Vec::new();
                let mut closed = None;
                let result = self.decoder.decode(&mut buf[..n], self.max_message, &mut |event| match event {
                    Inbound::Ping(payload) => {
                        pongs.push(Frame::pong(payload));
                        Flow::Continue
                    }
                    Inbound::Close(code) => {
                        closed = Some(code);
                        Flow::Stop
                    }
                    other => on(other),
                });
                for pong in pongs {
                    if self.owed_pongs < MAX_OWED_PONGS {
                        self.owed_pongs += 1;
                        self.sending.push_back(pong);
                    }
                }
                if let Some(code) = closed {
                    self.peer_close = Some(code);
                    return Poll::Ready(Some(ReadEnd::Closed(code)));
                }
                match result {
                    Ok(Flow::Continue) => Poll::Ready(None),
                    Ok(Flow::Stop) => Poll::Ready(Some(ReadEnd::Stopped)),
                    Err(v) => Poll::Ready(Some(ReadEnd::Violation(v))),
                }
            }
        }
    }

    /// Ends the connection: `bye` after (or instead of) what is queued, then the close
    /// handshake, all within `budget`. Returns whether everything owed was written.
    pub async fn finish(mut self, bye: Goodbye, budget: Duration) -> bool {
        if !bye.flush_queued {
            // Keep only a frame already partly on the socket, so the stream stays well formed.
            let keep = usize::from(self.offset > 0);
            self.sending.truncate(keep);
        }
        self.sending.extend(bye.last);
        match (bye.close, self.peer_close) {
            (Some((code, reason)), _) => self.sending.push_back(Frame::close(code, reason)),
            (None, Some(Some(code))) => self.sending.push_back(Frame::close(code, "")),
            (None, Some(None)) => self.sending.push_back(Frame::close_empty()),
            (None, None) => {}
        }
        let deadline = Instant::now() + budget;
        let written = tokio::time::timeout_at(deadline, std::future::poll_fn(|cx| self.poll_send(cx))).await.is_ok_and(|r| r.is_ok());
        if !written {
            return false;
        }
        let _ = tokio::time::timeout_at(deadline, std::future::poll_fn(|cx| Pin::new(&mut self.io).poll_shutdown(cx))).await;
        if self.peer_close.is_none() {
            // Read (and drop) until the client closes: input left unread would make the
            // kernel reset the connection, and the client could lose our last frames.
            let _ = tokio::time::timeout_at(deadline, std::future::poll_fn(|cx| self.poll_linger(cx))).await;
        }
        true
    }

    fn poll_linger(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let mut scratch = [0u8; 2048];
        loop {
            let mut rb = ReadBuf::new(&mut scratch);
            match Pin::new(&mut self.io).poll_read(cx, &mut rb) {
                Poll::Ready(Ok(())) if !rb.filled().is_empty() => continue,
                Poll::Ready(_) => return Poll::Ready(()),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn masked_text(text: &str) -> Vec<u8> {
        let mut f = vec![0x81, 0x80 | text.len() as u8, 1, 2, 3, 4];
        f.extend(text.bytes().enumerate().map(|(i, b)| b ^ [1, 2, 3, 4][i % 4]));
        f
    }

    #[tokio::test]
    async fn queued_frames_go_out_in_order_and_the_close_is_answered() {
        let (ours, mut theirs) = tokio::io::duplex(1 << 16);
        let mut conn = Connection::new(ours, 1 << 16, 4096);
        conn.queue(["a", "b", "c"].into_iter().map(Frame::from).collect(), 0);
        std::future::poll_fn(|cx| conn.poll_send(cx)).await.expect("written");
        assert_eq!(conn.take_sent(), 9);
        let mut got = [0u8; 9];
        theirs.read_exact(&mut got).await.unwrap();
        assert_eq!(got, [0x81, 1, b'a', 0x81, 1, b'b', 0x81, 1, b'c']);

        let mut input = masked_text("hello");
        input.extend([0x89, 0x81, 0, 0, 0, 0, b'p']);
        input.extend([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xE8]);
        theirs.write_all(&input).await.unwrap();
        let mut texts = Vec::new();
        let end = std::future::poll_fn(|cx| {
            conn.poll_receive(cx, &mut |e| {
                if let Inbound::Text(t) = e {
                    texts.push(t.to_owned());
                }
                Flow::Continue
            })
        })
        .await;
        assert_eq!((texts, end), (vec!["hello".to_owned()], ReadEnd::Closed(Some(1000))));
        assert!(conn.take_heard());
        assert!(conn.finish(Goodbye { flush_queued: true, last: None, close: None }, Duration::from_secs(1)).await);
        let mut rest = Vec::new();
        theirs.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, [0x8A, 1, b'p', 0x88, 2, 0x03, 0xE8], "the pong, then the close echoed");
    }
}
