//! A real `cableway serve` process for black-box tests: started on a free port with its
//! own keys, its logs captured to a file, stopped (SIGTERM, then kill) when dropped.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use crate::cableway_bin;
use crate::client::Client;

/// A running server.
pub struct Server {
    child: Option<Child>,
    /// Where it listens.
    pub addr: SocketAddr,
    /// HS256 secret of its tokens.
    pub secret: String,
    /// Its publisher key.
    pub publisher_key: String,
    /// Its stderr (the logs).
    pub log_path: PathBuf,
    /// Where its `/metrics` listener is, when it has one (`--metrics-bind`).
    pub metrics_addr: Option<SocketAddr>,
    /// What it printed on stdout so far (the dev banner, the listening line).
    stdout: std::sync::Arc<std::sync::Mutex<String>>,
}

/// How to start a server.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// Extra command-line arguments to `serve`.
    pub args: Vec<String>,
    /// Variables the harness sets by default that this server must not see (e.g.
    /// `CABLEWAY_JWT_SECRET` for an RS256 server).
    pub unset: Vec<String>,
}

impl Options {
    /// Adds an environment variable.
    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }

    /// Adds arguments.
    pub fn arg(mut self, a: &str) -> Self {
        self.args.push(a.into());
        self
    }

    /// Removes a variable the harness would set.
    pub fn unset(mut self, k: &str) -> Self {
        self.unset.push(k.into());
        self
    }
}

static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl Server {
    /// Starts a server with default test settings.
    pub fn start() -> Server {
        Server::start_with(Options::default())
    }

    /// Starts a server; blocks until it listens.
    pub fn start_with(opts: Options) -> Server {
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // Keys given in `opts.env` win (a restarted server keeps its predecessor's keys).
        let given = |k: &str| opts.env.iter().rev().find(|(name, _)| name == k).map(|(_, v)| v.clone());
        let secret = given("CABLEWAY_JWT_SECRET").unwrap_or_else(|| format!("test-secret-{}-{n}-0123456789abcdef", std::process::id()));
        let publisher_key = given("CABLEWAY_PUBLISHER_KEY").unwrap_or_else(|| format!("test-publisher-{}-{n}-0123456789abcdef0123", std::process::id()));
        let log_path = std::env::temp_dir().join(format!("cableway-test-{}-{n}.log", std::process::id()));
        let log = std::fs::File::create(&log_path).expect("log file");
        let mut cmd = Command::new(cableway_bin());
        cmd.arg("serve");
        // A free port unless the caller binds one itself (`--bind 127.0.0.1:<port>` in `opts.args`).
        if !opts.args.iter().any(|a| a == "--bind" || a.starts_with("--bind=")) {
            cmd.arg("--bind").arg("127.0.0.1:0");
        }
        cmd.args(&opts.args);
        cmd.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
        cmd.env("CABLEWAY_JWT_SECRET", &secret).env("CABLEWAY_PUBLISHER_KEY", &publisher_key).env("CABLEWAY_LOG", "debug");
        for (k, v) in &opts.env {
            cmd.env(k, v);
        }
        for k in &opts.unset {
            cmd.env_remove(k);
        }
        cmd.stdout(Stdio::piped()).stderr(log);
        let mut child = cmd.spawn().expect("spawn cableway serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        let printed = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = printed.clone();
        std::thread::spawn(move || {
            // The metrics line, when there is one, comes before the listening line.
            let mut metrics = None;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(mut all) = sink.lock() {
                    all.push_str(&line);
                    all.push('\n');
                }
                if let Some(rest) = line.strip_prefix("metrics on http://") {
                    metrics = rest.strip_suffix("/metrics").map(str::to_owned);
                }
                if let Some(rest) = line.strip_prefix("cableway listening on http://") {
                    let addr = rest.split_whitespace().next().unwrap_or_default().to_owned();
                    let _ = tx.send((addr, metrics.take()));
                }
            }
        });
        let (addr, metrics_addr) = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok((a, m)) => (a.parse().expect("listen address"), m.map(|m| m.parse().expect("metrics address"))),
            Err(_) => {
                let _ = child.kill();
                panic!("server did not start; log:\n{}", std::fs::read_to_string(&log_path).unwrap_or_default());
            }
        };
        Server { child: Some(child), addr, secret, publisher_key, log_path, metrics_addr, stdout: printed }
    }

    /// What the server printed on stdout up to its listening line (and since).
    pub fn stdout(&self) -> String {
        self.stdout.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Signs claims with the server's key.
    pub fn sign(&self, claims: &Value) -> String {
        sign(&self.secret, claims)
    }

    /// A valid user token for `sub` in `account` with `permissions`, valid one hour.
    pub fn token(&self, sub: &str, account: &str, permissions: &[&str]) -> String {
        self.sign(&claims(sub, account, permissions, "user", 3600))
    }

    /// `ws://addr/cable?token=...`.
    pub fn cable_url(&self, token: Option<&str>) -> String {
        match token {
            Some(t) => format!("ws://{}/cable?token={t}", self.addr),
            None => format!("ws://{}/cable", self.addr),
        }
    }

    /// `http://addr`.
    pub fn http(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// POSTs a publication (or batch) with the publisher key.
    pub async fn publish(&self, body: &Value) -> (u16, Value) {
        let resp = reqwest::Client::new().post(format!("{}/broadcast", self.http())).bearer_auth(&self.publisher_key).json(body).send().await.expect("POST /broadcast");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// `GET /metrics` of a server started with `--metrics-bind`: the exposition text.
    pub async fn scrape(&self) -> String {
        let at = self.metrics_addr.expect("the server was started with --metrics-bind");
        let resp = reqwest::get(format!("http://{at}/metrics")).await.expect("GET /metrics");
        assert_eq!(resp.status().as_u16(), 200, "GET /metrics");
        resp.text().await.expect("metrics text")
    }

    /// Records an ownership fact in the embedded registry.
    pub async fn own(&self, kind: &str, id: &str, account: &str) {
        let resp = reqwest::Client::new()
            .put(format!("{}/resources/{kind}/{id}", self.http()))
            .bearer_auth(&self.publisher_key)
            .json(&json!({ "account_id": account }))
            .send()
            .await
            .expect("PUT /resources");
        assert_eq!(resp.status().as_u16(), 204, "recording {kind}/{id}");
    }

    /// `GET /health`: liveness, with the engine's state (the Redis engine's counters).
    pub async fn health(&self) -> Value {
        reqwest::get(format!("{}/health", self.http())).await.expect("GET /health").json().await.expect("/health is JSON")
    }

    /// `GET /ready`: its status and body.
    pub async fn ready(&self) -> (u16, Value) {
        let resp = reqwest::get(format!("{}/ready", self.http())).await.expect("GET /ready");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Waits (up to `timeout`) until `GET /ready` answers `status`.
    pub async fn wait_ready(&self, status: u16, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let (now, body) = self.ready().await;
            if now == status {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "GET /ready stayed {now} ({body}), not {status}; log:\n{}", self.plain_logs());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The server's log so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The server's log so far, without ANSI colour codes.
    pub fn plain_logs(&self) -> String {
        let raw = self.logs();
        let mut out = String::with_capacity(raw.len());
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    /// Waits (up to 10 s) until `check` finds what it looks for in the plain log, and
    /// returns that; fails naming `what`, with the log.
    pub async fn wait_for_log<T>(&self, what: &str, mut check: impl FnMut(&str) -> Option<T>) -> T {
        match crate::wait::poll_async(Duration::from_secs(10), || check(&self.plain_logs())).await {
            Some(v) => v,
            None => panic!("the log never showed {what}; log:\n{}", self.plain_logs()),
        }
    }

    /// A connected, welcomed client of user `sub` in `account`.
    pub async fn user(&self, sub: &str, account: &str) -> Client {
        Client::connect_welcomed(&self.cable_url(Some(&self.token(sub, account, &[])))).await
    }

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Its resident memory (`VmRSS`), in KiB; 0 once it has exited.
    pub fn rss_kib(&self) -> u64 {
        let status = self.pid().and_then(|pid| std::fs::read_to_string(format!("/proc/{pid}/status")).ok()).unwrap_or_default();
        status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).unwrap_or(0)
    }

    /// Sends SIGTERM without waiting (see [`Server::wait_exit`]).
    pub fn sigterm(&self) {
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill").arg("-TERM").arg(pid.to_string()).status();
        }
    }

    /// Sends SIGTERM and waits for the exit status (up to `timeout`).
    pub fn terminate(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        self.sigterm();
        self.wait_exit(timeout)
    }

    /// Waits for the process to exit (up to `timeout`) and returns its status.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let status = crate::wait::exit(self.child.as_mut()?, timeout)?;
        self.child = None;
        Some(status)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A TCP port that was free a moment ago on 127.0.0.1 (for a server that must keep its
/// port across a restart).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port").local_addr().expect("local addr").port()
}

/// An HS256 token of `claims` signed with `secret`.
pub fn sign(secret: &str, claims: &Value) -> String {
    let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes());
    jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256), claims, &key).expect("sign")
}

/// Claims of a principal, expiring `ttl` seconds from now.
pub fn claims(sub: &str, account: &str, permissions: &[&str], kind: &str, ttl: i64) -> Value {
    let now = crate::fixtures::unix_now();
    json!({ "sub": sub, "account_id": account, "permissions": permissions, "kind": kind, "iat": now, "exp": now + ttl })
}
