//! Load: read `schema/` into positioned JSON values and the typed file format.
//!
//! Reads `cableway.yaml`, `channels/*.yaml` and `models/*.json` (sorted, so every later
//! step is deterministic), parses each with positions (YAML as YAML, JSON as strict JSON),
//! reports every other entry of those folders, and deserializes the project and channel
//! files into [`crate::format`] types. Nothing is checked here beyond the shape of
//! the files; references are resolved by [`refs`].

pub mod json;
pub mod refs;
mod source;
pub mod yaml;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::diag::{escape_token, suggest, Loc, Problems};
use crate::error::{Diagnostic, Diagnostics, Error, Position, Result};
use crate::format::{ChannelFile, ProjectFile};
use yaml::SourceMap;

/// The project file's path inside the schema directory.
pub const PROJECT_FILE: &str = "cableway.yaml";

/// One parsed file.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path inside the schema directory (`channels/x.yaml`), with `/` separators.
    pub rel: String,
    /// The file's content as JSON.
    pub value: Value,
    /// Where each node came from.
    pub map: SourceMap,
}

/// A schema directory, read and parsed.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The directory as given, used to display file paths.
    pub display_dir: String,
    /// Every parsed file by `rel`.
    pub files: BTreeMap<String, SourceFile>,
    /// The project file.
    pub project: ProjectFile,
    /// Channel files by `rel`, sorted.
    pub channels: Vec<(String, ChannelFile)>,
    /// Model files' `rel`s, sorted.
    pub models: Vec<String>,
}

/// The folders of a schema directory that hold schema files, and the extension of the files
/// each holds. Every other entry in them is reported, never skipped: a channel saved as
/// `.yml`, or a model as `.yaml`, would otherwise vanish from the schema set without a word.
pub const FOLDERS: [(&str, &str); 2] = [("channels", "yaml"), ("models", "json")];

/// Reads a schema directory from disk.
///
/// # Errors
/// [`Error::Io`] when a file cannot be read; [`Error::Invalid`] when a file does not parse
/// or does not have the channel-file shape, or when a schema folder holds a file that is not read.
pub fn load_dir(dir: &Path) -> Result<Loaded> {
    let mut texts = BTreeMap::new();
    let project = dir.join(PROJECT_FILE);
    texts.insert(PROJECT_FILE.to_owned(), read(&project)?);
    let mut unread = Vec::new();
    for (sub, _) in FOLDERS {
        for (rel, path) in files_under(&dir.join(sub), sub)? {
            if is_read(&rel) {
                texts.insert(rel, read(&path)?);
            } else {
                unread.push(rel);
            }
        }
    }
    load_sources(&dir.display().to_string(), texts, unread)
}

/// Parses a schema set given as file texts keyed by their path inside the schema directory.
/// A key under a schema folder that the loader would not read (see [`FOLDERS`]) is reported.
///
/// # Errors
/// [`Error::Invalid`] with every parse and shape problem found.
pub fn load_texts(display_dir: &str, texts: BTreeMap<String, String>) -> Result<Loaded> {
    let (texts, unread): (BTreeMap<_, _>, BTreeMap<_, _>) = texts.into_iter().partition(|(rel, _)| is_read(rel) || folder(rel).is_none());
    load_sources(display_dir, texts, unread.into_keys().collect())
}

/// The schema folder `rel` is in, and the extension of the files it holds.
fn folder(rel: &str) -> Option<(&'static str, &'static str)> {
    let (top, _) = rel.split_once('/')?;
    FOLDERS.into_iter().find(|(sub, _)| *sub == top)
}

/// True for a file the loader reads: the project file, or a file directly inside a schema
/// folder with that folder's extension.
fn is_read(rel: &str) -> bool {
    if rel == PROJECT_FILE {
        return true;
    }
    let Some((sub, ext)) = folder(rel) else { return false };
    let name = &rel[sub.len() + 1..];
    !name.contains('/') && name.strip_suffix(ext).is_some_and(|stem| stem.ends_with('.'))
}

/// Why a file in a schema folder is not read, and what to do with it; `read` are the files
/// that are, so a rename is never suggested onto one of them.
fn unread_problem(rel: &str, read: &BTreeMap<String, String>) -> (String, String) {
    let (sub, ext) = folder(rel).unwrap_or(FOLDERS[0]);
    let name = &rel[sub.len() + 1..];
    let what = if sub == "channels" { "channel" } else { "model" };
    if name.contains('/') {
        let message = format!("`{rel}` is not read: only the `*.{ext}` files directly in {sub}/ are {what} files");
        return (message, format!("move it up into {sub}/ itself, or out of the schema directory"));
    }
    let message = format!("`{rel}` is not read: {sub}/ holds only `*.{ext}` {what} files, so nothing in it is part of the schema set");
    let stem = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
    let has_ext = |e: &str| name.ends_with(&format!(".{e}"));
    let renamed = format!("{sub}/{stem}.{ext}");
    let help = if read.contains_key(&renamed) && (has_ext("yml") || has_ext("yaml") || has_ext("json")) {
        format!("{renamed} exists already: merge what this file adds into it, then delete this file")
    } else if sub == "channels" && (has_ext("yml") || has_ext("json")) {
        format!("rename it to {renamed} (one extension, so a channel's file can be found from its name)")
    } else if sub == "models" && (has_ext("yaml") || has_ext("yml")) {
        format!("write it as JSON in {renamed}: model files are shared with the REST API, whose tools read JSON")
    } else {
        "delete it, or move it out of the schema directory (notes about the schema set belong in schema/README.md)".to_owned()
    };
    (message, help)
}

fn load_sources(display_dir: &str, texts: BTreeMap<String, String>, unread: Vec<String>) -> Result<Loaded> {
    let mut problems = Problems::default();
    for rel in &unread {
        let (message, help) = unread_problem(rel, &texts);
        problems.at(&Loc::new(rel.clone(), ""), message, help);
    }
    let mut files = BTreeMap::new();
    for (rel, text) in texts {
        let parsed = if rel.ends_with(".json") { json::parse(&text) } else { yaml::parse(&text) };
        match parsed {
            Ok((value, map)) => {
                files.insert(rel.clone(), SourceFile { rel, value, map });
            }
            Err(e) => {
                let d = Diagnostic { file: crate::diag::display_path(display_dir, &rel), position: e.position, message: e.message, help: e.help };
                return Err(Error::Invalid(Diagnostics(vec![d])));
            }
        }
    }
    let project = files.get(PROJECT_FILE).and_then(|f| shape::<ProjectFile>(f, &mut problems));
    let mut channels = Vec::new();
    let mut models = Vec::new();
    for (rel, file) in &files {
        if rel.starts_with("channels/") {
            if let Some(c) = shape::<ChannelFile>(file, &mut problems) {
                channels.push((rel.clone(), c));
            }
        } else if rel.starts_with("models/") {
            models.push(rel.clone());
        }
    }
    if channels.is_empty() && problems.is_empty() {
        problems.at(&Loc::new(PROJECT_FILE, ""), "the schema set declares no channel", "add a file under channels/, see schema/README.md");
    }
    match project {
        Some(project) if problems.is_empty() => Ok(Loaded { display_dir: display_dir.to_owned(), files, project, channels, models }),
        _ => Err(Error::Invalid(diagnostics(display_dir, &files, problems))),
    }
}

impl Loaded {
    /// Where the node at `loc` is written (line 1 for a file that was not read).
    pub fn value_position(&self, loc: &Loc) -> Position {
        self.files.get(&loc.file).map_or(Position { line: 1, column: 1 }, |f| f.map.value(&loc.pointer))
    }

    /// Where the key of the node at `loc` is written (line 1 for a file that was not read).
    pub fn key_position(&self, loc: &Loc) -> Position {
        self.files.get(&loc.file).map_or(Position { line: 1, column: 1 }, |f| f.map.key(&loc.pointer))
    }

    /// Every problem, located by line and column in the files it points into.
    pub fn diagnostics(&self, problems: Problems) -> Diagnostics {
        diagnostics(&self.display_dir, &self.files, problems)
    }
}

fn diagnostics(display_dir: &str, files: &BTreeMap<String, SourceFile>, problems: Problems) -> Diagnostics {
    problems.into_diagnostics(display_dir, |p| match files.get(&p.loc.file) {
        Some(f) if p.at_key => f.map.key(&p.loc.pointer),
        Some(f) => f.map.value(&p.loc.pointer),
        // A file that was not read (see [`FOLDERS`]) has no source map: its first line.
        None => Position { line: 1, column: 1 },
    })
}

/// Serde's message about a file's shape, said for a schema author: what is wrong at which
/// node (its key for a missing or unknown key), and how to fix it.
fn explain_shape(inner: &str, pointer: String) -> (String, bool, String, String) {
    let quoted = |prefix: &str| inner.strip_prefix(prefix).map(|rest| rest.split('`').next().unwrap_or_default().to_owned());
    // The names serde lists after "expected" (`a`, `b` or `c`).
    let expected: Vec<&str> = inner
        .split_once("expected")
        .map(|(_, tail)| {
            // Between backticks: every second piece after the text before the first one.
            let mut pieces = tail.split('`');
            pieces.next();
            pieces.step_by(2).collect()
        })
        .unwrap_or_default();
    let listed = || {
        let names: Vec<String> = expected.iter().map(|n| format!("`{n}`")).collect();
        match names.as_slice() {
            [one] => one.clone(),
            [a, b] => format!("{a} or {b}"),
            _ => format!("one of: {}", names.join(", ")),
        }
    };
    if let Some(field) = quoted("unknown field `") {
        // The path may already end at the unknown key; point at the key, not its value.
        let token = format!("/{}", escape_token(&field));
        let pointer = if pointer.ends_with(&token) { pointer } else { format!("{pointer}{token}") };
        let help = if expected.is_empty() { "remove it; this mapping takes no keys".to_owned() } else { suggest(&field, expected.iter().copied(), format!("use {}", listed())) };
        return (format!("unknown key `{field}`"), true, pointer, help);
    }
    if let Some(variant) = quoted("unknown variant `") {
        let help = suggest(&variant, expected.iter().copied(), format!("use {}", listed()));
        return (format!("`{variant}` is not one of the names allowed here"), true, pointer, help);
    }
    if let Some(field) = quoted("missing field `") {
        // At the key of the mapping that lacks it (the file's first line for the root).
        return (format!("required key `{field}` is missing"), true, pointer, format!("add `{field}:`; see schema/README.md for what it holds"));
    }
    if inner.contains("untagged enum PublishTarget") {
        return ("a `publish_to` entry is either a key template or `{key: ..., optional: true}`".to_owned(), false, pointer, "write the stream key template as a string (`board:{payload.board_id}`), or a mapping with `key:` and `optional: true`".to_owned());
    }
    if let Some(rest) = inner.strip_prefix("invalid type: ") {
        let (found, wanted) = rest.split_once(", expected ").unwrap_or((rest, "another type"));
        let found = match found {
            "sequence" => "a list".to_owned(),
            "map" => "a mapping".to_owned(),
            "null" => "nothing (null)".to_owned(),
            other => other.replace('`', ""),
        };
        let (wanted, help) = if wanted.starts_with("struct ") || wanted.contains("map") {
            ("a mapping", "write `key: value` lines, indented under this key")
        } else if wanted.contains("sequence") {
            ("a list", "write a list: one `- item` line per entry, or `[a, b]`")
        } else if wanted.contains("string") {
            ("a string", "write a string; quote it when it would read as a number, `true` or `null`")
        } else if wanted.contains("bool") {
            ("`true` or `false`", "write `true` or `false`, without quotes")
        } else if wanted.starts_with(['u', 'i']) || wanted.contains("integer") {
            ("a whole number", "write a whole number, without quotes")
        } else {
            (wanted, "see schema/README.md for what this key holds; editors validate channel files through channel.schema.json")
        };
        return (format!("expected {wanted} here, found {found}"), false, pointer, help.to_owned());
    }
    (inner.to_owned(), false, pointer, "see schema/README.md for the channel-file format; editors validate it through channel.schema.json".to_owned())
}

/// Deserializes a file into its format type, turning serde's error into a located problem.
fn shape<T: DeserializeOwned>(file: &SourceFile, problems: &mut Problems) -> Option<T> {
    // Serde would read a list as a struct's fields in order, and blame the first item's type.
    if !file.value.is_object() {
        let what = if file.rel == PROJECT_FILE { "the project file" } else { "a channel file" };
        let (found, help) = match &file.value {
            Value::Array(_) => ("a list", "remove the `- ` in front of the top-level keys, so that they form one mapping (see schema/README.md)"),
            Value::Null => ("nothing", "write the file's keys, starting with those schema/README.md marks as required"),
            _ => ("a single value", "write the file as a mapping of keys such as `channel:` and `description:` (see schema/README.md)"),
        };
        problems.at(&Loc::new(file.rel.clone(), ""), format!("{what} holds one mapping of keys, but this one holds {found}"), help);
        return None;
    }
    match serde_path_to_error::deserialize::<_, T>(&file.value) {
        Ok(v) => Some(v),
        Err(e) => {
            let mut pointer = String::new();
            for seg in e.path().iter() {
                use serde_path_to_error::Segment;
                match seg {
                    Segment::Seq { index } => pointer.push_str(&format!("/{index}")),
                    Segment::Map { key } => pointer.push_str(&format!("/{}", escape_token(key))),
                    Segment::Enum { variant } => pointer.push_str(&format!("/{}", escape_token(variant))),
                    Segment::Unknown => {}
                }
            }
            let inner = e.into_inner().to_string();
            let (message, at_key, pointer, help) = explain_shape(&inner, pointer);
            let loc = Loc::new(file.rel.clone(), pointer);
            if at_key {
                problems.at_key(&loc, message, help);
            } else {
                problems.at(&loc, message, help);
            }
            None
        }
    }
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::Io { action: "reading", path: path.to_owned(), source })
}

/// Every file under `dir` (none when it does not exist), in subfolders too, sorted, keyed
/// by its path inside the schema directory (`prefix/...`).
fn files_under(dir: &Path, prefix: &str) -> Result<Vec<(String, PathBuf)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(Error::Io { action: "listing", path: dir.to_owned(), source }),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| Error::Io { action: "listing", path: dir.to_owned(), source })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        // Hidden files are editors' and tools' (swap files, `.DS_Store`, `.gitkeep`): never
        // schema, and reporting them would fail `check` while a file is open in an editor.
        if name.starts_with('.') {
            continue;
        }
        let rel = format!("{prefix}/{name}");
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path, &rel)?);
        } else {
            out.push((rel, path));
        }
    }
    out.sort();
    Ok(out)
}
