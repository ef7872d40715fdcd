//! Emit: IR → files. Pure functions returning text; writing is a separate step.
//!
//! One module per output: [`rust`] (for `build.rs`), [`typescript`] (types) with
//! [`ts_client`] (the client package around them), [`schema_bundle`],
//! [`docs`] (the Markdown reference) and [`asyncapi`]; [`words`] puts rules into English
//! for the last two, and [`yaml`] writes the AsyncAPI document.

pub mod asyncapi;
pub mod docs;
pub mod meta;
pub mod rust;
pub mod schema_bundle;
pub mod ts_client;
pub mod typescript;
pub mod words;
pub mod yaml;

use std::path::Path;

use crate::error::{Error, Result};
use crate::Ir;

/// One generated file, by its path inside `generated/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    /// Path inside `generated/`, with `/` separators.
    pub path: String,
    /// Its content.
    pub contents: String,
}

/// Everything `cableway generate` writes under `generated/`, sorted by path.
pub fn generated_files(ir: &Ir) -> Vec<GeneratedFile> {
    let mut files = typescript::render(ir);
    files.push(GeneratedFile { path: asyncapi::PATH.into(), contents: asyncapi::render(ir) });
    files.push(GeneratedFile { path: "cableway.schema.json".into(), contents: schema_bundle::render(ir) });
    files.push(GeneratedFile { path: docs::PATH.into(), contents: docs::render(ir) });
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

/// Writes `contents` unless the file already holds exactly that, so mtimes do not churn.
///
/// # Errors
/// [`Error::Io`] when the file or its directory cannot be written.
pub fn write_if_changed(path: &Path, contents: &str) -> Result<bool> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == contents) {
        return Ok(false);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io { action: "creating", path: dir.to_owned(), source })?;
    }
    std::fs::write(path, contents).map_err(|source| Error::Io { action: "writing", path: path.to_owned(), source })?;
    Ok(true)
}

/// Pretty JSON with a trailing newline: the one JSON style of every generated file.
pub fn pretty_json(v: &serde_json::Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}
