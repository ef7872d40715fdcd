//! Stream keys (§6.2): which streams a subscription of a *deployed* client listens to
//! after the change, and what that client observes.
//!
//! A deployed client subscribes with params the baseline accepted, so a `when` is judged
//! under what the baseline guarantees: a param it requires is present, a param whose baseline schema admits one value has that value. A param the baseline
//! does not declare is absent only where the baseline refused undeclared keys: where it
//! ignored them, a deployed client may have sent one all along, and the new schema reads it. A condition change
//! that holds alike under those facts changes no deployed subscription, and a stream whose
//! condition no baseline subscription meets is only for new clients.
//!
//! Stream names are the server's: clients never send them, so a subscription of a deployed
//! client keeps working when a template is renamed. But history is kept per stream name,
//! and a resume names the streams it has positions for: see [`Kind::StreamRenamed`].

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::lock::{ChannelSnapshot, StreamSnapshot};
use super::rule_logic::implies;
use super::rules::Kind;
use super::Finding;
use crate::format::{Rule, UndeclaredParams};

/// What the baseline's params schema guarantees about every subscription it accepted.
#[derive(Debug, Default)]
pub struct Facts {
    required: BTreeSet<String>,
    declared: BTreeSet<String>,
    /// Undeclared keys were refused: a param the baseline does not declare is absent.
    closed: bool,
    single: BTreeMap<String, String>,
}

impl Facts {
    /// The facts of a baseline channel's (dereferenced) params schema.
    pub fn of(channel: &ChannelSnapshot) -> Facts {
        let params = &channel.params;
        let names = |k: &str| -> BTreeSet<String> { params.get(k).and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).map(str::to_owned).collect() };
        let props = params.get("properties").and_then(Value::as_object);
        let declared = props.map(|p| p.keys().cloned().collect()).unwrap_or_default();
        let single = props
            .into_iter()
            .flatten()
            .filter_map(|(k, s)| {
                let one = s.get("const").or_else(|| s.get("enum").and_then(Value::as_array).filter(|v| v.len() == 1).and_then(|v| v.first()));
                one.and_then(Value::as_str).map(|v| (k.clone(), v.to_owned()))
            })
            .collect();
        Facts { required: names("required"), declared, closed: channel.undeclared_params == UndeclaredParams::Refuse, single }
    }

    fn present(&self, reference: &str) -> Option<bool> {
        let p = reference.strip_prefix("params.")?;
        if self.required.contains(p) {
            Some(true)
        } else if self.closed && !self.declared.contains(p) {
            Some(false)
        } else {
            None
        }
    }
}

/// A condition under [`Facts`]: decided, or what is left of it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// Holds (or never holds) for every baseline subscription.
    Known(bool),
    /// Depends on the values sent.
    Depends(Rule),
}

/// Reduces a stream condition (absent: always) under `facts`.
pub fn reduce(rule: Option<&Rule>, facts: &Facts) -> Cond {
    let Some(rule) = rule else { return Cond::Known(true) };
    let keep = || Cond::Depends(rule.clone());
    match rule {
        Rule::Present(r) => facts.present(r).map_or_else(keep, Cond::Known),
        Rule::Absent(r) => facts.present(r).map_or_else(keep, |b| Cond::Known(!b)),
        Rule::ParamIs(map) => {
            let mut all_known = true;
            for (k, v) in map {
                if facts.closed && !facts.declared.contains(k) {
                    return Cond::Known(false);
                }
                match facts.single.get(k) {
                    Some(only) if only != v => return Cond::Known(false),
                    Some(_) if facts.required.contains(k) => {}
                    _ => all_known = false,
                }
            }
            if all_known {
                Cond::Known(true)
            } else {
                keep()
            }
        }
        Rule::All(rs) | Rule::Any(rs) => {
            let all = matches!(rule, Rule::All(_));
            let mut rest = Vec::new();
            for r in rs {
                match reduce(Some(r), facts) {
                    // A false member decides `all`, a true one `any`.
                    Cond::Known(b) if b != all => return Cond::Known(b),
                    Cond::Known(_) => {}
                    Cond::Depends(r) => rest.push(r),
                }
            }
            match rest.len() {
                0 => Cond::Known(all),
                1 => Cond::Depends(rest.remove(0)),
                _ => Cond::Depends(if all { Rule::All(rest) } else { Rule::Any(rest) }),
            }
        }
        Rule::Not(r) => match reduce(Some(r), facts) {
            Cond::Known(b) => Cond::Known(!b),
            Cond::Depends(r) => Cond::Depends(Rule::Not(Box::new(r))),
        },
        _ => keep(),
    }
}

/// True when two reduced conditions hold for the same baseline subscriptions.
fn same(a: &Cond, b: &Cond) -> bool {
    match (a, b) {
        (Cond::Known(x), Cond::Known(y)) => x == y,
        (Cond::Depends(x), Cond::Depends(y)) => implies(x, y) && implies(y, x),
        _ => false,
    }
}

/// A template's literal text with every placeholder as `{}`, and its placeholders without
/// their root (`params.` or `payload.`), so a stream key and its fan-out template line up.
fn skeleton(template: &str) -> Option<(String, Vec<String>)> {
    let t = crate::ir::template::parse(template).ok()?;
    let mut text = String::new();
    let mut vars = Vec::new();
    for part in &t.parts {
        match part {
            crate::ir::template::Part::Lit(s) => text.push_str(s),
            crate::ir::template::Part::Var(path) => {
                text.push_str("{}");
                vars.push(path.get(1..).map(|rest| rest.join(".")).unwrap_or_default());
            }
        }
    }
    Some((text, vars))
}

/// One stream template renamed: the old and new keys, and their literal skeletons.
#[derive(Debug, Clone)]
pub struct Rename {
    /// The baseline key.
    pub old: String,
    /// The new key.
    pub new: String,
    old_skeleton: (String, Vec<String>),
    new_skeleton: (String, Vec<String>),
}

impl Rename {
    /// True when `old_target` → `new_target` in one event's `publish_to` is this rename.
    fn covers(&self, old_target: &str, new_target: &str) -> bool {
        match (skeleton(old_target), skeleton(new_target)) {
            (Some((ot, ov)), Some((nt, nv))) => ot == self.old_skeleton.0 && nt == self.new_skeleton.0 && ov == nv,
            _ => false,
        }
    }

    /// True when the `publish_to` target `t` (old side) goes with this rename.
    fn covers_old(&self, t: &str) -> bool {
        skeleton(t).is_some_and(|(text, _)| text == self.old_skeleton.0)
    }

    /// True when the `publish_to` target `t` (new side) goes with this rename.
    fn covers_new(&self, t: &str) -> bool {
        skeleton(t).is_some_and(|(text, _)| text == self.new_skeleton.0)
    }
}

/// Streams of the baseline gone and new ones added with the same placeholders and a
/// condition that holds alike for baseline subscriptions: each pair is one rename.
pub fn renames(o: &ChannelSnapshot, n: &ChannelSnapshot) -> Vec<Rename> {
    let facts = Facts::of(o);
    let removed: Vec<&StreamSnapshot> = o.streams.iter().filter(|s| !n.streams.iter().any(|ns| ns.key == s.key)).collect();
    let mut added: Vec<&StreamSnapshot> = n.streams.iter().filter(|s| !o.streams.iter().any(|os| os.key == s.key)).collect();
    let mut out = Vec::new();
    for r in removed {
        let Some(rs) = skeleton(&r.key) else { continue };
        let rc = reduce(r.when.as_ref(), &facts);
        let found = added.iter().position(|a| skeleton(&a.key).is_some_and(|s| s.1 == rs.1) && same(&rc, &reduce(a.when.as_ref(), &facts)));
        if let Some(i) = found {
            let a = added.remove(i);
            let new_skeleton = skeleton(&a.key).expect("parsed above");
            out.push(Rename { old: r.key.clone(), new: a.key.clone(), old_skeleton: rs, new_skeleton });
        }
    }
    out
}

/// True when an event's `publish_to` (`old` → `new`) moved one target along `rename`.
pub fn follows(rename: &Rename, old: &[String], new: &[String]) -> bool {
    old.iter().any(|t| !new.contains(t) && new.iter().any(|nt| !old.contains(nt) && rename.covers(t, nt)))
}

/// True when a `publish_to` target removed from (`removed: true`) or added to an event is
/// part of a rename that event follows.
pub fn part_of_rename(renames: &[Rename], t: &str, removed: bool, old: &[String], new: &[String]) -> bool {
    renames.iter().any(|r| follows(r, old, new) && if removed { r.covers_old(t) } else { r.covers_new(t) })
}

/// The stream-key findings of a channel present on both sides.
pub fn findings(o: &ChannelSnapshot, n: &ChannelSnapshot, renames: &[Rename], out: &mut Vec<Finding>) {
    let file = n.file.as_str();
    let facts = Facts::of(o);
    let show = |c: &Cond| match c {
        Cond::Known(true) => "always".to_owned(),
        Cond::Known(false) => "never".to_owned(),
        Cond::Depends(r) => serde_json::to_string(r).unwrap_or_default(),
    };
    for rename in renames {
        let i = n.streams.iter().position(|s| s.key == rename.new).unwrap_or_default();
        let events: Vec<&str> = o.events.iter().filter_map(|(name, ev)| n.events.get(name).filter(|ne| follows(rename, &ev.publish_to, &ne.publish_to)).map(|_| name.as_str())).collect();
        let with = if events.is_empty() { String::new() } else { format!(" (with the `publish_to` of {})", events.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(", ")) };
        out.push(Finding::name(
            Kind::StreamRenamed,
            file,
            format!("/streams/{i}/key"),
            format!(
                "stream `{}` was renamed to `{}`{with}. Clients never name streams, so subscriptions keep working and new ones listen to the new name. \
                 But history is per stream name: a client resuming across the deploy holds positions of the old name, which the subscription no longer has; \
                 the server ignores them, so what was published to the old name while it was away is not replayed (no `reject_history`). \
                 During a rolling deploy, subscribers on one version miss what is published through the other",
                rename.old, rename.new
            ),
        ));
    }
    let renamed_old = |k: &str| renames.iter().any(|r| r.old == k);
    let renamed_new = |k: &str| renames.iter().any(|r| r.new == k);
    for (i, s) in n.streams.iter().enumerate() {
        let now = reduce(s.when.as_ref(), &facts);
        match o.streams.iter().find(|os| os.key == s.key) {
            None if renamed_new(&s.key) => {}
            None if now == Cond::Known(false) => out.push(Finding::name(
                Kind::StreamKeyAddedForNewParams,
                file,
                format!("/streams/{i}/key"),
                format!("subscriptions now also listen to `{}` when {}, which no subscription the baseline accepts meets: deployed clients listen to the same streams as before", s.key, show(&reduce(s.when.as_ref(), &Facts::default()))),
            )),
            None => out.push(Finding::name(Kind::StreamKeyAdded, file, format!("/streams/{i}/key"), format!("subscriptions now also listen to `{}`", s.key))),
            Some(os) if os.when != s.when => {
                let before = reduce(os.when.as_ref(), &facts);
                if same(&before, &now) {
                    out.push(Finding::name(
                        Kind::StreamWhenHoldsAsBefore,
                        file,
                        format!("/streams/{i}/when"),
                        format!("the condition of stream `{}` changed, but for every subscription the baseline accepts it holds as before ({}): deployed clients listen to the same streams", s.key, show(&now)),
                    ));
                } else {
                    out.push(Finding::name(Kind::StreamWhenChanged, file, format!("/streams/{i}/when"), format!("the condition of stream `{}` changed: for baseline subscriptions it was {} and is now {}", s.key, show(&before), show(&now))));
                }
            }
            Some(_) => {}
        }
    }
    for s in &o.streams {
        if !n.streams.iter().any(|ns| ns.key == s.key) && !renamed_old(&s.key) {
            out.push(Finding::name(Kind::StreamKeyRemoved, file, "/streams", format!("subscriptions no longer listen to `{}`", s.key)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(closed: bool) -> Facts {
        Facts { required: ["id".into()].into(), declared: ["id".into(), "kind".into(), "opt".into()].into(), closed, single: [("kind".into(), "run".into())].into() }
    }

    #[test]
    fn conditions_reduce_under_what_the_baseline_guarantees() {
        let f = facts(true);
        assert_eq!(reduce(Some(&Rule::Present("params.id".into())), &f), Cond::Known(true));
        assert_eq!(reduce(Some(&Rule::Absent("params.id".into())), &f), Cond::Known(false));
        assert_eq!(reduce(Some(&Rule::Absent("params.new".into())), &f), Cond::Known(true), "undeclared keys were refused");
        assert_eq!(reduce(Some(&Rule::Absent("params.new".into())), &facts(false)), Cond::Depends(Rule::Absent("params.new".into())), "an ignored key may have been sent");
        assert_eq!(reduce(Some(&Rule::Present("params.opt".into())), &f), Cond::Depends(Rule::Present("params.opt".into())));
        // `kind` admits one value but is optional: it may be absent.
        let kind_is = |v: &str| Rule::ParamIs([("kind".to_owned(), v.to_owned())].into());
        assert_eq!(reduce(Some(&kind_is("other")), &f), Cond::Known(false));
        assert_eq!(reduce(Some(&kind_is("run")), &f), Cond::Depends(kind_is("run")));
        let both = Rule::All(vec![Rule::Present("params.id".into()), Rule::Present("params.opt".into())]);
        assert_eq!(reduce(Some(&both), &f), Cond::Depends(Rule::Present("params.opt".into())));
        assert_eq!(reduce(Some(&Rule::Any(vec![Rule::Present("params.id".into()), Rule::Present("params.opt".into())])), &f), Cond::Known(true));
        assert_eq!(reduce(Some(&Rule::Not(Box::new(Rule::Present("params.id".into())))), &f), Cond::Known(false));
        assert_eq!(reduce(None, &f), Cond::Known(true));
    }
}
