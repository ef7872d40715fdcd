//! Resource ownership at run time, for `owns` rules: the embedded registry that publishers
//! feed, or an HTTP callback to the app backend. Which one is chosen in config.

pub mod http;
pub mod registry;

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
#[derive(Debug)]
pub enum Ownership {
    /// Publishers and events feed an in-memory registry.
    Registry(registry::Registry),
    /// The app backend decides.
    Http(http::Callback),
}

impl Resolver for Scoped<'_> {
    fn owns<'a>(&'a self, q: OwnsQuery<'a>) -> BoxFuture<'a, Result<bool, ResolveError>> {
        Box::pin(async move {
            match self.inner {
                Ownership::Registry(r) => Ok(r.owner(q.kind, q.id).is_some_and(|a| a == q.account_id)),
                Ownership::Http(h) => h.decide(q, self.principal, self.params).await,
            }
        })
    }
}
