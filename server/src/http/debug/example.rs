//! An example value of a bundled JSON Schema, for the debug page: deterministic, as
//! realistic as the schema lets it be, and valid (the tests check every event, action and
//! params schema of the registry).
//!
//! It follows the keywords the schema subset uses (`schema/README.md`): `examples`,
//! `const`, `enum`, `oneOf`, `$ref` into `$defs`, the types with their bounds and formats.
//! Strings with a `pattern` take the first of a few candidates that matches. Ids take the
//! dev principal's account and user where the field names them, so an example published
//! from the page reaches a subscription opened as the dev principal.

use serde_json::{json, Map, Value};

/// The account and user of the page's default principal (and of `--dev`'s printed token).
pub(super) const DEV_ACCOUNT: &str = "dev-account";
pub(super) const DEV_USER: &str = "dev-user";

/// Deeper than this, an object is `{}` and an array `[]` (recursive schemas end).
const MAX_DEPTH: usize = 8;

/// An example of `schema` (a bundled document, refs resolved in it), checked with `valid`:
/// every declared property first, then only the required ones if that is not valid.
pub(super) fn example(schema: &Value, valid: impl Fn(&Value) -> bool) -> Value {
    let full = Builder { root: schema, optional: true }.value(schema, None, 0);
    if valid(&full) {
        return full;
    }
    Builder { root: schema, optional: false }.value(schema, None, 0)
}

struct Builder<'a> {
    root: &'a Value,
    /// Whether optional properties are filled in too.
    optional: bool,
}

impl Builder<'_> {
    fn resolve<'b>(&'b self, schema: &'b Value) -> &'b Value {
        match schema.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')).and_then(|p| self.root.pointer(p)) {
            Some(target) => self.resolve(target),
            None => schema,
        }
    }

    /// The example of `schema` for a property called `name` (a hint for strings).
    fn value(&self, schema: &Value, name: Option<&str>, depth: usize) -> Value {
        let schema = self.resolve(schema);
        if let Some(first) = schema.get("examples").and_then(Value::as_array).and_then(|e| e.first()) {
            return first.clone();
        }
        if let Some(c) = schema.get("const") {
            return c.clone();
        }
        if let Some(first) = schema.get("enum").and_then(Value::as_array).and_then(|e| e.iter().find(|v| !v.is_null())) {
            return first.clone();
        }
        if let Some(branches) = schema.get("oneOf").or_else(|| schema.get("anyOf")).and_then(Value::as_array) {
            let branch = branches.iter().find(|b| self.resolve(b).get("type") != Some(&json!("null"))).or_else(|| branches.first());
            return branch.map_or(Value::Null, |b| self.value(b, name, depth));
        }
        if schema.get("x-opaque").is_some() {
            return json!({});
        }
        match primary_type(schema) {
            Some("object") => self.object(schema, depth),
            Some("array") => self.array(schema, name, depth),
            Some("string") => string(schema, name),
            Some("integer") => integer(schema),
            Some("number") => number(schema),
            Some("boolean") => json!(true),
            Some("null") => Value::Null,
            _ if schema.get("properties").is_some() => self.object(schema, depth),
            _ => json!({}),
        }
    }

    fn object(&self, schema: &Value, depth: usize) -> Value {
        let mut out = Map::new();
        if depth >= MAX_DEPTH {
            return Value::Object(out);
        }
        let required: Vec<&str> = schema.get("required").and_then(Value::as_array).map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            for (key, property) in properties {
                if self.optional || required.contains(&key.as_str()) {
                    out.insert(key.clone(), self.value(property, Some(key), depth + 1));
                }
            }
        }
        Value::Object(out)
    }

    fn array(&self, schema: &Value, name: Option<&str>, depth: usize) -> Value {
        let min = schema.get("minItems").and_then(Value::as_u64).unwrap_or(1);
        let max = schema.get("maxItems").and_then(Value::as_u64).unwrap_or(u64::MAX);
        let count = min.max(1).min(max);
        let Some(items) = schema.get("items").filter(|_| depth < MAX_DEPTH) else { return json!([]) };
        let singular = name.map(|n| n.strip_suffix('s').unwrap_or(n));
        let first = self.value(items, singular, depth + 1);
        // `uniqueItems` with more than one item wants distinct values: number the strings.
        let values: Vec<Value> = (0..count)
            .map(|i| match (&first, i) {
                (_, 0) => first.clone(),
                (Value::String(s), i) => Value::String(format!("{s}{}", i + 1)),
                (Value::Number(n), i) => json!(n.as_i64().unwrap_or(0) + i as i64),
                _ => first.clone(),
            })
            .collect();
        Value::Array(values)
    }
}

/// The schema's type, `null` last (an optional value is shown with its value).
fn primary_type(schema: &Value) -> Option<&str> {
    match schema.get("type")? {
        Value::String(t) => Some(t),
        Value::Array(types) => types.iter().filter_map(Value::as_str).find(|t| *t != "null").or(Some("null")),
        _ => None,
    }
}

/// A string for a property called `name`: its format's canonical form, or a readable value
/// that fits its pattern and lengths.
fn string(schema: &Value, name: Option<&str>) -> Value {
    let formatted = match schema.get("format").and_then(Value::as_str) {
        Some("date-time") => Some("2026-01-01T12:00:00Z"),
        Some("date") => Some("2026-01-01"),
        Some("time") => Some("12:00:00Z"),
        Some("email") => Some("dev@example.com"),
        Some("uri") => Some("https://example.com/resource"),
        Some("uuid") => Some("3f2a6c1e-8b7d-4c59-9e21-5a0f7d3b2c10"),
        _ => None,
    };
    if let Some(f) = formatted {
        return json!(f);
    }
    let hint = hint(name.unwrap_or("value"));
    let min = schema.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
    let max = schema.get("maxLength").and_then(Value::as_u64).map_or(usize::MAX, |m| m as usize);
    let candidates = [hint.clone(), hint.replace('-', "_"), "example".to_owned(), "abc1234".to_owned(), "USD".to_owned(), "example.value".to_owned(), "a".to_owned()];
    let fits = |s: &str| {
        let n = s.chars().count();
        n >= min && n <= max && schema.get("pattern").and_then(Value::as_str).is_none_or(|p| matches_pattern(p, s))
    };
    let chosen = candidates.iter().find(|c| fits(c)).cloned().unwrap_or_else(|| {
        let mut s = hint.clone();
        while s.chars().count() < min {
            s.push('x');
        }
        s.chars().take(max.max(1)).collect()
    });
    Value::String(chosen)
}

/// What a string field holds, from its name: the dev principal's ids, `<thing>-1` for
/// other ids, and a short phrase otherwise.
fn hint(name: &str) -> String {
    match name {
        "account_id" => DEV_ACCOUNT.to_owned(),
        "user_id" | "sub" | "triggered_by_id" => DEV_USER.to_owned(),
        "id" => "example-1".to_owned(),
        _ => match name.strip_suffix("_id") {
            Some(thing) => format!("{}-1", thing.replace('_', "-")),
            None => format!("example {}", name.replace('_', " ")),
        },
    }
}

/// Whether `s` matches the ECMA-262 `pattern`, as the server's validator decides it.
fn matches_pattern(pattern: &str, s: &str) -> bool {
    let schema = json!({ "type": "string", "pattern": pattern });
    jsonschema::options().with_pattern_options(jsonschema::PatternOptions::regex()).build(&schema).is_ok_and(|v| v.is_valid(&json!(s)))
}

fn integer(schema: &Value) -> Value {
    let min = schema.get("minimum").and_then(Value::as_i64);
    let max = schema.get("maximum").and_then(Value::as_i64);
    let mut n = min.map_or(1, |m| m.max(1));
    if let Some(max) = max {
        n = n.min(max);
    }
    json!(n)
}

fn number(schema: &Value) -> Value {
    let min = schema.get("minimum").and_then(Value::as_f64);
    let max = schema.get("maximum").and_then(Value::as_f64);
    let mut n = min.map_or(1.5, |m| m.max(1.5));
    if let Some(max) = max {
        n = n.min(max);
    }
    json!(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::REGISTRY;
    use crate::validation;

    fn of(schema: &'static str) -> Value {
        let value: Value = serde_json::from_str(schema).expect("bundled schema");
        example(&value, |v| validation::validate(schema, v).is_ok())
    }

    #[test]
    fn every_example_of_the_registry_is_valid() {
        let mut checked = 0;
        for c in REGISTRY {
            let mut schemas: Vec<(String, &'static str)> = vec![(format!("{} params", c.name), c.params_schema)];
            schemas.extend(c.events.iter().map(|e| (format!("{} event {}", c.name, e.name), e.payload_schema)));
            schemas.extend(c.actions.iter().map(|a| (format!("{} action {}", c.name, a.name), a.request_schema)));
            for (what, schema) in schemas {
                let value = of(schema);
                assert_eq!(validation::validate(schema, &value), Ok(()), "{what}: {value}");
                checked += 1;
            }
        }
        assert!(checked > 100, "{checked}");
    }

    #[test]
    fn examples_address_the_dev_principal() {
        let notifications = crate::channels::find("NotificationChannel").expect("declared");
        assert_eq!(of(notifications.params_schema), json!({ "account_id": DEV_ACCOUNT }));
        let payload = of(notifications.event("new_notification").expect("declared").payload_schema);
        assert_eq!(payload["account_id"], DEV_ACCOUNT);
        assert_eq!(payload["created_at"], "2026-01-01T12:00:00Z");
    }
}
