//! The ownership registry: `(kind, id) → account`, fed by `PUT /resources/...` and by
//! events that declare an `owner`. [`OwnerStore`] is the seam: [`Registry`] is the embedded
//! one, the Redis engine shares one across nodes.

use std::collections::HashMap;
use std::sync::RwLock;

use crate::codegen_support::BoxFuture;

/// Most entries kept; past it new facts are refused (publishers get 507) rather than
/// growing without bound.
pub const DEFAULT_CAPACITY: usize = 1_000_000;

/// Why a fact was not recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// The registry is full.
    #[error("the ownership registry holds {0} entries, its limit")]
    Full(usize),
    /// The shared registry (Redis) cannot be reached: why.
    #[error("{0}")]
    Unavailable(String),
}

/// Where ownership facts are kept.
pub trait OwnerStore: Send + Sync {
    /// Records that `kind`/`id` belongs to `account`; a later fact replaces an earlier one.
    fn record_owner<'a>(&'a self, kind: &'a str, id: &'a str, account: &'a str) -> BoxFuture<'a, Result<(), RegistryError>>;

    /// The owning account, if known.
    fn find_owner<'a>(&'a self, kind: &'a str, id: &'a str) -> BoxFuture<'a, Result<Option<String>, RegistryError>>;
}

impl OwnerStore for Registry {
    fn record_owner<'a>(&'a self, kind: &'a str, id: &'a str, account: &'a str) -> BoxFuture<'a, Result<(), RegistryError>> {
        Box::pin(std::future::ready(self.record(kind, id, account)))
    }

    fn find_owner<'a>(&'a self, kind: &'a str, id: &'a str) -> BoxFuture<'a, Result<Option<String>, RegistryError>> {
        Box::pin(std::future::ready(Ok(self.owner(kind, id))))
    }
}

/// `(kind, id) → account`.
#[derive(Debug)]
pub struct Registry {
    map: RwLock<HashMap<(String, String), String>>,
    capacity: usize,
}

impl Default for Registry {
    fn default() -> Self {
        Registry::with_capacity(DEFAULT_CAPACITY)
    }
}

impl Registry {
    /// An empty registry holding at most `capacity` facts.
    pub fn with_capacity(capacity: usize) -> Self {
        Registry { map: RwLock::new(HashMap::new()), capacity }
    }

    /// Records that `kind`/`id` belongs to `account`; a later fact replaces an earlier one.
    ///
    /// # Errors
    /// [`RegistryError::Full`] when a new key would pass the capacity.
    pub fn record(&self, kind: &str, id: &str, account: &str) -> Result<(), RegistryError> {
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        let key = (kind.to_owned(), id.to_owned());
        if !map.contains_key(&key) && map.len() >= self.capacity {
            return Err(RegistryError::Full(self.capacity));
        }
        map.insert(key, account.to_owned());
        Ok(())
    }

    /// The owning account, if known.
    pub fn owner(&self, kind: &str, id: &str) -> Option<String> {
        let map = self.map.read().unwrap_or_else(|p| p.into_inner());
        map.get(&(kind.to_owned(), id.to_owned())).cloned()
    }
}
