//! A real `redis-server` for the multi-node tests: started on a free port in its own
//! directory, with or without persistence, stopped by its PID (SIGTERM, or SIGKILL to crash
//! it), restarted on the same port and directory, or speaking TLS only; and `cableway serve`
//! nodes that share it.
//!
//! ```no_run
//! # async fn demo() {
//! use cableway_tests::redis::{Persistence, Redis};
//! let redis = Redis::start(Persistence::None);
//! let a = redis.node(None);        // a node with fresh keys
//! let b = redis.node(Some(&a));    // a second node of the same deployment (a's keys)
//! assert_eq!(redis.cli(&["PING"]), "PONG");
//! # }
//! ```

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::server::{free_port, Options, Server};

/// How Redis keeps its data across a restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistence {
    /// Nothing: a restart loses everything (`--save "" --appendonly no`).
    None,
    /// Append-only file, fsync on every write (`appendfsync always`).
    AofAlways,
    /// Append-only file, fsync once a second (`appendfsync everysec`).
    AofEverysec,
}

/// A running (or stopped) `redis-server`.
pub struct Redis {
    child: Option<Child>,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its working directory (the AOF lives there).
    pub dir: PathBuf,
    persistence: Persistence,
    /// TLS only (`rediss://`), with a certificate of a CA made for it (`ca.pem` in `dir`).
    tls: bool,
}

static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl Redis {
    /// Starts a server on a free port; blocks until it answers `PING`.
    pub fn start(persistence: Persistence) -> Redis {
        Redis::start_on(persistence, false)
    }

    /// Starts a server that speaks TLS only, with a certificate for 127.0.0.1 signed by a CA
    /// made for it ([`Redis::ca_file`]); needs the `openssl` command.
    pub fn start_tls() -> Redis {
        Redis::start_on(Persistence::None, true)
    }

    fn start_on(persistence: Persistence, tls: bool) -> Redis {
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("cableway-redis-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("redis directory");
        if tls {
            make_certificates(&dir);
        }
        // A port that was free a moment ago may be taken by the time Redis binds it.
        for _ in 0..5 {
            let mut redis = Redis { child: None, port: free_port(), dir: dir.clone(), persistence, tls };
            if redis.spawn() {
                return redis;
            }
        }
        panic!("redis-server did not start (is it installed? tests/run.sh installs it)");
    }

    fn spawn(&mut self) -> bool {
        let mut cmd = Command::new("redis-server");
        if self.tls {
            let file = |name: &str| self.dir.join(name);
            cmd.arg("--port").arg("0").arg("--tls-port").arg(self.port.to_string());
            cmd.arg("--tls-cert-file").arg(file("redis.pem")).arg("--tls-key-file").arg(file("redis.key")).arg("--tls-ca-cert-file").arg(file("ca.pem")).arg("--tls-auth-clients").arg("no");
        } else {
            cmd.arg("--port").arg(self.port.to_string());
        }
        cmd.arg("--bind").arg("127.0.0.1").arg("--dir").arg(&self.dir).arg("--save").arg("");
        cmd.arg("--daemonize").arg("no").arg("--protected-mode").arg("no");
        match self.persistence {
            Persistence::None => cmd.arg("--appendonly").arg("no"),
            Persistence::AofAlways => cmd.arg("--appendonly").arg("yes").arg("--appendfsync").arg("always"),
            Persistence::AofEverysec => cmd.arg("--appendonly").arg("yes").arg("--appendfsync").arg("everysec"),
        };
        let log = std::fs::File::create(self.dir.join("redis.log")).expect("redis log");
        cmd.stdout(log.try_clone().expect("log")).stderr(log).stdin(Stdio::null());
        let mut child = cmd.spawn().expect("spawn redis-server");
        let up = crate::wait::poll(Duration::from_secs(10), || {
            if child.try_wait().ok().flatten().is_some() {
                return Some(false);
            }
            (self.try_cli(&["PING"]).as_deref() == Some("PONG")).then_some(true)
        });
        if up == Some(true) {
            self.child = Some(child);
            true
        } else {
            let _ = child.kill();
            let _ = child.wait();
            false
        }
    }

    /// `redis://127.0.0.1:<port>` (`rediss://` for a TLS server).
    pub fn url(&self) -> String {
        format!("{}://127.0.0.1:{}", if self.tls { "rediss" } else { "redis" }, self.port)
    }

    /// The CA certificate of a TLS server.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// Its process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Runs `redis-cli` with `args` against it and returns its output, trimmed.
    pub fn cli(&self, args: &[&str]) -> String {
        self.try_cli(args).unwrap_or_else(|| panic!("redis-cli {args:?} failed"))
    }

    fn try_cli(&self, args: &[&str]) -> Option<String> {
        let mut cmd = Command::new("redis-cli");
        cmd.arg("-p").arg(self.port.to_string());
        if self.tls {
            cmd.arg("--tls").arg("--cacert").arg(self.ca_file());
        }
        let out = cmd.args(args).stdin(Stdio::null()).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// Stops it with SIGTERM (a clean shutdown) and waits for the exit.
    pub fn stop(&mut self) {
        self.signal("-TERM");
    }

    /// Kills it with SIGKILL (a crash) and waits for the exit.
    pub fn kill(&mut self) {
        self.signal("-KILL");
    }

    fn signal(&mut self, sig: &str) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").arg(sig).arg(child.id().to_string()).status();
            crate::wait::exit(&mut child, Duration::from_secs(10)).expect("redis-server exits");
        }
    }

    /// Starts it again on the same port and directory (what persistence kept comes back).
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "stop or kill it first");
        assert!(self.spawn(), "redis-server did not start again on port {}", self.port);
    }

    /// The pub/sub subscriber count of a Cableway stream's channel (`PUBSUB NUMSUB`), under
    /// the default key prefix.
    pub fn numsub(&self, stream: &str) -> u64 {
        let out = self.cli(&["PUBSUB", "NUMSUB", &format!("cableway:{{{stream}}}")]);
        out.lines().nth(1).and_then(|n| n.trim().parse().ok()).unwrap_or_else(|| panic!("PUBSUB NUMSUB answered {out:?}"))
    }

    /// A `cableway serve` node on this Redis. `keys_of`: a node of the same deployment whose
    /// JWT secret and publisher key to share (`None`: fresh ones).
    pub fn node(&self, keys_of: Option<&Server>) -> Server {
        self.node_with(keys_of, Options::default())
    }

    /// [`Redis::node`] with more options.
    pub fn node_with(&self, keys_of: Option<&Server>, opts: Options) -> Server {
        let mut opts = opts.env("CABLEWAY_REDIS_URL", &self.url());
        if let Some(other) = keys_of {
            opts = opts.env("CABLEWAY_JWT_SECRET", &other.secret).env("CABLEWAY_PUBLISHER_KEY", &other.publisher_key);
        }
        Server::start_with(opts)
    }
}

/// A CA (`ca.pem`) and a certificate for 127.0.0.1 and localhost it signed (`redis.pem`,
/// `redis.key`), in `dir`: P-256 keys, valid one day.
fn make_certificates(dir: &std::path::Path) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(dir).stdin(Stdio::null()).output().expect("run openssl (tests/run.sh installs it)");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    run(&[&["req", "-x509"], &ec[..], &["-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=cableway test CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"]].concat());
    run(&[&["req"], &ec[..], &["-keyout", "redis.key", "-out", "redis.csr", "-subj", "/CN=localhost"]].concat());
    std::fs::write(dir.join("san.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n").expect("write san.cnf");
    run(&["x509", "-req", "-in", "redis.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "redis.pem", "-days", "1", "-extfile", "san.cnf"]);
}

impl Drop for Redis {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
