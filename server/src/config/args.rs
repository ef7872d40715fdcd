//! The flags of `cableway serve` (and the key flags `cableway token` shares). A flag is the
//! top layer of the configuration; its field is named after its setting's variable without
//! `CABLEWAY_` (`jwt_secret` sets `CABLEWAY_JWT_SECRET`'s setting), which is how
//! [`registry`](super::registry) pairs them. Flags read no environment: that is the next
//! layer. `--help` shows each flag's variable (`cli.rs` adds it from the registry).

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Serialize;

use super::auth::JwtAlgorithm;
use super::backend::ResolverKind;
use super::secret::Secret;

/// Flags that say which key verifies (and may sign) tokens; shared by `serve` and `token`.
#[derive(Clone, Debug, Default, clap::Args, Serialize)]
pub struct KeyArgs {
    /// The one JWT algorithm accepted.
    #[arg(long, value_enum, ignore_case = true)]
    pub jwt_algorithm: Option<JwtAlgorithm>,
    /// HS256 shared secret (at least 32 bytes). Prefer the environment variable: flags show
    /// up in process listings.
    #[arg(long, value_name = "SECRET")]
    pub jwt_secret: Option<Secret>,
    /// PEM file with the RS256/ES256 public key that verifies tokens.
    #[arg(long, value_name = "PATH")]
    pub jwt_public_key_file: Option<PathBuf>,
    /// PEM file (PKCS#8) with the RS256/ES256 private key; only needed to mint tokens.
    #[arg(long, value_name = "PATH")]
    pub jwt_private_key_file: Option<PathBuf>,
    /// Required `iss` claim value.
    #[arg(long, value_name = "ISS")]
    pub jwt_issuer: Option<String>,
    /// Required `aud` claim value.
    #[arg(long, value_name = "AUD")]
    pub jwt_audience: Option<String>,
}

/// Flags of `cableway serve`. Each also has the environment variable shown in `--help`;
/// settings without a flag come from `CABLEWAY_*` variables or the TOML file.
#[derive(Clone, Debug, Default, clap::Args, Serialize)]
pub struct ServeArgs {
    /// TOML config file.
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:3000].
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<SocketAddr>,
    /// Development mode: generates missing secrets and allows any Origin when no allowlist
    /// is set. Never use in production.
    #[arg(long)]
    pub dev: bool,
    /// JWT key settings.
    #[command(flatten)]
    #[serde(flatten)]
    pub keys: KeyArgs,
    /// Bearer key required by the publish endpoint (at least 32 bytes). Prefer the
    /// environment variable.
    #[arg(long, value_name = "KEY")]
    pub publisher_key: Option<Secret>,
    /// Allowed browser Origin, exactly `scheme://host[:port]` (repeatable; the environment
    /// variable takes a comma-separated list).
    #[arg(long = "origin", value_delimiter = ',', value_name = "ORIGIN")]
    pub origins: Vec<String>,
    /// Base URL of the application backend (http or https).
    #[arg(long, value_name = "URL")]
    pub backend_url: Option<String>,
    /// Who authorizes subscriptions [default: registry].
    #[arg(long, value_enum, ignore_case = true)]
    pub resolver: Option<ResolverKind>,
    /// Address of the Prometheus `/metrics` listener (no key: keep it private).
    #[arg(long, value_name = "ADDR")]
    pub metrics_bind: Option<SocketAddr>,
    /// Serve the debug page outside `--dev` (its data needs the publisher key).
    #[arg(long)]
    pub debug_page: bool,
    /// Redis for several nodes (`redis://`, `rediss://`); unset: the embedded engine. Prefer
    /// the environment variable when the URL holds a password.
    #[arg(long, value_name = "URL")]
    pub redis_url: Option<Secret>,
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    #[test]
    fn clap_reads_flags_and_env_names() {
        let cli = Cli::try_parse_from(["cableway", "--bind", "0.0.0.0:4000", "--dev", "--jwt-algorithm", "es256", "--origin", "https://a.example", "--origin", "https://b.example", "--resolver", "http"])
            .expect("parses");
        assert_eq!(cli.serve.bind.map(|b| b.port()), Some(4000));
        assert!(cli.serve.dev);
        assert_eq!(cli.serve.keys.jwt_algorithm, Some(JwtAlgorithm::Es256));
        assert_eq!(cli.serve.origins.len(), 2);
        assert_eq!(cli.serve.resolver, Some(ResolverKind::Http));
        assert!(Cli::try_parse_from(["cableway", "--jwt-algorithm", "none"]).is_err());
    }
}
