//! The JWT key of `--dev`: kept in a file under the user's cache directory, so a dev server
//! restarted while a page is open still accepts the page's token, and where each key comes
//! from, for the banner (never the key itself).

use std::io::Write;
use std::path::{Path, PathBuf};

use super::error::ConfigError;
use super::secret::Secret;

/// The file under the cache directory (`$XDG_CACHE_HOME`, else `$HOME/.cache`).
const DEV_KEY_FILE: &str = "cableway/dev-key";

/// Where the JWT verification key of a server comes from, as the dev banner says it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum JwtKeySource {
    /// `CABLEWAY_JWT_SECRET`.
    Environment,
    /// The `--jwt-secret` flag.
    Flag,
    /// The config file.
    #[default]
    Configured,
    /// The public (and private) key files of an RS256/ES256 configuration.
    KeyFiles,
    /// The dev key file, read as it was.
    DevKeyFile(PathBuf),
    /// The dev key file, created by this start.
    NewDevKeyFile(PathBuf),
    /// A random key for this process only: there is no cache directory to keep one in.
    Random,
}

impl std::fmt::Display for JwtKeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwtKeySource::Environment => f.write_str("the key from CABLEWAY_JWT_SECRET"),
            JwtKeySource::Flag => f.write_str("the key from --jwt-secret"),
            JwtKeySource::Configured => f.write_str("the key of the config file"),
            JwtKeySource::KeyFiles => f.write_str("the configured RS256/ES256 key files"),
            JwtKeySource::DevKeyFile(path) => write!(f, "the dev key kept in {} (tokens survive restarts)", path.display()),
            JwtKeySource::NewDevKeyFile(path) => write!(f, "a new dev key, kept in {} for later starts", path.display()),
            JwtKeySource::Random => f.write_str("a random key for this run only (no XDG_CACHE_HOME or HOME to keep it in)"),
        }
    }
}

/// The dev key file for this environment: `$XDG_CACHE_HOME/cableway/dev-key` when that is an
/// absolute path (as the XDG spec asks), else `$HOME/.cache/cableway/dev-key`.
pub fn dev_key_path(var: impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let absolute = |v: String| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
    let cache = var("XDG_CACHE_HOME").and_then(absolute).or_else(|| var("HOME").and_then(absolute).map(|home| home.join(".cache")))?;
    Some(cache.join(DEV_KEY_FILE))
}

/// The key in `path`, or a new random one written there (mode 0600, parent directories
/// created); `true` when it was created now. Two servers starting at once agree: the file is
/// created exclusively, and the loser reads the winner's key.
pub fn load_or_create(path: &Path, fresh: impl FnOnce() -> Result<Secret, ConfigError>) -> Result<(Secret, bool), ConfigError> {
    let fail = |what: &str, e: std::io::Error| ConfigError::invalid("dev key file", format!("cannot {what} {}: {e}; delete it, or set CABLEWAY_JWT_SECRET", path.display()));
    match std::fs::read_to_string(path) {
        Ok(text) => return parse(path, &text).map(|key| (key, false)),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(fail("read", e)),
        Err(_) => {}
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| fail("create the directory of", e))?;
    }
    let key = fresh()?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(format!("{}\n", key.expose()).as_bytes()).map_err(|e| fail("write", e))?;
            Ok((key, true))
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = std::fs::read_to_string(path).map_err(|e| fail("read", e))?;
            parse(path, &text).map(|key| (key, false))
        }
        Err(e) => Err(fail("create", e)),
    }
}

/// A key file holds one line of at least 32 bytes (what `--dev` writes: 64 hex digits).
fn parse(path: &Path, text: &str) -> Result<Secret, ConfigError> {
    let key = text.trim();
    if key.len() < super::auth::MIN_SECRET_BYTES {
        return Err(ConfigError::invalid(
            "dev key file",
            format!("{} holds {} bytes, not a key of at least {}; delete it to get a new one", path.display(), key.len(), super::auth::MIN_SECRET_BYTES),
        ));
    }
    Ok(Secret::new(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| vars.iter().find(|(name, _)| *name == k).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn the_path_follows_xdg_then_home() {
        assert_eq!(dev_key_path(env(&[("XDG_CACHE_HOME", "/c"), ("HOME", "/h")])), Some(PathBuf::from("/c/cableway/dev-key")));
        assert_eq!(dev_key_path(env(&[("XDG_CACHE_HOME", "relative"), ("HOME", "/h")])), Some(PathBuf::from("/h/.cache/cableway/dev-key")));
        assert_eq!(dev_key_path(env(&[("HOME", "/h")])), Some(PathBuf::from("/h/.cache/cableway/dev-key")));
        assert_eq!(dev_key_path(env(&[])), None);
    }

    #[test]
    fn a_key_is_created_once_then_read_and_a_bad_file_is_refused() {
        let dir = std::env::temp_dir().join(format!("cableway-dev-key-{}", std::process::id()));
        let path = dir.join("cableway/dev-key");
        let _ = std::fs::remove_dir_all(&dir);
        let (first, created) = load_or_create(&path, || Ok(Secret::new("k".repeat(64)))).expect("created");
        assert!(created);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).expect("file").permissions().mode() & 0o777, 0o600);
        }
        let (again, created) = load_or_create(&path, || panic!("the file exists: no new key")).expect("read");
        assert!(!created);
        assert_eq!(again.expose(), first.expose());
        std::fs::write(&path, "short\n").expect("write");
        let err = load_or_create(&path, || panic!("no new key over a bad file")).expect_err("too short");
        assert!(err.to_string().contains("dev-key") && !err.to_string().contains("short\n"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
