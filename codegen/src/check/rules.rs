//! Authorization rules, stream conditions and relay stamps name only declared params and
//! claims; action behaviours point at real events; backend paths are paths.

use crate::diag::{suggest, Loc, Problems};
use crate::ir::rule::{Ref, ResourceKind, Rule};
use crate::ir::types::{describe, is_key_safe_literal, Ty, TypeBuilder};
use crate::ir::{Behaviour, EventIr, OnSubscribeIr, Stamp};

use super::{failed, object, Cx};

pub(super) fn check(cx: &Cx<'_>, problems: &mut Problems) {
    let loc = cx.loc();
    rule(cx, &loc.child("authorize"), &cx.ch.authorize, false, problems);
    for (i, s) in cx.ch.streams.iter().enumerate() {
        if let Some(w) = &s.when {
            rule(cx, &loc.child("streams").child(&i.to_string()).child("when"), w, true, problems);
        }
    }
    for ac in &cx.ch.actions {
        let aloc = loc.child("actions").child(&ac.name);
        match &ac.behaviour {
            Behaviour::Relay { event, stamp, .. } => match cx.ch.events.iter().find(|e| &e.name == event) {
                None => {
                    let names = cx.event_names();
                    problems.at(&aloc.child("relay").child("event"), format!("relay targets `{event}`, which this channel does not declare"), suggest(event, names.iter().copied(), format!("name one of this channel's events: {}", names.join(", "))));
                }
                Some(ev) => {
                    let types = &cx.ir.types;
                    let broken = failed(types, problems, &aloc.child("request"), &ac.request) || failed(types, problems, &loc.child("events").child(event).child("payload"), &ev.payload);
                    if !broken {
                        stamps(cx, &aloc.child("relay").child("stamp"), stamp, ev, &ac.request, problems);
                        relay_compatible(cx, &aloc.child("relay").child("event"), &ac.request, &ev.payload, event, stamp, problems);
                    }
                }
            },
            Behaviour::Forward { path } => backend_path(&aloc.child("forward").child("path"), "forward", path, "/cable/actions", problems),
        }
    }
    for (i, step) in cx.ch.on_subscribe.iter().enumerate() {
        if let OnSubscribeIr::Fetch(f) = step {
            backend_path(&loc.child("on_subscribe").child(&i.to_string()).child("fetch").child("path"), "fetch", &f.path, crate::ir::DEFAULT_FETCH_PATH, problems);
        }
    }
}

/// A path appended to the backend URL.
fn backend_path(loc: &Loc, what: &str, path: &str, example: &str, problems: &mut Problems) {
    if !path.starts_with('/') || path.contains(|c: char| c.is_whitespace() || matches!(c, '?' | '#')) {
        problems.at(loc, format!("{what} path `{path}` is not an absolute URL path"), format!("write a path that starts with `/` and has no spaces, query or fragment, e.g. `{example}`"));
    }
}

/// A relay's stamps read declared params and claims into fields of the event payload that
/// can hold them; the request cannot require what the server overwrites.
fn stamps(cx: &Cx<'_>, loc: &Loc, stamps: &[Stamp], ev: &EventIr, request: &Ty, problems: &mut Problems) {
    let types = &cx.ir.types;
    let Some(payload) = object(types, &ev.payload) else {
        if !stamps.is_empty() {
            problems.at(loc, format!("the payload of `{}` is not an object, so the relay cannot stamp fields into it", ev.name), "stamp only into an object payload, or remove `stamp`");
        }
        return;
    };
    for s in stamps {
        let sloc = loc.child(&s.field);
        let source = match &s.source {
            Ref::Param(name) => cx.param(name).ok_or_else(|| (format!("stamp `{}` reads `{}`, which is not a declared param", s.field, s.source), suggest(name, cx.param_names(), format!("declare `{name}` under `params.properties`, or read a declared param")))),
            Ref::Claim(name) => cx.claim(name).ok_or_else(|| (format!("stamp `{}` reads `{}`, which is not a declared claim", s.field, s.source), suggest(name, cx.claim_names(), format!("declare `{name}` in the claims of cableway.yaml, or read a declared claim such as `claims.sub`")))),
        };
        let (source_ty, source_required) = match source {
            Ok(found) => found,
            Err((message, help)) => {
                problems.at(&sloc, message, help);
                continue;
            }
        };
        let Some(field) = payload.fields.iter().find(|f| f.name == s.field) else {
            let fields: Vec<&str> = payload.fields.iter().map(|f| f.name.as_str()).collect();
            problems.at_key(&sloc, format!("stamp `{}` names no field of the payload of `{}`", s.field, ev.name), suggest(&s.field, fields.iter().copied(), format!("use one of its fields ({}), or declare `{}` in the payload schema", fields.join(", "), s.field)));
            continue;
        };
        let (from, to) = (scalar_kind(types, source_ty), scalar_kind(types, &field.ty));
        if from != to {
            problems.at(&sloc, format!("stamp `{}` puts `{}` ({}) into a field that holds {}", s.field, s.source, from, to), "stamp from a param or claim of the field's type");
            continue;
        }
        if field.required && !source_required {
            problems.at(&sloc, format!("`{}` is optional, but payload field `{}` is required: a relay without it could not be published", s.source, s.field), format!("stamp `{}` from a required param or claim, or make the field optional in the payload", s.field));
        }
        if object(types, request).and_then(|r| r.fields.iter().find(|f| f.name == s.field)).is_some_and(|f| f.required) {
            problems.at(&sloc, format!("the request requires `{}`, which the relay stamps: the client's value would always be replaced", s.field), format!("make `{}` optional in the request (to keep accepting clients that still send it), or remove it", s.field));
        }
    }
}

/// What a stamp may copy: the JSON kind of a (non-null) value, in words.
fn scalar_kind(types: &std::collections::BTreeMap<String, crate::ir::types::TypeDef>, ty: &Ty) -> &'static str {
    match TypeBuilder::deref(types, ty) {
        Ty::String { .. } | Ty::Enum { .. } => "a string",
        Ty::Const(serde_json::Value::String(_)) => "a string",
        Ty::Nullable(inner) => scalar_kind(types, inner),
        other => describe(other),
    }
}

/// The relayed request is published as the event's payload (with the stamped fields set by
/// the server), so it must satisfy that schema.
fn relay_compatible(cx: &Cx<'_>, loc: &Loc, request: &Ty, payload: &Ty, event: &str, stamp: &[Stamp], problems: &mut Problems) {
    if request == payload && stamp.is_empty() {
        return;
    }
    let types = &cx.ir.types;
    let (Some(req), Some(pay)) = (object(types, request), object(types, payload)) else {
        problems.at(loc, format!("the request cannot be relayed as `{event}`: both must be objects"), "use the same schema for the request and the event payload");
        return;
    };
    let stamped = |name: &str| stamp.iter().any(|s| s.field == name);
    for f in pay.fields.iter().filter(|f| !stamped(&f.name)) {
        let r = req.fields.iter().find(|r| r.name == f.name);
        let ok = match r {
            Some(r) => TypeBuilder::deref(types, &r.ty) == TypeBuilder::deref(types, &f.ty) && (r.required || !f.required),
            None => !f.required,
        };
        if !ok {
            let why = match r {
                None => "the request has no such field",
                Some(r) if TypeBuilder::deref(types, &r.ty) != TypeBuilder::deref(types, &f.ty) => "the request's field has another type",
                Some(_) => "it is optional in the request",
            };
            problems.at(loc, format!("the request cannot be relayed as `{event}`: the payload requires `{}`, but {why}", f.name), "give the request and the event payload the same fields (use the same `$ref`)");
            return;
        }
    }
    for r in &req.fields {
        if !pay.fields.iter().any(|f| f.name == r.name) && matches!(pay.additional, crate::ir::types::Additional::Closed) {
            problems.at(loc, format!("the request cannot be relayed as `{event}`: request field `{}` is not allowed in the payload", r.name), "declare the field in the event payload, or drop it from the request");
            return;
        }
    }
}

/// What a rule compares (`same`, `param_is`, the id of `owns`) is compared as text, which only
/// strings, integers and enums (optional or nullable) have; anything else would not compile.
fn comparable(cx: &Cx<'_>, loc: &Loc, r: &str, ty: Option<&Ty>, problems: &mut Problems) {
    fn why(types: &std::collections::BTreeMap<String, crate::ir::types::TypeDef>, ty: &Ty) -> Option<&'static str> {
        match TypeBuilder::deref(types, ty) {
            Ty::String { .. } | Ty::Integer { .. } | Ty::Enum { .. } => None,
            Ty::Nullable(inner) => why(types, inner),
            other => Some(crate::ir::types::describe(other)),
        }
    }
    if let Some(what) = ty.and_then(|t| why(&cx.ir.types, t)) {
        problems.at(loc, format!("`{r}` is {what}, which a rule cannot compare"), "rules compare values as text: use a string, integer or enum param or claim");
    }
}

/// The type of what `r` reads and whether it is required; `None` (reported) when undeclared.
fn reference<'c>(cx: &'c Cx<'_>, loc: &Loc, r: &Ref, problems: &mut Problems) -> Option<(&'c Ty, bool)> {
    // A reference that did not parse was reported when the IR was built.
    if problems.reported_under(loc) {
        return None;
    }
    let found = match r {
        Ref::Param(name) => cx.param(name),
        Ref::Claim(name) => cx.claim(name),
    };
    if found.is_none() {
        let (what, help) = match r {
            Ref::Param(name) => ("param", suggest(name, cx.param_names(), format!("declare `{name}` under `params.properties`, or fix the name"))),
            Ref::Claim(name) => ("claim", suggest(name, cx.claim_names(), format!("declare `{name}` in the claims of cableway.yaml, or fix the name"))),
        };
        problems.at(loc, format!("the rule names `{r}`, which is not a declared {what}"), help);
    }
    found
}

fn rule(cx: &Cx<'_>, loc: &Loc, r: &Rule, condition: bool, problems: &mut Problems) {
    let types = &cx.ir.types;
    if condition && !matches!(r, Rule::ParamIs(_) | Rule::Present(_) | Rule::Absent(_) | Rule::All(_) | Rule::Any(_) | Rule::Not(_)) {
        problems.at(loc, "a stream condition may only test params", "use `param_is`, `present`, `absent`, `all`, `any` or `not`; authorization belongs under `authorize`");
        return;
    }
    match r {
        Rule::Authenticated(true) => {}
        Rule::Authenticated(false) => problems.at(&loc.child("authenticated"), "`authenticated: false` would admit anonymous connections, which Cableway never does", "write `authenticated: true`, or a stricter rule"),
        Rule::Principal(kind) => {
            let values = match cx.claim("kind").map(|(t, _)| TypeBuilder::deref(types, t)) {
                Some(Ty::Enum { values, .. }) => values.clone(),
                _ => Vec::new(),
            };
            if !values.contains(kind) {
                problems.at(&loc.child("principal"), format!("principal `{kind}` is not a value of claim `kind`"), suggest(kind, values.iter().map(String::as_str), format!("use one of the values of `claims.kind`: {}; for finer grants use `permission:`", values.join(", "))));
            }
        }
        Rule::Permission(p) => {
            if p.is_empty() || p.contains(char::is_whitespace) {
                problems.at(&loc.child("permission"), "a permission name cannot be empty or contain spaces", "write a name such as `admin.access`");
            }
        }
        Rule::Same(a, b) => {
            let ta = reference(cx, &loc.child("same").child("0"), a, problems);
            let tb = reference(cx, &loc.child("same").child("1"), b, problems);
            if a == b {
                problems.at(&loc.child("same"), "`same` compares a reference with itself", "compare a param with a claim, e.g. `[params.account_id, claims.account_id]`");
            }
            comparable(cx, &loc.child("same").child("0"), &a.to_string(), ta.map(|t| t.0), problems);
            comparable(cx, &loc.child("same").child("1"), &b.to_string(), tb.map(|t| t.0), problems);
        }
        Rule::ParamIs(map) => {
            if map.is_empty() {
                problems.at(&loc.child("param_is"), "`param_is` is empty", "name at least one param and its value");
            }
            for (name, value) in map {
                match cx.param(name) {
                    None => problems.at_key(&loc.child("param_is").child(name), format!("the rule names param `{name}`, which is not declared"), suggest(name, cx.param_names(), format!("declare `{name}` under `params.properties`, or fix the name"))),
                    Some((t, _)) => {
                        comparable(cx, &loc.child("param_is").child(name), &format!("params.{name}"), Some(t), problems);
                        if let Ty::Enum { values, .. } = TypeBuilder::deref(types, t) {
                            if !values.contains(value) {
                                problems.at(&loc.child("param_is").child(name), format!("`{value}` is not a value of param `{name}` ({})", values.join(", ")), suggest(value, values.iter().map(String::as_str), "use one of the enum's values"));
                            }
                        }
                    }
                }
            }
        }
        Rule::Present(p) | Rule::Absent(p) => {
            let key = if matches!(r, Rule::Present(_)) { "present" } else { "absent" };
            if let Some((_, required)) = reference(cx, &loc.child(key), p, problems) {
                if required {
                    problems.at(&loc.child(key), format!("`{p}` is required, so `{key}` is always {}", key == "present"), "test an optional param, or drop the condition");
                }
            }
        }
        Rule::Owns { resource, id } => {
            let oloc = loc.child("owns");
            match resource {
                ResourceKind::Param(param) => match cx.param(param) {
                    Some((t, _)) if matches!(TypeBuilder::deref(types, t), Ty::Enum { .. }) => {}
                    Some(_) => problems.at(&oloc.child("resource"), format!("`params.{param}` must be an enum param to name a resource kind"), "use an enum param (e.g. `type`) or a literal kind"),
                    None => problems.at(&oloc.child("resource"), format!("the rule names `params.{param}`, which is not a declared param"), suggest(param, cx.param_names(), "declare it, or use a literal kind")),
                },
                ResourceKind::Literal(kind) if !is_key_safe_literal(kind) => {
                    problems.at(&oloc.child("resource"), format!("resource kind `{kind}` must be a snake_case word"), "write a kind such as `workflow_run`");
                }
                ResourceKind::Literal(_) => {}
            }
            let t = reference(cx, &oloc.child("id"), id, problems);
            comparable(cx, &oloc.child("id"), &id.to_string(), t.map(|t| t.0), problems);
        }
        Rule::All(rules) | Rule::Any(rules) => {
            let key = if matches!(r, Rule::All(_)) { "all" } else { "any" };
            if rules.is_empty() {
                problems.at(&loc.child(key), format!("`{key}` is empty"), "list at least one rule");
            }
            for (i, sub) in rules.iter().enumerate() {
                rule(cx, &loc.child(key).child(&i.to_string()), sub, condition, problems);
            }
        }
        Rule::Not(sub) => rule(cx, &loc.child("not"), sub, condition, problems),
    }
}
