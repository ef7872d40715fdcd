//! Templates: every placeholder exists, and every value used in a key is key-safe.

use crate::diag::{Loc, Problems};
use crate::ir::rule::{Ref, Rule};
use crate::ir::template::PayloadPath;
use crate::ir::types::{describe, is_key_safe_literal, key_unsafe_reason, Additional, Ty, TypeBuilder};

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
        for (i, t) in ev.publish_to.iter().enumerate() {
            for path in t.vars() {
                payload_path(cx, &eloc.child("publish_to").child(&i.to_string()), &ev.payload, path, true, problems);
            }
        }
        if let Some(r) = &ev.resource {
            payload_path(cx, &eloc.child("resource").child("id"), &ev.payload, &r.id, false, problems);
        }
        if let Some(owner) = &ev.owner {
            payload_path(cx, &eloc.child("owner").child("id"), &ev.payload, &owner.id, true, problems);
            payload_path(cx, &eloc.child("owner").child("account"), &ev.payload, &owner.account, true, problems);
        }
    }
    for (i, msg) in cx.ch.on_subscribe.iter().enumerate() {
        let mloc = loc.child("on_subscribe").child(&i.to_string());
        match cx.ch.events.iter().find(|e| e.name == msg.event) {
            None => problems.at(&mloc.child("event"), format!("on_subscribe sends `{}`, which this channel does not declare", msg.event), "declare the event under `events:` or fix the name"),
            Some(ev) => on_subscribe_shape(cx, &mloc.child("payload"), &ev.name, &ev.payload, &msg.payload, problems),
        }
        for (loc, r) in &msg.placeholders {
            on_subscribe_placeholder(cx, loc, r, problems);
        }
    }
}

fn on_subscribe_placeholder(cx: &Cx<'_>, loc: &Loc, r: &Ref, problems: &mut Problems) {
    match r {
        Ref::Param(name) if cx.param(name).is_none() => {
            problems.at(loc, format!("placeholder `{{{r}}}` names no declared param"), format!("declare `{name}` under `params.properties`, or fix the placeholder"));
        }
        Ref::Claim(name) if cx.claim(name).is_none() => {
            problems.at(loc, format!("placeholder `{{{r}}}` names no declared claim"), format!("declare `{name}` in the claims of cableway.yaml, or use a declared claim such as `{{claims.sub}}`"));
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
            problems.at_key(&loc.child(key), format!("`{key}` is not a field of the payload of `{event}`"), format!("remove it, or declare it in the payload schema (its fields: {})", fields.join(", ")));
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
                problems.at(loc, format!("placeholder `{{{var}}}` names no declared param"), format!("declare `{name}` under `params.properties`, or fix the placeholder"));
                return;
            }
        },
        Ref::Claim(name) => match cx.claim(name) {
            Some(c) => c,
            None => {
                problems.at(loc, format!("placeholder `{{{var}}}` names no declared claim"), "declare the claim in cableway.yaml, or fix the placeholder");
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
    if let Some(reason) = key_unsafe_reason(&cx.ir.types, ty) {
        problems.at(loc, format!("`{var}` is not key-safe: {reason}"), "constrain it with `format: uuid`, an `enum`, an anchored `pattern` over [A-Za-z0-9_-], or integer `minimum`+`maximum`, so no value can inject `:` or `*` into a key");
    }
}

/// Follows `payload.a.b` through the payload type: every step must be a required property.
fn payload_path(cx: &Cx<'_>, loc: &Loc, payload: &Ty, path: &PayloadPath, key: bool, problems: &mut Problems) {
    let joined = path.to_string();
    // `payload` and the segments walked so far, for messages.
    let var: Vec<&str> = std::iter::once("payload").chain(path.0.iter().map(String::as_str)).collect();
    let types = &cx.ir.types;
    let mut ty = payload;
    for (depth, seg) in path.0.iter().enumerate() {
        let Some(obj) = object(types, ty) else {
            problems.at(loc, format!("`{joined}`: `{}` is {}, not an object", var[..depth + 1].join("."), describe(TypeBuilder::deref(types, ty))), "point at a field of an object");
            return;
        };
        match obj.fields.iter().find(|f| &f.name == seg) {
            Some(f) if f.required => ty = &f.ty,
            Some(_) => {
                problems.at(loc, format!("`{joined}`: field `{seg}` is optional, so some payloads could not be routed"), format!("add `{seg}` to `required` in the payload schema, or route on a required field"));
                return;
            }
            None => {
                let fields: Vec<&str> = obj.fields.iter().map(|f| f.name.as_str()).collect();
                let here = if depth == 0 { "the payload".to_owned() } else { format!("`{}`", var[..depth + 1].join(".")) };
                problems.at(loc, format!("`{joined}`: {here} has no field `{seg}`"), format!("use one of its fields ({}), or declare `{seg}` in the payload schema", fields.join(", ")));
                return;
            }
        }
    }
    if key {
        if let Some(reason) = key_unsafe_reason(types, ty) {
            problems.at(loc, format!("`{joined}` is not key-safe: {reason}"), "route on an id with an anchored `pattern` over [A-Za-z0-9_-], `format: uuid`, an `enum`, or a bounded integer");
        }
    } else if !matches!(TypeBuilder::deref(types, ty), Ty::String { .. } | Ty::Integer { .. } | Ty::Enum { .. }) {
        problems.at(loc, format!("`{joined}` is {}, but an id must be a string or an integer", describe(TypeBuilder::deref(types, ty))), "point at a string or integer id field");
    }
}

