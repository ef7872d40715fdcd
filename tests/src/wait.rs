//! Waiting on a condition instead of sleeping for a guess: check, and check again every few
//! milliseconds until it holds or the deadline passes. A fixed sleep is either too short on
//! a loaded machine (a flaky test) or longer than needed everywhere else (a slow one).

use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

/// How often a condition is checked again.
const POLL: Duration = Duration::from_millis(20);

/// The first `Some` of `check` within `timeout`, checked every [`POLL`]; `None` after it.
pub fn poll<T>(timeout: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(POLL);
    }
}

/// [`poll`] inside a tokio runtime: the checks leave the runtime free between them.
pub async fn poll_async<T>(timeout: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return Some(v);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Waits for `child` to exit, up to `timeout`; its status, or `None` while it still runs.
pub fn exit(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    poll(timeout, || child.try_wait().expect("the child's status"))
}

/// Waits until the Unix clock (whole seconds, as tokens and the server read it) reaches `t`.
pub async fn unix_time(t: i64) {
    let now = crate::fixtures::unix_now();
    assert!(t - now < 120, "waiting {} s for the Unix clock is a test bug", t - now);
    poll_async(Duration::from_secs(120), || (crate::fixtures::unix_now() >= t).then_some(())).await.expect("the clock moves");
}
