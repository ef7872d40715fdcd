//! The on-disk format of `schema/`: the project file and channel files, as serde types.
//!
//! These types are the single definition of the format. `channel.schema.json` (the editor
//! meta-schema) is derived from them through schemars, so the two cannot drift. They hold
//! JSON Schema fragments as raw [`serde_json::Value`]s: the subset check and the IR build
//! happen later, where source positions are known.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A JSON Schema 2020-12 fragment, restricted later to the codegen subset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct SchemaFragment(#[schemars(schema_with = "json_schema_ref")] pub Value);

fn json_schema_ref(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "$ref": "https://json-schema.org/draft/2020-12/schema" })
}

/// `schema/cableway.yaml`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectFile {
    /// Identity of the generated npm package and of the schema release.
    pub package: Package,
    /// JSON Schema of the JWT claims. Rules and templates may only name claims declared here.
    pub claims: SchemaFragment,
    /// JSON Schema of the envelope every event is delivered in; `x-fill` names each field's source.
    pub envelope: SchemaFragment,
    /// Defaults that channel files may override.
    pub defaults: Defaults,
}

/// Identity of the schema set.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Package {
    /// npm package name of the generated TypeScript client.
    pub name: String,
    /// Semantic version of the schema set.
    pub version: String,
    /// One line shown in the generated package.
    #[serde(default)]
    pub description: String,
}

/// Project-wide defaults.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Per-stream history kept for resume.
    pub history: History,
    /// Limits on what a client controls.
    pub limits: Limits,
}

/// Bounded per-stream history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct History {
    /// Messages kept per stream.
    pub size: u32,
    /// Seconds a message is kept.
    pub ttl_seconds: u32,
}

/// Limits enforced by the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Subscriptions one connection may hold.
    pub max_subscriptions_per_connection: u32,
    /// Largest inbound WebSocket message, in bytes (close 1009 above).
    pub max_inbound_message_bytes: u32,
    /// Bytes queued for one connection before it is disconnected as `too_slow`.
    pub max_outbound_queue_bytes: u32,
    /// Largest `POST /broadcast` body, in bytes (413 above).
    pub max_publish_body_bytes: u32,
}

/// One file under `schema/channels/`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelFile {
    /// Wire name, e.g. `AiOrchestrationChannel`.
    pub channel: String,
    /// What the channel is for.
    pub description: String,
    /// `experimental` downgrades compatibility findings to warnings.
    #[serde(default)]
    pub stability: Stability,
    /// True when payload shapes were designed here rather than taken from the seed documents.
    #[serde(default)]
    pub designed_here: bool,
    /// JSON Schema of the subscription params (a closed object).
    pub params: SchemaFragment,
    /// What happens to identifier keys that `params` does not declare.
    #[serde(default)]
    pub undeclared_params: UndeclaredParams,
    /// Authorization rule evaluated on subscribe. Deny by default.
    pub authorize: Rule,
    /// Stream keys a subscription listens to.
    pub streams: Vec<StreamSpec>,
    /// What the subscriber receives right after `confirm_subscription`, in order, before any
    /// live event: fixed messages, and at most one answer fetched from the app backend.
    #[serde(default)]
    pub on_subscribe: Vec<OnSubscribeSpec>,
    /// Events delivered to subscribers, by name.
    pub events: BTreeMap<String, EventSpec>,
    /// Actions a subscriber may perform, by name.
    #[serde(default)]
    pub actions: BTreeMap<String, ActionSpec>,
    /// Overrides of the project's history defaults.
    #[serde(default)]
    pub history: Option<History>,
    /// Names removed in the past that must never be used again.
    #[serde(default)]
    pub reserved: Reserved,
    /// What the generated client offers for this channel beyond its defaults.
    #[serde(default, skip_serializing_if = "ClientSpec::is_empty")]
    pub client: ClientSpec,
}

/// `client:` of a channel file: extras of the generated TypeScript client.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientSpec {
    /// Named React hooks of the `./react` entry, each subscribing to this channel with some
    /// params fixed (e.g. the seed frontend's `useRalphLoopChannel`: `type: ralph_loop`).
    #[serde(default)]
    pub hooks: Vec<HookSpec>,
}

impl ClientSpec {
    fn is_empty(&self) -> bool {
        self.hooks.is_empty()
    }
}

/// One named hook: `name(params, handlers)` subscribes with `params` plus the fixed ones.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HookSpec {
    /// The hook's name: `use` then UpperCamelCase, e.g. `useRalphLoopChannel`.
    pub name: String,
    /// What a component uses it for (the hook's doc comment).
    #[serde(default)]
    pub description: String,
    /// Params the hook fixes, by param name; the caller passes the others.
    #[serde(default)]
    pub params: BTreeMap<String, Value>,
}

/// What the server does with identifier keys the params schema does not declare.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UndeclaredParams {
    /// Drop them before validation (logged at debug): they never reach authorization, stream
    /// keys or the backend. What clients written for ActionCable expect.
    #[default]
    Ignore,
    /// Refuse the subscription (`invalid_params`), e.g. where a misspelt optional param
    /// would silently widen what the subscription receives.
    Refuse,
}

/// Channel maturity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Stability {
    /// Compatibility findings fail CI.
    #[default]
    Stable,
    /// Compatibility findings are warnings.
    Experimental,
}

/// A subscribe-side stream key.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StreamSpec {
    /// Template over `{params.x}` and `{claims.x}`.
    pub key: String,
    /// Only listen to this stream when the condition holds.
    #[serde(default)]
    pub when: Option<Rule>,
}

/// One step of what a subscriber receives on subscribe: a message (`event` and `payload`),
/// or a `fetch` from the app backend.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OnSubscribeSpec {
    /// A message: an event of this channel.
    #[serde(default)]
    pub event: Option<String>,
    /// A message: its payload; string values may hold `{params.x}` / `{claims.x}` placeholders.
    #[serde(default)]
    pub payload: Option<Value>,
    /// Ask the app backend what to send (e.g. the current status), instead of a message.
    #[serde(default)]
    pub fetch: Option<FetchSpec>,
}

/// A message the server builds itself: an event and its payload template.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageSpec {
    /// An event of this channel.
    pub event: String,
    /// The payload; string values may hold `{params.x}` / `{claims.x}` placeholders.
    pub payload: Value,
}

/// The `fetch` step: the server POSTs `{principal, channel, params}` to the backend, which
/// answers `{"events": [{"event", "payload"}, ...]}` for this subscriber only.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FetchSpec {
    /// Path appended to the configured backend URL; defaults to `/cable/on_subscribe`.
    #[serde(default)]
    pub path: Option<String>,
    /// The events (of this channel) the answer may hold.
    pub events: Vec<String>,
    /// Sent instead when the backend fails (no answer in time, not 2xx, an invalid answer).
    pub unavailable: MessageSpec,
}

/// A server-to-client event.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventSpec {
    /// What the event means.
    pub description: String,
    /// JSON Schema of the payload.
    pub payload: SchemaFragment,
    /// Fan-out: stream key templates over `{payload.x}`.
    pub publish_to: Vec<PublishTarget>,
    /// Fills the envelope's `resource_type` / `resource_id`.
    #[serde(default)]
    pub resource: Option<ResourceSpec>,
    /// Feeds the embedded ownership registry when the event is published.
    #[serde(default)]
    pub owner: Option<OwnerSpec>,
    /// Marks the event as going away.
    #[serde(default)]
    pub deprecated: bool,
}

/// One fan-out target: a key template, or a template with options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum PublishTarget {
    /// A key template every publish of the event goes to.
    Key(String),
    /// A key template with options.
    Spec(PublishSpec),
}

/// A fan-out target with options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishSpec {
    /// The key template over `{payload.x}`.
    pub key: String,
    /// Skip this target for payloads that lack (or null) a field of the key; the other
    /// targets still get the event. Its fields may then be optional.
    #[serde(default)]
    pub optional: bool,
}

impl PublishTarget {
    /// The key template.
    pub fn key(&self) -> &str {
        match self {
            PublishTarget::Key(k) => k,
            PublishTarget::Spec(s) => &s.key,
        }
    }

    /// Whether payloads without its fields skip it.
    pub fn optional(&self) -> bool {
        matches!(self, PublishTarget::Spec(PublishSpec { optional: true, .. }))
    }
}

/// Where the envelope's resource fields come from.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceSpec {
    /// Literal resource type, e.g. `workflow_run`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Payload path of the id, e.g. `payload.workflow_run.id`.
    pub id: String,
}

/// An ownership fact carried by an event: resource `id` belongs to `account`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnerSpec {
    /// Resource kind.
    pub resource: String,
    /// Payload path of the resource id.
    pub id: String,
    /// Payload path of the owning account id.
    pub account: String,
}

/// A client-to-server action.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionSpec {
    /// What the action does.
    pub description: String,
    /// JSON Schema of the request (the `data` of `perform`, without `action`).
    pub request: SchemaFragment,
    /// JSON Schema of a successful reply.
    #[serde(default)]
    pub reply: Option<SchemaFragment>,
    /// Error codes the action may answer, besides the built-in ones.
    #[serde(default)]
    pub errors: Vec<String>,
    /// Publish the request as an event to the subscription's streams.
    #[serde(default)]
    pub relay: Option<RelaySpec>,
    /// Forward the request to the app backend.
    #[serde(default)]
    pub forward: Option<ForwardSpec>,
}

/// The `relay` behaviour.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RelaySpec {
    /// The event (of this channel) the request is published as.
    pub event: String,
    /// Do not deliver the relayed event back to the sender.
    #[serde(default)]
    pub exclude_sender: bool,
    /// Payload fields the server sets, by field name: `claims.<name>` (who sent it) or
    /// `params.<name>` (the subscription it came through). A client never sets them.
    #[serde(default)]
    pub stamp: BTreeMap<String, String>,
}

/// The `forward` behaviour.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ForwardSpec {
    /// Path appended to the configured backend URL; defaults to `/cable/actions`.
    #[serde(default)]
    pub path: Option<String>,
}

/// Names that must not be reused.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Reserved {
    /// Removed params.
    #[serde(default)]
    pub params: Vec<String>,
    /// Removed events.
    #[serde(default)]
    pub events: Vec<String>,
    /// Removed actions.
    #[serde(default)]
    pub actions: Vec<String>,
}

/// A declarative authorization rule or stream condition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Rule {
    /// Any principal with a valid token.
    Authenticated(bool),
    /// `claims.kind` equals this.
    Principal(String),
    /// `claims.permissions` contains this.
    Permission(String),
    /// Two references (`params.x`, `claims.y`) are present and equal.
    Same([String; 2]),
    /// Params equal literals (all must hold).
    ParamIs(BTreeMap<String, String>),
    /// The optional param was sent.
    Present(String),
    /// The optional param was not sent.
    Absent(String),
    /// The resource resolver says the resource belongs to the principal's account.
    Owns(OwnsSpec),
    /// Every rule holds.
    All(Vec<Rule>),
    /// At least one rule holds.
    Any(Vec<Rule>),
    /// The rule does not hold.
    Not(Box<Rule>),
}

/// Operand of `owns`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnsSpec {
    /// Resource kind, or `params.<enum param>` whose value is the kind.
    pub resource: String,
    /// Reference to the resource id, e.g. `params.id`.
    pub id: String,
}
