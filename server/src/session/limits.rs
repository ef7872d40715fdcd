//! The limits a session puts on its client: how fast it may send commands, and how many
//! protocol errors it may make before it is dropped.
//!
//! Both read tokio's clock, so tests with paused time drive them. `governor` would do the
//! rate, but its clocks do not follow tokio's paused time, and a token bucket is a few lines.

use std::time::Duration;

use tokio::time::Instant;

/// A token bucket over client commands: `burst` at once, then `per_second`.
#[derive(Debug)]
pub(crate) struct CommandRate {
    per_second: f64,
    burst: f64,
    tokens: f64,
    refilled: Instant,
}

impl CommandRate {
    /// A full bucket.
    pub(crate) fn new(per_second: u32, burst: u32) -> Self {
        CommandRate { per_second: f64::from(per_second), burst: f64::from(burst), tokens: f64::from(burst), refilled: Instant::now() }
    }

    /// Takes a token; false when the client is over its rate.
    pub(crate) fn admit(&mut self) -> bool {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.refilled).as_secs_f64() * self.per_second).min(self.burst);
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Counts protocol errors in fixed windows: more than `max` in one `window` and the
/// client is dropped.
#[derive(Debug)]
pub(crate) struct ErrorBudget {
    max: u32,
    window: Duration,
    count: u32,
    started: Instant,
}

impl ErrorBudget {
    /// A budget with no error counted yet.
    pub(crate) fn new(max: u32, window: Duration) -> Self {
        ErrorBudget { max, window, count: 0, started: Instant::now() }
    }

    /// Counts one error; true when the budget is spent.
    pub(crate) fn spend(&mut self) -> bool {
        let now = Instant::now();
        if now.duration_since(self.started) > self.window {
            self.count = 0;
            self.started = now;
        }
        self.count += 1;
        self.count > self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_burst_is_admitted_then_the_rate() {
        let mut rate = CommandRate::new(10, 3);
        assert!((0..3).all(|_| rate.admit()), "the burst");
        assert!(!rate.admit(), "over the burst");
        tokio::time::advance(Duration::from_millis(100)).await;
        assert!(rate.admit(), "one token per 100 ms at 10/s");
        assert!(!rate.admit());
        tokio::time::advance(Duration::from_secs(60)).await;
        assert_eq!((0..10).filter(|_| rate.admit()).count(), 3, "an idle client gets back the burst, no more");
    }

    #[tokio::test(start_paused = true)]
    async fn a_zero_rate_admits_the_burst_only() {
        let mut rate = CommandRate::new(0, 2);
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!((0..5).filter(|_| rate.admit()).count(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn errors_are_forgiven_window_by_window() {
        let mut budget = ErrorBudget::new(2, Duration::from_secs(10));
        assert!(!budget.spend() && !budget.spend(), "within the budget");
        assert!(budget.spend(), "the third error in the window spends it");
        tokio::time::advance(Duration::from_secs(11)).await;
        assert!(!budget.spend(), "a new window starts over");
    }
}
