//! `bench`: the benchmark orchestrator. Starts each server (ours and the peers), runs the
//! `loadgen` against it, stops it, and writes a Markdown and a JSON report. Run it through
//! `bash bench/run.sh quick|full`, which installs the peers and builds first.
//!
//! ```text
//! bench quick|full [--reps N] [--ns 1000,5000] [--peers ours,ws,sio,rails,floor]
//!                  [--modes pinned,wholebox] [--out DIR] [--no-gate] [--no-profile]
//! ```
//!
//! Method (perf.md §4): pinned mode runs the server on CPU 0 (`taskset -c 0`, our runtime with
//! `CABLEWAY_WORKER_THREADS=1`, Puma with one process) and the generator on CPU 1; whole-box
//! mode pins nothing (ours with 2 workers, Puma `-w 2` on the redis adapter). Servers are
//! interleaved within each repetition (the order rotates per repetition); each figure is the
//! median with min–max over repetitions, with OURS ÷ PEER beside it. Every process binds
//! 127.0.0.1 and is stopped (by pid, with its children) when its run ends.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use cableway_bench::procfs;
use cableway_bench::scenario::payload;
use cableway_bench::stats::Spread;
use cableway_bench::{BodyFormat, Proto, Ramp, Report, Spec};
use serde_json::{json, Value};

const PEERS: [&str; 5] = ["ours", "ws", "sio", "rails", "floor"];
const SECRET: &str = "bench-jwt-secret-0123456789abcdef0123456789abcdef";
const PUBLISHER_KEY: &str = "bench-publisher-key-0123456789abcdef0123456789";
const CABLE_ID: &str = r#"{"channel":"NotificationChannel","account_id":"bench"}"#;

fn peer_label(p: &str) -> &'static str {
    match p {
        "ours" => "Cableway",
        "ws" => "Node ws",
        "sio" => "Socket.IO",
        "rails" => "Rails AC",
        "floor" => "raw floor",
        _ => "?",
    }
}

#[derive(Debug, Clone)]
struct Opts {
    kind: String,
    reps: usize,
    ns: Vec<usize>,
    peers: Vec<String>,
    modes: Vec<String>,
    out: PathBuf,
    gate: bool,
    profile: bool,
    wholebox_ns: Vec<usize>,
    wholebox_reps: usize,
    /// Peers of whole-box mode (the single-process ones behave as when pinned).
    wholebox_peers: Vec<String>,
    /// Repetitions at N ≥ 10k (they take longest).
    reps_10k: usize,
    /// N of the two-node mode (two nodes on one Redis beside one embedded node); empty: not run.
    two_node_ns: Vec<usize>,
}

fn parse_opts() -> Result<Opts> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let kind = args.first().cloned().unwrap_or_default();
    let mut o = match kind.as_str() {
        "quick" => Opts {
            kind: kind.clone(),
            reps: 2,
            ns: vec![1000],
            peers: PEERS.iter().map(|s| s.to_string()).collect(),
            modes: vec!["pinned".into(), "wholebox".into()],
            out: PathBuf::from("target/bench"),
            gate: true,
            profile: true,
            wholebox_ns: vec![1000],
            wholebox_reps: 1,
            wholebox_peers: vec!["ours".into(), "ws".into(), "rails".into()],
            reps_10k: 2,
            two_node_ns: Vec::new(),
        },
        "full" => Opts {
            kind: kind.clone(),
            reps: 5,
            ns: vec![1000, 5000, 10000],
            peers: PEERS.iter().map(|s| s.to_string()).collect(),
            modes: vec!["pinned".into(), "wholebox".into()],
            out: PathBuf::from("target/bench"),
            gate: true,
            profile: true,
            wholebox_ns: vec![5000],
            wholebox_reps: 2,
            wholebox_peers: vec!["ours".into(), "ws".into(), "rails".into()],
            reps_10k: 3,
            two_node_ns: vec![5000],
        },
        "two-node" => Opts {
            kind: kind.clone(),
            reps: 1,
            ns: Vec::new(),
            peers: vec!["ours".into()],
            modes: Vec::new(),
            out: PathBuf::from("target/bench"),
            gate: true,
            profile: false,
            wholebox_ns: Vec::new(),
            wholebox_reps: 1,
            wholebox_peers: Vec::new(),
            reps_10k: 1,
            two_node_ns: vec![1000],
        },
        _ => bail!("usage: bench quick|full|two-node [--reps N] [--ns 1000,5000] [--peers ours,ws,sio,rails,floor] [--modes pinned,wholebox] [--out DIR] [--no-gate] [--no-profile]"),
    };
    let mut i = 1;
    while i < args.len() {
        let val = || args.get(i + 1).cloned().context("missing value");
        match args[i].as_str() {
            "--reps" => {
                o.reps = val()?.parse()?;
                o.wholebox_reps = o.wholebox_reps.min(o.reps);
                o.reps_10k = o.reps_10k.min(o.reps);
                i += 1;
            }
            "--ns" if o.kind == "two-node" => {
                o.two_node_ns = val()?.split(',').map(|s| s.trim().parse()).collect::<Result<_, _>>()?;
                i += 1;
            }
            "--ns" => {
                o.ns = val()?.split(',').map(|s| s.trim().parse()).collect::<Result<_, _>>()?;
                o.wholebox_ns.retain(|n| o.ns.contains(n));
                if o.wholebox_ns.is_empty() {
                    o.wholebox_ns = vec![*o.ns.iter().max().unwrap_or(&1000)];
                }
                i += 1;
            }
            "--peers" => {
                o.peers = val()?.split(',').map(|s| s.trim().to_owned()).collect();
                if !o.peers.iter().any(|p| p == "ours") {
                    o.peers.insert(0, "ours".into());
                }
                i += 1;
            }
            "--modes" => {
                o.modes = val()?.split(',').map(|s| s.trim().to_owned()).collect();
                i += 1;
            }
            "--out" => {
                o.out = PathBuf::from(val()?);
                i += 1;
            }
            "--no-gate" => o.gate = false,
            "--no-profile" => o.profile = false,
            other => bail!("unknown option {other}"),
        }
        i += 1;
    }
    Ok(o)
}

impl Opts {
    fn reps_for(&self, mode: &str, n: usize) -> usize {
        match (mode, n) {
            ("pinned", n) if n >= 10_000 => self.reps_10k,
            ("pinned", _) => self.reps,
            _ => self.wholebox_reps,
        }
    }
}

/// Where everything is.
struct Paths {
    repo: PathBuf,
    cableway: PathBuf,
    loadgen: PathBuf,
    rawfloor: PathBuf,
    peers: PathBuf,
}

fn paths() -> Result<Paths> {
    let repo = cableway_bench::repo_root();
    let me = std::env::current_exe()?;
    let dir = me.parent().context("exe dir")?.to_owned();
    let cableway = std::env::var_os("CABLEWAY_BIN").map(PathBuf::from).unwrap_or_else(|| dir.join("cableway"));
    if !cableway.exists() {
        bail!("no release cableway binary at {} (set CABLEWAY_BIN or build with `cargo build --release -p cableway`)", cableway.display());
    }
    Ok(Paths { cableway, loadgen: dir.join("loadgen"), rawfloor: dir.join("rawfloor"), peers: repo.join("bench/peers"), repo })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(47999)
}

fn sh(cmd: &str) -> String {
    Command::new("sh").arg("-c").arg(cmd).output().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned()).unwrap_or_default()
}

/// Stops `pid` and every descendant (SIGKILL; nothing here needs a graceful end).
fn kill_tree(pid: u32) {
    let pids: Vec<String> = procfs::tree(pid).iter().map(|p| p.to_string()).collect();
    let _ = Command::new("kill").arg("-KILL").args(&pids).stderr(Stdio::null()).status();
}

/// A running server under test.
struct Running {
    child: Child,
    port: u16,
    /// Helper processes (redis for whole-box Rails).
    helpers: Vec<Child>,
}

impl Running {
    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        kill_tree(self.child.id());
        let _ = self.child.wait();
        for h in &mut self.helpers {
            kill_tree(h.id());
            let _ = h.wait();
        }
    }
}

fn wait_port(port: u16, child: &mut Child, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            bail!("exited before listening: {status}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("not listening on {port} after {timeout:?}")
}

fn start(p: &Paths, peer: &str, pinned: bool, log_dir: &Path) -> Result<Running> {
    let port = free_port();
    let log = std::fs::File::create(log_dir.join(format!("{peer}.log")))?;
    let mut cmd = if pinned {
        let mut c = Command::new("taskset");
        c.args(["-c", "0"]);
        c
    } else {
        Command::new("env")
    };
    let mut helpers = Vec::new();
    match peer {
        "ours" => {
            cmd.arg(&p.cableway).args(["serve", "--bind", &format!("127.0.0.1:{port}")]);
            cmd.env("CABLEWAY_JWT_SECRET", SECRET).env("CABLEWAY_PUBLISHER_KEY", PUBLISHER_KEY).env("CABLEWAY_LOG", "warn");
            cmd.env("CABLEWAY_WORKER_THREADS", if pinned { "1" } else { "2" });
        }
        "ws" => {
            cmd.arg("node").arg(p.peers.join("node/ws-server.js")).arg(port.to_string());
        }
        "sio" => {
            cmd.arg("node").arg(p.peers.join("node/sio-server.js")).arg(port.to_string());
        }
        "rails" => {
            cmd.arg("puma").args(["-b", &format!("tcp://127.0.0.1:{port}"), "-t", "5:5", "--dir"]).arg(p.peers.join("rails")).arg("config.ru");
            if !pinned {
                let rport = free_port();
                let redis = Command::new("redis-server")
                    .args(["--port", &rport.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .context("redis-server")?;
                helpers.push(redis);
                std::thread::sleep(Duration::from_millis(300));
                cmd.args(["-w", "2"]).env("CABLE_ADAPTER", "redis").env("REDIS_URL", format!("redis://127.0.0.1:{rport}/0"));
            }
        }
        "floor" => {
            cmd.arg(&p.rawfloor).arg(port.to_string());
        }
        other => bail!("unknown peer {other}"),
    }
    cmd.stdout(log.try_clone()?).stderr(log).stdin(Stdio::null());
    let child = cmd.spawn().with_context(|| format!("start {peer}"))?;
    let mut running = Running { child, port, helpers };
    wait_port(port, &mut running.child, Duration::from_secs(60)).with_context(|| format!("{peer} did not start; see {}", log_dir.join(format!("{peer}.log")).display()))?;
    // Puma answers before its workers are up; let every server finish booting.
    std::thread::sleep(Duration::from_millis(if peer == "rails" { 1500 } else { 300 }));
    Ok(running)
}

fn token() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let claims = json!({ "sub": "bench-user", "account_id": "bench", "permissions": [], "kind": "user", "iat": now, "exp": now + 3600 });
    let key = jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes());
    jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256), &claims, &key).expect("sign")
}

fn spec_for(o: &Opts, peer: &str, port: u16, n: usize, pid: u32) -> Spec {
    let base = format!("127.0.0.1:{port}");
    let (proto, url) = match peer {
        "ours" => (Proto::Cable, format!("ws://{base}/cable?token={}", token())),
        "rails" => (Proto::Cable, format!("ws://{base}/cable")),
        "ws" => (Proto::Ws, format!("ws://{base}/ws")),
        "sio" => (Proto::SocketIo, format!("ws://{base}/socket.io/?EIO=4&transport=websocket")),
        _ => (Proto::Floor, format!("ws://{base}/")),
    };
    let mut s = Spec::new(proto, &url, &base, n);
    if proto == Proto::Cable {
        s.subprotocol = Some("actioncable-v1-json".into());
        s.identifier = Some(if peer == "ours" { CABLE_ID.into() } else { r#"{"channel":"BenchChannel"}"#.into() });
    }
    if peer == "ours" {
        s.body = BodyFormat::Cableway;
        s.publish_bearer = Some(PUBLISHER_KEY.into());
    }
    s.server_pid = Some(pid);
    s.checkpoint = (n > 1000).then_some(1000);
    s.settle_ms = 1500;
    s.latency_msgs = 20;
    s.fanout_timeout_ms = 5000;
    s.ramp = Some(Ramp { step_ms: 1500, ..Ramp::default() });
    s.connect_budget_ms = Some(30_000);
    if peer == "rails" && n >= 5000 {
        // One Rails broadcast to 5k-10k subscribers takes seconds: fewer, slower messages.
        s.warmup = 1;
        s.latency_msgs = 5;
        s.fanout_timeout_ms = 10_000;
        s.ramp = Some(Ramp { step_ms: 1500, min_msgs: 2, max_steps: 4, refine: 1, ..Ramp::default() });
    }
    let _ = o;
    s
}

/// Runs `loadgen` with `args`, `stdin` as its input, pinned to CPU 1 when `pinned`; returns
/// stdout. Its stderr is echoed with a prefix; `on_line` sees every stderr line.
fn loadgen(p: &Paths, pinned: bool, args: &[&str], stdin: Option<&str>, prefix: &str, on_line: &mut dyn FnMut(&str), timeout: Duration) -> Result<String> {
    let mut cmd = if pinned {
        let mut c = Command::new("taskset");
        c.args(["-c", "1"]).arg(&p.loadgen);
        c
    } else {
        Command::new(&p.loadgen)
    };
    cmd.args(args).stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() }).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().context("start loadgen")?;
    if let Some(input) = stdin {
        child.stdin.take().context("stdin")?.write_all(input.as_bytes())?;
    }
    let stdout = child.stdout.take().context("stdout")?;
    let out_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut BufReader::new(stdout), &mut s);
        s
    });
    let stderr = BufReader::new(child.stderr.take().context("stderr")?);
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let err_thread = std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + timeout;
    loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                eprintln!("  {prefix} {line}");
                on_line(&line);
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
        }
        if Instant::now() > deadline {
            kill_tree(child.id());
            let _ = child.wait();
            bail!("loadgen timed out after {timeout:?}");
        }
    }
    let _ = err_thread.join();
    let status = child.wait()?;
    let out = out_thread.join().unwrap_or_default();
    if !status.success() {
        bail!("loadgen failed: {status}");
    }
    Ok(out)
}

fn load1() -> f64 {
    procfs::loadavg()[0]
}

/// The quiet-machine gate: waits up to `BENCH_GATE_WAIT` s (default 120) for the 1-minute
/// load average to fall under `BENCH_MAX_LOAD` (default 0.5). Fails unless `BENCH_FORCE=1`.
fn gate(enabled: bool) -> Result<Value> {
    let max: f64 = std::env::var("BENCH_MAX_LOAD").ok().and_then(|v| v.parse().ok()).unwrap_or(0.5);
    let wait: u64 = std::env::var("BENCH_GATE_WAIT").ok().and_then(|v| v.parse().ok()).unwrap_or(120);
    let force = std::env::var("BENCH_FORCE").is_ok_and(|v| v == "1");
    let start = Instant::now();
    let before = procfs::loadavg();
    let mut quiet = !enabled || before[0] < max;
    while enabled && !quiet && start.elapsed() < Duration::from_secs(wait) {
        eprintln!("gate: load average {:.2} >= {max}; waiting (up to {wait} s)", load1());
        std::thread::sleep(Duration::from_secs(10));
        quiet = load1() < max;
    }
    let busy = procfs::busy_processes(Duration::from_secs(1), 0.05, &[std::process::id()]);
    let after = procfs::loadavg();
    let verdict = if !enabled {
        "disabled (--no-gate)"
    } else if quiet {
        "quiet"
    } else if force {
        "NOT QUIET (BENCH_FORCE=1)"
    } else {
        "NOT QUIET"
    };
    eprintln!("gate: load average {:.2} {:.2} {:.2} -> {verdict}", after[0], after[1], after[2]);
    let g = json!({
        "enabled": enabled, "max_load1": max, "load_at_start": before, "load_at_gate": after, "waited_secs": start.elapsed().as_secs(),
        "verdict": verdict, "busy_processes": busy.iter().map(|(p, s, c)| json!({"pid": p, "cpu_share": s, "comm": c})).collect::<Vec<_>>(),
    });
    if !quiet && !force {
        bail!(
            "the machine is not quiet (1-min load average {:.2} >= {max}); retry later, raise BENCH_MAX_LOAD, or set BENCH_FORCE=1 to run anyway (the report then says NOT QUIET)",
            load1()
        );
    }
    Ok(g)
}

fn machine() -> Value {
    let cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2");
    json!({
        "cpu": cpu.trim(), "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "mem": sh("grep MemTotal /proc/meminfo | awk '{printf \"%.1f GiB\", $2/1048576}'"),
        "kernel": sh("uname -r"), "os": sh(". /etc/os-release && echo $PRETTY_NAME"),
        "date": sh("date -u +%Y-%m-%dT%H:%MZ"),
        "commit": sh("git -C \"$(dirname \"$0\")\" rev-parse --short HEAD 2>/dev/null || true"),
        "node": sh("node --version"), "ruby": sh("ruby -e 'print RUBY_VERSION' 2>/dev/null"),
        "puma": sh("puma --version 2>/dev/null | head -1"),
        "actioncable": sh("dpkg-query -W -f='${Version}' ruby-actioncable 2>/dev/null"),
        "ws": sh("node -p \"require('./bench/peers/node/node_modules/ws/package.json').version\" 2>/dev/null"),
        "socket_io": sh("node -p \"require('./bench/peers/node/node_modules/socket.io/package.json').version\" 2>/dev/null"),
        "rustc": sh("rustc --version"),
    })
}

fn main() -> Result<()> {
    let o = parse_opts()?;
    let p = paths()?;
    std::env::set_current_dir(&p.repo)?;
    let stamp = sh("date -u +%Y%m%dT%H%M%SZ");
    let out = if o.out.is_absolute() { o.out.clone() } else { p.repo.join(&o.out) };
    let log_dir = out.join(format!("logs-{}-{stamp}", o.kind));
    std::fs::create_dir_all(&log_dir)?;
    let t0 = Instant::now();
    let gate = gate(o.gate)?;
    let mut runs: Vec<Value> = Vec::new();
    // A server that could not take N subscribers (> 1% of connects failed) is not run again
    // at that N: each attempt costs the connect budget and measures nothing new.
    let mut collapsed: Vec<(String, usize, String)> = Vec::new();

    // The fan-out matrix.
    for mode in &o.modes {
        let pinned = mode == "pinned";
        let ns = if pinned { o.ns.clone() } else { o.wholebox_ns.clone() };
        let peers: Vec<String> = if pinned { o.peers.clone() } else { o.peers.iter().filter(|p| o.wholebox_peers.contains(p)).cloned().collect() };
        for &n in &ns {
            let reps = o.reps_for(mode, n);
            for rep in 0..reps {
                let k = peers.len();
                for i in 0..k {
                    let peer = peers[(i + rep) % k].clone();
                    if collapsed.contains(&(mode.clone(), n, peer.clone())) {
                        continue;
                    }
                    let prefix = format!("[{mode} N={n} rep {}/{reps} {peer}]", rep + 1);
                    eprintln!("{prefix} start ({:.0} s elapsed, load {:.2})", t0.elapsed().as_secs_f64(), load1());
                    let load_before = procfs::loadavg();
                    let result = (|| -> Result<Report> {
                        let server = start(&p, &peer, pinned, &log_dir)?;
                        let spec = spec_for(&o, &peer, server.port, n, server.pid());
                        let text = loadgen(&p, pinned, &["run", "-"], Some(&serde_json::to_string(&spec)?), &prefix, &mut |_| {}, Duration::from_secs(600))?;
                        drop(server);
                        Ok(serde_json::from_str(text.trim())?)
                    })();
                    let load_after = procfs::loadavg();
                    match result {
                        Ok(r) => {
                            eprintln!(
                                "{prefix} accept {:.0}/s, fan-out p99 {:.1} ms, sustained {:.0}/s at {:.2} us/delivery, lost {} dup {}",
                                r.accept_per_s,
                                r.latency.full_fanout.p99_ms,
                                r.sustained.as_ref().map_or(0.0, |s| s.delivered_per_s),
                                r.sustained.as_ref().and_then(|s| s.server_cpu_us_per_delivery).unwrap_or(f64::NAN),
                                r.lost,
                                r.duplicates
                            );
                            if r.connect_failures * 100 > n {
                                eprintln!("{prefix} {} of {n} connects failed: not repeated at this N", r.connect_failures);
                                collapsed.push((mode.clone(), n, peer.clone()));
                            }
                            runs.push(json!({"mode": mode, "n": n, "rep": rep, "peer": peer, "load_before": load_before, "load_after": load_after, "report": r}));
                        }
                        Err(e) => {
                            eprintln!("{prefix} FAILED: {e:#}");
                            runs.push(json!({"mode": mode, "n": n, "rep": rep, "peer": peer, "load_before": load_before, "load_after": load_after, "error": format!("{e:#}")}));
                        }
                    }
                    std::thread::sleep(Duration::from_millis(500));
                }
            }
        }
    }

    let two_nodes: Vec<Value> = o.two_node_ns.iter().map(|&n| two_node(&o, &p, &log_dir, n).unwrap_or_else(|e| json!({"n": n, "error": format!("{e:#}")}))).collect();
    if o.kind == "two-node" {
        let doc = json!({ "meta": { "kind": o.kind, "machine": machine(), "gate": gate, "load_at_end": procfs::loadavg(), "wall_secs": t0.elapsed().as_secs_f64() }, "two_nodes": two_nodes });
        let mut md = format!("# Cableway benchmark — two-node run\n\n{} · commit {} · gate: {}\n", doc["meta"]["machine"]["date"].as_str().unwrap_or(""), doc["meta"]["machine"]["commit"].as_str().unwrap_or(""), doc["meta"]["gate"]["verdict"].as_str().or(doc["meta"]["gate"].as_str()).unwrap_or("?"));
        for v in &two_nodes {
            two_node_markdown(&mut md, v);
        }
        for name in [format!("{}-{stamp}", o.kind), o.kind.clone()] {
            std::fs::write(out.join(format!("{name}.json")), serde_json::to_string_pretty(&doc)?)?;
            std::fs::write(out.join(format!("{name}.md")), &md)?;
        }
        println!("{md}");
        eprintln!("wrote {}/{}.md and .json ({:.0} s)", out.display(), o.kind, t0.elapsed().as_secs_f64());
        return Ok(());
    }
    let pathcost = publish_path(&o, &p, &log_dir).unwrap_or_else(|e| json!({"error": format!("{e:#}")}));
    let file_limit = if o.kind == "full" && o.peers.iter().any(|x| x == "ours") { file_limit(&o, &p, &log_dir).unwrap_or_else(|e| json!({"error": format!("{e:#}")})) } else { Value::Null };
    let publish_rate = publish_rate(&o, &p, &log_dir).unwrap_or_else(|e| json!({"error": format!("{e:#}")}));
    let jwt = jwt_cost(&p).unwrap_or_else(|e| json!({"error": format!("{e:#}")}));
    let profile = if o.profile { profile(&o, &p, &log_dir, &runs, &out, &stamp).unwrap_or_else(|e| json!({"error": format!("{e:#}")})) } else { Value::Null };

    let aggregates = aggregate(&runs);
    let meta = json!({
        "kind": o.kind, "reps": o.reps, "reps_10k": o.reps_10k, "ns": o.ns, "peers": o.peers, "modes": o.modes, "wholebox_ns": o.wholebox_ns, "wholebox_reps": o.wholebox_reps, "wholebox_peers": o.wholebox_peers,
        "machine": machine(), "gate": gate, "load_at_end": procfs::loadavg(), "wall_secs": t0.elapsed().as_secs_f64(),
    });
    let doc = json!({ "meta": meta, "aggregates": aggregates, "pathcost": pathcost, "publish_rate": publish_rate, "file_limit": file_limit, "jwt": jwt, "profile": profile, "runs": runs, "two_nodes": two_nodes });
    let mut md = markdown(&o, &doc);
    for v in &two_nodes {
        two_node_markdown(&mut md, v);
    }
    for name in [format!("{}-{stamp}", o.kind), o.kind.clone()] {
        std::fs::write(out.join(format!("{name}.json")), serde_json::to_string_pretty(&doc)?)?;
        std::fs::write(out.join(format!("{name}.md")), &md)?;
    }
    println!("{md}");
    eprintln!("wrote {}/{}.md and .json ({:.0} s)", out.display(), o.kind, t0.elapsed().as_secs_f64());
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Publish path, JWT, profile
// ---------------------------------------------------------------------------------------

/// The four publish bodies: the same data validated by its schema, or carried in an
/// `x-opaque` field (McpChannel `mcp.message` → `message.params`), at ~200 B and ~2 KB.
fn pathcost_bodies() -> Vec<(&'static str, String)> {
    let small = payload(1, 200);
    let ids: Vec<String> = (0..56).map(|i| format!("\"notification-{i:04}-0123456789abcdef\"")).collect();
    let large = format!(r#"{{"account_id":"bench","user_id":"u1","notification_ids":[{}],"all":false,"read_at":"2026-01-01T00:00:00Z"}}"#, ids.join(","));
    let opaque = |data: &str| {
        format!(r#"{{"channel":"McpChannel","event":"mcp.message","payload":{{"recipient_id":"pathcost","message":{{"jsonrpc":"2.0","method":"bench","params":{data}}}}}}}"#)
    };
    vec![
        ("validated 200 B (new_notification)", format!(r#"{{"channel":"NotificationChannel","event":"new_notification","payload":{small}}}"#)),
        ("x-opaque 200 B (mcp.message)", opaque(&small)),
        ("validated 2 KB (notifications_read, 56 ids)", format!(r#"{{"channel":"NotificationChannel","event":"notifications_read","payload":{large}}}"#)),
        ("x-opaque 2 KB (mcp.message)", opaque(&large)),
    ]
}

fn publish_path(o: &Opts, p: &Paths, log_dir: &Path) -> Result<Value> {
    if !o.modes.iter().any(|m| m == "pinned") {
        return Ok(Value::Null);
    }
    let secs = if o.kind == "quick" { "2" } else { "3" };
    let bodies = pathcost_bodies();
    let mut files = Vec::new();
    for (i, (_, b)) in bodies.iter().enumerate() {
        let f = log_dir.join(format!("pathcost-{i}.json"));
        std::fs::write(&f, b)?;
        files.push(f);
    }
    let server = start(p, "ours", true, log_dir)?;
    let addr = format!("127.0.0.1:{}", server.port);
    let pid = server.pid().to_string();
    let mut samples: Vec<Vec<Value>> = vec![Vec::new(); bodies.len()];
    let reps = if o.kind == "quick" { 1 } else { o.reps.min(3) };
    for rep in 0..reps {
        for (i, f) in files.iter().enumerate() {
            let prefix = format!("[publish path rep {}/{reps} #{i}]", rep + 1);
            let text = loadgen(p, true, &["publish", &addr, PUBLISHER_KEY, f.to_str().unwrap_or_default(), secs, "2", &pid], None, &prefix, &mut |_| {}, Duration::from_secs(60))?;
            samples[i].push(serde_json::from_str(text.trim())?);
        }
    }
    drop(server);
    let mut rows = Vec::new();
    for (i, (label, body)) in bodies.iter().enumerate() {
        let get = |k: &str| Spread::of(&samples[i].iter().filter_map(|v| v.pointer(k).and_then(Value::as_f64)).collect::<Vec<_>>());
        let failed: u64 = samples[i].iter().filter_map(|v| v["failed"].as_u64()).sum();
        let first_error = samples[i].iter().find_map(|v| v["first_error"].as_str().map(str::to_owned));
        rows.push(json!({ "label": label, "body_bytes": body.len(), "per_s": get("/per_s"), "server_cpu_us_per_publish": get("/server_cpu_us_per_publish"), "p50_ms": get("/latency/p50_ms"), "failed": failed, "first_error": first_error, "samples": samples[i] }));
    }
    Ok(json!({ "reps": reps, "secs": secs, "connections": 2, "rows": rows }))
}

/// Subscribers of the one-process row: what fits under the 20,000 open files of one process.
const FILE_LIMIT_N: usize = 19_000;

/// One Cableway process at the open-file limit (pinned): 19,000 subscribed connections from
/// two generator processes (sources 127.0.0.1 and 127.0.0.2, 9,500 each, both on CPU 1).
/// The second only listens; the first publishes. Reports the server's RSS, KiB per
/// connection (the slope between 9,500 and 19,000, and with the baseline), and the time
/// for one broadcast to reach all 19,000 (from the publish to the last receipt of either).
fn file_limit(o: &Opts, p: &Paths, log_dir: &Path) -> Result<Value> {
    let half = FILE_LIMIT_N / 2;
    let server = start(p, "ours", true, log_dir)?;
    let pid = server.pid();
    let rss_empty = procfs::rss_kib(pid);
    let stop = log_dir.join("file-limit.stop");
    let _ = std::fs::remove_file(&stop);
    let mut listener = spec_for(o, "ours", server.port, half, pid);
    listener.sources = vec!["127.0.0.2".into()];
    listener.listen_only = true;
    listener.stop_file = Some(stop.display().to_string());
    listener.checkpoint = None;
    listener.ramp = None;
    let mut publisher = spec_for(o, "ours", server.port, half, pid);
    publisher.sources = vec!["127.0.0.1".into()];
    publisher.receipts = true;
    publisher.checkpoint = None;
    publisher.ramp = None;
    publisher.latency_msgs = 10;
    publisher.fanout_timeout_ms = 10_000;
    let (listening_tx, listening_rx) = std::sync::mpsc::channel::<()>();
    let listener_json = serde_json::to_string(&listener)?;
    let (passive, active) = std::thread::scope(|scope| -> Result<(String, String)> {
        let passive = scope.spawn(|| {
            let mut tx = Some(listening_tx);
            loadgen(p, true, &["run", "-"], Some(&listener_json), "[file limit, listener]", &mut |line| {
                if line.trim() == "phase: listening" {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(());
                    }
                }
            }, Duration::from_secs(300))
        });
        let ready = listening_rx.recv_timeout(Duration::from_secs(120));
        let active = if ready.is_ok() {
            loadgen(p, true, &["run", "-"], Some(&serde_json::to_string(&publisher)?), "[file limit, publisher]", &mut |_| {}, Duration::from_secs(300))
        } else {
            Err(anyhow::anyhow!("the listening generator did not connect its {half} subscribers"))
        };
        std::fs::write(&stop, b"stop")?;
        let passive = passive.join().map_err(|_| anyhow::anyhow!("listener thread"))??;
        Ok((passive, active?))
    })?;
    drop(server);
    let (a, b): (Report, Report) = (serde_json::from_str(active.trim())?, serde_json::from_str(passive.trim())?);
    let connected = a.connected + b.connected;
    let full: Vec<f64> = a
        .receipts
        .iter()
        .filter_map(|ra| {
            let rb = b.receipts.iter().find(|r| r.seq == ra.seq)?;
            let complete = ra.count as usize == a.connected && rb.count as usize == b.connected;
            let last = ra.last_unix_us?.max(rb.last_unix_us?);
            let sent = ra.sent_unix_us?;
            complete.then(|| last.saturating_sub(sent) as f64 / 1000.0)
        })
        .collect();
    let rss_idle = a.rss_kib_idle;
    let slope = a.rss_kib_start.zip(rss_idle).filter(|_| a.connected > 0).map(|(s0, s1)| (s1 as f64 - s0 as f64) / a.connected as f64);
    let with_base = Some(rss_empty).zip(rss_idle).filter(|_| connected > 0).map(|(s0, s1)| (s1 as f64 - s0 as f64) / connected as f64);
    let p99 = {
        let mut v = full.clone();
        v.sort_by(f64::total_cmp);
        cableway_bench::stats::quantile_sorted(&v, 0.99)
    };
    let errors: Vec<String> = a.errors.iter().chain(&b.errors).cloned().collect();
    Ok(json!({
        "n": FILE_LIMIT_N, "connected": connected, "connect_failures": a.connect_failures + b.connect_failures,
        "rss_idle_mib": rss_idle.map(|r| r as f64 / 1024.0), "kib_per_conn_slope": slope, "kib_per_conn_with_baseline": with_base,
        "broadcasts": full.len(), "fanout_all_ms": Spread::of(&full), "fanout_all_p99_ms": p99,
        "lost": a.lost, "duplicates": a.duplicates + b.duplicates, "errors": errors,
    }))
}

/// Publications per second per core over keep-alive HTTP, one publication per request and
/// batches of 100 (≈ 200 B payload each), for Cableway (`POST /broadcast`: parse, validate,
/// envelope, history) and Node `ws` (`POST /publish`: parse, envelope, send), pinned, with
/// no subscriber. Per core = publications ÷ server CPU seconds.
fn publish_rate(o: &Opts, p: &Paths, log_dir: &Path) -> Result<Value> {
    if !o.modes.iter().any(|m| m == "pinned") || !o.peers.iter().any(|x| x == "ws") {
        return Ok(Value::Null);
    }
    let secs = if o.kind == "quick" { "2" } else { "3" };
    let reps = if o.kind == "quick" { 1 } else { o.reps.min(3) };
    let event = format!(r#"{{"channel":"NotificationChannel","event":"new_notification","payload":{}}}"#, payload(1, 200));
    let batch = format!("[{}]", vec![event.as_str(); 100].join(","));
    let bodies = [("single", 1usize, event.clone()), ("batch of 100", 100, batch)];
    let mut rows = Vec::new();
    for peer in ["ours", "ws"] {
        for (label, per_request, body) in &bodies {
            let f = log_dir.join(format!("publish-rate-{peer}-{per_request}.json"));
            std::fs::write(&f, body)?;
            let mut samples = Vec::new();
            for rep in 0..reps {
                let server = start(p, peer, true, log_dir)?;
                let addr = format!("127.0.0.1:{}", server.port);
                let pid = server.pid().to_string();
                let (bearer, path) = if peer == "ours" { (PUBLISHER_KEY, "/broadcast") } else { ("-", "/publish") };
                let prefix = format!("[publish rate {peer} {label} rep {}/{reps}]", rep + 1);
                let text = loadgen(p, true, &["publish", &addr, bearer, f.to_str().unwrap_or_default(), secs, "2", &pid, path], None, &prefix, &mut |_| {}, Duration::from_secs(60))?;
                drop(server);
                samples.push(serde_json::from_str::<Value>(text.trim())?);
            }
            let per_core: Vec<f64> = samples.iter().filter_map(|v| v["server_cpu_us_per_publish"].as_f64()).filter(|c| *c > 0.0).map(|c| 1e6 * *per_request as f64 / c).collect();
            let per_s: Vec<f64> = samples.iter().filter_map(|v| v["per_s"].as_f64()).map(|r| r * *per_request as f64).collect();
            let failed: u64 = samples.iter().filter_map(|v| v["failed"].as_u64()).sum();
            rows.push(json!({ "peer": peer, "label": label, "per_request": per_request, "publications_per_core_s": Spread::of(&per_core), "publications_per_s": Spread::of(&per_s), "failed": failed, "samples": samples }));
        }
    }
    Ok(json!({ "secs": secs, "reps": reps, "connections": 2, "rows": rows }))
}

fn jwt_cost(p: &Paths) -> Result<Value> {
    let text = loadgen(p, true, &["jwt", SECRET, &token(), "20000"], None, "[jwt]", &mut |_| {}, Duration::from_secs(120))?;
    Ok(serde_json::from_str(text.trim())?)
}

/// `perf record` of our server during a fixed-rate phase at the largest pinned N (5k when
/// measured), at 80% of the sustained rate measured for it.
fn profile(o: &Opts, p: &Paths, log_dir: &Path, runs: &[Value], out: &Path, stamp: &str) -> Result<Value> {
    if sh("command -v perf").is_empty() {
        return Ok(json!({"error": "perf is not installed"}));
    }
    let n = if o.ns.contains(&5000) { 5000 } else { *o.ns.iter().max().unwrap_or(&1000) };
    let rates: Vec<f64> = runs
        .iter()
        .filter(|r| r["peer"] == "ours" && r["mode"] == "pinned" && r["n"] == n)
        .filter_map(|r| r.pointer("/report/sustained/delivered_per_s").and_then(Value::as_f64))
        .collect();
    let rate = Spread::of(&rates).map_or(20_000.0, |s| s.median) * 0.8;
    let secs = 8.0;
    let server = start(p, "ours", true, log_dir)?;
    let mut spec = spec_for(o, "ours", server.port, n, server.pid());
    spec.ramp = None;
    spec.latency_msgs = 5;
    spec.hold = Some((rate, secs));
    let data = out.join(format!("perf-ours-{stamp}.data"));
    let mut perf: Option<Child> = None;
    let pid = server.pid().to_string();
    let data2 = data.clone();
    let text = loadgen(
        p,
        true,
        &["run", "-"],
        Some(&serde_json::to_string(&spec)?),
        "[profile]",
        &mut |line| {
            if line.trim() == "phase: hold" && perf.is_none() {
                perf = Command::new("perf")
                    .args(["record", "-F", "999", "-p", &pid, "-o"])
                    .arg(&data2)
                    .args(["--", "sleep", "6"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .ok();
            }
        },
        Duration::from_secs(300),
    )?;
    if let Some(mut c) = perf {
        let _ = c.wait();
    }
    drop(server);
    let report: Report = serde_json::from_str(text.trim())?;
    let by = |sort: &str, limit: &str| {
        sh(&format!("perf report -i '{}' --stdio --no-children --sort {sort} --percent-limit {limit} 2>/dev/null | grep -v '^#' | grep -v '^$'", data.display()))
    };
    let dso = by("dso", "0.5");
    let sym = by("dso,sym", "0.8");
    let txt = out.join(format!("profile-ours-{stamp}.txt"));
    std::fs::write(&txt, format!("perf record -F 999 -p <cableway> at N={n}, {rate:.0} deliveries/s offered\n\n== by DSO\n{dso}\n\n== by symbol\n{sym}\n"))?;
    let _ = std::fs::remove_file(&data);
    Ok(json!({ "n": n, "offered_deliveries_per_s": rate, "hold": report.hold, "by_dso": dso, "by_symbol": sym, "file": txt }))
}

// ---------------------------------------------------------------------------------------
// Aggregation and the Markdown report
// ---------------------------------------------------------------------------------------

/// The figures of one run, by metric name.
fn figures(r: &Value) -> BTreeMap<&'static str, f64> {
    let mut m = BTreeMap::new();
    let f = |p: &str| r.pointer(p).and_then(Value::as_f64);
    let mut put = |k: &'static str, v: Option<f64>| {
        if let Some(v) = v.filter(|v| v.is_finite()) {
            m.insert(k, v);
        }
    };
    put("accept_per_s", f("/accept_per_s"));
    put("connect_p99_ms", f("/connect_latency/p99_ms"));
    put("cpu_us_per_connect", f("/server_cpu_us_per_connect"));
    put("lat_p50_ms", f("/latency/per_recipient/p50_ms"));
    put("lat_p99_ms", f("/latency/per_recipient/p99_ms"));
    put("fanout_p50_ms", f("/latency/full_fanout/p50_ms"));
    put("fanout_p99_ms", f("/latency/full_fanout/p99_ms"));
    put("sustained_per_s", f("/sustained/delivered_per_s"));
    put("cpu_us_per_delivery", f("/sustained/server_cpu_us_per_delivery"));
    put("gen_cpu_share", f("/sustained/generator_cpu_share"));
    put("frames_per_write", f("/sustained/frames_per_write"));
    let n = f("/n").unwrap_or(0.0);
    let idle = f("/rss_kib_idle");
    put("rss_idle_mib", idle.map(|v| v / 1024.0));
    // Memory per idle connection: the slope between the 1k checkpoint and N when there is
    // one, otherwise (N = 1k) against the empty server, baseline included.
    let slope = match (r.pointer("/rss_kib_checkpoint").and_then(Value::as_array), idle, f("/connected")) {
        (Some(cp), Some(idle), Some(conns)) if cp.len() == 2 => {
            let (c, rss) = (cp[0].as_f64().unwrap_or(0.0), cp[1].as_f64().unwrap_or(0.0));
            (conns > c).then(|| (idle - rss) / (conns - c))
        }
        (None, Some(idle), Some(conns)) if conns > 0.0 => f("/rss_kib_start").map(|s| (idle - s) / conns),
        _ => None,
    };
    put("kib_per_conn", slope);
    put("idle_cpu_pct", f("/idle_server_cpu_share").map(|v| v * 100.0));
    put("lost", f("/lost"));
    put("duplicates", f("/duplicates"));
    put("disconnects", f("/disconnects"));
    put("connect_failures", f("/connect_failures"));
    put("publish_errors", f("/publish_errors"));
    let _ = n;
    m
}

/// Rows of the tables: metric, label, unit, lower is better, summed instead of median.
const METRICS: &[(&str, &str, bool, bool)] = &[
    ("lat_p50_ms", "per-recipient latency p50 (ms)", true, false),
    ("lat_p99_ms", "per-recipient latency p99 (ms)", true, false),
    ("fanout_p50_ms", "full fan-out p50 (ms)", true, false),
    ("fanout_p99_ms", "full fan-out p99 (ms)", true, false),
    ("sustained_per_s", "sustained deliveries/s (0 missing, p99 ≤ 1 s, keeps up)", false, false),
    ("cpu_us_per_delivery", "server CPU µs/delivery at that rate", true, false),
    ("gen_cpu_share", "generator CPU share at that rate", true, false),
    ("frames_per_write", "frames per write() at that rate (Cableway's /health)", false, false),
    ("kib_per_conn", "idle memory KiB/connection", true, false),
    ("rss_idle_mib", "idle RSS at N (MiB)", true, false),
    ("idle_cpu_pct", "idle server CPU % (pings, timers)", true, false),
    ("accept_per_s", "accept rate (conn/s through confirm, 200 in flight)", false, false),
    ("connect_p99_ms", "connect p99 (ms)", true, false),
    ("cpu_us_per_connect", "server CPU µs/connect", true, false),
    ("lost", "lost deliveries (sum)", true, true),
    ("duplicates", "duplicate deliveries (sum)", true, true),
    ("disconnects", "server-closed connections (sum)", true, true),
    ("connect_failures", "failed connects (sum)", true, true),
];

fn aggregate(runs: &[Value]) -> Value {
    // mode -> n -> peer -> metric -> values
    let mut acc: BTreeMap<(String, u64, String), BTreeMap<&'static str, Vec<f64>>> = BTreeMap::new();
    let mut failures: BTreeMap<(String, u64, String), usize> = BTreeMap::new();
    for r in runs {
        let key = (r["mode"].as_str().unwrap_or_default().to_owned(), r["n"].as_u64().unwrap_or(0), r["peer"].as_str().unwrap_or_default().to_owned());
        match r.get("report") {
            Some(rep) => {
                let e = acc.entry(key).or_default();
                for (k, v) in figures(rep) {
                    e.entry(k).or_default().push(v);
                }
            }
            None => *failures.entry(key).or_default() += 1,
        }
    }
    let mut out = Vec::new();
    for ((mode, n, peer), metrics) in &acc {
        let mut m = serde_json::Map::new();
        for (k, _, _, sum) in METRICS {
            if let Some(vals) = metrics.get(k) {
                if *sum {
                    m.insert((*k).into(), json!({ "sum": vals.iter().sum::<f64>(), "n": vals.len() }));
                } else if let Some(s) = Spread::of(vals) {
                    m.insert((*k).into(), serde_json::to_value(s).unwrap_or_default());
                }
            }
        }
        let failed = failures.get(&(mode.clone(), *n, peer.clone())).copied().unwrap_or(0);
        out.push(json!({ "mode": mode, "n": n, "peer": peer, "failed_runs": failed, "metrics": m }));
    }
    for ((mode, n, peer), failed) in &failures {
        if !acc.contains_key(&(mode.clone(), *n, peer.clone())) {
            out.push(json!({ "mode": mode, "n": n, "peer": peer, "failed_runs": failed, "metrics": {} }));
        }
    }
    Value::Array(out)
}

fn fmt_num(v: f64) -> String {
    let a = v.abs();
    if a >= 10_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn cell(v: &Value) -> String {
    if let Some(sum) = v.get("sum").and_then(Value::as_f64) {
        return format!("{sum:.0}");
    }
    match (v["median"].as_f64(), v["min"].as_f64(), v["max"].as_f64(), v["n"].as_u64()) {
        (Some(m), Some(lo), Some(hi), Some(n)) if n > 1 => format!("{} ({}–{})", fmt_num(m), fmt_num(lo), fmt_num(hi)),
        (Some(m), _, _, _) => fmt_num(m),
        _ => "–".into(),
    }
}

fn median_of(agg: &Value, mode: &str, n: u64, peer: &str, metric: &str) -> Option<f64> {
    let row = agg.as_array()?.iter().find(|r| r["mode"] == mode && r["n"] == n && r["peer"] == peer)?;
    let m = &row["metrics"][metric];
    m["median"].as_f64().or_else(|| m["sum"].as_f64())
}

fn markdown(o: &Opts, doc: &Value) -> String {
    let meta = &doc["meta"];
    let mach = &meta["machine"];
    let agg = &doc["aggregates"];
    let mut s = String::new();
    let w = &mut s;
    use std::fmt::Write as _;
    let _ = writeln!(w, "# Cableway benchmark — {} run\n", o.kind);
    let _ = writeln!(
        w,
        "{} · {} ({} cores, {}) · {} · kernel {} · commit {} · {:.0} min wall\n",
        mach["date"].as_str().unwrap_or(""),
        mach["cpu"].as_str().unwrap_or(""),
        mach["cores"],
        mach["mem"].as_str().unwrap_or(""),
        mach["os"].as_str().unwrap_or(""),
        mach["kernel"].as_str().unwrap_or(""),
        mach["commit"].as_str().unwrap_or(""),
        meta["wall_secs"].as_f64().unwrap_or(0.0) / 60.0
    );
    let _ = writeln!(
        w,
        "Peers: Node {} with ws {} and socket.io {}; Rails Action Cable {} on Puma {} (Ruby {}); raw floor = `rawfloor` (one pre-encoded frame, one `write()` per socket, no server logic). Generator: `loadgen` (one thread, tokio-tungstenite, 4 KiB read buffer, TCP_NODELAY).\n",
        mach["node"].as_str().unwrap_or("?"),
        mach["ws"].as_str().unwrap_or("?"),
        mach["socket_io"].as_str().unwrap_or("?"),
        mach["actioncable"].as_str().unwrap_or("?"),
        mach["puma"].as_str().unwrap_or("?"),
        mach["ruby"].as_str().unwrap_or("?")
    );
    let g = &meta["gate"];
    let loads: Vec<f64> =
        doc["runs"].as_array().map(|a| a.iter().flat_map(|r| [r["load_before"][0].as_f64(), r["load_after"][0].as_f64()]).flatten().collect()).unwrap_or_default();
    let (lmin, lmax) = loads.iter().fold((f64::INFINITY, 0.0f64), |(a, b), v| (a.min(*v), b.max(*v)));
    let busy: Vec<String> = g["busy_processes"]
        .as_array()
        .map(|a| a.iter().map(|b| format!("{} {:.0}%", b["comm"].as_str().unwrap_or("?"), b["cpu_share"].as_f64().unwrap_or(0.0) * 100.0)).collect())
        .unwrap_or_default();
    let _ = writeln!(
        w,
        "Quiet-machine gate: **{}** (1-min load {:.2} at start, limit {}; other busy processes: {}). Load average (1 min) before/after each run ranged {:.2}–{:.2}; the bench itself keeps two cores busy, so the load it reports during the run is mostly its own. Per-run values are in the JSON.\n",
        g["verdict"].as_str().unwrap_or("?"),
        g["load_at_gate"][0].as_f64().unwrap_or(f64::NAN),
        g["max_load1"],
        if busy.is_empty() { "none".into() } else { busy.join(", ") },
        if lmin.is_finite() { lmin } else { f64::NAN },
        lmax
    );
    let _ = writeln!(
        w,
        "Each cell: median (min–max) over repetitions; ratio columns are OURS ÷ PEER of the medians (for latency, CPU and memory lower is better, so < 1 favours Cableway; for rates > 1 does). Payload ≈ 200 B; Cableway adds its envelope (`event`, `timestamp`) and the ActionCable wrapper, Rails the wrapper.\n"
    );
    summary(w, o, agg);
    for mode in &o.modes {
        let pinned = mode == "pinned";
        let ns = if pinned { &o.ns } else { &o.wholebox_ns };
        let reps: Vec<String> = ns.iter().map(|n| format!("{} at N={n}", o.reps_for(mode, *n))).collect();
        let reps = reps.join(", ");
        let _ = writeln!(
            w,
            "## {} mode\n\n{}\n",
            if pinned { "Pinned" } else { "Whole-box" },
            if pinned {
                format!("Server on CPU 0 (`taskset -c 0`; Cableway with `CABLEWAY_WORKER_THREADS=1`, Puma one process `-t 5:5` on the async adapter, Node single process), generator on CPU 1. Repetitions: {reps}; servers interleaved, order rotated per repetition.")
            } else {
                format!("Nothing pinned: Cableway with 2 workers, Puma `-w 2 -t 5:5` on the redis adapter (redis-server on loopback), Node `ws` single process (one event loop; Socket.IO and the floor are single-threaded too and are measured in pinned mode only). Repetitions: {reps}.")
            }
        );
        for &n in ns {
            let present: Vec<&String> =
                o.peers.iter().filter(|p| agg.as_array().is_some_and(|a| a.iter().any(|r| r["mode"] == mode.as_str() && r["n"] == n && r["peer"] == p.as_str()))).collect();
            if present.is_empty() {
                continue;
            }
            let _ = writeln!(w, "### N = {n} subscribers on one stream\n");
            let others: Vec<&&String> = present.iter().filter(|p| p.as_str() != "ours").collect();
            let _ = write!(w, "| figure |");
            for p in &present {
                let _ = write!(w, " {} |", peer_label(p));
            }
            for p in &others {
                let _ = write!(w, " ours ÷ {} |", peer_label(p));
            }
            let _ = writeln!(w);
            let _ = writeln!(w, "|---|{}", "---|".repeat(present.len() + others.len()));
            for (k, label, _, _) in METRICS {
                let _ = write!(w, "| {label} |");
                for p in &present {
                    let row = agg.as_array().and_then(|a| a.iter().find(|r| r["mode"] == mode.as_str() && r["n"] == n && r["peer"] == p.as_str()));
                    let _ = write!(w, " {} |", row.map_or("–".into(), |r| cell(&r["metrics"][*k])));
                }
                for p in &others {
                    let ratio = median_of(agg, mode, n as u64, "ours", k).zip(median_of(agg, mode, n as u64, p, k)).filter(|(_, b)| *b != 0.0).map(|(a, b)| a / b);
                    let _ = write!(w, " {} |", ratio.map_or("–".into(), |r| format!("{r:.2}")));
                }
                let _ = writeln!(w);
            }
            let failed: Vec<String> = agg
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter(|r| r["mode"] == mode.as_str() && r["n"] == n && r["failed_runs"].as_u64().unwrap_or(0) > 0)
                        .map(|r| format!("{} ×{}", peer_label(r["peer"].as_str().unwrap_or("")), r["failed_runs"]))
                        .collect()
                })
                .unwrap_or_default();
            if !failed.is_empty() {
                let _ = writeln!(w, "\nRuns that failed (see the JSON for the error): {}", failed.join(", "));
            }
            // What kept a figure from being measured.
            let mut notes: BTreeMap<String, usize> = BTreeMap::new();
            for r in doc["runs"].as_array().into_iter().flatten().filter(|r| r["mode"] == mode.as_str() && r["n"] == n) {
                let peer = peer_label(r["peer"].as_str().unwrap_or("")).to_owned();
                let rep = &r["report"];
                let mut add = |t: String| *notes.entry(format!("{peer}: {t}")).or_default() += 1;
                if let (Some(failed), Some(connected)) = (rep["connect_failures"].as_u64(), rep["connected"].as_u64()) {
                    if failed > 0 {
                        add(format!(
                            "{failed} of {} connects failed ({connected} subscribed{}); first error: {}",
                            failed + connected,
                            if (failed as usize) * 100 > n { "; not repeated at this N" } else { "" },
                            rep["errors"][0].as_str().unwrap_or("?")
                        ));
                    }
                }
                if let Some(why) = rep["ramp_skipped"].as_str() {
                    add(format!("throughput not measured: {why}"));
                }
                if rep["ramp_skipped"].is_null() && rep["sustained"].is_null() && rep.is_object() {
                    add("no throughput step passed".into());
                }
            }
            for (note, times) in notes {
                let _ = writeln!(w, "\n- {note} (×{times})");
            }
            let _ = writeln!(w);
        }
    }
    targets(w, o, doc);
    // Publish path.
    if let Some(rows) = doc["pathcost"]["rows"].as_array() {
        let _ = writeln!(w, "## Publish path (Cableway, pinned, no subscriber on the stream)\n");
        let _ = writeln!(w, "The server has no switch to turn validation off, so \"off\" is the same data carried in an `x-opaque` field (McpChannel `mcp.message`, data in `message.params`, only the small JSON-RPC envelope is checked); \"on\" is the data validated by its event schema. Both go through `POST /broadcast` (HTTP, JSON parse, validation, envelope, history append), {} keep-alive connections back to back, {} s × {} repetitions.\n", doc["pathcost"]["connections"], doc["pathcost"]["secs"].as_str().unwrap_or("?"), doc["pathcost"]["reps"]);
        let _ = writeln!(w, "| body | bytes | publishes/s | server CPU µs/publish | amortized per delivery at N=1k (µs) | request p50 (ms) | failed |");
        let _ = writeln!(w, "|---|---|---|---|---|---|---|");
        for r in rows {
            let cpu = r["server_cpu_us_per_publish"]["median"].as_f64();
            let _ = writeln!(
                w,
                "| {} | {} | {} | {} | {} | {} | {} |",
                r["label"].as_str().unwrap_or(""),
                r["body_bytes"],
                cell(&r["per_s"]),
                cell(&r["server_cpu_us_per_publish"]),
                cpu.map_or("–".into(), |c| format!("{:.3}", c / 1000.0)),
                cell(&r["p50_ms"]),
                r["failed"]
            );
        }
        let cost = |i: usize| rows.get(i).and_then(|r| r["server_cpu_us_per_publish"]["median"].as_f64());
        if let (Some(a), Some(b), Some(c), Some(d)) = (cost(0), cost(1), cost(2), cost(3)) {
            let share = |on: f64, off: f64, size: &str| {
                if on > off {
                    format!("≈ {:.1} µs per {size} publish ({:.0}% of it)", on - off, (on - off) / on * 100.0)
                } else {
                    format!("not measurable at {size} (the validated publish cost {:.1} µs less than the opaque one: validation is within the noise of a ≈ {:.0} µs request, and the opaque body is larger)", off - on, on)
                }
            };
            let _ = writeln!(w, "\nValidation share: {}; {}.\n", share(a, b, "200 B"), share(c, d, "2 KB"));
        } else {
            let _ = writeln!(w);
        }
    }
    let fl = &doc["file_limit"];
    if fl["connected"].is_number() {
        let _ = writeln!(w, "## One process at the file limit (Cableway, pinned)\n");
        let _ = writeln!(w, "{} subscribed connections ({} failed) from two generator processes on CPU 1 (sources 127.0.0.1, publishing, and 127.0.0.2, listening), one stream; the open-file limit per process is 20,000.\n", fl["connected"], fl["connect_failures"]);
        let num = |v: &Value| v.as_f64().map_or("–".into(), fmt_num);
        let _ = writeln!(w, "| idle RSS (MiB) | KiB/connection (slope 9.5k → 19k) | KiB/connection (baseline included) | broadcast to all 19k, p50 (min–max) ms | p99 ms | broadcasts | lost + duplicate |");
        let _ = writeln!(w, "|---|---|---|---|---|---|---|");
        let _ = writeln!(w, "| {} | {} | {} | {} | {} | {} | {} |\n", num(&fl["rss_idle_mib"]), num(&fl["kib_per_conn_slope"]), num(&fl["kib_per_conn_with_baseline"]), cell(&fl["fanout_all_ms"]), num(&fl["fanout_all_p99_ms"]), fl["broadcasts"], fl["lost"].as_u64().unwrap_or(0) + fl["duplicates"].as_u64().unwrap_or(0));
    } else if !fl.is_null() {
        let _ = writeln!(w, "## One process at the file limit\n\nnot measured: {}\n", fl["error"].as_str().unwrap_or("?"));
    }
    if let Some(rows) = doc["publish_rate"]["rows"].as_array() {
        let _ = writeln!(w, "## Publish path: publications per second per core\n");
        let _ = writeln!(w, "Keep-alive HTTP, {} connections back to back, {} s × {}, pinned, no subscriber; ≈ 200 B payload. Cableway: `POST /broadcast` (JSON parse, schema validation, envelope, history append); Node `ws`: `POST /publish` in `bench/peers/node/ws-server.js` (JSON parse, envelope, send to subscribers; no schema). Per core = publications ÷ server CPU seconds.\n", doc["publish_rate"]["connections"], doc["publish_rate"]["secs"].as_str().unwrap_or("?"), doc["publish_rate"]["reps"]);
        let _ = writeln!(w, "| server | publications per request | publications/s per core | publications/s | failed |");
        let _ = writeln!(w, "|---|---|---|---|---|");
        for r in rows {
            let _ = writeln!(w, "| {} | {} | {} | {} | {} |", peer_label(r["peer"].as_str().unwrap_or("")), r["per_request"], cell(&r["publications_per_core_s"]), cell(&r["publications_per_s"]), r["failed"]);
        }
        let ratio = |per: u64| {
            let get = |peer: &str| rows.iter().find(|r| r["peer"] == peer && r["per_request"] == per).and_then(|r| r["publications_per_core_s"]["median"].as_f64());
            get("ours").zip(get("ws")).filter(|(_, b)| *b > 0.0).map_or("–".into(), |(a, b)| format!("{:.2}", a / b))
        };
        let _ = writeln!(w, "\nOurs ÷ ws per core: single {}, batch of 100 {}.\n", ratio(1), ratio(100));
    }
    // JWT.
    let jwt = &doc["jwt"];
    if jwt["verify_us"].is_number() {
        let connect = median_of(agg, "pinned", *o.ns.first().unwrap_or(&1000) as u64, "ours", "cpu_us_per_connect");
        let v = jwt["verify_us"].as_f64().unwrap_or(0.0);
        let _ = writeln!(w, "## Connect cost with and without JWT verification\n");
        let _ = writeln!(w, "The server has no switch to turn verification off. Its connect cost (server CPU per connection through welcome and confirmed subscription, pinned, N={}) is measured; the verification share is timed in-process with the same crate and settings (`jsonwebtoken` HS256 decode with exp/nbf/required claims, then the claims JSON Schema), on CPU 1. \"Without JWT\" = measured − that estimate.\n", o.ns.first().unwrap_or(&1000));
        let _ = writeln!(w, "| | µs |");
        let _ = writeln!(w, "|---|---|");
        let _ = writeln!(w, "| JWT decode + signature (HS256) | {:.2} |", jwt["decode_us"].as_f64().unwrap_or(0.0));
        let _ = writeln!(w, "| claims schema check | {:.2} |", jwt["claims_schema_us"].as_f64().unwrap_or(0.0));
        if let Some(c) = connect {
            let _ = writeln!(w, "| server CPU per connect, with JWT (measured) | {c:.1} |");
            let _ = writeln!(w, "| server CPU per connect, without JWT (estimate) | {:.1} ({:.1}% less) |", c - v, v / c * 100.0);
        }
        let _ = writeln!(w);
    }
    // Profile.
    let prof = &doc["profile"];
    if prof["by_dso"].is_string() {
        let _ = writeln!(w, "## Where the time goes (Cableway, pinned, N={}, {:.0} deliveries/s offered)\n", prof["n"], prof["offered_deliveries_per_s"].as_f64().unwrap_or(0.0));
        let hold_cpu = prof.pointer("/hold/server_cpu_us_per_delivery").and_then(Value::as_f64);
        let _ = writeln!(
            w,
            "`perf record -F 999 -p <server>` for 6 s during a fixed-rate phase{}. Full listing: `{}`.\n",
            hold_cpu.map_or(String::new(), |c| format!(" ({c:.2} µs server CPU per delivery)")),
            prof["file"].as_str().unwrap_or("")
        );
        let _ = writeln!(w, "```text\n{}\n```\n", prof["by_dso"].as_str().unwrap_or("").lines().take(8).collect::<Vec<_>>().join("\n"));
        let _ = writeln!(w, "```text\n{}\n```\n", prof["by_symbol"].as_str().unwrap_or("").lines().take(30).collect::<Vec<_>>().join("\n"));
    } else if !prof.is_null() {
        let _ = writeln!(w, "## Profile\n\nnot taken: {}\n", prof["error"].as_str().unwrap_or("?"));
    }
    s
}

/// The key pinned-mode medians in one table (the one the README quotes).
fn summary(w: &mut String, o: &Opts, agg: &Value) {
    use std::fmt::Write as _;
    if !o.modes.iter().any(|m| m == "pinned") {
        return;
    }
    let peers: Vec<&String> = o.peers.iter().collect();
    let _ = writeln!(w, "## Summary (pinned mode, medians)\n");
    let _ = write!(w, "| figure | N |");
    for p in &peers {
        let _ = write!(w, " {} |", peer_label(p));
    }
    let _ = writeln!(w, " ours ÷ ws | ours ÷ floor |");
    let _ = writeln!(w, "|---|---|{}---|---|", "---|".repeat(peers.len()));
    let keys = [
        ("fanout_p99_ms", "full fan-out p99 (ms)"),
        ("lat_p99_ms", "per-recipient p99 (ms)"),
        ("sustained_per_s", "sustained deliveries/s"),
        ("cpu_us_per_delivery", "server CPU µs/delivery"),
        ("frames_per_write", "frames per write() (sustained)"),
        ("kib_per_conn", "idle KiB/connection"),
        ("accept_per_s", "accepts/s"),
        ("lost", "lost + duplicate"),
    ];
    for (k, label) in keys {
        for &n in &o.ns {
            let get = |p: &str| {
                if k == "lost" {
                    median_of(agg, "pinned", n as u64, p, "lost").zip(median_of(agg, "pinned", n as u64, p, "duplicates")).map(|(a, b)| a + b)
                } else {
                    median_of(agg, "pinned", n as u64, p, k)
                }
            };
            let _ = write!(w, "| {label} | {n} |");
            for p in &peers {
                let _ = write!(w, " {} |", get(p).map_or("–".into(), fmt_num));
            }
            let ratio = |p: &str| get("ours").zip(get(p)).filter(|(_, b)| *b != 0.0).map_or("–".into(), |(a, b)| format!("{:.2}", a / b));
            let _ = writeln!(w, " {} | {} |", ratio("ws"), ratio("floor"));
        }
    }
    let _ = writeln!(w);
}

fn targets(w: &mut String, o: &Opts, doc: &Value) {
    use std::fmt::Write as _;
    let agg = &doc["aggregates"];
    let n: u64 = if o.ns.contains(&5000) { 5000 } else { *o.ns.iter().max().unwrap_or(&1000) as u64 };
    // Issue 14: at 5k and at 10k, where measured.
    let ns: Vec<u64> = [5000u64, 10_000].into_iter().filter(|x| o.ns.contains(&(*x as usize))).collect();
    let ns = if ns.is_empty() { vec![n] } else { ns };
    let _ = writeln!(w, "## Targets (pinned mode, N = {}{})\n", ns.iter().map(u64::to_string).collect::<Vec<_>>().join(" and "), if ns.contains(&5000) { "" } else { "; the targets are defined at N = 5k and 10k, this run did not measure them" });
    let _ = writeln!(w, "| target | N | measured | met |");
    let _ = writeln!(w, "|---|---|---|---|");
    let mut row = |name: &str, n: u64, v: Option<f64>, ok: &dyn Fn(f64) -> bool| {
        let _ = writeln!(w, "| {name} | {n} | {} | {} |", v.map_or("–".into(), |v| format!("{v:.2}")), v.map_or("not measured", |v| if ok(v) { "yes" } else { "**no**" }));
    };
    let ratio = |a: Option<f64>, b: Option<f64>| a.zip(b).filter(|(_, b)| *b > 0.0).map(|(a, b)| a / b);
    for &n in &ns {
        let m = |peer: &str, k: &str| median_of(agg, "pinned", n, peer, k);
        row("server CPU per delivery ≤ 0.5× Node ws", n, ratio(m("ours", "cpu_us_per_delivery"), m("ws", "cpu_us_per_delivery")), &|v| v <= 0.5);
        row("server CPU per delivery ≤ 1.0× raw floor", n, ratio(m("ours", "cpu_us_per_delivery"), m("floor", "cpu_us_per_delivery")), &|v| v <= 1.0);
        row("full fan-out p99 ≤ 0.7× Node ws", n, ratio(m("ours", "fanout_p99_ms"), m("ws", "fanout_p99_ms")), &|v| v <= 0.7);
        row("sustained deliveries/s ≥ 1.5× Node ws", n, ratio(m("ours", "sustained_per_s"), m("ws", "sustained_per_s")), &|v| v >= 1.5);
        row("idle memory per connection ≤ 0.5× Node ws (slope from 1k)", n, ratio(m("ours", "kib_per_conn"), m("ws", "kib_per_conn")), &|v| v <= 0.5);
        row("frames per write() at the sustained rate > 4", n, m("ours", "frames_per_write"), &|v| v > 4.0);
        if n == 5000 {
            row("accept rate ≥ 2× Node ws", n, ratio(m("ours", "accept_per_s"), m("ws", "accept_per_s")), &|v| v >= 2.0);
        }
    }
    let lost: f64 = doc["runs"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|r| r["peer"] == "ours")
                .map(|r| r.pointer("/report/lost").and_then(Value::as_f64).unwrap_or(0.0) + r.pointer("/report/duplicates").and_then(Value::as_f64).unwrap_or(0.0))
                .sum()
        })
        .unwrap_or(0.0);
    row("zero lost or duplicate deliveries (all Cableway runs, all modes)", n, Some(lost), &|v| v == 0.0);
    let mm = |n: u64| median_of(agg, "pinned", n, "ours", "kib_per_conn");
    if let (Some(a), Some(b)) = (mm(5000), mm(10_000)) {
        let _ = writeln!(w, "\nRSS flat from 1k to 10k: KiB/connection {a:.2} (slope 1k→5k) vs {b:.2} (1k→10k).\n");
    }
    let gen_bound: Vec<String> = agg
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|r| r["metrics"]["gen_cpu_share"]["median"].as_f64().is_some_and(|g| g >= 0.9))
                .map(|r| format!("{} {} N={}", r["mode"].as_str().unwrap_or(""), peer_label(r["peer"].as_str().unwrap_or("")), r["n"]))
                .collect()
        })
        .unwrap_or_default();
    let _ = writeln!(
        w,
        "\nThe sustained rate is the highest passing step of the ramp (offered rate ×1.5 per step until a step fails, then two geometric bisections, so within ≈ 11%): nothing missing, p99 ≤ 1 s and ≥ 90% of the offered rate delivered; server CPU per delivery is `utime+stime` of the server's process tree over that step ÷ deliveries (it includes the HTTP publish and pings). {}\n",
        if gen_bound.is_empty() { "The generator stayed below 90% of its core at every sustained step.".to_owned() } else { format!("Generator-bound (generator ≥ 90% of its core at the sustained step, so the server was not the limit and its rate is a lower bound): {}.", gen_bound.join("; ")) }
    );
}

// ---------------------------------------------------------------------------------------
// Two nodes over Redis
// ---------------------------------------------------------------------------------------

/// Starts `cableway serve` on a free port: on the Redis at `redis_url` when given (else the
/// embedded engine), with `workers` runtime threads, nothing pinned.
fn start_node(p: &Paths, name: &str, redis_url: Option<&str>, workers: usize, log_dir: &Path) -> Result<Running> {
    let port = free_port();
    let log = std::fs::File::create(log_dir.join(format!("{name}.log")))?;
    let mut cmd = Command::new(&p.cableway);
    cmd.args(["serve", "--bind", &format!("127.0.0.1:{port}")]);
    cmd.env("CABLEWAY_JWT_SECRET", SECRET).env("CABLEWAY_PUBLISHER_KEY", PUBLISHER_KEY).env("CABLEWAY_LOG", "warn").env("CABLEWAY_WORKER_THREADS", workers.to_string());
    if let Some(url) = redis_url {
        cmd.env("CABLEWAY_REDIS_URL", url);
    }
    cmd.stdout(log.try_clone()?).stderr(log).stdin(Stdio::null());
    let child = cmd.spawn().with_context(|| format!("start {name}"))?;
    let mut running = Running { child, port, helpers: Vec::new() };
    wait_port(port, &mut running.child, Duration::from_secs(60)).with_context(|| format!("{name} did not start; see {}", log_dir.join(format!("{name}.log")).display()))?;
    std::thread::sleep(Duration::from_millis(300));
    Ok(running)
}

/// A `redis-server` on a free port of 127.0.0.1, no persistence; stopped (by pid) when the
/// returned guard drops.
fn start_redis(log_dir: &Path) -> Result<(Running, String)> {
    let port = free_port();
    let log = std::fs::File::create(log_dir.join("redis.log"))?;
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no"])
        .stdout(log.try_clone()?)
        .stderr(log)
        .stdin(Stdio::null())
        .spawn()
        .context("redis-server (bench/run.sh installs it)")?;
    let mut running = Running { child, port, helpers: Vec::new() };
    wait_port(port, &mut running.child, Duration::from_secs(10)).context("redis-server did not start")?;
    Ok((running, format!("redis://127.0.0.1:{port}")))
}

/// The two-node mode: N subscribers split over two nodes on one Redis (started here),
/// publishing through the first, beside one node with the embedded engine and all N, in the
/// same run. Nothing is pinned; each of the two nodes has one runtime thread and the single
/// node two, so both setups have the same two server threads on this 2-core box. Fan-out p99
/// is over every subscriber of both nodes (the later of the two generators' last receipts);
/// sustained deliveries/s is the publishing generator's highest passing step, counting the
/// second node's deliveries of the same broadcasts, which must be complete too.
fn two_node(o: &Opts, p: &Paths, log_dir: &Path, n: usize) -> Result<Value> {
    let prefix = format!("[two-node N={n}]");
    // One node, embedded engine, every subscriber.
    eprintln!("{prefix} single node (embedded engine), {n} subscribers");
    let single = {
        let server = start_node(p, "two-node-single", None, 2, log_dir)?;
        let spec = spec_for(o, "ours", server.port, n, server.pid());
        let text = loadgen(p, false, &["run", "-"], Some(&serde_json::to_string(&spec)?), &format!("{prefix} [single]"), &mut |_| {}, Duration::from_secs(600))?;
        drop(server);
        serde_json::from_str::<Report>(text.trim())?
    };
    std::thread::sleep(Duration::from_millis(500));

    eprintln!("{prefix} two nodes on one Redis, {} + {} subscribers, publishing through A", n - n / 2, n / 2);
    let (redis, url) = start_redis(log_dir)?;
    let a = start_node(p, "two-node-a", Some(&url), 1, log_dir)?;
    let b = start_node(p, "two-node-b", Some(&url), 1, log_dir)?;
    let stop = log_dir.join("two-node.stop");
    let _ = std::fs::remove_file(&stop);
    let mut listener = spec_for(o, "ours", b.port, n / 2, b.pid());
    listener.listen_only = true;
    listener.stop_file = Some(stop.display().to_string());
    listener.listen_seqs = Some(1 << 17);
    listener.checkpoint = None;
    listener.ramp = None;
    let mut publisher = spec_for(o, "ours", a.port, n - n / 2, a.pid());
    publisher.receipts = true;
    publisher.checkpoint = None;
    let (warmup, latency_msgs) = (publisher.warmup, publisher.latency_msgs);
    let (listening_tx, listening_rx) = std::sync::mpsc::channel::<()>();
    let listener_json = serde_json::to_string(&listener)?;
    let (passive, active) = std::thread::scope(|scope| -> Result<(String, String)> {
        let passive = scope.spawn(|| {
            let mut tx = Some(listening_tx);
            loadgen(p, false, &["run", "-"], Some(&listener_json), &format!("{prefix} [B, listening]"), &mut |line| {
                if line.trim() == "phase: listening" {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(());
                    }
                }
            }, Duration::from_secs(600))
        });
        let ready = listening_rx.recv_timeout(Duration::from_secs(120));
        let active = if ready.is_ok() {
            loadgen(p, false, &["run", "-"], Some(&serde_json::to_string(&publisher)?), &format!("{prefix} [A, publishing]"), &mut |_| {}, Duration::from_secs(600))
        } else {
            Err(anyhow::anyhow!("the listening generator did not connect its {} subscribers", n / 2))
        };
        std::fs::write(&stop, b"stop")?;
        let passive = passive.join().map_err(|_| anyhow::anyhow!("listener thread"))??;
        Ok((passive, active?))
    })?;
    let health_a = http_get_json(a.port, "/health").unwrap_or(Value::Null);
    drop((a, b, redis));
    let (ra, rb): (Report, Report) = (serde_json::from_str(active.trim())?, serde_json::from_str(passive.trim())?);
    let of_b: BTreeMap<u32, &cableway_bench::spec::Receipt> = rb.receipts.iter().map(|r| (r.seq, r)).collect();
    let of_a: BTreeMap<u32, &cableway_bench::spec::Receipt> = ra.receipts.iter().map(|r| (r.seq, r)).collect();
    // Full fan-out of each latency-phase broadcast (they follow the warm-up ones), over both nodes.
    let mut full: Vec<f64> = (warmup..warmup + latency_msgs)
        .filter_map(|seq| {
            let (x, y) = (of_a.get(&(seq as u32))?, of_b.get(&(seq as u32))?);
            let complete = x.count as usize == ra.connected && y.count as usize == rb.connected;
            let (last, sent) = (x.last_unix_us?.max(y.last_unix_us?), x.sent_unix_us?);
            complete.then(|| last.saturating_sub(sent) as f64 / 1000.0)
        })
        .collect();
    let incomplete = latency_msgs - full.len();
    full.sort_by(f64::total_cmp);
    let p99 = (incomplete == 0).then(|| cableway_bench::stats::quantile_sorted(&full, 0.99)).flatten();
    // The publisher's best passing step, with B's deliveries of the same broadcasts.
    let sustained = ra.sustained.as_ref().and_then(|s| {
        let (first, last) = s.seqs?;
        let start = (first..=last).filter_map(|q| of_a.get(&q)?.sent_unix_us).min()?;
        let b_deliveries: u64 = (first..=last).map(|q| of_b.get(&q).map_or(0, |r| r.count as u64)).sum();
        let b_expected = (last - first + 1) as u64 * rb.connected as u64;
        let end = (first..=last).filter_map(|q| [of_a.get(&q).and_then(|r| r.last_unix_us), of_b.get(&q).and_then(|r| r.last_unix_us)].into_iter().flatten().max()).max()?;
        let secs = (end.saturating_sub(start) as f64 / 1e6).max(1e-6);
        Some(json!({ "deliveries_per_s": (s.deliveries + b_deliveries) as f64 / secs, "a_deliveries": s.deliveries, "b_deliveries": b_deliveries, "b_missing": b_expected.saturating_sub(b_deliveries), "p99_ms_on_a": s.latency.p99_ms }))
    });
    let single_sustained = single.sustained.as_ref().map(|s| s.delivered_per_s);
    let two_sustained = sustained.as_ref().and_then(|s| s["deliveries_per_s"].as_f64());
    let ratio = |x: Option<f64>, y: Option<f64>| x.zip(y).filter(|(_, y)| *y > 0.0).map(|(x, y)| x / y);
    let single_p99 = (single.latency.incomplete == 0).then_some(single.latency.full_fanout.p99_ms);
    let result = json!({
        "n": n,
        "single": { "fanout_p99_ms": single_p99, "sustained_deliveries_per_s": single_sustained, "lost": single.lost, "duplicates": single.duplicates, "connected": single.connected },
        "two_nodes": {
            "connected": [ra.connected, rb.connected], "fanout_p99_ms": p99, "latency_broadcasts": full.len(), "incomplete": incomplete,
            "sustained": sustained, "lost_on_a": ra.lost, "duplicates": ra.duplicates + rb.duplicates, "errors": ra.errors.iter().chain(&rb.errors).take(5).collect::<Vec<_>>(),
            "redis": health_a["redis"].clone(),
        },
        "p99_ratio_two_over_single": ratio(p99, single_p99),
        "sustained_ratio_two_over_single": ratio(two_sustained, single_sustained),
    });
    eprintln!(
        "{prefix} fan-out p99: single {:?} ms, two nodes {:?} ms; sustained: single {:?}/s, two nodes {:?}/s",
        single_p99, p99, single_sustained.map(f64::round), two_sustained.map(f64::round)
    );
    Ok(result)
}

/// The two-node section of the report.
fn two_node_markdown(w: &mut String, v: &Value) {
    use std::fmt::Write as _;
    if v.is_null() {
        return;
    }
    let _ = writeln!(w, "\n## Two nodes over Redis\n");
    if let Some(e) = v["error"].as_str() {
        let _ = writeln!(w, "FAILED: {e}");
        return;
    }
    let f = |x: &Value| x.as_f64().map_or("—".to_owned(), fmt_num);
    let _ = writeln!(
        w,
        "N = {} subscribers, split over two nodes on one Redis (one runtime thread each), publishing through the first; beside one node with the embedded engine (two runtime threads) and all N, in the same run, nothing pinned. Fan-out p99 counts the last subscriber of either node.\n",
        v["n"]
    );
    let _ = writeln!(w, "| | fan-out p99 (ms) | sustained deliveries/s |\n|---|---|---|");
    let _ = writeln!(w, "| one node, embedded | {} | {} |", f(&v["single"]["fanout_p99_ms"]), f(&v["single"]["sustained_deliveries_per_s"]));
    let _ = writeln!(w, "| two nodes, Redis | {} | {} |", f(&v["two_nodes"]["fanout_p99_ms"]), f(&v["two_nodes"]["sustained"]["deliveries_per_s"]));
    let _ = writeln!(w, "| two ÷ one | {} | {} |", f(&v["p99_ratio_two_over_single"]), f(&v["sustained_ratio_two_over_single"]));
    let _ = writeln!(w, "\nSecond node's deliveries missing in the sustained step: {}; lost on the first: {}; duplicates: {}.", v["two_nodes"]["sustained"]["b_missing"], v["two_nodes"]["lost_on_a"], v["two_nodes"]["duplicates"]);
}

/// `GET path` on 127.0.0.1:`port`, the body as JSON (one request, `Connection: close`).
fn http_get_json(port: u16, path: &str) -> Option<Value> {
    use std::io::Read as _;
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    conn.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(conn, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").ok()?;
    let mut text = String::new();
    conn.read_to_string(&mut text).ok()?;
    serde_json::from_str(text.split_once("\r\n\r\n")?.1).ok()
}
