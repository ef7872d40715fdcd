//! Load: read `schema/` into positioned JSON values and the typed file format.
//!
//! Reads `cableway.yaml`, `channels/*.yaml` and `models/*.json` (sorted, so every later
//! step is deterministic), parses each with positions, and deserializes the project and
//! channel files into [`crate::format`] types. Nothing is checked here beyond the shape of
//! the files; references are resolved by [`refs`].

pub mod refs;
pub mod yaml;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::diag::{escape_token, Loc, Problems};
use crate::error::{Diagnostic, Diagnostics, Error, Result};
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

/// Reads a schema directory from disk.
///
/// # Errors
/// [`Error::Io`] when a file cannot be read; [`Error::Invalid`] when a file does not parse
/// or does not have the channel-file shape.
pub fn load_dir(dir: &Path) -> Result<Loaded> {
    let mut texts = BTreeMap::new();
    let project = dir.join(PROJECT_FILE);
    texts.insert(PROJECT_FILE.to_owned(), read(&project)?);
    for sub in ["channels", "models"] {
        let ext = if sub == "channels" { "yaml" } else { "json" };
        for path in list(&dir.join(sub), ext)? {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
            texts.insert(format!("{sub}/{name}"), read(&path)?);
        }
    }
    load_texts(&dir.display().to_string(), texts)
}

/// Parses a schema set given as file texts keyed by their path inside the schema directory.
///
/// # Errors
/// [`Error::Invalid`] with every parse and shape problem found.
pub fn load_texts(display_dir: &str, texts: BTreeMap<String, String>) -> Result<Loaded> {
    let mut problems = Problems::default();
    let mut files = BTreeMap::new();
    for (rel, text) in texts {
        match yaml::parse(&text) {
            Ok((value, map)) => {
                files.insert(rel.clone(), SourceFile { rel, value, map });
            }
            Err(e) => {
                let json = rel.ends_with(".json");
                let help = if e.message.starts_with("duplicate key") {
                    "remove or rename one of the two keys; a mapping cannot repeat a key (the parser would silently keep only one)"
                } else if json {
                    "fix the JSON syntax: look for a missing or extra `,`, or an unclosed `{`, `[` or `\"` at or before this position"
                } else {
                    "fix the YAML syntax: indent with spaces, and close every `{`, `[` and quote opened at or before this line"
                };
                let message = match e.message.strip_prefix("not valid YAML") {
                    Some(rest) if json => format!("not valid JSON{rest}"),
                    _ => e.message,
                };
                let d = Diagnostic {
                    file: crate::diag::display_path(display_dir, &rel),
                    position: e.position,
                    message,
                    help: help.into(),
                };
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
        None => Default::default(),
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

fn list(dir: &Path, ext: &str) -> Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(Error::Io { action: "listing", path: dir.to_owned(), source }),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| Error::Io { action: "listing", path: dir.to_owned(), source })?;
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) == Some(ext) {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}
