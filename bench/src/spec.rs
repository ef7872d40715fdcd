//! What one generator run does ([`Spec`]) and what it found ([`Report`]); both travel as JSON
//! between the `bench` orchestrator and the `loadgen` process.

use serde::{Deserialize, Serialize};

use super::stats::Latency;

/// The wire protocol of the server under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Proto {
    /// ActionCable (`actioncable-v1-json`): Cableway and Rails. welcome → subscribe → confirm_subscription.
    Cable,
    /// The plain JSON of the Node `ws` peer: `{"type":"subscribe"}` → `{"type":"confirm"}`.
    Ws,
    /// Socket.IO 4 over a raw websocket (Engine.IO v4): `0{…}`, `40`, `42["subscribe"]` → `42["confirmed"]`; ping `2` / pong `3`.
    SocketIo,
    /// The raw floor: a `{"type":"welcome"}` frame after the handshake, nothing else.
    Floor,
}

/// How a publish request body is built around the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyFormat {
    /// `{"channel":"NotificationChannel","event":"new_notification","payload":<payload>}` (Cableway).
    Cableway,
    /// The payload itself (peers broadcast the body as is).
    Raw,
}

/// A throughput ramp: the offered rate rises by `factor` per step until a step fails (a
/// delivery missing, p99 over `p99_limit_ms`, or under 90% of the offered rate delivered),
/// halves while no step has passed, then bisects `refine` times between the last pass and
/// the first failure.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ramp {
    /// First step in deliveries/s; `None`: 70% of the capacity estimated from the latency
    /// phase (subscribers ÷ full fan-out p50).
    pub start_deliveries_per_s: Option<f64>,
    /// Rate multiplier between steps.
    pub factor: f64,
    /// Publishing time per step.
    pub step_ms: u64,
    /// Messages published per step at least (slow servers get longer steps).
    pub min_msgs: usize,
    /// Most steps.
    pub max_steps: usize,
    /// Bisection steps between the last pass and the first failure.
    #[serde(default)]
    pub refine: usize,
    /// A step fails when its per-recipient p99 is above this.
    pub p99_limit_ms: u64,
    /// How long after its last publish a step's deliveries count.
    pub drain_ms: u64,
    /// Highest offered rate tried (deliveries/s).
    pub max_deliveries_per_s: f64,
}

impl Default for Ramp {
    fn default() -> Self {
        Ramp { start_deliveries_per_s: None, factor: 1.5, step_ms: 2500, min_msgs: 4, max_steps: 6, refine: 2, p99_limit_ms: 1000, drain_ms: 2000, max_deliveries_per_s: 600_000.0 }
    }
}

/// One generator run against one server.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Spec {
    /// Protocol.
    pub proto: Proto,
    /// WebSocket URL (with `?token=` for Cableway).
    pub ws_url: String,
    /// `Sec-WebSocket-Protocol` to offer.
    pub subprotocol: Option<String>,
    /// ActionCable identifier to subscribe with.
    pub identifier: Option<String>,
    /// `host:port` of the publish endpoint.
    pub publish_addr: String,
    /// Its path.
    pub publish_path: String,
    /// Bearer key for it.
    pub publish_bearer: Option<String>,
    /// Body layout.
    pub body: BodyFormat,
    /// Approximate payload size in bytes.
    pub payload_bytes: usize,
    /// Subscribers.
    pub n: usize,
    /// Connections in flight while connecting.
    pub concurrency: usize,
    /// Measure RSS after this many connections too (for the 1k→N slope).
    pub checkpoint: Option<usize>,
    /// Idle time after connecting (and after the checkpoint) before RSS is read.
    pub settle_ms: u64,
    /// Warm-up broadcasts (not measured).
    pub warmup: usize,
    /// Measured broadcasts of the latency phase, one at a time.
    pub latency_msgs: usize,
    /// Least time between latency-phase broadcasts.
    pub latency_spacing_ms: u64,
    /// Longest wait for one broadcast to reach everyone.
    pub fanout_timeout_ms: u64,
    /// Throughput ramp.
    pub ramp: Option<Ramp>,
    /// A fixed-rate phase for profiling: (deliveries/s, seconds). Announced on stderr.
    pub hold: Option<(f64, f64)>,
    /// Server process (CPU and RSS of its whole tree are read from /proc).
    pub server_pid: Option<u32>,
    /// Publish connections.
    pub publishers: usize,
    /// Longest wait at the end for late deliveries.
    pub final_wait_ms: u64,
    /// Source addresses to spread clients over (e.g. 127.0.0.2); empty: the default route.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Stop starting new connections after this long (they count as failed connects), so a
    /// server that collapses under N does not stall the whole bench.
    #[serde(default)]
    pub connect_budget_ms: Option<u64>,
    /// Only connect and record receipts, publishing nothing, until `stop_file` exists: the
    /// second generator of a run whose subscribers do not fit in one process.
    #[serde(default)]
    pub listen_only: bool,
    /// See `listen_only`.
    #[serde(default)]
    pub stop_file: Option<String>,
    /// Report per-broadcast send and last-receipt times ([`Report::receipts`]), so runs of
    /// several generators can be combined.
    #[serde(default)]
    pub receipts: bool,
    /// Broadcasts a `listen_only` generator is ready to record (default 4,096: a latency
    /// phase); a publishing generator's throughput ramp needs more.
    #[serde(default)]
    pub listen_seqs: Option<usize>,
}

impl Spec {
    /// A spec with the defaults of a short run; callers set the target fields.
    pub fn new(proto: Proto, ws_url: &str, publish_addr: &str, n: usize) -> Spec {
        Spec {
            proto,
            ws_url: ws_url.to_owned(),
            subprotocol: None,
            identifier: None,
            publish_addr: publish_addr.to_owned(),
            publish_path: "/broadcast".into(),
            publish_bearer: None,
            body: BodyFormat::Raw,
            payload_bytes: 200,
            n,
            concurrency: 200,
            checkpoint: None,
            settle_ms: 1000,
            warmup: 3,
            latency_msgs: 20,
            latency_spacing_ms: 100,
            fanout_timeout_ms: 5000,
            ramp: None,
            hold: None,
            server_pid: None,
            publishers: 4,
            final_wait_ms: 5000,
            sources: Vec::new(),
            connect_budget_ms: None,
            listen_only: false,
            stop_file: None,
            receipts: false,
            listen_seqs: None,
        }
    }
}

/// One throughput step.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Step {
    /// Sequence numbers of its first and last broadcast (to match another generator's
    /// receipts of the same broadcasts).
    #[serde(default)]
    pub seqs: Option<(u32, u32)>,
    /// Offered broadcasts/s.
    pub offered_msgs_per_s: f64,
    /// Offered deliveries/s (broadcasts/s × subscribers).
    pub offered_deliveries_per_s: f64,
    /// Broadcasts published.
    pub msgs: usize,
    /// Deliveries that arrived before the step's deadline.
    pub deliveries: u64,
    /// Deliveries/s actually achieved (arrived ÷ first publish → last arrival).
    pub delivered_per_s: f64,
    /// Expected deliveries that had not arrived by the deadline.
    pub missing: u64,
    /// Per-recipient latency from the scheduled publish time.
    pub latency: Latency,
    /// Server CPU µs per delivery over the step.
    pub server_cpu_us_per_delivery: Option<f64>,
    /// Server CPU, share of one core.
    pub server_cpu_share: Option<f64>,
    /// Generator CPU, share of one core (≥ 0.95 means the generator is the bottleneck).
    pub generator_cpu_share: f64,
    /// Frames per socket write on the server over the step (Cableway only: its `/health`
    /// counts writes and frames).
    #[serde(default)]
    pub frames_per_write: Option<f64>,
    /// No delivery missing, p99 within the limit, and at least 90% of the offered rate delivered.
    pub pass: bool,
}

/// The latency phase.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LatencyPhase {
    /// Broadcasts measured.
    pub msgs: usize,
    /// Publish → each recipient.
    pub per_recipient: Latency,
    /// Publish → last recipient, over broadcasts that reached everyone.
    pub full_fanout: Latency,
    /// Broadcasts that did not reach everyone within the timeout (the phase stops after two
    /// in a row).
    pub incomplete: usize,
}

/// One broadcast as one generator saw it, in Unix µs (comparable across processes).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Receipt {
    /// Sequence number.
    pub seq: u32,
    /// When it was published (the publishing generator only).
    pub sent_unix_us: Option<u64>,
    /// When this generator's last subscriber got it.
    pub last_unix_us: Option<u64>,
    /// How many of this generator's subscribers got it.
    pub count: u32,
}

/// Everything one run measured.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Report {
    /// Subscribers asked for.
    pub n: usize,
    /// Subscribers that got through welcome and subscription confirmation.
    pub connected: usize,
    /// Connects that failed (first error in `errors`).
    pub connect_failures: usize,
    /// Wall time of the connect phase(s), without settle pauses.
    pub connect_secs: f64,
    /// Connections/s through welcome and confirmation, `concurrency` in flight.
    pub accept_per_s: f64,
    /// Per-connection connect → confirmed time.
    pub connect_latency: Latency,
    /// Server CPU µs per connection (handshake, auth, subscribe) during the connect phase.
    pub server_cpu_us_per_connect: Option<f64>,
    /// Server RSS (KiB) before connecting.
    pub rss_kib_start: Option<u64>,
    /// (connections, server RSS KiB) at the checkpoint.
    pub rss_kib_checkpoint: Option<(usize, u64)>,
    /// Server RSS (KiB) with all connections idle.
    pub rss_kib_idle: Option<u64>,
    /// Server CPU share of one core while idle with every connection open (pings, timers).
    pub idle_server_cpu_share: Option<f64>,
    /// The latency phase.
    pub latency: LatencyPhase,
    /// Throughput steps in order.
    pub steps: Vec<Step>,
    /// Why the ramp did not run, when it did not.
    pub ramp_skipped: Option<String>,
    /// The highest passing step.
    pub sustained: Option<Step>,
    /// The fixed-rate phase, when asked for.
    pub hold: Option<Step>,
    /// Broadcasts published successfully.
    pub published: u64,
    /// Publish requests that failed or were refused.
    pub publish_errors: u64,
    /// Deliveries expected (published × connected).
    pub expected: u64,
    /// Distinct deliveries received.
    pub delivered: u64,
    /// Expected deliveries never received by the end of the run.
    pub lost: u64,
    /// Deliveries received twice or more by the same client.
    pub duplicates: u64,
    /// Connections the server closed during the run.
    pub disconnects: u64,
    /// Generator CPU seconds.
    pub generator_cpu_secs: f64,
    /// Run wall time.
    pub wall_secs: f64,
    /// First errors seen.
    pub errors: Vec<String>,
    /// Per broadcast, when asked for ([`Spec::receipts`]).
    #[serde(default)]
    pub receipts: Vec<Receipt>,
}
