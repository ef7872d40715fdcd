//! A TCP proxy in the test's runtime, to put faults between a node and what it talks to
//! (Centrifugo's `startTestTCPProxy`, with more modes): every connection it accepts is
//! forwarded to the first upstream that takes it, and the test switches the mode at any time.
//!
//! - [`Mode::Pass`]: bytes flow both ways.
//! - [`Mode::Blackhole`]: nothing flows and nothing is closed, as when a network drops every
//!   packet: bytes wait in the kernel's buffers (TCP's retransmission, in effect), a peer's
//!   calls just get no answer, new connections are accepted but get nothing either. Back to
//!   `Pass`, what waited is delivered.
//! - [`Mode::Cut`]: every connection is closed and new ones are closed at once, as when the
//!   far side crashed.
//!
//! With several upstreams it is a load balancer without stickiness: each new connection goes
//! to the first upstream that accepts it, so when one node dies, clients that reconnect reach
//! the next one through the same address.
//!
//! ```no_run
//! # async fn demo(redis_port: u16) {
//! use cableway_tests::proxy::{Mode, Proxy};
//! let proxy = Proxy::start(&[format!("127.0.0.1:{redis_port}")]).await;
//! let url = format!("redis://{}", proxy.addr);   // give the node this instead of Redis' own
//! proxy.set(Mode::Blackhole);
//! proxy.set(Mode::Pass);
//! # }
//! ```

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What the proxy does with its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forward both ways.
    Pass,
    /// Forward nothing, close nothing.
    Blackhole,
    /// Close everything, refuse nothing but keep nothing open.
    Cut,
}

/// A running proxy; stopped (every connection closed) when dropped.
pub struct Proxy {
    /// Where it listens, on 127.0.0.1.
    pub addr: SocketAddr,
    mode: watch::Sender<Mode>,
    open: Arc<AtomicUsize>,
    accepting: JoinHandle<()>,
}

impl Proxy {
    /// Listens on a free port of 127.0.0.1 and forwards to `upstreams` (`host:port`), in
    /// [`Mode::Pass`].
    pub async fn start(upstreams: &[String]) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let (mode, _) = watch::channel(Mode::Pass);
        let open = Arc::new(AtomicUsize::new(0));
        let (modes, count, upstreams) = (mode.clone(), open.clone(), upstreams.to_vec());
        let accepting = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else { continue };
                if *modes.borrow() == Mode::Cut {
                    continue;
                }
                let (mode, count, upstreams) = (modes.subscribe(), count.clone(), upstreams.clone());
                tokio::spawn(async move {
                    let Some(server) = first_upstream(&upstreams).await else { return };
                    count.fetch_add(1, Ordering::Relaxed);
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    let (client_read, client_write) = client.into_split();
                    let (server_read, server_write) = server.into_split();
                    // Either direction ending (a close, a cut, the proxy dropped) closes both.
                    tokio::select! {
                        _ = pipe(client_read, server_write, mode.clone()) => {}
                        _ = pipe(server_read, client_write, mode) => {}
                    }
                    count.fetch_sub(1, Ordering::Relaxed);
                });
            }
        });
        Proxy { addr, mode, open, accepting }
    }

    /// Switches every connection, present and future, to `mode`.
    pub fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }

    /// The current mode.
    pub fn mode(&self) -> Mode {
        *self.mode.borrow()
    }

    /// Connections it forwards now (a connection the peer closed during a blackhole still
    /// counts until the blackhole ends, as it would on the far side of a real one).
    pub fn open_connections(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accepting.abort();
        // Every connection's pipes see the mode sender go and return.
        self.mode.send_replace(Mode::Cut);
    }
}

async fn first_upstream(upstreams: &[String]) -> Option<TcpStream> {
    for u in upstreams {
        if let Ok(s) = TcpStream::connect(u).await {
            return Some(s);
        }
    }
    None
}

/// Copies `from` to `to` while the mode lets it; returns when either side closes or the
/// connection is cut.
async fn pipe(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, mut mode: watch::Receiver<Mode>) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let now = *mode.borrow_and_update();
        match now {
            Mode::Cut => return,
            Mode::Blackhole => {
                // Not reading is what keeps the bytes waiting (and the sender's buffer filling).
                if mode.changed().await.is_err() {
                    return;
                }
            }
            Mode::Pass => {
                tokio::select! {
                    // A new mode first: no byte sent after a switch to blackhole goes through.
                    biased;
                    changed = mode.changed() => if changed.is_err() {
                        return;
                    },
                    // A read is cancel-safe: nothing is lost when the mode changes under it.
                    read = from.read(&mut buf) => match read {
                        Ok(0) | Err(_) => return,
                        Ok(n) => if to.write_all(&buf[..n]).await.is_err() {
                            return;
                        },
                    },
                }
            }
        }
    }
}
