//! Emit: IR → files. Pure functions returning text; writing is a separate step.
//!
//! One module per output: [`rust`] (for `build.rs`, `quote!` + prettyplease),
//! [`typescript`] (the TypeScript package), [`schema_bundle`], [`docs`] (the Markdown
//! reference) and [`asyncapi`]; [`words`] puts rules into English for the last two, and
//! [`yaml`] writes the AsyncAPI document. The TypeScript and Markdown text comes from the
//! handlebars [`templates`], which a team may override.

pub mod asyncapi;
pub mod docs;
pub mod meta;
pub mod rust;
pub mod schema_bundle;
pub mod templates;
pub mod typescript;
pub mod words;
pub mod yaml;

use std::path::Path;

use crate::error::{Error, Result};
use crate::Ir;
use templates::Templates;

/// One generated file, by its path inside `generated/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    /// Path inside `generated/`, with `/` separators.
    pub path: String,
    /// Its content.
    pub contents: String,
}

/// Everything `cableway generate` writes under `generated/`, sorted by path.
///
/// # Errors
/// [`Error::Template`] when a template does not fit its view (an overridden one, say).
pub fn generated_files(ir: &Ir, templates: &Templates) -> Result<Vec<GeneratedFile>> {
    let mut files = typescript::render(ir, templates)?;
    files.push(GeneratedFile { path: asyncapi::PATH.into(), contents: asyncapi::render(ir) });
    files.push(GeneratedFile { path: "cableway.schema.json".into(), contents: schema_bundle::render(ir) });
    files.push(GeneratedFile { path: docs::PATH.into(), contents: docs::render(ir, templates)? });
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
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
