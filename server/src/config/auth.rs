//! `[auth]`: how connection tokens are verified (and, for `cableway token`, signed).
//! Environment variables: `CABLEWAY_JWT_<KEY>`.

use std::fmt;
use std::path::PathBuf;

use figment::value::magic::RelativePathBuf;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use super::error::ConfigError;
use super::secret::Secret;

/// Minimum length of an HS256 secret and of the publisher key outside `--dev`.
///
/// RFC 7518 §3.2: an HMAC key must be at least as long as the hash output (32 bytes for
/// SHA-256); the publisher key is a bearer credential and gets the same floor.
pub const MIN_SECRET_BYTES: usize = 32;

/// Largest accepted `auth.leeway_seconds`: clock skew beyond minutes is a broken clock, and a
/// large leeway quietly extends every token's life.
pub const MAX_LEEWAY_SECONDS: u64 = 300;

/// How to fix a missing or weak secret, quoted in errors.
pub(crate) const SECRET_HINT: &str = "generate one with `openssl rand -hex 32`";

/// JWT verification settings. Times are whole seconds, as in the tokens' claims.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
#[schemars(extend("x-env-prefix" = "CABLEWAY_JWT_"))]
pub struct AuthConfig {
    /// The one JWT algorithm accepted: `HS256`, `RS256` or `ES256`.
    pub algorithm: JwtAlgorithm,
    /// HS256 shared secret, at least 32 bytes.
    pub secret: Option<Secret>,
    /// PEM file with the RS256/ES256 public key that verifies tokens (in the file: relative to it).
    #[schemars(with = "Option<PathBuf>")]
    pub public_key_file: Option<RelativePathBuf>,
    /// PEM file (PKCS#8) with the RS256/ES256 private key; only `cableway token` signs with it.
    #[schemars(with = "Option<PathBuf>")]
    pub private_key_file: Option<RelativePathBuf>,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
    #[schemars(range(max = MAX_LEEWAY_SECONDS))]
    pub leeway_seconds: u64,
    /// Longest accepted token life (`exp - iat`), in seconds.
    #[schemars(range(min = 1))]
    pub max_lifetime_seconds: u64,
    /// When set, tokens must carry this `iss`.
    pub issuer: Option<String>,
    /// When set, tokens must carry this `aud`.
    pub audience: Option<String>,
    /// The public key, PEM text read from `public_key_file` when the configuration loads.
    #[serde(skip)]
    pub public_key_pem: Option<String>,
    /// The private key, PEM text read from `private_key_file` when the configuration loads.
    #[serde(skip)]
    pub private_key_pem: Option<Secret>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            algorithm: JwtAlgorithm::Hs256,
            secret: None,
            public_key_file: None,
            private_key_file: None,
            leeway_seconds: 30,
            max_lifetime_seconds: 86_400,
            issuer: None,
            audience: None,
            public_key_pem: None,
            private_key_pem: None,
        }
    }
}

impl AuthConfig {
    /// Reads the key files into `public_key_pem` / `private_key_pem`. Paths from the config
    /// file are relative to it, so a config directory can be moved as a whole; flag and
    /// environment paths are relative to the working directory.
    pub(crate) fn read_key_files(&mut self) -> Result<(), ConfigError> {
        fn read(setting: &'static str, path: &RelativePathBuf) -> Result<String, ConfigError> {
            let path = path.relative();
            std::fs::read_to_string(&path).map_err(|source| ConfigError::ReadKeyFile { setting, path, source })
        }
        if let Some(path) = &self.public_key_file {
            self.public_key_pem = Some(read("CABLEWAY_JWT_PUBLIC_KEY_FILE", path)?);
        }
        if let Some(path) = &self.private_key_file {
            self.private_key_pem = Some(Secret::new(read("CABLEWAY_JWT_PRIVATE_KEY_FILE", path)?));
        }
        Ok(())
    }

    /// The rules between the auth settings: which key each algorithm needs, secret strength.
    /// (Ranges are declared on the fields and checked with the other settings' ranges.)
    pub(crate) fn validate(&self, dev: bool) -> Result<(), ConfigError> {
        match self.algorithm {
            JwtAlgorithm::Hs256 => {
                let Some(secret) = &self.secret else {
                    return Err(ConfigError::Missing {
                        setting: "CABLEWAY_JWT_SECRET",
                        hint: format!("HS256 verifies tokens with a shared secret; set CABLEWAY_JWT_SECRET to the secret your application signs with ({SECRET_HINT}), or run with --dev"),
                    });
                };
                if secret.is_empty() || (!dev && secret.expose().len() < MIN_SECRET_BYTES) {
                    return Err(ConfigError::invalid(
                        "CABLEWAY_JWT_SECRET",
                        format!("too short ({} bytes); HS256 needs at least {MIN_SECRET_BYTES} bytes: {SECRET_HINT}", secret.expose().len()),
                    ));
                }
                if self.public_key_pem.is_some() || self.private_key_pem.is_some() {
                    return Err(ConfigError::invalid(
                        "CABLEWAY_JWT_PUBLIC_KEY_FILE",
                        "a key file is set but the algorithm is HS256; set CABLEWAY_JWT_ALGORITHM to RS256 or ES256, or remove the key file",
                    ));
                }
            }
            JwtAlgorithm::Rs256 | JwtAlgorithm::Es256 => {
                if self.public_key_pem.is_none() {
                    return Err(ConfigError::Missing {
                        setting: "CABLEWAY_JWT_PUBLIC_KEY_FILE",
                        hint: format!(
                            "{} verifies tokens with a public key; set CABLEWAY_JWT_PUBLIC_KEY_FILE to its PEM file{}",
                            self.algorithm,
                            if dev { " (--dev can only generate HS256 secrets)" } else { "" }
                        ),
                    });
                }
                // Refusing the combination keeps one key per server: a stray secret next to an RSA
                // key is how HS256/RS256 confusion gets configured.
                if self.secret.is_some() {
                    return Err(ConfigError::invalid(
                        "CABLEWAY_JWT_SECRET",
                        format!("a secret is set but the algorithm is {}; unset CABLEWAY_JWT_SECRET, or set CABLEWAY_JWT_ALGORITHM=HS256", self.algorithm),
                    ));
                }
            }
        }
        for (setting, value) in [("auth.issuer (CABLEWAY_JWT_ISSUER)", &self.issuer), ("auth.audience (CABLEWAY_JWT_AUDIENCE)", &self.audience)] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                return Err(ConfigError::invalid(setting, "must not be blank; unset it instead"));
            }
        }
        Ok(())
    }
}

/// The one JWT algorithm a server accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, JsonSchema, clap::ValueEnum)]
pub enum JwtAlgorithm {
    /// HMAC-SHA256 with a shared secret.
    #[value(name = "HS256")]
    #[serde(rename = "HS256")]
    Hs256,
    /// RSASSA-PKCS1-v1_5 with SHA-256: verify with an RSA public key.
    #[value(name = "RS256")]
    #[serde(rename = "RS256")]
    Rs256,
    /// ECDSA P-256 with SHA-256: verify with an EC public key.
    #[value(name = "ES256")]
    #[serde(rename = "ES256")]
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

/// Any case, as the flag accepts (`rs256`).
impl<'de> Deserialize<'de> for JwtAlgorithm {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        JwtAlgorithm::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("expected HS256, RS256 or ES256, got {s:?}")))
    }
}
