//! The seed's `useWebSocket()` example component in Debian's Chromium against the real
//! server (`tests/node/seed_page.test.mjs`, playwright-core): the generated client and its
//! `./react` entry, bundled with React for the browser, connect, receive and unsubscribe
//! the way the seed's frontend uses them.

use std::path::Path;
use std::process::Command;

use cableway_tests::repo_root;
use cableway_tests::server::{Options, Server};

#[test]
fn the_seed_example_component_works_in_chromium() {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    assert!(Path::new(&chromium).exists(), "{chromium} is missing: tests/run.sh installs Debian's chromium (apt-get install chromium)");
    let node = repo_root().join("tests/node");
    for probe in ["playwright-core", "esbuild", "react-dom", "typescript"] {
        assert!(node.join("node_modules").join(probe).join("package.json").exists(), "{probe} is not installed: run `bash tests/run.sh` (or `npm ci` in tests/node)");
    }
    // The built package (dist/*.js), as the other TypeScript client tests build it.
    let package = repo_root().join("generated/ts");
    if std::fs::symlink_metadata(package.join("node_modules")).is_err() {
        #[cfg(unix)]
        let _ = std::os::unix::fs::symlink(node.join("node_modules"), package.join("node_modules"));
    }
    let tsc = Command::new(node.join("node_modules/.bin/tsc")).arg("-p").arg(&package).output().expect("run tsc");
    assert!(tsc.status.success(), "tsc -p generated/ts failed:\n{}", String::from_utf8_lossy(&tsc.stdout));

    // --dev: any Origin (the page comes from a loopback server of the Node side).
    let s = Server::start_with(Options::default().arg("--dev"));
    let account = "acc-seed-page";
    let out = Command::new("node")
        .args(["--test", "--test-reporter=spec", "seed_page.test.mjs"])
        .current_dir(&node)
        .env("CABLE_URL", s.cable_url(None))
        .env("HTTP_URL", s.http())
        .env("TOKEN", s.token("u-seed-page", account, &[]))
        .env("ACCOUNT", account)
        .env("PUBLISHER_KEY", &s.publisher_key)
        .env("CHROMIUM", &chromium)
        .output()
        .expect("run node --test");
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{report}\n--- server log (tail)\n{}", s.plain_logs().lines().rev().take(40).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n"));
}
