//! IR → the runtime half of the TypeScript package: the client (`createClient`, one typed
//! property per channel), the React entry point (one hook per channel), `package.json` and
//! the README.
//!
//! The channel-independent runtime (connection, backoff, offline queue, React provider) is
//! TypeScript kept in `codegen/templates/runtime/` and written out verbatim under
//! `ts/src/runtime/`; everything that names a channel is generated here.

use std::fmt::Write as _;

use serde_json::json;

use crate::ident;
use crate::ir::types::Ty;
use crate::ir::{ChannelIr, Ir};

use super::typescript::{doc_comment, first_line, HEADER};
use super::GeneratedFile;

/// The runtime templates, by file name under `ts/src/runtime/`.
const RUNTIME: &[(&str, &str)] = &[
    ("backoff.ts", include_str!("../../templates/runtime/backoff.ts")),
    ("cable.ts", include_str!("../../templates/runtime/cable.ts")),
    ("connection.ts", include_str!("../../templates/runtime/connection.ts")),
    ("errors.ts", include_str!("../../templates/runtime/errors.ts")),
    ("identifier.ts", include_str!("../../templates/runtime/identifier.ts")),
    ("protocol.ts", include_str!("../../templates/runtime/protocol.ts")),
    ("queue.ts", include_str!("../../templates/runtime/queue.ts")),
    ("react.ts", include_str!("../../templates/runtime/react.ts")),
    ("registry.ts", include_str!("../../templates/runtime/registry.ts")),
    ("subscription.ts", include_str!("../../templates/runtime/subscription.ts")),
    ("timers.ts", include_str!("../../templates/runtime/timers.ts")),
    ("token.ts", include_str!("../../templates/runtime/token.ts")),
    ("types.ts", include_str!("../../templates/runtime/types.ts")),
];

/// Dev dependencies of the generated package (the versions `tests/node` installs).
pub const DEV_DEPENDENCIES: &[(&str, &str)] = &[("@types/react", "19.3.0"), ("react", "19.3.1"), ("typescript", "5.9.3")];

/// Members of the generated client class; a channel property may not take one of these names.
pub const CLIENT_MEMBERS: &[&str] = &[
    "channel",
    "connect",
    "constructor",
    "disconnect",
    "hasOwnProperty",
    "isPrototypeOf",
    "onStateChange",
    "propertyIsEnumerable",
    "setToken",
    "status",
    "subscribe",
    "toLocaleString",
    "toString",
    "valueOf",
    "_perform",
    "_release",
    "_report",
];

/// Names the package root exports besides the models and the channel namespaces; no model
/// type or channel namespace may take one of these names.
pub const RUNTIME_EXPORTS: &[&str] = &[
    "ActionError",
    "ActionErrorBody",
    "ActionErrorDetail",
    "ActionNameOf",
    "ActionReply",
    "AnyEnvelopeOf",
    "BuiltinActionError",
    "Cable",
    "CableClient",
    "CableClientError",
    "CableOptions",
    "ChannelApi",
    "ChannelDef",
    "ChannelHandlers",
    "ChannelName",
    "ChannelSpec",
    "ChannelSubscription",
    "CHANNEL_NAMES",
    "ClientErrorCode",
    "ConnectedInfo",
    "ConnectionState",
    "ConnectionStatus",
    "DEFAULT_RECONNECT",
    "EnvelopeOf",
    "ErrorCodeOf",
    "EventHandlers",
    "EventNameOf",
    "LifecycleHandlers",
    "PerformOptions",
    "PerformResult",
    "PROTOCOL_EXT",
    "PROTOCOL_V1",
    "QueueFullError",
    "ReconnectOptions",
    "ReconnectPolicy",
    "RejectedInfo",
    "ReplyOf",
    "RequestOf",
    "ResyncInfo",
    "SCHEMA_VERSION",
    "SubscriptionState",
    "TimerHandle",
    "Timers",
    "TokenProvider",
    "TokenRequest",
    "UnknownMessageInfo",
    "WebSocketConstructor",
    "WebSocketLike",
    "backoffDelay",
    "canonicalIdentifier",
    "createClient",
    "reconnectPolicy",
    "stableStringify",
    "systemTimers",
];

/// `useAiOrchestrationChannel`.
pub fn hook_name(ch: &ChannelIr) -> String {
    format!("use{}Channel", ch.prefix)
}

/// Every file of the client: runtime templates, `client.ts`, `react.ts`, `package.json`, `README.md`.
pub fn render(ir: &Ir) -> Vec<GeneratedFile> {
    let mut files: Vec<GeneratedFile> = RUNTIME.iter().map(|(name, text)| GeneratedFile { path: format!("ts/src/runtime/{name}"), contents: format!("{HEADER}{text}") }).collect();
    files.push(GeneratedFile { path: "ts/src/client.ts".into(), contents: client(ir) });
    files.push(GeneratedFile { path: "ts/src/react.ts".into(), contents: react(ir) });
    files.push(GeneratedFile { path: "ts/package.json".into(), contents: package_json(ir) });
    files.push(GeneratedFile { path: "ts/README.md".into(), contents: readme(ir) });
    files
}

/// The root exports of the runtime, appended to `index.ts`.
pub fn index_exports() -> &'static str {
    r#"
export { CableClient, createClient } from "./client.js";
export { Cable, PROTOCOL_EXT, PROTOCOL_V1 } from "./runtime/cable.js";
export type { CableOptions, ConnectionState, ConnectionStatus, TokenProvider, TokenRequest, WebSocketConstructor, WebSocketLike } from "./runtime/cable.js";
export { ActionError, CableClientError, QueueFullError } from "./runtime/errors.js";
export type { ActionErrorDetail, ClientErrorCode } from "./runtime/errors.js";
export { DEFAULT_RECONNECT, backoffDelay, reconnectPolicy } from "./runtime/backoff.js";
export type { ReconnectOptions, ReconnectPolicy } from "./runtime/backoff.js";
export { systemTimers } from "./runtime/timers.js";
export type { TimerHandle, Timers } from "./runtime/timers.js";
export { canonicalIdentifier, stableStringify } from "./runtime/identifier.js";
export type {
  ActionNameOf,
  AnyEnvelopeOf,
  ChannelApi,
  ChannelDef,
  ChannelHandlers,
  ChannelSpec,
  ChannelSubscription,
  ConnectedInfo,
  EnvelopeOf,
  ErrorCodeOf,
  EventHandlers,
  EventNameOf,
  LifecycleHandlers,
  PerformOptions,
  PerformResult,
  RejectedInfo,
  ReplyOf,
  RequestOf,
  ResyncInfo,
  SubscriptionState,
  UnknownMessageInfo,
} from "./runtime/types.js";
"#
}

fn client(ir: &Ir) -> String {
    let mut out = String::from(HEADER);
    let _ = writeln!(out, "// {} {}: the client, one typed property per channel.\n", ir.package.name, ir.package.version);
    out.push_str("import { Cable, type CableOptions } from \"./runtime/cable.js\";\nimport type { ChannelApi } from \"./runtime/types.js\";\n");
    for ch in &ir.channels {
        let _ = writeln!(out, "import * as {} from \"./channels/{}.js\";", ch.prefix, ch.module);
    }
    out.push_str("\n/**\n * The client: one WebSocket, every subscription multiplexed over it, and one typed entry\n * point per channel (`client.aiOrchestration.subscribe(params, handlers)`).\n */\nexport class CableClient extends Cable {\n");
    for ch in &ir.channels {
        doc_comment(&mut out, "  ", Some(&format!("`{}`: {}", ch.name, first_line(&ch.description))));
        let _ = writeln!(out, "  readonly {}: ChannelApi<{}.Spec> = this.channel({}.CHANNEL);", ident::channel_property(&ch.name), ch.prefix, ch.prefix);
    }
    out.push_str("}\n\n");
    out.push_str(
        "/**\n * Creates the client and (unless `autoConnect: false`) connects. Create one per logged-in\n * user and call `disconnect()` at logout.\n *\n * ```ts\n * const client = createClient({ url: \"wss://example.com/cable\", token: () => auth.freshToken() });\n * ```\n */\nexport function createClient(options: CableOptions): CableClient {\n  return new CableClient(options);\n}\n",
    );
    out
}

fn react(ir: &Ir) -> String {
    let mut out = String::from(HEADER);
    let _ = writeln!(out, "// {} {}/react: provider, connection status and one hook per channel.\n", ir.package.name, ir.package.version);
    out.push_str("import type { ReactElement } from \"react\";\n\n");
    out.push_str("import type { CableClient } from \"./client.js\";\nimport { CableProvider as Provider, useCable, useCableClient as useClient, useChannel } from \"./runtime/react.js\";\nimport type { CableProviderProps, ChannelHookResult } from \"./runtime/react.js\";\n");
    for ch in &ir.channels {
        let _ = writeln!(out, "import * as {} from \"./channels/{}.js\";", ch.prefix, ch.module);
    }
    out.push_str("\nexport { useCable, useChannel };\nexport type { CableProviderProps, ChannelHookResult };\n\n");
    out.push_str("/** Makes `client` available to the hooks of its subtree. */\nexport function CableProvider(props: CableProviderProps<CableClient>): ReactElement {\n  return Provider(props);\n}\n\n");
    out.push_str("/** The client of the nearest `CableProvider`. */\nexport function useCableClient(): CableClient {\n  return useClient<CableClient>();\n}\n");
    for ch in &ir.channels {
        let _ = writeln!(
            out,
            "\n/**\n * Subscribes to `{}` while the component is mounted (none while `params` is null or\n * undefined); the latest `handlers` receive its events.\n */\nexport function {}(params: {p}.Params | null | undefined, handlers: {p}.Handlers = {{}}): ChannelHookResult<{p}.Spec> {{\n  return useChannel({p}.CHANNEL, params, handlers);\n}}",
            ch.name,
            hook_name(ch),
            p = ch.prefix
        );
    }
    out
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
    super::pretty_json(&pkg)
}

/// A JavaScript literal of an example value of `ty` (required fields only).
fn example(ir: &Ir, ty: &Ty, depth: usize) -> String {
    match ty {
        Ty::Bool => "true".into(),
        Ty::Integer { min, .. } => min.map_or(1, |m| m.max(1)).to_string(),
        Ty::Number => "1".into(),
        Ty::String { format: Some(f), .. } if f == "uuid" => "\"3f2a…\"".into(),
        Ty::String { format: Some(f), .. } if f == "date-time" => "\"2026-01-01T00:00:00Z\"".into(),
        Ty::String { .. } => "\"…\"".into(),
        Ty::Enum { values, .. } => values.first().map_or_else(|| "\"…\"".into(), |v| serde_json::to_string(v).unwrap_or_default()),
        Ty::Const(v) => v.to_string(),
        Ty::Array(_) => "[]".into(),
        Ty::Map(_) | Ty::Any => "{}".into(),
        Ty::Nullable(_) => "null".into(),
        Ty::Named(n) => match ir.types.get(n) {
            Some(def) if depth < 4 => example(ir, &def.ty, depth + 1),
            _ => "{}".into(),
        },
        Ty::Object(obj) => {
            let fields: Vec<String> = obj.fields.iter().filter(|f| f.required).map(|f| format!("{}: {}", ident::ts_key(&f.name), example(ir, &f.ty, depth + 1))).collect();
            if fields.is_empty() {
                "{}".into()
            } else {
                format!("{{ {} }}", fields.join(", "))
            }
        }
    }
}

fn cell(text: &str) -> String {
    first_line(text).replace('|', "\\|")
}

fn readme(ir: &Ir) -> String {
    let mut out = String::new();
    let name = &ir.package.name;
    let _ = writeln!(out, "# {name}\n");
    if !ir.package.description.is_empty() {
        let _ = writeln!(out, "{}\n", ir.package.description);
    }
    let _ = writeln!(
        out,
        "Version {} · {} channels · generated by `cableway generate` from `schema/`; do not edit.\n\nZero runtime dependencies; ES modules with type declarations. React bindings live in the\nseparate entry point `{name}/react` (`react` is an optional peer dependency).\n",
        ir.package.version,
        ir.channels.len()
    );
    out.push_str(
        "## Build\n\n```sh\nnpm install && npm run build   # tsc: dist/*.js and dist/*.d.ts\n```\n\n## Connect\n\n```ts\nimport { createClient } from \"",
    );
    out.push_str(name);
    out.push_str(
        "\";\n\nconst client = createClient({\n  url: \"wss://example.com/cable\",\n  // A string, or a (possibly async) provider. The provider is called for the first\n  // connection and once more when the server answers `unauthorized` or `token_expired`.\n  token: async ({ refresh }) => (refresh ? await auth.refresh() : auth.token()),\n  // In Node: import WebSocket from \"ws\" and pass it here.\n  // WebSocket,\n});\n\nclient.onStateChange((s) => console.log(s.state, s.reason)); // connecting, connected, reconnecting, closed\n// At logout: closes the socket, ends every subscription, rejects queued performs.\nclient.disconnect();\n```\n\n\
One client keeps **one WebSocket** and multiplexes every subscription over it. Subscribing\ntwice to the same channel with the same params (in any key order) shares one server\nsubscription; the last `unsubscribe()` sends `unsubscribe`.\n\n\
| concern | behaviour | option |\n|---|---|---|\n\
| protocol | `actioncable-v1-ext-json` (stream positions, history, session resume), falls back to `actioncable-v1-json` | `protocol: \"v1\"` offers only v1 |\n\
| reconnect | backoff 1 s, 2 s, 4 s … capped at 30 s, ±25 % jitter, 10 attempts then `closed` (`gave_up`) | `reconnect: { baseDelayMs, maxDelayMs, jitter, maxAttempts: Infinity }` |\n\
| dead connection | no frame for 6 s (the server pings every 3 s) → reconnect | `staleAfterMs` |\n\
| missed events | on reconnection the session is resumed (`?sid=`) or each subscription resubscribes asking for `history` from its last stream offsets; if the server cannot replay, `onResync` fires: reload | `resumeSession: false` |\n\
| token | `unauthorized` / `token_expired` → the provider is called once with `refresh: true`, then the client reconnects | `token`, `tokenParam` |\n\
| offline | `perform` while offline waits in a bounded queue, sent on reconnection; one more rejects with `QueueFullError` | `offlineQueueLimit` (100) |\n\
| replies | `perform` resolves with the typed reply or rejects with `ActionError` (`code`, `message`, `details`) | `replyTimeoutMs` (30 s) |\n\
| tests | inject the WebSocket class, a fake clock and the jitter's random source | `WebSocket`, `timers`, `random` |\n\n\
## Subscribe and perform\n\n```ts\n",
    );
    let example_ch = ir.channels.iter().find(|c| !c.actions.is_empty() && !c.events.is_empty()).or_else(|| ir.channels.first());
    if let Some(ch) = example_ch {
        channel_example(&mut out, ir, ch);
    }
    out.push_str(
        "```\n\nEvents the client does not know (added to the schema after this version) reach\n`onUnknown`, never a typed handler, so `switch (envelope.event)` in `onMessage` stays exhaustive.\n`tryPerform` resolves with `{ ok: true, data } | { ok: false, error }` instead of rejecting.\n\n## React\n\n```tsx\nimport { CableProvider, useCable",
    );
    if let Some(ch) = example_ch {
        let _ = write!(out, ", {}", hook_name(ch));
    }
    let _ = writeln!(out, " }} from \"{name}/react\";\n\n<CableProvider client={{client}}>\n  <App />\n</CableProvider>;\n\nfunction Status() {{\n  const {{ state }} = useCable(); // re-renders on every change\n  return <span>{{state}}</span>;\n}}");
    if let Some(ch) = example_ch {
        let params = example(ir, &ch.params, 0);
        let handler = ch.events.first().map(|e| format!("{{ {}: (payload) => {{ /* … */ }} }}", ident::ts_key(&e.name))).unwrap_or_else(|| "{}".into());
        let _ = writeln!(out, "\nfunction Panel() {{\n  // Subscribes on mount, unsubscribes on unmount; moves when the params change.\n  const {{ state, perform }} = {}({params}, {handler});\n  return <span>{{state}}</span>;\n}}", hook_name(ch));
    }
    out.push_str("```\n\n## Channels\n\n| channel | client property | React hook | events | actions |\n|---|---|---|---|---|\n");
    for ch in &ir.channels {
        let _ = writeln!(out, "| [`{}`](#{}) | `client.{}` | `{}` | {} | {} |", ch.name, ch.name.to_lowercase(), ident::channel_property(&ch.name), hook_name(ch), ch.events.len(), ch.actions.len());
    }
    for ch in &ir.channels {
        let _ = writeln!(out, "\n### {}\n\n{}\n", ch.name, ch.description.trim());
        out.push_str("```ts\n");
        channel_example(&mut out, ir, ch);
        out.push_str("```\n\n");
        let _ = writeln!(out, "Params: `{}`.\n", super::typescript::ts_ty(&ch.params, ""));
        if !ch.events.is_empty() {
            out.push_str("| event | payload | description |\n|---|---|---|\n");
            for e in &ch.events {
                let _ = writeln!(out, "| `{}` | `{}` | {} |", e.name, super::typescript::ts_ty(&e.payload, "").replace('|', "\\|"), cell(&e.description));
            }
            out.push('\n');
        }
        if !ch.actions.is_empty() {
            out.push_str("| action | request | reply | errors | description |\n|---|---|---|---|---|\n");
            for a in &ch.actions {
                let reply = a.reply.as_ref().map_or_else(|| "`null`".to_owned(), |r| format!("`{}`", super::typescript::ts_ty(r, "").replace('|', "\\|")));
                let errors = if a.errors.is_empty() { "built-in only".to_owned() } else { a.errors.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(", ") };
                let _ = writeln!(out, "| `{}` | `{}` | {reply} | {errors} | {} |", a.name, super::typescript::ts_ty(&a.request, "").replace('|', "\\|"), cell(&a.description));
            }
            out.push('\n');
        }
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

fn channel_example(out: &mut String, ir: &Ir, ch: &ChannelIr) {
    let params = example(ir, &ch.params, 0);
    let _ = writeln!(out, "const sub = client.{}.subscribe({params}, {{", ident::channel_property(&ch.name));
    if let Some(e) = ch.events.first() {
        let _ = writeln!(out, "  {}: (payload, envelope) => {{ /* payload: {} */ }},", ident::ts_key(&e.name), super::typescript::ts_ty(&e.payload, ""));
    }
    out.push_str("  onUnknown: (message) => {},\n  onResync: () => { /* reload: events were missed */ },\n});\n");
    if let Some(a) = ch.actions.first() {
        let _ = writeln!(out, "const reply = await sub.perform({}, {});", serde_json::to_string(&a.name).unwrap_or_default(), example(ir, &a.request, 0));
    }
    out.push_str("sub.unsubscribe();\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_is_emitted() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/runtime");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        on_disk.sort();
        let listed: Vec<String> = RUNTIME.iter().map(|(n, _)| (*n).to_owned()).collect();
        assert_eq!(on_disk, listed);
    }

    #[test]
    fn the_reserved_names_cover_every_root_export() {
        let text = index_exports();
        let mut names = Vec::new();
        for block in text.split("export ").skip(1) {
            let Some(inner) = block.split_once('{').and_then(|(_, r)| r.split_once('}')).map(|(i, _)| i) else { continue };
            names.extend(inner.split(',').map(|n| n.trim().trim_start_matches("type ").to_owned()).filter(|n| !n.is_empty()));
        }
        assert!(names.len() > 30, "{names:?}");
        for n in names {
            assert!(RUNTIME_EXPORTS.contains(&n.as_str()), "`{n}` is exported by index.ts but not reserved in RUNTIME_EXPORTS");
        }
        for n in ["CHANNEL_NAMES", "ChannelName", "SCHEMA_VERSION", "ActionReply", "ActionErrorBody", "BuiltinActionError"] {
            assert!(RUNTIME_EXPORTS.contains(&n));
        }
    }
}
