//! Compat: classify every change between a released schema set and the current one.
//!
//! `cableway compat --against <baseline>` and `cableway release <version>` are thin
//! wrappers around this module:
//! - [`lock`]: the canonical, dereferenced snapshot a release records (`schema/lock/`);
//! - [`baseline`]: reads a baseline from a lock file, a schema directory or a git revision;
//! - [`normalize`] and [`schema_diff`]: the JSON Schema walk (§6.1 of the research notes);
//! - [`names`]: channels, events, actions, params, reserved names, streams, rules (§6.2);
//! - [`pattern`]: whether one `pattern` accepts every string another does (DFA inclusion);
//! - [`streams`]: stream keys and conditions, as a deployed client's subscriptions see them;
//! - [`rule_logic`]: what one authorization rule or stream condition implies about another;
//! - [`rules`]: the rule table: IDs, verdicts per direction, fix hints, and the one principle;
//! - [`ignore`]: approved findings with reasons and expiry dates;
//! - [`report`]: text and JSON output, and the exit decision.
//!
//! [`check`] compares two [`Snapshot`]s. Findings of a channel that was `experimental` in
//! the baseline are downgraded from BREAK to WARN. [`required_bump`] turns findings into
//! the smallest version bump a release needs: any BREAK a major, anything else a minor.

pub mod baseline;
pub mod ignore;
pub mod lock;
pub mod names;
pub mod normalize;
pub mod pattern;
pub mod report;
pub mod rule_logic;
pub mod rules;
pub mod schema_diff;
pub mod streams;

use std::path::PathBuf;

use serde_json::Value;

use crate::format::Stability;
pub use ignore::IgnoreEntry;
pub use lock::{Bump, Snapshot, Version};
pub use rules::{Direction, Kind, Scope, Verdict};

/// Errors of the compatibility check (not findings: those are the result).
#[derive(Debug, thiserror::Error)]
pub enum CompatError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A lock file does not parse.
    #[error("{path} is not a Cableway lock file: {reason}")]
    Lock {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The ignore file is malformed.
    #[error("{path}: {message}")]
    Ignore {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A baseline schema set is invalid.
    #[error("the baseline {label} is not a valid schema set:\n{source}")]
    Baseline {
        /// The baseline as given.
        label: String,
        /// The diagnostics.
        #[source]
        source: crate::Error,
    },
    /// A git command failed.
    #[error("{0}")]
    Git(String),
    /// A version is not `MAJOR.MINOR.PATCH`.
    #[error("`{0}` is not a version MAJOR.MINOR.PATCH")]
    Version(String),
}

/// One classified change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule ID, e.g. `PAYLOAD_ENUM_VALUE_ADDED`.
    pub rule: String,
    /// The change.
    pub kind: Kind,
    /// Where the schema sits, for schema-level changes.
    pub scope: Option<Scope>,
    /// Who reads what changed.
    pub direction: Direction,
    /// The verdict, after the experimental downgrade.
    pub verdict: Verdict,
    /// True when a BREAK became a WARN because the baseline channel is experimental.
    pub downgraded: bool,
    /// +SRC: regenerated Rust/TypeScript types change.
    pub src: bool,
    /// SAFE\*: roll servers out first.
    pub rollout: bool,
    /// The file inside the schema directory (`channels/x.yaml`, `cableway.yaml`).
    pub file: String,
    /// JSON pointer in that file; inside schemas, through `$ref`s as if they were inlined
    /// (and past the nullable `oneOf` wrapper, which normalizes away).
    pub pointer: String,
    /// What changed.
    pub message: String,
    /// How to fix or ship it.
    pub hint: String,
    /// The ignore entry that approves it.
    pub ignored: Option<IgnoreEntry>,
}

impl Finding {
    /// A finding of `kind`, classified for `direction`.
    pub fn new(kind: Kind, scope: Option<Scope>, direction: Direction, file: &str, pointer: impl Into<String>, message: impl Into<String>) -> Finding {
        let entry = kind.entry(direction);
        Finding {
            rule: kind.id(scope),
            kind,
            scope,
            direction,
            verdict: entry.verdict,
            downgraded: false,
            src: entry.src,
            rollout: entry.rollout,
            file: file.to_owned(),
            pointer: pointer.into(),
            message: message.into(),
            hint: entry.hint.to_owned(),
            ignored: None,
        }
    }

    /// A name-level finding.
    pub fn name(kind: Kind, file: &str, pointer: impl Into<String>, message: impl Into<String>) -> Finding {
        Finding::new(kind, None, kind.name_direction(), file, pointer, message)
    }

    /// `<file>#<pointer>`, the path ignore entries name.
    pub fn path(&self) -> String {
        format!("{}#{}", self.file, self.pointer)
    }

    fn downgrade(&mut self) {
        if self.verdict == Verdict::Break {
            self.verdict = Verdict::Warn;
            self.downgraded = true;
        }
    }
}

/// The changes between two schemas in `scope`, as findings at `file` + `prefix`.
pub fn schema_findings(scope: Scope, old: &Value, new: &Value, file: &str, prefix: &str) -> Vec<Finding> {
    schema_diff::diff(old, new)
        .into_iter()
        .map(|c| Finding::new(c.kind, Some(scope), scope.direction(), file, format!("{prefix}{}", c.pointer), c.detail))
        .collect()
}

/// Every finding from `old` to `new`, sorted by file, pointer and rule.
pub fn check(old: &Snapshot, new: &Snapshot) -> Vec<Finding> {
    let mut out = schema_findings(Scope::Claims, &old.claims, &new.claims, crate::load::PROJECT_FILE, "/claims");
    names::channels(old, new, &mut out);
    for o in &old.channels {
        let Some(n) = new.channels.iter().find(|c| c.name == o.name) else { continue };
        let mut found = Vec::new();
        channel(o, n, &mut found);
        if o.stability == Stability::Experimental {
            found.iter_mut().for_each(Finding::downgrade);
        }
        out.extend(found);
    }
    out.sort_by(|a, b| (&a.file, &a.pointer, &a.rule, &a.message).cmp(&(&b.file, &b.pointer, &b.rule, &b.message)));
    out
}

fn channel(o: &lock::ChannelSnapshot, n: &lock::ChannelSnapshot, out: &mut Vec<Finding>) {
    use crate::diag::escape_token;
    let file = n.file.as_str();
    let mut params = schema_findings(Scope::Param, &o.params, &n.params, file, "/params");
    // A key param's value renders the stream name whatever its schema says, so a change of
    // what it accepts changes which subscriptions are accepted, never where one listens.
    for (p, keys) in names::key_params(o, n) {
        let at = format!("/params/properties/{}", escape_token(&p));
        for f in params.iter_mut().filter(|f| f.pointer == at || f.pointer.starts_with(&format!("{at}/"))) {
            f.message.push_str(&format!(
                "; `{p}` is part of the stream key {keys}: a value accepted before and after renders the same stream name, so no deployed subscription listens elsewhere"
            ));
        }
    }
    out.extend(params);
    for (name, oe) in &o.events {
        if let Some(ne) = n.events.get(name) {
            out.extend(schema_findings(Scope::Payload, &oe.payload, &ne.payload, file, &format!("/events/{}/payload", escape_token(name))));
        }
    }
    for (name, oa) in &o.actions {
        if let Some(na) = n.actions.get(name) {
            let at = format!("/actions/{}", escape_token(name));
            out.extend(schema_findings(Scope::Request, &oa.request, &na.request, file, &format!("{at}/request")));
            if let (Some(or), Some(nr)) = (&oa.reply, &na.reply) {
                out.extend(schema_findings(Scope::Reply, or, nr, file, &format!("{at}/reply")));
            }
        }
    }
    names::channel(o, n, out);
}

/// The smallest bump a release with these findings needs (ignored findings count: the
/// ignore file lets CI pass, it does not make a breaking change compatible).
pub fn required_bump(findings: &[Finding]) -> Bump {
    if findings.iter().any(|f| f.verdict == Verdict::Break) {
        Bump::Major
    } else if findings.is_empty() {
        Bump::Patch
    } else {
        Bump::Minor
    }
}

/// Why `cableway release` refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The version is not after the latest release.
    #[error("release {version} is not after the latest release {latest}")]
    NotLater {
        /// Requested.
        version: Version,
        /// Latest lock.
        latest: Version,
    },
    /// The bump is smaller than the changes need.
    #[error("release {version} refused: {reason} since {latest} need a {need} bump (release {suggested} or later)", need = need.as_str())]
    TooSmall {
        /// Requested.
        version: Version,
        /// Latest lock.
        latest: Version,
        /// What the findings need.
        need: Bump,
        /// The smallest acceptable version.
        suggested: Version,
        /// e.g. "3 breaking changes".
        reason: String,
    },
}

/// Decides whether `version` may be released with `findings` against the `latest` lock.
///
/// # Errors
/// A [`Refusal`] naming the bump the changes need.
pub fn release_allowed(latest: Version, version: Version, findings: &[Finding]) -> Result<Bump, Refusal> {
    let Some(have) = latest.bump_to(version) else {
        return Err(Refusal::NotLater { version, latest });
    };
    let need = required_bump(findings);
    if have >= need {
        return Ok(have);
    }
    let breaking = findings.iter().filter(|f| f.verdict == Verdict::Break).count();
    let reason = match need {
        Bump::Major => format!("{breaking} breaking change{}", if breaking == 1 { "" } else { "s" }),
        _ => format!("{} change{}", findings.len(), if findings.len() == 1 { "" } else { "s" }),
    };
    Err(Refusal::TooSmall { version, latest, need, suggested: latest.bumped(need), reason })
}
