//! Resumable sessions shared by every node, so that a client resumes (`?sid=`) on whichever
//! node it reaches: a hash per session with its principal and its subscriptions, expiring
//! with the session TTL (and never after the token), taken at most once and only by its
//! principal (one script).

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::calls::Calls;
use super::keys::Keys;
use crate::engine::EngineError;
use crate::history::sessions::{KeptSession, KeptSubscription};

const TAKE: &str = include_str!("lua/take_session.lua");

/// Kept sessions in Redis.
pub struct RedisSessions {
    calls: Calls,
    keys: Keys,
    ttl: Duration,
    take: redis::Script,
}

/// A kept subscription as stored: its channel by name.
#[derive(Serialize, Deserialize)]
struct Stored {
    identifier: String,
    channel: String,
    params: Value,
    streams: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct StoredSession {
    expires_at: i64,
    subscriptions: Vec<Stored>,
}

impl RedisSessions {
    /// Sessions kept for `ttl`.
    pub fn new(calls: Calls, keys: Keys, ttl: Duration) -> Self {
        RedisSessions { calls, keys, ttl, take: redis::Script::new(TAKE) }
    }

    /// Keeps `session` under `sid`, for the TTL or until its token expires, whichever is first.
    ///
    /// # Errors
    /// [`EngineError`] when Redis does not take it.
    pub async fn keep(&self, sid: &str, session: &KeptSession, now: i64) -> Result<(), EngineError> {
        let ttl = (self.ttl.as_secs() as i64).min(session.expires_at - now);
        if ttl <= 0 {
            return Ok(());
        }
        let stored = StoredSession {
            expires_at: session.expires_at,
            subscriptions: session.subscriptions.iter().map(|k| Stored { identifier: k.identifier.to_string(), channel: k.channel.name.to_owned(), params: k.params.clone(), streams: k.streams.clone() }).collect(),
        };
        let data = serde_json::to_string(&stored).map_err(|e| EngineError::Reply(e.to_string()))?;
        let key = self.keys.session(sid);
        let mut pipe = redis::pipe();
        pipe.atomic().hset_multiple(&key, &[("sub", session.sub.as_str()), ("account", session.account_id.as_str()), ("data", data.as_str())]).ignore().expire(&key, ttl).ignore();
        self.calls.pipeline::<()>(&pipe).await
    }

    /// Takes the session if it is this principal's and its token is still valid at `now`.
    ///
    /// # Errors
    /// [`EngineError`] when Redis fails.
    pub async fn take(&self, sid: &str, sub: &str, account_id: &str, now: i64) -> Result<Option<KeptSession>, EngineError> {
        let mut invocation = self.take.key(self.keys.session(sid));
        invocation.arg(sub).arg(account_id);
        let Some(data) = self.calls.script::<Option<String>>(&invocation).await? else { return Ok(None) };
        let stored: StoredSession = serde_json::from_str(&data).map_err(|e| EngineError::Reply(format!("a kept session is not readable: {e}")))?;
        if stored.expires_at <= now {
            return Ok(None);
        }
        let subscriptions = stored
            .subscriptions
            .into_iter()
            .filter_map(|s| {
                // A channel this build no longer has is left out: the client resubscribes it.
                let channel = crate::channels::find(&s.channel)?;
                Some(KeptSubscription { identifier: Arc::from(s.identifier), channel, params: s.params, streams: s.streams })
            })
            .collect();
        Ok(Some(KeptSession { sub: sub.to_owned(), account_id: account_id.to_owned(), expires_at: stored.expires_at, subscriptions }))
    }
}
