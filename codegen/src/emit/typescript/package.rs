//! IR → the package around the types: the client (`createClient`, one typed property per
//! channel), the React entry point (one hook per channel), `package.json` and the README.
//!
//! `client.ts`, `react.ts` and `README.md` are templates; `package.json` is JSON.

use serde::Serialize;
use serde_json::json;

use crate::error::Result;
use crate::ident;
use crate::ir::{ChannelIr, HookIr, Ir};

use super::super::templates::Templates;
use super::super::GeneratedFile;
use super::ty::{example, first_line, ts_ty};
use super::ChannelRef;

/// Dev dependencies of the generated package (the versions `tests/node` installs).
pub const DEV_DEPENDENCIES: &[(&str, &str)] = &[("@types/react", "19.3.0"), ("react", "19.3.1"), ("typescript", "5.9.3")];

/// `useAiOrchestrationChannel`.
pub fn hook_name(ch: &ChannelIr) -> String {
    crate::runtime::default_hook_name(&ch.prefix)
}

/// `client.ts`, `react.ts`, `package.json` and `README.md`.
///
/// # Errors
/// [`crate::Error::Template`] when a template does not fit its view.
pub fn render(ir: &Ir, templates: &Templates) -> Result<Vec<GeneratedFile>> {
    let package = PackageView::of(ir);
    let readme = templates.render("README.md.hbs", &package)?;
    Ok(vec![
        GeneratedFile { path: "ts/src/client.ts".into(), contents: templates.render("client.ts.hbs", &package)? },
        GeneratedFile { path: "ts/src/react.ts".into(), contents: templates.render("react.ts.hbs", &package)? },
        GeneratedFile { path: "ts/package.json".into(), contents: package_json(ir) },
        GeneratedFile { path: "ts/README.md".into(), contents: format!("{}\n", readme.trim_end()) },
    ])
}

/// What `client.ts`, `react.ts` and the README read.
#[derive(Serialize)]
struct PackageView<'a> {
    package: &'a str,
    version: &'a str,
    description: &'a str,
    channel_count: usize,
    /// The channel the README's first examples use: the first with events and actions.
    example: ExampleView,
    channels: Vec<ChannelView<'a>>,
}

#[derive(Serialize)]
struct ChannelView<'a> {
    #[serde(flatten)]
    names: ChannelRef<'a>,
    /// The README anchor of its section.
    anchor: String,
    property: String,
    hook: String,
    /// The default hook is declared in `client.hooks` too (with a doc of its own).
    hook_declared: bool,
    /// The named hooks of `client.hooks`.
    hooks: Vec<HookView>,
    /// The client property's doc: wire name and first line of the description.
    summary: String,
    description: &'a str,
    params: String,
    event_count: usize,
    action_count: usize,
    example: ExampleView,
    events: Vec<EventRow<'a>>,
    actions: Vec<ActionRow<'a>>,
}

/// A named hook: its params type and the params it subscribes with.
#[derive(Serialize)]
struct HookView {
    name: String,
    /// Its doc comment.
    doc: String,
    params_type: String,
    /// The expression passed to `useChannel`.
    subscribe_params: String,
}

/// The README's code example of a channel.
#[derive(Serialize)]
struct ExampleView {
    /// The channel's wire name.
    wire: String,
    property: String,
    hook: String,
    params_example: String,
    first_event: Option<FirstEvent>,
    first_action: Option<FirstAction>,
    /// The handlers of the hook example.
    handler: String,
}

#[derive(Serialize)]
struct FirstEvent {
    key: String,
    payload: String,
}

#[derive(Serialize)]
struct FirstAction {
    name: String,
    request_example: String,
}

#[derive(Serialize)]
struct EventRow<'a> {
    name: &'a str,
    payload: String,
    summary: String,
}

#[derive(Serialize)]
struct ActionRow<'a> {
    name: &'a str,
    request: String,
    reply: String,
    errors: String,
    summary: String,
}

impl<'a> PackageView<'a> {
    fn of(ir: &'a Ir) -> Self {
        let example_ch = ir.channels.iter().find(|c| !c.actions.is_empty() && !c.events.is_empty()).or_else(|| ir.channels.first());
        PackageView {
            package: &ir.package.name,
            version: &ir.package.version,
            description: &ir.package.description,
            channel_count: ir.channels.len(),
            example: example_ch.map(|ch| example_of(ir, ch)).unwrap_or_else(|| ExampleView {
                wire: String::new(),
                property: String::new(),
                hook: String::new(),
                params_example: "{}".into(),
                first_event: None,
                first_action: None,
                handler: "{}".into(),
            }),
            channels: ir.channels.iter().map(|ch| channel(ir, ch)).collect(),
        }
    }
}

fn example_of(ir: &Ir, ch: &ChannelIr) -> ExampleView {
    ExampleView {
        wire: ch.name.clone(),
        property: ident::channel_property(&ch.name),
        hook: hook_name(ch),
        params_example: example(ir, &ch.params, 0),
        first_event: ch.events.first().map(|e| FirstEvent { key: ident::ts_key(&e.name), payload: ts_ty(&e.payload, "") }),
        first_action: ch.actions.first().map(|a| FirstAction { name: a.name.clone(), request_example: example(ir, &a.request, 0) }),
        handler: ch.events.first().map(|e| format!("{{ {}: (payload) => {{ /* … */ }} }}", ident::ts_key(&e.name))).unwrap_or_else(|| "{}".into()),
    }
}

fn channel<'a>(ir: &'a Ir, ch: &'a ChannelIr) -> ChannelView<'a> {
    let code = |ty: String| ty.replace('|', "\\|");
    ChannelView {
        names: ChannelRef::of(ch),
        anchor: ch.name.to_lowercase(),
        property: ident::channel_property(&ch.name),
        hook: hook_name(ch),
        hook_declared: ch.hooks.iter().any(|h| h.name == hook_name(ch)),
        hooks: ch.hooks.iter().map(|h| hook(ch, h)).collect(),
        summary: format!("`{}`: {}", ch.name, first_line(&ch.description)),
        description: ch.description.trim(),
        params: ts_ty(&ch.params, ""),
        event_count: ch.events.len(),
        action_count: ch.actions.len(),
        example: example_of(ir, ch),
        events: ch.events.iter().map(|e| EventRow { name: &e.name, payload: code(ts_ty(&e.payload, "")), summary: cell(&e.description) }).collect(),
        actions: ch
            .actions
            .iter()
            .map(|a| ActionRow {
                name: &a.name,
                request: code(ts_ty(&a.request, "")),
                reply: a.reply.as_ref().map_or_else(|| "`null`".to_owned(), |r| format!("`{}`", code(ts_ty(r, "")))),
                errors: if a.errors.is_empty() { "built-in only".to_owned() } else { a.errors.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(", ") },
                summary: cell(&a.description),
            })
            .collect(),
    }
}

fn hook(ch: &ChannelIr, h: &HookIr) -> HookView {
    let fixed = h.params.iter().map(|(k, v)| format!("{}: {v}", ident::ts_key(k))).collect::<Vec<_>>().join(", ");
    let with = if fixed.is_empty() { String::new() } else { format!(" with `{{ {fixed} }}`") };
    let purpose = if h.description.trim().is_empty() { String::new() } else { format!("{} ", h.description.trim()) };
    HookView {
        name: h.name.clone(),
        doc: format!("{purpose}Subscribes to `{}`{with} while the component is mounted (none while `params` is null or undefined); the latest `handlers` receive its events.", ch.name),
        params_type: if h.params.is_empty() {
            format!("{}.Params", ch.prefix)
        } else {
            format!("Omit<{}.Params, {}>", ch.prefix, h.params.keys().map(|k| serde_json::to_string(k).unwrap_or_default()).collect::<Vec<_>>().join(" | "))
        },
        subscribe_params: if h.params.is_empty() { "params".to_owned() } else { format!("params === null || params === undefined ? params : {{ ...params, {fixed} }}") },
    }
}

fn cell(text: &str) -> String {
    first_line(text).replace('|', "\\|")
}

fn package_json(ir: &Ir) -> String {
    let entry = |name: &str| json!({ "types": format!("./dist/{name}.d.ts"), "import": format!("./dist/{name}.js"), "default": format!("./dist/{name}.js") });
    let dev: serde_json::Map<String, serde_json::Value> = DEV_DEPENDENCIES.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect();
    let mut pkg = json!({
        "name": ir.package.name,
        "version": ir.package.version,
        "description": ir.package.description,
        "type": "module",
        "sideEffects": false,
        "main": "./dist/index.js",
        "types": "./dist/index.d.ts",
        "exports": {
            ".": entry("index"),
            "./react": entry("react"),
            "./package.json": "./package.json"
        },
        "files": ["dist", "src", "README.md"],
        "scripts": { "build": "tsc -p .", "prepack": "tsc -p ." },
        "peerDependencies": { "react": ">=18" },
        "peerDependenciesMeta": { "react": { "optional": true } },
        "devDependencies": dev
    });
    if ir.package.description.is_empty() {
        if let Some(o) = pkg.as_object_mut() {
            o.remove("description");
        }
    }
    super::super::pretty_json(&pkg)
}

