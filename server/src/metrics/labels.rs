//! Label values, bounded by construction: a channel is a declared wire name or `unknown`, an
//! event a declared name of its channel or `unknown`, and every other label one of a fixed
//! set. Nothing here can carry a param, an id, a stream or a principal.
//!
//! Channels and events are resolved to a slot once (a position in the registry), so a hot
//! path that keeps its [`ChannelLabel`] reaches its cached handle by index.

use std::borrow::Cow;
use std::sync::LazyLock;

use crate::channels::{ChannelDescriptor, REGISTRY};
use crate::codegen_support::EventDescriptor;

/// The label value of a name that is not declared.
pub const UNKNOWN: &str = "unknown";

/// A channel as a label value: a declared wire name, `unknown`, or none (`""`, for
/// connection-level frames such as `welcome` and `ping`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChannelLabel(u16);

impl ChannelLabel {
    /// A name the schema does not declare.
    pub const UNKNOWN: ChannelLabel = ChannelLabel(u16::MAX - 1);
    /// No channel: frames of the connection itself.
    pub const NONE: ChannelLabel = ChannelLabel(u16::MAX);

    /// The label of a declared channel.
    pub fn of(channel: &ChannelDescriptor) -> ChannelLabel {
        REGISTRY.iter().position(|c| std::ptr::eq(*c, channel)).map_or_else(|| ChannelLabel::named(channel.name), ChannelLabel::at)
    }

    /// The label of a wire name, `unknown` unless it is declared.
    pub fn named(name: &str) -> ChannelLabel {
        REGISTRY.iter().position(|c| c.name == name).map_or(ChannelLabel::UNKNOWN, ChannelLabel::at)
    }

    /// The label of the channel an identifier names, `unknown` when it names none that is
    /// declared (or is no identifier at all).
    pub fn of_identifier(identifier: &str) -> ChannelLabel {
        #[derive(serde::Deserialize)]
        struct Named<'a> {
            #[serde(borrow)]
            channel: Cow<'a, str>,
        }
        serde_json::from_str::<Named<'_>>(identifier).map_or(ChannelLabel::UNKNOWN, |n| ChannelLabel::named(&n.channel))
    }

    fn at(index: usize) -> ChannelLabel {
        ChannelLabel(index as u16)
    }

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelLabel::NONE => "",
            ChannelLabel::UNKNOWN => UNKNOWN,
            ChannelLabel(i) => REGISTRY[i as usize].name,
        }
    }

    /// Slots of a per-channel family: every declared channel, `unknown`, none.
    pub(super) fn slots() -> usize {
        REGISTRY.len() + 2
    }

    /// This label's slot in a per-channel family.
    pub(super) fn slot(self) -> usize {
        match self {
            ChannelLabel::UNKNOWN => REGISTRY.len(),
            ChannelLabel::NONE => REGISTRY.len() + 1,
            ChannelLabel(i) => i as usize,
        }
    }
}

/// Where each channel's events start in a per-event family: channel `i` has
/// `events.len() + 1` slots (the last for `unknown`), and the unknown channel one more.
static EVENT_OFFSETS: LazyLock<Vec<usize>> = LazyLock::new(|| {
    let mut offsets = Vec::with_capacity(REGISTRY.len() + 1);
    let mut next = 0;
    for c in REGISTRY {
        offsets.push(next);
        next += c.events.len() + 1;
    }
    offsets.push(next);
    offsets
});

/// An event as a pair of label values: `channel` and `event`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EventLabel {
    channel: ChannelLabel,
    /// The event's position in its channel; `None` for `unknown`.
    event: Option<u16>,
}

impl EventLabel {
    /// A declared event of a declared channel.
    pub fn of(channel: &ChannelDescriptor, event: &EventDescriptor) -> EventLabel {
        let channel_label = ChannelLabel::of(channel);
        let index = channel.events.iter().position(|e| std::ptr::eq(e, event)).or_else(|| channel.events.iter().position(|e| e.name == event.name));
        EventLabel { channel: channel_label, event: index.map(|i| i as u16) }
    }

    /// An event name the channel does not declare (or a channel that is not declared).
    pub fn unknown(channel: ChannelLabel) -> EventLabel {
        let channel = if channel == ChannelLabel::NONE { ChannelLabel::UNKNOWN } else { channel };
        EventLabel { channel, event: None }
    }

    /// The channel label value.
    pub fn channel(self) -> &'static str {
        self.channel.as_str()
    }

    /// The event label value.
    pub fn event(self) -> &'static str {
        match (self.channel, self.event) {
            (ChannelLabel(c), Some(e)) if (c as usize) < REGISTRY.len() => REGISTRY[c as usize].events[e as usize].name,
            _ => UNKNOWN,
        }
    }

    /// Slots of a per-event family.
    pub(super) fn slots() -> usize {
        EVENT_OFFSETS[REGISTRY.len()] + 1
    }

    /// This label's slot in a per-event family.
    pub(super) fn slot(self) -> usize {
        match self.channel {
            ChannelLabel(c) if (c as usize) < REGISTRY.len() => {
                let events = REGISTRY[c as usize].events.len();
                EVENT_OFFSETS[c as usize] + self.event.map_or(events, usize::from)
            }
            _ => EVENT_OFFSETS[REGISTRY.len()],
        }
    }
}

/// Where each channel's stream templates start in the flat list of every template.
static TEMPLATE_OFFSETS: LazyLock<Vec<usize>> = LazyLock::new(|| {
    let mut offsets = Vec::with_capacity(REGISTRY.len() + 1);
    let mut next = 0;
    for c in REGISTRY {
        offsets.push(next);
        next += c.streams.len();
    }
    offsets.push(next);
    offsets
});

/// A declared subscribe-side stream template as a label value (as written in its channel
/// file, `ai_orchestration:workflow_run:{params.id}`), or `unmatched` for a stream name that
/// matches none. Templates are numbered channel by channel, in declaration order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TemplateLabel(u16);

impl TemplateLabel {
    /// A stream name that matches no declared template.
    pub const UNMATCHED: TemplateLabel = TemplateLabel(u16::MAX);

    /// Template `index` of `channel`'s `streams`.
    pub fn of(channel: &ChannelDescriptor, index: usize) -> TemplateLabel {
        let c = REGISTRY.iter().position(|r| std::ptr::eq(*r, channel)).or_else(|| REGISTRY.iter().position(|r| r.name == channel.name));
        match c {
            Some(c) if index < REGISTRY[c].streams.len() => TemplateLabel((TEMPLATE_OFFSETS[c] + index) as u16),
            _ => TemplateLabel::UNMATCHED,
        }
    }

    /// The label value.
    pub fn as_str(self) -> &'static str {
        if self == TemplateLabel::UNMATCHED {
            return "unmatched";
        }
        let i = self.0 as usize;
        let c = TEMPLATE_OFFSETS.partition_point(|&start| start <= i) - 1;
        REGISTRY[c].streams[i - TEMPLATE_OFFSETS[c]]
    }

    /// Slots of a per-template family: every declared template and `unmatched`.
    pub(crate) fn slots() -> usize {
        TEMPLATE_OFFSETS[REGISTRY.len()] + 1
    }

    /// This label's slot (also the key of per-template state elsewhere, such as log limits).
    pub(crate) fn slot(self) -> usize {
        if self == TemplateLabel::UNMATCHED {
            TEMPLATE_OFFSETS[REGISTRY.len()]
        } else {
            self.0 as usize
        }
    }
}

/// Declares a closed set of label values: the enum, its `ALL` list and `as_str`.
macro_rules! label_set {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $value:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The label value.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $value,)+
                }
            }

            pub(super) const fn slot(self) -> usize {
                self as usize
            }
        }
    };
}

label_set! {
    /// How a WebSocket upgrade ended (`websocket_connections_total{outcome}`).
    ConnectionOutcome {
        /// Authenticated: the session runs.
        Accepted => "accepted",
        /// No token, or one that does not verify.
        Unauthorized => "unauthorized",
        /// A genuine token past its `exp`.
        TokenExpired => "token_expired",
        /// The `Origin` is not allowed.
        OriginRefused => "origin_refused",
        /// The server holds as many connections as it may.
        CapReached => "cap_reached",
        /// The client's address holds `limits.max_connections_per_address`.
        AddressCapReached => "address_cap_reached",
        /// The principal holds `limits.max_connections_per_principal`.
        PrincipalCapReached => "principal_cap_reached",
    }
}

impl ConnectionOutcome {
    /// The outcome of an upgrade whose authentication came to `auth`.
    pub fn of<T>(auth: &Result<T, crate::auth::AuthError>) -> ConnectionOutcome {
        match auth {
            Ok(_) => ConnectionOutcome::Accepted,
            Err(crate::auth::AuthError::Expired) => ConnectionOutcome::TokenExpired,
            Err(_) => ConnectionOutcome::Unauthorized,
        }
    }
}

label_set! {
    /// A client command (`websocket_messages_received_total{command}`).
    CommandLabel {
        /// `subscribe`.
        Subscribe => "subscribe",
        /// `unsubscribe`.
        Unsubscribe => "unsubscribe",
        /// `message` (perform an action).
        Message => "message",
        /// `history` (ext).
        History => "history",
        /// `pong` (ext).
        Pong => "pong",
        /// `whisper` (ext).
        Whisper => "whisper",
        /// A frame that is no command.
        Invalid => "invalid",
    }
}

label_set! {
    /// What a server frame is (`websocket_messages_sent_total{kind}`).
    SentKind {
        /// An event on a subscription (live).
        Data => "data",
        /// `confirm_subscription`.
        Confirm => "confirm",
        /// `reject_subscription`.
        Reject => "reject",
        /// An action's reply.
        Reply => "reply",
        /// A replayed event, `confirm_history` or `reject_history`.
        History => "history",
        /// `ping`.
        Ping => "ping",
        /// `welcome`.
        Welcome => "welcome",
        /// `disconnect`.
        Disconnect => "disconnect",
    }
}

label_set! {
    /// How a publication ended (`cableway_publications_total{outcome}`).
    PublicationOutcome {
        /// Validated and handed to fan-out (whether or not anyone listened).
        Delivered => "delivered",
        /// Its payload does not match the event's schema, or a stream key cannot be built.
        Invalid => "invalid",
        /// It names no declared event (or an ambiguous one).
        Unknown => "unknown",
        /// The engine could not take it (nothing was delivered).
        Unavailable => "unavailable",
    }
}

label_set! {
    /// How a history request ended (`cableway_history_replays_total{outcome}`).
    ReplayOutcome {
        /// The whole gap was replayed.
        Confirmed => "confirmed",
        /// Part of the gap is gone: nothing was replayed.
        Rejected => "rejected",
    }
}

label_set! {
    /// How a session resume (`?sid=`) ended (`cableway_session_resumes_total{outcome}`).
    ResumeOutcome {
        /// The session's subscriptions came back.
        Restored => "restored",
        /// Unknown, expired or another principal's: a fresh session.
        NotRestored => "not_restored",
    }
}

label_set! {
    /// What a pub/sub gap came to (`cableway_redis_pubsub_gaps_total{outcome}`).
    GapOutcome {
        /// Seen: an offset was skipped.
        Detected => "detected",
        /// Filled from the stream.
        Filled => "filled",
        /// Could not be filled: the clients resubscribe with history.
        Unfilled => "unfilled",
    }
}

label_set! {
    /// Where a stream-addressed broadcast came from (`cableway_stream_broadcasts_total{source}`).
    BroadcastSource {
        /// Rails' ActionCable Redis adapter (`<channel_prefix>:<stream>`).
        Rails => "rails",
        /// AnyCable's Redis broadcast channel (`__anycable__`).
        AnycableRedis => "anycable_redis",
        /// AnyCable's HTTP format (`POST /_broadcast`).
        AnycableHttp => "anycable_http",
    }
}

label_set! {
    /// What a stream-addressed broadcast came to (`cableway_stream_broadcasts_total{outcome}`):
    /// delivered, or the reason it was refused.
    BroadcastOutcome {
        /// Matched, validated and published to its stream.
        Delivered => "delivered",
        /// The message is not JSON, not an object, or has no `event` and `payload`.
        NotAnEvent => "not_an_event",
        /// The message carries a key the envelope does not declare.
        UndeclaredField => "undeclared_field",
        /// The stream name matches no declared stream template.
        UnknownStream => "unknown_stream",
        /// No event of that name publishes to the stream.
        UnknownEvent => "unknown_event",
        /// Several events of that name publish to the stream, equally specifically.
        Ambiguous => "ambiguous",
        /// The payload does not match the event's schema.
        InvalidPayload => "invalid_payload",
        /// A stream key of the event cannot be built from the payload.
        InvalidStreamKey => "invalid_stream_key",
        /// The payload publishes to other streams than the one broadcast to.
        StreamMismatch => "stream_mismatch",
        /// The engine did not take it (Redis unreachable); nothing was delivered.
        Unavailable => "unavailable",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_resolve_to_declared_names_or_unknown() {
        let notifications = crate::channels::find("NotificationChannel").expect("declared");
        assert_eq!(ChannelLabel::of(notifications).as_str(), "NotificationChannel");
        assert_eq!(ChannelLabel::named("NotificationChannel"), ChannelLabel::of(notifications));
        assert_eq!(ChannelLabel::named("acc-42").as_str(), UNKNOWN);
        assert_eq!(ChannelLabel::of_identifier(r#"{"channel":"NotificationChannel","account_id":"acc-42"}"#).as_str(), "NotificationChannel");
        for raw in [r#"{"channel":"Nope","x":1}"#, "not json", r#"{"account_id":"a"}"#, r#"{"channel":7}"#] {
            assert_eq!(ChannelLabel::of_identifier(raw), ChannelLabel::UNKNOWN, "{raw}");
        }
        assert_eq!(ChannelLabel::NONE.as_str(), "");
    }

    #[test]
    fn every_event_has_its_own_slot() {
        let mut seen = std::collections::HashSet::new();
        for c in REGISTRY {
            for e in c.events {
                let label = EventLabel::of(c, e);
                assert_eq!((label.channel(), label.event()), (c.name, e.name));
                assert!(seen.insert(label.slot()), "{}/{} shares a slot", c.name, e.name);
            }
            let unknown = EventLabel::unknown(ChannelLabel::of(c));
            assert_eq!((unknown.channel(), unknown.event()), (c.name, UNKNOWN));
            assert!(seen.insert(unknown.slot()));
        }
        let nowhere = EventLabel::unknown(ChannelLabel::UNKNOWN);
        assert_eq!((nowhere.channel(), nowhere.event()), (UNKNOWN, UNKNOWN));
        assert!(seen.insert(nowhere.slot()));
        assert_eq!(seen.len(), EventLabel::slots());
        assert!(seen.iter().all(|&s| s < EventLabel::slots()));
    }

    #[test]
    fn every_stream_template_has_its_own_slot() {
        let mut seen = std::collections::HashSet::new();
        for c in REGISTRY {
            for (i, source) in c.streams.iter().enumerate() {
                let label = TemplateLabel::of(c, i);
                assert_eq!(label.as_str(), *source);
                assert!(seen.insert(label.slot()), "{} shares a slot", source);
            }
            assert_eq!(TemplateLabel::of(c, c.streams.len()), TemplateLabel::UNMATCHED);
        }
        assert_eq!(TemplateLabel::UNMATCHED.as_str(), "unmatched");
        assert!(seen.insert(TemplateLabel::UNMATCHED.slot()));
        assert_eq!(seen.len(), TemplateLabel::slots());
    }
}
