//! The type half of the IR: JSON Schema (codegen subset) → [`Ty`] and named [`TypeDef`]s.
//!
//! Every `$defs` entry that is reachable becomes a named type under its own name; every
//! inline object or enum is hoisted to a named type whose name comes from where it sits
//! (`AiConversationSendMessageRequest`, `...Attachments`). Rust and TypeScript emitters
//! both use these names, so the two languages agree. Keywords outside the subset are
//! reported here, with the file and line of the offending keyword.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::diag::{escape_token, nearest, suggest, Loc, Problems};
use crate::ident;
use crate::load::refs::{self, Target};
use crate::load::SourceFile;

/// Largest integer both Rust and JavaScript represent exactly.
pub const MAX_SAFE_INTEGER: i64 = 9_007_199_254_740_991;

/// String formats the runtime validators check.
pub const FORMATS: &[&str] = &["uuid", "date-time", "date", "email", "uri"];

/// A type in the IR.
#[derive(Debug, Clone, PartialEq)]
pub enum Ty {
    /// `true` / `false`.
    Bool,
    /// A whole number; bounds matter for key safety.
    Integer {
        /// `minimum`, if declared.
        min: Option<i64>,
        /// `maximum`, if declared.
        max: Option<i64>,
    },
    /// Any JSON number.
    Number,
    /// A string.
    String {
        /// `format`, if declared.
        format: Option<String>,
        /// `pattern`, if declared.
        pattern: Option<String>,
        /// `x-accept-integer`: in params, a JSON integer is read as its decimal text.
        accept_integer: bool,
    },
    /// A closed (or, with `x-extensible-enum`, open) set of strings.
    Enum {
        /// The declared values, in order.
        values: Vec<String>,
        /// Whether readers must accept values added later.
        extensible: bool,
    },
    /// Exactly one JSON value.
    Const(Value),
    /// A list.
    Array(Box<Ty>),
    /// An object with arbitrary keys, all values of one type.
    Map(Box<Ty>),
    /// An object with declared properties.
    Object(ObjectTy),
    /// A reference to a named type.
    Named(String),
    /// The inner type or `null`.
    Nullable(Box<Ty>),
    /// Any JSON (`x-opaque`).
    Any,
}

/// An object type.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectTy {
    /// Properties in declaration order.
    pub fields: Vec<Field>,
    /// What other keys may hold.
    pub additional: Additional,
}

/// One property.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The JSON key.
    pub name: String,
    /// Its type.
    pub ty: Ty,
    /// Whether it is in `required`.
    pub required: bool,
    /// Its `description`.
    pub description: Option<String>,
}

/// `additionalProperties`.
#[derive(Debug, Clone, PartialEq)]
pub enum Additional {
    /// `false`.
    Closed,
    /// `true`: any value.
    Open,
    /// A schema.
    Typed(Box<Ty>),
}

/// A named type.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeDef {
    /// UpperCamelCase name, the same in Rust and TypeScript.
    pub name: String,
    /// Where it is declared.
    pub loc: Loc,
    /// Its `description`.
    pub description: Option<String>,
    /// The type (an object or an enum for hoisted types; anything for `$defs`).
    pub ty: Ty,
}

const ANNOTATIONS: &[&str] = &["title", "description", "default", "examples", "deprecated", "$comment"];
const KEYWORDS: &[&str] = &[
    "type", "properties", "required", "additionalProperties", "items", "enum", "const", "oneOf", "$ref",
    "format", "pattern", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    "multipleOf", "minItems", "maxItems", "uniqueItems", "x-extensible-enum", "x-opaque", ACCEPT_INTEGER,
];

/// The extension keyword of string params that also accept a JSON integer (`42` as `"42"`).
pub const ACCEPT_INTEGER: &str = "x-accept-integer";

/// Builds named types from schema fragments, collecting problems.
pub struct TypeBuilder<'a> {
    files: &'a BTreeMap<String, SourceFile>,
    ids: BTreeMap<String, String>,
    /// Every named type so far.
    pub types: BTreeMap<String, TypeDef>,
    resolved: BTreeMap<Target, String>,
    in_progress: BTreeSet<Target>,
    /// Problems found.
    pub problems: Problems,
    /// Channel files whose wire name repeats an earlier channel's: every type name they
    /// hoist repeats too, and the names check reports the one cause.
    pub repeated_channels: BTreeSet<String>,
}

impl<'a> TypeBuilder<'a> {
    /// A builder over the loaded files; model `$id`s are indexed for `urn:` references.
    pub fn new(files: &'a BTreeMap<String, SourceFile>) -> Self {
        let mut ids = BTreeMap::new();
        for (rel, f) in files {
            if let Some(id) = f.value.get("$id").and_then(Value::as_str) {
                ids.insert(id.to_owned(), rel.clone());
            }
        }
        TypeBuilder { files, ids, types: BTreeMap::new(), resolved: BTreeMap::new(), in_progress: BTreeSet::new(), problems: Problems::default(), repeated_channels: BTreeSet::new() }
    }

    /// The model `$id` index.
    pub fn ids(&self) -> &BTreeMap<String, String> {
        &self.ids
    }

    /// Converts the root of a schema (params, payload, request...) and names it `name` when it
    /// has to be hoisted (objects and enums). A `$ref` root keeps the model's name.
    pub fn root(&mut self, loc: &Loc, node: &Value, name: &str) -> Ty {
        self.convert(loc, node, name)
    }

    /// Resolves a `$ref` written at `loc`.
    ///
    /// # Errors
    /// Why it cannot be followed, and the fix (the nearest existing file or definition).
    pub fn resolve_ref(&self, loc: &Loc, reference: &str) -> Result<Target, (String, String)> {
        const HELP: &str = "point at an existing `models/<file>.json#/$defs/<Name>` (paths are relative to this file)";
        let target = refs::resolve(&loc.file, reference, &self.ids).map_err(|reason| (reason, HELP.to_owned()))?;
        let Some(file) = self.files.get(&target.file) else {
            // Compared by name only: the shared `models/` and `.json` would let any name look near.
            let stem = |f: &str| f.rsplit('/').next().unwrap_or(f).trim_end_matches(".json").to_owned();
            let models: Vec<(String, &str)> = self.files.keys().filter(|f| f.starts_with("models/")).map(|f| (stem(f), f.as_str())).collect();
            let help = match nearest(&stem(&target.file), models.iter().map(|(s, _)| s.as_str())) {
                Some(near) => {
                    // The reference as written, with only its file name changed.
                    let (doc, fragment) = reference.split_once('#').unwrap_or((reference, ""));
                    let dir = doc.rsplit_once('/').map_or("", |(dir, _)| dir);
                    let fixed = format!("{dir}{}{near}.json#{fragment}", if dir.is_empty() { "" } else { "/" });
                    format!("did you mean `{fixed}`? Otherwise, {HELP}")
                }
                None => HELP.to_owned(),
            };
            return Err((format!("`{reference}` points at {} which does not exist", target.file), help));
        };
        if file.value.pointer(&format!("/$defs/{}", escape_token(&target.name))).is_none() {
            let defs = file.value.get("$defs").and_then(Value::as_object).into_iter().flat_map(|d| d.keys().map(String::as_str));
            return Err((format!("{} has no `$defs/{}`", target.file, target.name), suggest(&target.name, defs, HELP)));
        }
        Ok(target)
    }

    fn convert(&mut self, loc: &Loc, node: &Value, name: &str) -> Ty {
        let Some(obj) = node.as_object() else {
            self.problems.at(loc, "a schema must be an object", "write a JSON Schema object such as `{type: string}`; `true`/`false` schemas are outside the subset");
            return Ty::Any;
        };
        let mut outside = false;
        for key in obj.keys() {
            if !KEYWORDS.contains(&key.as_str()) && !ANNOTATIONS.contains(&key.as_str()) {
                outside = true;
                let help = match key.as_str() {
                    "anyOf" | "allOf" => "use `oneOf: [X, {type: \"null\"}]` for nullable values, or name one object type with all the properties".to_owned(),
                    "not" | "if" | "then" | "else" | "dependentRequired" | "dependentSchemas" => "express the condition in the backend or split the field; conditional keywords are outside the codegen subset".to_owned(),
                    "patternProperties" | "propertyNames" => "use `additionalProperties: <schema>` for maps".to_owned(),
                    "prefixItems" | "contains" | "unevaluatedProperties" | "unevaluatedItems" => "use `items` with one schema".to_owned(),
                    "x-fill" => "`x-fill` is only allowed on the envelope in cableway.yaml".to_owned(),
                    _ => match nearest(key, KEYWORDS.iter().chain(ANNOTATIONS).copied()) {
                        // A misspelt keyword of the subset, not a keyword outside it.
                        Some(near) => {
                            self.problems.at_key(&loc.child(key), format!("unknown keyword `{key}`"), format!("did you mean `{near}`? Otherwise, remove it; the subset is listed in schema/README.md"));
                            continue;
                        }
                        None => format!("remove `{key}`; the subset is listed in schema/README.md"),
                    },
                };
                self.problems.at_key(&loc.child(key), format!("keyword `{key}` is outside the subset that both Rust and TypeScript can express"), help);
            }
        }
        if obj.get("x-opaque").and_then(Value::as_bool) == Some(true) {
            return Ty::Any;
        }
        let plain_string = obj.get("type").and_then(Value::as_str) == Some("string") && !["$ref", "oneOf", "enum", "const", "format"].iter().any(|k| obj.contains_key(*k));
        if obj.contains_key(ACCEPT_INTEGER) && !plain_string {
            self.problems.at_key(&loc.child(ACCEPT_INTEGER), format!("`{ACCEPT_INTEGER}` only applies to a plain string (`type: string`, with no `format`, `enum` or `$ref`)"), "put it on a string id such as `{type: string, pattern: \"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$\"}`: an integer is then read as its decimal text, which that string must accept");
        }
        if let Some(r) = obj.get("$ref") {
            let Some(r) = r.as_str() else {
                self.problems.at(&loc.child("$ref"), "`$ref` must be a string", "write `$ref: \"../models/file.json#/$defs/Name\"`");
                return Ty::Any;
            };
            for key in obj.keys() {
                if key != "$ref" && key != "description" && key != "$comment" {
                    self.problems.at_key(&loc.child(key), format!("`{key}` next to `$ref` is ignored by AsyncAPI and TypeScript tools"), "move the keyword into the referenced definition, or drop it");
                }
            }
            return match self.resolve_ref(loc, r) {
                Ok(t) => self.named_def(t, &loc.child("$ref")),
                Err((reason, help)) => {
                    self.problems.at(&loc.child("$ref"), format!("unresolved reference: {reason}"), help);
                    Ty::Any
                }
            };
        }
        if let Some(one_of) = obj.get("oneOf") {
            return self.nullable_one_of(&loc.child("oneOf"), one_of, name);
        }
        if let Some(values) = obj.get("enum") {
            return self.enumeration(loc, obj, values, name);
        }
        if let Some(c) = obj.get("const") {
            return Ty::Const(c.clone());
        }
        let ty = match obj.get("type") {
            Some(Value::String(t)) => (t.as_str(), false),
            Some(Value::Array(ts)) => {
                let names: Vec<&str> = ts.iter().filter_map(Value::as_str).collect();
                match names.as_slice() {
                    [t, "null"] | ["null", t] if names.len() == ts.len() && *t != "null" => (*t, true),
                    _ => {
                        self.problems.at(&loc.child("type"), "a `type` list must be one type plus \"null\"", "write `type: [string, \"null\"]`, or split the field into two");
                        return Ty::Any;
                    }
                }
            }
            // `anyOf: [...]` and the like carry no `type`: the keyword was reported above.
            _ if outside => return Ty::Any,
            _ => {
                self.problems.at(loc, "the schema has no `type`", "add `type:` (string, integer, number, boolean, object, array), a `$ref`, an `enum`, or `x-opaque: true` for any JSON");
                return Ty::Any;
            }
        };
        let inner = match ty.0 {
            "boolean" => Ty::Bool,
            "null" => Ty::Const(Value::Null),
            "number" => Ty::Number,
            "integer" => self.integer(loc, obj),
            "string" => self.string(loc, obj),
            "array" => match obj.get("items") {
                Some(items) => Ty::Array(Box::new(self.convert(&loc.child("items"), items, &format!("{name}Item")))),
                None => {
                    self.problems.at(loc, "an array needs `items`", "add `items:` with the schema of the elements");
                    Ty::Array(Box::new(Ty::Any))
                }
            },
            "object" => self.object(loc, obj, name),
            other => {
                self.problems.at(&loc.child("type"), format!("unknown type `{other}`"), "use string, integer, number, boolean, object, array or null");
                Ty::Any
            }
        };
        if ty.1 {
            Ty::Nullable(Box::new(inner))
        } else {
            inner
        }
    }

    fn nullable_one_of(&mut self, loc: &Loc, one_of: &Value, name: &str) -> Ty {
        let arms = one_of.as_array().map(Vec::as_slice).unwrap_or_default();
        let is_null = |v: &Value| v.get("type").and_then(Value::as_str) == Some("null") && v.as_object().is_some_and(|o| o.len() == 1);
        match arms {
            [a, b] if is_null(b) && !is_null(a) => Ty::Nullable(Box::new(self.convert(&loc.child("0"), a, name))),
            [a, b] if is_null(a) && !is_null(b) => Ty::Nullable(Box::new(self.convert(&loc.child("1"), b, name))),
            _ => {
                self.problems.at(loc, "`oneOf` is only supported as the nullable pattern `[X, {type: \"null\"}]`", "make the value nullable with `oneOf: [{$ref: ...}, {type: \"null\"}]`, or declare one object type");
                Ty::Any
            }
        }
    }

    fn enumeration(&mut self, loc: &Loc, obj: &serde_json::Map<String, Value>, values: &Value, name: &str) -> Ty {
        let mut out = Vec::new();
        let mut nullable = false;
        for (i, v) in values.as_array().map(Vec::as_slice).unwrap_or_default().iter().enumerate() {
            match v {
                Value::String(s) if !out.contains(s) => out.push(s.clone()),
                Value::String(s) => self.problems.at(&loc.child("enum").child(&i.to_string()), format!("enum value `{s}` appears twice"), "remove the duplicate"),
                Value::Null => nullable = true,
                _ => self.problems.at(&loc.child("enum").child(&i.to_string()), format!("enum value `{v}` is not a string"), format!("quote it (`\"{}\"`): enums are string-only in the subset; for numbers use `type: integer` with `minimum`/`maximum`", v.to_string().trim_matches('"'))),
            }
        }
        if out.is_empty() {
            self.problems.at(&loc.child("enum"), "an enum needs at least one string value", "list the allowed values");
        }
        if let Some(t) = obj.get("type") {
            let ok = t == "string" || t == &serde_json::json!(["string", "null"]) || t == &serde_json::json!(["null", "string"]);
            if !ok {
                self.problems.at(&loc.child("type"), "an enum must have `type: string`", "enums are string-only in the subset");
            }
            nullable |= t.is_array();
        }
        let extensible = obj.get("x-extensible-enum").and_then(Value::as_bool).unwrap_or(false);
        let ty = self.hoist(loc, name, None, Ty::Enum { values: out, extensible }, obj);
        if nullable {
            Ty::Nullable(Box::new(ty))
        } else {
            ty
        }
    }

    fn integer(&mut self, loc: &Loc, obj: &serde_json::Map<String, Value>) -> Ty {
        let bound = |this: &mut Self, key: &str| -> Option<i64> {
            let v = obj.get(key)?;
            match v.as_i64() {
                Some(n) if n.unsigned_abs() <= MAX_SAFE_INTEGER.unsigned_abs() => Some(n),
                _ => {
                    this.problems.at(&loc.child(key), format!("`{key}` must be an integer within ±(2^53−1)"), "use a bound within ±9007199254740991: JavaScript numbers lose precision beyond it (values that need more must be strings)");
                    None
                }
            }
        };
        let min = bound(self, "minimum");
        let max = bound(self, "maximum");
        bound(self, "exclusiveMinimum");
        bound(self, "exclusiveMaximum");
        Ty::Integer { min, max }
    }

    fn string(&mut self, loc: &Loc, obj: &serde_json::Map<String, Value>) -> Ty {
        let format = obj.get("format").and_then(Value::as_str).map(str::to_owned);
        if let Some(f) = &format {
            if !FORMATS.contains(&f.as_str()) {
                self.problems.at(&loc.child("format"), format!("format `{f}` is not checked by the runtime validators"), format!("use one of {}, or a `pattern`", FORMATS.join(", ")));
            }
        }
        let pattern = obj.get("pattern").and_then(Value::as_str).map(str::to_owned);
        if let Some(p) = &pattern {
            if let Err(e) = regex_syntax::Parser::new().parse(p) {
                self.problems.at(&loc.child("pattern"), format!("pattern `{p}` does not compile: {}", first_line(&e.to_string())), "use the common subset of ECMA-262 and Rust regex: no lookaround, no backreferences");
            }
        }
        let accept_integer = match obj.get(ACCEPT_INTEGER) {
            None => false,
            Some(Value::Bool(true)) => true,
            Some(_) => {
                self.problems.at(&loc.child(ACCEPT_INTEGER), format!("`{ACCEPT_INTEGER}` must be `true`"), format!("write `{ACCEPT_INTEGER}: true`, or remove it: strings are the default"));
                false
            }
        };
        Ty::String { format, pattern, accept_integer }
    }

    fn object(&mut self, loc: &Loc, obj: &serde_json::Map<String, Value>, name: &str) -> Ty {
        let additional = match obj.get("additionalProperties") {
            Some(Value::Bool(false)) => Additional::Closed,
            Some(Value::Bool(true)) => Additional::Open,
            Some(schema @ Value::Object(_)) => Additional::Typed(Box::new(self.convert(&loc.child("additionalProperties"), schema, &format!("{name}Value")))),
            Some(_) => {
                self.problems.at(&loc.child("additionalProperties"), "`additionalProperties` must be a boolean or a schema", "write `false`, `true` or a schema");
                Additional::Open
            }
            None => {
                self.problems.at(loc, "the object does not say whether other keys are allowed", "add `additionalProperties: false` (closed; usual for payloads) or `true`; the subset requires it on every object");
                Additional::Open
            }
        };
        let required: Vec<String> = obj.get("required").and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect()).unwrap_or_default();
        let props = obj.get("properties").and_then(Value::as_object);
        for (i, r) in required.iter().enumerate() {
            if !props.is_some_and(|p| p.contains_key(r)) {
                self.problems.at(&loc.child("required").child(&i.to_string()), format!("`{r}` is required but not declared in `properties`"), format!("declare `{r}` under `properties`, or remove it from `required`"));
            }
        }
        let props = match props.filter(|p| !p.is_empty()) {
            Some(p) => p,
            None => {
                return match additional {
                    Additional::Typed(t) => Ty::Map(t),
                    Additional::Open => Ty::Map(Box::new(Ty::Any)),
                    // A closed object without properties, e.g. params of a channel that takes none.
                    Additional::Closed => self.hoist(loc, name, None, Ty::Object(ObjectTy { fields: Vec::new(), additional }), obj),
                };
            }
        };
        let mut fields = Vec::new();
        for (key, schema) in props {
            let child_name = format!("{name}{}", ident::upper_camel(key));
            let ty = self.convert(&loc.child("properties").child(key), schema, &child_name);
            fields.push(Field { name: key.clone(), ty, required: required.contains(key), description: schema.get("description").and_then(Value::as_str).map(str::to_owned) });
        }
        self.hoist(loc, name, obj.get("description").and_then(Value::as_str), Ty::Object(ObjectTy { fields, additional }), obj)
    }

    /// Registers an inline object or enum under `name` and returns a reference to it.
    fn hoist(&mut self, loc: &Loc, name: &str, description: Option<&str>, ty: Ty, obj: &serde_json::Map<String, Value>) -> Ty {
        let description = description.map(str::to_owned).or_else(|| obj.get("description").and_then(Value::as_str).map(str::to_owned));
        if let Some(existing) = self.types.get(name) {
            if existing.loc != *loc && !self.repeated_channels.contains(&loc.file) {
                let other = existing.loc.file.clone();
                self.problems.at(loc, format!("the type name `{name}` is already used by {other}"), "rename one of them: generated Rust and TypeScript need distinct type names");
            }
            return Ty::Named(name.to_owned());
        }
        self.types.insert(name.to_owned(), TypeDef { name: name.to_owned(), loc: loc.clone(), description, ty });
        Ty::Named(name.to_owned())
    }

    /// Converts a `$defs` entry once, under its own name.
    fn named_def(&mut self, target: Target, at: &Loc) -> Ty {
        if let Some(name) = self.resolved.get(&target) {
            return Ty::Named(name.clone());
        }
        if self.in_progress.contains(&target) {
            self.problems.at(at, format!("`{}` refers to itself", target.name), "recursive types are outside the codegen subset; break the cycle with an id field");
            return Ty::Any;
        }
        let name = ident::upper_camel(&target.name);
        if name != target.name {
            let loc = Loc::new(target.file.clone(), "/$defs").child(&target.name);
            self.problems.at_key(&loc, format!("model name `{}` is not UpperCamelCase", target.name), format!("rename it to `{name}`"));
        }
        let loc = Loc::new(target.file.clone(), "/$defs").child(&target.name);
        if let Some(existing) = self.types.get(&name) {
            if existing.loc.file != target.file {
                let other = existing.loc.file.clone();
                self.problems.at_key(&loc, format!("the model name `{name}` is also declared in {other}"), "model names must be unique across models/*.json: rename one of them");
                return Ty::Named(name);
            }
        }
        self.in_progress.insert(target.clone());
        let node = self.files[&target.file].value.pointer(&format!("/$defs/{}", target.name.replace('~', "~0").replace('/', "~1"))).cloned().unwrap_or(Value::Null);
        let ty = self.convert(&loc, &node, &name);
        self.in_progress.remove(&target);
        // Objects and enums were hoisted under `name` already; anything else is an alias.
        if ty != Ty::Named(name.clone()) {
            let description = node.get("description").and_then(Value::as_str).map(str::to_owned);
            self.types.insert(name.clone(), TypeDef { name: name.clone(), loc, description, ty });
        }
        self.resolved.insert(target, name.clone());
        Ty::Named(name)
    }

    /// Follows named types to the type they stand for.
    pub fn deref<'t>(types: &'t BTreeMap<String, TypeDef>, mut ty: &'t Ty) -> &'t Ty {
        while let Ty::Named(n) = ty {
            match types.get(n) {
                Some(def) => ty = &def.ty,
                None => break,
            }
        }
        ty
    }
}

fn first_line(s: &str) -> String {
    let line = s.lines().rfind(|l| !l.trim().is_empty()).unwrap_or(s).trim();
    line.strip_prefix("error: ").unwrap_or(line).to_owned()
}

/// Why a type cannot be used in a stream key, or `None` when it can.
pub fn key_unsafe_reason(types: &BTreeMap<String, TypeDef>, ty: &Ty) -> Option<String> {
    match TypeBuilder::deref(types, ty) {
        Ty::String { format: Some(f), .. } if f == "uuid" => None,
        Ty::String { pattern: Some(p), .. } => pattern_unsafe_reason(p),
        Ty::String { .. } => Some("it is a free string (no `format: uuid`, `enum` or `pattern`)".into()),
        Ty::Enum { values, .. } => values.iter().find(|v| !is_key_safe_literal(v)).map(|v| format!("enum value `{v}` holds characters outside [A-Za-z0-9_-]")),
        Ty::Integer { min: Some(_), max: Some(_) } => None,
        Ty::Integer { .. } => Some("it is an integer without both `minimum` and `maximum`".into()),
        Ty::Const(Value::String(s)) if is_key_safe_literal(s) => None,
        Ty::Nullable(_) => Some("it may be null".into()),
        other => Some(format!("it is {}", describe(other))),
    }
}

/// True for a non-empty string of `[A-Za-z0-9_-]`.
pub fn is_key_safe_literal(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn pattern_unsafe_reason(pattern: &str) -> Option<String> {
    if !pattern.starts_with('^') || !pattern.ends_with('$') {
        return Some(format!("its pattern `{pattern}` is not anchored with ^...$"));
    }
    let hir = match regex_syntax::ParserBuilder::new().build().parse(pattern) {
        Ok(h) => h,
        Err(_) => return Some(format!("its pattern `{pattern}` does not compile")),
    };
    if hir_is_key_safe(&hir) {
        None
    } else {
        Some(format!("its pattern `{pattern}` admits characters outside [A-Za-z0-9_-]"))
    }
}

fn hir_is_key_safe(hir: &regex_syntax::hir::Hir) -> bool {
    use regex_syntax::hir::{Class, HirKind};
    let safe = |c: u32| char::from_u32(c).is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => true,
        HirKind::Literal(lit) => std::str::from_utf8(&lit.0).is_ok_and(is_key_safe_literal),
        HirKind::Class(Class::Unicode(c)) => c.ranges().iter().all(|r| (r.start() as u32..=r.end() as u32).all(safe)),
        HirKind::Class(Class::Bytes(c)) => c.ranges().iter().all(|r| (r.start() as u32..=r.end() as u32).all(safe)),
        HirKind::Repetition(r) => hir_is_key_safe(&r.sub),
        HirKind::Capture(c) => hir_is_key_safe(&c.sub),
        HirKind::Concat(hs) | HirKind::Alternation(hs) => hs.iter().all(hir_is_key_safe),
    }
}

/// A short English description of a type, for messages.
pub fn describe(ty: &Ty) -> &'static str {
    match ty {
        Ty::Bool => "a boolean",
        Ty::Integer { .. } => "an integer",
        Ty::Number => "a number",
        Ty::String { .. } => "a string",
        Ty::Enum { .. } => "an enum",
        Ty::Const(_) => "a constant",
        Ty::Array(_) => "an array",
        Ty::Map(_) => "a map",
        Ty::Object(_) => "an object",
        Ty::Named(_) => "a named type",
        Ty::Nullable(_) => "nullable",
        Ty::Any => "any JSON",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_key_safe_only_within_the_charset() {
        assert_eq!(pattern_unsafe_reason("^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"), None);
        assert_eq!(pattern_unsafe_reason("^run-[0-9]+$"), None);
        assert!(pattern_unsafe_reason("^[a-z:]+$").is_some());
        assert!(pattern_unsafe_reason("^.+$").is_some());
        assert!(pattern_unsafe_reason("[a-z]+").is_some());
        assert!(pattern_unsafe_reason("^a\\*$").is_some());
    }
}
