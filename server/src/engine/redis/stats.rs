//! The Redis engine's counters and state, for `/health` now and metrics later: plain atomics,
//! updated where things happen, read without locks.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Counters since the node started.
#[derive(Debug, Default)]
pub struct RedisStats {
    /// The command connection's last call succeeded.
    pub commands_up: AtomicBool,
    /// The command connection's last call found Redis unreachable or silent (false before
    /// the first call: not known to be down).
    pub commands_failing: AtomicBool,
    /// The pub/sub connection is connected and its streams subscribed.
    pub pubsub_up: AtomicBool,
    /// Times the pub/sub connection was re-established and its streams subscribed again.
    pub resubscribes: AtomicU64,
    /// Offset gaps seen on pub/sub (or by the position check).
    pub gaps_detected: AtomicU64,
    /// Gaps filled from the stream's history before anything after them was delivered.
    pub gaps_filled: AtomicU64,
    /// Gaps that could not be filled: the stream's local subscribers were disconnected to
    /// resume through history.
    pub gaps_unfilled: AtomicU64,
    /// Epoch changes seen on a stream with local subscribers (Redis lost its data).
    pub epoch_changes: AtomicU64,
    /// Local subscribers disconnected with `insufficient_state`.
    pub evictions: AtomicU64,
    /// Position checks run (one per check period, over every subscribed stream).
    pub position_checks: AtomicU64,
    /// Duplicate publications dropped (an offset already delivered).
    pub duplicates: AtomicU64,
    /// Redis calls made.
    pub calls: AtomicU64,
    /// Redis calls that failed or passed the timeout.
    pub call_errors: AtomicU64,
    /// Sum of the calls' latencies, in microseconds (with `calls`, the mean).
    pub call_micros: AtomicU64,
    /// The slowest call, in microseconds.
    pub call_micros_max: AtomicU64,
    /// Calls waiting for Redis now (a gauge): bounded while Redis is unreachable, because
    /// publishes then fail without calling and every call has the timeout.
    pub calls_in_flight: AtomicU64,
    /// Publish requests queued or running now (a gauge; at most the queue's size).
    pub publishes_waiting: AtomicU64,
    /// Publish requests refused without calling Redis: the queue was full, their budget ran
    /// out while they waited, or Redis was known to be unreachable.
    pub publishes_refused: AtomicU64,
    /// Subscribes waiting now for an unreachable Redis (a gauge): they are confirmed when it
    /// answers again, or rejected as `unavailable` after `subscribe_wait_ms`.
    pub subscribes_waiting: AtomicU64,
}

impl RedisStats {
    /// Counts one call that took `micros`.
    pub fn call(&self, micros: u64, ok: bool) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.call_micros.fetch_add(micros, Ordering::Relaxed);
        self.call_micros_max.fetch_max(micros, Ordering::Relaxed);
        if !ok {
            self.call_errors.fetch_add(1, Ordering::Relaxed);
        }
        self.commands_up.store(ok, Ordering::Relaxed);
        self.commands_failing.store(!ok, Ordering::Relaxed);
    }

    /// Adds one to a counter.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Everything, as `/health` shows it.
    pub fn to_json(&self) -> serde_json::Value {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let calls = get(&self.calls);
        serde_json::json!({
            "commands": if self.commands_up.load(Ordering::Relaxed) { "up" } else { "down" },
            "pubsub": if self.pubsub_up.load(Ordering::Relaxed) { "up" } else { "down" },
            "resubscribes": get(&self.resubscribes),
            "gaps_detected": get(&self.gaps_detected),
            "gaps_filled": get(&self.gaps_filled),
            "gaps_unfilled": get(&self.gaps_unfilled),
            "epoch_changes": get(&self.epoch_changes),
            "evictions": get(&self.evictions),
            "position_checks": get(&self.position_checks),
            "duplicates": get(&self.duplicates),
            "calls": calls,
            "call_errors": get(&self.call_errors),
            "call_mean_us": get(&self.call_micros).checked_div(calls).unwrap_or(0),
            "call_max_us": get(&self.call_micros_max),
            "calls_in_flight": get(&self.calls_in_flight),
            "publishes_waiting": get(&self.publishes_waiting),
            "publishes_refused": get(&self.publishes_refused),
            "subscribes_waiting": get(&self.subscribes_waiting),
        })
    }
}
