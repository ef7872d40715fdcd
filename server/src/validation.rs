//! Compiled JSON Schema validators for every schema in the registry.
//!
//! All of them are compiled once, on first use, and looked up by the address of the
//! schema text (the registry's strings are `'static`), so the publish path never hashes
//! a schema. Errors come out as `{path, message}` with values masked: a client or
//! publisher is told where its document is wrong, never shown its own data back.
//!
//! [`params`] reads subscription params into their canonical form before they are validated.

pub mod params;

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::Serialize;
use serde_json::Value;

use crate::channels::REGISTRY;

/// One validation failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// JSON pointer of the offending value.
    pub path: String,
    /// What is wrong, without echoing the value.
    pub message: String,
}

static VALIDATORS: LazyLock<HashMap<usize, jsonschema::Validator>> = LazyLock::new(|| {
    let mut map = HashMap::new();
    let mut add = |schema: &'static str| {
        let value: Value = match serde_json::from_str(schema) {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(error = %e, "generated schema is not JSON");
                return;
            }
        };
        match jsonschema::options().should_validate_formats(true).with_pattern_options(jsonschema::PatternOptions::regex()).build(&value) {
            Ok(v) => {
                map.insert(schema.as_ptr() as usize, v);
            }
            Err(e) => tracing::error!(error = %e, "generated schema does not compile"),
        }
    };
    add(crate::channels::CLAIMS_SCHEMA);
    for c in REGISTRY {
        add(c.params_schema);
        for e in c.events {
            add(e.payload_schema);
            add(e.envelope_schema);
        }
        for a in c.actions {
            add(a.request_schema);
            if let Some(r) = a.reply_schema {
                add(r);
            }
        }
    }
    map
});

/// Compiles every validator now (at startup), so the first publish pays nothing.
pub fn warm_up() -> usize {
    VALIDATORS.len()
}

/// Most violations reported for one document.
const MAX_VIOLATIONS: usize = 20;

/// Validates `instance` against one of the registry's schemas.
///
/// # Errors
/// The violations, at most 20, in document order.
pub fn validate(schema: &'static str, instance: &Value) -> Result<(), Vec<Violation>> {
    let Some(validator) = VALIDATORS.get(&(schema.as_ptr() as usize)) else {
        return Err(vec![Violation { path: String::new(), message: "schema unavailable".into() }]);
    };
    if validator.is_valid(instance) {
        return Ok(());
    }
    let violations: Vec<Violation> = validator.iter_errors(instance).flat_map(|e| violations_of(&e)).take(MAX_VIOLATIONS).collect();
    Err(violations)
}

/// The violations one error stands for. A missing or unexpected property is reported at the
/// property's own pointer (jsonschema reports it at the parent object), so every path names
/// the bad field; an unexpected property is one violation per key.
fn violations_of(e: &jsonschema::ValidationError<'_>) -> Vec<Violation> {
    use jsonschema::error::ValidationErrorKind;
    let at = e.instance_path().to_string();
    match e.kind() {
        ValidationErrorKind::Required { property: Value::String(name) } => {
            vec![Violation { path: format!("{at}/{}", escape_pointer(name)), message: "required property is missing".into() }]
        }
        ValidationErrorKind::AdditionalProperties { unexpected } | ValidationErrorKind::UnevaluatedProperties { unexpected } => unexpected
            .iter()
            .map(|name| Violation { path: format!("{at}/{}", escape_pointer(name)), message: "property is not allowed here (the schema declares no such property)".into() })
            .collect(),
        _ => vec![Violation { path: at, message: e.masked().to_string() }],
    }
}

/// One JSON pointer reference token (RFC 6901: `~` → `~0`, `/` → `~1`).
fn escape_pointer(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn notification_schema() -> &'static str {
        crate::channels::find("NotificationChannel").and_then(|c| c.event("new_notification")).expect("new_notification").payload_schema
    }

    #[test]
    fn missing_and_extra_properties_are_reported_at_their_own_pointer() {
        let payload = json!({ "id": "n1", "account_id": "acc1", "notification_type": "t", "message": "m", "severity": "info", "read": false,
            "created_at": "2026-01-01T00:00:00Z", "a/b~c": "SECRET-1", "zz": "SECRET-2" });
        let v = validate(notification_schema(), &payload).expect_err("invalid");
        let paths: Vec<&str> = v.iter().map(|v| v.path.as_str()).collect();
        assert!(paths.contains(&"/title"), "{v:?}");
        assert!(paths.contains(&"/a~1b~0c") && paths.contains(&"/zz"), "{v:?}");
        assert!(v.iter().all(|v| !v.message.contains("SECRET") && !v.message.contains("zz")), "{v:?}");
    }
}
