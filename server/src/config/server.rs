//! Top-level keys about the server itself: where it listens, who may connect and publish,
//! its runtime and its logs; plus `dev` and `config`, which only a flag or a variable sets.

use std::net::SocketAddr;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use super::secret::Secret;

/// The server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ServerConfig {
    /// Address to listen on.
    #[serde(deserialize_with = "socket_addr")]
    pub bind: SocketAddr,
    /// Bearer key of the publish endpoints (`POST /broadcast`, `POST /_broadcast`, `PUT /resources`), at least 32 bytes.
    pub publisher_key: Secret,
    /// Allowed browser Origins, each exactly `scheme://host[:port]` (the variable takes a comma-separated list); `--dev` with none allows any.
    #[serde(deserialize_with = "origins")]
    pub origins: Vec<String>,
    /// Tokio worker threads; unset: one per CPU core.
    #[schemars(range(min = 1))]
    pub worker_threads: Option<usize>,
    /// Log filter, in `tracing` `EnvFilter` syntax (`info,cableway=debug`); tokens are never logged, query strings are redacted.
    pub log: String,
    /// Development mode: generates missing secrets (the JWT key kept across restarts in `$XDG_CACHE_HOME/cableway/dev-key`, else `~/.cache/cableway/dev-key`) and allows any Origin when none is listed; never in production.
    #[schemars(extend("x-file" = false))]
    pub dev: bool,
    /// The TOML config file these settings are also read from.
    #[serde(rename = "config")]
    #[schemars(extend("x-file" = false))]
    pub config_file: Option<PathBuf>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 3000)),
            publisher_key: Secret::default(),
            origins: Vec::new(),
            worker_threads: None,
            log: "info".to_owned(),
            dev: false,
            config_file: None,
        }
    }
}

impl ServerConfig {
    /// Whether a WebSocket upgrade with this `Origin` header may proceed.
    ///
    /// No header: allowed, because cross-site WebSocket hijacking needs a browser and
    /// browsers always send `Origin`; non-browser clients can set any value anyway.
    /// Otherwise the origin must equal an allowlist entry (scheme and host ignore case, a
    /// default port is the same as none), or `--dev` runs with an empty allowlist.
    pub fn origin_allowed(&self, origin: Option<&str>) -> bool {
        let Some(origin) = origin else { return true };
        if self.allow_any_origin() {
            return true;
        }
        match normalize_origin(origin) {
            Ok(origin) => self.origins.contains(&origin),
            Err(_) => false,
        }
    }

    /// Any Origin is accepted: `--dev` with an empty allowlist.
    pub fn allow_any_origin(&self) -> bool {
        self.dev && self.origins.is_empty()
    }
}

fn socket_addr<'de, D: Deserializer<'de>>(deserializer: D) -> Result<SocketAddr, D::Error> {
    let s = String::deserialize(deserializer)?;
    s.trim().parse().map_err(|_| serde::de::Error::custom(format!("expected an address like 127.0.0.1:3000 or [::]:3000, got {s:?}")))
}

/// The allowlist, normalized as it is read so that a bad entry stops startup.
fn origins<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    Vec::<String>::deserialize(deserializer)?.iter().map(|o| normalize_origin(o).map_err(serde::de::Error::custom)).collect()
}

/// Normalizes an allowlist entry or an `Origin` header: `scheme://host[:port]`, http or https,
/// lower case, default port dropped (browsers never send `:443` for https).
pub(crate) fn normalize_origin(origin: &str) -> Result<String, String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_exact_and_normalized() {
        let mut c = ServerConfig { origins: vec![normalize_origin("HTTPS://App.Example.com:443").expect("valid")], ..ServerConfig::default() };
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
        // --dev with an empty allowlist accepts any Origin; with a list, only the list.
        c.dev = true;
        assert!(!c.allow_any_origin() && !c.origin_allowed(Some("https://other.example")));
        c.origins.clear();
        assert!(c.allow_any_origin() && c.origin_allowed(Some("https://other.example")));
    }
}
