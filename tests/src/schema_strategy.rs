//! Property-test support derived from JSON Schema: a proptest [`Strategy`] of values valid
//! against a bundled schema, the mutation sites of such a value, and an exact JSON comparison.
//!
//! Schemas are the bundled 2020-12 documents the registry carries: one root object, refs
//! `#/$defs/<Name>` resolved in that root, restricted to the subset of `schema/README.md`.
//! Nothing here knows a channel, an event or a field: every strategy follows the keywords.
//!
//! What a strategy produces:
//! - objects list the declared `properties` in schema order (optional ones present or absent
//!   at random), then any other required key, then extra keys (`additionalProperties: true`:
//!   sometimes a few keys with simple values; a schema: a few entries of that schema);
//! - numbers of `type: number` always have a fractional part (`n + k/2^m`), so they are
//!   floats in JSON and round-trip through `f64` unchanged; integers only for `type: integer`;
//! - strings follow `enum`, `const`, `format` (`uuid`, `date-time`, `date`, `email`, `uri`),
//!   `pattern` (anchors stripped, then `proptest::string::string_regex`) or a character mix
//!   (quotes, backslashes, controls, non-ASCII) within `minLength`/`maxLength`;
//! - arrays hold `minItems..=maxItems` items (at most 3 by default), deduplicated under
//!   `uniqueItems`; `x-opaque` and `true` schemas give small arbitrary JSON.
//!
//! Values stay small: at most 3 items or extra keys, short strings, except where a pattern
//! or `minLength` asks for more.
//!
//! For ids as clients really send them ([`id_families`], [`id_spellings`]): families of ids
//! that look alike (`7`, `07`, `007`; `ab`, `AB`), and every JSON text a client might write
//! for one (a number or a string, `7.0`, `-7`, `7e0`, 2^53 + 7, `" 7"`, `"７"`, confusables,
//! `"7:*"`, `[7]`, ...), for the property test that no spelling reaches another account.

use std::collections::HashSet;
use std::fmt::Write as _;

use proptest::prelude::*;
use proptest::strategy::{BoxedStrategy, Just, Union};
use serde_json::{Map, Number, Value};

/// Largest integer the subset allows: 2^53 − 1.
pub const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// Items generated for an array without `maxItems` (at least `minItems`).
const DEFAULT_MAX_ITEMS: u64 = 3;
/// Extra characters above `minLength` for free-form strings.
const STRING_SLACK: u64 = 12;
/// `$ref` nesting past which schema recursion is declared unbounded.
const MAX_REF_DEPTH: usize = 64;

/// The JSON types of the `type` keyword.
const JSON_TYPES: [&str; 7] = ["null", "boolean", "object", "array", "number", "string", "integer"];

/// A strategy of values valid against `root`, a bundled JSON Schema document.
///
/// # Panics
/// When the schema uses something outside the subset (an unknown format, `anyOf`, a `$ref`
/// that is not `#/$defs/<Name>`, a `false` schema where a value is needed, ...).
pub fn strategy(root: &Value) -> BoxedStrategy<Value> {
    Builder { root, stack: Vec::new() }.build(root)
}

/// Small arbitrary JSON (depth ≤ 2, ≤ 3 items or keys): `x-opaque` and `true` schemas.
pub fn any_json() -> BoxedStrategy<Value> {
    simple_json()
        .prop_recursive(2, 8, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..=3).prop_map(Value::Array),
                prop::collection::vec((extra_key(), inner), 0..=3).prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        })
        .boxed()
}

/// A scalar JSON value: null, boolean, small integer, float with a fractional part, short string.
pub fn simple_json() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-100i64..=100).prop_map(Value::from),
        fractional(-100.0, 100.0).prop_map(float),
        "[a-z A-Z0-9]{0,8}".prop_map(Value::String),
    ]
    .boxed()
}

/// Keys of extra properties (declared names are filtered out where they are generated).
fn extra_key() -> BoxedStrategy<String> {
    "[a-z0-9][a-z0-9_-]{0,7}".boxed()
}

fn float(f: f64) -> Value {
    Value::Number(Number::from_f64(f).expect("finite float"))
}

/// Floats strictly between `lo` and `hi` with a fractional part: `lo + (2k+1)/4096 · (hi−lo)`,
/// a dyadic fraction, so the value is exact in binary.
fn fractional(lo: f64, hi: f64) -> BoxedStrategy<f64> {
    assert!(lo < hi, "empty number range ({lo}, {hi})");
    (0u32..2048)
        .prop_map(move |k| lo + f64::from(2 * k + 1) / 4096.0 * (hi - lo))
        .prop_filter("a float strictly inside the range, with a fractional part", move |f| *f > lo && *f < hi && f.fract() != 0.0)
        .boxed()
}

/// The `type` keyword as a list; `None` when absent.
fn types_of(node: &Map<String, Value>) -> Option<Vec<String>> {
    match node.get("type")? {
        Value::String(t) => Some(vec![t.clone()]),
        Value::Array(ts) => Some(ts.iter().map(|t| t.as_str().expect("type names are strings").to_owned()).collect()),
        other => panic!("`type` must be a string or an array, got {other}"),
    }
}

/// The JSON type names a value has (`integer` values are also `number`).
pub fn json_types(value: &Value) -> &'static [&'static str] {
    match value {
        Value::Null => &["null"],
        Value::Bool(_) => &["boolean"],
        Value::Number(n) if n.is_i64() || n.is_u64() => &["integer", "number"],
        Value::Number(n) if n.as_f64().is_some_and(|f| f.fract() == 0.0) => &["integer", "number"],
        Value::Number(_) => &["number"],
        Value::String(_) => &["string"],
        Value::Array(_) => &["array"],
        Value::Object(_) => &["object"],
    }
}

/// Resolves `#/$defs/<Name>` (any local JSON pointer) in `root`.
///
/// # Panics
/// When the ref is not local or does not resolve.
pub fn resolve_ref<'a>(root: &'a Value, reference: &str) -> &'a Value {
    let pointer = reference.strip_prefix('#').unwrap_or_else(|| panic!("only local refs are bundled, got `{reference}`"));
    root.pointer(pointer).unwrap_or_else(|| panic!("`{reference}` does not resolve in the root document"))
}

/// Follows `$ref`s until a node without one.
fn deref<'a>(root: &'a Value, mut node: &'a Value) -> &'a Value {
    for _ in 0..MAX_REF_DEPTH {
        match node.get("$ref").and_then(Value::as_str) {
            Some(r) => node = resolve_ref(root, r),
            None => return node,
        }
    }
    panic!("$ref chain longer than {MAX_REF_DEPTH}")
}

/// `oneOf: [X, {type: null}]` (either order): X.
fn nullable_branch(one_of: &Value) -> &Value {
    let branches = one_of.as_array().expect("oneOf is an array");
    let is_null = |b: &Value| b.get("type").and_then(Value::as_str) == Some("null") && b.as_object().is_some_and(|o| o.keys().all(|k| k == "type" || is_annotation(k)));
    match branches.as_slice() {
        [x, n] if is_null(n) => x,
        [n, x] if is_null(n) => x,
        _ => panic!("only `oneOf: [X, {{type: null}}]` is in the subset, got {one_of}"),
    }
}

fn is_annotation(key: &str) -> bool {
    matches!(key, "title" | "description" | "default" | "examples" | "deprecated" | "$comment" | "$schema" | "$id" | "$defs" | "x-extensible-enum")
}

fn u64_of(node: &Map<String, Value>, key: &str) -> Option<u64> {
    node.get(key).map(|v| v.as_u64().unwrap_or_else(|| panic!("`{key}` must be a non-negative integer, got {v}")))
}

fn f64_of(node: &Map<String, Value>, key: &str) -> Option<f64> {
    node.get(key).map(|v| v.as_f64().unwrap_or_else(|| panic!("`{key}` must be a number, got {v}")))
}

/// Whether `value` satisfies the type list.
fn type_accepts(types: &[String], value: &Value) -> bool {
    json_types(value).iter().any(|t| types.iter().any(|u| u == t))
}

struct Builder<'a> {
    root: &'a Value,
    /// Refs being built, outermost first: a name seen twice means recursion.
    stack: Vec<&'a str>,
}

impl<'a> Builder<'a> {
    /// Inside a recursive `$ref`: generate the least (no optional property, null where
    /// nullable, `minItems` items) so the value stays finite.
    fn exhausted(&self) -> bool {
        let mut seen = HashSet::new();
        self.stack.iter().any(|r| !seen.insert(*r))
    }

    fn build(&mut self, node: &'a Value) -> BoxedStrategy<Value> {
        let obj = match node {
            Value::Bool(true) => return any_json(),
            Value::Bool(false) => panic!("a `false` schema admits no value"),
            Value::Object(obj) => obj,
            other => panic!("a schema must be an object or a boolean, got {other}"),
        };
        if let Some(r) = obj.get("$ref") {
            let r = r.as_str().expect("$ref is a string");
            assert!(self.stack.len() < MAX_REF_DEPTH, "schema recursion through `{r}` admits no finite value");
            self.stack.push(r);
            let s = self.build(resolve_ref(self.root, r));
            self.stack.pop();
            return s;
        }
        if obj.get("x-opaque").and_then(Value::as_bool) == Some(true) {
            return any_json();
        }
        let types = types_of(obj);
        if let Some(c) = obj.get("const") {
            return Just(c.clone()).boxed();
        }
        if let Some(e) = obj.get("enum") {
            let values: Vec<Value> = e.as_array().expect("enum is an array").iter().filter(|v| types.as_ref().is_none_or(|t| type_accepts(t, v))).cloned().collect();
            assert!(!values.is_empty(), "enum admits no value of the declared type: {node}");
            return proptest::sample::select(values).boxed();
        }
        if let Some(one_of) = obj.get("oneOf") {
            let inner = self.build(nullable_branch(one_of));
            return self.nullable(inner);
        }
        let types = types.unwrap_or_else(|| {
            if obj.contains_key("properties") || obj.contains_key("additionalProperties") || obj.contains_key("required") {
                vec!["object".to_owned()]
            } else if obj.contains_key("items") {
                vec!["array".to_owned()]
            } else {
                Vec::new()
            }
        });
        if types.is_empty() {
            return any_json();
        }
        let nullable = types.iter().any(|t| t == "null");
        let mut options: Vec<BoxedStrategy<Value>> = Vec::new();
        for t in types.iter().filter(|t| *t != "null") {
            options.push(match t.as_str() {
                "object" => self.object(obj),
                "array" => self.array(obj),
                "string" => string(obj),
                "integer" => integer(obj),
                "number" => number(obj),
                "boolean" => any::<bool>().prop_map(Value::Bool).boxed(),
                other => panic!("unknown type `{other}` (one of {JSON_TYPES:?})"),
            });
        }
        let inner = match options.len() {
            0 => return Just(Value::Null).boxed(),
            1 => options.pop().expect("one option"),
            _ => Union::new(options).boxed(),
        };
        if nullable {
            self.nullable(inner)
        } else {
            inner
        }
    }

    fn nullable(&self, inner: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
        if self.exhausted() {
            Just(Value::Null).boxed()
        } else {
            Union::new_weighted(vec![(1, Just(Value::Null).boxed()), (3, inner)]).boxed()
        }
    }

    fn object(&mut self, obj: &'a Map<String, Value>) -> BoxedStrategy<Value> {
        let properties: Option<&'a Map<String, Value>> = match obj.get("properties") {
            Some(Value::Object(p)) => Some(p),
            Some(other) => panic!("`properties` must be an object, got {other}"),
            None => None,
        };
        let declared = |name: &str| properties.is_some_and(|p| p.contains_key(name));
        let required: Vec<&'a str> = obj.get("required").map(|r| r.as_array().expect("required is an array").iter().map(|n| n.as_str().expect("required names are strings")).collect()).unwrap_or_default();
        let additional = obj.get("additionalProperties");
        let exhausted = self.exhausted();

        // Declared properties in schema order, then required names that are not declared.
        let mut parts: Vec<BoxedStrategy<Option<(String, Value)>>> = Vec::new();
        for (name, sub) in properties.into_iter().flatten() {
            let s = self.build(sub);
            let name = name.clone();
            parts.push(if required.contains(&name.as_str()) {
                s.prop_map(move |v| Some((name.clone(), v))).boxed()
            } else if exhausted {
                Just(None).boxed()
            } else {
                prop::option::weighted(0.5, s).prop_map(move |v| v.map(|v| (name.clone(), v))).boxed()
            });
        }
        for name in required.iter().filter(|n| !declared(n)) {
            let s = match additional {
                Some(Value::Bool(false)) => panic!("`{name}` is required but neither declared nor allowed as an extra property"),
                Some(ap @ Value::Object(_)) => self.build(ap),
                _ => simple_json(),
            };
            let name = (*name).to_owned();
            parts.push(s.prop_map(move |v| Some((name.clone(), v))).boxed());
        }

        let extras: BoxedStrategy<Vec<(String, Value)>> = match additional {
            _ if exhausted => Just(Vec::new()).boxed(),
            None | Some(Value::Bool(true)) => Union::new_weighted(vec![(2, Just(Vec::new()).boxed()), (1, prop::collection::vec((extra_key(), simple_json()), 1..=3).boxed())]).boxed(),
            Some(Value::Bool(false)) => Just(Vec::new()).boxed(),
            Some(ap @ Value::Object(_)) => prop::collection::vec((extra_key(), self.build(ap)), 0..=3).boxed(),
            Some(other) => panic!("`additionalProperties` must be a boolean or a schema, got {other}"),
        };

        let declared: HashSet<String> = properties.into_iter().flatten().map(|(k, _)| k.clone()).collect();
        (parts, extras)
            .prop_map(move |(parts, extras)| {
                let mut out = Map::new();
                for (k, v) in parts.into_iter().flatten() {
                    out.insert(k, v);
                }
                for (k, v) in extras {
                    if !declared.contains(&k) && !out.contains_key(&k) {
                        out.insert(k, v);
                    }
                }
                Value::Object(out)
            })
            .boxed()
    }

    fn array(&mut self, obj: &'a Map<String, Value>) -> BoxedStrategy<Value> {
        let items = match obj.get("items") {
            Some(items) => self.build(items),
            None => any_json(),
        };
        let min = u64_of(obj, "minItems").unwrap_or(0);
        let max = u64_of(obj, "maxItems").unwrap_or(u64::MAX).min(min.max(DEFAULT_MAX_ITEMS));
        let max = if self.exhausted() { min } else { max };
        assert!(min <= max, "minItems > maxItems: {}", Value::Object(obj.clone()));
        let unique = obj.get("uniqueItems").and_then(Value::as_bool) == Some(true);
        let range = usize::try_from(min).expect("small minItems")..=usize::try_from(max).expect("small maxItems");
        let vec = prop::collection::vec(items, range);
        if unique {
            // Draw a few more than needed, keep the first of each duplicate.
            let min = usize::try_from(min).expect("small minItems");
            vec.prop_map(|items| {
                let mut out: Vec<Value> = Vec::new();
                for item in items {
                    if !out.contains(&item) {
                        out.push(item);
                    }
                }
                out
            })
            .prop_filter("enough distinct items for minItems", move |items| items.len() >= min)
            .prop_map(Value::Array)
            .boxed()
        } else {
            vec.prop_map(Value::Array).boxed()
        }
    }
}

/// Strings: `format`, else `pattern`, else a character mix; then `minLength`/`maxLength`
/// (and `pattern`, when it comes with a `format`) as filters.
fn string(obj: &Map<String, Value>) -> BoxedStrategy<Value> {
    let min = u64_of(obj, "minLength").unwrap_or(0);
    let max = u64_of(obj, "maxLength");
    let pattern = obj.get("pattern").map(|p| p.as_str().expect("pattern is a string").to_owned());
    let format = obj.get("format").map(|f| f.as_str().expect("format is a string"));
    let base: BoxedStrategy<String> = match (format, &pattern) {
        (Some(f), _) => format_strategy(f),
        (None, Some(p)) => pattern_strategy(p),
        (None, None) => {
            let hi = max.unwrap_or(u64::MAX).min(min + STRING_SLACK);
            assert!(min <= hi, "minLength > maxLength: {}", Value::Object(obj.clone()));
            let range = usize::try_from(min).expect("small minLength")..=usize::try_from(hi).expect("small length");
            prop::collection::vec(string_char(), range).prop_map(|cs| cs.into_iter().collect::<String>()).boxed()
        }
    };
    let pattern_check = match (format, pattern) {
        (Some(_), Some(p)) => Some(jsonschema::validator_for(&serde_json::json!({ "pattern": p })).expect("pattern compiles")),
        _ => None,
    };
    base.prop_filter("length and pattern constraints", move |s| {
        let n = s.chars().count() as u64;
        n >= min && max.is_none_or(|m| n <= m) && pattern_check.as_ref().is_none_or(|v| v.is_valid(&Value::String(s.clone())))
    })
    .prop_map(Value::String)
    .boxed()
}

/// Characters of free-form strings: mostly ASCII letters, with what JSON must escape and
/// what UTF-8 encodes in several bytes.
fn string_char() -> BoxedStrategy<char> {
    prop_oneof![
        8 => proptest::char::range('a', 'z'),
        2 => proptest::char::range('A', 'Z'),
        2 => Just(' '),
        1 => proptest::char::range('0', '9'),
        1 => proptest::sample::select(vec!['"', '\\', '/', '\n', '\t', '\u{1}', 'é', 'ß', '日', '€', '😀', '\u{200b}']),
    ]
    .boxed()
}

/// Strings the jsonschema format checker accepts.
///
/// # Panics
/// For a format outside the subset.
pub fn format_strategy(format: &str) -> BoxedStrategy<String> {
    match format {
        "uuid" => any::<[u8; 16]>()
            .prop_map(|mut b| {
                b[6] = (b[6] & 0x0f) | 0x40; // version 4
                b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
                let hex: String = b.iter().fold(String::new(), |mut s, x| {
                    let _ = write!(s, "{x:02x}");
                    s
                });
                format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
            })
            .boxed(),
        "date" => date().boxed(),
        "date-time" => (date(), 0u32..24, 0u32..60, 0u32..60, prop::option::of("[0-9]{1,6}"), prop_oneof![3 => Just("Z".to_owned()), 1 => (prop::bool::ANY, 0u32..24, 0u32..60).prop_map(|(neg, h, m)| format!("{}{h:02}:{m:02}", if neg { '-' } else { '+' }))])
            .prop_map(|(d, h, m, s, frac, offset)| format!("{d}T{h:02}:{m:02}:{s:02}{}{offset}", frac.map(|f| format!(".{f}")).unwrap_or_default()))
            .boxed(),
        "email" => "[a-z][a-z0-9]{0,7}(\\.[a-z0-9]{1,5})?(\\+[a-z0-9]{1,4})?@[a-z][a-z0-9]{0,7}(-[a-z0-9]{1,4})?\\.(com|org|io|example)".boxed(),
        "uri" => "(https?://[a-z][a-z0-9]{0,7}\\.example\\.(com|org)(:[1-9][0-9]{0,3})?(/[A-Za-z0-9_.~-]{1,8}){0,3}(\\?[a-z]{1,4}=[A-Za-z0-9]{0,6}(%2[0-9A-F])?)?(#[a-z]{0,4})?|urn:[a-z]{1,6}:[a-z0-9]{1,8}|mailto:[a-z]{1,6}@[a-z]{1,6}\\.com)".boxed(),
        other => panic!("format `{other}` is not in the subset (uuid, date-time, date, email, uri)"),
    }
}

fn date() -> impl Strategy<Value = String> {
    (1970u32..=2099, 1u32..=12, 1u32..=28).prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}"))
}

/// Strings matching an ECMA-262 `pattern`: the anchors are stripped (an unanchored match of
/// the rest is also a match of the whole), then proptest generates from the regex.
///
/// # Panics
/// When the regex does not parse.
pub fn pattern_strategy(pattern: &str) -> BoxedStrategy<String> {
    let mut p = pattern;
    if let Some(rest) = p.strip_prefix('^') {
        p = rest;
    }
    if p.ends_with('$') && !p.ends_with("\\$") {
        p = &p[..p.len() - 1];
    }
    proptest::string::string_regex(p).unwrap_or_else(|e| panic!("pattern `{pattern}` does not parse: {e}")).boxed()
}

/// Families of distinct ids that look alike, each matching `pattern` (an `Id` pattern): one
/// number with leading zeros (`7`, `07`, `007`), one word in several cases (`ab`, `AB`,
/// `Ab`), or one generated id (a UUID, or from `pattern`) with its upper-case twin.
pub fn id_families(pattern: &str) -> BoxedStrategy<Vec<String>> {
    let valid = jsonschema::validator_for(&serde_json::json!({ "type": "string", "pattern": pattern })).expect("pattern compiles");
    let numbers = prop_oneof![
        3 => 0u64..1000,
        1 => Just(MAX_SAFE_INTEGER as u64),
        1 => Just(MAX_SAFE_INTEGER as u64 - 1),
        1 => (1u64 << 32)..(MAX_SAFE_INTEGER as u64),
    ]
    .prop_map(|n| vec![n.to_string(), format!("0{n}"), format!("00{n}")]);
    let words = "[a-z][a-z0-9]{0,5}".prop_map(|w| {
        let mut cap = w.clone();
        cap[..1].make_ascii_uppercase();
        vec![w.clone(), w.to_uppercase(), cap]
    });
    let generated = prop_oneof![format_strategy("uuid"), pattern_strategy(pattern)].prop_map(|id| vec![id.clone(), id.to_uppercase()]);
    prop_oneof![numbers, words, generated]
        .prop_map(move |family| {
            let mut out: Vec<String> = Vec::new();
            for id in family {
                if !out.contains(&id) && valid.is_valid(&Value::String(id.clone())) {
                    out.push(id);
                }
            }
            out
        })
        .prop_filter("at least one valid id", |f| !f.is_empty())
        .boxed()
}

/// The JSON texts a client might send for `id`: the string; for a decimal id also the
/// number and its odd forms (`7.0`, `7e0`, `-7`, `7.5`, `7` + 2^53, fullwidth digits), which
/// may not even be JSON (`007`); and for any id whitespace, a zero-width space, other cases,
/// Cyrillic look-alikes, a stream separator or wildcard, an array and an object.
pub fn id_spellings(id: &str) -> Vec<String> {
    let text = |s: &str| Value::String(s.to_owned()).to_string();
    let mut out = vec![text(id)];
    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
        out.push(id.to_owned());
        out.extend([format!("{id}.0"), format!("{id}e0"), format!("-{id}"), format!("{id}.5")]);
        if let Ok(n) = id.parse::<u128>() {
            out.push((n + (1u128 << 53)).to_string());
        }
        let fullwidth: String = id.chars().map(|c| char::from_u32(c as u32 - '0' as u32 + 0xFF10).unwrap_or(c)).collect();
        out.push(text(&fullwidth));
    }
    // Cyrillic а, е, о, А and the letter О for the digit zero.
    let confusable: String = id
        .chars()
        .map(|c| match c {
            'a' => '\u{430}',
            'e' => '\u{435}',
            'o' => '\u{43e}',
            'A' => '\u{410}',
            '0' => '\u{41e}',
            other => other,
        })
        .collect();
    for odd in [format!(" {id}"), format!("{id}\n"), format!("{id}\u{200b}"), id.to_uppercase(), id.to_lowercase(), confusable, format!("{id}:*"), format!("{id}:admin"), "*".to_owned()] {
        out.push(text(&odd));
    }
    out.push(format!("[{}]", text(id)));
    out.push(format!("{{\"id\":{}}}", text(id)));
    let mut seen = HashSet::new();
    out.retain(|s| seen.insert(s.clone()));
    out
}

fn integer(obj: &Map<String, Value>) -> BoxedStrategy<Value> {
    let bound = |key: &str| f64_of(obj, key);
    let mut lo = -(MAX_SAFE_INTEGER as f64);
    let mut hi = MAX_SAFE_INTEGER as f64;
    if let Some(m) = bound("minimum") {
        lo = lo.max(m.ceil());
    }
    if let Some(m) = bound("exclusiveMinimum") {
        lo = lo.max(m.floor() + 1.0);
    }
    if let Some(m) = bound("maximum") {
        hi = hi.min(m.floor());
    }
    if let Some(m) = bound("exclusiveMaximum") {
        hi = hi.min(m.ceil() - 1.0);
    }
    let (lo, hi) = (lo as i64, hi as i64);
    assert!(lo <= hi, "integer range is empty: {}", Value::Object(obj.clone()));
    if let Some(step) = obj.get("multipleOf") {
        let step = step.as_i64().filter(|s| *s > 0).unwrap_or_else(|| panic!("integer multipleOf must be a positive integer, got {step}"));
        let (k_lo, k_hi) = (lo.div_euclid(step) + i64::from(lo.rem_euclid(step) != 0), hi.div_euclid(step));
        assert!(k_lo <= k_hi, "no multiple of {step} in [{lo}, {hi}]");
        let (k_lo, k_hi) = near(k_lo, k_hi);
        return (k_lo..=k_hi).prop_map(move |k| Value::from(k * step)).boxed();
    }
    // Mostly small values (near zero, or near the bound zero is beyond), sometimes the bounds.
    let (near_lo, near_hi) = near(lo, hi);
    Union::new_weighted(vec![(6, (near_lo..=near_hi).boxed()), (1, Just(lo).boxed()), (1, Just(hi).boxed())]).prop_map(Value::from).boxed()
}

/// A window of at most ~2000 values of `[lo, hi]`: around zero if it is inside, else at the
/// bound nearest to it.
fn near(lo: i64, hi: i64) -> (i64, i64) {
    if lo <= 0 && hi >= 0 {
        ((-1000).max(lo), 1000.min(hi))
    } else if lo > 0 {
        (lo, lo.saturating_add(1000).min(hi))
    } else {
        (hi.saturating_sub(1000).max(lo), hi)
    }
}

fn number(obj: &Map<String, Value>) -> BoxedStrategy<Value> {
    let (minimum, exclusive_minimum) = (f64_of(obj, "minimum"), f64_of(obj, "exclusiveMinimum"));
    let (maximum, exclusive_maximum) = (f64_of(obj, "maximum"), f64_of(obj, "exclusiveMaximum"));
    let lo = minimum.into_iter().chain(exclusive_minimum).reduce(f64::max);
    let hi = maximum.into_iter().chain(exclusive_maximum).reduce(f64::min);
    let (lo, hi) = match (lo, hi) {
        (Some(lo), Some(hi)) => (lo, hi),
        (Some(lo), None) => (lo, lo + 1000.0),
        (None, Some(hi)) => (hi - 1000.0, hi),
        (None, None) => (-1000.0, 1000.0),
    };
    if let Some(step) = f64_of(obj, "multipleOf") {
        assert!(step > 0.0, "multipleOf must be positive");
        let (k_lo, k_hi) = near((lo / step).ceil() as i64, (hi / step).floor() as i64);
        let inside = move |f: f64| {
            minimum.is_none_or(|m| f >= m) && exclusive_minimum.is_none_or(|m| f > m) && maximum.is_none_or(|m| f <= m) && exclusive_maximum.is_none_or(|m| f < m)
        };
        return (k_lo..=k_hi)
            .prop_map(move |k| k as f64 * step)
            .prop_filter("a multiple with a fractional part, inside the bounds", move |f| f.fract() != 0.0 && inside(*f))
            .prop_map(float)
            .boxed();
    }
    fractional(lo, hi).prop_map(float).boxed()
}

// ---------------------------------------------------------------------------------------
// Mutations

/// One step of a path into a JSON value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    /// An object key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// A path as an RFC 6901 JSON pointer (`""` is the root).
pub fn pointer(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        out.push('/');
        match seg {
            Seg::Key(k) => out.push_str(&k.replace('~', "~0").replace('/', "~1")),
            Seg::Index(i) => out.push_str(&i.to_string()),
        }
    }
    out
}

/// The kinds of invalid values the suite checks the validator rejects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MutationKind {
    /// A required property removed.
    MissingRequired,
    /// A value replaced by one of a type the schema does not allow there.
    WrongType,
    /// A string replaced by one outside the `enum` (or a value other than the `const`).
    OutsideEnum,
    /// A key added to an object with `additionalProperties: false`.
    ExtraProperty,
}

impl MutationKind {
    /// Every kind.
    pub const ALL: [MutationKind; 4] = [MutationKind::MissingRequired, MutationKind::WrongType, MutationKind::OutsideEnum, MutationKind::ExtraProperty];
}

/// What a mutation does at its path.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Remove this key of the object at the path.
    Remove(String),
    /// Add this key to the object at the path.
    Insert(String, Value),
    /// Replace the value at the path.
    Replace(Value),
}

/// An invalid variant of a valid value, with the error the validator must report.
#[derive(Debug, Clone, PartialEq)]
pub struct Mutation {
    /// Its kind.
    pub kind: MutationKind,
    /// The object (`Remove`, `Insert`) or value (`Replace`) changed.
    pub path: Vec<Seg>,
    /// The change.
    pub op: Op,
    /// JSON pointer the validator must report an error at: `path` for every kind (a missing
    /// or extra property is an error of its parent object).
    pub expected_pointer: String,
    /// The keyword of that error (`required`, `type`, `oneOf`, `enum`, `const`,
    /// `additionalProperties`).
    pub expected_keyword: &'static str,
}

impl Mutation {
    /// The mutated copy of `value`.
    ///
    /// # Panics
    /// When the path does not exist in `value`.
    pub fn apply(&self, value: &Value) -> Value {
        let mut out = value.clone();
        let mut target = &mut out;
        for seg in &self.path {
            target = match seg {
                Seg::Key(k) => target.get_mut(k.as_str()),
                Seg::Index(i) => target.get_mut(*i),
            }
            .unwrap_or_else(|| panic!("mutation path {} is not in the value", pointer(&self.path)));
        }
        match &self.op {
            Op::Replace(v) => *target = v.clone(),
            Op::Remove(k) => {
                target.as_object_mut().expect("Remove applies to an object").shift_remove(k).expect("removed key was present");
            }
            Op::Insert(k, v) => {
                let prev = target.as_object_mut().expect("Insert applies to an object").insert(k.clone(), v.clone());
                assert!(prev.is_none(), "inserted key `{k}` was already present");
            }
        }
        out
    }

    /// A one-line description.
    pub fn describe(&self) -> String {
        let at = pointer(&self.path);
        match &self.op {
            Op::Remove(k) => format!("{:?}: remove `{k}` from `{at}`", self.kind),
            Op::Insert(k, v) => format!("{:?}: add `{k}`: {v} to `{at}`", self.kind),
            Op::Replace(v) => format!("{:?}: replace `{at}` with {v}", self.kind),
        }
    }
}

/// Values of each JSON type, for wrong-type replacements.
fn type_samples() -> [(&'static str, Value); 7] {
    [
        ("string", Value::String("wrong type".into())),
        ("integer", Value::from(7)),
        ("number", float(1.5)),
        ("boolean", Value::Bool(true)),
        ("null", Value::Null),
        ("array", Value::Array(Vec::new())),
        ("object", Value::Object(Map::new())),
    ]
}

/// Every mutation of `value` (valid against `root`) the schema makes detectable.
pub fn mutations(root: &Value, value: &Value) -> Vec<Mutation> {
    let mut out = Vec::new();
    walk(root, root, value, false, &mut Vec::new(), &mut out);
    out
}

/// The JSON types a (dereferenced) node admits; `None` when it admits any.
fn admitted_types(root: &Value, node: &Value) -> Option<HashSet<&'static str>> {
    let obj = node.as_object()?;
    if obj.get("x-opaque").and_then(Value::as_bool) == Some(true) {
        return None;
    }
    let mut set = HashSet::new();
    if let Some(types) = types_of(obj) {
        for t in JSON_TYPES {
            if types.iter().any(|u| u == t || (u == "number" && t == "integer")) {
                set.insert(t);
            }
        }
    } else if let Some(c) = obj.get("const") {
        set.extend(json_types(c));
    } else if let Some(e) = obj.get("enum") {
        for v in e.as_array().expect("enum is an array") {
            set.extend(json_types(v));
        }
    } else if let Some(one_of) = obj.get("oneOf") {
        set.insert("null");
        set.extend(admitted_types(root, deref(root, nullable_branch(one_of)))?);
    } else if obj.contains_key("properties") || obj.contains_key("additionalProperties") {
        set.insert("object");
    } else {
        return None;
    }
    Some(set)
}

/// `nullable`: the node is the non-null branch of a nullable `oneOf` at the same location,
/// so `null` is no wrong type there.
fn walk(root: &Value, node: &Value, value: &Value, nullable: bool, path: &mut Vec<Seg>, out: &mut Vec<Mutation>) {
    let node = deref(root, node);
    let Some(obj) = node.as_object() else { return };
    if obj.get("x-opaque").and_then(Value::as_bool) == Some(true) {
        return;
    }
    let here = pointer(path);

    // Wrong type: the keyword that rejects it is the first of type / oneOf / const / enum.
    if let Some(admitted) = admitted_types(root, node) {
        let keyword = if obj.contains_key("type") {
            "type"
        } else if obj.contains_key("oneOf") {
            "oneOf"
        } else if obj.contains_key("const") {
            "const"
        } else if obj.contains_key("enum") {
            "enum"
        } else {
            ""
        };
        if !keyword.is_empty() {
            for (t, sample) in type_samples() {
                let allowed_here = admitted.contains(t) || (nullable && t == "null");
                if !allowed_here {
                    out.push(Mutation { kind: MutationKind::WrongType, path: path.clone(), op: Op::Replace(sample), expected_pointer: here.clone(), expected_keyword: keyword });
                }
            }
        }
    }

    // Outside the enum / const, but of an admitted type.
    if let Some(e) = obj.get("enum").and_then(Value::as_array) {
        if e.iter().any(Value::is_string) {
            let mut s = "not_in_enum".to_owned();
            while e.contains(&Value::String(s.clone())) {
                s.push('_');
            }
            out.push(Mutation { kind: MutationKind::OutsideEnum, path: path.clone(), op: Op::Replace(Value::String(s)), expected_pointer: here.clone(), expected_keyword: "enum" });
        }
    }
    if let Some(c) = obj.get("const") {
        let other = match c {
            Value::String(s) => Value::String(format!("{s}_other")),
            Value::Number(n) => Value::from(n.as_i64().map_or(0, |i| i.wrapping_add(1))),
            Value::Bool(b) => Value::Bool(!b),
            _ => Value::String("not the const".into()),
        };
        out.push(Mutation { kind: MutationKind::OutsideEnum, path: path.clone(), op: Op::Replace(other), expected_pointer: here.clone(), expected_keyword: "const" });
    }

    if let Some(one_of) = obj.get("oneOf") {
        if !value.is_null() {
            walk(root, nullable_branch(one_of), value, true, path, out);
        }
        return;
    }

    match value {
        Value::Object(map) => {
            let empty = Map::new();
            let properties = obj.get("properties").and_then(Value::as_object).unwrap_or(&empty);
            let additional = obj.get("additionalProperties");
            for (k, v) in map {
                let sub = match properties.get(k) {
                    Some(sub) => sub,
                    None => match additional {
                        Some(ap @ Value::Object(_)) => ap,
                        _ => continue,
                    },
                };
                path.push(Seg::Key(k.clone()));
                walk(root, sub, v, false, path, out);
                path.pop();
            }
            for r in obj.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
                if map.contains_key(r) {
                    out.push(Mutation { kind: MutationKind::MissingRequired, path: path.clone(), op: Op::Remove(r.to_owned()), expected_pointer: here.clone(), expected_keyword: "required" });
                }
            }
            if additional == Some(&Value::Bool(false)) {
                let mut key = "unexpected_field".to_owned();
                while map.contains_key(&key) || properties.contains_key(&key) {
                    key.push('_');
                }
                out.push(Mutation { kind: MutationKind::ExtraProperty, path: path.clone(), op: Op::Insert(key, Value::from(1)), expected_pointer: here, expected_keyword: "additionalProperties" });
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = obj.get("items") {
                for (i, item) in items.iter().enumerate() {
                    path.push(Seg::Index(i));
                    walk(root, item_schema, item, false, path, out);
                    path.pop();
                }
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------
// Exact comparison

/// The first difference between two JSON values, strictly: same variant (an integer is not
/// a float), same number representation, same object keys **in the same order**. `None`
/// when identical. (`Value`'s `==` ignores object key order.)
pub fn exact_diff(expected: &Value, actual: &Value) -> Option<String> {
    diff_at(expected, actual, &mut Vec::new())
}

fn diff_at(expected: &Value, actual: &Value, path: &mut Vec<Seg>) -> Option<String> {
    let at = || pointer(path);
    match (expected, actual) {
        (Value::Object(a), Value::Object(b)) => {
            let ka: Vec<&String> = a.keys().collect();
            let kb: Vec<&String> = b.keys().collect();
            if ka != kb {
                return Some(format!("at `{}`: keys {ka:?} became {kb:?}", at()));
            }
            for (k, v) in a {
                path.push(Seg::Key(k.clone()));
                let d = diff_at(v, &b[k], path);
                path.pop();
                if d.is_some() {
                    return d;
                }
            }
            None
        }
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                return Some(format!("at `{}`: {} items became {}", at(), a.len(), b.len()));
            }
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                path.push(Seg::Index(i));
                let d = diff_at(x, y, path);
                path.pop();
                if d.is_some() {
                    return d;
                }
            }
            None
        }
        (Value::Number(a), Value::Number(b)) if a == b && a.to_string() == b.to_string() => None,
        (a, b) if a == b && !a.is_number() => None,
        (a, b) => Some(format!("at `{}`: {a} became {b}", at())),
    }
}
