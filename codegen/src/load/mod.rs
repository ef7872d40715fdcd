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

use crate::diag::{escape_token, Loc, Problems};
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

/// Deserializes a file into its format type, turning serde's error into a located problem.
fn shape<T: DeserializeOwned>(file: &SourceFile, problems: &mut Problems) -> Option<T> {
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
            let quoted = |prefix: &str| inner.strip_prefix(prefix).map(|rest| rest.split('`').next().unwrap_or_default().to_owned());
            let (message, at_key, pointer) = if let Some(field) = quoted("unknown field `") {
                // The path may already end at the unknown key; point at the key, not its value.
                let token = format!("/{}", escape_token(&field));
                let pointer = if pointer.ends_with(&token) { pointer } else { format!("{pointer}{token}") };
                (format!("unknown key `{field}`"), true, pointer)
            } else if let Some(variant) = quoted("unknown variant `") {
                (format!("`{variant}` is not one of the names allowed here"), true, pointer)
            } else if let Some(field) = quoted("missing field `") {
                // At the key of the mapping that lacks it (the file's first line for the root).
                (format!("required key `{field}` is missing"), true, pointer)
            } else {
                (inner.clone(), false, pointer)
            };
            let help = if let Some(i) = inner.find("expected one of") {
                format!("use one of: {}", &inner[i + "expected one of ".len()..])
            } else if let (Some(_), Some(i)) = (quoted("unknown variant `"), inner.find(", expected `")) {
                format!("use {}", &inner[i + ", expected ".len()..])
            } else if let Some(field) = quoted("missing field `") {
                format!("add `{field}:`; see schema/README.md for what it holds")
            } else {
                "see schema/README.md for the channel-file format; editors validate it through channel.schema.json".to_owned()
            };
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
        let rel = format!("{prefix}/{}", entry.file_name().to_string_lossy());
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
