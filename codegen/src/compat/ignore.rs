//! The ignore file (`schema/compat-ignore.yaml`): approved findings, each with a reason and
//! an expiry date.
//!
//! ```yaml
//! ignore:
//!   - rule: PAYLOAD_ENUM_VALUE_ADDED
//!     path: channels/notification.yaml#/events/new_notification/payload/properties/severity
//!     reason: every client in the field shipped the catch-all in 2.3 (see #412)
//!     expires: 2026-06-30
//! ```
//!
//! An entry covers findings of its `rule` at its `path` (`<file>#<pointer>`, the path
//! printed with every finding) or below it. It holds through its `expires` day; after
//! that it ignores nothing and the report lists it as expired, so approvals cannot
//! silently outlive their reason.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{CompatError, Finding};

/// A calendar day, written `YYYY-MM-DD`; the calendar itself is the `time` crate's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(time::Date);

/// How `expires` is written.
const DATE_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!("[year]-[month]-[day]");

impl Date {
    /// Parses `YYYY-MM-DD`; `None` for anything else, or a day the calendar does not have.
    pub fn parse(s: &str) -> Option<Date> {
        time::Date::parse(s, DATE_FORMAT).ok().map(Date)
    }

    /// Today in UTC.
    pub fn today() -> Date {
        Date(time::OffsetDateTime::now_utc().date())
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0.format(DATE_FORMAT).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

/// One approved finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IgnoreEntry {
    /// The rule ID, e.g. `PAYLOAD_ENUM_VALUE_ADDED`.
    pub rule: String,
    /// `<file>#<pointer>`; findings at this path or below it are covered.
    pub path: String,
    /// Why the change is acceptable.
    pub reason: String,
    /// The last day the entry holds, `YYYY-MM-DD`.
    pub expires: String,
}

impl IgnoreEntry {
    /// True when the entry covers `f` (expiry aside).
    pub fn covers(&self, f: &Finding) -> bool {
        let path = f.path();
        self.rule == f.rule && (path == self.path || path.starts_with(&format!("{}/", self.path.trim_end_matches('/'))))
    }

    /// True when `today` is after the expiry date.
    pub fn expired(&self, today: Date) -> bool {
        Date::parse(&self.expires).is_none_or(|d| today > d)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IgnoreFile {
    #[serde(default)]
    ignore: Vec<IgnoreEntry>,
}

/// Default file name inside the schema directory.
pub const DEFAULT_FILE: &str = "compat-ignore.yaml";

/// Parses an ignore file's text.
///
/// # Errors
/// [`CompatError::Ignore`] naming the problem (YAML syntax, unknown key, bad date).
pub fn parse(path: &Path, text: &str) -> Result<Vec<IgnoreEntry>, CompatError> {
    let err = |message: String| CompatError::Ignore { path: path.to_owned(), message };
    let (value, _) = crate::load::yaml::parse(text).map_err(|e| err(format!("line {}: {}", e.position.line, e.message)))?;
    if value.is_null() {
        return Ok(Vec::new());
    }
    let file: IgnoreFile = serde_json::from_value(value).map_err(|e| err(format!("{e}; each entry needs `rule`, `path`, `reason` and `expires`")))?;
    for (i, e) in file.ignore.iter().enumerate() {
        if Date::parse(&e.expires).is_none() {
            return Err(err(format!("entry {i} ({}): `expires: {}` is not a date YYYY-MM-DD", e.rule, e.expires)));
        }
        if e.reason.trim().is_empty() {
            return Err(err(format!("entry {i} ({}): `reason` is empty; say why the change is acceptable", e.rule)));
        }
    }
    Ok(file.ignore)
}

/// Reads an ignore file; a missing file is an empty list when `optional`.
///
/// # Errors
/// [`CompatError::Io`] or [`CompatError::Ignore`].
pub fn read(path: &Path, optional: bool) -> Result<Vec<IgnoreEntry>, CompatError> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse(path, &text),
        Err(e) if optional && e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(source) => Err(CompatError::Io { path: path.to_owned(), source }),
    }
}

/// What applying an ignore list did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Entries past their expiry date (they ignored nothing).
    pub expired: Vec<IgnoreEntry>,
    /// Live entries that matched no finding.
    pub unused: Vec<IgnoreEntry>,
}

/// Marks every finding a live entry covers as ignored.
pub fn apply(entries: &[IgnoreEntry], findings: &mut [Finding], today: Date) -> Applied {
    let mut applied = Applied::default();
    for entry in entries {
        if entry.expired(today) {
            applied.expired.push(entry.clone());
            continue;
        }
        let mut used = false;
        for f in findings.iter_mut().filter(|f| entry.covers(f)) {
            used = true;
            if f.ignored.is_none() {
                f.ignored = Some(entry.clone());
            }
        }
        if !used {
            applied.unused.push(entry.clone());
        }
    }
    applied
}
