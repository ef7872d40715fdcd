//! Authorization rules and stream conditions name only declared params and claims; action
//! behaviours point at real events.

use crate::diag::{Loc, Problems};
use crate::ir::rule::{Ref, ResourceKind, Rule};
use crate::ir::types::{is_key_safe_literal, Ty, TypeBuilder};
use crate::ir::Behaviour;

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
            Behaviour::Relay { event, .. } => match cx.ch.events.iter().find(|e| &e.name == event) {
                None => {
                    let names: Vec<&str> = cx.ch.events.iter().map(|e| e.name.as_str()).collect();
                    problems.at(&aloc.child("relay").child("event"), format!("relay targets `{event}`, which this channel does not declare"), format!("name one of this channel's events: {}", names.join(", ")));
                }
                Some(ev) => {
                    let types = &cx.ir.types;
                    let broken = failed(types, problems, &aloc.child("request"), &ac.request) || failed(types, problems, &loc.child("events").child(event).child("payload"), &ev.payload);
                    if !broken {
                        relay_compatible(cx, &aloc.child("relay").child("event"), &ac.request, &ev.payload, event, problems);
                    }
                }
            },
            Behaviour::Forward { path } => {
                if !path.starts_with('/') || path.contains(|c: char| c.is_whitespace() || matches!(c, '?' | '#')) {
                    problems.at(&aloc.child("forward").child("path"), format!("forward path `{path}` is not an absolute URL path"), "write a path that starts with `/` and has no spaces, query or fragment, e.g. `/cable/actions`");
                }
            }
        }
    }
}

/// The relayed request is published as the event's payload, so it must satisfy that schema.
fn relay_compatible(cx: &Cx<'_>, loc: &Loc, request: &Ty, payload: &Ty, event: &str, problems: &mut Problems) {
    if request == payload {
        return;
    }
    let types = &cx.ir.types;
    let (Some(req), Some(pay)) = (object(types, request), object(types, payload)) else {
        problems.at(loc, format!("the request cannot be relayed as `{event}`: both must be objects"), "use the same schema for the request and the event payload");
        return;
    };
    for f in &pay.fields {
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
            Ref::Param(name) => ("param", format!("declare `{name}` under `params.properties`, or fix the name")),
            Ref::Claim(name) => ("claim", format!("declare `{name}` in the claims of cableway.yaml, or fix the name")),
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
                problems.at(&loc.child("principal"), format!("principal `{kind}` is not a value of claim `kind`"), format!("use one of the values of `claims.kind`: {}; for finer grants use `permission:`", values.join(", ")));
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
                    None => problems.at(&loc.child("param_is").child(name), format!("the rule names param `{name}`, which is not declared"), format!("declare `{name}` under `params.properties`, or fix the name")),
                    Some((t, _)) => {
                        comparable(cx, &loc.child("param_is").child(name), &format!("params.{name}"), Some(t), problems);
                        if let Ty::Enum { values, .. } = TypeBuilder::deref(types, t) {
                            if !values.contains(value) {
                                problems.at(&loc.child("param_is").child(name), format!("`{value}` is not a value of param `{name}` ({})", values.join(", ")), "use one of the enum's values");
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
                    None => problems.at(&oloc.child("resource"), format!("the rule names `params.{param}`, which is not a declared param"), "declare it, or use a literal kind"),
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
