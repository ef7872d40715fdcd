//! The generated TypeScript client in Debian's Chromium, against the real binary
//! (`tests/node/browser_client.test.mjs`, driven by playwright-core; the page loads the
//! package bundled by esbuild). The server runs with a fixed key (so tokens outlive a
//! restart) and one allowed Origin, the page's; the page is also served from a second port,
//! a foreign Origin. A control server restarts the cable server on the same port.
//!
//! What the page checks: receipt, restart → `onResync` then live events; offline then online
//! → the reconnect starts within 500 ms of `online`; 3 tabs → 1 server connection, every
//! event once per tab, the leader tab closes → another takes over, nothing lost or twice; a
//! refused token and a refused Origin reach the status and `onRejected`.

use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use cableway_tests::repo_root;
use cableway_tests::server::{free_port, Options, Server};

struct Control {
    server: Mutex<Option<Server>>,
    options: Options,
}

/// SIGTERM (the server drains with `server_restart`), then a new server with the same options.
async fn restart(State(c): State<Arc<Control>>) -> StatusCode {
    let c2 = c.clone();
    tokio::task::spawn_blocking(move || {
        let old = c2.server.lock().unwrap().take();
        if let Some(mut s) = old {
            s.terminate(Duration::from_secs(15)).expect("the server exits on SIGTERM");
        }
        *c2.server.lock().unwrap() = Some(Server::start_with(c2.options.clone()));
    })
    .await
    .expect("restart");
    StatusCode::NO_CONTENT
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_in_chromium() {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    assert!(Path::new(&chromium).exists(), "{chromium} is missing: tests/run.sh installs Debian's chromium (apt-get install chromium)");
    let node = repo_root().join("tests/node");
    assert!(node.join("node_modules/esbuild/package.json").exists() && node.join("node_modules/playwright-core/package.json").exists(), "run `bash tests/run.sh` (or `npm ci` in tests/node) first");

    let (port, page_port, foreign_port) = (free_port(), free_port(), free_port());
    let secret = format!("browser-secret-{}-{port}-0123456789abcdef", std::process::id());
    let publisher = format!("browser-publisher-{}-{port}-0123456789abcdef", std::process::id());
    let options = Options::default()
        .arg("--bind")
        .arg(&format!("127.0.0.1:{port}"))
        .arg("--origin")
        .arg(&format!("http://127.0.0.1:{page_port}"))
        .env("CABLEWAY_JWT_SECRET", &secret)
        .env("CABLEWAY_PUBLISHER_KEY", &publisher)
        .env("CABLEWAY_DRAIN_TIMEOUT_MS", "3000");
    let first = options.clone();
    let server = tokio::task::spawn_blocking(move || Server::start_with(first)).await.expect("start the server");
    let control = Arc::new(Control { server: Mutex::new(Some(server)), options });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind control");
    let control_url = format!("http://{}", listener.local_addr().expect("addr"));
    let app = Router::new().route("/restart", post(restart)).with_state(control.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.expect("control serves") });

    let mut cmd = tokio::process::Command::new("node");
    cmd.args(["--test", "--test-reporter=spec", "--test-concurrency=1", "browser_client.test.mjs"]).current_dir(&node);
    cmd.env("CHROMIUM", &chromium)
        .env("CABLE_URL", format!("ws://127.0.0.1:{port}/cable"))
        .env("HTTP_URL", format!("http://127.0.0.1:{port}"))
        .env("PAGE_PORT", page_port.to_string())
        .env("FOREIGN_PORT", foreign_port.to_string())
        .env("JWT_SECRET", &secret)
        .env("PUBLISHER_KEY", &publisher)
        .env("CONTROL_URL", &control_url);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    let child = cmd.spawn().expect("spawn node (is Node.js installed?)");
    let out = tokio::time::timeout(Duration::from_secs(300), child.wait_with_output()).await.expect("the browser tests finish within 300 s").expect("node output");
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    println!("{report}");
    let logs = control.server.lock().unwrap().as_ref().map(Server::plain_logs).unwrap_or_default();
    assert!(out.status.success(), "{report}\n--- server log (tail)\n{}", logs.lines().rev().take(40).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n"));
    assert!(!report.contains("# tests 0"), "no test ran: {report}");
    assert!(!logs.contains(&secret), "the secret never reaches the logs");
}
