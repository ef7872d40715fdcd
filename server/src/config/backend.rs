//! Top-level keys about the application backend: `backend_url`, and `resolver`, which says
//! whether subscriptions are authorized by the compiled rules or by asking that backend.

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use super::error::ConfigError;

/// The application backend.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct BackendConfig {
    /// Base URL of the application backend (http or https), for forwarded actions, on-subscribe fetches and the `http` resolver.
    #[serde(rename = "backend_url")]
    pub url: Option<String>,
    /// Who authorizes subscriptions: `registry` (the rules compiled from `schema/`) or `http` (ask the backend).
    pub resolver: ResolverKind,
}

impl BackendConfig {
    /// The URL must be http(s) with a host and no credentials; resolver `http` needs one.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if let Some(url) = &self.url {
            validate_url(url)?;
        }
        if self.resolver == ResolverKind::Http && self.url.is_none() {
            return Err(ConfigError::Missing {
                setting: "CABLEWAY_BACKEND_URL",
                hint: "resolver `http` asks the backend; set CABLEWAY_BACKEND_URL (or --backend-url, or backend_url in the config file), or use --resolver registry".to_owned(),
            });
        }
        Ok(())
    }
}

fn validate_url(url: &str) -> Result<(), ConfigError> {
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

/// How subscriptions are authorized and actions handled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, JsonSchema, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ResolverKind {
    /// The rules compiled from `schema/` (no backend call).
    #[default]
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

/// Any case, as the flag accepts (`HTTP`).
impl<'de> Deserialize<'de> for ResolverKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        ResolverKind::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("expected registry or http, got {s:?}")))
    }
}
