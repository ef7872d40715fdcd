//! Name-level changes (§6.2): channels, events, actions, params, reserved names,
//! `publish_to` levels, error codes and the authorization rule; stream keys are in
//! [`super::streams`] (a `publish_to` change that follows a renamed stream is its finding).
//!
//! A removed event, action or param must be listed under the channel's `reserved` names
//! (else a `*_NO_DELETE_UNLESS_RESERVED` finding), a reserved name may not be dropped from
//! that list, and a name reserved in the baseline may not be used again.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::lock::{ChannelSnapshot, Snapshot};
use super::rules::Kind;
use super::Finding;
use super::rule_logic::implies;
use crate::format::UndeclaredParams;
use crate::ir::rule::Ref;
use crate::diag::escape_token;

/// Channels added or removed.
pub fn channels(old: &Snapshot, new: &Snapshot, out: &mut Vec<Finding>) {
    for ch in &old.channels {
        if !new.channels.iter().any(|c| c.name == ch.name) {
            out.push(Finding::name(Kind::ChannelNoDelete, &ch.file, "/channel", format!("channel `{}` was removed", ch.name)));
        }
    }
    for ch in &new.channels {
        if !old.channels.iter().any(|c| c.name == ch.name) {
            out.push(Finding::name(Kind::ChannelAdded, &ch.file, "/channel", format!("channel `{}` was added", ch.name)));
        }
    }
}

/// The top-level property names of a params schema.
pub fn param_names(params: &Value) -> BTreeSet<String> {
    params.get("properties").and_then(Value::as_object).map(|p| p.keys().cloned().collect()).unwrap_or_default()
}

/// Name-level changes inside one channel present on both sides.
pub fn channel(o: &ChannelSnapshot, n: &ChannelSnapshot, out: &mut Vec<Finding>) {
    let file = n.file.as_str();
    if o.stability == crate::format::Stability::Stable && n.stability == crate::format::Stability::Experimental {
        out.push(Finding::name(Kind::StabilityLowered, file, "/stability", "a stable channel became experimental"));
    }

    // Events (a `publish_to` change that follows a stream rename is part of that finding).
    let renames = super::streams::renames(o, n);
    for (name, ev) in &o.events {
        let ptr = format!("/events/{}", escape_token(name));
        match n.events.get(name) {
            None => {
                out.push(Finding::name(Kind::EventNoDelete, file, &ptr, format!("event `{name}` was removed")));
                if !n.reserved.events.contains(name) {
                    out.push(Finding::name(Kind::EventNoDeleteUnlessReserved, file, "/reserved/events", format!("removed event `{name}` is not listed under `reserved.events`")));
                }
            }
            Some(nev) => {
                if !ev.deprecated && nev.deprecated {
                    out.push(Finding::name(Kind::EventDeprecated, file, format!("{ptr}/deprecated"), format!("event `{name}` was deprecated")));
                }
                let renamed = |t: &str, removed: bool| super::streams::part_of_rename(&renames, t, removed, &ev.publish_to, &nev.publish_to);
                for t in &nev.publish_to {
                    if !ev.publish_to.contains(t) && !renamed(t, false) {
                        out.push(Finding::name(Kind::PublishToAdded, file, format!("{ptr}/publish_to"), format!("event `{name}` is also published to `{t}`")));
                    }
                }
                for t in &ev.publish_to {
                    if !nev.publish_to.contains(t) && !renamed(t, true) {
                        out.push(Finding::name(Kind::PublishToNoDelete, file, format!("{ptr}/publish_to"), format!("event `{name}` is no longer published to `{t}`")));
                    }
                }
            }
        }
    }
    for name in n.events.keys().filter(|e| !o.events.contains_key(*e)) {
        out.push(Finding::name(Kind::EventAdded, file, format!("/events/{}", escape_token(name)), format!("event `{name}` was added")));
    }

    // Actions.
    for (name, ac) in &o.actions {
        let ptr = format!("/actions/{}", escape_token(name));
        match n.actions.get(name) {
            None => {
                out.push(Finding::name(Kind::ActionNoDelete, file, &ptr, format!("action `{name}` was removed")));
                if !n.reserved.actions.contains(name) {
                    out.push(Finding::name(Kind::ActionNoDeleteUnlessReserved, file, "/reserved/actions", format!("removed action `{name}` is not listed under `reserved.actions`")));
                }
            }
            Some(nac) => {
                match (&ac.reply, &nac.reply) {
                    (None, Some(_)) => out.push(Finding::name(Kind::ActionReplyAdded, file, format!("{ptr}/reply"), format!("action `{name}` now replies"))),
                    (Some(_), None) => out.push(Finding::name(Kind::ActionReplyRemoved, file, format!("{ptr}/reply"), format!("action `{name}` no longer replies"))),
                    _ => {}
                }
                for code in nac.errors.iter().filter(|c| !ac.errors.contains(c)) {
                    out.push(Finding::name(Kind::ActionErrorAdded, file, format!("{ptr}/errors"), format!("action `{name}` may answer the new error code `{code}`")));
                }
                for code in ac.errors.iter().filter(|c| !nac.errors.contains(c)) {
                    out.push(Finding::name(Kind::ActionErrorRemoved, file, format!("{ptr}/errors"), format!("action `{name}` no longer answers error code `{code}`")));
                }
            }
        }
    }
    for name in n.actions.keys().filter(|a| !o.actions.contains_key(*a)) {
        out.push(Finding::name(Kind::ActionAdded, file, format!("/actions/{}", escape_token(name)), format!("action `{name}` was added")));
    }

    // Params (the schema diff reports how; this is about the name).
    match (o.undeclared_params, n.undeclared_params) {
        (UndeclaredParams::Refuse, UndeclaredParams::Ignore) => out.push(Finding::name(Kind::UndeclaredParamsIgnored, file, "/undeclared_params", "identifier keys the params do not declare are now ignored instead of refused")),
        (UndeclaredParams::Ignore, UndeclaredParams::Refuse) => out.push(Finding::name(Kind::UndeclaredParamsRefused, file, "/undeclared_params", "identifier keys the params do not declare are now refused instead of ignored")),
        _ => {}
    }
    let (op, np) = (param_names(&o.params), param_names(&n.params));
    for name in op.difference(&np) {
        if !n.reserved.params.contains(name) {
            out.push(Finding::name(Kind::ParamNoDeleteUnlessReserved, file, "/reserved/params", format!("removed param `{name}` is not listed under `reserved.params`")));
        }
    }

    // Reserved names: never dropped, never reused.
    let lists = [("params", &o.reserved.params, &n.reserved.params, &np), ("events", &o.reserved.events, &n.reserved.events, &n.events.keys().cloned().collect()), ("actions", &o.reserved.actions, &n.reserved.actions, &n.actions.keys().cloned().collect())];
    for (what, old_list, new_list, used) in lists {
        for name in old_list.iter() {
            if !new_list.contains(name) {
                out.push(Finding::name(Kind::ReservedNoDelete, file, format!("/reserved/{what}"), format!("`{name}` was dropped from `reserved.{what}`")));
            }
            if used.contains(name) {
                let ptr = match what {
                    "params" => format!("/params/properties/{}", escape_token(name)),
                    _ => format!("/{what}/{}", escape_token(name)),
                };
                out.push(Finding::name(Kind::ReservedNoReuse, file, ptr, format!("`{name}` is reserved in the baseline (`reserved.{what}`) and used again")));
            }
        }
    }

    // Stream keys.
    super::streams::findings(o, n, &renames, out);

    // Authorization.
    if o.authorize != n.authorize {
        let (looser, stricter) = (implies(&o.authorize, &n.authorize), implies(&n.authorize, &o.authorize));
        let (kind, message) = match (looser, stricter) {
            (true, _) => (Kind::AuthLooser, "the authorization rule became looser"),
            (false, true) => (Kind::AuthNotStricter, "the authorization rule became stricter"),
            (false, false) => (Kind::AuthChanged, "the authorization rule changed"),
        };
        out.push(Finding::name(kind, file, "/authorize", message));
    }
}

/// Params that shape a stream key, in either version, with the keys they shape (`` `a:{params.x}` ``).
pub fn key_params(o: &ChannelSnapshot, n: &ChannelSnapshot) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for s in o.streams.iter().chain(&n.streams) {
        if let Ok(t) = crate::ir::template::parse(&s.key).map(|t| t.typed(Ref::from_segments)) {
            for var in t.iter().flat_map(|t| t.vars()) {
                if let Ref::Param(name) = var {
                    out.entry(name.clone()).or_default().insert(&s.key);
                }
            }
        }
    }
    out.into_iter().map(|(p, keys)| (p, keys.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", "))).collect()
}
