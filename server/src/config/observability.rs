//! `[observability]`: the metrics listener, the debug page and the log format. Environment
//! variables: `CABLEWAY_<KEY>` (no table prefix).
//!
//! `/metrics` has a listener of its own, without any key, rather than a route behind the
//! publisher key: a scraper then holds no credential that can publish, the metrics port
//! can stay on a private interface (or be firewalled) while the public one serves clients,
//! and Prometheus needs no `authorization` block. Unset, nothing listens.

use std::net::SocketAddr;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

/// What operators see.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
#[schemars(extend("x-env-prefix" = "CABLEWAY_"))]
pub struct Observability {
    /// Address of the Prometheus `/metrics` listener (no key: keep it on a private interface); unset: no metrics listener.
    #[serde(deserialize_with = "optional_socket_addr")]
    pub metrics_bind: Option<SocketAddr>,
    /// Serve the debug page at `/` outside `--dev` too (its data then needs the publisher key); `--dev` always serves it.
    pub debug_page: bool,
    /// Log format: `text`, or `json` (one object per line; a connection's lines carry its id and principal).
    pub log_format: LogFormat,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Any case (`JSON`).
impl<'de> Deserialize<'de> for LogFormat {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        match s.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err(serde::de::Error::custom(format!("expected text or json, got {s:?}"))),
        }
    }
}

fn optional_socket_addr<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<SocketAddr>, D::Error> {
    let Some(s) = Option::<String>::deserialize(deserializer)? else { return Ok(None) };
    s.trim().parse().map(Some).map_err(|_| serde::de::Error::custom(format!("expected an address like 127.0.0.1:9090 or [::]:9090, got {s:?}")))
}

#[cfg(test)]
mod tests {
    use super::super::tests::{env_of, minimal_env};
    use super::super::{Config, ServeArgs};
    use super::*;

    #[test]
    fn settings_come_from_variables_and_flags() {
        let mut env = minimal_env();
        env.extend([("CABLEWAY_METRICS_BIND", "127.0.0.1:9464"), ("CABLEWAY_LOG_FORMAT", "JSON"), ("CABLEWAY_DEBUG_PAGE", "yes")]);
        let c = Config::load_from(&ServeArgs::default(), env_of(&env)).expect("valid");
        assert_eq!(c.observability, Observability { metrics_bind: Some(SocketAddr::from(([127, 0, 0, 1], 9464))), debug_page: true, log_format: LogFormat::Json });
        let flags = ServeArgs { metrics_bind: Some(SocketAddr::from(([127, 0, 0, 1], 0))), ..ServeArgs::default() };
        let c = Config::load_from(&flags, env_of(&minimal_env())).expect("valid");
        assert_eq!((c.observability.metrics_bind.map(|a| a.port()), c.observability.debug_page, c.observability.log_format), (Some(0), false, LogFormat::Text));
        let mut bad = minimal_env();
        bad.push(("CABLEWAY_LOG_FORMAT", "yaml"));
        let err = Config::load_from(&ServeArgs::default(), env_of(&bad)).expect_err("not a format");
        assert!(err.to_string().contains("CABLEWAY_LOG_FORMAT") && err.to_string().contains("text or json"), "{err}");
        let mut bad = minimal_env();
        bad.push(("CABLEWAY_METRICS_BIND", "localhost"));
        let err = Config::load_from(&ServeArgs::default(), env_of(&bad)).expect_err("not an address");
        assert!(err.to_string().contains("CABLEWAY_METRICS_BIND"), "{err}");
    }
}
