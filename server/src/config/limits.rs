//! `[limits]`: how much one client or request may take. Environment variables:
//! `CABLEWAY_<KEY>` (no table prefix, as since the first release).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::channels;

/// Sizes, counts and rates. Every one is at least 1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
#[schemars(extend("x-env-prefix" = "CABLEWAY_"))]
pub struct Limits {
    /// Largest client frame accepted, in bytes.
    #[schemars(range(min = 1))]
    pub max_inbound_message_bytes: usize,
    /// Bytes queued for one slow client before it is disconnected (`too_slow`).
    #[schemars(range(min = 1))]
    pub max_outbound_queue_bytes: usize,
    /// Subscriptions one connection may hold.
    #[schemars(range(min = 1))]
    pub max_subscriptions_per_connection: usize,
    /// Bytes the sessions kept for resume (`?sid=`) may hold on this node (embedded engine);
    /// past it the oldest are dropped first.
    #[schemars(range(min = 1))]
    pub max_kept_sessions_bytes: usize,
    /// Largest publish request body, in bytes.
    #[schemars(range(min = 1))]
    pub max_publish_body_bytes: usize,
    /// Bytes one socket read takes, into the worker thread's buffer (connections keep none).
    #[schemars(range(min = 1))]
    pub read_buffer_bytes: usize,
    /// Open connections this node takes; past it an upgrade is answered 503 and counted as
    /// `cap_reached`. Unset: no cap but the process's open-file limit.
    #[schemars(range(min = 1))]
    pub max_connections: Option<usize>,
    /// Connections that have not upgraded to a WebSocket yet (handshakes, publish requests);
    /// past it the oldest of them is closed to make room, so a flood of silent sockets
    /// cannot lock legitimate clients out.
    #[schemars(range(min = 1))]
    pub max_pending_connections: usize,
    /// WebSocket connections from one IP address; past it the upgrade gets a `disconnect`
    /// with reason `too_many_connections`. Unset: no cap (clients behind one proxy or NAT share
    /// an address).
    #[schemars(range(min = 1))]
    pub max_connections_per_address: Option<usize>,
    /// WebSocket connections of one principal (`sub` in `account_id`) on this node; past it the
    /// upgrade gets a `disconnect` with reason `too_many_connections`. Unset: no cap (load
    /// generators and shared service tokens open many).
    #[schemars(range(min = 1))]
    pub max_connections_per_principal: Option<usize>,
    /// Publish requests (`/broadcast`, `/_broadcast`, `/resources`) served at once; past it a
    /// request is answered 503 with `Retry-After`, before its body is read.
    #[schemars(range(min = 1))]
    pub max_concurrent_publishes: usize,
    /// `listen(2)` backlog.
    #[schemars(range(min = 1))]
    pub listen_backlog: u32,
    /// Sustained client commands per second per connection.
    #[schemars(range(min = 1))]
    pub commands_per_second: u32,
    /// Commands a connection may send in a burst above the sustained rate.
    #[schemars(range(min = 1))]
    pub command_burst: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            // The four protocol limits are declared in schema/cableway.yaml so clients and
            // server agree on them; the build turns them into these constants.
            max_inbound_message_bytes: channels::MAX_INBOUND_MESSAGE_BYTES as usize,
            max_outbound_queue_bytes: channels::MAX_OUTBOUND_QUEUE_BYTES as usize,
            max_subscriptions_per_connection: channels::MAX_SUBSCRIPTIONS_PER_CONNECTION as usize,
            max_publish_body_bytes: channels::MAX_PUBLISH_BODY_BYTES as usize,
            max_kept_sessions_bytes: 64 << 20,
            read_buffer_bytes: 8192,
            max_connections: None,
            max_pending_connections: 4096,
            max_connections_per_address: None,
            max_connections_per_principal: None,
            max_concurrent_publishes: 64,
            listen_backlog: 4096,
            commands_per_second: 50,
            command_burst: 100,
        }
    }
}
