//! [`EngineError`]: why the engine could not do what it was asked. Only the Redis engine
//! fails this way; the embedded one has nothing between it and its memory.

use std::time::Duration;

/// Why a publish, a subscribe that needs Redis, or a shared-state call did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// Redis refused the connection or dropped it: the call certainly did not take effect.
    #[error("Redis is unreachable: {0}")]
    Unreachable(String),
    /// Redis did not answer within the call timeout: the call may or may not have taken
    /// effect, so it is reported as failed (a publisher retries; offsets make a duplicate
    /// visible).
    #[error("Redis did not answer within {0:?}")]
    Timeout(Duration),
    /// Too many publications are already waiting for Redis on this node.
    #[error("too many publications are waiting for Redis on this node")]
    Busy,
    /// Redis answered something the engine cannot use (an error reply, a bad script result).
    #[error("Redis answered unexpectedly: {0}")]
    Reply(String),
}

impl EngineError {
    /// From a client error: refused and dropped connections are "unreachable", the rest a reply.
    pub(crate) fn from_redis(e: &redis::RedisError, timeout: Duration) -> Self {
        if e.is_io_error() || e.is_connection_refusal() || e.is_connection_dropped() || e.is_unrecoverable_error() {
            EngineError::Unreachable(e.to_string())
        } else if e.is_timeout() {
            EngineError::Timeout(timeout)
        } else {
            EngineError::Reply(e.to_string())
        }
    }
}
