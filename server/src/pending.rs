//! Connections that have not upgraded to a WebSocket yet: handshakes, publish requests,
//! health checks. They hold a descriptor and buffers but no session, so a client without a
//! key can open any number of them; this keeps them bounded.
//!
//! - [`Pending`] registers each one, oldest first, and sheds the oldest when
//!   `limits.max_pending_connections` is reached: a legitimate client sends its handshake at
//!   once and is never the oldest, a silent or slow one is.
//! - [`Shedding`] is the TCP listener: when `accept` fails because the process is out of
//!   descriptors (`EMFILE`, `ENFILE`), it sheds the oldest pending connections and tries
//!   again at once, instead of sleeping a second and logging the same error each time
//!   (`axum::serve`'s listener does). What happened is logged once a minute at most.
//!
//! Upgraded connections are the session's to bound (write timeout, liveness, token expiry).

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The registry of not-yet-upgraded connections.
pub struct Pending {
    cap: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    next: u64,
    /// By age: the first is the oldest. Cancelling a token closes its connection.
    open: BTreeMap<u64, CancellationToken>,
}

/// A registered connection; dropping it (the connection upgraded or ended) unregisters it.
pub struct PendingGuard {
    pending: Arc<Pending>,
    id: u64,
    /// Cancelled when the connection is shed.
    pub shed: CancellationToken,
}

impl Drop for PendingGuard {
    fn drop(&mut self) {
        self.pending.lock().open.remove(&self.id);
    }
}

impl Pending {
    /// A registry that holds at most `cap` connections.
    pub fn new(cap: usize) -> Arc<Pending> {
        Arc::new(Pending { cap: cap.max(1), state: Mutex::new(State::default()) })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a new connection, shedding the oldest when the cap is reached.
    pub fn admit(self: &Arc<Self>) -> PendingGuard {
        let shed = CancellationToken::new();
        let mut state = self.lock();
        while state.open.len() >= self.cap {
            match state.open.pop_first() {
                Some((_, oldest)) => oldest.cancel(),
                None => break,
            }
        }
        let id = state.next;
        state.next += 1;
        state.open.insert(id, shed.clone());
        drop(state);
        PendingGuard { pending: self.clone(), id, shed }
    }

    /// Sheds up to `n` of the oldest connections; how many it shed.
    pub fn shed_oldest(&self, n: usize) -> usize {
        let mut state = self.lock();
        let mut shed = 0;
        while shed < n {
            let Some((_, oldest)) = state.open.pop_first() else { break };
            oldest.cancel();
            shed += 1;
        }
        shed
    }

    /// Connections registered now.
    pub fn len(&self) -> usize {
        self.lock().open.len()
    }

    /// Whether none is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The client's IP address, when the listener has one (TCP; in-memory test pipes have none).
pub trait PeerAddr {
    /// The IP address.
    fn ip(&self) -> Option<IpAddr>;
}

impl PeerAddr for SocketAddr {
    fn ip(&self) -> Option<IpAddr> {
        Some(SocketAddr::ip(self))
    }
}

impl PeerAddr for &'static str {
    fn ip(&self) -> Option<IpAddr> {
        None
    }
}

/// The client's IP address, in a request's extensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peer(pub IpAddr);

/// How many pending connections one failed `accept` sheds: enough to take the waiting
/// clients, few enough that a brief shortage costs few connections.
const SHED_BATCH: usize = 32;
/// How long the accept loop lets shed connections close before it tries again.
const SHED_PAUSE: Duration = Duration::from_millis(5);
/// At most one log line about the descriptor limit per this.
const LOG_EVERY: Duration = Duration::from_secs(60);

/// The TCP listener: accepts with `TCP_NODELAY`, and sheds pending connections when the
/// process is out of descriptors.
pub struct Shedding {
    listener: TcpListener,
    pending: Arc<Pending>,
    /// When the descriptor limit was last logged, and what was shed since.
    logged: Option<Instant>,
    shed_unlogged: usize,
}

impl Shedding {
    /// Wraps `listener`; it sheds from `pending`.
    pub fn new(listener: TcpListener, pending: Arc<Pending>) -> Shedding {
        Shedding { listener, pending, logged: None, shed_unlogged: 0 }
    }

    fn out_of_descriptors(&mut self, error: &std::io::Error) -> Duration {
        let shed = self.pending.shed_oldest(SHED_BATCH);
        self.shed_unlogged += shed;
        if self.logged.is_none_or(|at| at.elapsed() >= LOG_EVERY) {
            tracing::warn!(error = %error, shed = self.shed_unlogged, pending = self.pending.len(), "out of file descriptors: closing the oldest connections that have not upgraded to make room (logged once a minute at most); raise the open-file limit (ulimit -n) or lower limits.max_pending_connections");
            self.logged = Some(Instant::now());
            self.shed_unlogged = 0;
        }
        // Nothing left to shed: every descriptor is a session's. Wait for one to end.
        if shed == 0 {
            Duration::from_millis(50)
        } else {
            SHED_PAUSE
        }
    }
}

/// Whether `accept` failed for want of a descriptor (`EMFILE`: this process, `ENFILE`: the
/// system; the same numbers on Linux and the BSDs).
fn is_descriptor_limit(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(23 | 24))
}

/// Whether `accept` failed for one connection only (it was reset while queued).
fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(e.kind(), ConnectionRefused | ConnectionAborted | ConnectionReset)
}

impl axum::serve::Listener for Shedding {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        loop {
            match self.listener.accept().await {
                Ok((tcp, addr)) => {
                    // Small frames (pings, confirmations) must not wait for Nagle.
                    let _ = tcp.set_nodelay(true);
                    return (tcp, addr);
                }
                Err(e) if is_connection_error(&e) => {}
                Err(e) if is_descriptor_limit(&e) => {
                    let pause = self.out_of_descriptors(&e);
                    tokio::time::sleep(pause).await;
                }
                Err(e) => {
                    tracing::error!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_is_shed_first_when_the_cap_is_reached() {
        let pending = Pending::new(2);
        let first = pending.admit();
        let second = pending.admit();
        assert_eq!(pending.len(), 2);
        let third = pending.admit();
        assert!(first.shed.is_cancelled() && !second.shed.is_cancelled() && !third.shed.is_cancelled());
        assert_eq!(pending.len(), 2);
        assert_eq!(pending.shed_oldest(5), 2);
        assert!(second.shed.is_cancelled() && third.shed.is_cancelled());
        drop((first, second, third));
        assert!(pending.is_empty());
    }

    #[test]
    fn an_ended_connection_leaves_the_registry() {
        let pending = Pending::new(8);
        let a = pending.admit();
        let b = pending.admit();
        drop(a);
        assert_eq!(pending.len(), 1);
        assert_eq!(pending.shed_oldest(1), 1);
        assert!(b.shed.is_cancelled());
    }

    #[test]
    fn descriptor_exhaustion_is_told_apart() {
        assert!(is_descriptor_limit(&std::io::Error::from_raw_os_error(24)));
        assert!(is_descriptor_limit(&std::io::Error::from_raw_os_error(23)));
        assert!(!is_descriptor_limit(&std::io::Error::from_raw_os_error(104)));
    }
}
