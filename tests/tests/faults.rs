//! Faults survived with several nodes over one real `redis-server` (reliability.md §5.6, F1–F7):
//! a node killed (`kill -9`) or drained (SIGTERM) under its clients, Redis crashed with an
//! append-only file fsynced on every write, Redis blackholed behind a TCP proxy. (A Redis
//! restart without persistence and a cut pub/sub connection are in `cluster.rs`.)
//!
//! Each test starts its own Redis on a free port and its own `cableway serve` nodes, all on
//! 127.0.0.1 and stopped by PID; clients are ext-protocol clients that follow their
//! subscription from node to node and record every data frame with its stream position; a
//! publisher posts at 100/s and records what was acknowledged. What is checked is what a user
//! would check: nothing acknowledged is lost, nothing arrives twice, the order is kept, and
//! the bounds (5 s to resume, a call's 2 s timeout, 5 s to recover) are the deadlines
//! of condition waits, never sleeps.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cableway_tests::client::{Client, Next};
use cableway_tests::ext::{self, At, EXT};
use cableway_tests::fixtures::{notification, notifications, unix_now};
use cableway_tests::proxy::{Mode, Proxy};
use cableway_tests::redis::{Persistence, Redis};
use cableway_tests::server::{Options, Server};
use cableway_tests::wait::poll_async;
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio::time::Instant;

// ---------------------------------------------------------------------------------------
// A client that follows its subscription across nodes
// ---------------------------------------------------------------------------------------

/// What one following client saw.
#[derive(Debug, Default)]
struct Seen {
    /// Every data frame, in arrival order.
    frames: Vec<At>,
    /// Each `welcome`, with the node it came from.
    welcomes: Vec<(String, Value)>,
    /// Each history answer (`confirm_history`, `reject_history`): when, from which node.
    answers: Vec<(Instant, String, String)>,
    /// Each `disconnect` frame.
    disconnects: Vec<Value>,
    /// Each `reject_subscription` frame.
    rejections: Vec<Value>,
}

impl Seen {
    fn confirmed_on_since(&self, node: &str, t: Instant) -> Option<Instant> {
        self.answers.iter().find(|(at, url, kind)| *at >= t && url == node && kind == "confirm_history").map(|(at, _, _)| *at)
    }
}

/// One client of `account`: connects to the first node of `nodes` (cable URLs with a token)
/// that answers, subscribes to its notifications with history (`since` at first, then from
/// the last position it received) and, whenever its connection closes, moves to the next
/// node, offering its session id (a restored session gets `history` instead of `subscribe`).
struct Follower {
    seen: Arc<Mutex<Seen>>,
    stream: String,
    task: tokio::task::JoinHandle<()>,
}

impl Follower {
    fn start(nodes: Vec<String>, account: &str, since: i64, stagger: Duration, stop: watch::Receiver<bool>) -> Follower {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let stream = format!("notifications:{account}");
        let task = tokio::spawn(follow(nodes, notifications(account), stream.clone(), since, stagger, seen.clone(), stop));
        Follower { seen, stream, task }
    }

    fn offsets(&self) -> Vec<u64> {
        self.seen.lock().unwrap().frames.iter().map(|f| f.offset).collect()
    }

    fn last_offset(&self) -> u64 {
        self.seen.lock().unwrap().frames.last().map_or(0, |f| f.offset)
    }
}

/// The node part of a cable URL (`ws://host:port/cable`).
fn node_of(url: &str) -> String {
    url.split('?').next().unwrap_or_default().to_owned()
}

async fn follow(nodes: Vec<String>, identifier: String, stream: String, since: i64, stagger: Duration, seen: Arc<Mutex<Seen>>, mut stop: watch::Receiver<bool>) {
    let mut turn = 0usize;
    let mut sid: Option<String> = None;
    let mut last: Option<At> = None;
    loop {
        if *stop.borrow() {
            return;
        }
        let url = &nodes[turn % nodes.len()];
        let node = node_of(url);
        let full = match &sid {
            Some(s) => format!("{url}&sid={s}"),
            None => url.clone(),
        };
        let Ok(mut c) = Client::connect_with(&full, &[EXT], &[]).await else {
            turn += 1;
            tokio::time::sleep(stagger + Duration::from_millis(20)).await;
            continue;
        };
        let welcome = match c.next_frame(Instant::now() + Duration::from_secs(5)).await {
            Next::Frame(w) if w["type"] == "welcome" => w,
            _ => {
                turn += 1;
                continue;
            }
        };
        sid = welcome["sid"].as_str().map(str::to_owned);
        let restored = welcome["restored"] == true;
        seen.lock().unwrap().welcomes.push((node.clone(), welcome));
        let history = match &last {
            Some(p) => ext::from(p),
            None => json!({ "since": since }),
        };
        let command = if restored { "history" } else { "subscribe" };
        c.send(&json!({ "command": command, "identifier": identifier, "history": history })).await;
        loop {
            let next = tokio::select! {
                n = c.next_frame(Instant::now() + Duration::from_millis(200)) => n,
                _ = stop.changed() => Next::TimedOut,
            };
            match next {
                Next::Frame(v) => {
                    let rejected = {
                        let mut s = seen.lock().unwrap();
                        if let Some(p) = ext::at(&v).filter(|p| p.stream == stream) {
                            last = Some(p.clone());
                            s.frames.push(p);
                        } else if v["type"] == "confirm_history" || v["type"] == "reject_history" {
                            s.answers.push((Instant::now(), node.clone(), v["type"].as_str().unwrap_or_default().to_owned()));
                        } else if v["type"] == "disconnect" {
                            s.disconnects.push(v.clone());
                        } else if v["type"] == "reject_subscription" {
                            s.rejections.push(v.clone());
                        }
                        v["type"] == "reject_subscription"
                    };
                    // Refused while Redis is unreachable (`unavailable`): a client that wants
                    // the stream tries again, on the next node, a moment later.
                    if rejected {
                        c.close().await;
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        break;
                    }
                }
                Next::Closed => break,
                Next::TimedOut => {
                    if *stop.borrow() {
                        c.close().await;
                        return;
                    }
                }
            }
        }
        // The connection is gone: on to the next node, after a little while (clients of a
        // dead node do not all come back in the same millisecond).
        turn += 1;
        tokio::time::sleep(stagger).await;
    }
}

/// `per_account` followers for each of `accounts`, over `nodes`; returns once every one of
/// them has its history confirmed on the first node.
async fn followers(nodes: &[String], accounts: &[String], per_account: usize, since: i64, stop: &watch::Receiver<bool>) -> Vec<Follower> {
    let mut all = Vec::new();
    for (i, account) in accounts.iter().cycle().take(accounts.len() * per_account).enumerate() {
        let urls: Vec<String> = nodes.to_vec();
        all.push(Follower::start(urls, account, since, Duration::from_millis((i % 20) as u64 * 5), stop.clone()));
    }
    let first = node_of(&nodes[0]);
    let confirmed = poll_async(Duration::from_secs(60), || all.iter().all(|f| f.seen.lock().unwrap().answers.iter().any(|(_, n, k)| *n == first && k == "confirm_history")).then_some(())).await;
    assert!(confirmed.is_some(), "not every follower got its history confirmed on the first node");
    all
}

/// Cable URLs of `nodes` for the user of `account`, in order (the same token on every node).
fn cable_urls(nodes: &[&Server], account: &str) -> Vec<String> {
    let token = nodes[0].token(&format!("u-{account}"), account, &[]);
    nodes.iter().map(|n| n.cable_url(Some(&token))).collect()
}

// ---------------------------------------------------------------------------------------
// A publisher at a fixed rate
// ---------------------------------------------------------------------------------------

/// One `POST /broadcast` as the publisher saw it.
#[derive(Debug, Clone)]
struct Attempt {
    /// Payload id.
    id: String,
    /// Its stream.
    stream: String,
    started: Instant,
    took: Duration,
    /// HTTP status (0: no answer within the client's timeout).
    status: u16,
    /// Offset and epoch when acknowledged.
    position: Option<(u64, String)>,
    /// The error code of a refusal.
    error: Option<String>,
}

/// Publishes one notification after another to `accounts` in turn through `node`, `rate` per
/// second, until stopped; each attempt is recorded.
struct Publisher {
    attempts: Arc<Mutex<Vec<Attempt>>>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Publisher {
    fn start(node: &Server, accounts: &[String], rate: u32, prefix: &str) -> Publisher {
        let attempts = Arc::new(Mutex::new(Vec::new()));
        let (stop, mut stopped) = watch::channel(false);
        let (url, key, accounts, prefix, log) = (format!("{}/broadcast", node.http()), node.publisher_key.clone(), accounts.to_vec(), prefix.to_owned(), attempts.clone());
        let task = tokio::spawn(async move {
            let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("an HTTP client");
            let mut tick = tokio::time::interval(Duration::from_secs(1) / rate);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            for n in 0.. {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stopped.changed() => return,
                }
                let account = &accounts[n % accounts.len()];
                let id = format!("{prefix}{n}");
                let started = Instant::now();
                let sent = http.post(&url).bearer_auth(&key).json(&notification(account, &id)).send().await;
                let (status, body) = match sent {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        (status, r.json::<Value>().await.unwrap_or(Value::Null))
                    }
                    Err(_) => (0, Value::Null),
                };
                let position = (200..300).contains(&status).then(|| (body["positions"][0]["offset"].as_u64().unwrap_or(0), body["positions"][0]["epoch"].as_str().unwrap_or_default().to_owned()));
                let error = body["error"].as_str().map(str::to_owned);
                log.lock().unwrap().push(Attempt { id, stream: format!("notifications:{account}"), started, took: started.elapsed(), status, position, error });
            }
        });
        Publisher { attempts, stop, task }
    }

    fn acknowledged(&self) -> usize {
        self.attempts.lock().unwrap().iter().filter(|a| a.position.is_some()).count()
    }

    /// Waits until `more` further publications are acknowledged (within `within`).
    async fn wait_acknowledged(&self, more: usize, within: Duration) {
        let target = self.acknowledged() + more;
        let done = poll_async(within, || (self.acknowledged() >= target).then_some(())).await;
        assert!(done.is_some(), "the publisher got {} of {target} acknowledgements", self.acknowledged());
    }

    /// Stops and returns every attempt.
    async fn finish(self) -> Vec<Attempt> {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        self.attempts.lock().unwrap().clone()
    }
}

/// The acknowledged offsets per stream, in the order they were acknowledged.
fn acknowledged_offsets(attempts: &[Attempt]) -> BTreeMap<String, Vec<u64>> {
    let mut by: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for a in attempts {
        if let Some((offset, _)) = &a.position {
            by.entry(a.stream.clone()).or_default().push(*offset);
        }
    }
    by
}

/// Waits until every follower has received the last offset acknowledged on its stream, then
/// stops them.
async fn wait_caught_up(followers: &[Follower], acked: &BTreeMap<String, Vec<u64>>, stop: watch::Sender<bool>) {
    let top = |f: &Follower| acked.get(&f.stream).and_then(|o| o.iter().max().copied()).unwrap_or(0);
    let caught_up = poll_async(Duration::from_secs(20), || followers.iter().all(|f| f.last_offset() >= top(f)).then_some(())).await;
    let behind: Vec<(String, u64, u64)> = followers.iter().filter(|f| f.last_offset() < top(f)).map(|f| (f.stream.clone(), f.last_offset(), top(f))).take(5).collect();
    assert!(caught_up.is_some(), "followers never received the last acknowledged publication: (stream, last, acknowledged) {behind:?}");
    let _ = stop.send(true);
    for f in followers {
        f.task.abort();
    }
}

/// Two nodes of one deployment on `redis`, both ready.
async fn two_nodes(redis: &Redis, opts: Options) -> (Server, Server) {
    let a = redis.node_with(None, opts.clone());
    let b = redis.node_with(Some(&a), opts);
    a.wait_ready(200, Duration::from_secs(10)).await;
    b.wait_ready(200, Duration::from_secs(10)).await;
    (a, b)
}

fn accounts(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

fn kill_9(node: &mut Server) {
    let pid = node.pid().expect("the node runs");
    let killed = std::process::Command::new("kill").arg("-KILL").arg(pid.to_string()).status().expect("run kill");
    assert!(killed.success(), "kill -KILL {pid}");
    node.wait_exit(Duration::from_secs(10)).expect("the node exits on SIGKILL");
}

// ---------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------

/// F6: 200 clients on A (10 streams with history), a publisher at 100/s through B, `kill -9`
/// A. Every client resumes on B within 5 s, and ends with every acknowledged publication of
/// its stream exactly once, in offset order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_clients_of_a_killed_node_resume_on_another_with_nothing_lost() {
    let redis = Redis::start(Persistence::None);
    let (mut a, b) = two_nodes(&redis, Options::default()).await;
    let accounts = accounts("acc-kill-", 10);
    let (stop, stopped) = watch::channel(false);
    let since = unix_now();
    let mut all = Vec::new();
    for account in &accounts {
        all.extend(followers(&cable_urls(&[&a, &b], account), std::slice::from_ref(account), 20, since, &stopped).await);
    }
    assert_eq!(all.len(), 200);
    let publisher = Publisher::start(&b, &accounts, 100, "k");
    publisher.wait_acknowledged(100, Duration::from_secs(20)).await;

    // Taken before the kill: a quick client may be back on B before `kill` returns.
    let killed = Instant::now();
    kill_9(&mut a);
    let b_node = node_of(&b.cable_url(None));
    let resumed = poll_async(Duration::from_secs(5), || all.iter().all(|f| f.seen.lock().unwrap().confirmed_on_since(&b_node, killed).is_some()).then_some(())).await;
    let slowest = all.iter().filter_map(|f| f.seen.lock().unwrap().confirmed_on_since(&b_node, killed)).max().map(|t| t - killed);
    let waiting = all.iter().filter(|f| f.seen.lock().unwrap().confirmed_on_since(&b_node, killed).is_none()).count();
    assert!(resumed.is_some(), "{waiting} of 200 clients had not resumed on B 5 s after A was killed");
    eprintln!("kill -9 A: 200 clients resumed on B in {slowest:?} (the slowest)");

    publisher.wait_acknowledged(100, Duration::from_secs(20)).await;
    let attempts = publisher.finish().await;
    assert!(attempts.iter().all(|a| a.status == 200), "B kept publishing: {:?}", attempts.iter().find(|a| a.status != 200));
    let acked = acknowledged_offsets(&attempts);
    wait_caught_up(&all, &acked, stop).await;
    for f in &all {
        let expected: Vec<u64> = (1..=acked[&f.stream].len() as u64).collect();
        assert_eq!(f.offsets(), expected, "{}: every acknowledged publication once, in order", f.stream);
        let seen = f.seen.lock().unwrap();
        assert!(seen.frames.windows(2).all(|w| w[0].epoch == w[1].epoch), "one epoch");
        assert!(seen.answers.iter().all(|(_, _, k)| k == "confirm_history"), "never a rejected history: {:?}", seen.answers);
        assert!(seen.rejections.is_empty(), "never a rejected subscription: {:?}", seen.rejections);
    }
    eprintln!("{} publications acknowledged over 10 streams; 200 × their stream's share delivered, 0 lost, 0 duplicates", attempts.len());
}

/// F7: SIGTERM A. Each of its clients gets `server_restart` (reconnect:true) before the close,
/// A exits 0 within the drain timeout, and the clients resume on B with `?sid=` (the session
/// A kept in Redis comes back restored) and a `history` from their last position: nothing
/// lost, nothing twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drained_node_hands_its_clients_to_another_with_nothing_lost() {
    let redis = Redis::start(Persistence::None);
    let (mut a, b) = two_nodes(&redis, Options::default().env("CABLEWAY_DRAIN_TIMEOUT_MS", "5000")).await;
    let accounts = accounts("acc-drain-", 10);
    let (stop, stopped) = watch::channel(false);
    let since = unix_now();
    let mut all = Vec::new();
    for account in &accounts {
        all.extend(followers(&cable_urls(&[&a, &b], account), std::slice::from_ref(account), 5, since, &stopped).await);
    }
    let publisher = Publisher::start(&b, &accounts, 100, "d");
    publisher.wait_acknowledged(50, Duration::from_secs(20)).await;

    let termed = Instant::now();
    a.sigterm();
    let status = a.wait_exit(Duration::from_secs(10)).expect("A exits after draining");
    assert!(status.success(), "A exits 0 after a drain: {status}");
    eprintln!("SIGTERM A: exited 0 after {:?}", termed.elapsed());
    let b_node = node_of(&b.cable_url(None));
    let resumed = poll_async(Duration::from_secs(5), || all.iter().all(|f| f.seen.lock().unwrap().confirmed_on_since(&b_node, termed).is_some()).then_some(())).await;
    assert!(resumed.is_some(), "not every client resumed on B within 5 s of the SIGTERM");

    publisher.wait_acknowledged(50, Duration::from_secs(20)).await;
    let attempts = publisher.finish().await;
    assert!(attempts.iter().all(|a| a.status == 200), "{:?}", attempts.iter().find(|a| a.status != 200));
    let acked = acknowledged_offsets(&attempts);
    wait_caught_up(&all, &acked, stop).await;
    for f in &all {
        let seen = f.seen.lock().unwrap();
        assert_eq!(seen.disconnects, [json!({ "type": "disconnect", "reason": "server_restart", "reconnect": true })], "told to reconnect before the close");
        let (on_b, welcome) = seen.welcomes.last().expect("a welcome from B");
        assert_eq!(on_b, &b_node);
        assert_eq!(welcome["restored"], true, "the session A kept is restored on B: {welcome}");
        drop(seen);
        let expected: Vec<u64> = (1..=acked[&f.stream].len() as u64).collect();
        assert_eq!(f.offsets(), expected, "{}: every acknowledged publication once, in order", f.stream);
    }
}

/// F2: Redis `kill -9` with `appendonly yes` and `appendfsync always`, under a publisher at
/// 100/s. Publishes during the outage are refused (503); after Redis restarts on the same
/// directory and port, every acknowledged publication is still there: the connected clients
/// got them all once, in order, in one epoch, and a client resuming from the start gets
/// exactly the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_crash_with_aof_always_loses_nothing_acknowledged() {
    a_redis_process_crash_loses_nothing_acknowledged(Persistence::AofAlways).await;
}

/// The same with `appendfsync everysec`: Redis writes the AOF before it replies and only
/// fsyncs once a second, so a crash of the *process* (not of the host, which a test cannot
/// do) loses nothing acknowledged either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_process_crash_with_aof_everysec_loses_nothing_acknowledged() {
    a_redis_process_crash_loses_nothing_acknowledged(Persistence::AofEverysec).await;
}

async fn a_redis_process_crash_loses_nothing_acknowledged(persistence: Persistence) {
    let mut redis = Redis::start(persistence);
    let (a, b) = two_nodes(&redis, Options::default()).await;
    let accounts = accounts(&format!("acc-{persistence:?}-"), 4);
    let (stop, stopped) = watch::channel(false);
    let since = unix_now();
    let mut all = Vec::new();
    for account in &accounts {
        all.extend(followers(&cable_urls(&[&a, &b], account), std::slice::from_ref(account), 3, since, &stopped).await);
    }
    let publisher = Publisher::start(&b, &accounts, 100, "f");
    publisher.wait_acknowledged(100, Duration::from_secs(20)).await;
    redis.kill();
    let killed = Instant::now();
    b.wait_ready(503, Duration::from_secs(10)).await;
    // Publishing goes on, refused, for a moment.
    poll_async(Duration::from_secs(10), || (publisher.attempts.lock().unwrap().iter().filter(|a| a.started > killed && a.status == 503).count() >= 20).then_some(())).await.expect("refused publishes during the outage");
    redis.restart();
    publisher.wait_acknowledged(100, Duration::from_secs(20)).await;
    let attempts = publisher.finish().await;
    let refused = attempts.iter().filter(|a| a.status != 200).count();
    assert!(attempts.iter().all(|a| a.status == 200 || (a.status == 503 && a.error.as_deref() == Some("unavailable"))), "only 200 or 503: {:?}", attempts.iter().find(|a| a.status != 200 && a.status != 503));
    let acked = acknowledged_offsets(&attempts);
    wait_caught_up(&all, &acked, stop).await;
    for f in &all {
        let got = f.offsets();
        let top = *got.last().expect("deliveries");
        assert_eq!(got, (1..=top).collect::<Vec<_>>(), "{}: one offset after another, once each", f.stream);
        assert!(acked[&f.stream].iter().all(|o| got.contains(o)), "{}: every acknowledged publication", f.stream);
        let seen = f.seen.lock().unwrap();
        assert!(seen.frames.windows(2).all(|w| w[0].epoch == w[1].epoch), "the history survived: one epoch");
    }
    // Resuming from before the first publication replays all of it, in the same epoch.
    for account in &accounts {
        let stream = format!("notifications:{account}");
        let epoch = attempts.iter().find_map(|a| a.position.as_ref().filter(|_| a.stream == stream).map(|(_, e)| e.clone())).expect("an acknowledged publication");
        let token = b.token(&format!("u-{account}"), account, &[]);
        let (mut c, _) = ext::connect(&b.cable_url(Some(&token))).await;
        let frames = ext::subscribe_with_history(&mut c, &notifications(account), json!({ "streams": { stream.clone(): { "epoch": epoch, "offset": 0 } } })).await;
        assert_eq!(frames.last().unwrap()["type"], "confirm_history", "{frames:?}");
        let replayed: Vec<u64> = ext::places(&frames).iter().map(|p| p.offset).collect();
        assert!(acked[&stream].iter().all(|o| replayed.contains(o)), "{stream}: the replay holds every acknowledged publication");
    }
    eprintln!("Redis kill -9 ({persistence:?}): {} publications acknowledged, {refused} refused with 503 during the outage, 0 acknowledged lost", attempts.len() - refused);
}

/// Resident memory of a process, KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).unwrap_or(0)
}

/// What a node's `/health` says about load: tasks alive, and the Redis engine's gauges.
#[derive(Debug, Default, Clone, Copy)]
struct Load {
    tasks: u64,
    calls_in_flight: u64,
    publishes_waiting: u64,
}

async fn load(node: &Server) -> Load {
    let h = node.health().await;
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    Load { tasks: n(&h["tasks"]), calls_in_flight: n(&h["redis"]["calls_in_flight"]), publishes_waiting: n(&h["redis"]["publishes_waiting"]) }
}

/// F4: Redis blackholed (a proxy forwards nothing and closes nothing) for several seconds
/// under a publisher at 100/s and a burst past the publish queue. Every publish fails within
/// the 2 s call timeout with 503; nothing piles up (Redis calls in flight stay a handful,
/// queued publishes within the queue, tasks and memory flat, Redis' clients back to one per
/// connection after); within 5 s of the heal, both nodes are ready and a publication through
/// one reaches the clients of the other. Every acknowledged publication arrives once, in
/// order; of those refused, at most the few already written to the connection when it went
/// silent ran in Redis after the heal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blackholed_redis_fails_calls_in_time_piles_nothing_up_and_recovers() {
    let redis = tokio::task::block_in_place(|| Redis::start(Persistence::None));
    let proxy = Proxy::start(&[format!("127.0.0.1:{}", redis.port)]).await;
    let via_proxy = Options::default().env("CABLEWAY_REDIS_URL", &format!("redis://{}", proxy.addr));
    let a = tokio::task::block_in_place(|| Server::start_with(via_proxy.clone()));
    let b = tokio::task::block_in_place(|| Server::start_with(via_proxy.env("CABLEWAY_JWT_SECRET", &a.secret).env("CABLEWAY_PUBLISHER_KEY", &a.publisher_key)));
    a.wait_ready(200, Duration::from_secs(10)).await;
    b.wait_ready(200, Duration::from_secs(10)).await;
    let accounts = accounts("acc-hole-", 3);
    let (stop, stopped) = watch::channel(false);
    let since = unix_now();
    let mut all = Vec::new();
    for (i, account) in accounts.iter().enumerate() {
        // The last account's clients are on B, the others' on A.
        let nodes = if i + 1 == accounts.len() { cable_urls(&[&b, &a], account) } else { cable_urls(&[&a, &b], account) };
        all.extend(followers(&nodes, std::slice::from_ref(account), 4, since, &stopped).await);
    }
    let publisher = Publisher::start(&b, &accounts, 100, "h");
    publisher.wait_acknowledged(50, Duration::from_secs(20)).await;
    let (pid_a, pid_b) = (a.pid().expect("A runs"), b.pid().expect("B runs"));
    let before = (load(&a).await, load(&b).await, rss_kib(pid_a), rss_kib(pid_b));

    proxy.set(Mode::Blackhole);
    let holed = Instant::now();
    // A burst past the publish queue (1024), all at once, through B.
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).pool_max_idle_per_host(0).build().expect("an HTTP client");
    let burst = futures_util::future::join_all((0..1500).map(|n| {
        let (http, url, key, body) = (http.clone(), format!("{}/broadcast", b.http()), b.publisher_key.clone(), notification(&accounts[0], &format!("burst{n}")));
        async move {
            let started = Instant::now();
            let status = http.post(url).bearer_auth(key).json(&body).send().await.map(|r| r.status().as_u16()).unwrap_or(0);
            (status, started.elapsed())
        }
    }))
    .await;
    let burst_slowest = burst.iter().map(|(_, t)| *t).max().unwrap_or_default();
    assert!(burst.iter().all(|(s, _)| *s == 503), "every publish of the burst refused: {:?}", burst.iter().filter(|(s, _)| *s != 503).take(3).collect::<Vec<_>>());
    // Every Redis call is bounded by the 2 s timeout (plus what a loaded machine adds).
    assert!(burst_slowest < Duration::from_secs(3), "the burst's slowest answer took {burst_slowest:?}");
    a.wait_ready(503, Duration::from_secs(10)).await;
    b.wait_ready(503, Duration::from_secs(10)).await;
    let unready_after = holed.elapsed();
    // The blackhole lasts 6 s more; what the nodes hold meanwhile is sampled.
    let mut peak = (Load::default(), Load::default());
    let until = Instant::now() + Duration::from_secs(6);
    while Instant::now() < until {
        let (la, lb) = (load(&a).await, load(&b).await);
        for (p, l) in [(&mut peak.0, la), (&mut peak.1, lb)] {
            p.tasks = p.tasks.max(l.tasks);
            p.calls_in_flight = p.calls_in_flight.max(l.calls_in_flight);
            p.publishes_waiting = p.publishes_waiting.max(l.publishes_waiting);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let during = (rss_kib(pid_a), rss_kib(pid_b));
    proxy.set(Mode::Pass);
    let healed = Instant::now();

    // Recovery: both nodes ready, and a publication made after the heal reaches A's clients.
    a.wait_ready(200, Duration::from_secs(5)).await;
    b.wait_ready(200, Duration::from_secs(5)).await;
    let first_after = poll_async(Duration::from_secs(5).saturating_sub(healed.elapsed()), || {
        publisher.attempts.lock().unwrap().iter().find(|t| t.started >= healed && t.position.is_some() && t.stream == format!("notifications:{}", accounts[0])).cloned()
    })
    .await
    .expect("a publication acknowledged within 5 s of the heal");
    let offset = first_after.position.as_ref().map(|(o, _)| *o).unwrap_or(0);
    let on_a: Vec<&Follower> = all.iter().filter(|f| f.stream == first_after.stream).collect();
    let delivered = poll_async(Duration::from_secs(5).saturating_sub(healed.elapsed()), || on_a.iter().all(|f| f.last_offset() >= offset).then_some(())).await;
    assert!(delivered.is_some(), "A's clients did not get a publication made through B within 5 s of the heal");
    let recovered_in = healed.elapsed();

    publisher.wait_acknowledged(50, Duration::from_secs(20)).await;
    let attempts = publisher.finish().await;
    let acked = acknowledged_offsets(&attempts);
    wait_caught_up(&all, &acked, stop).await;

    // While Redis was silent, every publish failed with 503 within the timeout.
    let in_hole: Vec<&Attempt> = attempts.iter().filter(|t| t.started >= holed && t.started + Duration::from_secs(3) < healed).collect();
    let timeline: Vec<(Duration, Duration, u16)> = attempts.iter().filter(|t| t.started + Duration::from_secs(1) >= holed && t.started <= healed).map(|t| (t.started - holed.min(t.started), t.took, t.status)).collect();
    assert!(in_hole.len() >= 100, "the publisher went on during the blackhole: {} (heal after {:?}; started after the blackhole, took, status: {timeline:?})", in_hole.len(), healed - holed);
    assert!(in_hole.iter().all(|t| t.status == 503 && t.error.as_deref() == Some("unavailable")), "{:?}", in_hole.iter().find(|t| t.status != 503));
    let slowest = in_hole.iter().map(|t| t.took).max().unwrap_or_default();
    assert!(slowest < Duration::from_secs(3), "a publish during the blackhole took {slowest:?}");
    // Once a call went unanswered, publishes are refused without a call: only the first one
    // or two (queued before the silence was known) wait out the timeout.
    let waited = in_hole.iter().filter(|t| t.took > Duration::from_millis(500)).count();
    assert!(waited <= 2, "{waited} publishes during the blackhole waited for Redis: {timeline:?}");
    // Nothing piled up.
    for (name, p, b0) in [("A", peak.0, before.0), ("B", peak.1, before.1)] {
        assert!(p.calls_in_flight <= 8, "{name}: {} Redis calls in flight at once", p.calls_in_flight);
        assert!(p.publishes_waiting <= 1024, "{name}: {} publishes waiting", p.publishes_waiting);
        assert!(p.tasks <= b0.tasks + 64, "{name}: tasks grew from {} to {}", b0.tasks, p.tasks);
    }
    for (name, rss0, rss1) in [("A", before.2, during.0), ("B", before.3, during.1)] {
        assert!(rss1 < rss0 + 64 * 1024, "{name}: RSS grew from {rss0} to {rss1} KiB during the blackhole");
    }
    let clients = poll_async(Duration::from_secs(5), || {
        let info = redis.cli(&["INFO", "clients"]);
        let n: u64 = info.lines().find_map(|l| l.strip_prefix("connected_clients:")).and_then(|v| v.trim().parse().ok()).unwrap_or(u64::MAX);
        (n <= 5).then_some(n)
    })
    .await;
    assert!(clients.is_some(), "Redis still has connections the nodes gave up: {}", redis.cli(&["CLIENT", "LIST"]));
    // Every follower: one offset after another, once each, every acknowledged one included.
    let status_of: BTreeMap<&str, u16> = attempts.iter().map(|t| (t.id.as_str(), t.status)).collect();
    let mut ran_late = std::collections::BTreeSet::new();
    for f in &all {
        let got = f.offsets();
        let top = *got.last().expect("deliveries");
        assert_eq!(got, (1..=top).collect::<Vec<_>>(), "{}: one offset after another, once each", f.stream);
        assert!(acked[&f.stream].iter().all(|o| got.contains(o)), "{}: every acknowledged publication", f.stream);
        for p in &f.seen.lock().unwrap().frames {
            if status_of.get(p.id.as_str()).is_some_and(|s| *s != 200) || p.id.starts_with("burst") {
                ran_late.insert(p.id.clone());
            }
        }
    }
    assert!(ran_late.len() <= 3, "publishes answered 503 that still ran in Redis after the heal: {ran_late:?}");
    eprintln!(
        "blackhole: burst of 1500 answered within {burst_slowest:?}; publishes during it answered within {slowest:?} ({} of them, all 503); both nodes unready after {unready_after:?}; \
         peak in flight A {:?} B {:?} (before: A {:?} B {:?}); RSS A {} → {} KiB, B {} → {} KiB; recovered {recovered_in:?} after the heal; refused publishes that ran after the heal: {}",
        in_hole.len(), peak.0, peak.1, before.0, before.1, before.2, during.0, before.3, during.1, ran_late.len()
    );
}

// ---------------------------------------------------------------------------------------
// The same with the Node clients: the generated TypeScript client and @anycable/web
// ---------------------------------------------------------------------------------------

/// `tests/node/failover_clients.mjs`: many clients of one kind in one Node process, their
/// JSON lines collected as they come; killed (by PID) when dropped.
struct NodeClients {
    _child: tokio::process::Child,
    lines: Arc<Mutex<Vec<Value>>>,
}

impl NodeClients {
    fn start(kind: &str, urls: &[String], clients: &[(String, String)]) -> NodeClients {
        let spec: Vec<Value> = clients.iter().map(|(account, token)| json!({ "account": account, "token": token })).collect();
        let mut cmd = tokio::process::Command::new("node");
        cmd.arg("failover_clients.mjs").arg(kind).args(urls).current_dir(cableway_tests::repo_root().join("tests/node"));
        cmd.env("CLIENTS", Value::from(spec).to_string()).stdin(std::process::Stdio::null()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::inherit()).kill_on_drop(true);
        let mut child = cmd.spawn().expect("spawn node (is Node.js installed? `bash tests/run.sh` installs it)");
        let lines = cableway_tests::fixtures::json_lines(&mut child);
        NodeClients { _child: child, lines }
    }

    fn len(&self) -> usize {
        self.lines.lock().unwrap().len()
    }

    /// Whether every one of `n` clients printed a line matching `check` at or after line `from`.
    fn all_after(&self, n: usize, from: usize, check: impl Fn(&Value) -> bool) -> bool {
        let lines = self.lines.lock().unwrap();
        (0..n).all(|c| lines.iter().skip(from).any(|l| l["client"] == c && check(l)))
    }

    /// Client `c`'s events: (offset, id), in the order the application got them.
    fn events(&self, c: usize) -> Vec<(u64, String)> {
        let lines = self.lines.lock().unwrap();
        lines.iter().filter(|l| l["client"] == c && l["type"] == "event").map(|l| (l["offset"].as_u64().unwrap_or(0), l["id"].as_str().unwrap_or_default().to_owned())).collect()
    }

    fn dump(&self, c: usize) -> String {
        self.lines.lock().unwrap().iter().filter(|l| l["client"] == c).map(Value::to_string).collect::<Vec<_>>().join("\n")
    }
}

/// Builds generated/ts into generated/ts/dist once per test process, with the TypeScript
/// tests/node installs (as tests/tests/node_ts_client.rs does).
fn build_ts_package() {
    static BUILT: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        let root = cableway_tests::repo_root();
        let tsc = root.join("tests/node/node_modules/.bin/tsc");
        assert!(tsc.exists(), "TypeScript is not installed: run `bash tests/run.sh` (or `npm ci` in tests/node)");
        let link = root.join("generated/ts/node_modules");
        if std::fs::symlink_metadata(&link).is_err() {
            let _ = std::os::unix::fs::symlink(root.join("tests/node/node_modules"), &link);
        }
        let out = std::process::Command::new(&tsc).arg("-p").arg(root.join("generated/ts")).output().expect("run tsc");
        assert!(out.status.success(), "tsc -p generated/ts failed:\n{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    });
}

/// `host:port` of a node's cable URL.
fn addr_of(node: &Server) -> String {
    node_of(&node.cable_url(None)).trim_start_matches("ws://").trim_end_matches("/cable").to_owned()
}

/// F6 with Node clients of `kind`: 20 clients on A (4 streams with history), a publisher at
/// 100/s through B, `kill -9` A. Every client resumes on B within 5 s and its application
/// gets every acknowledged publication of its stream exactly once, in offset order. The
/// TypeScript client is given both nodes' URLs; @anycable/web, which takes one URL, is given
/// a balancer (the test's proxy: each new connection to the first node that accepts it).
async fn node_clients_of_a_killed_node_resume_on_another(kind: &str) {
    const CLIENTS: usize = 20;
    if kind == "ts" {
        tokio::task::block_in_place(build_ts_package);
    }
    let root = cableway_tests::repo_root();
    assert!(root.join("tests/node/node_modules/@anycable/web/package.json").exists(), "tests/node is not installed: run `bash tests/run.sh`");
    let redis = tokio::task::block_in_place(|| Redis::start(Persistence::None));
    let (mut a, b) = two_nodes(&redis, Options::default()).await;
    let accounts = accounts(&format!("acc-{kind}-"), 4);
    let clients: Vec<(String, String)> = (0..CLIENTS).map(|i| {
        let account = accounts[i % accounts.len()].clone();
        let token = a.token(&format!("u-{account}"), &account, &[]);
        (account, token)
    }).collect();
    let balancer = Proxy::start(&[addr_of(&a), addr_of(&b)]).await;
    let urls = if kind == "ts" { vec![a.cable_url(None), b.cable_url(None)] } else { vec![format!("ws://{}/cable", balancer.addr)] };
    let node = NodeClients::start(kind, &urls, &clients);
    // (The TypeScript client's first subscribe asks for no history: it has no position yet.)
    let confirmed = poll_async(Duration::from_secs(30), || node.all_after(CLIENTS, 0, |l| l["type"] == "connected").then_some(())).await;
    assert!(confirmed.is_some(), "not every {kind} client subscribed on A; client 0:\n{}", node.dump(0));
    assert_eq!(a.health().await["connections"], CLIENTS, "every client is on A");

    let publisher = Publisher::start(&b, &accounts, 100, kind);
    publisher.wait_acknowledged(50, Duration::from_secs(20)).await;
    let mark = node.len();
    let killed = Instant::now();
    kill_9(&mut a);
    let resumed = poll_async(Duration::from_secs(5), || node.all_after(CLIENTS, mark, |l| l["type"] == "history" && l["kind"] == "confirm_history").then_some(())).await;
    let waiting: Vec<usize> = (0..CLIENTS).filter(|&c| !node.all_after(1, mark, |l| l["client"] == c && l["type"] == "history")).collect();
    assert!(resumed.is_some(), "{kind}: clients {waiting:?} had not resumed on B 5 s after A was killed; the first:\n{}", node.dump(waiting.first().copied().unwrap_or(0)));
    let resumed_in = killed.elapsed();
    assert_eq!(b.health().await["connections"], CLIENTS, "every client is on B");

    publisher.wait_acknowledged(50, Duration::from_secs(20)).await;
    let attempts = publisher.finish().await;
    assert!(attempts.iter().all(|t| t.status == 200), "B kept publishing: {:?}", attempts.iter().find(|t| t.status != 200));
    let acked = acknowledged_offsets(&attempts);
    let stream_of = |c: usize| format!("notifications:{}", clients[c].0);
    let caught_up = poll_async(Duration::from_secs(20), || (0..CLIENTS).all(|c| node.events(c).last().map(|e| e.0) >= acked[&stream_of(c)].iter().max().copied()).then_some(())).await;
    assert!(caught_up.is_some(), "{kind}: a client never got the last acknowledged publication; client 0:\n{}", node.dump(0));
    for c in 0..CLIENTS {
        let events = node.events(c);
        let offsets: Vec<u64> = events.iter().map(|e| e.0).collect();
        let expected: Vec<u64> = (1..=acked[&stream_of(c)].len() as u64).collect();
        assert_eq!(offsets, expected, "{kind} client {c}: every acknowledged publication once, in order:\n{}", node.dump(c));
        let ids: std::collections::BTreeSet<&String> = events.iter().map(|e| &e.1).collect();
        assert_eq!(ids.len(), events.len(), "{kind} client {c}: no payload twice");
    }
    eprintln!("kill -9 A with {CLIENTS} {kind} clients: all resumed on B within {resumed_in:?}; {} publications acknowledged, 0 lost, 0 duplicates", attempts.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typescript_clients_of_a_killed_node_resume_on_another_with_nothing_lost() {
    node_clients_of_a_killed_node_resume_on_another("ts").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anycable_clients_of_a_killed_node_resume_on_another_with_nothing_lost() {
    node_clients_of_a_killed_node_resume_on_another("anycable").await;
}
