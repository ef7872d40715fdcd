//! Params as clients send them today, read into the one form the schema validates.
//!
//! A Rails frontend sends ids as it has them: `{"id": 42}` or `{"id": "42"}`, the same record.
//! A param declared with `x-accept-integer` takes both: a JSON integer from 0 to 2^53 − 1 is
//! rewritten into its decimal text, so `42` and `"42"` are one resource, one authorization
//! and one stream. Nothing else is rewritten, and nothing is accepted here: the result is
//! validated against the params schema afterwards, which refuses every other form (`1.0`,
//! `4.2e1`, `-1`, `2^53`, `" 42"`, `"４２"`, arrays, ...). A string is an id as written, so
//! `"01"` and `"1"` stay two ids, as they are two keys in the registry and in stream names.
//!
//! Keys the params do not declare are dropped here when the channel ignores them (they
//! then reach neither authorization, stream keys nor the backend), or kept for the
//! validator to refuse. The identifier the client sent is never touched: it is echoed as is.

use serde_json::{Map, Value};

use crate::codegen_support::{ParamsDescriptor, UndeclaredParams};

/// Largest integer read as an id: 2^53 − 1, the last one every JSON reader (JavaScript's
/// `Number`) holds exactly. A larger one may already be another number by the time it
/// arrives, so it is left for the validator to refuse.
pub const MAX_INTEGER_ID: u64 = (1 << 53) - 1;

/// Most undeclared keys listed in one debug line.
const MAX_LISTED: usize = 8;

/// The params in their canonical form, and what was dropped on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct Canonical {
    /// What validation, authorization and stream keys see.
    pub params: Value,
    /// Undeclared keys the channel ignores, sorted (for a debug line).
    pub ignored: Vec<String>,
}

/// Reads `raw` (the identifier without `channel`) as `params` declares.
pub fn canonicalize(params: &ParamsDescriptor, raw: Value) -> Canonical {
    let Value::Object(raw) = raw else {
        return Canonical { params: raw, ignored: Vec::new() };
    };
    let mut out = Map::with_capacity(raw.len());
    let mut ignored = Vec::new();
    for (key, value) in raw {
        if !params.names.contains(&key.as_str()) && params.undeclared == UndeclaredParams::Ignore {
            ignored.push(key);
            continue;
        }
        let value = match value {
            Value::Number(n) if params.integer_ids.contains(&key.as_str()) => match n.as_u64() {
                Some(id) if id <= MAX_INTEGER_ID => Value::String(id.to_string()),
                _ => Value::Number(n),
            },
            other => other,
        };
        out.insert(key, value);
    }
    ignored.sort();
    Canonical { params: Value::Object(out), ignored }
}

impl Canonical {
    /// The ignored keys for a log line: at most a few, each cut short.
    pub fn ignored_for_log(&self) -> String {
        let mut names: Vec<String> = self.ignored.iter().take(MAX_LISTED).map(|k| k.chars().take(32).collect()).collect();
        if self.ignored.len() > MAX_LISTED {
            names.push(format!("… {} more", self.ignored.len() - MAX_LISTED));
        }
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const IDS: ParamsDescriptor = ParamsDescriptor { names: &["id", "type"], integer_ids: &["id"], undeclared: UndeclaredParams::Ignore };

    fn read(text: &str) -> Value {
        canonicalize(&IDS, serde_json::from_str(text).expect("JSON")).params
    }

    #[test]
    fn integers_become_their_decimal_text_and_nothing_else_is_rewritten() {
        assert_eq!(read(r#"{"id": 42}"#), json!({"id": "42"}));
        assert_eq!(read(r#"{"id": "42"}"#), json!({"id": "42"}));
        assert_eq!(read(r#"{"id": 0}"#), json!({"id": "0"}));
        assert_eq!(read(r#"{"id": 9007199254740991}"#), json!({"id": "9007199254740991"}));
        // Left as they are, for the validator to refuse (a string param).
        for odd in ["9007199254740992", "9007199254740993", "18446744073709551616", "-1", "-0", "1.0", "4.2e1", "1e3", "0.5", "\"01\"", "\" 42\"", "[42]", "{\"v\":42}", "true", "null"] {
            let v: Value = serde_json::from_str(odd).unwrap();
            assert_eq!(read(&format!(r#"{{"id": {odd}}}"#)), json!({ "id": v }), "{odd}");
        }
        // Only params declared as ids are read this way.
        assert_eq!(read(r#"{"id": 1, "type": 7}"#), json!({"id": "1", "type": 7}));
    }

    #[test]
    fn undeclared_keys_are_dropped_or_kept_as_the_channel_says() {
        let c = canonicalize(&IDS, json!({"zz": "x", "pipelineId": 1, "id": 7}));
        assert_eq!(c.params, json!({"id": "7"}));
        assert_eq!(c.ignored, ["pipelineId", "zz"]);
        let strict = ParamsDescriptor { undeclared: UndeclaredParams::Refuse, ..IDS };
        let c = canonicalize(&strict, json!({"pipelineId": 1, "id": 7}));
        assert_eq!(c.params, json!({"pipelineId": 1, "id": "7"}));
        assert!(c.ignored.is_empty());
    }

    #[test]
    fn the_log_line_is_bounded() {
        let many: Map<String, Value> = (0..20).map(|i| (format!("{}{i}", "k".repeat(100)), json!(i))).collect();
        let c = canonicalize(&IDS, Value::Object(many));
        let line = c.ignored_for_log();
        assert!(line.len() < 8 * 40 + 20, "{line}");
        assert!(line.ends_with("… 12 more"), "{line}");
    }
}
