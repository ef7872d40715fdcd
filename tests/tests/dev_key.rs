//! `serve --dev` keeps its JWT key in a file under the user's cache directory, so a token it
//! printed stays good after a restart; the banner says where the key comes from and never
//! prints it; a key given in `CABLEWAY_JWT_SECRET` wins and writes no file.

use std::path::{Path, PathBuf};

use cableway_tests::client::Client;
use cableway_tests::server::{Options, Server};

/// A fresh, empty cache directory for one test.
fn cache_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cableway-dev-cache-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("cache dir");
    dir
}

fn dev_server(cache: &Path) -> Server {
    Server::start_with(Options::default().arg("--dev").unset("CABLEWAY_JWT_SECRET").env("XDG_CACHE_HOME", cache.to_str().expect("utf-8 path")))
}

/// The dev token and the banner's first line.
fn banner(s: &Server) -> (String, String) {
    let out = s.stdout();
    let first = out.lines().next().unwrap_or_default().to_owned();
    let mut lines = out.lines().skip_while(|l| !l.contains("dev token"));
    let token = lines.nth(1).map(|l| l.trim().to_owned()).unwrap_or_default();
    assert!(token.split('.').count() == 3, "no dev token in the banner:\n{out}");
    (token, first)
}

#[tokio::test]
async fn a_restarted_dev_server_accepts_the_token_of_the_first_run() {
    let cache = cache_dir("restart");
    let key_file = cache.join("cableway/dev-key");
    let first = dev_server(&cache);
    let (token, line) = banner(&first);
    assert!(line.contains("a new dev key") && line.contains(&key_file.display().to_string()), "{line}");
    let key = std::fs::read_to_string(&key_file).expect("the dev key file was written");
    assert!(!first.stdout().contains(key.trim()), "the banner must not print the key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key_file).expect("key file").permissions().mode() & 0o777, 0o600);
    }
    Client::connect_welcomed(&first.cable_url(Some(&token))).await;
    drop(first);

    let second = dev_server(&cache);
    let (_, line) = banner(&second);
    assert!(line.contains("the dev key kept in") && line.contains(&key_file.display().to_string()), "{line}");
    assert_eq!(std::fs::read_to_string(&key_file).expect("key file"), key, "a restart keeps the key file as it was");
    Client::connect_welcomed(&second.cable_url(Some(&token))).await;
    drop(second);

    // Another cache directory is another key: the old token is refused there.
    let other = dev_server(&cache_dir("restart-other"));
    let mut refused = Client::connect(&other.cable_url(Some(&token))).await;
    let frame = refused.recv().await.expect("a frame");
    assert_eq!((frame["type"].as_str(), frame["reason"].as_str()), (Some("disconnect"), Some("unauthorized")), "{frame}");
    let _ = std::fs::remove_dir_all(&cache);
}

#[tokio::test]
async fn a_secret_from_the_environment_wins_and_writes_no_file() {
    let cache = cache_dir("env");
    let s = Server::start_with(Options::default().arg("--dev").env("XDG_CACHE_HOME", cache.to_str().expect("utf-8 path")));
    let (token, line) = banner(&s);
    assert!(line.contains("CABLEWAY_JWT_SECRET") && !line.contains("random"), "{line}");
    assert!(!s.stdout().contains(&s.secret), "the banner must not print the secret");
    assert!(!cache.join("cableway").exists(), "no dev key file when the secret is given");
    Client::connect_welcomed(&s.cable_url(Some(&token))).await;
    Client::connect_welcomed(&s.cable_url(Some(&s.token("u-1", "acc-1", &[])))).await;
    let _ = std::fs::remove_dir_all(&cache);
}
