//! Key templates: `ai_orchestration:workflow_run:{params.id}`.
//!
//! A template is literal text and `{root.path}` placeholders. [`parse`] checks the syntax
//! and yields the placeholders as dotted paths; the IR then types them ([`Template::typed`]):
//! a subscribe stream reads a [`Ref`] (`{params.x}`, `{claims.x}`), a fan-out template a
//! [`PayloadPath`] (`{payload.a.b}`). [`unifies`] decides whether two templates can produce
//! the same key, treating each placeholder as one or more key-safe characters (never `:`),
//! which is what the coherence check needs.

use std::collections::{BTreeSet, VecDeque};
use std::fmt;

use super::rule::Ref;

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part<V> {
    /// Literal text.
    Lit(String),
    /// A placeholder.
    Var(V),
}

/// A parsed template whose placeholders are `V`s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template<V> {
    /// As written.
    pub source: String,
    /// Its pieces.
    pub parts: Vec<Part<V>>,
}

/// A placeholder as written: its dotted path, `["params", "id"]`.
pub type Path = Vec<String>;

/// The key of a subscribe-side stream (and the text of `on_subscribe` strings).
pub type KeyTemplate = Template<Ref>;

/// A fan-out target of an event.
pub type FanOutTemplate = Template<PayloadPath>;

impl<V> Template<V> {
    /// The placeholders, in order.
    pub fn vars(&self) -> impl Iterator<Item = &V> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(v) => Some(v),
            Part::Lit(_) => None,
        })
    }
}

impl Template<Path> {
    /// Types every placeholder with `f`; on failure, the paths `f` refused, in order.
    pub fn typed<W>(self, f: impl Fn(&[String]) -> Option<W>) -> Result<Template<W>, Vec<Path>> {
        let mut parts = Vec::new();
        let mut refused = Vec::new();
        for part in self.parts {
            match part {
                Part::Lit(s) => parts.push(Part::Lit(s)),
                Part::Var(path) => match f(&path) {
                    Some(v) => parts.push(Part::Var(v)),
                    None => refused.push(path),
                },
            }
        }
        if refused.is_empty() {
            Ok(Template { source: self.source, parts })
        } else {
            Err(refused)
        }
    }
}

/// A field of an event payload, `payload.workflow_run.id`: the property names from its root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadPath(pub Vec<String>);

impl PayloadPath {
    /// `payload.a.b` split into segments; `None` unless it starts with `payload` and names a field.
    pub fn from_segments(path: &[String]) -> Option<PayloadPath> {
        match path {
            [root, rest @ ..] if root == "payload" && !rest.is_empty() => Some(PayloadPath(rest.to_vec())),
            _ => None,
        }
    }

    /// Parses `payload.a.b`.
    pub fn parse(text: &str) -> Option<PayloadPath> {
        let path: Vec<String> = text.split('.').map(str::to_owned).collect();
        PayloadPath::from_segments(&path)
    }

    /// The JSON pointer of the field inside the payload: `/workflow_run/id`.
    pub fn pointer(&self) -> String {
        self.0.iter().map(|s| format!("/{}", crate::diag::escape_token(s))).collect()
    }
}

impl fmt::Display for PayloadPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("payload")?;
        for s in &self.0 {
            write!(f, ".{s}")?;
        }
        Ok(())
    }
}

fn is_literal_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':' | '.')
}

/// Parses a template's syntax; its placeholders stay dotted paths until typed.
///
/// # Errors
/// A sentence naming the first problem.
pub fn parse(source: &str) -> Result<Template<Path>, String> {
    let mut parts = Vec::new();
    let mut rest = source;
    while !rest.is_empty() {
        match rest.find('{') {
            Some(0) => {
                let end = rest.find('}').ok_or_else(|| format!("`{{` without a closing `}}` in `{source}`"))?;
                let inner = &rest[1..end];
                let path: Vec<String> = inner.split('.').map(str::to_owned).collect();
                let ok = path.len() >= 2 && path.iter().all(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
                if !ok {
                    return Err(format!("placeholder `{{{inner}}}` must be a dotted path such as `{{params.id}}`"));
                }
                if matches!(parts.last(), Some(Part::Var(_))) {
                    return Err(format!("two placeholders touch in `{source}`; put a literal separator between them"));
                }
                parts.push(Part::Var(path));
                rest = &rest[end + 1..];
            }
            found => {
                let end = found.unwrap_or(rest.len());
                let lit = &rest[..end];
                if let Some(bad) = lit.chars().find(|c| !is_literal_char(*c)) {
                    return Err(format!("character `{bad}` is not allowed in a stream key (use letters, digits, `_`, `-`, `.`, `:`)"));
                }
                parts.push(Part::Lit(lit.to_owned()));
                rest = &rest[end..];
            }
        }
    }
    if parts.is_empty() {
        return Err("a stream key cannot be empty".into());
    }
    Ok(Template { source: source.to_owned(), parts })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tok {
    Char(char),
    Var,
}

fn tokens<V>(t: &Template<V>) -> Vec<Tok> {
    let mut out = Vec::new();
    for p in &t.parts {
        match p {
            Part::Lit(s) => out.extend(s.chars().map(Tok::Char)),
            Part::Var(_) => out.push(Tok::Var),
        }
    }
    out
}

fn var_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// NFA state: (token index, inside a placeholder that has consumed at least one char).
type St = (usize, bool);

fn closure(s: St) -> Vec<St> {
    if s.1 {
        vec![s, (s.0 + 1, false)]
    } else {
        vec![s]
    }
}

fn step(toks: &[Tok], s: St, c: char) -> Option<St> {
    match toks.get(s.0)? {
        Tok::Char(x) if !s.1 && *x == c => Some((s.0 + 1, false)),
        Tok::Var if var_char(c) => Some((s.0, true)),
        _ => None,
    }
}

/// Whether some key matches both templates.
pub fn unifies<A, B>(a: &Template<A>, b: &Template<B>) -> bool {
    let (ta, tb) = (tokens(a), tokens(b));
    let mut alphabet: BTreeSet<char> = ta.iter().chain(&tb).filter_map(|t| if let Tok::Char(c) = t { Some(*c) } else { None }).collect();
    if let Some(fresh) = ('a'..='z').chain('A'..='Z').chain('0'..='9').find(|c| !alphabet.contains(c)) {
        alphabet.insert(fresh);
    }
    let mut seen = BTreeSet::new();
    let mut queue = VecDeque::new();
    queue.push_back(((0, false), (0, false)));
    while let Some((sa, sb)) = queue.pop_front() {
        if !seen.insert((sa, sb)) {
            continue;
        }
        for ca in closure(sa) {
            for cb in closure(sb) {
                if ca == (ta.len(), false) && cb == (tb.len(), false) {
                    return true;
                }
                for &c in &alphabet {
                    if let (Some(na), Some(nb)) = (step(&ta, ca, c), step(&tb, cb, c)) {
                        queue.push_back((na, nb));
                    }
                }
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Template<Path> {
        parse(s).unwrap()
    }

    #[test]
    fn unification_table() {
        let cases = [
            ("ai_orchestration:workflow_run:{params.id}", "ai_orchestration:workflow_run:{payload.workflow_run.id}", true),
            ("ai_orchestration:workflow_run:{params.id}", "ai_orchestration:workflow:{payload.workflow_id}", false),
            ("devops_pipeline_{params.pipeline_id}", "devops_pipeline_{payload.id}", true),
            ("devops_pipeline_{params.pipeline_id}", "devops_account_{payload.account_id}", false),
            ("a:{params.x}", "a:{payload.a}:b", false),
            ("a:{params.x}:b", "a:fixed:b", true),
            ("a:{params.x}", "a:", false),
            ("mission:account:{params.id}", "mission:{payload.mission_id}", false),
        ];
        for (a, b, want) in cases {
            assert_eq!(unifies(&t(a), &t(b)), want, "{a} ~ {b}");
            assert_eq!(unifies(&t(b), &t(a)), want, "{b} ~ {a}");
        }
    }

    #[test]
    fn bad_templates() {
        assert!(parse("a:{params.id").is_err());
        assert!(parse("a:*").is_err());
        assert!(parse("a:{id}").is_err());
        assert!(parse("{params.a}{params.b}").is_err());
    }
}
