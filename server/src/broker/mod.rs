//! The broker: turns publications into deliveries.
//!
//! A publication is checked whole before anything is sent: its event is looked up, its
//! payload validated, and its stream keys rendered from the event's declared fan-out
//! templates. Only then is the publication handed to the [engine](crate::engine), which
//! positions it and delivers it on every node; [`fanout`] is how a node hands one
//! positioned message to its hub (the envelope encoded once, one frame per group). A batch
//! is all-or-nothing on validation.

pub mod addressed;
pub mod envelope;
pub mod refused;

use serde::Serialize;
use serde_json::Value;

use crate::channels::{ChannelDescriptor, REGISTRY};
use crate::codegen_support::EventDescriptor;
use std::sync::Arc;

use crate::history::Position;
use crate::hub::{FanoutStats, Hub, SessionId};
use crate::metrics::{self, EventLabel, PublicationOutcome};
use crate::protocol::{frame, Dialect};
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

/// Room one frame takes around its envelope and stream name, at most, as a batch is sized:
/// the data frame's keys (58 bytes), an identifier of up to 256 bytes as JSON, an epoch of
/// up to 34 and an offset of up to 20, and the WebSocket header (up to 10).
pub const FRAME_ALLOWANCE: usize = 58 + 256 + 34 + 20 + 10;

/// The bytes `pubs` would queue to one connection subscribed once to each of their streams,
/// in the larger (ext) dialect: what a batch costs the connection that takes all of it.
/// A connection's queue holds at most `limits.max_outbound_queue_bytes`, and a publication
/// is queued whole before its writer can drain anything, so a batch costing more would drop
/// even a fast reader as `too_slow`; the publish endpoints refuse it instead.
pub fn outbound_bytes(pubs: &[Publication]) -> usize {
    pubs.iter().map(|p| {
        let message = envelope::encode(p.event, &p.payload).len();
        p.streams.iter().map(|stream| message + stream.len() + FRAME_ALLOWANCE).sum::<usize>()
    }).sum()
}

/// What a delivery did, as `POST /broadcast` reports it.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Streams targeted, in order, without duplicates.
    pub streams: Vec<String>,
    /// Frames queued to connections (on this node, by the embedded engine).
    pub deliveries: usize,
    /// Connections dropped as too slow while delivering.
    pub slow_disconnects: usize,
}

impl Publication {
    /// The ownership fact the event declares (`owner`), when the payload carries it:
    /// `(resource kind, id, account)`.
    pub fn owner_fact(&self) -> Option<(&'static str, String, String)> {
        let owner = self.event.owner?;
        let id = self.payload.pointer(owner.id).and_then(value_text)?;
        let account = self.payload.pointer(owner.account).and_then(value_text)?;
        Some((owner.resource, id, account))
    }

    /// The envelope, encoded once for every stream and subscriber.
    pub fn message(&self) -> Arc<str> {
        Arc::from(envelope::encode(self.event, &self.payload))
    }

    /// Every stream of these publications, in order, without duplicates.
    pub fn streams_of(pubs: &[Publication]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for stream in pubs.iter().flat_map(|p| &p.streams) {
            if !out.contains(stream) {
                out.push(stream.clone());
            }
        }
        out
    }
}

/// Delivers one encoded message at its position to this node's subscribers of `stream`
/// but `exclude`: one frame per (identifier, dialect) group, shared by the group.
pub fn fanout(hub: &Hub, stream: &str, message: &str, pos: &Position, exclude: Option<SessionId>) -> FanoutStats {
    let encode = |identifier: &str, dialect: Dialect| match dialect {
        Dialect::V1 => frame::data(identifier, message),
        Dialect::Ext => frame::data_at(identifier, message, stream, &pos.epoch, pos.offset),
    };
    hub.broadcast(stream, &encode, exclude)
}

fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
