//! [`Config`]: every component, as `cableway serve` runs with them.

use std::net::SocketAddr;

use schemars::JsonSchema;
use serde::Serialize;

use super::auth::AuthConfig;
use super::backend::BackendConfig;
use super::dev_key::JwtKeySource;
use super::limits::Limits;
use super::observability::Observability;
use super::rails::RailsConfig;
use super::redis::RedisConfig;
use super::secret::Secret;
use super::server::ServerConfig;
use super::timeouts::Timeouts;

/// Everything `cableway serve` runs with, validated.
///
/// The top-level keys of the TOML file are the fields of [`ServerConfig`] and
/// [`BackendConfig`]; each other component is a table.
#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
pub struct Config {
    /// Listen address, keys, origins, runtime, logs.
    #[serde(flatten)]
    pub server: ServerConfig,
    /// The application backend and the resolver.
    #[serde(flatten)]
    pub backend: BackendConfig,
    /// `[auth]`: JWT verification.
    pub auth: AuthConfig,
    /// `[limits]`.
    pub limits: Limits,
    /// `[timeouts]`.
    pub timeouts: Timeouts,
    /// `[observability]`: metrics listener, debug page, log format.
    pub observability: Observability,
    /// `[redis]`: the engine for several nodes.
    pub redis: RedisConfig,
    /// `[rails]`: broadcasts of an unchanged Rails app, from Redis.
    pub rails: RailsConfig,
    /// Variables whose values `--dev` generated at random (say so at startup, without the
    /// values).
    #[serde(skip)]
    pub generated: Vec<&'static str>,
    /// Where the JWT key comes from (the dev banner says it).
    #[serde(skip)]
    pub jwt_key_source: JwtKeySource,
    /// What to warn about at startup: `CABLEWAY_*` variables that are no setting.
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// Loading and checking are in `load.rs`.
impl Config {
    /// A valid HS256 configuration with fixed, public secrets ([`Config::TEST_JWT_SECRET`],
    /// [`Config::TEST_PUBLISHER_KEY`]), port 0, and every other setting at its default. For
    /// tests only.
    pub fn for_tests() -> Config {
        Config {
            server: ServerConfig { bind: SocketAddr::from(([127, 0, 0, 1], 0)), publisher_key: Secret::new(Config::TEST_PUBLISHER_KEY), ..ServerConfig::default() },
            auth: AuthConfig { secret: Some(Secret::new(Config::TEST_JWT_SECRET)), ..AuthConfig::default() },
            ..Config::default()
        }
    }

    /// The HS256 secret of [`Config::for_tests`].
    pub const TEST_JWT_SECRET: &'static str = "cableway-test-jwt-secret-0123456789abcdef";
    /// The publisher key of [`Config::for_tests`].
    pub const TEST_PUBLISHER_KEY: &'static str = "cableway-test-publisher-key-0123456789abcdef";

    /// Whether a WebSocket upgrade with this `Origin` header may proceed
    /// ([`ServerConfig::origin_allowed`]).
    pub fn origin_allowed(&self, origin: Option<&str>) -> bool {
        self.server.origin_allowed(origin)
    }
}
