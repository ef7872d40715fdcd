//! Normalize: one shape per meaning, so the diff compares what a schema accepts rather
//! than how it was spelled.
//!
//! - nullability is one flag, whichever of `type: [T, "null"]`, `oneOf: [X, {type: null}]`
//!   or a `null` in `enum` said it;
//! - `type` is a set of non-null types (absent: any type); with an `enum` or `const` the
//!   types are those of the listed values;
//! - `enum` and `const` are one set of values (a single-value enum *is* a const);
//! - `required` is a set; a missing `additionalProperties` is `true`, and a schema that
//!   constrains nothing is `true` as well;
//! - numeric lower and upper bounds fold `minimum`/`exclusiveMinimum` (and the maximums)
//!   into one bound, exact for integers; `minLength: 0`, `minItems: 0` are no bound;
//! - `$ref`s (`#/$defs/X`, local to the document) are followed, and the target's name is
//!   kept only as the generated type's name; `x-ref` in a dereferenced lock does the same;
//! - `x-accept-integer: true` on a string is one flag: the server also reads a JSON integer
//!   there, as the decimal text the string already accepted.
//!
//! Keywords outside the model (`anyOf`, `not`, `if`, ...) are kept verbatim in
//! [`Node::other`]: the diff reports any change to them for review.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

/// A non-null JSON type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum JsonType {
    /// `boolean`.
    Boolean,
    /// `integer` (a number without fraction).
    Integer,
    /// `number`.
    Number,
    /// `string`.
    String,
    /// `array`.
    Array,
    /// `object`.
    Object,
}

impl JsonType {
    fn parse(s: &str) -> Option<JsonType> {
        Some(match s {
            "boolean" => JsonType::Boolean,
            "integer" => JsonType::Integer,
            "number" => JsonType::Number,
            "string" => JsonType::String,
            "array" => JsonType::Array,
            "object" => JsonType::Object,
            _ => return None,
        })
    }

    /// The keyword spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            JsonType::Boolean => "boolean",
            JsonType::Integer => "integer",
            JsonType::Number => "number",
            JsonType::String => "string",
            JsonType::Array => "array",
            JsonType::Object => "object",
        }
    }

    /// The type of a non-null value (whole numbers are integers).
    pub fn of(v: &Value) -> Option<JsonType> {
        Some(match v {
            Value::Null => return None,
            Value::Bool(_) => JsonType::Boolean,
            Value::Number(n) if n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0) => JsonType::Integer,
            Value::Number(_) => JsonType::Number,
            Value::String(_) => JsonType::String,
            Value::Array(_) => JsonType::Array,
            Value::Object(_) => JsonType::Object,
        })
    }
}

/// True when a `type` set admits values of type `t` (`number` admits integers).
pub fn covers(types: &BTreeSet<JsonType>, t: JsonType) -> bool {
    types.contains(&t) || (t == JsonType::Integer && types.contains(&JsonType::Number))
}

/// A numeric bound.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bound {
    /// The limit.
    pub value: f64,
    /// True for `exclusiveMinimum` / `exclusiveMaximum`.
    pub exclusive: bool,
}

/// What other object keys may hold.
#[derive(Debug, Clone, PartialEq)]
pub enum Additional {
    /// `true`, absent, or a schema that constrains nothing.
    Open,
    /// `false`.
    Closed,
    /// A schema.
    Schema(Box<Node>),
}

/// `oneOf` that is not the nullable pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Union {
    /// The variants, in order.
    pub variants: Vec<Node>,
    /// `x-extensible-union: true`: readers have an arm for unknown variants.
    pub extensible: bool,
}

/// A normalized schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Non-null types; `None` admits every type.
    pub types: Option<BTreeSet<JsonType>>,
    /// Whether `null` is accepted.
    pub nullable: bool,
    /// `enum`/`const` without `null`, as canonical JSON text; `None` when unconstrained.
    pub values: Option<BTreeSet<String>>,
    /// `x-extensible-enum: true`.
    pub extensible_enum: bool,
    /// `x-accept-integer: true` on a string param: integers are read as their decimal text.
    pub accepts_integer: bool,
    /// `format`.
    pub format: Option<String>,
    /// `pattern`.
    pub pattern: Option<String>,
    /// `minLength` (0 is none).
    pub min_length: Option<u64>,
    /// `maxLength`.
    pub max_length: Option<u64>,
    /// `minimum` / `exclusiveMinimum`, the tighter of the two.
    pub lower: Option<Bound>,
    /// `maximum` / `exclusiveMaximum`, the tighter of the two.
    pub upper: Option<Bound>,
    /// `multipleOf`.
    pub multiple_of: Option<f64>,
    /// `items` (`None`: any item).
    pub items: Option<Box<Node>>,
    /// `minItems` (0 is none).
    pub min_items: Option<u64>,
    /// `maxItems`.
    pub max_items: Option<u64>,
    /// `uniqueItems`.
    pub unique_items: bool,
    /// `properties`.
    pub properties: BTreeMap<String, Node>,
    /// `required`.
    pub required: BTreeSet<String>,
    /// `additionalProperties`.
    pub additional: Additional,
    /// `minProperties` (0 is none).
    pub min_properties: Option<u64>,
    /// `maxProperties`.
    pub max_properties: Option<u64>,
    /// A `oneOf` union.
    pub one_of: Option<Union>,
    /// `allOf` members.
    pub all_of: Vec<Node>,
    /// `default`.
    pub default: Option<Value>,
    /// `deprecated: true`.
    pub deprecated: bool,
    /// `x-opaque: true` (codegen only: the value becomes untyped JSON).
    pub opaque: bool,
    /// The `$defs` name the schema came from (the generated type's name).
    pub type_name: Option<String>,
    /// Keywords the checker does not model, verbatim.
    pub other: BTreeMap<String, Value>,
}

impl Node {
    /// The schema `true`: accepts everything.
    pub fn any() -> Node {
        Node {
            types: None,
            nullable: true,
            values: None,
            extensible_enum: false,
            accepts_integer: false,
            format: None,
            pattern: None,
            min_length: None,
            max_length: None,
            lower: None,
            upper: None,
            multiple_of: None,
            items: None,
            min_items: None,
            max_items: None,
            unique_items: false,
            properties: BTreeMap::new(),
            required: BTreeSet::new(),
            additional: Additional::Open,
            min_properties: None,
            max_properties: None,
            one_of: None,
            all_of: Vec::new(),
            default: None,
            deprecated: false,
            opaque: false,
            type_name: None,
            other: BTreeMap::new(),
        }
    }

    /// The schema `false`: accepts nothing.
    pub fn never() -> Node {
        Node { types: Some(BTreeSet::new()), nullable: false, ..Node::any() }
    }

    /// True when the node admits values of type `t`.
    pub fn admits(&self, t: JsonType) -> bool {
        match &self.types {
            None => true,
            Some(ts) => covers(ts, t) || (t == JsonType::Number && ts.contains(&JsonType::Integer)),
        }
    }

    /// True when the node constrains nothing (annotations aside).
    pub fn is_any(&self) -> bool {
        let mut bare = self.clone();
        bare.default = None;
        bare.deprecated = false;
        bare.opaque = false;
        bare.type_name = None;
        bare == Node::any()
    }
}

/// Canonical JSON text of a value: object keys sorted, no whitespace.
pub fn canonical_text(v: &Value) -> String {
    serde_json::to_string(&canonical(v)).unwrap_or_default()
}

/// A copy of `v` with every object's keys sorted.
pub fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            Value::Object(keys.into_iter().map(|k| (k.clone(), canonical(&o[k]))).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// Annotation keywords: no effect on what a schema accepts.
const ANNOTATIONS: &[&str] = &[
    "title", "description", "examples", "$comment", "$schema", "$id", "$defs", "definitions", "$anchor",
    "readOnly", "writeOnly", "contentMediaType", "contentEncoding",
];

/// `$ref` nesting past which a schema is treated as unmodelled (the subset has no recursion).
const MAX_DEPTH: usize = 64;

/// Normalizes a schema document; `#/...` references resolve inside it.
pub fn normalize(root: &Value) -> Node {
    Normalizer { root }.node(root, 0)
}

struct Normalizer<'a> {
    root: &'a Value,
}

impl Normalizer<'_> {
    fn node(&self, schema: &Value, depth: usize) -> Node {
        let obj = match schema {
            Value::Bool(true) => return Node::any(),
            Value::Bool(false) => return Node::never(),
            Value::Object(o) => o,
            other => {
                let mut n = Node::any();
                n.other.insert("(not a schema)".into(), other.clone());
                return n;
            }
        };
        if depth > MAX_DEPTH {
            let mut n = Node::any();
            n.other.insert("(recursion)".into(), canonical(schema));
            return n;
        }
        let constraining = |o: &Map<String, Value>, skip: &[&str]| -> bool {
            o.keys().any(|k| !skip.contains(&k.as_str()) && !is_annotation(k))
        };
        // `$ref`: follow it; sibling constraints (2020-12 allows them) intersect through `allOf`.
        if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
            let target = r.strip_prefix('#').and_then(|p| self.root.pointer(p));
            let mut n = match target {
                Some(t) => self.node(t, depth + 1),
                None => {
                    let mut n = Node::any();
                    n.other.insert("$ref".into(), Value::String(r.to_owned()));
                    return n;
                }
            };
            n.type_name = r.rsplit('/').next().map(str::to_owned);
            if constraining(obj, &["$ref"]) {
                let mut rest = obj.clone();
                rest.remove("$ref");
                let mut wrapper = self.node(&Value::Object(rest), depth + 1);
                wrapper.all_of.push(n);
                return wrapper;
            }
            self.annotate(&mut n, obj);
            return n;
        }
        // `oneOf: [X, {type: null}]` with nothing else: X, nullable.
        if let Some(arms) = obj.get("oneOf").and_then(Value::as_array) {
            if !constraining(obj, &["oneOf"]) {
                if let [a, b] = arms.as_slice() {
                    let nullish = [a, b].map(is_null_only);
                    let inner = match nullish {
                        [false, true] => Some(a),
                        [true, false] => Some(b),
                        _ => None,
                    };
                    if let Some(inner) = inner {
                        let mut n = self.node(inner, depth + 1);
                        // `null` passes when exactly one arm accepts it: the null arm always does.
                        n.nullable = !n.nullable;
                        self.annotate(&mut n, obj);
                        return n;
                    }
                }
            }
        }
        let mut n = Node::any();
        self.annotate(&mut n, obj);

        // `type`, `enum`, `const` → non-null types, nullability, values.
        let mut type_set: Option<BTreeSet<JsonType>> = None;
        let mut type_null = true;
        match obj.get("type") {
            None => {}
            Some(Value::String(t)) => {
                type_null = t == "null";
                type_set = Some(JsonType::parse(t).into_iter().collect());
            }
            Some(Value::Array(ts)) => {
                let names: Vec<&str> = ts.iter().filter_map(Value::as_str).collect();
                type_null = names.contains(&"null");
                type_set = Some(names.iter().filter_map(|t| JsonType::parse(t)).collect());
            }
            Some(other) => {
                n.other.insert("type".into(), other.clone());
            }
        }
        let mut listed: Option<Vec<&Value>> = obj.get("enum").and_then(Value::as_array).map(|a| a.iter().collect());
        if let Some(c) = obj.get("const") {
            listed = Some(match listed {
                Some(vals) => vals.into_iter().filter(|v| *v == c).collect(),
                None => vec![c],
            });
        }
        n.nullable = type_null && listed.as_ref().is_none_or(|vals| vals.iter().any(|v| v.is_null()));
        match listed {
            Some(vals) => {
                let mut values = BTreeSet::new();
                let mut types = BTreeSet::new();
                for v in vals {
                    let Some(t) = JsonType::of(v) else { continue };
                    if type_set.as_ref().is_some_and(|ts| !covers(ts, t)) {
                        continue;
                    }
                    types.insert(t);
                    values.insert(canonical_text(v));
                }
                n.types = Some(types);
                n.values = if values.is_empty() { None } else { Some(values) };
            }
            None => n.types = type_set,
        }
        // A reader's catch-all lifts the `enum`, never a `const` beside it: the constant
        // still pins the value, so such a node is not extensible.
        n.extensible_enum = obj.get("x-extensible-enum").and_then(Value::as_bool).unwrap_or(false) && n.values.is_some() && !obj.contains_key("const");

        // Strings.
        n.accepts_integer = obj.get("x-accept-integer").and_then(Value::as_bool) == Some(true) && n.admits(JsonType::String);
        n.format = obj.get("format").and_then(Value::as_str).map(str::to_owned);
        n.pattern = obj.get("pattern").and_then(Value::as_str).map(str::to_owned);
        n.min_length = count(obj, "minLength").filter(|m| *m > 0);
        n.max_length = count(obj, "maxLength");

        // Numbers: fold the inclusive and exclusive bounds into one each.
        let integral = n.types.as_ref().is_some_and(|ts| ts.iter().all(|t| *t == JsonType::Integer) && !ts.is_empty());
        n.lower = tighter(bound(obj, "minimum", false), bound(obj, "exclusiveMinimum", true), true);
        n.upper = tighter(bound(obj, "maximum", false), bound(obj, "exclusiveMaximum", true), false);
        if integral {
            n.lower = n.lower.map(|b| Bound { value: if b.exclusive { b.value.floor() + 1.0 } else { b.value.ceil() }, exclusive: false });
            n.upper = n.upper.map(|b| Bound { value: if b.exclusive { b.value.ceil() - 1.0 } else { b.value.floor() }, exclusive: false });
        }
        n.multiple_of = obj.get("multipleOf").and_then(Value::as_f64);

        // Arrays.
        n.items = obj.get("items").map(|i| self.node(i, depth + 1)).filter(|i| !i.is_any()).map(Box::new);
        n.min_items = count(obj, "minItems").filter(|m| *m > 0);
        n.max_items = count(obj, "maxItems");
        n.unique_items = obj.get("uniqueItems").and_then(Value::as_bool).unwrap_or(false);

        // Objects.
        if let Some(props) = obj.get("properties").and_then(Value::as_object) {
            n.properties = props.iter().map(|(k, v)| (k.clone(), self.node(v, depth + 1))).collect();
        }
        n.required = obj.get("required").and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect()).unwrap_or_default();
        n.additional = match obj.get("additionalProperties") {
            None | Some(Value::Bool(true)) => Additional::Open,
            Some(Value::Bool(false)) => Additional::Closed,
            Some(s) => {
                let a = self.node(s, depth + 1);
                if a.is_any() {
                    Additional::Open
                } else if a == Node::never() {
                    Additional::Closed
                } else {
                    Additional::Schema(Box::new(a))
                }
            }
        };
        n.min_properties = count(obj, "minProperties").filter(|m| *m > 0);
        n.max_properties = count(obj, "maxProperties");

        // Composition.
        if let Some(arms) = obj.get("oneOf").and_then(Value::as_array) {
            let extensible = obj.get("x-extensible-union").and_then(Value::as_bool).unwrap_or(false);
            n.one_of = Some(Union { variants: arms.iter().map(|a| self.node(a, depth + 1)).collect(), extensible });
        }
        if let Some(arms) = obj.get("allOf").and_then(Value::as_array) {
            n.all_of = arms.iter().map(|a| self.node(a, depth + 1)).collect();
        }

        for (k, v) in obj {
            if !MODELLED.contains(&k.as_str()) && !is_annotation(k) {
                n.other.insert(k.clone(), canonical(v));
            }
        }
        n
    }

    fn annotate(&self, n: &mut Node, obj: &Map<String, Value>) {
        if let Some(d) = obj.get("default") {
            n.default = Some(canonical(d));
        }
        if obj.get("deprecated").and_then(Value::as_bool) == Some(true) {
            n.deprecated = true;
        }
        if obj.get("x-opaque").and_then(Value::as_bool) == Some(true) {
            n.opaque = true;
        }
        if let Some(name) = obj.get("x-ref").and_then(Value::as_str) {
            n.type_name = Some(name.to_owned());
        }
    }
}

/// Keywords [`Node`] models.
const MODELLED: &[&str] = &[
    "type", "enum", "const", "x-extensible-enum", "format", "pattern", "minLength", "maxLength",
    "minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum", "multipleOf", "items", "minItems",
    "maxItems", "uniqueItems", "properties", "required", "additionalProperties", "minProperties",
    "maxProperties", "oneOf", "x-extensible-union", "allOf", "$ref", "x-accept-integer",
];

/// True for keywords that never change what a schema accepts.
pub fn is_annotation(key: &str) -> bool {
    ANNOTATIONS.contains(&key) || matches!(key, "default" | "deprecated" | "x-opaque" | "x-ref") || (key.starts_with("x-") && !matches!(key, "x-extensible-enum" | "x-extensible-union" | "x-accept-integer"))
}

/// `{type: "null"}`, annotations aside.
fn is_null_only(v: &Value) -> bool {
    v.as_object().is_some_and(|o| o.get("type").and_then(Value::as_str) == Some("null") && o.keys().all(|k| k == "type" || is_annotation(k)))
}

fn count(obj: &Map<String, Value>, key: &str) -> Option<u64> {
    obj.get(key).and_then(|v| v.as_u64().or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f.ceil() as u64)))
}

fn bound(obj: &Map<String, Value>, key: &str, exclusive: bool) -> Option<Bound> {
    obj.get(key).and_then(Value::as_f64).map(|value| Bound { value, exclusive })
}

/// The tighter of two lower (or upper) bounds.
fn tighter(a: Option<Bound>, b: Option<Bound>, lower: bool) -> Option<Bound> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if bound_tighter(&a, &b, lower) { a } else { b }),
        (a, b) => a.or(b),
    }
}

/// True when `a` admits no more than `b` (for lower bounds: `a` starts at or after `b`).
pub fn bound_tighter(a: &Bound, b: &Bound, lower: bool) -> bool {
    if a.value == b.value {
        a.exclusive >= b.exclusive
    } else if lower {
        a.value > b.value
    } else {
        a.value < b.value
    }
}
