//! The embedded ownership registry: `(kind, id) → account`, fed by `PUT /resources/...` and
//! by events that declare an `owner`.

use std::collections::HashMap;
use std::sync::RwLock;

/// Most entries kept; past it new facts are refused (publishers get 507) rather than
/// growing without bound.
pub const DEFAULT_CAPACITY: usize = 1_000_000;

/// Why a fact was not recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// The registry is full.
    #[error("the ownership registry holds {0} entries, its limit")]
    Full(usize),
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
