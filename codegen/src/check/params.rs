//! Params: the schema is a closed object (other keys are `undeclared_params`' business), and
//! `x-accept-integer` sits only where the server reads it, on a top-level param.
//!
//! The server rewrites a JSON integer into its decimal text only in the params a client
//! subscribes with, before validation. Anywhere else (payloads, requests, replies, claims,
//! inside a param) the keyword would promise what nothing does, so it is an error there.

use std::collections::{BTreeMap, BTreeSet};

use crate::diag::{Loc, Problems};
use crate::ir::types::{Additional, Ty, TypeBuilder, TypeDef, ACCEPT_INTEGER};
use crate::ir::Ir;
use crate::load::PROJECT_FILE;

use super::{failed, object, Cx};

pub(super) fn check(cx: &Cx<'_>, problems: &mut Problems) {
    let loc = cx.loc().child("params");
    let types = &cx.ir.types;
    if failed(types, problems, &loc, &cx.ch.params) {
        return;
    }
    match object(types, &cx.ch.params) {
        Some(obj) => {
            if obj.additional != Additional::Closed {
                problems.at(&loc, "the params schema must be closed (`additionalProperties: false`)", "declare every param under `properties`; what happens to other keys is the channel's `undeclared_params: ignore` (the default) or `refuse`");
            }
            // A top-level param may accept integers; what is inside one may not.
            for f in &obj.fields {
                let inner = match TypeBuilder::deref(types, &f.ty) {
                    Ty::Nullable(t) => TypeBuilder::deref(types, t),
                    t => t,
                };
                if !matches!(inner, Ty::String { .. }) {
                    misplaced(types, &loc, &format!("params.{}", f.name), &f.ty, problems);
                }
            }
        }
        None => problems.at(&loc, "the params schema must be an object", "write `type: object` with `properties` and `additionalProperties: false`"),
    }
    for ev in &cx.ch.events {
        misplaced(types, &cx.loc().child("events").child(&ev.name).child("payload"), "payload", &ev.payload, problems);
    }
    for ac in &cx.ch.actions {
        let aloc = cx.loc().child("actions").child(&ac.name);
        misplaced(types, &aloc.child("request"), "request", &ac.request, problems);
        if let Some(reply) = &ac.reply {
            misplaced(types, &aloc.child("reply"), "reply", reply, problems);
        }
    }
}

/// The claims are read from a token, not from what a client subscribes with.
pub(super) fn claims(ir: &Ir, problems: &mut Problems) {
    misplaced(&ir.types, &Loc::new(PROJECT_FILE, "/claims"), "claims", &ir.claims, problems);
}

/// Reports `x-accept-integer` anywhere inside `ty`, which is read at `root` (written at
/// `loc`), at the keyword itself: that is where the fix goes.
fn misplaced(types: &BTreeMap<String, TypeDef>, loc: &Loc, root: &str, ty: &Ty, problems: &mut Problems) {
    if let Some((path, at)) = accepts_integer(types, ty, root, loc, &mut BTreeSet::new()) {
        problems.at_key(
            &at.child(ACCEPT_INTEGER),
            format!("`{path}` accepts integers (`{ACCEPT_INTEGER}`), but only a top-level subscription param is read that way"),
            format!("the server reads a JSON integer as text only in the params a client subscribes with: remove `{ACCEPT_INTEGER}` here, or give `{path}` a type without it (e.g. `Id` rather than `IdParam`)"),
        );
    }
}

/// The dotted path of the first string inside `ty` that accepts integers, and where that
/// string's schema is written (`loc` is where `ty` is).
fn accepts_integer(types: &BTreeMap<String, TypeDef>, ty: &Ty, at: &str, loc: &Loc, seen: &mut BTreeSet<String>) -> Option<(String, Loc)> {
    match ty {
        Ty::String { accept_integer: true, .. } => Some((at.to_owned(), loc.clone())),
        Ty::Named(n) if seen.insert(n.clone()) => types.get(n).and_then(|def| accepts_integer(types, &def.ty, at, &def.loc, seen)),
        Ty::Array(t) => accepts_integer(types, t, &format!("{at}[]"), &loc.child("items"), seen),
        Ty::Map(t) => accepts_integer(types, t, &format!("{at}.*"), &loc.child("additionalProperties"), seen),
        Ty::Nullable(t) => accepts_integer(types, t, at, loc, seen),
        Ty::Object(obj) => {
            let fields = obj.fields.iter().find_map(|f| accepts_integer(types, &f.ty, &format!("{at}.{}", f.name), &loc.child("properties").child(&f.name), seen));
            fields.or_else(|| match &obj.additional {
                Additional::Typed(t) => accepts_integer(types, t, &format!("{at}.*"), &loc.child("additionalProperties"), seen),
                _ => None,
            })
        }
        _ => None,
    }
}
