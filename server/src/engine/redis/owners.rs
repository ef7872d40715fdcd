//! The ownership registry shared by every node: one key per resource, holding its account,
//! written by `PUT /resources` and by events that declare an `owner` (inside the publish
//! script, so a fact is recorded exactly when its event is published).

use super::calls::Calls;
use super::keys::Keys;
use crate::codegen_support::BoxFuture;
use crate::resolver::registry::{OwnerStore, RegistryError};

/// Ownership facts in Redis.
pub struct RedisOwners {
    /// The command connection.
    pub calls: Calls,
    /// Key names.
    pub keys: Keys,
}

impl OwnerStore for RedisOwners {
    fn record_owner<'a>(&'a self, kind: &'a str, id: &'a str, account: &'a str) -> BoxFuture<'a, Result<(), RegistryError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("SET");
            cmd.arg(self.keys.owner(kind, id)).arg(account);
            self.calls.query::<()>(&cmd).await.map_err(|e| RegistryError::Unavailable(e.to_string()))
        })
    }

    fn find_owner<'a>(&'a self, kind: &'a str, id: &'a str) -> BoxFuture<'a, Result<Option<String>, RegistryError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("GET");
            cmd.arg(self.keys.owner(kind, id));
            self.calls.query::<Option<String>>(&cmd).await.map_err(|e| RegistryError::Unavailable(e.to_string()))
        })
    }
}
