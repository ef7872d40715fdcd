//! Ownership decided by the app backend: the server POSTs the principal, the channel, the
//! params and the resource, and takes `{"allow": bool}`. Answers are cached with a TTL and
//! the call has a timeout; a failed or slow backend denies (and is logged), never allows.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::codegen_support::{OwnsQuery, ResolveError};

/// Most cached answers; the cache is cleared when it passes this.
const CACHE_CAPACITY: usize = 100_000;

/// The backend callback.
#[derive(Debug)]
pub struct Callback {
    url: String,
    client: reqwest::Client,
    ttl: Duration,
    cache: Mutex<HashMap<String, (bool, Instant)>>,
}

impl Callback {
    /// A callback to `{backend}/cable/authorize`.
    ///
    /// # Errors
    /// When reqwest cannot build a client (TLS or resolver setup): the call would otherwise
    /// run without its timeout.
    pub fn new(backend: &str, timeout: Duration, ttl: Duration) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder().timeout(timeout).build()?;
        Ok(Callback { url: format!("{}/cable/authorize", backend.trim_end_matches('/')), client, ttl, cache: Mutex::new(HashMap::new()) })
    }

    /// Asks the backend, or the cache.
    ///
    /// # Errors
    /// [`ResolveError`] when the backend is unreachable, slow, or answers nonsense.
    pub async fn decide(&self, q: OwnsQuery<'_>, principal: &Value, params: &Value) -> Result<bool, ResolveError> {
        let body = json!({
            "principal": principal,
            "channel": q.channel,
            "params": params,
            "resource": { "kind": q.kind, "id": q.id },
        });
        // Cache by who asks about what, not by the token: `iat`/`exp` change with every
        // token the principal gets, and would make every answer a miss.
        let key = json!({
            "sub": principal.get("sub"), "account_id": principal.get("account_id"),
            "kind": principal.get("kind"), "permissions": principal.get("permissions"),
            "channel": q.channel, "params": params, "resource": [q.kind, q.id],
        })
        .to_string();
        if let Some((allow, at)) = self.cache.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            if at.elapsed() < self.ttl {
                return Ok(*allow);
            }
        }
        let resp = self.client.post(&self.url).json(&body).send().await.map_err(|e| ResolveError(format!("backend unreachable: {e}")))?;
        if !resp.status().is_success() {
            return Err(ResolveError(format!("backend answered {}", resp.status())));
        }
        let answer: Value = resp.json().await.map_err(|e| ResolveError(format!("backend answer is not JSON: {e}")))?;
        let allow = answer.get("allow").and_then(Value::as_bool).ok_or_else(|| ResolveError("backend answer lacks a boolean `allow`".into()))?;
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= CACHE_CAPACITY {
            cache.clear();
        }
        cache.insert(key, (allow, Instant::now()));
        Ok(allow)
    }
}
