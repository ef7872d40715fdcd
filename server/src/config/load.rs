//! The load: the layers merged by figment, one extraction per component, then what follows
//! from the values (key files, `--dev` secrets) and the checks.

use std::path::{Path, PathBuf};

use figment::providers::Serialized;
use figment::Figment;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::args::{KeyArgs, ServeArgs};
use super::auth::{AuthConfig, MIN_SECRET_BYTES, SECRET_HINT};
use super::components::Config;
use super::dev_key::{self, JwtKeySource};
use super::error::ConfigError;
use super::layers::{self, Layer};
use super::registry;
use super::secret::Secret;

/// The process environment, as [`Config::load_from`] takes it. Variables whose name or
/// value is not UTF-8 are left out, as if unset.
pub fn process_env() -> impl Iterator<Item = (String, String)> {
    std::env::vars_os().filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
}

impl Config {
    /// Resolves the configuration from `args`, the process environment and the config file.
    pub fn load(args: &ServeArgs) -> Result<Config, ConfigError> {
        Config::load_from(args, process_env())
    }

    /// Resolves the configuration with `env` standing for the environment (tests pass a list).
    /// An empty variable counts as unset.
    pub fn load_from(args: &ServeArgs, env: impl IntoIterator<Item = (String, String)>) -> Result<Config, ConfigError> {
        load(args, env)
    }

    /// Checks the rules that involve more than one setting, and every declared range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        validate(self)
    }
}

fn load(args: &ServeArgs, env: impl IntoIterator<Item = (String, String)>) -> Result<Config, ConfigError> {
    let env: Vec<(String, String)> = env.into_iter().collect();
    let var = |name: &str| env.iter().rev().find(|(k, v)| k == name && !v.is_empty()).map(|(_, v)| v.clone());
    let (figment, warnings) = layered(args, env.iter().cloned())?;
    let mut config = Config {
        server: extract(&figment, None)?,
        backend: extract(&figment, None)?,
        auth: extract(&figment, Some("auth"))?,
        limits: extract(&figment, Some("limits"))?,
        timeouts: extract(&figment, Some("timeouts"))?,
        observability: extract(&figment, Some("observability"))?,
        redis: extract(&figment, Some("redis"))?,
        rails: extract(&figment, Some("rails"))?,
        generated: Vec::new(),
        jwt_key_source: JwtKeySource::Configured,
        warnings,
    };
    if config.auth.algorithm.is_asymmetric() {
        config.jwt_key_source = JwtKeySource::KeyFiles;
    } else if args.keys.jwt_secret.is_some() {
        config.jwt_key_source = JwtKeySource::Flag;
    } else if var("CABLEWAY_JWT_SECRET").is_some() {
        config.jwt_key_source = JwtKeySource::Environment;
    }
    config.auth.read_key_files()?;
    config.redis.read_ca_file()?;
    if config.server.dev {
        if !config.auth.algorithm.is_asymmetric() && config.auth.secret.is_none() {
            // Kept across restarts where there is a cache directory: a page's token stays good.
            match dev_key::dev_key_path(var) {
                Some(path) => {
                    let (key, created) = dev_key::load_or_create(&path, || random_secret("CABLEWAY_JWT_SECRET"))?;
                    config.auth.secret = Some(key);
                    config.jwt_key_source = if created { JwtKeySource::NewDevKeyFile(path) } else { JwtKeySource::DevKeyFile(path) };
                }
                None => {
                    config.auth.secret = Some(random_secret("CABLEWAY_JWT_SECRET")?);
                    config.generated.push("CABLEWAY_JWT_SECRET");
                    config.jwt_key_source = JwtKeySource::Random;
                }
            }
        }
        if config.server.publisher_key.is_empty() {
            config.server.publisher_key = random_secret("CABLEWAY_PUBLISHER_KEY")?;
            config.generated.push("CABLEWAY_PUBLISHER_KEY");
        }
    }
    validate(&config)?;
    Ok(config)
}

/// Resolves only the `[auth]` settings, for commands that need a key but not a server
/// (`cableway token`), with the warnings about unknown variables. No `--dev` here: a
/// generated secret would mint useless tokens.
pub fn load_auth(config: Option<&Path>, keys: &KeyArgs, env: impl IntoIterator<Item = (String, String)>) -> Result<(AuthConfig, Vec<String>), ConfigError> {
    #[derive(Serialize)]
    struct Flags<'a> {
        config: Option<&'a Path>,
        #[serde(flatten)]
        keys: &'a KeyArgs,
    }
    let (figment, warnings) = layered(&Flags { config, keys }, env)?;
    let mut auth: AuthConfig = extract(&figment, Some("auth"))?;
    auth.read_key_files()?;
    auth.validate(false)?;
    let values = serde_json::to_value(&auth).map_err(|e| ConfigError::invalid("auth", e.to_string()))?;
    check_ranges(&serde_json::json!({ "auth": values }))?;
    Ok((auth, warnings))
}

/// Defaults, then the file, then the environment, then the flags.
fn layered(flags: &impl Serialize, env: impl IntoIterator<Item = (String, String)>) -> Result<(Figment, Vec<String>), ConfigError> {
    let (env, warnings) = Layer::environment(env)?;
    let flags = Layer::flags(flags)?;
    // Only a flag or a variable names the file.
    let file = flags.get("config").or_else(|| env.get("config")).and_then(|v| v.as_str()).map(PathBuf::from);
    let mut figment = Figment::from(Serialized::defaults(Config::default()));
    if let Some(path) = file {
        figment = figment.merge(Layer::file(&path)?);
    }
    Ok((figment.merge(env).merge(flags), warnings))
}

/// One component, from the top level or from its table.
fn extract<T: DeserializeOwned>(figment: &Figment, table: Option<&str>) -> Result<T, ConfigError> {
    match table {
        None => figment.extract(),
        Some(table) => figment.focus(table).extract(),
    }
    .map_err(|e| layers::from_figment(e, table))
}

fn validate(config: &Config) -> Result<(), ConfigError> {
    let dev = config.server.dev;
    config.auth.validate(dev)?;
    let key = &config.server.publisher_key;
    if key.is_empty() {
        return Err(ConfigError::Missing {
            setting: "CABLEWAY_PUBLISHER_KEY",
            hint: format!("the publish endpoint needs a bearer key; set CABLEWAY_PUBLISHER_KEY ({SECRET_HINT}), or run with --dev"),
        });
    }
    if !dev && key.expose().len() < MIN_SECRET_BYTES {
        return Err(ConfigError::invalid("CABLEWAY_PUBLISHER_KEY", format!("too short ({} bytes); use at least {MIN_SECRET_BYTES}: {SECRET_HINT}", key.expose().len())));
    }
    config.backend.validate()?;
    config.redis.validate()?;
    config.rails.validate(config.redis.url().is_some())?;
    if let Err(e) = tracing_subscriber::EnvFilter::try_new(&config.server.log) {
        let label = registry::by_key("log").map_or_else(|| "log".to_owned(), registry::Setting::label);
        return Err(ConfigError::invalid(label, format!("not a log filter ({e}); expected e.g. info or info,cableway=debug")));
    }
    let values = serde_json::to_value(config).map_err(|e| ConfigError::invalid("configuration", e.to_string()))?;
    check_ranges(&values)
}

/// Every number against the range declared on its field; settings absent from `values` are
/// skipped.
fn check_ranges(values: &serde_json::Value) -> Result<(), ConfigError> {
    for setting in registry::settings() {
        let Some(value) = values.pointer(&format!("/{}", setting.key.replace('.', "/"))).and_then(serde_json::Value::as_u64) else { continue };
        if let Some(min) = setting.minimum.filter(|&min| value < min) {
            let reason = if min == 1 { "must be greater than 0".to_owned() } else { format!("must be at least {min}") };
            return Err(ConfigError::invalid(setting.label(), reason));
        }
        if let Some(max) = setting.maximum.filter(|&max| value > max) {
            return Err(ConfigError::invalid(setting.label(), format!("{value} is above the maximum of {max}")));
        }
    }
    Ok(())
}

/// 32 random bytes from the OS, hex-encoded.
fn random_secret(setting: &'static str) -> Result<Secret, ConfigError> {
    use rand::TryRngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.try_fill_bytes(&mut bytes).map_err(|e| ConfigError::Random { setting, reason: e.to_string() })?;
    Ok(Secret::new(bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()))
}
