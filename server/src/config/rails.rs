//! `[rails]`: taking the broadcasts of an unchanged Rails app. With `broadcasts` on (and the
//! Redis engine), every node listens where Rails' ActionCable Redis adapter publishes
//! (`<channel_prefix>:<stream>`) and on AnyCable's broadcast channel, and ingests each
//! broadcast once (see `engine::redis::ingest`). Environment variables: `CABLEWAY_RAILS_<KEY>`.
//! Every node of a deployment must have the same `[rails]` settings.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::error::ConfigError;

/// Where Rails (or anycable-rails) publishes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct RailsConfig {
    /// Take Rails' `ActionCable.server.broadcast` (Redis adapter) and AnyCable's Redis broadcasts from Redis, validated like `POST /broadcast`; needs `redis.url`.
    pub broadcasts: bool,
    /// The `channel_prefix` of Rails' `config/cable.yml` (Rails publishes on `<channel_prefix>:<stream>`); unset: Rails has none.
    pub channel_prefix: Option<String>,
    /// The Redis channel anycable-rails' Redis broadcaster publishes `{stream, data}` on (its `redis_channel`); empty: not listened to.
    pub anycable_channel: String,
}

impl Default for RailsConfig {
    fn default() -> Self {
        RailsConfig { broadcasts: false, channel_prefix: None, anycable_channel: "__anycable__".to_owned() }
    }
}

impl RailsConfig {
    /// The prefix when there is one (an empty value counts as none, as Rails' `nil`).
    pub fn prefix(&self) -> Option<&str> {
        self.channel_prefix.as_deref().filter(|p| !p.is_empty())
    }

    /// AnyCable's channel, when it is listened to.
    pub fn anycable(&self) -> Option<&str> {
        Some(self.anycable_channel.as_str()).filter(|c| !c.is_empty())
    }

    /// Broadcasts come through Redis, so they need the Redis engine; names are used in
    /// `PSUBSCRIBE` patterns, so they may not hold a pattern character.
    pub(crate) fn validate(&self, redis: bool) -> Result<(), ConfigError> {
        if self.broadcasts && !redis {
            return Err(ConfigError::Missing {
                setting: "CABLEWAY_REDIS_URL",
                hint: "rails.broadcasts (CABLEWAY_RAILS_BROADCASTS) reads Rails' broadcasts from Redis: set CABLEWAY_REDIS_URL to the Redis of Rails' cable.yml".to_owned(),
            });
        }
        let plain = |s: &str| !s.chars().any(|c| matches!(c, '*' | '?' | '[' | ']' | '\\') || c.is_whitespace() || c.is_control());
        if !self.prefix().is_none_or(plain) {
            return Err(ConfigError::invalid("rails.channel_prefix (CABLEWAY_RAILS_CHANNEL_PREFIX)", "may not hold `*`, `?`, `[`, `]`, `\\` or spaces"));
        }
        if !plain(&self.anycable_channel) {
            return Err(ConfigError::invalid("rails.anycable_channel (CABLEWAY_RAILS_ANYCABLE_CHANNEL)", "may not hold `*`, `?`, `[`, `]`, `\\` or spaces"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{env_of, minimal_env};
    use super::super::{Config, ServeArgs};
    use super::*;

    #[test]
    fn broadcasts_need_redis_and_plain_names() {
        let mut env = minimal_env();
        env.extend([("CABLEWAY_RAILS_BROADCASTS", "on"), ("CABLEWAY_RAILS_CHANNEL_PREFIX", "powernode_production")]);
        let err = Config::load_from(&ServeArgs::default(), env_of(&env)).expect_err("no redis");
        assert!(err.to_string().contains("CABLEWAY_REDIS_URL"), "{err}");
        env.push(("CABLEWAY_REDIS_URL", "redis://127.0.0.1:6379"));
        let c = Config::load_from(&ServeArgs::default(), env_of(&env)).expect("valid");
        assert!(c.rails.broadcasts);
        assert_eq!((c.rails.prefix(), c.rails.anycable()), (Some("powernode_production"), Some("__anycable__")));
        let mut bad = minimal_env();
        bad.extend([("CABLEWAY_RAILS_CHANNEL_PREFIX", "app*"), ("CABLEWAY_REDIS_URL", "redis://127.0.0.1:6379")]);
        let err = Config::load_from(&ServeArgs::default(), env_of(&bad)).expect_err("a pattern");
        assert!(err.to_string().contains("CABLEWAY_RAILS_CHANNEL_PREFIX"), "{err}");
        let off = Config::load_from(&ServeArgs::default(), env_of(&minimal_env())).expect("valid");
        assert_eq!(off.rails, RailsConfig::default());
        assert_eq!(RailsConfig { channel_prefix: Some(String::new()), ..RailsConfig::default() }.prefix(), None);
    }
}
