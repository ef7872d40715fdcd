//! [`ConfigError`]: why a configuration cannot be used.

use std::path::PathBuf;

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
        /// What is wrong: the key and the problem, or the TOML syntax error with its line.
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
        /// The setting (`CABLEWAY_BIND`, `--bind`, `timeouts.ping_interval_ms (CABLEWAY_PING_INTERVAL_MS)`, …).
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
    pub(crate) fn invalid(setting: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError::Invalid { setting: setting.into(), reason: reason.into() }
    }
}
