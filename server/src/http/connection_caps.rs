//! Per-address and per-principal caps on WebSocket connections
//! (`limits.max_connections_per_address`, `limits.max_connections_per_principal`). A connection
//! is counted from its upgrade to its session's end; the one past a cap is upgraded all the
//! same (a browser cannot read an HTTP refusal of a handshake) and gets a `disconnect` frame
//! with reason `too_many_connections`.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use crate::config::Limits;

/// The counts of one node.
pub(super) struct ConnectionCaps {
    per_address: Option<usize>,
    per_principal: Option<usize>,
    addresses: Arc<Counts<IpAddr>>,
    /// By `(account_id, sub)`.
    principals: Arc<Counts<(String, String)>>,
}

impl ConnectionCaps {
    pub(super) fn new(limits: &Limits) -> Arc<ConnectionCaps> {
        Arc::new(ConnectionCaps { per_address: limits.max_connections_per_address, per_principal: limits.max_connections_per_principal, addresses: Arc::default(), principals: Arc::default() })
    }

    /// A place for one more connection from `ip`; `Err` when the address holds its cap.
    /// Without a cap (or an address) nothing is counted.
    pub(super) fn address(&self, ip: Option<IpAddr>) -> Result<Option<Held<IpAddr>>, CapReached> {
        match (self.per_address, ip) {
            (Some(cap), Some(ip)) => Counts::take(&self.addresses, ip, cap).map(Some),
            _ => Ok(None),
        }
    }

    /// A place for one more connection of `sub` in `account_id`.
    pub(super) fn principal(&self, account_id: &str, sub: &str) -> Result<Option<Held<(String, String)>>, CapReached> {
        match self.per_principal {
            Some(cap) => Counts::take(&self.principals, (account_id.to_owned(), sub.to_owned()), cap).map(Some),
            None => Ok(None),
        }
    }
}

/// The key holds as many connections as its cap allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct CapReached;

/// Open connections by key; a key with none is removed.
pub(super) struct Counts<K> {
    open: Mutex<HashMap<K, usize>>,
}

impl<K> Default for Counts<K> {
    fn default() -> Self {
        Counts { open: Mutex::new(HashMap::new()) }
    }
}

impl<K: Hash + Eq + Clone> Counts<K> {
    fn take(this: &Arc<Self>, key: K, cap: usize) -> Result<Held<K>, CapReached> {
        let mut open = this.open.lock().unwrap_or_else(PoisonError::into_inner);
        let n = open.entry(key.clone()).or_insert(0);
        if *n >= cap {
            return Err(CapReached);
        }
        *n += 1;
        Ok(Held { counts: this.clone(), key: Some(key) })
    }
}

/// One counted connection; dropping it (the session ended) gives its place back.
pub(super) struct Held<K: Hash + Eq> {
    counts: Arc<Counts<K>>,
    key: Option<K>,
}

impl<K: Hash + Eq> Drop for Held<K> {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else { return };
        let mut open = self.counts.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = open.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                open.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_counts_open_connections_per_key() {
        let limits = Limits { max_connections_per_address: Some(2), max_connections_per_principal: Some(1), ..Limits::default() };
        let caps = ConnectionCaps::new(&limits);
        let (a, b): (IpAddr, IpAddr) = ("127.0.0.2".parse().expect("ip"), "127.0.0.3".parse().expect("ip"));
        let first = caps.address(Some(a)).expect("first");
        let second = caps.address(Some(a)).expect("second");
        assert_eq!(caps.address(Some(a)).err(), Some(CapReached));
        assert!(caps.address(Some(b)).is_ok(), "another address has its own count");
        assert!(caps.address(None).expect("no address, no count").is_none());
        drop(first);
        let third = caps.address(Some(a)).expect("a place was given back");
        drop((second, third));
        assert!(caps.addresses.open.lock().expect("lock").is_empty(), "no key is kept for nothing");

        let u1 = caps.principal("acc1", "u1").expect("u1");
        assert_eq!(caps.principal("acc1", "u1").err(), Some(CapReached));
        assert!(caps.principal("acc2", "u1").is_ok(), "the same sub in another account is another principal");
        drop(u1);
        assert!(caps.principal("acc1", "u1").is_ok());
    }

    #[test]
    fn without_caps_nothing_is_counted() {
        let caps = ConnectionCaps::new(&Limits::default());
        assert!(caps.address(Some("127.0.0.1".parse().expect("ip"))).expect("no cap").is_none());
        assert!(caps.principal("acc1", "u1").expect("no cap").is_none());
    }
}
