//! The two histograms recorded on the write path (frames per write, fan-out latency), kept
//! here rather than in the exporter.
//!
//! The exporter stamps every sample with the time (a clock read: about 60 ns on a KVM guest,
//! as much as the rest of the write's accounting) and queues it until the next upkeep. These
//! are fixed buckets of relaxed atomics: a record is a search over a dozen bounds and three
//! adds, no clock, no allocation. They render in the same text format, after the exporter's
//! series.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// A histogram over fixed bounds, of values counted in integer units.
#[derive(Debug)]
pub(super) struct Buckets {
    name: &'static str,
    help: &'static str,
    /// Upper bounds, in the exposition's unit (seconds, frames).
    bounds: &'static [f64],
    /// The same bounds in recorded units.
    limits: Box<[u64]>,
    /// Samples per bucket (not cumulative); the last is above every bound.
    counts: Box<[AtomicU64]>,
    /// Sum of the samples, in recorded units.
    sum: AtomicU64,
    /// Recorded units per exposition unit (1e9 for nanoseconds shown as seconds).
    per_unit: f64,
}

impl Buckets {
    /// A histogram `name` over `bounds`, recorded in units `per_unit` to one of the bounds'.
    pub(super) fn new(name: &'static str, help: &'static str, bounds: &'static [f64], per_unit: f64) -> Buckets {
        let limits = bounds.iter().map(|b| (b * per_unit).round() as u64).collect();
        let counts = (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect();
        Buckets { name, help, bounds, limits, counts, sum: AtomicU64::new(0), per_unit }
    }

    /// One sample of `units`.
    pub(super) fn record(&self, units: u64) {
        let bucket = self.limits.iter().position(|&l| units <= l).unwrap_or(self.limits.len());
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum.fetch_add(units, Ordering::Relaxed);
    }

    /// Appends the histogram to an exposition: cumulative buckets, `+Inf`, sum and count.
    pub(super) fn render(&self, out: &mut String) {
        let name = self.name;
        let _ = writeln!(out, "# HELP {name} {}\n# TYPE {name} histogram", self.help);
        let mut cumulative = 0;
        for (bound, count) in self.bounds.iter().zip(self.counts.iter()) {
            cumulative += count.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        cumulative += self.counts[self.bounds.len()].load(Ordering::Relaxed);
        let sum = self.sum.load(Ordering::Relaxed) as f64 / self.per_unit;
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cumulative}\n{name}_sum {sum}\n{name}_count {cumulative}\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_land_in_cumulative_buckets_with_their_sum() {
        let h = Buckets::new("t_seconds", "Test.", &[0.001, 0.01], 1e9);
        for nanos in [500_000, 1_000_000, 2_000_000, 50_000_000] {
            h.record(nanos);
        }
        let mut text = String::new();
        h.render(&mut text);
        let expected = "# HELP t_seconds Test.\n# TYPE t_seconds histogram\nt_seconds_bucket{le=\"0.001\"} 2\nt_seconds_bucket{le=\"0.01\"} 3\nt_seconds_bucket{le=\"+Inf\"} 4\nt_seconds_sum 0.0535\nt_seconds_count 4\n\n";
        assert_eq!(text, expected);
    }
}
