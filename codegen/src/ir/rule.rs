//! Authorization rules and stream conditions, with what they read parsed.
//!
//! A channel file spells a reference as text (`params.account_id`, `claims.sub`); the IR
//! holds a [`Ref`], so checks and emitters match on what a rule reads instead of splitting
//! strings again. [`build`] turns the file's [`format::Rule`] into a [`Rule`] and reports
//! every malformed reference where it is written. Whether a reference names a declared
//! param or claim, and every other rule of the language, is for `check`.

use std::collections::BTreeMap;
use std::fmt;

use crate::diag::{Loc, Problems};
use crate::format::{self, OwnsSpec};

/// What a rule, a stream key or an `on_subscribe` placeholder reads.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Ref {
    /// A subscription param, `params.<name>`.
    Param(String),
    /// A claim of the connection's JWT, `claims.<name>`.
    Claim(String),
}

impl Ref {
    /// `params.<name>` or `claims.<name>` (the name is everything after the first dot).
    pub fn parse(text: &str) -> Option<Ref> {
        match text.split_once('.')? {
            ("params", name) => Some(Ref::Param(name.to_owned())),
            ("claims", name) => Some(Ref::Claim(name.to_owned())),
            _ => None,
        }
    }

    /// A placeholder's path, `["params", "id"]`: exactly a root and one name.
    pub fn from_segments(path: &[String]) -> Option<Ref> {
        match path {
            [root, name] if root == "params" => Some(Ref::Param(name.clone())),
            [root, name] if root == "claims" => Some(Ref::Claim(name.clone())),
            _ => None,
        }
    }

    /// The param's or claim's name.
    pub fn name(&self) -> &str {
        match self {
            Ref::Param(n) | Ref::Claim(n) => n,
        }
    }
}

impl fmt::Display for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ref::Param(n) => write!(f, "params.{n}"),
            Ref::Claim(n) => write!(f, "claims.{n}"),
        }
    }
}

/// The resource kind an `owns` rule asks about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceKind {
    /// A kind written out, `workflow_run`.
    Literal(String),
    /// The value of an (enum) param, `params.<name>`.
    Param(String),
}

/// A declarative authorization rule or stream condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// Any principal with a valid token (`false` is refused by the checks).
    Authenticated(bool),
    /// `claims.kind` equals this.
    Principal(String),
    /// `claims.permissions` contains this.
    Permission(String),
    /// Both references are present and equal.
    Same(Ref, Ref),
    /// Params equal literals (all must hold).
    ParamIs(BTreeMap<String, String>),
    /// The reference is present.
    Present(Ref),
    /// The reference is absent.
    Absent(Ref),
    /// The resource resolver says the resource belongs to the principal's account.
    Owns {
        /// The kind of resource.
        resource: ResourceKind,
        /// The resource id.
        id: Ref,
    },
    /// Every rule holds.
    All(Vec<Rule>),
    /// At least one rule holds.
    Any(Vec<Rule>),
    /// The rule does not hold.
    Not(Box<Rule>),
}

impl Rule {
    /// Whether deciding the rule asks the resource resolver.
    pub fn uses_resolver(&self) -> bool {
        match self {
            Rule::Owns { .. } => true,
            Rule::All(rs) | Rule::Any(rs) => rs.iter().any(Rule::uses_resolver),
            Rule::Not(r) => r.uses_resolver(),
            _ => false,
        }
    }
}

/// The rule as a channel file spells it (for the lock snapshot, AsyncAPI and the server's logs).
impl From<&Rule> for format::Rule {
    fn from(rule: &Rule) -> format::Rule {
        let all = |rs: &[Rule]| rs.iter().map(format::Rule::from).collect();
        match rule {
            Rule::Authenticated(b) => format::Rule::Authenticated(*b),
            Rule::Principal(k) => format::Rule::Principal(k.clone()),
            Rule::Permission(p) => format::Rule::Permission(p.clone()),
            Rule::Same(a, b) => format::Rule::Same([a.to_string(), b.to_string()]),
            Rule::ParamIs(map) => format::Rule::ParamIs(map.clone()),
            Rule::Present(r) => format::Rule::Present(r.to_string()),
            Rule::Absent(r) => format::Rule::Absent(r.to_string()),
            Rule::Owns { resource, id } => {
                let resource = match resource {
                    ResourceKind::Literal(k) => k.clone(),
                    ResourceKind::Param(p) => Ref::Param(p.clone()).to_string(),
                };
                format::Rule::Owns(OwnsSpec { resource, id: id.to_string() })
            }
            Rule::All(rs) => format::Rule::All(all(rs)),
            Rule::Any(rs) => format::Rule::Any(all(rs)),
            Rule::Not(r) => format::Rule::Not(Box::new(format::Rule::from(&**r))),
        }
    }
}

/// Parses the references of a rule written at `loc`.
///
/// A reference that is not `params.<name>` or `claims.<name>` is reported at its own
/// location and stands in the IR as a param of its text, like [`super::types::Ty::Any`] for a
/// schema that did not convert: checks skip what was reported, and an IR with problems never
/// reaches an emitter.
pub fn build(loc: &Loc, rule: &format::Rule, problems: &mut Problems) -> Rule {
    let reference = |loc: &Loc, text: &str, problems: &mut Problems| match Ref::parse(text) {
        Some(r) => r,
        None => {
            problems.at(loc, format!("`{text}` is not a reference"), "write `params.<name>` or `claims.<name>`");
            Ref::Param(text.to_owned())
        }
    };
    match rule {
        format::Rule::Authenticated(b) => Rule::Authenticated(*b),
        format::Rule::Principal(k) => Rule::Principal(k.clone()),
        format::Rule::Permission(p) => Rule::Permission(p.clone()),
        format::Rule::Same([a, b]) => {
            let same = loc.child("same");
            Rule::Same(reference(&same.child("0"), a, problems), reference(&same.child("1"), b, problems))
        }
        format::Rule::ParamIs(map) => Rule::ParamIs(map.clone()),
        format::Rule::Present(r) => Rule::Present(reference(&loc.child("present"), r, problems)),
        format::Rule::Absent(r) => Rule::Absent(reference(&loc.child("absent"), r, problems)),
        format::Rule::Owns(o) => {
            let resource = match o.resource.strip_prefix("params.") {
                Some(p) => ResourceKind::Param(p.to_owned()),
                None => ResourceKind::Literal(o.resource.clone()),
            };
            Rule::Owns { resource, id: reference(&loc.child("owns").child("id"), &o.id, problems) }
        }
        format::Rule::All(rs) => Rule::All(rs.iter().enumerate().map(|(i, r)| build(&loc.child("all").child(&i.to_string()), r, problems)).collect()),
        format::Rule::Any(rs) => Rule::Any(rs.iter().enumerate().map(|(i, r)| build(&loc.child("any").child(&i.to_string()), r, problems)).collect()),
        format::Rule::Not(r) => Rule::Not(Box::new(build(&loc.child("not"), r, problems))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_and_print_back() {
        assert_eq!(Ref::parse("params.account_id"), Some(Ref::Param("account_id".into())));
        assert_eq!(Ref::parse("claims.sub"), Some(Ref::Claim("sub".into())));
        assert_eq!(Ref::parse("payload.id"), None);
        assert_eq!(Ref::parse("account_id"), None);
        assert_eq!(Ref::Claim("sub".into()).to_string(), "claims.sub");
        assert_eq!(Ref::from_segments(&["params".into(), "a".into(), "b".into()]), None);
    }

    #[test]
    fn a_malformed_reference_is_reported_where_it_is_written() {
        let written = format::Rule::All(vec![format::Rule::Present("params.a".into()), format::Rule::Same(["account_id".into(), "claims.account_id".into()])]);
        let mut problems = Problems::default();
        build(&Loc::new("channels/x.yaml", "/authorize"), &written, &mut problems);
        assert_eq!(problems.0.len(), 1);
        assert_eq!(problems.0[0].loc.pointer, "/authorize/all/1/same/0");
        assert_eq!(problems.0[0].message, "`account_id` is not a reference");
    }

    #[test]
    fn a_rule_is_spelled_back_as_written() {
        let written = format::Rule::Any(vec![
            format::Rule::Owns(OwnsSpec { resource: "params.type".into(), id: "params.id".into() }),
            format::Rule::Not(Box::new(format::Rule::Same(["params.account_id".into(), "claims.account_id".into()]))),
            format::Rule::Absent("claims.sub".into()),
        ]);
        let mut problems = Problems::default();
        let rule = build(&Loc::new("channels/x.yaml", "/authorize"), &written, &mut problems);
        assert!(problems.is_empty());
        assert_eq!(format::Rule::from(&rule), written);
    }
}
