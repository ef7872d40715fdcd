//! Identifiers: the JSON-in-a-string that names a subscription, e.g.
//! `{"channel":"AiOrchestrationChannel","type":"workflow_run","id":"42"}`.

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
}
