//! `cableway publish` and `cableway tail` against the real server.
//!
//! - publish checks the payload against the compiled schema before sending it (the pointers
//!   of the server's 422, nothing sent), then prints the streams and deliveries;
//! - tail prints one JSON line per envelope; when its connection is cut (a proxy in between
//!   drops it) it resumes the session and the history replays what it missed; when the
//!   server restarts it resubscribes on its own and says on stderr what it could not replay.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use cableway_tests::cableway_bin;
use cableway_tests::fixtures::{notification_payload, notifications};
use cableway_tests::server::{free_port, Options, Server};
use cableway_tests::wait;
use serde_json::Value;

/// Runs `cableway publish` with `args`, the server's key in the environment and `stdin`.
fn publish(s: &Server, args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut child = Command::new(cableway_bin())
        .arg("publish")
        .args(["--url", &s.http()])
        .args(args)
        .env("CABLEWAY_PUBLISHER_KEY", &s.publisher_key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run cableway publish");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), stdin.as_bytes()).expect("write stdin");
    let out = child.wait_with_output().expect("cableway publish ends");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[tokio::test]
async fn publish_checks_locally_then_reports_streams_and_deliveries() {
    let s = Server::start();
    let mut c = s.user("u1", "acc1").await;
    c.subscribed(&notifications("acc1")).await;
    c.message(&notifications("acc1")).await.expect("the on-subscribe message");

    let mut invalid = notification_payload("acc1", "n0");
    invalid.as_object_mut().expect("object").remove("title");
    invalid["severity"] = "loud".into();
    let (ok, _, stderr) = publish(&s, &["--channel", "NotificationChannel", "--event", "new_notification", "--payload", &invalid.to_string()], "");
    assert!(!ok, "an invalid payload is refused");
    assert!(stderr.contains("checked locally; nothing was sent"), "{stderr}");
    assert!(stderr.contains("  /payload/title: required property is missing"), "the pointer the server's 422 would give: {stderr}");
    assert!(stderr.contains("  /payload/severity: "), "{stderr}");
    let (ok, _, stderr) = publish(&s, &["--event", "no_such_event", "--payload", "{}"], "");
    assert!(!ok && stderr.contains("no channel declares event `no_such_event`"), "{stderr}");

    let file = std::env::temp_dir().join(format!("cableway-publish-{}.json", std::process::id()));
    std::fs::write(&file, notification_payload("acc1", "n1").to_string()).expect("payload file");
    let (ok, stdout, stderr) = publish(&s, &["--channel", "NotificationChannel", "--event", "new_notification", "--payload", &format!("@{}", file.display())], "");
    let _ = std::fs::remove_file(&file);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("published new_notification on NotificationChannel"), "{stdout}");
    assert!(stdout.contains("streams:    notifications:acc1") && stdout.contains("deliveries: 1"), "{stdout}");
    let got = c.message(&notifications("acc1")).await.expect("the published envelope");
    assert_eq!(got["payload"]["id"], "n1", "the invalid one was never sent: {got}");

    // From standard input, without --channel: the event name is unique.
    let (ok, stdout, stderr) = publish(&s, &["--event", "new_notification", "--payload", "-"], &notification_payload("acc1", "n2").to_string());
    assert!(ok && stdout.contains("deliveries: 1"), "{stdout}{stderr}");
    assert_eq!(c.message(&notifications("acc1")).await.expect("n2")["payload"]["id"], "n2");

    let (ok, stdout, _) = publish(&s, &["--event", "new_notification", "--payload", "-", "--dry-run"], &notification_payload("acc9", "n3").to_string());
    assert!(ok && stdout.contains("would publish to:\n  notifications:acc9"), "{stdout}");

    let mut wrong_key = Command::new(cableway_bin());
    wrong_key.args(["publish", "--url", &s.http(), "--key", "not-the-key-0123456789abcdef0123456789", "--event", "new_notification", "--payload", &notification_payload("acc1", "n4").to_string()]);
    let out = wrong_key.output().expect("run cableway publish");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("the server answered 401 unauthorized"), "{stderr}");
}

/// A TCP proxy that can drop every connection through it and hold new ones off meanwhile.
struct Proxy {
    addr: SocketAddr,
    held: Arc<AtomicBool>,
    cut: tokio::sync::watch::Sender<u64>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let held = Arc::new(AtomicBool::new(false));
        let (cut, cuts) = tokio::sync::watch::channel(0u64);
        let is_held = held.clone();
        tokio::spawn(async move {
            while let Ok((mut downstream, _)) = listener.accept().await {
                if is_held.load(Ordering::SeqCst) {
                    continue; // dropped: the client sees the connection close at once
                }
                let mut cuts = cuts.clone();
                // Only cuts after this connection opened end it.
                cuts.borrow_and_update();
                tokio::spawn(async move {
                    let Ok(mut upstream) = tokio::net::TcpStream::connect(upstream).await else { return };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut downstream, &mut upstream) => {}
                        _ = cuts.changed() => {}
                    }
                });
            }
        });
        Proxy { addr, held, cut }
    }

    /// Drops every open connection; new ones are dropped too until [`Proxy::release`].
    fn cut(&self) {
        self.held.store(true, Ordering::SeqCst);
        self.cut.send_modify(|n| *n += 1);
    }

    fn release(&self) {
        self.held.store(false, Ordering::SeqCst);
    }
}

/// A running `cableway tail`: its envelopes as they come, its stderr so far.
struct Tail {
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl Tail {
    fn start(args: &[&str]) -> Tail {
        let mut child = Command::new(cableway_bin()).arg("tail").args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("run cableway tail");
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let into = stderr.clone();
        let mut pipe = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            let mut buf = [0u8; 1024];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                into.lock().expect("stderr buffer").push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Tail { child, lines, stderr }
    }

    /// The next envelope whose event is not `connection_established` (sent on every subscribe).
    fn envelope(&self) -> Value {
        loop {
            let line = self.lines.recv_timeout(Duration::from_secs(15)).unwrap_or_else(|_| panic!("no envelope from tail; stderr:\n{}", self.stderr()));
            let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("tail printed a line that is not JSON ({e}): {line}"));
            if v["event"] != "connection_established" {
                return v;
            }
        }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().expect("stderr buffer").clone()
    }

    /// Waits until stderr has said `what` `times` times.
    async fn said(&self, what: &str, times: usize) {
        let found = wait::poll_async(Duration::from_secs(15), || (self.stderr().matches(what).count() >= times).then_some(())).await;
        assert!(found.is_some(), "tail never said {what:?} ({times}×); stderr:\n{}", self.stderr());
    }
}

impl Drop for Tail {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// The proxy runs on the runtime's workers while the test blocks reading tail's output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tail_prints_envelopes_resumes_after_a_cut_and_resubscribes_after_a_restart() {
    let port = free_port();
    let pid = std::process::id();
    let opts = Options::default()
        .arg("--bind")
        .arg(&format!("127.0.0.1:{port}"))
        .env("CABLEWAY_JWT_SECRET", &format!("tail-secret-{pid}-0123456789abcdef0123456789"))
        .env("CABLEWAY_PUBLISHER_KEY", &format!("tail-publisher-{pid}-0123456789abcdef0123456789"));
    let mut s = Server::start_with(opts.clone());
    let proxy = Proxy::start(s.addr).await;
    let token = s.token("tailer", "acc1", &[]);
    let tail = Tail::start(&["NotificationChannel", "--param", "account_id=acc1", "--url", &format!("http://{}", proxy.addr), "--token", &token]);
    tail.said("tail: subscribed to", 1).await;

    assert_eq!(s.publish(&cableway_tests::fixtures::notification("acc1", "n1")).await.0, 200);
    let first = tail.envelope();
    assert_eq!((first["event"].as_str(), first["payload"]["id"].as_str()), (Some("new_notification"), Some("n1")), "{first}");
    assert!(first.get("timestamp").is_some(), "the whole envelope, as clients receive it: {first}");

    // Cut the connection and publish while tail is away: the history holds n2 and n3, and
    // the resumed session replays them.
    proxy.cut();
    s.wait_for_log("the server sees the cut", |logs| logs.lines().any(|l| l.contains(" disconnected ") && l.contains("reason=\"client_closed\"")).then_some(())).await;
    assert_eq!(s.publish(&cableway_tests::fixtures::notification("acc1", "n2")).await.0, 200);
    assert_eq!(s.publish(&cableway_tests::fixtures::notification("acc1", "n3")).await.0, 200);
    proxy.release();
    tail.said("tail: resumed session", 1).await;
    assert_eq!(tail.envelope()["payload"]["id"], "n2", "stderr:\n{}", tail.stderr());
    assert_eq!(tail.envelope()["payload"]["id"], "n3");
    tail.said("history replayed: nothing was missed", 1).await;
    assert_eq!(s.publish(&cableway_tests::fixtures::notification("acc1", "n4")).await.0, 200);
    assert_eq!(tail.envelope()["payload"]["id"], "n4", "live again after the replay");

    // A restart: the new server knows neither the session nor the old history's epoch, so
    // tail resubscribes, says the gap cannot be replayed, and receives what comes next.
    let status = s.terminate(Duration::from_secs(35)).expect("the server exits");
    assert!(status.success());
    s = Server::start_with(opts);
    tail.said("reconnected with a new session; resubscribing", 1).await;
    tail.said("the server cannot replay the gap", 1).await;
    assert_eq!(s.publish(&cableway_tests::fixtures::notification("acc1", "n5")).await.0, 200);
    assert_eq!(tail.envelope()["payload"]["id"], "n5", "stderr:\n{}", tail.stderr());
    assert!(tail.stderr().contains("the server closes the connection: server_restart"), "{}", tail.stderr());
}
