//! One generator run: connect N subscribers (accept rate, connect cost, idle memory), the
//! latency phase (one broadcast at a time), the throughput ramp, an optional fixed-rate hold
//! for profiling, then the loss and duplicate totals.
//!
//! Single-threaded on purpose (tokio `current_thread` + `LocalSet`): publish and receipt are
//! timestamped with `Instant` in the same thread, so there is no clock skew, and the
//! generator's cost is one core, which the bench pins.

use std::cell::{Cell, RefCell};
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::client::{self, Recorder};
use super::http::Publisher;
use super::procfs;
use super::spec::{BodyFormat, LatencyPhase, Receipt, Report, Spec, Step};
use super::stats::Latency;

const PHASE_WARMUP: u16 = 0;
const PHASE_LATENCY: u16 = 1;
const PHASE_HOLD: u16 = 2;
const PHASE_STEP0: u16 = 3;

/// A payload of about `bytes` bytes carrying `seq`, valid for Cableway's `new_notification`.
pub fn payload(seq: u32, bytes: usize) -> String {
    let head = format!(
        r#"{{"id":"n{seq}","account_id":"bench","notification_type":"bench.tick","title":"Benchmark","severity":"info","read":false,"created_at":"2026-01-01T00:00:00Z","message":"~s{seq}~ "#
    );
    let pad = bytes.saturating_sub(head.len() + 2);
    let mut s = String::with_capacity(head.len() + pad + 2);
    s.push_str(&head);
    s.extend(std::iter::repeat_n('x', pad));
    s.push_str("\"}");
    s
}

fn body(spec: &Spec, seq: u32) -> Vec<u8> {
    let p = payload(seq, spec.payload_bytes);
    match spec.body {
        BodyFormat::Raw => p.into_bytes(),
        BodyFormat::Cableway => format!(r#"{{"channel":"NotificationChannel","event":"new_notification","payload":{p}}}"#).into_bytes(),
    }
}

/// Publish connections fed round-robin by the scheduler, least busy first.
struct Pool {
    queues: Vec<(mpsc::UnboundedSender<u32>, Rc<Cell<usize>>)>,
}

impl Pool {
    fn start(spec: &Spec, rec: &Rc<RefCell<Recorder>>) -> Result<Pool> {
        let addr: SocketAddr = spec.publish_addr.parse().context("publish_addr")?;
        let mut queues = Vec::new();
        for _ in 0..spec.publishers.max(1) {
            let (tx, mut rx) = mpsc::unbounded_channel::<u32>();
            let busy = Rc::new(Cell::new(0usize));
            let (spec2, rec2, busy2) = (spec.clone(), rec.clone(), busy.clone());
            let mut publisher = Publisher::new(addr, &spec.publish_path, spec.publish_bearer.as_deref());
            tokio::task::spawn_local(async move {
                while let Some(seq) = rx.recv().await {
                    let result = publisher.post(&body(&spec2, seq)).await;
                    busy2.set(busy2.get() - 1);
                    let failure = match result {
                        Ok(s) if (200..300).contains(&s) => None,
                        Ok(s) => Some(format!("publish {seq}: HTTP {s}")),
                        Err(e) => Some(format!("publish {seq}: {e:#}")),
                    };
                    if let Some(f) = failure {
                        let mut r = rec2.borrow_mut();
                        r.publish_errors += 1;
                        r.failed[seq as usize] = true;
                        r.error(f);
                    }
                }
            });
            queues.push((tx, busy));
        }
        Ok(Pool { queues })
    }

    fn dispatch(&self, seq: u32) {
        let (tx, busy) = self.queues.iter().min_by_key(|(_, b)| b.get()).expect("at least one publisher");
        busy.set(busy.get() + 1);
        let _ = tx.send(seq);
    }
}

struct Cpu {
    pid: Option<u32>,
}

impl Cpu {
    fn server(&self) -> Option<f64> {
        self.pid.map(procfs::cpu_seconds)
    }
    fn rss(&self) -> Option<u64> {
        self.pid.map(procfs::rss_kib)
    }
}

fn progress(what: &str) {
    eprintln!("phase: {what}");
}

/// Runs `spec` on a fresh single-threaded runtime.
///
/// # Errors
/// When the runtime cannot start or the publish address is unusable; connection and
/// delivery problems are reported in the [`Report`] instead.
pub fn run_blocking(spec: &Spec) -> Result<Report> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let local = tokio::task::LocalSet::new();
    let report = local.block_on(&rt, run(spec.clone()));
    // Dropping the LocalSet cancels the readers and closes every socket.
    drop(local);
    report
}

async fn connect_range(spec: &Spec, range: std::ops::Range<usize>, rec: &Rc<RefCell<Recorder>>, times: &mut Vec<u32>, report: &mut Report, budget: Option<Instant>) {
    let sources: Vec<IpAddr> = spec.sources.iter().filter_map(|s| s.parse().ok()).collect();
    let results = futures_util::stream::iter(range)
        .map(|i| {
            let source = (!sources.is_empty()).then(|| sources[i % sources.len()]);
            async move {
                let t = Instant::now();
                if budget.is_some_and(|b| t > b) {
                    return (i, Ok(Err(anyhow::anyhow!("not attempted: connect budget exhausted"))), Duration::ZERO);
                }
                let r = tokio::time::timeout(client::CONNECT_TIMEOUT, client::connect(spec, source)).await;
                (i, r, t.elapsed())
            }
        })
        .buffer_unordered(spec.concurrency.max(1));
    futures_util::pin_mut!(results);
    while let Some((i, r, took)) = results.next().await {
        match r {
            Ok(Ok(ws)) => {
                times.push(took.as_micros().min(u32::MAX as u128) as u32);
                report.connected += 1;
                tokio::task::spawn_local(client::read_loop(ws, i, spec.proto, rec.clone()));
            }
            Ok(Err(e)) => {
                report.connect_failures += 1;
                let mut r = rec.borrow_mut();
                // One line for all connects the budget skipped.
                let text = format!("{e:#}");
                if !(text.starts_with("not attempted") && r.errors.iter().any(|x| x.contains("not attempted"))) {
                    r.error(format!("connect {i}: {text}"));
                }
            }
            Err(_) => {
                report.connect_failures += 1;
                rec.borrow_mut().error(format!("connect {i}: timed out"));
            }
        }
    }
}

async fn run(spec: Spec) -> Result<Report> {
    let start = Instant::now();
    let gen_cpu0 = procfs::self_cpu_seconds();
    let cpu = Cpu { pid: spec.server_pid };
    let rec = Rc::new(RefCell::new(Recorder::new(spec.n)));
    let pool = Pool::start(&spec, &rec)?;
    let mut report = Report { n: spec.n, rss_kib_start: cpu.rss(), ..Default::default() };

    // Connect, with an RSS checkpoint part-way for the memory slope.
    progress("connect");
    let mut times = Vec::with_capacity(spec.n);
    let cpu0 = cpu.server();
    let mut connect_wall = Duration::ZERO;
    let mut connect_cpu = 0.0;
    let cut = spec.checkpoint.filter(|c| *c < spec.n).unwrap_or(spec.n);
    let budget = spec.connect_budget_ms.map(|ms| Instant::now() + Duration::from_millis(ms));
    for range in [0..cut, cut..spec.n] {
        if range.is_empty() {
            continue;
        }
        let (t, c) = (Instant::now(), cpu.server());
        connect_range(&spec, range.clone(), &rec, &mut times, &mut report, budget).await;
        connect_wall += t.elapsed();
        if let (Some(a), Some(b)) = (c, cpu.server()) {
            connect_cpu += b - a;
        }
        if range.end < spec.n {
            tokio::time::sleep(Duration::from_millis(spec.settle_ms)).await;
            report.rss_kib_checkpoint = cpu.rss().map(|r| (report.connected, r));
        }
    }
    report.connect_secs = connect_wall.as_secs_f64();
    report.accept_per_s = report.connected as f64 / report.connect_secs.max(1e-9);
    report.connect_latency = Latency::of(&mut times);
    if cpu0.is_some() && report.connected > 0 {
        report.server_cpu_us_per_connect = Some(connect_cpu * 1e6 / report.connected as f64);
    }

    progress("settle");
    let (t, c) = (Instant::now(), cpu.server());
    tokio::time::sleep(Duration::from_millis(spec.settle_ms)).await;
    report.rss_kib_idle = cpu.rss();
    if let (Some(a), Some(b)) = (c, cpu.server()) {
        report.idle_server_cpu_share = Some((b - a) / t.elapsed().as_secs_f64());
    }
    let clients = report.connected as u32;

    if spec.listen_only {
        // Another generator publishes; record what arrives until told to stop.
        for _ in 0..spec.listen_seqs.unwrap_or(4096) {
            rec.borrow_mut().next_seq(PHASE_LATENCY);
        }
        progress("listening");
        let stop = spec.stop_file.clone().unwrap_or_default();
        let deadline = Instant::now() + Duration::from_secs(600);
        while !std::path::Path::new(&stop).exists() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        report.receipts = receipts(&rec.borrow(), true);
        report.delivered = rec.borrow().count.iter().map(|c| *c as u64).sum();
        report.wall_secs = start.elapsed().as_secs_f64();
        report.generator_cpu_secs = procfs::self_cpu_seconds() - gen_cpu0;
        return Ok(report);
    }

    if clients > 0 {
        progress("latency");
        report.latency = latency_phase(&spec, &rec, &pool, clients).await;
        let skip = if report.latency.incomplete > 0 {
            Some(format!("{} latency-phase broadcast(s) did not reach every subscriber within {} ms", report.latency.incomplete, spec.fanout_timeout_ms))
        } else if report.connect_failures > 0 {
            Some(format!("{} of {} connects failed", report.connect_failures, spec.n))
        } else {
            None
        };
        if let (Some(why), Some(_)) = (&skip, &spec.ramp) {
            eprintln!("ramp skipped: {why}");
            report.ramp_skipped = skip.clone();
        }
        if let (None, Some(ramp)) = (&skip, &spec.ramp) {
            progress("ramp");
            let estimate = if report.latency.full_fanout.p50_ms > 0.0 { clients as f64 / (report.latency.full_fanout.p50_ms / 1000.0) } else { 10_000.0 };
            let mut offered = ramp.start_deliveries_per_s.unwrap_or(estimate * 0.7).min(ramp.max_deliveries_per_s);
            // Up by `factor` until a step fails (down by half while none has passed), then
            // `refine` geometric bisections between the last pass and the first failure.
            let (mut passed, mut failed): (Option<f64>, Option<f64>) = (None, None);
            let mut refinements = 0;
            for i in 0..ramp.max_steps {
                let step = run_step(&spec, &rec, &pool, &cpu, clients, PHASE_STEP0 + i as u16, offered, ramp.step_ms, ramp.min_msgs, ramp.drain_ms, ramp.p99_limit_ms).await;
                eprintln!(
                    "step {i}: offered {:.0}/s delivered {:.0}/s p99 {:.1} ms missing {} server {:?} us/delivery gen {:.0}% -> {}",
                    step.offered_deliveries_per_s,
                    step.delivered_per_s,
                    step.latency.p99_ms,
                    step.missing,
                    step.server_cpu_us_per_delivery.map(|v| (v * 100.0).round() / 100.0),
                    step.generator_cpu_share * 100.0,
                    if step.pass { "pass" } else { "FAIL" }
                );
                if step.pass {
                    passed = Some(offered);
                    report.sustained = Some(step.clone());
                } else {
                    failed = Some(offered);
                }
                report.steps.push(step);
                offered = match (passed, failed) {
                    (_, None) if offered >= ramp.max_deliveries_per_s => break,
                    (_, None) => (offered * ramp.factor).min(ramp.max_deliveries_per_s),
                    (None, Some(f)) => f / 2.0,
                    (Some(p), Some(f)) => {
                        if refinements >= ramp.refine || f / p < 1.08 {
                            break;
                        }
                        refinements += 1;
                        (p * f).sqrt()
                    }
                };
                // Let the previous step's backlog drain before the next one.
                drain(&rec, &pool, clients, Duration::from_secs(5)).await;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        if let Some((rate, secs)) = spec.hold {
            progress("hold");
            let ms = (secs * 1000.0) as u64;
            report.hold = Some(run_step(&spec, &rec, &pool, &cpu, clients, PHASE_HOLD, rate, ms, 1, 2000, 1000).await);
            progress("hold-done");
        }
    }

    // Wait for late deliveries until nothing changes for a second (or the limit).
    progress("final");
    let deadline = Instant::now() + Duration::from_millis(spec.final_wait_ms);
    let mut last_total = u64::MAX;
    let mut stable_since = Instant::now();
    while Instant::now() < deadline {
        let (total, expected, pending) = {
            let r = rec.borrow();
            let expected: u64 = r.failed.iter().filter(|f| !**f).count() as u64 * clients as u64;
            let total: u64 = r.count.iter().map(|c| *c as u64).sum();
            let busy: usize = pool.queues.iter().map(|(_, b)| b.get()).sum();
            (total, expected, busy)
        };
        if total >= expected && pending == 0 {
            break;
        }
        if total != last_total {
            last_total = total;
            stable_since = Instant::now();
        } else if stable_since.elapsed() > Duration::from_secs(1) && pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let r = rec.borrow();
    report.published = r.failed.iter().filter(|f| !**f).count() as u64;
    report.publish_errors = r.publish_errors;
    report.expected = report.published * clients as u64;
    report.delivered = r.count.iter().zip(&r.failed).filter(|(_, f)| !**f).map(|(c, _)| *c as u64).sum();
    report.lost = report.expected.saturating_sub(report.delivered);
    report.duplicates = r.duplicates + r.unknown;
    report.disconnects = r.disconnects;
    report.errors = r.errors.clone();
    report.generator_cpu_secs = procfs::self_cpu_seconds() - gen_cpu0;
    report.wall_secs = start.elapsed().as_secs_f64();
    if spec.receipts {
        report.receipts = receipts(&r, false);
    }
    Ok(report)
}

/// Per broadcast: sent and last-receipt times in Unix µs; `seen_only` skips broadcasts no
/// subscriber got.
fn receipts(r: &Recorder, seen_only: bool) -> Vec<Receipt> {
    let (now, unix_now) = (Instant::now(), std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64));
    let unix = |t: Instant| unix_now.saturating_sub(now.saturating_duration_since(t).as_micros() as u64);
    (0..r.count.len())
        .filter(|&i| !seen_only || r.count[i] > 0)
        .map(|i| Receipt { seq: i as u32, sent_unix_us: r.sent[i].map(unix), last_unix_us: r.last[i].map(unix), count: r.count[i] })
        .collect()
}

/// Cableway's (writes, frames) so far, from `/health`; `None` for other servers.
async fn transport_counts(spec: &Spec) -> Option<(u64, u64)> {
    if spec.body != BodyFormat::Cableway {
        return None;
    }
    let v = super::http::get_json(spec.publish_addr.parse().ok()?, "/health").await.ok()?;
    Some((v["transport"]["writes"].as_u64()?, v["transport"]["frames"].as_u64()?))
}

/// Waits until every broadcast so far reached everyone (or failed), at most `limit`.
async fn drain(rec: &Rc<RefCell<Recorder>>, pool: &Pool, clients: u32, limit: Duration) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        let done = {
            let r = rec.borrow();
            r.count.iter().zip(&r.failed).all(|(c, f)| *c >= clients || *f)
        };
        if done && pool.queues.iter().all(|(_, b)| b.get() == 0) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn latency_phase(spec: &Spec, rec: &Rc<RefCell<Recorder>>, pool: &Pool, clients: u32) -> LatencyPhase {
    let timeout = Duration::from_millis(spec.fanout_timeout_ms);
    let spacing = Duration::from_millis(spec.latency_spacing_ms);
    let mut fanouts = Vec::new();
    let mut incomplete = 0;
    let mut in_a_row = 0;
    for k in 0..spec.warmup + spec.latency_msgs {
        let phase = if k < spec.warmup { PHASE_WARMUP } else { PHASE_LATENCY };
        let t0 = Instant::now();
        let seq = {
            let mut r = rec.borrow_mut();
            let seq = r.next_seq(phase);
            r.sent[seq as usize] = Some(t0);
            seq
        };
        pool.dispatch(seq);
        loop {
            let (done, failed) = {
                let r = rec.borrow();
                (r.count[seq as usize] >= clients, r.failed[seq as usize])
            };
            if done || failed || t0.elapsed() > timeout {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let complete = {
            let r = rec.borrow();
            match r.last[seq as usize] {
                Some(last) if r.count[seq as usize] >= clients => Some(last.duration_since(t0).as_micros().min(u32::MAX as u128) as u32),
                _ => None,
            }
        };
        match complete {
            Some(us) if phase == PHASE_LATENCY => {
                fanouts.push(us);
                in_a_row = 0;
            }
            Some(_) => in_a_row = 0,
            None => {
                incomplete += 1;
                in_a_row += 1;
                if in_a_row >= 2 {
                    eprintln!("latency phase stopped: two broadcasts in a row did not reach every subscriber");
                    break;
                }
            }
        }
        tokio::time::sleep_until((t0 + spacing).into()).await;
    }
    let mut per = std::mem::take(&mut rec.borrow_mut().samples[PHASE_LATENCY as usize]);
    LatencyPhase { msgs: fanouts.len() + incomplete, per_recipient: Latency::of(&mut per), full_fanout: Latency::of(&mut fanouts), incomplete }
}

#[allow(clippy::too_many_arguments)]
async fn run_step(
    spec: &Spec,
    rec: &Rc<RefCell<Recorder>>,
    pool: &Pool,
    cpu: &Cpu,
    clients: u32,
    phase: u16,
    offered: f64,
    step_ms: u64,
    min_msgs: usize,
    drain_ms: u64,
    p99_limit_ms: u64,
) -> Step {
    let rate = offered / clients as f64;
    let secs = (step_ms as f64 / 1000.0).max(min_msgs as f64 / rate);
    let msgs = ((rate * secs).ceil() as usize).max(1);
    let writes0 = transport_counts(spec).await;
    let (cpu0, gen0) = (cpu.server(), procfs::self_cpu_seconds());
    let t_start = Instant::now();
    let mut seqs = Vec::with_capacity(msgs);
    for j in 0..msgs {
        let intended = t_start + Duration::from_secs_f64(j as f64 / rate);
        tokio::time::sleep_until(intended.into()).await;
        let seq = {
            let mut r = rec.borrow_mut();
            let seq = r.next_seq(phase);
            // Latency counts from the scheduled time: a late publish is the system's delay
            // (no coordinated omission).
            r.sent[seq as usize] = Some(intended);
            seq
        };
        seqs.push(seq);
        pool.dispatch(seq);
    }
    let deadline = Instant::now() + Duration::from_millis(drain_ms);
    loop {
        let done = {
            let r = rec.borrow();
            seqs.iter().all(|s| r.count[*s as usize] >= clients || r.failed[*s as usize])
        };
        if done || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let (cpu1, gen1) = (cpu.server(), procfs::self_cpu_seconds());
    let writes1 = transport_counts(spec).await;
    let frames_per_write = writes0.zip(writes1).filter(|(a, b)| b.0 > a.0).map(|(a, b)| (b.1 - a.1) as f64 / (b.0 - a.0) as f64);
    let r = rec.borrow();
    let deliveries: u64 = seqs.iter().map(|s| r.count[*s as usize] as u64).sum();
    let expected: u64 = seqs.iter().filter(|s| !r.failed[**s as usize]).count() as u64 * clients as u64;
    let missing = expected.saturating_sub(deliveries) + seqs.iter().filter(|s| r.failed[**s as usize]).count() as u64 * clients as u64;
    let last = seqs.iter().filter_map(|s| r.last[*s as usize]).max().unwrap_or(t_start);
    drop(r);
    let wall = last.saturating_duration_since(t_start).as_secs_f64().max(1e-6);
    let window = t_start.elapsed().as_secs_f64();
    let mut samples = std::mem::take(&mut rec.borrow_mut().samples[phase as usize]);
    let latency = Latency::of(&mut samples);
    let server_cpu = cpu0.zip(cpu1).map(|(a, b)| b - a);
    Step {
        seqs: seqs.first().copied().zip(seqs.last().copied()),
        offered_msgs_per_s: rate,
        offered_deliveries_per_s: offered,
        msgs,
        deliveries,
        delivered_per_s: deliveries as f64 / wall,
        missing,
        server_cpu_us_per_delivery: server_cpu.filter(|_| deliveries > 0).map(|c| c * 1e6 / deliveries as f64),
        server_cpu_share: server_cpu.map(|c| c / window),
        frames_per_write,
        generator_cpu_share: (gen1 - gen0) / window,
        // Sustained means keeping up, too: a server that falls behind can still drain a
        // short step within the p99 limit.
        pass: missing == 0 && latency.p99_ms <= p99_limit_ms as f64 && deliveries as f64 / wall >= 0.9 * offered,
        latency,
    }
}
