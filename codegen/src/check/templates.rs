//! Templates: every placeholder exists, and every value used in a key is key-safe; the
//! messages and the fetch of `on_subscribe` name real events and fit their payloads.

use crate::diag::{suggest, Loc, Problems};
use crate::ir::rule::{Ref, Rule};
use crate::ir::template::PayloadPath;
use crate::ir::types::{describe, is_key_safe_literal, key_unsafe_reason, Additional, Ty, TypeBuilder};
use crate::ir::{MessageIr, OnSubscribeIr};

use super::{failed, object, Cx};

pub(super) fn check(cx: &Cx<'_>, problems: &mut Problems) {
    let loc = cx.loc();
    for (i, s) in cx.ch.streams.iter().enumerate() {
        let sloc = loc.child("streams").child(&i.to_string()).child("key");
        for var in s.key.vars() {
            subscribe_var(cx, &sloc, var, s.when.as_ref(), problems);
        }
    }
    for ev in &cx.ch.events {
        let eloc = loc.child("events").child(&ev.name);
        if let Some(owner) = &ev.owner {
            if !is_key_safe_literal(&owner.resource) {
                problems.at(&eloc.child("owner").child("resource"), format!("resource kind `{}` must be a snake_case word", owner.resource), "write the kind that `owns` rules name, such as `workflow_run`");
            }
        }
        if failed(&cx.ir.types, problems, &eloc.child("payload"), &ev.payload) {
            continue;
        }
        for (i, target) in ev.publish_to.iter().enumerate() {
            let tloc = eloc.child("publish_to").child(&i.to_string());
            let route = if target.optional { Route::Optional } else { Route::Key };
            let mut all_required = true;
            for path in target.key.vars() {
                all_required &= payload_path(cx, &tloc, &ev.payload, path, route, problems);
            }
            if target.optional && all_required && !problems.reported_under(&tloc) {
                problems.at(&tloc.child("optional"), format!("every field of `{}` is required, so no payload skips it", target.key.source), "drop `optional: true` (write the key as a plain string)");
            }
        }
        if !ev.publish_to.is_empty() && ev.publish_to.iter().all(|t| t.optional) {
            problems.at(&eloc.child("publish_to"), format!("every target of `{}` is optional, so a publish could reach no stream", ev.name), "keep at least one target over required fields as a plain string");
        }
        if let Some(r) = &ev.resource {
            payload_path(cx, &eloc.child("resource").child("id"), &ev.payload, &r.id, Route::Id, problems);
        }
        if let Some(owner) = &ev.owner {
            payload_path(cx, &eloc.child("owner").child("id"), &ev.payload, &owner.id, Route::Key, problems);
            payload_path(cx, &eloc.child("owner").child("account"), &ev.payload, &owner.account, Route::Key, problems);
        }
    }
    let mut fetches = 0;
    for (i, step) in cx.ch.on_subscribe.iter().enumerate() {
        let sloc = loc.child("on_subscribe").child(&i.to_string());
        match step {
            OnSubscribeIr::Message(msg) => message(cx, &sloc, msg, problems),
            OnSubscribeIr::Fetch(f) => {
                fetches += 1;
                let floc = sloc.child("fetch");
                if fetches > 1 {
                    problems.at_key(&floc, "a channel fetches from the backend at most once on subscribe", "merge the fetches: one answer may hold several events");
                }
                if f.events.is_empty() {
                    problems.at(&floc.child("events"), "the fetch lists no events", "list the events the backend may answer, e.g. `events: [subscription.status]`");
                }
                for (j, name) in f.events.iter().enumerate() {
                    if !cx.ch.events.iter().any(|e| &e.name == name) {
                        let names = cx.event_names();
                        problems.at(&floc.child("events").child(&j.to_string()), format!("the fetch may answer `{name}`, which this channel does not declare"), suggest(name, names.iter().copied(), format!("name one of this channel's events: {}", names.join(", "))));
                    }
                }
                message(cx, &floc.child("unavailable"), &f.unavailable, problems);
            }
        }
    }
}

/// A message the server builds: its event exists, its payload fits, its placeholders resolve.
fn message(cx: &Cx<'_>, loc: &Loc, msg: &MessageIr, problems: &mut Problems) {
    match cx.ch.events.iter().find(|e| e.name == msg.event) {
        None => problems.at(&loc.child("event"), format!("on_subscribe sends `{}`, which this channel does not declare", msg.event), suggest(&msg.event, cx.event_names(), "declare the event under `events:` or fix the name")),
        Some(ev) => on_subscribe_shape(cx, &loc.child("payload"), &ev.name, &ev.payload, &msg.payload, problems),
    }
    for (loc, r) in &msg.placeholders {
        on_subscribe_placeholder(cx, loc, r, problems);
    }
}

/// What a payload path is used for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Route {
    /// A stream key or an ownership fact: required all the way, key-safe.
    Key,
    /// An `optional` fan-out target: key-safe where present, may be absent or null.
    Optional,
    /// The envelope's resource id: required, a string or an integer.
    Id,
}

fn on_subscribe_placeholder(cx: &Cx<'_>, loc: &Loc, r: &Ref, problems: &mut Problems) {
    match r {
        Ref::Param(name) if cx.param(name).is_none() => {
            problems.at(loc, format!("placeholder `{{{r}}}` names no declared param"), suggest(name, cx.param_names(), format!("declare `{name}` under `params.properties`, or fix the placeholder")));
        }
        Ref::Claim(name) if cx.claim(name).is_none() => {
            problems.at(loc, format!("placeholder `{{{r}}}` names no declared claim"), suggest(name, cx.claim_names(), format!("declare `{name}` in the claims of cableway.yaml, or use a declared claim such as `{{claims.sub}}`")));
        }
        _ => {}
    }
}

/// An on_subscribe payload must fit the event's payload schema: every required key present,
/// no key that a closed object does not declare. String values are placeholders or literals
/// and are checked when the message is sent.
fn on_subscribe_shape(cx: &Cx<'_>, loc: &Loc, event: &str, ty: &Ty, v: &serde_json::Value, problems: &mut Problems) {
    let Some(obj) = object(&cx.ir.types, ty) else { return };
    let Some(map) = v.as_object() else {
        problems.at(loc, format!("expected an object here, as the payload schema of `{event}` declares"), "write a mapping with the fields of the payload schema");
        return;
    };
    for f in &obj.fields {
        match map.get(&f.name) {
            Some(inner) => on_subscribe_shape(cx, &loc.child(&f.name), event, &f.ty, inner, problems),
            None if f.required => problems.at(loc, format!("this on_subscribe payload lacks `{}`, which the payload of `{event}` requires", f.name), format!("add `{}:` (placeholders such as `{{params.<name>}}` are allowed), or make it optional in the payload schema", f.name)),
            None => {}
        }
    }
    if obj.additional == Additional::Closed {
        for key in map.keys().filter(|k| !obj.fields.iter().any(|f| &f.name == *k)) {
            let fields: Vec<&str> = obj.fields.iter().map(|f| f.name.as_str()).collect();
            problems.at_key(&loc.child(key), format!("`{key}` is not a field of the payload of `{event}`"), suggest(key, fields.iter().copied(), format!("remove it, or declare it in the payload schema (its fields: {})", fields.join(", "))));
        }
    }
}

fn guarded_by_present(when: Option<&Rule>, reference: &Ref) -> bool {
    match when {
        Some(Rule::Present(r)) => r == reference,
        Some(Rule::All(rules)) => rules.iter().any(|r| guarded_by_present(Some(r), reference)),
        _ => false,
    }
}

fn subscribe_var(cx: &Cx<'_>, loc: &Loc, var: &Ref, when: Option<&Rule>, problems: &mut Problems) {
    let (ty, required) = match var {
        Ref::Param(name) => match cx.param(name) {
            Some(p) => p,
            None => {
                problems.at(loc, format!("placeholder `{{{var}}}` names no declared param"), suggest(name, cx.param_names(), format!("declare `{name}` under `params.properties`, or fix the placeholder")));
                return;
            }
        },
        Ref::Claim(name) => match cx.claim(name) {
            Some(c) => c,
            None => {
                problems.at(loc, format!("placeholder `{{{var}}}` names no declared claim"), suggest(name, cx.claim_names(), "declare the claim in cableway.yaml, or fix the placeholder"));
                return;
            }
        },
    };
    if !required && !guarded_by_present(when, var) {
        let help = match when {
            None => format!("make it required, or add `when: {{present: {var}}}` to this stream"),
            Some(_) => format!("make it required, or also require it in this stream's condition: `when: {{all: [<current condition>, {{present: {var}}}]}}`"),
        };
        problems.at(loc, format!("`{var}` is optional, so the key cannot always be built"), help);
    }
    key_safe(cx, loc, &var.to_string(), ty, "constrain it with `format: uuid`, an `enum`, an anchored `pattern` over [A-Za-z0-9_-], or integer `minimum`+`maximum`, so no value can inject `:` or `*` into a key", problems);
}

/// Follows `payload.a.b` through the payload type: every step must be a required property
/// (for an optional target, may be optional or null). Returns whether every step is required.
fn payload_path(cx: &Cx<'_>, loc: &Loc, payload: &Ty, path: &PayloadPath, route: Route, problems: &mut Problems) -> bool {
    let joined = path.to_string();
    // `payload` and the segments walked so far, for messages.
    let var: Vec<&str> = std::iter::once("payload").chain(path.0.iter().map(String::as_str)).collect();
    let types = &cx.ir.types;
    let mut ty = payload;
    let mut all_required = true;
    for (depth, seg) in path.0.iter().enumerate() {
        let Some(obj) = object(types, unwrap_nullable(types, ty, route)) else {
            problems.at(loc, format!("`{joined}`: `{}` is {}, not an object", var[..depth + 1].join("."), describe(TypeBuilder::deref(types, ty))), "point at a field of an object");
            return all_required;
        };
        match obj.fields.iter().find(|f| &f.name == seg) {
            Some(f) if f.required => ty = &f.ty,
            Some(f) if route == Route::Optional => {
                all_required = false;
                ty = &f.ty;
            }
            Some(_) => {
                let help = if route == Route::Key && loc.pointer.contains("/publish_to/") {
                    format!("add `{seg}` to `required` in the payload schema, route on a required field, or make this target `{{key: ..., optional: true}}` so payloads without `{seg}` skip it")
                } else {
                    format!("add `{seg}` to `required` in the payload schema, or route on a required field")
                };
                problems.at(loc, format!("`{joined}`: field `{seg}` is optional, so some payloads could not be routed"), help);
                return all_required;
            }
            None => {
                let fields: Vec<&str> = obj.fields.iter().map(|f| f.name.as_str()).collect();
                let here = if depth == 0 { "the payload".to_owned() } else { format!("`{}`", var[..depth + 1].join(".")) };
                problems.at(loc, format!("`{joined}`: {here} has no field `{seg}`"), suggest(seg, fields.iter().copied(), format!("use one of its fields ({}), or declare `{seg}` in the payload schema", fields.join(", "))));
                return all_required;
            }
        }
    }
    if matches!(TypeBuilder::deref(types, ty), Ty::Nullable(_)) && route == Route::Optional {
        all_required = false;
    }
    match route {
        Route::Key | Route::Optional => {
            key_safe(cx, loc, &joined, unwrap_nullable(types, ty, route), "route on an id with an anchored `pattern` over [A-Za-z0-9_-], `format: uuid`, an `enum`, or a bounded integer", problems);
        }
        Route::Id => {
            if !matches!(TypeBuilder::deref(types, ty), Ty::String { .. } | Ty::Integer { .. } | Ty::Enum { .. }) {
                problems.at(loc, format!("`{joined}` is {}, but an id must be a string or an integer", describe(TypeBuilder::deref(types, ty))), "point at a string or integer id field");
            }
        }
    }
    all_required
}

/// Reports that `what` (used in a key at `loc`) is not key-safe. When the cause is written in
/// a definition (an enum value, a pattern, integer bounds), the problem points there, where the
/// fix goes, and names the use; `help` is for a type that has no constraint to fix.
fn key_safe(cx: &Cx<'_>, loc: &Loc, what: &str, ty: &Ty, help: &str, problems: &mut Problems) {
    let types = &cx.ir.types;
    let Some(reason) = key_unsafe_reason(types, ty) else { return };
    // The definition the type stands for, if it is named.
    let mut def = None;
    let mut t = ty;
    while let Ty::Named(n) = t {
        match types.get(n) {
            Some(d) => {
                def = Some(d);
                t = &d.ty;
            }
            None => break,
        }
    }
    let fix = match (t, def) {
        (Ty::Enum { values, .. }, Some(d)) => values.iter().position(|v| !is_key_safe_literal(v)).map(|i| {
            let safe: String = values[i].chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
            (d.loc.child("enum").child(&i.to_string()), format!("write the value with letters, digits, `_` and `-` only (e.g. `{safe}`), or key on another field"))
        }),
        (Ty::String { pattern: Some(_), .. }, Some(d)) => Some((d.loc.child("pattern"), "anchor the pattern as `^...$` and let it admit only [A-Za-z0-9_-], e.g. `^[A-Za-z0-9_-]{1,64}$`".to_owned())),
        (Ty::Integer { .. }, Some(d)) => Some((d.loc.clone(), "give the integer both `minimum` and `maximum`".to_owned())),
        _ => None,
    };
    match fix {
        Some((at, fix)) if at.file != loc.file || !loc.pointer.starts_with(&at.pointer) => {
            let used = cx.loaded.value_position(loc);
            problems.at(&at, format!("`{what}` is not key-safe: {reason}; it is used in a key at {}:{}", loc.file, used.line), fix);
        }
        Some((_, fix)) => problems.at(loc, format!("`{what}` is not key-safe: {reason}"), fix),
        None => problems.at(loc, format!("`{what}` is not key-safe: {reason}"), help),
    }
}

/// For an optional target, a nullable field counts as absent when null: its inner type.
fn unwrap_nullable<'t>(types: &'t std::collections::BTreeMap<String, crate::ir::types::TypeDef>, ty: &'t Ty, route: Route) -> &'t Ty {
    match (TypeBuilder::deref(types, ty), route) {
        (Ty::Nullable(inner), Route::Optional) => inner,
        _ => ty,
    }
}

