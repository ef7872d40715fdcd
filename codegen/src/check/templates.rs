//! Templates: every placeholder exists, and every value used in a key is key-safe.

use crate::diag::{Loc, Problems};
use crate::format::Rule;
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
            for var in t.vars() {
                payload_path(cx, &eloc.child("publish_to").child(&i.to_string()), &ev.payload, var, true, problems);
            }
        }
        if let Some((_, _)) = &ev.resource {
            let src = cx.loaded.channels.iter().find(|(r, _)| *r == cx.ch.file).and_then(|(_, f)| f.events.get(&ev.name)).and_then(|e| e.resource.as_ref());
            if let Some(r) = src {
                path_ref(cx, &eloc.child("resource").child("id"), &ev.payload, &r.id, false, problems);
            }
        }
        if let Some(owner) = &ev.owner {
            path_ref(cx, &eloc.child("owner").child("id"), &ev.payload, &owner.id, true, problems);
            path_ref(cx, &eloc.child("owner").child("account"), &ev.payload, &owner.account, true, problems);
        }
    }
    for (i, msg) in cx.ch.on_subscribe.iter().enumerate() {
        let mloc = loc.child("on_subscribe").child(&i.to_string());
        match cx.ch.events.iter().find(|e| e.name == msg.event) {
            None => problems.at(&mloc.child("event"), format!("on_subscribe sends `{}`, which this channel does not declare", msg.event), "declare the event under `events:` or fix the name"),
            Some(ev) => on_subscribe_shape(cx, &mloc.child("payload"), &ev.name, &ev.payload, &msg.payload, problems),
        }
        on_subscribe_strings(cx, &mloc.child("payload"), &msg.payload, problems);
    }
}

fn on_subscribe_strings(cx: &Cx<'_>, loc: &Loc, v: &serde_json::Value, problems: &mut Problems) {
    match v {
        serde_json::Value::String(s) if s.contains('{') => match crate::ir::template::parse(s) {
            Ok(t) => {
                for var in t.vars() {
                    let known = match var.first().map(String::as_str) {
                        Some("params") => var.len() == 2 && cx.param(&var[1]).is_some(),
                        Some("claims") => var.len() == 2 && cx.claim(&var[1]).is_some(),
                        _ => false,
                    };
                    if !known {
                        let joined = var.join(".");
                        let (message, help) = match (var.first().map(String::as_str), var.len()) {
                            (Some("params"), 2) => (format!("placeholder `{{{joined}}}` names no declared param"), format!("declare `{}` under `params.properties`, or fix the placeholder", var[1])),
                            (Some("claims"), 2) => (format!("placeholder `{{{joined}}}` names no declared claim"), format!("declare `{}` in the claims of cableway.yaml, or use a declared claim such as `{{claims.sub}}`", var[1])),
                            _ => (format!("placeholder `{{{joined}}}` names no declared param or claim"), "use `{params.<name>}` or `{claims.<name>}`".to_owned()),
                        };
                        problems.at(loc, message, help);
                    }
                }
            }
            Err(e) => problems.at(loc, e, "use `{params.<name>}` or `{claims.<name>}` placeholders"),
        },
        serde_json::Value::Object(o) => o.iter().for_each(|(k, v)| on_subscribe_strings(cx, &loc.child(k), v, problems)),
        serde_json::Value::Array(a) => a.iter().enumerate().for_each(|(i, v)| on_subscribe_strings(cx, &loc.child(&i.to_string()), v, problems)),
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

fn guarded_by_present(when: Option<&Rule>, reference: &str) -> bool {
    match when {
        Some(Rule::Present(r)) => r == reference,
        Some(Rule::All(rules)) => rules.iter().any(|r| guarded_by_present(Some(r), reference)),
        _ => false,
    }
}

fn subscribe_var(cx: &Cx<'_>, loc: &Loc, var: &[String], when: Option<&Rule>, problems: &mut Problems) {
    let joined = var.join(".");
    let (ty, required) = match (var.first().map(String::as_str), var.len()) {
        (Some("params"), 2) => match cx.param(&var[1]) {
            Some(p) => p,
            None => {
                problems.at(loc, format!("placeholder `{{{joined}}}` names no declared param"), format!("declare `{}` under `params.properties`, or fix the placeholder", var[1]));
                return;
            }
        },
        (Some("claims"), 2) => match cx.claim(&var[1]) {
            Some(c) => c,
            None => {
                problems.at(loc, format!("placeholder `{{{joined}}}` names no declared claim"), "declare the claim in cableway.yaml, or fix the placeholder");
                return;
            }
        },
        _ => {
            problems.at(loc, format!("placeholder `{{{joined}}}` is not allowed in a subscribe stream"), "stream keys may use `{params.<name>}` and `{claims.<name>}`");
            return;
        }
    };
    if !required && !guarded_by_present(when, &joined) {
        let help = match when {
            None => format!("make it required, or add `when: {{present: {joined}}}` to this stream"),
            Some(_) => format!("make it required, or also require it in this stream's condition: `when: {{all: [<current condition>, {{present: {joined}}}]}}`"),
        };
        problems.at(loc, format!("`{joined}` is optional, so the key cannot always be built"), help);
    }
    if let Some(reason) = key_unsafe_reason(&cx.ir.types, ty) {
        problems.at(loc, format!("`{joined}` is not key-safe: {reason}"), "constrain it with `format: uuid`, an `enum`, an anchored `pattern` over [A-Za-z0-9_-], or integer `minimum`+`maximum`, so no value can inject `:` or `*` into a key");
    }
}

fn path_ref(cx: &Cx<'_>, loc: &Loc, payload: &Ty, path: &str, key: bool, problems: &mut Problems) {
    let var: Vec<String> = path.split('.').map(str::to_owned).collect();
    payload_path(cx, loc, payload, &var, key, problems);
}

/// Follows `payload.a.b` through the payload type: every step must be a required property.
fn payload_path(cx: &Cx<'_>, loc: &Loc, payload: &Ty, var: &[String], key: bool, problems: &mut Problems) {
    let joined = var.join(".");
    if var.first().map(String::as_str) != Some("payload") || var.len() < 2 {
        problems.at(loc, format!("`{joined}` must start with `payload.`"), "name a field of the event payload, e.g. `payload.account_id`: the server reads it from each published payload");
        return;
    }
    let types = &cx.ir.types;
    let mut ty = payload;
    for (depth, seg) in var[1..].iter().enumerate() {
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

