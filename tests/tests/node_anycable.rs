//! Interop with the official AnyCable client: `@anycable/web` 1.1 (over `@anycable/core`)
//! speaking `actioncable-v1-ext-json` to a real server, in Node, through
//! `tests/node/anycable.test.mjs`. The client loses its socket, misses events, reconnects on
//! its own and must get exactly the missed ones, in order, once — by session restore
//! (`?sid=`, then `history` from its last position, or by `since` when it had none) and,
//! with recovery off, by resubscribing with its positions.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use cableway_tests::server::Server;
use cableway_tests::{repo_root, wait};

const ACCOUNT: &str = "acc-any";
/// The node file's own timeouts are far below this; it only guards against a hung process.
const DEADLINE: Duration = Duration::from_secs(90);

#[test]
fn the_official_anycable_client_catches_up_after_a_dropped_connection() {
    let root = repo_root();
    let client = root.join("tests/node/node_modules/@anycable/web/package.json");
    assert!(client.exists(), "@anycable/web is not installed in tests/node/node_modules: run `bash tests/run.sh`, which installs tests/node");
    assert!(root.join("tests/node/node_modules/ws/package.json").exists(), "ws is not installed in tests/node/node_modules: run `bash tests/run.sh`");

    let s = Server::start();
    let token = s.token("u-any", ACCOUNT, &[]);
    let mut child = Command::new("node")
        .args(["--test", "tests/node/anycable.test.mjs"])
        .current_dir(&root)
        .env("CABLE_URL", s.cable_url(None))
        .env("TOKEN", &token)
        .env("HTTP_URL", s.http())
        .env("PUBLISHER_KEY", &s.publisher_key)
        .env("ACCOUNT", ACCOUNT)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run node ({e}): install Node.js 18+ (`bash tests/run.sh` does)"));

    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let status = wait::exit(&mut child, DEADLINE);
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    let report = || format!("--- node stdout\n{stdout}\n--- node stderr\n{stderr}\n--- server log (tail)\n{}", tail(&s.logs(), 80));
    match status {
        None => panic!("node --test did not finish within {DEADLINE:?}\n{}", report()),
        Some(st) => assert!(st.success(), "node --test tests/node/anycable.test.mjs failed ({st})\n{}", report()),
    }
    // Every case ran and passed (none skipped, cancelled or filtered away).
    let count = |name: &str| stdout.lines().find_map(|l| l.strip_prefix(&format!("# {name} "))).and_then(|n| n.trim().parse::<u32>().ok());
    assert!(count("pass").is_some_and(|n| n >= 3), "expected at least 3 passing node tests\n{}", report());
    for name in ["fail", "cancelled", "skipped", "todo"] {
        assert_eq!(count(name), Some(0), "node tests {name}\n{}", report());
    }
    for path in ["restore path (since=", "restore path: restored_ids=", "history-replay path:"] {
        assert!(stdout.contains(path), "node did not report the {path}\n{}", report());
    }
    eprintln!("{}", stdout.lines().filter(|l| l.contains(" path")).collect::<Vec<_>>().join("\n"));
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
