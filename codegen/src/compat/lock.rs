//! Lock snapshots: what a release promised, as canonical JSON under `schema/lock/<version>.json`.
//!
//! A [`Snapshot`] holds exactly what the checker compares, per channel: its name and file,
//! stability, reserved names, authorization rule, params schema and what happens to
//! undeclared params, stream keys, events
//! (payload schema, `publish_to`), actions (request and reply schemas, error codes), and
//! the JWT claims schema. Schemas are fully dereferenced (every `#/$defs/X` inlined, the
//! name kept as `x-ref: X`), stripped of pure annotations (`title`, `description`,
//! `examples`, `$comment`) and key-sorted, so a lock reads on its own and diffs cleanly.
//! The file is pretty JSON with a trailing newline; the same schema set always gives the
//! same bytes.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::normalize::canonical;
use super::CompatError;
use crate::format::{Reserved, Rule, Stability, UndeclaredParams};
use crate::ir::Ir;

/// The lock file format; bumped when its shape changes.
pub const LOCK_FORMAT: u32 = 1;

/// The directory of lock files inside a schema directory.
pub const LOCK_DIR: &str = "lock";

/// A released (or current) schema set, as the checker sees it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    /// [`LOCK_FORMAT`].
    pub lock_format: u32,
    /// The release version (the package version for a snapshot of a working tree).
    pub version: String,
    /// The JWT claims schema, dereferenced.
    pub claims: Value,
    /// Channels, sorted by wire name.
    pub channels: Vec<ChannelSnapshot>,
}

/// One channel.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelSnapshot {
    /// Wire name.
    pub name: String,
    /// The channel file inside the schema directory.
    pub file: String,
    /// Maturity.
    pub stability: Stability,
    /// Names that must not come back, sorted.
    pub reserved: Reserved,
    /// The authorization rule.
    pub authorize: Rule,
    /// The params schema, dereferenced.
    pub params: Value,
    /// What happens to identifier keys the params do not declare. Locks written before the
    /// setting existed have none: their closed params schemas refused such keys.
    #[serde(default = "refused")]
    pub undeclared_params: UndeclaredParams,
    /// Subscribe-side stream keys.
    pub streams: Vec<StreamSnapshot>,
    /// Events by name.
    pub events: BTreeMap<String, EventSnapshot>,
    /// Actions by name.
    pub actions: BTreeMap<String, ActionSnapshot>,
}

/// A subscribe-side stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamSnapshot {
    /// The key template as written.
    pub key: String,
    /// Its condition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Rule>,
}

/// An event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventSnapshot {
    /// The payload schema, dereferenced.
    pub payload: Value,
    /// Fan-out templates as written.
    pub publish_to: Vec<String>,
    /// Marked as going away.
    #[serde(default, skip_serializing_if = "is_false")]
    pub deprecated: bool,
}

/// An action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionSnapshot {
    /// The request schema, dereferenced.
    pub request: Value,
    /// The reply schema, dereferenced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<Value>,
    /// Declared error codes, sorted.
    #[serde(default)]
    pub errors: Vec<String>,
}

fn refused() -> UndeclaredParams {
    UndeclaredParams::Refuse
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Snapshot {
    /// The snapshot of a built schema set, labelled `version`.
    pub fn from_ir(ir: &Ir, version: &str) -> Snapshot {
        let channels = ir
            .channels
            .iter()
            .map(|ch| ChannelSnapshot {
                name: ch.name.clone(),
                file: ch.file.clone(),
                stability: ch.stability,
                reserved: sorted_reserved(&ch.reserved),
                authorize: Rule::from(&ch.authorize),
                params: dereference(&ch.params_schema),
                undeclared_params: ch.undeclared_params,
                streams: ch.streams.iter().map(|s| StreamSnapshot { key: s.key.source.clone(), when: s.when.as_ref().map(Rule::from) }).collect(),
                events: ch
                    .events
                    .iter()
                    .map(|e| {
                        let snap = EventSnapshot { payload: dereference(&e.payload_schema), publish_to: e.publish_to.iter().map(|t| t.key.source.clone()).collect(), deprecated: e.deprecated };
                        (e.name.clone(), snap)
                    })
                    .collect(),
                actions: ch
                    .actions
                    .iter()
                    .map(|a| {
                        let mut errors = a.errors.clone();
                        errors.sort();
                        let snap = ActionSnapshot { request: dereference(&a.request_schema), reply: a.reply_schema.as_ref().map(dereference), errors };
                        (a.name.clone(), snap)
                    })
                    .collect(),
            })
            .collect();
        Snapshot { lock_format: LOCK_FORMAT, version: version.to_owned(), claims: dereference(&ir.claims_schema), channels }
    }

    /// The lock file text: pretty JSON with a trailing newline.
    pub fn to_lock_text(&self) -> String {
        let value = serde_json::to_value(self).unwrap_or(Value::Null);
        crate::emit::pretty_json(&value)
    }

    /// Parses a lock file's text.
    ///
    /// # Errors
    /// [`CompatError::Lock`] when it is not a lock file of this format.
    pub fn from_lock_text(path: &Path, text: &str) -> Result<Snapshot, CompatError> {
        let snap: Snapshot = serde_json::from_str(text).map_err(|e| CompatError::Lock { path: path.to_owned(), reason: e.to_string() })?;
        if snap.lock_format != LOCK_FORMAT {
            return Err(CompatError::Lock { path: path.to_owned(), reason: format!("lock_format {} is not {LOCK_FORMAT}", snap.lock_format) });
        }
        Ok(snap)
    }

    /// Reads a lock file.
    ///
    /// # Errors
    /// [`CompatError::Io`] or [`CompatError::Lock`].
    pub fn read(path: &Path) -> Result<Snapshot, CompatError> {
        let text = std::fs::read_to_string(path).map_err(|source| CompatError::Io { path: path.to_owned(), source })?;
        Snapshot::from_lock_text(path, &text)
    }
}

fn sorted_reserved(r: &Reserved) -> Reserved {
    let sorted = |v: &Vec<String>| {
        let mut v = v.clone();
        v.sort();
        v.dedup();
        v
    };
    Reserved { params: sorted(&r.params), events: sorted(&r.events), actions: sorted(&r.actions) }
}

/// Inlines every local `$ref` of a bundled schema (keeping the target's name as `x-ref`),
/// drops `$schema`, `$defs` and pure annotations, and sorts keys.
pub fn dereference(bundled: &Value) -> Value {
    canonical(&deref_node(bundled, bundled, 0))
}

/// Keywords whose value is a map of schemas.
const SCHEMA_MAPS: &[&str] = &["properties", "patternProperties", "$defs", "dependentSchemas"];
/// Keywords whose value is one schema.
const SCHEMA_ONE: &[&str] = &["items", "additionalProperties", "not", "contains", "propertyNames", "if", "then", "else", "unevaluatedProperties", "unevaluatedItems"];
/// Keywords whose value is a list of schemas.
const SCHEMA_LISTS: &[&str] = &["oneOf", "anyOf", "allOf", "prefixItems"];
/// Annotations a lock leaves out.
const DROPPED: &[&str] = &["$schema", "$id", "$defs", "title", "description", "examples", "$comment"];

fn deref_node(root: &Value, node: &Value, depth: usize) -> Value {
    let Value::Object(obj) = node else { return node.clone() };
    if depth < 64 {
        if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
            if let Some(target) = r.strip_prefix('#').and_then(|p| root.pointer(p)) {
                let mut inlined = deref_node(root, target, depth + 1);
                if let Value::Object(o) = &mut inlined {
                    o.insert("x-ref".into(), Value::String(r.rsplit('/').next().unwrap_or(r).to_owned()));
                    for (k, v) in obj {
                        if k != "$ref" && !DROPPED.contains(&k.as_str()) {
                            o.insert(k.clone(), deref_value(root, k, v, depth));
                        }
                    }
                }
                return inlined;
            }
        }
    }
    let mut out = Map::new();
    for (k, v) in obj {
        if DROPPED.contains(&k.as_str()) {
            continue;
        }
        out.insert(k.clone(), deref_value(root, k, v, depth));
    }
    Value::Object(out)
}

fn deref_value(root: &Value, keyword: &str, v: &Value, depth: usize) -> Value {
    if SCHEMA_MAPS.contains(&keyword) {
        if let Value::Object(m) = v {
            return Value::Object(m.iter().map(|(k, s)| (k.clone(), deref_node(root, s, depth + 1))).collect());
        }
    }
    if SCHEMA_ONE.contains(&keyword) {
        return deref_node(root, v, depth + 1);
    }
    if SCHEMA_LISTS.contains(&keyword) {
        if let Value::Array(a) = v {
            return Value::Array(a.iter().map(|s| deref_node(root, s, depth + 1)).collect());
        }
    }
    v.clone()
}

/// A release version, `MAJOR.MINOR.PATCH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Version {
    /// Incompatible changes.
    pub major: u64,
    /// Additions.
    pub minor: u64,
    /// Everything else.
    pub patch: u64,
}

impl Version {
    /// Parses `1.2.3`.
    ///
    /// # Errors
    /// [`CompatError::Version`] for anything else (no pre-release or build suffixes).
    pub fn parse(s: &str) -> Result<Version, CompatError> {
        let parts: Vec<&str> = s.split('.').collect();
        let num = |p: &str| -> Option<u64> { if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && (p == "0" || !p.starts_with('0')) { p.parse().ok() } else { None } };
        match parts.as_slice() {
            [a, b, c] => match (num(a), num(b), num(c)) {
                (Some(major), Some(minor), Some(patch)) => Ok(Version { major, minor, patch }),
                _ => Err(CompatError::Version(s.to_owned())),
            },
            _ => Err(CompatError::Version(s.to_owned())),
        }
    }

    /// The smallest version after `self` with a bump of `bump`.
    pub fn bumped(self, bump: Bump) -> Version {
        match bump {
            Bump::Major => Version { major: self.major + 1, minor: 0, patch: 0 },
            Bump::Minor => Version { major: self.major, minor: self.minor + 1, patch: 0 },
            Bump::Patch => Version { major: self.major, minor: self.minor, patch: self.patch + 1 },
        }
    }

    /// The bump from `self` to `next`, or `None` when `next` is not later.
    pub fn bump_to(self, next: Version) -> Option<Bump> {
        if next <= self {
            None
        } else if next.major > self.major {
            Some(Bump::Major)
        } else if next.minor > self.minor {
            Some(Bump::Minor)
        } else {
            Some(Bump::Patch)
        }
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch).cmp(&(other.major, other.minor, other.patch))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// A semantic-version bump, smallest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bump {
    /// `x.y.Z`.
    Patch,
    /// `x.Y.0`.
    Minor,
    /// `X.0.0`.
    Major,
}

impl Bump {
    /// `patch`, `minor`, `major`.
    pub fn as_str(self) -> &'static str {
        match self {
            Bump::Patch => "patch",
            Bump::Minor => "minor",
            Bump::Major => "major",
        }
    }
}

/// Every lock file of `schema_dir`, sorted by version (files not named `<version>.json` are skipped).
///
/// # Errors
/// [`CompatError::Io`] when the directory exists but cannot be listed.
pub fn locks(schema_dir: &Path) -> Result<Vec<(Version, PathBuf)>, CompatError> {
    let dir = schema_dir.join(LOCK_DIR);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(CompatError::Io { path: dir, source }),
    };
    let mut out = Vec::new();
    for entry in entries {
        let path = entry.map_err(|source| CompatError::Io { path: dir.clone(), source })?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        if let Some(v) = path.file_stem().and_then(|s| s.to_str()).and_then(|s| Version::parse(s).ok()) {
            out.push((v, path));
        }
    }
    out.sort();
    Ok(out)
}

/// The path of the lock of `version`.
pub fn lock_path(schema_dir: &Path, version: Version) -> PathBuf {
    schema_dir.join(LOCK_DIR).join(format!("{version}.json"))
}
