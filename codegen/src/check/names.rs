//! Names: wire names, event/action/param names, collisions after case folding, reserved names.

use std::collections::BTreeMap;

use crate::diag::{Loc, Problems};
use crate::ident;
use crate::ir::Ir;
use crate::load::Loaded;
use crate::runtime::{is_reserved_export, CLIENT_MEMBERS};

use super::object;

fn is_dotted(name: &str) -> bool {
    !name.is_empty() && name.split('.').all(|seg| {
        let mut c = seg.chars();
        matches!(c.next(), Some(f) if f.is_ascii_lowercase()) && c.all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
    })
}

fn is_snake(name: &str) -> bool {
    !name.contains('.') && is_dotted(name)
}

/// Names the generated TypeScript package must keep apart: its root exports models, channel
/// namespaces and the runtime side by side, and the client class has a property per channel.
fn typescript_names(ir: &Ir, problems: &mut Problems) {
    for def in ir.types.values() {
        if is_reserved_export(&def.name) {
            problems.at(&def.loc, format!("type name `{}` is taken by the TypeScript client's own exports", def.name), "rename the `$defs` entry (or the property it is hoisted from)");
        }
    }
    for ch in &ir.channels {
        let loc = Loc::new(ch.file.clone(), "").child("channel");
        let property = ident::channel_property(&ch.name);
        if CLIENT_MEMBERS.contains(&property.as_str()) {
            problems.at(&loc, format!("channel `{}` would be `client.{property}`, a member the TypeScript client already has", ch.name), "choose another channel name");
        }
        if is_reserved_export(&ch.prefix) {
            problems.at(&loc, format!("channel `{}` would export the namespace `{}`, a name the TypeScript client already exports", ch.name, ch.prefix), "choose another channel name");
        }
    }
}

pub(super) fn check(ir: &Ir, loaded: &Loaded, problems: &mut Problems) {
    typescript_names(ir, problems);
    let mut wire: BTreeMap<String, &str> = BTreeMap::new();
    let files: BTreeMap<&str, &str> = ir.channels.iter().map(|c| (c.file.as_str(), c.name.as_str())).collect();
    for ch in &ir.channels {
        let loc = Loc::new(ch.file.clone(), "");
        let ok = ch.name.ends_with("Channel") && ch.name.len() > "Channel".len() && ch.name.starts_with(|c: char| c.is_ascii_uppercase()) && ch.name.chars().all(|c| c.is_ascii_alphanumeric());
        if !ok {
            let suggestion = format!("{}Channel", ident::upper_camel(ch.name.strip_suffix("Channel").unwrap_or(&ch.name)));
            problems.at(&loc.child("channel"), format!("wire name `{}` is not an UpperCamelCase name ending in `Channel`", ch.name), format!("name it like `{suggestion}`; clients subscribe with this exact string"));
        }
        // The name this file's own name asks for (`channels/board_copy.yaml`: `BoardCopyChannel`).
        let stem = ch.file.strip_prefix("channels/").and_then(|f| f.strip_suffix(".yaml")).unwrap_or(&ch.file);
        let from_file = format!("{}Channel", ident::upper_camel(stem));
        let from_file_free = !ir.channels.iter().any(|c| c.name.eq_ignore_ascii_case(&from_file));
        let expected = format!("channels/{}.yaml", ch.module);
        if let Some(other) = wire.insert(ch.name.to_lowercase(), &ch.file) {
            // A copied file: the name is the defect, and renaming the file cannot fix it.
            let help = if from_file_free {
                format!("rename the channel to match its file: `channel: {from_file}` (the other one keeps `{}`)", files.get(other).copied().unwrap_or_default())
            } else {
                "give the channel a distinct name, and name its file after it".to_owned()
            };
            problems.at(&loc.child("channel"), format!("wire name `{}` is already declared in {other} (names are compared case-insensitively)", ch.name), help);
        } else if ch.file != expected {
            let help = match files.get(expected.as_str()) {
                Some(holder) if from_file_free => format!("{expected} holds `{holder}` already: rename this channel to match its file, `channel: {from_file}`"),
                Some(holder) => format!("{expected} holds `{holder}` already: give this channel a distinct name and name its file after it"),
                None => format!("rename the file to {expected}, so a channel's file can be found from its name"),
            };
            problems.at(&loc.child("channel"), format!("channel `{}` lives in {} but its file must be named {expected}", ch.name, ch.file), help);
        }
        let mut idents: BTreeMap<String, &str> = BTreeMap::new();
        for ev in written_order(loaded, &ch.events, |e| loc.child("events").child(&e.name)) {
            let eloc = loc.child("events").child(&ev.name);
            if !is_dotted(&ev.name) {
                problems.at_key(&eloc, format!("event name `{}` is not lower-case dotted", ev.name), "use lower-case segments separated by dots, e.g. `workflow.run.status.changed`");
            }
            if let Some(other) = idents.insert(ev.ident.to_lowercase(), &ev.name) {
                let line = loaded.key_position(&loc.child("events").child(other)).line;
                problems.at_key(&eloc, format!("event `{}` collides with event `{other}` (line {line}): both become `{}` in Rust and TypeScript", ev.name, ev.ident), "rename one of the two events");
            }
            if ch.reserved.events.contains(&ev.name) {
                problems.at_key(&eloc, format!("event name `{}` is reserved: it was removed before and deployed clients may still expect its old shape", ev.name), "choose a new name");
            }
        }
        let mut aidents: BTreeMap<String, &str> = BTreeMap::new();
        for ac in written_order(loaded, &ch.actions, |a| loc.child("actions").child(&a.name)) {
            let aloc = loc.child("actions").child(&ac.name);
            if !is_dotted(&ac.name) {
                problems.at_key(&aloc, format!("action name `{}` is not lower-case dotted", ac.name), "use lower-case words with `_` or `.`, e.g. `send_message`");
            }
            if let Some(other) = aidents.insert(ac.ident.to_lowercase(), &ac.name) {
                let line = loaded.key_position(&loc.child("actions").child(other)).line;
                problems.at_key(&aloc, format!("action `{}` collides with action `{other}` (line {line}): both become `{}`", ac.name, ac.ident), "rename one of the two actions");
            }
            if ch.reserved.actions.contains(&ac.name) {
                problems.at_key(&aloc, format!("action name `{}` is reserved: it was removed before and deployed clients may still send it with its old shape", ac.name), "choose a new name");
            }
            for (i, code) in ac.errors.iter().enumerate() {
                if !is_snake(code) {
                    problems.at(&aloc.child("errors").child(&i.to_string()), format!("error code `{code}` is not snake_case"), format!("use lower-case words joined by `_`, e.g. `{}`", ident::rust_field(code).trim_end_matches('_')));
                }
            }
        }
        if let Some(params) = object(&ir.types, &ch.params) {
            let mut seen: BTreeMap<String, &str> = BTreeMap::new();
            let props = loc.child("params").child("properties");
            for f in written_order(loaded, &params.fields, |f| props.child(&f.name)) {
                let ploc = props.child(&f.name);
                if !is_snake(&f.name) {
                    problems.at_key(&ploc, format!("param name `{}` is not snake_case", f.name), "use lower-case words joined by `_`");
                }
                if f.name == "channel" {
                    problems.at_key(&ploc, "param `channel` clashes with the identifier's channel key", "rename the param");
                }
                if let Some(other) = seen.insert(ident::rust_field(&f.name).to_lowercase(), &f.name) {
                    let line = loaded.key_position(&props.child(other)).line;
                    problems.at_key(&ploc, format!("param `{}` collides with `{other}` (line {line}): both become the field `{}`", f.name, ident::rust_field(&f.name)), "rename one of the two params");
                }
                if ch.reserved.params.contains(&f.name) {
                    problems.at_key(&ploc, format!("param name `{}` is reserved: it was removed before and deployed clients may still send it with its old meaning", f.name), "choose a new name");
                }
            }
        } else {
            problems.at(&loc.child("params"), "params must be an object type", "write `type: object` with `properties` and `additionalProperties: false`");
        }
    }
}

/// `items` in the order they are written, so a collision is reported at the newcomer (the
/// IR holds them sorted by name, which says nothing about which was there first).
fn written_order<'i, T>(loaded: &Loaded, items: &'i [T], loc: impl Fn(&T) -> Loc) -> Vec<&'i T> {
    let mut out: Vec<&T> = items.iter().collect();
    out.sort_by_cached_key(|item| loaded.key_position(&loc(item)));
    out
}
