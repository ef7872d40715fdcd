//! Publish-path cost: `POST /broadcast` back to back on a few keep-alive connections to a
//! server with no subscriber on the target stream, so what is measured is the request
//! path itself (HTTP, JSON parse, schema validation, envelope encoding, history append).

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::http::Publisher;
use super::procfs;
use super::stats::Latency;

/// What a publish-path run measured.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PathCost {
    /// Requests answered 2xx.
    pub ok: u64,
    /// Requests refused or failed.
    pub failed: u64,
    /// First failure status or error.
    pub first_error: Option<String>,
    /// Requests/s.
    pub per_s: f64,
    /// Server CPU µs per request.
    pub server_cpu_us_per_publish: Option<f64>,
    /// Request round trip.
    pub latency: Latency,
}

/// Posts `body` for `secs` seconds over `conns` connections.
///
/// # Errors
/// A bad address.
pub fn run_blocking(addr: &str, path: &str, bearer: Option<&str>, body: &[u8], secs: f64, conns: usize, pid: Option<u32>) -> Result<PathCost> {
    let addr: SocketAddr = addr.parse().context("address")?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        let samples = Rc::new(RefCell::new(Vec::<u32>::new()));
        let out = Rc::new(RefCell::new(PathCost::default()));
        // One request first so connection set-up is outside the window.
        let mut warm = Publisher::new(addr, path, bearer);
        let _ = warm.post(body).await;
        let cpu0 = pid.map(procfs::cpu_seconds);
        let start = Instant::now();
        let end = start + Duration::from_secs_f64(secs);
        let mut tasks = Vec::new();
        for _ in 0..conns.max(1) {
            let (samples, out, body) = (samples.clone(), out.clone(), body.to_vec());
            let mut p = Publisher::new(addr, path, bearer);
            tasks.push(tokio::task::spawn_local(async move {
                while Instant::now() < end {
                    let t = Instant::now();
                    let r = p.post(&body).await;
                    let took = t.elapsed().as_micros().min(u32::MAX as u128) as u32;
                    let mut o = out.borrow_mut();
                    match r {
                        Ok(s) if (200..300).contains(&s) => {
                            o.ok += 1;
                            samples.borrow_mut().push(took);
                        }
                        Ok(s) => {
                            o.failed += 1;
                            o.first_error.get_or_insert(format!("HTTP {s}"));
                        }
                        Err(e) => {
                            o.failed += 1;
                            o.first_error.get_or_insert(format!("{e:#}"));
                        }
                    }
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
        let wall = start.elapsed().as_secs_f64();
        let cpu1 = pid.map(procfs::cpu_seconds);
        let mut o = out.borrow().clone();
        o.per_s = o.ok as f64 / wall;
        o.server_cpu_us_per_publish = cpu0.zip(cpu1).filter(|_| o.ok > 0).map(|(a, b)| (b - a) * 1e6 / o.ok as f64);
        o.latency = Latency::of(&mut samples.borrow_mut());
        Ok(o)
    })
}
