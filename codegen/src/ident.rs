//! Every identifier transformation, in one place: wire names → Rust and TypeScript names.
//!
//! Rule for keywords: a trailing underscore (`type` → `type_`), readable in both languages.

use heck::{ToSnakeCase, ToUpperCamelCase};

const RUST_KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self", "Self", "static",
    "struct", "super", "trait", "true", "type", "unsafe", "use", "where", "while", "abstract", "become", "box", "do",
    "final", "gen", "macro", "override", "priv", "try", "typeof", "unsized", "virtual", "yield",
];

/// `workflow.run.status.changed` → `WorkflowRunStatusChanged`.
pub fn upper_camel(s: &str) -> String {
    let out = s.replace(['.', '-'], "_").to_upper_camel_case();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{out}")
    } else {
        out
    }
}

/// `AiOrchestrationChannel` → `ai_orchestration` (module and file name).
pub fn channel_module(wire: &str) -> String {
    wire.strip_suffix("Channel").unwrap_or(wire).to_snake_case()
}

/// `AiOrchestrationChannel` → `AiOrchestration` (type-name prefix).
pub fn channel_prefix(wire: &str) -> String {
    wire.strip_suffix("Channel").unwrap_or(wire).to_owned()
}

/// `AiOrchestrationChannel` → `aiOrchestration` (TS client property).
pub fn channel_property(wire: &str) -> String {
    let p = channel_prefix(wire);
    let mut c = p.chars();
    match c.next() {
        Some(f) => f.to_ascii_lowercase().to_string() + c.as_str(),
        None => p,
    }
}

/// A JSON key as a Rust field name: snake case, keywords get a trailing underscore.
pub fn rust_field(key: &str) -> String {
    let mut out = key.replace(['.', '-', ' '], "_").to_snake_case();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out = format!("_{out}");
    }
    if RUST_KEYWORDS.contains(&out.as_str()) {
        out.push('_');
    }
    out
}

/// An enum value as a Rust variant name.
pub fn rust_variant(value: &str) -> String {
    let v = upper_camel(value);
    if v.is_empty() || v == "_" {
        "Empty".to_owned()
    } else if v == "Self" {
        "Self_".to_owned()
    } else {
        v
    }
}

/// Whether a key can be written unquoted in a TypeScript object type.
pub fn ts_plain_key(key: &str) -> bool {
    let mut c = key.chars();
    matches!(c.next(), Some(f) if f.is_ascii_alphabetic() || f == '_' || f == '$') && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '$')
}

/// A key in a TypeScript object type, quoted when needed.
pub fn ts_key(key: &str) -> String {
    if ts_plain_key(key) {
        key.to_owned()
    } else {
        serde_json::to_string(key).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_table() {
        let cases = [
            (upper_camel("workflow.run.status.changed"), "WorkflowRunStatusChanged"),
            (upper_camel("ralph_loop.iteration_completed"), "RalphLoopIterationCompleted"),
            (channel_module("AiOrchestrationChannel"), "ai_orchestration"),
            (channel_module("TeamChannelChannel"), "team_channel"),
            (channel_property("AiOrchestrationChannel"), "aiOrchestration"),
            (rust_field("type"), "type_"),
            (rust_field("workflowRun"), "workflow_run"),
            (rust_field("3d"), "_3d"),
            (rust_variant("half_opened"), "HalfOpened"),
            (rust_variant("self"), "Self_"),
            (ts_key("node_name"), "node_name"),
            (ts_key("x-y"), "\"x-y\""),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
    }
}
