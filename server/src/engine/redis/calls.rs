//! Commands to Redis: one multiplexed connection (redis' `ConnectionManager`, which
//! reconnects by itself), every call under the call timeout and counted in [`RedisStats`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::FromRedisValue;

use super::stats::RedisStats;
use crate::engine::EngineError;

/// The command connection.
#[derive(Clone)]
pub struct Calls {
    conn: ConnectionManager,
    timeout: Duration,
    stats: Arc<RedisStats>,
}

impl Calls {
    /// A connection to `client`'s Redis, made on first use: a node starts while Redis is down.
    pub fn new(client: redis::Client, timeout: Duration, stats: Arc<RedisStats>) -> redis::RedisResult<Self> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_lazy_with_config(client, config)?;
        Ok(Calls { conn, timeout, stats })
    }

    /// The call timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Runs one command.
    pub async fn query<T: FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, EngineError> {
        let mut conn = self.conn.clone();
        self.timed("command", async move { cmd.query_async(&mut conn).await }).await
    }

    /// Runs a pipeline (atomic when built with `.atomic()`).
    pub async fn pipeline<T: FromRedisValue>(&self, pipe: &redis::Pipeline) -> Result<T, EngineError> {
        let mut conn = self.conn.clone();
        self.timed("pipeline", async move { pipe.query_async(&mut conn).await }).await
    }

    /// Runs a script (`EVALSHA`, loading it on `NOSCRIPT`).
    pub async fn script<T: FromRedisValue>(&self, invocation: &redis::ScriptInvocation<'_>) -> Result<T, EngineError> {
        let mut conn = self.conn.clone();
        self.timed("script", async move { invocation.invoke_async(&mut conn).await }).await
    }

    /// Whether the last call found Redis unreachable or silent; it stays so until a call
    /// (the readiness probe's `PING`, every second) gets an answer.
    pub fn failing(&self) -> bool {
        self.stats.commands_failing.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Runs `call` under the timeout, counted in the stats and in `cableway_redis_call_seconds{op}`.
    async fn timed<T>(&self, op: &'static str, call: impl std::future::Future<Output = redis::RedisResult<T>>) -> Result<T, EngineError> {
        let started = Instant::now();
        let _in_flight = InFlight::enter(&self.stats.calls_in_flight);
        let result = match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(EngineError::from_redis(&e, self.timeout)),
            Err(_) => Err(EngineError::Timeout(self.timeout)),
        };
        // A reply error means Redis is there; only unreachable and silent count as down.
        let up = !matches!(result, Err(EngineError::Unreachable(_) | EngineError::Timeout(_)));
        let took = started.elapsed();
        self.stats.call(took.as_micros() as u64, up);
        crate::metrics::redis_call(op, took);
        result
    }
}

/// Counts one call in a gauge while it lives (also when its future is dropped).
pub(crate) struct InFlight<'a>(&'a std::sync::atomic::AtomicU64);

impl<'a> InFlight<'a> {
    pub(crate) fn enter(gauge: &'a std::sync::atomic::AtomicU64) -> Self {
        gauge.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        InFlight(gauge)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}
