//! The compatibility rule table, row by row, in both directions.
//!
//! Each schema case is a minimal old/new pair of JSON Schemas and the verdicts §6.1 of the
//! research notes gives the change, restated here as text (`SAFE*`, `SAFE+SRC`, `BREAK`,
//! ...) so the test checks the rule table against the research table rather than against
//! itself. Every pair is diffed once and classified twice: as a client→server schema (an
//! action request) and as a server→client one (an event payload).
//!
//! Name-level cases (§6.2) edit the minimal schema set of `fixtures/base` in memory, build
//! both versions through `load_texts` + `codegen::build`, and compare their lock snapshots.

use std::collections::BTreeMap;
use std::path::Path;

use codegen::compat::ignore::{self, Date};
use codegen::compat::schema_diff::diff;
use codegen::compat::{check, schema_findings, Bump, Direction, Finding, Kind, Scope, Snapshot, Verdict, Version};
use serde_json::{json, Value};

/// An expected verdict as the research table writes it: `SAFE`, `SAFE*`, `SAFE+SRC`,
/// `WARN`, `WARN+SRC`, `BREAK`, `BREAK+SRC`.
fn expect(kind: Kind, direction: Direction, table: &str) -> Result<(), String> {
    let e = kind.entry(direction);
    let verdict = match table.trim_end_matches("+SRC").trim_end_matches('*') {
        "SAFE" => Verdict::Safe,
        "WARN" => Verdict::Warn,
        "BREAK" => Verdict::Break,
        other => panic!("bad table verdict {other}"),
    };
    let (src, rollout) = (table.ends_with("+SRC"), table.ends_with('*'));
    if (e.verdict, e.src, e.rollout) == (verdict, src, rollout) {
        Ok(())
    } else {
        Err(format!("{kind:?} {direction:?}: table says {table}, rules say {:?} src={} rollout={}", e.verdict, e.src, e.rollout))
    }
}

fn obj(props: Value, required: &[&str], additional: Value) -> Value {
    json!({ "type": "object", "properties": props, "required": required, "additionalProperties": additional })
}

fn s() -> Value {
    json!({ "type": "string" })
}

/// `(row, old, new, expected kinds in walk order, c→s verdict, s→c verdict)`; the
/// verdicts are those of the first kind.
type SchemaCase = (&'static str, Value, Value, Vec<Kind>, &'static str, &'static str);

fn schema_cases() -> Vec<SchemaCase> {
    use Kind::*;
    let closed_a = obj(json!({ "a": s() }), &[], json!(false));
    let open_a = obj(json!({ "a": s() }), &[], json!(true));
    let map_a = obj(json!({ "a": s() }), &[], json!({ "type": "string" }));
    let variant = |tag: &str| obj(json!({ "kind": { "const": tag }, "x": { "type": "integer" } }), &["kind"], json!(false));
    let union = |tags: &[&str], extensible: bool| json!({ "oneOf": tags.iter().map(|t| variant(t)).collect::<Vec<_>>(), "x-extensible-union": extensible });
    vec![
        ("6.1#1 add optional property (closed)", closed_a.clone(), obj(json!({ "a": s(), "b": s() }), &[], json!(false)), vec![PropertyAdded], "SAFE*", "SAFE"),
        ("6.1#1 add optional property (open)", open_a.clone(), obj(json!({ "a": s(), "b": s() }), &[], json!(true)), vec![PropertyAddedToOpenObject], "WARN", "SAFE"),
        ("6.1#1 add optional property (map, same values)", map_a.clone(), obj(json!({ "a": s(), "b": s() }), &[], json!({ "type": "string" })), vec![PropertyAdded], "SAFE*", "SAFE"),
        ("6.1#1 add optional property (map, other values)", map_a.clone(), obj(json!({ "a": s(), "b": { "type": "integer" } }), &[], json!({ "type": "string" })), vec![PropertyAdded, TypeChanged], "SAFE*", "SAFE"),
        ("6.1#2 add required property", closed_a.clone(), obj(json!({ "a": s(), "b": s() }), &["b"], json!(false)), vec![RequiredAdded], "BREAK", "SAFE"),
        ("6.1#3 remove optional property (closed)", obj(json!({ "a": s(), "b": s() }), &[], json!(false)), closed_a.clone(), vec![PropertyRemoved], "BREAK", "WARN+SRC"),
        ("6.1#3 remove optional property (open)", obj(json!({ "a": s(), "b": s() }), &[], json!(true)), open_a.clone(), vec![PropertyRemovedFromOpenObject], "WARN", "WARN+SRC"),
        ("6.1#4 remove required property (closed)", obj(json!({ "a": s(), "b": s() }), &["b"], json!(false)), closed_a.clone(), vec![RequiredRemoved], "BREAK", "BREAK"),
        ("6.1#4 remove required property (open)", obj(json!({ "a": s(), "b": s() }), &["b"], json!(true)), open_a.clone(), vec![RequiredRemovedFromOpenObject], "WARN", "BREAK"),
        ("6.1#5 rename property", obj(json!({ "a": s(), "b": s() }), &["b"], json!(false)), obj(json!({ "a": s(), "c": s() }), &["c"], json!(false)), vec![PropertyRenamed], "BREAK", "BREAK"),
        ("6.1#6 optional -> required", closed_a.clone(), obj(json!({ "a": s() }), &["a"], json!(false)), vec![BecameRequired], "BREAK", "SAFE"),
        ("6.1#7 required -> optional", obj(json!({ "a": s() }), &["a"], json!(false)), closed_a.clone(), vec![BecameOptional], "SAFE", "BREAK"),
        ("6.1#8 enum value added", json!({ "type": "string", "enum": ["a", "b"] }), json!({ "type": "string", "enum": ["a", "b", "c"] }), vec![EnumValueAdded], "SAFE*", "BREAK"),
        ("6.1#8 enum value added (x-extensible-enum)", json!({ "type": "string", "enum": ["a", "b"], "x-extensible-enum": true }), json!({ "type": "string", "enum": ["a", "b", "c"], "x-extensible-enum": true }), vec![ExtensibleEnumValueAdded], "SAFE*", "SAFE+SRC"),
        ("6.1#8 extensible only from now on", json!({ "type": "string", "enum": ["a", "b"] }), json!({ "type": "string", "enum": ["a", "b", "c"], "x-extensible-enum": true }), vec![EnumValueAdded, ExtensibilityChanged], "SAFE*", "BREAK"),
        ("6.1#8 extensibility toggled", json!({ "type": "string", "enum": ["a", "b"] }), json!({ "type": "string", "enum": ["a", "b"], "x-extensible-enum": true }), vec![ExtensibilityChanged], "SAFE+SRC", "SAFE+SRC"),
        ("6.1#9 enum value removed", json!({ "type": "string", "enum": ["a", "b", "c"] }), json!({ "type": "string", "enum": ["a", "b"] }), vec![EnumValueRemoved], "BREAK", "SAFE+SRC"),
        ("6.1#10 free string -> enum", s(), json!({ "type": "string", "enum": ["a", "b"] }), vec![EnumAdded], "BREAK", "SAFE+SRC"),
        ("6.1#11 enum -> free string", json!({ "type": "string", "enum": ["a", "b"] }), s(), vec![EnumRemoved], "SAFE+SRC", "BREAK"),
        ("6.1#11 extensible enum -> free string", json!({ "type": "string", "enum": ["a", "b"], "x-extensible-enum": true }), s(), vec![ExtensibleEnumRemoved], "SAFE+SRC", "SAFE+SRC"),
        ("6.1#12 const added", s(), json!({ "type": "string", "const": "a" }), vec![ConstAdded], "BREAK", "SAFE"),
        ("6.1#12 const changed", json!({ "const": "a" }), json!({ "const": "b" }), vec![ConstChanged], "BREAK", "BREAK"),
        ("6.1#12 const removed", json!({ "type": "string", "const": "a" }), s(), vec![ConstRemoved], "SAFE", "BREAK"),
        ("6.1#12 single-value enum -> several", json!({ "type": "string", "enum": ["a"] }), json!({ "type": "string", "enum": ["a", "b"] }), vec![EnumValueAdded], "SAFE*", "BREAK"),
        ("6.1#13 integer -> number", json!({ "type": "integer" }), json!({ "type": "number" }), vec![TypeWidened], "SAFE+SRC", "BREAK"),
        ("6.1#13 add to the type array", s(), json!({ "type": ["string", "integer"] }), vec![TypeWidened], "SAFE+SRC", "BREAK"),
        ("6.1#13 type dropped (null comes with it)", s(), json!({}), vec![BecameNullable, TypeWidened], "SAFE", "BREAK"),
        ("6.1#14 number -> integer", json!({ "type": "number" }), json!({ "type": "integer" }), vec![TypeNarrowed], "BREAK", "SAFE+SRC"),
        ("6.1#14 drop a union member", json!({ "type": ["string", "integer"] }), s(), vec![TypeNarrowed], "BREAK", "SAFE+SRC"),
        ("6.1#15 string -> integer", s(), json!({ "type": "integer" }), vec![TypeChanged], "BREAK", "BREAK"),
        ("6.1#15 object -> array", json!({ "type": "object" }), json!({ "type": "array" }), vec![TypeChanged], "BREAK", "BREAK"),
        ("6.1#16 nullable via type array", s(), json!({ "type": ["string", "null"] }), vec![BecameNullable], "SAFE", "BREAK"),
        ("6.1#16 nullable via oneOf", s(), json!({ "oneOf": [s(), { "type": "null" }] }), vec![BecameNullable], "SAFE", "BREAK"),
        ("6.1#16 nullable via enum", json!({ "type": "string", "enum": ["a"] }), json!({ "type": ["string", "null"], "enum": ["a", null] }), vec![BecameNullable], "SAFE", "BREAK"),
        ("6.1#17 not nullable", json!({ "oneOf": [{ "type": "null" }, s()] }), s(), vec![BecameNotNullable], "BREAK", "SAFE"),
        ("6.1#13 integer ids accepted", json!({ "type": "string", "pattern": "^[0-9a-z]+$" }), json!({ "type": "string", "pattern": "^[0-9a-z]+$", "x-accept-integer": true }), vec![IntegerAccepted], "SAFE+SRC", "BREAK"),
        ("6.1#14 integer ids no longer accepted", json!({ "type": "string", "x-accept-integer": true }), s(), vec![IntegerNoLongerAccepted], "BREAK", "SAFE+SRC"),
        ("6.1#18 additionalProperties false -> true", closed_a.clone(), open_a.clone(), vec![AdditionalPropertiesOpened], "SAFE", "WARN+SRC"),
        ("6.1#18 additionalProperties false -> schema", closed_a.clone(), map_a.clone(), vec![AdditionalPropertiesOpened], "SAFE", "WARN+SRC"),
        ("6.1#19 additionalProperties true -> false", open_a.clone(), closed_a.clone(), vec![AdditionalPropertiesClosed], "BREAK", "SAFE"),
        ("6.1#19 missing additionalProperties -> false", json!({ "type": "object", "properties": { "a": s() } }), closed_a.clone(), vec![AdditionalPropertiesClosed], "BREAK", "SAFE"),
        ("6.1#20 format added", s(), json!({ "type": "string", "format": "uuid" }), vec![FormatAdded], "BREAK", "SAFE+SRC"),
        ("6.1#21 format removed", json!({ "type": "string", "format": "date-time" }), s(), vec![FormatRemoved], "SAFE+SRC", "BREAK+SRC"),
        ("6.1#22 format changed", json!({ "type": "string", "format": "uuid" }), json!({ "type": "string", "format": "email" }), vec![FormatChanged], "BREAK", "BREAK"),
        ("6.1#23 pattern added", s(), json!({ "type": "string", "pattern": "^[a-z]+$" }), vec![PatternAdded], "BREAK", "SAFE"),
        ("6.1#24 pattern removed", json!({ "type": "string", "pattern": "^[a-z]+$" }), s(), vec![PatternRemoved], "SAFE", "BREAK"),
        ("6.1#23 a pattern that accepts every string added", s(), json!({ "type": "string", "pattern": "^[\\s\\S]*$" }), vec![PatternRespelled], "SAFE", "SAFE"),
        ("6.1#25 pattern widened", json!({ "type": "string", "pattern": "^[a-z]+$" }), json!({ "type": "string", "pattern": "^[a-z0-9]+$" }), vec![PatternWidened], "SAFE", "BREAK"),
        ("6.1#25 pattern widened (longer)", json!({ "type": "string", "pattern": "^[a-z]{1,8}$" }), json!({ "type": "string", "pattern": "^[a-z]{1,16}$" }), vec![PatternWidened], "SAFE", "BREAK"),
        ("6.1#25 pattern widened (anchor dropped)", json!({ "type": "string", "pattern": "^run-[0-9]+$" }), json!({ "type": "string", "pattern": "^run-[0-9]+" }), vec![PatternWidened], "SAFE", "BREAK"),
        ("6.1#25 pattern narrowed", json!({ "type": "string", "pattern": "^[a-z0-9]+$" }), json!({ "type": "string", "pattern": "^[a-z]+$" }), vec![PatternNarrowed], "BREAK", "SAFE"),
        ("6.1#25 pattern narrowed (anchor added)", json!({ "type": "string", "pattern": "[0-9]" }), json!({ "type": "string", "pattern": "^[0-9]" }), vec![PatternNarrowed], "BREAK", "SAFE"),
        ("6.1#25 pattern narrowed (`.` stops at a newline)", json!({ "type": "string", "pattern": "x" }), json!({ "type": "string", "pattern": "^.*x.*$" }), vec![PatternNarrowed], "BREAK", "SAFE"),
        ("6.1#25 pattern respelled", json!({ "type": "string", "pattern": "^[0-9]+$" }), json!({ "type": "string", "pattern": "^\\d+$" }), vec![PatternRespelled], "SAFE", "SAFE"),
        ("6.1#25 pattern respelled (unanchored search)", json!({ "type": "string", "pattern": "ab" }), json!({ "type": "string", "pattern": "^[\\s\\S]*ab" }), vec![PatternRespelled], "SAFE", "SAFE"),
        ("6.1#25 pattern changed both ways", json!({ "type": "string", "pattern": "^[a-m]+$" }), json!({ "type": "string", "pattern": "^[h-z]+$" }), vec![PatternChanged], "BREAK", "BREAK"),
        ("6.1#25 pattern outside the decidable subset", json!({ "type": "string", "pattern": "\\bid" }), json!({ "type": "string", "pattern": "\\bid\\b" }), vec![PatternUndecided], "WARN", "WARN"),
        ("6.1#26 minLength up", json!({ "type": "string", "minLength": 1 }), json!({ "type": "string", "minLength": 2 }), vec![MinIncreased], "BREAK", "SAFE"),
        ("6.1#26 minimum up", json!({ "type": "number", "minimum": 0 }), json!({ "type": "number", "minimum": 1 }), vec![MinIncreased], "BREAK", "SAFE"),
        ("6.1#26 minimum -> exclusiveMinimum", json!({ "type": "number", "minimum": 0 }), json!({ "type": "number", "exclusiveMinimum": 0 }), vec![MinIncreased], "BREAK", "SAFE"),
        ("6.1#26 minItems up", json!({ "type": "array", "minItems": 1 }), json!({ "type": "array", "minItems": 2 }), vec![MinIncreased], "BREAK", "SAFE"),
        ("6.1#26 minProperties up", json!({ "type": "object", "minProperties": 1 }), json!({ "type": "object", "minProperties": 2 }), vec![MinIncreased], "BREAK", "SAFE"),
        ("6.1#27 minLength down", json!({ "type": "string", "minLength": 2 }), json!({ "type": "string", "minLength": 1 }), vec![MinDecreased], "SAFE", "BREAK"),
        ("6.1#27 exclusiveMinimum down", json!({ "type": "number", "exclusiveMinimum": 1 }), json!({ "type": "number", "exclusiveMinimum": 0 }), vec![MinDecreased], "SAFE", "BREAK"),
        ("6.1#28 maxLength down", json!({ "type": "string", "maxLength": 5 }), json!({ "type": "string", "maxLength": 4 }), vec![MaxDecreased], "BREAK", "SAFE"),
        ("6.1#28 maxItems down", json!({ "type": "array", "maxItems": 5 }), json!({ "type": "array", "maxItems": 4 }), vec![MaxDecreased], "BREAK", "SAFE"),
        ("6.1#29 maximum up", json!({ "type": "integer", "maximum": 5 }), json!({ "type": "integer", "maximum": 6 }), vec![MaxIncreased], "SAFE", "BREAK"),
        ("6.1#30 maxLength added", s(), json!({ "type": "string", "maxLength": 5 }), vec![BoundAdded], "BREAK", "SAFE"),
        ("6.1#30 minimum added", json!({ "type": "integer" }), json!({ "type": "integer", "minimum": 0 }), vec![BoundAdded], "BREAK", "SAFE"),
        ("6.1#31 maxLength removed", json!({ "type": "string", "maxLength": 5 }), s(), vec![BoundRemoved], "SAFE", "BREAK"),
        ("6.1#32 multipleOf added", json!({ "type": "number" }), json!({ "type": "number", "multipleOf": 2 }), vec![MultipleOfAdded], "BREAK", "SAFE"),
        ("6.1#32 multipleOf to a multiple", json!({ "type": "number", "multipleOf": 2 }), json!({ "type": "number", "multipleOf": 4 }), vec![MultipleOfTightened], "BREAK", "SAFE"),
        ("6.1#32 multipleOf to a divisor", json!({ "type": "number", "multipleOf": 4 }), json!({ "type": "number", "multipleOf": 2 }), vec![MultipleOfRelaxed], "SAFE", "BREAK"),
        ("6.1#32 multipleOf to neither", json!({ "type": "number", "multipleOf": 2 }), json!({ "type": "number", "multipleOf": 3 }), vec![MultipleOfChanged], "BREAK", "BREAK"),
        ("6.1#32 multipleOf removed", json!({ "type": "number", "multipleOf": 2 }), json!({ "type": "number" }), vec![MultipleOfRemoved], "SAFE", "BREAK"),
        ("6.1#33 uniqueItems added", json!({ "type": "array" }), json!({ "type": "array", "uniqueItems": true }), vec![UniqueItemsAdded], "BREAK", "SAFE"),
        ("6.1#33 uniqueItems removed", json!({ "type": "array", "uniqueItems": true }), json!({ "type": "array" }), vec![UniqueItemsRemoved], "SAFE", "BREAK"),
        ("6.1#34 oneOf variant added", union(&["a", "b"], false), union(&["a", "b", "c"], false), vec![OneOfVariantAdded], "SAFE", "BREAK"),
        ("6.1#34 oneOf variant added (x-extensible-union)", union(&["a", "b"], true), union(&["a", "b", "c"], true), vec![ExtensibleOneOfVariantAdded], "SAFE", "SAFE+SRC"),
        ("6.1#34 oneOf variant added, no discriminator", json!({ "oneOf": [s(), { "type": "integer" }] }), json!({ "oneOf": [s(), { "type": "integer" }, { "type": "boolean" }] }), vec![OneOfOverlappingVariantAdded], "WARN", "BREAK"),
        (
            "6.1#34 a const tag does not discriminate variants that admit non-objects",
            json!({ "oneOf": [{ "properties": { "kind": { "const": "a" } }, "required": ["kind"] }] }),
            json!({ "oneOf": [{ "properties": { "kind": { "const": "a" } }, "required": ["kind"] }, { "properties": { "kind": { "const": "b" } }, "required": ["kind"] }] }),
            vec![OneOfOverlappingVariantAdded],
            "WARN",
            "BREAK",
        ),
        ("6.1#35 oneOf variant removed", union(&["a", "b", "c"], false), union(&["a", "b"], false), vec![OneOfVariantRemoved], "BREAK", "SAFE+SRC"),
        ("6.1#35 oneOf variant removed, no discriminator", json!({ "oneOf": [s(), { "type": "integer" }, { "type": "boolean" }] }), json!({ "oneOf": [s(), { "type": "integer" }] }), vec![OneOfOverlappingVariantRemoved], "BREAK", "WARN+SRC"),
        ("6.1#36 allOf member added", json!({ "allOf": [{ "required": ["a"] }] }), json!({ "allOf": [{ "required": ["a"] }, { "required": ["b"] }] }), vec![AllOfMemberAdded], "BREAK", "SAFE"),
        ("6.1#36 allOf member removed", json!({ "allOf": [{ "required": ["a"] }, { "required": ["b"] }] }), json!({ "allOf": [{ "required": ["a"] }] }), vec![AllOfMemberRemoved], "WARN", "BREAK"),
        ("6.1#37 default added", json!({ "type": "boolean" }), json!({ "type": "boolean", "default": false }), vec![DefaultChanged], "WARN", "SAFE"),
        ("6.1#37 default changed", json!({ "type": "boolean", "default": true }), json!({ "type": "boolean", "default": false }), vec![DefaultChanged], "WARN", "SAFE"),
        ("6.1#38 deprecated", s(), json!({ "type": "string", "deprecated": true }), vec![Deprecated], "SAFE", "SAFE"),
        (
            "6.1#39 definition renamed, same schema",
            json!({ "$ref": "#/$defs/Old", "$defs": { "Old": s() } }),
            json!({ "$ref": "#/$defs/New", "$defs": { "New": s() } }),
            vec![TypeRenamed],
            "SAFE+SRC",
            "SAFE+SRC",
        ),
        ("6.1#39 x-opaque", json!({ "type": "object" }), json!({ "type": "object", "x-opaque": true }), vec![OpaqueChanged], "SAFE+SRC", "SAFE+SRC"),
        ("6.1#40 items recurse", json!({ "type": "array", "items": { "type": "integer" } }), json!({ "type": "array", "items": { "type": "number" } }), vec![TypeWidened], "SAFE+SRC", "BREAK"),
        ("6.1#40 properties recurse", obj(json!({ "a": { "type": "integer", "maximum": 3 } }), &[], json!(false)), obj(json!({ "a": { "type": "integer", "maximum": 9 } }), &[], json!(false)), vec![MaxIncreased], "SAFE", "BREAK"),
        ("6.1 keyword outside the model", json!({ "anyOf": [s()] }), json!({ "anyOf": [s(), { "type": "integer" }] }), vec![UnsupportedKeywordChanged], "WARN", "WARN"),
    ]
}

#[test]
fn every_schema_row_in_both_directions() {
    let mut failures = Vec::new();
    for (row, old, new, kinds, c2s, s2c) in schema_cases() {
        let found: Vec<Kind> = diff(&old, &new).into_iter().map(|c| c.kind).collect();
        if found != kinds {
            failures.push(format!("{row}: expected {kinds:?}, found {found:?}"));
            continue;
        }
        let main = kinds[0];
        for (direction, table) in [(Direction::ClientToServer, c2s), (Direction::ServerToClient, s2c)] {
            if let Err(e) = expect(main, direction, table) {
                failures.push(format!("{row}: {e}"));
            }
        }
        // Through the scopes: a request is read by the server, a payload by old clients.
        let request = schema_findings(Scope::Request, &old, &new, "channels/x.yaml", "/actions/a/request");
        let payload = schema_findings(Scope::Payload, &old, &new, "channels/x.yaml", "/events/e/payload");
        let id = main.rule().id;
        assert_eq!(request[0].rule, format!("REQUEST_{id}"), "{row}");
        assert_eq!(request[0].direction, Direction::ClientToServer, "{row}");
        assert_eq!(request[0].verdict, main.verdict(Direction::ClientToServer), "{row}");
        assert!(request[0].pointer.starts_with("/actions/a/request"), "{row}");
        assert_eq!(payload[0].rule, format!("PAYLOAD_{id}"), "{row}");
        assert_eq!(payload[0].direction, Direction::ServerToClient, "{row}");
        assert_eq!(payload[0].verdict, main.verdict(Direction::ServerToClient), "{row}");
    }
    assert!(failures.is_empty(), "{} rows disagree:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn every_schema_rule_has_a_case() {
    let cases = schema_cases();
    for kind in Kind::ALL.iter().filter(|k| k.is_schema()) {
        assert!(cases.iter().any(|c| c.3.contains(kind)), "no case for {kind:?}");
    }
}

/// Every schema keyword's change is classified by one principle in both directions: a
/// change that loses values its reader relied on is a BREAK there, one that loses none is
/// SAFE, an undecided one a WARN; the few reviewed exceptions are WARNs with a reason. So a
/// loosened `maxLength` and a widened `pattern` on an event payload are both BREAKs.
#[test]
fn every_schema_keyword_follows_one_principle_in_both_directions() {
    use codegen::compat::rules::{principled, REVIEWED_EXCEPTIONS};
    let mut failures = Vec::new();
    for kind in Kind::ALL.iter().filter(|k| k.is_schema()) {
        for direction in [Direction::ClientToServer, Direction::ServerToClient] {
            let effect = kind.effect(direction).unwrap_or_else(|| panic!("{kind:?} has no effect"));
            let expected = principled(effect, direction);
            let actual = kind.verdict(direction);
            match REVIEWED_EXCEPTIONS.iter().find(|(k, d, _)| k == kind && *d == direction) {
                Some((_, _, why)) if actual != Verdict::Warn || expected == Verdict::Warn || why.is_empty() => {
                    failures.push(format!("{kind:?} {direction:?}: a reviewed exception must be a WARN where the principle says otherwise ({expected:?}), with a reason; it is {actual:?}"));
                }
                Some(_) => {}
                None if actual != expected => failures.push(format!("{kind:?} {direction:?}: {effect:?} means {expected:?}, the table says {actual:?}")),
                None => {}
            }
        }
    }
    for kind in Kind::ALL.iter().filter(|k| !k.is_schema()) {
        assert_eq!(kind.effect(Direction::ClientToServer), None, "{kind:?} is name-level");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The example of the issue, spelled out.
    assert_eq!((Kind::MaxIncreased.verdict(Direction::ServerToClient), Kind::PatternWidened.verdict(Direction::ServerToClient)), (Verdict::Break, Verdict::Break));
    assert_eq!((Kind::MaxIncreased.verdict(Direction::ClientToServer), Kind::PatternWidened.verdict(Direction::ClientToServer)), (Verdict::Safe, Verdict::Safe));
}

/// Spellings of one meaning normalize to no change at all.
#[test]
fn normalization_equivalences() {
    let same = [
        (json!({ "type": ["string", "null"] }), json!({ "oneOf": [{ "type": "string" }, { "type": "null" }] })),
        (json!({ "type": ["string", "null"] }), json!({ "oneOf": [{ "type": "null" }, { "type": "string" }] })),
        (json!({ "type": ["null", "string"] }), json!({ "type": ["string", "null"] })),
        (json!({ "type": "string", "enum": ["a"] }), json!({ "type": "string", "const": "a" })),
        (json!({ "enum": ["a", "b"] }), json!({ "type": "string", "enum": ["b", "a"] })),
        (json!({ "type": ["string", "null"], "enum": ["a", null] }), json!({ "oneOf": [{ "type": "string", "enum": ["a"] }, { "type": "null" }] })),
        (json!({ "type": "object", "required": ["a", "b"], "properties": { "a": {}, "b": {} } }), json!({ "type": "object", "required": ["b", "a"], "properties": { "b": {}, "a": {} }, "additionalProperties": true })),
        (json!({ "type": "object", "additionalProperties": {} }), json!({ "type": "object" })),
        (json!({ "type": ["integer"] }), json!({ "type": "integer" })),
        (json!({ "type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 10 }), json!({ "type": "integer", "minimum": 1, "maximum": 9 })),
        (json!({ "type": "string", "minLength": 0 }), json!({ "type": "string" })),
        (json!({ "type": "array", "items": true }), json!({ "type": "array" })),
        (json!({ "type": "string", "description": "x", "title": "y", "examples": ["z"] }), json!({ "type": "string" })),
        (json!({ "$ref": "#/$defs/A", "$defs": { "A": { "type": "string" } } }), json!({ "x-ref": "A", "type": "string" })),
    ];
    for (a, b) in same {
        assert_eq!(diff(&a, &b), vec![], "{a} vs {b}");
        assert_eq!(diff(&b, &a), vec![], "{b} vs {a}");
    }
}

// ---- name-level rules (§6.2) on the minimal schema set of fixtures/base ----

fn base_texts() -> BTreeMap<String, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/base/schema");
    let mut texts = BTreeMap::new();
    for rel in ["cableway.yaml", "channels/board.yaml", "models/board.json", "models/common.json"] {
        texts.insert(rel.to_owned(), std::fs::read_to_string(dir.join(rel)).expect("fixture file"));
    }
    texts
}

fn snapshot(texts: &BTreeMap<String, String>) -> Snapshot {
    let loaded = codegen::load::load_texts("schema", texts.clone()).unwrap_or_else(|e| panic!("{e}"));
    let ir = codegen::build(&loaded).unwrap_or_else(|e| panic!("{e}"));
    Snapshot::from_ir(&ir, "1.0.0")
}

/// Applies `(file, from, to)` text replacements (every occurrence), each of which must match.
fn edit(mut texts: BTreeMap<String, String>, edits: &[(&str, &str, &str)]) -> BTreeMap<String, String> {
    for (file, from, to) in edits {
        let text = texts.get_mut(*file).expect("file");
        assert!(text.contains(from), "`{from}` not in {file}");
        *text = text.replace(from, to);
    }
    texts
}

const BOARD: &str = "channels/board.yaml";
const BOARD_ID: &str = "    board_id: { $ref: \"../models/common.json#/$defs/Id\" }";
/// The base with `board_id` required, so its stream needs no `present` guard.
const BOARD_ID_REQUIRED: &[(&str, &str, &str)] = &[
    (BOARD, "required: [account_id, scope]", "required: [account_id, scope, board_id]"),
    (BOARD, "    when: { all: [{ param_is: { scope: board } }, { present: params.board_id }] }", "    when: { param_is: { scope: board } }"),
    (BOARD, "    - any:\n        - absent: params.board_id\n        - owns: { resource: board, id: params.board_id }\n", "    - owns: { resource: board, id: params.board_id }\n"),
];
const CARD_MOVED_LEVELS: &str = "      - \"board:{payload.board_id}\"\n      - \"board_account:{payload.account_id}\"\n    resource: { type: card, id: payload.id }\n  cursor.moved";
const CARD_MOVED_ONE_LEVEL: &str = "      - \"board_account:{payload.account_id}\"\n    resource: { type: card, id: payload.id }\n  cursor.moved";

fn findings(old: &[(&str, &str, &str)], new: &[(&str, &str, &str)]) -> Vec<Finding> {
    check(&snapshot(&edit(base_texts(), old)), &snapshot(&edit(base_texts(), new)))
}

fn ids(f: &[Finding]) -> Vec<(String, Verdict)> {
    let mut v: Vec<(String, Verdict)> = f.iter().map(|f| (f.rule.clone(), f.verdict)).collect();
    v.sort();
    v
}

/// A second channel: the base one under another name.
fn with_second_channel(mut texts: BTreeMap<String, String>) -> BTreeMap<String, String> {
    let second = texts[BOARD].replace("channel: BoardChannel", "channel: SecondBoardChannel");
    texts.insert("channels/second_board.yaml".into(), second);
    texts
}

#[test]
fn name_level_rows() {
    use Verdict::{Break, Safe, Warn};
    let card_archived = "  cursor.moved:\n    description: A viewer moved their pointer.";
    let added_event = "  card.archived:\n    description: A card was archived.\n    payload: { $ref: \"../models/board.json#/$defs/Card\" }\n    publish_to:\n      - \"board:{payload.board_id}\"\n  cursor.moved:\n    description: A viewer moved their pointer.";
    let move_cursor = "  move_cursor:\n    description: The viewer reports where their pointer is.\n    request: { $ref: \"../models/board.json#/$defs/Cursor\" }\n    relay: { event: cursor.moved, exclude_sender: true }\n";
    let extra_param = "    board_id: { $ref: \"../models/common.json#/$defs/Id\" }\n";
    let with_view = "    board_id: { $ref: \"../models/common.json#/$defs/Id\" }\n    view: { type: string, maxLength: 20 }\n";
    #[allow(clippy::type_complexity)]
    let cases: Vec<(&str, Vec<(&str, &str, &str)>, Vec<(&str, &str, &str)>, Vec<(&str, Verdict)>)> = vec![
        ("no change", vec![], vec![], vec![]),
        ("add event", vec![], vec![(BOARD, card_archived, added_event)], vec![("EVENT_ADDED", Warn)]),
        ("remove event, not reserved", vec![(BOARD, card_archived, added_event)], vec![], vec![("EVENT_NO_DELETE", Break), ("EVENT_NO_DELETE_UNLESS_RESERVED", Break)]),
        ("remove event, reserved", vec![(BOARD, card_archived, added_event)], vec![(BOARD, "events: [card.deleted]", "events: [card.archived, card.deleted]")], vec![("EVENT_NO_DELETE", Break)]),
        ("deprecate event", vec![], vec![(BOARD, "    description: A viewer moved their pointer.\n", "    description: A viewer moved their pointer.\n    deprecated: true\n")], vec![("EVENT_DEPRECATED", Safe)]),
        ("add publish_to level", vec![(BOARD, CARD_MOVED_LEVELS, CARD_MOVED_ONE_LEVEL)], vec![], vec![("PUBLISH_TO_ADDED", Safe)]),
        ("remove publish_to level", vec![], vec![(BOARD, CARD_MOVED_LEVELS, CARD_MOVED_ONE_LEVEL)], vec![("PUBLISH_TO_NO_DELETE", Break)]),
        ("add action", vec![(BOARD, move_cursor, "")], vec![], vec![("ACTION_ADDED", Safe)]),
        ("remove action, not reserved", vec![], vec![(BOARD, move_cursor, "")], vec![("ACTION_NO_DELETE", Break), ("ACTION_NO_DELETE_UNLESS_RESERVED", Break)]),
        ("remove action, reserved", vec![], vec![(BOARD, move_cursor, ""), (BOARD, "actions: [delete_card]", "actions: [delete_card, move_cursor]")], vec![("ACTION_NO_DELETE", Break)]),
        ("action gains a reply", vec![], vec![(BOARD, "relay: { event: cursor.moved, exclude_sender: true }\n", "relay: { event: cursor.moved, exclude_sender: true }\n    reply: { type: object, additionalProperties: false, properties: {} }\n")], vec![("ACTION_REPLY_ADDED", Safe)]),
        ("action loses its reply", vec![(BOARD, "relay: { event: cursor.moved, exclude_sender: true }\n", "relay: { event: cursor.moved, exclude_sender: true }\n    reply: { type: object, additionalProperties: false, properties: {} }\n")], vec![], vec![("ACTION_REPLY_REMOVED", Break)]),
        ("add error code", vec![], vec![(BOARD, "errors: [card_not_found]", "errors: [card_not_found, card_locked]")], vec![("ACTION_ERROR_ADDED", Break)]),
        ("remove error code", vec![(BOARD, "errors: [card_not_found]", "errors: [card_not_found, card_locked]")], vec![], vec![("ACTION_ERROR_REMOVED", Safe)]),
        ("add optional param", vec![], vec![(BOARD, extra_param, with_view)], vec![("PARAM_PROPERTY_ADDED", Safe)]),
        ("add required param", vec![], vec![(BOARD, extra_param, with_view), (BOARD, "required: [account_id, scope]", "required: [account_id, scope, view]")], vec![("PARAM_REQUIRED_ADDED", Break)]),
        ("remove param, not reserved", vec![(BOARD, extra_param, with_view)], vec![], vec![("PARAM_NO_DELETE_UNLESS_RESERVED", Break), ("PARAM_PROPERTY_REMOVED", Break)]),
        ("remove param, reserved", vec![(BOARD, extra_param, with_view)], vec![(BOARD, "params: [team_id]", "params: [team_id, view]")], vec![("PARAM_PROPERTY_REMOVED", Break)]),
        ("param enum value added", vec![], vec![(BOARD, "enum: [board, account]", "enum: [board, account, team]")], vec![("PARAM_ENUM_VALUE_ADDED", Safe)]),
        // A key param's value renders the stream name: what it accepts decides which
        // subscriptions are accepted (the param's own verdict), never where one listens.
        ("stream-key param changes constraint", vec![], vec![(BOARD, BOARD_ID, "    board_id: { type: string, format: uuid }")], vec![("PARAM_FORMAT_ADDED", Break), ("PARAM_PATTERN_REMOVED", Safe), ("PARAM_TYPE_RENAMED", Safe)]),
        ("stream-key param pattern widened: every key stays", vec![], vec![(BOARD, BOARD_ID, "    board_id: { type: string, pattern: \"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$\" }")], vec![("PARAM_PATTERN_WIDENED", Safe), ("PARAM_TYPE_RENAMED", Safe)]),
        ("stream-key param pattern narrowed", vec![], vec![(BOARD, BOARD_ID, "    board_id: { type: string, pattern: \"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$\" }")], vec![("PARAM_PATTERN_NARROWED", Break), ("PARAM_TYPE_RENAMED", Safe)]),
        ("stream-key param pattern respelled", vec![], vec![(BOARD, BOARD_ID, "    board_id: { type: string, pattern: \"^[0-9A-Za-z][A-Za-z0-9_-]{0,63}$\" }")], vec![("PARAM_PATTERN_RESPELLED", Safe), ("PARAM_TYPE_RENAMED", Safe)]),
        ("stream-key param made optional, its stream guarded by `present`", BOARD_ID_REQUIRED.to_vec(), vec![], vec![("AUTH_LOOSER", Safe), ("PARAM_BECAME_OPTIONAL", Safe), ("STREAM_WHEN_HOLDS_AS_BEFORE", Safe)]),
        (
            "a stream only subscriptions without the once-required param reach",
            BOARD_ID_REQUIRED.to_vec(),
            vec![(BOARD, "    when: { param_is: { scope: account } }\n", "    when: { param_is: { scope: account } }\n  - key: \"board_all:{params.account_id}\"\n    when: { all: [{ param_is: { scope: board } }, { absent: params.board_id }] }\n"), (BOARD, CARD_MOVED_LEVELS, "      - \"board:{payload.board_id}\"\n      - \"board_account:{payload.account_id}\"\n      - \"board_all:{payload.account_id}\"\n    resource: { type: card, id: payload.id }\n  cursor.moved")],
            vec![("AUTH_LOOSER", Safe), ("PARAM_BECAME_OPTIONAL", Safe), ("PUBLISH_TO_ADDED", Safe), ("STREAM_KEY_ADDED_FOR_NEW_PARAMS", Safe), ("STREAM_WHEN_HOLDS_AS_BEFORE", Safe)],
        ),
        ("stream-key param accepts integers: the key space stays", vec![], vec![(BOARD, "    board_id: { $ref: \"../models/common.json#/$defs/Id\" }", "    board_id: { type: string, pattern: \"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$\", x-accept-integer: true }")], vec![("PARAM_INTEGER_ACCEPTED", Safe), ("PARAM_TYPE_RENAMED", Safe)]),
        ("undeclared params ignored instead of refused", vec![(BOARD, "authorize:\n", "undeclared_params: refuse\nauthorize:\n")], vec![], vec![("UNDECLARED_PARAMS_IGNORED", Safe)]),
        ("undeclared params refused instead of ignored", vec![], vec![(BOARD, "authorize:\n", "undeclared_params: refuse\nauthorize:\n")], vec![("UNDECLARED_PARAMS_REFUSED", Break)]),
        ("reserved name dropped", vec![], vec![(BOARD, "events: [card.deleted]", "events: []")], vec![("RESERVED_NO_DELETE", Break)]),
        ("reserved name reused", vec![], vec![(BOARD, "actions: [delete_card]", "actions: []"), (BOARD, "  move_cursor:\n", "  delete_card:\n    description: Deletes.\n    request: { type: object, additionalProperties: false, properties: {} }\n    forward: {}\n  move_cursor:\n")], vec![("ACTION_ADDED", Safe), ("RESERVED_NO_DELETE", Break), ("RESERVED_NO_REUSE", Break)]),
        ("stream key renamed: one finding", vec![], vec![(BOARD, "\"board:{", "\"boards:{")], vec![("STREAM_RENAMED", Break)]),
        (
            "stream key renamed, and one event no longer published there",
            vec![],
            vec![(BOARD, "\"board:{", "\"boards:{"), (BOARD, "      - \"boards:{payload.board_id}\"\n      - \"board_account:{payload.account_id}\"\n    resource: { type: card, id: payload.id }\n  cursor.moved", CARD_MOVED_ONE_LEVEL)],
            vec![("PUBLISH_TO_NO_DELETE", Break), ("STREAM_RENAMED", Break)],
        ),
        ("a second stream key next to the old one", vec![], vec![(BOARD, "    when: { param_is: { scope: account } }\n", "    when: { param_is: { scope: account } }\n  - key: \"boards:{params.board_id}\"\n    when: { all: [{ param_is: { scope: board } }, { present: params.board_id }] }\n"), (BOARD, "      - \"board:{payload.board_id}\"\n", "      - \"board:{payload.board_id}\"\n      - \"boards:{payload.board_id}\"\n")], vec![("PUBLISH_TO_ADDED", Safe), ("PUBLISH_TO_ADDED", Safe), ("PUBLISH_TO_ADDED", Safe), ("STREAM_KEY_ADDED", Warn)]),
        ("stream condition changed", vec![], vec![(BOARD, "    when: { param_is: { scope: account } }", "    when: { all: [{ param_is: { scope: account } }, { absent: params.board_id }] }")], vec![("STREAM_WHEN_CHANGED", Warn)]),
        ("authorization looser", vec![], vec![(BOARD, "    - principal: user\n", "")], vec![("AUTH_LOOSER", Safe)]),
        ("authorization stricter", vec![], vec![(BOARD, "    - principal: user\n", "    - principal: user\n    - permission: board.read\n")], vec![("AUTH_NOT_STRICTER", Break)]),
        ("authorization changed", vec![], vec![(BOARD, "    - principal: user\n", "    - principal: worker\n")], vec![("AUTH_CHANGED", Warn)]),
        ("stable channel made experimental", vec![], vec![(BOARD, "channel: BoardChannel\n", "channel: BoardChannel\nstability: experimental\n")], vec![("STABILITY_LOWERED", Warn)]),
        ("experimental channel: BREAK becomes WARN", vec![(BOARD, "channel: BoardChannel\n", "channel: BoardChannel\nstability: experimental\n")], vec![(BOARD, "channel: BoardChannel\n", "channel: BoardChannel\nstability: experimental\n"), (BOARD, "errors: [card_not_found]", "errors: [card_not_found, card_locked]")], vec![("ACTION_ERROR_ADDED", Warn)]),
        ("new required claim", vec![], vec![("cableway.yaml", "required: [sub, account_id, permissions, kind, exp]", "required: [sub, account_id, permissions, kind, exp, iat]")], vec![("CLAIMS_BECAME_REQUIRED", Break)]),
        ("payload enum value added", vec![], vec![("models/board.json", "\"enum\": [\"todo\", \"doing\", \"done\"]", "\"enum\": [\"todo\", \"doing\", \"done\", \"blocked\"]")], vec![("PAYLOAD_ENUM_VALUE_ADDED", Break), ("PAYLOAD_ENUM_VALUE_ADDED", Break)]),
        ("description edits are invisible", vec![], vec![("models/board.json", "\"description\": \"One card of a board.\"", "\"description\": \"One card.\"")], vec![]),
    ];
    let mut failures = Vec::new();
    for (name, old, new, expected) in cases {
        let found = ids(&findings(&old, &new));
        let mut expected: Vec<(String, Verdict)> = expected.into_iter().map(|(r, v)| (r.to_owned(), v)).collect();
        expected.sort();
        if found != expected {
            failures.push(format!("{name}:\n  expected {expected:?}\n  found    {found:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn channels_added_and_removed() {
    let one = snapshot(&base_texts());
    let two = snapshot(&with_second_channel(base_texts()));
    assert_eq!(ids(&check(&one, &two)), vec![("CHANNEL_ADDED".to_owned(), Verdict::Safe)]);
    let removed = check(&two, &one);
    assert_eq!(ids(&removed), vec![("CHANNEL_NO_DELETE".to_owned(), Verdict::Break)]);
    assert_eq!(removed[0].file, "channels/second_board.yaml");
    assert_eq!(removed[0].direction, Direction::Identifier);
}

#[test]
fn findings_carry_file_pointer_direction_and_hint() {
    let f = findings(&[], &[("models/board.json", "\"enum\": [\"todo\", \"doing\", \"done\"]", "\"enum\": [\"todo\", \"doing\", \"done\", \"blocked\"]")]);
    let f = f.iter().find(|f| f.pointer.starts_with("/events/card.created")).expect("card.created finding");
    assert_eq!(f.path(), "channels/board.yaml#/events/card.created/payload/properties/column/enum");
    assert_eq!(f.direction, Direction::ServerToClient);
    assert!(f.message.contains("\"blocked\""), "{}", f.message);
    assert!(f.hint.contains("x-extensible-enum"), "{}", f.hint);
}

/// A name in the set's own `reserved` list cannot be used: the schema set does not load.
#[test]
fn reusing_a_reserved_name_is_an_error() {
    let texts = edit(base_texts(), &[(BOARD, "  move_cursor:\n", "  delete_card:\n    description: Deletes.\n    request: { type: object, additionalProperties: false, properties: {} }\n    forward: {}\n  move_cursor:\n")]);
    let loaded = codegen::load::load_texts("schema", texts).expect("parses");
    let err = codegen::build(&loaded).expect_err("reserved name reused");
    assert!(err.to_string().contains("action name `delete_card` is reserved"), "{err}");
}

#[test]
fn lock_snapshots_are_canonical_and_round_trip() {
    let snap = snapshot(&base_texts());
    let text = snap.to_lock_text();
    assert!(text.ends_with("}\n"));
    assert!(!text.contains("$defs") && !text.contains("\"$ref\"") && !text.contains("\"description\""), "dereferenced, annotations dropped");
    let back = Snapshot::from_lock_text(Path::new("lock.json"), &text).expect("parses");
    assert_eq!(back.to_lock_text(), text);
    assert!(check(&back, &snap).is_empty());
    // Reordering the source does not change the lock.
    let reordered = edit(base_texts(), &[(BOARD, "required: [account_id, scope]", "required: [scope, account_id]")]);
    assert_eq!(snapshot(&reordered).to_lock_text().replace("\"scope\",\n          \"account_id\"", "\"account_id\",\n          \"scope\""), text);
}

#[test]
fn release_bumps() {
    let v = |s: &str| Version::parse(s).unwrap();
    let breaking = findings(&[], &[(BOARD, "errors: [card_not_found]", "errors: [card_not_found, card_locked]")]);
    let additive = findings(&[], &[(BOARD, card_archived_edit().0, card_archived_edit().1)]);
    assert_eq!(codegen::compat::required_bump(&breaking), Bump::Major);
    assert_eq!(codegen::compat::required_bump(&additive), Bump::Minor);
    assert_eq!(codegen::compat::required_bump(&[]), Bump::Patch);
    let refused = codegen::compat::release_allowed(v("1.0.0"), v("1.1.0"), &breaking).unwrap_err();
    assert!(refused.to_string().contains("need a major bump (release 2.0.0 or later)"), "{refused}");
    assert_eq!(codegen::compat::release_allowed(v("1.0.0"), v("2.0.0"), &breaking), Ok(Bump::Major));
    assert!(codegen::compat::release_allowed(v("1.0.0"), v("1.0.1"), &additive).unwrap_err().to_string().contains("need a minor bump (release 1.1.0"));
    assert_eq!(codegen::compat::release_allowed(v("1.0.0"), v("1.1.0"), &additive), Ok(Bump::Minor));
    assert_eq!(codegen::compat::release_allowed(v("1.0.0"), v("1.0.1"), &[]), Ok(Bump::Patch));
    assert!(codegen::compat::release_allowed(v("1.2.0"), v("1.1.9"), &[]).is_err());
    assert!(Version::parse("1.0").is_err() && Version::parse("01.0.0").is_err() && Version::parse("1.0.0-rc1").is_err());
}

fn card_archived_edit() -> (&'static str, &'static str) {
    (
        "  cursor.moved:\n    description: A viewer moved their pointer.",
        "  card.archived:\n    description: A card was archived.\n    payload: { $ref: \"../models/board.json#/$defs/Card\" }\n    publish_to:\n      - \"board:{payload.board_id}\"\n  cursor.moved:\n    description: A viewer moved their pointer.",
    )
}

#[test]
fn ignore_entries_expire() {
    let mut f = findings(&[], &[(BOARD, "errors: [card_not_found]", "errors: [card_not_found, card_locked]")]);
    let text = "ignore:\n  - rule: ACTION_ERROR_ADDED\n    path: channels/board.yaml#/actions/archive_card\n    reason: the web client maps unknown codes to a generic error\n    expires: 2030-01-31\n  - rule: EVENT_NO_DELETE\n    path: channels/board.yaml#/events/card.moved\n    reason: nothing matches\n    expires: 2030-01-31\n";
    let entries = ignore::parse(Path::new("compat-ignore.yaml"), text).expect("parses");
    let today = Date::parse("2030-01-31").unwrap();
    let applied = ignore::apply(&entries, &mut f, today);
    assert!(f[0].ignored.is_some(), "covered below its path, through its last day");
    assert_eq!(applied.unused.len(), 1);
    assert!(applied.expired.is_empty());

    let mut f = findings(&[], &[(BOARD, "errors: [card_not_found]", "errors: [card_not_found, card_locked]")]);
    let applied = ignore::apply(&entries, &mut f, Date::parse("2030-02-01").unwrap());
    assert!(f[0].ignored.is_none(), "an expired entry ignores nothing");
    assert_eq!(applied.expired.len(), 2);

    for bad in ["ignore:\n  - rule: X\n    path: p\n    reason: r\n    expires: 2030-02-30\n", "ignore:\n  - rule: X\n    path: p\n    reason: r\n", "ignore:\n  - rule: X\n    path: p\n    reason: r\n    expires: 2030-01-01\n    owner: me\n"] {
        assert!(ignore::parse(Path::new("i.yaml"), bad).is_err(), "{bad}");
    }
    for day in ["1970-01-01", "2024-01-01", "2000-02-29", "2024-02-29"] {
        assert_eq!(Date::parse(day).map(|d| d.to_string()).as_deref(), Some(day), "{day} round-trips");
    }
    for bad in ["1900-02-29", "2023-02-29", "2030-13-01", "2030-1-01", "2030-01-01x", "30-01-01"] {
        assert!(Date::parse(bad).is_none(), "{bad} is not a day");
    }
    assert!(Date::parse("2030-01-31") < Date::parse("2030-02-01"));
}

/// Stream-key findings say what a deployed client observes.
#[test]
fn stream_findings_say_what_deployed_clients_see() {
    let renamed = findings(&[], &[(BOARD, "\"board:{", "\"boards:{")]);
    let [f] = renamed.as_slice() else { panic!("one finding: {renamed:?}") };
    assert_eq!(f.path(), "channels/board.yaml#/streams/0/key");
    for part in ["`board:{params.board_id}` was renamed to `boards:{params.board_id}`", "`card.created`, `card.moved`, `cursor.moved`", "history is per stream name", "not replayed", "rolling deploy"] {
        assert!(f.message.contains(part), "{part}: {}", f.message);
    }
    assert!(f.hint.contains("both in `streams`"), "{}", f.hint);

    let widened = findings(&[], &[(BOARD, BOARD_ID, "    board_id: { type: string, pattern: \"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$\" }")]);
    let f = widened.iter().find(|f| f.rule == "PARAM_PATTERN_WIDENED").expect("widened");
    assert!(f.message.contains(&format!("e.g. \"0{}\"", "-".repeat(64))), "the shortest value only the new pattern accepts: {}", f.message);
    assert!(f.message.contains("part of the stream key `board:{params.board_id}`") && f.message.contains("no deployed subscription listens elsewhere"), "{}", f.message);

    let optional = findings(BOARD_ID_REQUIRED, &[]);
    let f = optional.iter().find(|f| f.rule == "STREAM_WHEN_HOLDS_AS_BEFORE").expect("holds as before");
    assert!(f.message.contains("deployed clients listen to the same streams"), "{}", f.message);
}
