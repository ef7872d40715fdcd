//! IR → the TypeScript package under `ts/`: types (models, protocol, one module per
//! channel, the index), the runtime, and the package around them ([`package`]).
//!
//! Every file with text of its own is a template (`codegen/templates/ts/`); this module
//! builds the view each template reads: names, type expressions ([`ty`]) and docs, all
//! decided here. A channel module exports its types (params, events as a discriminated
//! union on the event name, actions with replies and errors, the envelope) and the few
//! constants the client needs at run time (`NAME`, `EVENT_NAMES`, `CHANNEL`). The
//! channel-independent runtime (`codegen/templates/runtime/`, listed in
//! [`crate::runtime::RUNTIME_FILES`]) is written out verbatim under `ts/src/runtime/`.

pub mod package;
pub mod ty;

use serde::Serialize;
use serde_json::Value;

use crate::error::Result;
use crate::ident;
use crate::ir::types::{Additional, Ty, TypeDef};
use crate::ir::{ChannelIr, Fill, Ir};
use crate::runtime::{Exports, BUILTIN_ACTION_ERRORS, CLIENT_EXPORTS, RUNTIME_FILES};

use super::templates::Templates;
use super::GeneratedFile;
use ty::ts_ty;

/// Renders every file under `ts/`.
///
/// # Errors
/// [`crate::Error::Template`] when a template does not fit its view.
pub fn render(ir: &Ir, templates: &Templates) -> Result<Vec<GeneratedFile>> {
    let file = |path: String, contents: String| GeneratedFile { path, contents };
    let mut files = vec![
        file("ts/src/models.ts".into(), templates.render("models.ts.hbs", &models(ir))?),
        file("ts/src/protocol.ts".into(), templates.render("protocol.ts.hbs", &serde_json::json!({ "builtin_errors": BUILTIN_ACTION_ERRORS }))?),
        file("ts/src/index.ts".into(), templates.render("index.ts.hbs", &index(ir))?),
        file("ts/tsconfig.json".into(), tsconfig()),
    ];
    for ch in &ir.channels {
        files.push(file(format!("ts/src/channels/{}.ts", ch.module), templates.render("channel.ts.hbs", &channel(ir, ch))?));
    }
    let header = templates.render("header.hbs", &Value::Null)?;
    for f in RUNTIME_FILES {
        files.push(file(format!("ts/src/runtime/{}", f.name), format!("{header}{}", f.source)));
    }
    files.extend(package::render(ir, templates)?);
    Ok(files)
}

fn tsconfig() -> String {
    super::pretty_json(&serde_json::json!({
        "compilerOptions": {
            "target": "ES2022",
            "module": "ES2022",
            "moduleResolution": "bundler",
            "lib": ["ES2022"],
            "types": [],
            "strict": true,
            "declaration": true,
            "stripInternal": true,
            "outDir": "dist",
            "rootDir": "src",
            "skipLibCheck": false,
            "noUnusedLocals": true,
            "noImplicitOverride": true,
            "noFallthroughCasesInSwitch": true,
            "exactOptionalPropertyTypes": false
        },
        "include": ["src/**/*.ts"]
    }))
}

#[derive(Serialize)]
struct ModelsView {
    types: Vec<TypeView>,
}

#[derive(Serialize)]
struct TypeView {
    name: String,
    description: Option<String>,
    /// An interface (else a type alias of `ty`).
    object: bool,
    fields: Vec<FieldView>,
    index_signature: bool,
    ty: String,
}

#[derive(Serialize)]
struct FieldView {
    key: String,
    description: Option<String>,
    required: bool,
    ty: String,
}

fn models(ir: &Ir) -> ModelsView {
    ModelsView { types: ir.types.values().map(type_view).collect() }
}

fn type_view(def: &TypeDef) -> TypeView {
    let (fields, index_signature) = match &def.ty {
        Ty::Object(obj) => {
            let fields = obj.fields.iter().map(|f| FieldView { key: ident::ts_key(&f.name), description: f.description.clone(), required: f.required, ty: ts_ty(&f.ty, "") }).collect();
            (fields, !matches!(obj.additional, Additional::Closed))
        }
        _ => (Vec::new(), false),
    };
    TypeView { name: def.name.clone(), description: def.description.clone(), object: matches!(def.ty, Ty::Object(_)), fields, index_signature, ty: ts_ty(&def.ty, "") }
}

#[derive(Serialize)]
struct IndexView<'a> {
    package: &'a str,
    version: &'a str,
    channels: Vec<ChannelRef<'a>>,
    exports: Vec<ExportView>,
}

/// A channel as the files that import every channel see it.
#[derive(Serialize)]
pub(crate) struct ChannelRef<'a> {
    name: &'a str,
    prefix: &'a str,
    module: &'a str,
}

impl<'a> ChannelRef<'a> {
    pub(crate) fn of(ch: &'a ChannelIr) -> Self {
        ChannelRef { name: &ch.name, prefix: &ch.prefix, module: &ch.module }
    }
}

/// One `export { .. } from ".."` line of `index.ts`.
#[derive(Serialize)]
struct ExportView {
    types: bool,
    names: String,
    from: String,
}

/// Lists longer than this are written one name a line.
const ONE_NAME_A_LINE_ABOVE: usize = 10;

fn export_lines(exports: &Exports, from: &str, out: &mut Vec<ExportView>) {
    for (types, names) in [(false, exports.values), (true, exports.types)] {
        if names.is_empty() {
            continue;
        }
        let names = if names.len() > ONE_NAME_A_LINE_ABOVE { format!("{{\n{}}}", names.iter().map(|n| format!("  {n},\n")).collect::<String>()) } else { format!("{{ {} }}", names.join(", ")) };
        out.push(ExportView { types, names, from: from.to_owned() });
    }
}

fn index(ir: &Ir) -> IndexView<'_> {
    let mut exports = Vec::new();
    export_lines(&CLIENT_EXPORTS, "./client.js", &mut exports);
    for f in RUNTIME_FILES {
        export_lines(&f.exports, &format!("./runtime/{}.js", f.name.trim_end_matches(".ts")), &mut exports);
    }
    IndexView { package: &ir.package.name, version: &ir.package.version, channels: ir.channels.iter().map(ChannelRef::of).collect(), exports }
}

#[derive(Serialize)]
struct ChannelView<'a> {
    name: &'a str,
    description: &'a str,
    property: String,
    params: String,
    events: Vec<EventView<'a>>,
    actions: Vec<ActionView<'a>>,
    event_key: &'a str,
    payload_key: &'a str,
}

#[derive(Serialize)]
struct EventView<'a> {
    name: &'a str,
    description: &'a str,
    payload: String,
    /// The envelope's fields, `readonly event: "x"; readonly payload: Events["x"]; ...`.
    envelope: String,
}

#[derive(Serialize)]
struct ActionView<'a> {
    name: &'a str,
    description: &'a str,
    request: String,
    reply: String,
    errors: &'a [String],
}

fn channel<'a>(ir: &'a Ir, ch: &'a ChannelIr) -> ChannelView<'a> {
    let key_of = |fill: Fill, default: &'static str| ir.envelope.iter().find(|f| f.fill == fill).map_or(default, |f| f.name.as_str());
    let events = ch
        .events
        .iter()
        .map(|e| {
            let name = serde_json::to_string(&e.name).unwrap_or_default();
            let fields: Vec<String> = ir
                .envelope
                .iter()
                .map(|f| {
                    let opt = if f.required { "" } else { "?" };
                    let ty = match f.fill {
                        Fill::Event => name.clone(),
                        Fill::Payload => format!("Events[{name}]"),
                        Fill::ResourceType | Fill::ResourceId | Fill::Timestamp => "string".into(),
                    };
                    format!("readonly {}{opt}: {ty}", ident::ts_key(&f.name))
                })
                .collect();
            EventView { name: &e.name, description: &e.description, payload: ts_ty(&e.payload, "M."), envelope: fields.join("; ") }
        })
        .collect();
    let actions = ch
        .actions
        .iter()
        .map(|a| ActionView {
            name: &a.name,
            description: &a.description,
            request: ts_ty(&a.request, "M."),
            reply: a.reply.as_ref().map_or_else(|| "null".into(), |r| ts_ty(r, "M.")),
            errors: &a.errors,
        })
        .collect();
    ChannelView {
        name: &ch.name,
        description: &ch.description,
        property: ident::channel_property(&ch.name),
        params: ts_ty(&ch.params, "M."),
        events,
        actions,
        event_key: key_of(Fill::Event, "event"),
        payload_key: key_of(Fill::Payload, "payload"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names `index.ts` exports, from its rendered text.
    fn exported(text: &str) -> Vec<String> {
        let mut names = Vec::new();
        for block in text.split("export ").skip(1) {
            let Some(inner) = block.split_once('{').and_then(|(_, r)| r.split_once('}')).map(|(i, _)| i) else { continue };
            names.extend(inner.split(',').map(|n| n.trim().trim_start_matches("type ").to_owned()).filter(|n| !n.is_empty()));
        }
        names
    }

    #[test]
    fn the_reserved_names_cover_every_root_export() {
        let ir = crate::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/base/schema")).unwrap();
        let files = render(&ir, &Templates::embedded()).unwrap();
        let text = |path: &str| files.iter().find(|f| f.path == path).map(|f| f.contents.clone()).unwrap();
        let names = exported(&text("ts/src/index.ts"));
        assert!(names.len() > 30, "{names:?}");
        for n in &names {
            assert!(crate::runtime::is_reserved_export(n), "`{n}` is exported by index.ts but not reserved");
        }
        for n in crate::runtime::INDEX_NAMES {
            assert!(text("ts/src/index.ts").contains(&format!("export const {n} ")) || text("ts/src/index.ts").contains(&format!("export type {n} ")), "index.ts declares {n}");
        }
        for n in crate::runtime::PROTOCOL_NAMES {
            assert!(text("ts/src/protocol.ts").contains(&format!("export type {n}")) || text("ts/src/protocol.ts").contains(&format!("export interface {n}")), "protocol.ts declares {n}");
        }
    }
}
