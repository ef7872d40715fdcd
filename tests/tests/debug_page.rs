//! The debug page: its committed bundle is what its sources build to; in `--dev` it works in
//! Debian's Chromium (`tests/node/debug_page.test.mjs`, driven by playwright-core: connect,
//! subscribe, publish through the form, the envelope arrives, an invalid payload shows its
//! pointer); outside `--dev` it is off unless `debug_page` is set, and then its data wants
//! the publisher key.
//!
//! The screenshots land in the repository's `target/` (`debug-page.png`, `debug-page-dark.png`).

use std::path::Path;
use std::process::Command;

use cableway_tests::repo_root;
use cableway_tests::server::{Options, Server};

/// `npm ci` in `dir` unless `probe` (a path under node_modules) is there, as tests/run.sh does.
fn ensure_node_modules(dir: &Path, probe: &str) {
    if dir.join("node_modules").join(probe).exists() {
        return;
    }
    let status = Command::new("npm").args(["ci", "--no-audit", "--no-fund", "--loglevel=error"]).current_dir(dir).status().expect("npm is needed for the debug page tests (tests/run.sh installs it)");
    assert!(status.success(), "npm ci in {} failed", dir.display());
}

#[test]
fn the_committed_bundle_is_what_the_sources_build_to() {
    let ui = repo_root().join("server/debug-ui");
    ensure_node_modules(&ui, "esbuild/package.json");
    let out = Command::new("npm").args(["run", "--silent", "check"]).current_dir(&ui).output().expect("run npm run check");
    assert!(out.status.success(), "server/debug-ui: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

#[test]
fn the_page_works_in_chromium() {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    assert!(Path::new(&chromium).exists(), "{chromium} is missing: tests/run.sh installs Debian's chromium (apt-get install chromium)");
    let node = repo_root().join("tests/node");
    ensure_node_modules(&node, "playwright-core/package.json");
    let s = Server::start_with(Options::default().arg("--dev"));
    let shots = repo_root().join("target");
    std::fs::create_dir_all(&shots).expect("target/");
    let out = Command::new("node")
        .args(["--test", "--test-reporter=spec", "debug_page.test.mjs"])
        .current_dir(&node)
        .env("CABLEWAY_URL", s.http())
        .env("SCREENSHOT_DIR", &shots)
        .env("CHROMIUM", &chromium)
        .output()
        .expect("run node --test");
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{report}\n--- server log (tail)\n{}", s.plain_logs().lines().rev().take(40).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n"));
    assert!(shots.join("debug-page.png").exists(), "{report}");
}

async fn get(url: &str, key: Option<&str>) -> (u16, String, String) {
    let mut request = reqwest::Client::new().get(url);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.expect("GET");
    let status = response.status().as_u16();
    let csp = response.headers().get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    (status, csp, response.text().await.unwrap_or_default())
}

#[tokio::test]
async fn outside_dev_the_page_is_off_unless_enabled_and_its_data_wants_the_key() {
    let off = Server::start();
    assert_eq!(get(&format!("{}/", off.http()), None).await.0, 404, "no page outside --dev by default");
    assert_eq!(get(&format!("{}/debug/api/schema", off.http()), Some(&off.publisher_key)).await.0, 404);

    let s = Server::start_with(Options::default().arg("--debug-page"));
    let (status, csp, html) = get(&format!("{}/", s.http()), None).await;
    assert_eq!(status, 200);
    assert!(html.contains("/debug/app.js") && !html.contains("=\"http"), "the page loads its own bundle only: {html}");
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"), "{csp}");
    assert_eq!(get(&format!("{}/debug/app.js", s.http()), None).await.0, 200);
    for path in ["info", "schema", "metrics"] {
        assert_eq!(get(&format!("{}/debug/api/{path}", s.http()), None).await.0, 401, "{path} without the key");
        assert_eq!(get(&format!("{}/debug/api/{path}", s.http()), Some("not-the-key-0123456789abcdef0123456789")).await.0, 401, "{path} with a wrong key");
    }
    let (status, _, info) = get(&format!("{}/debug/api/info", s.http()), Some(&s.publisher_key)).await;
    assert_eq!(status, 200);
    let info: serde_json::Value = serde_json::from_str(&info).expect("JSON");
    assert_eq!((info["dev"].as_bool(), info["publisher_key"].is_null()), (Some(false), true), "the key is handed out in --dev only: {info}");
    let (status, _, schema) = get(&format!("{}/debug/api/schema", s.http()), Some(&s.publisher_key)).await;
    assert_eq!(status, 200);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&schema).expect("JSON")["channels"].as_array().map(Vec::len), Some(22));
    let token = reqwest::Client::new()
        .post(format!("{}/debug/api/token", s.http()))
        .bearer_auth(&s.publisher_key)
        .json(&serde_json::json!({ "sub": "u1", "account_id": "a1" }))
        .send()
        .await
        .expect("POST");
    assert_eq!(token.status().as_u16(), 404, "tokens are minted in --dev only");
}
