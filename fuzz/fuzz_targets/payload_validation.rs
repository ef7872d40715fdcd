//! Payload validation: any JSON, against every channel's params schema and every event's
//! payload and envelope schema, validates or yields violations, never panics; validation is
//! deterministic, and a failure always says what is wrong.
#![no_main]

use cableway::channels::REGISTRY;
use cableway::validation::validate;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    // The first byte picks a schema (so each run costs one validation), the rest is the JSON.
    let Some((&pick, json)) = data.split_first() else { return };
    let Ok(instance) = serde_json::from_slice::<Value>(json) else { return };
    let schemas: Vec<&'static str> = REGISTRY
        .iter()
        .flat_map(|c| std::iter::once(c.params_schema).chain(c.events.iter().flat_map(|e| [e.payload_schema, e.envelope_schema])))
        .collect();
    let schema = schemas[pick as usize % schemas.len()];
    let first = validate(schema, &instance);
    if let Err(violations) = &first {
        assert!(!violations.is_empty(), "an empty list of violations");
    }
    assert_eq!(first.is_ok(), validate(schema, &instance).is_ok(), "not deterministic");
});
