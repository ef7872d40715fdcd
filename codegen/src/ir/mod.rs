//! IR: the validated, language-neutral description of a schema set.
//!
//! Emitters (Rust, TypeScript, docs, AsyncAPI) see only these types, never YAML or raw
//! JSON Schema, which is what keeps the outputs in agreement. [`build`] turns a
//! [`Loaded`] schema directory into an [`Ir`]: it converts schemas into types, parses key
//! templates and rules into typed parts, and records what does not convert. The semantic
//! rules are [`crate::check`]'s; [`crate::build`] runs both and fails with every problem.

pub mod bundle;
pub mod rule;
pub mod template;
pub mod types;

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::diag::{Loc, Problems};
use crate::format::{Defaults, History, MessageSpec, OnSubscribeSpec, Package, Reserved, Stability, UndeclaredParams};
use crate::ident;
use crate::load::{Loaded, SourceFile, PROJECT_FILE};
use rule::{Ref, Rule};
use template::{FanOutTemplate, KeyTemplate, PayloadPath};
use types::{Ty, TypeBuilder, TypeDef};

/// The whole schema set.
#[derive(Debug, Clone)]
pub struct Ir {
    /// Package identity.
    pub package: Package,
    /// Project defaults.
    pub defaults: Defaults,
    /// The bundled claims schema; the claims type is named `Claims`.
    pub claims_schema: Value,
    /// The claims type.
    pub claims: Ty,
    /// The envelope's fields, in declaration order.
    pub envelope: Vec<EnvelopeField>,
    /// Every named type, by name.
    pub types: BTreeMap<String, TypeDef>,
    /// Channels, sorted by wire name.
    pub channels: Vec<ChannelIr>,
}

/// Where an envelope field's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    /// The event name.
    Event,
    /// The validated payload.
    Payload,
    /// The event's declared resource type.
    ResourceType,
    /// The event's declared resource id.
    ResourceId,
    /// The time the publish was accepted.
    Timestamp,
}

impl Fill {
    /// The `x-fill` spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Fill::Event => "event",
            Fill::Payload => "payload",
            Fill::ResourceType => "resource_type",
            Fill::ResourceId => "resource_id",
            Fill::Timestamp => "timestamp",
        }
    }

    fn parse(s: &str) -> Option<Fill> {
        [Fill::Event, Fill::Payload, Fill::ResourceType, Fill::ResourceId, Fill::Timestamp].into_iter().find(|f| f.as_str() == s)
    }
}

/// One envelope field.
#[derive(Debug, Clone)]
pub struct EnvelopeField {
    /// The JSON key.
    pub name: String,
    /// Its source.
    pub fill: Fill,
    /// Whether every envelope carries it.
    pub required: bool,
    /// Its schema, without `x-fill` (empty for `event` and `payload`, which are per event).
    pub schema: Value,
    /// Its description.
    pub description: Option<String>,
}

/// One channel.
#[derive(Debug, Clone)]
pub struct ChannelIr {
    /// Wire name, `AiOrchestrationChannel`.
    pub name: String,
    /// `ai_orchestration`.
    pub module: String,
    /// `AiOrchestration`.
    pub prefix: String,
    /// The channel file inside the schema directory.
    pub file: String,
    /// What it is for.
    pub description: String,
    /// Maturity.
    pub stability: Stability,
    /// Payloads designed here, not taken from the seeds.
    pub designed_here: bool,
    /// The params type (always a named object type).
    pub params: Ty,
    /// Bundled params schema.
    pub params_schema: Value,
    /// What happens to identifier keys the params do not declare.
    pub undeclared_params: UndeclaredParams,
    /// The authorization rule.
    pub authorize: Rule,
    /// Subscribe-side streams.
    pub streams: Vec<StreamIr>,
    /// What a subscriber receives on subscribe, in order.
    pub on_subscribe: Vec<OnSubscribeIr>,
    /// Events, sorted by name.
    pub events: Vec<EventIr>,
    /// Actions, sorted by name.
    pub actions: Vec<ActionIr>,
    /// History policy, defaults applied.
    pub history: History,
    /// Names that must not come back.
    pub reserved: Reserved,
    /// Named React hooks declared for it (`client.hooks`), in file order.
    pub hooks: Vec<HookIr>,
}

/// A named React hook: the channel with some params fixed.
#[derive(Debug, Clone)]
pub struct HookIr {
    /// `useRalphLoopChannel`.
    pub name: String,
    /// Its doc.
    pub description: String,
    /// The fixed params, by name.
    pub params: BTreeMap<String, Value>,
}

/// A subscribe-side stream.
#[derive(Debug, Clone)]
pub struct StreamIr {
    /// The key template.
    pub key: KeyTemplate,
    /// Its condition.
    pub when: Option<Rule>,
}

/// One step of what a subscriber receives on subscribe.
#[derive(Debug, Clone)]
pub enum OnSubscribeIr {
    /// A message the server builds from a template.
    Message(MessageIr),
    /// Events fetched from the app backend, for this subscriber only.
    Fetch(FetchIr),
}

/// A message the server builds: an event and a payload template.
#[derive(Debug, Clone)]
pub struct MessageIr {
    /// An event of the channel.
    pub event: String,
    /// The payload as written; the server fills the placeholders of its strings.
    pub payload: Value,
    /// Every placeholder of the payload's strings, with the string's location.
    pub placeholders: Vec<(Loc, Ref)>,
}

/// The `fetch` step of `on_subscribe`.
#[derive(Debug, Clone)]
pub struct FetchIr {
    /// Path appended to the backend URL.
    pub path: String,
    /// Events the backend's answer may hold.
    pub events: Vec<String>,
    /// Sent instead when the backend fails.
    pub unavailable: MessageIr,
}

/// Default backend path of `on_subscribe` fetches.
pub const DEFAULT_FETCH_PATH: &str = "/cable/on_subscribe";

/// A fan-out target of an event.
#[derive(Debug, Clone)]
pub struct FanOut {
    /// The key template.
    pub key: FanOutTemplate,
    /// Skipped for payloads that lack a field of the key.
    pub optional: bool,
}

/// A payload field a relay sets from who sent it or where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// The payload field (a top-level property).
    pub field: String,
    /// Where its value comes from.
    pub source: Ref,
}

/// Where an event's envelope takes `resource_type` and `resource_id` from.
#[derive(Debug, Clone)]
pub struct ResourceIr {
    /// The literal resource type.
    pub kind: String,
    /// The payload field holding the id.
    pub id: PayloadPath,
}

/// An ownership fact an event carries: resource `id` belongs to `account`.
#[derive(Debug, Clone)]
pub struct OwnerIr {
    /// Resource kind.
    pub resource: String,
    /// The payload field holding the resource id.
    pub id: PayloadPath,
    /// The payload field holding the owning account id.
    pub account: PayloadPath,
}

/// An event.
#[derive(Debug, Clone)]
pub struct EventIr {
    /// `workflow.run.status.changed`.
    pub name: String,
    /// `WorkflowRunStatusChanged`.
    pub ident: String,
    /// What it means.
    pub description: String,
    /// The payload type.
    pub payload: Ty,
    /// Bundled payload schema.
    pub payload_schema: Value,
    /// Bundled schema of the whole envelope carrying this event.
    pub envelope_schema: Value,
    /// Fan-out targets.
    pub publish_to: Vec<FanOut>,
    /// Resource fields of the envelope.
    pub resource: Option<ResourceIr>,
    /// Ownership fact fed to the registry.
    pub owner: Option<OwnerIr>,
    /// Going away.
    pub deprecated: bool,
}

/// What an action does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Behaviour {
    /// Publish the request as `event` to the subscription's streams.
    Relay {
        /// The event.
        event: String,
        /// Skip the sender.
        exclude_sender: bool,
        /// Payload fields the server sets, sorted by field.
        stamp: Vec<Stamp>,
    },
    /// POST to the backend at `path`.
    Forward {
        /// Path appended to the backend URL.
        path: String,
    },
}

/// An action.
#[derive(Debug, Clone)]
pub struct ActionIr {
    /// `send_message`.
    pub name: String,
    /// `SendMessage`.
    pub ident: String,
    /// What it does.
    pub description: String,
    /// Request type.
    pub request: Ty,
    /// Bundled request schema.
    pub request_schema: Value,
    /// Reply type, if declared.
    pub reply: Option<Ty>,
    /// Bundled reply schema.
    pub reply_schema: Option<Value>,
    /// Declared error codes.
    pub errors: Vec<String>,
    /// Behaviour.
    pub behaviour: Behaviour,
}

/// Default backend path of `forward` actions.
pub const DEFAULT_FORWARD_PATH: &str = "/cable/actions";

/// Builds the IR, recording in `problems` everything that does not convert.
///
/// The IR is whole only when nothing was recorded: what failed is left out or stands in
/// (as [`Ty::Any`], or see [`rule::build`]), so checks can still run on the rest and report
/// every problem at once. Only [`crate::build`], which refuses an IR with problems, hands
/// one on to the emitters.
pub fn build(loaded: &Loaded, problems: &mut Problems) -> Ir {
    let files = &loaded.files;
    let mut tb = TypeBuilder::new(files);
    let project_loc = Loc::new(PROJECT_FILE, "");
    let claims = tb.root(&project_loc.child("claims"), &loaded.project.claims.0, "Claims");
    let ids = tb.ids().clone();
    let claims_schema = bundle::bundle(files, &ids, PROJECT_FILE, &loaded.project.claims.0);
    let envelope = envelope_fields(&project_loc.child("envelope"), &loaded.project.envelope.0, problems);

    let mut channels = Vec::new();
    let mut wire_names = std::collections::BTreeSet::new();
    for (rel, file) in &loaded.channels {
        let loc = Loc::new(rel.clone(), "");
        let prefix = ident::channel_prefix(&file.channel);
        if !wire_names.insert(file.channel.to_lowercase()) {
            tb.repeated_channels.insert(rel.clone());
        }
        let params = tb.root(&loc.child("params"), &file.params.0, &format!("{prefix}Params"));
        let mut events = Vec::new();
        for (name, spec) in &file.events {
            let eloc = loc.child("events").child(name);
            let ident = ident::upper_camel(name);
            let payload = tb.root(&eloc.child("payload"), &spec.payload.0, &format!("{prefix}{ident}Payload"));
            let mut publish_to = Vec::new();
            for (i, target) in spec.publish_to.iter().enumerate() {
                let tloc = eloc.child("publish_to").child(&i.to_string());
                let tloc = if matches!(target, crate::format::PublishTarget::Spec(_)) { tloc.child("key") } else { tloc };
                match template::parse(target.key()) {
                    Ok(t) => match t.typed(PayloadPath::from_segments) {
                        Ok(key) => publish_to.push(FanOut { key, optional: target.optional() }),
                        Err(refused) => refused.iter().for_each(|path| not_a_payload_path(&tloc, &path.join("."), problems)),
                    },
                    Err(e) => problems.at(&tloc, e, "write a key such as `ai_orchestration:workflow_run:{payload.workflow_run.id}`"),
                }
            }
            let path = |loc: Loc, text: &str, problems: &mut Problems| {
                let path = PayloadPath::parse(text);
                if path.is_none() {
                    not_a_payload_path(&loc, text, problems);
                }
                path
            };
            let resource = spec.resource.as_ref().and_then(|r| Some(ResourceIr { kind: r.kind.clone(), id: path(eloc.child("resource").child("id"), &r.id, problems)? }));
            let owner = spec.owner.as_ref().and_then(|o| {
                let oloc = eloc.child("owner");
                let (id, account) = (path(oloc.child("id"), &o.id, problems), path(oloc.child("account"), &o.account, problems));
                Some(OwnerIr { resource: o.resource.clone(), id: id?, account: account? })
            });
            let payload_schema = bundle::bundle(files, &ids, rel, &spec.payload.0);
            let envelope_schema = envelope_schema(&envelope, name, &spec.payload.0, files, &ids, rel);
            events.push(EventIr {
                name: name.clone(),
                ident,
                description: spec.description.clone(),
                payload,
                payload_schema,
                envelope_schema,
                publish_to,
                resource,
                owner,
                deprecated: spec.deprecated,
            });
        }
        let mut actions = Vec::new();
        for (name, spec) in &file.actions {
            let aloc = loc.child("actions").child(name);
            let ident = ident::upper_camel(name);
            let request = tb.root(&aloc.child("request"), &spec.request.0, &format!("{prefix}{ident}Request"));
            let reply = spec.reply.as_ref().map(|r| tb.root(&aloc.child("reply"), &r.0, &format!("{prefix}{ident}Reply")));
            let behaviour = match (&spec.relay, &spec.forward) {
                (Some(r), None) => Behaviour::Relay { event: r.event.clone(), exclude_sender: r.exclude_sender, stamp: stamps(&aloc.child("relay").child("stamp"), &r.stamp, problems) },
                (None, Some(f)) => Behaviour::Forward { path: f.path.clone().unwrap_or_else(|| DEFAULT_FORWARD_PATH.to_owned()) },
                (Some(_), Some(_)) => {
                    problems.at_key(&aloc.child("forward"), format!("action `{name}` declares both `relay` and `forward`"), "remove one: `relay` publishes the request as an event, `forward` sends it to the backend");
                    Behaviour::Forward { path: DEFAULT_FORWARD_PATH.to_owned() }
                }
                (None, None) => {
                    problems.at_key(&aloc, format!("action `{name}` declares no behaviour"), "add `relay: {event: <event>}` or `forward: {}`");
                    Behaviour::Forward { path: DEFAULT_FORWARD_PATH.to_owned() }
                }
            };
            actions.push(ActionIr {
                name: name.clone(),
                ident,
                description: spec.description.clone(),
                request,
                request_schema: bundle::bundle(files, &ids, rel, &spec.request.0),
                reply,
                reply_schema: spec.reply.as_ref().map(|r| bundle::bundle(files, &ids, rel, &r.0)),
                errors: spec.errors.clone(),
                behaviour,
            });
        }
        let mut streams = Vec::new();
        for (i, s) in file.streams.iter().enumerate() {
            let sloc = loc.child("streams").child(&i.to_string());
            let when = s.when.as_ref().map(|w| rule::build(&sloc.child("when"), w, problems));
            let kloc = sloc.child("key");
            match template::parse(&s.key) {
                Ok(key) => match key.typed(Ref::from_segments) {
                    Ok(key) => streams.push(StreamIr { key, when }),
                    Err(refused) => {
                        for path in refused {
                            problems.at(&kloc, format!("placeholder `{{{}}}` is not allowed in a subscribe stream", path.join(".")), "stream keys may use `{params.<name>}` and `{claims.<name>}`");
                        }
                    }
                },
                Err(e) => problems.at(&kloc, e, "write a key such as `ai_conversation:{params.conversation_id}`"),
            }
        }
        let on_subscribe = file.on_subscribe.iter().enumerate().filter_map(|(i, step)| on_subscribe_step(&loc.child("on_subscribe").child(&i.to_string()), step, problems)).collect();
        channels.push(ChannelIr {
            name: file.channel.clone(),
            module: ident::channel_module(&file.channel),
            prefix,
            file: rel.clone(),
            description: file.description.clone(),
            stability: file.stability,
            designed_here: file.designed_here,
            params,
            params_schema: bundle::bundle(files, &ids, rel, &file.params.0),
            undeclared_params: file.undeclared_params,
            authorize: rule::build(&loc.child("authorize"), &file.authorize, problems),
            streams,
            on_subscribe,
            events,
            actions,
            history: file.history.unwrap_or(loaded.project.defaults.history),
            reserved: file.reserved.clone(),
            hooks: file.client.hooks.iter().map(|h| HookIr { name: h.name.clone(), description: h.description.clone(), params: h.params.clone() }).collect(),
        });
    }
    channels.sort_by(|a, b| a.name.cmp(&b.name));
    let types = std::mem::take(&mut tb.types);
    problems.0.extend(tb.problems.0);
    Ir { package: loaded.project.package.clone(), defaults: loaded.project.defaults.clone(), claims_schema, claims, envelope, types, channels }
}

fn not_a_payload_path(loc: &Loc, text: &str, problems: &mut Problems) {
    problems.at(loc, format!("`{text}` must start with `payload.`"), "name a field of the event payload, e.g. `payload.account_id`: the server reads it from each published payload");
}

/// One `on_subscribe` step: a message, or a fetch; `None` (reported) when it is neither or both.
fn on_subscribe_step(loc: &Loc, step: &OnSubscribeSpec, problems: &mut Problems) -> Option<OnSubscribeIr> {
    match (&step.event, &step.payload, &step.fetch) {
        (Some(event), Some(payload), None) => Some(OnSubscribeIr::Message(message(loc, &MessageSpec { event: event.clone(), payload: payload.clone() }, problems))),
        (None, None, Some(f)) => {
            let unavailable = message(&loc.child("fetch").child("unavailable"), &f.unavailable, problems);
            let path = f.path.clone().unwrap_or_else(|| DEFAULT_FETCH_PATH.to_owned());
            Some(OnSubscribeIr::Fetch(FetchIr { path, events: f.events.clone(), unavailable }))
        }
        (_, _, Some(_)) => {
            problems.at_key(&loc.child("fetch"), "an on_subscribe step is either a message (`event` and `payload`) or a `fetch`, not both", "split it into two steps of the list");
            None
        }
        (Some(_), None, None) => {
            problems.at_key(&loc.child("event"), "this on_subscribe message has no `payload`", "add `payload:` with the event's fields (placeholders such as `{params.<name>}` are allowed)");
            None
        }
        (None, Some(_), None) => {
            problems.at_key(&loc.child("payload"), "this on_subscribe message has no `event`", "add `event:` naming an event of this channel");
            None
        }
        (None, None, None) => {
            problems.at(loc, "this on_subscribe step is empty", "write a message (`event` and `payload`) or a `fetch` from the backend");
            None
        }
    }
}

fn message(loc: &Loc, m: &MessageSpec, problems: &mut Problems) -> MessageIr {
    let mut placeholders = Vec::new();
    on_subscribe_placeholders(&loc.child("payload"), &m.payload, &mut placeholders, problems);
    MessageIr { event: m.event.clone(), payload: m.payload.clone(), placeholders }
}

/// A relay's `stamp`: each field's reference parsed; a malformed one is reported and left out.
fn stamps(loc: &Loc, written: &BTreeMap<String, String>, problems: &mut Problems) -> Vec<Stamp> {
    let mut out = Vec::new();
    for (field, text) in written {
        match Ref::parse(text) {
            Some(source) => out.push(Stamp { field: field.clone(), source }),
            None => problems.at(&loc.child(field), format!("stamp `{field}` reads `{text}`, which is not a reference"), "write `claims.<name>` (who sent it) or `params.<name>` (the subscription it came through), e.g. `claims.sub`"),
        }
    }
    out
}

/// The `{params.x}` / `{claims.x}` placeholders of an `on_subscribe` payload's strings.
fn on_subscribe_placeholders(loc: &Loc, v: &Value, out: &mut Vec<(Loc, Ref)>, problems: &mut Problems) {
    match v {
        Value::String(s) if s.contains('{') => match template::parse(s) {
            Ok(t) => match t.typed(Ref::from_segments) {
                Ok(t) => out.extend(t.vars().map(|r| (loc.clone(), r.clone()))),
                Err(refused) => {
                    for path in refused {
                        problems.at(loc, format!("placeholder `{{{}}}` names no declared param or claim", path.join(".")), "use `{params.<name>}` or `{claims.<name>}`");
                    }
                }
            },
            Err(e) => problems.at(loc, e, "use `{params.<name>}` or `{claims.<name>}` placeholders"),
        },
        Value::Object(o) => o.iter().for_each(|(k, v)| on_subscribe_placeholders(&loc.child(k), v, out, problems)),
        Value::Array(a) => a.iter().enumerate().for_each(|(i, v)| on_subscribe_placeholders(&loc.child(&i.to_string()), v, out, problems)),
        _ => {}
    }
}

fn envelope_fields(loc: &Loc, schema: &Value, problems: &mut Problems) -> Vec<EnvelopeField> {
    let required: Vec<&str> = schema.get("required").and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    let mut out = Vec::new();
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        problems.at(loc, "the envelope declares no `properties`", "declare at least `event` and `payload` with `x-fill`");
        return out;
    };
    for (name, prop) in props {
        let ploc = loc.child("properties").child(name);
        let Some(fill) = prop.get("x-fill").and_then(Value::as_str).and_then(Fill::parse) else {
            problems.at(&ploc, format!("envelope field `{name}` has no valid `x-fill`"), "set `x-fill:` to one of event, payload, resource_type, resource_id, timestamp");
            continue;
        };
        let mut schema = prop.as_object().cloned().unwrap_or_default();
        schema.remove("x-fill");
        let description = schema.get("description").and_then(Value::as_str).map(str::to_owned);
        if schema.contains_key("$ref") {
            problems.at(&ploc.child("$ref"), "envelope fields cannot use `$ref`", "write the field's schema inline");
        }
        out.push(EnvelopeField { name: name.clone(), fill, required: required.contains(&name.as_str()), schema: Value::Object(schema), description });
    }
    for must in [Fill::Event, Fill::Payload] {
        match out.iter().find(|f| f.fill == must) {
            Some(f) if f.required => {}
            Some(f) => problems.at(&loc.child("required"), format!("envelope field `{}` must be required", f.name), format!("add `{}` to the envelope's `required`", f.name)),
            None => problems.at(loc, format!("the envelope has no field with `x-fill: {}`", must.as_str()), "declare it; clients route on the event name and read the payload"),
        }
    }
    out
}

fn envelope_schema(envelope: &[EnvelopeField], event: &str, payload: &Value, files: &BTreeMap<String, SourceFile>, ids: &BTreeMap<String, String>, rel: &str) -> Value {
    let mut props = Map::new();
    for f in envelope {
        let schema = match f.fill {
            Fill::Event => serde_json::json!({ "const": event }),
            Fill::Payload => payload.clone(),
            _ => f.schema.clone(),
        };
        props.insert(f.name.clone(), schema);
    }
    let required: Vec<Value> = envelope.iter().filter(|f| f.required).map(|f| Value::String(f.name.clone())).collect();
    let doc = serde_json::json!({
        "type": "object",
        "additionalProperties": false,
        "required": required,
        "properties": props,
    });
    bundle::bundle(files, ids, rel, &doc)
}
