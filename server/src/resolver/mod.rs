//! Resource ownership at run time, for `owns` rules: the registry that publishers feed (the
//! engine's: in memory, or shared in Redis), or an HTTP callback to the app backend. Which
//! one is chosen in config.

pub mod http;
pub mod registry;

use std::sync::Arc;

use serde_json::Value;

use crate::codegen_support::{BoxFuture, OwnsQuery, ResolveError, Resolver};

/// A resolver that also knows who asks and with which params, for backends that decide
/// per subscription rather than per resource.
pub struct Scoped<'a> {
    /// The configured resolver.
    pub inner: &'a Ownership,
    /// The principal's claims, as JSON.
    pub principal: &'a Value,
    /// The subscription params.
    pub params: &'a Value,
}

/// The configured ownership source.
pub enum Ownership {
    /// Publishers and events feed the engine's registry.
    Registry(Arc<dyn registry::OwnerStore>),
    /// The app backend decides.
    Http(http::Callback),
}

impl Resolver for Scoped<'_> {
    fn owns<'a>(&'a self, q: OwnsQuery<'a>) -> BoxFuture<'a, Result<bool, ResolveError>> {
        Box::pin(async move {
            match self.inner {
                Ownership::Registry(r) => match r.find_owner(q.kind, q.id).await {
                    Ok(owner) => Ok(owner.is_some_and(|a| a == q.account_id)),
                    Err(e) => Err(ResolveError(e.to_string())),
                },
                Ownership::Http(h) => h.decide(q, self.principal, self.params).await,
            }
        })
    }
}
