//! Identifiers: the JSON-in-a-string that names a subscription, e.g.
//! `{"channel":"AiOrchestrationChannel","type":"workflow_run","id":"42"}`.
//!
//! A client may spell one subscription in many ways (whitespace, key order); [`canonical`]
//! is the one spelling a connection de-duplicates on. The identifier a client sent is still
//! what every frame of its subscription echoes, byte for byte: clients match on it.

use serde_json::{Map, Value};

/// Largest identifier accepted; a subscription is keyed by it, so it is bounded.
pub const MAX_IDENTIFIER_BYTES: usize = 1024;

/// Why an identifier is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentifierError {
    /// Over [`MAX_IDENTIFIER_BYTES`].
    #[error("identifier is longer than {MAX_IDENTIFIER_BYTES} bytes")]
    TooLong,
    /// Not a JSON object.
    #[error("identifier is not a JSON object")]
    NotAnObject,
    /// No string `channel` key.
    #[error("identifier has no string `channel`")]
    NoChannel,
}

/// A parsed identifier.
#[derive(Debug, Clone, PartialEq)]
pub struct Identifier {
    /// The channel's wire name.
    pub channel: String,
    /// Everything else: the subscription params.
    pub params: Value,
}

/// Parses an identifier string.
///
/// # Errors
/// [`IdentifierError`] when it is too long, not an object, or has no channel.
pub fn parse(raw: &str) -> Result<Identifier, IdentifierError> {
    if raw.len() > MAX_IDENTIFIER_BYTES {
        return Err(IdentifierError::TooLong);
    }
    let mut obj: Map<String, Value> = match serde_json::from_str(raw) {
        Ok(Value::Object(o)) => o,
        _ => return Err(IdentifierError::NotAnObject),
    };
    match obj.remove("channel") {
        Some(Value::String(channel)) => Ok(Identifier { channel, params: Value::Object(obj) }),
        _ => Err(IdentifierError::NoChannel),
    }
}

/// The one spelling of the subscription `channel` with `params` names: compact JSON of the
/// identifier with the keys of every object sorted. Spellings that differ in whitespace or
/// key order only have the same canonical form, and a canonical form is its own.
pub fn canonical(channel: &str, params: &Value) -> String {
    let mut whole = Map::new();
    whole.insert("channel".to_owned(), Value::String(channel.to_owned()));
    if let Value::Object(params) = params {
        whole.extend(params.iter().filter(|(k, _)| k.as_str() != "channel").map(|(k, v)| (k.clone(), v.clone())));
    }
    sorted(Value::Object(whole)).to_string()
}

/// `value` with the keys of every object in sorted order (maps keep insertion order here).
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        let id = parse(r#"{"channel":"AiOrchestrationChannel","type":"workflow_run","id":"42"}"#).unwrap();
        assert_eq!(id.channel, "AiOrchestrationChannel");
        assert_eq!(id.params, serde_json::json!({"type": "workflow_run", "id": "42"}));
        assert_eq!(parse("[]"), Err(IdentifierError::NotAnObject));
        assert_eq!(parse("{\"channel\": 1}"), Err(IdentifierError::NoChannel));
        assert_eq!(parse(&format!("{{\"channel\":\"{}\"}}", "a".repeat(2000))), Err(IdentifierError::TooLong));
    }

    #[test]
    fn spellings_of_one_subscription_have_one_canonical_form() {
        let canonical_of = |raw: &str| {
            let id = parse(raw).unwrap();
            canonical(&id.channel, &id.params)
        };
        let one = canonical_of(r#"{"channel":"C","id":"42","type":"t","f":{"b":1,"a":[{"y":2,"x":1}]}}"#);
        assert_eq!(one, r#"{"channel":"C","f":{"a":[{"x":1,"y":2}],"b":1},"id":"42","type":"t"}"#);
        assert_eq!(canonical_of(" {\n \"type\" : \"t\", \"f\":{\"a\":[{\"x\":1,\"y\":2}],\"b\":1},\"channel\":\"C\",\t\"id\":\"42\"} "), one);
        assert_eq!(canonical_of(&one), one, "a canonical form is its own");
        assert_ne!(canonical_of(r#"{"channel":"C","id":"43","type":"t"}"#), canonical_of(r#"{"channel":"C","id":"42","type":"t"}"#));
    }
}
