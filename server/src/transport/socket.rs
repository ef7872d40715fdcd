//! An upgraded WebSocket's TCP socket, shared: the connection's task reads and writes it, and
//! a broadcast may write a frame to it directly while the task sleeps (see
//! [`crate::hub::outbox`]), so the stream is held in an `Arc` and used through `&TcpStream`
//! (readiness, then `try_read`/`try_write`), never through `&mut`.
//!
//! Taken out of hyper's upgrade wrapper, the socket costs no box and no dynamic call per read
//! or write. Bytes the client sent right behind its handshake, which hyper had already read,
//! are handed out first. A connection that is not a plain TCP stream (an in-memory pipe in
//! tests, a listener that wraps its streams) stays in hyper's wrapper and is never written
//! from outside its task.

use std::io::{self, IoSlice};
use std::net::Shutdown;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// The socket of an upgraded connection.
#[derive(Debug)]
pub enum Socket {
    /// A TCP stream, shareable.
    Tcp(Tcp),
    /// Anything else, as hyper hands it over (boxed: a TCP socket is the common case and
    /// should not pay this one's size).
    Other(Box<TokioIo<Upgraded>>),
}

/// A shared TCP stream and what was read of it with the handshake.
#[derive(Debug)]
pub struct Tcp {
    stream: Arc<TcpStream>,
    /// Read with the handshake, not yet handed out.
    early: Option<Box<[u8]>>,
}

impl Socket {
    /// The TCP stream under hyper's upgrade, with what hyper read past the handshake.
    pub fn from_upgraded(upgraded: Upgraded) -> Socket {
        match upgraded.downcast::<TokioIo<TcpStream>>() {
            Ok(parts) => {
                let early = (!parts.read_buf.is_empty()).then(|| Box::from(&parts.read_buf[..]));
                Socket::Tcp(Tcp { stream: Arc::new(parts.io.into_inner()), early })
            }
            Err(other) => Socket::Other(Box::new(TokioIo::new(other))),
        }
    }

    /// A second handle to the stream, for writes from outside the connection's task.
    pub fn shared(&self) -> Option<Arc<TcpStream>> {
        match self {
            Socket::Tcp(t) => Some(t.stream.clone()),
            Socket::Other(_) => None,
        }
    }
}

impl AsyncRead for Socket {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Tcp(t) => t.poll_read(cx, buf),
            Socket::Other(io) => Pin::new(&mut **io).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Socket {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Socket::Tcp(t) => t.poll_write_vectored(cx, &[IoSlice::new(buf)]),
            Socket::Other(io) => Pin::new(&mut **io).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Socket::Tcp(t) => t.poll_write_vectored(cx, bufs),
            Socket::Other(io) => Pin::new(&mut **io).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Socket::Tcp(_) => true,
            Socket::Other(io) => io.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Tcp(_) => Poll::Ready(Ok(())),
            Socket::Other(io) => Pin::new(&mut **io).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Tcp(t) => t.shutdown(),
            Socket::Other(io) => Pin::new(&mut **io).poll_shutdown(cx),
        }
    }
}

impl Tcp {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self;
        if let Some(early) = this.early.take() {
            let n = early.len().min(buf.remaining());
            buf.put_slice(&early[..n]);
            if n < early.len() {
                this.early = Some(Box::from(&early[n..]));
            }
            return Poll::Ready(Ok(()));
        }
        loop {
            ready!(this.stream.poll_read_ready(cx))?;
            match this.stream.try_read(buf.initialize_unfilled()) {
                Ok(n) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                // The readiness was stale: it is cleared now, so the next poll waits.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    fn poll_write_vectored(&self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.stream.poll_write_ready(cx))?;
            match self.stream.try_write_vectored(bufs) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                written => return Poll::Ready(written),
            }
        }
    }

    fn shutdown(&self) -> Poll<io::Result<()>> {
        // Shutting down the write side never waits; the socket itself closes with its last handle.
        match socket2::SockRef::from(&*self.stream).shutdown(Shutdown::Write) {
            Err(e) if e.kind() != io::ErrorKind::NotConnected => Poll::Ready(Err(e)),
            _ => Poll::Ready(Ok(())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn early_bytes_come_first_then_the_stream_and_shutdown_ends_the_peer_read() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let mut peer = TcpStream::connect(listener.local_addr().expect("addr")).await.expect("connect");
        let (ours, _) = listener.accept().await.expect("accept");
        let mut socket = Socket::Tcp(Tcp { stream: Arc::new(ours), early: Some(Box::from(&b"early"[..])) });
        peer.write_all(b" late").await.expect("write");
        let mut first = [0u8; 3];
        socket.read_exact(&mut first).await.expect("read");
        assert_eq!(&first, b"ear");
        let mut rest = [0u8; 7];
        socket.read_exact(&mut rest).await.expect("read");
        assert_eq!(&rest, b"ly late");
        socket.write_all(b"reply").await.expect("write");
        socket.shutdown().await.expect("shutdown");
        let mut got = Vec::new();
        peer.read_to_end(&mut got).await.expect("read to end");
        assert_eq!(got, b"reply");
    }
}
