//! The broker: turns publications into deliveries.
//!
//! A publication is checked whole before anything is sent: its event is looked up, its
//! payload validated, and its stream keys rendered from the event's declared fan-out
//! templates. Only then is the envelope encoded (once) and handed to the hub for each
//! stream. A batch is all-or-nothing on validation.
//!
//! Every publication is counted once as it ends (`cableway_publications_total`): refused
//! for its own fault here (unknown event, invalid payload or stream key), or delivered. The
//! valid members of a refused batch were never published and are not counted.

pub mod envelope;

use serde::Serialize;
use serde_json::Value;

use crate::channels::{ChannelDescriptor, REGISTRY};
use crate::codegen_support::EventDescriptor;
use std::sync::Arc;

use crate::history::HistoryStore;
use crate::hub::{FanoutStats, Hub, SessionId};
use crate::metrics::{self, EventLabel, PublicationOutcome};
use crate::protocol::{frame, Dialect};
use crate::resolver::registry::Registry;
use crate::validation::{self, Violation};

/// One event to publish, as a publisher sends it.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    /// Wire name; may be left out when the event name is unique in the schema.
    #[serde(default)]
    pub channel: Option<String>,
    /// Event name.
    pub event: String,
    /// The payload.
    pub payload: Value,
}

/// A publication that passed every check.
#[derive(Debug, Clone)]
pub struct Publication {
    /// Its channel.
    pub channel: &'static ChannelDescriptor,
    /// Its event.
    pub event: &'static EventDescriptor,
    /// The validated payload.
    pub payload: Value,
    /// Rendered stream keys, in declaration order.
    pub streams: Vec<String>,
}

/// Why a publication was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishError {
    /// No such channel.
    #[error("unknown channel `{0}`")]
    UnknownChannel(String),
    /// No such event (in that channel, or anywhere).
    #[error("{0}")]
    UnknownEvent(String),
    /// The event name exists in several channels and none was given.
    #[error("event `{event}` is declared by several channels ({channels}); say which with `channel`")]
    Ambiguous {
        /// The event.
        event: String,
        /// The channels declaring it.
        channels: String,
    },
    /// The payload does not match the event's schema.
    #[error("payload does not match the schema of `{event}`")]
    Invalid {
        /// The event.
        event: String,
        /// The violations, with paths relative to the publication.
        violations: Vec<Violation>,
    },
    /// A fan-out key could not be built (a value is not key-safe).
    #[error("cannot build stream `{template}`: {reason}")]
    Key {
        /// The template.
        template: String,
        /// Why.
        reason: String,
    },
}

/// Finds the event a request names.
///
/// # Errors
/// [`PublishError`] for unknown or ambiguous names.
pub fn lookup(channel: Option<&str>, event: &str) -> Result<(&'static ChannelDescriptor, &'static EventDescriptor), PublishError> {
    match channel {
        Some(name) => {
            let c = crate::channels::find(name).ok_or_else(|| PublishError::UnknownChannel(name.to_owned()))?;
            let e = c.event(event).ok_or_else(|| PublishError::UnknownEvent(format!("channel `{name}` declares no event `{event}`")))?;
            Ok((c, e))
        }
        None => {
            let found: Vec<_> = REGISTRY.iter().filter_map(|c| c.event(event).map(|e| (*c, e))).collect();
            match found.as_slice() {
                [one] => Ok(*one),
                [] => Err(PublishError::UnknownEvent(format!("no channel declares event `{event}`"))),
                many => Err(PublishError::Ambiguous { event: event.to_owned(), channels: many.iter().map(|(c, _)| c.name).collect::<Vec<_>>().join(", ") }),
            }
        }
    }
}

/// Checks one request; `pointer` prefixes violation paths (e.g. `/3` in a batch).
///
/// # Errors
/// [`PublishError`] describing why it cannot be published.
pub fn prepare(req: PublishRequest, pointer: &str) -> Result<Publication, PublishError> {
    let (channel, event) = lookup(req.channel.as_deref(), &req.event).inspect_err(|_| {
        let channel = req.channel.as_deref().map_or(metrics::ChannelLabel::UNKNOWN, metrics::ChannelLabel::named);
        metrics::publication(EventLabel::unknown(channel), PublicationOutcome::Unknown);
    })?;
    prepare_for(channel, event, req.payload, pointer)
}

/// Checks a payload for a known event.
///
/// # Errors
/// [`PublishError::Invalid`] or [`PublishError::Key`].
pub fn prepare_for(channel: &'static ChannelDescriptor, event: &'static EventDescriptor, payload: Value, pointer: &str) -> Result<Publication, PublishError> {
    if let Err(violations) = validation::validate(event.payload_schema, &payload) {
        let label = EventLabel::of(channel, event);
        metrics::validation_failed(label);
        metrics::publication(label, PublicationOutcome::Invalid);
        let violations = violations.into_iter().map(|v| Violation { path: format!("{pointer}/payload{}", v.path), message: v.message }).collect();
        return Err(PublishError::Invalid { event: event.name.to_owned(), violations });
    }
    let mut streams = Vec::with_capacity(event.publish_to.len());
    for t in event.publish_to {
        let key = t.target(&payload).map_err(|e| {
            metrics::publication(EventLabel::of(channel, event), PublicationOutcome::Invalid);
            PublishError::Key { template: t.source.to_owned(), reason: e.to_string() }
        })?;
        if let Some(key) = key.filter(|k| !streams.contains(k)) {
            streams.push(key);
        }
    }
    Ok(Publication { channel, event, payload, streams })
}

/// What a delivery did, as `POST /broadcast` reports it.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Streams targeted, in order, without duplicates.
    pub streams: Vec<String>,
    /// Frames queued to connections.
    pub deliveries: usize,
    /// Connections dropped as too slow while delivering.
    pub slow_disconnects: usize,
}

/// Where deliveries go.
pub struct Sinks<'a> {
    /// Local fan-out.
    pub hub: &'a Hub,
    /// Positions and replay.
    pub history: &'a dyn HistoryStore,
    /// The embedded ownership registry, when it is the resolver.
    pub registry: Option<&'a Registry>,
}

/// Delivers checked publications: ownership facts first, then, per stream, a position from
/// the history and the envelope (encoded once) to every subscriber but `exclude`.
pub fn deliver(sinks: &Sinks<'_>, pubs: &[Publication], exclude: Option<SessionId>) -> DeliveryReport {
    let mut report = DeliveryReport::default();
    let now = crate::auth::unix_now().max(0) as u64;
    for p in pubs {
        if let (Some(reg), Some(owner)) = (sinks.registry, p.event.owner) {
            let id = p.payload.pointer(owner.id).and_then(value_text);
            let account = p.payload.pointer(owner.account).and_then(value_text);
            if let (Some(id), Some(account)) = (id, account) {
                if let Err(e) = reg.record(owner.resource, &id, &account) {
                    tracing::warn!(error = %e, event = p.event.name, "ownership fact not recorded");
                }
            }
        }
        let message: Arc<str> = Arc::from(envelope::encode(p.event, &p.payload));
        let mut stats = FanoutStats::default();
        for stream in &p.streams {
            sinks.history.append(stream, &message, p.channel.history, now, &mut |pos| {
                let encode = |identifier: &str, dialect: Dialect| match dialect {
                    Dialect::V1 => frame::data(identifier, &message),
                    Dialect::Ext => frame::data_at(identifier, &message, stream, &pos.epoch, pos.offset),
                };
                stats += sinks.hub.broadcast(stream, &encode, exclude);
            });
            if !report.streams.contains(stream) {
                report.streams.push(stream.clone());
            }
        }
        report.deliveries += stats.queued;
        report.slow_disconnects += stats.overflowed;
        metrics::publication(EventLabel::of(p.channel, p.event), PublicationOutcome::Delivered);
        metrics::deliveries(metrics::ChannelLabel::of(p.channel), stats.queued as u64);
    }
    report
}

fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
