//! `generated/docs/channels.md` covers every channel, event and action compiled into the
//! server, driven by `cableway::channels::REGISTRY` (not a list written here): each channel is a
//! `### <Channel>` heading under "Channels" and is linked from the table of contents, and
//! each of its events and actions has its own heading inside that channel's section.

use std::collections::BTreeMap;

use cableway::channels::REGISTRY;
use cableway_tests::repo_root;

/// The `### <Channel>` sections of the "Channels" part, by channel name.
fn channel_sections(md: &str) -> BTreeMap<String, String> {
    let part = md.split_once("\n## Channels\n").map(|(_, rest)| rest).expect("channels.md has a `## Channels` heading");
    let part = part.split("\n## ").next().unwrap_or(part);
    let mut sections = BTreeMap::new();
    for chunk in part.split("\n### ").skip(1) {
        let (heading, body) = chunk.split_once('\n').unwrap_or((chunk, ""));
        assert!(sections.insert(heading.trim().to_owned(), body.to_owned()).is_none(), "channel heading `{heading}` appears twice");
    }
    sections
}

#[test]
fn the_reference_covers_every_channel_event_and_action_of_the_registry() {
    let path = repo_root().join("generated/docs/channels.md");
    let md = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}; run `cargo run -p cableway -- generate`", path.display()));
    let sections = channel_sections(&md);
    assert!(!REGISTRY.is_empty());
    let mut missing = Vec::new();
    for ch in REGISTRY {
        let Some(section) = sections.get(ch.name) else {
            missing.push(format!("channel {}: no `### {}` heading", ch.name, ch.name));
            continue;
        };
        if !md.contains(&format!("[{}](#{})", ch.name, ch.name.to_lowercase())) {
            missing.push(format!("channel {}: not in the table of contents", ch.name));
        }
        for e in ch.events {
            if !section.contains(&format!("\n#### Event `{}`\n", e.name)) {
                missing.push(format!("channel {}: event `{}` has no heading in its section", ch.name, e.name));
            }
        }
        for a in ch.actions {
            if !section.contains(&format!("\n#### Action `{}`\n", a.name)) {
                missing.push(format!("channel {}: action `{}` has no heading in its section", ch.name, a.name));
            }
        }
    }
    for name in sections.keys() {
        if !REGISTRY.iter().any(|c| c.name == name) {
            missing.push(format!("`### {name}` is not a channel of the registry"));
        }
    }
    assert!(missing.is_empty(), "generated/docs/channels.md is incomplete (run `cargo run -p cableway -- generate`):\n{}", missing.join("\n"));
}
