//! What generated code needs from the runtime, and nothing else (tonic's `codegen` facade).
//!
//! `channels.rs` (generated into `OUT_DIR` by `build.rs`) refers to the server only through
//! this module, so a change to server internals never breaks generated code. It holds the
//! descriptor types the server dispatches on, the resolver seam used by `owns` rules, and
//! the serde helpers that keep "absent" and "null" apart.
//!
//! The dependency runs one way: nothing here names a generated type. What differs per
//! schema set, the claims type, is a type parameter that the generated code fills in
//! (`ChannelDescriptor<Claims>`), as prost and tonic keep their runtimes generic.

use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Deserializer, Serializer};
use serde_json::Value;

/// A boxed future, as the descriptors' function pointers return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One `owns` question: does resource `kind`/`id` belong to the principal's account?
#[derive(Debug, Clone, Copy)]
pub struct OwnsQuery<'a> {
    /// The channel being subscribed to.
    pub channel: &'static str,
    /// Resource kind, e.g. `workflow_run`.
    pub kind: &'a str,
    /// Resource id.
    pub id: &'a str,
    /// The principal's account.
    pub account_id: &'a str,
}

/// Why ownership could not be decided (the subscription is then rejected).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("resource resolver failed: {0}")]
pub struct ResolveError(pub String);

/// Answers `owns` rules at run time: the embedded registry or the app backend.
pub trait Resolver: Send + Sync {
    /// Whether the resource belongs to the account.
    fn owns<'a>(&'a self, query: OwnsQuery<'a>) -> BoxFuture<'a, Result<bool, ResolveError>>;
}

/// Why a stream key could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// A value would inject a separator or wildcard into a key.
    #[error("value of `{field}` is not key-safe")]
    Unsafe {
        /// The placeholder.
        field: &'static str,
    },
    /// A value needed by the key is missing.
    #[error("`{field}` is missing")]
    Missing {
        /// The placeholder.
        field: &'static str,
    },
    /// The params do not deserialize into the channel's params type.
    #[error("params do not match the channel's params type: {0}")]
    Params(String),
}

/// A value that can appear in a stream key.
pub trait KeyPart {
    /// The text of the value, or `None` when absent.
    fn key_part(&self) -> Option<String>;
}

impl KeyPart for String {
    fn key_part(&self) -> Option<String> {
        Some(self.clone())
    }
}

impl KeyPart for i64 {
    fn key_part(&self) -> Option<String> {
        Some(self.to_string())
    }
}

impl<T: KeyPart> KeyPart for Option<T> {
    fn key_part(&self) -> Option<String> {
        self.as_ref().and_then(KeyPart::key_part)
    }
}

/// Whether a value may be interpolated into a stream key: `[A-Za-z0-9_-]+`, at most 128 bytes.
pub fn is_key_safe(s: &str) -> bool {
    !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The key-safe text of a value; re-checked at run time whatever the schema says.
///
/// # Errors
/// [`KeyError`] when the value is absent or not key-safe.
pub fn key_part<T: KeyPart>(value: &T, field: &'static str) -> Result<String, KeyError> {
    let s = value.key_part().ok_or(KeyError::Missing { field })?;
    if is_key_safe(&s) {
        Ok(s)
    } else {
        Err(KeyError::Unsafe { field })
    }
}

/// Both values present and equal.
pub fn same<A: KeyPart, B: KeyPart>(a: &A, b: &B) -> bool {
    matches!((a.key_part(), b.key_part()), (Some(x), Some(y)) if x == y)
}

/// The value equals a literal.
pub fn is<A: KeyPart>(a: &A, literal: &str) -> bool {
    a.key_part().as_deref() == Some(literal)
}

/// Deserializes a present field (even `null`) as `Some`, so absent and null stay distinct.
///
/// # Errors
/// The inner deserializer's error.
pub fn deserialize_some<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// Serde `with` module for optional nullable fields: absent → `None`, `null` → `Some(None)`.
pub mod double_option {
    use super::*;

    /// Serializes `Some(None)` as `null` (`None` is skipped by `skip_serializing_if`).
    ///
    /// # Errors
    /// The serializer's error.
    pub fn serialize<T: serde::Serialize, S: Serializer>(v: &Option<Option<T>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(inner) => serde::Serialize::serialize(inner, s),
            None => s.serialize_none(),
        }
    }

    /// Deserializes a present field.
    ///
    /// # Errors
    /// The deserializer's error.
    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

/// Decodes JSON into a generated type and encodes it back.
pub type RoundtripFn = fn(&Value) -> Result<Value, String>;

/// Decodes `value` as `T` and encodes it again: the typed view of a payload, used to prove
/// the generated types carry exactly the schema's JSON (no added nulls, nothing dropped).
///
/// # Errors
/// The decode or encode error as text.
pub fn roundtrip<T: serde::de::DeserializeOwned + serde::Serialize>(value: &Value) -> Result<Value, String> {
    let typed: T = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
    serde_json::to_value(&typed).map_err(|e| e.to_string())
}

/// One piece of a fan-out template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplatePart {
    /// Literal text.
    Lit(&'static str),
    /// A payload field, as a JSON pointer.
    Field(&'static str),
}

/// A fan-out template.
#[derive(Debug, Clone, Copy)]
pub struct TemplateDescriptor {
    /// As written in the schema.
    pub source: &'static str,
    /// Its pieces.
    pub parts: &'static [TemplatePart],
    /// Payloads that lack (or null) one of its fields skip it.
    pub optional: bool,
}

impl TemplateDescriptor {
    /// The key a (validated) payload is published to: `None` when this target is optional
    /// and the payload lacks one of its fields.
    ///
    /// # Errors
    /// [`KeyError`] when a field of a required target is missing, or a value is not key-safe.
    pub fn target(&self, payload: &Value) -> Result<Option<String>, KeyError> {
        if self.optional {
            let absent = self.parts.iter().any(|p| matches!(p, TemplatePart::Field(f) if payload.pointer(f).is_none_or(Value::is_null)));
            if absent {
                return Ok(None);
            }
        }
        self.render(payload).map(Some)
    }

    /// Renders the key for a (validated) payload.
    ///
    /// # Errors
    /// [`KeyError`] when a field is missing or not key-safe.
    pub fn render(&self, payload: &Value) -> Result<String, KeyError> {
        let mut out = String::new();
        for part in self.parts {
            match part {
                TemplatePart::Lit(s) => out.push_str(s),
                TemplatePart::Field(p) => {
                    let v = payload.pointer(p).ok_or(KeyError::Missing { field: p })?;
                    let s = match v {
                        Value::String(s) => s.clone(),
                        Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
                        _ => return Err(KeyError::Unsafe { field: p }),
                    };
                    if !is_key_safe(&s) {
                        return Err(KeyError::Unsafe { field: p });
                    }
                    out.push_str(&s);
                }
            }
        }
        Ok(out)
    }
}

/// The envelope's resource fields for an event.
#[derive(Debug, Clone, Copy)]
pub struct ResourceDescriptor {
    /// Literal resource type.
    pub kind: &'static str,
    /// JSON pointer of the id in the payload.
    pub id: &'static str,
}

/// An ownership fact an event carries.
#[derive(Debug, Clone, Copy)]
pub struct OwnerDescriptor {
    /// Resource kind.
    pub resource: &'static str,
    /// JSON pointer of the resource id.
    pub id: &'static str,
    /// JSON pointer of the owning account.
    pub account: &'static str,
}

/// An event of a channel.
#[derive(Debug, Clone, Copy)]
pub struct EventDescriptor {
    /// Event name.
    pub name: &'static str,
    /// What it means.
    pub description: &'static str,
    /// Bundled JSON Schema of the payload.
    pub payload_schema: &'static str,
    /// Bundled JSON Schema of the whole envelope.
    pub envelope_schema: &'static str,
    /// Fan-out templates.
    pub publish_to: &'static [TemplateDescriptor],
    /// Resource fields of the envelope.
    pub resource: Option<ResourceDescriptor>,
    /// Ownership fact fed to the embedded registry.
    pub owner: Option<OwnerDescriptor>,
    /// Typed round trip of the payload.
    pub roundtrip: RoundtripFn,
}

/// A param of the subscription or a claim of the connection's token, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reference {
    /// `params.<name>`.
    Param(&'static str),
    /// `claims.<name>`.
    Claim(&'static str),
}

impl Reference {
    /// The value it names in the (canonical) params and the claims, when present.
    pub fn read<'v>(&self, params: &'v Value, claims: &'v Value) -> Option<&'v Value> {
        match self {
            Reference::Param(name) => params.get(name),
            Reference::Claim(name) => claims.get(name),
        }
    }
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reference::Param(name) => write!(f, "params.{name}"),
            Reference::Claim(name) => write!(f, "claims.{name}"),
        }
    }
}

/// A payload field a relay sets itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StampDescriptor {
    /// The top-level payload field.
    pub field: &'static str,
    /// Where its value comes from.
    pub source: Reference,
}

/// What an action does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionBehaviour {
    /// Publish the request as an event to the subscription's streams.
    Relay {
        /// The event.
        event: &'static str,
        /// Skip the sender.
        exclude_sender: bool,
        /// Payload fields the server sets from the sender's claims and the subscription's params.
        stamp: &'static [StampDescriptor],
    },
    /// POST to the backend.
    Forward {
        /// Path appended to the backend URL.
        path: &'static str,
    },
}

/// An action of a channel.
#[derive(Debug, Clone, Copy)]
pub struct ActionDescriptor {
    /// Action name.
    pub name: &'static str,
    /// What it does.
    pub description: &'static str,
    /// Bundled JSON Schema of the request.
    pub request_schema: &'static str,
    /// Bundled JSON Schema of the reply, if declared.
    pub reply_schema: Option<&'static str>,
    /// Declared error codes.
    pub errors: &'static [&'static str],
    /// Behaviour.
    pub behaviour: ActionBehaviour,
    /// Typed round trip of the request.
    pub request_roundtrip: RoundtripFn,
    /// Typed round trip of the reply.
    pub reply_roundtrip: Option<RoundtripFn>,
}

/// A message the server builds from a template.
#[derive(Debug, Clone, Copy)]
pub struct MessageDescriptor {
    /// The event.
    pub event: &'static str,
    /// The payload as JSON text; string values may hold `{params.x}` / `{claims.x}`.
    pub payload: &'static str,
}

/// Ask the app backend what to send a new subscriber.
#[derive(Debug, Clone, Copy)]
pub struct FetchDescriptor {
    /// Path appended to the backend URL.
    pub path: &'static str,
    /// Events its answer may hold.
    pub events: &'static [&'static str],
    /// Sent instead when the backend fails.
    pub unavailable: MessageDescriptor,
}

/// One step of what a subscriber receives right after `confirm_subscription`.
#[derive(Debug, Clone, Copy)]
pub enum OnSubscribeDescriptor {
    /// A message built from a template.
    Message(MessageDescriptor),
    /// Events fetched from the backend, for this subscriber only.
    Fetch(FetchDescriptor),
}

/// What the server does with identifier keys the params schema does not declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UndeclaredParams {
    /// Dropped before validation (logged at debug).
    Ignore,
    /// Kept, so validation refuses them.
    Refuse,
}

/// How the params of an identifier are read before they are validated.
#[derive(Debug, Clone, Copy)]
pub struct ParamsDescriptor {
    /// The declared params.
    pub names: &'static [&'static str],
    /// Params whose JSON integers are read as their decimal text (`x-accept-integer`).
    pub integer_ids: &'static [&'static str],
    /// What happens to other keys.
    pub undeclared: UndeclaredParams,
}

/// History kept per stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryPolicy {
    /// Messages kept.
    pub size: u32,
    /// Seconds kept.
    pub ttl_seconds: u32,
}

/// Where an envelope field comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    /// The event name.
    Event,
    /// The payload.
    Payload,
    /// The event's resource type.
    ResourceType,
    /// The event's resource id.
    ResourceId,
    /// When the publish was accepted.
    Timestamp,
}

/// One envelope field, in declaration order.
#[derive(Debug, Clone, Copy)]
pub struct EnvelopeField {
    /// JSON key.
    pub name: &'static str,
    /// Source.
    pub fill: Fill,
}

/// Type of the generated, per-channel authorization check over raw (validated) params and
/// the connection's claims `C`.
pub type AuthorizeFn<C> = for<'a> fn(&'a Value, &'a C, &'a dyn Resolver) -> BoxFuture<'a, Result<bool, ResolveError>>;

/// Type of the generated, per-channel stream-key builder over raw (validated) params and
/// the connection's claims `C`.
pub type StreamKeysFn<C> = fn(&Value, &C) -> Result<Vec<String>, KeyError>;

/// Everything the server knows about one channel; generated from its schema file. `C` is
/// the schema set's claims type.
#[derive(Debug)]
pub struct ChannelDescriptor<C: 'static> {
    /// Wire name.
    pub name: &'static str,
    /// Module name in generated code.
    pub module: &'static str,
    /// What it is for.
    pub description: &'static str,
    /// Compatibility findings are warnings only.
    pub experimental: bool,
    /// Bundled JSON Schema of the params.
    pub params_schema: &'static str,
    /// How params are read before they are validated.
    pub params: ParamsDescriptor,
    /// Subscribe-side stream templates, as written.
    pub streams: &'static [&'static str],
    /// Events.
    pub events: &'static [EventDescriptor],
    /// Actions.
    pub actions: &'static [ActionDescriptor],
    /// What a subscriber receives on subscribe, in order.
    pub on_subscribe: &'static [OnSubscribeDescriptor],
    /// History policy.
    pub history: HistoryPolicy,
    /// The authorization rule, as JSON, for logs and the isolation tests.
    pub rule: &'static str,
    /// The generated authorization check.
    pub authorize: AuthorizeFn<C>,
    /// The generated stream-key builder.
    pub stream_keys: StreamKeysFn<C>,
    /// Typed round trip of the params.
    pub params_roundtrip: RoundtripFn,
}

// By hand: a derive would ask `C: Clone`, but only function pointers over `C` are stored.
impl<C> Clone for ChannelDescriptor<C> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<C> Copy for ChannelDescriptor<C> {}

impl<C> ChannelDescriptor<C> {
    /// The event with this name.
    pub fn event(&self, name: &str) -> Option<&'static EventDescriptor> {
        self.events.iter().find(|e| e.name == name)
    }

    /// The action with this name.
    pub fn action(&self, name: &str) -> Option<&'static ActionDescriptor> {
        self.actions.iter().find(|a| a.name == name)
    }
}
