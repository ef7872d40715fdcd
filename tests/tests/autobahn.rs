//! The Autobahn WebSocket conformance suite (kosoku, PyPI, which runs Autobahn's own case
//! files) against an echo over the server's production transport: the same handshake,
//! framing, limits (64 KiB messages), writes and close handshake as `/cable`, built from the
//! default configuration. Every case must pass (OK, or NON-STRICT / INFORMATIONAL, which
//! Autobahn counts as passing).
//!
//! Excluded, as in research/reliability.md §4.2: 9.* (messages up to 16 MiB, over the
//! production limit by design; the limit itself is tested in limits.rs), 12.* and 13.*
//! (permessage-deflate, which the server does not offer).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use cableway::config::Config;
use cableway::transport::{echo, WebSocketUpgrade};
use serde_json::Value;

const KOSOKU: &str = "kosoku==0.1.0";

/// The venv kosoku runs from (`tests/run.sh` creates the same one).
fn venv() -> PathBuf {
    if let Some(dir) = std::env::var_os("CABLEWAY_KOSOKU_VENV") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
    home.join(".cache/cableway-kosoku-venv")
}

/// Installs kosoku into the venv when it is missing, as tests/run.sh does.
fn ensure_kosoku(venv: &Path) -> PathBuf {
    let bin = venv.join("bin/kosoku");
    if bin.exists() {
        return bin;
    }
    let made = Command::new("python3").args(["-m", "venv"]).arg(venv).status().expect("python3 is needed for the Autobahn suite (tests/run.sh installs kosoku)");
    assert!(made.success(), "python3 -m venv {} failed", venv.display());
    let pip = Command::new(venv.join("bin/pip")).args(["install", "-q", KOSOKU]).status().expect("pip");
    assert!(pip.success(), "pip install {KOSOKU} failed");
    bin
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_transport_passes_the_autobahn_suite() {
    let kosoku = ensure_kosoku(&venv());
    let config = Config::for_tests();
    let (max, read, timeout) = (config.limits.max_inbound_message_bytes, config.limits.read_buffer_bytes, config.timeouts.write_timeout);
    assert_eq!(max, 65_536, "the production message limit");
    let router = Router::new().route(
        "/__echo",
        get(move |ws: WebSocketUpgrade| async move { ws.on_upgrade(None, move |socket| echo::run(socket, max, read, timeout)) }),
    );
    let listener = cableway::server::bind("127.0.0.1:0".parse().expect("address"), config.limits.listen_backlog).expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, router).await });

    let reports = std::env::temp_dir().join(format!("cableway-autobahn-{}", std::process::id()));
    let url = format!("ws://{addr}/__echo");
    let run = tokio::task::spawn_blocking(move || {
        Command::new(kosoku).args(["-p", "2", "-x", "9.*", "-x", "12.*", "-x", "13.*", "-o"]).arg(&reports).arg(&url).output().map(|o| (o, reports))
    });
    let (out, reports) = tokio::time::timeout(Duration::from_secs(300), run).await.expect("the suite finishes in time").expect("join").expect("kosoku runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let index: Value = serde_json::from_str(&std::fs::read_to_string(reports.join("index.json")).unwrap_or_else(|e| panic!("no report ({e}); kosoku said:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr)))).expect("index.json");
    let cases = index.as_object().and_then(|agents| agents.values().next()).and_then(Value::as_object).expect("one agent's cases");
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    let mut bad = Vec::new();
    for (id, case) in cases {
        let behaviour = case["behavior"].as_str().unwrap_or("?").to_owned();
        let close = case["behaviorClose"].as_str().unwrap_or("?");
        if !matches!(behaviour.as_str(), "OK" | "NON-STRICT" | "INFORMATIONAL") || !matches!(close, "OK" | "INFORMATIONAL") {
            bad.push(format!("{id}: {behaviour} (close {close})"));
        }
        *counts.entry(behaviour).or_default() += 1;
    }
    eprintln!("autobahn: {} cases: {counts:?}", cases.len());
    assert!(cases.len() > 240, "the suite ran its cases: {counts:?}");
    assert!(bad.is_empty(), "cases that failed: {bad:#?}\nreports in {}", reports.display());
    assert!(out.status.success(), "kosoku exit status {:?}:\n{stdout}", out.status);
    let _ = std::fs::remove_dir_all(&reports);
}
