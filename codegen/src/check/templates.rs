//! Templates: every placeholder exists, and every value used in a key is key-safe.

use crate::diag::{Loc, Problems};
use crate::format::Rule;
use crate::ir::types::{key_unsafe_reason, Ty, TypeBuilder};

use super::{object, Cx};

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
        if !cx.ch.events.iter().any(|e| e.name == msg.event) {
            problems.at(&mloc.child("event"), format!("on_subscribe sends `{}`, which this channel does not declare", msg.event), "declare the event under `events:` or fix the name");
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
                        problems.at(loc, format!("placeholder `{{{}}}` names no declared param or claim", var.join(".")), "use `{params.<name>}` or `{claims.<name>}`");
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
        problems.at(loc, format!("`{joined}` is optional, so the key cannot always be built"), format!("make it required, or add `when: {{present: {joined}}}` to this stream"));
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
        problems.at(loc, format!("`{joined}` must start with `payload.`"), "name a payload field, e.g. `{payload.workflow_run.id}`");
        return;
    }
    let types = &cx.ir.types;
    let mut ty = payload;
    for (depth, seg) in var[1..].iter().enumerate() {
        let Some(obj) = object(types, ty) else {
            problems.at(loc, format!("`{joined}`: `{}` is not an object", var[..depth + 1].join(".")), "point at a field of an object");
            return;
        };
        match obj.fields.iter().find(|f| &f.name == seg) {
            Some(f) if f.required => ty = &f.ty,
            Some(_) => {
                problems.at(loc, format!("`{joined}`: field `{seg}` is optional, so some payloads could not be routed"), format!("add `{seg}` to `required` in the payload schema, or route on a required field"));
                return;
            }
            None => {
                problems.at(loc, format!("`{joined}`: the payload has no field `{seg}`"), "fix the path, or declare the field in the payload schema");
                return;
            }
        }
    }
    if key {
        if let Some(reason) = key_unsafe_reason(types, ty) {
            problems.at(loc, format!("`{joined}` is not key-safe: {reason}"), "route on an id with an anchored `pattern` over [A-Za-z0-9_-], `format: uuid`, an `enum`, or a bounded integer");
        }
    } else if !matches!(TypeBuilder::deref(types, ty), Ty::String { .. } | Ty::Integer { .. } | Ty::Enum { .. }) {
        problems.at(loc, format!("`{joined}` must be a string or an integer"), "point at a scalar id field");
    }
}

