//! Check: the semantic rules a schema set must satisfy beyond its shape.
//!
//! Each submodule checks one concern and pushes located problems; [`run`] calls them all so
//! an author sees every problem of a schema set in one run.

mod coherence;
mod examples;
mod hooks;
mod names;
mod params;
mod rules;
mod templates;

use std::collections::BTreeMap;

use crate::diag::{Loc, Problems};
use crate::format::ChannelFile;
use crate::ir::types::{ObjectTy, Ty, TypeBuilder, TypeDef};
use crate::ir::{ChannelIr, Ir};
use crate::load::{Loaded, PROJECT_FILE};

/// Runs every check.
pub fn run(ir: &Ir, loaded: &Loaded, problems: &mut Problems) {
    claims_shape(ir, problems);
    params::claims(ir, problems);
    names::check(ir, loaded, problems);
    hooks::check(ir, problems);
    examples::check(loaded, problems);
    for ch in &ir.channels {
        let cx = Cx { ir, ch, loaded };
        params::check(&cx, problems);
        templates::check(&cx, problems);
        coherence::check(&cx, problems);
        rules::check(&cx, problems);
    }
}

/// What a per-channel check needs.
pub(crate) struct Cx<'a> {
    pub ir: &'a Ir,
    pub ch: &'a ChannelIr,
    pub loaded: &'a Loaded,
}

impl Cx<'_> {
    pub(crate) fn loc(&self) -> Loc {
        Loc::new(self.ch.file.clone(), "")
    }

    pub(crate) fn params(&self) -> Option<&ObjectTy> {
        object(&self.ir.types, &self.ch.params)
    }

    pub(crate) fn claims(&self) -> Option<&ObjectTy> {
        object(&self.ir.types, &self.ir.claims)
    }

    /// The param's type and whether it is required.
    pub(crate) fn param(&self, name: &str) -> Option<(&Ty, bool)> {
        self.params()?.fields.iter().find(|f| f.name == name).map(|f| (&f.ty, f.required))
    }

    pub(crate) fn claim(&self, name: &str) -> Option<(&Ty, bool)> {
        self.claims()?.fields.iter().find(|f| f.name == name).map(|f| (&f.ty, f.required))
    }

    /// The declared params' names, for "did you mean".
    pub(crate) fn param_names(&self) -> Vec<&str> {
        self.params().map(|o| o.fields.iter().map(|f| f.name.as_str()).collect()).unwrap_or_default()
    }

    /// The declared claims' names.
    pub(crate) fn claim_names(&self) -> Vec<&str> {
        self.claims().map(|o| o.fields.iter().map(|f| f.name.as_str()).collect()).unwrap_or_default()
    }

    /// The channel's event names.
    pub(crate) fn event_names(&self) -> Vec<&str> {
        self.ch.events.iter().map(|e| e.name.as_str()).collect()
    }

    /// The channel file as written (templates that did not parse are missing from the IR).
    pub(crate) fn spec(&self) -> Option<&ChannelFile> {
        self.loaded.channels.iter().find(|(rel, _)| *rel == self.ch.file).map(|(_, f)| f)
    }
}

/// The object behind a type, following names.
pub(crate) fn object<'t>(types: &'t BTreeMap<String, TypeDef>, ty: &'t Ty) -> Option<&'t ObjectTy> {
    match TypeBuilder::deref(types, ty) {
        Ty::Object(o) => Some(o),
        _ => None,
    }
}

/// True when `ty` stands for nothing only because its schema, at `loc` or in a model it
/// refers to, failed to convert: that was reported, and checks on top of it would only add
/// misleading follow-on errors.
pub(crate) fn failed(types: &BTreeMap<String, TypeDef>, problems: &Problems, loc: &Loc, ty: &Ty) -> bool {
    if !matches!(TypeBuilder::deref(types, ty), Ty::Any) {
        return false;
    }
    if problems.reported_under(loc) {
        return true;
    }
    let mut t = ty;
    while let Ty::Named(n) = t {
        match types.get(n) {
            Some(def) if problems.reported_under(&def.loc) => return true,
            Some(def) => t = &def.ty,
            None => return true,
        }
    }
    false
}

fn claims_shape(ir: &Ir, problems: &mut Problems) {
    let loc = Loc::new(PROJECT_FILE, "/claims");
    let Some(obj) = object(&ir.types, &ir.claims) else {
        problems.at(&loc, "the claims schema must be an object with properties", "declare `type: object` with `properties`");
        return;
    };
    for must in ["sub", "account_id", "permissions", "kind", "exp"] {
        match obj.fields.iter().find(|f| f.name == must) {
            Some(f) if f.required => {}
            Some(_) => problems.at(&loc.child("required"), format!("claim `{must}` must be required"), format!("add `{must}` to `required`")),
            None => problems.at(&loc.child("properties"), format!("the claims schema lacks `{must}`"), format!("declare `{must}`; the server relies on it for accounts, permissions and expiry")),
        }
    }
    if let Some(f) = obj.fields.iter().find(|f| f.name == "kind") {
        match TypeBuilder::deref(&ir.types, &f.ty) {
            Ty::Enum { values, .. } if values.iter().any(|v| v == "user") && values.iter().any(|v| v == "worker") => {}
            _ => problems.at(&loc.child("properties").child("kind").child("enum"), "claim `kind` must be an enum including `user` and `worker`", "write `enum: [user, worker]`"),
        }
    }
}
