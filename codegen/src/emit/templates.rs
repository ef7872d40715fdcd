//! The templates of the text emitters: handlebars, embedded in the crate, overridable by file.
//!
//! Each template reads like the file it makes; what to say is decided in Rust (the emitters
//! build a view of the IR), the template only lays the text out. The registry is strict
//! (a name the view lacks is an error, not an empty string) and escapes nothing: the
//! output is TypeScript and Markdown, not HTML.
//!
//! A team may replace any template with its own: [`Templates::with_overrides`] reads a
//! directory whose files are named like the embedded ones (`README.md.hbs`, ...). A file
//! that matches no template, or that does not parse, is an error naming the file.

use std::collections::BTreeMap;
use std::path::Path;

use handlebars::{Context, Handlebars, Helper, HelperResult, JsonRender, Output, RenderContext};
use serde::Serialize;

use crate::error::{Error, Result};

/// Every template, by file name (its registry name is the file name without `.hbs`).
const EMBEDDED: &[(&str, &str)] = &[
    ("header.hbs", include_str!("../../templates/ts/header.hbs")),
    ("models.ts.hbs", include_str!("../../templates/ts/models.ts.hbs")),
    ("protocol.ts.hbs", include_str!("../../templates/ts/protocol.ts.hbs")),
    ("channel.ts.hbs", include_str!("../../templates/ts/channel.ts.hbs")),
    ("index.ts.hbs", include_str!("../../templates/ts/index.ts.hbs")),
    ("client.ts.hbs", include_str!("../../templates/ts/client.ts.hbs")),
    ("react.ts.hbs", include_str!("../../templates/ts/react.ts.hbs")),
    ("README.md.hbs", include_str!("../../templates/ts/README.md.hbs")),
    ("channels.md.hbs", include_str!("../../templates/docs/channels.md.hbs")),
];

/// The template set the text emitters render with.
pub struct Templates {
    registry: Handlebars<'static>,
    /// Where each overridden template came from, by file name, for error messages.
    overridden: BTreeMap<String, String>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&String> = self.registry.get_templates().keys().collect();
        names.sort();
        f.debug_struct("Templates").field("names", &names).finish()
    }
}

impl Templates {
    /// The templates built into codegen.
    pub fn embedded() -> Templates {
        let mut t = Templates { registry: registry(), overridden: BTreeMap::new() };
        for (file, text) in EMBEDDED {
            // The embedded templates parse (a unit test renders every one of them).
            if let Err(e) = t.register(file, text) {
                panic!("{e}");
            }
        }
        t
    }

    /// The embedded templates, with every file of `dir` replacing the one of the same name.
    ///
    /// # Errors
    /// [`Error::Io`] when `dir` cannot be read; [`Error::Template`] naming the file when a
    /// file matches no template or does not parse.
    pub fn with_overrides(dir: &Path) -> Result<Templates> {
        let mut t = Templates::embedded();
        let entries = std::fs::read_dir(dir).map_err(|source| Error::Io { action: "listing", path: dir.to_owned(), source })?;
        let mut paths = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| Error::Io { action: "listing", path: dir.to_owned(), source })?;
            paths.push(entry.path());
        }
        paths.sort();
        for path in paths {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
            if !EMBEDDED.iter().any(|(file, _)| *file == name) {
                let known: Vec<&str> = EMBEDDED.iter().map(|(file, _)| *file).collect();
                return Err(Error::Template { file: path.display().to_string(), reason: format!("no template is named `{name}`; the templates are {}", known.join(", ")) });
            }
            let text = std::fs::read_to_string(&path).map_err(|source| Error::Io { action: "reading", path: path.clone(), source })?;
            t.register(&path.display().to_string(), &text)?;
            t.overridden.insert(name, path.display().to_string());
        }
        Ok(t)
    }

    fn register(&mut self, file: &str, text: &str) -> Result<()> {
        let name = registry_name(file);
        self.registry.register_template_string(&name, text).map_err(|e| Error::Template { file: file.to_owned(), reason: e.to_string() })
    }

    /// Renders template `file` (e.g. `index.ts.hbs`) over `view`.
    ///
    /// # Errors
    /// [`Error::Template`] when the template names something the view lacks (strict mode).
    pub fn render(&self, file: &str, view: &impl Serialize) -> Result<String> {
        let source = self.overridden.get(file).map_or(file, String::as_str);
        self.registry.render(&registry_name(file), view).map_err(|e| Error::Template { file: source.to_owned(), reason: e.to_string() })
    }
}

/// `index.ts.hbs` → `index.ts`; partials are called by this name (`{{> header}}`).
fn registry_name(file: &str) -> String {
    let base = Path::new(file).file_name().and_then(|n| n.to_str()).unwrap_or(file);
    base.strip_suffix(".hbs").unwrap_or(base).to_owned()
}

fn registry() -> Handlebars<'static> {
    let mut h = Handlebars::new();
    h.set_strict_mode(true);
    h.register_escape_fn(handlebars::no_escape);
    h.register_helper("doc", Box::new(doc));
    h.register_helper("json", Box::new(json));
    h.register_helper("union", Box::new(union));
    h
}

/// `{{doc text "  "}}`: a TSDoc comment at the indent (one line when the text is one line),
/// with its newline; nothing for an empty text.
fn doc(h: &Helper<'_>, _: &Handlebars<'_>, _: &Context, _: &mut RenderContext<'_, '_>, out: &mut dyn Output) -> HelperResult {
    let text = h.param(0).map(|p| p.value().render()).unwrap_or_default();
    let indent = h.param(1).map(|p| p.value().render()).unwrap_or_default();
    out.write(&super::typescript::ty::doc_comment(&indent, &text))?;
    Ok(())
}

/// `{{json value}}`: the value as JSON, e.g. a string as a quoted TypeScript literal.
fn json(h: &Helper<'_>, _: &Handlebars<'_>, _: &Context, _: &mut RenderContext<'_, '_>, out: &mut dyn Output) -> HelperResult {
    let value = h.param(0).map(|p| p.value().clone()).unwrap_or_default();
    out.write(&serde_json::to_string(&value).unwrap_or_default())?;
    Ok(())
}

/// `{{union list}}`: string literals joined with ` | `, or `never` for none.
fn union(h: &Helper<'_>, _: &Handlebars<'_>, _: &Context, _: &mut RenderContext<'_, '_>, out: &mut dyn Output) -> HelperResult {
    let values: Vec<String> = h.param(0).and_then(|p| p.value().as_array().cloned()).unwrap_or_default().iter().map(|v| serde_json::to_string(v).unwrap_or_default()).collect();
    out.write(&if values.is_empty() { "never".to_owned() } else { values.join(" | ") })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_file_is_embedded() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut on_disk = Vec::new();
        for sub in ["ts", "docs"] {
            for e in std::fs::read_dir(root.join(sub)).unwrap() {
                on_disk.push(e.unwrap().file_name().to_string_lossy().into_owned());
            }
        }
        on_disk.sort();
        let mut listed: Vec<String> = EMBEDDED.iter().map(|(f, _)| (*f).to_owned()).collect();
        listed.sort();
        assert_eq!(on_disk, listed);
    }
}
