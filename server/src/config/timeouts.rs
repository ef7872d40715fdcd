//! `[timeouts]`: how long Cableway waits, and how long it keeps what it may be asked for
//! again. The keys carry their unit (`_ms`, `_seconds`); the fields are `Duration`s.
//! Environment variables: `CABLEWAY_<KEY>` (no table prefix, as since the first release).

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Time budgets. Every one but the cache TTL is above 0.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
#[schemars(extend("x-env-prefix" = "CABLEWAY_"))]
pub struct Timeouts {
    /// How long a backend authorization answer is reused; 0 disables the cache.
    #[serde(rename = "resolver_cache_ttl_ms", with = "super::units::millis")]
    #[schemars(with = "u64")]
    pub resolver_cache_ttl: Duration,
    /// Budget of one backend authorization call.
    #[serde(rename = "resolver_timeout_ms", with = "super::units::millis")]
    #[schemars(with = "u64", range(min = 1))]
    pub resolver_timeout: Duration,
    /// Budget of one forwarded action or on-subscribe fetch.
    #[serde(rename = "forward_timeout_ms", with = "super::units::millis")]
    #[schemars(with = "u64", range(min = 1))]
    pub forward_timeout: Duration,
    /// Interval between `ping` frames.
    #[serde(rename = "ping_interval_ms", with = "super::units::millis")]
    #[schemars(with = "u64", range(min = 1))]
    pub ping_interval: Duration,
    /// Budget of one socket write before the client counts as stalled.
    #[serde(rename = "write_timeout_ms", with = "super::units::millis")]
    #[schemars(with = "u64", range(min = 1))]
    pub write_timeout: Duration,
    /// How long a client may take to send a request's headers (the WebSocket handshake included).
    #[serde(rename = "header_read_timeout_ms", with = "super::units::millis")]
    #[schemars(with = "u64", range(min = 1))]
    pub header_read_timeout: Duration,
    /// How long a publisher may take to send a request body; a body that stalls is cut (408).
    #[serde(rename = "body_read_timeout_ms", with = "super::units::millis")]
    #[schemars(with = "u64", range(min = 1))]
    pub body_read_timeout: Duration,
    /// How long a connection may stay silent after a WebSocket ping before it is closed as
    /// `unresponsive`. Unset: 2 ping intervals plus the write timeout.
    #[serde(rename = "liveness_timeout_ms", with = "super::units::opt_millis")]
    #[schemars(with = "Option<u64>", range(min = 1))]
    pub liveness_timeout: Option<Duration>,
    /// How long shutdown waits for connections to close after `server_restart`.
    #[serde(rename = "drain_timeout_ms", with = "super::units::millis")]
    #[schemars(with = "u64", range(min = 1))]
    pub drain_timeout: Duration,
    /// How long a disconnected session can be resumed (`?sid=`).
    #[serde(rename = "session_ttl_seconds", with = "super::units::seconds")]
    #[schemars(with = "u64", range(min = 1))]
    pub session_ttl: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            resolver_cache_ttl: Duration::from_millis(30_000),
            resolver_timeout: Duration::from_millis(2_000),
            forward_timeout: Duration::from_millis(5_000),
            ping_interval: Duration::from_millis(3_000),
            write_timeout: Duration::from_millis(2_000),
            header_read_timeout: Duration::from_millis(10_000),
            body_read_timeout: Duration::from_millis(10_000),
            liveness_timeout: None,
            drain_timeout: Duration::from_millis(30_000),
            session_ttl: Duration::from_secs(300),
        }
    }
}

impl Timeouts {
    /// How long a connection may stay silent after a WebSocket ping.
    pub fn liveness(&self) -> Duration {
        self.liveness_timeout.unwrap_or(2 * self.ping_interval + self.write_timeout)
    }
}
