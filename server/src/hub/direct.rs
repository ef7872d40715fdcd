//! Whether a broadcast writes to idle connections' sockets itself, or queues and wakes their
//! tasks.
//!
//! A direct write skips a task's wake-up and turn, so one broadcast reaches everyone sooner
//! and for less CPU. But it is one `send` per frame: under a sustained load, frames queued
//! for a connection while its task waits to run go out together in one `writev`, and that
//! coalescing is what carries the highest rates. So broadcasts write directly while that
//! keeps up, and queue once it would not: the hub estimates the time direct writes would
//! take over the last window (deliveries × the measured cost of one) and, past
//! [`MAX_DIRECT_SHARE`] of the window, queues for the next one.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How often the choice is made again.
const WINDOW: Duration = Duration::from_millis(100);
/// The share of one thread's time that direct writes may take before broadcasts queue.
const MAX_DIRECT_SHARE: f64 = 0.9;
/// The cost of one direct write before any was measured (a loopback `send` of a small frame).
const INITIAL_COST_NS: u64 = 5_000;

/// The hub's running estimate and its choice.
#[derive(Debug)]
pub struct DirectWrites {
    /// Queue instead of writing directly, for the current window.
    queue: AtomicBool,
    /// Start of the current window, in ns since [`epoch`].
    window_start_ns: AtomicU64,
    /// What direct writes of this window's deliveries cost or would cost, in ns.
    load_ns: AtomicU64,
    /// One direct write's cost, a moving average, in ns.
    cost_ns: AtomicU64,
}

impl Default for DirectWrites {
    fn default() -> Self {
        DirectWrites { queue: AtomicBool::new(false), window_start_ns: AtomicU64::new(now_ns()), load_ns: AtomicU64::new(0), cost_ns: AtomicU64::new(INITIAL_COST_NS) }
    }
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn now_ns() -> u64 {
    epoch().elapsed().as_nanos() as u64
}

impl DirectWrites {
    /// Whether this broadcast may write directly.
    pub fn allowed(&self) -> bool {
        !self.queue.load(Ordering::Relaxed)
    }

    /// A broadcast made `deliveries`, `written` of them directly, in `took`.
    pub fn record(&self, deliveries: usize, written: usize, took: Duration) {
        if written > 0 {
            let cost = (took.as_nanos() as u64 / written as u64).max(1);
            let old = self.cost_ns.load(Ordering::Relaxed);
            self.cost_ns.store((old * 7 + cost) / 8, Ordering::Relaxed);
        }
        let added = deliveries as u64 * self.cost_ns.load(Ordering::Relaxed);
        let load = self.load_ns.fetch_add(added, Ordering::Relaxed) + added;
        let (now, start) = (now_ns(), self.window_start_ns.load(Ordering::Relaxed));
        let elapsed = now.saturating_sub(start);
        let budget = (WINDOW.as_nanos() as f64 * MAX_DIRECT_SHARE) as u64;
        if load > budget && !self.queue.load(Ordering::Relaxed) {
            // Over the budget before the window ends: queue from now on.
            self.queue.store(true, Ordering::Relaxed);
        }
        if elapsed >= WINDOW.as_nanos() as u64 {
            let share = load as f64 / elapsed as f64;
            self.queue.store(share > MAX_DIRECT_SHARE, Ordering::Relaxed);
            self.window_start_ns.store(now, Ordering::Relaxed);
            self.load_ns.store(0, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasts_queue_while_direct_writes_would_not_keep_up_and_write_directly_again_after() {
        let d = DirectWrites::default();
        assert!(d.allowed());
        // Measured: 10 µs per direct write.
        d.record(100, 100, Duration::from_millis(1));
        assert!(d.allowed(), "1 ms of writes is well within a window");
        // 20k deliveries would take 200 ms of direct writes: more than a window holds.
        d.record(20_000, 0, Duration::from_millis(1));
        assert!(!d.allowed());
        // A quiet window later, a small broadcast writes directly again.
        std::thread::sleep(WINDOW + Duration::from_millis(20));
        d.record(1, 0, Duration::ZERO);
        d.record(1, 0, Duration::ZERO);
        std::thread::sleep(WINDOW + Duration::from_millis(20));
        d.record(1, 0, Duration::ZERO);
        assert!(d.allowed());
    }
}
