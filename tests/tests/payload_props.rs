//! Property tests: payloads match the API format.
//!
//! For every channel's params, every event payload, every action request and reply of
//! `cableway::channels::REGISTRY`, values are generated **from the bundled JSON Schema**
//! (`cableway_tests::schema_strategy`; nothing here is written per channel or event) and:
//! - (a) validate against that schema (formats checked);
//! - (b) round-trip through the generated Rust type to identical JSON: same values, same
//!   number representation, same object keys in the same order (no added nulls, no renamed,
//!   dropped or reordered fields);
//! - (c) once mutated (required property removed, wrong type, value outside an enum or
//!   const, extra property where `additionalProperties: false`), are rejected with an error
//!   whose instance path is the mutated location, and no error elsewhere;
//! - event payloads, wrapped as `{event, payload, timestamp}`, validate against the event's
//!   envelope schema.
//!
//! Each schema runs `CASES` proptest cases (override with `PROPTEST_CASES`; seed with
//! `PROPTEST_RNG_SEED`). Failures of all schemas are collected and reported together, each
//! with its label and the shrunk value.

use std::cell::RefCell;
use std::collections::BTreeMap;

use cableway::channels::REGISTRY;
use cableway::codegen_support::RoundtripFn;
use cableway_tests::schema_strategy::{self, exact_diff, mutations, pointer, Mutation, MutationKind, Op};
use jsonschema::error::ValidationErrorKind;
use jsonschema::{ValidationError, Validator};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use serde_json::{json, Value};

/// Cases per schema.
const CASES: u32 = 24;

/// A schema of the registry and the typed round trip of its values.
struct Target {
    label: String,
    schema: Value,
    roundtrip: RoundtripFn,
    /// Event name and envelope schema, for event payloads.
    envelope: Option<(&'static str, Value)>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Params,
    Events,
    Requests,
    Replies,
}

fn parse(label: &str, text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{label}: schema is not JSON: {e}"))
}

fn targets(part: Part) -> Vec<Target> {
    let mut out = Vec::new();
    for c in REGISTRY {
        match part {
            Part::Params => {
                let label = format!("{} params", c.name);
                out.push(Target { schema: parse(&label, c.params_schema), label, roundtrip: c.params_roundtrip, envelope: None });
            }
            Part::Events => {
                for e in c.events {
                    let label = format!("{} event `{}` payload", c.name, e.name);
                    let envelope = parse(&format!("{label} envelope"), e.envelope_schema);
                    out.push(Target { schema: parse(&label, e.payload_schema), label, roundtrip: e.roundtrip, envelope: Some((e.name, envelope)) });
                }
            }
            Part::Requests => {
                for a in c.actions {
                    let label = format!("{} action `{}` request", c.name, a.name);
                    out.push(Target { schema: parse(&label, a.request_schema), label, roundtrip: a.request_roundtrip, envelope: None });
                }
            }
            Part::Replies => {
                for a in c.actions {
                    let label = format!("{} action `{}` reply", c.name, a.name);
                    match (a.reply_schema, a.reply_roundtrip) {
                        (Some(schema), Some(roundtrip)) => out.push(Target { schema: parse(&label, schema), label, roundtrip, envelope: None }),
                        (None, None) => {}
                        _ => panic!("{label}: reply schema and reply round trip must come together"),
                    }
                }
            }
        }
    }
    out
}

fn compile(label: &str, schema: &Value) -> Validator {
    jsonschema::options().should_validate_formats(true).build(schema).unwrap_or_else(|e| panic!("{label}: schema does not compile: {e}"))
}

/// One reported error, `oneOf` contexts flattened: (instance path, keyword, message).
#[derive(Debug)]
struct Reported {
    path: String,
    keyword: String,
    message: String,
}

fn flatten(err: &ValidationError<'_>, out: &mut Vec<Reported>) {
    out.push(Reported { path: err.instance_path().as_str().to_owned(), keyword: err.kind().keyword().to_owned(), message: err.to_string() });
    match err.kind() {
        ValidationErrorKind::OneOfNotValid { context } | ValidationErrorKind::OneOfMultipleValid { context } | ValidationErrorKind::AnyOf { context } => {
            for branch in context {
                for e in branch {
                    flatten(e, out);
                }
            }
        }
        _ => {}
    }
}

/// Every error of `instance`, nested ones included.
fn errors(validator: &Validator, instance: &Value) -> Vec<Reported> {
    let mut out = Vec::new();
    for e in validator.iter_errors(instance) {
        flatten(&e, &mut out);
    }
    out
}

/// `ancestor` is `path` or one of its ancestors (JSON pointers).
fn is_ancestor_or_self(ancestor: &str, path: &str) -> bool {
    path == ancestor || path.strip_prefix(ancestor).is_some_and(|rest| rest.starts_with('/'))
}

/// Mutations exercised, by kind (across all schemas of one test).
#[derive(Default)]
struct Stats {
    cases: usize,
    mutations: BTreeMap<&'static str, usize>,
    envelopes: usize,
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).expect("JSON")
}

/// The checks of one generated value.
fn check(t: &Target, validator: &Validator, envelope: Option<&Validator>, value: &Value, picks: &[Index; 4], stats: &RefCell<Stats>) -> Result<(), TestCaseError> {
    // (a) valid by schema.
    let errs = errors(validator, value);
    if !errs.is_empty() {
        return Err(TestCaseError::fail(format!("generated value is invalid: {errs:#?}\nvalue: {}", pretty(value))));
    }

    // (b) identical after the typed round trip.
    let back = (t.roundtrip)(value).map_err(|e| TestCaseError::fail(format!("the generated type rejects a valid value: {e}\nvalue: {}", pretty(value))))?;
    if let Some(diff) = exact_diff(value, &back) {
        return Err(TestCaseError::fail(format!("round trip changed the JSON {diff}\nsent:     {}\nreturned: {}", serde_json::to_string(value).expect("JSON"), serde_json::to_string(&back).expect("JSON"))));
    }

    // The envelope around the payload.
    if let (Some((name, _)), Some(envelope)) = (&t.envelope, envelope) {
        let wrapped = json!({ "event": name, "payload": value, "timestamp": "2025-10-11T21:07:00Z" });
        let errs = errors(envelope, &wrapped);
        if !errs.is_empty() {
            return Err(TestCaseError::fail(format!("envelope is invalid: {errs:#?}\nenvelope: {}", pretty(&wrapped))));
        }
        stats.borrow_mut().envelopes += 1;
    }

    // (c) one mutation of each kind the value allows, rejected at the mutated location.
    let all = mutations(&t.schema, value);
    for (kind, pick) in MutationKind::ALL.iter().zip(picks) {
        let sites: Vec<&Mutation> = all.iter().filter(|m| m.kind == *kind).collect();
        if sites.is_empty() {
            continue;
        }
        let m = sites[pick.index(sites.len())];
        check_mutation(validator, value, m)?;
        *stats.borrow_mut().mutations.entry(kind_name(*kind)).or_default() += 1;
    }
    stats.borrow_mut().cases += 1;
    Ok(())
}

fn kind_name(kind: MutationKind) -> &'static str {
    match kind {
        MutationKind::MissingRequired => "missing required",
        MutationKind::WrongType => "wrong type",
        MutationKind::OutsideEnum => "outside enum/const",
        MutationKind::ExtraProperty => "extra property",
    }
}

fn check_mutation(validator: &Validator, value: &Value, m: &Mutation) -> Result<(), TestCaseError> {
    let mutated = m.apply(value);
    let errs = errors(validator, &mutated);
    let what = m.describe();
    if errs.is_empty() {
        return Err(TestCaseError::fail(format!("mutation accepted: {what}\nmutated: {}", pretty(&mutated))));
    }
    // The error names the mutated location precisely ...
    if !errs.iter().any(|e| e.path == m.expected_pointer && e.keyword == m.expected_keyword) {
        return Err(TestCaseError::fail(format!(
            "mutation {what}: expected a `{}` error at `{}`, got {errs:#?}\nmutated: {}",
            m.expected_keyword,
            m.expected_pointer,
            pretty(&mutated)
        )));
    }
    // ... and nothing is reported away from it (only the location and its ancestors, as
    // `oneOf` of a nullable reports at the nullable's location).
    let location = pointer(&m.path);
    if let Some(stray) = errs.iter().find(|e| !is_ancestor_or_self(&e.path, &location)) {
        return Err(TestCaseError::fail(format!("mutation {what}: error away from the mutated location: {stray:?}\nall: {errs:#?}")));
    }
    // For a property mutation the path is the parent object's; the message names the key.
    if let Op::Remove(key) | Op::Insert(key, _) = &m.op {
        if !errs.iter().any(|e| e.path == m.expected_pointer && e.message.contains(key.as_str())) {
            return Err(TestCaseError::fail(format!("mutation {what}: no error message names `{key}`: {errs:#?}")));
        }
    }
    Ok(())
}

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(CASES);
    Config { cases, failure_persistence: None, max_shrink_iters: 1024, ..Config::default() }
}

/// Runs every target of `part`, reports all failures at once.
fn run(part: Part, what: &str) {
    let targets = targets(part);
    assert!(!targets.is_empty(), "the registry has no {what}");
    let stats = RefCell::new(Stats::default());
    let mut failures = Vec::new();
    let started = std::time::Instant::now();
    for t in &targets {
        let validator = compile(&t.label, &t.schema);
        let envelope = t.envelope.as_ref().map(|(_, schema)| compile(&format!("{} envelope", t.label), schema));
        let strategy = (schema_strategy::strategy(&t.schema), prop::array::uniform4(any::<Index>()));
        let mut runner = TestRunner::new(config());
        let result = runner.run(&strategy, |(value, picks)| check(t, &validator, envelope.as_ref(), &value, &picks, &stats));
        match result {
            Ok(()) => {}
            // The reason shows the (shrunk) value.
            Err(TestError::Fail(reason, _)) => failures.push(format!("{}:\n  {reason}", t.label)),
            Err(TestError::Abort(reason)) => failures.push(format!("{}: aborted: {reason}", t.label)),
        }
    }
    let stats = stats.into_inner();
    eprintln!(
        "{what}: {} schemas, {} cases, {} envelopes, mutations {:?}, {:.1?}",
        targets.len(),
        stats.cases,
        stats.envelopes,
        stats.mutations,
        started.elapsed()
    );
    assert!(failures.is_empty(), "{} of {} {what} failed:\n\n{}", failures.len(), targets.len(), failures.join("\n\n"));
    for kind in MutationKind::ALL {
        assert!(stats.mutations.get(kind_name(kind)).copied().unwrap_or(0) > 0, "{what}: no `{}` mutation was exercised", kind_name(kind));
    }
}

#[test]
fn params_match_their_schemas() {
    run(Part::Params, "channel params");
}

#[test]
fn event_payloads_match_their_schemas_and_envelopes() {
    run(Part::Events, "event payloads");
}

#[test]
fn action_requests_match_their_schemas() {
    run(Part::Requests, "action requests");
}

#[test]
fn action_replies_match_their_schemas() {
    run(Part::Replies, "action replies");
}

/// The strategy and the mutations on the parts of the subset the registry does not use
/// (yet): exclusive bounds, `multipleOf`, `uniqueItems` with `minItems`, `minLength`,
/// `additionalProperties` as a schema, `true` and absent, a required key that is not
/// declared, `[array, null]`, `oneOf` with `null` first, formats `uuid` and `date`, keys that
/// need JSON-pointer escaping. No Rust type exists for it, so (a) and (c) only.
#[test]
fn strategy_covers_the_whole_subset() {
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": false,
        "required": ["id", "day", "count", "ratio", "step", "tags", "kinds", "map", "free", "a/b~c"],
        "properties": {
            "id": { "$ref": "#/$defs/Uuid" },
            "day": { "type": "string", "format": "date" },
            "at": { "type": ["string", "null"], "format": "date-time" },
            "mail": { "type": "string", "format": "email", "maxLength": 40 },
            "link": { "type": "string", "format": "uri" },
            "code": { "type": "string", "pattern": "^[A-Z]{2}-[0-9]{3}$" },
            "text": { "type": "string", "minLength": 20, "maxLength": 24 },
            "count": { "type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 10 },
            "big": { "type": "integer", "minimum": 0 },
            "ratio": { "type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1 },
            "step": { "type": "number", "multipleOf": 0.25, "minimum": -2, "maximum": 2 },
            "even": { "type": "integer", "multipleOf": 2, "minimum": 1, "maximum": 9 },
            "flag": { "type": "boolean" },
            "tags": { "type": "array", "items": { "type": "string", "maxLength": 3 }, "minItems": 2, "maxItems": 4, "uniqueItems": true },
            "kinds": { "type": "array", "items": { "$ref": "#/$defs/Kind" }, "minItems": 1, "uniqueItems": true },
            "maybe": { "type": ["array", "null"], "items": { "type": "integer" } },
            "nested": { "oneOf": [{ "type": "null" }, { "$ref": "#/$defs/Inner" }] },
            "map": { "type": "object", "additionalProperties": { "$ref": "#/$defs/Inner" } },
            "free": { "type": "object", "additionalProperties": true, "required": ["must"], "properties": { "x": { "type": "integer" } } },
            "loose": { "type": "object", "properties": { "y": { "const": 3 } } },
            "opaque": { "x-opaque": true },
            "version": { "const": "v1" },
            "a/b~c": { "type": "object", "additionalProperties": false, "required": ["k"], "properties": { "k": { "$ref": "#/$defs/Kind" } } }
        },
        "$defs": {
            "Uuid": { "type": "string", "format": "uuid" },
            "Kind": { "type": "string", "enum": ["alpha", "beta", "gamma"] },
            "Inner": {
                "type": "object",
                "additionalProperties": false,
                "required": ["n"],
                "properties": { "n": { "type": ["integer", "null"], "minimum": -3, "maximum": 3 }, "k": { "$ref": "#/$defs/Kind" } }
            }
        }
    });
    let validator = compile("subset", &schema);
    let seen = RefCell::new(BTreeMap::<&'static str, usize>::new());
    let strategy = (schema_strategy::strategy(&schema), prop::array::uniform4(any::<Index>()));
    let mut runner = TestRunner::new(Config { cases: 256, ..config() });
    runner
        .run(&strategy, |(value, picks)| {
            let errs = errors(&validator, &value);
            prop_assert!(errs.is_empty(), "generated value is invalid: {errs:#?}\nvalue: {}", pretty(&value));
            // Declared properties come first, in schema order.
            let keys: Vec<&String> = value.as_object().expect("object").keys().collect();
            let order: Vec<&String> = schema["properties"].as_object().expect("properties").keys().filter(|k| keys.contains(k)).collect();
            prop_assert_eq!(keys, order);
            let all = mutations(&schema, &value);
            for (kind, pick) in MutationKind::ALL.iter().zip(&picks) {
                let sites: Vec<&Mutation> = all.iter().filter(|m| m.kind == *kind).collect();
                if !sites.is_empty() {
                    check_mutation(&validator, &value, sites[pick.index(sites.len())])?;
                    *seen.borrow_mut().entry(kind_name(*kind)).or_default() += 1;
                }
            }
            // The escaped key is addressed correctly.
            let escaped = all.iter().find(|m| m.kind == MutationKind::ExtraProperty && m.expected_pointer == "/a~1b~0c");
            prop_assert!(escaped.is_some(), "no extra-property mutation at `/a~1b~0c`");
            check_mutation(&validator, &value, escaped.expect("checked"))?;
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let seen = seen.into_inner();
    for kind in MutationKind::ALL {
        assert!(seen.get(kind_name(kind)).copied().unwrap_or(0) > 0, "no `{}` mutation was exercised", kind_name(kind));
    }
}
