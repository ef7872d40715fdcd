//! Authorization rules and stream conditions in English, for the reference and AsyncAPI.
//!
//! `params.x` reads "param `x`" and `claims.x` "claim `x`" (a claim of the connection's
//! JWT). Alternatives over one param (`param_is` on `type`) or over permissions are merged
//! ("param `type` is `account` or `monitoring`"); a nested `any` inside `all` (or the
//! reverse) is parenthesized, so every rendering reads one way only. The words describe the
//! rule; the rule itself stays the source of truth.

use crate::ir::rule::{Ref, ResourceKind, Rule};

/// An authorization rule as a lead sentence and, for a top-level `any` of several
/// alternatives or an `all` of three or more (or of compound) rules, one item each.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Sentence {
    /// "Allowed when ..." (ends with `.` or, when items follow, `:`).
    pub lead: String,
    /// The alternatives or requirements, without final punctuation.
    pub items: Vec<String>,
}

impl Sentence {
    /// The whole rule on one line: items joined with `; `.
    pub fn one_line(&self) -> String {
        if self.items.is_empty() {
            self.lead.clone()
        } else {
            format!("{} {}.", self.lead, self.items.join("; "))
        }
    }
}

/// How an authorization rule reads.
pub fn authorization(rule: &Rule) -> Sentence {
    match rule {
        Rule::Authenticated(true) => Sentence { lead: "Allowed for any authenticated principal (a valid token).".into(), items: Vec::new() },
        Rule::Authenticated(false) => Sentence { lead: "Never allowed (`authenticated: false`).".into(), items: Vec::new() },
        Rule::Any(rs) => {
            let alts = alternatives(rs);
            if alts.len() > 1 {
                Sentence { lead: "Allowed when any of these holds:".into(), items: alts.into_iter().map(|(s, _)| s).collect() }
            } else {
                simple(rule)
            }
        }
        Rule::All(rs) if rs.len() > 2 || (rs.len() > 1 && rs.iter().any(|r| phrase(r).1 != Prec::Atom)) => {
            Sentence { lead: "Allowed when all of these hold:".into(), items: rs.iter().map(|r| phrase(r).0).collect() }
        }
        _ => simple(rule),
    }
}

fn simple(rule: &Rule) -> Sentence {
    Sentence { lead: format!("Allowed when {}.", condition(rule)), items: Vec::new() }
}

/// A rule as one phrase, e.g. "param `scope` is `board` and param `board_id` is given".
pub fn condition(rule: &Rule) -> String {
    phrase(rule).0
}

/// How tightly a phrase binds: a bare fact, a conjunction, or a disjunction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prec {
    Atom,
    And,
    Or,
}

/// `params.x` → "param `x`", `claims.x` → "claim `x`".
pub fn reference(r: &Ref) -> String {
    match r {
        Ref::Param(name) => format!("param `{name}`"),
        Ref::Claim(name) => format!("claim `{name}`"),
    }
}

fn code_list(values: &[&str], conj: &str) -> String {
    let quoted: Vec<String> = values.iter().map(|v| format!("`{v}`")).collect();
    match quoted.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [a, b] => format!("{a} {conj} {b}"),
        [init @ .., last] => format!("{}, {conj} {last}", init.join(", ")),
    }
}

fn phrase(rule: &Rule) -> (String, Prec) {
    match rule {
        Rule::Authenticated(true) => ("the principal is authenticated".into(), Prec::Atom),
        Rule::Authenticated(false) => ("never".into(), Prec::Atom),
        Rule::Principal(kind) => (format!("the principal is a `{kind}`"), Prec::Atom),
        Rule::Permission(p) => (format!("the principal has permission `{p}`"), Prec::Atom),
        Rule::Same(a, b) => (format!("{} equals {}", reference(a), reference(b)), Prec::Atom),
        Rule::ParamIs(map) => {
            let parts: Vec<String> = map.iter().map(|(k, v)| format!("param `{k}` is `{v}`")).collect();
            let prec = if parts.len() > 1 { Prec::And } else { Prec::Atom };
            (parts.join(" and "), prec)
        }
        Rule::Present(r) => (format!("{} is given", reference(r)), Prec::Atom),
        Rule::Absent(r) => (format!("{} is not given", reference(r)), Prec::Atom),
        Rule::Owns { resource, id } => {
            let kind = match resource {
                ResourceKind::Param(p) => format!("given by {}, of the kind named by {},", reference(id), reference(&Ref::Param(p.clone()))),
                ResourceKind::Literal(k) => format!("`{k}` given by {}", reference(id)),
            };
            (format!("the resource {kind} belongs to the principal's account"), Prec::Atom)
        }
        Rule::All(rs) if rs.len() == 1 => phrase(&rs[0]),
        Rule::Any(rs) if rs.len() == 1 => phrase(&rs[0]),
        Rule::All(rs) if rs.is_empty() => ("always".into(), Prec::Atom),
        Rule::Any(rs) if rs.is_empty() => ("never".into(), Prec::Atom),
        Rule::All(rs) => {
            let parts: Vec<String> = rs.iter().map(|r| wrap(phrase(r), Prec::Or)).collect();
            let sep = if parts.iter().any(|p| p.contains(" or ")) { ", and " } else { " and " };
            (parts.join(sep), Prec::And)
        }
        Rule::Any(rs) => {
            let alts = alternatives(rs);
            if alts.len() == 1 {
                return alts.into_iter().next().unwrap_or_else(|| ("never".into(), Prec::Atom));
            }
            let parts: Vec<String> = alts.into_iter().map(|a| wrap(a, Prec::And)).collect();
            (parts.join(" or "), Prec::Or)
        }
        Rule::Not(inner) => (negation(inner), Prec::Atom),
    }
}

/// Parenthesizes a phrase whose precedence is `weak` inside a phrase of the other kind.
fn wrap((text, prec): (String, Prec), weak: Prec) -> String {
    if prec == weak {
        format!("({text})")
    } else {
        text
    }
}

/// The alternatives of an `any`, with single-param `param_is` on one param and permissions
/// merged into one alternative each, at the position of the first.
fn alternatives(rs: &[Rule]) -> Vec<(String, Prec)> {
    enum Slot<'r> {
        Param(&'r str, Vec<&'r str>),
        Permissions(Vec<&'r str>),
        Other(&'r Rule),
    }
    let mut slots: Vec<Slot<'_>> = Vec::new();
    for r in rs {
        match r {
            Rule::ParamIs(map) if map.len() == 1 => {
                let (k, v) = map.iter().next().map(|(k, v)| (k.as_str(), v.as_str())).unwrap_or_default();
                match slots.iter_mut().find_map(|s| match s {
                    Slot::Param(key, values) if *key == k => Some(values),
                    _ => None,
                }) {
                    Some(values) => values.push(v),
                    None => slots.push(Slot::Param(k, vec![v])),
                }
            }
            Rule::Permission(p) => match slots.iter_mut().find_map(|s| match s {
                Slot::Permissions(ps) => Some(ps),
                _ => None,
            }) {
                Some(ps) => ps.push(p),
                None => slots.push(Slot::Permissions(vec![p])),
            },
            other => slots.push(Slot::Other(other)),
        }
    }
    slots
        .into_iter()
        .map(|s| match s {
            Slot::Param(k, values) if values.len() > 2 => (format!("param `{k}` is one of {}", code_list(&values, "or")), Prec::Atom),
            Slot::Param(k, values) => (format!("param `{k}` is {}", code_list(&values, "or")), Prec::Atom),
            Slot::Permissions(ps) => (format!("the principal has permission {}", code_list(&ps, "or")), Prec::Atom),
            Slot::Other(r) => phrase(r),
        })
        .collect()
}

fn negation(inner: &Rule) -> String {
    match inner {
        Rule::Present(r) => format!("{} is not given", reference(r)),
        Rule::Absent(r) => format!("{} is given", reference(r)),
        Rule::Permission(p) => format!("the principal lacks permission `{p}`"),
        Rule::Principal(kind) => format!("the principal is not a `{kind}`"),
        Rule::Same(a, b) => format!("{} differs from {}", reference(a), reference(b)),
        Rule::ParamIs(map) if map.len() == 1 => map.iter().map(|(k, v)| format!("param `{k}` is not `{v}`")).collect(),
        Rule::Not(r) => condition(r),
        other => format!("not ({})", condition(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is(k: &str, v: &str) -> Rule {
        Rule::ParamIs([(k.to_owned(), v.to_owned())].into_iter().collect())
    }

    fn param(name: &str) -> Ref {
        Ref::Param(name.into())
    }

    fn owns(resource: ResourceKind, id: &str) -> Rule {
        Rule::Owns { resource, id: param(id) }
    }

    fn kind(k: &str) -> ResourceKind {
        ResourceKind::Literal(k.into())
    }

    #[test]
    fn atoms() {
        assert_eq!(condition(&owns(kind("workflow_run"), "id")), "the resource `workflow_run` given by param `id` belongs to the principal's account");
        assert_eq!(condition(&owns(ResourceKind::Param("type".into()), "id")), "the resource given by param `id`, of the kind named by param `type`, belongs to the principal's account");
        assert_eq!(condition(&Rule::Same(param("account_id"), Ref::Claim("account_id".into()))), "param `account_id` equals claim `account_id`");
        assert_eq!(condition(&Rule::Not(Box::new(Rule::Present(param("x"))))), "param `x` is not given");
        assert_eq!(condition(&Rule::Not(Box::new(Rule::All(vec![is("a", "b"), is("c", "d")])))), "not (param `a` is `b` and param `c` is `d`)");
    }

    #[test]
    fn merged_alternatives_and_grouping() {
        let r = Rule::Any(vec![owns(kind("workflow_run"), "id"), Rule::Permission("admin.access".into())]);
        assert_eq!(authorization(&r).one_line(), "Allowed when any of these holds: the resource `workflow_run` given by param `id` belongs to the principal's account; the principal has permission `admin.access`.");
        let r = Rule::All(vec![Rule::Any(vec![is("type", "account"), is("type", "monitoring")]), Rule::Same(param("id"), Ref::Claim("account_id".into()))]);
        assert_eq!(condition(&r), "param `type` is `account` or `monitoring`, and param `id` equals claim `account_id`");
        let r = Rule::All(vec![Rule::Present(param("a")), Rule::Any(vec![Rule::Absent(param("b")), Rule::Permission("x".into())])]);
        assert_eq!(condition(&r), "param `a` is given, and (param `b` is not given or the principal has permission `x`)");
        assert_eq!(authorization(&r).items, ["param `a` is given", "param `b` is not given or the principal has permission `x`"]);
        let r = Rule::Any(vec![is("t", "a"), is("t", "b"), is("t", "c")]);
        assert_eq!(authorization(&r).lead, "Allowed when param `t` is one of `a`, `b`, or `c`.");
        assert_eq!(authorization(&Rule::Authenticated(true)).lead, "Allowed for any authenticated principal (a valid token).");
    }
}
