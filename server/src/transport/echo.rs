//! A WebSocket echo over the production transport, for conformance runs (the Autobahn
//! suite, `tests/tests/autobahn.rs`): every text and binary message comes back as it came,
//! with the limits, reads, writes and close handshake the session uses. No ActionCable.

use std::task::Poll;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};

use super::codec::{Flow, Frame, Inbound};
use super::conn::{Connection, Goodbye, ReadEnd};

/// Echoes messages until the client closes or breaks the protocol.
pub async fn run<IO: AsyncRead + AsyncWrite + Unpin>(io: IO, max_message: usize, read_size: usize, write_timeout: Duration) {
    let mut conn = Connection::new(io, max_message, read_size);
    let end = std::future::poll_fn(|cx| loop {
        // Read only what can be answered: a client that does not read its echoes stops
        // being read, instead of growing the queue.
        match conn.poll_send(cx) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(_)) => return Poll::Ready(ReadEnd::Gone),
            Poll::Pending => return Poll::Pending,
        }
        let mut echoes = Vec::new();
        let read = conn.poll_receive(cx, &mut |event| {
            match event {
                Inbound::Text(t) => echoes.push(Frame::text(t)),
                Inbound::Binary(b) => echoes.push(Frame::binary(b)),
                _ => {}
            }
            Flow::Continue
        });
        let more = !echoes.is_empty() || !conn.is_idle();
        for f in echoes {
            conn.push(f);
        }
        match read {
            Poll::Ready(end) => return Poll::Ready(end),
            Poll::Pending if more => continue,
            Poll::Pending => return Poll::Pending,
        }
    })
    .await;
    let close = match end {
        ReadEnd::Violation(v) => Some((v.code(), "")),
        _ => None,
    };
    if end != ReadEnd::Gone {
        conn.finish(Goodbye { flush_queued: true, last: None, close }, write_timeout).await;
    }
}
