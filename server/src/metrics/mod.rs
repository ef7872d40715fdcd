//! Metrics: every series Cableway exports, by name, in this one file. Code elsewhere calls
//! the functions below (`metrics::connection_opened(ConnectionOutcome::Accepted)`) and never
//! names a metric or formats a label.
//!
//! Handles come from one [`PrometheusRecorder`] owned here (not a global recorder another
//! crate could replace). A handle is an atomic: recording is one atomic add, or a lock-free
//! push for histograms. Each label combination is registered once, on first use, and kept
//! in a slot found by index ([`ChannelLabel`] and [`EventLabel`] are positions in the
//! registry), so a hot path never hashes or formats a label. Labels are bounded by their
//! types ([`labels`]): channel and event names from the schema, fixed sets for the rest.
//!
//! What the server already counts elsewhere is sampled when the exposition is rendered
//! rather than counted twice on the hot path ([`Sample`]): open connections and streams with
//! local subscribers (gauges), bytes written and too-slow evictions (the transport's
//! counters), and the Redis engine's state and gap counters.
//!
//! Frames written are counted by the transport per write, by the label each frame carries
//! ([`SentLabel`], see [`sent`]); frames per write and fan-out latency are one histogram
//! sample per write, in fixed buckets of this module's own ([`buckets`]: no clock read per
//! sample).
//!
//! The names follow seed 004 (`websocket_connections_total`, `websocket_active_connections`,
//! `websocket_messages_sent_total`, ...) where they fit, `cableway_*` elsewhere.
//!
//! What is recorded where: connections by outcome (the upgrade); publications, validation
//! failures and deliveries (the broker and the embedded engine); subscriptions, their
//! rejects and history answers (subscribe); commands received, rate limits, protocol errors
//! and session resumes (the session loop); frames sent, frames per write and fan-out latency
//! (the transport's write, `transport::stats`); Redis call latency (the engine's calls);
//! build info (here).

mod buckets;
pub mod labels;
mod sent;

use std::sync::{LazyLock, OnceLock};
use std::time::Duration;

use ::metrics::{Counter, Gauge, Histogram, Key, KeyName, Label, Level, Metadata, Recorder, SharedString};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

pub use labels::{BroadcastOutcome, BroadcastSource, ChannelLabel, CommandLabel, ConnectionOutcome, EventLabel, GapOutcome, PublicationOutcome, ReplayOutcome, ResumeOutcome, SentKind, TemplateLabel};
use buckets::Buckets;
pub use sent::{SentLabel, SentTally};

/// Every metric: name, help and kind. The exposition's `# HELP` lines come from here.
mod names {
    pub(super) const CONNECTIONS: &str = "websocket_connections_total";
    pub(super) const ACTIVE_CONNECTIONS: &str = "websocket_active_connections";
    pub(super) const ACTIVE_SUBSCRIPTIONS: &str = "websocket_active_subscriptions";
    pub(super) const MESSAGES_RECEIVED: &str = "websocket_messages_received_total";
    pub(super) const MESSAGES_SENT: &str = "websocket_messages_sent_total";
    pub(super) const SENT_BYTES: &str = "websocket_sent_bytes_total";
    pub(super) const FRAMES_PER_WRITE: &str = "cableway_frames_per_write";
    pub(super) const SUBSCRIPTION_REJECTS: &str = "cableway_subscription_rejects_total";
    pub(super) const PUBLICATIONS: &str = "cableway_publications_total";
    pub(super) const VALIDATION_FAILURES: &str = "cableway_validation_failures_total";
    pub(super) const DELIVERIES: &str = "cableway_deliveries_total";
    pub(super) const FANOUT_LATENCY: &str = "cableway_fanout_latency_seconds";
    pub(super) const STREAMS: &str = "cableway_streams";
    pub(super) const SLOW_EVICTIONS: &str = "cableway_slow_evictions_total";
    pub(super) const RATE_LIMITED: &str = "cableway_rate_limited_total";
    pub(super) const PROTOCOL_ERRORS: &str = "cableway_protocol_errors_total";
    pub(super) const HISTORY_REPLAYS: &str = "cableway_history_replays_total";
    pub(super) const SESSION_RESUMES: &str = "cableway_session_resumes_total";
    pub(super) const REDIS_UP: &str = "cableway_redis_up";
    pub(super) const REDIS_GAPS: &str = "cableway_redis_pubsub_gaps_total";
    pub(super) const REDIS_CALL: &str = "cableway_redis_call_seconds";
    pub(super) const STREAM_BROADCASTS: &str = "cableway_stream_broadcasts_total";
    pub(super) const BUILD_INFO: &str = "cableway_build_info";

    /// The histograms this module keeps itself ([`super::buckets`]), not the exporter.
    pub(super) const OWN: &[&str] = &[FRAMES_PER_WRITE, FANOUT_LATENCY];

    /// `(name, help)` of every metric, in exposition order.
    pub(super) const HELP: &[(&str, &str)] = &[
        (CONNECTIONS, "WebSocket upgrades, by how they ended."),
        (ACTIVE_CONNECTIONS, "Open, authenticated WebSocket connections."),
        (ACTIVE_SUBSCRIPTIONS, "Confirmed subscriptions, by channel."),
        (MESSAGES_RECEIVED, "Client frames received, by command."),
        (MESSAGES_SENT, "Frames written to clients, by channel (empty for connection-level frames) and kind."),
        (SENT_BYTES, "Bytes of frames written to clients."),
        (FRAMES_PER_WRITE, "Frames completed by one socket write (writes that completed at least one)."),
        (SUBSCRIPTION_REJECTS, "Subscriptions rejected, by channel and reason."),
        (PUBLICATIONS, "Publications, by channel, event and outcome."),
        (VALIDATION_FAILURES, "Publications whose payload did not match the event's schema."),
        (DELIVERIES, "Frames queued to connections by publications, by channel."),
        (FANOUT_LATENCY, "Seconds from a publication reaching the hub to its frame written to a socket (per write, its oldest publication frame)."),
        (STREAMS, "Streams with at least one local subscriber."),
        (SLOW_EVICTIONS, "Connections dropped as too slow (outbound queue full)."),
        (RATE_LIMITED, "Client commands dropped by the per-connection rate limit."),
        (PROTOCOL_ERRORS, "Client frames that broke the protocol, by kind."),
        (HISTORY_REPLAYS, "History requests, by outcome."),
        (SESSION_RESUMES, "Session resumes (?sid=), by outcome."),
        (REDIS_UP, "1 while the Redis engine is connected, 0 while it is not."),
        (REDIS_GAPS, "Redis pub/sub gaps, by outcome."),
        (REDIS_CALL, "Seconds of one Redis call, by operation."),
        (STREAM_BROADCASTS, "Stream-addressed broadcasts (Rails' Redis adapter, AnyCable's format), by source, declared stream template and outcome."),
        (BUILD_INFO, "Always 1; the labels are this binary's version and its schema version."),
    ];
}

/// Histogram bounds. Fan-out latency spans a local hop (sub-millisecond) to a stalled
/// client (the 2 s write timeout and beyond); frames per write go up to the 256-frame batch.
const LATENCY_BUCKETS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];
const FRAMES_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];
const REDIS_BUCKETS: &[f64] = &[0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0];

/// Handles of one metric over a fixed label space, each registered on first use.
struct Family<H> {
    name: &'static str,
    slots: Box<[OnceLock<H>]>,
}

impl<H> Family<H> {
    fn new(name: &'static str, slots: usize) -> Self {
        Family { name, slots: (0..slots).map(|_| OnceLock::new()).collect() }
    }
}

/// What a family's handles are.
trait Handle: Sized {
    fn register(recorder: &PrometheusRecorder, key: &Key) -> Self;
}

impl Handle for Counter {
    fn register(recorder: &PrometheusRecorder, key: &Key) -> Self {
        recorder.register_counter(key, &METADATA)
    }
}

impl Handle for Gauge {
    fn register(recorder: &PrometheusRecorder, key: &Key) -> Self {
        recorder.register_gauge(key, &METADATA)
    }
}

impl Handle for Histogram {
    fn register(recorder: &PrometheusRecorder, key: &Key) -> Self {
        recorder.register_histogram(key, &METADATA)
    }
}

static METADATA: Metadata<'static> = Metadata::new("cableway", Level::INFO, Some(module_path!()));

fn key(name: &'static str, labels: &[(&'static str, &'static str)]) -> Key {
    Key::from_parts(name, labels.iter().map(|&(k, v)| Label::from_static_parts(k, v)).collect::<Vec<_>>())
}

/// Every handle.
struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    connections: [Counter; ConnectionOutcome::ALL.len()],
    active_connections: Gauge,
    active_subscriptions: Family<Gauge>,
    messages_received: [Counter; CommandLabel::ALL.len()],
    messages_sent: Family<Counter>,
    sent_bytes: Counter,
    frames_per_write: Buckets,
    subscription_rejects: Family<Counter>,
    publications: Family<Counter>,
    validation_failures: Family<Counter>,
    deliveries: Family<Counter>,
    fanout_latency: Buckets,
    streams: Gauge,
    slow_evictions: Counter,
    rate_limited: Counter,
    protocol_errors: Family<Counter>,
    history_replays: [Counter; ReplayOutcome::ALL.len()],
    session_resumes: [Counter; ResumeOutcome::ALL.len()],
    redis_up: OnceLock<Gauge>,
    redis_gaps: Family<Counter>,
    redis_calls: Family<Histogram>,
    stream_broadcasts: Family<Counter>,
}

/// Reasons a subscription is rejected; one slot each per channel.
const REJECT_REASONS: &[&str] = &["invalid_identifier", "unknown_channel", "too_many_subscriptions", "duplicate_subscription", "invalid_params", "forbidden", "resolver_unavailable", "other"];

/// Kinds of protocol error and Redis operations: open sets of `&'static str` (the code names
/// them, never a client), kept in a small table of slots.
const OPEN_SET_SLOTS: usize = 32;

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

impl Metrics {
    fn new() -> Metrics {
        let mut builder = PrometheusBuilder::new();
        builder = builder.set_buckets_for_metric(Matcher::Full(names::REDIS_CALL.to_owned()), REDIS_BUCKETS).expect("bucket bounds are not empty");
        let recorder = builder.build_recorder();
        // The exporter keeps one help text per name, whatever the metric's kind.
        for (name, help) in names::HELP.iter().filter(|(name, _)| !names::OWN.contains(name)) {
            recorder.describe_counter(KeyName::from_const_str(name), None, SharedString::const_str(help));
        }
        let help = |name| names::HELP.iter().find(|(n, _)| *n == name).map_or("", |(_, h)| *h);
        let counter = |name, labels: &[(&'static str, &'static str)]| recorder.register_counter(&key(name, labels), &METADATA);
        let connections = std::array::from_fn(|i| counter(names::CONNECTIONS, &[("outcome", ConnectionOutcome::ALL[i].as_str())]));
        let messages_received = std::array::from_fn(|i| counter(names::MESSAGES_RECEIVED, &[("command", CommandLabel::ALL[i].as_str())]));
        let history_replays = std::array::from_fn(|i| counter(names::HISTORY_REPLAYS, &[("outcome", ReplayOutcome::ALL[i].as_str())]));
        let session_resumes = std::array::from_fn(|i| counter(names::SESSION_RESUMES, &[("outcome", ResumeOutcome::ALL[i].as_str())]));
        let channels = ChannelLabel::slots();
        let m = Metrics {
            connections,
            active_connections: recorder.register_gauge(&key(names::ACTIVE_CONNECTIONS, &[]), &METADATA),
            active_subscriptions: Family::new(names::ACTIVE_SUBSCRIPTIONS, channels),
            messages_received,
            messages_sent: Family::new(names::MESSAGES_SENT, channels * SentKind::ALL.len()),
            sent_bytes: counter(names::SENT_BYTES, &[]),
            frames_per_write: Buckets::new(names::FRAMES_PER_WRITE, help(names::FRAMES_PER_WRITE), FRAMES_BUCKETS, 1.0),
            subscription_rejects: Family::new(names::SUBSCRIPTION_REJECTS, channels * REJECT_REASONS.len()),
            publications: Family::new(names::PUBLICATIONS, EventLabel::slots() * PublicationOutcome::ALL.len()),
            validation_failures: Family::new(names::VALIDATION_FAILURES, EventLabel::slots()),
            deliveries: Family::new(names::DELIVERIES, channels),
            fanout_latency: Buckets::new(names::FANOUT_LATENCY, help(names::FANOUT_LATENCY), LATENCY_BUCKETS, 1e9),
            streams: recorder.register_gauge(&key(names::STREAMS, &[]), &METADATA),
            slow_evictions: counter(names::SLOW_EVICTIONS, &[]),
            rate_limited: counter(names::RATE_LIMITED, &[]),
            protocol_errors: Family::new(names::PROTOCOL_ERRORS, OPEN_SET_SLOTS),
            history_replays,
            session_resumes,
            redis_up: OnceLock::new(),
            redis_gaps: Family::new(names::REDIS_GAPS, GapOutcome::ALL.len()),
            redis_calls: Family::new(names::REDIS_CALL, OPEN_SET_SLOTS),
            stream_broadcasts: Family::new(names::STREAM_BROADCASTS, BroadcastSource::ALL.len() * TemplateLabel::slots() * BroadcastOutcome::ALL.len()),
            handle: recorder.handle(),
            recorder,
        };
        let info = key(names::BUILD_INFO, &[("version", env!("CARGO_PKG_VERSION")), ("schema_version", crate::channels::SCHEMA_VERSION)]);
        m.recorder.register_gauge(&info, &METADATA).set(1.0);
        // Every declared channel shows its subscriptions, 0 included, so a dashboard sees the
        // channel before its first subscriber.
        for c in crate::channels::REGISTRY {
            m.slot(&m.active_subscriptions, ChannelLabel::of(c).slot(), || vec![("channel", c.name)]);
        }
        m
    }

    /// The handle in `slot` of `family`, registered with `labels` the first time.
    fn slot<'a, H: Handle>(&self, family: &'a Family<H>, slot: usize, labels: impl FnOnce() -> Vec<(&'static str, &'static str)>) -> &'a H {
        family.slots[slot].get_or_init(|| H::register(&self.recorder, &key(family.name, &labels())))
    }

    /// The handle of `value` in an open-set family: the first free slot or the one it holds.
    /// Past [`OPEN_SET_SLOTS`] distinct values, the rest share `other`.
    fn open_slot<'a, H: Handle>(&self, family: &'a Family<H>, label: &'static str, value: &'static str, taken: &OnceLock<std::sync::Mutex<Vec<&'static str>>>) -> &'a H {
        let index = {
            let mut values = taken.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
            match values.iter().position(|v| *v == value) {
                Some(i) => i,
                None if values.len() < OPEN_SET_SLOTS - 1 => {
                    values.push(value);
                    values.len() - 1
                }
                None => OPEN_SET_SLOTS - 1,
            }
        };
        let value = if index == OPEN_SET_SLOTS - 1 { "other" } else { value };
        self.slot(family, index, || vec![(label, value)])
    }
}

static PROTOCOL_ERROR_KINDS: OnceLock<std::sync::Mutex<Vec<&'static str>>> = OnceLock::new();
static REDIS_OPS: OnceLock<std::sync::Mutex<Vec<&'static str>>> = OnceLock::new();

/// Registers every metric now (at startup), so the first scrape lists them all.
pub fn init() {
    LazyLock::force(&METRICS);
}

/// A WebSocket upgrade ended with `outcome`.
pub fn connection_opened(outcome: ConnectionOutcome) {
    METRICS.connections[outcome.slot()].increment(1);
}

/// Counts one confirmed subscription of a channel while it lives: keep it with the
/// subscription, and dropping it (unsubscribe, disconnect) takes the count back.
#[derive(Debug)]
pub struct ActiveSubscription(&'static Gauge);

impl ActiveSubscription {
    /// Counts a subscription to `channel`.
    pub fn new(channel: ChannelLabel) -> ActiveSubscription {
        let m = &*METRICS;
        let gauge = m.slot(&m.active_subscriptions, channel.slot(), || vec![("channel", channel.as_str())]);
        gauge.increment(1.0);
        ActiveSubscription(gauge)
    }
}

impl Drop for ActiveSubscription {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

/// A subscription to `channel` was rejected for `reason` (the `reject_subscription` reason
/// code: `forbidden`, `invalid_params`, ...; any other code is counted as `other`).
pub fn subscription_rejected(channel: ChannelLabel, reason: &str) {
    let (r, reason) = REJECT_REASONS.iter().enumerate().find(|(_, known)| **known == reason).map_or((REJECT_REASONS.len() - 1, "other"), |(i, known)| (i, *known));
    let m = &*METRICS;
    m.slot(&m.subscription_rejects, channel.slot() * REJECT_REASONS.len() + r, || vec![("channel", channel.as_str()), ("reason", reason)]).increment(1);
}

/// A client frame was received.
pub fn message_received(command: CommandLabel) {
    METRICS.messages_received[command.slot()].increment(1);
}

/// `n` frames of `kind` on `channel` (or [`ChannelLabel::NONE`]) were written to a client.
pub fn messages_sent(channel: ChannelLabel, kind: SentKind, n: u64) {
    let m = &*METRICS;
    m.slot(&m.messages_sent, channel.slot() * SentKind::ALL.len() + kind.slot(), || vec![("channel", channel.as_str()), ("kind", kind.as_str())]).increment(n);
}

/// One flush wrote `frames` frames.
pub fn frames_per_write(frames: usize) {
    METRICS.frames_per_write.record(frames as u64);
}

/// A publication's frame reached a socket `latency` after the publication was accepted.
pub fn fanout_latency(latency: Duration) {
    METRICS.fanout_latency.record(latency.as_nanos() as u64);
}

/// A publication of `event` ended with `outcome`.
pub fn publication(event: EventLabel, outcome: PublicationOutcome) {
    let m = &*METRICS;
    m.slot(&m.publications, event.slot() * PublicationOutcome::ALL.len() + outcome.slot(), || vec![("channel", event.channel()), ("event", event.event()), ("outcome", outcome.as_str())]).increment(1);
}

/// A payload of `event` did not match its schema.
pub fn validation_failed(event: EventLabel) {
    let m = &*METRICS;
    m.slot(&m.validation_failures, event.slot(), || vec![("channel", event.channel()), ("event", event.event())]).increment(1);
}

/// A publication on `channel` queued `frames` frames to connections.
pub fn deliveries(channel: ChannelLabel, frames: u64) {
    let m = &*METRICS;
    m.slot(&m.deliveries, channel.slot(), || vec![("channel", channel.as_str())]).increment(frames);
}

/// A client command was dropped by the rate limit.
pub fn rate_limited() {
    METRICS.rate_limited.increment(1);
}

/// A client frame broke the protocol; `kind` is a fixed name such as `not_json` or
/// `binary_frame` (never text from the client).
pub fn protocol_error(kind: &'static str) {
    let m = &*METRICS;
    m.open_slot(&m.protocol_errors, "kind", kind, &PROTOCOL_ERROR_KINDS).increment(1);
}

/// A history request ended with `outcome`.
pub fn history_replay(outcome: ReplayOutcome) {
    METRICS.history_replays[outcome.slot()].increment(1);
}

/// A session resume ended with `outcome`.
pub fn session_resume(outcome: ResumeOutcome) {
    METRICS.session_resumes[outcome.slot()].increment(1);
}

/// One Redis call of operation `op` (a fixed name such as `xadd` or `publish`) took `took`.
pub fn redis_call(op: &'static str, took: Duration) {
    let m = &*METRICS;
    m.open_slot(&m.redis_calls, "op", op, &REDIS_OPS).record(took.as_secs_f64());
}

/// A stream-addressed broadcast from `source` to a stream of `template` came to `outcome`.
pub fn stream_broadcast(source: BroadcastSource, template: TemplateLabel, outcome: BroadcastOutcome) {
    let m = &*METRICS;
    let slot = (source.slot() * TemplateLabel::slots() + template.slot()) * BroadcastOutcome::ALL.len() + outcome.slot();
    m.slot(&m.stream_broadcasts, slot, || vec![("source", source.as_str()), ("template", template.as_str()), ("outcome", outcome.as_str())]).increment(1);
}

/// Figures read from the server's state when the exposition is rendered: gauges, and
/// counters the transport and the Redis engine already keep (read, not kept twice).
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    /// Open, authenticated connections.
    pub connections: usize,
    /// Streams with local subscribers.
    pub streams: usize,
    /// Bytes written to clients since the start.
    pub sent_bytes: u64,
    /// Connections dropped as too slow since the start.
    pub slow_evictions: u64,
    /// The Redis engine's state, when it is the engine.
    pub redis: Option<RedisSample>,
}

/// The Redis engine's state and gap counters, as [`Sample`] carries them.
#[derive(Debug, Clone, Copy, Default)]
pub struct RedisSample {
    /// Both connections (commands, pub/sub) are up.
    pub up: bool,
    /// Pub/sub gaps seen.
    pub gaps_detected: u64,
    /// Gaps filled from the stream.
    pub gaps_filled: u64,
    /// Gaps that could not be filled.
    pub gaps_unfilled: u64,
}

/// The exposition in the Prometheus text format (version 0.0.4), with `sample` as the
/// sampled gauges.
pub fn render(sample: Sample) -> String {
    let m = &*METRICS;
    m.active_connections.set(sample.connections as f64);
    m.streams.set(sample.streams as f64);
    m.sent_bytes.absolute(sample.sent_bytes);
    m.slow_evictions.absolute(sample.slow_evictions);
    if let Some(redis) = sample.redis {
        m.redis_up.get_or_init(|| m.recorder.register_gauge(&key(names::REDIS_UP, &[]), &METADATA)).set(if redis.up { 1.0 } else { 0.0 });
        for (outcome, n) in [(GapOutcome::Detected, redis.gaps_detected), (GapOutcome::Filled, redis.gaps_filled), (GapOutcome::Unfilled, redis.gaps_unfilled)] {
            m.slot(&m.redis_gaps, outcome.slot(), || vec![("outcome", outcome.as_str())]).absolute(n);
        }
    }
    let mut text = m.handle.render();
    m.frames_per_write.render(&mut text);
    m.fanout_latency.render(&mut text);
    text
}

/// The `Content-Type` of [`render`]'s text.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Moves histogram samples into their buckets, so they do not pile up between scrapes (or
/// when nobody scrapes). Runs until `stop` is cancelled.
pub async fn upkeep(stop: tokio_util::sync::CancellationToken) {
    let mut every = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = every.tick() => METRICS.handle.run_upkeep(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of the series whose line starts with `series` (name and labels as rendered).
    fn value(text: &str, series: &str) -> Option<f64> {
        text.lines().find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')).and_then(|v| v.parse().ok()))
    }

    #[test]
    fn series_are_named_once_and_labelled_by_declared_names() {
        let notifications = crate::channels::find("NotificationChannel").expect("declared");
        let event = EventLabel::of(notifications, notifications.event("new_notification").expect("declared"));
        let before = render(Sample::default());
        let delivered = r#"cableway_publications_total{channel="NotificationChannel",event="new_notification",outcome="delivered"}"#;
        let base = value(&before, delivered).unwrap_or(0.0);
        publication(event, PublicationOutcome::Delivered);
        publication(event, PublicationOutcome::Delivered);
        let guard = ActiveSubscription::new(ChannelLabel::of(notifications));
        let text = render(Sample { connections: 3, streams: 2, ..Sample::default() });
        assert_eq!(value(&text, delivered), Some(base + 2.0), "{text}");
        assert_eq!(value(&text, "websocket_active_connections"), Some(3.0));
        assert_eq!(value(&text, "cableway_streams"), Some(2.0));
        assert!(value(&text, r#"websocket_active_subscriptions{channel="NotificationChannel"}"#).is_some_and(|v| v >= 1.0), "{text}");
        assert!(value(&text, r#"websocket_active_subscriptions{channel="TradingChannel"}"#).is_some(), "every channel is listed: {text}");
        drop(guard);
        let build = format!(r#"cableway_build_info{{version="{}",schema_version="{}"}}"#, env!("CARGO_PKG_VERSION"), crate::channels::SCHEMA_VERSION);
        assert_eq!(value(&text, &build), Some(1.0), "{text}");
        assert!(text.contains("# HELP websocket_connections_total WebSocket upgrades, by how they ended."), "{text}");
        for (name, _) in names::HELP {
            assert_eq!(names::HELP.iter().filter(|(n, _)| n == name).count(), 1, "{name} is declared twice");
        }
    }

    #[test]
    fn open_sets_fold_into_other_past_their_slots() {
        protocol_error("not_json");
        protocol_error("not_json");
        let text = render(Sample::default());
        assert!(value(&text, r#"cableway_protocol_errors_total{kind="not_json"}"#).is_some_and(|v| v >= 2.0), "{text}");
        subscription_rejected(ChannelLabel::UNKNOWN, "something_new");
        let text = render(Sample::default());
        assert!(value(&text, r#"cableway_subscription_rejects_total{channel="unknown",reason="other"}"#).is_some_and(|v| v >= 1.0), "{text}");
    }
}
