//! Soundness of SAFE verdicts, judged by the `jsonschema` crate (formats asserted, as the
//! server validates).
//!
//! Schema pairs come from a mutation catalogue applied to a few base schemas: add, remove,
//! rename or re-require a property; add or remove enum values, introduce or drop an enum or
//! a const; widen, narrow or change a type; make a value nullable in each of the three
//! spellings or not nullable; add, move or remove every bound; `multipleOf`;
//! `uniqueItems`; `additionalProperties` false/true/schema; `format`; `pattern`;
//! `x-extensible-enum`; `default`; `oneOf` variants; `allOf` members; `items`; `deprecated`;
//! dropping `type`.
//! Each pair is checked both ways (old→new and new→old), so every mutation is also
//! checked undone.
//!
//! For every pair whose findings are all SAFE in a direction:
//! - client→server: every sampled instance valid under the old schema is valid under the new;
//! - server→client: every sampled instance valid under the new schema is valid under the
//!   old one *as a tolerant reader sees it* (the contract of §6: unknown object keys are
//!   ignored, and unknown values of an `x-extensible-enum` enum are accepted). Strict
//!   validity under the old schema also counts.
//!
//! Instances are generated from both schemas of the pair (so values only one side accepts
//! come up), near every bound, with optional keys present or not, extra keys drawn from
//! every property name of the pair, and some noise; validity decides, not the generator.

use std::collections::BTreeSet;

use codegen::compat::schema_diff::diff;
use codegen::compat::{Direction, Verdict};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Map, Value};

// ---- the catalogue ----

fn bases() -> Vec<Value> {
    vec![
        json!({
            "type": "object", "additionalProperties": false, "required": ["id", "status"],
            "properties": {
                "id": { "type": "string", "pattern": "^[a-z0-9]{1,8}$" },
                "count": { "type": "integer", "minimum": 0, "maximum": 100 },
                "ratio": { "type": "number", "multipleOf": 0.5, "exclusiveMaximum": 10 },
                "status": { "type": "string", "enum": ["a", "b", "c"] },
                "level": { "type": "string", "enum": ["low", "high"], "x-extensible-enum": true },
                "tags": { "type": "array", "items": { "type": "string", "maxLength": 4 }, "maxItems": 3, "uniqueItems": true },
                "note": { "type": ["string", "null"], "maxLength": 5 },
                "at": { "type": "string", "format": "date-time" },
                "owner": { "oneOf": [{ "type": "object", "additionalProperties": false, "required": ["name"], "properties": { "name": { "type": "string", "minLength": 1 } } }, { "type": "null" }] },
                "meta": { "type": "object", "additionalProperties": true, "properties": { "x": { "type": "integer" } } },
                "scores": { "type": "object", "additionalProperties": { "type": "integer", "minimum": 0 } },
                "flag": { "type": "boolean", "default": false }
            }
        }),
        json!({
            "oneOf": [
                { "type": "object", "additionalProperties": false, "required": ["kind", "x"], "properties": { "kind": { "const": "a" }, "x": { "type": "integer", "minimum": 0 } } },
                { "type": "object", "additionalProperties": false, "required": ["kind"], "properties": { "kind": { "const": "b" }, "y": { "type": "string", "maxLength": 3 } } }
            ]
        }),
        json!({ "type": "array", "items": { "type": "integer", "minimum": -5, "maximum": 5 }, "minItems": 1 }),
        json!({ "type": "string", "minLength": 1, "maxLength": 6 }),
        json!({ "type": "object", "additionalProperties": true, "allOf": [{ "properties": { "id": { "type": "string" } } }], "properties": { "n": { "type": ["number", "null"], "minimum": 0 } } }),
        json!({ "type": "object", "additionalProperties": false, "properties": { "e": { "type": "string", "enum": ["a", "b"] }, "c": { "const": "k" }, "u": { "type": "string", "format": "uuid" } } }),
    ]
}

/// Operations of the catalogue.
const OPS: u8 = 31;

/// Every subschema position of a document: root, properties, items, map values, variants.
fn sites(v: &Value, at: String, out: &mut Vec<String>) {
    let Some(o) = v.as_object() else { return };
    out.push(at.clone());
    if let Some(props) = o.get("properties").and_then(Value::as_object) {
        for (k, p) in props {
            sites(p, format!("{at}/properties/{k}"), out);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(x) = o.get(key) {
            sites(x, format!("{at}/{key}"), out);
        }
    }
    for key in ["oneOf", "allOf"] {
        if let Some(arms) = o.get(key).and_then(Value::as_array) {
            for (i, a) in arms.iter().enumerate() {
                sites(a, format!("{at}/{key}/{i}"), out);
            }
        }
    }
}

fn type_names(o: &Map<String, Value>) -> Vec<String> {
    match o.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

fn set_types(o: &mut Map<String, Value>, ts: Vec<String>) {
    match ts.len() {
        0 => {
            o.remove("type");
        }
        1 => {
            o.insert("type".into(), Value::String(ts[0].clone()));
        }
        _ => {
            o.insert("type".into(), Value::Array(ts.into_iter().map(Value::String).collect()));
        }
    }
}

fn is_object_schema(o: &Map<String, Value>) -> bool {
    type_names(o).iter().any(|t| t == "object") || o.contains_key("properties")
}

fn prop_names(o: &Map<String, Value>) -> Vec<String> {
    o.get("properties").and_then(Value::as_object).map(|p| p.keys().cloned().collect()).unwrap_or_default()
}

fn required_mut(o: &mut Map<String, Value>) -> &mut Vec<Value> {
    o.entry("required").or_insert_with(|| json!([])).as_array_mut().expect("required is an array")
}

/// Applies operation `op` (with argument `arg`) to the schema at `node`.
fn mutate(node: &mut Value, op: u8, arg: u8) {
    let a = usize::from(arg);
    let scalars = [json!({ "type": "string" }), json!({ "type": "integer", "minimum": 0 }), json!({ "type": ["string", "null"] }), json!({ "type": "string", "enum": ["a", "b"] })];
    // Wrapping in the nullable `oneOf` replaces the node itself.
    if op == 14 && a % 3 == 1 && node.get("oneOf").is_none() {
        *node = json!({ "oneOf": [node.clone(), { "type": "null" }] });
        return;
    }
    if op == 15 {
        if let Some([x, n]) = node.get("oneOf").and_then(Value::as_array).map(Vec::as_slice) {
            if n == &json!({ "type": "null" }) {
                *node = x.clone();
                return;
            }
        }
    }
    let Some(o) = node.as_object_mut() else { return };
    let props = prop_names(o);
    let pick = |names: &[String]| -> Option<String> { (!names.is_empty()).then(|| names[a % names.len()].clone()) };
    match op {
        0 | 1 if is_object_schema(o) => {
            let name = ["p_new", "q_new"][a % 2].to_owned();
            o.entry("properties").or_insert_with(|| json!({})).as_object_mut().unwrap().insert(name.clone(), scalars[(a / 2) % scalars.len()].clone());
            if op == 1 {
                required_mut(o).push(Value::String(name));
            }
        }
        2 => {
            if let Some(k) = pick(&props) {
                o["properties"].as_object_mut().unwrap().remove(&k);
                required_mut(o).retain(|r| r != &Value::String(k.clone()));
            }
        }
        3 => {
            if let Some(k) = pick(&props) {
                let req = required_mut(o);
                if req.contains(&Value::String(k.clone())) {
                    req.retain(|r| r != &Value::String(k.clone()));
                } else {
                    req.push(Value::String(k));
                }
            }
        }
        4 => {
            if let Some(k) = pick(&props) {
                let p = o["properties"].as_object_mut().unwrap().remove(&k).unwrap();
                let renamed = format!("{k}_v2");
                o["properties"].as_object_mut().unwrap().insert(renamed.clone(), p);
                for r in required_mut(o).iter_mut() {
                    if r == &Value::String(k.clone()) {
                        *r = Value::String(renamed.clone());
                    }
                }
            }
        }
        5 => {
            if let Some(e) = o.get_mut("enum").and_then(Value::as_array_mut) {
                let v = json!(["z", "y", "c", "abc"][a % 4]);
                if !e.contains(&v) {
                    e.push(v);
                }
            }
        }
        6 => {
            if let Some(e) = o.get_mut("enum").and_then(Value::as_array_mut) {
                if e.len() > 1 {
                    let i = a % e.len();
                    e.remove(i);
                }
            }
        }
        7 => {
            o.remove("enum");
        }
        8 if type_names(o).iter().any(|t| t == "string") && !o.contains_key("enum") => {
            o.insert("enum".into(), [json!(["a", "b"]), json!(["a", "abc", "b"]), json!(["low"])][a % 3].clone());
        }
        9 => {
            let v = if type_names(o).iter().any(|t| t == "integer") { json!(1) } else { json!(["a", "b"][a % 2]) };
            o.insert("const".into(), v);
        }
        10 => {
            o.remove("const");
        }
        11 => {
            let mut ts = type_names(o);
            if let Some(i) = ts.iter().position(|t| t == "integer") {
                ts[i] = "number".into();
            } else if !ts.is_empty() {
                let extra = ["string", "integer", "boolean"][a % 3].to_owned();
                if !ts.contains(&extra) {
                    ts.push(extra);
                }
            }
            set_types(o, ts);
        }
        12 => {
            let mut ts = type_names(o);
            if let Some(i) = ts.iter().position(|t| t == "number") {
                ts[i] = "integer".into();
            } else if ts.iter().filter(|t| *t != "null").count() > 1 {
                let i = ts.iter().position(|t| t != "null").unwrap();
                ts.remove(i);
            }
            set_types(o, ts);
        }
        13 => {
            let ts: Vec<String> = type_names(o)
                .into_iter()
                .map(|t| match t.as_str() {
                    "string" => "integer".to_owned(),
                    "integer" | "number" => "string".to_owned(),
                    "boolean" => "string".to_owned(),
                    _ => t,
                })
                .collect();
            set_types(o, ts);
        }
        14 => {
            // Type array (a % 3 == 0) or `null` in the enum (a % 3 == 2); the oneOf spelling is above.
            let mut ts = type_names(o);
            if !ts.is_empty() && !ts.contains(&"null".to_owned()) {
                ts.push("null".into());
                set_types(o, ts);
            }
            if a % 3 == 2 {
                if let Some(e) = o.get_mut("enum").and_then(Value::as_array_mut) {
                    if !e.contains(&Value::Null) {
                        e.push(Value::Null);
                    }
                }
            }
        }
        15 => {
            let ts: Vec<String> = type_names(o).into_iter().filter(|t| t != "null").collect();
            if !ts.is_empty() {
                set_types(o, ts);
            }
            if let Some(e) = o.get_mut("enum").and_then(Value::as_array_mut) {
                if e.len() > 1 {
                    e.retain(|v| !v.is_null());
                }
            }
        }
        16 => {
            let keys = ["minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minItems", "maxItems", "minProperties", "maxProperties"];
            let key = keys[a % keys.len()];
            let start = if key.contains("Length") || key.contains("Items") || key.contains("Properties") { 2 } else { 5 };
            let current = o.get(key).and_then(Value::as_i64);
            match ((a / keys.len()) % 4, current) {
                (0, _) => {
                    o.insert(key.into(), json!(start));
                }
                (1, Some(c)) => {
                    o.insert(key.into(), json!(c + 1));
                }
                (2, Some(c)) if c > 0 => {
                    o.insert(key.into(), json!(c - 1));
                }
                (3, _) => {
                    o.remove(key);
                }
                _ => {}
            }
        }
        17 => match [json!(0.5), json!(1), json!(2), json!(3), json!(4), Value::Null][a % 6].clone() {
            Value::Null => {
                o.remove("multipleOf");
            }
            m => {
                o.insert("multipleOf".into(), m);
            }
        },
        18 => {
            let unique = o.get("uniqueItems").and_then(Value::as_bool).unwrap_or(false);
            o.insert("uniqueItems".into(), json!(!unique));
        }
        19 if is_object_schema(o) => match [json!(false), json!(true), json!({ "type": "integer" }), json!({ "type": "string" }), Value::Null][a % 5].clone() {
            Value::Null => {
                o.remove("additionalProperties");
            }
            v => {
                o.insert("additionalProperties".into(), v);
            }
        },
        20 => match ["uuid", "date-time", "email", "date", ""][a % 5] {
            "" => {
                o.remove("format");
            }
            f => {
                o.insert("format".into(), json!(f));
            }
        },
        // Wider, narrower, respelled and unrelated to the base `^[a-z0-9]{1,8}$` and to each other.
        21 => match ["^[a-z]+$", "^[a-z0-9]{1,8}$", "^[a-c]*$", "a", "", "^[a-z0-9]{1,16}$", "^[0-9a-z]{1,8}$", "^[a-c]{1,8}$", "[a-z]", "^\\d+$"][a % 10] {
            "" => {
                o.remove("pattern");
            }
            p => {
                o.insert("pattern".into(), json!(p));
            }
        },
        22 if o.contains_key("enum") => {
            let on = o.get("x-extensible-enum").and_then(Value::as_bool).unwrap_or(false);
            o.insert("x-extensible-enum".into(), json!(!on));
        }
        23 => match [json!("a"), json!(1), Value::Null, json!("remove")][a % 4].clone() {
            Value::String(s) if s == "remove" => {
                o.remove("default");
            }
            v => {
                o.insert("default".into(), v);
            }
        },
        24 => {
            if let Some(arms) = o.get_mut("oneOf").and_then(Value::as_array_mut) {
                let discriminated = arms.iter().all(|v| v.pointer("/properties/kind/const").is_some());
                let arm = if discriminated && a % 2 == 0 {
                    json!({ "type": "object", "additionalProperties": false, "required": ["kind"], "properties": { "kind": { "const": format!("v{}", a % 4) }, "z": { "type": "boolean" } } })
                } else {
                    json!({ "type": "boolean" })
                };
                if !arms.contains(&arm) {
                    arms.push(arm);
                }
            }
        }
        25 => {
            if let Some(arms) = o.get_mut("oneOf").and_then(Value::as_array_mut) {
                if arms.len() > 1 {
                    let i = a % arms.len();
                    arms.remove(i);
                }
            }
        }
        26 => {
            let member = [json!({ "required": ["id"] }), json!({ "minProperties": 1 }), json!({ "properties": { "count": { "maximum": 50 } } })][a % 3].clone();
            let all = o.entry("allOf").or_insert_with(|| json!([])).as_array_mut().unwrap();
            if !all.contains(&member) {
                all.push(member);
            }
        }
        27 => {
            if let Some(all) = o.get_mut("allOf").and_then(Value::as_array_mut) {
                if !all.is_empty() {
                    let i = a % all.len();
                    all.remove(i);
                }
            }
        }
        28 => {
            let on = o.get("deprecated").and_then(Value::as_bool).unwrap_or(false);
            o.insert("deprecated".into(), json!(!on));
        }
        30 => {
            o.remove("type");
        }
        29 if type_names(o).iter().any(|t| t == "array") => match [json!({ "type": "string" }), json!({ "type": "integer" }), json!({ "type": "number", "maximum": 3 }), Value::Null][a % 4].clone() {
            Value::Null => {
                o.remove("items");
            }
            v => {
                o.insert("items".into(), v);
            }
        },
        _ => {}
    }
}

// ---- instances ----

/// splitmix64: a small deterministic generator, seeded by proptest.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, p: f64) -> bool {
        (self.next() % 10_000) as f64 / 10_000.0 < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn noise(rng: &mut Rng) -> Value {
    rng.pick(&[json!(null), json!(true), json!(0), json!(-1), json!(1.5), json!(""), json!("a"), json!("abc"), json!([]), json!({}), json!(7), json!("2024-05-06T07:08:09Z")]).clone()
}

fn number(rng: &mut Rng, o: &Map<String, Value>, integer: bool) -> Value {
    let mut candidates: Vec<f64> = vec![0.0, 1.0, -1.0, 2.0, 5.0, 7.0, 10.0, 100.0, 101.0, -6.0];
    for key in ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"] {
        if let Some(b) = o.get(key).and_then(Value::as_f64) {
            candidates.extend([b - 1.0, b, b + 1.0, b - 0.5, b + 0.5]);
        }
    }
    if let Some(m) = o.get("multipleOf").and_then(Value::as_f64) {
        candidates.extend((-2..6).map(|k| m * f64::from(k)));
    }
    if !integer {
        candidates.extend([0.5, 1.5, 2.5, 3.75, 9.5]);
    }
    let x = *rng.pick(&candidates);
    if x.fract() == 0.0 && (integer || rng.chance(0.7)) {
        json!(x as i64)
    } else if integer {
        json!(x.round() as i64)
    } else {
        json!(x)
    }
}

fn string(rng: &mut Rng, o: &Map<String, Value>) -> Value {
    if let Some(f) = o.get("format").and_then(Value::as_str) {
        if rng.chance(0.85) {
            let sample = match f {
                "uuid" => "123e4567-e89b-12d3-a456-426614174000",
                "date-time" => "2024-05-06T07:08:09Z",
                "email" => "a@b.io",
                "date" => "2024-05-06",
                _ => "https://e.io/x",
            };
            return json!(sample);
        }
    }
    if rng.chance(0.15) {
        return json!(rng.pick(&["a", "b", "c", "z", "y", "low", "high", "abc", "k", "v0"]));
    }
    if let Some(s) = o.get("pattern").and_then(Value::as_str).filter(|_| rng.chance(0.4)).and_then(|p| from_pattern(rng, p)) {
        return json!(s);
    }
    let min = o.get("minLength").and_then(Value::as_u64).unwrap_or(0) as i64;
    let max = o.get("maxLength").and_then(Value::as_u64).map(|m| m as i64).unwrap_or(8);
    let free = rng.below(9) as i64;
    let len = (*rng.pick(&[min - 1, min, max, max + 1, free])).max(0) as usize;
    let charset: &[char] = match rng.below(4) {
        0 | 1 => &['a', 'b', 'c'],
        2 => &['a', 'q', 'z', '0', '7'],
        _ => &['a', 'A', '-', ' ', 'é', '0', '_'],
    };
    json!((0..len).map(|_| *rng.pick(charset)).collect::<String>())
}

/// A string the pattern's core generates (anchors stripped), with noise at an unanchored end.
fn from_pattern(rng: &mut Rng, p: &str) -> Option<String> {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{RngAlgorithm, TestRng};
    let (start, end) = (p.starts_with('^'), p.ends_with('$') && !p.ends_with("\\$"));
    let core = p.strip_prefix('^').unwrap_or(p);
    let core = if end { &core[..core.len() - 1] } else { core };
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&rng.next().to_le_bytes());
    let mut runner = TestRunner::new_with_rng(Config::default(), TestRng::from_seed(RngAlgorithm::ChaCha, &bytes));
    let core = proptest::string::string_regex(core).ok()?.new_tree(&mut runner).ok()?.current();
    let noise = ["", "A", "é", "-", "9"];
    let before = if start { "" } else { noise[rng.below(noise.len())] };
    let after = if end { "" } else { noise[rng.below(noise.len())] };
    Some(format!("{before}{core}{after}"))
}

fn instance(rng: &mut Rng, schema: &Value, keys: &[String], depth: usize) -> Value {
    if depth > 4 || rng.chance(0.06) {
        return noise(rng);
    }
    let o = match schema {
        Value::Object(o) => o,
        Value::Bool(_) => return noise(rng),
        _ => return noise(rng),
    };
    if let Some(arms) = o.get("oneOf").and_then(Value::as_array).filter(|a| !a.is_empty()) {
        if !o.contains_key("type") && !o.contains_key("properties") {
            let arm = rng.pick(arms).clone();
            return instance(rng, &arm, keys, depth + 1);
        }
    }
    if let Some(c) = o.get("const") {
        if rng.chance(0.9) {
            return c.clone();
        }
    }
    if let Some(e) = o.get("enum").and_then(Value::as_array).filter(|e| !e.is_empty()) {
        if rng.chance(0.85) {
            return rng.pick(e).clone();
        }
    }
    let mut types = type_names(o);
    if types.is_empty() {
        if o.contains_key("properties") || o.contains_key("additionalProperties") || o.contains_key("required") {
            types.push("object".into());
        } else if o.contains_key("items") {
            types.push("array".into());
        } else if let Some(first) = o.get("allOf").and_then(Value::as_array).and_then(|a| a.first()) {
            return instance(rng, &first.clone(), keys, depth + 1);
        } else {
            return noise(rng);
        }
    }
    match rng.pick(&types).as_str() {
        "null" => Value::Null,
        "boolean" => json!(rng.chance(0.5)),
        "integer" => number(rng, o, true),
        "number" => number(rng, o, false),
        "string" => string(rng, o),
        "array" => {
            let min = o.get("minItems").and_then(Value::as_u64).unwrap_or(0) as i64;
            let max = o.get("maxItems").and_then(Value::as_u64).map(|m| m as i64).unwrap_or(3);
            let free = rng.below(4) as i64;
            let len = (*rng.pick(&[0, min, max, max + 1, free])).max(0) as usize;
            let items = o.get("items").cloned().unwrap_or(Value::Bool(true));
            let mut out: Vec<Value> = (0..len).map(|_| instance(rng, &items, keys, depth + 1)).collect();
            if out.len() >= 2 && rng.chance(0.3) {
                out[1] = out[0].clone();
            }
            Value::Array(out)
        }
        "object" => {
            let required: Vec<String> = o.get("required").and_then(Value::as_array).map(|r| r.iter().filter_map(Value::as_str).map(str::to_owned).collect()).unwrap_or_default();
            let mut out = Map::new();
            if let Some(props) = o.get("properties").and_then(Value::as_object) {
                for (k, p) in props {
                    let include = if required.contains(k) { rng.chance(0.95) } else { rng.chance(0.6) };
                    if include {
                        out.insert(k.clone(), instance(rng, p, keys, depth + 1));
                    }
                }
            }
            for r in &required {
                if !out.contains_key(r) && rng.chance(0.8) {
                    out.insert(r.clone(), noise(rng));
                }
            }
            if rng.chance(0.4) {
                for _ in 0..=rng.below(2) {
                    let k = rng.pick(keys).clone();
                    if out.contains_key(&k) {
                        continue;
                    }
                    let v = match o.get("additionalProperties") {
                        Some(extra @ Value::Object(_)) if rng.chance(0.7) => instance(rng, extra, keys, depth + 1),
                        _ => noise(rng),
                    };
                    out.insert(k, v);
                }
            }
            Value::Object(out)
        }
        _ => noise(rng),
    }
}

fn all_keys(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(o) => {
            if let Some(p) = o.get("properties").and_then(Value::as_object) {
                out.extend(p.keys().cloned());
            }
            o.values().for_each(|x| all_keys(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| all_keys(x, out)),
        _ => {}
    }
}

/// The old schema as a tolerant reader applies it: closed objects open, extensible enums
/// accept any value of their type.
fn reader_view(v: &Value) -> Value {
    match v {
        Value::Object(o) => {
            let mut out = Map::new();
            for (k, x) in o {
                match k.as_str() {
                    "additionalProperties" if x == &Value::Bool(false) => {}
                    "properties" => {
                        out.insert(k.clone(), Value::Object(x.as_object().map(|m| m.iter().map(|(n, s)| (n.clone(), reader_view(s))).collect()).unwrap_or_default()));
                    }
                    "items" | "additionalProperties" => {
                        out.insert(k.clone(), reader_view(x));
                    }
                    "oneOf" | "allOf" => {
                        out.insert(k.clone(), Value::Array(x.as_array().map(|a| a.iter().map(reader_view).collect()).unwrap_or_default()));
                    }
                    _ => {
                        out.insert(k.clone(), x.clone());
                    }
                }
            }
            if o.get("x-extensible-enum").and_then(Value::as_bool) == Some(true) {
                if let Some(values) = out.remove("enum") {
                    if !out.contains_key("type") {
                        let mut ts = vec![json!("string")];
                        if values.as_array().is_some_and(|a| a.contains(&Value::Null)) {
                            ts.push(json!("null"));
                        }
                        out.insert("type".into(), Value::Array(ts));
                    }
                }
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

fn validator(schema: &Value) -> Option<jsonschema::Validator> {
    jsonschema::options().should_validate_formats(true).build(schema).ok()
}

// ---- the property ----

#[derive(Debug, Default)]
struct Stats {
    pairs: usize,
    safe_c2s: usize,
    safe_s2c: usize,
    safe_changed_c2s: usize,
    safe_changed_s2c: usize,
    checked_c2s: usize,
    checked_s2c: usize,
    unsafe_pairs: usize,
    unsafe_witnessed: usize,
}

const INSTANCES: usize = 120;

/// Checks one ordered pair; `Err` names a counterexample.
fn check_pair(old: &Value, new: &Value, seed: u64, stats: &mut Stats) -> Result<(), String> {
    let (Some(v_old), Some(v_new), Some(v_reader)) = (validator(old), validator(new), validator(&reader_view(old))) else {
        return Ok(());
    };
    stats.pairs += 1;
    let changes = diff(old, new);
    let safe = |d: Direction| changes.iter().all(|c| c.kind.verdict(d) == Verdict::Safe);
    let (c2s, s2c) = (safe(Direction::ClientToServer), safe(Direction::ServerToClient));
    stats.safe_c2s += usize::from(c2s);
    stats.safe_s2c += usize::from(s2c);
    stats.safe_changed_c2s += usize::from(c2s && !changes.is_empty());
    stats.safe_changed_s2c += usize::from(s2c && !changes.is_empty());
    let mut keys = BTreeSet::from(["extra".to_owned()]);
    all_keys(old, &mut keys);
    all_keys(new, &mut keys);
    let keys: Vec<String> = keys.into_iter().collect();
    let mut rng = Rng(seed);
    let mut witnessed = false;
    for i in 0..INSTANCES {
        let guide = if i % 2 == 0 { old } else { new };
        let x = instance(&mut rng, guide, &keys, 0);
        let (in_old, in_new) = (v_old.is_valid(&x), v_new.is_valid(&x));
        if in_old && !in_new {
            witnessed = true;
        }
        if c2s && in_old {
            stats.checked_c2s += 1;
            if !in_new {
                return Err(format!("client→server SAFE, yet {x} is valid under the old schema and not the new\nchanges: {changes:?}"));
            }
        }
        if s2c && in_new {
            stats.checked_s2c += 1;
            if !in_old && !v_reader.is_valid(&x) {
                return Err(format!("server→client SAFE, yet {x} is valid under the new schema and not the old (tolerant reader)\nchanges: {changes:?}"));
            }
        }
    }
    if !c2s {
        stats.unsafe_pairs += 1;
        stats.unsafe_witnessed += usize::from(witnessed);
    }
    Ok(())
}

fn site_pointer(doc: &Value, selector: usize) -> String {
    let mut all = Vec::new();
    sites(doc, String::new(), &mut all);
    all[selector % all.len()].clone()
}

#[test]
fn safe_verdicts_are_sound() {
    let bases = bases();
    // `COMPAT_SOUNDNESS_CASES=20000` for a deeper run.
    let cases = std::env::var("COMPAT_SOUNDNESS_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(600);
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let strategy = (0..bases.len(), prop::collection::vec((any::<usize>(), 0..OPS, any::<u8>()), 1..=3), any::<u64>());
    let stats = std::cell::RefCell::new(Stats::default());
    let result = runner.run(&strategy, |(base, mutations, seed)| {
        let old = bases[base].clone();
        let mut new = old.clone();
        for (selector, op, arg) in &mutations {
            let at = site_pointer(&new, *selector);
            if let Some(node) = new.pointer_mut(&at) {
                mutate(node, *op, *arg);
            }
        }
        let mut stats = stats.borrow_mut();
        check_pair(&old, &new, seed, &mut stats).map_err(|e| TestCaseError::fail(format!("old {old}\nnew {new}\n{e}")))?;
        check_pair(&new, &old, seed ^ 1, &mut stats).map_err(|e| TestCaseError::fail(format!("old {new}\nnew {old}\n{e}")))?;
        Ok(())
    });
    let stats = stats.into_inner();
    eprintln!("{stats:?}");
    if let Err(e) = result {
        panic!("{e}");
    }
    // The check is not vacuous: pairs that changed and were SAFE in each direction were
    // exercised, and the generator finds counterexamples for many pairs the checker does
    // not call SAFE (the rest are WARN/BREAK by policy, not by semantics, or need values
    // the generator does not aim at).
    assert!(stats.safe_changed_c2s > 100 && stats.safe_changed_s2c > 100, "{stats:?}");
    assert!(stats.checked_c2s > 5_000 && stats.checked_s2c > 5_000, "{stats:?}");
    assert!(stats.unsafe_witnessed * 4 > stats.unsafe_pairs, "{stats:?}");
}

// ---- pattern verdicts, exactly ----

/// Atoms of the generated patterns: literals, classes (ASCII and not), the ECMA escapes the
/// validator translates, `.` (which stops at a newline) and a non-ASCII letter.
const ATOMS: &[&str] = &["a", "b", "0", "[a-c]", "[0-9]", "\\d", "\\w", "\\s", ".", "[^a]", "é", "-"];
const QUANTIFIERS: &[&str] = &["", "", "?", "*", "+", "{1,3}", "{2}"];

/// `(anchored at start, body, anchored at end)`.
type PatternShape = (bool, Vec<Vec<(usize, usize)>>, bool);

fn pattern_shape() -> impl Strategy<Value = PatternShape> {
    let piece = (0..ATOMS.len(), 0..QUANTIFIERS.len());
    let seq = prop::collection::vec(piece, 1..=3);
    (any::<bool>(), prop::collection::vec(seq, 1..=2), any::<bool>())
}

fn render((start, alts, end): &PatternShape) -> String {
    let seqs: Vec<String> = alts.iter().map(|seq| seq.iter().map(|(a, q)| format!("{}{}", ATOMS[*a], QUANTIFIERS[*q])).collect()).collect();
    let body = if seqs.len() > 1 { format!("(?:{})", seqs.join("|")) } else { seqs[0].clone() };
    format!("{}{body}{}", if *start { "^" } else { "" }, if *end { "$" } else { "" })
}

/// A pattern near `shape`: one anchor toggled, one atom or quantifier replaced, or another
/// pattern altogether, so that inclusions (not only unrelated pairs) come up.
fn neighbour(shape: &PatternShape, op: u8, x: usize, other: &PatternShape) -> PatternShape {
    let mut s = shape.clone();
    match op % 5 {
        0 => s.0 = !s.0,
        1 => s.2 = !s.2,
        2 => {
            let seq = &mut s.1[x % shape.1.len()];
            let i = x / 7 % seq.len();
            seq[i].0 = x / 3 % ATOMS.len();
        }
        3 => {
            let seq = &mut s.1[x % shape.1.len()];
            let i = x / 7 % seq.len();
            seq[i].1 = x / 3 % QUANTIFIERS.len();
        }
        _ => s = other.clone(),
    }
    s
}

/// Strings to judge a pair by: generated from each pattern (anchors stripped, noise
/// around the unanchored ends), the edges of the alphabet, and the witnesses.
fn pattern_samples(shapes: [&PatternShape; 2], seed: u64) -> Vec<String> {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{RngAlgorithm, TestRng};
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(Config::default(), TestRng::from_seed(RngAlgorithm::ChaCha, &bytes));
    let mut rng = Rng(seed | 1);
    let noise = ["", "", "a", "x", "0", "\n", "é", " ", "-"];
    let mut out: Vec<String> = ["", "a", "\n", "é", "a\nb", "00", "٣", "ab", "ba"].iter().map(|s| s.to_string()).collect();
    for shape in shapes {
        let (start, _, end) = shape;
        let core = render(&(false, shape.1.clone(), false));
        let Ok(strategy) = proptest::string::string_regex(&core) else { continue };
        for _ in 0..40 {
            let Ok(tree) = strategy.new_tree(&mut runner) else { continue };
            let before = if *start { "" } else { noise[rng.below(noise.len())] };
            let after = if *end { "" } else { noise[rng.below(noise.len())] };
            out.push(format!("{before}{}{after}", tree.current()));
        }
    }
    out
}

/// The judge of pattern verdicts: `jsonschema` with its linear regex engine. Its default
/// engine, `fancy-regex` 0.19.2, gets some patterns of the admitted subset wrong (`x+a?x+`
/// matches `"x"`), where ECMA-262, the Rust regex engine and the DFAs agree.
fn pattern_validator(p: &str) -> jsonschema::Validator {
    jsonschema::options().should_validate_formats(true).with_pattern_options(jsonschema::PatternOptions::regex()).build(&json!({ "type": "string", "pattern": p })).expect("a pattern the checker admits compiles")
}

/// Every pattern verdict is exact, judged by `jsonschema` as the server validates: EQUAL
/// pairs accept the same sampled strings, WIDER/NARROWER ones include each other on every
/// sample, and every witness the checker reports is accepted by exactly the side it says.
#[test]
fn pattern_verdicts_are_exact() {
    use codegen::compat::pattern::{compare, Inclusion};
    let cases = std::env::var("COMPAT_SOUNDNESS_CASES").ok().and_then(|c| c.parse::<u32>().ok()).map_or(400, |c| c.max(400));
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let strategy = (pattern_shape(), any::<u8>(), any::<usize>(), pattern_shape(), any::<u64>());
    let counts = std::cell::RefCell::new([0usize; 5]);
    let result = runner.run(&strategy, |(shape, op, x, other, seed)| {
        let near = neighbour(&shape, op, x, &other);
        let (old, new) = (render(&shape), render(&near));
        let (v_old, v_new) = (pattern_validator(&old), pattern_validator(&new));
        let verdict = compare(&old, &new);
        let judge = |s: &str| (v_old.is_valid(&json!(s)), v_new.is_valid(&json!(s)));
        let mut samples = pattern_samples([&shape, &near], seed);
        let slot = match &verdict {
            Inclusion::Equal => 0,
            Inclusion::Wider { extra } => {
                prop_assert_eq!(judge(extra), (false, true), "`{}` -> `{}`: the witness {:?} of a widening", old, new, extra);
                samples.push(extra.clone());
                1
            }
            Inclusion::Narrower { lost } => {
                prop_assert_eq!(judge(lost), (true, false), "`{}` -> `{}`: the witness {:?} of a narrowing", old, new, lost);
                2
            }
            Inclusion::Incomparable { extra, lost } => {
                prop_assert_eq!(judge(extra), (false, true), "`{}` -> `{}`: the new-only witness {:?}", old, new, extra);
                prop_assert_eq!(judge(lost), (true, false), "`{}` -> `{}`: the old-only witness {:?}", old, new, lost);
                3
            }
            Inclusion::Undecided(_) => 4,
        };
        counts.borrow_mut()[slot] += 1;
        for s in &samples {
            let (in_old, in_new) = judge(s);
            let ok = match verdict {
                Inclusion::Equal => in_old == in_new,
                Inclusion::Wider { .. } => !in_old || in_new,
                Inclusion::Narrower { .. } => !in_new || in_old,
                _ => true,
            };
            prop_assert!(ok, "`{}` -> `{}` judged {:?}, yet {:?} is valid under old: {}, new: {}", old, new, verdict, s, in_old, in_new);
        }
        Ok(())
    });
    let [equal, wider, narrower, incomparable, undecided] = counts.into_inner();
    eprintln!("pattern pairs: equal {equal}, wider {wider}, narrower {narrower}, incomparable {incomparable}, undecided {undecided}");
    if let Err(e) = result {
        panic!("{e}");
    }
    // Not vacuous: every verdict came up, and the generated subset is decided.
    assert!(equal > 10 && wider > 10 && narrower > 10 && incomparable > 10, "{equal} {wider} {narrower} {incomparable}");
    assert_eq!(undecided, 0, "every generated pattern is inside the decidable subset");
}
