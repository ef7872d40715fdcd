//! The settings registry: every setting with its TOML key, environment variable, flag,
//! default and meaning. Nothing here is written per setting: the registry is read off the
//! component structs (serde names, doc comments, `Default`s, `#[schemars]` marks) through
//! their JSON Schema, so a setting is declared once, as a field of its component.
//!
//! - **TOML key**: the serde name under its table (`timeouts.ping_interval_ms`). A field
//!   marked `#[schemars(extend("x-file" = false))]` is not read from the file (`dev`, `config`).
//! - **Environment variable**: the table's prefix plus the key in upper case. Top-level keys
//!   use `CABLEWAY_`; a table declares its prefix with `#[schemars(extend("x-env-prefix" = …))]`,
//!   and without one gets `CABLEWAY_<TABLE>_` (`[redis] url` is `CABLEWAY_REDIS_URL`).
//! - **Flag**: the `serve` flag whose field is named after the variable (`jwt_secret` is
//!   `CABLEWAY_JWT_SECRET`).
//! - **Kind**: the JSON type, which says how an environment value is read.
//! - **Range**: `#[schemars(range(min = …, max = …))]`, checked once everything is loaded.
//! - **Secret**: the [`Secret`](super::Secret) type (`writeOnly`): its value never appears in
//!   an error message.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde_json::Value;

use super::args::ServeArgs;
use super::components::Config;

/// What every variable name starts with.
pub const ENV_PREFIX: &str = "CABLEWAY_";

/// One setting.
#[derive(Clone, Debug, PartialEq)]
pub struct Setting {
    /// The TOML key, dotted below a table (`timeouts.ping_interval_ms`); for a setting that is
    /// not read from the file, its name (`dev`).
    pub key: String,
    /// Whether the config file may set it.
    pub in_file: bool,
    /// The environment variable (`CABLEWAY_PING_INTERVAL_MS`).
    pub env: String,
    /// The `serve` flag (`--bind`), if it has one.
    pub flag: Option<String>,
    /// How a value is read from the environment.
    pub kind: Kind,
    /// Whether the value is a credential.
    pub secret: bool,
    /// The default, as it would be written in the TOML file; `null` when unset by default.
    pub default: Value,
    /// What it means: its field's doc comment.
    pub meaning: String,
    /// The least accepted value of a number.
    pub minimum: Option<u64>,
    /// The greatest accepted value of a number.
    pub maximum: Option<u64>,
}

/// How an environment value becomes a setting value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A whole number (`3000`).
    Number,
    /// `true`/`false`, also `1`/`0`, `yes`/`no`, `on`/`off`.
    Boolean,
    /// A comma-separated list.
    List,
    /// Taken as written.
    Text,
}

impl Setting {
    /// How errors name it: `timeouts.ping_interval_ms (CABLEWAY_PING_INTERVAL_MS)`.
    pub fn label(&self) -> String {
        format!("{} ({})", self.key, self.env)
    }
}

/// Every setting, top-level keys first, then each table, in declaration order.
pub fn settings() -> &'static [Setting] {
    static REGISTRY: LazyLock<Vec<Setting>> = LazyLock::new(build);
    &REGISTRY
}

/// The setting read from this environment variable.
pub fn by_env(name: &str) -> Option<&'static Setting> {
    settings().iter().find(|s| s.env == name)
}

/// The setting at this TOML key (or name).
pub fn by_key(key: &str) -> Option<&'static Setting> {
    settings().iter().find(|s| s.key == key)
}

/// Whether `name` is a table of the TOML file (`auth`).
pub fn is_table(name: &str) -> bool {
    settings().iter().any(|s| s.in_file && s.key.strip_prefix(name).is_some_and(|rest| rest.starts_with('.')))
}

/// The variable most like `unknown` (a `CABLEWAY_*` name), if one is close enough to be a
/// likely typo.
pub fn nearest_env(unknown: &str) -> Option<&'static str> {
    fn name(env: &str) -> &str {
        env.strip_prefix(ENV_PREFIX).unwrap_or(env)
    }
    nearest(name(unknown), settings().iter().map(|s| (name(&s.env), s.env.as_str())))
}

/// The TOML key most like `unknown` (dotted), if one is close enough to be a likely typo.
/// Names are compared without their table, so a key put in the wrong table is found too.
pub fn nearest_key(unknown: &str) -> Option<&'static str> {
    fn name(key: &str) -> &str {
        key.rsplit('.').next().unwrap_or(key)
    }
    nearest(name(unknown), settings().iter().filter(|s| s.in_file).map(|s| (name(&s.key), s.key.as_str())))
}

/// The candidate whose name (the first of the pair) is most like `unknown`: at most
/// two edits in five apart (`bnd` → `bind`, `ping_interval` → `ping_interval_ms`), so that
/// short unrelated names (`kid`, `bind`) do not pass for typos. Names are compared without
/// the prefix they all share, which would make any two look alike.
fn nearest<'a>(unknown: &str, candidates: impl Iterator<Item = (&'a str, &'a str)>) -> Option<&'a str> {
    candidates
        .map(|(name, full)| (strsim::normalized_damerau_levenshtein(unknown, name), full))
        .filter(|(score, _)| *score >= 0.6)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, full)| full)
}

fn build() -> Vec<Setting> {
    let schema = schemars::schema_for!(Config);
    let root = schema.as_value();
    let flags: BTreeMap<String, String> = <ServeArgs as clap::Args>::augment_args(clap::Command::new("serve"))
        .get_arguments()
        .filter_map(|a| Some((format!("{ENV_PREFIX}{}", a.get_id().as_str().to_ascii_uppercase()), format!("--{}", a.get_long()?))))
        .collect();
    let mut out = Vec::new();
    walk(root, root, "", ENV_PREFIX, &flags, &mut out);
    out
}

/// Adds the settings of one table (`prefix` is `""` or `"auth."`).
fn walk(root: &Value, table: &Value, prefix: &str, env_prefix: &str, flags: &BTreeMap<String, String>, out: &mut Vec<Setting>) {
    let Some(properties) = table.get("properties").and_then(Value::as_object) else { return };
    for (name, property) in properties {
        let resolved = resolve(root, property);
        if resolved.get("properties").is_some() {
            let env_prefix = match resolved.get("x-env-prefix").and_then(Value::as_str) {
                Some(p) => p.to_owned(),
                None => format!("{ENV_PREFIX}{}_", name.to_ascii_uppercase()),
            };
            walk(root, resolved, &format!("{prefix}{name}."), &env_prefix, flags, out);
            continue;
        }
        let env = format!("{env_prefix}{}", name.to_ascii_uppercase());
        let number = |k: &str| find(root, property, k).and_then(Value::as_u64);
        out.push(Setting {
            key: format!("{prefix}{name}"),
            in_file: property.get("x-file").and_then(Value::as_bool).unwrap_or(true),
            flag: flags.get(&env).cloned(),
            env,
            kind: match json_type(root, property) {
                Some("integer" | "number") => Kind::Number,
                Some("boolean") => Kind::Boolean,
                Some("array") => Kind::List,
                _ => Kind::Text,
            },
            secret: find(root, property, "writeOnly").and_then(Value::as_bool).unwrap_or(false),
            default: property.get("default").cloned().unwrap_or(Value::Null),
            meaning: property.get("description").and_then(Value::as_str).unwrap_or_default().split_whitespace().collect::<Vec<_>>().join(" "),
            minimum: number("minimum").filter(|&m| m > 0),
            maximum: number("maximum"),
        });
    }
}

/// Follows a `$ref` to its definition.
fn resolve<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')) {
        Some(pointer) => root.pointer(pointer).map_or(schema, |s| resolve(root, s)),
        None => schema,
    }
}

/// A keyword of a schema, of its definition, or of the non-null branch of an `Option`.
fn find<'a>(root: &'a Value, schema: &'a Value, keyword: &str) -> Option<&'a Value> {
    let schema = resolve(root, schema);
    schema.get(keyword).or_else(|| {
        let branches = schema.get("anyOf").or_else(|| schema.get("oneOf"))?.as_array()?;
        branches.iter().filter(|b| b.get("type").and_then(Value::as_str) != Some("null")).find_map(|b| find(root, b, keyword))
    })
}

/// The JSON type of a schema, ignoring `null` (an `Option` is its inner type).
fn json_type<'a>(root: &'a Value, schema: &'a Value) -> Option<&'a str> {
    match find(root, schema, "type")? {
        Value::String(t) => Some(t),
        Value::Array(types) => types.iter().filter_map(Value::as_str).find(|t| *t != "null"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_every_flag_is_a_setting() {
        let all = settings();
        for (i, s) in all.iter().enumerate() {
            assert!(all[..i].iter().all(|o| o.key != s.key && o.env != s.env), "{} / {} is declared twice", s.key, s.env);
            assert!(!s.meaning.is_empty(), "{} has no doc comment", s.key);
        }
        let command = <ServeArgs as clap::Args>::augment_args(clap::Command::new("serve"));
        for arg in command.get_arguments() {
            let env = format!("{ENV_PREFIX}{}", arg.get_id().as_str().to_ascii_uppercase());
            assert!(by_env(&env).is_some_and(|s| s.flag.is_some()), "flag {:?} is not named after a setting's variable ({env})", arg.get_long());
        }
    }

    #[test]
    fn derived_names_kinds_and_ranges() {
        let s = by_env("CABLEWAY_PING_INTERVAL_MS").expect("registered");
        assert_eq!((s.key.as_str(), s.kind, s.default.as_u64(), s.minimum, s.in_file), ("timeouts.ping_interval_ms", Kind::Number, Some(3000), Some(1), true));
        let s = by_env("CABLEWAY_JWT_SECRET").expect("registered");
        assert_eq!((s.key.as_str(), s.flag.as_deref(), s.secret, &s.default), ("auth.secret", Some("--jwt-secret"), true, &Value::Null));
        let s = by_env("CABLEWAY_JWT_LEEWAY_SECONDS").expect("registered");
        assert_eq!((s.maximum, s.minimum), (Some(super::super::auth::MAX_LEEWAY_SECONDS), None));
        assert_eq!(by_key("origins").map(|s| (s.kind, s.flag.as_deref())), Some((Kind::List, Some("--origin"))));
        assert_eq!(by_key("dev").map(|s| (s.kind, s.in_file)), Some((Kind::Boolean, false)));
        assert_eq!(by_key("resolver").map(|s| (s.kind, s.default.as_str())), Some((Kind::Text, Some("registry"))));
        assert_eq!(by_key("timeouts.resolver_cache_ttl_ms").and_then(|s| s.minimum), None);
        assert!(is_table("auth") && is_table("timeouts") && !is_table("bind") && !is_table("aut"));
        assert_eq!(nearest_key("bnd"), Some("bind"));
        assert_eq!(nearest_key("auth.kid"), None);
        assert_eq!(nearest_key("ping_interval_ms"), Some("timeouts.ping_interval_ms"));
        assert_eq!(nearest_env("CABLEWAY_BACKEND_UR"), Some("CABLEWAY_BACKEND_URL"));
        assert_eq!(nearest_env("CABLEWAY_ZZZZZZZZ"), None);
    }
}
