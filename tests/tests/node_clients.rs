//! The official Rails client, `@rails/actioncable` (with `ws`), against the real binary:
//! runs `node --test tests/node/actioncable.test.mjs` and restarts the server under it, on
//! the same port with the same keys, when the script asks (SYNC_DIR/ready). The script
//! checks that an idle client answers the server's WebSocket pings and stays connected across
//! many liveness windows, that it is told `server_restart` / `reconnect:true`, reconnects and
//! resubscribes on its own, and receives what is published after the restart.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cableway_tests::server::{free_port, Options, Server};
use cableway_tests::{repo_root, wait};

const ACCOUNT: &str = "acc-node";
const CONVERSATION: &str = "conv-node";

/// Installs tests/node's packages when they are missing (`npm ci`, as tests/run.sh does).
fn ensure_node_modules(dir: &Path) {
    if dir.join("node_modules/@rails/actioncable/package.json").exists() && dir.join("node_modules/ws/package.json").exists() {
        return;
    }
    let status = Command::new("npm").args(["ci", "--no-audit", "--no-fund", "--loglevel=error"]).current_dir(dir).status().expect("npm is needed for the node tests (tests/run.sh installs it)");
    assert!(status.success(), "npm ci in tests/node failed");
}

/// Collects a child's stream into a shared string, on a thread.
fn collect(mut r: impl Read + Send + 'static, into: Arc<Mutex<String>>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = r.read(&mut buf) {
            if n == 0 {
                break;
            }
            into.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    })
}

/// The restart handshake's directory, removed however the test ends.
struct SyncDir(std::path::PathBuf);

impl SyncDir {
    fn new(path: std::path::PathBuf) -> Self {
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("sync dir");
        SyncDir(path)
    }
}

impl Drop for SyncDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn official_actioncable_client_survives_a_server_restart() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let node_dir = repo_root().join("tests/node");
    ensure_node_modules(&node_dir);

    // A fixed port and fixed keys, so the restarted server is the same endpoint to the
    // client and its token still verifies.
    let port = free_port();
    let pid = std::process::id();
    let opts = Options::default()
        .arg("--bind")
        .arg(&format!("127.0.0.1:{port}"))
        .env("CABLEWAY_JWT_SECRET", &format!("node-secret-{pid}-0123456789abcdef0123456789"))
        .env("CABLEWAY_PUBLISHER_KEY", &format!("node-publisher-{pid}-0123456789abcdef0123456789"))
        // Short pings: the script checks an idle client survives many liveness windows.
        .env("CABLEWAY_PING_INTERVAL_MS", "500");
    let mut first = Server::start_with(opts.clone());
    assert_eq!(first.addr.port(), port);
    rt.block_on(first.own("ai_conversation", CONVERSATION, ACCOUNT));

    let sync = SyncDir::new(std::env::temp_dir().join(format!("cableway-node-sync-{pid}-{port}")));
    let sync = &sync.0;

    let mut node = Command::new("node")
        .args(["--test", "--test-reporter=spec", "actioncable.test.mjs"])
        .current_dir(&node_dir)
        .env("CABLE_URL", first.cable_url(None))
        .env("TOKEN", first.token("node-a", ACCOUNT, &[]))
        .env("TOKEN_B", first.token("node-b", ACCOUNT, &[]))
        .env("PUBLISH_URL", format!("{}/broadcast", first.http()))
        .env("PUBLISHER_KEY", &first.publisher_key)
        .env("ACCOUNT", ACCOUNT)
        .env("CONVERSATION_ID", CONVERSATION)
        .env("SYNC_DIR", sync)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node is needed for the node tests (tests/run.sh installs it)");
    let output = Arc::new(Mutex::new(String::new()));
    let readers = [collect(node.stdout.take().expect("stdout"), output.clone()), collect(node.stderr.take().expect("stderr"), output.clone())];
    let started = Instant::now();
    let out = |output: &Arc<Mutex<String>>| output.lock().unwrap().clone();

    // Wait for the script to ask for the restart (or to end without asking).
    let asked = wait::poll(Duration::from_secs(40), || if sync.join("ready").exists() { Some(None) } else { node.try_wait().expect("node status").map(Some) });
    match asked {
        Some(None) => {}
        Some(Some(status)) => panic!("node exited ({status}) before asking for the restart:\n{}\nserver log:\n{}", out(&output), first.logs()),
        None => {
            let _ = node.kill();
            panic!("node never asked for the restart:\n{}", out(&output));
        }
    }

    // SIGTERM: the clients are told server_restart; the process exits 0.
    let status = first.terminate(Duration::from_secs(35)).unwrap_or_else(|| panic!("the server did not exit; log:\n{}", first.logs()));
    assert!(status.success(), "exit status {status:?}; log:\n{}", first.logs());
    let second = Server::start_with(opts);
    assert_eq!(second.addr.port(), port, "the new server listens where the old one did");
    // The ownership registry is in memory: the backend would record its facts again.
    rt.block_on(second.own("ai_conversation", CONVERSATION, ACCOUNT));
    std::fs::write(sync.join("restarted"), "restarted\n").expect("signal node");

    let Some(status) = wait::exit(&mut node, Duration::from_secs(60)) else {
        let _ = node.kill();
        let _ = node.wait();
        panic!("node did not finish:\n{}\nserver log:\n{}", out(&output), second.logs());
    };
    for r in readers {
        let _ = r.join();
    }
    let text = out(&output);
    assert!(status.success(), "node --test failed ({status}):\n{text}\nserver log after the restart:\n{}", second.logs());
    assert!(text.contains("pass 1") && text.contains("fail 0"), "exactly the one node test ran and passed:\n{text}");
    assert!(started.elapsed() < Duration::from_secs(60), "the node test took {:?}", started.elapsed());
    let logs = first.logs();
    assert!(logs.contains("draining"), "the first server drained:\n{logs}");
    eprintln!("{text}");
}
