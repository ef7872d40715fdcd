//! The layers under the defaults: the TOML file, the environment and the flags, each turned
//! into a figment [`Provider`] keyed by TOML key, and figment's errors turned back into
//! messages that name the setting the way the user wrote it.
//!
//! The environment is read here rather than with figment's `Env`, which parses every value
//! as TOML-like data: `"x"` would lose its quotes, `0123` become 123 and `[a]` a list, so a
//! secret or an issuer could change on the way in. Here a value is read by its setting's
//! [`Kind`] and otherwise taken as written.

use std::path::{Path, PathBuf};

use figment::value::{Dict, Map, Value};
use figment::{Metadata, Profile, Provider};

use super::error::ConfigError;
use super::registry::{self, Kind, Setting, ENV_PREFIX};

const FILE: &str = "TOML file";
const ENV: &str = "environment";
const FLAGS: &str = "flags";

/// One layer of settings, keyed like the TOML file.
#[derive(Clone, Debug)]
pub(super) struct Layer {
    metadata: Metadata,
    values: Dict,
}

impl Provider for Layer {
    fn metadata(&self) -> Metadata {
        self.metadata.clone()
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.values.clone()))
    }
}

impl Layer {
    fn new(metadata: Metadata) -> Self {
        Layer { metadata, values: Dict::new() }
    }

    /// Puts `value` at the setting's key, creating its table.
    fn set(&mut self, setting: &Setting, value: Value) {
        let mut table = &mut self.values;
        let mut parts = setting.key.split('.').peekable();
        while let Some(part) = parts.next() {
            if parts.peek().is_none() {
                table.insert(part.to_owned(), value);
                return;
            }
            let entry = table.entry(part.to_owned()).or_insert_with(|| Dict::new().into());
            let Value::Dict(_, inner) = entry else { unreachable!("only settings are inserted, and no setting is also a table") };
            table = inner;
        }
    }

    /// The value this layer gives a top-level key.
    pub(super) fn get(&self, key: &str) -> Option<&Value> {
        self.values.get(key)
    }

    /// The TOML file. Key files named in it are relative to it (the metadata carries its
    /// path for figment's `RelativePathBuf`). An unknown key is an error that names the
    /// nearest known one.
    pub(super) fn file(path: &Path) -> Result<Layer, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile { path: path.to_path_buf(), source })?;
        let parse_error = |message: String| ConfigError::ParseFile { path: path.to_path_buf(), message };
        let values: Dict = toml::from_str(&text).map_err(|e| parse_error(syntax_error(&text, &e)))?;
        check_keys(&values, "").map_err(parse_error)?;
        Ok(Layer { metadata: Metadata::from(FILE, path), values })
    }

    /// The `CABLEWAY_*` variables of `vars`. An empty value counts as unset. Returns the
    /// warnings for variables that are no setting.
    pub(super) fn environment(vars: impl IntoIterator<Item = (String, String)>) -> Result<(Layer, Vec<String>), ConfigError> {
        let mut layer = Layer::new(Metadata::named(ENV));
        let mut warnings = Vec::new();
        let mut vars: Vec<(String, String)> = vars.into_iter().filter(|(name, value)| name.starts_with(ENV_PREFIX) && !value.is_empty()).collect();
        vars.sort();
        for (name, raw) in vars {
            match registry::by_env(&name) {
                Some(setting) => {
                    let value = read_env(setting, &raw).map_err(|reason| ConfigError::invalid(&name, reason))?;
                    layer.set(setting, value);
                }
                None => warnings.push(match registry::nearest_env(&name) {
                    Some(near) => format!("{name} is not a setting; did you mean {near}?"),
                    None => format!("{name} is not a setting (the settings are listed in the README's Configuration table)"),
                }),
            }
        }
        Ok((layer, warnings))
    }

    /// The flags given: `args` serialized, each field named after its setting's variable
    /// (`registry`'s tests check that every `serve` flag is). Unset flags (`None`, `false`, no
    /// values) are left to the lower layers.
    pub(super) fn flags(args: &impl serde::Serialize) -> Result<Layer, ConfigError> {
        let mut layer = Layer::new(Metadata::named(FLAGS));
        let given = Value::serialize(args).map_err(|e| ConfigError::invalid("the flags", e.to_string()))?;
        for (id, value) in given.into_dict().unwrap_or_default() {
            let unset = match &value {
                Value::Empty(..) => true,
                Value::Bool(_, b) => !b,
                Value::Array(_, a) => a.is_empty(),
                _ => false,
            };
            if unset {
                continue;
            }
            let setting = registry::by_env(&format!("{ENV_PREFIX}{}", id.to_ascii_uppercase())).ok_or_else(|| ConfigError::invalid(format!("--{id}"), "is no setting"))?;
            layer.set(setting, value);
        }
        Ok(layer)
    }
}

/// Where and what, without toml's snippet of the line: the line may hold a secret.
fn syntax_error(text: &str, error: &toml::de::Error) -> String {
    let message = error.message().split_whitespace().collect::<Vec<_>>().join(" ");
    let Some(at) = error.span().map(|span| span.start.min(text.len())) else { return message };
    let before = text.get(..at).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or_default().chars().count() + 1;
    format!("line {line}, column {column}: {message}")
}

/// Reads an environment value the way its setting's type needs it.
fn read_env(setting: &Setting, raw: &str) -> Result<Value, String> {
    let trimmed = raw.trim();
    Ok(match setting.kind {
        Kind::Number => trimmed.parse::<u64>().map_err(|_| "expected a non-negative whole number".to_owned())?.into(),
        Kind::Boolean => match trimmed.to_ascii_lowercase().as_str() {
            "y" | "yes" | "t" | "true" | "on" | "1" => true,
            "n" | "no" | "f" | "false" | "off" | "0" => false,
            _ => return Err(format!("expected true or false, got {raw:?}")),
        }
        .into(),
        Kind::List => Value::from(trimmed.split(',').map(str::trim).filter(|s| !s.is_empty()).map(Value::from).collect::<Vec<_>>()),
        Kind::Text => raw.into(),
    })
}

/// Every key of the file must be a setting the file may set, and every table a table.
fn check_keys(dict: &Dict, table: &str) -> Result<(), String> {
    for (name, value) in dict {
        let key = if table.is_empty() { name.clone() } else { format!("{table}.{name}") };
        if registry::is_table(&key) {
            match value.as_dict() {
                Some(inner) => check_keys(inner, &key)?,
                None => return Err(format!("`{key}` must be a table: write it as [{key}]")),
            }
        } else if !registry::by_key(&key).is_some_and(|s| s.in_file) {
            return Err(unknown_key(&key, table));
        }
    }
    Ok(())
}

fn unknown_key(key: &str, table: &str) -> String {
    if let Some(setting) = registry::by_key(key) {
        let flag = setting.flag.as_deref().map(|f| format!("{f} or ")).unwrap_or_default();
        return format!("`{key}` cannot be set in the config file; use {flag}{}", setting.env);
    }
    if let Some(near) = registry::nearest_key(key) {
        return format!("unknown key `{key}`; did you mean `{near}`?");
    }
    if table.is_empty() {
        return format!("unknown key `{key}`; the settings are listed in the README's Configuration table");
    }
    let siblings: Vec<&str> = registry::settings().iter().filter(|s| s.in_file).filter_map(|s| s.key.strip_prefix(table)?.strip_prefix('.')).collect();
    format!("unknown key `{key}`; [{table}] takes {}", siblings.join(", "))
}

/// Names what went wrong the way the user wrote it: a key in the file, a variable, a flag.
pub(super) fn from_figment(error: figment::Error, table: Option<&str>) -> ConfigError {
    let path: Vec<&str> = table.into_iter().chain(error.path.iter().map(String::as_str)).collect();
    // The longest prefix that is a setting: list items add their index to the path.
    let setting = (1..=path.len()).rev().find_map(|n| registry::by_key(&path[..n].join(".")));
    let key = setting.map_or_else(|| path.join("."), |s| s.key.clone());
    let reason = match setting {
        Some(s) if s.secret => "expected a string".to_owned(),
        _ => error.kind.to_string(),
    };
    let metadata = error.metadata.as_ref();
    if let Some(file) = metadata.and_then(|m| m.source.as_ref()).and_then(|s| s.file_path()) {
        return ConfigError::ParseFile { path: PathBuf::from(file), message: format!("{key}: {reason}") };
    }
    let name = match (metadata.map(|m| m.name.as_ref()), setting) {
        (Some(ENV), Some(s)) => s.env.clone(),
        (Some(FLAGS), Some(s)) => s.flag.clone().unwrap_or_else(|| s.env.clone()),
        _ => key,
    };
    ConfigError::invalid(name, reason)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{env_of, minimal_env, TempDir};
    use super::super::{Config, ConfigError, JwtAlgorithm, ServeArgs};

    fn load_file(dir: &TempDir, text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let path = dir.write("c.toml", text);
        Config::load_from(&ServeArgs { config: Some(path), ..ServeArgs::default() }, env_of(env))
    }

    #[test]
    fn unknown_and_mistyped_file_keys_are_errors() {
        let dir = TempDir::new("unknown");
        for (text, needle) in [
            ("bnd = \"x\"\n", "bnd"),
            ("[limits]\nmax_inbound_bytes = 1\n", "max_inbound_bytes"),
            ("[auth]\nalgorithm = \"HS256\"\nkid = \"x\"\n", "kid"),
            ("[timeouts]\nping_interval_ms = \"3s\"\n", "ping_interval_ms"),
            ("[extra]\n", "extra"),
            ("dev = true\n", "dev"),
            ("auth = 5\n", "[auth]"),
            ("bind = \n", "line 1, column 8"),
            ("[auth]\nsecret = \"hunter2-unterminated\n", "line 2"),
        ] {
            let err = load_file(&dir, text, &minimal_env()).expect_err(text);
            let msg = err.to_string();
            assert!(matches!(err, ConfigError::ParseFile { .. }) && msg.contains(needle) && msg.contains("c.toml"), "{msg}");
        }
        let err = load_file(&dir, "[auth]\nsecret = \"hunter2-unterminated\n", &[]).expect_err("unterminated");
        assert!(!err.to_string().contains("hunter2"), "a syntax error must not quote the line: {err}");
        let err = Config::load_from(&ServeArgs { config: Some(dir.0.join("missing.toml")), ..ServeArgs::default() }, env_of(&minimal_env())).expect_err("missing");
        assert!(matches!(err, ConfigError::ReadFile { .. }), "{err}");
    }

    #[test]
    fn an_unknown_key_names_the_nearest_known_one() {
        let dir = TempDir::new("nearest");
        let message = |text: &str| load_file(&dir, text, &minimal_env()).expect_err(text).to_string();
        assert!(message("bnd = \"x\"\n").contains("unknown key `bnd`; did you mean `bind`?"));
        assert!(message("[limits]\nmax_inbound_bytes = 1\n").contains("did you mean `limits.max_inbound_message_bytes`?"));
        assert!(message("[timeouts]\nping_interval = 1\n").contains("did you mean `timeouts.ping_interval_ms`?"));
        let kid = message("[auth]\nkid = \"x\"\n");
        assert!(kid.contains("[auth] takes algorithm, secret, public_key_file"), "{kid}");
        assert!(message("dev = true\n").contains("use --dev or CABLEWAY_DEV"));
    }

    #[test]
    fn asymmetric_keys_load_relative_to_the_file_and_refuse_a_stray_secret() {
        let dir = TempDir::new("keys");
        dir.write("pub.pem", include_str!("../../tests/keys/rsa_public.pem"));
        let text = format!("publisher_key = \"{}\"\n[auth]\nalgorithm = \"RS256\"\npublic_key_file = \"pub.pem\"\n", "b".repeat(40));
        let c = load_file(&dir, &text, &[]).expect("valid");
        assert_eq!(c.auth.algorithm, JwtAlgorithm::Rs256);
        assert!(c.auth.public_key_pem.as_deref().is_some_and(|p| p.contains("BEGIN PUBLIC KEY")));
        let err = load_file(&dir, &text, &[("CABLEWAY_JWT_SECRET", &"a".repeat(40))]).expect_err("stray secret");
        assert!(err.to_string().contains("CABLEWAY_JWT_SECRET"), "{err}");
        // A path from the environment is relative to the working directory, not the file.
        let err = load_file(&dir, &text, &[("CABLEWAY_JWT_PUBLIC_KEY_FILE", "pub.pem")]).expect_err("not in the working directory");
        assert!(matches!(err, ConfigError::ReadKeyFile { .. }), "{err}");
    }
}
