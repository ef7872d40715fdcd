//! Compiled JSON Schema validators for every schema in the registry.
//!
//! All of them are compiled once, on first use, and looked up by the address of the
//! schema text (the registry's strings are `'static`), so the publish path never hashes
//! a schema. Errors come out as `{path, message}` with values masked: a client or
//! publisher is told where its document is wrong, never shown its own data back.

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
        match jsonschema::options().should_validate_formats(true).build(&value) {
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
    let violations: Vec<Violation> = validator
        .iter_errors(instance)
        .take(MAX_VIOLATIONS)
        .map(|e| Violation { path: e.instance_path().to_string(), message: e.masked().to_string() })
        .collect();
    Err(violations)
}
