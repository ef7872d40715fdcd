//! Server configuration: what `cableway serve` runs with, and where each setting comes from.
//!
//! A setting is a field of one component ([`ServerConfig`], [`BackendConfig`], [`AuthConfig`],
//! [`Limits`], [`Timeouts`], [`Observability`], [`RedisConfig`], [`RailsConfig`]), with its default in the component's `Default`
//! and its meaning in its doc comment. Its TOML key, environment variable and flag follow from the field (see
//! [`registry`], which lists them all); adding a setting is adding a field.
//!
//! [`Config::load`] layers them with figment, each layer over the one before:
//! defaults → the TOML file (`--config PATH` / `CABLEWAY_CONFIG`) → `CABLEWAY_*` variables →
//! flags. The environment is read once, there. An unknown key in the file is an error, and
//! an unknown `CABLEWAY_*` variable a warning, each naming the nearest setting: a misspelt
//! limit silently falling back to its default is worse than refusing to start.
//!
//! # Adding a setting
//!
//! 1. Add the field, with a one-line doc comment (the README's "meaning"), to its
//!    component, and its default to the component's `Default`. Durations carry their unit in
//!    the key (`#[serde(rename = "x_ms", with = "super::units::millis")]`, `#[schemars(with = "u64")]`);
//!    a lower bound is `#[schemars(range(min = 1))]`.
//! 2. If it wants a flag, add a field to [`ServeArgs`] named after the variable without
//!    `CABLEWAY_`.
//! 3. Run `UPDATE_GOLDEN=1 cargo test -p cableway-tests --test config` to add its README row.
//!
//! A new table is a new component: a struct like [`Limits`], a field of [`Config`] and one
//! `extract` line in `load.rs`; its variables are `CABLEWAY_<TABLE>_<KEY>`.
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
//! [auth]                          # variables CABLEWAY_JWT_<KEY>
//! algorithm = "RS256"             # HS256 | RS256 | ES256
//! secret = "…"                    # HS256 only; prefer CABLEWAY_JWT_SECRET
//! public_key_file = "keys/jwt.pub.pem"    # relative to this file
//! private_key_file = "keys/jwt.pem"       # optional: only `cableway token` signs
//! leeway_seconds = 30
//! max_lifetime_seconds = 86400
//! issuer = "https://app.example.com"      # when set, tokens must carry this `iss`
//! audience = "cable"                      # when set, tokens must carry this `aud`
//!
//! [limits]                        # variables CABLEWAY_<KEY>
//! max_inbound_message_bytes = 65536
//!
//! [timeouts]                      # variables CABLEWAY_<KEY>
//! ping_interval_ms = 3000
//!
//! [observability]                 # variables CABLEWAY_<KEY>
//! metrics_bind = "10.0.0.5:9464"  # GET /metrics, no key: a private interface
//! debug_page = false              # --dev always serves it
//! log_format = "json"             # or "text"
//! [redis]                         # variables CABLEWAY_REDIS_<KEY>; unset url: one node
//! url = "redis://:password@redis:6379/0"  # prefer CABLEWAY_REDIS_URL (it holds the password)
//! key_prefix = "cableway"
//! [rails]                         # variables CABLEWAY_RAILS_<KEY>; needs [redis] url
//! broadcasts = true               # take ActionCable.server.broadcast from Redis
//! channel_prefix = "app_production"       # config/cable.yml's channel_prefix
//! ```

mod args;
mod auth;
mod backend;
mod components;
mod dev_key;
mod error;
mod layers;
mod limits;
mod load;
mod observability;
mod rails;
mod redis;
pub mod registry;
mod secret;
mod server;
mod timeouts;
mod units;

pub use args::{KeyArgs, ServeArgs};
pub use auth::{AuthConfig, JwtAlgorithm, MAX_LEEWAY_SECONDS, MIN_SECRET_BYTES};
pub use backend::{BackendConfig, ResolverKind};
pub use components::Config;
pub use dev_key::JwtKeySource;
pub use error::ConfigError;
pub use limits::Limits;
pub use load::{load_auth, process_env};
pub use observability::{LogFormat, Observability};
pub use rails::RailsConfig;
pub use redis::RedisConfig;
pub use secret::Secret;
pub use server::ServerConfig;
pub use timeouts::Timeouts;

#[cfg(test)]
mod tests;
