//! Report: findings as text for people and JSON for tools, and whether they fail the run.
//!
//! Text lists one finding per block, worst first:
//!
//! ```text
//! BREAK  PAYLOAD_ENUM_VALUE_ADDED  server→client
//!   schema/channels/notification.yaml#/events/new_notification/payload/properties/severity/enum
//!   value "critical" added
//!   = fix: old clients reject unknown values: ...
//! ```
//!
//! then the expired and unused ignore entries, and one summary line. JSON carries the same
//! data (`findings`, `expired_ignores`, `unused_ignores`, `summary`, `required_bump`,
//! `failed`). Both are deterministic: findings are sorted by verdict, file, pointer, rule.

use std::fmt::Write as _;

use serde_json::{json, Value};

use super::ignore::{Applied, IgnoreEntry};
use super::{required_bump, Finding, Verdict};
use crate::diag::display_path;

/// A finished comparison.
#[derive(Debug, Clone)]
pub struct Report {
    /// The baseline as given.
    pub baseline: String,
    /// The schema directory as given.
    pub schema_dir: String,
    /// Every finding, ignored ones included.
    pub findings: Vec<Finding>,
    /// What the ignore file did.
    pub ignores: Applied,
    /// The least verdict that fails the run.
    pub fail_on: Verdict,
}

/// Counts by verdict (ignored findings apart).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// BREAK, not ignored.
    pub breaks: usize,
    /// WARN, not ignored.
    pub warns: usize,
    /// SAFE.
    pub safe: usize,
    /// Ignored (any verdict).
    pub ignored: usize,
}

impl Report {
    /// Sorts findings worst first, then by place.
    pub fn new(baseline: String, schema_dir: String, mut findings: Vec<Finding>, ignores: Applied, fail_on: Verdict) -> Report {
        findings.sort_by(|a, b| (b.verdict, &a.file, &a.pointer, &a.rule, &a.message).cmp(&(a.verdict, &b.file, &b.pointer, &b.rule, &b.message)));
        Report { baseline, schema_dir, findings, ignores, fail_on }
    }

    /// Counts by verdict.
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for f in &self.findings {
            match (f.ignored.is_some(), f.verdict) {
                (true, _) => s.ignored += 1,
                (false, Verdict::Break) => s.breaks += 1,
                (false, Verdict::Warn) => s.warns += 1,
                (false, Verdict::Safe) => s.safe += 1,
            }
        }
        s
    }

    /// True when a finding that is not ignored reaches `fail_on`.
    pub fn failed(&self) -> bool {
        self.findings.iter().any(|f| f.ignored.is_none() && f.verdict >= self.fail_on && f.verdict != Verdict::Safe)
    }

    /// The human-readable report.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for f in &self.findings {
            let label = match &f.ignored {
                Some(_) => format!("IGNORED ({})", f.verdict.as_str().to_uppercase()),
                None => f.verdict.as_str().to_uppercase(),
            };
            let mut notes = Vec::new();
            if f.src {
                notes.push("+SRC");
            }
            if f.rollout {
                notes.push("roll servers out first");
            }
            if f.downgraded {
                notes.push("BREAK downgraded: experimental channel");
            }
            let notes = if notes.is_empty() { String::new() } else { format!("  ({})", notes.join(", ")) };
            let _ = writeln!(out, "{label}  {}  {}{notes}", f.rule, f.direction.arrow());
            let _ = writeln!(out, "  {}#{}", display_path(&self.schema_dir, &f.file), f.pointer);
            let _ = writeln!(out, "  {}", f.message);
            match &f.ignored {
                Some(e) => {
                    let _ = writeln!(out, "  = ignored until {}: {}", e.expires, e.reason);
                }
                None => {
                    let _ = writeln!(out, "  = fix: {}", f.hint);
                }
            }
        }
        for e in &self.ignores.expired {
            let _ = writeln!(out, "EXPIRED ignore entry  {}  {}\n  expired {}: {}\n  = fix: the change is no longer approved; fix it, or renew the entry with a new reason", e.rule, e.path, e.expires, e.reason);
        }
        for e in &self.ignores.unused {
            let _ = writeln!(out, "UNUSED ignore entry  {}  {}\n  = fix: nothing matches it any more; remove it", e.rule, e.path);
        }
        let s = self.summary();
        let verdict = if self.failed() { "FAILED" } else { "ok" };
        let _ = write!(
            out,
            "compat {} against {}: {} break, {} warn, {} safe, {} ignored; fails on {}: {verdict}",
            self.schema_dir, self.baseline, s.breaks, s.warns, s.safe, s.ignored, self.fail_on.as_str()
        );
        if self.findings.is_empty() {
            out.push_str(" (no changes)");
        }
        out.push('\n');
        out
    }

    /// The machine-readable report.
    pub fn json(&self) -> Value {
        let entry = |e: &IgnoreEntry| json!({ "rule": e.rule, "path": e.path, "reason": e.reason, "expires": e.expires });
        let findings: Vec<Value> = self
            .findings
            .iter()
            .map(|f| {
                json!({
                    "rule": f.rule,
                    "verdict": f.verdict.as_str(),
                    "direction": f.direction.as_str(),
                    "file": display_path(&self.schema_dir, &f.file),
                    "pointer": f.pointer,
                    "path": f.path(),
                    "message": f.message,
                    "hint": f.hint,
                    "src": f.src,
                    "rollout_first": f.rollout,
                    "downgraded": f.downgraded,
                    "ignored": f.ignored.as_ref().map(entry),
                })
            })
            .collect();
        let s = self.summary();
        json!({
            "schema": self.schema_dir,
            "baseline": self.baseline,
            "fail_on": self.fail_on.as_str(),
            "failed": self.failed(),
            "summary": { "break": s.breaks, "warn": s.warns, "safe": s.safe, "ignored": s.ignored },
            "required_bump": required_bump(&self.findings).as_str(),
            "findings": findings,
            "expired_ignores": self.ignores.expired.iter().map(entry).collect::<Vec<_>>(),
            "unused_ignores": self.ignores.unused.iter().map(entry).collect::<Vec<_>>(),
        })
    }
}
