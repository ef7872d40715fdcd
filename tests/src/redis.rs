//! A real `redis-server` for the multi-node tests: started on a free port in its own
//! directory, with or without persistence, stopped by its PID (SIGTERM, or SIGKILL to crash
//! it), restarted on the same port and directory; and `cableway serve` nodes that share it.
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
}

static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl Redis {
    /// Starts a server on a free port; blocks until it answers `PING`.
    pub fn start(persistence: Persistence) -> Redis {
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("cableway-redis-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("redis directory");
        // A port that was free a moment ago may be taken by the time Redis binds it.
        for _ in 0..5 {
            let mut redis = Redis { child: None, port: free_port(), dir: dir.clone(), persistence };
            if redis.spawn() {
                return redis;
            }
        }
        panic!("redis-server did not start (is it installed? tests/run.sh installs it)");
    }

    fn spawn(&mut self) -> bool {
        let mut cmd = Command::new("redis-server");
        cmd.arg("--port").arg(self.port.to_string()).arg("--bind").arg("127.0.0.1").arg("--dir").arg(&self.dir).arg("--save").arg("");
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

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
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
        let out = Command::new("redis-cli").arg("-p").arg(self.port.to_string()).args(args).stdin(Stdio::null()).output().ok()?;
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

impl Drop for Redis {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
