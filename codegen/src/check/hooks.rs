//! Named React hooks (`client.hooks`): each name is a hook name no other hook of the
//! `./react` entry takes, and each fixed param is a declared param with a value it accepts.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::diag::{Loc, Problems};
use crate::ir::{ChannelIr, Ir};
use crate::runtime::{default_hook_name, REACT_EXPORTS};

fn hook_name(ch: &ChannelIr) -> String {
    default_hook_name(&ch.prefix)
}

fn is_hook_name(name: &str) -> bool {
    name.strip_prefix("use").is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase()) && rest.chars().all(|c| c.is_ascii_alphanumeric()))
}

pub(super) fn check(ir: &Ir, problems: &mut Problems) {
    // Every name the react entry exports, with where it comes from.
    let mut taken: BTreeMap<String, String> = REACT_EXPORTS.iter().map(|n| ((*n).to_owned(), "the React runtime".to_owned())).collect();
    for ch in &ir.channels {
        taken.insert(hook_name(ch), format!("the default hook of `{}`", ch.name));
    }
    let mut declared: BTreeMap<&str, String> = BTreeMap::new();
    for ch in &ir.channels {
        for (i, hook) in ch.hooks.iter().enumerate() {
            let loc = Loc::new(ch.file.clone(), "").child("client").child("hooks").child(&i.to_string());
            let here = format!("{} (client.hooks[{i}])", ch.file);
            if !is_hook_name(&hook.name) {
                problems.at(&loc.child("name"), format!("hook name `{}` is not `use` followed by an UpperCamelCase name", hook.name), "name it like `useRalphLoopChannel`: React only treats functions named use… as hooks");
            }
            if let Some(other) = declared.insert(&hook.name, here) {
                problems.at(&loc.child("name"), format!("hook `{}` is already declared in {other}", hook.name), "give each named hook its own name");
            }
            // A channel's own default hook may be declared again, unchanged: that only documents it.
            let own_default = hook.name == hook_name(ch) && hook.params.is_empty();
            if let Some(owner) = taken.get(&hook.name).filter(|_| !own_default) {
                let fix = if hook.name == hook_name(ch) { "declare the default hook without `params`, or give this hook another name" } else { "give the hook another name" };
                problems.at(&loc.child("name"), format!("hook name `{}` is taken by {owner}", hook.name), fix);
            }
            let properties = ch.params_schema.get("properties").and_then(Value::as_object);
            for (param, value) in &hook.params {
                let ploc = loc.child("params").child(param);
                let Some(schema) = properties.and_then(|p| p.get(param)) else {
                    let known = properties.map(|p| p.keys().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")).unwrap_or_default();
                    problems.at_key(&ploc, format!("hook `{}` fixes `{param}`, which is not a param of `{}`", hook.name, ch.name), if known.is_empty() { "this channel takes no params: remove `params`".to_owned() } else { format!("fix one of its params: {known}") });
                    continue;
                };
                if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
                    if !allowed.contains(value) {
                        let list = allowed.iter().map(Value::to_string).collect::<Vec<_>>().join(", ");
                        problems.at(&ploc, format!("hook `{}` fixes `{param}` to {value}, which the param does not accept", hook.name), format!("use one of {list}"));
                    }
                } else if !matches!(value, Value::String(_) | Value::Number(_) | Value::Bool(_)) {
                    problems.at(&ploc, format!("hook `{}` fixes `{param}` to {value}", hook.name), "fix a param to a string, number or boolean");
                }
            }
        }
    }
}
