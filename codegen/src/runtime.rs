//! The runtime's side of the contract: what every output shares without a schema declaring it.
//!
//! - [`BUILTIN_ACTION_ERRORS`]: the codes any action may answer. The server answers them
//!   (the generated Rust carries the list), TypeScript types them, the reference and
//!   AsyncAPI list them.
//! - [`RUNTIME_FILES`]: the channel-independent TypeScript runtime
//!   (`codegen/templates/runtime/`), written under `ts/src/runtime/`, with the names the
//!   package root re-exports from each file. `index.ts` is rendered from this table.
//! - [`reserved_exports`] and [`CLIENT_MEMBERS`]: names a schema must leave free, because
//!   the package root or the client class already uses them. `check` refuses a model type,
//!   channel namespace or channel property that would take one.
//!
//! This module sits below `check` and `emit`, so neither needs the other to know these names.

/// Error codes every action may answer, besides its declared ones.
pub const BUILTIN_ACTION_ERRORS: &[&str] = &["invalid_request", "unknown_action", "forbidden", "backend_unavailable", "rate_limited"];

/// Names a module hands to the package root.
#[derive(Debug, Clone, Copy)]
pub struct Exports {
    /// Values (classes, functions, constants), re-exported with `export { .. }`.
    pub values: &'static [&'static str],
    /// Types, re-exported with `export type { .. }`.
    pub types: &'static [&'static str],
}

impl Exports {
    /// Nothing re-exported.
    pub const NONE: Exports = Exports { values: &[], types: &[] };

    /// Every name, values first.
    pub fn names(&self) -> impl Iterator<Item = &'static str> {
        self.values.iter().chain(self.types).copied()
    }
}

/// One file of the TypeScript runtime.
#[derive(Debug, Clone, Copy)]
pub struct RuntimeFile {
    /// File name under `ts/src/runtime/`.
    pub name: &'static str,
    /// Its TypeScript, written out verbatim after the generated-file header.
    pub source: &'static str,
    /// What the package root re-exports from it.
    pub exports: Exports,
}

/// The runtime, in the order `index.ts` re-exports it.
pub const RUNTIME_FILES: &[RuntimeFile] = &[
    RuntimeFile {
        name: "cable.ts",
        source: include_str!("../templates/runtime/cable.ts"),
        exports: Exports {
            values: &["Cable", "PROTOCOL_EXT", "PROTOCOL_V1"],
            types: &["CableOptions", "ConnectionState", "ConnectionStatus", "TokenProvider", "TokenRequest", "WebSocketConstructor", "WebSocketLike"],
        },
    },
    RuntimeFile {
        name: "errors.ts",
        source: include_str!("../templates/runtime/errors.ts"),
        exports: Exports { values: &["ActionError", "CableClientError", "QueueFullError"], types: &["ActionErrorDetail", "ClientErrorCode"] },
    },
    RuntimeFile {
        name: "backoff.ts",
        source: include_str!("../templates/runtime/backoff.ts"),
        exports: Exports { values: &["DEFAULT_RECONNECT", "backoffDelay", "reconnectPolicy"], types: &["ReconnectOptions", "ReconnectPolicy"] },
    },
    RuntimeFile { name: "timers.ts", source: include_str!("../templates/runtime/timers.ts"), exports: Exports { values: &["systemTimers"], types: &["TimerHandle", "Timers"] } },
    RuntimeFile {
        name: "identifier.ts",
        source: include_str!("../templates/runtime/identifier.ts"),
        exports: Exports { values: &["canonicalIdentifier", "stableStringify"], types: &[] },
    },
    RuntimeFile {
        name: "types.ts",
        source: include_str!("../templates/runtime/types.ts"),
        exports: Exports {
            values: &[],
            types: &[
                "ActionNameOf",
                "AnyEnvelopeOf",
                "ChannelApi",
                "ChannelDef",
                "ChannelHandlers",
                "ChannelSpec",
                "ChannelSubscription",
                "ConnectedInfo",
                "EnvelopeOf",
                "ErrorCodeOf",
                "EventHandlers",
                "EventNameOf",
                "LifecycleHandlers",
                "PerformOptions",
                "PerformResult",
                "RejectedInfo",
                "ReplyOf",
                "RequestOf",
                "ResyncInfo",
                "SubscriptionState",
                "UnknownMessageInfo",
            ],
        },
    },
    // The parts `cable.ts` composes; the root reaches their names through `cable.ts`.
    RuntimeFile { name: "connection.ts", source: include_str!("../templates/runtime/connection.ts"), exports: Exports::NONE },
    RuntimeFile { name: "failover.ts", source: include_str!("../templates/runtime/failover.ts"), exports: Exports::NONE },
    RuntimeFile { name: "token.ts", source: include_str!("../templates/runtime/token.ts"), exports: Exports::NONE },
    RuntimeFile { name: "protocol.ts", source: include_str!("../templates/runtime/protocol.ts"), exports: Exports::NONE },
    RuntimeFile { name: "registry.ts", source: include_str!("../templates/runtime/registry.ts"), exports: Exports::NONE },
    RuntimeFile { name: "subscription.ts", source: include_str!("../templates/runtime/subscription.ts"), exports: Exports::NONE },
    RuntimeFile { name: "queue.ts", source: include_str!("../templates/runtime/queue.ts"), exports: Exports::NONE },
    RuntimeFile { name: "lifecycle.ts", source: include_str!("../templates/runtime/lifecycle.ts"), exports: Exports::NONE },
    RuntimeFile { name: "election.ts", source: include_str!("../templates/runtime/election.ts"), exports: Exports::NONE },
    RuntimeFile { name: "tabs.ts", source: include_str!("../templates/runtime/tabs.ts"), exports: Exports::NONE },
    // Reached through the package's `./react` entry point, not its root.
    RuntimeFile { name: "react.ts", source: include_str!("../templates/runtime/react.ts"), exports: Exports::NONE },
];

/// What the generated `client.ts` hands to the package root.
pub const CLIENT_EXPORTS: Exports = Exports { values: &["CableClient", "createCable", "createClient"], types: &[] };

/// Names the generated `./react` entry exports besides the channel hooks; no named hook may
/// take one of these.
pub const REACT_EXPORTS: &[&str] = &["CableProvider", "useCable", "useCableClient", "useChannel", "useWebSocket", "useWebSocketOf"];

/// A channel's default hook in the `./react` entry: `useAiOrchestrationChannel`.
pub fn default_hook_name(prefix: &str) -> String {
    format!("use{prefix}Channel")
}

/// Names the generated `index.ts` declares itself.
pub const INDEX_NAMES: &[&str] = &["CHANNEL_NAMES", "ChannelName", "SCHEMA_VERSION"];

/// Types the generated `protocol.ts` declares (the root re-exports all of them).
pub const PROTOCOL_NAMES: &[&str] = &["ActionErrorBody", "ActionReply", "BuiltinActionError"];

/// Every name the package root exports besides the models and the channel namespaces; no
/// model type or channel namespace may take one of these names.
pub fn reserved_exports() -> impl Iterator<Item = &'static str> {
    let runtime = RUNTIME_FILES.iter().flat_map(|f| f.exports.names());
    CLIENT_EXPORTS.names().chain(runtime).chain(INDEX_NAMES.iter().copied()).chain(PROTOCOL_NAMES.iter().copied())
}

/// Whether the package root already exports `name`.
pub fn is_reserved_export(name: &str) -> bool {
    reserved_exports().any(|n| n == name)
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_runtime_file_is_listed_once() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/runtime");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        on_disk.sort();
        let mut listed: Vec<String> = RUNTIME_FILES.iter().map(|f| f.name.to_owned()).collect();
        listed.sort();
        assert_eq!(on_disk, listed);
    }

    #[test]
    fn each_runtime_file_declares_what_the_root_re_exports() {
        // A file exports a name by declaring it, or by handing on another part's
        // (`export { A } from "./part.js"`, as `cable.ts` does for the parts it composes).
        let re_exported = |source: &str, name: &str| {
            source.lines().filter_map(|l| l.strip_prefix("export type {").or_else(|| l.strip_prefix("export {"))).filter_map(|l| l.split_once('}')).any(|(names, _)| names.split(',').any(|n| n.trim() == name))
        };
        for f in RUNTIME_FILES {
            for name in f.exports.names() {
                let declared = ["class", "function", "const", "type", "interface"].iter().any(|kw| f.source.contains(&format!("export {kw} {name}")) || f.source.contains(&format!("export {kw} {name}<")));
                assert!(declared || re_exported(f.source, name), "{} does not export `{name}`", f.name);
            }
        }
    }

    #[test]
    fn reserved_names_are_unique() {
        let mut names: Vec<&str> = reserved_exports().collect();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n, "a name is listed twice");
        assert_eq!(n, 55);
    }
}
