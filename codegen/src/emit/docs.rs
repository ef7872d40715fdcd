//! `generated/docs/channels.md`: the channel reference, in the style of the Rails app's
//! ActionCable reference (seed 000), generated from the IR so it cannot drift.
//!
//! Per channel: purpose, maturity markers, params, the authorization rule and stream
//! conditions in words ([`super::words`]), history, then every event (payload shape,
//! fan-out templates, resource and owner facts) and every action (behaviour, request and
//! reply shapes, error codes). The top-level fields of each payload, request and reply are
//! tabled where they are used; every named type they refer to is tabled once under
//! "Models", linked by an anchor. Output depends on the IR only: no dates, no paths of the
//! machine that ran it. The text is the template `codegen/templates/docs/channels.md.hbs`;
//! this module builds its view (every cell and sentence final).

use std::collections::BTreeSet;

use serde::Serialize;

use crate::error::Result;
use crate::format::{Stability, UndeclaredParams};
use crate::ir::types::{Additional, ObjectTy, Ty, TypeBuilder, TypeDef};
use crate::ir::{ActionIr, Behaviour, ChannelIr, EventIr, Fill, Ir, MessageIr, OnSubscribeIr};
use crate::runtime::BUILTIN_ACTION_ERRORS;

use super::templates::Templates;
use super::words::{self, Sentence};

/// Path of the reference inside `generated/`.
pub const PATH: &str = "docs/channels.md";

/// Renders the reference (template `channels.md.hbs`).
///
/// # Errors
/// [`crate::Error::Template`] when the template does not fit its view.
pub fn render(ir: &Ir, templates: &Templates) -> Result<String> {
    let view = Reference {
        package: &ir.package.name,
        version: &ir.package.version,
        envelope: ir.envelope.iter().map(envelope_row).collect(),
        builtin_errors: code_list(BUILTIN_ACTION_ERRORS),
        channels: ir.channels.iter().map(|ch| channel(ir, ch)).collect(),
        models: reachable_models(ir).iter().filter_map(|name| ir.types.get(name)).map(|def| model(ir, def)).collect(),
    };
    let text = templates.render("channels.md.hbs", &view)?;
    Ok(format!("{}\n", text.trim_end()))
}

/// What `channels.md.hbs` reads; every text is final (cells escaped, types in words).
#[derive(Serialize)]
struct Reference<'a> {
    package: &'a str,
    version: &'a str,
    envelope: Vec<EnvelopeRow<'a>>,
    builtin_errors: String,
    channels: Vec<ChannelDoc<'a>>,
    models: Vec<ModelDoc<'a>>,
}

#[derive(Serialize)]
struct EnvelopeRow<'a> {
    name: &'a str,
    required: &'static str,
    source: &'static str,
    description: String,
}

#[derive(Serialize)]
struct ChannelDoc<'a> {
    name: &'a str,
    anchor: String,
    /// ` (experimental, designed here)` in the table of contents.
    marks: String,
    experimental: bool,
    designed_here: bool,
    marked: bool,
    file: &'a str,
    description: &'a str,
    params: Vec<ParamRow<'a>>,
    /// What happens to identifier keys the params do not declare, as a sentence.
    undeclared_params: &'static str,
    authorization: Sentence,
    streams_label: &'static str,
    streams: Vec<StreamRow<'a>>,
    /// One sentence per `on_subscribe` step.
    on_subscribe: Vec<String>,
    history_size: u32,
    history_ttl: u32,
    retired: String,
    event_names: String,
    action_names: String,
    events: Vec<EventDoc<'a>>,
    actions: Vec<ActionDoc<'a>>,
}

#[derive(Serialize)]
struct ParamRow<'a> {
    name: &'a str,
    required: &'static str,
    ty: String,
    description: String,
}

#[derive(Serialize)]
struct StreamRow<'a> {
    key: &'a str,
    when: String,
}

#[derive(Serialize)]
struct EventDoc<'a> {
    name: &'a str,
    deprecated: bool,
    description: &'a str,
    fan_out: String,
    resource: Option<String>,
    owner: Option<String>,
    payload: ShapeDoc,
}

#[derive(Serialize)]
struct ActionDoc<'a> {
    name: &'a str,
    description: &'a str,
    behaviour: String,
    errors: String,
    reply_note: Option<&'static str>,
    request: ShapeDoc,
    reply: Option<ShapeDoc>,
}

/// `- **Label:** Name, description`, then the field table of an object.
#[derive(Serialize)]
struct ShapeDoc {
    label: &'static str,
    summary: String,
    table: Option<FieldsDoc>,
}

#[derive(Serialize)]
struct FieldsDoc {
    rows: Vec<FieldRow>,
    /// What other keys may hold, as a sentence.
    additional: Option<String>,
}

#[derive(Serialize)]
struct FieldRow {
    name: String,
    ty: String,
    required: &'static str,
    nullable: &'static str,
    description: String,
}

#[derive(Serialize)]
struct ModelDoc<'a> {
    name: &'a str,
    description: Option<&'a str>,
    table: Option<FieldsDoc>,
    words: String,
}

fn envelope_row(f: &crate::ir::EnvelopeField) -> EnvelopeRow<'_> {
    let source = match f.fill {
        Fill::Event => "the event name",
        Fill::Payload => "the payload (per event, below)",
        Fill::ResourceType => "the event's resource type",
        Fill::ResourceId => "the event's resource id",
        Fill::Timestamp => "the time the server accepted the publish",
    };
    EnvelopeRow { name: &f.name, required: yes_no(f.required), source, description: cell(f.description.as_deref().unwrap_or_default()) }
}

fn channel<'a>(ir: &'a Ir, ch: &'a ChannelIr) -> ChannelDoc<'a> {
    let experimental = ch.stability == Stability::Experimental;
    let mut marks = Vec::new();
    if experimental {
        marks.push("experimental");
    }
    if ch.designed_here {
        marks.push("designed here");
    }
    let params = match object_of(ir, &ch.params) {
        Some(obj) => obj
            .fields
            .iter()
            .map(|f| {
                let (ty, nullable) = split_nullable(ir, &f.ty);
                let ty = if nullable { format!("{} or null", ty_words(ir, ty)) } else { ty_words(ir, ty) };
                ParamRow { name: &f.name, required: yes_no(f.required), ty: cell(&ty), description: cell(f.description.as_deref().unwrap_or_default()) }
            })
            .collect(),
        None => Vec::new(),
    };
    let names = |names: Vec<&str>| names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
    ChannelDoc {
        name: &ch.name,
        anchor: slug(&ch.name),
        marks: if marks.is_empty() { String::new() } else { format!(" ({})", marks.join(", ")) },
        experimental,
        designed_here: ch.designed_here,
        marked: experimental || ch.designed_here,
        file: &ch.file,
        description: ch.description.trim(),
        params,
        undeclared_params: match ch.undeclared_params {
            UndeclaredParams::Ignore => "Other keys of the identifier are ignored (logged at debug).",
            UndeclaredParams::Refuse => "Other keys of the identifier are refused: the subscription is rejected with `invalid_params`.",
        },
        authorization: words::authorization(&ch.authorize),
        streams_label: if ch.streams.len() == 1 { "Stream" } else { "Streams" },
        streams: ch.streams.iter().map(|s| StreamRow { key: &s.key.source, when: cell(&s.when.as_ref().map(words::condition).unwrap_or_else(|| "always".into())) }).collect(),
        on_subscribe: ch.on_subscribe.iter().map(on_subscribe_step).collect(),
        history_size: ch.history.size,
        history_ttl: ch.history.ttl_seconds,
        retired: retired(ch),
        event_names: names(ch.events.iter().map(|e| e.name.as_str()).collect()),
        action_names: names(ch.actions.iter().map(|a| a.name.as_str()).collect()),
        events: ch.events.iter().map(|e| event(ir, e)).collect(),
        actions: ch.actions.iter().map(|a| action(ir, a)).collect(),
    }
}

/// What one `on_subscribe` step sends, as a sentence.
fn on_subscribe_step(step: &OnSubscribeIr) -> String {
    let message = |m: &MessageIr| format!("`{}` with payload `{}`", m.event, serde_json::to_string(&m.payload).unwrap_or_default());
    match step {
        OnSubscribeIr::Message(m) => format!("right after `confirm_subscription`, the subscriber receives {}.", message(m)),
        OnSubscribeIr::Fetch(f) => format!(
            "right after `confirm_subscription`, the server asks the backend (`POST {}` with the principal, the channel and the params) and sends this subscriber what it answers ({}), before any live event of the subscription; when the backend fails (no answer in time, not 2xx, an invalid answer) it sends {} instead.",
            f.path,
            code_list(&f.events.iter().map(String::as_str).collect::<Vec<_>>()),
            message(&f.unavailable)
        ),
    }
}

fn retired(ch: &ChannelIr) -> String {
    let r = &ch.reserved;
    let mut parts = Vec::new();
    for (kind, names) in [("params", &r.params), ("events", &r.events), ("actions", &r.actions)] {
        if !names.is_empty() {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            parts.push(format!("{kind} {}", code_list(&names)));
        }
    }
    parts.join("; ")
}

fn event<'a>(ir: &'a Ir, e: &'a EventIr) -> EventDoc<'a> {
    EventDoc {
        name: &e.name,
        deprecated: e.deprecated,
        description: e.description.trim(),
        fan_out: e.publish_to.iter().map(|t| if t.optional { format!("`{}` (only for payloads that have its fields)", t.key.source) } else { format!("`{}`", t.key.source) }).collect::<Vec<_>>().join(", "),
        resource: e.resource.as_ref().map(|r| format!("`{}`, id `{}`", r.kind, r.id)),
        owner: e.owner.as_ref().map(|o| format!("records that `{}` `{}` belongs to account `{}`", o.resource, o.id, o.account)),
        payload: shape(ir, "Payload", &e.payload),
    }
}

fn action<'a>(ir: &'a Ir, a: &'a ActionIr) -> ActionDoc<'a> {
    let behaviour = match &a.behaviour {
        Behaviour::Relay { event, exclude_sender, stamp } => {
            let to = if *exclude_sender { ", except back to the sender" } else { ", the sender included" };
            let stamped = match stamp.as_slice() {
                [] => String::new(),
                stamp => {
                    let sets: Vec<String> = stamp.iter().map(|s| format!("`{}` from `{}`", s.field, s.source)).collect();
                    format!("; the server sets {} (a value the client sends is replaced)", sets.join(" and "))
                }
            };
            format!("relay: the request is published as event `{event}` to the subscription's streams{to}{stamped}")
        }
        Behaviour::Forward { path } => format!("forward: POSTed to the backend at `{path}`; its answer carries the reply, an error, or events to publish"),
    };
    let declared: Vec<&str> = a.errors.iter().map(String::as_str).collect();
    let errors = if declared.is_empty() { "only the built-in codes".to_owned() } else { format!("{}, besides the built-in codes", code_list(&declared)) };
    let reply_note = match (&a.reply, &a.behaviour) {
        (Some(_), _) => None,
        (None, Behaviour::Relay { .. }) => Some("`data` is `null`"),
        (None, Behaviour::Forward { .. }) => Some("not declared: `data` is the backend's reply, passed through unchecked"),
    };
    ActionDoc {
        name: &a.name,
        description: a.description.trim(),
        behaviour,
        errors,
        reply_note,
        request: shape(ir, "Request", &a.request),
        reply: a.reply.as_ref().map(|r| shape(ir, "Reply", r)),
    }
}

fn shape(ir: &Ir, label: &'static str, ty: &Ty) -> ShapeDoc {
    match (object_of(ir, ty), ty) {
        (Some(obj), Ty::Named(name)) => {
            let desc = ir.types.get(name).and_then(|d| d.description.as_deref()).map(|d| format!(": {}", one_line(d))).unwrap_or_default();
            ShapeDoc { label, summary: format!("`{name}`{desc}"), table: Some(fields(ir, obj)) }
        }
        _ => ShapeDoc { label, summary: ty_words(ir, ty), table: None },
    }
}

fn fields(ir: &Ir, obj: &ObjectTy) -> FieldsDoc {
    let rows = obj
        .fields
        .iter()
        .map(|f| {
            let (ty, nullable) = split_nullable(ir, &f.ty);
            FieldRow { name: f.name.clone(), ty: cell(&ty_words(ir, ty)), required: yes_no(f.required), nullable: yes_no(nullable), description: cell(f.description.as_deref().unwrap_or_default()) }
        })
        .collect();
    let additional = match &obj.additional {
        Additional::Closed => None,
        Additional::Open => Some("Other keys are allowed.".to_owned()),
        Additional::Typed(t) => Some(format!("Other keys hold {}.", ty_words(ir, t))),
    };
    FieldsDoc { rows, additional }
}

fn model<'a>(ir: &'a Ir, def: &'a TypeDef) -> ModelDoc<'a> {
    let (table, words) = match &def.ty {
        Ty::Object(obj) => (Some(fields(ir, obj)), String::new()),
        other => (None, full_words(ir, other)),
    };
    ModelDoc { name: &def.name, description: def.description.as_deref().map(str::trim), table, words }
}

/// The object a type stands for, following names.
fn object_of<'a>(ir: &'a Ir, ty: &'a Ty) -> Option<&'a ObjectTy> {
    match TypeBuilder::deref(&ir.types, ty) {
        Ty::Object(o) => Some(o),
        _ => None,
    }
}

/// A field's type without its nullability, and whether it is nullable.
fn split_nullable<'a>(ir: &'a Ir, ty: &'a Ty) -> (&'a Ty, bool) {
    match ty {
        Ty::Nullable(inner) => (inner, true),
        other => (other, matches!(TypeBuilder::deref(&ir.types, other), Ty::Nullable(_))),
    }
}

/// A type in words for a table cell; named types link to their model.
fn ty_words(ir: &Ir, ty: &Ty) -> String {
    match ty {
        Ty::Named(n) => {
            let link = format!("[`{n}`](#{})", slug(&format!("Model `{n}`")));
            match ir.types.get(n).map(|d| &d.ty) {
                Some(Ty::Enum { values, extensible }) => format!("{link}: {}", enum_words(values, *extensible)),
                Some(Ty::Object(_)) | None => link,
                Some(other) => format!("{link} ({})", kind(ir, other)),
            }
        }
        other => full_words(ir, other),
    }
}

/// A type in words, with its constraints.
fn full_words(ir: &Ir, ty: &Ty) -> String {
    match ty {
        Ty::Bool => "boolean".into(),
        Ty::Integer { min, max } => match (min, max) {
            (Some(a), Some(b)) => format!("integer, {a} to {b}"),
            (Some(a), None) => format!("integer ≥ {a}"),
            (None, Some(b)) => format!("integer ≤ {b}"),
            (None, None) => "integer".into(),
        },
        Ty::Number => "number".into(),
        Ty::String { format: Some(f), .. } => format!("string ({f})"),
        Ty::String { pattern: Some(p), accept_integer: true, .. } => format!("string matching `{p}`, or an integer (read as its decimal text)"),
        Ty::String { pattern: Some(p), .. } => format!("string matching `{p}`"),
        Ty::String { accept_integer: true, .. } => "string, or an integer (read as its decimal text)".into(),
        Ty::String { .. } => "string".into(),
        Ty::Enum { values, extensible } => enum_words(values, *extensible),
        Ty::Const(v) => format!("the constant `{v}`"),
        Ty::Array(t) => format!("array of {}", ty_words(ir, t)),
        Ty::Map(t) => format!("map of string to {}", ty_words(ir, t)),
        Ty::Object(_) => "object".into(),
        Ty::Named(_) => ty_words(ir, ty),
        Ty::Nullable(t) => format!("{} or null", ty_words(ir, t)),
        Ty::Any => "any JSON".into(),
    }
}

/// One word for what a named alias stands for.
fn kind(ir: &Ir, ty: &Ty) -> String {
    match ty {
        Ty::Bool => "boolean".into(),
        Ty::Integer { .. } => "integer".into(),
        Ty::Number => "number".into(),
        Ty::String { format: Some(f), .. } => format!("string, {f}"),
        Ty::String { accept_integer: true, .. } => "string or integer".into(),
        Ty::String { .. } => "string".into(),
        Ty::Array(t) => format!("array of {}", ty_words(ir, t)),
        Ty::Map(t) => format!("map of string to {}", ty_words(ir, t)),
        Ty::Nullable(t) => format!("{} or null", kind(ir, t)),
        Ty::Any => "any JSON".into(),
        other => full_words(ir, other),
    }
}

fn enum_words(values: &[String], extensible: bool) -> String {
    let list = values.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", ");
    if extensible {
        format!("one of {list}, or a value added later")
    } else {
        format!("one of {list}")
    }
}

/// Every named type referred to from a field (transitively), or by a non-object root.
fn reachable_models(ir: &Ir) -> BTreeSet<String> {
    fn visit(ir: &Ir, ty: &Ty, seen: &mut BTreeSet<String>) {
        match ty {
            Ty::Named(n) if seen.insert(n.clone()) => {
                if let Some(def) = ir.types.get(n) {
                    visit(ir, &def.ty, seen);
                }
            }
            Ty::Array(t) | Ty::Map(t) | Ty::Nullable(t) => visit(ir, t, seen),
            Ty::Object(obj) => visit_fields(ir, obj, seen),
            _ => {}
        }
    }
    fn visit_fields(ir: &Ir, obj: &ObjectTy, seen: &mut BTreeSet<String>) {
        for f in &obj.fields {
            visit(ir, &f.ty, seen);
        }
        if let Additional::Typed(t) = &obj.additional {
            visit(ir, t, seen);
        }
    }
    let mut seen = BTreeSet::new();
    for ch in &ir.channels {
        let roots = std::iter::once(&ch.params).chain(ch.events.iter().map(|e| &e.payload)).chain(ch.actions.iter().flat_map(|a| std::iter::once(&a.request).chain(a.reply.as_ref())));
        for root in roots {
            match object_of(ir, root) {
                Some(obj) => visit_fields(ir, obj, &mut seen),
                None => visit(ir, root, &mut seen),
            }
        }
    }
    seen
}

/// GitHub's heading anchor: lower case, spaces to `-`, other punctuation dropped.
fn slug(heading: &str) -> String {
    heading
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Text safe inside a table cell.
fn cell(s: &str) -> String {
    one_line(s).replace('|', "\\|")
}

fn code_list(names: &[&str]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_follow_github() {
        assert_eq!(slug("Model `AiAgent`"), "model-aiagent");
        assert_eq!(slug("Event `agent.created`"), "event-agentcreated");
        assert_eq!(slug("AiOrchestrationChannel"), "aiorchestrationchannel");
    }
}
