//! What the transport did, counted process-wide: writes, frames and bytes written, and the
//! time from a publication's acceptance to its frame reaching the socket.
//!
//! This is the one place the write path reports to; metrics exporters read [`snapshot`]
//! (or hook in here). Counters are relaxed atomics bumped once per `write()`, never per
//! frame queued, so the cost stays off the fan-out path.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

static WRITES: AtomicU64 = AtomicU64::new(0);
static FRAMES: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);
static TOO_SLOW: AtomicU64 = AtomicU64::new(0);
static FANOUT_COUNT: AtomicU64 = AtomicU64::new(0);
static FANOUT_MICROS: AtomicU64 = AtomicU64::new(0);

/// Totals since the process started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Snapshot {
    /// Socket writes (`writev` calls that wrote something).
    pub writes: u64,
    /// Frames they completed.
    pub frames: u64,
    /// Bytes they wrote.
    pub bytes: u64,
    /// Connections dropped as too slow.
    pub too_slow: u64,
    /// Writes that completed a broadcast frame, and the summed time from the publication's
    /// acceptance to that write, in µs (the oldest broadcast frame of each write).
    pub fanout_samples: u64,
    /// See `fanout_samples`.
    pub fanout_micros: u64,
}

/// One write of `bytes` that completed `frames`; `oldest` is when the oldest broadcast
/// frame among them was published.
pub(crate) fn wrote(frames: u64, bytes: usize, oldest: Option<Instant>) {
    WRITES.fetch_add(1, Ordering::Relaxed);
    FRAMES.fetch_add(frames, Ordering::Relaxed);
    BYTES.fetch_add(bytes as u64, Ordering::Relaxed);
    if let Some(at) = oldest {
        FANOUT_COUNT.fetch_add(1, Ordering::Relaxed);
        FANOUT_MICROS.fetch_add(at.elapsed().as_micros() as u64, Ordering::Relaxed);
    }
}

/// A connection was dropped because its outbound queue overflowed.
pub(crate) fn too_slow() {
    TOO_SLOW.fetch_add(1, Ordering::Relaxed);
}

/// The totals so far.
pub fn snapshot() -> Snapshot {
    Snapshot {
        writes: WRITES.load(Ordering::Relaxed),
        frames: FRAMES.load(Ordering::Relaxed),
        bytes: BYTES.load(Ordering::Relaxed),
        too_slow: TOO_SLOW.load(Ordering::Relaxed),
        fanout_samples: FANOUT_COUNT.load(Ordering::Relaxed),
        fanout_micros: FANOUT_MICROS.load(Ordering::Relaxed),
    }
}
