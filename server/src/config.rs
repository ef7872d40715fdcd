//! Server configuration: what `cableway serve` runs with, and where each setting comes from.
//!
//! Every setting is resolved in one order: command-line flag, then environment variable
//! `CABLEWAY_*`, then the TOML file (`--config PATH` / `CABLEWAY_CONFIG`), then the default.
//! [`Config::load`] reads the real environment; [`Config::load_from`] takes the environment
//! as a function so tests can check precedence without mutating process-wide state.
//!
//! # The TOML file
//!
//! ```toml
//! bind = "0.0.0.0:3000"
//! publisher_key = "…"            # prefer CABLEWAY_PUBLISHER_KEY
//! origins = ["https://app.example.com"]
//! backend_url = "http://rails:3000"
//! resolver = "registry"           # or "http"
//!
//! [auth]
//! algorithm = "RS256"             # HS256 | RS256 | ES256
//! secret = "…"                    # HS256 only; prefer CABLEWAY_JWT_SECRET
//! public_key_file = "keys/jwt.pub.pem"    # relative to this file
//! private_key_file = "keys/jwt.pem"       # optional: only `cableway token` signs
//! leeway_seconds = 30
//! max_lifetime_seconds = 86400
//! issuer = "https://app.example.com"      # when set, tokens must carry this `iss`
//! audience = "cable"                      # when set, tokens must carry this `aud`
//!
//! [limits]
//! max_inbound_message_bytes = 65536
//! # … every limit field of [`Config`]
//!
//! [timeouts]
//! ping_interval_ms = 3000
//! # … every timeout field of [`Config`]
//! ```
//!
//! Unknown keys are errors: a misspelt limit silently falling back to its default is
//! worse than refusing to start.
//!
//! Every numeric setting of `[limits]`, `[timeouts]` and `[auth]` also has an environment
//! variable: `CABLEWAY_` + the key in upper case (`CABLEWAY_PING_INTERVAL_MS`), with the
//! `[auth]` ones prefixed `JWT_` (`CABLEWAY_JWT_LEEWAY_SECONDS`).

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;

use crate::channels;

/// Minimum length of an HS256 secret and of the publisher key outside `--dev`.
///
/// RFC 7518 §3.2: an HMAC key must be at least as long as the hash output (32 bytes for
/// SHA-256); the publisher key is a bearer credential and gets the same floor.
pub const MIN_SECRET_BYTES: usize = 32;

/// Largest accepted `auth.leeway_seconds`: clock skew beyond minutes is a broken clock, and a
/// large leeway quietly extends every token's life.
pub const MAX_LEEWAY_SECONDS: u64 = 300;

/// How to fix a missing or weak secret, quoted in errors.
const SECRET_HINT: &str = "generate one with `openssl rand -hex 32`";

// ---------------------------------------------------------------------------------------
// Secrets
// ---------------------------------------------------------------------------------------

/// A secret string (JWT secret, publisher key, private key PEM).
///
/// `Debug` prints `[redacted]`, so secrets cannot leak through `{:?}` of a config or of the
/// parsed command line; read the value with [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The secret value as bytes. Never log it.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// Compares with a presented credential in time that depends neither on where the two
    /// first differ nor on whether their lengths do: the SHA-256 digests, which always have
    /// the same length, are compared in constant time. So the publisher key cannot be
    /// guessed byte by byte, nor its length learned, from timings.
    pub fn matches(&self, candidate: &str) -> bool {
        use sha2::{Digest, Sha256};
        use subtle::ConstantTimeEq;
        Sha256::digest(self.0.as_bytes()).ct_eq(&Sha256::digest(candidate.as_bytes())).into()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

// ---------------------------------------------------------------------------------------
// Enums
// ---------------------------------------------------------------------------------------

/// The one JWT algorithm a server accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum JwtAlgorithm {
    /// HMAC-SHA256 with a shared secret.
    #[value(name = "HS256")]
    Hs256,
    /// RSASSA-PKCS1-v1_5 with SHA-256: verify with an RSA public key.
    #[value(name = "RS256")]
    Rs256,
    /// ECDSA P-256 with SHA-256: verify with an EC public key.
    #[value(name = "ES256")]
    Es256,
}

impl JwtAlgorithm {
    /// The JOSE name (`HS256`).
    pub const fn as_str(self) -> &'static str {
        match self {
            JwtAlgorithm::Hs256 => "HS256",
            JwtAlgorithm::Rs256 => "RS256",
            JwtAlgorithm::Es256 => "ES256",
        }
    }

    /// Parses a JOSE name, ignoring case.
    pub fn parse(s: &str) -> Option<Self> {
        [JwtAlgorithm::Hs256, JwtAlgorithm::Rs256, JwtAlgorithm::Es256].into_iter().find(|a| a.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// Whether verification uses a public key (and signing a private key) rather than a secret.
    pub const fn is_asymmetric(self) -> bool {
        !matches!(self, JwtAlgorithm::Hs256)
    }
}

impl fmt::Display for JwtAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How subscriptions are authorized and actions handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ResolverKind {
    /// The rules compiled from `schema/` (no backend call).
    Registry,
    /// Ask the backend at `backend_url`.
    Http,
}

impl ResolverKind {
    /// The configuration name (`registry`).
    pub const fn as_str(self) -> &'static str {
        match self {
            ResolverKind::Registry => "registry",
            ResolverKind::Http => "http",
        }
    }

    /// Parses a configuration name, ignoring case.
    pub fn parse(s: &str) -> Option<Self> {
        [ResolverKind::Registry, ResolverKind::Http].into_iter().find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/// Why the configuration cannot be used. Every message names the setting and how to fix it;
/// none contains a secret value.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file cannot be read.
    #[error("cannot read the config file {path} (from --config / CABLEWAY_CONFIG): {source}")]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The config file is not valid TOML, has an unknown key, or a value of the wrong type.
    #[error("invalid config file {path}: {message}")]
    ParseFile {
        /// The file.
        path: PathBuf,
        /// What is wrong, with line and column.
        message: String,
    },
    /// A key file cannot be read.
    #[error("cannot read {setting} {path}: {source}")]
    ReadKeyFile {
        /// The setting that names the file (`CABLEWAY_JWT_PUBLIC_KEY_FILE`).
        setting: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A required setting has no value.
    #[error("{setting} is required: {hint}")]
    Missing {
        /// The setting, as its environment variable.
        setting: &'static str,
        /// How to provide it.
        hint: String,
    },
    /// A setting has an unusable value.
    #[error("invalid {setting}: {reason}")]
    Invalid {
        /// The setting (`CABLEWAY_BIND`, `limits.ping_interval_ms in cableway.toml`, …).
        setting: String,
        /// What is wrong and what is accepted.
        reason: String,
    },
    /// A key is not usable for the configured algorithm.
    #[error("unusable key in {setting}: {reason}")]
    Key {
        /// The setting holding the key.
        setting: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The bundled claims schema does not compile (a build defect, not a user error).
    #[error("the bundled claims schema does not compile: {0}")]
    ClaimsSchema(String),
    /// `--dev` could not get random bytes for its generated secrets.
    #[error("cannot generate a random {setting} for --dev: {reason}")]
    Random {
        /// The setting being generated.
        setting: &'static str,
        /// The OS error.
        reason: String,
    },
}

impl ConfigError {
    fn invalid(setting: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError::Invalid { setting: setting.into(), reason: reason.into() }
    }
}

// ---------------------------------------------------------------------------------------
// Command-line arguments
// ---------------------------------------------------------------------------------------

/// Flags that say which key verifies (and may sign) tokens; shared by `serve` and `token`.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct KeyArgs {
    /// The one JWT algorithm accepted.
    #[arg(long, env = "CABLEWAY_JWT_ALGORITHM", value_enum, ignore_case = true)]
    pub jwt_algorithm: Option<JwtAlgorithm>,
    /// HS256 shared secret (at least 32 bytes). Prefer the environment variable: flags show
    /// up in process listings.
    #[arg(long, env = "CABLEWAY_JWT_SECRET", hide_env_values = true, value_name = "SECRET")]
    pub jwt_secret: Option<Secret>,
    /// PEM file with the RS256/ES256 public key that verifies tokens.
    #[arg(long, env = "CABLEWAY_JWT_PUBLIC_KEY_FILE", value_name = "PATH")]
    pub jwt_public_key_file: Option<PathBuf>,
    /// PEM file (PKCS#8) with the RS256/ES256 private key; only needed to mint tokens.
    #[arg(long, env = "CABLEWAY_JWT_PRIVATE_KEY_FILE", value_name = "PATH")]
    pub jwt_private_key_file: Option<PathBuf>,
    /// Required `iss` claim value.
    #[arg(long, env = "CABLEWAY_JWT_ISSUER", value_name = "ISS")]
    pub jwt_issuer: Option<String>,
    /// Required `aud` claim value.
    #[arg(long, env = "CABLEWAY_JWT_AUDIENCE", value_name = "AUD")]
    pub jwt_audience: Option<String>,
}

/// Flags of `cableway serve`. Each also reads the environment variable shown in `--help`;
/// settings without a flag come from `CABLEWAY_*` variables or the TOML file.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct ServeArgs {
    /// TOML config file.
    #[arg(long, env = "CABLEWAY_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:3000].
    #[arg(long, env = "CABLEWAY_BIND", value_name = "ADDR")]
    pub bind: Option<SocketAddr>,
    /// Development mode: generates missing secrets and allows any Origin when no allowlist
    /// is set. Never use in production.
    #[arg(long, env = "CABLEWAY_DEV", value_parser = clap::builder::BoolishValueParser::new())]
    pub dev: bool,
    /// JWT key settings.
    #[command(flatten)]
    pub keys: KeyArgs,
    /// Bearer key required by the publish endpoint (at least 32 bytes). Prefer the
    /// environment variable.
    #[arg(long, env = "CABLEWAY_PUBLISHER_KEY", hide_env_values = true, value_name = "KEY")]
    pub publisher_key: Option<Secret>,
    /// Allowed browser Origin, exactly `scheme://host[:port]` (repeatable; the environment
    /// variable takes a comma-separated list).
    #[arg(long = "origin", env = "CABLEWAY_ORIGINS", value_delimiter = ',', value_name = "ORIGIN")]
    pub origins: Vec<String>,
    /// Base URL of the application backend (http or https).
    #[arg(long, env = "CABLEWAY_BACKEND_URL", value_name = "URL")]
    pub backend_url: Option<String>,
    /// Who authorizes subscriptions [default: registry].
    #[arg(long, env = "CABLEWAY_RESOLVER", value_enum, ignore_case = true)]
    pub resolver: Option<ResolverKind>,
}

// ---------------------------------------------------------------------------------------
// The resolved configuration
// ---------------------------------------------------------------------------------------

/// JWT verification settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthConfig {
    /// The one accepted algorithm.
    pub algorithm: JwtAlgorithm,
    /// HS256 secret.
    pub secret: Option<Secret>,
    /// RS256/ES256 public key, PEM text (read from the key file).
    pub public_key_pem: Option<String>,
    /// RS256/ES256 private key, PEM text; only to mint tokens.
    pub private_key_pem: Option<Secret>,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`.
    pub leeway_seconds: u64,
    /// Longest accepted token life (`exp - iat`, or `exp - now` without `iat`).
    pub max_lifetime_seconds: u64,
    /// When set, `iss` is required and must equal it.
    pub issuer: Option<String>,
    /// When set, `aud` is required and must contain it.
    pub audience: Option<String>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            algorithm: JwtAlgorithm::Hs256,
            secret: None,
            public_key_pem: None,
            private_key_pem: None,
            leeway_seconds: 30,
            max_lifetime_seconds: 86_400,
            issuer: None,
            audience: None,
        }
    }
}

/// Everything `cableway serve` runs with, validated.
///
/// The numeric settings come from the TOML tables `[limits]` and `[timeouts]` (same key as
/// the field) or from `CABLEWAY_<FIELD>` in upper case (`CABLEWAY_PING_INTERVAL_MS`).
#[derive(Clone, Debug)]
pub struct Config {
    /// Listen address.
    pub bind: SocketAddr,
    /// Development mode.
    pub dev: bool,
    /// JWT verification.
    pub auth: AuthConfig,
    /// Bearer key of the publish endpoint; compare with [`Secret::matches`].
    pub publisher_key: Secret,
    /// Allowed browser origins, normalized (lower case, no default port); prefer
    /// [`Config::origin_allowed`] to reading this.
    pub origins: Vec<String>,
    /// Any Origin is accepted: `--dev` with an empty allowlist.
    pub allow_any_origin: bool,
    /// Application backend base URL.
    pub backend_url: Option<String>,
    /// Who authorizes subscriptions.
    pub resolver: ResolverKind,

    // [timeouts]
    /// How long a backend authorization answer is reused; 0 disables the cache.
    pub resolver_cache_ttl_ms: u64,
    /// Budget of one backend authorization call.
    pub resolver_timeout_ms: u64,
    /// Budget of one forwarded action.
    pub forward_timeout_ms: u64,
    /// Interval between `ping` frames.
    pub ping_interval_ms: u64,
    /// Budget of one socket write before the client counts as stalled.
    pub write_timeout_ms: u64,
    /// How long shutdown waits for connections to close after `server_restart`.
    pub drain_timeout_ms: u64,
    /// How long a disconnected session can be resumed (`?sid=`).
    pub session_ttl_seconds: u64,

    // [limits]
    /// Largest client frame accepted.
    pub max_inbound_message_bytes: usize,
    /// Bytes queued for one slow client before it is disconnected (`too_slow`).
    pub max_outbound_queue_bytes: usize,
    /// Subscriptions one connection may hold.
    pub max_subscriptions_per_connection: usize,
    /// Largest publish request body.
    pub max_publish_body_bytes: usize,
    /// Socket read buffer per connection.
    pub read_buffer_bytes: usize,
    /// `listen(2)` backlog.
    pub listen_backlog: u32,
    /// Sustained client commands per second per connection.
    pub commands_per_second: u32,
    /// Commands a connection may send in a burst above the sustained rate.
    pub command_burst: u32,

    /// Environment variables whose values `--dev` generated at random (say so at startup,
    /// without the values).
    pub generated: Vec<&'static str>,
}

impl Config {
    /// Resolves the configuration from `args`, the process environment and the config file.
    pub fn load(args: &ServeArgs) -> Result<Config, ConfigError> {
        Config::load_from(args, process_env)
    }

    /// Resolves the configuration with `env` standing for the environment (tests pass a map).
    /// An empty variable counts as unset, as clap does.
    pub fn load_from(args: &ServeArgs, env: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let env = |name: &str| env(name).filter(|v| !v.is_empty());
        let env: &dyn Fn(&str) -> Option<String> = &env;

        let dev = args.dev || env_parse(env, "CABLEWAY_DEV", parse_boolish)?.unwrap_or(false);
        let file_path = args.config.clone().or_else(|| env("CABLEWAY_CONFIG").map(PathBuf::from));
        let file = match &file_path {
            Some(path) => FileConfig::read(path)?,
            None => FileConfig::default(),
        };
        let fsetting = |key: &str| file_setting(file_path.as_deref(), key);

        let bind = match args.bind {
            Some(bind) => bind,
            None => match env_parse(env, "CABLEWAY_BIND", parse_socket_addr)? {
                Some(bind) => bind,
                None => match &file.bind {
                    Some(s) => parse_socket_addr(s).map_err(|r| ConfigError::invalid(fsetting("bind"), r))?,
                    None => SocketAddr::from(([127, 0, 0, 1], 3000)),
                },
            },
        };

        let mut generated = Vec::new();
        let mut auth = resolve_auth(&args.keys, &file.auth, file_path.as_deref(), env)?;
        if dev && !auth.algorithm.is_asymmetric() && auth.secret.is_none() {
            auth.secret = Some(Secret(random_hex("CABLEWAY_JWT_SECRET")?));
            generated.push("CABLEWAY_JWT_SECRET");
        }

        let publisher_key = match args.publisher_key.clone().or_else(|| env("CABLEWAY_PUBLISHER_KEY").map(Secret)).or_else(|| file.publisher_key.clone().map(Secret)) {
            Some(key) => key,
            None if dev => {
                generated.push("CABLEWAY_PUBLISHER_KEY");
                Secret(random_hex("CABLEWAY_PUBLISHER_KEY")?)
            }
            None => {
                return Err(ConfigError::Missing {
                    setting: "CABLEWAY_PUBLISHER_KEY",
                    hint: format!("the publish endpoint needs a bearer key; set CABLEWAY_PUBLISHER_KEY ({SECRET_HINT}), or run with --dev"),
                })
            }
        };

        let (origins, origins_setting) = if !args.origins.is_empty() {
            (args.origins.clone(), "--origin".to_owned())
        } else if let Some(list) = env("CABLEWAY_ORIGINS") {
            (list.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect(), "CABLEWAY_ORIGINS".to_owned())
        } else {
            (file.origins.clone().unwrap_or_default(), fsetting("origins"))
        };
        let origins = origins.iter().map(|o| normalize_origin(o).map_err(|r| ConfigError::invalid(origins_setting.clone(), r))).collect::<Result<Vec<_>, _>>()?;

        let backend_url = args.backend_url.clone().or_else(|| env("CABLEWAY_BACKEND_URL")).or_else(|| file.backend_url.clone());
        let resolver = match args.resolver {
            Some(r) => r,
            None => match env_parse(env, "CABLEWAY_RESOLVER", parse_resolver)? {
                Some(r) => r,
                None => match &file.resolver {
                    Some(s) => parse_resolver(s).map_err(|r| ConfigError::invalid(fsetting("resolver"), r))?,
                    None => ResolverKind::Registry,
                },
            },
        };

        // Numeric settings: CABLEWAY_<FIELD> over the file's [timeouts]/[limits] over the default.
        let d = Config::defaults();
        let (t, l) = (&file.timeouts, &file.limits);
        let config = Config {
            bind,
            dev,
            allow_any_origin: dev && origins.is_empty(),
            auth,
            publisher_key,
            origins,
            backend_url,
            resolver,
            resolver_cache_ttl_ms: number_setting(env, "resolver_cache_ttl_ms", t.resolver_cache_ttl_ms, d.resolver_cache_ttl_ms)?,
            resolver_timeout_ms: number_setting(env, "resolver_timeout_ms", t.resolver_timeout_ms, d.resolver_timeout_ms)?,
            forward_timeout_ms: number_setting(env, "forward_timeout_ms", t.forward_timeout_ms, d.forward_timeout_ms)?,
            ping_interval_ms: number_setting(env, "ping_interval_ms", t.ping_interval_ms, d.ping_interval_ms)?,
            write_timeout_ms: number_setting(env, "write_timeout_ms", t.write_timeout_ms, d.write_timeout_ms)?,
            drain_timeout_ms: number_setting(env, "drain_timeout_ms", t.drain_timeout_ms, d.drain_timeout_ms)?,
            session_ttl_seconds: number_setting(env, "session_ttl_seconds", t.session_ttl_seconds, d.session_ttl_seconds)?,
            max_inbound_message_bytes: number_setting(env, "max_inbound_message_bytes", l.max_inbound_message_bytes, d.max_inbound_message_bytes)?,
            max_outbound_queue_bytes: number_setting(env, "max_outbound_queue_bytes", l.max_outbound_queue_bytes, d.max_outbound_queue_bytes)?,
            max_subscriptions_per_connection: number_setting(env, "max_subscriptions_per_connection", l.max_subscriptions_per_connection, d.max_subscriptions_per_connection)?,
            max_publish_body_bytes: number_setting(env, "max_publish_body_bytes", l.max_publish_body_bytes, d.max_publish_body_bytes)?,
            read_buffer_bytes: number_setting(env, "read_buffer_bytes", l.read_buffer_bytes, d.read_buffer_bytes)?,
            listen_backlog: number_setting(env, "listen_backlog", l.listen_backlog, d.listen_backlog)?,
            commands_per_second: number_setting(env, "commands_per_second", l.commands_per_second, d.commands_per_second)?,
            command_burst: number_setting(env, "command_burst", l.command_burst, d.command_burst)?,
            generated,
        };
        config.validate()?;
        Ok(config)
    }

    /// Every default, with no keys (not valid on its own).
    fn defaults() -> Config {
        Config {
            bind: SocketAddr::from(([127, 0, 0, 1], 3000)),
            dev: false,
            auth: AuthConfig::default(),
            publisher_key: Secret::new(""),
            origins: Vec::new(),
            allow_any_origin: false,
            backend_url: None,
            resolver: ResolverKind::Registry,
            resolver_cache_ttl_ms: 30_000,
            resolver_timeout_ms: 2_000,
            forward_timeout_ms: 5_000,
            ping_interval_ms: 3_000,
            write_timeout_ms: 2_000,
            drain_timeout_ms: 30_000,
            session_ttl_seconds: 300,
            // The four protocol limits are declared in schema/cableway.yaml so clients and
            // server agree on them; the build turns them into these constants.
            max_inbound_message_bytes: channels::MAX_INBOUND_MESSAGE_BYTES as usize,
            max_outbound_queue_bytes: channels::MAX_OUTBOUND_QUEUE_BYTES as usize,
            max_subscriptions_per_connection: channels::MAX_SUBSCRIPTIONS_PER_CONNECTION as usize,
            max_publish_body_bytes: channels::MAX_PUBLISH_BODY_BYTES as usize,
            read_buffer_bytes: 8192,
            listen_backlog: 4096,
            commands_per_second: 50,
            command_burst: 100,
            generated: Vec::new(),
        }
    }

    /// A valid HS256 configuration with fixed, public secrets ([`Config::TEST_JWT_SECRET`],
    /// [`Config::TEST_PUBLISHER_KEY`]) and every other setting at its default. For tests only.
    pub fn for_tests() -> Config {
        Config {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            auth: AuthConfig { secret: Some(Secret::new(Config::TEST_JWT_SECRET)), ..AuthConfig::default() },
            publisher_key: Secret::new(Config::TEST_PUBLISHER_KEY),
            ..Config::defaults()
        }
    }

    /// The HS256 secret of [`Config::for_tests`].
    pub const TEST_JWT_SECRET: &'static str = "cableway-test-jwt-secret-0123456789abcdef";
    /// The publisher key of [`Config::for_tests`].
    pub const TEST_PUBLISHER_KEY: &'static str = "cableway-test-publisher-key-0123456789abcdef";

    /// [`Config::resolver_cache_ttl_ms`] as a `Duration`.
    pub fn resolver_cache_ttl(&self) -> Duration {
        Duration::from_millis(self.resolver_cache_ttl_ms)
    }
    /// [`Config::resolver_timeout_ms`] as a `Duration`.
    pub fn resolver_timeout(&self) -> Duration {
        Duration::from_millis(self.resolver_timeout_ms)
    }
    /// [`Config::forward_timeout_ms`] as a `Duration`.
    pub fn forward_timeout(&self) -> Duration {
        Duration::from_millis(self.forward_timeout_ms)
    }
    /// [`Config::ping_interval_ms`] as a `Duration`.
    pub fn ping_interval(&self) -> Duration {
        Duration::from_millis(self.ping_interval_ms)
    }
    /// [`Config::write_timeout_ms`] as a `Duration`.
    pub fn write_timeout(&self) -> Duration {
        Duration::from_millis(self.write_timeout_ms)
    }
    /// [`Config::drain_timeout_ms`] as a `Duration`.
    pub fn drain_timeout(&self) -> Duration {
        Duration::from_millis(self.drain_timeout_ms)
    }
    /// [`Config::session_ttl_seconds`] as a `Duration`.
    pub fn session_ttl(&self) -> Duration {
        Duration::from_secs(self.session_ttl_seconds)
    }

    /// Whether a WebSocket upgrade with this `Origin` header may proceed.
    ///
    /// No header: allowed, because cross-site WebSocket hijacking needs a browser and
    /// browsers always send `Origin`; non-browser clients can set any value anyway.
    /// Otherwise the origin must equal an allowlist entry (scheme and host ignore case, a
    /// default port is the same as none), or `--dev` runs with an empty allowlist.
    pub fn origin_allowed(&self, origin: Option<&str>) -> bool {
        let Some(origin) = origin else { return true };
        if self.allow_any_origin {
            return true;
        }
        match normalize_origin(origin) {
            Ok(origin) => self.origins.contains(&origin),
            Err(_) => false,
        }
    }

    /// Checks the rules that involve more than one setting, and the ranges.
    fn validate(&self) -> Result<(), ConfigError> {
        validate_auth(&self.auth, self.dev)?;
        if !self.dev && self.publisher_key.expose().len() < MIN_SECRET_BYTES {
            return Err(ConfigError::invalid(
                "CABLEWAY_PUBLISHER_KEY",
                format!("too short ({} bytes); use at least {MIN_SECRET_BYTES}: {SECRET_HINT}", self.publisher_key.expose().len()),
            ));
        }
        if let Some(url) = &self.backend_url {
            validate_backend_url(url)?;
        }
        if self.resolver == ResolverKind::Http && self.backend_url.is_none() {
            return Err(ConfigError::Missing {
                setting: "CABLEWAY_BACKEND_URL",
                hint: "resolver `http` asks the backend; set CABLEWAY_BACKEND_URL (or --backend-url, or backend_url in the config file), or use --resolver registry".to_owned(),
            });
        }
        for (name, value) in [
            ("max_inbound_message_bytes", self.max_inbound_message_bytes),
            ("max_outbound_queue_bytes", self.max_outbound_queue_bytes),
            ("max_subscriptions_per_connection", self.max_subscriptions_per_connection),
            ("max_publish_body_bytes", self.max_publish_body_bytes),
            ("read_buffer_bytes", self.read_buffer_bytes),
            ("listen_backlog", self.listen_backlog as usize),
            ("commands_per_second", self.commands_per_second as usize),
            ("command_burst", self.command_burst as usize),
        ] {
            if value == 0 {
                return Err(ConfigError::invalid(format!("limits.{name} ({})", env_var(name)), "must be greater than 0"));
            }
        }
        for (name, value) in [
            ("resolver_timeout_ms", self.resolver_timeout_ms),
            ("forward_timeout_ms", self.forward_timeout_ms),
            ("ping_interval_ms", self.ping_interval_ms),
            ("write_timeout_ms", self.write_timeout_ms),
            ("drain_timeout_ms", self.drain_timeout_ms),
            ("session_ttl_seconds", self.session_ttl_seconds),
        ] {
            if value == 0 {
                return Err(ConfigError::invalid(format!("timeouts.{name} ({})", env_var(name)), "must be greater than 0"));
            }
        }
        Ok(())
    }
}

/// Resolves only the `[auth]` settings, for commands that need a key but not a server
/// (`cableway token`). No `--dev` here: a generated secret would mint useless tokens.
pub fn load_auth(config: Option<&Path>, keys: &KeyArgs, env: impl Fn(&str) -> Option<String>) -> Result<AuthConfig, ConfigError> {
    let env = |name: &str| env(name).filter(|v| !v.is_empty());
    let env: &dyn Fn(&str) -> Option<String> = &env;
    let file_path = config.map(Path::to_path_buf).or_else(|| env("CABLEWAY_CONFIG").map(PathBuf::from));
    let file = match &file_path {
        Some(path) => FileConfig::read(path)?,
        None => FileConfig::default(),
    };
    let auth = resolve_auth(keys, &file.auth, file_path.as_deref(), env)?;
    validate_auth(&auth, false)?;
    Ok(auth)
}

/// The real process environment, as [`Config::load_from`] expects it.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

// ---------------------------------------------------------------------------------------
// Resolution helpers
// ---------------------------------------------------------------------------------------

fn resolve_auth(keys: &KeyArgs, file: &FileAuth, file_path: Option<&Path>, env: &dyn Fn(&str) -> Option<String>) -> Result<AuthConfig, ConfigError> {
    let fsetting = |key: &str| file_setting(file_path, &format!("auth.{key}"));
    let defaults = AuthConfig::default();

    let algorithm = match keys.jwt_algorithm {
        Some(a) => a,
        None => match env_parse(env, "CABLEWAY_JWT_ALGORITHM", parse_algorithm)? {
            Some(a) => a,
            None => match &file.algorithm {
                Some(s) => parse_algorithm(s).map_err(|r| ConfigError::invalid(fsetting("algorithm"), r))?,
                None => defaults.algorithm,
            },
        },
    };
    let secret = keys.jwt_secret.clone().or_else(|| env("CABLEWAY_JWT_SECRET").map(Secret)).or_else(|| file.secret.clone().map(Secret));

    // Key files named in the TOML file are relative to that file, so a config directory can
    // be moved as a whole; flag and environment paths are relative to the working directory.
    let base = file_path.and_then(Path::parent).unwrap_or(Path::new(""));
    let key_path = |flag: &Option<PathBuf>, var: &str, key: &Option<PathBuf>| -> Option<PathBuf> {
        flag.clone().or_else(|| env(var).map(PathBuf::from)).or_else(|| key.as_ref().map(|p| base.join(p)))
    };
    let public_key_pem = match key_path(&keys.jwt_public_key_file, "CABLEWAY_JWT_PUBLIC_KEY_FILE", &file.public_key_file) {
        Some(path) => Some(read_key_file("CABLEWAY_JWT_PUBLIC_KEY_FILE", &path)?),
        None => None,
    };
    let private_key_pem = match key_path(&keys.jwt_private_key_file, "CABLEWAY_JWT_PRIVATE_KEY_FILE", &file.private_key_file) {
        Some(path) => Some(Secret(read_key_file("CABLEWAY_JWT_PRIVATE_KEY_FILE", &path)?)),
        None => None,
    };

    let leeway_seconds = number_setting(env, "jwt_leeway_seconds", file.leeway_seconds, defaults.leeway_seconds)?;
    let max_lifetime_seconds = number_setting(env, "jwt_max_lifetime_seconds", file.max_lifetime_seconds, defaults.max_lifetime_seconds)?;
    let issuer = keys.jwt_issuer.clone().or_else(|| env("CABLEWAY_JWT_ISSUER")).or_else(|| file.issuer.clone());
    let audience = keys.jwt_audience.clone().or_else(|| env("CABLEWAY_JWT_AUDIENCE")).or_else(|| file.audience.clone());

    Ok(AuthConfig { algorithm, secret, public_key_pem, private_key_pem, leeway_seconds, max_lifetime_seconds, issuer, audience })
}

/// The auth rules: which key each algorithm needs, secret strength, ranges.
fn validate_auth(auth: &AuthConfig, dev: bool) -> Result<(), ConfigError> {
    match auth.algorithm {
        JwtAlgorithm::Hs256 => {
            let Some(secret) = &auth.secret else {
                return Err(ConfigError::Missing {
                    setting: "CABLEWAY_JWT_SECRET",
                    hint: format!("HS256 verifies tokens with a shared secret; set CABLEWAY_JWT_SECRET to the secret your application signs with ({SECRET_HINT}), or run with --dev"),
                });
            };
            if secret.expose().is_empty() || (!dev && secret.expose().len() < MIN_SECRET_BYTES) {
                return Err(ConfigError::invalid(
                    "CABLEWAY_JWT_SECRET",
                    format!("too short ({} bytes); HS256 needs at least {MIN_SECRET_BYTES} bytes: {SECRET_HINT}", secret.expose().len()),
                ));
            }
            if auth.public_key_pem.is_some() || auth.private_key_pem.is_some() {
                return Err(ConfigError::invalid(
                    "CABLEWAY_JWT_PUBLIC_KEY_FILE",
                    "a key file is set but the algorithm is HS256; set CABLEWAY_JWT_ALGORITHM to RS256 or ES256, or remove the key file",
                ));
            }
        }
        JwtAlgorithm::Rs256 | JwtAlgorithm::Es256 => {
            if auth.public_key_pem.is_none() {
                return Err(ConfigError::Missing {
                    setting: "CABLEWAY_JWT_PUBLIC_KEY_FILE",
                    hint: format!(
                        "{} verifies tokens with a public key; set CABLEWAY_JWT_PUBLIC_KEY_FILE to its PEM file{}",
                        auth.algorithm,
                        if dev { " (--dev can only generate HS256 secrets)" } else { "" }
                    ),
                });
            }
            // Refusing the combination keeps one key per server: a stray secret next to an RSA
            // key is how HS256/RS256 confusion gets configured.
            if auth.secret.is_some() {
                return Err(ConfigError::invalid(
                    "CABLEWAY_JWT_SECRET",
                    format!("a secret is set but the algorithm is {}; unset CABLEWAY_JWT_SECRET, or set CABLEWAY_JWT_ALGORITHM=HS256", auth.algorithm),
                ));
            }
        }
    }
    if auth.leeway_seconds > MAX_LEEWAY_SECONDS {
        return Err(ConfigError::invalid("CABLEWAY_JWT_LEEWAY_SECONDS (auth.leeway_seconds)", format!("{} is above the maximum of {MAX_LEEWAY_SECONDS}", auth.leeway_seconds)));
    }
    if auth.max_lifetime_seconds == 0 {
        return Err(ConfigError::invalid("CABLEWAY_JWT_MAX_LIFETIME_SECONDS (auth.max_lifetime_seconds)", "must be greater than 0"));
    }
    for (setting, value) in [("CABLEWAY_JWT_ISSUER (auth.issuer)", &auth.issuer), ("CABLEWAY_JWT_AUDIENCE (auth.audience)", &auth.audience)] {
        if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
            return Err(ConfigError::invalid(setting, "must not be blank; unset it instead"));
        }
    }
    Ok(())
}

/// A numeric setting without a flag: its environment variable over the file's value over the
/// default. (File values are already typed by serde, which reports bad ones with a line number.)
fn number_setting<T: FromStr>(env: &dyn Fn(&str) -> Option<String>, key: &str, file_value: Option<T>, default: T) -> Result<T, ConfigError> {
    let var = env_var(key);
    match env(&var) {
        Some(raw) => raw.trim().parse::<T>().map_err(|_| ConfigError::invalid(var, "expected a non-negative whole number")),
        None => Ok(file_value.unwrap_or(default)),
    }
}

/// The environment variable of a numeric setting: `CABLEWAY_PING_INTERVAL_MS`.
fn env_var(key: &str) -> String {
    format!("CABLEWAY_{}", key.to_ascii_uppercase())
}

/// Parses an environment variable if set; the error names the variable.
fn env_parse<T>(env: &dyn Fn(&str) -> Option<String>, var: &str, parse: impl Fn(&str) -> Result<T, String>) -> Result<Option<T>, ConfigError> {
    env(var).map(|raw| parse(&raw).map_err(|reason| ConfigError::invalid(var, reason))).transpose()
}

/// How a file key is named in errors: `limits.ping_interval_ms in /etc/cableway.toml`.
fn file_setting(file_path: Option<&Path>, key: &str) -> String {
    match file_path {
        Some(path) => format!("{key} in {}", path.display()),
        None => key.to_owned(),
    }
}

fn parse_socket_addr(s: &str) -> Result<SocketAddr, String> {
    s.trim().parse().map_err(|_| format!("expected an address like 127.0.0.1:3000 or [::]:3000, got {s:?}"))
}

fn parse_algorithm(s: &str) -> Result<JwtAlgorithm, String> {
    JwtAlgorithm::parse(s).ok_or_else(|| format!("expected HS256, RS256 or ES256, got {s:?}"))
}

fn parse_resolver(s: &str) -> Result<ResolverKind, String> {
    ResolverKind::parse(s).ok_or_else(|| format!("expected registry or http, got {s:?}"))
}

/// The values clap's `BoolishValueParser` accepts, so `CABLEWAY_DEV` means the same through
/// clap and through [`Config::load_from`].
fn parse_boolish(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" | "t" | "true" | "on" | "1" => Ok(true),
        "n" | "no" | "f" | "false" | "off" | "0" => Ok(false),
        _ => Err(format!("expected true or false, got {s:?}")),
    }
}

/// Normalizes an allowlist entry or an `Origin` header: `scheme://host[:port]`, http or https,
/// lower case, default port dropped (browsers never send `:443` for https).
fn normalize_origin(origin: &str) -> Result<String, String> {
    let bad = |why: &str| Err(format!("{origin:?} is not an origin: {why}; expected exactly scheme://host[:port], e.g. https://app.example.com"));
    let lower = origin.trim().to_ascii_lowercase();
    let Some((scheme, rest)) = lower.split_once("://") else { return bad("no scheme") };
    if scheme != "http" && scheme != "https" {
        return bad("the scheme must be http or https");
    }
    if rest.contains('*') {
        return bad("wildcards are not supported, list each origin");
    }
    if rest.is_empty() || rest.contains(['/', '?', '#', '@']) || rest.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("only a host and an optional port may follow the scheme (no path, no trailing slash)");
    }
    let (host, port) = match rest.rsplit_once(':') {
        // `[::1]` alone ends in `]`, so a colon inside brackets is not a port separator.
        Some((host, port)) if !port.contains(']') => (host, Some(port)),
        _ => (rest, None),
    };
    if host.is_empty() {
        return bad("the host is empty");
    }
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 && !p.starts_with('0') => Some(n),
            _ => return bad("the port must be a number from 1 to 65535"),
        },
    };
    let default_port = if scheme == "https" { 443 } else { 80 };
    Ok(match port {
        Some(p) if p != default_port => format!("{scheme}://{host}:{p}"),
        _ => format!("{scheme}://{host}"),
    })
}

fn validate_backend_url(url: &str) -> Result<(), ConfigError> {
    let setting = "CABLEWAY_BACKEND_URL";
    let parsed = reqwest::Url::parse(url).map_err(|e| ConfigError::invalid(setting, format!("not a URL ({e}); expected e.g. http://app:3000")))?;
    if parsed.scheme() != "http" && parsed.scheme() != "https" {
        return Err(ConfigError::invalid(setting, "the scheme must be http or https"));
    }
    if parsed.host_str().is_none() {
        return Err(ConfigError::invalid(setting, "the URL has no host"));
    }
    // Credentials in the URL would end up in logs and error messages.
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(ConfigError::invalid(setting, "must not contain credentials"));
    }
    Ok(())
}

fn read_key_file(setting: &'static str, path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::ReadKeyFile { setting, path: path.to_path_buf(), source })
}

/// 32 random bytes from the OS, hex-encoded.
fn random_hex(setting: &'static str) -> Result<String, ConfigError> {
    use rand::TryRngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.try_fill_bytes(&mut bytes).map_err(|e| ConfigError::Random { setting, reason: e.to_string() })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

// ---------------------------------------------------------------------------------------
// The TOML file
// ---------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    bind: Option<String>,
    publisher_key: Option<String>,
    origins: Option<Vec<String>>,
    backend_url: Option<String>,
    resolver: Option<String>,
    #[serde(default)]
    auth: FileAuth,
    #[serde(default)]
    limits: FileLimits,
    #[serde(default)]
    timeouts: FileTimeouts,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileAuth {
    algorithm: Option<String>,
    secret: Option<String>,
    public_key_file: Option<PathBuf>,
    private_key_file: Option<PathBuf>,
    leeway_seconds: Option<u64>,
    max_lifetime_seconds: Option<u64>,
    issuer: Option<String>,
    audience: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLimits {
    max_inbound_message_bytes: Option<usize>,
    max_outbound_queue_bytes: Option<usize>,
    max_subscriptions_per_connection: Option<usize>,
    max_publish_body_bytes: Option<usize>,
    read_buffer_bytes: Option<usize>,
    listen_backlog: Option<u32>,
    commands_per_second: Option<u32>,
    command_burst: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTimeouts {
    resolver_cache_ttl_ms: Option<u64>,
    resolver_timeout_ms: Option<u64>,
    forward_timeout_ms: Option<u64>,
    ping_interval_ms: Option<u64>,
    write_timeout_ms: Option<u64>,
    drain_timeout_ms: Option<u64>,
    session_ttl_seconds: Option<u64>,
}

impl FileConfig {
    fn read(path: &Path) -> Result<FileConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile { path: path.to_path_buf(), source })?;
        FileConfig::parse(&text).map_err(|message| ConfigError::ParseFile { path: path.to_path_buf(), message })
    }

    fn parse(text: &str) -> Result<FileConfig, String> {
        // toml's message names the unknown key, lists the accepted ones and shows the line.
        toml::from_str(text).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const SECRET_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const SECRET_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    const SECRET_C: &str = "cccccccccccccccccccccccccccccccccccccccc";

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k: &str| map.get(k).cloned()
    }

    /// A scratch directory unique to one test, removed on drop.
    struct TempDir(PathBuf);
    impl TempDir {
        fn new(name: &str) -> TempDir {
            let dir = std::env::temp_dir().join(format!("cableway-config-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("create temp dir");
            TempDir(dir)
        }
        fn write(&self, name: &str, text: &str) -> PathBuf {
            let path = self.0.join(name);
            std::fs::write(&path, text).expect("write temp file");
            path
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn minimal_env() -> Vec<(&'static str, &'static str)> {
        vec![("CABLEWAY_JWT_SECRET", SECRET_A), ("CABLEWAY_PUBLISHER_KEY", SECRET_B)]
    }

    #[test]
    fn defaults() {
        let c = Config::load_from(&ServeArgs::default(), env_of(&minimal_env())).expect("valid");
        assert_eq!(c.bind, "127.0.0.1:3000".parse().expect("addr"));
        assert!(!c.dev && !c.allow_any_origin && c.generated.is_empty());
        assert_eq!(c.auth.algorithm, JwtAlgorithm::Hs256);
        assert_eq!(c.auth.leeway_seconds, 30);
        assert_eq!(c.auth.max_lifetime_seconds, 86_400);
        assert_eq!(c.resolver, ResolverKind::Registry);
        assert_eq!(c.max_inbound_message_bytes, 65_536);
        assert_eq!(c.max_outbound_queue_bytes, 1_048_576);
        assert_eq!(c.max_subscriptions_per_connection, 128);
        assert_eq!(c.max_publish_body_bytes, 1_048_576);
        assert_eq!((c.read_buffer_bytes, c.listen_backlog), (8192, 4096));
        assert_eq!((c.commands_per_second, c.command_burst), (50, 100));
        assert_eq!((c.resolver_cache_ttl_ms, c.resolver_timeout_ms, c.forward_timeout_ms), (30_000, 2_000, 5_000));
        assert_eq!((c.ping_interval_ms, c.write_timeout_ms, c.drain_timeout_ms), (3_000, 2_000, 30_000));
        assert_eq!(c.ping_interval(), Duration::from_secs(3));
        assert_eq!(c.session_ttl_seconds, 300);
    }

    #[test]
    fn flag_beats_env_beats_file_beats_default() {
        let dir = TempDir::new("precedence");
        let path = dir.write(
            "c.toml",
            &format!(
                "bind = \"10.0.0.3:3003\"\npublisher_key = \"{SECRET_C}\"\norigins = [\"https://file.example\"]\nbackend_url = \"http://file:1\"\n\
                 [auth]\nsecret = \"{SECRET_C}\"\nleeway_seconds = 3\nissuer = \"file-iss\"\n[limits]\ncommand_burst = 3\nlisten_backlog = 33\n[timeouts]\nping_interval_ms = 3\ndrain_timeout_ms = 33\n"
            ),
        );
        let env = env_of(&[
            ("CABLEWAY_CONFIG", path.to_str().expect("utf-8 path")),
            ("CABLEWAY_BIND", "10.0.0.2:3002"),
            ("CABLEWAY_PUBLISHER_KEY", SECRET_B),
            ("CABLEWAY_ORIGINS", "https://env.example, https://env2.example"),
            ("CABLEWAY_JWT_SECRET", SECRET_B),
            ("CABLEWAY_JWT_LEEWAY_SECONDS", "2"),
            ("CABLEWAY_COMMAND_BURST", "2"),
            ("CABLEWAY_PING_INTERVAL_MS", "2"),
        ]);

        // No flags: env over file, file over default.
        let c = Config::load_from(&ServeArgs::default(), &env).expect("valid");
        assert_eq!(c.bind.port(), 3002);
        assert_eq!(c.publisher_key.expose(), SECRET_B);
        assert_eq!(c.origins, ["https://env.example", "https://env2.example"]);
        assert_eq!(c.backend_url.as_deref(), Some("http://file:1"));
        assert_eq!(c.auth.secret.as_ref().map(Secret::expose), Some(SECRET_B));
        assert_eq!(c.auth.leeway_seconds, 2);
        assert_eq!(c.auth.issuer.as_deref(), Some("file-iss"));
        assert_eq!(c.command_burst, 2);
        assert_eq!(c.listen_backlog, 33);
        assert_eq!(c.commands_per_second, 50);
        assert_eq!(c.ping_interval_ms, 2);
        assert_eq!(c.drain_timeout_ms, 33);

        // Flags over env.
        let args = ServeArgs {
            bind: Some("10.0.0.1:3001".parse().expect("addr")),
            publisher_key: Some(Secret::new(SECRET_A)),
            origins: vec!["https://flag.example".into()],
            backend_url: Some("https://flag:1".into()),
            resolver: Some(ResolverKind::Http),
            keys: KeyArgs { jwt_secret: Some(Secret::new(SECRET_A)), jwt_issuer: Some("flag-iss".into()), ..KeyArgs::default() },
            ..ServeArgs::default()
        };
        let c = Config::load_from(&args, &env).expect("valid");
        assert_eq!(c.bind.port(), 3001);
        assert_eq!(c.publisher_key.expose(), SECRET_A);
        assert_eq!(c.origins, ["https://flag.example"]);
        assert_eq!(c.backend_url.as_deref(), Some("https://flag:1"));
        assert_eq!(c.resolver, ResolverKind::Http);
        assert_eq!(c.auth.secret.as_ref().map(Secret::expose), Some(SECRET_A));
        assert_eq!(c.auth.issuer.as_deref(), Some("flag-iss"));

        // File over defaults, when env says nothing.
        let c = Config::load_from(&ServeArgs { config: Some(path.clone()), ..ServeArgs::default() }, env_of(&[])).expect("valid");
        assert_eq!(c.bind.port(), 3003);
        assert_eq!(c.publisher_key.expose(), SECRET_C);
        assert_eq!(c.origins, ["https://file.example"]);
        assert_eq!(c.auth.leeway_seconds, 3);
        assert_eq!(c.command_burst, 3);
        assert_eq!(c.ping_interval_ms, 3);
    }

    #[test]
    fn empty_env_counts_as_unset() {
        let mut env = minimal_env();
        env.push(("CABLEWAY_BIND", ""));
        let c = Config::load_from(&ServeArgs::default(), env_of(&env)).expect("valid");
        assert_eq!(c.bind.port(), 3000);
    }

    #[test]
    fn production_requires_keys_and_names_the_variable() {
        let err = Config::load_from(&ServeArgs::default(), env_of(&[("CABLEWAY_PUBLISHER_KEY", SECRET_B)])).expect_err("no secret");
        assert!(err.to_string().contains("CABLEWAY_JWT_SECRET"), "{err}");
        let err = Config::load_from(&ServeArgs::default(), env_of(&[("CABLEWAY_JWT_SECRET", SECRET_A)])).expect_err("no publisher key");
        assert!(err.to_string().contains("CABLEWAY_PUBLISHER_KEY"), "{err}");
        let err = Config::load_from(&ServeArgs::default(), env_of(&[("CABLEWAY_JWT_SECRET", "weakweak"), ("CABLEWAY_PUBLISHER_KEY", SECRET_B)])).expect_err("weak");
        assert!(err.to_string().contains("CABLEWAY_JWT_SECRET") && err.to_string().contains("too short"), "{err}");
        assert!(!err.to_string().contains("weakweak"), "the message must not echo the secret: {err}");
        let err = Config::load_from(&ServeArgs::default(), env_of(&[("CABLEWAY_JWT_SECRET", SECRET_A), ("CABLEWAY_PUBLISHER_KEY", "pk")])).expect_err("weak");
        assert!(err.to_string().contains("CABLEWAY_PUBLISHER_KEY"), "{err}");
        let err = Config::load_from(&ServeArgs::default(), env_of(&[("CABLEWAY_JWT_ALGORITHM", "rs256"), ("CABLEWAY_PUBLISHER_KEY", SECRET_B)])).expect_err("no key");
        assert!(err.to_string().contains("CABLEWAY_JWT_PUBLIC_KEY_FILE"), "{err}");
    }

    #[test]
    fn dev_generates_missing_secrets_and_allows_any_origin() {
        let args = ServeArgs { dev: true, ..ServeArgs::default() };
        let c = Config::load_from(&args, env_of(&[])).expect("valid");
        assert!(c.dev && c.allow_any_origin);
        assert_eq!(c.generated, ["CABLEWAY_JWT_SECRET", "CABLEWAY_PUBLISHER_KEY"]);
        let secret = c.auth.secret.as_ref().expect("generated").expose().to_owned();
        assert_eq!(secret.len(), 64);
        assert!(secret.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(secret, c.publisher_key.expose());
        assert!(c.origin_allowed(Some("https://anything.example")));
        // Supplied values are kept, and an allowlist still applies in dev.
        let c = Config::load_from(&ServeArgs { dev: true, origins: vec!["http://localhost:5173".into()], ..ServeArgs::default() }, env_of(&[("CABLEWAY_PUBLISHER_KEY", "dev-key")]))
            .expect("valid");
        assert_eq!(c.publisher_key.expose(), "dev-key");
        assert_eq!(c.generated, ["CABLEWAY_JWT_SECRET"]);
        assert!(!c.allow_any_origin);
        assert!(c.origin_allowed(Some("http://localhost:5173")));
        assert!(!c.origin_allowed(Some("http://localhost:5174")));
        // CABLEWAY_DEV works like the flag.
        assert!(Config::load_from(&ServeArgs::default(), env_of(&[("CABLEWAY_DEV", "1")])).expect("valid").dev);
        assert!(Config::load_from(&ServeArgs::default(), env_of(&[("CABLEWAY_DEV", "maybe")])).is_err());
    }

    #[test]
    fn origins_are_exact_and_normalized() {
        let mut c = Config::for_tests();
        c.origins = vec![normalize_origin("HTTPS://App.Example.com:443").expect("valid")];
        assert_eq!(c.origins, ["https://app.example.com"]);
        assert!(c.origin_allowed(None));
        assert!(c.origin_allowed(Some("https://app.example.com")));
        assert!(c.origin_allowed(Some("https://APP.example.com:443")));
        for o in ["http://app.example.com", "https://app.example.com:8443", "https://evil.app.example.com", "https://app.example.com.evil", "null", ""] {
            assert!(!c.origin_allowed(Some(o)), "{o}");
        }
        assert_eq!(normalize_origin("http://[::1]:8080").as_deref(), Ok("http://[::1]:8080"));
        assert_eq!(normalize_origin("http://[::1]").as_deref(), Ok("http://[::1]"));
        for bad in ["https://*.example.com", "https://app.example.com/", "app.example.com", "ftp://x", "https://x:0", "https://x:99999", "https://u@x"] {
            assert!(normalize_origin(bad).is_err(), "{bad}");
        }
        let mut env = minimal_env();
        env.push(("CABLEWAY_ORIGINS", "https://*.example.com"));
        let err = Config::load_from(&ServeArgs::default(), env_of(&env)).expect_err("wildcard");
        assert!(err.to_string().contains("CABLEWAY_ORIGINS") && err.to_string().contains("wildcards"), "{err}");
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
        ] {
            let path = dir.write("c.toml", text);
            let err = Config::load_from(&ServeArgs { config: Some(path.clone()), ..ServeArgs::default() }, env_of(&minimal_env())).expect_err(text);
            let msg = err.to_string();
            assert!(matches!(err, ConfigError::ParseFile { .. }) && msg.contains(needle) && msg.contains("c.toml"), "{msg}");
        }
        let err = Config::load_from(&ServeArgs { config: Some(dir.0.join("missing.toml")), ..ServeArgs::default() }, env_of(&minimal_env())).expect_err("missing");
        assert!(matches!(err, ConfigError::ReadFile { .. }), "{err}");
    }

    #[test]
    fn invalid_values_name_the_setting() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("CABLEWAY_BIND", "localhost")], "CABLEWAY_BIND"),
            (&[("CABLEWAY_RESOLVER", "grpc")], "CABLEWAY_RESOLVER"),
            (&[("CABLEWAY_RESOLVER", "http")], "CABLEWAY_BACKEND_URL"),
            (&[("CABLEWAY_BACKEND_URL", "ftp://x")], "CABLEWAY_BACKEND_URL"),
            (&[("CABLEWAY_BACKEND_URL", "http://user:pw@x")], "CABLEWAY_BACKEND_URL"),
            (&[("CABLEWAY_PING_INTERVAL_MS", "soon")], "CABLEWAY_PING_INTERVAL_MS"),
            (&[("CABLEWAY_PING_INTERVAL_MS", "0")], "timeouts.ping_interval_ms (CABLEWAY_PING_INTERVAL_MS)"),
            (&[("CABLEWAY_MAX_INBOUND_MESSAGE_BYTES", "0")], "limits.max_inbound_message_bytes"),
            (&[("CABLEWAY_JWT_LEEWAY_SECONDS", "3600")], "CABLEWAY_JWT_LEEWAY_SECONDS"),
            (&[("CABLEWAY_JWT_ALGORITHM", "none")], "CABLEWAY_JWT_ALGORITHM"),
            (&[("CABLEWAY_JWT_PUBLIC_KEY_FILE", "/nonexistent/key.pem")], "CABLEWAY_JWT_PUBLIC_KEY_FILE"),
        ];
        for (extra, needle) in cases {
            let mut env = minimal_env();
            env.extend_from_slice(extra);
            let err = Config::load_from(&ServeArgs::default(), env_of(&env)).expect_err(needle);
            assert!(err.to_string().contains(needle), "{needle}: {err}");
        }
        // Resolver http with a backend URL is fine; the cache TTL may be 0.
        let mut env = minimal_env();
        env.extend_from_slice(&[("CABLEWAY_RESOLVER", "HTTP"), ("CABLEWAY_BACKEND_URL", "http://rails:3000"), ("CABLEWAY_RESOLVER_CACHE_TTL_MS", "0")]);
        let c = Config::load_from(&ServeArgs::default(), env_of(&env)).expect("valid");
        assert_eq!((c.resolver, c.resolver_cache_ttl_ms), (ResolverKind::Http, 0));
    }

    #[test]
    fn asymmetric_keys_load_relative_to_the_file_and_refuse_a_stray_secret() {
        let dir = TempDir::new("keys");
        dir.write("pub.pem", include_str!("../tests/keys/rsa_public.pem"));
        let path = dir.write("c.toml", &format!("publisher_key = \"{SECRET_B}\"\n[auth]\nalgorithm = \"RS256\"\npublic_key_file = \"pub.pem\"\n"));
        let args = ServeArgs { config: Some(path), ..ServeArgs::default() };
        let c = Config::load_from(&args, env_of(&[])).expect("valid");
        assert_eq!(c.auth.algorithm, JwtAlgorithm::Rs256);
        assert!(c.auth.public_key_pem.as_deref().is_some_and(|p| p.contains("BEGIN PUBLIC KEY")));
        let err = Config::load_from(&args, env_of(&[("CABLEWAY_JWT_SECRET", SECRET_A)])).expect_err("stray secret");
        assert!(err.to_string().contains("CABLEWAY_JWT_SECRET"), "{err}");
    }

    #[test]
    fn secrets_do_not_leak_through_debug() {
        let env = minimal_env();
        let args = ServeArgs { keys: KeyArgs { jwt_secret: Some(Secret::new(SECRET_C)), ..KeyArgs::default() }, publisher_key: Some(Secret::new(SECRET_C)), ..ServeArgs::default() };
        let c = Config::load_from(&args, env_of(&env)).expect("valid");
        for text in [format!("{c:?}"), format!("{args:?}")] {
            assert!(!text.contains(SECRET_C), "{text}");
            assert!(text.contains("[redacted]"));
        }
    }

    #[test]
    fn secret_matches_exactly() {
        let s = Secret::new("abc");
        assert!(s.matches("abc"));
        assert!(!s.matches("abd") && !s.matches("ab") && !s.matches("abcd") && !s.matches(""));
    }

    #[test]
    fn clap_reads_flags_and_env_names() {
        use clap::Parser;
        #[derive(Debug, Parser)]
        struct Cli {
            #[command(flatten)]
            serve: ServeArgs,
        }
        let cli = Cli::try_parse_from(["cableway", "--bind", "0.0.0.0:4000", "--dev", "--jwt-algorithm", "es256", "--origin", "https://a.example", "--origin", "https://b.example", "--resolver", "http"])
            .expect("parses");
        assert_eq!(cli.serve.bind.map(|b| b.port()), Some(4000));
        assert!(cli.serve.dev);
        assert_eq!(cli.serve.keys.jwt_algorithm, Some(JwtAlgorithm::Es256));
        assert_eq!(cli.serve.origins.len(), 2);
        assert_eq!(cli.serve.resolver, Some(ResolverKind::Http));
        assert!(Cli::try_parse_from(["cableway", "--jwt-algorithm", "none"]).is_err());
    }

    #[test]
    fn for_tests_is_valid() {
        let c = Config::for_tests();
        c.validate().expect("valid");
        assert!(c.publisher_key.matches(Config::TEST_PUBLISHER_KEY));
    }
}
