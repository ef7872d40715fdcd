//! `[redis]`: the engine for several nodes. Unset `url` means the embedded engine (one
//! node, nothing installed); set, every node of the deployment shares history, sessions and
//! ownership through that Redis and fans out through its pub/sub.
//! Environment variables: `CABLEWAY_REDIS_<KEY>`.

use std::path::PathBuf;
use std::time::Duration;

use figment::value::magic::RelativePathBuf;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::error::ConfigError;
use super::secret::Secret;

/// The Redis engine's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct RedisConfig {
    /// Redis to share state and fan out through (`redis://[:password@]host[:port][/db]`, `rediss://` for TLS); unset: the embedded single-node engine.
    pub url: Option<Secret>,
    /// PEM file of the CA that signs Redis' certificate (`rediss://`), instead of the system's roots (in the file: relative to it).
    #[schemars(with = "Option<PathBuf>")]
    pub tls_ca_file: Option<RelativePathBuf>,
    /// The CA, PEM text read from `tls_ca_file` when the configuration loads.
    #[serde(skip)]
    pub tls_ca_pem: Option<Vec<u8>>,
    /// Prefix of every Redis key and channel, so that several deployments can share one Redis.
    pub key_prefix: String,
    /// Budget of one Redis call; past it the call counts as failed (a publish answers 503).
    #[serde(rename = "call_timeout_ms", with = "super::units::millis")]
    #[schemars(with = "u64", range(min = 1))]
    pub call_timeout: Duration,
    /// How often each subscribed stream's position in Redis is compared with what this node delivered, to catch a silent pub/sub connection.
    #[serde(rename = "position_check_interval_ms", with = "super::units::millis")]
    #[schemars(with = "u64", range(min = 1))]
    pub position_check_interval: Duration,
    /// How long a stream's epoch and offset outlive its last publication, so that offsets continue after its history expired.
    #[serde(rename = "meta_ttl_seconds", with = "super::units::seconds")]
    #[schemars(with = "u64", range(min = 1))]
    pub meta_ttl: Duration,
    /// How long a subscribe waits for an unreachable Redis before it is rejected as `unavailable` (clients such as `@rails/actioncable` do not retry a rejected subscription).
    #[serde(rename = "subscribe_wait_ms", with = "super::units::millis")]
    #[schemars(with = "u64")]
    pub subscribe_wait: Duration,
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            url: None,
            tls_ca_file: None,
            tls_ca_pem: None,
            key_prefix: "cableway".to_owned(),
            call_timeout: Duration::from_millis(2_000),
            position_check_interval: Duration::from_millis(5_000),
            meta_ttl: Duration::from_secs(86_400),
            subscribe_wait: Duration::from_millis(30_000),
        }
    }
}

impl RedisConfig {
    /// The URL when it is set to something (an empty value counts as unset).
    pub fn url(&self) -> Option<&Secret> {
        self.url.as_ref().filter(|u| !u.is_empty())
    }

    /// Reads `tls_ca_file` into `tls_ca_pem`.
    pub(crate) fn read_ca_file(&mut self) -> Result<(), ConfigError> {
        if let Some(path) = &self.tls_ca_file {
            let path = path.relative();
            let pem = std::fs::read(&path).map_err(|source| ConfigError::ReadKeyFile { setting: "CABLEWAY_REDIS_TLS_CA_FILE", path, source })?;
            self.tls_ca_pem = Some(pem);
        }
        Ok(())
    }

    /// The URL must be one the Redis client can use; the prefix must be a plain word.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let setting = "CABLEWAY_REDIS_URL";
        if let Some(url) = self.url() {
            let text = url.expose();
            let scheme = text.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
            if !matches!(scheme.as_deref(), Some("redis" | "rediss")) {
                return Err(ConfigError::invalid(setting, "the scheme must be redis:// or rediss:// (TLS), e.g. redis://:password@redis:6379/0"));
            }
            // The client's own parser decides; its message may quote the URL, so it is not shown.
            if redis::Client::open(text).is_err() {
                return Err(ConfigError::invalid(setting, "not a usable Redis URL; expected redis://[user][:password@]host[:port][/db] or rediss://..."));
            }
        }
        if self.key_prefix.is_empty() || !self.key_prefix.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b)) {
            return Err(ConfigError::invalid("redis.key_prefix (CABLEWAY_REDIS_KEY_PREFIX)", "must be a non-empty word of letters, digits, `_`, `-` or `.`"));
        }
        Ok(())
    }

    /// The URL with its password replaced, for logs.
    pub fn redacted_url(&self) -> Option<String> {
        let text = self.url()?.expose();
        let Some((scheme, rest)) = text.split_once("://") else { return Some("<invalid>".to_owned()) };
        Some(match rest.rsplit_once('@') {
            Some((credentials, host)) => {
                let user = credentials.split_once(':').map_or(credentials, |(u, _)| u);
                format!("{scheme}://{user}:[redacted]@{host}")
            }
            None => text.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_url(url: &str) -> RedisConfig {
        RedisConfig { url: Some(Secret::new(url)), ..RedisConfig::default() }
    }

    #[test]
    fn urls_are_checked_and_never_shown_with_their_password() {
        for good in ["redis://127.0.0.1:6379", "redis://:pw@localhost/2", "rediss://user:pw@redis.example:6380/0", "redis://localhost"] {
            assert!(with_url(good).validate().is_ok(), "{good}");
        }
        for bad in ["http://localhost", "localhost:6379", "redis://:pw@localhost/notadb"] {
            let err = with_url(bad).validate().expect_err(bad).to_string();
            assert!(err.contains("CABLEWAY_REDIS_URL") && !err.contains("pw@"), "{err}");
        }
        assert_eq!(with_url("redis://:hunter2@h:1/2").redacted_url().as_deref(), Some("redis://:[redacted]@h:1/2"));
        assert_eq!(with_url("rediss://u:hunter2@h").redacted_url().as_deref(), Some("rediss://u:[redacted]@h"));
        assert_eq!(with_url("redis://h:1").redacted_url().as_deref(), Some("redis://h:1"));
        assert!(RedisConfig { url: Some(Secret::new("")), ..RedisConfig::default() }.url().is_none());
        let prefix = RedisConfig { key_prefix: "a b".into(), ..RedisConfig::default() };
        assert!(prefix.validate().is_err());
    }
}
