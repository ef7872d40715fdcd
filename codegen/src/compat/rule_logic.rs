//! What one rule (an authorization rule or a stream condition) says about another, as far
//! as their structure shows: the authorization findings and the stream conditions use it.

use crate::format::Rule;

/// True when `a` holding guarantees `b` holds, as far as the rules' structure shows.
/// `false` means "not proven", not "does not imply".
pub fn implies(a: &Rule, b: &Rule) -> bool {
    if a == b {
        return true;
    }
    match (a, b) {
        (_, Rule::All(bs)) if bs.iter().all(|x| implies(a, x)) => true,
        (Rule::Any(az), _) if !az.is_empty() && az.iter().all(|x| implies(x, b)) => true,
        (_, Rule::Any(bs)) if bs.iter().any(|x| implies(a, x)) => true,
        (Rule::All(az), _) if az.iter().any(|x| implies(x, b)) => true,
        (Rule::ParamIs(am), Rule::ParamIs(bm)) => bm.iter().all(|(k, v)| am.get(k) == Some(v)),
        (_, Rule::Authenticated(true)) => true,
        (Rule::Not(x), Rule::Not(y)) => implies(y, x),
        _ => false,
    }
}
